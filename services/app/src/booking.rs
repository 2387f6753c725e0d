//! The booking use cases: availability, create, confirm, look up, cancel, expire.
//! Shared by every API surface; each takes the tenant it acts for.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use okienko_domain::booking::{BookingStatus, Quota};
use okienko_domain::calendar::{check_slot, local_date, to_local, BookingWindow, DayClosed};
use okienko_domain::config::{CancellationCutoff, ClientField, ConfirmationMode, FieldSpec};
use okienko_domain::{validate, DomainError};
use okienko_notify::{Message, Visit};
use okienko_store::{self as store, BookingRow, NewBooking, NewOutbox, StoreError};
use serde::Serialize;
use serde_json::Value;

use crate::catalog::{ServiceCtx, TenantCtx};
use crate::error::{ApiError, ApiResult};
use crate::history;
use crate::policy_host;
use crate::tokens;
use crate::App;

/// After this many wrong codes a booking can no longer be confirmed by code.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// The longest availability range one request may ask for.
pub const MAX_RANGE_DAYS: i64 = 62;
const MAX_FIELDS: usize = 20;

pub use crate::client::ClientData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum CodeChannel {
    Email,
    Sms,
}

#[derive(Debug, Clone)]
pub struct CreateRequest {
    pub service_id: String,
    pub start: DateTime<Utc>,
    pub client: ClientData,
    pub fields: Vec<(String, String)>,
    pub accepted_terms_version: String,
    pub consents: Vec<String>,
    pub channel: CodeChannel,
    pub idempotency_key: Option<String>,
    /// A resident-card login (GD-5): the client's data come from its claims.
    pub resident_token: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreatedBooking {
    pub booking: BookingRow,
    pub token: String,
    pub replayed: bool,
}

pub fn service_by_id<'a>(tenant: &'a TenantCtx, id: &str) -> Result<&'a ServiceCtx, DomainError> {
    id.trim()
        .parse::<i64>()
        .ok()
        .and_then(|n| tenant.service(n))
        .ok_or(DomainError::NotFound)
}

// ---------------------------------------------------------------------------------------------
// Availability

#[derive(Debug, Clone)]
pub struct DaySlots {
    pub date: NaiveDate,
    /// Why the day has no slots, in Polish.
    pub closed: Option<String>,
    pub slots: Vec<SlotSeats>,
}

#[derive(Debug, Clone, Copy)]
pub struct SlotSeats {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub remaining: i64,
}

