//! The host side of the city policies (P-6): the active compiled policy per tenant, the data
//! a hook needs prefetched from the database, and the calls, off the async threads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, Datelike, Duration, Utc};
use hmac::{Hmac, Mac};
use okienko_domain::calendar::{local_date, to_local};
use okienko_domain::config::FieldSpec;
use okienko_domain::DomainError;
use okienko_policy::{Limits, Policy, PolicyEngine, PolicyError};
use okienko_store::{self as store, Db, StoreError, TenantId};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::catalog::{ServiceCtx, TenantCtx};
use crate::client::ClientData;
use crate::policy_sched::{self, Outcome, Scheduler};

/// Days of no-shows the host looks back on when the city sets none (OP-14's period is the
/// city's setting `no_show_block_days`).
const DEFAULT_NO_SHOW_DAYS: i64 = 90;

pub struct PolicyHost {
    pub engine: Arc<PolicyEngine>,
    active: RwLock<HashMap<TenantId, Arc<Policy>>>,
    /// At most one script per core runs at a time (the wall-clock deadline then measures a
    /// script's own run, not its wait for a core behind a burst of others), each city within
    /// its share, in turns (`policy_sched`).
    pub scheduler: Arc<Scheduler>,
    /// Where the calls' durations and failures are counted (the App's metrics).
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl Default for PolicyHost {
    fn default() -> Self {
        PolicyHost::new(policy_sched::Settings::default())
    }
}

impl PolicyHost {
    pub fn new(settings: policy_sched::Settings) -> Self {
        PolicyHost {
            engine: Arc::new(PolicyEngine::new(Limits::default())),
            active: RwLock::default(),
            scheduler: Scheduler::new(settings),
            metrics: None,
        }
    }

    /// Counts every call in `metrics` (`okienko_policy_duration_seconds`, `…_failures_total`).
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }
}

/// The `reason` label of a call that ended in `POLICY_ERROR`; `None` for an answer or a
/// script's own refusal. The engine names an over-budget deadline "deadline (… ms) passed".
fn failure_reason<T>(r: &Result<T, PolicyError>) -> Option<&'static str> {
    match r {
        Ok(_) | Err(PolicyError::Rejected { .. }) => None,
        Err(PolicyError::OverBudget { reason }) if reason.starts_with("deadline") => {
            Some("deadline")
        }
        Err(PolicyError::OverBudget { .. }) => Some("limit"),
        Err(_) => Some("error"),
    }
}

/// One identity a booking counts against, with the salted hash that is stored.
#[derive(Debug, Clone)]
pub struct Identity {
    pub kind: String,
    pub value: String,
    pub hash: String,
}

impl PolicyHost {
    /// Loads (compiles, from cache when unchanged) the active policy of every tenant.
    pub async fn reload(&self, db: &Db, tenants: &[Arc<TenantCtx>]) -> Result<(), StoreError> {
        let mut next = HashMap::new();
        for t in tenants {
            if let Some(row) = store::active_policy(db, t.id).await? {
                match self.engine.compile(&t.slug, &row.source) {
                    Ok(p) => {
                        next.insert(t.id, p);
                    }
                    Err(e) => {
                        tracing::error!(tenant = %t.slug, version = row.version, error = %e, "active policy does not compile; none applied")
                    }
                }
            }
        }
        if let Ok(mut w) = self.active.write() {
            *w = next;
        }
        Ok(())
    }

    pub fn policy(&self, tenant: TenantId) -> Option<Arc<Policy>> {
        self.active.read().ok()?.get(&tenant).cloned()
    }

    /// Calls a hook on a blocking thread (a hostile script may run until its deadline).
    #[tracing::instrument(name = "policy", skip_all, fields(tenant = tenant.0, hook))]
    pub async fn call(
        &self,
        tenant: TenantId,
        hook: &'static str,
        arg: Value,
    ) -> Result<Option<Value>, DomainError> {
        let Some(policy) = self.policy(tenant) else {
            return Ok(None);
        };
        if !policy.has_hook(hook) {
            return Ok(None);
        }
        let engine = self.engine.clone();
        let began = std::time::Instant::now();
        let slug = policy.tenant().to_string();
        let mut slot = self.scheduler.slot(tenant).await.inspect_err(|_| {
            tracing::warn!(tenant = %policy.tenant(), hook, "policy call held back");
        })?;
        // The slot is given back when the script ends, even if the request was dropped.
        let result = tokio::task::spawn_blocking(move || {
            let r = policy.call(&engine, hook, arg);
            slot.finished(match &r {
                Err(e) if e.is_over_budget() => Outcome::OverBudget,
                _ => Outcome::Answered,
            });
            drop(slot);
            r
        })
        .await
        .map_err(|_| DomainError::PolicyFailed)?;
        if let Some(m) = &self.metrics {
            m.policy_call(&slug, hook, began.elapsed(), failure_reason(&result));
        }
        result.map_err(to_domain)
    }
}

