//! Issue 15, "the workers stop after their current row", on SQLite and on PostgreSQL: the
//! outbox worker has claimed a batch of four due e-mails and is delivering the first of them to
//! an SMTP server that holds its answer when the server gets SIGTERM. Once the worker is told to
//! stop, the SMTP server answers: the process exits with status 0, exactly the e-mail that was
//! in progress is marked sent, the other three are still due (not attempted, their claims given
//! back) and none of them reached the SMTP server. On restart each of them is delivered once:
//! every row's `Message-ID` arrives exactly one time.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use okienko_store::Db;
use okienko_test_support::sql;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

const SLUG: &str = "dabrowa-gornicza";
/// E-mails of the test: one delivered before the signal (it keeps the worker busy while the
/// others fall due, so they are claimed together), one in progress at the signal, three waiting.
const MAILS: usize = 5;

/// A held delivery: its `Message-ID` is handed over once its data has arrived, and its `250`
/// waits for `release`.
struct Hold {
    arrived: oneshot::Sender<String>,
    release: oneshot::Receiver<()>,
}

/// The test's end of a held delivery.
struct Held {
    arrived: oneshot::Receiver<String>,
    release: oneshot::Sender<()>,
}

impl Held {
    /// Waits (30 s at most) until the held message's data has arrived: its `Message-ID`.
    async fn arrived(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(30), &mut self.arrived)
            .await
            .expect("the e-mail reached the SMTP server within 30 s")
            .unwrap()
    }

    /// Lets the SMTP server accept the held message.
    fn release(self) {
        self.release.send(()).unwrap();
    }
}

/// An SMTP server on loopback that records each message's `Message-ID` and holds its answer to
/// the data of the first `held` messages until the test releases each. Hand-written (a few SMTP
/// verbs): the test must know the instant a delivery is in progress and choose when it ends,
/// which aiosmtpd's stock handlers do not offer.
struct SlowSmtp {
    port: u16,
    received: Arc<Mutex<Vec<String>>>,
}

impl SlowSmtp {
    async fn start(held: usize) -> (SlowSmtp, VecDeque<Held>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (mut holds, mut ends) = (VecDeque::new(), VecDeque::new());
        for _ in 0..held {
            let (arrived_tx, arrived) = oneshot::channel();
            let (release, release_rx) = oneshot::channel();
            holds.push_back(Hold {
                arrived: arrived_tx,
                release: release_rx,
            });
            ends.push_back(Held { arrived, release });
        }
        let holds = Arc::new(Mutex::new(holds));
        let got = received.clone();
        tokio::spawn(async move {
            while let Ok((c, _)) = l.accept().await {
                tokio::spawn(session(c, got.clone(), holds.clone()));
            }
        });
        (SlowSmtp { port, received }, ends)
    }

    fn received(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }
}

/// One SMTP session: EHLO, MAIL, RCPT, DATA (recorded), RSET, NOOP, QUIT.
async fn session(
    c: tokio::net::TcpStream,
    received: Arc<Mutex<Vec<String>>>,
    holds: Arc<Mutex<VecDeque<Hold>>>,
) {
    let (r, mut w) = c.into_split();
    let mut lines = BufReader::new(r).lines();
    if w.write_all(b"220 stub ESMTP\r\n").await.is_err() {
        return;
    }
    while let Ok(Some(line)) = lines.next_line().await {
        let verb = line.get(..4).unwrap_or(&line).to_ascii_uppercase();
        let answer: &[u8] = match verb.as_str() {
            "EHLO" | "HELO" => b"250-stub\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "DATA" => {
                if w.write_all(b"354 end with .\r\n").await.is_err() {
                    return;
                }
                let mut id = String::new();
                while let Ok(Some(l)) = lines.next_line().await {
                    if l == "." {
                        break;
                    }
                    if let Some(v) = l.strip_prefix("Message-ID: ") {
                        id = v.trim().to_string();
                    }
                }
                received.lock().unwrap().push(id.clone());
                let held = holds.lock().unwrap().pop_front();
                if let Some(h) = held {
                    let _ = h.arrived.send(id);
                    let _ = h.release.await;
                }
                b"250 queued\r\n"
            }
            "QUIT" => {
                let _ = w.write_all(b"221 bye\r\n").await;
                return;
            }
            _ => b"250 ok\r\n",
        };
        if w.write_all(answer).await.is_err() {
            return;
        }
    }
}

#[derive(Debug, diesel::QueryableByName)]
#[diesel(table_name = okienko_store::schema::outbox)]
struct Row {
    id: i64,
    tenant_id: i64,
    status: String,
    attempts: i64,
    claimed_until: Option<i64>,
}

async fn email_rows(db: &Db) -> Vec<Row> {
    let query = "SELECT id, tenant_id, status, attempts, claimed_until FROM outbox \
                 WHERE channel = 'email' ORDER BY id";
    sql::rows::<Row>(db, query).await
}

