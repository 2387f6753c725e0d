//! Lateness (CI-17, GD-11, DG-8): booked visits not checked in are cancelled.

use okienko_domain::calendar::local_date;
use okienko_store::{self as store, FactPlace, StoreError, VisitRow};

use crate::auth::ts;
use crate::catalog::{ServiceCtx, TenantCtx};
use crate::error::ApiResult;
use crate::App;

/// How far back the lateness worker looks for unchecked bookings: a server down for longer
/// leaves older ones as they are rather than cancelling history.
const LATENESS_LOOKBACK_SECS: i64 = 24 * 3600;

// Lateness (CI-17, GD-11, DG-8)

pub(crate) fn no_show_place(
    tenant: &TenantCtx,
    s: &ServiceCtx,
    slot_start: i64,
) -> Option<FactPlace> {
    let office = tenant.office(s.office_id)?;
    let q = tenant.cfg.booked_queue(&office.cfg.key, &s.cfg.key)?;
    Some(FactPlace {
        office_id: office.id,
        day: local_date(ts(slot_start)).to_string(),
        queue: q.letter.clone(),
        booked: true,
    })
}

/// Cancels one booking not checked in in time, with its no-show (OP-14). False when it was
/// checked in or ended meanwhile.
pub(crate) async fn cancel_late_one(
    app: &App,
    tenant: &TenantCtx,
    v: &VisitRow,
) -> ApiResult<bool> {
    let service = tenant.service(v.service_id);
    let department = service.and_then(|s| s.cfg.department.as_deref());
    let place = service.and_then(|s| no_show_place(tenant, s, v.slot_start));
    let now = app.clock.now().timestamp();
    match store::cancel_unchecked(&app.db, tenant.id, v.id, department, place.as_ref(), now).await {
        Ok(_) => {
            app.metrics.booking_cancelled(&tenant.slug, "lateness");
            Ok(true)
        }
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Cancels the bookings that were not checked in by their time plus the tenant's lateness,
/// in every tenant that sets one, for services with a queue (elsewhere nobody could check in).
/// Returns how many were cancelled.
pub async fn cancel_late(app: &App) -> ApiResult<usize> {
    let now = app.clock.now().timestamp();
    let mut n = 0;
    for slug in app.catalog.slugs() {
        let Some(tenant) = app.catalog.get(&slug) else {
            continue;
        };
        let Some(minutes) = tenant.cfg.queue.cancel_unchecked_after_minutes else {
            continue;
        };
        let cutoff = now - i64::from(minutes) * 60;
        loop {
            let due = store::unchecked_between(
                &app.db,
                tenant.id,
                cutoff - LATENESS_LOOKBACK_SECS,
                cutoff,
                200,
            )
            .await?;
            let mut progressed = false;
            for v in &due {
                let queued = tenant.service(v.service_id).is_some_and(|s| {
                    tenant
                        .office(s.office_id)
                        .is_some_and(|o| tenant.cfg.booked_queue(&o.cfg.key, &s.cfg.key).is_some())
                });
                if queued && cancel_late_one(app, &tenant, v).await? {
                    n += 1;
                    progressed = true;
                }
            }
            if !progressed || due.len() < 200 {
                break;
            }
        }
    }
    Ok(n)
}

// ---------------------------------------------------------------------------------------------
