//! The booking's states and the short human code.

use serde::{Deserialize, Serialize};

/// pending → confirmed → (cancelled | rejected | done); pending → expired | cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Pending,
    Confirmed,
    Cancelled,
    Expired,
    Rejected,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Pending => "pending",
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Expired => "expired",
            BookingStatus::Rejected => "rejected",
        }
    }

    pub fn parse(s: &str) -> Option<BookingStatus> {
        Some(match s {
            "pending" => BookingStatus::Pending,
            "confirmed" => BookingStatus::Confirmed,
            "cancelled" => BookingStatus::Cancelled,
            "expired" => BookingStatus::Expired,
            "rejected" => BookingStatus::Rejected,
            _ => return None,
        })
    }

    /// Holds a seat in its slot.
    pub fn holds_seat(self) -> bool {
        matches!(self, BookingStatus::Pending | BookingStatus::Confirmed)
    }
}

/// Which quota a booking draws on (P-3: online and staff/phone quotas may be separate).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quota {
    Online,
    Staff,
}

impl Quota {
    pub fn as_str(self) -> &'static str {
        match self {
            Quota::Online => "online",
            Quota::Staff => "staff",
        }
    }
}

/// Letters and digits that cannot be mistaken for one another when read out on the phone
/// or typed at a kiosk: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
pub const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTWXY34679";
pub const CODE_LEN: usize = 6;

/// Builds a code from random bytes (the caller owns the randomness).
pub fn code_from_bytes(bytes: &[u8; CODE_LEN]) -> String {
    bytes
        .iter()
        .map(|b| CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()] as char)
        .collect()
}

/// Normalises what a person typed: upper case, spaces and dashes dropped.
pub fn normalise_code(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_the_alphabet() {
        let c = code_from_bytes(&[0, 1, 2, 200, 255, 77]);
        assert_eq!(c.len(), CODE_LEN);
        assert!(c.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(normalise_code(" ac-d eF "), "ACDEF");
    }

    #[test]
    fn status_round_trip() {
        for s in [
            BookingStatus::Pending,
            BookingStatus::Confirmed,
            BookingStatus::Cancelled,
            BookingStatus::Expired,
            BookingStatus::Rejected,
        ] {
            assert_eq!(BookingStatus::parse(s.as_str()), Some(s));
        }
        assert!(BookingStatus::Pending.holds_seat());
        assert!(!BookingStatus::Expired.holds_seat());
    }
}
