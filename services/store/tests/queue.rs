//! Conformance of the electronic queue's store (issue 4): every scenario runs on a fresh
//! database of both backends, SQLite and PostgreSQL.
//!
//! `OKIENKO_REQUIRE_POSTGRES=1 cargo test -p okienko-store --test queue`
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use okienko_store::{
    active_offices, active_services, board_tickets, cancel_unchecked, claim_ticket,
    counters_between, create_booking, finish_service, import_tenants, issue_ticket, list_tenants,
    on_db, queue_counters, queue_facts, recall_ticket, recent_no_shows, refuse_service, slot_usage,
    start_service, ticket_by_id, tickets_of_day, transfer_ticket, unchecked_between, visit_by_code,
    visits_between, visits_by_phone, void_ticket, waiting_tickets, BookedVisit, Db, FactPlace,
    NewBooking, NewTicket, StoreError, TenantId, TenantImport, TicketRow,
};
use okienko_test_support::{both, confirmed_booking, stored_booking, TestDb};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const DAY: &str = "2026-01-01";
const SLOT: i64 = NOW + 9 * 3600;

both! {
    scenario_numbering, numbering_sqlite, numbering_postgres;
    scenario_check_in, check_in_sqlite, check_in_postgres;
    scenario_calls, calls_sqlite, calls_postgres;
    scenario_concurrent_calls, concurrent_calls_sqlite, concurrent_calls_postgres;
    scenario_busy_desk, busy_desk_sqlite, busy_desk_postgres;
    scenario_lateness, lateness_sqlite, lateness_postgres;
    scenario_isolation, isolation_sqlite, isolation_postgres;
    scenario_facts, facts_sqlite, facts_postgres;
}

struct Fx {
    a: TenantId,
    b: TenantId,
    /// Tenant a's office and service.
    oa: i64,
    sa: i64,
    /// Tenant b's office and service.
    ob: i64,
    sb: i64,
}

fn tenant_import(slug: &str) -> TenantImport {
    TenantImport {
        slug: slug.to_string(),
        name: format!("Urząd Miejski {slug}"),
        config_json: "{}".to_string(),
        config_hash: format!("h-{slug}"),
        offices: vec![("ratusz".to_string(), "Ratusz".to_string())],
        services: vec![(
            "dowod".to_string(),
            "ratusz".to_string(),
            "Dowód osobisty".to_string(),
        )],
    }
}

async fn fixture(db: &Db) -> Fx {
    import_tenants(db, &[tenant_import("a"), tenant_import("b")], NOW, false)
        .await
        .unwrap();
    let tenants = list_tenants(db).await.unwrap();
    let id = |slug: &str| TenantId(tenants.iter().find(|t| t.slug == slug).unwrap().id);
    let (a, b) = (id("a"), id("b"));
    Fx {
        a,
        b,
        oa: active_offices(db, a).await.unwrap()[0].id,
        sa: active_services(db, a).await.unwrap()[0].id,
        ob: active_offices(db, b).await.unwrap()[0].id,
        sb: active_services(db, b).await.unwrap()[0].id,
    }
}

fn walk_in(tenant: TenantId, office: i64, queue: &str, now: i64) -> NewTicket {
    NewTicket {
        tenant,
        office_id: office,
        day: DAY.to_string(),
        queue: queue.to_string(),
        booking: None,
        walk_in_capacity: None,
        now,
    }
}

/// A confirmed booking with one identity, `phone` as its client's phone.
async fn book(db: &Db, tenant: TenantId, service: i64, code: &str, start: i64, phone: &str) -> i64 {
    let b = NewBooking {
        client_name: None,
        client_phone: Some(phone.to_string()),
        terms_version: "1".to_string(),
        identities: vec![("phone".to_string(), format!("hash-{phone}"))],
        ..confirmed_booking(tenant, service, code, (start, start + 900), NOW)
    };
    create_booking(db, &b, 5, &[]).await.unwrap().booking.id
}

