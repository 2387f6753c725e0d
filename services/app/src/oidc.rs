//! Login with the city's resident card on its pages (GD-5): OpenID Connect's authorization code
//! flow with PKCE (S256), `state` and `nonce`, against the provider the city's `[oidc]` table
//! names. The pages call [`start`] (where to send the browser, and a cookie to set), [`finish`]
//! on the return (the identity, and a cookie that holds it) and [`identity`] on every later
//! page (who is logged in, from that cookie).
//!
//! Library choice: jsonwebtoken (already here for `resident`) verifies the ID token against the
//! provider's JWKS, and reqwest makes the three HTTP calls. The `openidconnect` crate (4.0) would
//! add oauth2, rsa, p256, p384, ed25519-dalek, serde_with and a second base64 to the build, a
//! few minutes more of compiling on two cores for what is here some 150 lines of glue around
//! libraries already built; the checks themselves (signature, `iss`, `aud`, `exp`/`iat`,
//! `nonce`) are jsonwebtoken's or a comparison each.
//!
//! Where the login's secrets live: the `state`, `nonce` and PKCE verifier of a login under way,
//! and the identity after it, are kept in HTTP-only cookies whose values are signed (HMAC-SHA256
//! with a key derived from the server's secret) and carry their tenant and expiry (10 minutes for
//! a login under way, 30 for the identity), checked against the injected clock. No table and no
//! shared memory: any replica of the server can answer the provider's redirect, which a
//! per-process store could not. The verifier in a cookie reveals nothing to anyone but the
//! browser that started the login; the provider binds the code to its challenge, so a code
//! caught on the way is useless without it. A return is accepted once per process (the `state`s
//! used are remembered until their login would have expired); across processes the provider's
//! single-use code holds the line.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use okienko_domain::config::{ClientField, OidcConfig};
use okienko_domain::DomainError;
use rand::RngCore;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::client::ClientData;
use crate::{App, TenantCtx};

/// The cookie of a login under way (its path: the login's own routes).
pub const LOGIN_COOKIE: &str = "okienko_oidc_login";
/// The cookie of the logged-in identity (its path: the city's pages).
pub const IDENTITY_COOKIE: &str = "okienko_oidc";
/// How long a login may take at the provider.
pub const LOGIN_TTL_SECONDS: i64 = 600;
/// How long the identity stays logged in on the city's pages.
pub const IDENTITY_TTL_SECONDS: i64 = 1800;
/// Clock difference tolerated on `exp` and `iat`.
pub const LEEWAY_SECONDS: i64 = 60;

const METADATA_TTL: Duration = Duration::from_secs(3600);
const JWKS_TTL: Duration = Duration::from_secs(600);
/// At most one forced JWKS refresh (for an unknown `kid`) per issuer this often: tokens with
/// made-up key ids must not make the server hammer the provider.
const JWKS_REFRESH_MIN: Duration = Duration::from_secs(10);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// After a failed discovery, logins are told the provider is unavailable for this long without
/// asking it again: a flood of login starts must not become a flood of outgoing requests.
const DISCOVERY_RETRY: Duration = Duration::from_secs(15);
/// Largest answer read from the provider (metadata, keys, token response).
const MAX_BODY: usize = 256 * 1024;
const MAX_TOKEN: usize = 16 * 1024;
const MAX_COOKIE: usize = 4096;
const MAX_CODE: usize = 2048;
const MAX_NEXT: usize = 512;
const MAX_USED_STATES: usize = 100_000;

/// Who logged in: the client's data for the booking, read-only on the pages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// The provider's `sub`.
    pub subject: String,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
}

impl Identity {
    /// The identity as a booking's client data.
    pub fn client(&self) -> ClientData {
        ClientData {
            name: Some(self.name.clone()),
            email: self.email.clone(),
            phone: self.phone.clone(),
        }
    }
}

