//! Anonymous statistics of the queue (P-5), and printed times.

use chrono::NaiveDate;
use okienko_domain::calendar::to_local;
use okienko_domain::DomainError;
use okienko_store::{self as store};

use crate::auth::ts;
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::App;

// Statistics (P-5)

/// The anonymous figures of one queue on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueDay {
    pub office_id: i64,
    pub day: String,
    pub queue: String,
    pub tickets_issued: i64,
    pub walk_ins: i64,
    pub calls: i64,
    pub total_wait: i64,
    pub max_wait: Option<i64>,
    pub served: i64,
    pub total_service: i64,
    pub max_service: Option<i64>,
    pub no_shows: i64,
}

/// The longest range one statistics request may cover.
pub const MAX_STATS_DAYS: i64 = 366;

pub async fn statistics(
    app: &App,
    tenant: &TenantCtx,
    from: NaiveDate,
    to: NaiveDate,
    office_id: Option<i64>,
) -> ApiResult<Vec<QueueDay>> {
    if to < from {
        return Err(DomainError::InvalidRange("data końcowa jest przed początkową".into()).into());
    }
    if (to - from).num_days() >= MAX_STATS_DAYS {
        return Err(DomainError::InvalidRange(format!(
            "najwyżej {MAX_STATS_DAYS} dni w jednym zapytaniu"
        ))
        .into());
    }
    let (f, t) = (from.to_string(), to.to_string());
    let mut days: std::collections::BTreeMap<(String, i64, String), QueueDay> =
        std::collections::BTreeMap::new();
    for (office, day, queue, last, walk_ins) in
        store::counters_between(&app.db, tenant.id, &f, &t).await?
    {
        let q = days
            .entry((day.clone(), office, queue.clone()))
            .or_insert_with(|| QueueDay {
                office_id: office,
                day: day.clone(),
                queue: queue.clone(),
                ..QueueDay::default()
            });
        q.tickets_issued = last;
        q.walk_ins = walk_ins;
    }
    for g in store::queue_facts(&app.db, tenant.id, &f, &t).await? {
        let q = days
            .entry((g.day.clone(), g.office_id, g.queue.clone()))
            .or_insert_with(|| QueueDay {
                office_id: g.office_id,
                day: g.day.clone(),
                queue: g.queue.clone(),
                ..QueueDay::default()
            });
        match g.kind.as_str() {
            "wait" => {
                q.calls += g.count;
                q.total_wait += g.total_seconds;
                q.max_wait = q.max_wait.max(g.max_seconds);
            }
            "service" => {
                q.served += g.count;
                q.total_service += g.total_seconds;
                q.max_service = q.max_service.max(g.max_seconds);
            }
            "no_show" => q.no_shows += g.count,
            _ => {}
        }
    }
    Ok(days
        .into_values()
        .filter(|q| office_id.is_none_or(|o| o == q.office_id))
        .collect())
}

/// The local date and time of an instant as a ticket prints them (CI-3).
pub fn printed(t: i64) -> (String, String) {
    let local = to_local(ts(t));
    (
        local.format("%d.%m.%Y").to_string(),
        local.format("%H:%M").to_string(),
    )
}