pub fn to_domain(e: PolicyError) -> DomainError {
    match e {
        PolicyError::Rejected {
            code,
            message,
            field,
        } => DomainError::Policy {
            code,
            message,
            field,
        },
        other => {
            tracing::warn!(error = %other, "policy failed");
            DomainError::PolicyFailed
        }
    }
}

fn opt(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

pub fn service_json(s: &ServiceCtx) -> Value {
    json!({
        "key": s.cfg.key,
        "name": s.cfg.name,
        "department": opt(&s.cfg.department),
        "letter": opt(&s.cfg.letter),
    })
}

pub fn client_json(c: &ClientData) -> Value {
    json!({ "name": opt(&c.name), "email": opt(&c.email), "phone": opt(&c.phone) })
}

pub fn slot_json(start: DateTime<Utc>) -> Value {
    let local = to_local(start);
    json!({
        "start": start.to_rfc3339(),
        "local_date": local.date().to_string(),
        "local_time": local.format("%H:%M").to_string(),
        "weekday": local.weekday().number_from_monday(),
    })
}

pub fn settings_json(t: &TenantCtx) -> Value {
    Value::Object(t.cfg.policy.clone())
}

/// The booking's context as every booking hook sees it.
pub fn booking_ctx(
    t: &TenantCtx,
    s: &ServiceCtx,
    source: &str,
    client: &ClientData,
    fields: &[(String, String)],
    start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let fields: Map<String, Value> = fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({
        "tenant": t.slug,
        "source": source,
        "service": service_json(s),
        "client": client_json(client),
        "fields": fields,
        "slot": slot_json(start),
        "now": now.to_rfc3339(),
        "settings": settings_json(t),
    })
}

/// The identities a booking counts against: the policy's `identity_keys`, or by default its
/// e-mail and phone. Hashed with the server's secret and the tenant, so a stored hash of a
/// nine-digit phone number cannot be reversed by trying them all.
pub async fn identities(
    host: &PolicyHost,
    secret: &[u8],
    t: &TenantCtx,
    ctx: &Value,
) -> Result<Vec<Identity>, DomainError> {
    let pairs: Vec<(String, String)> = match host.call(t.id, "identity_keys", ctx.clone()).await? {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| {
                Some((
                    i.get("kind")?.as_str()?.to_string(),
                    i.get("value")?.as_str()?.to_string(),
                ))
            })
            .collect(),
        _ => ["email", "phone"]
            .iter()
            .filter_map(|k| Some((k.to_string(), ctx["client"][k].as_str()?.to_string())))
            .collect(),
    };
    let mut out: Vec<Identity> = pairs
        .into_iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(kind, value)| {
            let value = value.trim().to_lowercase();
            Identity {
                hash: identity_hash(secret, t.id, &kind, &value),
                kind,
                value,
            }
        })
        .collect();
    out.sort_by(|a, b| a.hash.cmp(&b.hash));
    out.dedup_by(|a, b| a.hash == b.hash);
    Ok(out)
}

pub fn identity_hash(secret: &[u8], tenant: TenantId, kind: &str, value: &str) -> String {
    match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mut mac) => {
            mac.update(format!("identity|{}|{kind}|{value}", tenant.0).as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => crate::tokens::hash(&format!("identity|{}|{kind}|{value}", tenant.0)),
    }
}

/// What the booking hooks need to know of the client's past: active bookings per identity
/// (counts, and the bookings themselves), and recent no-shows (OP-14).
pub async fn history(
    db: &Db,
    t: &TenantCtx,
    ids: &[Identity],
    now: DateTime<Utc>,
) -> Result<Value, StoreError> {
    let hashes: Vec<String> = ids.iter().map(|i| i.hash.clone()).collect();
    let label = |hash: &str| {
        ids.iter()
            .find(|i| i.hash == hash)
            .map(|i| format!("{}:{}", i.kind, i.value))
            .unwrap_or_default()
    };
    let days = t
        .cfg
        .policy
        .get("no_show_block_days")
        .and_then(Value::as_i64)
        .unwrap_or(DEFAULT_NO_SHOW_DAYS)
        .clamp(0, 3650);
    let since = (now - Duration::days(days)).timestamp();
    // One read connection, its statements pipelined on PostgreSQL.
    let past = store::client_history(db, t.id, &hashes, now.timestamp(), since).await?;
    let mut counts = Map::new();
    for (hash, n) in past.active_by_identity {
        counts.insert(label(&hash), json!(n));
    }
    // The client's active bookings, each with the identities it shares with this one.
    let mut active: Vec<(i64, Value)> = Vec::new();
    for (id, service, slot, hash) in past.active {
        if let Some(entry) = active.iter_mut().find(|(b, _)| *b == id) {
            if let Some(ids) = entry.1["identities"].as_array_mut() {
                ids.push(json!(label(&hash)));
            }
            continue;
        }
        let (Some(s), Some(at)) = (t.service(service), DateTime::from_timestamp(slot, 0)) else {
            continue;
        };
        active.push((
            id,
            json!({
                "service": s.cfg.key,
                "department": opt(&s.cfg.department),
                "start": at.to_rfc3339(),
                "local_date": local_date(at).to_string(),
                "identities": [label(&hash)],
            }),
        ));
    }
    let active: Vec<Value> = active.into_iter().map(|(_, v)| v).collect();
    let no_shows: Vec<Value> = past
        .no_shows
        .into_iter()
        .map(|(hash, department, at)| {
            json!({
                "identity": label(&hash),
                "department": department,
                "at": DateTime::from_timestamp(at, 0).unwrap_or_default().to_rfc3339(),
            })
        })
        .collect();
    Ok(json!({ "active_by_identity": counts, "active": active, "no_shows": no_shows }))
}

