//! An OpenID provider for the tests of the resident-card login (GD-5): discovery, an
//! authorization endpoint that approves at once and sends the browser back with a code, a
//! token endpoint that checks the client's credentials (by the method its metadata announce),
//! the redirect address and the PKCE verifier, and answers with an RS256-signed ID token
//! carrying the nonce; and its JWKS. What it signs and publishes is changed by the test
//! ([`TestProvider::set`]) to make the refusals: another audience or nonce, an old token, a
//! key it does not publish, a key rotated in.
//!
//! The keys are test-only fixtures (`fixtures/oidc-key-{a,b}.pem`, generated with
//! `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`, and their public JWKs).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// The test keys: (kid, private key PEM, public JWK).
pub const KEY_A: (&str, &str, &str) = (
    "test-oidc-a",
    include_str!("../fixtures/oidc-key-a.pem"),
    include_str!("../fixtures/oidc-key-a.jwk.json"),
);
pub const KEY_B: (&str, &str, &str) = (
    "test-oidc-b",
    include_str!("../fixtures/oidc-key-b.pem"),
    include_str!("../fixtures/oidc-key-b.jwk.json"),
);

/// What the provider does; the test changes it between logins.
#[derive(Debug, Clone)]
pub struct Behaviour {
    pub client_id: String,
    pub client_secret: String,
    /// `client_secret_basic` or `client_secret_post`: announced, and the only one accepted.
    pub auth_method: String,
    /// The kids of the keys published in the JWKS (of KEY_A and KEY_B).
    pub published: Vec<String>,
    /// The key the ID token is signed with (KEY_A's or KEY_B's kid)…
    pub sign_with: String,
    /// …and the kid its header names (another one: a bad signature or an unknown key).
    pub header_kid: String,
    /// `iat`, Unix seconds; `exp` is 5 minutes later.
    pub now: i64,
    /// Replaces the token's `aud` when set.
    pub audience: Option<String>,
    /// Replaces the token's `nonce` when set.
    pub nonce: Option<String>,
    /// The person's claims (merged into the ID token).
    pub claims: Value,
    /// Answers the authorization with `error=access_denied`.
    pub deny: bool,
    /// Answers discovery with 503.
    pub discovery_down: bool,
}

struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: String,
}

#[derive(Default)]
struct Inner {
    grants: HashMap<String, Grant>,
    used: Vec<String>,
    jwks_fetches: usize,
    token_requests: usize,
    discoveries: usize,
}

struct Shared {
    issuer: String,
    behaviour: Mutex<Behaviour>,
    inner: Mutex<Inner>,
}

