//! Who is calling and how much they may: API keys, bearer tokens, rate limits. Takes the store
//! and its caches as arguments; never the route context.

use crate::clock::Clock;
use crate::store::Store;

pub mod auth;
pub mod jwt;
pub mod rate_limit;

/// What identity checks read, provided by the route context (which implements it): identity
/// never depends on the context itself.
pub trait Identity: Sync {
    fn store(&self) -> &Store;
    fn api_keys(&self) -> &auth::ApiKeyCache;
    fn jwt(&self) -> &jwt::JwtVerifier;
    /// HMAC key of stored API-key hashes; empty when the secret is not loaded.
    fn api_key_pepper(&self) -> &[u8];
    fn clock(&self) -> &Clock;
    fn rate_limits(&self) -> &rate_limit::RateLimits;
}