/// Where to send the browser, and the value of [`LOGIN_COOKIE`] to set.
#[derive(Debug, Clone)]
pub struct LoginStart {
    pub redirect: String,
    pub cookie: String,
}

/// The logged-in identity, the value of [`IDENTITY_COOKIE`] to set, and where to go on.
#[derive(Debug, Clone)]
pub struct LoginDone {
    pub identity: Identity,
    pub cookie: String,
    pub next: String,
}

/// The provider's redirect back: its query parameters.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    /// RFC 9207: the issuer of the answer, when the provider says it.
    pub iss: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct PendingLogin {
    /// The tenant's slug.
    t: String,
    state: String,
    nonce: String,
    verifier: String,
    next: String,
    /// Expiry, Unix seconds.
    exp: i64,
}

#[derive(Serialize, Deserialize)]
struct SignedIdentity {
    t: String,
    id: Identity,
    exp: i64,
}

/// The provider's metadata (OpenID Connect Discovery 1.0), the parts used here.
#[derive(Debug, Clone, Deserialize)]
struct Metadata {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(default)]
    token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    code_challenge_methods_supported: Option<Vec<String>>,
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientAuth {
    Basic,
    Post,
}

impl Metadata {
    /// client_secret_basic unless the provider offers only client_secret_post (the default
    /// when the metadata say nothing is client_secret_basic).
    fn client_auth(&self) -> Option<ClientAuth> {
        match &self.token_endpoint_auth_methods_supported {
            None => Some(ClientAuth::Basic),
            Some(m) if m.iter().any(|x| x == "client_secret_basic") => Some(ClientAuth::Basic),
            Some(m) if m.iter().any(|x| x == "client_secret_post") => Some(ClientAuth::Post),
            Some(_) => None,
        }
    }
}

/// The provider calls, with the metadata and keys cached.
pub struct OidcClient {
    http: reqwest::Client,
    metadata: Mutex<HashMap<String, (Instant, Arc<Metadata>)>>,
    jwks: Mutex<HashMap<String, (Instant, Arc<JwkSet>)>>,
    refreshed: Mutex<HashMap<String, Instant>>,
    /// When the discovery of an issuer last failed.
    failed: Mutex<HashMap<String, Instant>>,
    /// `state`s of returns accepted, with their login's expiry (Unix seconds).
    used_states: Mutex<HashMap<String, i64>>,
}

impl Default for OidcClient {
    fn default() -> Self {
        // No redirects: a provider's answer is taken from the address its metadata name.
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(HTTP_TIMEOUT)
            .build()
            .unwrap_or_default();
        OidcClient {
            http,
            metadata: Mutex::default(),
            jwks: Mutex::default(),
            refreshed: Mutex::default(),
            failed: Mutex::default(),
            used_states: Mutex::default(),
        }
    }
}

/// An https address, or http on this machine (a test or development provider).
fn acceptable_url(u: &str) -> bool {
    match reqwest::Url::parse(u) {
        Ok(url) => match url.scheme() {
            "https" => url.host().is_some(),
            "http" => matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")),
            _ => false,
        },
        Err(_) => false,
    }
}

