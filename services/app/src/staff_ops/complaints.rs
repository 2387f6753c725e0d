//! Complaints (reklamacje, CI-23): filed online through the public API or registered by staff
//! from a letter, an e-mail or a call; answered within 14 calendar days of filing.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use okienko_domain::booking::normalise_code;
use okienko_domain::calendar::{local_date, local_to_utc, to_local};
use okienko_domain::{validate, DomainError};
use okienko_notify::message::ComplaintNotice;
use okienko_store::{self as store, ComplaintRow, NewAudit, NewComplaint, StoreError};
use serde_json::{json, Value};

use super::{check_text, staff_actor};
use crate::auth::StaffRef;
use crate::booking::email_msg;
use crate::catalog::TenantCtx;
use crate::error::{ApiError, ApiResult};
use crate::App;

/// Calendar days for the answer (CI-23).
pub const ANSWER_DAYS: i64 = 14;
const MIN_TEXT: usize = 10;
const MAX_TEXT: usize = 5000;
const MAX_ANSWER: usize = 10000;

/// How a complaint arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Online,
    Letter,
    Email,
    Phone,
    InPerson,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Online => "online",
            Channel::Letter => "letter",
            Channel::Email => "email",
            Channel::Phone => "phone",
            Channel::InPerson => "in_person",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "online" => Some(Channel::Online),
            "letter" => Some(Channel::Letter),
            "email" => Some(Channel::Email),
            "phone" => Some(Channel::Phone),
            "in_person" => Some(Channel::InPerson),
            _ => None,
        }
    }
}

/// The last day for the answer: 14 calendar days after the day of filing (Europe/Warsaw).
pub fn deadline_day(filed: DateTime<Utc>) -> NaiveDate {
    local_date(filed) + Duration::days(ANSWER_DAYS)
}

/// The instant the deadline passes: the start of the day after the last day.
pub fn deadline_at(filed: DateTime<Utc>) -> i64 {
    let next = deadline_day(filed) + Duration::days(1);
    local_to_utc(next.and_time(NaiveTime::MIN))
        .unwrap_or(filed + Duration::days(ANSWER_DAYS + 1))
        .timestamp()
}

pub fn reference(c: &ComplaintRow) -> String {
    format!("RK-{}", c.number)
}

fn notice(tenant: &TenantCtx, c: &ComplaintRow) -> ComplaintNotice {
    let filed = DateTime::from_timestamp(c.filed_at, 0).unwrap_or_default();
    ComplaintNotice {
        city: tenant.cfg.name.clone(),
        from: tenant.cfg.branding.email_from.clone(),
        brand: crate::booking::brand(tenant),
        date_format: tenant.cfg.messages.date_format,
        reference: reference(c),
        filed_local: to_local(filed),
        deadline: deadline_day(filed),
    }
}

/// A complaint as staff and the data export see it.
pub fn complaint_json(app: &App, c: &ComplaintRow) -> Value {
    let ts = |t: i64| {
        DateTime::from_timestamp(t, 0)
            .unwrap_or_default()
            .to_rfc3339()
    };
    let filed = DateTime::from_timestamp(c.filed_at, 0).unwrap_or_default();
    json!({
        "reference": reference(c),
        "channel": c.channel,
        "status": c.status,
        "text": c.body,
        "contactEmail": c.contact_email,
        "bookingCode": c.booking_code,
        "filedAt": ts(c.filed_at),
        "deadline": deadline_day(filed).to_string(),
        "overdue": is_overdue(c, app.clock.now().timestamp()),
        "answer": c.answer,
        "answeredAt": c.answered_at.map(ts),
        "closedAt": c.closed_at.map(ts),
    })
}

pub fn is_overdue(c: &ComplaintRow, now: i64) -> bool {
    c.status == "open" && c.deadline_at <= now
}

/// What a complaint says, as typed.
#[derive(Debug, Clone, Default)]
pub struct Filing {
    pub text: String,
    pub contact_email: Option<String>,
    pub booking_code: Option<String>,
}

