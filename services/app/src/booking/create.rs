//! Making a booking (W-1…W-5, GD-7): a sequence of named steps, from checking the request to
//! writing the booking's history.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use okienko_domain::booking::{BookingStatus, Quota};
use okienko_domain::calendar::{check_slot, to_local, Slot};
use okienko_domain::config::{ConfirmationMode, FieldSpec};
use okienko_domain::DomainError;
use okienko_store::{self as store, BookingRow, NewBooking, NewOutbox, StoreError};
use serde_json::Value;

use super::messages::{confirm_url, email_msg, manage_url, sms_msg, token_of, visit, BookingLike};
use super::types::{mode_str, service_by_id, CodeChannel, CreateRequest, CreatedBooking};
use super::validate::{validate_client, validate_consents, validate_fields};
use crate::catalog::{ServiceCtx, TenantCtx};
use crate::client::ClientData;
use crate::error::ApiResult;
use crate::history;
use crate::oidc::Identity;
use crate::policy_host;
use crate::tokens;
use crate::App;

/// Makes a booking: checks the request, resolves who the client is, runs the city's policy,
/// issues the booking's secrets, takes the seat and stores the booking with its messages and
/// its history, in one transaction. A retried request (same idempotency key) gets its first answer.
pub async fn create(app: &App, tenant: &TenantCtx, r: CreateRequest) -> ApiResult<CreatedBooking> {
    create_as(app, tenant, r, None).await
}

/// Makes a booking for the person logged in with the city's resident card on its pages
/// (GD-5, `oidc`): the same steps as [`create`], the booking's source `resident_card` as for a
/// resident token, and the client's data those of the login; only a field the login's claims
/// lack (an optional phone, say) is taken from the request. The identity was verified when
/// the login finished and is read from its signed cookie by the caller.
pub async fn create_logged_in(
    app: &App,
    tenant: &TenantCtx,
    r: CreateRequest,
    identity: &Identity,
) -> ApiResult<CreatedBooking> {
    create_as(app, tenant, r, Some(identity)).await
}

async fn create_as(
    app: &App,
    tenant: &TenantCtx,
    r: CreateRequest,
    login: Option<&Identity>,
) -> ApiResult<CreatedBooking> {
    let service = check_request(tenant, &r)?;
    let now = app.clock.now();
    let (source, client) = resolve_client(app, tenant, &r, login, now).await?;
    let form = check_form(app, tenant, service, &r, &client, now).await?;
    let request_hash = request_hash(service, &r, &client, &form);
    // A retried request gets its first answer before any rule runs again: the first booking
    // itself now counts against the client's limits.
    if let Some(first) = earlier_answer(app, tenant, &r, &request_hash).await? {
        return Ok(first);
    }
    let verdict = run_policy(app, tenant, service, source, client, &form, now).await?;
    let secrets = Secrets::issue(app, tenant, r.channel, now);
    let stored = take_seat_and_store(
        app,
        tenant,
        service,
        &r,
        source,
        &form,
        &verdict,
        &secrets,
        &request_hash,
        now,
    )
    .await?;
    match stored {
        Stored::Replayed(b) => replay(app, tenant, b),
        Stored::New(b) => {
            app.metrics.booking_created(tenant, "online");
            record_created(app, tenant, &b, &secrets);
            Ok(CreatedBooking {
                booking: b,
                token: secrets.token,
                replayed: false,
            })
        }
    }
}

/// Step 1: the service exists and is bookable; the idempotency key, if any, is sound.
fn check_request<'a>(tenant: &'a TenantCtx, r: &CreateRequest) -> ApiResult<&'a ServiceCtx> {
    let service = service_by_id(tenant, &r.service_id)?;
    if !service.cfg.bookable {
        return Err(DomainError::NotBookable.into());
    }
    if let Some(k) = &r.idempotency_key {
        if k.is_empty() || k.len() > 128 {
            return Err(DomainError::invalid("idempotencyKey", "od 1 do 128 znaków").into());
        }
    }
    Ok(service)
}

