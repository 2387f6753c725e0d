//! E-mails claimed when the process died go out after the restart (issue 11), on both
//! backends: the server is killed with SIGKILL while its outbox worker is stuck delivering to
//! an SMTP server that never answers; the next process delivers every message. On SQLite the
//! restart takes back every claim at once; on PostgreSQL the dead process's short lease lapses
//! (the restarted clock is set past it, so nothing waits for real minutes). Each e-mail carries
//! its row's stable `Message-ID`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use okienko_store::Db;
use okienko_test_support::sql;

const SLUG: &str = "dabrowa-gornicza";
/// Ten minutes after `NOW`: far past the 30-second lease.
const LATER: &str = "2026-12-01T08:10:00Z";

/// An SMTP server that accepts connections and never says a word.
async fn silent_smtp() -> (u16, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((c, _)) = l.accept().await {
            held.push(c);
        }
    });
    (port, task)
}

async fn scalar(db: &Db, query: &str) -> i64 {
    sql::count(db, &format!("SELECT ({query}) AS n")).await
}

#[derive(diesel::QueryableByName)]
struct Id {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    tenant_id: i64,
}

async fn ids(db: &Db) -> Vec<(i64, i64)> {
    let query = "SELECT id, tenant_id FROM outbox WHERE channel = 'email' ORDER BY id";
    sql::rows::<Id>(db, query)
        .await
        .into_iter()
        .map(|r| (r.id, r.tenant_id))
        .collect()
}

async fn crash_during_delivery(backend: Backend) {
    let test_db = TestDb::of(backend).await;
    if backend == Backend::Postgres && test_db.is_none() {
        return;
    }
    let (smtp, _smtp_task) = silent_smtp().await;
    let mut b = Server::builder().env("SMTP_URL", &format!("smtp://127.0.0.1:{smtp}"));
    if let Some(t) = &test_db {
        b = b.database(&t.url);
    }
    let s = b.start().await;
    let db_url = match &test_db {
        Some(t) => t.url.clone(),
        None => format!("sqlite://{}/okienko.db", s.data.display()),
    };
    let db = Db::connect(&db_url).await.unwrap();

    let service = s.service_id(SLUG, "rejestracja-dzialalnosci").await;
    let mut codes = Vec::new();
    for i in 0..4 {
        let (start, _) = s.first_free_slot(SLUG, &service, "2026-12-02").await;
        let v = s
            .gql(
                SLUG,
                CREATE,
                dabrowa_booking(&service, &start, i)["variables"].clone(),
            )
            .await;
        let b = &v["data"]["createBooking"]["booking"];
        assert_eq!(b["status"], "CONFIRMED", "{v}");
        codes.push(b["code"].as_str().unwrap().to_string());
    }
    // The worker holds a claim and waits for the silent SMTP server.
    let mut claimed = 0;
    for _ in 0..100 {
        claimed = scalar(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND claimed_until IS NOT NULL",
        )
        .await;
        if claimed > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(claimed > 0, "no message was claimed");
    assert_eq!(
        scalar(&db, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'").await,
        0
    );

    // SIGKILL; the next process writes e-mail to files.
    let restart_clock = match backend {
        Backend::Sqlite => NOW,
        Backend::Postgres => LATER,
    };
    let s = s
        .crash_and_restart(&[("SMTP_URL", ""), ("OKIENKO_NOW", restart_clock)])
        .await;
    for code in &codes {
        let mail = wait_for_mail(&s.mail_dir(), code).await;
        assert!(mail.contains("Message-ID: <okienko."), "{mail}");
    }
    if backend == Backend::Sqlite {
        assert!(s
            .log()
            .contains("messages claimed by a process that stopped are due again"));
    }
    // Every e-mail went out once, under the Message-ID derived from its row.
    let rows = ids(&db).await;
    assert!(rows.len() >= codes.len());
    for _ in 0..100 {
        if scalar(
            &db,
            "SELECT COUNT(*) FROM outbox WHERE status <> 'sent' AND channel = 'email'",
        )
        .await
            == 0
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (id, tenant) in rows {
        let file = s.mail_dir().join(format!("{id:08}.eml"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.contains(&format!("Message-ID: <okienko.{tenant}.{id}.")),
            "{}: {text}",
            file.display()
        );
    }
    db.close().await;
}

on_both_backends!(#[tokio::test] claims_of_a_killed_process_return_on_sqlite, claims_of_a_killed_process_return_on_postgres => crash_during_delivery);
