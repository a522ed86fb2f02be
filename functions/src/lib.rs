//! GAME's Lambda functions: the library every route's binary shares.
//!
//! Floors, each importing only from the floors below it (docs/architecture.md):
//! `bin/` → [`lambda`] → [`routes`] → [`api`] (parse, authorize, load, decide, commit, answer)
//! → [`domain`] (pure decisions) and [`identity`] (keys, tokens, rate limits) → [`store`] (the
//! only door to DynamoDB) → leaves ([`error`], [`http`], [`decimal`], [`ids`], [`canonical`], [`clock`], [`env`],
//! [`sdk`], [`wire`]: the request and response bodies).

pub mod api;
pub mod canonical;
pub mod clock;
pub mod context;
pub mod decimal;
pub mod docs_assets;
pub mod domain;
pub mod env;
pub mod error;
pub mod http;
pub mod identity;
pub mod ids;
pub mod lambda;
pub mod logging;
pub mod openapi;
pub mod problems;
pub mod routes;
pub mod sdk;
pub mod store;
pub mod webhook_http;
pub mod wire;

pub use context::{AppContext, Config, Secrets};
pub use error::{ApiError, ApiResult};
