//! Store conformance of the staff operations (issue 5, phase B) on both backends: booking
//! history, staff lists in keyset pages, phone-booking marks, visit outcomes, personal-data
//! export, correction and erasure, retention selection and complaints — each scoped by tenant.
//!
//! `OKIENKO_REQUIRE_POSTGRES=1 cargo test -p okienko-store --test staff_ops`
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use okienko_store::schema;
use okienko_store::{
    active_services, answer_complaint, audit_page, booking_events, bookings_of_client,
    bookings_page, claim_due, close_complaint, complaint_by_id, complaints_of_client,
    complaints_page, correct_client, count_bookings, create_booking, due_for_erasure,
    erase_bookings, erase_complaints, erase_messages_to, file_complaint, import_tenants,
    list_tenants, mark_staff_booking, on_db, outbox_for_booking, outbox_of_client,
    overdue_complaints, record_booking_event, record_outcome, release_booking, slot_usage,
    staff_booking, staff_booking_by_code, BookingFilter, BookingRow, ClientMatch, Db, NewAudit,
    NewBooking, NewComplaint, NewEvent, NewOutbox, Scope, StaffBookingRow, StoreError, TenantId,
    TenantImport,
};
use okienko_test_support::{both, confirmed_booking, stored_booking, TestDb};

/// 2026-01-01T00:00:00Z.
const NOW: i64 = 1_767_225_600;
const DAY: i64 = 86_400;
const LEN: i64 = 900;
/// A slot on the next day.
const SLOT: i64 = NOW + DAY + 9 * 3600;

both! {
    scenario_events, events_sqlite, events_postgres;
    scenario_staff_list, staff_list_sqlite, staff_list_postgres;
    scenario_mark_and_outcome, mark_and_outcome_sqlite, mark_and_outcome_postgres;
    scenario_personal_data, personal_data_sqlite, personal_data_postgres;
    scenario_retention, retention_sqlite, retention_postgres;
    scenario_complaints, complaints_sqlite, complaints_postgres;
}

struct Fx {
    a: TenantId,
    b: TenantId,
    /// Tenant a's services (two) and tenant b's (one).
    sa: Vec<i64>,
    sb: i64,
}

fn tenant_import(slug: &str, services: &[&str]) -> TenantImport {
    TenantImport {
        slug: slug.to_string(),
        name: format!("Urząd Miejski {slug}"),
        config_json: "{}".to_string(),
        config_hash: format!("h-{slug}"),
        offices: vec![
            ("ratusz".to_string(), "Ratusz".to_string()),
            ("filia".to_string(), "Filia".to_string()),
        ],
        services: services
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let office = if i == 0 { "ratusz" } else { "filia" };
                (k.to_string(), office.to_string(), format!("Sprawa {k}"))
            })
            .collect(),
    }
}

async fn fixture(db: &Db) -> Fx {
    import_tenants(
        db,
        &[
            tenant_import("a", &["dowod", "meldunek"]),
            tenant_import("b", &["dowod"]),
        ],
        NOW,
        false,
    )
    .await
    .unwrap();
    let tenants = list_tenants(db).await.unwrap();
    let id = |slug: &str| TenantId(tenants.iter().find(|t| t.slug == slug).unwrap().id);
    let (a, b) = (id("a"), id("b"));
    let sa: Vec<i64> = active_services(db, a)
        .await
        .unwrap()
        .iter()
        .map(|s| s.id)
        .collect();
    let sb = active_services(db, b).await.unwrap()[0].id;
    assert_eq!(sa.len(), 2);
    Fx { a, b, sa, sb }
}

/// The (slot start, id) keys of a page of staff bookings, in its order.
fn keys(page: &[StaffBookingRow]) -> Vec<(i64, i64)> {
    page.iter()
        .map(|r| (r.booking.slot_start, r.booking.id))
        .collect()
}

