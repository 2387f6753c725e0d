//! A city's configuration as data: the shape of `policies/<slug>/tenant.toml`.
//!
//! Parsing is pure (a string in, a value or a located error out); reading the file and
//! storing the result belong to the store and the server.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::codes::Code;
use crate::queue_config::{self, DeskConfig, QueueConfig, QueueRules};
use crate::week::WeeklyHours;
pub use crate::week::{parse_range, WeeklyHoursConfig};

/// The whole configuration of one tenant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub slug: String,
    pub name: String,
    pub branding: Branding,
    pub booking: BookingRules,
    pub confirmation: ConfirmationRules,
    pub terms: Terms,
    #[serde(default)]
    pub consents: Vec<Consent>,
    /// Days on which the whole tenant is closed (besides public holidays).
    #[serde(default)]
    pub closures: Vec<NaiveDate>,
    pub offices: Vec<Office>,
    pub services: Vec<Service>,
    /// Settings the city's policy script reads (`settings` in its hooks), e.g. `identity_cap`;
    /// `cancel_release_delay_minutes` is read by the host.
    #[serde(default)]
    pub policy: serde_json::Map<String, serde_json::Value>,
    /// Login with the city's resident card (GD-5): its identity provider.
    #[serde(default)]
    pub resident_card: Option<ResidentCard>,
    /// Login with the city's resident card on its own pages (GD-5): OpenID Connect's
    /// authorization code flow against the city's provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcConfig>,
    /// The electronic queue's categories per office (CI-5, DG-8's "U").
    #[serde(default)]
    pub queues: Vec<QueueConfig>,
    /// The desks per office and the queues each calls from.
    #[serde(default)]
    pub desks: Vec<DeskConfig>,
    /// The queue's timing rules (CI-8, CI-16, CI-17, DG-4, DG-8, GD-11).
    #[serde(default)]
    pub queue: QueueRules,
    /// How long personal data are kept after the visit (P-5, GD-14).
    #[serde(default)]
    pub retention: RetentionRules,
    /// Requests per minute per client address or API key (issue 6).
    #[serde(default)]
    pub rate_limits: RateLimitRules,
    /// How the city's e-mails and pages write dates and name a visit (DG-7).
    #[serde(default)]
    pub messages: MessageRules,
    /// The city's own site: its host name and its accessibility statement (W-1, W-4).
    #[serde(default)]
    pub site: SiteConfig,
}

/// The `[site]` table.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    /// A host name that serves this city at `/` (e.g. `rezerwacja.example.pl`).
    pub host: Option<String>,
    /// The accessibility statement (deklaracja dostępności) of the city's booking pages.
    pub accessibility: AccessibilityStatement,
}

/// What the accessibility statement page says (the statutory parts of a deklaracja dostępności).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AccessibilityStatement {
    /// E.g. "zgodna" (compliant), "częściowo zgodna".
    pub status: String,
    /// When the statement was prepared, `YYYY-MM-DD`.
    pub prepared: String,
    /// When the pages were published, `YYYY-MM-DD`.
    pub published: String,
    pub contact_name: String,
    pub contact_email: String,
    pub contact_phone: String,
    /// Known gaps and other notes, one paragraph each.
    pub notes: Vec<String>,
    /// The building's accessibility (architektoniczna dostępność), one paragraph each.
    pub building: Vec<String>,
}

/// The `[messages]` table: how e-mails and pages speak of a visit.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct MessageRules {
    /// The city's one date format, in all its e-mails and pages.
    pub date_format: DateFormat,
    /// The client's phone number is the visit's identifier, typed at the kiosk (DG-7, DG-8):
    /// e-mails show it as such.
    pub phone_as_identifier: bool,
}

/// How dates are written; times are always HH:MM.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub enum DateFormat {
    /// 08.06.2026, the common Polish form.
    #[default]
    #[serde(rename = "dd.mm.yyyy")]
    Dotted,
    /// 08/06/2026 (DG-7).
    #[serde(rename = "dd/mm/yyyy")]
    Slashed,
}