async fn read_capped(mut r: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY {
            return Err("answer too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

impl OidcClient {
    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let r = self
            .http
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("HTTP {}", r.status()));
        }
        let body = read_capped(r).await?;
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    }

    async fn discover(&self, cfg: &OidcConfig) -> Result<Arc<Metadata>, DomainError> {
        let issuer = cfg.issuer_base();
        if let Some((at, m)) = self
            .metadata
            .lock()
            .ok()
            .and_then(|c| c.get(issuer).cloned())
        {
            if at.elapsed() < METADATA_TTL {
                return Ok(m);
            }
        }
        if self
            .failed
            .lock()
            .ok()
            .and_then(|f| f.get(issuer).copied())
            .is_some_and(|at| at.elapsed() < DISCOVERY_RETRY)
        {
            return Err(DomainError::OidcUnavailable);
        }
        let url = format!("{issuer}/.well-known/openid-configuration");
        let unavailable = |why: &str| {
            tracing::warn!(issuer, why, "OpenID provider unavailable");
            if let Ok(mut f) = self.failed.lock() {
                f.insert(issuer.to_string(), Instant::now());
            }
            DomainError::OidcUnavailable
        };
        let m: Metadata = self.get_json(&url).await.map_err(|e| unavailable(&e))?;
        // Discovery 1.0, 4.3: the metadata's issuer is the one asked for.
        if m.issuer.trim_end_matches('/') != issuer {
            return Err(unavailable("metadata name another issuer"));
        }
        if ![&m.authorization_endpoint, &m.token_endpoint, &m.jwks_uri]
            .iter()
            .all(|u| acceptable_url(u))
        {
            return Err(unavailable("an endpoint is neither https nor local"));
        }
        if m.code_challenge_methods_supported
            .as_ref()
            .is_some_and(|c| !c.iter().any(|x| x == "S256"))
        {
            return Err(unavailable("no PKCE with S256"));
        }
        if m.client_auth().is_none() {
            return Err(unavailable(
                "neither client_secret_basic nor client_secret_post",
            ));
        }
        let m = Arc::new(m);
        if let Ok(mut c) = self.metadata.lock() {
            c.insert(issuer.to_string(), (Instant::now(), m.clone()));
        }
        Ok(m)
    }

    async fn keys(&self, uri: &str, force: bool) -> Result<Arc<JwkSet>, DomainError> {
        let cached = self.jwks.lock().ok().and_then(|c| c.get(uri).cloned());
        if let Some((at, set)) = &cached {
            let fresh = at.elapsed() < JWKS_TTL;
            let may_refresh = self
                .refreshed
                .lock()
                .ok()
                .and_then(|r| r.get(uri).copied())
                .is_none_or(|t| t.elapsed() >= JWKS_REFRESH_MIN);
            if fresh && !(force && may_refresh) {
                return Ok(set.clone());
            }
        }
        if force {
            if let Ok(mut r) = self.refreshed.lock() {
                r.insert(uri.to_string(), Instant::now());
            }
        }
        let set: JwkSet = self.get_json(uri).await.map_err(|e| {
            tracing::warn!(uri, error = %e, "OpenID provider's keys unavailable");
            DomainError::OidcUnavailable
        })?;
        let set = Arc::new(set);
        if let Ok(mut c) = self.jwks.lock() {
            c.insert(uri.to_string(), (Instant::now(), set.clone()));
        }
        Ok(set)
    }

    /// Trades the code for the provider's tokens; the ID token.
    async fn exchange(
        &self,
        m: &Metadata,
        cfg: &OidcConfig,
        secret: &str,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<String, DomainError> {
        let failed = |why: String| {
            tracing::info!(issuer = %cfg.issuer, why, "OpenID code exchange refused");
            DomainError::OidcFailed
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", cfg.client_id.as_str()),
        ];
        let mut req = self.http.post(&m.token_endpoint);
        match m.client_auth() {
            Some(ClientAuth::Post) => form.push(("client_secret", secret)),
            // RFC 6749, 2.3.1: both parts form-encoded before Basic's base64.
            _ => {
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let pair = format!("{}:{}", enc(&cfg.client_id), enc(secret));
                req = req.header(
                    reqwest::header::AUTHORIZATION,
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD.encode(pair)
                    ),
                );
            }
        }
        let r = req
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(issuer = %cfg.issuer, error = %e, "OpenID token endpoint unavailable");
                DomainError::OidcUnavailable
            })?;
        let status = r.status();
        let body = read_capped(r).await.map_err(&failed)?;
        let v: Value = serde_json::from_slice(&body).map_err(|e| failed(e.to_string()))?;
        if !status.is_success() {
            let err = v.get("error").and_then(Value::as_str).unwrap_or("?");
            return Err(failed(format!("HTTP {status}: {err}")));
        }
        v.get("id_token")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| failed("no id_token".into()))
    }

    /// The verified claims of an ID token: signature by a key of the provider's JWKS (fetched
    /// again once for an unknown `kid`), `iss`, `aud` (and `azp` with several audiences),
    /// `exp`/`iat` against `now`, `nonce`.
    async fn verify(
        &self,
        m: &Metadata,
        cfg: &OidcConfig,
        token: &str,
        nonce: &str,
        now: DateTime<Utc>,
    ) -> Result<Value, DomainError> {
        let failed = |why: &str| {
            tracing::info!(issuer = %cfg.issuer, why, "ID token refused");
            DomainError::OidcFailed
        };
        if token.len() > MAX_TOKEN {
            return Err(failed("too long"));
        }
        let header = decode_header(token).map_err(|_| failed("malformed"))?;
        let set = self.keys(&m.jwks_uri, false).await?;
        let jwk = match find_key(&set, header.kid.as_deref()) {
            Some(k) => k,
            None => {
                // The provider may have rotated its keys.
                let set = self.keys(&m.jwks_uri, true).await?;
                find_key(&set, header.kid.as_deref()).ok_or_else(|| failed("unknown key"))?
            }
        };
        check_id_token(token, &jwk, m.issuer.as_str(), cfg, nonce, now).map_err(failed)
    }
}