/// The days of `[from, to]` with their slots and remaining online seats.
pub async fn availability(
    app: &App,
    tenant: &TenantCtx,
    service_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> ApiResult<Vec<DaySlots>> {
    availability_of(app, tenant, service_id, from, to, Quota::Online).await
}

/// The days of `[from, to]` with their slots and the seats remaining in `quota` (staff
/// bookings draw on their own, P-3).
pub async fn availability_of(
    app: &App,
    tenant: &TenantCtx,
    service_id: &str,
    from: NaiveDate,
    to: NaiveDate,
    quota: Quota,
) -> ApiResult<Vec<DaySlots>> {
    let service = service_by_id(tenant, service_id)?;
    if !service.cfg.bookable {
        return Err(DomainError::NotBookable.into());
    }
    if to < from {
        return Err(DomainError::InvalidRange("data końcowa jest przed początkową".into()).into());
    }
    if (to - from).num_days() >= MAX_RANGE_DAYS {
        return Err(DomainError::InvalidRange(format!(
            "najwyżej {MAX_RANGE_DAYS} dni w jednym zapytaniu"
        ))
        .into());
    }
    let now = app.clock.now();
    let cal = tenant.calendar(service);
    let window = BookingWindow::compute(&tenant.cfg.booking, &cal, now);
    let mut days = Vec::new();
    let mut d = from;
    while d <= to {
        let mut day = DaySlots {
            date: d,
            closed: None,
            slots: Vec::new(),
        };
        if !window.contains_day(d) {
            day.closed = Some("Poza okresem, w którym można rezerwować".into());
        } else {
            match cal.closed(d) {
                Some(DayClosed::Holiday(name)) => day.closed = Some(format!("Święto: {name}")),
                Some(DayClosed::Closure) => day.closed = Some("Urząd nieczynny".into()),
                Some(DayClosed::NoHours) => day.closed = Some("Brak godzin przyjęć".into()),
                None => {
                    day.slots = cal
                        .slots_on(d)
                        .into_iter()
                        .filter(|s| s.start >= window.earliest && s.start > now)
                        .map(|s| SlotSeats {
                            start: s.start,
                            end: s.end,
                            remaining: 0,
                        })
                        .collect();
                }
            }
        }
        days.push(day);
        match d.succ_opt() {
            Some(next) => d = next,
            None => break,
        }
    }
    let (Some(first), Some(last)) = (
        days.iter()
            .flat_map(|d| d.slots.first())
            .next()
            .map(|s| s.start),
        days.iter()
            .rev()
            .flat_map(|d| d.slots.last())
            .next()
            .map(|s| s.start),
    ) else {
        return Ok(days);
    };
    let used = app
        .usage_cache
        .slot_usage(
            &app.db,
            tenant.id,
            service.id,
            quota.as_str(),
            first.timestamp(),
            last.timestamp() + 1,
        )
        .await?;
    let capacity = i64::from(match quota {
        Quota::Online => service.cfg.capacity_online,
        Quota::Staff => service.cfg.capacity_staff,
    });
    for day in &mut days {
        for s in &mut day.slots {
            let taken = used.get(&s.start.timestamp()).copied().unwrap_or(0);
            s.remaining = (capacity - taken).max(0);
        }
    }
    Ok(days)
}

// ---------------------------------------------------------------------------------------------
// Create

fn validate_client(tenant: &TenantCtx, c: &ClientData) -> Result<ClientData, DomainError> {
    let required = &tenant.cfg.booking.required_client_fields;
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let (name, email, phone) = (opt(&c.name), opt(&c.email), opt(&c.phone));
    let need = |f: ClientField, v: &Option<String>, key: &str| {
        if required.contains(&f) && v.is_none() {
            Err(DomainError::invalid(key, "pole jest wymagane"))
        } else {
            Ok(())
        }
    };
    need(ClientField::Name, &name, "client.name")?;
    need(ClientField::Email, &email, "client.email")?;
    need(ClientField::Phone, &phone, "client.phone")?;
    Ok(ClientData {
        name: name
            .map(|n| validate::name("client.name", &n))
            .transpose()?,
        email: email
            .map(|e| validate::email("client.email", &e))
            .transpose()?,
        phone: phone
            .map(|p| validate::phone("client.phone", &p))
            .transpose()?,
    })
}

pub(crate) fn validate_fields(
    specs: &[FieldSpec],
    given: &[(String, String)],
) -> Result<Vec<(String, String)>, DomainError> {
    if given.len() > MAX_FIELDS {
        return Err(DomainError::invalid("fields", "za dużo pól"));
    }
    let mut out = Vec::new();
    for (key, value) in given {
        let spec = specs.iter().find(|f| &f.key == key).ok_or_else(|| {
            DomainError::invalid(
                format!("fields.{}", key.chars().take(64).collect::<String>()),
                "ta usługa nie ma takiego pola",
            )
        })?;
        if out.iter().any(|(k, _)| k == key) {
            return Err(DomainError::invalid(
                format!("fields.{key}"),
                "pole podano dwa razy",
            ));
        }
        if value.trim().is_empty() {
            continue;
        }
        out.push((
            key.clone(),
            validate::field(spec.kind, &format!("fields.{key}"), value)?,
        ));
    }
    for spec in specs.iter().filter(|f| f.required) {
        if !out.iter().any(|(k, _)| k == &spec.key) {
            return Err(DomainError::invalid(
                format!("fields.{}", spec.key),
                format!("pole „{}” jest wymagane", spec.label),
            ));
        }
    }
    Ok(out)
}

fn validate_consents(
    tenant: &TenantCtx,
    r: &CreateRequest,
) -> Result<Vec<(String, String)>, DomainError> {
    if r.accepted_terms_version != tenant.cfg.terms.version {
        return Err(DomainError::TermsNotAccepted {
            current: tenant.cfg.terms.version.clone(),
        });
    }
    let mut accepted = Vec::new();
    for key in &r.consents {
        let c = tenant
            .cfg
            .consents
            .iter()
            .find(|c| &c.key == key)
            .ok_or_else(|| DomainError::invalid("consents", "nieznana zgoda"))?;
        accepted.push((c.key.clone(), c.version.clone()));
    }
    if let Some(missing) = tenant
        .cfg
        .consents
        .iter()
        .find(|c| c.required && !r.consents.contains(&c.key))
    {
        return Err(DomainError::ConsentRequired {
            title: missing.title(),
        });
    }
    Ok(accepted)
}

pub(crate) fn email_msg(to: &str, m: &Message) -> NewOutbox {
    NewOutbox {
        channel: "email",
        recipient: to.to_string(),
        payload_json: serde_json::to_string(m).unwrap_or_default(),
    }
}

fn sms_msg(m: &Message) -> NewOutbox {
    NewOutbox {
        channel: "sms",
        recipient: m.to.clone(),
        payload_json: serde_json::to_string(m).unwrap_or_default(),
    }
}

/// The e-mail `render` makes for a stored booking's client, if the client gave an address.
pub(crate) fn mail_to_client(
    app: &App,
    tenant: &TenantCtx,
    b: &BookingRow,
    render: fn(&Visit, &str) -> Message,
) -> Vec<NewOutbox> {
    match (&b.client_email, tenant.service(b.service_id)) {
        (Some(to), Some(service)) => vec![email_msg(
            to,
            &render(&visit(app, tenant, service, &stored(app, tenant, b)), to),
        )],
        _ => Vec::new(),
    }
}

pub fn manage_url(app: &App, tenant: &TenantCtx, token: &str) -> String {
    format!(
        "{}/t/{}/rezerwacja/{token}",
        app.settings.public_url, tenant.slug
    )
}

pub fn confirm_url(app: &App, tenant: &TenantCtx, token: &str) -> String {
    format!(
        "{}/t/{}/potwierdz/{token}",
        app.settings.public_url, tenant.slug
    )
}

/// The city's booking start, where a cancelled or expired visit can be booked anew.
pub fn start_url(app: &App, tenant: &TenantCtx) -> String {
    format!("{}/t/{}/", app.settings.public_url, tenant.slug)
}

/// The management token of a stored booking, re-derived from its nonce (see `tokens`); None
/// when it cannot be (a booking older than nonces without an idempotency key, or a changed
/// server secret).
pub fn token_of(app: &App, tenant: &TenantCtx, b: &BookingRow) -> Option<String> {
    let candidate = match (&b.manage_nonce, &b.idempotency_key) {
        (Some(nonce), _) => tokens::manage_token(&app.secret, tenant.id.0, nonce),
        (None, Some(key)) if b.source == "phone" => {
            tokens::derived_token(&app.secret, tenant.id.0, &format!("phone|{key}"))
        }
        (None, Some(key)) => tokens::derived_token(&app.secret, tenant.id.0, key),
        (None, None) => return None,
    };
    tokens::same(&tokens::hash(&candidate), &b.manage_token_hash).then_some(candidate)
}

/// A stored booking as the templates read it, its management token re-derived.
pub(crate) fn stored<'a>(app: &App, tenant: &TenantCtx, b: &'a BookingRow) -> BookingLike<'a> {
    BookingLike {
        code: &b.code,
        slot_start: b.slot_start,
        slot_end: b.slot_end,
        client_name: b.client_name.as_deref(),
        client_phone: b.client_phone.as_deref(),
        token: token_of(app, tenant, b),
    }
}

