//! Messages as stored in the outbox, and their Polish templates.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use okienko_domain::config::DateFormat;
use serde::{Deserialize, Serialize};

/// A rendered message, ready to send. Stored as JSON in the outbox row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// "Name <address>"; the server's default sender when absent.
    #[serde(default)]
    pub from: Option<String>,
    pub to: String,
    /// Empty for SMS.
    #[serde(default)]
    pub subject: String,
    pub text: String,
    /// The same content as HTML in the city's name and colours, sent beside `text`
    /// (multipart/alternative). Absent for SMS and for rows stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// An iCalendar attachment for the visit.
    #[serde(default)]
    pub ics: Option<String>,
}

/// The city as its e-mails show it.
#[derive(Debug, Clone, Default)]
pub struct Brand {
    pub name: String,
    /// `#rrggbb`, checked when the configuration is loaded.
    pub primary_color: String,
    pub secondary_color: String,
}

/// What the templates know about a visit.
#[derive(Debug, Clone)]
pub struct Visit {
    pub tenant_slug: String,
    pub city: String,
    pub from: Option<String>,
    pub brand: Brand,
    /// The city's one date format (DG-7: dd/mm/yyyy).
    pub date_format: DateFormat,
    pub service: String,
    /// Queue letter (DG-7), shown as "R: Rejestracja …".
    pub letter: Option<String>,
    pub office: String,
    pub address: String,
    /// Whom to phone about the visit.
    pub office_phone: Option<String>,
    pub desk: Option<String>,
    pub start: DateTime<Utc>,
    pub local_start: NaiveDateTime,
    pub minutes: i64,
    pub code: String,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    /// The phone number identifies the visit at the kiosk (DG-7, DG-8).
    pub phone_as_identifier: bool,
    /// The booking's page (see it, cancel it); None when its token cannot be re-derived.
    pub manage_url: Option<String>,
    /// The city's booking start, for a new booking.
    pub start_url: String,
    /// When the message was made (the calendar entry's DTSTAMP).
    pub stamp: DateTime<Utc>,
}

/// One message's content, rendered both as plain text and as HTML.
#[derive(Debug, Clone, Default)]
pub struct Body {
    pub heading: String,
    /// Paragraphs before the visit's details.
    pub before: Vec<String>,
    pub details: Vec<Row>,
    /// Paragraphs and links after them.
    pub after: Vec<Block>,
    /// Lines above the city's name at the end.
    pub closing: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub label: &'static str,
    pub value: String,
}

#[derive(Debug, Clone, Default)]
pub struct Block {
    pub text: String,
    pub link: Option<Link>,
}

#[derive(Debug, Clone)]
pub struct Link {
    pub label: String,
    pub url: String,
}

impl Block {
    fn text(t: impl Into<String>) -> Block {
        Block {
            text: t.into(),
            link: None,
        }
    }

    fn link(label: &str, url: &str) -> Block {
        Block {
            text: String::new(),
            link: Some(Link {
                label: label.into(),
                url: url.into(),
            }),
        }
    }
}

#[derive(askama::Template)]
#[template(path = "email.html")]
struct Html<'a> {
    subject: &'a str,
    brand: &'a Brand,
    body: &'a Body,
}

const AUTOMATIC: &str = "Wiadomość wysłana automatycznie — prosimy na nią nie odpowiadać.";

impl Body {
    /// The plain-text part.
    pub fn text(&self, city: &str) -> String {
        let mut out = String::new();
        for p in &self.before {
            out += p;
            out += "\n\n";
        }
        for r in &self.details {
            out += &format!("{}: {}\n", r.label, r.value);
        }
        for b in &self.after {
            out += "\n";
            if let Some(l) = &b.link {
                out += &format!("{}: {}\n", l.label, l.url);
            }
            if !b.text.is_empty() {
                out += &b.text;
                out += "\n";
            }
        }
        out += "\n";
        for l in &self.closing {
            out += l;
            out += "\n";
        }
        out += city;
        out += "\n";
        out
    }

    /// The HTML part, in the city's name and colours; None if the template fails (the text
    /// part is sent alone then).
    pub fn html(&self, subject: &str, brand: &Brand) -> Option<String> {
        use askama::Template;
        Html {
            subject,
            brand,
            body: self,
        }
        .render()
        .map_err(|e| tracing::error!(error = %e, "e-mail template"))
        .ok()
    }
}

