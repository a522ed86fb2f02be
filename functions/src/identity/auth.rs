//! Who is calling: an API key (`X-API-Key`) or an OIDC bearer token (`Authorization: Bearer`),
//! resolved to a tenant. Keys look like `gme_live_<8>.<32>`; only an HMAC-SHA256 of the whole
//! key under a pepper from the deployment secret is stored, under the public prefix, and
//! compared in constant time. Tokens are verified by [`crate::identity::jwt`].

use crate::error::{ApiError, ApiResult};
use crate::identity::Identity;
use crate::ids::TenantId;
use crate::store::Store;
use crate::store::apikeys;
pub use crate::store::apikeys::ApiKeyRecord;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use lambda_http::Request;
use lambda_http::http::StatusCode;

use sha2::Sha256;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use subtle::ConstantTimeEq;

pub const API_KEY_HEADER: &str = "x-api-key";
pub const AUTHORIZATION_HEADER: &str = "authorization";
pub const PREFIX_HEAD: &str = "gme_live_";
const PREFIX_RANDOM_LEN: usize = 8;
const SECRET_LEN: usize = 32;
pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_CLIENT: &str = "client";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    ApiKey,
    Bearer,
}

/// Who is calling: the tenant every key and read is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    /// The API key's public prefix; `None` for a bearer caller.
    pub key_prefix: Option<String>,
    /// The key prefix, or the token's subject (`sub`, then GAME's fallbacks).
    pub subject: String,
    pub is_admin: bool,
    pub method: AuthMethod,
}

impl Caller {
    /// The identity a per-key rate limit counts: the key, or the token's subject.
    pub fn principal(&self) -> String {
        match &self.key_prefix {
            Some(prefix) => format!("key:{prefix}"),
            None => format!("sub:{}", self.subject),
        }
    }
}

/// Admin-only routes call this after [`authenticate`]: an authenticated non-admin is 403.
pub fn require_admin(caller: &Caller) -> ApiResult<()> {
    if caller.is_admin {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "admin_required",
            "This route is for administrators: use an admin API key or a token with the admin role.",
        ))
    }
}

/// The keyed hash stored for a key. Without the pepper (in Secrets Manager, not the table), a
/// copy of the table does not let anyone test guesses offline.
pub fn hash_key(pepper: &[u8], plaintext: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(pepper).expect("HMAC takes any key length");
    mac.update(plaintext.as_bytes());
    let digest = mac.finalize().into_bytes();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_token(bytes: usize) -> Result<String, String> {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).map_err(|e| format!("no randomness available: {e}"))?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// A new key: `gme_live_` + 8 characters, `.`, 32 characters (GAME's format).
pub fn generate_key() -> Result<(String, String), String> {
    let prefix = format!("{PREFIX_HEAD}{}", random_token(6)?);
    let plaintext = format!("{prefix}.{}", random_token(24)?);
    Ok((prefix, plaintext))
}

fn url_safe(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The prefix of a well-formed key, `None` for anything else (no lookup is made for junk).
pub fn key_prefix(plaintext: &str) -> Option<&str> {
    let (prefix, secret) = plaintext.split_once('.')?;
    let random = prefix.strip_prefix(PREFIX_HEAD)?;
    (random.len() == PREFIX_RANDOM_LEN
        && url_safe(random)
        && secret.len() == SECRET_LEN
        && url_safe(secret))
    .then_some(prefix)
}

/// What a new key is for. The tenant, client and description are checked here, so the API
/// route and `game-admin mint-key` accept exactly the same keys.
#[derive(Debug, Clone, Copy)]
pub struct NewApiKey<'a> {
    pub tenant: &'a str,
    pub client: &'a str,
    pub description: &'a str,
    /// [`ROLE_ADMIN`] or [`ROLE_CLIENT`].
    pub role: &'a str,
    /// Who creates it: the creating key's prefix or token subject, or a tool's name.
    pub created_by: &'a str,
}

/// Creates and stores a key; answers its record and the plaintext, which is never stored
/// or shown again. `now` (RFC 3339) is its creation time. The one way keys are made: the
/// `POST /apikey/create` route and `game-admin mint-key` both call it.
pub async fn create_api_key(
    store: &Store,
    pepper: &[u8],
    key: &NewApiKey<'_>,
    now: &str,
) -> ApiResult<(ApiKeyRecord, String)> {
    if pepper.is_empty() {
        return Err(ApiError::internal(
            "the API-key pepper is not loaded (no deployment secret)",
        ));
    }
    let Ok(tenant) = TenantId::try_new(key.tenant) else {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!(
                "tenant \"{}\" is not 1-128 characters of A-Z a-z 0-9 - _ . : @",
                key.tenant
            ),
        ));
    };
    crate::domain::model::validate_text("client", key.client, 100)?;
    crate::domain::model::validate_text("description", key.description, 500)?;
    if key.role != ROLE_CLIENT && key.role != ROLE_ADMIN {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!(
                "role must be \"{ROLE_CLIENT}\" or \"{ROLE_ADMIN}\", got \"{}\".",
                key.role
            ),
        ));
    }
    // GAME regenerates until the prefix is unused; 48 random bits make a retry a curiosity.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let (prefix, plaintext) = generate_key().map_err(ApiError::internal)?;
        let record = ApiKeyRecord {
            prefix: prefix.clone(),
            key_hash: hash_key(pepper, &plaintext),
            tenant: tenant.to_string(),
            client: key.client.to_owned(),
            description: key.description.to_owned(),
            role: key.role.to_owned(),
            active: true,
            created_at: now.to_owned(),
            created_by: key.created_by.to_owned(),
            revoked_at: None,
        };
        if apikeys::insert(store, &record).await? {
            return Ok((record, plaintext));
        }
        if attempts >= 3 {
            return Err(ApiError::internal(
                "three generated API-key prefixes were all taken",
            ));
        }
    }
}