/// A running provider on 127.0.0.1; stops when dropped.
pub struct TestProvider {
    pub issuer: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestProvider {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestProvider {
    /// Starts a provider for client `okienko-gdynia` with secret `secret`, signing with KEY_A
    /// and publishing it, its clock at `now` (Unix seconds).
    pub async fn start(now: i64) -> TestProvider {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the test provider");
        let addr = listener.local_addr().expect("its address");
        let issuer = format!("http://{addr}");
        let shared = Arc::new(Shared {
            issuer: issuer.clone(),
            behaviour: Mutex::new(Behaviour {
                client_id: "okienko-gdynia".into(),
                client_secret: "secret".into(),
                auth_method: "client_secret_basic".into(),
                published: vec![KEY_A.0.into()],
                sign_with: KEY_A.0.into(),
                header_kid: KEY_A.0.into(),
                now,
                audience: None,
                nonce: None,
                claims: json!({
                    "sub": "km-123",
                    "name": "Anna Mieszkańska",
                    "email": "anna@example.pl",
                    "email_verified": true,
                    "phone_number": "+48 601 222 333",
                }),
                deny: false,
                discovery_down: false,
            }),
            inner: Mutex::default(),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/jwks", get(jwks))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TestProvider {
            issuer,
            shared,
            task,
        }
    }

    /// Changes what the provider does from now on.
    pub fn set(&self, f: impl FnOnce(&mut Behaviour)) {
        if let Ok(mut b) = self.shared.behaviour.lock() {
            f(&mut b);
        }
    }

    /// How often the JWKS was fetched.
    pub fn jwks_fetches(&self) -> usize {
        self.shared
            .inner
            .lock()
            .map(|i| i.jwks_fetches)
            .unwrap_or(0)
    }

    /// How often the metadata were asked for.
    pub fn discoveries(&self) -> usize {
        self.shared.inner.lock().map(|i| i.discoveries).unwrap_or(0)
    }

    /// How many token requests arrived.
    pub fn token_requests(&self) -> usize {
        self.shared
            .inner
            .lock()
            .map(|i| i.token_requests)
            .unwrap_or(0)
    }
}

fn behaviour(s: &Shared) -> Behaviour {
    s.behaviour
        .lock()
        .map(|b| b.clone())
        .unwrap_or_else(|e| e.into_inner().clone())
}

async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    let b = behaviour(&s);
    if let Ok(mut i) = s.inner.lock() {
        i.discoveries += 1;
    }
    if b.discovery_down {
        return bad(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    }
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/authorize"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": [b.auth_method],
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    let b = behaviour(&s);
    if let Ok(mut i) = s.inner.lock() {
        i.jwks_fetches += 1;
    }
    let keys: Vec<Value> = [KEY_A, KEY_B]
        .iter()
        .filter(|(kid, _, _)| b.published.iter().any(|p| p == kid))
        .filter_map(|(_, _, jwk)| serde_json::from_str(jwk).ok())
        .collect();
    Json(json!({ "keys": keys }))
}

fn bad(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let b = behaviour(&s);
    let p = |k: &str| q.get(k).cloned().unwrap_or_default();
    if p("client_id") != b.client_id
        || p("response_type") != "code"
        || p("code_challenge_method") != "S256"
        || p("code_challenge").len() != 43
        || !p("scope").split(' ').any(|x| x == "openid")
        || p("state").is_empty()
        || p("nonce").is_empty()
        || !p("redirect_uri").starts_with("http://")
    {
        return bad(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
    let to = if b.deny {
        format!(
            "{}?error=access_denied&state={}",
            p("redirect_uri"),
            enc(&p("state"))
        )
    } else {
        let mut raw = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut raw);
        let code = URL_SAFE_NO_PAD.encode(raw);
        if let Ok(mut i) = s.inner.lock() {
            i.grants.insert(
                code.clone(),
                Grant {
                    client_id: p("client_id"),
                    redirect_uri: p("redirect_uri"),
                    challenge: p("code_challenge"),
                    nonce: p("nonce"),
                },
            );
        }
        format!(
            "{}?code={}&state={}&iss={}",
            p("redirect_uri"),
            enc(&code),
            enc(&p("state")),
            enc(&s.issuer)
        )
    };
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

/// The client's credentials as the request carries them: (id, secret, by Basic?).
fn credentials(
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Option<(String, String, bool)> {
    if let Some(h) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let raw = STANDARD.decode(h.strip_prefix("Basic ")?).ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (id, secret) = text.split_once(':')?;
        let dec = |v: &str| {
            url::form_urlencoded::parse(format!("x={v}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
        };
        return Some((dec(id)?, dec(secret)?, true));
    }
    Some((
        form.get("client_id")?.clone(),
        form.get("client_secret")?.clone(),
        false,
    ))
}

async fn token(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let b = behaviour(&s);
    let grant = {
        let Ok(mut i) = s.inner.lock() else {
            return bad(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
        };
        i.token_requests += 1;
        let code = form.get("code").cloned().unwrap_or_default();
        // A code is good for one request, whatever its outcome.
        if i.used.contains(&code) {
            return bad(StatusCode::BAD_REQUEST, "invalid_grant");
        }
        i.used.push(code.clone());
        i.grants.remove(&code)
    };
    match credentials(&headers, &form) {
        Some((id, secret, basic))
            if id == b.client_id
                && secret == b.client_secret
                && basic == (b.auth_method == "client_secret_basic") => {}
        _ => return bad(StatusCode::UNAUTHORIZED, "invalid_client"),
    }
    let Some(grant) = grant else {
        return bad(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if form.get("grant_type").map(String::as_str) != Some("authorization_code")
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || grant.client_id != b.client_id
        || challenge != grant.challenge
    {
        return bad(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let mut claims = json!({
        "iss": s.issuer,
        "aud": b.audience.clone().unwrap_or(b.client_id.clone()),
        "iat": b.now,
        "exp": b.now + 300,
        "nonce": b.nonce.clone().unwrap_or(grant.nonce),
    });
    if let (Some(c), Some(extra)) = (claims.as_object_mut(), b.claims.as_object()) {
        for (k, v) in extra {
            c.insert(k.clone(), v.clone());
        }
    }
    let Some((_, pem, _)) = [KEY_A, KEY_B]
        .into_iter()
        .find(|(kid, _, _)| *kid == b.sign_with)
    else {
        return bad(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let Ok(key) = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes()) else {
        return bad(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(b.header_kid.clone());
    let Ok(id_token) = jsonwebtoken::encode(&header, &claims, &key) else {
        return bad(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    Json(json!({
        "access_token": "opaque",
        "token_type": "Bearer",
        "expires_in": 300,
        "id_token": id_token,
    }))
    .into_response()
}
