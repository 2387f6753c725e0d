//! Checks of what a client sends with a booking: contact data, form fields, consents.

use okienko_domain::config::{ClientField, FieldSpec};
use okienko_domain::{validate, DomainError};

use super::types::{CreateRequest, MAX_FIELDS};
use crate::catalog::TenantCtx;
use crate::client::ClientData;

// Create

pub(crate) fn validate_client(
    tenant: &TenantCtx,
    c: &ClientData,
) -> Result<ClientData, DomainError> {
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

pub(crate) fn validate_consents(
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
