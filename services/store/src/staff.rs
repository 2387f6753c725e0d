//! Staff identities and the credentials of people, devices and partners (issue 5).
//!
//! Users of a tenant (admins, call-centre operators, clerks) and the platform's operators
//! (no tenant) share one table; every query names its [`Scope`], so a tenant's rows are never
//! read or changed through another's. Sessions, device tokens and API keys are stored only as
//! SHA-256 hashes and found within their scope: a token of tenant A is unknown on tenant B.

use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::schema::{api_keys, devices, offices, sessions, users};
use crate::{
    in_tx, on_conn, on_db, on_read, unique, AnyConn as _, Conn, Db, Result, Scope, StoreError,
    TenantId,
};

/// Expands `$body` once per variant of `$scope` with `$cond` bound to the condition on the
/// column `$col` that keeps a query inside the scope: `IS NULL` for the platform, `= tenant`
/// for a tenant (two expressions of different types, hence two arms).
macro_rules! in_scope {
    ($scope:expr, $col:expr, $cond:ident => $body:expr) => {
        match $scope {
            Scope::Platform => {
                let $cond = $col.is_null();
                $body
            }
            Scope::Tenant(t) => {
                let $cond = $col.eq(t.0);
                $body
            }
        }
    };
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = users)]
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

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: i64,
    pub user_id: i64,
    pub tenant_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = devices)]
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

/// Inserts a device of an active office of the tenant inside the caller's transaction; no row
/// when the office is not the tenant's (or inactive). `Unique("token_hash")` when the token is
/// taken.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_device(
    conn: Conn<'_>,
    tenant: TenantId,
    office_id: i64,
    kind: &str,
    name: &str,
    token_hash: &str,
    now: i64,
    desk: Option<i64>,
) -> Result<Option<DeviceRow>> {
    // INSERT … SELECT: the row is written only when the office is the tenant's and active.
    let of_the_tenant = offices::table
        .filter(offices::tenant_id.eq(tenant.0))
        .filter(offices::id.eq(office_id))
        .filter(offices::active.eq(1))
        .select((
            offices::tenant_id,
            offices::id,
            kind.into_sql::<Text>(),
            name.into_sql::<Text>(),
            token_hash.into_sql::<Text>(),
            now.into_sql::<BigInt>(),
            desk.into_sql::<Nullable<BigInt>>(),
        ));
    let insert = diesel::insert_into(devices::table)
        .values(of_the_tenant)
        .into_columns((
            devices::tenant_id,
            devices::office_id,
            devices::kind,
            devices::name,
            devices::token_hash,
            devices::created_at,
            devices::desk,
        ));
    // `as_returning` names the backend: one per arm.
    on_conn!(conn, c => insert
        .returning(DeviceRow::as_returning())
        .get_result(c)
        .await
        .optional())
    .map_err(|e| unique(e, &["token_hash"]))
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: i64,
    pub tenant_id: i64,
    pub name: String,
    /// A JSON array of scope names.
    pub scopes: String,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
}

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
    in_tx!(db, c => {
        let row = diesel::insert_into(users::table)
            .values((
                users::tenant_id.eq(scope.tenant_id()),
                users::login.eq(u.login.as_str()),
                users::display_name.eq(u.display_name.as_str()),
                users::password_hash.eq(u.password_hash.as_str()),
                users::role.eq(u.role),
                users::status.eq("active"),
                users::failed_logins.eq(0),
                users::created_at.eq(now),
                users::updated_at.eq(now),
            ))
            .returning(UserRow::as_returning())
            .get_result(c)
            .await
            .map_err(|e| unique(e, &["login"]))?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("user:{}", row.id), ..a.clone() };
            insert_audit(c.conn(), scope, &a, now).await?;
        }
        Ok(row)
    })
}

pub async fn user_by_login(db: &Db, scope: Scope, login: &str) -> Result<Option<UserRow>> {
    on_read!(db, c => in_scope!(scope, users::tenant_id, of_scope => Ok(users::table
        .filter(of_scope)
        .filter(users::login.eq(login))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?)))
}

pub async fn user_by_id(db: &Db, scope: Scope, id: i64) -> Result<Option<UserRow>> {
    on_read!(db, c => in_scope!(scope, users::tenant_id, of_scope => Ok(users::table
        .filter(of_scope)
        .filter(users::id.eq(id))
        .select(UserRow::as_select())
        .first(c)
        .await
        .optional()?)))
}

