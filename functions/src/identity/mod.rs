//! Who is calling and how much they may: API keys, bearer tokens, rate limits. Takes the store
//! and its caches as arguments; never the route context.

pub mod auth;
pub mod jwt;
pub mod rate_limit;
