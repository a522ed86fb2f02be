//! API-key authentication. Keys look like `gme_live_<8>.<32>`; only the SHA-256 of the
//! whole key is stored, under the public prefix, and compared in constant time.

use crate::error::{ApiError, ApiResult};
use crate::http::header_str;
use crate::store::{Store, StoreError, from_item, keys, to_item};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::Request;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;

pub const API_KEY_HEADER: &str = "x-api-key";
const PREFIX_HEAD: &str = "gme_live_";

/// Who is calling: the tenant every key and read is scoped to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub key_prefix: String,
    pub is_admin: bool,
}

/// The stored form of an API key. Never holds the plaintext.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub prefix: String,
    pub key_hash: String,
    pub tenant: String,
    pub client: String,
    pub description: String,
    pub role: String,
    pub active: bool,
    pub created_at: String,
    pub created_by: String,
}

pub fn hash_key(plaintext: &str) -> String {
    format!("{:x}", Sha256::digest(plaintext.as_bytes()))
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

/// Creates and stores a key; returns the plaintext, which is never stored or shown again.
pub async fn mint_api_key(
    store: &Store,
    tenant: &str,
    client: &str,
    description: &str,
    role: &str,
    created_by: &str,
) -> Result<String, StoreError> {
    let (prefix, plaintext) = generate_key().map_err(StoreError::Request)?;
    let record = ApiKeyRecord {
        prefix: prefix.clone(),
        key_hash: hash_key(&plaintext),
        tenant: tenant.to_owned(),
        client: client.to_owned(),
        description: description.to_owned(),
        role: role.to_owned(),
        active: true,
        created_at: crate::model::now_rfc3339(),
        created_by: created_by.to_owned(),
    };
    let item = to_item(
        &record,
        "apikey",
        &[
            ("PK", keys::api_key_pk(&prefix)),
            ("SK", keys::API_KEY_SK.to_owned()),
        ],
    )?;
    store
        .client
        .put_item()
        .table_name(&store.table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK)")
        .send()
        .await
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(plaintext)
}

/// Verified keys per warm Lambda, keyed by the key's hash, for at most `ttl`.
pub struct ApiKeyCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Caller)>>,
}

impl ApiKeyCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn get(&self, hash: &str) -> Option<Caller> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(hash)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, caller)| caller.clone())
    }

    fn put(&self, hash: String, caller: Caller) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            entries.insert(hash, (Instant::now(), caller));
        }
    }
}

fn invalid_key() -> ApiError {
    ApiError::unauthorized(
        "invalid_api_key",
        "The API key is invalid, inactive or does not exist.",
    )
}

/// Requires a valid `X-API-Key` and answers the caller it belongs to.
pub async fn authenticate(ctx: &crate::AppContext, req: &Request) -> ApiResult<Caller> {
    let Some(plaintext) = header_str(req, API_KEY_HEADER) else {
        return Err(ApiError::unauthorized(
            "missing_credentials",
            "This route needs an API key in the X-API-Key header.",
        ));
    };
    let hash = hash_key(plaintext);
    if let Some(caller) = ctx.api_keys.get(&hash) {
        return Ok(caller);
    }
    let Some((prefix, _)) = plaintext.split_once('.') else {
        return Err(invalid_key());
    };
    if !prefix.starts_with(PREFIX_HEAD) {
        return Err(invalid_key());
    }
    let Some(item) = ctx
        .store
        .get(keys::api_key_pk(prefix), keys::API_KEY_SK)
        .await?
    else {
        return Err(invalid_key());
    };
    let record: ApiKeyRecord = from_item(item)?;
    let matches: bool = record.key_hash.as_bytes().ct_eq(hash.as_bytes()).into();
    if !matches || !record.active {
        return Err(invalid_key());
    }
    let caller = Caller {
        tenant: record.tenant,
        key_prefix: record.prefix,
        is_admin: record.role == "admin",
    };
    ctx.api_keys.put(hash, caller.clone());
    Ok(caller)
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
        assert_ne!(generate_key().unwrap().1, plaintext);
    }

    #[test]
    fn stored_hash_is_sha256_hex() {
        assert_eq!(
            hash_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