pub async fn list_users(db: &Db, scope: Scope) -> Result<Vec<UserRow>> {
    on_read!(db, c => in_scope!(scope, users::tenant_id, of_scope => Ok(users::table
        .filter(of_scope)
        .order(users::id)
        .select(UserRow::as_select())
        .load(c)
        .await?)))
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
    in_tx!(db, c => {
        let row = in_scope!(scope, users::tenant_id, of_scope => diesel::update(
            users::table.filter(of_scope).filter(users::id.eq(id)),
        )
        .set((users::status.eq(status), users::updated_at.eq(now)))
        .returning(UserRow::as_returning())
        .get_result(c)
        .await
        .optional()?)
        .ok_or(StoreError::NotFound)?;
        if status != "active" {
            in_scope!(scope, sessions::tenant_id, of_scope => diesel::update(
                sessions::table
                    .filter(of_scope)
                    .filter(sessions::user_id.eq(id))
                    .filter(sessions::revoked_at.is_null()),
            )
            .set(sessions::revoked_at.eq(now))
            .execute(c)
            .await?);
        }
        if let Some(a) = audit {
            insert_audit(c.conn(), scope, a, now).await?;
        }
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
    // Both CASEs read the row as it was before the update.
    let locks = (users::failed_logins + 1).ge(max);
    let changes = (
        users::failed_logins
            .eq(case_when::<_, _, BigInt>(locks, 0).otherwise(users::failed_logins + 1)),
        users::locked_until
            .eq(case_when::<_, _, Nullable<BigInt>>(locks, lock_until)
                .otherwise(users::locked_until)),
        users::updated_at.eq(now),
    );
    let locked: Option<Option<i64>> = on_db!(db, c => in_scope!(scope, users::tenant_id, of_scope =>
        diesel::update(users::table.filter(of_scope).filter(users::id.eq(user_id)))
            .set(changes)
            .returning(users::locked_until)
            .get_result(c)
            .await
            .optional()?));
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
    in_tx!(db, c => {
        let n = in_scope!(scope, users::tenant_id, of_scope => diesel::update(
            users::table.filter(of_scope).filter(users::id.eq(user_id)),
        )
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<i64>),
            users::updated_at.eq(now),
        ))
        .execute(c)
        .await?);
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        let row = diesel::insert_into(sessions::table)
            .values((
                sessions::user_id.eq(user_id),
                sessions::tenant_id.eq(scope.tenant_id()),
                sessions::token_hash.eq(token_hash),
                sessions::created_at.eq(now),
                sessions::expires_at.eq(expires_at),
            ))
            .returning(SessionRow::as_returning())
            .get_result(c)
            .await
            .map_err(|e| unique(e, &["token_hash"]))?;
        Ok(row)
    })
}

/// The live session with this token hash in `scope` and its user, if the session is neither
/// expired nor revoked and the user is active (one statement: the session joined to its user,
/// both in `scope`).
pub async fn session_user(
    db: &Db,
    scope: Scope,
    token_hash: &str,
    now: i64,
) -> Result<Option<(SessionRow, UserRow)>> {
    on_read!(db, c => in_scope!(scope, sessions::tenant_id, session_in_scope =>
        in_scope!(scope, users::tenant_id, user_in_scope => Ok(sessions::table
            .inner_join(users::table.on(users::id.eq(sessions::user_id)))
            .filter(session_in_scope)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::revoked_at.is_null())
            .filter(sessions::expires_at.gt(now))
            .filter(user_in_scope)
            .filter(users::status.eq("active"))
            .select((SessionRow::as_select(), UserRow::as_select()))
            .first(c)
            .await
            .optional()?))))
}

/// Whether the token hash in `scope` is of a session that ran out (not revoked, past its
/// expiry): such a caller is told the session expired, not that the token is unknown.
pub async fn session_expired(db: &Db, scope: Scope, token_hash: &str, now: i64) -> Result<bool> {
    let n: i64 = on_read!(db, c => in_scope!(scope, sessions::tenant_id, of_scope => sessions::table
        .filter(of_scope)
        .filter(sessions::token_hash.eq(token_hash))
        .filter(sessions::revoked_at.is_null())
        .filter(sessions::expires_at.le(now))
        .count()
        .get_result(c)
        .await?));
    Ok(n > 0)
}