/// Step 2: who the client is: the data sent, or those of a resident-card login (GD-5: a
/// resident token, or the login on the city's pages), validated against the city's required
/// fields; and the booking's source.
async fn resolve_client(
    app: &App,
    tenant: &TenantCtx,
    r: &CreateRequest,
    login: Option<&Identity>,
    now: DateTime<Utc>,
) -> ApiResult<(&'static str, ClientData)> {
    let source = if r.resident_token.is_some() || login.is_some() {
        "resident_card"
    } else {
        "online"
    };
    let raw_client = match (login, &r.resident_token) {
        (Some(id), _) => {
            let c = id.client();
            ClientData {
                name: c.name,
                email: c.email.or_else(|| r.client.email.clone()),
                phone: c.phone.or_else(|| r.client.phone.clone()),
            }
        }
        (None, Some(token)) => resident_client(app, tenant, token, now).await?,
        (None, None) => r.client.clone(),
    };
    Ok((source, validate_client(tenant, &raw_client)?))
}

/// What the form of a booking holds once checked.
struct Form {
    specs: Vec<FieldSpec>,
    fields: Vec<(String, String)>,
    consents: Vec<(String, String)>,
    slot: Slot,
    mode: ConfirmationMode,
}

/// Step 3: the service's form fields (the policy may add some), the consents, the slot (in
/// the booking window, open), and the channel of the confirmation code.
async fn check_form(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    r: &CreateRequest,
    client: &ClientData,
    now: DateTime<Utc>,
) -> ApiResult<Form> {
    let specs = policy_host::form_fields(&app.policies, tenant, service).await?;
    let fields = validate_fields(&specs, &r.fields)?;
    let consents = validate_consents(tenant, r)?;
    let slot = check_slot(&tenant.cfg.booking, &tenant.calendar(service), now, r.start)?;
    let mode = tenant.cfg.confirmation.mode;
    if mode == ConfirmationMode::EmailCode && r.channel == CodeChannel::Sms {
        if !tenant.cfg.confirmation.sms_option {
            return Err(DomainError::SmsNotOffered.into());
        }
        if client.phone.is_none() {
            return Err(DomainError::SmsNeedsPhone.into());
        }
    }
    Ok(Form {
        specs,
        fields,
        consents,
        slot,
        mode,
    })
}

/// What a retried request must repeat to get the first answer.
fn request_hash(
    service: &ServiceCtx,
    r: &CreateRequest,
    client: &ClientData,
    form: &Form,
) -> String {
    tokens::hash(
        &serde_json::json!([
            service.id,
            form.slot.start.timestamp(),
            client,
            &form.fields,
            &form.consents,
            r.accepted_terms_version,
            r.channel
        ])
        .to_string(),
    )
}

/// Step 4: the answer already given to this idempotency key, if any (a different request
/// under the same key is a conflict).
async fn earlier_answer(
    app: &App,
    tenant: &TenantCtx,
    r: &CreateRequest,
    request_hash: &str,
) -> ApiResult<Option<CreatedBooking>> {
    let Some(key) = &r.idempotency_key else {
        return Ok(None);
    };
    match store::booking_by_idempotency_key(&app.db, tenant.id, key).await? {
        Some(existing) if existing.request_hash.as_deref() != Some(request_hash) => {
            Err(DomainError::IdempotencyConflict.into())
        }
        Some(existing) => replay(app, tenant, existing).map(Some),
        None => Ok(None),
    }
}

/// What the city's policy made of the booking.
struct Verdict {
    identities: Vec<policy_host::Identity>,
    client: ClientData,
    fields: Vec<(String, String)>,
}

