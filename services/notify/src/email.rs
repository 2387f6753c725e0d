//! E-mail delivery backends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message::Message;
use crate::NotifyError;
use okienko_store::OutboxRow;

#[derive(Clone)]
pub enum EmailBackend {
    /// A real relay: `smtp://host:port` (plain, for local sinks), `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS) or `smtps://user:pass@host:465` (implicit TLS).
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// Writes each message as an `.eml` file (the embedded default).
    Files(PathBuf),
    /// Keeps messages in memory (tests).
    Memory(Arc<Mutex<Vec<lettre::Message>>>),
}

impl std::fmt::Debug for EmailBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EmailBackend::Smtp(_) => f.write_str("EmailBackend::Smtp"),
            EmailBackend::Files(p) => write!(f, "EmailBackend::Files({})", p.display()),
            EmailBackend::Memory(_) => f.write_str("EmailBackend::Memory"),
        }
    }
}

impl EmailBackend {
    pub fn smtp(url: &str) -> Result<EmailBackend, NotifyError> {
        let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| NotifyError::Config(format!("SMTP_URL: {e}")))?
            .build();
        Ok(EmailBackend::Smtp(t))
    }

    pub fn describe(&self) -> String {
        match self {
            EmailBackend::Smtp(_) => "smtp".into(),
            EmailBackend::Files(p) => format!("files in {}", p.display()),
            EmailBackend::Memory(_) => "memory".into(),
        }
    }

    /// Sends one outbox message with its row's stable `Message-ID`; the row's id names the file
    /// for the file backend, so a retried delivery overwrites instead of duplicating.
    pub async fn send(
        &self,
        row: &OutboxRow,
        m: &Message,
        default_from: &str,
    ) -> Result<(), NotifyError> {
        let id = row.id;
        let mail = build(m, default_from, row)?;
        match self {
            EmailBackend::Smtp(t) => t
                .send(mail)
                .await
                .map(|_| ())
                .map_err(|e| NotifyError::Transport(e.to_string())),
            EmailBackend::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| NotifyError::Transport(e.to_string()))?;
                let name = format!("{id:08}.eml");
                let tmp = dir.join(format!(".{name}.tmp"));
                tokio::fs::write(&tmp, mail.formatted())
                    .await
                    .map_err(|e| NotifyError::Transport(e.to_string()))?;
                tokio::fs::rename(&tmp, dir.join(name))
                    .await
                    .map_err(|e| NotifyError::Transport(e.to_string()))
            }
            EmailBackend::Memory(v) => {
                v.lock()
                    .map_err(|_| NotifyError::Transport("poisoned".into()))?
                    .push(mail);
                Ok(())
            }
        }
    }
}

/// The `Message-ID` of an outbox row's e-mail: the same on every delivery of that row, so a
/// second delivery after a crash is recognisable as the same message. Derived from the row
/// (tenant, id, a digest of the stored message) at the sender's domain.
pub fn message_id(row: &OutboxRow, from: &Mailbox) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(row.payload_json.as_bytes());
    format!(
        "<okienko.{}.{}.{}@{}>",
        row.tenant_id,
        row.id,
        hex::encode(&digest[..8]),
        from.email.domain()
    )
}

fn build(m: &Message, default_from: &str, row: &OutboxRow) -> Result<lettre::Message, NotifyError> {
    let from: Mailbox = m
        .from
        .as_deref()
        .unwrap_or(default_from)
        .parse()
        .map_err(|e| NotifyError::Address(format!("from: {e}")))?;
    let message_id = message_id(row, &from);
    let to: Mailbox =
        m.to.parse()
            .map_err(|e| NotifyError::Address(format!("to: {e}")))?;
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
        .message_id(Some(message_id))
        .header(AutoSubmitted);
    let text = SinglePart::plain(m.text.clone());
    // The text and, where there is one, the HTML part as alternatives of one content; the
    // calendar entry beside them (multipart/mixed).
    let content = match &m.html {
        Some(html) => Content::Parts(MultiPart::alternative_plain_html(
            m.text.clone(),
            html.clone(),
        )),
        None => Content::Text(text),
    };
    let mail = match (&m.ics, content) {
        (Some(ics), content) => {
            let ct = ContentType::parse("text/calendar; charset=utf-8; method=PUBLISH")
                .map_err(|e| NotifyError::Build(e.to_string()))?;
            let ics = Attachment::new("wizyta.ics".into()).body(ics.clone(), ct);
            let mixed = match content {
                Content::Parts(alt) => MultiPart::mixed().multipart(alt),
                Content::Text(t) => MultiPart::mixed().singlepart(t),
            };
            builder.multipart(mixed.singlepart(ics))
        }
        (None, Content::Parts(alt)) => builder.multipart(alt),
        (None, Content::Text(t)) => builder.singlepart(t),
    };
    mail.map_err(|e| NotifyError::Build(e.to_string()))
}