async fn used(db: &Db, tenant: TenantId, service: i64, slot: i64) -> i64 {
    slot_usage(db, tenant, service, "online", slot, slot + 1)
        .await
        .unwrap()
        .first()
        .map_or(0, |r| r.1)
}

// ---------------------------------------------------------------------------------------------

/// Numbers run per office, day and queue; walk-ins stop at the queue's daily capacity (CI-4),
/// booked visits' tickets do not count against it.
async fn scenario_numbering(db: Db) {
    let fx = fixture(&db).await;
    let mut labels = Vec::new();
    for (q, i) in [("A", 0), ("A", 1), ("B", 2), ("A", 3)] {
        labels.push(
            issue_ticket(&db, &walk_in(fx.a, fx.oa, q, NOW + i))
                .await
                .unwrap()
                .label,
        );
    }
    assert_eq!(labels, ["A001", "A002", "B001", "A003"]);
    // Another day starts again; another tenant has its own numbers.
    let next_day = NewTicket {
        day: "2026-01-02".into(),
        ..walk_in(fx.a, fx.oa, "A", NOW + 86_400)
    };
    assert_eq!(issue_ticket(&db, &next_day).await.unwrap().label, "A001");
    assert_eq!(
        issue_ticket(&db, &walk_in(fx.b, fx.ob, "A", NOW))
            .await
            .unwrap()
            .label,
        "A001"
    );

    let capped = |now| NewTicket {
        walk_in_capacity: Some(2),
        ..walk_in(fx.a, fx.oa, "C", now)
    };
    assert_eq!(issue_ticket(&db, &capped(NOW)).await.unwrap().label, "C001");
    assert_eq!(issue_ticket(&db, &capped(NOW)).await.unwrap().label, "C002");
    assert!(matches!(
        issue_ticket(&db, &capped(NOW)).await,
        Err(StoreError::SlotFull)
    ));
    let zero = NewTicket {
        walk_in_capacity: Some(0),
        ..walk_in(fx.a, fx.oa, "D", NOW)
    };
    assert!(matches!(
        issue_ticket(&db, &zero).await,
        Err(StoreError::SlotFull)
    ));
    // A booked visit still gets its ticket in a full queue, numbered on.
    let booking = book(&db, fx.a, fx.sa, "BOOK01", SLOT, "48601000001").await;
    let booked = NewTicket {
        booking: Some(BookedVisit {
            id: booking,
            service_id: fx.sa,
            at: SLOT,
        }),
        ..capped(NOW + 5)
    };
    let t = issue_ticket(&db, &booked).await.unwrap();
    assert_eq!((t.label.as_str(), t.kind.as_str()), ("C003", "booked"));
    assert_eq!(t.booked_at, Some(SLOT));
    assert_eq!(t.service_id, Some(fx.sa));
    assert_eq!(
        queue_counters(&db, fx.a, fx.oa, DAY).await.unwrap(),
        vec![
            ("A".to_string(), 3, 3),
            ("B".to_string(), 1, 1),
            ("C".to_string(), 3, 2)
        ]
    );
}