/// [`create_api_key`] stamped now, answering only the plaintext (for the test harness and
/// `game-dev`, which seed keys and never show their records).
pub async fn mint_api_key(
    store: &Store,
    pepper: &[u8],
    tenant: &str,
    client: &str,
    description: &str,
    role: &str,
    created_by: &str,
) -> ApiResult<String> {
    let key = NewApiKey {
        tenant,
        client,
        description,
        role,
        created_by,
    };
    create_api_key(store, pepper, &key, &crate::clock::now_rfc3339())
        .await
        .map(|(_, plaintext)| plaintext)
}

/// One page of `tenant`'s keys, oldest first, and the token of the next page.
pub async fn list_api_keys(
    store: &Store,
    tenant: &TenantId,
    page_size: i32,
    next_token: Option<&str>,
) -> ApiResult<(Vec<ApiKeyRecord>, Option<String>)> {
    apikeys::list(store, tenant, page_size, next_token).await
}

/// Deactivates `tenant`'s key `prefix`, stamping `revokedAt` with `now` the first time (a
/// second revoke changes nothing). Answers `false` when `tenant` has no such key: another
/// tenant's key is left untouched and looks exactly like a missing one. Warm functions that
/// cached the key accept it until their [`ApiKeyCache`] TTL ends.
pub async fn revoke_api_key(
    store: &Store,
    tenant: &TenantId,
    prefix: &str,
    now: &str,
) -> ApiResult<bool> {
    let well_formed = prefix
        .strip_prefix(PREFIX_HEAD)
        .is_some_and(|rest| rest.len() == PREFIX_RANDOM_LEN);
    if !well_formed {
        return Ok(false);
    }
    Ok(apikeys::revoke(store, tenant, prefix, now).await?)
}

/// Verified keys per warm Lambda, keyed by the key's hash, for at most `ttl` (the documented
/// revocation delay). Only successes are cached.
pub struct ApiKeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (i64, Caller)>>,
}

impl ApiKeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn ttl_ms(&self) -> i64 {
        i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX)
    }

    fn get(&self, hash: &str, now_ms: i64) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(at, _)| now_ms.saturating_sub(*at) < self.ttl_ms())
            .map(|(_, caller)| caller.clone())
    }

    fn put(&self, hash: String, caller: Caller, now_ms: i64) {
        let ttl = self.ttl_ms();
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (at, _)| now_ms.saturating_sub(*at) < ttl);
            entries.insert(hash, (now_ms, caller));
        }
    }

    /// Forgets a key at once in this container (others follow within the TTL).
    pub fn evict_prefix(&self, prefix: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (_, caller)| caller.key_prefix.as_deref() != Some(prefix));
        }
    }
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized(
        "invalid_api_key",
        "The API key is invalid, inactive or does not exist.",
    )
}

/// A header's value; present but not visible ASCII counts as present (and then fails).
fn header_value<'r>(req: &'r Request, name: &str) -> Option<Result<&'r str, ()>> {
    req.headers()
        .get(name)
        .map(|value| value.to_str().map_err(|_| ()))
}

