//! Looking a booking up by its token, confirming it (link or code) and cancelling it.

use chrono::{DateTime, Utc};
use okienko_domain::booking::BookingStatus;
use okienko_domain::calendar::local_date;
use okienko_domain::config::{CancellationCutoff, ConfirmationMode};
use okienko_domain::DomainError;
use okienko_notify::Visit;
use okienko_store::{self as store, BookingRow, StoreError};

use super::expiry::{expire_one, release, seat_back_at};
use super::messages::mail_to_client;
use super::types::{status_of, MAX_CODE_ATTEMPTS};
use crate::catalog::TenantCtx;
use crate::error::ApiResult;
use crate::history;
use crate::tokens;
use crate::App;

// ---------------------------------------------------------------------------------------------
// Look up, confirm, cancel

/// The booking a management token belongs to, in this tenant only.
pub async fn by_token(app: &App, tenant: &TenantCtx, token: &str) -> ApiResult<BookingRow> {
    if token.is_empty() || token.len() > 200 {
        return Err(DomainError::InvalidToken.into());
    }
    store::booking_by_manage_hash(&app.db, tenant.id, &tokens::hash(token))
        .await?
        .ok_or_else(|| DomainError::InvalidToken.into())
}

/// Confirms a pending booking: by the e-mailed link's token (`code` absent), or by the
/// management token with the code sent by e-mail or SMS.
pub async fn confirm(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    code: Option<&str>,
) -> ApiResult<BookingRow> {
    let now = app.clock.now();
    let b = match tenant.cfg.confirmation.mode {
        ConfirmationMode::Immediate => {
            let b = by_token(app, tenant, token).await?;
            return match status_of(&b) {
                BookingStatus::Confirmed => Ok(b),
                _ => Err(refusal_for(&b).into()),
            };
        }
        ConfirmationMode::EmailLink => {
            if token.is_empty() || token.len() > 200 {
                return Err(DomainError::InvalidToken.into());
            }
            store::booking_by_confirm_hash(&app.db, tenant.id, &tokens::hash(token))
                .await?
                .ok_or(DomainError::InvalidToken)?
        }
        ConfirmationMode::EmailCode => {
            let b = by_token(app, tenant, token).await?;
            let code = code
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .ok_or_else(|| DomainError::invalid("code", "wpisz kod z wiadomości"))?;
            if b.confirm_attempts >= MAX_CODE_ATTEMPTS {
                return Err(DomainError::CodeLocked.into());
            }
            check_open(app, tenant, &b, now).await?;
            let want = b.confirm_secret_hash.as_deref().unwrap_or_default();
            if code.len() > 16
                || !tokens::same(&tokens::code_hash(&b.manage_token_hash, code), want)
            {
                let attempts =
                    store::count_failed_code(&app.db, tenant.id, b.id, now.timestamp()).await?;
                if attempts >= MAX_CODE_ATTEMPTS {
                    release_locked(app, tenant, &b).await?;
                    return Err(DomainError::CodeLocked.into());
                }
                return Err(DomainError::InvalidCode {
                    remaining: (MAX_CODE_ATTEMPTS - attempts) as u32,
                }
                .into());
            }
            b
        }
    };
    check_open(app, tenant, &b, now).await?;
    if status_of(&b) == BookingStatus::Confirmed {
        return Ok(b);
    }
    let messages = mail_to_client(app, tenant, &b, Visit::confirmed);
    match store::confirm_booking(&app.db, tenant.id, b.id, now.timestamp(), &messages).await {
        Ok(row) => {
            app.metrics.booking_confirmed(tenant);
            history::changed(
                app,
                tenant.id,
                row.id,
                history::CONFIRMED,
                history::CLIENT,
                None,
            )
            .await;
            Ok(row)
        }
        Err(StoreError::Conflict) => {
            let fresh = as_now(app, tenant, b.id).await?;
            match status_of(&fresh) {
                BookingStatus::Confirmed => Ok(fresh),
                _ => Err(refusal_for(&fresh).into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// The booking as it is now, after a conditional change found it changed meanwhile.
async fn as_now(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<BookingRow> {
    Ok(store::booking_by_id(&app.db, tenant.id, id)
        .await?
        .ok_or(DomainError::NotFound)?)
}

/// A booking whose code can no longer be typed can never be confirmed: it is cancelled and
/// its seat given back at once, not held until it expires. Two wrong codes at once release it
/// once (the change is conditional).
pub(crate) async fn release_locked(app: &App, tenant: &TenantCtx, b: &BookingRow) -> ApiResult<()> {
    let detail = serde_json::json!({ "reason": "code_locked" });
    release(
        app,
        tenant,
        b,
        Visit::code_locked,
        (BookingStatus::Cancelled, "confirmation code locked"),
        history::CANCELLED,
        Some(detail),
    )
    .await?;
    Ok(())
}

/// Refuses a booking that can no longer be confirmed; a pending one past its limit is
/// expired on the spot (the worker would do it soon anyway).
pub(crate) async fn check_open(
    app: &App,
    tenant: &TenantCtx,
    b: &BookingRow,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    match status_of(b) {
        BookingStatus::Pending => {
            if b.confirm_expires_at.is_some_and(|t| t <= now.timestamp()) {
                expire_one(app, tenant, b.id).await?;
                return Err(DomainError::BookingExpired.into());
            }
            Ok(())
        }
        BookingStatus::Confirmed => Ok(()),
        _ => Err(refusal_for(b).into()),
    }
}

pub fn refusal_for(b: &BookingRow) -> DomainError {
    match status_of(b) {
        BookingStatus::Cancelled | BookingStatus::Rejected => DomainError::AlreadyCancelled,
        BookingStatus::Expired => DomainError::BookingExpired,
        BookingStatus::Confirmed => DomainError::AlreadyConfirmed,
        BookingStatus::Pending => DomainError::NotPending,
    }
}

/// Until when the client may cancel (GD-13: the day before; elsewhere until the start).
pub fn cancellable_until(tenant: &TenantCtx, b: &BookingRow) -> DateTime<Utc> {
    let start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    match tenant.cfg.booking.cancellation_cutoff {
        CancellationCutoff::SlotStart => start,
        CancellationCutoff::DayBefore => okienko_domain::calendar::local_to_utc(
            local_date(start).and_time(chrono::NaiveTime::MIN),
        )
        .unwrap_or(start),
    }
}

pub async fn cancel(app: &App, tenant: &TenantCtx, token: &str) -> ApiResult<BookingRow> {
    let b = by_token(app, tenant, token).await?;
    let now = app.clock.now();
    if !status_of(&b).holds_seat() {
        return Err(refusal_for(&b).into());
    }
    let until = cancellable_until(tenant, &b);
    if now >= until {
        let why = match tenant.cfg.booking.cancellation_cutoff {
            CancellationCutoff::DayBefore => {
                "wizytę można odwołać najpóźniej w dniu poprzedzającym wizytę."
            }
            CancellationCutoff::SlotStart => "termin wizyty już się rozpoczął.",
        };
        return Err(DomainError::CancellationClosed(why.into()).into());
    }
    let messages = mail_to_client(app, tenant, &b, Visit::cancelled);
    match store::release_booking_at(
        &app.db,
        tenant.id,
        b.id,
        BookingStatus::Cancelled.as_str(),
        Some("client"),
        now.timestamp(),
        seat_back_at(tenant, now),
        &messages,
    )
    .await
    {
        Ok(row) => {
            app.metrics.booking_cancelled(&tenant.slug, "client");
            history::changed(
                app,
                tenant.id,
                row.id,
                history::CANCELLED,
                history::CLIENT,
                None,
            )
            .await;
            Ok(row)
        }
        Err(StoreError::Conflict) => Err(refusal_for(&as_now(app, tenant, b.id).await?).into()),
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
