//! Polish words for async-graphql's own input errors, whose text is English and names Rust
//! types ("Failed to parse \"DateTime\": premature end of input"): a malformed date or time
//! is answered with the form expected and an example.

/// The Polish message for an input-value error about a date or time, if `message` is one.
pub fn input_value(message: &str) -> Option<String> {
    let (what, example) = if message.contains("Failed to parse \"DateTime\"") {
        (
            "data i godzina",
            "w formacie RFC 3339 ze strefą czasową, np. 2027-01-18T07:30:00Z lub 2027-01-18T08:30:00+01:00",
        )
    } else if message.contains("Failed to parse \"NaiveDate\"") {
        ("data", "w formacie RRRR-MM-DD, np. 2027-01-18")
    } else {
        return None;
    };
    let field = argument(message)
        .map(|a| format!(" w polu „{a}”"))
        .unwrap_or_default();
    Some(format!("Niepoprawna {what}{field}: podaj ją {example}."))
}

/// The parser's refusal of a document nested past its recursion bound.
pub fn parser_too_deep(message: &str) -> bool {
    message.starts_with("The recursion depth of the query cannot be greater than")
}

/// The argument or variable a message names: `Invalid value for argument "from"` or
/// `Invalid value for argument "input.start"` or `variable "$f"`.
fn argument(message: &str) -> Option<&str> {
    for marker in ["argument \"", "variable \"", "field \""] {
        if let Some(i) = message.find(marker) {
            let rest = &message[i + marker.len()..];
            let name = rest.split('"').next()?;
            if !name.is_empty() && name.len() <= 64 {
                return Some(name);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_explained_in_polish() {
        let m = input_value(
            "Invalid value for argument \"input.start\", Failed to parse \"DateTime\": premature end of input",
        );
        assert_eq!(
            m.as_deref(),
            Some("Niepoprawna data i godzina w polu „input.start”: podaj ją w formacie RFC 3339 ze strefą czasową, np. 2027-01-18T07:30:00Z lub 2027-01-18T08:30:00+01:00.")
        );
        let m = input_value("Failed to parse \"NaiveDate\": input contains invalid characters");
        assert_eq!(
            m.as_deref(),
            Some("Niepoprawna data: podaj ją w formacie RRRR-MM-DD, np. 2027-01-18.")
        );
        assert_eq!(input_value("Unknown field \"x\""), None);
    }
}
