//! The platform API (`/platform/graphql`): operators create, suspend and resume tenants and
//! give each its first administrator. Every operation but `login` needs an operator session.

use async_graphql::{
    Context, EmptySubscription, Enum, ErrorExtensions, Object, Result, Schema, SimpleObject, ID,
};
use okienko_app::records::{self, NewAudit, NewUser, Scope, TenantId, TenantRow};
use okienko_domain::config::{Refusal, TenantConfig};
use okienko_domain::{validate, DomainError};
use serde_json::json;

use crate::admin::{audit_page, gql, AuditPage, LoginPayload, User};
use crate::ctx::app;
use crate::gql_errors::OrGql;
use okienko_app::auth::{self, Auth, Principal, UserRef};
use okienko_app::config_edit;
use okienko_app::error::ApiError;
use okienko_app::App;

pub type PlatformSchema = Schema<Query, Mutation, EmptySubscription>;

pub fn schema() -> PlatformSchema {
    crate::query_limits::limited(Query, Mutation, EmptySubscription)
}

/// The SDL as checked in at `schema/platform.graphql`.
pub fn sdl() -> String {
    crate::ctx::sorted_sdl(&schema())
}

fn operator(ctx: &Context<'_>) -> Result<UserRef> {
    match ctx.data_unchecked::<Auth>().principal().map_err(gql)? {
        Principal::Operator { user } => Ok(user.clone()),
        _ => Err(gql(DomainError::Unauthenticated)),
    }
}

