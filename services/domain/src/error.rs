//! Every rejection the product gives: a stable machine code and a Polish message (P-8).

use chrono::{DateTime, NaiveDate, Utc};

use crate::codes::Code;
use crate::week::to_local;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("Nie znaleziono.")]
    NotFound,
    #[error("Niepoprawne pole „{field}”: {reason}")]
    InvalidField { field: String, reason: String },
    /// The city's colours contrast less than 4.5:1 (W-4); `field` names the one refused.
    #[error("Niepoprawne pole „{field}”: {reason}")]
    BrandingContrast { field: String, reason: String },
    #[error("Ta usługa nie jest dostępna do rezerwacji.")]
    NotBookable,
    #[error("Ten termin już minął.")]
    SlotInPast,
    #[error("Termin jest zbyt odległy: rezerwacje są możliwe do {}.", .last_day.format("%d.%m.%Y"))]
    BeyondHorizon { last_day: NaiveDate },
    /// `first`: the first slot the calendar offers now, if any within the horizon.
    #[error("{}", too_soon(.first))]
    TooSoon { first: Option<DateTime<Utc>> },
    #[error("W tym dniu urząd jest nieczynny ({name}).")]
    Holiday { name: &'static str },
    #[error("W tym dniu urząd jest nieczynny.")]
    OfficeClosed,
    #[error("W tej godzinie nie ma terminu do rezerwacji.")]
    OutsideHours,
    #[error("Brak wolnych miejsc w tym terminie. Wybierz inny termin.")]
    SlotFull,
    #[error("Zakres dat jest niepoprawny: {0}")]
    InvalidRange(String),
    #[error("Należy zaakceptować aktualny regulamin (wersja {current}).")]
    TermsNotAccepted { current: String },
    /// `title`: how the booking form names the consent.
    #[error("Wymagana jest zgoda: „{title}”.")]
    ConsentRequired { title: String },
    #[error("Link lub token jest nieważny.")]
    InvalidToken,
    #[error("Kod potwierdzenia jest niepoprawny. Pozostało prób: {remaining}.")]
    InvalidCode { remaining: u32 },
    #[error("Przekroczono liczbę prób wpisania kodu. Rezerwacji nie można już potwierdzić kodem.")]
    CodeLocked,
    #[error("Czas na potwierdzenie rezerwacji minął; termin został zwolniony.")]
    BookingExpired,
    #[error("Rezerwacja jest już potwierdzona.")]
    AlreadyConfirmed,
    #[error("Rezerwacja została anulowana.")]
    AlreadyCancelled,
    #[error("Tej rezerwacji nie można już potwierdzić.")]
    NotPending,
    #[error("Tej rezerwacji nie można już odwołać: {0}")]
    CancellationClosed(String),
    #[error("Ten klucz idempotencji użyto już dla innego zgłoszenia.")]
    IdempotencyConflict,
    #[error("Potwierdzenie SMS wymaga numeru telefonu.")]
    SmsNeedsPhone,
    #[error("Ten urząd nie wysyła kodów SMS.")]
    SmsNotOffered,
    #[error("Logowanie Kartą Mieszkańca jest nieważne lub wygasło. Zaloguj się ponownie.")]
    ResidentTokenInvalid,
    #[error("Ten urząd nie prowadzi rezerwacji z logowaniem Kartą Mieszkańca.")]
    ResidentCardNotOffered,
    #[error("Ten urząd nie prowadzi teraz logowania Kartą Mieszkańca. Zarezerwuj wizytę, podając swoje dane w formularzu.")]
    OidcNotOffered,
    #[error("Logowanie Kartą Mieszkańca jest chwilowo niedostępne. Spróbuj ponownie później albo zarezerwuj wizytę, podając swoje dane w formularzu.")]
    OidcUnavailable,
    #[error("Logowanie nie powiodło się: powrót ze strony logowania nie pasuje do logowania rozpoczętego w tej przeglądarce albo trwał zbyt długo. Zaloguj się ponownie.")]
    OidcStateMismatch,
    #[error("Logowanie zostało przerwane lub odrzucone w systemie Karty Mieszkańca.")]
    OidcDenied,
    #[error("Logowanie Kartą Mieszkańca nie powiodło się. Zaloguj się ponownie.")]
    OidcFailed,
    #[error("System Karty Mieszkańca nie przekazał imienia i nazwiska albo potwierdzonego adresu e-mail. Uzupełnij dane w swoim koncie albo zarezerwuj wizytę, podając dane w formularzu.")]
    OidcClaimsIncomplete,
    /// A refusal by the city's policy script, with the script's code and message.
    #[error("{message}")]
    Policy {
        code: String,
        message: String,
        field: Option<String>,
    },
    #[error("Nie udało się sprawdzić zasad rezerwacji tego urzędu. Spróbuj ponownie później.")]
    PolicyFailed,
    #[error("Tej zmiany nie można wprowadzić: {0}")]
    ChangeNotAllowed(String),
    #[error("Zaloguj się: brak ważnego tokenu dostępu.")]
    Unauthenticated,
    #[error("Sesja wygasła. Zaloguj się ponownie.")]
    SessionExpired,
    #[error("Brak uprawnień: {0}")]
    Forbidden(String),
    #[error("Nieprawidłowy login lub hasło.")]
    InvalidCredentials,
    #[error("Konto zostało zablokowane po kolejnych nieudanych próbach logowania. Spróbuj ponownie po {}.", to_local(*.until).format("%H:%M dnia %d.%m.%Y"))]
    AccountLocked { until: DateTime<Utc> },
    #[error("Konto jest zawieszone. Skontaktuj się z administratorem.")]
    AccountSuspended,
    #[error("{0}")]
    AlreadyExists(String),
    #[error("Konfigurację w międzyczasie zmienił ktoś inny. Spróbuj ponownie.")]
    ConfigConflict,
    #[error("Skrypt zasad nie kompiluje się; aktywna pozostaje poprzednia wersja. {0}")]
    PolicyCompileFailed(String),
    #[error("Testy skryptu zasad nie przeszły; aktywna pozostaje poprzednia wersja.\n{0}")]
    PolicyTestsFailed(String),
    #[error("Nie ma urzędu o identyfikatorze „{0}” w tym serwisie.")]
    TenantNotFound(String),
    #[error("Bilet na umówioną wizytę można odebrać najwcześniej {} o godzinie {} ({} minut przed wizytą).", to_local(*.from).format("%d.%m.%Y"), to_local(*.from).format("%H:%M"), .minutes)]
    CheckInTooEarly { from: DateTime<Utc>, minutes: u32 },
    #[error("Minął czas na potwierdzenie przybycia: wizyta umówiona na godzinę {} została anulowana. Pobierz zwykły bilet do kolejki.", to_local(*.start).format("%H:%M"))]
    CheckInTooLate { start: DateTime<Utc> },
    #[error("Nie znaleziono na dziś w tym urzędzie wizyty o podanym kodzie lub numerze telefonu.")]
    CheckInNotFound,
    #[error("Bilet dla tej wizyty został już wydany.")]
    AlreadyCheckedIn,
    #[error(
        "Dla tej sprawy nie prowadzi się kolejki w tym urzędzie. Zapytaj w punkcie informacji."
    )]
    NoQueue,
    #[error("Kolejka jest teraz nieczynna. {0}")]
    QueueClosed(String),
    #[error("Na dziś wydano już wszystkie bilety do tej kolejki.")]
    QueueFull,
    #[error("Tu nie wydaje się biletów bez rezerwacji: wybierz sprawę albo wpisz kod rezerwacji.")]
    CheckInQueueOnly,
    #[error("Ponowne wywołanie jest możliwe od godziny {} (co najmniej {} minut od poprzedniego).", to_local(*.from).format("%H:%M"), .minutes)]
    RecallTooSoon { from: DateTime<Utc>, minutes: u32 },
    #[error("Tej operacji nie można wykonać: bilet {label} jest {state}.")]
    TicketState { label: String, state: String },
    /// `callNext` at a desk that has a called or serving ticket already.
    #[error("Stanowisko {desk} obsługuje już bilet {label}. Zakończ obsługę, wywołaj go ponownie albo przekaż do innej kolejki, zanim wywołasz następny numer.")]
    DeskBusy { desk: u32, label: String },
    #[error("Wewnętrzny błąd serwera. Spróbuj ponownie za chwilę.")]
    Internal,
    // Answers given because of load or faults (issue 11).
    /// The database does not answer: HTTP 503 with `Retry-After`.
    #[error(
        "Serwis jest chwilowo niedostępny: baza danych nie odpowiada. Spróbuj ponownie za chwilę."
    )]
    Unavailable,
    /// The city's policy scripts are held back: its calls kept exceeding their limits, or too
    /// many of its requests wait for a turn. Other cities are not affected.
    #[error("Zasady rezerwacji tego urzędu są chwilowo wstrzymane z powodu przeciążenia. Spróbuj ponownie za {retry_after} s.")]
    PolicyThrottled { retry_after: u64 },
    /// The request's body did not arrive within its time limit (HTTP 408).
    #[error("Treść zapytania nie nadeszła w wyznaczonym czasie. Wyślij zapytanie ponownie.")]
    BodyTimeout,
    /// One client address holds too many connections or opens them too fast, or the server
    /// holds as many as it can serve (HTTP 503 with `Retry-After`).
    #[error("Zbyt wiele otwartych połączeń. Spróbuj ponownie za chwilę.")]
    TooManyConnections,
}

