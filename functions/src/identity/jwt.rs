//! OIDC bearer tokens. RS256/ES256 are verified against the issuer's JWKS (found through its
//! discovery document, fetched once per container, cached, refreshed on an unknown `kid`);
//! HS256 against the key in the deployment secret. Every key is pinned to one algorithm:
//! a JWKS key to its `alg` (or its key type's only accepted one), the HS256 key to HS256, so
//! `alg: none` and RS/HS confusion have nothing to verify with.

use crate::error::ApiError;
use crate::ids::TenantId;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_http::http::StatusCode;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// GAME's leeway on `exp` (and ours on `nbf`).
pub const LEEWAY_SECS: i64 = 30;
/// Longer "tokens" are refused before any parsing.
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// Largest discovery document or JWKS read.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// GAME's subject normalisation, in order.
pub const SUBJECT_CLAIMS: [&str; 5] = ["sub", "preferred_username", "email", "client_id", "azp"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwtConfig {
    /// Accepted `iss` values (`GAME_JWT_ISSUER`, comma-separated). Empty = no bearer tokens.
    pub issuers: Vec<String>,
    /// Accepted audiences (`GAME_JWT_AUDIENCE`, comma-separated); empty = not checked.
    /// A token without `aud` passes when its `client_id` is listed (Cognito access tokens).
    pub audiences: Vec<String>,
    /// Dotted claim paths holding roles or groups (`GAME_JWT_ADMIN_CLAIM`).
    pub admin_claims: Vec<String>,
    /// The role/group that makes an administrator (`GAME_JWT_ADMIN_VALUE`).
    pub admin_value: String,
    /// The claim naming the tenant (`GAME_JWT_TENANT_CLAIM`); `iss` = the issuer's realm,
    /// i.e. the last segment of its URL path (Keycloak realm, Cognito user pool id).
    pub tenant_claim: String,
    /// JWKS URL instead of discovery (`GAME_JWT_JWKS_URL`), e.g. an IdP reached by another name.
    pub jwks_url: Option<String>,
    /// Cached JWKS older than this is fetched again on next use (`GAME_JWKS_MAX_AGE_SECONDS`).
    pub jwks_max_age: Duration,
    /// At most one refresh per issuer per this interval for unknown `kid`s, so tokens with
    /// made-up `kid`s cannot make us hammer the IdP (`GAME_JWKS_REFRESH_INTERVAL_SECONDS`).
    pub jwks_refresh_interval: Duration,
    /// Budget of one key refresh, discovery and JWKS together (`GAME_JWKS_TIMEOUT_MS`).
    pub http_timeout: Duration,
}

impl Default for JwtConfig {
    fn default() -> Self {
        Self {
            issuers: Vec::new(),
            audiences: Vec::new(),
            admin_claims: vec!["realm_access.roles".into(), "cognito:groups".into()],
            admin_value: "AdministratorGAME".into(),
            tenant_claim: "iss".into(),
            jwks_url: None,
            jwks_max_age: Duration::from_secs(300),
            jwks_refresh_interval: Duration::from_secs(10),
            http_timeout: Duration::from_secs(3),
        }
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The realm an issuer URL names: its last non-empty path segment, or its host.
pub fn issuer_realm(issuer: &str) -> Option<String> {
    let rest = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
    let mut segments = rest.split('/').filter(|s| !s.is_empty());
    let host = segments.next()?;
    let realm = segments.next_back().unwrap_or(host);
    crate::ids::valid_tenant(realm).then(|| realm.to_owned())
}

impl JwtConfig {
    pub fn from_env() -> Result<Self, String> {
        use crate::env::{env_text, env_u64};
        let defaults = Self::default();
        let config = Self {
            issuers: env_text("GAME_JWT_ISSUER")
                .map(|t| list(&t))
                .unwrap_or_default(),
            audiences: env_text("GAME_JWT_AUDIENCE")
                .map(|t| list(&t))
                .unwrap_or_default(),
            admin_claims: env_text("GAME_JWT_ADMIN_CLAIM")
                .map(|t| list(&t))
                .unwrap_or(defaults.admin_claims),
            admin_value: env_text("GAME_JWT_ADMIN_VALUE").unwrap_or(defaults.admin_value),
            tenant_claim: env_text("GAME_JWT_TENANT_CLAIM").unwrap_or(defaults.tenant_claim),
            jwks_url: env_text("GAME_JWT_JWKS_URL"),
            jwks_max_age: Duration::from_secs(env_u64("GAME_JWKS_MAX_AGE_SECONDS", 300)?),
            jwks_refresh_interval: Duration::from_secs(env_u64(
                "GAME_JWKS_REFRESH_INTERVAL_SECONDS",
                10,
            )?),
            http_timeout: Duration::from_millis(env_u64("GAME_JWKS_TIMEOUT_MS", 3000)?.max(1)),
        };
        config.check()?;
        Ok(config)
    }

    /// Configuration errors that would otherwise surface as odd tenants at request time.
    pub fn check(&self) -> Result<(), String> {
        if self.tenant_claim == "iss" {
            let mut seen: HashMap<String, &str> = HashMap::new();
            for issuer in &self.issuers {
                let realm = issuer_realm(issuer).ok_or_else(|| {
                    format!("GAME_JWT_ISSUER {issuer} names no realm usable as a tenant")
                })?;
                // Two IdPs with a realm of the same name would share a tenant.
                if let Some(other) = seen.insert(realm.clone(), issuer) {
                    return Err(format!(
                        "issuers {other} and {issuer} both name realm {realm}: set GAME_JWT_TENANT_CLAIM"
                    ));
                }
            }
        }
        if self.jwks_url.is_some() && self.issuers.len() > 1 {
            return Err(
                "GAME_JWT_JWKS_URL serves one issuer; list only one in GAME_JWT_ISSUER".into(),
            );
        }
        Ok(())
    }
}

/// What a verified token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedToken {
    pub issuer: String,
    pub subject: String,
    pub tenant: TenantId,
    pub is_admin: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum JwtError {
    /// The token is not acceptable: 401.
    Invalid { code: &'static str, detail: String },
    /// The issuer's keys could not be fetched: 503 (our problem, retryable).
    Unavailable(String),
}

impl JwtError {
    pub fn invalid(code: &'static str, detail: impl Into<String>) -> Self {
        Self::Invalid {
            code,
            detail: detail.into(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid { code, .. } => code,
            Self::Unavailable(_) => "token_keys_unavailable",
        }
    }

    pub fn into_api_error(self) -> ApiError {
        match self {
            Self::Invalid { code, detail } => ApiError::new(StatusCode::UNAUTHORIZED, code, detail)
                .with_header(
                    "www-authenticate",
                    format!(
                        "Bearer realm=\"GAME\", error=\"invalid_token\", error_code=\"{code}\""
                    ),
                ),
            Self::Unavailable(cause) => {
                tracing::error!(error = %cause, "token signing keys unavailable");
                ApiError::unavailable(
                    "token_keys_unavailable",
                    "The token issuer's signing keys could not be fetched; retry shortly.",
                )
                .with_header("retry-after", "5")
            }
        }
    }
}

/// One issuer's keys: `kid` → (its pinned algorithm, key).
struct IssuerKeys {
    keys: HashMap<String, (Algorithm, Arc<DecodingKey>)>,
    fetched_at_ms: i64,
    last_attempt_ms: i64,
}

type PinnedKey = (Algorithm, Arc<DecodingKey>);

/// One issuer's refresh, single-flight: whoever holds `lock` fetches; `attempts` counts
/// finished refreshes, so a request that waited for one does not start another.
#[derive(Default)]
struct RefreshGate {
    lock: tokio::sync::Mutex<()>,
    attempts: AtomicU64,
}

/// What the cache alone says about a (issuer, kid).
enum Lookup {
    /// The answer: the key, or no such key (and no refresh allowed yet).
    Done(Option<PinnedKey>),
    /// The keys should be fetched; `known` is the cached key to fall back on.
    Refresh { known: Option<PinnedKey> },
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Empty<Bytes>,
>;

pub struct JwtVerifier {
    config: JwtConfig,
    hs256_key: Vec<u8>,
    /// Never held across an await: lookups of known keys never wait for the IdP.
    jwks: Mutex<HashMap<String, IssuerKeys>>,
    refreshes: Mutex<HashMap<String, Arc<RefreshGate>>>,
    http: OnceLock<Result<HttpClient, String>>,
    fetches: AtomicU64,
}

/// The pinned algorithm of a JWKS key, `None` for keys we never verify with.
fn pinned_algorithm(jwk: &Jwk) -> Option<Algorithm> {
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let from_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(from_type),
        Some(KeyAlgorithm::RS256) if from_type == Algorithm::RS256 => Some(Algorithm::RS256),
        Some(KeyAlgorithm::ES256) if from_type == Algorithm::ES256 => Some(Algorithm::ES256),
        Some(_) => None,
    }
}

/// Parses a JWKS, keeping the keys we accept; a key we cannot use does not spoil the others.
fn parse_jwks(document: &Value) -> HashMap<String, (Algorithm, Arc<DecodingKey>)> {
    let mut keys = HashMap::new();
    for raw in document["keys"].as_array().into_iter().flatten() {
        let Ok(jwk) = serde_json::from_value::<Jwk>(raw.clone()) else {
            continue;
        };
        let (Some(kid), Some(algorithm)) = (jwk.common.key_id.clone(), pinned_algorithm(&jwk))
        else {
            continue;
        };
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(kid, (algorithm, Arc::new(key)));
        }
    }
    keys
}

/// https, or http to a loopback host (local IdPs and the tests' JWKS server).
fn fetchable(url: &str) -> bool {
    if url.starts_with("https://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn claim_at<'v>(claims: &'v Value, path: &str) -> Option<&'v Value> {
    // A claim named with a dot of its own (rare) is tried whole first.
    if let Some(value) = claims.get(path) {
        return Some(value);
    }
    path.split('.')
        .try_fold(claims, |value, part| value.get(part))
}

fn non_blank(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

impl JwtVerifier {
    pub fn new(config: JwtConfig, hs256_key: Vec<u8>) -> Self {
        Self {
            config,
            hs256_key,
            jwks: Mutex::new(HashMap::new()),
            refreshes: Mutex::new(HashMap::new()),
            http: OnceLock::new(),
            fetches: AtomicU64::new(0),
        }
    }

    pub fn config(&self) -> &JwtConfig {
        &self.config
    }

    /// HTTP fetches of discovery documents and JWKS so far (tests check the caching).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn http(&self) -> Result<&HttpClient, JwtError> {
        self.http
            .get_or_init(|| {
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(rustls::crypto::aws_lc_rs::default_provider())
                    .map_err(|e| format!("no TLS root certificates: {e}"))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(
                    hyper_util::client::legacy::Client::builder(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .build(connector),
                )
            })
            .as_ref()
            .map_err(|e| JwtError::Unavailable(e.clone()))
    }

    async fn fetch_json(&self, url: &str) -> Result<Value, JwtError> {
        if !fetchable(url) {
            return Err(JwtError::Unavailable(format!(
                "{url} is neither https nor loopback http"
            )));
        }
        let uri: lambda_http::http::Uri = url
            .parse()
            .map_err(|e| JwtError::Unavailable(format!("{url}: {e}")))?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let client = self.http()?;
        let fetch = async {
            let response = client
                .get(uri)
                .await
                .map_err(|e| format!("GET {url}: {e}"))?;
            if !response.status().is_success() {
                return Err(format!("GET {url}: status {}", response.status()));
            }
            let body = Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
                .collect()
                .await
                .map_err(|e| format!("GET {url}: {e}"))?
                .to_bytes();
            serde_json::from_slice::<Value>(&body).map_err(|e| format!("GET {url}: not JSON: {e}"))
        };
        tokio::time::timeout(self.config.http_timeout, fetch)
            .await
            .map_err(|_| JwtError::Unavailable(format!("GET {url}: timed out")))?
            .map_err(JwtError::Unavailable)
    }

    async fn fetch_keys(
        &self,
        issuer: &str,
    ) -> Result<HashMap<String, (Algorithm, Arc<DecodingKey>)>, JwtError> {
        let jwks_url = match &self.config.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery = format!(
                    "{}/.well-known/openid-configuration",
                    issuer.trim_end_matches('/')
                );
                let document = self.fetch_json(&discovery).await?;
                document["jwks_uri"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| JwtError::Unavailable(format!("{discovery} has no jwks_uri")))?
            }
        };
        let document = self.fetch_json(&jwks_url).await?;
        Ok(parse_jwks(&document))
    }

    /// What the cache says about (issuer, kid) at `now_ms`: keys older than the max age, or an
    /// unknown kid (the IdP rotated its keys), call for a refresh, at most one per refresh
    /// interval per issuer; a cold cache always does.
    fn lookup(&self, issuer: &str, kid: &str, now_ms: i64) -> Lookup {
        let max_age = i64::try_from(self.config.jwks_max_age.as_millis()).unwrap_or(i64::MAX);
        let interval =
            i64::try_from(self.config.jwks_refresh_interval.as_millis()).unwrap_or(i64::MAX);
        let cache = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(entry) = cache.get(issuer) else {
            return Lookup::Refresh { known: None };
        };
        let found = entry.keys.get(kid).cloned();
        let stale = now_ms.saturating_sub(entry.fetched_at_ms) >= max_age;
        let may_retry = now_ms.saturating_sub(entry.last_attempt_ms) >= interval;
        match found {
            Some(key) if stale && may_retry => Lookup::Refresh { known: Some(key) },
            Some(key) => Lookup::Done(Some(key)),
            None if may_retry => Lookup::Refresh { known: None },
            None => Lookup::Done(None),
        }
    }

    fn cached(&self, issuer: &str, kid: &str) -> Option<Option<PinnedKey>> {
        let cache = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        cache.get(issuer).map(|entry| entry.keys.get(kid).cloned())
    }

    fn gate(&self, issuer: &str) -> Arc<RefreshGate> {
        let mut gates = self
            .refreshes
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        gates.entry(issuer.to_owned()).or_default().clone()
    }

    /// The key for (issuer, kid). Refreshes are single-flight per issuer and bounded by
    /// `http_timeout`: a known key is answered from the cache at once, even while a refresh
    /// for another kid waits on a hanging IdP (a stale known key is used while someone else
    /// refreshes); an unknown kid or a cold cache waits for the one refresh in flight and then
    /// takes its result rather than starting another.
    async fn key_for(
        &self,
        issuer: &str,
        kid: &str,
        now_ms: i64,
    ) -> Result<Option<PinnedKey>, JwtError> {
        let known = match self.lookup(issuer, kid, now_ms) {
            Lookup::Done(found) => return Ok(found),
            Lookup::Refresh { known } => known,
        };
        let gate = self.gate(issuer);
        if let Some(key) = known {
            let Ok(_refreshing) = gate.lock.try_lock() else {
                return Ok(Some(key));
            };
            self.refresh(&gate, issuer, now_ms).await?;
            return Ok(self.cached(issuer, kid).flatten());
        }
        let seen = gate.attempts.load(Ordering::SeqCst);
        let _refreshing = gate.lock.lock().await;
        if gate.attempts.load(Ordering::SeqCst) == seen {
            // Nobody refreshed while we waited; one may have finished just before we looked.
            if let Lookup::Done(found) = self.lookup(issuer, kid, now_ms) {
                return Ok(found);
            }
            self.refresh(&gate, issuer, now_ms).await?;
        }
        self.cached(issuer, kid).ok_or_else(|| {
            JwtError::Unavailable(format!("the signing keys of {issuer} could not be fetched"))
        })
    }

    /// Fetches an issuer's keys (the caller holds its gate). On failure, keys fetched earlier
    /// stay in use (an IdP blip must not log everybody out); with none, the request gets 503.
    async fn refresh(&self, gate: &RefreshGate, issuer: &str, now_ms: i64) -> Result<(), JwtError> {
        let fetched = tokio::time::timeout(self.config.http_timeout, self.fetch_keys(issuer))
            .await
            .unwrap_or_else(|_| {
                Err(JwtError::Unavailable(format!(
                    "fetching the keys of {issuer} timed out"
                )))
            });
        gate.attempts.fetch_add(1, Ordering::SeqCst);
        let mut cache = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        match fetched {
            Ok(keys) => {
                cache.insert(
                    issuer.to_owned(),
                    IssuerKeys {
                        keys,
                        fetched_at_ms: now_ms,
                        last_attempt_ms: now_ms,
                    },
                );
                Ok(())
            }
            Err(error) => match cache.get_mut(issuer) {
                Some(entry) => {
                    tracing::warn!(issuer, error = ?error, "JWKS refresh failed; keeping the cached keys");
                    entry.last_attempt_ms = now_ms;
                    Ok(())
                }
                None => Err(error),
            },
        }
    }

    /// Verifies a bearer token at `now` (epoch seconds) and says who it names.
    pub async fn verify(&self, token: &str, now: i64) -> Result<VerifiedToken, JwtError> {
        let malformed = || {
            JwtError::invalid(
                "invalid_token",
                "The bearer token is not a well-formed signed JWT.",
            )
        };
        if self.config.issuers.is_empty() {
            return Err(JwtError::invalid(
                "bearer_not_accepted",
                "This deployment accepts API keys only (no token issuer is configured).",
            ));
        }
        if token.len() > MAX_TOKEN_BYTES {
            return Err(malformed());
        }
        // `alg: none` (and any algorithm jsonwebtoken does not know) fails here.
        let header = jsonwebtoken::decode_header(token).map_err(|_| malformed())?;
        let unverified: Value =
            jsonwebtoken::dangerous::insecure_decode_claims(token).map_err(|_| malformed())?;
        // The unverified `iss` only picks which keys to try; the signature decides.
        let issuer = non_blank(unverified.get("iss"))
            .filter(|iss| self.config.issuers.iter().any(|i| i == iss))
            .ok_or_else(|| {
                JwtError::invalid(
                    "untrusted_issuer",
                    "The bearer token's issuer (iss) is not one this deployment trusts.",
                )
            })?;
        let (algorithm, key) = match header.alg {
            Algorithm::HS256 => {
                if self.hs256_key.is_empty() {
                    return Err(JwtError::invalid(
                        "unsupported_token_algorithm",
                        "HS256 tokens are not accepted by this deployment.",
                    ));
                }
                (
                    Algorithm::HS256,
                    Arc::new(DecodingKey::from_secret(&self.hs256_key)),
                )
            }
            Algorithm::RS256 | Algorithm::ES256 => {
                let kid = header
                    .kid
                    .as_deref()
                    .filter(|k| !k.is_empty())
                    .ok_or_else(|| {
                        JwtError::invalid(
                            "unknown_token_key",
                            "The bearer token names no key (kid).",
                        )
                    })?;
                let (pinned, key) = self
                    .key_for(&issuer, kid, now.saturating_mul(1000))
                    .await?
                    .ok_or_else(|| {
                        JwtError::invalid(
                            "unknown_token_key",
                            "The bearer token's key (kid) is not in its issuer's key set.",
                        )
                    })?;
                if pinned != header.alg {
                    return Err(JwtError::invalid(
                        "token_algorithm_mismatch",
                        "The bearer token's algorithm is not the one its key is used with.",
                    ));
                }
                (pinned, key)
            }
            _ => {
                return Err(JwtError::invalid(
                    "unsupported_token_algorithm",
                    "Bearer tokens must be signed with RS256, ES256 or HS256.",
                ));
            }
        };
        // Signature (and `iss`) here; times and audience below, on our clock.
        let mut validation = Validation::new(algorithm);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.set_issuer(&[issuer.as_str()]);
        let claims: Value = jsonwebtoken::decode(token, &key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => JwtError::invalid(
                    "invalid_token_signature",
                    "The bearer token's signature does not verify.",
                ),
                _ => malformed(),
            })?
            .claims;
        self.check_claims(&issuer, &claims, now)
    }

    fn check_claims(
        &self,
        issuer: &str,
        claims: &Value,
        now: i64,
    ) -> Result<VerifiedToken, JwtError> {
        let exp = claims.get("exp").and_then(Value::as_f64).ok_or_else(|| {
            JwtError::invalid("invalid_token", "The bearer token has no expiry (exp).")
        })?;
        if (now as f64) > exp + LEEWAY_SECS as f64 {
            return Err(JwtError::invalid(
                "token_expired",
                "The bearer token has expired.",
            ));
        }
        if let Some(nbf) = claims.get("nbf") {
            let nbf = nbf.as_f64().ok_or_else(|| {
                JwtError::invalid("invalid_token", "The bearer token's nbf is not a number.")
            })?;
            if nbf > (now + LEEWAY_SECS) as f64 {
                return Err(JwtError::invalid(
                    "token_not_yet_valid",
                    "The bearer token is not valid yet (nbf).",
                ));
            }
        }
        if !self.config.audiences.is_empty() {
            let accepted = |v: &Value| {
                v.as_str()
                    .is_some_and(|a| self.config.audiences.iter().any(|x| x == a))
            };
            let ok = match claims.get("aud") {
                Some(Value::Array(items)) => items.iter().any(accepted),
                Some(single) => accepted(single),
                // Cognito access tokens carry the app client in client_id instead of aud.
                None => claims.get("client_id").is_some_and(accepted),
            };
            if !ok {
                return Err(JwtError::invalid(
                    "invalid_audience",
                    "The bearer token is not meant for this API (aud).",
                ));
            }
        }
        let subject = SUBJECT_CLAIMS
            .iter()
            .find_map(|name| non_blank(claims.get(*name)))
            .ok_or_else(|| {
                JwtError::invalid(
                    "token_subject_missing",
                    "The bearer token names no subject (sub, preferred_username, email, client_id or azp).",
                )
            })?;
        let tenant = if self.config.tenant_claim == "iss" {
            issuer_realm(issuer)
        } else {
            non_blank(claim_at(claims, &self.config.tenant_claim))
        }
        .and_then(|t| TenantId::try_new(t).ok())
        .ok_or_else(|| {
            JwtError::invalid(
                "token_tenant_missing",
                format!(
                    "The bearer token names no usable tenant (claim {}).",
                    self.config.tenant_claim
                ),
            )
        })?;
        let is_admin = self
            .config
            .admin_claims
            .iter()
            .any(|path| match claim_at(claims, path) {
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|v| v.as_str() == Some(self.config.admin_value.as_str())),
                Some(Value::String(single)) => *single == self.config.admin_value,
                _ => false,
            });
        Ok(VerifiedToken {
            issuer: issuer.to_owned(),
            subject,
            tenant,
            is_admin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn realms_of_keycloak_and_cognito_issuers() {
        assert_eq!(
            issuer_realm("https://sso.example.org/realms/acme").as_deref(),
            Some("acme")
        );
        assert_eq!(
            issuer_realm("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123").as_deref(),
            Some("eu-west-1_AbC123")
        );
        assert_eq!(
            issuer_realm("https://issuer.example.org/").as_deref(),
            Some("issuer.example.org")
        );
    }

    #[test]
    fn issuers_sharing_a_realm_are_refused() {
        let config = JwtConfig {
            issuers: vec![
                "https://a.example/realms/game".into(),
                "https://b.example/realms/game".into(),
            ],
            ..JwtConfig::default()
        };
        assert!(config.check().unwrap_err().contains("realm game"));
    }

    #[test]
    fn only_https_or_loopback_http_is_fetched() {
        assert!(fetchable("https://idp.example/jwks"));
        assert!(fetchable("http://127.0.0.1:8080/jwks"));
        assert!(fetchable("http://[::1]:8080/jwks"));
        assert!(fetchable("http://localhost/jwks"));
        assert!(!fetchable("http://idp.example/jwks"));
        assert!(!fetchable("http://127.0.0.1.evil.example/jwks"));
        assert!(!fetchable("file:///etc/passwd"));
    }

    #[test]
    fn keys_are_pinned_to_one_algorithm() {
        let rsa = json!({"kty":"RSA","kid":"r","n":"sXch","e":"AQAB"});
        let jwk: Jwk = serde_json::from_value(rsa).unwrap();
        assert_eq!(pinned_algorithm(&jwk), Some(Algorithm::RS256));
        let rs512: Jwk = serde_json::from_value(
            json!({"kty":"RSA","kid":"r","alg":"RS512","n":"sXch","e":"AQAB"}),
        )
        .unwrap();
        assert_eq!(pinned_algorithm(&rs512), None);
        let enc: Jwk = serde_json::from_value(
            json!({"kty":"RSA","kid":"r","use":"enc","n":"sXch","e":"AQAB"}),
        )
        .unwrap();
        assert_eq!(pinned_algorithm(&enc), None);
        let hs: Jwk =
            serde_json::from_value(json!({"kty":"oct","kid":"h","k":"c2VjcmV0"})).unwrap();
        assert_eq!(
            pinned_algorithm(&hs),
            None,
            "symmetric keys never come from a JWKS"
        );
    }

    #[test]
    fn claim_paths() {
        let claims = json!({"realm_access": {"roles": ["a"]}, "cognito:groups": ["g"]});
        assert_eq!(claim_at(&claims, "realm_access.roles"), Some(&json!(["a"])));
        assert_eq!(claim_at(&claims, "cognito:groups"), Some(&json!(["g"])));
        assert_eq!(claim_at(&claims, "missing.path"), None);
    }
}
