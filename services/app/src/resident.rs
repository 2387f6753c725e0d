//! Login with the city's resident card (GD-5): a token signed by the city's identity provider
//! (RS256 or ES256), checked for signature, issuer, audience and expiry against the injected
//! clock; its claims become the client's data through the city's policy.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use okienko_domain::config::ResidentCard;
use okienko_domain::DomainError;

/// How long fetched keys are trusted before they are fetched again.
const JWKS_TTL: Duration = Duration::from_secs(600);
/// Clock difference tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: i64 = 60;
const MAX_TOKEN: usize = 16 * 1024;

#[derive(Default)]
pub struct ResidentVerifier {
    http: reqwest::Client,
    cache: Mutex<HashMap<String, (Instant, JwkSet)>>,
}

impl ResidentVerifier {
    async fn fetch(&self, url: &str, fresh: bool) -> Result<JwkSet, DomainError> {
        if !fresh {
            if let Some((at, set)) = self.cache.lock().ok().and_then(|c| c.get(url).cloned()) {
                if at.elapsed() < JWKS_TTL {
                    return Ok(set);
                }
            }
        }
        let set: JwkSet = self
            .http
            .get(url)
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| {
                tracing::warn!(url, error = %e, "resident card keys unavailable");
                DomainError::Internal
            })?
            .json()
            .await
            .map_err(|e| {
                tracing::warn!(url, error = %e, "resident card keys unreadable");
                DomainError::Internal
            })?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(url.to_string(), (Instant::now(), set.clone()));
        }
        Ok(set)
    }

    async fn keys(&self, rc: &ResidentCard, fresh: bool) -> Result<JwkSet, DomainError> {
        match (&rc.jwks, &rc.jwks_url) {
            (Some(inline), _) => serde_json::from_str(inline).map_err(|e| {
                tracing::error!(error = %e, "resident card JWKS in the configuration is unreadable");
                DomainError::Internal
            }),
            (None, Some(url)) => self.fetch(url, fresh).await,
            (None, None) => Err(DomainError::ResidentCardNotOffered),
        }
    }

    /// The verified claims of a resident-card token.
    pub async fn claims(
        &self,
        rc: &ResidentCard,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<serde_json::Value, DomainError> {
        let invalid = |why: &str| {
            tracing::info!(why, "resident card token refused");
            DomainError::ResidentTokenInvalid
        };
        if token.len() > MAX_TOKEN {
            return Err(invalid("too long"));
        }
        let header = decode_header(token).map_err(|_| invalid("malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(invalid("algorithm not allowed"));
        }
        let mut set = self.keys(rc, false).await?;
        let find = |set: &JwkSet| match &header.kid {
            Some(kid) => set.find(kid).cloned(),
            None if set.keys.len() == 1 => set.keys.first().cloned(),
            None => None,
        };
        let jwk = match find(&set) {
            Some(k) => k,
            None if rc.jwks_url.is_some() => {
                // The provider may have rotated its keys.
                set = self.keys(rc, true).await?;
                find(&set).ok_or_else(|| invalid("unknown key"))?
            }
            None => return Err(invalid("unknown key")),
        };
        let key = DecodingKey::from_jwk(&jwk).map_err(|_| invalid("unusable key"))?;
        let mut v = Validation::new(header.alg);
        v.set_issuer(&[rc.issuer.as_str()]);
        v.set_audience(&[rc.audience.as_str()]);
        // Expiry is checked below against the injected clock, not the system's.
        v.validate_exp = false;
        v.set_required_spec_claims(&["exp", "iss", "aud"]);
        let data =
            decode::<serde_json::Value>(token, &key, &v).map_err(|e| invalid(&e.to_string()))?;
        let claims = data.claims;
        let t = now.timestamp();
        let exp = claims
            .get("exp")
            .and_then(serde_json::Value::as_i64)
            .ok_or_else(|| invalid("no exp"))?;
        if exp + LEEWAY_SECONDS < t {
            return Err(invalid("expired"));
        }
        if claims
            .get("nbf")
            .and_then(serde_json::Value::as_i64)
            .is_some_and(|nbf| nbf - LEEWAY_SECONDS > t)
        {
            return Err(invalid("not yet valid"));
        }
        Ok(claims)
    }
}