/// Requires a valid `X-API-Key` or `Authorization: Bearer` token and answers the caller.
/// When both are sent, both must be valid and name the same tenant (GAME validates any bearer
/// that is present, too); the key then decides who the caller is.
pub async fn authenticate(ctx: &impl Identity, req: &Request) -> ApiResult<Caller> {
    let api_key = header_value(req, API_KEY_HEADER);
    let bearer = header_value(req, AUTHORIZATION_HEADER);
    match (api_key, bearer) {
        (None, None) => Err(ApiError::unauthorized(
            "missing_credentials",
            "This route needs an API key in the X-API-Key header or a bearer token in the Authorization header.",
        )
        .with_header(
            "www-authenticate",
            "Bearer realm=\"GAME\", ApiKey header=\"X-API-Key\"",
        )),
        (Some(key), None) => authenticate_key(ctx, key.map_err(|()| invalid_key())?).await,
        (None, Some(authorization)) => authenticate_bearer(ctx, authorization).await,
        (Some(key), Some(authorization)) => {
            let caller = authenticate_key(ctx, key.map_err(|()| invalid_key())?).await?;
            let bearer = authenticate_bearer(ctx, authorization).await?;
            if bearer.tenant != caller.tenant {
                return Err(ApiError::unauthorized(
                    "conflicting_credentials",
                    "The API key and the bearer token belong to different tenants; send one credential.",
                ));
            }
            Ok(caller)
        }
    }
}

async fn authenticate_key(ctx: &impl Identity, plaintext: &str) -> ApiResult<Caller> {
    let pepper = ctx.api_key_pepper();
    if pepper.is_empty() {
        // A route that authenticates must declare `secret: true`; fail closed if it did not.
        return Err(ApiError::internal(
            "API key presented but the pepper is not loaded (route without secret access)",
        ));
    }
    let Some(prefix) = key_prefix(plaintext) else {
        return Err(invalid_key());
    };
    let hash = hash_key(pepper, plaintext);
    let now_ms = ctx.clock().now_ms();
    if let Some(caller) = ctx.api_keys().get(&hash, now_ms) {
        return Ok(caller);
    }
    let Some(record) = apikeys::load(ctx.store(), prefix).await? else {
        return Err(invalid_key());
    };
    let matches: bool = record.key_hash.as_bytes().ct_eq(hash.as_bytes()).into();
    if !matches || !record.active {
        return Err(invalid_key());
    }
    let Ok(tenant) = TenantId::try_new(record.tenant) else {
        return Err(invalid_key());
    };
    let caller = Caller {
        tenant,
        key_prefix: Some(record.prefix.clone()),
        subject: record.prefix,
        is_admin: record.role == ROLE_ADMIN,
        method: AuthMethod::ApiKey,
    };
    ctx.api_keys().put(hash, caller.clone(), now_ms);
    Ok(caller)
}

async fn authenticate_bearer(
    ctx: &impl Identity,
    authorization: Result<&str, ()>,
) -> ApiResult<Caller> {
    let token = authorization
        .ok()
        .and_then(|value| {
            let (scheme, token) = value.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|token| !token.is_empty())
        .ok_or_else(|| {
            crate::identity::jwt::JwtError::invalid(
                "invalid_authorization",
                "The Authorization header must be \"Bearer <token>\".",
            )
            .into_api_error()
        })?;
    let verified = ctx
        .jwt()
        .verify(token, ctx.clock().now_secs())
        .await
        .map_err(crate::identity::jwt::JwtError::into_api_error)?;
    Ok(Caller {
        tenant: verified.tenant,
        key_prefix: None,
        subject: verified.subject,
        is_admin: verified.is_admin,
        method: AuthMethod::Bearer,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_games_format() {
        let (prefix, plaintext) = generate_key().unwrap();
        assert!(prefix.starts_with("gme_live_"));
        assert_eq!(prefix.len(), "gme_live_".len() + 8);
        let (head, secret) = plaintext.split_once('.').unwrap();
        assert_eq!(head, prefix);
        assert_eq!(secret.len(), 32);
        assert_eq!(key_prefix(&plaintext), Some(prefix.as_str()));
        assert_ne!(generate_key().unwrap().1, plaintext);
    }

    #[test]
    fn malformed_keys_have_no_prefix() {
        for junk in [
            "",
            "gme_live_abcdefgh",
            "gme_live_abcdefgh.short",
            "gme_test_abcdefgh.0123456789abcdef0123456789abcdef",
            "gme_live_abc#efgh.0123456789abcdef0123456789abcdef",
            "gme_live_abcdefgh.0123456789abcdef0123456789abcde/",
        ] {
            assert_eq!(key_prefix(junk), None, "{junk}");
        }
    }

    #[test]
    fn stored_hash_is_hmac_sha256_hex_under_the_pepper() {
        // RFC 4231 test case 2.
        assert_eq!(
            hash_key(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(hash_key(b"one", "key"), hash_key(b"two", "key"));
    }

    #[test]
    fn tenants_never_contain_key_separators() {
        assert!(TenantId::valid("acme"));
        assert!(TenantId::valid("eu-west-1_AbC"));
        assert!(!TenantId::valid("a#b"));
        assert!(!TenantId::valid(""));
        assert!(!TenantId::valid(&"x".repeat(129)));
    }
}
