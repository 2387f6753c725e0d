//! The tenants in memory: configuration parsed once, ids from the database, compiled hours.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use okienko_domain::calendar::{Calendar, WeeklyHours};
use okienko_domain::config::{Office, Service, TenantConfig};
use okienko_store::{active_offices, active_services, list_tenants, Db, StoreError, TenantId};

#[derive(Debug)]
pub struct OfficeCtx {
    pub id: i64,
    pub cfg: Office,
}

#[derive(Debug)]
pub struct ServiceCtx {
    pub id: i64,
    pub office_id: i64,
    pub cfg: Service,
    pub hours: WeeklyHours,
    pub slot_minutes: u32,
}

#[derive(Debug)]
pub struct TenantCtx {
    pub id: TenantId,
    pub slug: String,
    pub cfg: TenantConfig,
    pub offices: Vec<OfficeCtx>,
    pub services: Vec<ServiceCtx>,
}

impl TenantCtx {
    pub fn service(&self, id: i64) -> Option<&ServiceCtx> {
        self.services.iter().find(|s| s.id == id)
    }

    pub fn office(&self, id: i64) -> Option<&OfficeCtx> {
        self.offices.iter().find(|o| o.id == id)
    }

    pub fn calendar<'a>(&'a self, s: &'a ServiceCtx) -> Calendar<'a> {
        Calendar {
            hours: &s.hours,
            closures: &self.cfg.closures,
            slot_minutes: s.slot_minutes,
        }
    }
}

/// Tenants by slug.
#[derive(Default)]
pub struct Catalog {
    tenants: RwLock<HashMap<String, Arc<TenantCtx>>>,
}

impl Catalog {
    pub fn get(&self, slug: &str) -> Option<Arc<TenantCtx>> {
        self.tenants.read().ok()?.get(slug).cloned()
    }

    pub fn by_id(&self, id: TenantId) -> Option<Arc<TenantCtx>> {
        self.tenants
            .read()
            .ok()?
            .values()
            .find(|t| t.id == id)
            .cloned()
    }

    pub fn slugs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .tenants
            .read()
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    /// Rebuilds the catalog from the database (after an import or a configuration change).
    pub async fn reload(&self, db: &Db) -> Result<(), StoreError> {
        let mut next = HashMap::new();
        for t in list_tenants(db).await? {
            if t.status != "active" {
                continue;
            }
            let cfg: TenantConfig = match serde_json::from_str(&t.config_json) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(tenant = %t.slug, error = %e, "stored configuration unreadable; tenant not served");
                    continue;
                }
            };
            let id = TenantId(t.id);
            let office_rows = active_offices(db, id).await?;
            let offices: Vec<OfficeCtx> = office_rows
                .iter()
                .filter_map(|o| {
                    cfg.office(&o.key).map(|c| OfficeCtx {
                        id: o.id,
                        cfg: c.clone(),
                    })
                })
                .collect();
            let services = active_services(db, id)
                .await?
                .into_iter()
                .filter_map(|s| {
                    let c = cfg.service(&s.key)?.clone();
                    Some(ServiceCtx {
                        id: s.id,
                        office_id: s.office_id,
                        hours: cfg.hours_of(&c),
                        slot_minutes: cfg.slot_minutes_of(&c),
                        cfg: c,
                    })
                })
                .collect();
            next.insert(
                t.slug.clone(),
                Arc::new(TenantCtx {
                    id,
                    slug: t.slug,
                    cfg,
                    offices,
                    services,
                }),
            );
        }
        if let Ok(mut w) = self.tenants.write() {
            *w = next;
        }
        Ok(())
    }
}
