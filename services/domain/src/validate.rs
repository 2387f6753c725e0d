//! Validators for what clients type: names, e-mail, Polish phone numbers, PESEL, vehicle data.
//! Each returns the normalised value or a Polish reason.

use chrono::NaiveDate;

use crate::config::FieldKind;
use crate::error::DomainError;

pub const MAX_NAME: usize = 200;
pub const MAX_EMAIL: usize = 254;
pub const MAX_TEXT: usize = 500;

fn reason(field: &str, r: &str) -> DomainError {
    DomainError::invalid(field, r)
}

/// A person's name: 2–200 characters, letters present, no control characters.
pub fn name(field: &str, s: &str) -> Result<String, DomainError> {
    let t = collapse_spaces(s);
    if t.chars().count() > MAX_NAME {
        return Err(reason(field, "za długie (najwyżej 200 znaków)"));
    }
    if t.chars().count() < 2 || !t.chars().any(char::is_alphabetic) {
        return Err(reason(field, "podaj imię i nazwisko"));
    }
    if t.chars().any(char::is_control) {
        return Err(reason(field, "zawiera niedozwolone znaki"));
    }
    Ok(t)
}

/// Free text of a form field.
pub fn text(field: &str, s: &str) -> Result<String, DomainError> {
    let t = collapse_spaces(s);
    if t.chars().count() > MAX_TEXT {
        return Err(reason(field, "za długie (najwyżej 500 znaków)"));
    }
    if t.chars().any(char::is_control) {
        return Err(reason(field, "zawiera niedozwolone znaki"));
    }
    Ok(t)
}

fn collapse_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// An e-mail address in the common form local@domain.tld, lower-cased domain.
pub fn email(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    let bad = || reason(field, "niepoprawny adres e-mail");
    if t.len() > MAX_EMAIL {
        return Err(bad());
    }
    let (local, domain) = t.rsplit_once('@').ok_or_else(bad)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic));
    if !local_ok || !domain_ok {
        return Err(bad());
    }
    Ok(format!("{local}@{}", domain.to_lowercase()))
}

/// A Polish phone number, normalised to the 48xxxxxxxxx identifier (DG-8).
/// Accepts +48, 0048 or 48 prefixes, spaces, dashes, dots and brackets.
pub fn phone(field: &str, s: &str) -> Result<String, DomainError> {
    let bad = || {
        reason(
            field,
            "podaj polski numer telefonu (9 cyfr, opcjonalnie +48)",
        )
    };
    if s.len() > 40 {
        return Err(bad());
    }
    let cleaned: String = s.chars().filter(|c| !" -.()\t".contains(*c)).collect();
    let (plus, digits) = match cleaned.strip_prefix('+') {
        Some(r) => (true, r.to_string()),
        None => (false, cleaned),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let national = match digits.len() {
        9 if !plus => digits.as_str(),
        11 if digits.starts_with("48") => &digits[2..],
        13 if !plus && digits.starts_with("0048") => &digits[4..],
        _ => return Err(bad()),
    };
    if national.starts_with('0') {
        return Err(bad());
    }
    Ok(format!("48{national}"))
}

/// A PESEL number with a valid checksum and birth date.
pub fn pesel(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim();
    let bad = |r: &str| reason(field, r);
    if t.len() != 11 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("PESEL ma 11 cyfr"));
    }
    let d: Vec<u32> = t.bytes().map(|b| u32::from(b - b'0')).collect();
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = d.iter().zip(W).map(|(a, w)| a * w).sum();
    if (10 - sum % 10) % 10 != d[10] {
        return Err(bad("niepoprawna suma kontrolna PESEL"));
    }
    let yy = d[0] * 10 + d[1];
    let mm = d[2] * 10 + d[3];
    let dd = d[4] * 10 + d[5];
    let (century, month) = match mm {
        1..=12 => (1900, mm),
        21..=32 => (2000, mm - 20),
        41..=52 => (2100, mm - 40),
        61..=72 => (2200, mm - 60),
        81..=92 => (1800, mm - 80),
        _ => return Err(bad("niepoprawna data urodzenia w PESEL")),
    };
    let year = century + yy;
    if NaiveDate::from_ymd_opt(year as i32, month, dd).is_none() {
        return Err(bad("niepoprawna data urodzenia w PESEL"));
    }
    Ok(t.to_string())
}

/// A calendar date written YYYY-MM-DD.
pub fn date(field: &str, s: &str) -> Result<NaiveDate, DomainError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| reason(field, "data w formacie RRRR-MM-DD"))
}

/// A Polish vehicle registration number: 4–8 letters and digits, upper-cased, spaces removed.
pub fn registration_number(field: &str, s: &str) -> Result<String, DomainError> {
    if s.len() > 20 {
        return Err(reason(field, "niepoprawny numer rejestracyjny"));
    }
    let t: String = s
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    let ok = (4..=8).contains(&t.len())
        && t.chars().all(|c| c.is_ascii_alphanumeric())
        && t.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
    if !ok {
        return Err(reason(field, "niepoprawny numer rejestracyjny"));
    }
    Ok(t)
}

