//! One-time pairing codes of kiosks and displays (issue 14): an administrator's code for a
//! device still to come, redeemed once by the device's browser, which then becomes that device.
//!
//! Only the code's hash is stored, keyed by tenant. Redemption is one conditional UPDATE
//! (`used_at IS NULL AND expires_at > now`) in the transaction that creates the device, so of
//! two redemptions of one code at the same moment exactly one gets a device.

use sqlx::FromRow;

use crate::audit::{insert_audit, NewAudit};
use crate::staff::{insert_device_sql, DeviceRow};
use crate::{on_db, on_read, unique, Db, Result, Scope, StoreError, TenantId};

/// What a code will make.
#[derive(Debug, Clone)]
pub struct NewPairing {
    pub office_id: i64,
    /// `kiosk` or `display`.
    pub kind: &'static str,
    pub desk: Option<i64>,
    pub name: String,
    /// Who made it, as the audit log names them.
    pub created_by: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, FromRow)]
struct Claimed {
    office_id: i64,
    kind: String,
    desk: Option<i64>,
    name: String,
}

/// The outcome of a redemption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The device the code made.
    Device(DeviceRow),
    /// The code was redeemed before.
    Used,
    /// The code ran out before it was redeemed.
    Expired,
    /// No such code in this tenant.
    Unknown,
}

/// How long a used or expired code is kept (to say "used" or "expired" rather than "unknown").
const KEEP_SECONDS: i64 = 24 * 3600;

/// Stores a code's hash for an active office of the tenant, with its audit row; codes of the
/// tenant past their expiry by a day are dropped. `NotFound` when the office is not the
/// tenant's; `Unique("code_hash")` when the code is taken (a new one is drawn).
pub async fn create_pairing_code(
    db: &Db,
    tenant: TenantId,
    p: &NewPairing,
    code_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<()> {
    let insert = "INSERT INTO pairing_codes (tenant_id, code_hash, office_id, kind, desk, name, created_by, created_at, expires_at) \
         SELECT $1, $2, o.id, $4, $5, $6, $7, $8, $9 FROM offices o WHERE o.tenant_id = $1 AND o.id = $3 AND o.active = 1";
    let sweep = "DELETE FROM pairing_codes WHERE tenant_id = $1 AND expires_at < $2";
    on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(sweep)
            .bind(tenant.0)
            .bind(now - KEEP_SECONDS)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query(insert)
            .bind(tenant.0)
            .bind(code_hash)
            .bind(p.office_id)
            .bind(p.kind)
            .bind(p.desk)
            .bind(&p.name)
            .bind(&p.created_by)
            .bind(now)
            .bind(p.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| unique(e, &["code_hash", "pairing_codes"]))?
            .rows_affected();
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        if let Some(a) = audit {
            insert_audit(&mut tx, Scope::Tenant(tenant), a, now).await?;
        }
        tx.commit().await?;
        Ok(())
    })
}

/// Redeems a code: marks it used and creates its device with `token_hash`, in one
/// transaction, with the audit row (`audit`'s target becomes the device).
pub async fn redeem_pairing_code(
    db: &Db,
    tenant: TenantId,
    code_hash: &str,
    token_hash: &str,
    audit: Option<&NewAudit>,
    now: i64,
) -> Result<Redeemed> {
    let claim = "UPDATE pairing_codes SET used_at = $3 \
         WHERE tenant_id = $1 AND code_hash = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING office_id, kind, desk, name";
    let link = "UPDATE pairing_codes SET device_id = $3 WHERE tenant_id = $1 AND code_hash = $2";
    let device = insert_device_sql();
    let done: Option<DeviceRow> = on_db!(db, pool => {
        let mut tx = pool.begin().await?;
        let claimed = sqlx::query_as::<_, Claimed>(claim)
            .bind(tenant.0)
            .bind(code_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
        match claimed {
            None => {
                tx.rollback().await?;
                None
            }
            Some(c) => {
                let row = sqlx::query_as::<_, DeviceRow>(&device)
                    .bind(tenant.0)
                    .bind(c.office_id)
                    .bind(&c.kind)
                    .bind(&c.name)
                    .bind(token_hash)
                    .bind(now)
                    .bind(c.desk)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(|e| unique(e, &["token_hash"]))?
                    .ok_or(StoreError::NotFound)?;
                sqlx::query(link)
                    .bind(tenant.0)
                    .bind(code_hash)
                    .bind(row.id)
                    .execute(&mut *tx)
                    .await?;
                if let Some(a) = audit {
                    let a = NewAudit { target: format!("device:{}", row.id), ..a.clone() };
                    insert_audit(&mut tx, Scope::Tenant(tenant), &a, now).await?;
                }
                tx.commit().await?;
                Some(row)
            }
        }
    });
    if let Some(d) = done {
        return Ok(Redeemed::Device(d));
    }
    let state = "SELECT used_at FROM pairing_codes WHERE tenant_id = $1 AND code_hash = $2";
    let found: Option<Option<i64>> = on_read!(db, pool => sqlx::query_scalar(state)
        .bind(tenant.0)
        .bind(code_hash)
        .fetch_optional(pool)
        .await?);
    Ok(match found {
        Some(Some(_)) => Redeemed::Used,
        Some(None) => Redeemed::Expired,
        None => Redeemed::Unknown,
    })
}