impl DateFormat {
    /// The chrono pattern of this format.
    pub fn pattern(self) -> &'static str {
        match self {
            DateFormat::Dotted => "%d.%m.%Y",
            DateFormat::Slashed => "%d/%m/%Y",
        }
    }

    pub fn format(self, d: NaiveDate) -> String {
        d.format(self.pattern()).to_string()
    }
}

/// Requests allowed per minute (also the burst); 0 means no limit.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitRules {
    /// Any request to the public API, per client address.
    pub reads_per_minute: u32,
    /// `createBooking`, per client address.
    pub bookings_per_minute: u32,
    /// Confirmation codes tried, per client address.
    pub code_attempts_per_minute: u32,
    /// Requests with a partner's API key, per key.
    pub partner_per_minute: u32,
}

impl Default for RateLimitRules {
    fn default() -> Self {
        RateLimitRules {
            reads_per_minute: 300,
            bookings_per_minute: 10,
            code_attempts_per_minute: 10,
            partner_per_minute: 600,
        }
    }
}

/// The tenant's retention schedule for the personal data of bookings (P-5). A booking's
/// client data are kept through the `days_after_visit`-th day after the visit day and erased
/// at the start of the next day (Europe/Warsaw); status, service and slot stay for statistics.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionRules {
    #[serde(default = "default_retention_days")]
    pub days_after_visit: u32,
    /// A shorter schedule for bookings made by phone (GD-14: 0, kept only until the visit day).
    #[serde(default)]
    pub phone_days_after_visit: Option<u32>,
}

/// The longest retention a tenant may set, in days.
pub const MAX_RETENTION_DAYS: u32 = 3650;

fn default_retention_days() -> u32 {
    30
}

impl Default for RetentionRules {
    fn default() -> Self {
        RetentionRules {
            days_after_visit: default_retention_days(),
            phone_days_after_visit: None,
        }
    }
}

impl RetentionRules {
    /// Days after the visit day that the personal data of a booking from `source` are kept.
    pub fn days_for(&self, source: &str) -> u32 {
        match (source, self.phone_days_after_visit) {
            ("phone", Some(d)) => d.min(self.days_after_visit),
            _ => self.days_after_visit,
        }
    }
}

/// An OpenID-style identity provider whose signed tokens (RS256 or ES256) carry the client's data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ResidentCard {
    pub issuer: String,
    pub audience: String,
    /// Where the provider publishes its keys (JWKS).
    #[serde(default)]
    pub jwks_url: Option<String>,
    /// The keys inline, as a JWKS JSON document (instead of `jwks_url`).
    #[serde(default)]
    pub jwks: Option<String>,
}

/// The `[oidc]` table: the city's OpenID Connect provider for the resident-card login on its
/// pages (GD-5). The client secret is never here: `client_secret_env` names the server's
/// environment variable that holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer identifier; its metadata are at
    /// `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The environment variable with the client secret: `OKIENKO_OIDC_SECRET_<SLUG>` (the
    /// slug in capitals, `-` as `_`), so that a city's configuration can name no other secret
    /// of the server, nor another city's.
    pub client_secret_env: String,
    #[serde(default = "default_oidc_scopes")]
    pub scopes: Vec<String>,
    /// Which claims of the ID token carry the client's data.
    #[serde(default)]
    pub claims: OidcClaims,
}

fn default_oidc_scopes() -> Vec<String> {
    ["openid", "profile", "email", "phone"]
        .map(String::from)
        .to_vec()
}

/// The claim names of the client's name, e-mail and phone (OpenID Connect's standard ones by
/// default).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OidcClaims {
    pub name: String,
    pub email: String,
    pub phone: String,
}

impl Default for OidcClaims {
    fn default() -> Self {
        OidcClaims {
            name: "name".into(),
            email: "email".into(),
            phone: "phone_number".into(),
        }
    }
}

