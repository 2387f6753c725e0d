//! Who is asking: staff logins and sessions, device tokens, partners' API keys, and what each
//! role may do (issue 5).
//!
//! Passwords are hashed with argon2id. A login gives an opaque random session token (only its
//! SHA-256 is stored), valid for [`SESSION_HOURS`] and revocable. After [`MAX_FAILED_LOGINS`]
//! wrong passwords in a row the account is locked for [`LOCK_MINUTES`]. Every token is bound to
//! its scope — a tenant, or the platform for operators — and is looked up only there, so a
//! token of tenant A used on tenant B is simply unknown (UNAUTHENTICATED). Time comes from the
//! injected clock.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use okienko_domain::DomainError;
use okienko_store::{self as store, NewAudit, Scope, SessionRow, TenantId, UserRow};
use rand::Rng;

use crate::error::{ApiError, ApiResult};
use crate::tokens;
use crate::App;

/// How long a session lasts.
pub const SESSION_HOURS: i64 = 8;
/// Wrong passwords in a row that lock an account.
pub const MAX_FAILED_LOGINS: i64 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// The shortest password an administrator may set.
pub const MIN_PASSWORD_LEN: usize = 12;
const MAX_PASSWORD_LEN: usize = 256;

/// Token prefixes tell the kinds apart without trying every table.
const SESSION_PREFIX: &str = "oks_";
const DEVICE_PREFIX: &str = "okd_";
const API_KEY_PREFIX: &str = "okk_";

/// A tenant's staff roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Everything in its tenant.
    Admin,
    /// Phone bookings for clients; reads bookings. Not the audit log, not configuration.
    CallCentre,
    /// Desk work in the building. Not configuration.
    Clerk,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::CallCentre => "call_centre",
            Role::Clerk => "clerk",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "call_centre" => Some(Role::CallCentre),
            "clerk" => Some(Role::Clerk),
            _ => None,
        }
    }

    /// Polish name, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "administrator",
            Role::CallCentre => "konsultant infolinii",
            Role::Clerk => "urzędnik",
        }
    }

    /// What the role may do. Later phases check the same permissions (phone bookings, desks).
    pub fn allows(self, p: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::CallCentre => matches!(
                p,
                ReadConfig | ReadBookings | BookForClients | ReadComplaints | FileComplaints
            ),
            Role::Clerk => matches!(p, ReadConfig | ReadBookings | DeskWork),
        }
    }
}

/// Something a staff member may be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See the tenant's configuration (offices, services, rules).
    ReadConfig,
    EditConfig,
    ManageUsers,
    ManageDevices,
    ManageApiKeys,
    ReadAudit,
    /// Activate policy versions and read their history.
    ManagePolicy,
    ReadBookings,
    /// Book, move and cancel visits for clients (phone bookings).
    BookForClients,
    /// Work at a desk: check-in, calling, serving, recording the visit's outcome.
    DeskWork,
    /// Reject a booking with a reason (ZG-13).
    RejectBookings,
    /// Export, correct and erase a client's personal data (P-5).
    ManagePersonalData,
    /// Read complaints (CI-23).
    ReadComplaints,
    /// Register a complaint received by letter, e-mail or phone (CI-23).
    FileComplaints,
    /// Answer and close complaints (CI-23).
    AnswerComplaints,
}

