//! A slot's seats (P-3): the usage row of each (tenant, service, quota, slot) counts the seats
//! taken; a seat is taken by one conditional upsert and given back by one decrement, both
//! inside the transaction of the booking that takes or frees it.

use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use crate::schema::slot_usage;
use crate::{on_conn, Conn, Result, TenantId};

/// Gives one seat of a slot back (never below zero), inside the caller's transaction.
pub(crate) async fn seat_back(
    conn: Conn<'_>,
    tenant: TenantId,
    service_id: i64,
    slot_start: i64,
    quota: &str,
) -> Result<()> {
    let usage = slot_usage::table
        .filter(slot_usage::tenant_id.eq(tenant.0))
        .filter(slot_usage::service_id.eq(service_id))
        .filter(slot_usage::slot_start.eq(slot_start))
        .filter(slot_usage::quota.eq(quota))
        .filter(slot_usage::used.gt(0));
    let back = diesel::update(usage).set(slot_usage::used.eq(slot_usage::used - 1));
    on_conn!(conn, c => back.execute(c).await)?;
    Ok(())
}