impl Visit {
    pub fn service_label(&self) -> String {
        match &self.letter {
            Some(l) => format!("{l}: {}", self.service),
            None => self.service.clone(),
        }
    }

    fn date(&self) -> String {
        self.date_format.format(self.local_start.date())
    }

    fn time(&self) -> String {
        self.local_start.format("%H:%M").to_string()
    }

    /// A local instant in the city's format: "08.06.2026, godz. 08:40".
    fn when(&self, t: NaiveDateTime) -> String {
        format!(
            "{}, godz. {}",
            self.date_format.format(t.date()),
            t.format("%H:%M")
        )
    }

    /// The desk as a value of its own: "Stanowisko 1" is shown as "Stanowisko: 1".
    fn desk_value(&self) -> Option<String> {
        let d = self.desk.as_deref()?.trim();
        let bare = match d.get(..10) {
            Some(head) if head.eq_ignore_ascii_case("stanowisko") => d[10..].trim(),
            _ => d,
        };
        (!bare.is_empty()).then(|| bare.to_string())
    }

    fn details(&self) -> Vec<Row> {
        let row = |label, value: String| Row { label, value };
        let mut rows = Vec::new();
        if let Some(n) = &self.client_name {
            rows.push(row("Klient", n.clone()));
        }
        rows.push(row("Usługa", self.service_label()));
        rows.push(row("Data wizyty", self.date()));
        rows.push(row("Godzina wizyty", self.time()));
        rows.push(row("Miejsce", format!("{}, {}", self.office, self.address)));
        if let Some(d) = self.desk_value() {
            rows.push(row("Stanowisko", d));
        }
        rows.push(row("Numer rezerwacji (kod)", self.code.clone()));
        if let (true, Some(p)) = (self.phone_as_identifier, &self.client_phone) {
            rows.push(row("Numer telefonu Klienta (identyfikator)", p.clone()));
        }
        rows
    }

    /// The booking's page, to see or cancel the visit; the booking start when there is none.
    fn cancel_block(&self) -> Vec<Block> {
        match &self.manage_url {
            Some(url) => vec![
                Block::text(
                    "Jeśli nie możesz przyjść, odwołaj wizytę, aby termin mógł wykorzystać ktoś inny.",
                ),
                Block::link("Link do anulowania terminu", url),
            ],
            None => vec![Block::text(match &self.office_phone {
                Some(p) => format!(
                    "Jeśli nie możesz przyjść, odwołaj wizytę telefonicznie: {p}."
                ),
                None => "Jeśli nie możesz przyjść, odwołaj wizytę w urzędzie.".into(),
            })],
        }
    }

    fn book_again(&self) -> Block {
        Block::link("Umów nową wizytę", &self.start_url)
    }

    fn closing(&self) -> Vec<String> {
        vec![
            "Jedna rezerwacja upoważnia do załatwienia jednej sprawy.".into(),
            AUTOMATIC.into(),
        ]
    }

    fn mail(&self, to: &str, subject: String, body: Body, with_ics: bool) -> Message {
        Message {
            from: self.from.clone(),
            to: to.to_string(),
            text: body.text(&self.city),
            html: body.html(&subject, &self.brand),
            subject,
            ics: with_ics.then(|| self.ics()),
        }
    }

    /// A confirmed visit (immediate mode, after confirmation, a phone booking, a new time:
    /// GD-4, GD-8, DG-7, CI-12), with its calendar entry.
    pub fn confirmed(&self, to: &str) -> Message {
        let mut after = self.cancel_block();
        after.push(Block::text(
            "W załączniku jest plik kalendarza (wizyta.ics) z terminem wizyty.",
        ));
        let body = Body {
            heading: "Potwierdzenie wizyty".into(),
            before: vec![format!("{} potwierdza umówioną wizytę:", self.city)],
            details: self.details(),
            after,
            closing: self.closing(),
        };
        self.mail(
            to,
            format!(
                "Potwierdzenie wizyty {} – {} {}",
                self.code,
                self.date(),
                self.time()
            ),
            body,
            true,
        )
    }