fn find_key(set: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    match kid {
        Some(kid) => set.find(kid).cloned(),
        None if set.keys.len() == 1 => set.keys.first().cloned(),
        None => None,
    }
}

/// The checks of an ID token with its key (OpenID Connect Core 1.0, 3.1.3.7); the reason of a
/// refusal for the log.
fn check_id_token(
    token: &str,
    jwk: &Jwk,
    issuer: &str,
    cfg: &OidcConfig,
    nonce: &str,
    now: DateTime<Utc>,
) -> Result<Value, &'static str> {
    let header = decode_header(token).map_err(|_| "malformed")?;
    match (header.alg, jwk.common.key_algorithm) {
        (Algorithm::RS256, None | Some(KeyAlgorithm::RS256))
        | (Algorithm::ES256, None | Some(KeyAlgorithm::ES256)) => {}
        (Algorithm::RS256 | Algorithm::ES256, _) => return Err("key for another algorithm"),
        _ => return Err("algorithm not allowed"),
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "unusable key")?;
    let mut v = Validation::new(header.alg);
    v.set_issuer(&[issuer]);
    v.set_audience(&[cfg.client_id.as_str()]);
    // Time is checked below against the injected clock, not the system's.
    v.validate_exp = false;
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = decode::<Value>(token, &key, &v)
        .map_err(|_| "signature, issuer or audience")?
        .claims;
    if let Some(Value::Array(aud)) = claims.get("aud") {
        if aud.len() > 1 && claims.get("azp").and_then(Value::as_str) != Some(&cfg.client_id) {
            return Err("several audiences and azp not ours");
        }
    }
    let t = now.timestamp();
    let num = |k: &str| claims.get(k).and_then(Value::as_i64);
    let exp = num("exp").ok_or("no exp")?;
    if exp.saturating_add(LEEWAY_SECONDS) < t {
        return Err("expired");
    }
    let iat = num("iat").ok_or("no iat")?;
    if iat.saturating_sub(LEEWAY_SECONDS) > t {
        return Err("issued in the future");
    }
    match claims.get("nonce").and_then(Value::as_str) {
        Some(n) if crate::tokens::same(n, nonce) => {}
        _ => return Err("nonce"),
    }
    Ok(claims)
}

