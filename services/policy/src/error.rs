//! What a policy call can end in besides an answer.

/// Why a policy did not give an answer.
///
/// Only [`PolicyError::Rejected`] carries text meant for the client; the other two are shown as
/// `POLICY_ERROR` with a generic Polish message, their details belong in the logs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PolicyError {
    /// The script refused: `throw #{ code: "VIN_INVALID", message: "…", field: "fields.vin_tail" }`
    /// (`field` optional). `code` is SCREAMING_SNAKE, `message` is non-empty.
    #[error("{code}: {message}")]
    Rejected {
        code: String,
        message: String,
        field: Option<String>,
    },
    /// Anything else: a runtime error, a limit or the deadline hit, a throw of something that is
    /// not a proper refusal, a return value of the wrong shape.
    #[error("policy failed: {reason}")]
    Failed { reason: String },
    /// A limit of the call's budget was reached: operations, the deadline, call depth, a size
    /// limit, or a return value larger than the host takes. Shown as `POLICY_ERROR` like
    /// `Failed`; the host also counts these against the city (`policy_sched`), since they cost
    /// every other city a share of the machine.
    #[error("policy over its budget: {reason}")]
    OverBudget { reason: String },
    /// The script does not compile (the message names line and position).
    #[error("policy does not compile: {message}")]
    Compile { message: String },
}

/// The code clients see for every failure that is not a refusal.
pub const POLICY_ERROR: &str = "POLICY_ERROR";

const GENERIC_MESSAGE: &str =
    "Nie udało się sprawdzić zgłoszenia według zasad urzędu. Spróbuj ponownie później \
     albo skontaktuj się z urzędem telefonicznie.";

impl PolicyError {
    /// The stable machine code: the refusal's own, else `POLICY_ERROR`.
    pub fn code(&self) -> &str {
        match self {
            PolicyError::Rejected { code, .. } => code,
            PolicyError::Failed { .. }
            | PolicyError::OverBudget { .. }
            | PolicyError::Compile { .. } => POLICY_ERROR,
        }
    }

    /// The Polish text for the client: the refusal's message, else a generic one.
    pub fn public_message(&self) -> String {
        match self {
            PolicyError::Rejected { message, .. } => message.clone(),
            PolicyError::Failed { .. }
            | PolicyError::OverBudget { .. }
            | PolicyError::Compile { .. } => GENERIC_MESSAGE.to_string(),
        }
    }

    /// The form field the refusal is about (`fields.vin_tail`, `client.email`), if it names one.
    pub fn field(&self) -> Option<&str> {
        match self {
            PolicyError::Rejected { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn failed(reason: impl Into<String>) -> PolicyError {
        PolicyError::Failed {
            reason: reason.into(),
        }
    }

    pub(crate) fn over_budget(reason: impl Into<String>) -> PolicyError {
        PolicyError::OverBudget {
            reason: reason.into(),
        }
    }

    /// Whether the call ended on a limit of its budget ([`PolicyError::OverBudget`]).
    pub fn is_over_budget(&self) -> bool {
        matches!(self, PolicyError::OverBudget { .. })
    }

    /// Why the call failed, for the log (a refusal's code and message otherwise).
    pub fn reason(&self) -> String {
        match self {
            PolicyError::Failed { reason } | PolicyError::OverBudget { reason } => reason.clone(),
            other => other.to_string(),
        }
    }
}

/// `A`–`Z`, digits and underscores, starting with a letter: the shape of every product code.
pub(crate) fn is_screaming_snake(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !s.ends_with('_')
        && !s.contains("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_messages() {
        let r = PolicyError::Rejected {
            code: "VIN_INVALID".into(),
            message: "Zły VIN".into(),
            field: Some("fields.vin_tail".into()),
        };
        assert_eq!(r.code(), "VIN_INVALID");
        assert_eq!(r.public_message(), "Zły VIN");
        assert_eq!(r.field(), Some("fields.vin_tail"));
        let f = PolicyError::failed("operation limit");
        assert_eq!(f.code(), POLICY_ERROR);
        assert!(!f.public_message().contains("operation"));
        let c = PolicyError::Compile {
            message: "x".into(),
        };
        assert_eq!(c.code(), POLICY_ERROR);
    }

    #[test]
    fn screaming_snake() {
        for ok in ["VIN_INVALID", "A", "NO_SHOW_BLOCKED", "X2"] {
            assert!(is_screaming_snake(ok), "{ok}");
        }
        for bad in ["", "vin", "_A", "A_", "A__B", "1A", "A-B", "Ą"] {
            assert!(!is_screaming_snake(bad), "{bad}");
        }
    }
}
