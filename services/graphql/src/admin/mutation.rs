//! The admin API's changes: login, the configuration, users, devices, API keys and the
//! policy script. Every change writes an audit row.

use async_graphql::{Context, ErrorExtensions, Object, Result, ID};
use chrono::NaiveDate;
use okienko_app::records::{self, NewAudit, NewUser, Scope, StoreError};
use okienko_domain::config::{
    BookingRules, Branding, ConfirmationRules, Consent, MessageRules, Office, Service, Terms,
    WeeklyHoursConfig,
};
use okienko_domain::{validate, DomainError};
use serde_json::json;

use super::access::caller;
use super::access::{actor, gql, parse_id, staff, ts};
use super::accounts::{LoginPayload, StaffRole, User};
use super::config::{
    edit_config, not_found, BookingRulesInput, BrandingInput, Configuration, ConfirmationInput,
    ConsentInput, DateFormat, OfficeInput, ServiceInput, WeeklyHoursInput,
};
use super::devices::{
    check_scopes, user_json, ApiKey, CreatedApiKey, CreatedDevice, Device, DeviceKind, PairingCode,
    PolicyActivation, PolicyTestFileInput,
};
use crate::ctx::{app, tenant};
use crate::gql_errors::OrGql;
use okienko_app::auth::{self, Permission};
use okienko_app::devices;
use okienko_app::error::ApiError;

pub struct Mutation;

// Merged into the root `Mutation` (see `AdminMutation`); the part's own name never shows.
#[Object(name = "ConfigMutation")]
impl Mutation {
    /// Logs a staff member of this city in; the token goes in `Authorization: Bearer …`.
    async fn login(
        &self,
        ctx: &Context<'_>,
        login: String,
        password: String,
    ) -> Result<LoginPayload> {
        let t = tenant(ctx);
        let a = app(ctx);
        let l = auth::login(a, Scope::Tenant(t.id), &login, &password)
            .await
            .gql()?;
        Ok(LoginPayload {
            token: l.token,
            expires_at: ts(l.session.expires_at),
            user: User::from_row(&l.user, a.clock.now().timestamp()),
        })
    }

    /// Ends the session of the token the request came with.
    async fn logout(&self, ctx: &Context<'_>) -> Result<bool> {
        staff(ctx, Permission::ReadConfig)?;
        let t = tenant(ctx);
        auth::logout(app(ctx), Scope::Tenant(t.id), caller(ctx))
            .await
            .gql()
    }

    // --- offices -------------------------------------------------------------------------

    async fn create_office(&self, ctx: &Context<'_>, input: OfficeInput) -> Result<Configuration> {
        let target = format!("office:{}", input.key);
        let office: Office = input.into();
        edit_config(ctx, "config.create_office", &target, move |c| {
            if c.office(&office.key).is_some() {
                return Err(DomainError::invalid(
                    "key",
                    "urząd o tym kluczu już istnieje",
                ));
            }
            c.offices.push(office.clone());
            Ok(())
        })
        .await
    }

    /// Replaces an office's data (named by its key).
    async fn update_office(&self, ctx: &Context<'_>, input: OfficeInput) -> Result<Configuration> {
        let target = format!("office:{}", input.key);
        let office: Office = input.into();
        edit_config(ctx, "config.update_office", &target, move |c| {
            let o = c
                .offices
                .iter_mut()
                .find(|o| o.key == office.key)
                .ok_or_else(|| not_found("key", &office.key))?;
            *o = office.clone();
            Ok(())
        })
        .await
    }

    /// Removes an office that has no services left.
    async fn remove_office(&self, ctx: &Context<'_>, key: String) -> Result<Configuration> {
        let target = format!("office:{key}");
        edit_config(ctx, "config.remove_office", &target, move |c| {
            if c.office(&key).is_none() {
                return Err(not_found("key", &key));
            }
            if c.services.iter().any(|s| s.office == key) {
                return Err(DomainError::invalid(
                    "key",
                    "urząd ma usługi: najpierw je usuń albo przenieś do innego urzędu",
                ));
            }
            if c.queues.iter().any(|q| q.office == key) || c.desks.iter().any(|d| d.office == key) {
                return Err(DomainError::invalid(
                    "key",
                    "urząd ma kolejki lub stanowiska: najpierw je usuń",
                ));
            }
            c.offices.retain(|o| o.key != key);
            Ok(())
        })
        .await
    }