/// Ends a session (logout). Returns whether a live session was ended.
pub async fn revoke_session(db: &Db, scope: Scope, token_hash: &str, now: i64) -> Result<bool> {
    let n = on_db!(db, c => in_scope!(scope, sessions::tenant_id, of_scope => diesel::update(
        sessions::table
            .filter(of_scope)
            .filter(sessions::token_hash.eq(token_hash))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(now))
    .execute(c)
    .await?));
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
    in_tx!(db, c => {
        let row = insert_device(c.conn(), tenant, office_id, kind, name, token_hash, now, None)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("device:{}", row.id), ..a.clone() };
            insert_audit(c.conn(), Scope::Tenant(tenant), &a, now).await?;
        }
        Ok(row)
    })
}

/// The tenant's unrevoked device with this token hash.
pub async fn device_by_token(
    db: &Db,
    tenant: TenantId,
    token_hash: &str,
) -> Result<Option<DeviceRow>> {
    on_read!(db, c => Ok(devices::table
        .filter(devices::tenant_id.eq(tenant.0))
        .filter(devices::token_hash.eq(token_hash))
        .filter(devices::revoked_at.is_null())
        .select(DeviceRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn list_devices(db: &Db, tenant: TenantId) -> Result<Vec<DeviceRow>> {
    on_read!(db, c => Ok(devices::table
        .filter(devices::tenant_id.eq(tenant.0))
        .order(devices::id)
        .select(DeviceRow::as_select())
        .load(c)
        .await?))
}

/// Revokes a device's token (again: no change). `NotFound` when it is not the tenant's.
pub async fn revoke_device(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<DeviceRow> {
    in_tx!(db, c => {
        let row = diesel::update(
            devices::table
                .filter(devices::tenant_id.eq(tenant.0))
                .filter(devices::id.eq(id)),
        )
        // COALESCE(revoked_at, now): a revoked token keeps its first revocation.
        .set(devices::revoked_at.eq(
            case_when::<_, _, Nullable<BigInt>>(devices::revoked_at.is_null(), now)
                .otherwise(devices::revoked_at),
        ))
        .returning(DeviceRow::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Tenant(tenant), a, now).await?;
        }
        Ok(row)
    })
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
    in_tx!(db, c => {
        let row = diesel::insert_into(api_keys::table)
            .values((
                api_keys::tenant_id.eq(tenant.0),
                api_keys::name.eq(name),
                api_keys::key_hash.eq(key_hash),
                api_keys::scopes.eq(scopes_json),
                api_keys::created_at.eq(now),
            ))
            .returning(ApiKeyRow::as_returning())
            .get_result(c)
            .await
            .map_err(|e| unique(e, &["key_hash"]))?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("api_key:{}", row.id), ..a.clone() };
            insert_audit(c.conn(), Scope::Tenant(tenant), &a, now).await?;
        }
        Ok(row)
    })
}

/// The tenant's unrevoked API key with this hash.
pub async fn api_key_by_hash(
    db: &Db,
    tenant: TenantId,
    key_hash: &str,
) -> Result<Option<ApiKeyRow>> {
    on_read!(db, c => Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant.0))
        .filter(api_keys::key_hash.eq(key_hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(c)
        .await
        .optional()?))
}

pub async fn list_api_keys(db: &Db, tenant: TenantId) -> Result<Vec<ApiKeyRow>> {
    on_read!(db, c => Ok(api_keys::table
        .filter(api_keys::tenant_id.eq(tenant.0))
        .order(api_keys::id)
        .select(ApiKeyRow::as_select())
        .load(c)
        .await?))
}

/// Revokes an API key (again: no change). `NotFound` when it is not the tenant's.
pub async fn revoke_api_key(
    db: &Db,
    tenant: TenantId,
    id: i64,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<ApiKeyRow> {
    in_tx!(db, c => {
        let row = diesel::update(
            api_keys::table
                .filter(api_keys::tenant_id.eq(tenant.0))
                .filter(api_keys::id.eq(id)),
        )
        // COALESCE(revoked_at, now): a revoked key keeps its first revocation.
        .set(api_keys::revoked_at.eq(
            case_when::<_, _, Nullable<BigInt>>(api_keys::revoked_at.is_null(), now)
                .otherwise(api_keys::revoked_at),
        ))
        .returning(ApiKeyRow::as_returning())
        .get_result(c)
        .await
        .optional()?
        .ok_or(StoreError::NotFound)?;
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Tenant(tenant), a, now).await?;
        }
        Ok(row)
    })
}