/// A booking is checked in once; a cancelled booking is not checked in.
async fn scenario_check_in(db: Db) {
    let fx = fixture(&db).await;
    let id = book(&db, fx.a, fx.sa, "CHK001", SLOT, "48601000002").await;
    let t = NewTicket {
        booking: Some(BookedVisit {
            id,
            service_id: fx.sa,
            at: SLOT,
        }),
        ..walk_in(fx.a, fx.oa, "U", NOW)
    };
    let ticket = issue_ticket(&db, &t).await.unwrap();
    assert_eq!(ticket.booking_id, Some(id));
    assert!(matches!(
        issue_ticket(&db, &t).await,
        Err(StoreError::Conflict)
    ));
    let v = visit_by_code(&db, fx.a, "CHK001").await.unwrap().unwrap();
    assert_eq!(v.checked_in_at, Some(NOW));
    // Checked in: the lateness worker leaves it alone.
    assert!(matches!(
        cancel_unchecked(&db, fx.a, id, None, None, SLOT + 3600).await,
        Err(StoreError::Conflict)
    ));
    assert!(unchecked_between(&db, fx.a, SLOT - 1, SLOT + 1, 10)
        .await
        .unwrap()
        .is_empty());

    // By phone: the bookings of the day stored under any of the number's forms, earliest first.
    let later = book(&db, fx.a, fx.sa, "CHK002", SLOT + 3600, "601000002").await;
    let other_day = book(&db, fx.a, fx.sa, "CHK003", SLOT + 86_400, "48601000002").await;
    let found = visits_by_phone(
        &db,
        fx.a,
        &["48601000002".into(), "601000002".into()],
        NOW,
        NOW + 86_400,
    )
    .await
    .unwrap();
    assert_eq!(
        found.iter().map(|v| v.id).collect::<Vec<_>>(),
        vec![id, later]
    );
    assert!(!found.iter().any(|v| v.id == other_day));

    // The admission list: confirmed bookings of the day with their check-in.
    let list = visits_between(&db, fx.a, NOW, NOW + 86_400).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|v| (v.code.as_str(), v.checked_in_at.is_some()))
            .collect::<Vec<_>>(),
        vec![("CHK001", true), ("CHK002", false)]
    );
}