/// Step 5: the city's rules (P-6): the client's identities, their history, then the verdict,
/// which may refuse the booking or normalise its data.
async fn run_policy(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    source: &str,
    client: ClientData,
    form: &Form,
    now: DateTime<Utc>,
) -> ApiResult<Verdict> {
    let mut ctx = policy_host::booking_ctx(
        tenant,
        service,
        source,
        &client,
        &form.fields,
        form.slot.start,
        now,
    );
    let identities = policy_host::identities(&app.policies, &app.secret, tenant, &ctx).await?;
    ctx["history"] = policy_host::history(&app.db, tenant, &identities, now).await?;
    let fields = form.fields.clone();
    let (client, fields) = match app
        .policies
        .call(tenant.id, "validate_booking", ctx)
        .await?
    {
        Some(Value::Object(changes)) => {
            apply_changes(tenant, &form.specs, client, fields, &changes)?
        }
        _ => (client, fields),
    };
    Ok(Verdict {
        identities,
        client,
        fields,
    })
}

/// The booking's secrets: its management token, and what confirms it under the city's mode.
struct Secrets {
    nonce: String,
    token: String,
    manage_hash: String,
    expires: DateTime<Utc>,
    status: BookingStatus,
    confirm_channel: Option<&'static str>,
    secret_hash: Option<String>,
    /// The confirmation link's token (e-mail link mode).
    confirm_link: Option<String>,
    /// The confirmation code in clear (code mode), for its message only.
    code_plain: Option<String>,
}

impl Secrets {
    /// Step 6: the management token, and the link or code that confirms a pending booking.
    fn issue(app: &App, tenant: &TenantCtx, channel: CodeChannel, now: DateTime<Utc>) -> Secrets {
        let nonce = tokens::manage_nonce();
        let token = tokens::manage_token(&app.secret, tenant.id.0, &nonce);
        let manage_hash = tokens::hash(&token);
        let ttl = Duration::minutes(i64::from(tenant.cfg.confirmation.ttl_minutes));
        let expires = now + ttl;
        let mut confirm_link = None;
        let (status, confirm_channel, secret_hash, code_plain) = match tenant.cfg.confirmation.mode
        {
            ConfirmationMode::Immediate => (BookingStatus::Confirmed, None, None, None),
            ConfirmationMode::EmailLink => {
                let t = tokens::random_token();
                let h = tokens::hash(&t);
                confirm_link = Some(t);
                (BookingStatus::Pending, Some("email"), Some(h), None)
            }
            ConfirmationMode::EmailCode => {
                let c = tokens::numeric_code();
                let ch = if channel == CodeChannel::Sms {
                    "sms"
                } else {
                    "email"
                };
                (
                    BookingStatus::Pending,
                    Some(ch),
                    Some(tokens::code_hash(&manage_hash, &c)),
                    Some(c),
                )
            }
        };
        Secrets {
            nonce,
            token,
            manage_hash,
            expires,
            status,
            confirm_channel,
            secret_hash,
            confirm_link,
            code_plain,
        }
    }
}

/// What storing gave: a new booking, or the one a concurrent retry stored first.
enum Stored {
    New(BookingRow),
    Replayed(BookingRow),
}