pub(crate) fn visit(
    app: &App,
    tenant: &TenantCtx,
    service: &ServiceCtx,
    b: &BookingLike<'_>,
) -> Visit {
    let office = tenant.office(service.office_id);
    let start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    let branding = &tenant.cfg.branding;
    Visit {
        tenant_slug: tenant.slug.clone(),
        city: tenant.cfg.name.clone(),
        from: branding.email_from.clone(),
        brand: brand(tenant),
        date_format: tenant.cfg.messages.date_format,
        service: service.cfg.name.clone(),
        letter: service.cfg.letter.clone(),
        office: office.map(|o| o.cfg.name.clone()).unwrap_or_default(),
        address: office.map(|o| o.cfg.address.clone()).unwrap_or_default(),
        office_phone: office.and_then(|o| o.cfg.phone.clone()),
        desk: service.cfg.desk.clone(),
        start,
        local_start: to_local(start),
        minutes: (b.slot_end - b.slot_start) / 60,
        code: b.code.to_string(),
        client_name: b.client_name.map(str::to_string),
        client_phone: b.client_phone.map(str::to_string),
        phone_as_identifier: tenant.cfg.messages.phone_as_identifier,
        stamp: app.clock.now(),
        manage_url: b.token.as_deref().map(|t| manage_url(app, tenant, t)),
        start_url: start_url(app, tenant),
    }
}