/// call → recall → void; call → serve → done; transfer keeps the arrival; refusal rejects the
/// booking and gives its seat back.
async fn scenario_calls(db: Db) {
    let fx = fixture(&db).await;
    let t1 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW))
        .await
        .unwrap();
    let t2 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW + 10))
        .await
        .unwrap();

    let c = claim_ticket(&db, fx.a, &[t1.id, t2.id], 4, Some(7), NOW + 60)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((c.id, c.state.as_str(), c.call_count), (t1.id, "called", 1));
    assert_eq!((c.desk, c.clerk_id), (Some(4), Some(7)));
    assert_eq!(c.first_called_at, Some(NOW + 60));
    // Claimed already: the next candidate.
    let c2 = claim_ticket(&db, fx.a, &[t1.id, t2.id], 5, None, NOW + 61)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c2.id, t2.id);
    assert!(claim_ticket(&db, fx.a, &[t1.id, t2.id], 5, None, NOW + 62)
        .await
        .unwrap()
        .is_none());

    // Recalls count once each; a stale count is refused.
    let r = recall_ticket(&db, fx.a, t1.id, 1, NOW + 660).await.unwrap();
    assert_eq!((r.call_count, r.last_called_at), (2, Some(NOW + 660)));
    assert!(matches!(
        recall_ticket(&db, fx.a, t1.id, 1, NOW + 661).await,
        Err(StoreError::Conflict)
    ));
    recall_ticket(&db, fx.a, t1.id, 2, NOW + 1260)
        .await
        .unwrap();
    let v = void_ticket(&db, fx.a, t1.id, NOW + 1860).await.unwrap();
    assert_eq!(v.state, "void");
    assert!(matches!(
        void_ticket(&db, fx.a, t1.id, NOW + 1861).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        recall_ticket(&db, fx.a, t1.id, 3, NOW + 1900).await,
        Err(StoreError::Conflict)
    ));

    // Serving.
    assert!(matches!(
        finish_service(&db, fx.a, t2.id, NOW + 100).await,
        Err(StoreError::Conflict)
    ));
    let s = start_service(&db, fx.a, t2.id, NOW + 100).await.unwrap();
    assert_eq!(
        (s.state.as_str(), s.service_started_at),
        ("serving", Some(NOW + 100))
    );
    let d = finish_service(&db, fx.a, t2.id, NOW + 400).await.unwrap();
    assert_eq!((d.state.as_str(), d.finished_at), ("done", Some(NOW + 400)));
    assert!(matches!(
        start_service(&db, fx.a, t2.id, NOW + 401).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        start_service(&db, fx.a, 999_999, NOW).await,
        Err(StoreError::NotFound)
    ));

    // Transfer: the visit continues in queue B with its number and arrival time.
    let t3 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW + 20))
        .await
        .unwrap();
    claim_ticket(&db, fx.a, &[t3.id], 4, None, NOW + 500)
        .await
        .unwrap()
        .unwrap();
    let (old, new) = transfer_ticket(&db, fx.a, t3.id, "B", NOW + 520)
        .await
        .unwrap();
    assert_eq!(old.state, "transferred");
    assert_eq!(
        (new.state.as_str(), new.queue.as_str(), new.label.as_str()),
        ("waiting", "B", "A003")
    );
    assert_eq!(new.arrived_at, t3.arrived_at);
    assert_eq!(new.transferred_from, Some(t3.id));
    assert_eq!(new.call_count, 0);
    let waiting_b = waiting_tickets(&db, fx.a, fx.oa, DAY, &["B".into()])
        .await
        .unwrap();
    assert_eq!(
        waiting_b.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![new.id]
    );
    assert!(waiting_tickets(&db, fx.a, fx.oa, DAY, &["A".into()])
        .await
        .unwrap()
        .is_empty());

    // Refusal of a booked visit (ZG-14): reason kept, booking rejected, seat back.
    let booking = book(&db, fx.a, fx.sa, "REF001", SLOT, "48601000003").await;
    assert_eq!(used(&db, fx.a, fx.sa, SLOT).await, 1);
    let bt = issue_ticket(
        &db,
        &NewTicket {
            booking: Some(BookedVisit {
                id: booking,
                service_id: fx.sa,
                at: SLOT,
            }),
            ..walk_in(fx.a, fx.oa, "A", NOW + 30)
        },
    )
    .await
    .unwrap();
    claim_ticket(&db, fx.a, &[bt.id], 4, None, NOW + 600)
        .await
        .unwrap()
        .unwrap();
    let r = refuse_service(
        &db,
        fx.a,
        bt.id,
        "Numer VIN niezgodny z rezerwacją",
        NOW + 700,
    )
    .await
    .unwrap();
    assert_eq!(r.state, "refused");
    assert_eq!(
        r.refusal_reason.as_deref(),
        Some("Numer VIN niezgodny z rezerwacją")
    );
    let b = stored_booking(&db, fx.a, booking).await;
    assert_eq!(b.status, "rejected");
    assert_eq!(
        b.cancel_reason.as_deref(),
        Some("Numer VIN niezgodny z rezerwacją")
    );
    assert_eq!(used(&db, fx.a, fx.sa, SLOT).await, 0);

    // The board: called or serving, latest call first.
    let t4 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW + 40))
        .await
        .unwrap();
    claim_ticket(&db, fx.a, &[new.id], 2, None, NOW + 800)
        .await
        .unwrap()
        .unwrap();
    claim_ticket(&db, fx.a, &[t4.id], 3, None, NOW + 900)
        .await
        .unwrap()
        .unwrap();
    let board = board_tickets(&db, fx.a, fx.oa, DAY, 10).await.unwrap();
    assert_eq!(
        board.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![t4.id, new.id]
    );
    let all = tickets_of_day(&db, fx.a, fx.oa, DAY, &[]).await.unwrap();
    assert_eq!(all.len(), 6);
    let done = tickets_of_day(&db, fx.a, fx.oa, DAY, &["done"])
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
}

