//! Lookups the queue's use cases share: offices, queues, today, a ticket, states in Polish.

use chrono::{DateTime, Utc};
use okienko_domain::calendar::WeeklyHours;
use okienko_domain::queue::{day_key, QueueConfig};
use okienko_domain::DomainError;
use okienko_store::{self as store, TicketRow};

use crate::catalog::{OfficeCtx, TenantCtx};
use crate::error::ApiResult;
use crate::App;

// Lookups

pub fn office(tenant: &TenantCtx, id: i64) -> Result<&OfficeCtx, DomainError> {
    tenant.office(id).ok_or(DomainError::NotFound)
}

pub fn queue_name(tenant: &TenantCtx, office_id: i64, letter: &str) -> Option<String> {
    let o = tenant.office(office_id)?;
    tenant
        .cfg
        .queue_of(&o.cfg.key, letter)
        .map(|q| q.name.clone())
}

pub(crate) fn queue_of<'a>(
    tenant: &'a TenantCtx,
    office: &OfficeCtx,
    letter: &str,
) -> Result<&'a QueueConfig, DomainError> {
    let letter = letter.trim().to_uppercase();
    tenant
        .cfg
        .queue_of(&office.cfg.key, &letter)
        .ok_or_else(|| DomainError::invalid("queue", "nie ma takiej kolejki w tym urzędzie"))
}

pub(crate) fn office_hours(office: &OfficeCtx) -> WeeklyHours {
    WeeklyHours::from_config(&office.cfg.hours).unwrap_or_default()
}

pub(crate) fn today(app: &App) -> (DateTime<Utc>, String) {
    let now = app.clock.now();
    (now, day_key(now))
}

/// A store conflict on a ticket: what state it is in now, in Polish.
pub(crate) async fn state_conflict(
    app: &App,
    tenant: &TenantCtx,
    id: i64,
) -> ApiResult<DomainError> {
    let t = store::ticket_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or(DomainError::NotFound)?;
    Ok(DomainError::TicketState {
        label: t.label.clone(),
        state: state_pl(&t.state).into(),
    })
}

pub fn state_pl(state: &str) -> &'static str {
    match state {
        "waiting" => "oczekujący",
        "called" => "wywołany",
        "serving" => "w obsłudze",
        "done" => "obsłużony",
        "void" => "nieważny",
        "transferred" => "przekazany do innej kolejki",
        "refused" => "z odmową obsługi",
        _ => "nieznany",
    }
}

pub async fn ticket(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<TicketRow> {
    Ok(store::ticket_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or(DomainError::NotFound)?)
}

// ---------------------------------------------------------------------------------------------