/// The outbox row an e-mail's `Message-ID` (`<okienko.{tenant}.{id}.{digest}@domain>`) names.
fn row_of(message_id: &str) -> (i64, i64) {
    let mut parts = message_id
        .strip_prefix("<okienko.")
        .unwrap_or_else(|| panic!("not an outbox Message-ID: {message_id:?}"))
        .split('.');
    let mut next = || parts.next().and_then(|p| p.parse().ok()).unwrap();
    let tenant = next();
    (tenant, next())
}

/// Polls `f` until it holds, at most 30 s.
async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within 30 s");
}

async fn book(s: &Server, service: &str, i: usize) {
    let (start, _) = s.first_free_slot(SLUG, service, "2026-12-02").await;
    let v = s
        .gql(
            SLUG,
            CREATE,
            dabrowa_booking(service, &start, i)["variables"].clone(),
        )
        .await;
    assert_eq!(
        v["data"]["createBooking"]["booking"]["status"], "CONFIRMED",
        "{v}"
    );
}

async fn worker_stops_after_its_current_row(backend: Backend) {
    let test_db = TestDb::of(backend).await;
    if backend == Backend::Postgres && test_db.is_none() {
        return;
    }
    let (smtp, mut held) = SlowSmtp::start(2).await;
    let (mut first, mut second) = (held.pop_front().unwrap(), held.pop_front().unwrap());
    let mut b = Server::builder()
        .env("SMTP_URL", &format!("smtp://127.0.0.1:{}", smtp.port))
        .env("OKIENKO_SHUTDOWN_DRAIN_MS", "0")
        .env("OKIENKO_SHUTDOWN_TIMEOUT_MS", "30000");
    if let Some(t) = &test_db {
        b = b.database(&t.url);
    }
    let mut s = b.start().await;
    let db_url = match &test_db {
        Some(t) => t.url.clone(),
        None => format!("sqlite://{}/okienko.db", s.data.display()),
    };
    let service = s.service_id(SLUG, "rejestracja-dzialalnosci").await;

    // The first e-mail keeps the worker busy while four more fall due; once it is accepted the
    // worker claims those four at once and is delivering the first of them: its data is at the
    // SMTP server, which holds its answer.
    book(&s, &service, 0).await;
    let before = first.arrived().await;
    for i in 1..MAILS {
        book(&s, &service, i).await;
    }
    first.release();
    let in_progress = second.arrived().await;

    s.signal("TERM");
    // The worker has been told to stop once the accept loop has (the stop goes out first).
    until("the listener closed", || async {
        s.log().contains("no new connections taken")
    })
    .await;
    assert!(s.exited().is_none(), "exited with a delivery in progress");
    second.release();
    let status = s.wait_exit(Duration::from_secs(60)).await;
    assert!(status.success(), "{status}\n{}", s.log());
    assert!(
        !s.log()
            .contains("workers still busy at the shutdown timeout are cut"),
        "{}",
        s.log()
    );

    // Exactly the e-mail in progress went out (after the one before the signal) and is marked
    // sent; the others are still due, never attempted, their claims given back.
    assert_eq!(smtp.received(), vec![before.clone(), in_progress.clone()]);
    assert!(
        s.log().contains("claimed messages given back given_back=3"),
        "{}",
        s.log()
    );
    let db = Db::connect(&db_url).await.unwrap();
    let rows = email_rows(&db).await;
    assert_eq!(rows.len(), MAILS, "{rows:?}");
    let sent = [row_of(&before), row_of(&in_progress)];
    for r in &rows {
        if sent.contains(&(r.tenant_id, r.id)) {
            assert_eq!(r.status, "sent", "{r:?}");
        } else {
            assert_eq!(
                (r.status.as_str(), r.attempts, r.claimed_until),
                ("pending", 0, None),
                "{r:?}"
            );
        }
    }
    db.close().await;

    // On restart the others go out, each once; the one sent is not sent again.
    let s = s.restart_at(NOW).await;
    let db = Db::connect(&db_url).await.unwrap();
    until("every e-mail sent", || async {
        email_rows(&db).await.iter().all(|r| r.status == "sent")
    })
    .await;
    db.close().await;
    let mut got: Vec<(i64, i64)> = smtp.received().iter().map(|m| row_of(m)).collect();
    got.sort_unstable();
    let want: Vec<(i64, i64)> = rows.iter().map(|r| (r.tenant_id, r.id)).collect();
    assert_eq!(
        got,
        want,
        "Message-IDs at the SMTP server: {:?}",
        smtp.received()
    );
    drop(s);
}

on_both_backends!(#[tokio::test(flavor = "multi_thread", worker_threads = 2)] outbox_worker_finishes_its_row_and_takes_no_other_sqlite, outbox_worker_finishes_its_row_and_takes_no_other_postgres => worker_stops_after_its_current_row);