/// The client's data from the verified claims, by the city's claim names. A name missing
/// under the configured claim is made of `given_name` and `family_name`; an e-mail the
/// provider marks unverified is not taken.
fn identity_of(
    tenant: &TenantCtx,
    cfg: &OidcConfig,
    claims: &Value,
) -> Result<Identity, DomainError> {
    let text = |k: &str| {
        claims
            .get(k)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= 256)
            .map(str::to_string)
    };
    let name = text(&cfg.claims.name)
        .or_else(|| Some(format!("{} {}", text("given_name")?, text("family_name")?)));
    let email = text(&cfg.claims.email)
        .filter(|_| claims.get("email_verified").and_then(Value::as_bool) != Some(false));
    let phone = text(&cfg.claims.phone);
    let subject = text("sub").ok_or(DomainError::OidcFailed)?;
    let required = &tenant.cfg.booking.required_client_fields;
    let name = name.ok_or(DomainError::OidcClaimsIncomplete)?;
    if (email.is_none() && required.contains(&ClientField::Email))
        || (phone.is_none() && required.contains(&ClientField::Phone))
    {
        return Err(DomainError::OidcClaimsIncomplete);
    }
    Ok(Identity {
        subject,
        name,
        email,
        phone,
    })
}

// --- Signed cookie values ---

fn mac(app: &App, purpose: &str, payload: &str) -> Option<Hmac<Sha256>> {
    // A key of its own for these cookies, derived from the server's secret.
    let mut k = Hmac::<Sha256>::new_from_slice(&app.secret).ok()?;
    k.update(b"okienko oidc cookie v1");
    let key = k.finalize().into_bytes();
    let mut m = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    m.update(purpose.as_bytes());
    m.update(b"|");
    m.update(payload.as_bytes());
    Some(m)
}

fn seal<T: Serialize>(app: &App, purpose: &str, value: &T) -> Result<String, DomainError> {
    let json = serde_json::to_vec(value).map_err(|_| DomainError::Internal)?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let m = mac(app, purpose, &payload).ok_or(DomainError::Internal)?;
    Ok(format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(m.finalize().into_bytes())
    ))
}