/// `record_outcome` of booking `id` as `user:2` with the scenario's event, audited as
/// `booking.outcome`: (outcome, note).
async fn outcome_by_clerk(
    db: &Db,
    tenant: TenantId,
    id: i64,
    (outcome, note): (&str, Option<&str>),
    ev: &NewEvent,
    now: i64,
) -> okienko_store::Result<(StaffBookingRow, bool)> {
    record_outcome(
        db,
        tenant,
        id,
        outcome,
        note,
        "user:2",
        ev,
        &audit("booking.outcome"),
        now,
    )
    .await
}

fn nb(tenant: TenantId, service_id: i64, code: &str, slot_start: i64) -> NewBooking {
    NewBooking {
        client_email: Some("Jan@Example.pl".to_string()),
        client_phone: Some("48601234567".to_string()),
        fields_json: "{\"registration_number\":\"FZ 12345\"}".to_string(),
        consents_json: "[[\"rodo\",\"1\"]]".to_string(),
        idempotency_key: Some(format!("key-{code}")),
        request_hash: Some(format!("req-{code}")),
        identities: vec![("email".to_string(), format!("hash-{code}"))],
        ..confirmed_booking(
            tenant,
            service_id,
            code,
            (slot_start, slot_start + LEN),
            NOW,
        )
    }
}

fn msg(to: &str, text: &str) -> NewOutbox {
    NewOutbox {
        channel: "email",
        recipient: to.to_string(),
        payload_json: format!("{{\"to\":\"{to}\",\"subject\":\"s\",\"text\":\"{text}\"}}"),
    }
}

/// Stores a booking with its confirmation message to the client's address.
async fn book(db: &Db, b: NewBooking) -> BookingRow {
    let to = b
        .client_email
        .clone()
        .unwrap_or_else(|| "brak@example.pl".into());
    create_booking(db, &b, 10, &[msg(&to, "created")])
        .await
        .unwrap()
        .booking
}

/// The `n` of a `SELECT COUNT(*) AS n` query.
#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// The count of `sql` (`SELECT COUNT(*) AS n …` with `$1` tenant, `$2` id): as text, since
/// the callers count rows of several tables.
async fn count(db: &Db, sql: &str, tenant: TenantId, id: i64) -> i64 {
    let counted = async {
        let row: Count = on_db!(db, c => diesel::sql_query(sql)
            .bind::<BigInt, _>(tenant.0)
            .bind::<BigInt, _>(id)
            .get_result(c)
            .await?);
        Ok::<_, StoreError>(row.n)
    };
    counted.await.unwrap()
}

fn audit(action: &str) -> NewAudit {
    NewAudit::new("user:1 admin@a.pl (admin)", action, "booking:x")
}

// ---------------------------------------------------------------------------------------------

async fn scenario_events(db: Db) {
    let fx = fixture(&db).await;
    let b = book(&db, nb(fx.a, fx.sa[0], "EV-1", SLOT)).await;
    let e = NewEvent::new("created", "client").detail("{\"source\":\"online\"}");
    record_booking_event(&db, fx.a, b.id, &e, NOW)
        .await
        .unwrap();
    record_booking_event(
        &db,
        fx.a,
        b.id,
        &NewEvent::new("confirmed", "client"),
        NOW + 1,
    )
    .await
    .unwrap();
    // Another tenant cannot write into, nor read, this booking's history.
    assert!(matches!(
        record_booking_event(&db, fx.b, b.id, &NewEvent::new("cancelled", "x"), NOW + 2).await,
        Err(StoreError::NotFound)
    ));
    assert!(booking_events(&db, fx.b, b.id).await.unwrap().is_empty());
    let h = booking_events(&db, fx.a, b.id).await.unwrap();
    assert_eq!(
        h.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["created", "confirmed"]
    );
    assert_eq!(h[0].detail_json.as_deref(), Some("{\"source\":\"online\"}"));
    assert_eq!((h[0].actor.as_str(), h[1].at), ("client", NOW + 1));
}

