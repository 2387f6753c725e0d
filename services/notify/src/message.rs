//! Messages as stored in the outbox, and their Polish templates.

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
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
    /// An iCalendar attachment for the visit.
    #[serde(default)]
    pub ics: Option<String>,
}

/// What the templates know about a visit.
#[derive(Debug, Clone)]
pub struct Visit {
    pub tenant_slug: String,
    pub city: String,
    pub from: Option<String>,
    pub service: String,
    /// Queue letter (DG-7), shown as "R: Rejestracja …".
    pub letter: Option<String>,
    pub office: String,
    pub address: String,
    pub desk: Option<String>,
    pub start: DateTime<Utc>,
    pub local_start: NaiveDateTime,
    pub minutes: i64,
    pub code: String,
    pub client_name: Option<String>,
    pub client_phone: Option<String>,
    pub manage_url: String,
    /// When the message was made (the calendar entry's DTSTAMP).
    pub stamp: DateTime<Utc>,
}

impl Visit {
    pub fn service_label(&self) -> String {
        match &self.letter {
            Some(l) => format!("{l}: {}", self.service),
            None => self.service.clone(),
        }
    }

    fn date(&self) -> String {
        self.local_start.format("%d/%m/%Y").to_string()
    }

    fn time(&self) -> String {
        self.local_start.format("%H:%M").to_string()
    }

    fn details(&self) -> String {
        let mut s = String::new();
        if let Some(n) = &self.client_name {
            s += &format!("Klient: {n}\n");
        }
        s += &format!("Usługa: {}\n", self.service_label());
        s += &format!("Data wizyty: {}\n", self.date());
        s += &format!("Godzina wizyty: {}\n", self.time());
        s += &format!("Miejsce: {}, {}\n", self.office, self.address);
        if let Some(d) = &self.desk {
            s += &format!("Stanowisko: {d}\n");
        }
        s += &format!("Numer rezerwacji (kod): {}\n", self.code);
        if let Some(p) = &self.client_phone {
            s += &format!("Numer telefonu Klienta (identyfikator): {p}\n");
        }
        s
    }

    fn footer(&self) -> String {
        format!(
            "\nJeśli nie możesz przyjść, odwołaj wizytę, aby termin mógł wykorzystać ktoś inny:\n\
             Link do anulowania terminu: {}\n\n\
             Jedna rezerwacja upoważnia do załatwienia jednej sprawy.\n\
             Wiadomość wysłana automatycznie — prosimy na nią nie odpowiadać.\n\
             {}\n",
            self.manage_url, self.city
        )
    }

    fn mail(&self, to: &str, subject: String, body: String, with_ics: bool) -> Message {
        Message {
            from: self.from.clone(),
            to: to.to_string(),
            subject,
            text: body,
            ics: with_ics.then(|| self.ics()),
        }
    }

    /// A confirmed visit (immediate mode, or after confirmation: GD-8, DG-7, CI-12).
    pub fn confirmed(&self, to: &str) -> Message {
        let body = format!(
            "{} potwierdza umówioną wizytę:\n\n{}{}",
            self.city,
            self.details(),
            self.footer()
        );
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
        let body = format!(
            "{} – wstępna rezerwacja wizyty:\n\n{}\n\
             Aby potwierdzić rezerwację, otwórz link:\n{confirm_url}\n\n\
             Link jest ważny do {}. Niepotwierdzona rezerwacja zostanie anulowana, a termin zwolniony.\n{}",
            self.city,
            self.details(),
            until.format("%d.%m.%Y %H:%M"),
            self.footer()
        );
        self.mail(
            to,
            format!("Potwierdź rezerwację wizyty {}", self.code),
            body,
            false,
        )
    }