    /// A preliminary booking waiting for the link to be followed (GD-7, GD-9).
    pub fn confirm_by_link(&self, to: &str, confirm_url: &str, until: NaiveDateTime) -> Message {
        let what = vec![
            Block::text("Aby potwierdzić rezerwację, otwórz link:"),
            Block::link("Potwierdź rezerwację", confirm_url),
            Block::text(format!(
                "Link jest ważny do {}. Niepotwierdzona rezerwacja zostanie anulowana, a termin zwolniony.",
                self.when(until)
            )),
        ];
        let subject = format!("Potwierdź rezerwację wizyty {}", self.code);
        self.preliminary(to, "Potwierdź rezerwację wizyty", subject, what)
    }

    /// A preliminary booking waiting for the code to be typed in the form (OP-7, OP-8).
    pub fn confirm_by_code(&self, to: &str, code: &str, until: NaiveDateTime) -> Message {
        let what = vec![
            Block::text(format!("Kod potwierdzenia: {code}")),
            Block::text(format!(
                "Wpisz go w formularzu rezerwacji do {}. Niepotwierdzona rezerwacja zostanie anulowana.",
                self.when(until)
            )),
        ];
        let subject = format!("Kod potwierdzenia rezerwacji: {code}");
        self.preliminary(to, "Kod potwierdzenia rezerwacji", subject, what)
    }

    /// A preliminary booking: the visit, how to confirm it (`what`), and how to cancel it.
    fn preliminary(&self, to: &str, heading: &str, subject: String, what: Vec<Block>) -> Message {
        let mut after = what;
        after.extend(self.cancel_block());
        let body = Body {
            heading: heading.into(),
            before: vec![format!("{} – wstępna rezerwacja wizyty:", self.city)],
            details: self.details(),
            after,
            closing: self.closing(),
        };
        self.mail(to, subject, body, false)
    }

    /// The code by SMS (OP-7).
    pub fn code_sms(&self, phone: &str, code: &str, until: NaiveDateTime) -> Message {
        Message {
            from: None,
            to: phone.to_string(),
            subject: String::new(),
            text: format!(
                "{}: kod potwierdzenia wizyty {} {}: {code}. Ważny do {}.",
                self.city,
                self.date(),
                self.time(),
                until.format("%H:%M")
            ),
            html: None,
            ics: None,
        }
    }

    pub fn cancelled(&self, to: &str) -> Message {
        let body = Body {
            heading: "Wizyta odwołana".into(),
            before: vec![format!("{} – wizyta została odwołana:", self.city)],
            details: self.details(),
            after: vec![
                Block::text("Termin jest wolny dla innych osób. Nową wizytę możesz umówić w serwisie rezerwacji."),
                self.book_again(),
            ],
            closing: vec![AUTOMATIC.into()],
        };
        self.mail(to, format!("Wizyta {} odwołana", self.code), body, false)
    }

    pub fn expired(&self, to: &str) -> Message {
        self.seat_freed(
            to,
            "Rezerwacja wygasła",
            "wstępna rezerwacja nie została potwierdzona w wyznaczonym czasie i została anulowana",
            format!("Rezerwacja {} wygasła", self.code),
        )
    }

    /// Five wrong codes: the booking can no longer be confirmed, and its seat is free again.
    pub fn code_locked(&self, to: &str) -> Message {
        self.seat_freed(
            to,
            "Rezerwacja anulowana",
            "kod potwierdzenia wpisano niepoprawnie zbyt wiele razy, dlatego wstępna rezerwacja została anulowana",
            format!("Rezerwacja {} anulowana", self.code),
        )
    }

    /// A preliminary booking that ended unconfirmed (`why`): its seat is free, book again.
    fn seat_freed(&self, to: &str, heading: &str, why: &str, subject: String) -> Message {
        let body = Body {
            heading: heading.into(),
            before: vec![format!("{} – {why}:", self.city)],
            details: self.details(),
            after: vec![
                Block::text("Termin jest znowu wolny. Możesz umówić wizytę ponownie."),
                self.book_again(),
            ],
            closing: vec![AUTOMATIC.into()],
        };
        self.mail(to, subject, body, false)
    }