    /// Sets an office's weekly hours.
    async fn set_office_hours(
        &self,
        ctx: &Context<'_>,
        office_key: String,
        hours: WeeklyHoursInput,
    ) -> Result<Configuration> {
        let target = format!("office:{office_key}");
        let hours: WeeklyHoursConfig = hours.into();
        edit_config(ctx, "config.set_office_hours", &target, move |c| {
            let o = c
                .offices
                .iter_mut()
                .find(|o| o.key == office_key)
                .ok_or_else(|| not_found("officeKey", &office_key))?;
            o.hours = hours.clone();
            Ok(())
        })
        .await
    }

    // --- services ------------------------------------------------------------------------

    async fn create_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> Result<Configuration> {
        let target = format!("service:{}", input.key);
        let service: Service = input.into();
        edit_config(ctx, "config.create_service", &target, move |c| {
            if c.service(&service.key).is_some() {
                return Err(DomainError::invalid(
                    "key",
                    "usługa o tym kluczu już istnieje",
                ));
            }
            c.services.push(service.clone());
            Ok(())
        })
        .await
    }

    /// Replaces a service's data (named by its key); its id and bookings stay.
    async fn update_service(
        &self,
        ctx: &Context<'_>,
        input: ServiceInput,
    ) -> Result<Configuration> {
        let target = format!("service:{}", input.key);
        let service: Service = input.into();
        edit_config(ctx, "config.update_service", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service.key)
                .ok_or_else(|| not_found("key", &service.key))?;
            *s = service.clone();
            Ok(())
        })
        .await
    }

    /// Removes a service from booking; its id and past bookings are kept.
    async fn remove_service(&self, ctx: &Context<'_>, key: String) -> Result<Configuration> {
        let target = format!("service:{key}");
        edit_config(ctx, "config.remove_service", &target, move |c| {
            if c.service(&key).is_none() {
                return Err(not_found("key", &key));
            }
            c.services.retain(|s| s.key != key);
            // Its queue no longer serves it.
            for q in &mut c.queues {
                q.services.retain(|s| *s != key);
            }
            Ok(())
        })
        .await
    }

    /// Sets a service's own weekly hours; null: its office's hours.
    async fn set_service_hours(
        &self,
        ctx: &Context<'_>,
        service_key: String,
        hours: Option<WeeklyHoursInput>,
    ) -> Result<Configuration> {
        let target = format!("service:{service_key}");
        let hours: Option<WeeklyHoursConfig> = hours.map(Into::into);
        edit_config(ctx, "config.set_service_hours", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service_key)
                .ok_or_else(|| not_found("serviceKey", &service_key))?;
            s.hours = hours.clone();
            Ok(())
        })
        .await
    }

    /// Seats per slot for online and for staff (phone) bookings (P-3).
    async fn set_capacity(
        &self,
        ctx: &Context<'_>,
        service_key: String,
        online: u32,
        staff: u32,
    ) -> Result<Configuration> {
        let target = format!("service:{service_key}");
        edit_config(ctx, "config.set_capacity", &target, move |c| {
            let s = c
                .services
                .iter_mut()
                .find(|s| s.key == service_key)
                .ok_or_else(|| not_found("serviceKey", &service_key))?;
            s.capacity_online = online;
            s.capacity_staff = staff;
            Ok(())
        })
        .await
    }

    // --- calendar and rules --------------------------------------------------------------

    /// Closes the whole office on a day (besides public holidays).
    async fn add_closure_day(&self, ctx: &Context<'_>, date: NaiveDate) -> Result<Configuration> {
        let target = format!("closure:{date}");
        edit_config(ctx, "config.add_closure_day", &target, move |c| {
            if !c.closures.contains(&date) {
                c.closures.push(date);
                c.closures.sort();
            }
            Ok(())
        })
        .await
    }

    async fn remove_closure_day(
        &self,
        ctx: &Context<'_>,
        date: NaiveDate,
    ) -> Result<Configuration> {
        let target = format!("closure:{date}");
        edit_config(ctx, "config.remove_closure_day", &target, move |c| {
            if !c.closures.contains(&date) {
                return Err(DomainError::invalid(
                    "date",
                    "ten dzień nie jest dniem zamknięcia",
                ));
            }
            c.closures.retain(|d| *d != date);
            Ok(())
        })
        .await
    }

    async fn set_booking_rules(
        &self,
        ctx: &Context<'_>,
        input: BookingRulesInput,
    ) -> Result<Configuration> {
        let rules: BookingRules = input.into();
        edit_config(ctx, "config.set_booking_rules", "booking", move |c| {
            c.booking = rules.clone();
            Ok(())
        })
        .await
    }

    async fn set_confirmation(
        &self,
        ctx: &Context<'_>,
        input: ConfirmationInput,
    ) -> Result<Configuration> {
        let rules = ConfirmationRules {
            mode: input.mode.into(),
            ttl_minutes: input.ttl_minutes,
            sms_option: input.sms_option,
        };
        edit_config(ctx, "config.set_confirmation", "confirmation", move |c| {
            c.confirmation = rules.clone();
            Ok(())
        })
        .await
    }

    async fn set_branding(&self, ctx: &Context<'_>, input: BrandingInput) -> Result<Configuration> {
        let b = Branding {
            display_name: input.display_name,
            primary_color: input.primary_color,
            secondary_color: input.secondary_color,
            logo_url: input.logo_url,
            logo_svg: None,
            email_from: input.email_from,
        };
        edit_config(ctx, "config.set_branding", "branding", move |c| {
            if b.display_name.trim().is_empty() {
                return Err(DomainError::invalid(
                    "branding.display_name",
                    "nazwa nie może być pusta",
                ));
            }
            // The logo file came with the import; the colours and names do not replace it.
            c.branding = Branding {
                logo_svg: c.branding.logo_svg.take(),
                ..b.clone()
            };
            Ok(())
        })
        .await
    }

    /// How the city's e-mails and pages write dates and name a visit (DG-7).
    async fn set_messages(
        &self,
        ctx: &Context<'_>,
        date_format: DateFormat,
        phone_as_identifier: bool,
    ) -> Result<Configuration> {
        let rules = MessageRules {
            date_format: date_format.into(),
            phone_as_identifier,
        };
        edit_config(ctx, "config.set_messages", "messages", move |c| {
            c.messages = rules;
            Ok(())
        })
        .await
    }

    /// Publishes a new version of the terms; bookings from now on record it (P-4).
    async fn publish_terms(
        &self,
        ctx: &Context<'_>,
        version: String,
        title: String,
        text: String,
    ) -> Result<Configuration> {
        let target = format!("terms:{version}");
        let terms = Terms {
            version: version.trim().to_string(),
            title,
            text,
        };
        edit_config(ctx, "config.publish_terms", &target, move |c| {
            if terms.version.is_empty() || terms.version == c.terms.version {
                return Err(DomainError::invalid(
                    "version",
                    "nowa wersja regulaminu musi mieć nowy, niepusty numer",
                ));
            }
            if terms.title.trim().is_empty() || terms.text.trim().is_empty() {
                return Err(DomainError::invalid(
                    "text",
                    "tytuł i treść nie mogą być puste",
                ));
            }
            c.terms = terms.clone();
            Ok(())
        })
        .await
    }

    /// Replaces the consents asked for at booking (P-4).
    async fn set_consents(
        &self,
        ctx: &Context<'_>,
        consents: Vec<ConsentInput>,
    ) -> Result<Configuration> {
        let consents: Vec<Consent> = consents
            .into_iter()
            .map(|c| Consent {
                key: c.key,
                version: c.version,
                title: c.title,
                text: c.text,
                required: c.required,
            })
            .collect();
        edit_config(ctx, "config.set_consents", "consents", move |c| {
            c.consents = consents.clone();
            Ok(())
        })
        .await
    }

    // --- users ---------------------------------------------------------------------------

    /// Creates a staff account with a role and an initial password.
    async fn create_user(
        &self,
        ctx: &Context<'_>,
        login: String,
        display_name: String,
        role: StaffRole,
        password: String,
    ) -> Result<User> {
        let s = staff(ctx, Permission::ManageUsers)?;
        let a = app(ctx);
        let login = auth::normalize_login(&login).map_err(gql)?;
        let display_name = validate::name("displayName", &display_name).map_err(gql)?;
        auth::check_password("password", &password).map_err(gql)?;
        let role: auth::Role = role.into();
        let hash = auth::hash_password(&password).await.map_err(gql)?;
        let now = a.clock.now().timestamp();
        let after = json!({ "login": login, "display_name": display_name, "role": role.as_str() });
        let audit = NewAudit::new(&actor(&s), "user.create", "").after(after.to_string());
        let u = records::create_user(
            a,
            Scope::Tenant(s.tenant),
            &NewUser {
                login: login.clone(),
                display_name,
                password_hash: hash,
                role: role.as_str(),
            },
            Some(&audit),
            now,
        )
        .await
        .map_err(crate::gql_errors::api_or_taken(format!(
            "Użytkownik o loginie „{login}” już istnieje."
        )))?;
        Ok(User::from_row(&u, now))
    }

    /// Suspends an account and ends its sessions.
    async fn suspend_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        set_user_status(ctx, id, "suspended").await
    }

    async fn resume_user(&self, ctx: &Context<'_>, id: ID) -> Result<User> {
        set_user_status(ctx, id, "active").await
    }

    // --- devices -------------------------------------------------------------------------

    /// Registers a kiosk or call display of an office; its token is shown once.
    async fn create_device(
        &self,
        ctx: &Context<'_>,
        office_id: ID,
        kind: DeviceKind,
        name: String,
    ) -> Result<CreatedDevice> {
        let s = staff(ctx, Permission::ManageDevices)?;
        let a = app(ctx);
        let office = parse_id("officeId", &office_id)?;
        let name = validate::text("name", &name).map_err(gql)?;
        let kind: auth::DeviceKind = kind.into();
        let token = auth::new_device_token();
        let after = json!({ "office_id": office, "kind": kind.as_str(), "name": name });
        let audit = NewAudit::new(&actor(&s), "device.create", "").after(after.to_string());
        let d = records::create_device(
            a,
            s.tenant,
            office,
            kind.as_str(),
            &name,
            &okienko_app::tokens::hash(&token),
            Some(&audit),
            a.clock.now().timestamp(),
        )
        .await
        .map_err(|e| match e {
            ApiError::Store(StoreError::NotFound) => {
                gql(DomainError::invalid("officeId", "nie ma takiego urzędu"))
            }
            e => crate::gql_errors::api(e),
        })?;
        Ok(CreatedDevice {
            device: d.into(),
            token,
        })
    }

    async fn revoke_device(&self, ctx: &Context<'_>, id: ID) -> Result<Device> {
        let s = staff(ctx, Permission::ManageDevices)?;
        let a = app(ctx);
        let id = parse_id("id", &id)?;
        let audit = NewAudit::new(&actor(&s), "device.revoke", &format!("device:{id}"));
        Ok(
            records::revoke_device(a, s.tenant, id, Some(&audit), a.clock.now().timestamp())
                .await
                .gql()?
                .into(),
        )
    }

    /// A one-time code (valid a few minutes) that pairs a device's browser at
    /// `/t/{slug}/urzadzenie`: a kiosk, a hall display, or with `desk` a door display of that
    /// desk. The device is made when the code is redeemed.
    async fn create_pairing_code(
        &self,
        ctx: &Context<'_>,
        kind: DeviceKind,
        office_id: ID,
        desk: Option<i64>,
        name: String,
    ) -> Result<PairingCode> {
        let s = staff(ctx, Permission::ManageDevices)?;
        let r = devices::PairingRequest {
            kind: kind.into(),
            office_id: parse_id("officeId", &office_id)?,
            desk,
            name,
        };
        let c = devices::create_pairing_code(app(ctx), &tenant(ctx), &s, &r)
            .await
            .gql()?;
        Ok(PairingCode {
            code: c.code,
            expires_at: c.expires_at,
            valid_minutes: devices::PAIRING_MINUTES,
        })
    }

    // --- API keys ------------------------------------------------------------------------

    /// Creates a partner's API key with scopes; the key is shown once.
    async fn create_api_key(
        &self,
        ctx: &Context<'_>,
        name: String,
        scopes: Vec<String>,
    ) -> Result<CreatedApiKey> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        let a = app(ctx);
        let name = validate::text("name", &name).map_err(gql)?;
        check_scopes(&scopes).map_err(gql)?;
        let key = auth::new_api_key();
        let scopes_json = serde_json::to_string(&scopes).unwrap_or_else(|_| "[]".into());
        let after = json!({ "name": name, "scopes": scopes });
        let audit = NewAudit::new(&actor(&s), "api_key.create", "").after(after.to_string());
        let k = records::create_api_key(
            a,
            s.tenant,
            &name,
            &scopes_json,
            &okienko_app::tokens::hash(&key),
            Some(&audit),
            a.clock.now().timestamp(),
        )
        .await
        .gql()?;
        Ok(CreatedApiKey {
            api_key: k.into(),
            key,
        })
    }

    async fn revoke_api_key(&self, ctx: &Context<'_>, id: ID) -> Result<ApiKey> {
        let s = staff(ctx, Permission::ManageApiKeys)?;
        let a = app(ctx);
        let id = parse_id("id", &id)?;
        let audit = NewAudit::new(&actor(&s), "api_key.revoke", &format!("api_key:{id}"));
        Ok(
            records::revoke_api_key(a, s.tenant, id, Some(&audit), a.clock.now().timestamp())
                .await
                .gql()?
                .into(),
        )
    }

    // --- policy --------------------------------------------------------------------------

    /// Compiles a new version of the city's policy script and runs its tests; only when all
    /// pass does it become active (P-6). Otherwise the old version stays and the error carries
    /// the report (POLICY_COMPILE_FAILED, POLICY_TESTS_FAILED).
    async fn activate_policy(
        &self,
        ctx: &Context<'_>,
        source: String,
        tests: Vec<PolicyTestFileInput>,
    ) -> Result<PolicyActivation> {
        let s = staff(ctx, Permission::ManagePolicy)?;
        let a = app(ctx);
        let t = tenant(ctx);
        let files: Vec<(String, String)> = tests.into_iter().map(|f| (f.name, f.content)).collect();
        let who = actor(&s);
        let now = a.clock.now().timestamp();
        use okienko_app::policy_host::ActivationError as E;
        match okienko_app::policy_host::activate(
            &a.db,
            &a.policies,
            t.id,
            &t.cfg,
            &source,
            &files,
            &who,
            now,
        )
        .await
        {
            Ok((row, report)) => {
                let audit =
                    NewAudit::new(&who, "policy.activate", &format!("policy:{}", row.version))
                        .after(json!({ "version": row.version, "hash": row.hash }).to_string());
                records::record_audit(a, Scope::Tenant(t.id), &audit, now)
                    .await
                    .gql()?;
                Ok(PolicyActivation {
                    policy: row.into(),
                    report,
                })
            }
            Err(E::Compile(m)) => Err(gql(DomainError::PolicyCompileFailed(m.clone()))
                .extend_with(|_, e| e.set("report", m.clone()))),
            Err(E::TestsFailed(report)) => Err(gql(DomainError::PolicyTestsFailed(report.clone()))
                .extend_with(|_, e| e.set("report", report.clone()))),
            Err(E::NoTests) => Err(gql(DomainError::invalid(
                "tests",
                "skrypt zasad aktywuje się tylko razem z testami",
            ))),
            Err(E::TestsUnreadable(m)) => Err(gql(DomainError::invalid(
                "tests",
                format!("testów nie da się odczytać: {m}"),
            ))),
            Err(E::Store(e)) => Err(crate::gql_errors::api(ApiError::from(e))),
        }
    }
}

pub(crate) async fn set_user_status(
    ctx: &Context<'_>,
    id: ID,
    status: &'static str,
) -> Result<User> {
    let s = staff(ctx, Permission::ManageUsers)?;
    let a = app(ctx);
    let id = parse_id("id", &id)?;
    if id == s.user.id {
        return Err(gql(DomainError::ChangeNotAllowed(
            "nie można zmienić stanu własnego konta.".into(),
        )));
    }
    let scope = Scope::Tenant(s.tenant);
    let before = records::user_by_id(a, scope, id)
        .await
        .gql()?
        .ok_or_else(|| gql(DomainError::NotFound))?;
    let mut after = before.clone();
    after.status = status.to_string();
    let action = if status == "active" {
        "user.resume"
    } else {
        "user.suspend"
    };
    let audit = NewAudit::new(&actor(&s), action, &format!("user:{id}"))
        .before(user_json(&before))
        .after(user_json(&after));
    let now = a.clock.now().timestamp();
    let u = records::set_user_status(a, scope, id, status, Some(&audit), now)
        .await
        .gql()?;
    Ok(User::from_row(&u, now))
}