/// A desk holds at most one called or serving ticket a day, whatever the concurrency: the
/// database refuses a second (`Unique("desk")`, the `tickets_one_per_desk` index).
async fn scenario_busy_desk(db: Db) {
    let fx = fixture(&db).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        ids.push(
            issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW + i))
                .await
                .unwrap()
                .id,
        );
    }
    // Ten claims of ten different tickets at desk 1 at once: one wins.
    let tasks: Vec<_> = ids
        .iter()
        .map(|&id| {
            let db = db.clone();
            let (tenant, _) = (fx.a, fx.oa);
            tokio::spawn(async move { claim_ticket(&db, tenant, &[id], 1, None, NOW + 100).await })
        })
        .collect();
    let (mut won, mut busy) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(Some(t)) => won.push(t),
            Err(StoreError::Unique("desk")) => busy += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((won.len(), busy), (1, 9), "{won:?}");
    let at_desk = tickets_of_day(&db, fx.a, fx.oa, DAY, &["called", "serving"])
        .await
        .unwrap();
    assert_eq!(at_desk.len(), 1);
    // Serving still holds the desk; done frees it. Another desk is not affected.
    start_service(&db, fx.a, won[0].id, NOW + 101)
        .await
        .unwrap();
    let next = ids.iter().copied().find(|id| *id != won[0].id).unwrap();
    assert!(matches!(
        claim_ticket(&db, fx.a, &[next], 1, None, NOW + 102).await,
        Err(StoreError::Unique("desk"))
    ));
    assert!(claim_ticket(&db, fx.a, &[next], 2, None, NOW + 102)
        .await
        .unwrap()
        .is_some());
    finish_service(&db, fx.a, won[0].id, NOW + 103)
        .await
        .unwrap();
    let third = ids
        .iter()
        .copied()
        .find(|id| *id != won[0].id && *id != next)
        .unwrap();
    assert!(claim_ticket(&db, fx.a, &[third], 1, None, NOW + 104)
        .await
        .unwrap()
        .is_some());
}

