//! E-mail through real SMTP: the server delivers over `SMTP_URL` to an SMTP server this test
//! starts (aiosmtpd, a maintained Python SMTP server; `.ci/run` installs it), and the test
//! reads what arrived in its maildir.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::*;

/// Starts aiosmtpd on a free port writing to a maildir in `dir`; None (with a notice) where
/// it is not installed, except under CI.
async fn smtpd(dir: &std::path::Path) -> Option<(Helper, u16)> {
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
        return None;
    }
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let maildir = dir.join("maildir");
    let (mailbox, maildir) = ("aiosmtpd.handlers.Mailbox", maildir.to_str().unwrap());
    let args = [
        "-m", "aiosmtpd", "-n", "-l", &listen, "-c", mailbox, maildir,
    ];
    let child = serve_python(&args, port).await;
    Some((child, port))
}

/// A server that sends its mail to an SMTP server on `port` of the loopback address.
async fn sending_to(port: u16) -> Server {
    Server::builder()
        .env("SMTP_URL", &format!("smtp://127.0.0.1:{port}"))
        .start()
        .await
}

#[tokio::test]
async fn confirmation_is_delivered_over_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_smtpd, port)) = smtpd(dir.path()).await else {
        return;
    };
    let maildir = dir.path().join("maildir");
    let s = sending_to(port).await;
    let v = s.book_cieszyn("smtp@example.pl").await;
    let code = booking_code(&v);
    let mail = mail_to(&maildir.join("new"), &code, "smtp@example.pl").await;
    assert!(
        mail.contains("rezerwacje@cieszyn"),
        "sender of the city: {mail}"
    );
    assert!(
        mail.contains("Urząd Miejski w Cieszynie potwierdza umówioną wizytę"),
        "{mail}"
    );
    // Both parts as alternatives of one content, the calendar entry beside them.
    let at = |needle: &str| {
        mail.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in {mail}"))
    };
    assert!(
        at("multipart/mixed") < at("multipart/alternative"),
        "{mail}"
    );
    assert!(at("multipart/alternative") < at("text/plain"), "{mail}");
    assert!(at("text/plain") < at("text/html"), "{mail}");
    assert!(at("text/html") < at("text/calendar"), "{mail}");
    assert!(
        mail.contains("<html lang=3D\"pl\">") || mail.contains("<html lang=\"pl\">"),
        "{mail}"
    );
    assert!(
        mail.contains("#a6192e"),
        "the city's colour in the HTML part: {mail}"
    );
    assert!(mail.contains("filename=\"wizyta.ics\""), "{mail}");
    assert!(!s.mail_dir().exists(), "SMTP replaces the file backend");
}

/// With SMTP configured no secret reaches the log: not the management token, not the
/// confirmation link, not the booking page's link (issue 10). With e-mail to files they are
/// logged, for trying the product out: the same test sees them there, so it can fail.
#[tokio::test]
async fn no_token_in_the_log_with_smtp() {
    let dir = tempfile::tempdir().unwrap();
    let Some((_smtpd, port)) = smtpd(dir.path()).await else {
        return;
    };
    let maildir = dir.path().join("maildir").join("new");
    for smtp in [true, false] {
        let mut b = Server::builder();
        if smtp {
            b = b.env("SMTP_URL", &format!("smtp://127.0.0.1:{port}"));
        }
        let s = b.start().await;
        // Gdynia: a confirmation link, then the confirmation with the booking's link.
        let to = format!("log{smtp}@example.pl");
        let v = s.book_gdynia(&to).await;
        let token = management_token(&v);
        let dir = if smtp { maildir.clone() } else { s.mail_dir() };
        let mail = wait_for_mail(&dir, &format!("To: {to}")).await;
        let confirm = after(&mail, "Potwierdź rezerwację:").to_string();
        let confirm_token = confirm.rsplit('/').next().unwrap().to_string();
        let (status, _) = s.post_form(confirm.strip_prefix(&s.base).unwrap()).await;
        assert_eq!(status, 200);
        let confirmed = wait_for_mail(&dir, "Potwierdzenie wizyty").await;
        assert!(
            confirmed.contains(&token),
            "the confirmation links to the booking"
        );
        for _ in 0..50 {
            if s.log().contains("booking created") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let log = s.log();
        assert!(log.contains("booking created"), "{log}");
        let leaked = log.contains(&token)
            || log.contains(&confirm_token)
            || log.contains("/rezerwacja/")
            || log.contains("/potwierdz/");
        assert_eq!(leaked, !smtp, "smtp: {smtp}, log:\n{log}");
    }
}

/// An e-mail acknowledged with its booking is not lost when delivery fails and the server
/// restarts: the outbox row waits and is delivered by the next server.
#[tokio::test]
async fn undelivered_mail_survives_a_restart() {
    // Nothing listens on this port: every delivery attempt fails.
    let dead = free_port();
    let s = sending_to(dead).await;
    let v = s.book_cieszyn("retry@example.pl").await;
    let code = booking_code(&v);
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
    mail_to(&s.mail_dir(), &code, "retry@example.pl").await;
}
