//! E-mail delivery backends.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::message::Message;
use crate::NotifyError;

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

    /// Sends one outbox message; `id` names the file for the file backend, so a retried
    /// delivery overwrites instead of duplicating.
    pub async fn send(&self, id: i64, m: &Message, default_from: &str) -> Result<(), NotifyError> {
        let mail = build(m, default_from)?;
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

fn build(m: &Message, default_from: &str) -> Result<lettre::Message, NotifyError> {
    let from: Mailbox = m
        .from
        .as_deref()
        .unwrap_or(default_from)
        .parse()
        .map_err(|e| NotifyError::Address(format!("from: {e}")))?;
    let to: Mailbox =
        m.to.parse()
            .map_err(|e| NotifyError::Address(format!("to: {e}")))?;
    let builder = lettre::Message::builder()
        .from(from)
        .to(to)
        .subject(m.subject.clone())
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
            build(m, "okienko <noreply@okienko.local>")
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
}