enum Content {
    Text(SinglePart),
    Parts(MultiPart),
}

/// `Auto-Submitted: auto-generated` (RFC 3834), so auto-responders stay quiet.
#[derive(Clone)]
struct AutoSubmitted;

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-generated".into())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn message(html: bool, ics: bool) -> Message {
        Message {
            from: Some("Urząd Miasta Gdyni <rezerwacje@gdynia.okienko.local>".into()),
            to: "jan@example.pl".into(),
            subject: "Potwierdzenie wizyty".into(),
            text: "Tekst wiadomości".into(),
            html: html.then(|| "<!doctype html><html lang=\"pl\"><p>Treść</p></html>".into()),
            ics: ics.then(|| "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n".into()),
        }
    }

    fn formatted(m: &Message) -> String {
        String::from_utf8(
            build(m, "okienko <noreply@okienko.local>", &row(1, "{}"))
                .unwrap()
                .formatted(),
        )
        .unwrap()
    }

    /// The text and HTML parts are alternatives of one content, the `.ics` an attachment beside
    /// them: multipart/mixed ⊃ (multipart/alternative ⊃ text/plain, text/html), text/calendar.
    #[test]
    fn both_parts_and_the_calendar_entry() {
        let raw = formatted(&message(true, true));
        let mixed = raw.find("multipart/mixed").unwrap();
        let alt = raw.find("multipart/alternative").unwrap();
        let plain = raw.find("text/plain").unwrap();
        let html = raw.find("text/html").unwrap();
        let cal = raw.find("text/calendar").unwrap();
        assert!(
            mixed < alt && alt < plain && plain < html && html < cal,
            "{raw}"
        );
        assert!(raw.contains("filename=\"wizyta.ics\""), "{raw}");
        assert!(raw.contains("Auto-Submitted: auto-generated"), "{raw}");
    }

    #[test]
    fn without_a_calendar_entry_the_alternatives_stand_alone() {
        let raw = formatted(&message(true, false));
        assert!(raw.contains("multipart/alternative") && !raw.contains("multipart/mixed"));
        let raw = formatted(&message(false, false));
        assert!(
            raw.contains("text/plain") && !raw.contains("multipart"),
            "{raw}"
        );
    }

    fn row(id: i64, payload: &str) -> OutboxRow {
        OutboxRow {
            id,
            tenant_id: 3,
            booking_id: Some(9),
            channel: "email".into(),
            recipient: "jan@example.pl".into(),
            payload_json: payload.into(),
            status: "pending".into(),
            attempts: 0,
            next_attempt_at: 0,
            last_error: None,
        }
    }

    fn header(mail: &lettre::Message) -> String {
        let text = String::from_utf8(mail.formatted()).unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix("Message-ID: "))
            .unwrap()
            .to_string()
    }

    /// A second delivery of a row (after a crash) carries the same `Message-ID`.
    #[tokio::test]
    async fn a_row_keeps_its_message_id_on_every_delivery() {
        let m = Message {
            from: Some("Urząd Miasta Gdyni <rezerwacje@gdynia.example.pl>".into()),
            to: "jan@example.pl".into(),
            subject: "Potwierdzenie".into(),
            text: "Treść".into(),
            html: None,
            ics: None,
        };
        let payload = serde_json::to_string(&m).unwrap();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let backend = EmailBackend::Memory(sent.clone());
        for _ in 0..2 {
            backend
                .send(&row(41, &payload), &m, "okienko <noreply@okienko.local>")
                .await
                .unwrap();
        }
        backend
            .send(&row(42, &payload), &m, "okienko <noreply@okienko.local>")
            .await
            .unwrap();
        let ids: Vec<String> = sent.lock().unwrap().iter().map(header).collect();
        assert_eq!(ids[0], ids[1]);
        assert_ne!(ids[0], ids[2]);
        assert!(ids[0].starts_with("<okienko.3.41."), "{}", ids[0]);
        assert!(ids[0].ends_with("@gdynia.example.pl>"), "{}", ids[0]);
    }
}
