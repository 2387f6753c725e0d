//! Every `extensions.code` the server can answer with, in one list (P-8).
//!
//! A code is a [`Code`]: the server's errors (`DomainError`), the answers given before GraphQL
//! runs (`error_json` in the HTTP layer) and the query limits all name one, so a code that is
//! not listed here cannot be emitted without a compile error. The codes the shipped city
//! policies throw (`policies/*/policy.rhai`) are listed too; a test fails when a script throws
//! one that is missing. `docs/error-codes.md` is generated from this list (`okienko codes`,
//! checked by `tests/error_codes.rs`).
//!
//! Adding a code is one line in the table below: its variant, the code, where it belongs and
//! what it means.

/// Where a code comes from, for the documentation's sections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Group {
    /// The request itself: HTTP, GraphQL, limits.
    Request,
    /// Booking, confirming, cancelling (the public API).
    Booking,
    /// Staff sign-in, roles, configuration, policies (the admin and platform APIs).
    Staff,
    /// The electronic queue (kiosk, desk, display APIs).
    Queue,
    /// Answers given because of load or faults.
    Load,
    /// Thrown by the shipped city policies (`policies/*/policy.rhai`); a city's own script may
    /// throw codes of its own.
    Policy,
}

impl Group {
    pub const ALL: [Group; 6] = [
        Group::Request,
        Group::Booking,
        Group::Staff,
        Group::Queue,
        Group::Load,
        Group::Policy,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Group::Request => "Requests and limits",
            Group::Booking => "Bookings (public API)",
            Group::Staff => "Staff, configuration and policies",
            Group::Queue => "The electronic queue",
            Group::Load => "Load and faults",
            Group::Policy => "Shipped city policies",
        }
    }
}

macro_rules! codes {
    ($($variant:ident = $code:literal, $group:ident, $meaning:literal;)*) => {
        /// A stable machine-readable code of a rejection.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Code {
            $($variant,)*
        }

        impl Code {
            /// Every code, in the table's order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as clients see it in `extensions.code`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $code,)*
                }
            }

            pub const fn group(self) -> Group {
                match self {
                    $(Code::$variant => Group::$group,)*
                }
            }

            /// When the code is given, in English (the documentation's text).
            pub const fn meaning(self) -> &'static str {
                match self {
                    $(Code::$variant => $meaning,)*
                }
            }
        }
    };
}