/// The city as its e-mails show it.
pub(crate) fn brand(tenant: &TenantCtx) -> okienko_notify::Brand {
    let b = &tenant.cfg.branding;
    okienko_notify::Brand {
        name: b.display_name.clone(),
        primary_color: b.primary_color.clone(),
        secondary_color: b.secondary_color.clone(),
    }
}

/// The parts of a booking the templates read, from a stored row or one about to be stored.
pub(crate) struct BookingLike<'a> {
    pub(crate) code: &'a str,
    pub(crate) slot_start: i64,
    pub(crate) slot_end: i64,
    pub(crate) client_name: Option<&'a str>,
    pub(crate) client_phone: Option<&'a str>,
    /// The management token, for the link in the e-mail.
    pub(crate) token: Option<String>,
}

pub async fn create(app: &App, tenant: &TenantCtx, r: CreateRequest) -> ApiResult<CreatedBooking> {
    let service = service_by_id(tenant, &r.service_id)?;
    if !service.cfg.bookable {
        return Err(DomainError::NotBookable.into());
    }
    if let Some(k) = &r.idempotency_key {
        if k.is_empty() || k.len() > 128 {
            return Err(DomainError::invalid("idempotencyKey", "od 1 do 128 znaków").into());
        }
    }
    let now = app.clock.now();
    let source = if r.resident_token.is_some() {
        "resident_card"
    } else {
        "online"
    };
    let raw_client = match &r.resident_token {
        Some(token) => resident_client(app, tenant, token, now).await?,
        None => r.client.clone(),
    };
    let client = validate_client(tenant, &raw_client)?;
    let specs = policy_host::form_fields(&app.policies, tenant, service).await?;
    let fields = validate_fields(&specs, &r.fields)?;
    let consents = validate_consents(tenant, &r)?;
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

    let request_hash = tokens::hash(
        &serde_json::json!([
            service.id,
            slot.start.timestamp(),
            &client,
            &fields,
            &consents,
            r.accepted_terms_version,
            r.channel
        ])
        .to_string(),
    );
    // A retried request gets its first answer before any rule runs again: the first booking
    // itself now counts against the client's limits.
    if let Some(key) = &r.idempotency_key {
        if let Some(existing) = store::booking_by_idempotency_key(&app.db, tenant.id, key).await? {
            if existing.request_hash.as_deref() != Some(request_hash.as_str()) {
                return Err(DomainError::IdempotencyConflict.into());
            }
            return replay(app, tenant, existing);
        }
    }

    // The city's rules (P-6): identities, their history, then the verdict.
    let mut ctx =
        policy_host::booking_ctx(tenant, service, source, &client, &fields, slot.start, now);
    let identities = policy_host::identities(&app.policies, &app.secret, tenant, &ctx).await?;
    ctx["history"] = policy_host::history(&app.db, tenant, &identities, now).await?;
    let (client, fields) = match app
        .policies
        .call(tenant.id, "validate_booking", ctx)
        .await?
    {
        Some(Value::Object(changes)) => apply_changes(tenant, &specs, client, fields, &changes)?,
        _ => (client, fields),
    };

    let nonce = tokens::manage_nonce();
    let token = tokens::manage_token(&app.secret, tenant.id.0, &nonce);
    let manage_hash = tokens::hash(&token);
    let ttl = Duration::minutes(i64::from(tenant.cfg.confirmation.ttl_minutes));
    let expires = now + ttl;
    let until_local = to_local(expires);

    let mut confirm_link = None;
    let (status, confirm_channel, secret_hash, code_plain) = match mode {
        ConfirmationMode::Immediate => (BookingStatus::Confirmed, None, None, None),
        ConfirmationMode::EmailLink => {
            let t = tokens::random_token();
            let h = tokens::hash(&t);
            confirm_link = Some(t);
            (BookingStatus::Pending, Some("email"), Some(h), None)
        }
        ConfirmationMode::EmailCode => {
            let c = tokens::numeric_code();
            let ch = if r.channel == CodeChannel::Sms {
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

    let mut last_err = None;
    for _ in 0..5 {
        let code = tokens::human_code();
        let like = BookingLike {
            code: &code,
            slot_start: slot.start.timestamp(),
            slot_end: slot.end.timestamp(),
            client_name: client.name.as_deref(),
            client_phone: client.phone.as_deref(),
            token: Some(token.clone()),
        };
        let v = visit(app, tenant, service, &like);
        let mut messages = Vec::new();
        match (mode, &client.email) {
            (ConfirmationMode::Immediate, Some(to)) => {
                messages.push(email_msg(to, &v.confirmed(to)))
            }
            (ConfirmationMode::EmailLink, Some(to)) => {
                let url = confirm_url(app, tenant, confirm_link.as_deref().unwrap_or_default());
                messages.push(email_msg(to, &v.confirm_by_link(to, &url, until_local)));
            }
            (ConfirmationMode::EmailCode, Some(to)) => {
                let c = code_plain.as_deref().unwrap_or_default();
                match (r.channel, &client.phone) {
                    (CodeChannel::Sms, Some(p)) => {
                        messages.push(sms_msg(&v.code_sms(p, c, until_local)))
                    }
                    _ => messages.push(email_msg(to, &v.confirm_by_code(to, c, until_local))),
                }
            }
            _ => {}
        }
        let nb = NewBooking {
            tenant: tenant.id,
            service_id: service.id,
            code: code.clone(),
            status: status.as_str(),
            quota: Quota::Online.as_str(),
            source,
            slot_start: slot.start.timestamp(),
            slot_end: slot.end.timestamp(),
            client_name: client.name.clone(),
            client_email: client.email.clone(),
            client_phone: client.phone.clone(),
            fields_json: serde_json::to_string(&fields.iter().cloned().collect::<HashMap<_, _>>())
                .unwrap_or_default(),
            terms_version: tenant.cfg.terms.version.clone(),
            consents_json: serde_json::to_string(&consents).unwrap_or_default(),
            confirmation_mode: mode_str(mode),
            confirm_channel,
            confirm_secret_hash: secret_hash.clone(),
            confirm_expires_at: (status == BookingStatus::Pending).then_some(expires.timestamp()),
            confirmed_at: (status == BookingStatus::Confirmed).then_some(now.timestamp()),
            manage_token_hash: manage_hash.clone(),
            manage_nonce: Some(nonce.clone()),
            idempotency_key: r.idempotency_key.clone(),
            request_hash: Some(request_hash.clone()),
            identities: identities
                .iter()
                .map(|i| (i.kind.clone(), i.hash.clone()))
                .collect(),
            now: now.timestamp(),
        };
        match store::create_booking(
            &app.db,
            &nb,
            i64::from(service.cfg.capacity_online),
            &messages,
        )
        .await
        {
            Ok(created) => {
                if created.replayed {
                    if created.booking.request_hash.as_deref() != Some(request_hash.as_str()) {
                        return Err(DomainError::IdempotencyConflict.into());
                    }
                    return replay(app, tenant, created.booking);
                }
                app.outbox_wake.notify_one();
                history::created(app, tenant.id, &created.booking, history::CLIENT).await;
                log_created(
                    app,
                    tenant,
                    &created.booking,
                    &token,
                    confirm_link.as_deref(),
                );
                return Ok(CreatedBooking {
                    booking: created.booking,
                    token,
                    replayed: false,
                });
            }
            Err(StoreError::Unique("code")) => {
                last_err = Some(StoreError::Unique("code"));
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last_err.unwrap_or(StoreError::Conflict).into())
}

/// Logs a new booking. Its links carry secrets: they are logged only while e-mail is written
/// to files (trying the product out, `ApiSettings::log_links`), never with SMTP configured.
fn log_created(
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
fn replay(app: &App, tenant: &TenantCtx, existing: BookingRow) -> ApiResult<CreatedBooking> {
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
async fn resident_client(
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
fn apply_changes(
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

fn mode_str(m: ConfirmationMode) -> &'static str {
    match m {
        ConfirmationMode::Immediate => "immediate",
        ConfirmationMode::EmailLink => "email_link",
        ConfirmationMode::EmailCode => "email_code",
    }
}

pub fn status_of(b: &BookingRow) -> BookingStatus {
    BookingStatus::parse(&b.status).unwrap_or(BookingStatus::Cancelled)
}

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
            app.outbox_wake.notify_one();
            history::note(
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
            let fresh = store::booking_by_id(&app.db, tenant.id, b.id)
                .await?
                .ok_or(DomainError::NotFound)?;
            match status_of(&fresh) {
                BookingStatus::Confirmed => Ok(fresh),
                _ => Err(refusal_for(&fresh).into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// A booking whose code can no longer be typed can never be confirmed: it is cancelled and
/// its seat given back at once, not held until it expires. Two wrong codes at once release it
/// once (the change is conditional).
async fn release_locked(app: &App, tenant: &TenantCtx, b: &BookingRow) -> ApiResult<()> {
    let messages = mail_to_client(app, tenant, b, Visit::code_locked);
    let now = app.clock.now().timestamp();
    match store::release_booking(
        &app.db,
        tenant.id,
        b.id,
        BookingStatus::Cancelled.as_str(),
        Some("confirmation code locked"),
        now,
        &messages,
    )
    .await
    {
        Ok(_) => {
            app.outbox_wake.notify_one();
            let detail = serde_json::json!({ "reason": "code_locked" });
            history::note(
                app,
                tenant.id,
                b.id,
                history::CANCELLED,
                history::SYSTEM,
                Some(detail),
            )
            .await;
            Ok(())
        }
        Err(StoreError::Conflict) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a booking that can no longer be confirmed; a pending one past its limit is
/// expired on the spot (the worker would do it soon anyway).
async fn check_open(
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
            app.outbox_wake.notify_one();
            history::note(
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
        Err(StoreError::Conflict) => {
            let fresh = store::booking_by_id(&app.db, tenant.id, b.id)
                .await?
                .ok_or(DomainError::NotFound)?;
            Err(refusal_for(&fresh).into())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------------------------------------------------------------------------------------------
// Expiry (GD-9, OP-8)

async fn expire_one(app: &App, tenant: &TenantCtx, id: i64) -> ApiResult<bool> {
    let Some(b) = store::booking_by_id(&app.db, tenant.id, id).await? else {
        return Ok(false);
    };
    let messages = mail_to_client(app, tenant, &b, Visit::expired);
    let now = app.clock.now().timestamp();
    match store::release_booking(
        &app.db,
        tenant.id,
        id,
        BookingStatus::Expired.as_str(),
        Some("not confirmed in time"),
        now,
        &messages,
    )
    .await
    {
        Ok(_) => {
            app.outbox_wake.notify_one();
            history::note(app, tenant.id, id, history::EXPIRED, history::SYSTEM, None).await;
            Ok(true)
        }
        Err(StoreError::Conflict) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Expires every pending booking past its limit; returns how many were expired.
pub async fn expire_due(app: &App) -> ApiResult<usize> {
    let mut n = 0;
    loop {
        let due = store::due_for_expiry(&app.db, app.clock.now().timestamp(), 200).await?;
        if due.is_empty() {
            return Ok(n);
        }
        let mut progressed = false;
        for (tenant_id, id) in due {
            let Some(tenant) = app.catalog.by_id(tenant_id) else {
                continue;
            };
            if expire_one(app, &tenant, id).await? {
                n += 1;
                progressed = true;
            }
        }
        if !progressed {
            return Ok(n);
        }
    }
}

/// When a cancelled seat is offered again: after the city's delay plus a random part of it,
/// so whoever agreed with the canceller on a moment cannot count on it (ZG-12, OP-11, GD-12).
pub(crate) fn seat_back_at(tenant: &TenantCtx, now: DateTime<Utc>) -> Option<i64> {
    let delay = i64::from(tenant.cfg.cancel_release_delay_minutes()) * 60;
    (delay > 0).then(|| now.timestamp() + delay + rand::random::<u32>() as i64 % (delay + 1))
}

/// Gives back the cancelled seats whose delay has passed.
pub async fn release_due(app: &App) -> ApiResult<usize> {
    Ok(store::release_due_seats(&app.db, app.clock.now().timestamp()).await?)
}

fn change_side(
    tenant: &TenantCtx,
    service: &ServiceCtx,
    client: &ClientData,
    start: DateTime<Utc>,
) -> Value {
    serde_json::json!({
        "client": policy_host::client_json(client),
        "slot": policy_host::slot_json(start),
        "service": policy_host::service_json(service),
        "tenant": tenant.slug,
    })
}

fn client_of(b: &BookingRow) -> ClientData {
    ClientData {
        name: b.client_name.clone(),
        email: b.client_email.clone(),
        phone: b.client_phone.clone(),
    }
}

/// Asks the city's `validate_change` hook whether a change is allowed.
async fn check_change(
    app: &App,
    tenant: &TenantCtx,
    kind: &str,
    before: Value,
    after: Value,
) -> ApiResult<()> {
    let ctx = serde_json::json!({ "kind": kind, "before": before, "after": after, "settings": policy_host::settings_json(tenant) });
    app.policies.call(tenant.id, "validate_change", ctx).await?;
    Ok(())
}

/// Moves a booking to another slot of its service (until the cancellation cutoff).
pub async fn reschedule(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    start: DateTime<Utc>,
) -> ApiResult<BookingRow> {
    let b = by_token(app, tenant, token).await?;
    let now = app.clock.now();
    if !status_of(&b).holds_seat() {
        return Err(refusal_for(&b).into());
    }
    if now >= cancellable_until(tenant, &b) {
        return Err(DomainError::ChangeNotAllowed("termin jest zbyt bliski.".into()).into());
    }
    let service = tenant.service(b.service_id).ok_or(DomainError::NotFound)?;
    let slot = check_slot(&tenant.cfg.booking, &tenant.calendar(service), now, start)?;
    let client = client_of(&b);
    let old_start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    check_change(
        app,
        tenant,
        "reschedule",
        change_side(tenant, service, &client, old_start),
        change_side(tenant, service, &client, slot.start),
    )
    .await?;
    let capacity = if b.quota == Quota::Staff.as_str() {
        service.cfg.capacity_staff
    } else {
        service.cfg.capacity_online
    };
    let mut moved = b.clone();
    moved.slot_start = slot.start.timestamp();
    moved.slot_end = slot.end.timestamp();
    let messages = mail_to_client(app, tenant, &moved, Visit::confirmed);
    let row = store::reschedule_booking(
        &app.db,
        tenant.id,
        b.id,
        slot.start.timestamp(),
        slot.end.timestamp(),
        i64::from(capacity),
        now.timestamp(),
        &messages,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ApiError::Domain(DomainError::AlreadyCancelled),
        other => other.into(),
    })?;
    app.outbox_wake.notify_one();
    let detail = history::moved(b.slot_start, row.slot_start);
    history::note(
        app,
        tenant.id,
        row.id,
        history::RESCHEDULED,
        history::CLIENT,
        Some(detail),
    )
    .await;
    Ok(row)
}

/// Corrects the client's contact data of a booking that holds a seat.
pub async fn update_client(
    app: &App,
    tenant: &TenantCtx,
    token: &str,
    data: ClientData,
) -> ApiResult<BookingRow> {
    let b = by_token(app, tenant, token).await?;
    if !status_of(&b).holds_seat() {
        return Err(refusal_for(&b).into());
    }
    let service = tenant.service(b.service_id).ok_or(DomainError::NotFound)?;
    let client = validate_client(tenant, &data)?;
    let start = DateTime::from_timestamp(b.slot_start, 0).unwrap_or_default();
    check_change(
        app,
        tenant,
        "update_client",
        change_side(tenant, service, &client_of(&b), start),
        change_side(tenant, service, &client, start),
    )
    .await?;
    let now = app.clock.now().timestamp();
    let row = store::update_booking_client(
        &app.db,
        tenant.id,
        b.id,
        client.name.as_deref(),
        client.email.as_deref(),
        client.phone.as_deref(),
        now,
    )
    .await
    .map_err(|e| match e {
        StoreError::Conflict => ApiError::Domain(DomainError::AlreadyCancelled),
        other => other.into(),
    })?;
    let detail = history::changed_fields(&b, &row);
    history::note(
        app,
        tenant.id,
        row.id,
        history::CLIENT_UPDATED,
        history::CLIENT,
        Some(detail),
    )
    .await;
    Ok(row)
}