impl Permission {
    /// Polish description, for FORBIDDEN messages.
    fn label(self) -> &'static str {
        use Permission::*;
        match self {
            ReadConfig => "podgląd konfiguracji urzędu",
            EditConfig => "zmiana konfiguracji urzędu",
            ManageUsers => "zarządzanie użytkownikami",
            ManageDevices => "zarządzanie urządzeniami",
            ManageApiKeys => "zarządzanie kluczami API",
            ReadAudit => "podgląd dziennika zmian",
            ManagePolicy => "zarządzanie skryptem zasad",
            ReadBookings => "podgląd rezerwacji",
            BookForClients => "rezerwacje w imieniu klientów",
            DeskWork => "obsługa stanowiska",
            RejectBookings => "odrzucanie rezerwacji",
            ManagePersonalData => "udostępnianie, poprawianie i usuwanie danych osobowych",
            ReadComplaints => "podgląd reklamacji",
            FileComplaints => "rejestrowanie reklamacji",
            AnswerComplaints => "odpowiadanie na reklamacje",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Kiosk,
    Display,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceKind::Kiosk => "kiosk",
            DeviceKind::Display => "display",
        }
    }

    pub fn parse(s: &str) -> Option<DeviceKind> {
        match s {
            "kiosk" => Some(DeviceKind::Kiosk),
            "display" => Some(DeviceKind::Display),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: i64,
    pub login: String,
    pub display_name: String,
}

impl From<&UserRow> for UserRef {
    fn from(u: &UserRow) -> Self {
        UserRef {
            id: u.id,
            login: u.login.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A platform operator (no tenant).
    Operator { user: UserRef },
    /// A tenant's staff member.
    Staff {
        tenant: TenantId,
        user: UserRef,
        role: Role,
    },
    /// A kiosk or call display of one office; a door display shows one desk's calls.
    Device {
        tenant: TenantId,
        office: i64,
        kind: DeviceKind,
        id: i64,
        desk: Option<i64>,
    },
    /// A partner's API key.
    ApiKey {
        tenant: TenantId,
        scopes: Vec<String>,
        id: i64,
    },
}

impl Principal {
    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        match self {
            Principal::Operator { user } => format!("operator:{} {}", user.id, user.login),
            Principal::Staff { user, role, .. } => {
                format!("user:{} {} ({})", user.id, user.login, role.as_str())
            }
            Principal::Device { id, kind, .. } => format!("device:{id} ({})", kind.as_str()),
            Principal::ApiKey { id, .. } => format!("api_key:{id}"),
        }
    }

    pub fn tenant(&self) -> Option<TenantId> {
        match self {
            Principal::Operator { .. } => None,
            Principal::Staff { tenant, .. }
            | Principal::Device { tenant, .. }
            | Principal::ApiKey { tenant, .. } => Some(*tenant),
        }
    }

    /// A staff member of `tenant` whose role allows `p`; FORBIDDEN otherwise.
    pub fn staff_allowed(&self, tenant: TenantId, p: Permission) -> Result<StaffRef, DomainError> {
        match self {
            Principal::Staff {
                tenant: t,
                user,
                role,
            } if *t == tenant => {
                if role.allows(p) {
                    Ok(StaffRef {
                        tenant,
                        user: user.clone(),
                        role: *role,
                    })
                } else {
                    Err(DomainError::Forbidden(format!(
                        "rola „{}” nie pozwala na: {}.",
                        role.label(),
                        p.label()
                    )))
                }
            }
            // A token is looked up only in its own tenant, so another tenant's never gets here.
            Principal::Staff { .. } | Principal::Operator { .. } => {
                Err(DomainError::Unauthenticated)
            }
            Principal::Device { .. } => Err(DomainError::Forbidden(
                "urządzenia (kioski i wyświetlacze) nie mają dostępu do panelu administracyjnego."
                    .into(),
            )),
            Principal::ApiKey { .. } => Err(DomainError::Forbidden(
                "klucz API nie daje dostępu do panelu administracyjnego.".into(),
            )),
        }
    }
}

/// A staff member allowed what was asked.
#[derive(Debug, Clone)]
pub struct StaffRef {
    pub tenant: TenantId,
    pub user: UserRef,
    pub role: Role,
}

/// What a request carried: the caller, if its token is valid, and that token's hash (logout).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    pub principal: Option<Principal>,
    pub token_hash: Option<String>,
    /// The token was a session that ran out (`SESSION_EXPIRED` rather than `UNAUTHENTICATED`).
    pub expired: bool,
}

impl Auth {
    pub fn principal(&self) -> Result<&Principal, DomainError> {
        self.principal.as_ref().ok_or(if self.expired {
            DomainError::SessionExpired
        } else {
            DomainError::Unauthenticated
        })
    }
}

/// Resolves the bearer token of a request in `scope` (the web reads it from the
/// `Authorization` header). An unknown, expired or revoked token gives no principal (resolvers
/// that need one answer UNAUTHENTICATED).
pub async fn authenticate(app: &App, scope: Scope, bearer: Option<&str>) -> ApiResult<Auth> {
    let Some(token) = bearer else {
        return Ok(Auth::default());
    };
    let hash = tokens::hash(token);
    let now = app.clock.now().timestamp();
    let mut expired = false;
    let principal = if token.starts_with(SESSION_PREFIX) {
        let found = store::session_user(&app.db, scope, &hash, now)
            .await?
            .and_then(|(_, u)| principal_of_user(&u));
        if found.is_none() {
            expired = store::session_expired(&app.db, scope, &hash, now).await?;
        }
        found
    } else if let (true, Scope::Tenant(tenant)) = (token.starts_with(DEVICE_PREFIX), scope) {
        store::device_by_token(&app.db, tenant, &hash)
            .await?
            .and_then(|d| {
                Some(Principal::Device {
                    tenant,
                    office: d.office_id,
                    kind: DeviceKind::parse(&d.kind)?,
                    id: d.id,
                    desk: d.desk,
                })
            })
    } else if let (true, Scope::Tenant(tenant)) = (token.starts_with(API_KEY_PREFIX), scope) {
        store::api_key_by_hash(&app.db, tenant, &hash)
            .await?
            .map(|k| Principal::ApiKey {
                tenant,
                scopes: serde_json::from_str(&k.scopes).unwrap_or_default(),
                id: k.id,
            })
    } else {
        None
    };
    Ok(Auth {
        token_hash: principal.as_ref().map(|_| hash),
        principal,
        expired,
    })
}

fn principal_of_user(u: &UserRow) -> Option<Principal> {
    match (u.tenant_id, u.role.as_str()) {
        (None, "operator") => Some(Principal::Operator { user: u.into() }),
        (Some(t), role) => Some(Principal::Staff {
            tenant: TenantId(t),
            user: u.into(),
            role: Role::parse(role)?,
        }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Passwords and secrets

fn argon2() -> Argon2<'static> {
    Argon2::default()
}

fn hash_now(password: &str) -> Result<String, DomainError> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|_| DomainError::Internal)?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            DomainError::Internal
        })
}

