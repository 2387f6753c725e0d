//! One-time pairing codes of kiosks and displays (issue 14): an administrator's code for a
//! device still to come, redeemed once by the device's browser, which then becomes that device.
//!
//! Only the code's hash is stored, keyed by tenant. Redemption is one conditional UPDATE
//! (`used_at IS NULL AND expires_at > now`) in the transaction that creates the device, so of
//! two redemptions of one code at the same moment exactly one gets a device.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel_async::RunQueryDsl;

use crate::audit::{insert_audit, NewAudit};
use crate::schema::{offices, pairing_codes};
use crate::staff::{insert_device, DeviceRow};
use crate::{in_tx, on_read, unique, AnyConn as _, Db, Result, Scope, StoreError, TenantId};

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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pairing_codes)]
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
    in_tx!(db, c => {
        diesel::delete(
            pairing_codes::table
                .filter(pairing_codes::tenant_id.eq(tenant.0))
                .filter(pairing_codes::expires_at.lt(now - KEEP_SECONDS)),
        )
        .execute(c)
        .await?;
        // INSERT … SELECT: the code is stored only when the office is the tenant's and active.
        let of_the_tenant = offices::table
            .filter(offices::tenant_id.eq(tenant.0))
            .filter(offices::id.eq(p.office_id))
            .filter(offices::active.eq(1))
            .select((
                offices::tenant_id,
                code_hash.into_sql::<Text>(),
                offices::id,
                p.kind.into_sql::<Text>(),
                p.desk.into_sql::<Nullable<BigInt>>(),
                p.name.as_str().into_sql::<Text>(),
                p.created_by.as_str().into_sql::<Text>(),
                now.into_sql::<BigInt>(),
                p.expires_at.into_sql::<BigInt>(),
            ));
        let n = diesel::insert_into(pairing_codes::table)
            .values(of_the_tenant)
            .into_columns((
                pairing_codes::tenant_id,
                pairing_codes::code_hash,
                pairing_codes::office_id,
                pairing_codes::kind,
                pairing_codes::desk,
                pairing_codes::name,
                pairing_codes::created_by,
                pairing_codes::created_at,
                pairing_codes::expires_at,
            ))
            .execute(c)
            .await
            .map_err(|e| unique(e, &["code_hash", "pairing_codes"]))?;
        if n != 1 {
            return Err(StoreError::NotFound);
        }
        if let Some(a) = audit {
            insert_audit(c.conn(), Scope::Tenant(tenant), a, now).await?;
        }
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
    let done: Option<DeviceRow> = in_tx!(db, c => {
        let claimed: Option<Claimed> = diesel::update(
            pairing_codes::table
                .filter(pairing_codes::tenant_id.eq(tenant.0))
                .filter(pairing_codes::code_hash.eq(code_hash))
                .filter(pairing_codes::used_at.is_null())
                .filter(pairing_codes::expires_at.gt(now)),
        )
        .set(pairing_codes::used_at.eq(now))
        .returning(Claimed::as_returning())
        .get_result(c)
        .await
        .optional()?;
        // Not claimed: nothing was written.
        let Some(p) = claimed else {
            return Ok(None);
        };
        let row = insert_device(
            c.conn(),
            tenant,
            p.office_id,
            &p.kind,
            &p.name,
            token_hash,
            now,
            p.desk,
        )
        .await?
        .ok_or(StoreError::NotFound)?;
        diesel::update(
            pairing_codes::table
                .filter(pairing_codes::tenant_id.eq(tenant.0))
                .filter(pairing_codes::code_hash.eq(code_hash)),
        )
        .set(pairing_codes::device_id.eq(row.id))
        .execute(c)
        .await?;
        if let Some(a) = audit {
            let a = NewAudit { target: format!("device:{}", row.id), ..a.clone() };
            insert_audit(c.conn(), Scope::Tenant(tenant), &a, now).await?;
        }
        Ok(Some(row))
    })?;
    if let Some(d) = done {
        return Ok(Redeemed::Device(d));
    }
    let found: Option<Option<i64>> = on_read!(db, c => pairing_codes::table
        .filter(pairing_codes::tenant_id.eq(tenant.0))
        .filter(pairing_codes::code_hash.eq(code_hash))
        .select(pairing_codes::used_at)
        .first(c)
        .await
        .optional()?);
    Ok(match found {
        Some(Some(_)) => Redeemed::Used,
        Some(None) => Redeemed::Expired,
        None => Redeemed::Unknown,
    })
}
