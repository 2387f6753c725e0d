//! Editing a tenant's configuration while it runs: an edit is applied to the stored
//! `TenantConfig`, checked, stored with its office and service rows and its audit row in one
//! transaction, and the catalog reloaded, so the change takes effect at once (availability
//! included) without a restart.

use okienko_domain::config::TenantConfig;
use okienko_domain::DomainError;
use okienko_store::{self as store, NewAudit, StoreError, TenantId, TenantImport};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::ApiResult;
use crate::App;

/// How often an edit is re-applied when another one was stored in between.
const ATTEMPTS: usize = 3;

/// What the store keeps of a configuration: the JSON, its hash, and the office and service
/// keys that get rows of their own.
pub fn to_import(cfg: &TenantConfig) -> Result<TenantImport, serde_json::Error> {
    let json = serde_json::to_string(cfg)?;
    Ok(TenantImport {
        slug: cfg.slug.clone(),
        name: cfg.name.clone(),
        config_hash: hex::encode(Sha256::digest(json.as_bytes())),
        config_json: json,
        offices: cfg
            .offices
            .iter()
            .map(|o| (o.key.clone(), o.name.clone()))
            .collect(),
        services: cfg
            .services
            .iter()
            .map(|s| (s.key.clone(), s.office.clone(), s.name.clone()))
            .collect(),
    })
}

/// Reads the tenant's stored configuration and its hash.
pub async fn current(app: &App, tenant: TenantId) -> ApiResult<(TenantConfig, String)> {
    let row = store::tenant_by_id(&app.db, tenant)
        .await?
        .ok_or(DomainError::NotFound)?;
    let cfg = serde_json::from_str(&row.config_json).map_err(|e| {
        tracing::error!(tenant = %row.slug, error = %e, "stored configuration unreadable");
        DomainError::Internal
    })?;
    Ok((cfg, row.config_hash))
}

/// Applies `edit` to the tenant's configuration and stores the result if it passes
/// `TenantConfig::check` (a failure names the field, with VALIDATION_FAILED or its own code such
/// as BRANDING_CONTRAST; nothing is stored).
/// The audit row carries the parts that changed, before and after. Returns the new
/// configuration.
pub async fn edit<F>(
    app: &App,
    tenant: TenantId,
    actor: &str,
    action: &str,
    target: &str,
    edit: F,
) -> ApiResult<TenantConfig>
where
    F: Fn(&mut TenantConfig) -> Result<(), DomainError>,
{
    for _ in 0..ATTEMPTS {
        let (before, hash) = current(app, tenant).await?;
        let mut after = before.clone();
        edit(&mut after)?;
        after.check().map_err(DomainError::refused)?;
        if after == before {
            return Ok(after);
        }
        let change = to_import(&after).map_err(|_| DomainError::Internal)?;
        let (b, a) = diff(
            &serde_json::to_value(&before).unwrap_or_default(),
            &serde_json::to_value(&after).unwrap_or_default(),
        );
        let audit = NewAudit::new(actor, action, target)
            .before(b.to_string())
            .after(a.to_string());
        let now = app.clock.now().timestamp();
        match store::update_tenant_config(&app.db, tenant, &change, &hash, Some(&audit), now).await
        {
            Ok(()) => {
                app.reload().await?;
                return Ok(after);
            }
            // Someone stored another edit since this one read the configuration: redo it.
            Err(StoreError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(DomainError::ConfigConflict.into())
}

/// The parts of two JSON values that differ, as (before, after). Objects are compared key by
/// key; lists of objects with a `key` (offices, services, consents…) entry by entry, so an edit
/// of one service records that service only.
pub fn diff(before: &Value, after: &Value) -> (Value, Value) {
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            let (mut ob, mut oa) = (Map::new(), Map::new());
            let keys: std::collections::BTreeSet<&String> = b.keys().chain(a.keys()).collect();
            for k in keys {
                let (x, y) = (
                    b.get(k).unwrap_or(&Value::Null),
                    a.get(k).unwrap_or(&Value::Null),
                );
                if x != y {
                    let (dx, dy) = diff(x, y);
                    ob.insert(k.clone(), dx);
                    oa.insert(k.clone(), dy);
                }
            }
            (Value::Object(ob), Value::Object(oa))
        }
        (Value::Array(b), Value::Array(a)) if keyed(b) && keyed(a) => {
            let key = |v: &Value| v.get("key").and_then(Value::as_str).map(str::to_string);
            let (mut ob, mut oa) = (Map::new(), Map::new());
            let keys: std::collections::BTreeSet<String> =
                b.iter().chain(a.iter()).filter_map(key).collect();
            for k in keys {
                let find = |list: &[Value]| {
                    list.iter()
                        .find(|v| key(v).as_deref() == Some(k.as_str()))
                        .cloned()
                        .unwrap_or(Value::Null)
                };
                let (x, y) = (find(b), find(a));
                if x != y {
                    ob.insert(k.clone(), x);
                    oa.insert(k, y);
                }
            }
            (Value::Object(ob), Value::Object(oa))
        }
        _ => (before.clone(), after.clone()),
    }
}

fn keyed(list: &[Value]) -> bool {
    !list.is_empty()
        && list
            .iter()
            .all(|v| v.get("key").is_some_and(Value::is_string))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_keeps_only_what_changed() {
        let b = json!({ "name": "A", "services": [ { "key": "x", "cap": 1 }, { "key": "y", "cap": 2 } ], "closures": ["2026-12-31"] });
        let a = json!({ "name": "A", "services": [ { "key": "x", "cap": 3 }, { "key": "y", "cap": 2 }, { "key": "z", "cap": 1 } ], "closures": [] });
        let (db, da) = diff(&b, &a);
        assert_eq!(
            db,
            json!({ "services": { "x": { "key": "x", "cap": 1 }, "z": null }, "closures": ["2026-12-31"] })
        );
        assert_eq!(
            da,
            json!({ "services": { "x": { "key": "x", "cap": 3 }, "z": { "key": "z", "cap": 1 } }, "closures": [] })
        );
    }
}