/// The last five characters of a VIN: letters and digits, never I, O or Q.
pub fn vin_tail(field: &str, s: &str) -> Result<String, DomainError> {
    if s.len() > 20 {
        return Err(reason(field, "podaj 5 ostatnich znaków numeru VIN"));
    }
    let t = s.trim().to_uppercase();
    if t.len() != 5 || !t.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(reason(field, "podaj 5 ostatnich znaków numeru VIN"));
    }
    if t.chars().any(|c| matches!(c, 'I' | 'O' | 'Q')) {
        return Err(reason(field, "numer VIN nie zawiera liter I, O ani Q"));
    }
    Ok(t)
}

/// An application number: letters, digits, slashes and dashes (the city's policy may be stricter).
pub fn application_number(field: &str, s: &str) -> Result<String, DomainError> {
    let t = s.trim().to_uppercase();
    let ok = (4..=40).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/-.".contains(c));
    if !ok {
        return Err(reason(field, "niepoprawny numer wniosku"));
    }
    Ok(t)
}

/// Validates one extra field by its kind; returns the normalised text.
pub fn field(kind: FieldKind, key: &str, value: &str) -> Result<String, DomainError> {
    match kind {
        FieldKind::Text => text(key, value),
        FieldKind::Email => email(key, value),
        FieldKind::Phone => phone(key, value),
        FieldKind::Pesel => pesel(key, value),
        FieldKind::Date => date(key, value).map(|d| d.to_string()),
        FieldKind::RegistrationNumber => registration_number(key, value),
        FieldKind::VinTail => vin_tail(key, value),
        FieldKind::ApplicationNumber => application_number(key, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn emails() {
        assert_eq!(
            email("e", " Jan.Kowalski@Example.PL ").ok().as_deref(),
            Some("Jan.Kowalski@example.pl")
        );
        for bad in [
            "",
            "a@b",
            "a@@b.pl",
            "@b.pl",
            "a@b.p",
            "a b@c.pl",
            "a..b@c.pl",
            "a@-b.pl",
        ] {
            assert!(email("e", bad).is_err(), "{bad}");
        }
        assert!(email("e", &format!("{}@x.pl", "a".repeat(1_000_000))).is_err());
    }

    #[test]
    fn phones_normalise() {
        for ok in [
            "662138278",
            "+48 662 138 278",
            "0048662138278",
            "48-662-138-278",
            "(+48) 662.138.278",
            "+48662138278",
        ] {
            assert_eq!(phone("p", ok).ok().as_deref(), Some("48662138278"), "{ok}");
        }
        for bad in [
            "12345",
            "+49662138278",
            "66213827a",
            "062138278",
            "+0048662138278",
            "",
        ] {
            assert!(phone("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pesel_checksum_and_date() {
        assert!(pesel("p", "44051401359").is_ok());
        assert!(pesel("p", "02070803628").is_ok());
        assert!(pesel("p", "44051401358").is_err(), "wrong checksum");
        assert!(pesel("p", "4405140135").is_err(), "too short");
        assert!(pesel("p", "44133001352").is_err(), "month 13");
    }

    #[test]
    fn vin_and_registration() {
        assert_eq!(vin_tail("v", "a1b2c").ok().as_deref(), Some("A1B2C"));
        assert!(vin_tail("v", "A1B2O").is_err());
        assert!(vin_tail("v", "123").is_err());
        assert_eq!(
            registration_number("r", "fz 12345").ok().as_deref(),
            Some("FZ12345")
        );
        assert!(registration_number("r", "1234").is_err());
    }

    fn pesel_with_checksum(first10: &str) -> String {
        const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
        let sum: u32 = first10
            .bytes()
            .zip(W)
            .map(|(b, w)| u32::from(b - b'0') * w)
            .sum();
        format!("{first10}{}", (10 - sum % 10) % 10)
    }

    proptest! {
        #[test]
        fn generated_pesels_validate_and_one_digit_changes_fail(
            yy in 0u32..100, m in 1u32..13, dd in 1u32..29, serial in 0u32..10000, pos in 0usize..11, delta in 1u32..10,
        ) {
            let p = pesel_with_checksum(&format!("{yy:02}{m:02}{dd:02}{serial:04}"));
            prop_assert!(pesel("p", &p).is_ok());
            let mut b = p.into_bytes();
            b[pos] = b'0' + ((u32::from(b[pos] - b'0') + delta) % 10) as u8;
            let changed = String::from_utf8(b).unwrap_or_default();
            prop_assert!(pesel("p", &changed).is_err());
        }

        #[test]
        fn validators_never_panic(s in ".{0,64}") {
            let _ = email("e", &s);
            let _ = phone("p", &s);
            let _ = pesel("p", &s);
            let _ = vin_tail("v", &s);
            let _ = registration_number("r", &s);
            let _ = application_number("a", &s);
            let _ = name("n", &s);
            let _ = date("d", &s);
        }

        #[test]
        fn normalised_phone_is_an_identifier(n in 100_000_000u64..999_999_999) {
            let p = phone("p", &format!("+48 {n}")).unwrap_or_default();
            prop_assert_eq!(p.len(), 11);
            prop_assert!(p.starts_with("48"));
        }
    }
}