    /// The office rejected the booking, with its reason (ZG-13); the slot is free again.
    pub fn rejected(&self, to: &str, reason: &str) -> Message {
        let body = Body {
            heading: "Rezerwacja odrzucona".into(),
            before: vec![
                format!(
                    "{} – rezerwacja wizyty została odrzucona przez urząd.",
                    self.city
                ),
                format!("Powód: {reason}"),
            ],
            details: self.details(),
            after: vec![
                Block::text(
                    "Termin został zwolniony. Jeśli sprawa jest nadal aktualna, umów nową wizytę, \
                     wybierając właściwą usługę i podając prawidłowe dane.",
                ),
                self.book_again(),
            ],
            closing: vec![AUTOMATIC.into()],
        };
        self.mail(
            to,
            format!("Rezerwacja {} odrzucona", self.code),
            body,
            false,
        )
    }

    /// The visit as an iCalendar event (RFC 5545).
    pub fn ics(&self) -> String {
        let stamp = |t: DateTime<Utc>| t.format("%Y%m%dT%H%M%SZ").to_string();
        let end = self.start + Duration::minutes(self.minutes);
        let mut desc: String = self
            .details()
            .iter()
            .map(|r| format!("{}: {}\n", r.label, r.value))
            .collect();
        match &self.manage_url {
            Some(url) => desc += &format!("Odwołanie: {url}"),
            None => desc += &format!("Rezerwacje: {}", self.start_url),
        }
        let mut lines = vec![
            "BEGIN:VCALENDAR".to_string(),
            "VERSION:2.0".into(),
            "PRODID:-//okienko//rezerwacje//PL".into(),
            "CALSCALE:GREGORIAN".into(),
            "METHOD:PUBLISH".into(),
            "BEGIN:VEVENT".into(),
            format!("UID:{}@{}.okienko", self.code, self.tenant_slug),
            format!("DTSTAMP:{}", stamp(self.stamp)),
            format!("DTSTART:{}", stamp(self.start)),
            format!("DTEND:{}", stamp(end)),
            format!(
                "SUMMARY:{}",
                ics_escape(&format!("{} – {}", self.city, self.service_label()))
            ),
            format!(
                "LOCATION:{}",
                ics_escape(&format!("{}, {}", self.office, self.address))
            ),
            format!("DESCRIPTION:{}", ics_escape(&desc)),
        ];
        if let Some(url) = &self.manage_url {
            lines.push(format!("URL:{url}"));
        }
        lines.extend(["END:VEVENT".to_string(), "END:VCALENDAR".into()]);
        lines
            .iter()
            .map(|l| fold(l))
            .collect::<Vec<_>>()
            .join("\r\n")
            + "\r\n"
    }
}

/// What the complaint templates know (CI-23).
#[derive(Debug, Clone)]
pub struct ComplaintNotice {
    pub city: String,
    pub from: Option<String>,
    pub brand: Brand,
    pub date_format: DateFormat,
    /// The complaint's reference, e.g. "RK-12".
    pub reference: String,
    /// When it was filed, in Europe/Warsaw.
    pub filed_local: NaiveDateTime,
    /// The last day of the 14 calendar days for the answer.
    pub deadline: NaiveDate,
}

impl ComplaintNotice {
    fn mail(&self, to: &str, subject: String, body: Body) -> Message {
        Message {
            from: self.from.clone(),
            to: to.to_string(),
            text: body.text(&self.city),
            html: body.html(&subject, &self.brand),
            subject,
            ics: None,
        }
    }

    fn date(&self, d: NaiveDate) -> String {
        self.date_format.format(d)
    }

    /// The acknowledgement of a complaint filed, with its reference and the answer's deadline.
    pub fn received(&self, to: &str) -> Message {
        let body = Body {
            heading: "Potwierdzenie przyjęcia reklamacji".into(),
            before: vec![format!(
                "{} – potwierdzenie przyjęcia reklamacji.",
                self.city
            )],
            details: vec![
                Row {
                    label: "Numer reklamacji",
                    value: self.reference.clone(),
                },
                Row {
                    label: "Data złożenia",
                    value: format!(
                        "{}, godz. {}",
                        self.date(self.filed_local.date()),
                        self.filed_local.format("%H:%M")
                    ),
                },
            ],
            after: vec![Block::text(format!(
                "Odpowiedź otrzymasz najpóźniej do {} (14 dni kalendarzowych).",
                self.date(self.deadline)
            ))],
            closing: vec![AUTOMATIC.into()],
        };
        self.mail(
            to,
            format!("Reklamacja {} – potwierdzenie przyjęcia", self.reference),
            body,
        )
    }

