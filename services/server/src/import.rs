//! Reading `policies/<slug>/tenant.toml` files and importing them, all or nothing.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context};
use okienko_domain::config::{ConfigError, TenantConfig, MAX_LOGO_BYTES};
use okienko_domain::Code;
use okienko_store::{import_tenants, Db, ImportOutcome, TenantImport};

/// The tenant files under `dir`: `dir/tenant.toml` itself, or `dir/*/tenant.toml`.
pub fn tenant_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let single = dir.join("tenant.toml");
    if single.is_file() {
        return Ok(vec![single]);
    }
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let p = entry?.path().join("tenant.toml");
        if p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses every file; one bad file fails the whole set, with every error listed.
pub fn parse_all(files: &[PathBuf]) -> anyhow::Result<Vec<TenantImport>> {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = match std::fs::read_to_string(f) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        match TenantConfig::parse(&name, &text).and_then(|cfg| with_logo(f, cfg)) {
            Ok(cfg) => {
                let dir_name = f
                    .parent()
                    .and_then(|p| p.file_name())
                    .and_then(|n| n.to_str());
                if let Some(d) = dir_name.filter(|d| *d != cfg.slug) {
                    errors.push(format!(
                        "{name}:1: pole `slug`: „{}” różni się od nazwy katalogu „{d}”",
                        cfg.slug
                    ));
                    continue;
                }
                out.push(to_import(&cfg)?);
            }
            Err(e) => errors.push(e.to_string()),
        }
    }
    if !errors.is_empty() {
        return Err(anyhow!(
            "nothing imported; fix these first:\n{}",
            errors.join("\n")
        ));
    }
    Ok(out)
}

/// The city's `logo.svg` beside its `tenant.toml`, when there is one (W-2), checked as any
/// stored branding is; read only up to one byte past the limit, which refuses it.
fn with_logo(file: &Path, mut cfg: TenantConfig) -> Result<TenantConfig, ConfigError> {
    use std::io::Read;
    let Some(path) = file
        .parent()
        .map(|d| d.join("logo.svg"))
        .filter(|p| p.is_file())
    else {
        return Ok(cfg);
    };
    let refused = |message: String, code: Code| ConfigError {
        file: path.display().to_string(),
        line: 1,
        field: "branding.logo_svg".into(),
        message,
        code,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| (f.take(MAX_LOGO_BYTES as u64 + 1)).read_to_end(&mut bytes))
        .map_err(|e| refused(e.to_string(), Code::ValidationFailed))?;
    let svg = String::from_utf8(bytes).map_err(|_| {
        refused(
            "logo.svg nie jest tekstem UTF-8".into(),
            Code::ValidationFailed,
        )
    })?;
    cfg.branding.logo_svg = Some(svg);
    cfg.branding
        .check_logo()
        .map_err(|r| refused(r.message, r.code))?;
    Ok(cfg)
}

pub fn to_import(cfg: &TenantConfig) -> anyhow::Result<TenantImport> {
    Ok(okienko_app::config_edit::to_import(cfg)?)
}

/// Imports the tenants under `dir`. Returns (slug, outcome) per tenant.
pub async fn import_dir(
    db: &Db,
    dir: &Path,
    now: i64,
    force: bool,
) -> anyhow::Result<Vec<(String, ImportOutcome)>> {
    let files = tenant_files(dir)?;
    let items = parse_all(&files)?;
    let outcomes = import_tenants(db, &items, now, force).await?;
    Ok(items.into_iter().map(|i| i.slug).zip(outcomes).collect())
}

/// Activates each tenant's shipped `policy.rhai` (after its tests pass) when the tenant has no
/// active policy, or, with `force`, when the file differs from the active version.
/// A policy whose tests fail is reported and not activated; the other tenants go on.
pub async fn import_policies(
    app: &okienko_app::App,
    dir: &Path,
    force: bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let mut outcomes = Vec::new();
    for file in tenant_files(dir)? {
        let Some(policy_dir) = file.parent() else {
            continue;
        };
        if !policy_dir.join("policy.rhai").is_file() {
            continue;
        }
        let slug = policy_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(tenant) = app.catalog.get(&slug) else {
            continue;
        };
        let (source, tests) = okienko_app::policy_host::read_policy_dir(policy_dir)?;
        let hash = app
            .policies
            .engine
            .compile(&slug, &source)
            .map(|p| p.hash().to_string())
            .ok();
        let active = app.policies.policy(tenant.id);
        let outcome = match (&active, force) {
            (Some(p), _) if Some(p.hash()) == hash.as_deref() => "unchanged".to_string(),
            (Some(_), false) => {
                "kept (the database copy wins; use `okienko policy activate`)".to_string()
            }
            _ => {
                let now = app.clock.now().timestamp();
                match okienko_app::policy_host::activate(
                    &app.db,
                    &app.policies,
                    tenant.id,
                    &tenant.cfg,
                    &source,
                    &tests,
                    "import",
                    now,
                )
                .await
                {
                    Ok((row, _)) => format!("activated version {}", row.version),
                    Err(e) => {
                        tracing::error!(tenant = %slug, error = %e, "shipped policy not activated");
                        format!("NOT activated: {e}")
                    }
                }
            }
        };
        outcomes.push((slug, outcome));
    }
    Ok(outcomes)
}
