//! Errors as GraphQL clients see them: a stable `extensions.code` and a Polish message, for the
//! use cases' errors ([`to_gql`], [`api`], [`OrGql`]), rate limits ([`limited`]) and
//! async-graphql's own input errors.
//!
//! Polish words for async-graphql's own input errors, whose text is English and names Rust
//! types ("Failed to parse \"DateTime\": premature end of input"): a malformed date or time
//! is answered with the form expected and an example.

use async_graphql::ErrorExtensions;
use okienko_app::error::ApiError;
use okienko_app::rate_limit::Limited;
use okienko_domain::DomainError;

/// A domain error as a GraphQL error: its Polish message, `code`, and `field` and
/// `retryAfter` when it has them.
pub fn to_gql(d: &DomainError) -> async_graphql::Error {
    async_graphql::Error::new(d.to_string()).extend_with(|_, ext| {
        ext.set("code", d.code());
        if let Some(f) = d.field() {
            ext.set("field", f);
        }
        if let Some(secs) = d.retry_after() {
            ext.set("retryAfter", secs);
        }
    })
}

/// A use case's error as a GraphQL error (store details hidden behind `INTERNAL`).
pub fn api(e: ApiError) -> async_graphql::Error {
    to_gql(&e.domain())
}

/// [`api`], but a unique key already taken is `ALREADY_EXISTS` with the message `taken`
/// (e.g. „Użytkownik o loginie … już istnieje.”): for `map_err` on a call that creates.
pub fn api_or_taken(taken: String) -> impl FnOnce(ApiError) -> async_graphql::Error {
    move |e| match e {
        ApiError::Store(okienko_app::records::StoreError::Unique(_)) => {
            to_gql(&DomainError::AlreadyExists(taken))
        }
        e => api(e),
    }
}

/// Over a rate limit: code `RATE_LIMITED`, `retryAfter` in seconds.
pub fn limited(l: Limited) -> async_graphql::Error {
    async_graphql::Error::new(l.message()).extend_with(|_, ext| {
        ext.set("code", okienko_domain::Code::RateLimited.as_str());
        ext.set("retryAfter", l.retry_after_secs());
    })
}

/// `?` for a use case's result in a resolver: `app_call().await.gql()?`. (The conversion cannot
/// be a `From` impl: both types belong to other crates.)
pub trait OrGql<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> OrGql<T> for Result<T, ApiError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(api)
    }
}

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