async fn scenario_staff_list(db: Db) {
    let fx = fixture(&db).await;
    // 7 bookings of tenant a over two days and two services (two share a slot), one of b.
    let mut ids = Vec::new();
    for i in 0..7i64 {
        let service = fx.sa[(i % 2) as usize];
        let start = SLOT + (i / 2) * LEN + if i >= 4 { DAY } else { 0 };
        ids.push(
            book(&db, nb(fx.a, service, &format!("L-{i}"), start))
                .await
                .id,
        );
    }
    book(&db, nb(fx.b, fx.sb, "L-B", SLOT)).await;
    let cancelled = ids[1];
    release_booking(&db, fx.a, cancelled, "cancelled", Some("client"), NOW, &[])
        .await
        .unwrap();

    let all = BookingFilter::default();
    assert_eq!(count_bookings(&db, fx.a, &all).await.unwrap(), 7);
    assert_eq!(count_bookings(&db, fx.b, &all).await.unwrap(), 1);

    // Forward pages of 3 walk everything once, in slot order then id.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = bookings_page(&db, fx.a, &all, after, None, 3, false)
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = keys(&page).last().copied();
        seen.extend(keys(&page));
    }
    assert_eq!(seen.len(), 7);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 7);
    assert!(seen.iter().all(|(_, id)| ids.contains(id)), "only a's rows");

    // Backward: the last 2 before the end, then the 2 before them, in slot order.
    let last = bookings_page(&db, fx.a, &all, None, None, 2, true)
        .await
        .unwrap();
    assert_eq!(keys(&last), seen[5..].to_vec());
    let before = bookings_page(&db, fx.a, &all, None, Some(keys(&last)[0]), 2, true)
        .await
        .unwrap();
    assert_eq!(keys(&before), seen[3..5].to_vec());

    // Filters: the day, a service, an office, a status.
    let day = BookingFilter {
        from: Some(SLOT - 9 * 3600),
        to: Some(SLOT - 9 * 3600 + DAY),
        ..Default::default()
    };
    assert_eq!(count_bookings(&db, fx.a, &day).await.unwrap(), 4);
    let service = BookingFilter {
        service_id: Some(fx.sa[1]),
        ..Default::default()
    };
    let rows = bookings_page(&db, fx.a, &service, None, None, 100, false)
        .await
        .unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.booking.service_id == fx.sa[1]));
    let offices = async {
        let rows: Vec<(i64, i64)> = on_db!(&db, c => schema::services::table
            .filter(schema::services::tenant_id.eq(fx.a.0))
            .order(schema::services::id)
            .select((schema::services::id, schema::services::office_id))
            .load(c)
            .await?);
        Ok::<_, StoreError>(rows)
    };
    let offices = offices.await.unwrap();
    let office = BookingFilter {
        office_id: Some(offices[0].1),
        ..Default::default()
    };
    assert_eq!(count_bookings(&db, fx.a, &office).await.unwrap(), 4);
    // Tenant a's office id gives b nothing, b's service id gives a nothing.
    assert_eq!(count_bookings(&db, fx.b, &office).await.unwrap(), 0);
    let foreign = BookingFilter {
        service_id: Some(fx.sb),
        ..Default::default()
    };
    assert_eq!(count_bookings(&db, fx.a, &foreign).await.unwrap(), 0);
    let status = BookingFilter {
        status: Some("cancelled".into()),
        ..Default::default()
    };
    let rows = bookings_page(&db, fx.a, &status, None, None, 100, false)
        .await
        .unwrap();
    assert_eq!(
        rows.iter().map(|r| r.booking.id).collect::<Vec<_>>(),
        [cancelled]
    );
    // Looked up one by one, only in its own tenant.
    assert!(staff_booking(&db, fx.b, ids[0]).await.unwrap().is_none());
    assert!(staff_booking_by_code(&db, fx.b, "L-0")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        staff_booking_by_code(&db, fx.a, "L-0")
            .await
            .unwrap()
            .map(|r| r.booking.id),
        Some(ids[0])
    );
}