/// Eight desks calling at once never get the same ticket: every ticket is called exactly once.
async fn scenario_concurrent_calls(db: Db) {
    let fx = fixture(&db).await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let q = if i % 2 == 0 { "A" } else { "B" };
        ids.push(
            issue_ticket(&db, &walk_in(fx.a, fx.oa, q, NOW + i))
                .await
                .unwrap()
                .id,
        );
    }
    let called: Arc<Mutex<Vec<(i64, i64)>>> = Arc::default();
    let mut tasks = Vec::new();
    for desk in 1..=8_i64 {
        let db = db.clone();
        let called = called.clone();
        let (tenant, office) = (fx.a, fx.oa);
        tasks.push(tokio::spawn(async move {
            loop {
                let waiting = waiting_tickets(&db, tenant, office, DAY, &["A".into(), "B".into()])
                    .await
                    .unwrap();
                if waiting.is_empty() {
                    return;
                }
                // Every desk tries the same order, the worst case for contention.
                let order: Vec<i64> = waiting.iter().map(|t| t.id).collect();
                if let Some(t) = claim_ticket(&db, tenant, &order, desk, None, NOW + 100)
                    .await
                    .unwrap()
                {
                    called.lock().unwrap().push((t.id, desk));
                    // The desk is free again once the ticket is dealt with.
                    start_service(&db, tenant, t.id, NOW + 101).await.unwrap();
                    finish_service(&db, tenant, t.id, NOW + 102).await.unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let called = called.lock().unwrap().clone();
    let mut per_ticket: BTreeMap<i64, usize> = BTreeMap::new();
    for (id, _) in &called {
        *per_ticket.entry(*id).or_default() += 1;
    }
    assert_eq!(called.len(), 20, "{called:?}");
    assert!(per_ticket.values().all(|n| *n == 1), "{per_ticket:?}");
    assert_eq!(
        per_ticket.keys().copied().collect::<BTreeSet<_>>(),
        ids.iter().copied().collect()
    );
    for id in ids {
        let t = ticket_by_id(&db, fx.a, id).await.unwrap().unwrap();
        assert_eq!((t.state.as_str(), t.call_count), ("done", 1), "{t:?}");
    }
    let facts = queue_facts(&db, fx.a, DAY, DAY).await.unwrap();
    let waits = facts.iter().filter(|g| g.kind == "wait");
    assert_eq!(waits.map(|g| g.count).sum::<i64>(), 20);
}

/// The lateness worker's part: unchecked bookings of a range, cancelled once, seat back,
/// no-show recorded for the booking's identities and as an anonymous fact.
async fn scenario_lateness(db: Db) {
    let fx = fixture(&db).await;
    let late = book(&db, fx.a, fx.sa, "LATE01", SLOT, "48601000004").await;
    let on_time = book(&db, fx.a, fx.sa, "LATE02", SLOT + 3600, "48601000005").await;
    assert_eq!(used(&db, fx.a, fx.sa, SLOT).await, 1);
    let due = unchecked_between(&db, fx.a, SLOT - 86_400, SLOT + 1, 50)
        .await
        .unwrap();
    assert_eq!(due.iter().map(|v| v.id).collect::<Vec<_>>(), vec![late]);
    let place = FactPlace {
        office_id: fx.oa,
        day: DAY.into(),
        queue: "A".into(),
        booked: true,
    };
    let v = cancel_unchecked(&db, fx.a, late, Some("ewidencja"), Some(&place), SLOT + 601)
        .await
        .unwrap();
    assert_eq!(v.status, "cancelled");
    assert_eq!(v.cancel_reason.as_deref(), Some("no_check_in"));
    assert_eq!(used(&db, fx.a, fx.sa, SLOT).await, 0);
    assert!(matches!(
        cancel_unchecked(&db, fx.a, late, None, Some(&place), SLOT + 602).await,
        Err(StoreError::Conflict)
    ));
    let ns = recent_no_shows(&db, fx.a, &["hash-48601000004".into()], 0)
        .await
        .unwrap();
    assert_eq!(
        ns,
        vec![(
            "hash-48601000004".to_string(),
            Some("ewidencja".to_string()),
            SLOT + 601
        )]
    );
    // A cancelled booking cannot be checked in any more.
    assert!(matches!(
        issue_ticket(
            &db,
            &NewTicket {
                booking: Some(BookedVisit {
                    id: late,
                    service_id: fx.sa,
                    at: SLOT
                }),
                ..walk_in(fx.a, fx.oa, "A", SLOT + 700)
            }
        )
        .await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(stored_booking(&db, fx.a, on_time).await.status, "confirmed");
    let facts = queue_facts(&db, fx.a, DAY, DAY).await.unwrap();
    assert_eq!(facts.len(), 1);
    assert_eq!(
        (facts[0].kind.as_str(), facts[0].booked, facts[0].count),
        ("no_show", 1, 1)
    );
}

/// Tenant b never sees or changes tenant a's tickets and bookings (P-1).
async fn scenario_isolation(db: Db) {
    let fx = fixture(&db).await;
    let t = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW))
        .await
        .unwrap();
    let booking = book(&db, fx.a, fx.sa, "ISOQ01", SLOT, "48601000006").await;
    let other = fx.b;
    assert!(ticket_by_id(&db, other, t.id).await.unwrap().is_none());
    assert!(claim_ticket(&db, other, &[t.id], 1, None, NOW + 1)
        .await
        .unwrap()
        .is_none());
    assert!(waiting_tickets(&db, other, fx.oa, DAY, &["A".into()])
        .await
        .unwrap()
        .is_empty());
    assert!(tickets_of_day(&db, other, fx.oa, DAY, &[])
        .await
        .unwrap()
        .is_empty());
    assert!(board_tickets(&db, other, fx.oa, DAY, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(visit_by_code(&db, other, "ISOQ01").await.unwrap().is_none());
    assert!(visits_between(&db, other, NOW, NOW + 86_400)
        .await
        .unwrap()
        .is_empty());
    assert!(
        visits_by_phone(&db, other, &["48601000006".into()], NOW, NOW + 86_400)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(unchecked_between(&db, other, NOW, NOW + 86_400, 10)
        .await
        .unwrap()
        .is_empty());
    // A booking of a is not checked in through b, nor cancelled.
    assert!(matches!(
        issue_ticket(
            &db,
            &NewTicket {
                booking: Some(BookedVisit {
                    id: booking,
                    service_id: fx.sa,
                    at: SLOT
                }),
                ..walk_in(other, fx.ob, "A", NOW)
            }
        )
        .await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        cancel_unchecked(&db, other, booking, None, None, SLOT + 3600).await,
        Err(StoreError::Conflict)
    ));
    // Claim a's ticket in a, then b cannot move it.
    claim_ticket(&db, fx.a, &[t.id], 1, None, NOW + 2)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        recall_ticket(&db, other, t.id, 1, NOW + 900).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        start_service(&db, other, t.id, NOW + 900).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        void_ticket(&db, other, t.id, NOW + 900).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        refuse_service(&db, other, t.id, "x", NOW + 900).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        transfer_ticket(&db, other, t.id, "B", NOW + 900).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(
        ticket_by_id(&db, fx.a, t.id).await.unwrap().unwrap().state,
        "called"
    );
    assert!(queue_facts(&db, other, DAY, DAY).await.unwrap().is_empty());
    assert!(counters_between(&db, other, DAY, DAY)
        .await
        .unwrap()
        .is_empty());
    assert!(queue_counters(&db, other, fx.oa, DAY)
        .await
        .unwrap()
        .is_empty());
    let _ = fx.sb;
}

/// Statistics: wait, service and no-show facts per queue and day, anonymous.
async fn scenario_facts(db: Db) {
    let fx = fixture(&db).await;
    let a1 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW))
        .await
        .unwrap();
    let a2 = issue_ticket(&db, &walk_in(fx.a, fx.oa, "A", NOW + 100))
        .await
        .unwrap();
    claim_ticket(&db, fx.a, &[a1.id], 1, None, NOW + 300)
        .await
        .unwrap();
    start_service(&db, fx.a, a1.id, NOW + 360).await.unwrap();
    finish_service(&db, fx.a, a1.id, NOW + 960).await.unwrap();
    claim_ticket(&db, fx.a, &[a2.id], 1, None, NOW + 1000)
        .await
        .unwrap();
    void_ticket(&db, fx.a, a2.id, NOW + 3000).await.unwrap();

    let groups = queue_facts(&db, fx.a, DAY, DAY).await.unwrap();
    let find = |kind: &str| groups.iter().find(|g| g.kind == kind).unwrap().clone();
    let wait = find("wait");
    assert_eq!(
        (wait.count, wait.total_seconds, wait.max_seconds),
        (2, 300 + 900, Some(900))
    );
    let service = find("service");
    assert_eq!(
        (service.count, service.total_seconds, service.max_seconds),
        (1, 600, Some(600))
    );
    let no_show = find("no_show");
    assert_eq!((no_show.count, no_show.max_seconds), (1, None));
    assert!(groups
        .iter()
        .all(|g| g.queue == "A" && g.day == DAY && g.office_id == fx.oa && g.booked == 0));
    assert!(queue_facts(&db, fx.a, "2026-01-02", "2026-01-09")
        .await
        .unwrap()
        .is_empty());

    // The facts table holds nothing that points at a person, a booking or a ticket.
    let columns = facts_columns(&db).await.unwrap();
    assert_eq!(
        columns,
        [
            "booked",
            "day",
            "id",
            "kind",
            "office_id",
            "queue",
            "seconds",
            "tenant_id"
        ]
    );
    // Facts outlive the tickets and bookings they came from (personal data purged).
    db.batch_execute("DELETE FROM tickets").await.unwrap();
    assert_eq!(queue_facts(&db, fx.a, DAY, DAY).await.unwrap().len(), 3);
    let _: Option<TicketRow> = None;
}

/// The columns of `queue_facts` by name, as the database itself lists them.
async fn facts_columns(db: &Db) -> Result<Vec<String>, StoreError> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Column {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    // The catalogues differ per backend: no DSL names them.
    let sql = match db {
        Db::Pg(_) => {
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name = 'queue_facts' ORDER BY column_name"
        }
        Db::Sqlite { .. } => "SELECT name FROM pragma_table_info('queue_facts') ORDER BY name",
    };
    let rows: Vec<Column> = on_db!(db, c => diesel::sql_query(sql).load(c).await)?;
    Ok(rows.into_iter().map(|c| c.name).collect())
}