/// The form fields of a service: the policy's `form_fields`, or the configured ones.
pub async fn form_fields(
    host: &PolicyHost,
    t: &TenantCtx,
    s: &ServiceCtx,
) -> Result<Vec<FieldSpec>, DomainError> {
    let configured = s.cfg.fields.clone();
    let ctx = json!({ "service": service_json(s), "fields": serde_json::to_value(&configured).unwrap_or_default() });
    match host.call(t.id, "form_fields", ctx).await? {
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| {
                let mut v = v;
                if let Some(m) = v.as_object_mut() {
                    // `pattern` is advisory for forms; the host validates by kind.
                    m.remove("pattern");
                }
                serde_json::from_value::<FieldSpec>(v).map_err(|e| {
                    tracing::warn!(tenant = %t.slug, error = %e, "form_fields returned an unusable field");
                    DomainError::PolicyFailed
                })
            })
            .collect(),
        _ => Ok(configured),
    }
}

/// Why a new policy version was not activated; the old one stays active.
#[derive(Debug, thiserror::Error)]
pub enum ActivationError {
    #[error("the policy does not compile: {0}")]
    Compile(String),
    #[error("a policy is activated only with its tests; none were given")]
    NoTests,
    #[error("policy tests failed:\n{0}")]
    TestsFailed(String),
    #[error("policy tests could not run: {0}")]
    TestsUnreadable(String),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

/// Compiles a new version, runs its tests, and only when all pass stores it as the active
/// version (P-6). Returns the stored row and the test report.
#[allow(clippy::too_many_arguments)]
pub async fn activate(
    db: &Db,
    host: &PolicyHost,
    tenant: TenantId,
    cfg: &okienko_domain::config::TenantConfig,
    source: &str,
    tests: &[(String, String)],
    author: &str,
    now: i64,
) -> Result<(store::PolicyRow, String), ActivationError> {
    if tests.is_empty() {
        return Err(ActivationError::NoTests);
    }
    let engine = host.engine.clone();
    let (slug, src, settings, files) = (
        cfg.slug.clone(),
        source.to_string(),
        Value::Object(cfg.policy.clone()),
        tests.to_vec(),
    );
    let run = tokio::task::spawn_blocking(move || {
        okienko_policy::testing::run_sources(&engine, &slug, &src, &settings, &files)
    })
    .await
    .map_err(|e| ActivationError::TestsUnreadable(e.to_string()))?;
    let report = match run {
        Ok(r) => r,
        Err(okienko_policy::testing::TestRunError::Policy(e)) => {
            return Err(ActivationError::Compile(e.to_string()))
        }
        Err(e) => return Err(ActivationError::TestsUnreadable(e.to_string())),
    };
    let text = report.to_string();
    if !report.ok() {
        return Err(ActivationError::TestsFailed(text));
    }
    let policy = host
        .engine
        .compile(&cfg.slug, source)
        .map_err(|e| ActivationError::Compile(e.to_string()))?;
    let row = store::activate_policy(db, tenant, policy.hash(), source, author, &text, now).await?;
    if let Ok(mut w) = host.active.write() {
        w.insert(tenant, policy);
    }
    Ok((row, text))
}

/// A policy directory's script and test files: `<dir>/policy.rhai`, `<dir>/tests/*.toml`.
pub fn read_policy_dir(dir: &std::path::Path) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let source = std::fs::read_to_string(dir.join("policy.rhai"))?;
    Ok((
        source,
        okienko_policy::testing::read_tests(&dir.join("tests"))?,
    ))
}
