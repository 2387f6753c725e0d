//! The admin API's reads.

use async_graphql::{Context, Object, Result};
use okienko_app::records::{self, Scope};
use okienko_domain::DomainError;

use super::access::{gql, staff};
use super::accounts::{audit_page, AuditPage, User};
use super::config::{configuration, Configuration};
use super::devices::{ApiKey, Device, PolicyVersion};
use crate::ctx::app;
use crate::gql_errors::OrGql;
use okienko_app::auth::Permission;

// ---------------------------------------------------------------------------------------------
// Root

pub struct Query;

// Merged into the root `Query` (see `AdminQuery`); the part's own name never shows.
#[Object(name = "ConfigQuery")]
impl Query {
    /// The logged-in staff member.
    async fn me(&self, ctx: &Context<'_>) -> Result<User> {
        let s = staff(ctx, Permission::ReadConfig)?;
        let u = records::user_by_id(app(ctx), Scope::Tenant(s.tenant), s.user.id)
            .await
            .gql()?
            .ok_or_else(|| gql(DomainError::Unauthenticated))?;
        Ok(User::from_row(&u, app(ctx).clock.now().timestamp()))
    }

    /// The city's configuration as stored.
    async fn configuration(&self, ctx: &Context<'_>) -> Result<Configuration> {
        let s = staff(ctx, Permission::ReadConfig)?;
        configuration(app(ctx), s.tenant).await
    }

    async fn users(&self, ctx: &Context<'_>) -> Result<Vec<User>> {
        let s = staff(ctx, Permission::ManageUsers)?;
        let now = app(ctx).clock.now().timestamp();
        Ok(records::list_users(app(ctx), Scope::Tenant(s.tenant))
            .await
            .gql()?
            .iter()
            .map(|u| User::from_row(u, now))
            .collect())
    }

    async fn devices(&self, ctx: &Context<'_>) -> Result<Vec<Device>> {
        let s = staff(ctx, Permission::ManageDevices)?;
        Ok(records::list_devices(app(ctx), s.tenant)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    async fn api_keys(&self, ctx: &Context<'_>) -> Result<Vec<ApiKey>> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        Ok(records::list_api_keys(app(ctx), s.tenant)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// Who changed what, newest first (administrators only).
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 50)] first: i32,
        after: Option<String>,
    ) -> Result<AuditPage> {
        let s = staff(ctx, Permission::ReadAudit)?;
        audit_page(app(ctx), Scope::Tenant(s.tenant), first, after).await
    }

    /// Every version of the city's policy script, newest first.
    async fn policy_versions(&self, ctx: &Context<'_>) -> Result<Vec<PolicyVersion>> {
        let s = staff(ctx, Permission::ManagePolicy)?;
        Ok(records::policy_history(app(ctx), s.tenant)
            .await
            .gql()?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