codes! {
    // Requests and limits
    BadRequest = "BAD_REQUEST", Request, "The body is not a GraphQL request in JSON, or a WebSocket endpoint was called without its protocol (HTTP 400).";
    InvalidQuery = "INVALID_QUERY", Request, "The GraphQL document does not parse or does not validate against the schema (HTTP 400).";
    BadUserInput = "BAD_USER_INPUT", Request, "An argument has the wrong type or form; for dates and times the message shows the expected form.";
    QueryTooDeep = "QUERY_TOO_DEEP", Request, "The query nests deeper than the limit (12 levels; the standard introspection query is let through).";
    QueryTooComplex = "QUERY_TOO_COMPLEX", Request, "The query asks for more than the complexity limit (2,000 fields).";
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", Request, "The body is larger than 256 KiB (HTTP 413).";
    MethodNotAllowed = "METHOD_NOT_ALLOWED", Request, "GraphiQL is switched off: use POST.";
    RateLimited = "RATE_LIMITED", Request, "Too many requests from this address or API key (HTTP 429 with `Retry-After`; `extensions.retryAfter`).";
    RequestTimeout = "REQUEST_TIMEOUT", Request, "The request was not answered within the request timeout (HTTP 503 with `Retry-After`).";
    NotFound = "NOT_FOUND", Request, "No such page, booking, office, service or record in this city.";
    TenantNotFound = "TENANT_NOT_FOUND", Request, "No city with this slug, or it is suspended (HTTP 404).";
    ValidationFailed = "VALIDATION_FAILED", Request, "A field is missing or malformed; `extensions.field` names it.";
    Internal = "INTERNAL", Request, "An unexpected server error; details are in the server's log only.";
    // Bookings
    ServiceNotBookable = "SERVICE_NOT_BOOKABLE", Booking, "The service is information only (e.g. OP-2): it cannot be booked.";
    SlotInPast = "SLOT_IN_PAST", Booking, "The chosen start has already passed.";
    BeyondHorizon = "BEYOND_HORIZON", Booking, "The chosen day is past the city's booking horizon; the message names the last bookable day.";
    TooSoon = "TOO_SOON", Booking, "The chosen start is before the city's minimum notice; the message names the first bookable slot.";
    Holiday = "HOLIDAY", Booking, "The chosen day is a public holiday.";
    OfficeClosed = "OFFICE_CLOSED", Booking, "The office is closed on the chosen day (a closure day).";
    OutsideHours = "OUTSIDE_HOURS", Booking, "The chosen time is not a slot of the service's hours.";
    SlotFull = "SLOT_FULL", Booking, "No seats are left in the slot (or in the staff quota).";
    InvalidRange = "INVALID_RANGE", Booking, "The availability range is reversed or longer than 62 days.";
    TermsNotAccepted = "TERMS_NOT_ACCEPTED", Booking, "The accepted terms version is not the current one; the message names it.";
    ConsentRequired = "CONSENT_REQUIRED", Booking, "A required consent was not given; the message names it by its title.";
    InvalidToken = "INVALID_TOKEN", Booking, "The management or confirmation token is unknown in this city.";
    InvalidCode = "INVALID_CODE", Booking, "The confirmation code is wrong; the message says how many tries are left.";
    CodeLocked = "CODE_LOCKED", Booking, "Five wrong codes: the booking can no longer be confirmed and its seat was given back.";
    BookingExpired = "BOOKING_EXPIRED", Booking, "The booking was not confirmed in time; its seat was given back.";
    AlreadyConfirmed = "ALREADY_CONFIRMED", Booking, "The booking is confirmed already.";
    AlreadyCancelled = "ALREADY_CANCELLED", Booking, "The booking was cancelled or rejected already (or no longer holds a seat).";
    NotPending = "NOT_PENDING", Booking, "The booking is not waiting for confirmation.";
    CancellationClosed = "CANCELLATION_CLOSED", Booking, "The city's cancellation cutoff has passed (GD-13: the day before).";
    IdempotencyConflict = "IDEMPOTENCY_CONFLICT", Booking, "The idempotency key was used for a different request.";
    SmsNeedsPhone = "SMS_NEEDS_PHONE", Booking, "The code was asked for by SMS without a phone number.";
    SmsNotOffered = "SMS_NOT_OFFERED", Booking, "The city does not send codes by SMS.";
    ResidentTokenInvalid = "RESIDENT_TOKEN_INVALID", Booking, "The resident-card login token is invalid or expired (GD-5).";
    ResidentCardNotOffered = "RESIDENT_CARD_NOT_OFFERED", Booking, "The city has no resident-card login.";
    OidcNotOffered = "OIDC_NOT_OFFERED", Booking, "The city offers no resident-card login on its pages, or its client secret is not set on this server (GD-5).";
    OidcUnavailable = "OIDC_UNAVAILABLE", Booking, "The city's identity provider cannot be reached or its metadata are unusable; booking with the public form still works.";
    OidcStateMismatch = "OIDC_STATE_MISMATCH", Booking, "The login's return does not belong to a login begun in this browser, was used already, or came too late (`state`).";
    OidcDenied = "OIDC_DENIED", Booking, "The login was cancelled or refused at the identity provider.";
    OidcFailed = "OIDC_FAILED", Booking, "The provider refused the code, or its ID token failed a check (signature, issuer, audience, expiry, nonce); details are in the server's log only.";
    OidcClaimsIncomplete = "OIDC_CLAIMS_INCOMPLETE", Booking, "The provider's ID token lacks the client's name or a confirmed e-mail address.";
    PolicyError = "POLICY_ERROR", Booking, "The city's policy script failed; details are in the server's log only.";
    // Staff, configuration, policies
    Unauthenticated = "UNAUTHENTICATED", Staff, "No valid bearer token for this endpoint (unknown, revoked, or of another city).";
    SessionExpired = "SESSION_EXPIRED", Staff, "The staff session's 8 hours are over: log in again.";
    Forbidden = "FORBIDDEN", Staff, "The caller's role, device or key does not allow this; the message says what is missing.";
    InvalidCredentials = "INVALID_CREDENTIALS", Staff, "Wrong login or password.";
    AccountLocked = "ACCOUNT_LOCKED", Staff, "Five wrong passwords: the account is locked for 15 minutes; the message says until when.";
    AccountSuspended = "ACCOUNT_SUSPENDED", Staff, "The account is suspended.";
    AlreadyExists = "ALREADY_EXISTS", Staff, "A user, device, key or city with this name exists already.";
    BrandingContrast = "BRANDING_CONTRAST", Staff, "The city's colours (`branding.primary_color` and `branding.secondary_color`, text on background) contrast less than 4.5:1 (WCAG 2.1 AA, W-4); `extensions.field` names the field. Given by the admin API's `setBranding`, the platform API's `createTenant` and the file import alike.";
    Conflict = "CONFLICT", Staff, "The configuration was changed by someone else meanwhile: try again.";
    ChangeNotAllowed = "CHANGE_NOT_ALLOWED", Staff, "The change is not allowed now (an outcome before the visit day, erasure with a visit ahead, a reschedule too close).";
    PolicyCompileFailed = "POLICY_COMPILE_FAILED", Staff, "The policy script does not compile; the active version stays.";
    PolicyTestsFailed = "POLICY_TESTS_FAILED", Staff, "The policy script's tests fail; the active version stays.";
    // The electronic queue
    CheckInTooEarly = "CHECK_IN_TOO_EARLY", Queue, "Check-in before the city's window; the message says from when.";
    CheckInTooLate = "CHECK_IN_TOO_LATE", Queue, "Check-in after the city's lateness limit: the visit was cancelled.";
    BookingNotFound = "BOOKING_NOT_FOUND", Queue, "No visit today in this office with that code or phone number.";
    AlreadyCheckedIn = "ALREADY_CHECKED_IN", Queue, "The visit's ticket has been issued already.";
    NoQueue = "NO_QUEUE", Queue, "No queue of this office serves the matter.";
    QueueClosed = "QUEUE_CLOSED", Queue, "The queue is closed now (hours, holiday, closure day).";
    QueueFull = "QUEUE_FULL", Queue, "The queue's daily capacity is used up (CI-4).";
    CheckInOnly = "CHECK_IN_ONLY", Queue, "The check-in queue issues no walk-in tickets.";
    RecallTooSoon = "RECALL_TOO_SOON", Queue, "A recall sooner than the city's interval (CI-8); the message says from when.";
    TicketState = "TICKET_STATE", Queue, "The ticket is not in a state that allows this operation.";
    DeskBusy = "DESK_BUSY", Queue, "The desk has a called or serving ticket already: finish, recall or transfer it before calling the next one.";
    // Load and faults
    ServiceUnavailable = "SERVICE_UNAVAILABLE", Load, "The database does not answer (HTTP 503 with `Retry-After`).";
    PolicyThrottled = "POLICY_THROTTLED", Load, "The city's policy scripts are held back after repeatedly exceeding their limits, or too many of its requests wait for a script turn; other cities are not affected (HTTP 503 with `Retry-After`).";
    BodyTimeout = "BODY_TIMEOUT", Load, "The request's body did not arrive within the body timeout (HTTP 408).";
    ShuttingDown = "SHUTTING_DOWN", Load, "The server is shutting down (SIGTERM): a new display WebSocket is refused with HTTP 503 and `Retry-After`; connect again, another replica answers. Open ones are closed with 1012.";
    TooManyConnections = "TOO_MANY_CONNECTIONS", Load, "The client address, or the server in all, holds as many connections as it may, or the address opens them faster than its accept rate (HTTP 503 with `Retry-After`; past the first refusals of a second, the connection is closed unanswered).";
    // Shipped city policies
    EmailRequired = "EMAIL_REQUIRED", Policy, "Cieszyn, Dąbrowa Górnicza: an e-mail address is required.";
    EmailInvalid = "EMAIL_INVALID", Policy, "Cieszyn, Dąbrowa Górnicza: the e-mail address is malformed.";
    PhoneRequired = "PHONE_REQUIRED", Policy, "Dąbrowa Górnicza: the phone number (the visit's identifier, DG-7) is required.";
    PhoneInvalid = "PHONE_INVALID", Policy, "Dąbrowa Górnicza: the phone number is not a Polish number.";
    IdentityCapReached = "IDENTITY_CAP_REACHED", Policy, "Every city: too many active bookings for this e-mail, phone or person (ZG-12, OP-11, GD-12, CI-13).";
    RescheduleNotAllowed = "RESCHEDULE_NOT_ALLOWED", Policy, "Cieszyn: a booked visit cannot be moved (CI-21).";
    ClaimsIncomplete = "CLAIMS_INCOMPLETE", Policy, "Gdynia: the resident-card login lacks the name or a confirmed e-mail (GD-5).";
    PersonChangeRefused = "PERSON_CHANGE_REFUSED", Policy, "Gdynia: a booking cannot be passed to another person (GD-12).";
    ApplicationNumberRequired = "APPLICATION_NUMBER_REQUIRED", Policy, "Opole: ID pickup needs the application number (OP-10).";
    ApplicationNumberInvalid = "APPLICATION_NUMBER_INVALID", Policy, "Opole: the application number is malformed.";
    OneMatterPerDay = "ONE_MATTER_PER_DAY", Policy, "Opole: one booking per person and department a day (OP-5).";
    NoShowBlocked = "NO_SHOW_BLOCKED", Policy, "Opole: online booking is blocked for a while after a missed visit (OP-14).";
    ClientContactRequired = "CLIENT_CONTACT_REQUIRED", Policy, "Zielona Góra: both e-mail and phone are required (ZG-4).";
    VehicleIdRequired = "VEHICLE_ID_REQUIRED", Policy, "Zielona Góra: a registration number or the VIN's last 5 characters is required (ZG-4).";
    RegistrationInvalid = "REGISTRATION_INVALID", Policy, "Zielona Góra: the registration number is malformed or fictitious (ZG-13).";
    WrongService = "WRONG_SERVICE", Policy, "Zielona Góra: the FZI exchange is for FZI plates only (ZG-13).";
    VinInvalid = "VIN_INVALID", Policy, "Zielona Góra: the VIN's last 5 characters are malformed or fictitious (ZG-13).";
    OwnerRequired = "OWNER_REQUIRED", Policy, "Zielona Góra: the vehicle owner's name is required (ZG-4).";
    ProxyInvalid = "PROXY_INVALID", Policy, "Zielona Góra: the proxy's name is malformed or the owner's own.";
}

impl Code {
    /// The listed code with this text, if any.
    pub fn parse(s: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.as_str() == s)
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The documentation of every code, as `docs/error-codes.md` holds it.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Error codes\n\n\
         Every rejection carries a Polish `message` and one of these stable codes in\n\
         `extensions.code` (answers given before GraphQL runs have the same shape:\n\
         `{\"errors\": [{\"message\": …, \"extensions\": {\"code\": …}}]}`).\n\n\
         Generated from `services/domain/src/codes.rs` by `okienko codes`; `tests/error_codes.rs`\n\
         fails when this file and the list differ, and when the server or a shipped policy can\n\
         answer with a code that is not listed.\n",
    );
    for g in Group::ALL {
        out += &format!("\n## {}\n\n| code | when |\n| --- | --- |\n", g.title());
        for c in Code::ALL.iter().filter(|c| c.group() == g) {
            out += &format!("| `{}` | {} |\n", c.as_str(), c.meaning());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_screaming_snake() {
        let mut seen = std::collections::BTreeSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} listed twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
                    && !s.starts_with('_')
                    && !s.ends_with('_'),
                "{s}"
            );
            assert_eq!(Code::parse(s), Some(*c));
            assert!(!c.meaning().is_empty());
        }
    }
}