    /// The office's answer to a complaint.
    pub fn answered(&self, to: &str, answer: &str) -> Message {
        let body = Body {
            heading: format!("Odpowiedź na reklamację {}", self.reference),
            before: vec![
                format!(
                    "{} – odpowiedź na reklamację {} z dnia {}:",
                    self.city,
                    self.reference,
                    self.date(self.filed_local.date())
                ),
                answer.to_string(),
            ],
            ..Body::default()
        };
        self.mail(
            to,
            format!("Odpowiedź na reklamację {}", self.reference),
            body,
        )
    }
}

fn ics_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(';', "\\;")
        .replace(',', "\\,")
        .replace('\n', "\\n")
}

/// Folds a content line at 75 octets without splitting a UTF-8 character.
fn fold(line: &str) -> String {
    let mut out = String::new();
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out += "\r\n ";
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit() -> Visit {
        let start = DateTime::parse_from_rfc3339("2026-06-08T06:40:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        Visit {
            tenant_slug: "dabrowa-gornicza".into(),
            city: "Urząd Miejski w Dąbrowie Górniczej".into(),
            from: None,
            brand: Brand {
                name: "Urząd Miejski w Dąbrowie Górniczej".into(),
                primary_color: "#c8102e".into(),
                secondary_color: "#ffffff".into(),
            },
            date_format: DateFormat::Slashed,
            service: "Rejestracja działalności gospodarczej".into(),
            letter: Some("R".into()),
            office: "Urząd Miejski".into(),
            address: "ul. Graniczna 21".into(),
            office_phone: Some("32 295 67 00".into()),
            desk: None,
            start,
            local_start: okienko_domain::calendar::to_local(start),
            minutes: 20,
            code: "ACD347".into(),
            client_name: Some("Piotr".into()),
            client_phone: Some("48662138278".into()),
            phone_as_identifier: true,
            manage_url: Some("http://x/t/dabrowa-gornicza/rezerwacja/tok".into()),
            start_url: "http://x/t/dabrowa-gornicza/".into(),
            stamp: start,
        }
    }

    /// Gdynia's way: dd.mm.yyyy, a desk, no phone as identifier.
    fn gdynia() -> Visit {
        Visit {
            tenant_slug: "gdynia".into(),
            city: "Urząd Miasta Gdyni".into(),
            date_format: DateFormat::Dotted,
            desk: Some("Stanowisko 1".into()),
            letter: None,
            phone_as_identifier: false,
            ..visit()
        }
    }

    #[test]
    fn dg7_content() {
        let m = visit().confirmed("p@example.pl");
        assert!(
            m.text
                .contains("Usługa: R: Rejestracja działalności gospodarczej"),
            "{}",
            m.text
        );
        assert!(m.text.contains("Data wizyty: 08/06/2026"));
        assert!(m.subject.contains("08/06/2026 08:40"), "{}", m.subject);
        assert!(m.text.contains("Godzina wizyty: 08:40"));
        assert!(m.text.contains("(identyfikator): 48662138278"));
        assert!(m
            .text
            .contains("Link do anulowania terminu: http://x/t/dabrowa-gornicza/rezerwacja/tok"));
        let ics = m.ics.as_deref().unwrap_or_default();
        assert!(ics.contains("DTSTART:20260608T064000Z"), "{ics}");
        assert!(
            ics.contains("URL:http://x/t/dabrowa-gornicza/rezerwacja/tok"),
            "{ics}"
        );
    }

    #[test]
    fn other_cities_write_dotted_dates_and_no_phone_identifier() {
        let m = gdynia().confirmed("p@example.pl");
        assert!(m.text.contains("Data wizyty: 08.06.2026"), "{}", m.text);
        assert!(!m.text.contains("08/06/2026"), "{}", m.text);
        assert!(!m.text.contains("identyfikator"), "{}", m.text);
        // GD-8: the desk, named once.
        assert!(m.text.contains("Stanowisko: 1\n"), "{}", m.text);
        assert!(!m.text.contains("Stanowisko: Stanowisko"), "{}", m.text);
        let until = NaiveDate::from_ymd_opt(2026, 6, 1)
            .and_then(|d| d.and_hms_opt(10, 5, 0))
            .unwrap_or_default();
        let l = gdynia().confirm_by_link("p@example.pl", "http://x/c", until);
        assert!(
            l.text.contains("ważny do 01.06.2026, godz. 10:05"),
            "{}",
            l.text
        );
    }

    #[test]
    fn html_part_carries_the_city_and_its_colours() {
        let m = visit().confirmed("p@example.pl");
        let html = m.html.as_deref().unwrap_or_default();
        assert!(html.starts_with("<!doctype html>"), "{html}");
        assert!(html.contains("<html lang=\"pl\">"));
        assert!(html.contains("background:#c8102e;color:#ffffff"), "{html}");
        assert!(html.contains("Urząd Miejski w Dąbrowie Górniczej"));
        assert!(html.contains("href=\"http://x/t/dabrowa-gornicza/rezerwacja/tok\""));
        assert!(html.contains("08/06/2026"));
        // Escaped, not interpreted.
        let mut v = visit();
        v.client_name = Some("<b>Jan</b>".into());
        let html = v.confirmed("p@example.pl").html.unwrap_or_default();
        assert!(
            html.contains("&#60;b&#62;Jan") || html.contains("&lt;b&gt;Jan"),
            "{html}"
        );
    }

    #[test]
    fn endings_link_to_the_booking_start() {
        for m in [
            visit().cancelled("p@example.pl"),
            visit().expired("p@example.pl"),
            visit().code_locked("p@example.pl"),
            visit().rejected("p@example.pl", "Zła usługa."),
        ] {
            assert!(
                m.text
                    .contains("Umów nową wizytę: http://x/t/dabrowa-gornicza/"),
                "{}",
                m.text
            );
            assert!(!m.text.contains("rezerwacja/tok"), "{}", m.text);
            assert!(m.ics.is_none(), "no calendar entry for an ended visit");
        }
    }

    #[test]
    fn without_a_token_the_phone_is_offered() {
        let mut v = gdynia();
        v.manage_url = None;
        let m = v.confirmed("p@example.pl");
        assert!(!m.text.contains("Link do anulowania"), "{}", m.text);
        assert!(m.text.contains("telefonicznie: 32 295 67 00"), "{}", m.text);
    }

    #[test]
    fn zg13_rejection_tells_the_reason() {
        let m = visit().rejected("p@example.pl", "Fikcyjny numer VIN 00000.");
        assert!(m.subject.contains("ACD347") && m.subject.contains("odrzucona"));
        assert!(
            m.text.contains("Powód: Fikcyjny numer VIN 00000."),
            "{}",
            m.text
        );
        assert!(m.text.contains("Data wizyty: 08/06/2026"));
        assert!(m.text.contains("Termin został zwolniony"));
    }

    #[test]
    fn ci23_complaint_acknowledgement_names_the_deadline() {
        let n = ComplaintNotice {
            city: "Urząd Miejski w Cieszynie".into(),
            from: None,
            brand: Brand::default(),
            date_format: DateFormat::Dotted,
            reference: "RK-7".into(),
            filed_local: NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15).unwrap_or_default(),
        };
        let m = n.received("k@example.pl");
        assert!(m.text.contains("Numer reklamacji: RK-7"), "{}", m.text);
        assert!(m.text.contains("najpóźniej do 15.12.2026"));
        assert!(m.html.is_some());
        let a = n.answered("k@example.pl", "Uwzględniamy reklamację.");
        assert!(a.text.contains("Uwzględniamy reklamację.") && a.subject.contains("RK-7"));
    }

    #[test]
    fn ics_lines_are_folded_and_escaped() {
        let ics = visit().ics();
        assert!(ics.split("\r\n").all(|l| l.len() <= 75), "{ics}");
        assert!(ics.contains("LOCATION:Urząd Miejski\\, ul. Graniczna 21"));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.ends_with("END:VCALENDAR\r\n"));
    }

    /// Old outbox rows (no `html`) still read, and are sent as text alone.
    #[test]
    fn stored_messages_without_html_still_read() {
        let m: Message =
            serde_json::from_str(r#"{"to":"a@b.pl","subject":"s","text":"t","ics":null}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(m.html, None);
    }
}
