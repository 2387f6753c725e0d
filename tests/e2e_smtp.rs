//! E-mail through real SMTP: the server delivers over `SMTP_URL` to an SMTP server this test
//! starts (aiosmtpd, a maintained Python SMTP server; `.ci/run` installs it), and the test
//! reads what arrived in its maildir.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use serde_json::json;

struct Smtpd(std::process::Child);

impl Drop for Smtpd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn confirmation_is_delivered_over_smtp() {
    let available = Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !available {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install aiosmtpd (pip install aiosmtpd)"
        );
        eprintln!("notice: aiosmtpd not installed; skipping the SMTP test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let maildir = dir.path().join("maildir");
    let port = free_port();
    let _smtpd = Smtpd(
        Command::new("python3")
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let s = Server::builder()
        .env("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))
        .start()
        .await;
    let service = s.service_id("cieszyn", "meldunek").await;
    let (start, _) = s.first_free_slot("cieszyn", &service, "2026-12-02").await;
    let v = s
        .book(
            "cieszyn",
            json!({ "serviceId": service, "start": start, "client": { "email": "smtp@example.pl" },
                    "acceptedTermsVersion": "1.0", "consents": ["klauzula_informacyjna", "rodo"] }),
        )
        .await;
    let code = v["data"]["createBooking"]["booking"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    let mail = wait_for_mail(&maildir.join("new"), &code).await;
    assert!(mail.contains("To: smtp@example.pl"), "{mail}");
    assert!(
        mail.contains("rezerwacje@cieszyn"),
        "sender of the city: {mail}"
    );
    assert!(
        mail.contains("Urząd Miejski w Cieszynie potwierdza umówioną wizytę"),
        "{mail}"
    );
    assert!(mail.contains("BEGIN:VCALENDAR"), "{mail}");
    assert!(!s.mail_dir().exists(), "SMTP replaces the file backend");
}

/// An e-mail acknowledged with its booking is not lost when delivery fails and the server
/// restarts: the outbox row waits and is delivered by the next server.
#[tokio::test]
async fn undelivered_mail_survives_a_restart() {
    // Nothing listens on this port: every delivery attempt fails.
    let dead = free_port();
    let s = Server::builder()
        .env("SMTP_URL", &format!("smtp://127.0.0.1:{dead}"))
        .start()
        .await;
    let service = s.service_id("cieszyn", "meldunek").await;
    let (start, _) = s.first_free_slot("cieszyn", &service, "2026-12-02").await;
    let v = s
        .book(
            "cieszyn",
            json!({ "serviceId": service, "start": start, "client": { "email": "retry@example.pl" },
                    "acceptedTermsVersion": "1.0", "consents": ["klauzula_informacyjna", "rodo"] }),
        )
        .await;
    let code = v["data"]["createBooking"]["booking"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string();
    for _ in 0..100 {
        if s.log().contains("delivery failed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(s.log().contains("delivery failed"), "{}", s.log());
    assert!(!s.mail_dir().exists());

    // Restarted later with the file backend, the message is delivered after its backoff.
    let s = {
        let mut s = s;
        s.remove_env("SMTP_URL");
        s.restart_at("2026-12-01T08:30:00Z").await
    };
    let mail = wait_for_mail(&s.mail_dir(), &code).await;
    assert!(mail.contains("To: retry@example.pl"), "{mail}");
}