fn verify_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false)
}

/// A hash that no password matches, verified when the login is unknown so that an unknown
/// login takes as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_now(&tokens::random_token()).unwrap_or_default())
}

/// Hashes a password with argon2id, off the async threads.
pub async fn hash_password(password: &str) -> Result<String, DomainError> {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || hash_now(&p))
        .await
        .map_err(|_| DomainError::Internal)?
}

async fn verify_password(hash: Option<String>, password: &str) -> bool {
    let p = password.to_string();
    tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_now(&h, &p),
        None => {
            let _ = verify_now(decoy_hash(), &p);
            false
        }
    })
    .await
    .unwrap_or(false)
}

/// A password to hand out once (a new admin's first password, a new operator's).
pub fn generate_password() -> String {
    // No look-alikes (0/O, 1/l/I).
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::thread_rng();
    let groups: Vec<String> = (0..4)
        .map(|_| {
            (0..5)
                .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
                .collect()
        })
        .collect();
    groups.join("-")
}

pub fn new_device_token() -> String {
    format!("{DEVICE_PREFIX}{}", tokens::random_token())
}

pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", tokens::random_token())
}

/// A login is an e-mail address, compared in lower case.
pub fn normalize_login(login: &str) -> Result<String, DomainError> {
    okienko_domain::validate::email("login", login).map(|e| e.to_lowercase())
}