fn unseal<T: DeserializeOwned>(app: &App, purpose: &str, value: &str) -> Option<T> {
    if value.len() > MAX_COOKIE {
        return None;
    }
    let (payload, sig) = value.split_once('.')?;
    let sig = URL_SAFE_NO_PAD.decode(sig).ok()?;
    mac(app, purpose, payload)?.verify_slice(&sig).ok()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

fn random() -> String {
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

// --- What the pages call ---

/// The city's configuration and its client secret, when the login is offered.
fn configured(tenant: &TenantCtx) -> Result<(&OidcConfig, String), DomainError> {
    let cfg = tenant
        .cfg
        .oidc
        .as_ref()
        .ok_or(DomainError::OidcNotOffered)?;
    match std::env::var(&cfg.client_secret_env) {
        Ok(s) if !s.is_empty() => Ok((cfg, s)),
        _ => {
            tracing::warn!(tenant = %tenant.slug, var = %cfg.client_secret_env, "resident-card login: client secret not set");
            Err(DomainError::OidcNotOffered)
        }
    }
}

/// Whether the city's pages offer the login (a provider configured and its secret set; the
/// provider may still be unreachable, which [`start`] tells).
pub fn offered(tenant: &TenantCtx) -> bool {
    tenant
        .cfg
        .oidc
        .as_ref()
        .is_some_and(|c| std::env::var(&c.client_secret_env).is_ok_and(|s| !s.is_empty()))
}

/// The address the provider sends the browser back to.
pub fn redirect_uri(app: &App, tenant: &TenantCtx) -> String {
    format!(
        "{}/t/{}/logowanie/powrot",
        app.settings.public_url.trim_end_matches('/'),
        tenant.slug
    )
}

/// The address of the login's start on the city's pages, coming back to `next` (a path on the
/// city's pages) afterwards: the href of "Zaloguj się Kartą Mieszkańca".
pub fn login_path(tenant: &TenantCtx, next: &str) -> String {
    let next: String =
        url::form_urlencoded::byte_serialize(safe_next(tenant, Some(next)).as_bytes()).collect();
    format!("/t/{}/logowanie?next={next}", tenant.slug)
}

/// `.` or `..`, also percent-encoded in any case (browsers resolve `%2E%2e` as `..`).
fn is_dot_segment(seg: &str) -> bool {
    let seg = seg.to_ascii_lowercase().replace("%2e", ".");
    seg == "." || seg == ".."
}

/// Where to go after the login: `next` when it is a path on this city's pages, else the
/// city's start page. Never another site (`//host`, `/\host`, a scheme) and never another
/// city.
pub fn safe_next(tenant: &TenantCtx, next: Option<&str>) -> String {
    let home = format!("/t/{}/", tenant.slug);
    match next {
        Some(n)
            if n.len() <= MAX_NEXT
                && n.starts_with(&home)
                && !n.contains(['\\', '#'])
                && !n.chars().any(|c| c.is_control() || c.is_whitespace())
                && !n.split(['/', '?']).any(is_dot_segment) =>
        {
            n.to_string()
        }
        _ => home,
    }
}

/// Begins a login: the provider's authorization address with a fresh `state`, `nonce` and PKCE
/// challenge, and the signed cookie that remembers them.
pub async fn start(
    app: &App,
    tenant: &TenantCtx,
    next: Option<&str>,
) -> Result<LoginStart, DomainError> {
    let (cfg, _) = configured(tenant)?;
    let m = app.oidc.discover(cfg).await?;
    let (state, nonce, verifier) = (random(), random(), random());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let mut url = reqwest::Url::parse(&m.authorization_endpoint).map_err(|_| {
        tracing::warn!(issuer = %cfg.issuer, "authorization endpoint unusable");
        DomainError::OidcUnavailable
    })?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &cfg.client_id)
        .append_pair("redirect_uri", &redirect_uri(app, tenant))
        .append_pair("scope", &cfg.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    let pending = PendingLogin {
        t: tenant.slug.clone(),
        state,
        nonce,
        verifier,
        next: safe_next(tenant, next),
        exp: app.clock.now().timestamp() + LOGIN_TTL_SECONDS,
    };
    Ok(LoginStart {
        redirect: url.into(),
        cookie: seal(app, LOGIN_COOKIE, &pending)?,
    })
}

impl OidcClient {
    /// Records a `state` as used; false when it was already.
    fn first_use(&self, state: &str, exp: i64, now: i64) -> bool {
        let Ok(mut used) = self.used_states.lock() else {
            return false;
        };
        if used.len() >= MAX_USED_STATES {
            used.retain(|_, e| *e >= now);
        }
        if used.contains_key(state) {
            return false;
        }
        used.insert(state.to_string(), exp);
        true
    }
}

/// Completes a login on the provider's return: the cookie's `state` matches and is used once,
/// the code is traded with the PKCE verifier and the client's credentials, the ID token is
/// verified; the identity and its signed cookie.
pub async fn finish(
    app: &App,
    tenant: &TenantCtx,
    login_cookie: Option<&str>,
    cb: &Callback,
) -> Result<LoginDone, DomainError> {
    let now = app.clock.now();
    let mismatch = |why: &str| {
        tracing::info!(tenant = %tenant.slug, why, "resident-card login return refused");
        DomainError::OidcStateMismatch
    };
    let pending: PendingLogin = login_cookie
        .and_then(|c| unseal(app, LOGIN_COOKIE, c))
        .ok_or_else(|| mismatch("no login under way in this browser"))?;
    if pending.t != tenant.slug || pending.exp < now.timestamp() {
        return Err(mismatch("login of another city, or expired"));
    }
    match &cb.state {
        Some(s) if crate::tokens::same(s, &pending.state) => {}
        _ => return Err(mismatch("state differs")),
    }
    if !app
        .oidc
        .first_use(&pending.state, pending.exp, now.timestamp())
    {
        return Err(mismatch("return used already"));
    }
    let (cfg, secret) = configured(tenant)?;
    if let Some(e) = &cb.error {
        tracing::info!(tenant = %tenant.slug, error = %e.chars().take(64).collect::<String>(), "provider answered with an error");
        return Err(DomainError::OidcDenied);
    }
    let m = app.oidc.discover(cfg).await?;
    if cb
        .iss
        .as_deref()
        .is_some_and(|i| i.trim_end_matches('/') != cfg.issuer_base())
    {
        return Err(mismatch("answer of another issuer"));
    }
    let code = cb
        .code
        .as_deref()
        .filter(|c| !c.is_empty() && c.len() <= MAX_CODE)
        .ok_or(DomainError::OidcFailed)?;
    let token = app
        .oidc
        .exchange(
            &m,
            cfg,
            &secret,
            code,
            &redirect_uri(app, tenant),
            &pending.verifier,
        )
        .await?;
    let claims = app
        .oidc
        .verify(&m, cfg, &token, &pending.nonce, now)
        .await?;
    let identity = identity_of(tenant, cfg, &claims)?;
    let cookie = seal(
        app,
        IDENTITY_COOKIE,
        &SignedIdentity {
            t: tenant.slug.clone(),
            id: identity.clone(),
            exp: now.timestamp() + IDENTITY_TTL_SECONDS,
        },
    )?;
    Ok(LoginDone {
        identity,
        cookie,
        next: pending.next,
    })
}

/// The identity logged in for this city, from the value of [`IDENTITY_COOKIE`]; None when
/// there is none, it is forged, of another city, or expired.
pub fn identity(app: &App, tenant: &TenantCtx, cookie: Option<&str>) -> Option<Identity> {
    let s: SignedIdentity = unseal(app, IDENTITY_COOKIE, cookie?)?;
    (s.t == tenant.slug && s.exp >= app.clock.now().timestamp()).then_some(s.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> OidcConfig {
        OidcConfig {
            issuer: "https://idp.example".into(),
            client_id: "okienko".into(),
            client_secret_env: "OKIENKO_OIDC_SECRET_X".into(),
            scopes: vec!["openid".into()],
            claims: Default::default(),
        }
    }

    #[test]
    fn only_https_or_local_endpoints() {
        assert!(acceptable_url("https://idp.example/token"));
        assert!(acceptable_url("http://127.0.0.1:8080/token"));
        assert!(!acceptable_url("http://idp.example/token"));
        assert!(!acceptable_url("http://169.254.169.254/"));
        assert!(!acceptable_url("file:///etc/passwd"));
        assert!(!acceptable_url("not a url"));
    }

    #[test]
    fn client_auth_follows_the_metadata() {
        let m = |methods: Option<&[&str]>| Metadata {
            issuer: String::new(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            jwks_uri: String::new(),
            token_endpoint_auth_methods_supported: methods
                .map(|m| m.iter().map(|s| s.to_string()).collect()),
            code_challenge_methods_supported: None,
        };
        assert_eq!(m(None).client_auth(), Some(ClientAuth::Basic));
        assert_eq!(
            m(Some(&["client_secret_post"])).client_auth(),
            Some(ClientAuth::Post)
        );
        assert_eq!(
            m(Some(&["client_secret_post", "client_secret_basic"])).client_auth(),
            Some(ClientAuth::Basic)
        );
        assert_eq!(m(Some(&["private_key_jwt"])).client_auth(), None);
    }

    #[test]
    fn garbage_tokens_are_refused_without_panic() {
        let jwk: Jwk = serde_json::from_value(serde_json::json!({
            "kty": "RSA", "kid": "k", "n": "sXch", "e": "AQAB"
        }))
        .expect("jwk");
        for t in [
            "",
            ".",
            "..",
            "a.b.c",
            "eyJhbGciOiJub25lIn0.e30.",
            "eyJhbGciOiJIUzI1NiJ9.e30.x",
        ] {
            assert!(
                check_id_token(t, &jwk, "https://idp.example", &cfg(), "n", Utc::now()).is_err(),
                "{t}"
            );
        }
    }
}