async fn scenario_mark_and_outcome(db: Db) {
    let fx = fixture(&db).await;
    let phone = NewBooking {
        quota: "staff",
        source: "phone",
        ..nb(fx.a, fx.sa[0], "PH-1", SLOT)
    };
    let b = book(&db, phone).await;
    let e = NewEvent::new("created", "user:1");
    assert!(matches!(
        mark_staff_booking(&db, fx.b, b.id, "user:9", Some(1), &e, &audit("x"), NOW).await,
        Err(StoreError::NotFound)
    ));
    mark_staff_booking(
        &db,
        fx.a,
        b.id,
        "user:1",
        Some(SLOT + DAY),
        &e,
        &audit("booking.phone_create"),
        NOW,
    )
    .await
    .unwrap();
    let row = staff_booking(&db, fx.a, b.id).await.unwrap().unwrap();
    assert_eq!(row.created_by.as_deref(), Some("user:1"));
    assert_eq!(row.personal_data_expires_at, Some(SLOT + DAY));
    assert_eq!(row.booking, stored_booking(&db, fx.a, b.id).await);
    assert_eq!(booking_events(&db, fx.a, b.id).await.unwrap().len(), 1);
    assert_eq!(
        audit_page(&db, Scope::Tenant(fx.a), None, 10)
            .await
            .unwrap()[0]
            .action,
        "booking.phone_create"
    );
    assert!(audit_page(&db, Scope::Tenant(fx.b), None, 10)
        .await
        .unwrap()
        .is_empty());

    // Outcomes: a no-show counts once; changing it away lifts it.
    let ev = NewEvent::new("outcome_recorded", "user:2");
    let (r, changed) = outcome_by_clerk(&db, fx.a, b.id, ("no_show", None), &ev, NOW)
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(r.outcome.as_deref(), Some("no_show"));
    okienko_store::record_no_show(&db, fx.a, b.id, Some("dowody"), NOW)
        .await
        .unwrap();
    let no_shows = "SELECT COUNT(*) AS n FROM no_shows WHERE tenant_id = $1 AND booking_id = $2";
    assert_eq!(count(&db, no_shows, fx.a, b.id).await, 1);
    let (_, changed) = outcome_by_clerk(
        &db,
        fx.a,
        b.id,
        ("no_show", Some("drugi raz")),
        &ev,
        NOW + 1,
    )
    .await
    .unwrap();
    assert!(!changed, "the same outcome again is no new no-show");
    assert!(matches!(
        record_outcome(
            &db,
            fx.b,
            b.id,
            "attended",
            None,
            "user:9",
            &ev,
            &audit("x"),
            NOW
        )
        .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(count(&db, no_shows, fx.a, b.id).await, 1);
    let (r, changed) = outcome_by_clerk(&db, fx.a, b.id, ("attended", None), &ev, NOW + 2)
        .await
        .unwrap();
    assert!(changed);
    assert_eq!(
        (
            r.outcome.as_deref(),
            r.outcome_note.as_deref(),
            r.outcome_at
        ),
        (Some("attended"), None, Some(NOW + 2))
    );
    assert_eq!(count(&db, no_shows, fx.a, b.id).await, 0);
    assert_eq!(booking_events(&db, fx.a, b.id).await.unwrap().len(), 4);

    // Only a confirmed booking gets an outcome.
    let c = book(&db, nb(fx.a, fx.sa[0], "PH-2", SLOT)).await;
    release_booking(&db, fx.a, c.id, "rejected", Some("VIN 00000"), NOW, &[])
        .await
        .unwrap();
    assert!(matches!(
        record_outcome(
            &db,
            fx.a,
            c.id,
            "attended",
            None,
            "u",
            &ev,
            &audit("x"),
            NOW
        )
        .await,
        Err(StoreError::Conflict)
    ));
}

async fn scenario_personal_data(db: Db) {
    let fx = fixture(&db).await;
    let b1 = book(&db, nb(fx.a, fx.sa[0], "PD-1", SLOT)).await;
    let b2 = book(
        &db,
        NewBooking {
            client_email: None,
            ..nb(fx.a, fx.sa[1], "PD-2", SLOT + DAY)
        },
    )
    .await;
    let other = book(
        &db,
        NewBooking {
            client_email: Some("ktos@example.pl".into()),
            client_phone: None,
            ..nb(fx.a, fx.sa[0], "PD-3", SLOT)
        },
    )
    .await;
    // The same client in tenant b.
    let in_b = book(&db, nb(fx.b, fx.sb, "PD-B", SLOT)).await;

    let by_email = ClientMatch {
        email: Some("jan@example.pl".into()),
        ..Default::default()
    };
    let ids = |rows: &[okienko_store::StaffBookingRow]| -> Vec<i64> {
        rows.iter().map(|r| r.booking.id).collect()
    };
    assert_eq!(
        ids(&bookings_of_client(&db, fx.a, &by_email).await.unwrap()),
        [b1.id]
    );
    let by_phone = ClientMatch {
        phone: Some("48601234567".into()),
        ..Default::default()
    };
    assert_eq!(
        ids(&bookings_of_client(&db, fx.a, &by_phone).await.unwrap()),
        [b1.id, b2.id]
    );
    let by_id = ClientMatch {
        booking_id: Some(in_b.id),
        ..Default::default()
    };
    assert!(bookings_of_client(&db, fx.a, &by_id)
        .await
        .unwrap()
        .is_empty());
    assert!(bookings_of_client(&db, fx.a, &ClientMatch::default())
        .await
        .unwrap()
        .is_empty());
    let messages = outbox_of_client(&db, fx.a, &[b1.id, b2.id], Some("JAN@example.pl"), None)
        .await
        .unwrap();
    assert_eq!(messages.len(), 2, "one per booking, no duplicates");
    assert!(messages.iter().all(|m| m.tenant_id == fx.a.0));

    // Correction reaches only the given bookings of the tenant.
    let ev = NewEvent::new("client_updated", "user:1");
    let fixed = correct_client(
        &db,
        fx.a,
        &[b1.id, b2.id, in_b.id],
        Some("Jan Nowak"),
        None,
        None,
        &ev,
        &audit("personal_data.correct"),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(fixed.len(), 2);
    assert!(fixed
        .iter()
        .all(|r| r.client_name.as_deref() == Some("Jan Nowak")
            && r.client_phone.as_deref() == Some("48601234567")));
    assert_eq!(
        stored_booking(&db, fx.b, in_b.id)
            .await
            .client_name
            .as_deref(),
        Some("Jan Kowalski")
    );

    // Erasure: personal fields nulled, messages scrubbed and never sent, identities gone;
    // status, service, slot and the seat stay.
    let erase_ev = NewEvent::new("erased", "user:1").detail("{\"reason\":\"wniosek\"}");
    let before_usage = slot_usage(&db, fx.a, fx.sa[0], "online", SLOT, SLOT + 1)
        .await
        .unwrap();
    let done = erase_bookings(
        &db,
        fx.b,
        &[b1.id],
        &erase_ev,
        Some(&audit("personal_data.erase")),
        NOW,
    )
    .await
    .unwrap();
    assert!(done.is_empty(), "another tenant erases nothing");
    let done = erase_bookings(
        &db,
        fx.a,
        &[b1.id, b2.id],
        &erase_ev,
        Some(&audit("personal_data.erase")),
        NOW + 5,
    )
    .await
    .unwrap();
    assert_eq!(done, [b1.id, b2.id]);
    let r = staff_booking(&db, fx.a, b1.id).await.unwrap().unwrap();
    assert_eq!(
        (
            r.booking.client_name.as_deref(),
            r.booking.client_email.as_deref(),
            r.booking.client_phone.as_deref(),
            r.booking.fields_json.as_str(),
            r.booking.idempotency_key.as_deref(),
            r.booking.request_hash.as_deref(),
        ),
        (None, None, None, "{}", None, None)
    );
    assert_eq!(r.erased_at, Some(NOW + 5));
    assert_eq!(
        (
            r.booking.status.as_str(),
            r.booking.service_id,
            r.booking.slot_start
        ),
        ("confirmed", fx.sa[0], SLOT)
    );
    assert_eq!(
        r.booking.consents_json, b1.consents_json,
        "P-4 record stays"
    );
    assert_eq!(
        slot_usage(&db, fx.a, fx.sa[0], "online", SLOT, SLOT + 1)
            .await
            .unwrap(),
        before_usage
    );
    let scrubbed = outbox_for_booking(&db, fx.a, b1.id).await.unwrap();
    assert!(scrubbed
        .iter()
        .all(|m| m.recipient.is_empty() && m.payload_json == "{}" && m.status == "erased"));
    assert!(claim_due(&db, NOW + 10, 60, 100)
        .await
        .unwrap()
        .iter()
        .all(|m| m.booking_id != Some(b1.id) && m.booking_id != Some(b2.id)));
    let identities =
        "SELECT COUNT(*) AS n FROM booking_identities WHERE tenant_id = $1 AND booking_id = $2";
    assert_eq!(count(&db, identities, fx.a, b1.id).await, 0);
    assert_eq!(count(&db, identities, fx.a, other.id).await, 1);
    assert_eq!(count(&db, identities, fx.b, in_b.id).await, 1);
    let h = booking_events(&db, fx.a, b1.id).await.unwrap();
    assert_eq!(h.last().map(|e| e.kind.as_str()), Some("erased"));
    // Again: nothing more to erase, no second event; tenant b's twin is untouched.
    assert!(
        erase_bookings(&db, fx.a, &[b1.id], &erase_ev, None, NOW + 6)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        booking_events(&db, fx.a, b1.id).await.unwrap().len(),
        h.len()
    );
    let twin = stored_booking(&db, fx.b, in_b.id).await;
    assert_eq!(twin.client_email.as_deref(), Some("Jan@Example.pl"));
    assert_eq!(
        outbox_for_booking(&db, fx.b, in_b.id).await.unwrap()[0].recipient,
        "Jan@Example.pl"
    );
    // Correction never revives an erased booking.
    assert!(correct_client(
        &db,
        fx.a,
        &[b1.id],
        Some("X Y"),
        None,
        None,
        &ev,
        &audit("x"),
        NOW
    )
    .await
    .unwrap()
    .is_empty());

    // Messages to an address outside any booking, in this tenant only.
    let outside = complaint("ktos@example.pl", None);
    let acknowledged = |_: &okienko_store::ComplaintRow| vec![msg("ktos@example.pl", "przyjęto")];
    let c = file_complaint(&db, fx.a, &outside, acknowledged, None, NOW)
        .await
        .unwrap();
    assert_eq!(c.booking_id, None);
    file_complaint(&db, fx.b, &outside, acknowledged, None, NOW)
        .await
        .unwrap();
    // One scrubbed in a: the complaint's acknowledgement (the booking's message too).
    assert_eq!(
        erase_messages_to(&db, fx.a, Some("KTOS@example.pl"), None)
            .await
            .unwrap(),
        2
    );
    let left = async {
        let n: i64 = on_db!(&db, c => schema::outbox::table
            .filter(schema::outbox::recipient.eq("ktos@example.pl"))
            .count()
            .get_result(c)
            .await?);
        Ok::<_, StoreError>(n)
    };
    let left: i64 = left.await.unwrap();
    assert_eq!(left, 1, "tenant b's message stays");
}

async fn scenario_retention(db: Db) {
    let fx = fixture(&db).await;
    let past = book(&db, nb(fx.a, fx.sa[0], "RT-1", NOW - 40 * DAY)).await;
    let recent = book(&db, nb(fx.a, fx.sa[0], "RT-2", NOW - 2 * DAY)).await;
    let phone = book(
        &db,
        NewBooking {
            source: "phone",
            quota: "staff",
            ..nb(fx.a, fx.sa[0], "RT-3", NOW - 2 * DAY)
        },
    )
    .await;
    let marked = book(&db, nb(fx.a, fx.sa[1], "RT-4", NOW - DAY)).await;
    let future = book(&db, nb(fx.a, fx.sa[0], "RT-5", NOW + DAY)).await;
    let in_b = book(&db, nb(fx.b, fx.sb, "RT-B", NOW - 40 * DAY)).await;
    mark_staff_booking(
        &db,
        fx.a,
        marked.id,
        "user:1",
        Some(NOW - 10),
        &NewEvent::new("created", "user:1"),
        &audit("x"),
        NOW,
    )
    .await
    .unwrap();
    mark_staff_booking(
        &db,
        fx.a,
        future.id,
        "user:1",
        Some(NOW + 2 * DAY),
        &NewEvent::new("created", "user:1"),
        &audit("x"),
        NOW,
    )
    .await
    .unwrap();

    // 30 days for everyone, 1 day for phone bookings.
    let due = due_for_erasure(&db, fx.a, NOW - 30 * DAY, NOW - DAY, NOW, 100)
        .await
        .unwrap();
    assert_eq!(due, [past.id, phone.id, marked.id]);
    assert!(!due.contains(&recent.id) && !due.contains(&future.id));
    assert_eq!(
        due_for_erasure(&db, fx.b, NOW - 30 * DAY, NOW - DAY, NOW, 100)
            .await
            .unwrap(),
        [in_b.id]
    );
    // Limited, oldest first; erased ones are not due again.
    assert_eq!(
        due_for_erasure(&db, fx.a, NOW - 30 * DAY, NOW - DAY, NOW, 1)
            .await
            .unwrap(),
        [past.id]
    );
    erase_bookings(
        &db,
        fx.a,
        &due,
        &NewEvent::new("erased", "system"),
        None,
        NOW,
    )
    .await
    .unwrap();
    assert!(
        due_for_erasure(&db, fx.a, NOW - 30 * DAY, NOW - DAY, NOW, 100)
            .await
            .unwrap()
            .is_empty()
    );
    // Anonymous counts stay.
    assert_eq!(
        count_bookings(&db, fx.a, &BookingFilter::default())
            .await
            .unwrap(),
        5
    );
}

fn complaint(email: &str, code: Option<&str>) -> NewComplaint {
    NewComplaint {
        channel: "online",
        body: "Nie dostałem potwierdzenia wizyty.".into(),
        contact_email: Some(email.into()),
        booking_code: code.map(str::to_string),
        filed_by: None,
        deadline_at: NOW + 15 * DAY,
    }
}

async fn scenario_complaints(db: Db) {
    let fx = fixture(&db).await;
    let b = book(&db, nb(fx.a, fx.sa[0], "CM-1", SLOT)).await;
    let none = |_: &okienko_store::ComplaintRow| Vec::new();
    let c1 = file_complaint(
        &db,
        fx.a,
        &complaint("k@example.pl", Some("CM-1")),
        |c| vec![msg("k@example.pl", &format!("RK-{}", c.number))],
        Some(&NewAudit::new("user:1", "complaint.file", "")),
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        (c1.number, c1.booking_id, c1.status.as_str()),
        (1, Some(b.id), "open")
    );
    assert_eq!(
        outbox_for_booking(&db, fx.a, b.id)
            .await
            .unwrap()
            .last()
            .map(|m| m.payload_json.contains("RK-1")),
        Some(true)
    );
    assert_eq!(
        audit_page(&db, Scope::Tenant(fx.a), None, 10)
            .await
            .unwrap()[0]
            .target,
        format!("complaint:{}", c1.id)
    );
    // Tenant b numbers its own complaints and never links a's booking code.
    let cb = file_complaint(
        &db,
        fx.b,
        &complaint("k@example.pl", Some("CM-1")),
        none,
        None,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!((cb.number, cb.booking_id), (1, None));
    assert_eq!(cb.booking_code.as_deref(), Some("CM-1"));
    let c2 = file_complaint(
        &db,
        fx.a,
        &NewComplaint {
            deadline_at: NOW + 2 * DAY,
            ..complaint("inny@example.pl", None)
        },
        none,
        None,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(c2.number, 2);

    // Concurrent filings get distinct numbers.
    let mut handles = Vec::new();
    for _ in 0..6 {
        let db = db.clone();
        let a = fx.a;
        handles.push(tokio::spawn(async move {
            file_complaint(
                &db,
                a,
                &complaint("x@example.pl", None),
                |_| Vec::new(),
                None,
                NOW,
            )
            .await
            .unwrap()
            .number
        }));
    }
    let mut numbers = BTreeSet::new();
    for h in handles {
        numbers.insert(h.await.unwrap());
    }
    assert_eq!(numbers, (3..=8).collect());

    // Pages, newest first.
    let first = complaints_page(&db, fx.a, None, None, 5).await.unwrap();
    assert_eq!(first.len(), 5);
    let rest = complaints_page(&db, fx.a, None, first.last().map(|c| c.id), 5)
        .await
        .unwrap();
    assert_eq!(rest.len(), 3);
    assert!(rest.iter().all(|c| c.tenant_id == fx.a.0));
    assert_eq!(
        complaints_page(&db, fx.b, None, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );

    // Overdue: open past the deadline.
    assert!(overdue_complaints(&db, fx.a, NOW + DAY)
        .await
        .unwrap()
        .is_empty());
    let late = overdue_complaints(&db, fx.a, NOW + 3 * DAY).await.unwrap();
    assert_eq!(late.iter().map(|c| c.id).collect::<Vec<_>>(), [c2.id]);
    assert!(overdue_complaints(&db, fx.b, NOW + 3 * DAY)
        .await
        .unwrap()
        .is_empty());

    // Answer once, then close; another tenant reaches neither.
    let a = NewAudit::new("user:1", "complaint.answer", "complaint:x");
    assert!(matches!(
        answer_complaint(&db, fx.b, c2.id, "Odpowiedź", "user:9", &[], &a, NOW).await,
        Err(StoreError::NotFound)
    ));
    let answered = answer_complaint(
        &db,
        fx.a,
        c2.id,
        "Odpowiedź urzędu",
        "user:1",
        &[msg("inny@example.pl", "odpowiedź")],
        &a,
        NOW + 3 * DAY,
    )
    .await
    .unwrap();
    assert_eq!(
        (
            answered.status.as_str(),
            answered.answer.as_deref(),
            answered.answered_by.as_deref()
        ),
        ("answered", Some("Odpowiedź urzędu"), Some("user:1"))
    );
    assert!(overdue_complaints(&db, fx.a, NOW + 3 * DAY)
        .await
        .unwrap()
        .is_empty());
    assert!(matches!(
        answer_complaint(&db, fx.a, c2.id, "Znowu", "user:1", &[], &a, NOW).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        close_complaint(&db, fx.b, c2.id, &a, NOW).await,
        Err(StoreError::NotFound)
    ));
    let closed = close_complaint(&db, fx.a, c2.id, &a, NOW + 4 * DAY)
        .await
        .unwrap();
    assert_eq!(
        (closed.status.as_str(), closed.closed_at),
        ("closed", Some(NOW + 4 * DAY))
    );
    assert!(matches!(
        close_complaint(&db, fx.a, c2.id, &a, NOW).await,
        Err(StoreError::Conflict)
    ));
    assert!(complaint_by_id(&db, fx.b, c2.id).await.unwrap().is_none());

    // The client's complaints, and their erasure.
    let mine = complaints_of_client(&db, fx.a, Some("K@EXAMPLE.PL"), &[b.id])
        .await
        .unwrap();
    assert_eq!(mine.iter().map(|c| c.id).collect::<Vec<_>>(), [c1.id]);
    assert_eq!(erase_complaints(&db, fx.b, &[c1.id], NOW).await.unwrap(), 0);
    assert_eq!(erase_complaints(&db, fx.a, &[c1.id], NOW).await.unwrap(), 1);
    let e = complaint_by_id(&db, fx.a, c1.id).await.unwrap().unwrap();
    assert_eq!(
        (e.body, e.contact_email, e.erased_at),
        (None, None, Some(NOW))
    );
    assert_eq!(e.number, 1);
    assert_eq!(
        complaint_by_id(&db, fx.b, cb.id)
            .await
            .unwrap()
            .unwrap()
            .contact_email
            .as_deref(),
        Some("k@example.pl")
    );
}