/// A password an administrator sets for someone.
pub fn check_password(field: &str, password: &str) -> Result<(), DomainError> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        return Err(DomainError::invalid(
            field,
            format!("hasło musi mieć co najmniej {MIN_PASSWORD_LEN} znaków"),
        ));
    }
    if n > MAX_PASSWORD_LEN {
        return Err(DomainError::invalid(field, "hasło jest za długie"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Login and logout

pub struct LoggedIn {
    pub token: String,
    pub session: SessionRow,
    pub user: UserRow,
}

/// Checks a login and password in `scope` and starts a session.
///
/// A wrong login and a wrong password give the same INVALID_CREDENTIALS. The
/// [`MAX_FAILED_LOGINS`]-th wrong password in a row locks the account for [`LOCK_MINUTES`];
/// while locked even the right password gets ACCOUNT_LOCKED, saying until when.
pub async fn login(app: &App, scope: Scope, login: &str, password: &str) -> ApiResult<LoggedIn> {
    let now = app.clock.now();
    let login = normalize_login(login).map_err(|_| DomainError::InvalidCredentials);
    let user = match &login {
        Ok(l) => store::user_by_login(&app.db, scope, l).await?,
        Err(_) => None,
    };
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|&t| t > now.timestamp())
    {
        return Err(DomainError::AccountLocked { until: ts(until) }.into());
    }
    let ok = password.len() <= MAX_PASSWORD_LEN
        && verify_password(user.as_ref().map(|u| u.password_hash.clone()), password).await;
    let Some(user) = user else {
        return Err(DomainError::InvalidCredentials.into());
    };
    if !ok {
        let lock_until = (now + Duration::minutes(LOCK_MINUTES)).timestamp();
        let locked = store::record_failed_login(
            &app.db,
            scope,
            user.id,
            MAX_FAILED_LOGINS,
            lock_until,
            now.timestamp(),
        )
        .await?;
        if let Some(until) = locked {
            let a = NewAudit::new(
                &format!("user:{} {}", user.id, user.login),
                "auth.locked",
                &format!("user:{}", user.id),
            );
            store::record_audit(&app.db, scope, &a, now.timestamp()).await?;
            return Err(DomainError::AccountLocked { until: ts(until) }.into());
        }
        return Err(DomainError::InvalidCredentials.into());
    }
    if user.status != "active" {
        return Err(DomainError::AccountSuspended.into());
    }
    let token = format!("{SESSION_PREFIX}{}", tokens::random_token());
    let expires = now + Duration::hours(SESSION_HOURS);
    let session = store::start_session(
        &app.db,
        scope,
        user.id,
        &tokens::hash(&token),
        now.timestamp(),
        expires.timestamp(),
    )
    .await?;
    let a = NewAudit::new(
        &format!("user:{} {}", user.id, user.login),
        "auth.login",
        &format!("user:{}", user.id),
    );
    store::record_audit(&app.db, scope, &a, now.timestamp()).await?;
    Ok(LoggedIn {
        token,
        session,
        user,
    })
}

/// Ends the session the request came with.
pub async fn logout(app: &App, scope: Scope, auth: &Auth) -> ApiResult<bool> {
    let (Some(Principal::Staff { .. } | Principal::Operator { .. }), Some(hash)) =
        (&auth.principal, &auth.token_hash)
    else {
        return Err(ApiError::Domain(DomainError::Unauthenticated));
    };
    Ok(store::revoke_session(&app.db, scope, hash, app.clock.now().timestamp()).await?)
}

pub fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// Creates a platform operator with a generated password (the CLI's `users create-operator`).
/// Returns the password, to be shown once. `ALREADY_EXISTS` when the login is taken.
pub async fn create_operator(
    db: &okienko_store::Db,
    now: i64,
    login: &str,
    display_name: &str,
) -> Result<(store::UserRow, String), DomainError> {
    let login = normalize_login(login)?;
    let display_name = okienko_domain::validate::name("displayName", display_name)?;
    let password = generate_password();
    let hash = hash_password(&password).await?;
    let audit = NewAudit::new("cli", "operator.create", "").after(
        serde_json::json!({ "login": login, "display_name": display_name, "role": "operator" })
            .to_string(),
    );
    let u = store::create_user(
        db,
        Scope::Platform,
        &store::NewUser {
            login: login.clone(),
            display_name,
            password_hash: hash,
            role: "operator",
        },
        Some(&audit),
        now,
    )
    .await
    .map_err(|e| match e {
        store::StoreError::Unique(_) => {
            DomainError::AlreadyExists(format!("Operator o loginie „{login}” już istnieje."))
        }
        e => ApiError::from(e).domain(),
    })?;
    Ok((u, password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_now("poprawne hasło 123").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_now(&h, "poprawne hasło 123"));
        assert!(!verify_now(&h, "złe hasło"));
        assert!(!verify_now("not a hash", "x"));
        assert!(!verify_now(decoy_hash(), ""));
    }

    #[test]
    fn roles_allow_what_they_should() {
        assert!(Role::Admin.allows(Permission::ReadAudit));
        assert!(!Role::CallCentre.allows(Permission::ReadAudit));
        assert!(!Role::CallCentre.allows(Permission::EditConfig));
        assert!(Role::CallCentre.allows(Permission::ReadBookings));
        assert!(!Role::Clerk.allows(Permission::EditConfig));
        assert!(Role::Clerk.allows(Permission::DeskWork));
        // Phase B: only administrators reject, erase and answer complaints.
        for p in [
            Permission::RejectBookings,
            Permission::ManagePersonalData,
            Permission::AnswerComplaints,
        ] {
            assert!(Role::Admin.allows(p));
            assert!(!Role::CallCentre.allows(p));
            assert!(!Role::Clerk.allows(p));
        }
        assert!(Role::CallCentre.allows(Permission::BookForClients));
        assert!(Role::CallCentre.allows(Permission::FileComplaints));
        assert!(!Role::CallCentre.allows(Permission::DeskWork));
        assert!(!Role::Clerk.allows(Permission::BookForClients));
        assert!(!Role::Clerk.allows(Permission::ReadComplaints));
    }

    #[test]
    fn generated_passwords_are_long_enough() {
        let p = generate_password();
        assert!(p.chars().count() >= MIN_PASSWORD_LEN);
        assert_ne!(p, generate_password());
    }
}