impl OidcConfig {
    /// The only environment variable a city's configuration may name for its client secret.
    pub fn secret_env_for(slug: &str) -> String {
        format!(
            "OKIENKO_OIDC_SECRET_{}",
            slug.to_ascii_uppercase().replace('-', "_")
        )
    }

    /// The issuer without a trailing `/`.
    pub fn issuer_base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    fn check(&self, slug: &str) -> Result<(), (String, String)> {
        let err = |f: &str, m: &str| Err((format!("oidc.{f}"), m.to_string()));
        let issuer = self.issuer.as_str();
        let loopback = [
            "http://127.0.0.1:",
            "http://127.0.0.1/",
            "http://localhost:",
            "http://localhost/",
            "http://[::1]:",
        ]
        .iter()
        .any(|p| issuer.starts_with(p));
        if !(issuer.starts_with("https://") || loopback)
            || issuer.len() > 512
            || issuer.contains(['?', '#', ' '])
            || issuer.chars().any(char::is_control)
        {
            return err(
                "issuer",
                "adres https:// dostawcy tożsamości (bez zapytania i fragmentu)",
            );
        }
        if self.client_id.trim().is_empty() || self.client_id.len() > 256 {
            return err("client_id", "od 1 do 256 znaków");
        }
        let expected = OidcConfig::secret_env_for(slug);
        if self.client_secret_env != expected {
            return err(
                "client_secret_env",
                &format!("zmienna środowiskowa z sekretem klienta musi się nazywać {expected}"),
            );
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return err("scopes", "lista musi zawierać „openid”");
        }
        if self.scopes.iter().any(|s| {
            s.is_empty()
                || !s
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        }) {
            return err("scopes", "zakres to niepusty ciąg znaków bez spacji");
        }
        for (f, v) in [
            ("claims.name", &self.claims.name),
            ("claims.email", &self.claims.email),
            ("claims.phone", &self.claims.phone),
        ] {
            if v.trim().is_empty() || v.len() > 128 {
                return err(f, "nazwa atrybutu od 1 do 128 znaków");
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    pub display_name: String,
    pub primary_color: String,
    #[serde(default = "default_secondary")]
    pub secondary_color: String,
    #[serde(default)]
    pub logo_url: Option<String>,
    /// The city's own logo as SVG text, served at `/static/<slug>/logo.svg` (W-2); the import
    /// takes it from `logo.svg` beside `tenant.toml`. None: the neutral mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logo_svg: Option<String>,
    /// Sender name and address for e-mails of this city.
    #[serde(default)]
    pub email_from: Option<String>,
}

fn default_secondary() -> String {
    "#ffffff".into()
}

/// The largest logo a city may store: a mark for the header, not a picture.
pub const MAX_LOGO_BYTES: usize = 64 * 1024;

impl Branding {
    /// W-2: a logo is an SVG image of at most [`MAX_LOGO_BYTES`], with no script, event
    /// handler or reference to anything outside itself. The pages show it through `<img>`, where
    /// no script runs anyway, and it is served under a CSP that allows none; this check keeps a
    /// configuration from storing what would only ever be refused there.
    pub fn check_logo(&self) -> Result<(), Refusal> {
        let Some(svg) = &self.logo_svg else {
            return Ok(());
        };
        let refuse = |m: &str| {
            Err(Refusal::from((
                "branding.logo_svg".to_string(),
                m.to_string(),
            )))
        };
        if svg.len() > MAX_LOGO_BYTES {
            return refuse("logo może mieć najwyżej 64 KiB");
        }
        let lower = svg.to_ascii_lowercase();
        if !lower.contains("<svg") {
            return refuse("logo musi być obrazem SVG (element <svg>)");
        }
        let forbidden = [
            "<script",
            "javascript:",
            "<foreignobject",
            "href=\"http",
            "href='http",
            "@import",
            "url(http",
        ];
        if forbidden.iter().any(|f| lower.contains(f))
            || lower
                .split(|c: char| c.is_whitespace())
                .any(|w| w.starts_with("on") && w.contains('='))
        {
            return refuse("logo nie może zawierać skryptów ani odwołań do innych adresów");
        }
        Ok(())
    }

    /// W-4: the city's colours are the header's and the buttons' background and text, so they
    /// must contrast at least 4.5:1 (WCAG 2.1 AA, 1.4.3). Malformed colours are refused by
    /// `TenantConfig::check` before this. The refusal names the text colour's field.
    pub fn check_contrast(&self) -> Result<(), Refusal> {
        let ratio = contrast(&self.primary_color, &self.secondary_color);
        if ratio >= MIN_CONTRAST {
            return Ok(());
        }
        // Rounded down, so that 4.499 is never shown as the 4,50 it falls short of.
        let shown = format!("{:.2}", (ratio * 100.0).floor() / 100.0).replace('.', ",");
        Err(Refusal {
            field: "branding.secondary_color".into(),
            message: format!(
                "kontrast kolorów branding.primary_color ({}) i branding.secondary_color ({}) wynosi {shown}:1, a musi wynosić co najmniej 4,5:1 (WCAG 2.1, kryterium 1.4.3)",
                self.primary_color, self.secondary_color
            ),
            code: Code::BrandingContrast,
        })
    }
}

/// How far ahead and how soon a visit can be booked, and until when it can be cancelled.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BookingRules {
    /// Last bookable day, counted from today (ZG-6: 60 days; DG-2: 14 days).
    #[serde(default)]
    pub horizon_days: Option<u32>,
    /// Last bookable day as calendar months from today (CI-14: one month).
    #[serde(default)]
    pub horizon_months: Option<u32>,
    pub min_notice: MinNotice,
    pub cancellation_cutoff: CancellationCutoff,
    /// Client fields the booking form must ask for.
    pub required_client_fields: Vec<ClientField>,
    /// Default slot length for the tenant's services.
    pub slot_minutes: u32,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum MinNotice {
    /// At least this many minutes between now and the slot start.
    Minutes { minutes: u32 },
    /// From the next working day on (CI-14): Friday → Monday.
    NextWorkingDay,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CancellationCutoff {
    /// Until the visit starts.
    SlotStart,
    /// At the latest on the day before the visit (GD-13).
    DayBefore,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ClientField {
    Name,
    Email,
    Phone,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ConfirmationMode {
    /// Confirmed as soon as it is stored (ZG, DG, CI).
    Immediate,
    /// Pending until the link in the e-mail is followed (GD-7, GD-9).
    EmailLink,
    /// Pending until the code sent by e-mail (or SMS when chosen) is entered (OP-7, OP-8).
    EmailCode,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ConfirmationRules {
    pub mode: ConfirmationMode,
    /// How long a pending booking waits for confirmation.
    #[serde(default = "default_ttl")]
    pub ttl_minutes: u32,
    /// The client may ask for the code by SMS instead of e-mail (OP-7).
    #[serde(default)]
    pub sms_option: bool,
}

fn default_ttl() -> u32 {
    60
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Terms {
    pub version: String,
    pub title: String,
    pub text: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    pub key: String,
    pub version: String,
    /// A short name of the consent, as messages name it ("Zgoda na przetwarzanie danych
    /// osobowych"); its text's beginning when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    #[serde(default)]
    pub required: bool,
}

impl Consent {
    /// The consent's title, or the beginning of its text (at most about 80 characters).
    pub fn title(&self) -> String {
        if let Some(t) = self
            .title
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            return t.to_string();
        }
        let text = self.text.trim();
        let sentence = text.split_once(". ").map_or(text, |(a, _)| a);
        let sentence = sentence.trim_end_matches('.');
        if sentence.chars().count() <= 80 {
            return sentence.to_string();
        }
        let cut: String = sentence.chars().take(80).collect();
        let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
        format!("{cut}…")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Office {
    pub key: String,
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub phone: Option<String>,
    pub hours: WeeklyHoursConfig,
    #[serde(default)]
    pub departments: Vec<Department>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Department {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub key: String,
    pub office: String,
    #[serde(default)]
    pub department: Option<String>,
    pub name: String,
    /// Queue letter shown with the service (DG-7: "R: Rejestracja działalności gospodarczej").
    #[serde(default)]
    pub letter: Option<String>,
    #[serde(default = "yes")]
    pub bookable: bool,
    /// The desk (stanowisko) that serves booked visits, for the confirmation (GD-8).
    #[serde(default)]
    pub desk: Option<String>,
    /// For non-bookable services: where to go instead (OP-2: room and phone).
    #[serde(default)]
    pub info: Option<String>,
    #[serde(default)]
    pub slot_minutes: Option<u32>,
    #[serde(default)]
    pub capacity_online: u32,
    #[serde(default)]
    pub capacity_staff: u32,
    /// Hours of this service when they differ from its office's.
    #[serde(default)]
    pub hours: Option<WeeklyHoursConfig>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

fn yes() -> bool {
    true
}

/// An extra field a service's form asks for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    pub key: String,
    pub label: String,
    pub kind: FieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub help: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    Text,
    Email,
    Phone,
    Pesel,
    Date,
    RegistrationNumber,
    VinTail,
    ApplicationNumber,
}

/// A configuration error, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: pole `{field}`: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
    /// The code the APIs answer with: VALIDATION_FAILED, or a more precise one
    /// (BRANDING_CONTRAST for colours below 4.5:1).
    pub code: Code,
}

/// What `TenantConfig::check` refuses: the field, the Polish message, and the code every path
/// that stores a configuration answers with (file import, `createTenant`, the admin edits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
    pub code: Code,
}

impl From<(String, String)> for Refusal {
    /// A field that is missing or malformed: VALIDATION_FAILED.
    fn from((field, message): (String, String)) -> Refusal {
        Refusal {
            field,
            message,
            code: Code::ValidationFailed,
        }
    }
}

impl TenantConfig {
    /// Parses and checks a tenant file. `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<TenantConfig, ConfigError> {
        let cfg: TenantConfig = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start)).unwrap_or(1);
            let message = e.message().to_string();
            let field = field_from_message(&message)
                .or_else(|| key_on_line(text, line))
                .unwrap_or_else(|| "?".to_string());
            ConfigError {
                file: file.to_string(),
                line,
                field,
                message,
                code: Code::ValidationFailed,
            }
        })?;
        cfg.check().map_err(|r| ConfigError {
            file: file.to_string(),
            line: locate(text, &r.field),
            field: r.field,
            message: r.message,
            code: r.code,
        })?;
        Ok(cfg)
    }

    /// Semantic checks that the types cannot express: the first refusal, naming its field.
    pub fn check(&self) -> Result<(), Refusal> {
        let err = |f: &str, m: &str| Err(Refusal::from((f.to_string(), m.to_string())));
        if !is_slug(&self.slug) {
            return err("slug", "dozwolone są małe litery, cyfry i myślniki");
        }
        if self.name.trim().is_empty() {
            return err("name", "nazwa nie może być pusta");
        }
        if self.booking.horizon_days.is_none() && self.booking.horizon_months.is_none() {
            return err(
                "booking.horizon_days",
                "podaj horizon_days albo horizon_months",
            );
        }
        if self.booking.slot_minutes == 0 || self.booking.slot_minutes > 480 {
            return err(
                "booking.slot_minutes",
                "długość slotu musi mieć 1–480 minut",
            );
        }
        if self.confirmation.mode != ConfirmationMode::Immediate
            && !self
                .booking
                .required_client_fields
                .contains(&ClientField::Email)
        {
            return err(
                "booking.required_client_fields",
                "potwierdzenie e-mailem wymaga adresu e-mail",
            );
        }
        if self.confirmation.ttl_minutes == 0 {
            return err(
                "confirmation.ttl_minutes",
                "czas na potwierdzenie musi być dodatni",
            );
        }
        if !is_color(&self.branding.primary_color) {
            return err("branding.primary_color", "kolor w formacie #rrggbb");
        }
        if !is_color(&self.branding.secondary_color) {
            return err("branding.secondary_color", "kolor w formacie #rrggbb");
        }
        self.branding.check_contrast()?;
        self.branding.check_logo()?;
        let mut consent_keys = BTreeSet::new();
        for (i, c) in self.consents.iter().enumerate() {
            if !consent_keys.insert(c.key.as_str()) {
                return err(&format!("consents[{i}].key"), "powtórzony klucz zgody");
            }
        }
        let mut office_keys = BTreeSet::new();
        for (i, o) in self.offices.iter().enumerate() {
            if !is_slug(&o.key) || !office_keys.insert(o.key.as_str()) {
                return err(
                    &format!("offices[{i}].key"),
                    "klucz pusty, niepoprawny lub powtórzony",
                );
            }
            if let Err(m) = WeeklyHours::from_config(&o.hours) {
                return err(&format!("offices[{i}].hours"), &m);
            }
        }
        if let Some(rc) = &self.resident_card {
            if rc.jwks_url.is_none() && rc.jwks.is_none() {
                return err("resident_card.jwks_url", "podaj jwks_url albo jwks");
            }
        }
        if let Some(o) = &self.oidc {
            o.check(&self.slug).map_err(Refusal::from)?;
        }
        if let Some(v) = self.policy.get("cancel_release_delay_minutes") {
            if v.as_u64().is_none_or(|m| m > 24 * 60) {
                return err(
                    "policy.cancel_release_delay_minutes",
                    "liczba minut od 0 do 1440",
                );
            }
        }
        if self.retention.days_after_visit > MAX_RETENTION_DAYS {
            return err("retention.days_after_visit", "liczba dni od 0 do 3650");
        }
        if self
            .retention
            .phone_days_after_visit
            .is_some_and(|d| d > MAX_RETENTION_DAYS)
        {
            return err(
                "retention.phone_days_after_visit",
                "liczba dni od 0 do 3650",
            );
        }
        if self.offices.is_empty() {
            return err("offices", "potrzebny jest co najmniej jeden urząd");
        }
        let mut service_keys = BTreeSet::new();
        for (i, s) in self.services.iter().enumerate() {
            let at = |f: &str| format!("services[{i}].{f}");
            if !is_slug(&s.key) || !service_keys.insert(s.key.as_str()) {
                return err(&at("key"), "klucz pusty, niepoprawny lub powtórzony");
            }
            let Some(office) = self.offices.iter().find(|o| o.key == s.office) else {
                return err(&at("office"), "nieznany urząd");
            };
            if let Some(d) = &s.department {
                if !office.departments.iter().any(|x| &x.key == d) {
                    return err(&at("department"), "nieznany wydział w tym urzędzie");
                }
            }
            if let Some(h) = &s.hours {
                if let Err(m) = WeeklyHours::from_config(h) {
                    return err(&at("hours"), &m);
                }
            }
            if let Some(m) = s.slot_minutes {
                if m == 0 || m > 480 {
                    return err(&at("slot_minutes"), "długość slotu musi mieć 1–480 minut");
                }
            }
            if s.bookable && s.capacity_online == 0 && s.capacity_staff == 0 {
                return err(
                    &at("capacity_online"),
                    "usługa rezerwowalna potrzebuje pojemności",
                );
            }
            if !s.bookable && s.info.is_none() {
                return err(
                    &at("info"),
                    "usługa informacyjna potrzebuje opisu (pokój, telefon)",
                );
            }
            let mut fk = BTreeSet::new();
            for (j, f) in s.fields.iter().enumerate() {
                if !is_field_key(&f.key) || !fk.insert(f.key.as_str()) {
                    return err(
                        &at(&format!("fields[{j}].key")),
                        "klucz pusty, niepoprawny lub powtórzony",
                    );
                }
            }
        }
        queue_config::check(
            &self.queue,
            &self.queues,
            &self.desks,
            |key| self.office(key).is_some(),
            |key| self.service(key).map(|s| s.office.as_str()),
        )
        .map_err(Refusal::from)
    }

    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.key == key)
    }

    pub fn office(&self, key: &str) -> Option<&Office> {
        self.offices.iter().find(|o| o.key == key)
    }

    /// The hours a service is bookable in: its own, else its office's.
    pub fn hours_of(&self, service: &Service) -> WeeklyHours {
        let cfg = service
            .hours
            .as_ref()
            .or_else(|| self.office(&service.office).map(|o| &o.hours));
        cfg.and_then(|h| WeeklyHours::from_config(h).ok())
            .unwrap_or_default()
    }

    /// Minutes before a cancelled seat is offered again (0: at once).
    pub fn cancel_release_delay_minutes(&self) -> u32 {
        self.policy
            .get("cancel_release_delay_minutes")
            .and_then(serde_json::Value::as_u64)
            .map_or(0, |m| m.min(24 * 60) as u32)
    }

    pub fn slot_minutes_of(&self, service: &Service) -> u32 {
        service.slot_minutes.unwrap_or(self.booking.slot_minutes)
    }
}

fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn is_field_key(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// The least contrast of text on its background (WCAG 2.1 AA, 1.4.3).
pub const MIN_CONTRAST: f64 = 4.5;

/// The WCAG contrast ratio of two `#rrggbb` colours (1 when either is malformed).
pub fn contrast(a: &str, b: &str) -> f64 {
    fn luminance(c: &str) -> Option<f64> {
        if !is_color(c) {
            return None;
        }
        let ch = |i: usize| -> Option<f64> {
            let v = f64::from(u8::from_str_radix(&c[i..i + 2], 16).ok()?) / 255.0;
            Some(if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            })
        };
        Some(0.2126 * ch(1)? + 0.7152 * ch(3)? + 0.0722 * ch(5)?)
    }
    match (luminance(a), luminance(b)) {
        (Some(x), Some(y)) => (x.max(y) + 0.05) / (x.min(y) + 0.05),
        _ => 1.0,
    }
}

fn is_color(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s[1..].bytes().all(|b| b.is_ascii_hexdigit())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

fn field_from_message(msg: &str) -> Option<String> {
    // serde messages name fields in backticks: "missing field `name`".
    msg.split('`').nth(1).map(str::to_string)
}

/// The key assigned on a line (`key = value`), for errors that point at a value.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?;
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_start_matches('{').trim();
    let key = key.rsplit([',', '{']).next().unwrap_or(key).trim();
    (!key.is_empty()).then(|| key.to_string())
}

/// Best-effort line of a field path such as `services[3].office` in the file.
fn locate(text: &str, path: &str) -> usize {
    let mut parts = path.split('.');
    let first = parts.next().unwrap_or("");
    let (table, index) = match first.split_once('[') {
        Some((t, rest)) => (t, rest.trim_end_matches(']').parse::<usize>().ok()),
        None => (first, None),
    };
    let leaf = path
        .rsplit('.')
        .next()
        .unwrap_or(path)
        .split('[')
        .next()
        .unwrap_or("");
    let lines: Vec<&str> = text.lines().collect();
    let mut start = 0;
    if let Some(i) = index {
        let header = format!("[[{table}]]");
        let mut seen = 0;
        for (n, l) in lines.iter().enumerate() {
            if l.trim().starts_with(&header) {
                if seen == i {
                    start = n;
                    break;
                }
                seen += 1;
            }
        }
    }
    for (n, l) in lines.iter().enumerate().skip(start) {
        let t = l.trim_start();
        if t.starts_with(leaf) && t[leaf.len()..].trim_start().starts_with('=') {
            return n + 1;
        }
    }
    start + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r##"
slug = "test"
name = "Urząd Testowy"
closures = ["2026-12-31"]

[branding]
display_name = "Urząd Testowy"
primary_color = "#123456"

[booking]
horizon_days = 30
min_notice = { kind = "minutes", minutes = 60 }
cancellation_cutoff = "slot_start"
required_client_fields = ["name", "email"]
slot_minutes = 15

[confirmation]
mode = "immediate"

[terms]
version = "1"
title = "Regulamin"
text = "Treść"

[[offices]]
key = "ratusz"
name = "Ratusz"
address = "Rynek 1"
hours = { mon = ["08:00-16:00"] }

[[services]]
key = "dowod"
office = "ratusz"
name = "Dowód osobisty"
capacity_online = 2
capacity_staff = 1
"##;

    #[test]
    fn minimal_config_parses() {
        let c = TenantConfig::parse("t.toml", MINIMAL).expect("parses");
        assert_eq!(c.services[0].key, "dowod");
        assert_eq!(c.slot_minutes_of(&c.services[0]), 15);
    }

    #[test]
    fn colours_below_the_contrast_of_wcag_aa_are_refused() {
        assert!((contrast("#000000", "#ffffff") - 21.0).abs() < 0.01);
        assert!((contrast("#777777", "#ffffff") - 4.48).abs() < 0.01);
        let pale = MINIMAL.replace("primary_color = \"#123456\"", "primary_color = \"#7a9fcf\"");
        let e = TenantConfig::parse("t.toml", &pale).expect_err("pale on white is refused");
        assert_eq!(e.field, "branding.secondary_color");
        assert_eq!(e.code, Code::BrandingContrast);
        assert!(e.message.contains("wynosi 2,73:1"), "{}", e.message);
        assert!(e.message.contains("4,5:1"), "{}", e.message);
        assert!(
            e.message.contains("branding.primary_color (#7a9fcf)"),
            "{}",
            e.message
        );
        // Just below the limit is refused, not rounded up to it.
        let grey = MINIMAL.replace("primary_color = \"#123456\"", "primary_color = \"#777777\"");
        let e = TenantConfig::parse("t.toml", &grey).expect_err("4.48:1 is refused");
        assert!(e.message.contains("wynosi 4,47:1"), "{}", e.message);
        // A malformed colour is a malformed field, not a contrast.
        let bad = MINIMAL.replace("primary_color = \"#123456\"", "primary_color = \"blue\"");
        let e = TenantConfig::parse("t.toml", &bad).expect_err("not #rrggbb");
        assert_eq!(
            (e.field.as_str(), e.code),
            ("branding.primary_color", Code::ValidationFailed)
        );
        let dark = MINIMAL.replace("primary_color = \"#123456\"", "primary_color = \"#1d4f91\"");
        TenantConfig::parse("t.toml", &dark).expect("dark blue on white passes");
    }

    #[test]
    fn unknown_office_is_located() {
        let bad = MINIMAL.replace("office = \"ratusz\"", "office = \"nie-ma\"");
        let e = TenantConfig::parse("t.toml", &bad).expect_err("must fail");
        assert_eq!(e.field, "services[0].office");
        assert_eq!(
            e.line,
            bad.lines()
                .position(|l| l.contains("nie-ma"))
                .map(|n| n + 1)
                .unwrap_or(0)
        );
    }

    #[test]
    fn type_error_names_line_and_field() {
        let bad = MINIMAL.replace("capacity_online = 2", "capacity_online = \"dwa\"");
        let e = TenantConfig::parse("t.toml", &bad).expect_err("must fail");
        let want = bad
            .lines()
            .position(|l| l.contains("\"dwa\""))
            .map(|n| n + 1)
            .unwrap_or(0);
        assert_eq!(e.line, want);
        assert_eq!(e.field, "capacity_online");
        assert!(e.to_string().starts_with("t.toml:"), "{e}");
    }

    #[test]
    fn missing_field_is_named() {
        let bad = MINIMAL.replace("name = \"Dowód osobisty\"\n", "");
        let e = TenantConfig::parse("t.toml", &bad).expect_err("must fail");
        assert_eq!(e.field, "name");
    }

    #[test]
    fn bad_hours_rejected() {
        let bad = MINIMAL.replace("08:00-16:00", "16:00-08:00");
        let e = TenantConfig::parse("t.toml", &bad).expect_err("must fail");
        assert_eq!(e.field, "offices[0].hours");
    }
}