/// Step 7: takes the seat and stores the booking with its messages and its `created` event
/// in one transaction, under a fresh human code (another is drawn when the code is taken).
#[allow(clippy::too_many_arguments)]
async fn take_seat_and_store(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    r: &CreateRequest,
    source: &'static str,
    form: &Form,
    verdict: &Verdict,
    secrets: &Secrets,
    request_hash: &str,
    now: DateTime<Utc>,
) -> ApiResult<Stored> {
    let client = &verdict.client;
    let mut last_err = None;
    for _ in 0..5 {
        let code = tokens::human_code();
        let like = BookingLike {
            code: &code,
            slot_start: form.slot.start.timestamp(),
            slot_end: form.slot.end.timestamp(),
            client_name: client.name.as_deref(),
            client_phone: client.phone.as_deref(),
            token: Some(secrets.token.clone()),
        };
        let messages = messages_of(
            app, tenant, service, &like, r.channel, form.mode, client, secrets,
        );
        let nb = NewBooking {
            tenant: tenant.id,
            service_id: service.id,
            code: code.clone(),
            status: secrets.status.as_str(),
            quota: Quota::Online.as_str(),
            source,
            slot_start: form.slot.start.timestamp(),
            slot_end: form.slot.end.timestamp(),
            client_name: client.name.clone(),
            client_email: client.email.clone(),
            client_phone: client.phone.clone(),
            fields_json: serde_json::to_string(
                &verdict.fields.iter().cloned().collect::<HashMap<_, _>>(),
            )
            .unwrap_or_default(),
            terms_version: tenant.cfg.terms.version.clone(),
            consents_json: serde_json::to_string(&form.consents).unwrap_or_default(),
            confirmation_mode: mode_str(form.mode),
            confirm_channel: secrets.confirm_channel,
            confirm_secret_hash: secrets.secret_hash.clone(),
            confirm_expires_at: (secrets.status == BookingStatus::Pending)
                .then_some(secrets.expires.timestamp()),
            confirmed_at: (secrets.status == BookingStatus::Confirmed).then_some(now.timestamp()),
            manage_token_hash: secrets.manage_hash.clone(),
            manage_nonce: Some(secrets.nonce.clone()),
            idempotency_key: r.idempotency_key.clone(),
            request_hash: Some(request_hash.to_string()),
            identities: verdict
                .identities
                .iter()
                .map(|i| (i.kind.clone(), i.hash.clone()))
                .collect(),
            now: now.timestamp(),
        };
        // The booking's history starts in its own transaction.
        let created =
            history::created_event_of(&nb.code, nb.source, nb.quota, nb.status, history::CLIENT);
        match store::create_booking_with_events(
            &app.db,
            &nb,
            i64::from(service.cfg.capacity_online),
            &messages,
            std::slice::from_ref(&created),
        )
        .await
        {
            Ok(created) if created.replayed => {
                if created.booking.request_hash.as_deref() != Some(request_hash) {
                    return Err(DomainError::IdempotencyConflict.into());
                }
                return Ok(Stored::Replayed(created.booking));
            }
            Ok(created) => return Ok(Stored::New(created.booking)),
            Err(StoreError::Unique("code")) => {
                last_err = Some(StoreError::Unique("code"));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err.unwrap_or(StoreError::Conflict).into())
}

/// The messages queued with the booking: its confirmation, or the link or code that confirms
/// it (by SMS when the client chose so).
#[allow(clippy::too_many_arguments)]
fn messages_of(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    like: &BookingLike<'_>,
    channel: CodeChannel,
    mode: ConfirmationMode,
    client: &ClientData,
    secrets: &Secrets,
) -> Vec<NewOutbox> {
    let v = visit(app, tenant, service, like);
    let until_local = to_local(secrets.expires);
    let mut messages = Vec::new();
    match (mode, &client.email) {
        (ConfirmationMode::Immediate, Some(to)) => messages.push(email_msg(to, &v.confirmed(to))),
        (ConfirmationMode::EmailLink, Some(to)) => {
            let url = confirm_url(
                app,
                tenant,
                secrets.confirm_link.as_deref().unwrap_or_default(),
            );
            messages.push(email_msg(to, &v.confirm_by_link(to, &url, until_local)));
        }
        (ConfirmationMode::EmailCode, Some(to)) => {
            let c = secrets.code_plain.as_deref().unwrap_or_default();
            match (channel, &client.phone) {
                (CodeChannel::Sms, Some(p)) => {
                    messages.push(sms_msg(&v.code_sms(p, c, until_local)))
                }
                _ => messages.push(email_msg(to, &v.confirm_by_code(to, c, until_local))),
            }
        }
        _ => {}
    }
    messages
}

/// Step 8: wakes the outbox worker for the messages, logs the booking (its history was
/// written with it).
fn record_created(app: &App, tenant: &TenantCtx, b: &BookingRow, secrets: &Secrets) {
    app.outbox_wake.notify_one();
    log_created(
        app,
        tenant,
        b,
        &secrets.token,
        secrets.confirm_link.as_deref(),
    );
}

/// Logs a new booking. Its links carry secrets: they are logged only while e-mail is written
/// to files (trying the product out, `ApiSettings::log_links`), never with SMTP configured.
pub(crate) fn log_created(
    app: &App,
    tenant: &TenantCtx,
    b: &BookingRow,
    token: &str,
    confirm_token: Option<&str>,
) {
    if app.settings.log_links {
        tracing::info!(
            tenant = %tenant.slug,
            booking = %b.code,
            manage_url = %manage_url(app, tenant, token),
            confirm_url = confirm_token.map(|t| confirm_url(app, tenant, t)).unwrap_or_default(),
            "booking created"
        );
    } else {
        tracing::info!(tenant = %tenant.slug, booking = %b.code, "booking created");
    }
}

/// The first request's answer for a retried one: its booking and the same token.
pub(crate) fn replay(
    app: &App,
    tenant: &TenantCtx,
    existing: BookingRow,
) -> ApiResult<CreatedBooking> {
    let token = token_of(app, tenant, &existing).ok_or_else(|| {
        tracing::error!(tenant = %tenant.slug, booking = %existing.code, "replayed booking's token cannot be derived");
        DomainError::Internal
    })?;
    Ok(CreatedBooking {
        booking: existing,
        token,
        replayed: true,
    })
}

/// The client's data from a resident-card login: the city's `map_claims`, or the common
/// OpenID claims when the city has no such hook.
pub(crate) async fn resident_client(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    now: DateTime<Utc>,
) -> ApiResult<ClientData> {
    let rc = tenant
        .cfg
        .resident_card
        .as_ref()
        .ok_or(DomainError::ResidentCardNotOffered)?;
    let claims = app.resident.claims(rc, token, now).await?;
    let ctx =
        serde_json::json!({ "claims": claims, "settings": policy_host::settings_json(tenant) });
    let mapped = app.policies.call(tenant.id, "map_claims", ctx).await?.unwrap_or_else(|| {
        let c = |k: &str| claims.get(k).cloned().unwrap_or(Value::Null);
        serde_json::json!({ "name": c("name"), "email": c("email"), "phone": c("phone_number") })
    });
    let text = |k: &str| mapped.get(k).and_then(Value::as_str).map(str::to_string);
    Ok(ClientData {
        name: text("name"),
        email: text("email"),
        phone: text("phone"),
    })
}

/// Applies the normalised values a `validate_booking` hook returned, validated again.
pub(crate) fn apply_changes(
    tenant: &TenantCtx,
    specs: &[FieldSpec],
    client: ClientData,
    fields: Vec<(String, String)>,
    changes: &serde_json::Map<String, Value>,
) -> Result<(ClientData, Vec<(String, String)>), DomainError> {
    let mut client = client;
    if let Some(Value::Object(c)) = changes.get("client") {
        let pick = |k: &str, old: Option<String>| match c.get(k) {
            Some(Value::String(v)) => Some(v.clone()),
            Some(Value::Null) => None,
            _ => old,
        };
        client = ClientData {
            name: pick("name", client.name),
            email: pick("email", client.email),
            phone: pick("phone", client.phone),
        };
        client = validate_client(tenant, &client)?;
    }
    let mut fields = fields;
    if let Some(Value::Object(f)) = changes.get("fields") {
        let mut given: Vec<(String, String)> = fields.clone();
        for (k, v) in f {
            if let Some(v) = v.as_str() {
                given.retain(|(key, _)| key != k);
                given.push((k.clone(), v.to_string()));
            }
        }
        fields = validate_fields(specs, &given)?;
    }
    Ok((client, fields))
}