fn actor(u: &UserRef) -> String {
    format!("operator:{} {}", u.id, u.login)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TenantStatus {
    /// Served.
    Active,
    /// Not served: its public and admin endpoints answer TENANT_NOT_FOUND.
    Suspended,
}

#[derive(SimpleObject)]
pub struct TenantInfo {
    id: ID,
    slug: String,
    name: String,
    status: TenantStatus,
}

impl From<&TenantRow> for TenantInfo {
    fn from(t: &TenantRow) -> Self {
        TenantInfo {
            id: ID(t.id.to_string()),
            slug: t.slug.clone(),
            name: t.name.clone(),
            status: if t.status == "active" {
                TenantStatus::Active
            } else {
                TenantStatus::Suspended
            },
        }
    }
}

#[derive(SimpleObject)]
pub struct CreatedAdmin {
    user: User,
    /// The administrator's first password. Shown once.
    password: String,
}

#[derive(SimpleObject)]
pub struct Operator {
    id: ID,
    login: String,
    display_name: String,
}

async fn tenant_row(app: &App, slug: &str) -> Result<TenantRow> {
    records::tenant_by_slug(app, slug)
        .await
        .gql()?
        .ok_or_else(|| gql(DomainError::TenantNotFound(slug.chars().take(64).collect())))
}

async fn set_status(ctx: &Context<'_>, slug: String, status: &'static str) -> Result<TenantInfo> {
    let op = operator(ctx)?;
    let a = app(ctx);
    let t = tenant_row(a, &slug).await?;
    let action = if status == "active" {
        "tenant.resume"
    } else {
        "tenant.suspend"
    };
    let audit = NewAudit::new(&actor(&op), action, &format!("tenant:{}", t.slug))
        .before(json!({ "status": t.status }).to_string())
        .after(json!({ "status": status }).to_string());
    let row = records::set_tenant_status(
        a,
        TenantId(t.id),
        status,
        Some(&audit),
        a.clock.now().timestamp(),
    )
    .await
    .gql()?;
    a.reload().await.map_err(ApiError::from).gql()?;
    Ok((&row).into())
}

pub struct Query;

#[Object]
impl Query {
    /// The logged-in operator.
    async fn me(&self, ctx: &Context<'_>) -> Result<Operator> {
        let op = operator(ctx)?;
        Ok(Operator {
            id: ID(op.id.to_string()),
            login: op.login,
            display_name: op.display_name,
        })
    }

    /// Every tenant, served or suspended.
    async fn tenants(&self, ctx: &Context<'_>) -> Result<Vec<TenantInfo>> {
        operator(ctx)?;
        Ok(records::list_tenants(app(ctx))
            .await
            .gql()?
            .iter()
            .map(Into::into)
            .collect())
    }

    /// The platform's own audit log (tenant creation and status), newest first.
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AuditPage> {
        operator(ctx)?;
        audit_page(app(ctx), Scope::Platform, first, after).await
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn login(
        &self,
        ctx: &Context<'_>,
        login: String,
        password: String,
    ) -> Result<LoginPayload> {
        let a = app(ctx);
        let l = auth::login(a, Scope::Platform, &login, &password)
            .await
            .gql()?;
        Ok(LoginPayload {
            token: l.token,
            expires_at: auth::ts(l.session.expires_at),
            user: User::from_row(&l.user, a.clock.now().timestamp()),
        })
    }

    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        operator(ctx)?;
        auth::logout(app(ctx), Scope::Platform, ctx.data_unchecked::<Auth>())
            .await
            .gql()
    }

    /// Creates a tenant from the text of its `tenant.toml`; an error names the line and field.
    async fn create_tenant(
        &self,
        ctx: &Context<'_>,
        slug: String,
        tenant_toml: String,
    ) -> Result<TenantInfo> {
        let op = operator(ctx)?;
        let a = app(ctx);
        let slug = slug.trim().to_string();
        let cfg = TenantConfig::parse("tenant.toml", &tenant_toml).map_err(|e| {
            let (line, field) = (e.line, e.field.clone());
            gql(DomainError::refused(Refusal {
                field: e.field.clone(),
                message: format!("wiersz {}: {}", e.line, e.message),
                code: e.code,
            }))
            .extend_with(move |_, x| {
                x.set("line", line as u64);
                x.set("field", field.clone());
            })
        })?;
        if cfg.slug != slug {
            return Err(gql(DomainError::invalid(
                "slug",
                format!("„{}” w pliku różni się od podanego „{slug}”", cfg.slug),
            )));
        }
        let import = config_edit::to_import(&cfg).map_err(|_| gql(DomainError::Internal))?;
        let audit = NewAudit::new(&actor(&op), "tenant.create", &format!("tenant:{slug}"))
            .after(json!({ "slug": slug, "name": cfg.name }).to_string());
        let id = records::create_tenant(a, &import, Some(&audit), a.clock.now().timestamp())
            .await
            .map_err(crate::gql_errors::api_or_taken(format!(
                "Urząd o identyfikatorze „{slug}” już istnieje."
            )))?;
        a.reload().await.map_err(ApiError::from).gql()?;
        let row = records::tenant_by_id(a, id)
            .await
            .gql()?
            .ok_or_else(|| gql(DomainError::Internal))?;
        Ok((&row).into())
    }

    /// Stops serving a tenant: its public and admin endpoints answer TENANT_NOT_FOUND.
    async fn suspend_tenant(&self, ctx: &Context<'_>, slug: String) -> Result<TenantInfo> {
        set_status(ctx, slug, "suspended").await
    }

    async fn resume_tenant(&self, ctx: &Context<'_>, slug: String) -> Result<TenantInfo> {
        set_status(ctx, slug, "active").await
    }

    /// Creates an administrator of a tenant with a generated password, shown once.
    async fn create_tenant_admin(
        &self,
        ctx: &Context<'_>,
        slug: String,
        login: String,
        display_name: String,
    ) -> Result<CreatedAdmin> {
        let op = operator(ctx)?;
        let a = app(ctx);
        let t = tenant_row(a, &slug).await?;
        let login = auth::normalize_login(&login).map_err(gql)?;
        let display_name = validate::name("displayName", &display_name).map_err(gql)?;
        let password = auth::generate_password();
        let hash = auth::hash_password(&password).await.map_err(gql)?;
        let now = a.clock.now().timestamp();
        let audit = NewAudit::new(&actor(&op), "user.create", "").after(
            json!({ "login": login, "display_name": display_name, "role": "admin" }).to_string(),
        );
        let u = records::create_user(
            a,
            Scope::Tenant(TenantId(t.id)),
            &NewUser {
                login: login.clone(),
                display_name,
                password_hash: hash,
                role: "admin",
            },
            Some(&audit),
            now,
        )
        .await
        .map_err(crate::gql_errors::api_or_taken(format!(
            "Użytkownik o loginie „{login}” już istnieje w tym urzędzie."
        )))?;
        Ok(CreatedAdmin {
            user: User::from_row(&u, now),
            password,
        })
    }
}