    /// A preliminary booking waiting for the code to be typed in the form (OP-7, OP-8).
    pub fn confirm_by_code(&self, to: &str, code: &str, until: NaiveDateTime) -> Message {
        let body = format!(
            "{} – wstępna rezerwacja wizyty:\n\n{}\n\
             Kod potwierdzenia: {code}\n\
             Wpisz go w formularzu rezerwacji do {}. Niepotwierdzona rezerwacja zostanie anulowana.\n{}",
            self.city,
            self.details(),
            until.format("%d.%m.%Y %H:%M"),
            self.footer()
        );
        self.mail(
            to,
            format!("Kod potwierdzenia rezerwacji: {code}"),
            body,
            false,
        )
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
            ics: None,
        }
    }

    pub fn cancelled(&self, to: &str) -> Message {
        let body = format!(
            "{} – wizyta została odwołana:\n\n{}\nTermin jest wolny dla innych osób. \
             Nową wizytę możesz umówić w serwisie rezerwacji.\n\n{}\n",
            self.city,
            self.details(),
            self.city
        );
        self.mail(to, format!("Wizyta {} odwołana", self.code), body, false)
    }

    pub fn expired(&self, to: &str) -> Message {
        let body = format!(
            "{} – wstępna rezerwacja nie została potwierdzona w wyznaczonym czasie i została anulowana:\n\n{}\n\
             Termin jest znowu wolny. Możesz umówić wizytę ponownie.\n\n{}\n",
            self.city,
            self.details(),
            self.city
        );
        self.mail(to, format!("Rezerwacja {} wygasła", self.code), body, false)
    }

    /// The office rejected the booking, with its reason (ZG-13); the slot is free again.
    pub fn rejected(&self, to: &str, reason: &str) -> Message {
        let body = format!(
            "{} – rezerwacja wizyty została odrzucona przez urząd.\n\n\
             Powód: {reason}\n\n{}\n\
             Termin został zwolniony. Jeśli sprawa jest nadal aktualna, umów nową wizytę, \
             wybierając właściwą usługę i podając prawidłowe dane.\n\n\
             Wiadomość wysłana automatycznie — prosimy na nią nie odpowiadać.\n{}\n",
            self.city,
            self.details(),
            self.city
        );
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
        let mut desc = self.details();
        desc += &format!("Odwołanie: {}", self.manage_url);
        let lines = [
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
            "END:VEVENT".into(),
            "END:VCALENDAR".into(),
        ];
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
    /// The complaint's reference, e.g. "RK-12".
    pub reference: String,
    /// When it was filed, in Europe/Warsaw.
    pub filed_local: NaiveDateTime,
    /// The last day of the 14 calendar days for the answer.
    pub deadline: NaiveDate,
}

impl ComplaintNotice {
    fn mail(&self, to: &str, subject: String, text: String) -> Message {
        Message {
            from: self.from.clone(),
            to: to.to_string(),
            subject,
            text,
            ics: None,
        }
    }

    /// The acknowledgement of a complaint filed, with its reference and the answer's deadline.
    pub fn received(&self, to: &str) -> Message {
        let text = format!(
            "{} – potwierdzenie przyjęcia reklamacji.\n\n\
             Numer reklamacji: {}\n\
             Data złożenia: {}\n\
             Odpowiedź otrzymasz najpóźniej do {} (14 dni kalendarzowych).\n\n\
             Wiadomość wysłana automatycznie — prosimy na nią nie odpowiadać.\n{}\n",
            self.city,
            self.reference,
            self.filed_local.format("%d.%m.%Y %H:%M"),
            self.deadline.format("%d.%m.%Y"),
            self.city
        );
        self.mail(
            to,
            format!("Reklamacja {} – potwierdzenie przyjęcia", self.reference),
            text,
        )
    }

    /// The office's answer to a complaint.
    pub fn answered(&self, to: &str, answer: &str) -> Message {
        let text = format!(
            "{} – odpowiedź na reklamację {} z dnia {}:\n\n{answer}\n\n{}\n",
            self.city,
            self.reference,
            self.filed_local.format("%d.%m.%Y"),
            self.city
        );
        self.mail(
            to,
            format!("Odpowiedź na reklamację {}", self.reference),
            text,
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
            service: "Rejestracja działalności gospodarczej".into(),
            letter: Some("R".into()),
            office: "Urząd Miejski".into(),
            address: "ul. Graniczna 21".into(),
            desk: None,
            start,
            local_start: okienko_domain::calendar::to_local(start),
            minutes: 20,
            code: "ACD347".into(),
            client_name: Some("Piotr".into()),
            client_phone: Some("48662138278".into()),
            manage_url: "http://x/anuluj/t".into(),
            stamp: start,
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
        assert!(m.text.contains("Godzina wizyty: 08:40"));
        assert!(m.text.contains("(identyfikator): 48662138278"));
        assert!(m.text.contains("http://x/anuluj/t"));
        assert!(m
            .ics
            .as_deref()
            .is_some_and(|i| i.contains("DTSTART:20260608T064000Z")));
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
            reference: "RK-7".into(),
            filed_local: NaiveDate::from_ymd_opt(2026, 12, 1)
                .and_then(|d| d.and_hms_opt(9, 0, 0))
                .unwrap_or_default(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15).unwrap_or_default(),
        };
        let m = n.received("k@example.pl");
        assert!(m.text.contains("Numer reklamacji: RK-7"), "{}", m.text);
        assert!(m.text.contains("najpóźniej do 15.12.2026"));
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
}
