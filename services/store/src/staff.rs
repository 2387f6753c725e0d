//! Staff identities and the credentials of people, devices and partners (issue 5).
//!
//! Users of a tenant (admins, call-centre operators, clerks) and the platform's operators
//! (no tenant) share one table; every query names its [`Scope`], so a tenant's rows are never
//! read or changed through another's. Sessions, device tokens and API keys are stored only as
//! SHA-256 hashes and found within their scope: a token of tenant A is unknown on tenant B.

use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

use crate::audit::{insert_audit, NewAudit};
use crate::{on_db, on_read, unique, Db, Result, Scope, StoreError, TenantId};

const USER_COLUMNS: &str = "id, tenant_id, login, display_name, password_hash, role, status, \
    failed_logins, locked_until, created_at, updated_at";

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct UserRow {
    pub id: i64,
    pub tenant_id: Option<i64>,
    pub login: String,
    pub display_name: String,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// `operator`, `admin`, `call_centre` or `clerk`.
    pub role: String,
    /// `active` or `suspended`.
    pub status: String,
    pub failed_logins: i64,
    pub locked_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub login: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: &'static str,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub tenant_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct DeviceRow {
    pub id: i64,
    pub tenant_id: i64,
    pub office_id: i64,
    /// `kiosk` or `display`.
    pub kind: String,
    pub name: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    /// A door display's desk number; none for hall displays and kiosks.
    pub desk: Option<i64>,
}

pub(crate) const DEVICE_COLUMNS: &str =
    "id, tenant_id, office_id, kind, name, created_at, revoked_at, desk";

/// Inserts a device of an active office of the tenant (`$1` tenant, `$2` office, `$3` kind,
/// `$4` name, `$5` token hash, `$6` now, `$7` desk); no row when the office is not the tenant's.
pub(crate) fn insert_device_sql() -> String {
    format!(
        "INSERT INTO devices (tenant_id, office_id, kind, name, token_hash, created_at, desk) \
         SELECT $1, o.id, $3, $4, $5, $6, $7 FROM offices o WHERE o.tenant_id = $1 AND o.id = $2 AND o.active = 1 \
         RETURNING {DEVICE_COLUMNS}"
    )
}

#[derive(Debug, Clone, FromRow, PartialEq, Eq)]
pub struct ApiKeyRow {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    /// A JSON array of scope names.
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

const API_KEY_COLUMNS: &str = "id, tenant_id, name, scopes, created_at, revoked_at";

// ---------------------------------------------------------------------------------------------
// Users

/// Creates a user in `scope` (an operator on the platform, staff in a tenant), with its audit
/// row. `Unique("login")` when the login is taken in that scope.
pub async fn create_user(
    db: &Db,
    scope: Scope,
    u: &NewUser,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<UserRow> {
    let sql = format!(
        "INSERT INTO users (tenant_id, login, display_name, password_hash, role, status, failed_logins, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, 'active', 0, $6, $6) RETURNING {USER_COLUMNS}"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(scope.tenant_id())
            .bind(&u.login)
            .bind(&u.display_name)
            .bind(&u.password_hash)
            .bind(u.role)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unique(e, &["login"]))?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("user:{}", row.id), ..a.clone() };
            insert_audit(&mut tx, scope, &a, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

pub async fn user_by_login(db: &Db, scope: Scope, login: &str) -> Result<Option<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {} AND login = $2",
        scope.cond("tenant_id")
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, UserRow>(&sql)
        .bind(scope.tenant_id())
        .bind(login)
        .fetch_optional(pool)
        .await?))
}

pub async fn user_by_id(db: &Db, scope: Scope, id: i64) -> Result<Option<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {} AND id = $2",
        scope.cond("tenant_id")
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, UserRow>(&sql)
        .bind(scope.tenant_id())
        .bind(id)
        .fetch_optional(pool)
        .await?))
}

pub async fn list_users(db: &Db, scope: Scope) -> Result<Vec<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users WHERE {} ORDER BY id",
        scope.cond("tenant_id")
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, UserRow>(&sql)
        .bind(scope.tenant_id())
        .fetch_all(pool)
        .await?))
}

