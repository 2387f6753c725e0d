//! The admission list (OP-9): the day's booked visits per desk or department, codes and times.

use chrono::{DateTime, NaiveDate, Utc};
use okienko_domain::queue::day_bounds;
use okienko_domain::DomainError;
use okienko_store::{self as store};

use super::lookup::office;
use crate::auth::ts;
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::App;

// Admission list (OP-9)

#[derive(Debug, Clone)]
pub struct Admission {
    pub code: String,
    pub start: DateTime<Utc>,
    pub service: String,
    pub service_key: String,
    pub department: Option<String>,
    pub office_id: i64,
    pub queue: Option<String>,
    pub checked_in: bool,
}

/// What an admission list covers.
#[derive(Debug, Clone, Default)]
pub struct AdmissionFilter {
    pub office_id: Option<i64>,
    /// A desk of that office: the bookings of the services its queues serve.
    pub desk: Option<u32>,
    /// A department key: the bookings of its services.
    pub department: Option<String>,
}

/// The day's booked visits, by time: the identifier given at booking (the booking code) and the
/// time, per desk or department (OP-9). No names: the list is posted at the desk.
pub async fn admission_list(
    app: &App,
    tenant: &TenantCtx,
    day: NaiveDate,
    f: &AdmissionFilter,
) -> ApiResult<Vec<Admission>> {
    if f.desk.is_some() && f.office_id.is_none() && tenant.offices.len() != 1 {
        return Err(DomainError::invalid("officeId", "podaj urząd stanowiska").into());
    }
    let office = match f
        .office_id
        .or_else(|| f.desk.and_then(|_| tenant.offices.first().map(|o| o.id)))
    {
        Some(id) => Some(
            office(tenant, id)
                .map_err(|_| DomainError::invalid("officeId", "nie ma takiego urzędu"))?,
        ),
        None => None,
    };
    let desk = match (f.desk, office) {
        (Some(n), Some(o)) => Some(tenant.cfg.desk_of(&o.cfg.key, n).ok_or_else(|| {
            DomainError::invalid("desk", "nie ma takiego stanowiska w tym urzędzie")
        })?),
        _ => None,
    };
    if let Some(d) = &f.department {
        let known = tenant
            .cfg
            .offices
            .iter()
            .any(|o| o.departments.iter().any(|x| &x.key == d));
        if !known {
            return Err(DomainError::invalid("department", "nie ma takiego wydziału").into());
        }
    }
    let (from, to) = day_bounds(day);
    let visits = store::visits_between(&app.db, tenant.id, from, to).await?;
    let mut out = Vec::new();
    for v in visits {
        let Some(s) = tenant.service(v.service_id) else {
            continue;
        };
        let Some(o) = tenant.office(s.office_id) else {
            continue;
        };
        if office.is_some_and(|x| x.id != o.id) {
            continue;
        }
        if f.department
            .as_ref()
            .is_some_and(|d| s.cfg.department.as_ref() != Some(d))
        {
            continue;
        }
        let queue = tenant.cfg.booked_queue(&o.cfg.key, &s.cfg.key);
        if desk.is_some_and(|d| !tenant.cfg.desk_admits(d, &s.cfg.key)) {
            continue;
        }
        out.push(Admission {
            code: v.code,
            start: ts(v.slot_start),
            service: s.cfg.name.clone(),
            service_key: s.cfg.key.clone(),
            department: s.cfg.department.clone(),
            office_id: o.id,
            queue: queue.map(|q| q.letter.clone()),
            checked_in: v.checked_in_at.is_some(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