/// Files a complaint: online (`staff` None) or registered by staff. With a contact address,
/// the acknowledgement with its reference and deadline is e-mailed. A booking code is linked
/// to the tenant's booking when one has it; an unknown code is kept as given (it tells
/// nobody which codes exist).
pub async fn file(
    app: &App,
    tenant: &TenantCtx,
    staff: Option<&StaffRef>,
    channel: Channel,
    f: Filing,
) -> ApiResult<ComplaintRow> {
    let body = f.text.trim().to_string();
    let n = body.chars().count();
    if n < MIN_TEXT {
        return Err(DomainError::invalid("text", "opisz sprawę (co najmniej 10 znaków)").into());
    }
    if n > MAX_TEXT {
        return Err(DomainError::invalid("text", "za długie (najwyżej 5000 znaków)").into());
    }
    if body
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(DomainError::invalid("text", "zawiera niedozwolone znaki").into());
    }
    let contact_email = match f.contact_email.as_deref().map(str::trim) {
        Some(e) if !e.is_empty() => Some(validate::email("contactEmail", e)?),
        _ => None,
    };
    let booking_code = match f.booking_code.as_deref().map(normalise_code) {
        Some(c) if !c.is_empty() => {
            if c.chars().count() > 16 || !c.chars().all(|x| x.is_ascii_alphanumeric()) {
                return Err(
                    DomainError::invalid("bookingCode", "niepoprawny kod rezerwacji").into(),
                );
            }
            Some(c)
        }
        _ => None,
    };
    let now = app.clock.now();
    let actor = staff.map(staff_actor);
    let c = NewComplaint {
        channel: channel.as_str(),
        body,
        contact_email: contact_email.clone(),
        booking_code: booking_code.clone(),
        filed_by: actor.clone(),
        deadline_at: deadline_at(now),
    };
    let audit = actor.as_ref().map(|a| {
        NewAudit::new(a, "complaint.file", "").after(
            json!({ "channel": channel.as_str(), "booking_code": booking_code, "contact": contact_email.is_some() })
                .to_string(),
        )
    });
    let render = |row: &ComplaintRow| {
        row.contact_email
            .iter()
            .map(|to| email_msg(to, &notice(tenant, row).received(to)))
            .collect()
    };
    let row = store::file_complaint(
        &app.db,
        tenant.id,
        &c,
        render,
        audit.as_ref(),
        now.timestamp(),
    )
    .await?;
    app.outbox_wake.notify_one();
    tracing::info!(tenant = %tenant.slug, complaint = %reference(&row), "complaint filed");
    Ok(row)
}

pub async fn by_id(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<ComplaintRow> {
    store::complaint_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or_else(|| ApiError::Domain(DomainError::NotFound))
}

fn not_open(c: &ComplaintRow) -> DomainError {
    DomainError::ChangeNotAllowed(match (c.erased_at, c.status.as_str()) {
        (Some(_), _) => "dane tej reklamacji zostały usunięte.".into(),
        (_, "answered") => "na tę reklamację już odpowiedziano.".into(),
        _ => "reklamacja jest zamknięta.".into(),
    })
}

/// Answers an open complaint; the answer is e-mailed to its contact address.
pub async fn answer(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    id: i64,
    text: &str,
) -> ApiResult<ComplaintRow> {
    let text = check_text("answer", text, 1, MAX_ANSWER)?;
    let c = by_id(app, tenant, id).await?;
    if c.status != "open" || c.erased_at.is_some() {
        return Err(not_open(&c).into());
    }
    let actor = staff_actor(staff);
    let messages: Vec<_> = c
        .contact_email
        .iter()
        .map(|to| email_msg(to, &notice(tenant, &c).answered(to, &text)))
        .collect();
    let now = app.clock.now().timestamp();
    let audit = NewAudit::new(&actor, "complaint.answer", &format!("complaint:{id}"))
        .before(json!({ "status": c.status }).to_string())
        .after(json!({ "status": "answered", "overdue": is_overdue(&c, now) }).to_string());
    match store::answer_complaint(
        &app.db, tenant.id, id, &text, &actor, &messages, &audit, now,
    )
    .await
    {
        Ok(row) => {
            app.outbox_wake.notify_one();
            Ok(row)
        }
        Err(StoreError::Conflict) => Err(not_open(&by_id(app, tenant, id).await?).into()),
        Err(e) => Err(e.into()),
    }
}

/// Closes a complaint (answered, or settled otherwise).
pub async fn close(
    app: &App,
    tenant: &TenantCtx,
    staff: &StaffRef,
    id: i64,
) -> ApiResult<ComplaintRow> {
    let c = by_id(app, tenant, id).await?;
    let actor = staff_actor(staff);
    let audit = NewAudit::new(&actor, "complaint.close", &format!("complaint:{id}"))
        .before(json!({ "status": c.status }).to_string())
        .after(json!({ "status": "closed" }).to_string());
    match store::close_complaint(&app.db, tenant.id, id, &audit, app.clock.now().timestamp()).await
    {
        Ok(row) => Ok(row),
        Err(StoreError::Conflict) => {
            Err(DomainError::ChangeNotAllowed("reklamacja jest już zamknięta.".into()).into())
        }
        Err(e) => Err(e.into()),
    }
}