/// Sets a user's status (`active` or `suspended`); suspending also ends the user's sessions.
/// `NotFound` when the user is not in `scope`.
pub async fn set_user_status(
    db: &Db,
    scope: Scope,
    id: i64,
    status: &'static str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<UserRow> {
    let sql = format!(
        "UPDATE users SET status = $3, updated_at = $4 WHERE {} AND id = $2 RETURNING {USER_COLUMNS}",
        scope.cond("tenant_id")
    );
    let end_sessions = format!(
        "UPDATE sessions SET revoked_at = $3 WHERE {} AND user_id = $2 AND revoked_at IS NULL",
        scope.cond("tenant_id")
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, UserRow>(&sql)
            .bind(scope.tenant_id())
            .bind(id)
            .bind(status)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if status != "active" {
            sqlx::query(&end_sessions)
                .bind(scope.tenant_id())
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(a) = audit {
            insert_audit(&mut tx, scope, a, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// Counts a wrong password. The `max`-th one in a row locks the account until `lock_until`
/// and starts the count again. Returns the lock's end when this attempt locked the account.
pub async fn record_failed_login(
    db: &Db,
    scope: Scope,
    user_id: i64,
    max: i64,
    lock_until: i64,
    now: i64,
) -> Result<Option<i64>> {
    let sql = format!(
        "UPDATE users SET \
         failed_logins = CASE WHEN failed_logins + 1 >= $3 THEN 0 ELSE failed_logins + 1 END, \
         locked_until = CASE WHEN failed_logins + 1 >= $3 THEN $4 ELSE locked_until END, \
         updated_at = $5 \
         WHERE {} AND id = $2 RETURNING locked_until",
        scope.cond("tenant_id")
    );
    let locked: Option<Option<i64>> = on_db!(db, pool => sqlx::query_scalar(&sql)
        .bind(scope.tenant_id())
        .bind(user_id)
        .bind(max)
        .bind(lock_until)
        .bind(now)
        .fetch_optional(pool)
        .await?);
    let locked = locked.ok_or(StoreError::NotFound)?;
    Ok(locked.filter(|&t| t == lock_until))
}

/// A successful login: the failure count is cleared and a session stored, in one transaction.
pub async fn start_session(
    db: &Db,
    scope: Scope,
    user_id: i64,
    token_hash: &str,
    now: i64,
    expires_at: i64,
) -> Result<SessionRow> {
    let clear = format!(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = $3 WHERE {} AND id = $2",
        scope.cond("tenant_id")
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let n = sqlx::query(&clear)
            .bind(scope.tenant_id())
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        let row = sqlx::query_as::<_, SessionRow>(
            "INSERT INTO sessions (user_id, tenant_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id, user_id, tenant_id, created_at, expires_at",
        )
        .bind(user_id)
        .bind(scope.tenant_id())
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| unique(e, &["token_hash"]))?;
        tx.commit().await?;
        Ok(row)
    })
}

/// The live session with this token hash in `scope` and its user, if the session is neither
/// expired nor revoked and the user is active.
pub async fn session_user(
    db: &Db,
    scope: Scope,
    token_hash: &str,
    now: i64,
) -> Result<Option<(SessionRow, UserRow)>> {
    let sql = format!(
        "SELECT id, user_id, tenant_id, created_at, expires_at FROM sessions \
         WHERE {} AND token_hash = $2 AND revoked_at IS NULL AND expires_at > $3",
        scope.cond("tenant_id")
    );
    let session: Option<SessionRow> = on_read!(db, pool => sqlx::query_as::<_, SessionRow>(&sql)
        .bind(scope.tenant_id())
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?);
    let Some(session) = session else {
        return Ok(None);
    };
    let user = user_by_id(db, scope, session.user_id).await?;
    Ok(user.filter(|u| u.status == "active").map(|u| (session, u)))
}

/// Whether the token hash in `scope` is of a session that ran out (not revoked, past its
/// expiry): such a caller is told the session expired, not that the token is unknown.
pub async fn session_expired(db: &Db, scope: Scope, token_hash: &str, now: i64) -> Result<bool> {
    let sql = format!(
        "SELECT COUNT(*) FROM sessions \
         WHERE {} AND token_hash = $2 AND revoked_at IS NULL AND expires_at <= $3",
        scope.cond("tenant_id")
    );
    let n: i64 = on_read!(db, pool => sqlx::query_scalar(&sql)
        .bind(scope.tenant_id())
        .bind(token_hash)
        .bind(now)
        .fetch_one(pool)
        .await?);
    Ok(n > 0)
}

/// Ends a session (logout). Returns whether a live session was ended.
pub async fn revoke_session(db: &Db, scope: Scope, token_hash: &str, now: i64) -> Result<bool> {
    let sql = format!(
        "UPDATE sessions SET revoked_at = $3 WHERE {} AND token_hash = $2 AND revoked_at IS NULL",
        scope.cond("tenant_id")
    );
    let n = on_db!(db, pool => sqlx::query(&sql)
        .bind(scope.tenant_id())
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await?
        .rows_affected());
    Ok(n == 1)
}

// ---------------------------------------------------------------------------------------------
// Devices (kiosks and call displays of one office)

/// Registers a device of an active office of the tenant. `NotFound` when the office is not
/// the tenant's (or inactive).
#[allow(clippy::too_many_arguments)]
pub async fn create_device(
    db: &Db,
    tenant: TenantId,
    office_id: i64,
    kind: &'static str,
    name: &str,
    token_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<DeviceRow> {
    let sql = insert_device_sql();
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, DeviceRow>(&sql)
            .bind(tenant.0)
            .bind(office_id)
            .bind(kind)
            .bind(name)
            .bind(token_hash)
            .bind(now)
            .bind(None::<i64>)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| unique(e, &["token_hash"]))?
            .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("device:{}", row.id), ..a.clone() };
            insert_audit(&mut tx, Scope::Tenant(tenant), &a, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// The tenant's unrevoked device with this token hash.
pub async fn device_by_token(
    db: &Db,
    tenant: TenantId,
    token_hash: &str,
) -> Result<Option<DeviceRow>> {
    credential_by_hash(db, tenant, token_hash).await
}

pub async fn list_devices(db: &Db, tenant: TenantId) -> Result<Vec<DeviceRow>> {
    list_credentials(db, tenant).await
}

/// Revokes a device's token (again: no change). `NotFound` when it is not the tenant's.
pub async fn revoke_device(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<DeviceRow> {
    revoke_credential(db, tenant, id, audit, now).await
}

// ---------------------------------------------------------------------------------------------
// API keys (partners)

pub async fn create_api_key(
    db: &Db,
    tenant: TenantId,
    name: &str,
    scopes_json: &str,
    key_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<ApiKeyRow> {
    let sql = format!(
        "INSERT INTO api_keys (tenant_id, name, key_hash, scopes, created_at) VALUES ($1, $2, $3, $4, $5) \
         RETURNING {API_KEY_COLUMNS}"
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, ApiKeyRow>(&sql)
            .bind(tenant.0)
            .bind(name)
            .bind(key_hash)
            .bind(scopes_json)
            .bind(now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| unique(e, &["key_hash"]))?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("api_key:{}", row.id), ..a.clone() };
            insert_audit(&mut tx, Scope::Tenant(tenant), &a, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}

/// The tenant's unrevoked API key with this hash.
pub async fn api_key_by_hash(
    db: &Db,
    tenant: TenantId,
    key_hash: &str,
) -> Result<Option<ApiKeyRow>> {
    credential_by_hash(db, tenant, key_hash).await
}

pub async fn list_api_keys(db: &Db, tenant: TenantId) -> Result<Vec<ApiKeyRow>> {
    list_credentials(db, tenant).await
}

/// Revokes an API key (again: no change). `NotFound` when it is not the tenant's.
pub async fn revoke_api_key(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<ApiKeyRow> {
    revoke_credential(db, tenant, id, audit, now).await
}

// ---------------------------------------------------------------------------------------------
// What devices and API keys share: a tenant's row found by its hash, listed, revoked once.

trait Credential: Send + Unpin + for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> {
    const TABLE: &'static str;
    const COLUMNS: &'static str;
    const HASH: &'static str;
}

impl Credential for DeviceRow {
    const TABLE: &'static str = "devices";
    const COLUMNS: &'static str = DEVICE_COLUMNS;
    const HASH: &'static str = "token_hash";
}

impl Credential for ApiKeyRow {
    const TABLE: &'static str = "api_keys";
    const COLUMNS: &'static str = API_KEY_COLUMNS;
    const HASH: &'static str = "key_hash";
}

async fn credential_by_hash<T: Credential>(
    db: &Db,
    tenant: TenantId,
    hash: &str,
) -> Result<Option<T>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 AND {} = $2 AND revoked_at IS NULL",
        T::COLUMNS,
        T::TABLE,
        T::HASH
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, T>(&sql)
        .bind(tenant.0)
        .bind(hash)
        .fetch_optional(pool)
        .await?))
}

async fn list_credentials<T: Credential>(db: &Db, tenant: TenantId) -> Result<Vec<T>> {
    let sql = format!(
        "SELECT {} FROM {} WHERE tenant_id = $1 ORDER BY id",
        T::COLUMNS,
        T::TABLE
    );
    on_read!(db, pool => Ok(sqlx::query_as::<_, T>(&sql)
        .bind(tenant.0)
        .fetch_all(pool)
        .await?))
}

async fn revoke_credential<T: Credential>(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<T> {
    let sql = format!(
        "UPDATE {} SET revoked_at = COALESCE(revoked_at, $3) WHERE tenant_id = $1 AND id = $2 \
         RETURNING {}",
        T::TABLE,
        T::COLUMNS
    );
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let row = sqlx::query_as::<_, T>(&sql)
            .bind(tenant.0)
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Tenant(tenant), a, now).await?;
        }
        tx.commit().await?;
        Ok(row)
    })
}