/// `Retry-After` of an answer given while the database or the server's connections are
/// unavailable.
pub const UNAVAILABLE_RETRY_SECS: u64 = 5;

fn too_soon(first: &Option<DateTime<Utc>>) -> String {
    match first {
        Some(t) => {
            let t = to_local(*t);
            format!(
                "Termin jest zbyt bliski: najwcześniejszy możliwy termin to {}, godz. {}.",
                t.format("%d.%m.%Y"),
                t.format("%H:%M")
            )
        }
        None => "Termin jest zbyt bliski, a w okresie rezerwacji nie ma już późniejszych terminów."
            .into(),
    }
}

impl DomainError {
    /// The stable code clients branch on: a listed one, or a city policy's own.
    pub fn code(&self) -> &str {
        match self {
            DomainError::Policy { code, .. } => code,
            other => other.listed_code().map_or("", Code::as_str),
        }
    }

    /// The listed code of this error (see `codes`); None only for a policy's refusal, whose
    /// code is the script's.
    pub fn listed_code(&self) -> Option<Code> {
        use DomainError::*;
        Some(match self {
            NotFound => Code::NotFound,
            InvalidField { .. } => Code::ValidationFailed,
            BrandingContrast { .. } => Code::BrandingContrast,
            NotBookable => Code::ServiceNotBookable,
            SlotInPast => Code::SlotInPast,
            BeyondHorizon { .. } => Code::BeyondHorizon,
            TooSoon { .. } => Code::TooSoon,
            Holiday { .. } => Code::Holiday,
            OfficeClosed => Code::OfficeClosed,
            OutsideHours => Code::OutsideHours,
            SlotFull => Code::SlotFull,
            InvalidRange(_) => Code::InvalidRange,
            TermsNotAccepted { .. } => Code::TermsNotAccepted,
            ConsentRequired { .. } => Code::ConsentRequired,
            InvalidToken => Code::InvalidToken,
            InvalidCode { .. } => Code::InvalidCode,
            CodeLocked => Code::CodeLocked,
            BookingExpired => Code::BookingExpired,
            AlreadyConfirmed => Code::AlreadyConfirmed,
            AlreadyCancelled => Code::AlreadyCancelled,
            NotPending => Code::NotPending,
            CancellationClosed(_) => Code::CancellationClosed,
            IdempotencyConflict => Code::IdempotencyConflict,
            SmsNeedsPhone => Code::SmsNeedsPhone,
            SmsNotOffered => Code::SmsNotOffered,
            ResidentTokenInvalid => Code::ResidentTokenInvalid,
            ResidentCardNotOffered => Code::ResidentCardNotOffered,
            OidcNotOffered => Code::OidcNotOffered,
            OidcUnavailable => Code::OidcUnavailable,
            OidcStateMismatch => Code::OidcStateMismatch,
            OidcDenied => Code::OidcDenied,
            OidcFailed => Code::OidcFailed,
            OidcClaimsIncomplete => Code::OidcClaimsIncomplete,
            Policy { code, .. } => return Code::parse(code),
            PolicyFailed => Code::PolicyError,
            ChangeNotAllowed(_) => Code::ChangeNotAllowed,
            Unauthenticated => Code::Unauthenticated,
            SessionExpired => Code::SessionExpired,
            Forbidden(_) => Code::Forbidden,
            InvalidCredentials => Code::InvalidCredentials,
            AccountLocked { .. } => Code::AccountLocked,
            AccountSuspended => Code::AccountSuspended,
            AlreadyExists(_) => Code::AlreadyExists,
            ConfigConflict => Code::Conflict,
            PolicyCompileFailed(_) => Code::PolicyCompileFailed,
            PolicyTestsFailed(_) => Code::PolicyTestsFailed,
            TenantNotFound(_) => Code::TenantNotFound,
            CheckInTooEarly { .. } => Code::CheckInTooEarly,
            CheckInTooLate { .. } => Code::CheckInTooLate,
            CheckInNotFound => Code::BookingNotFound,
            AlreadyCheckedIn => Code::AlreadyCheckedIn,
            NoQueue => Code::NoQueue,
            QueueClosed(_) => Code::QueueClosed,
            QueueFull => Code::QueueFull,
            CheckInQueueOnly => Code::CheckInOnly,
            RecallTooSoon { .. } => Code::RecallTooSoon,
            TicketState { .. } => Code::TicketState,
            DeskBusy { .. } => Code::DeskBusy,
            Internal => Code::Internal,
            Unavailable => Code::ServiceUnavailable,
            PolicyThrottled { .. } => Code::PolicyThrottled,
            BodyTimeout => Code::BodyTimeout,
            TooManyConnections => Code::TooManyConnections,
        })
    }

    pub fn field(&self) -> Option<&str> {
        match self {
            DomainError::InvalidField { field, .. }
            | DomainError::BrandingContrast { field, .. } => Some(field),
            DomainError::Policy { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    /// Seconds after which trying again makes sense, for the answers that say so
    /// (`Retry-After`, `extensions.retryAfter`).
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            DomainError::Unavailable | DomainError::TooManyConnections => {
                Some(UNAVAILABLE_RETRY_SECS)
            }
            DomainError::PolicyThrottled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// A configuration's refusal (`TenantConfig::check`) with its own code.
    pub fn refused(r: crate::config::Refusal) -> DomainError {
        match r.code {
            Code::BrandingContrast => DomainError::BrandingContrast {
                field: r.field,
                reason: r.message,
            },
            _ => DomainError::invalid(r.field, r.message),
        }
    }

    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DomainError {
        DomainError::InvalidField {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
