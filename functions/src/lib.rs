//! GAME's Lambda functions: the library every route's binary shares.
//! A handler parses, authenticates, loads, decides (pure), commits and answers.

pub mod auth;
pub mod award;
pub mod context;
pub mod decimal;
pub mod error;
pub mod greencrowd;
pub mod handlers;
pub mod http;
pub mod idempotency;
pub mod jwt;
pub mod lambda;
pub mod logging;
pub mod model;
pub mod rate_limit;
pub mod routes;
pub mod store;

pub use context::{AppContext, Config, Secrets};
pub use error::{ApiError, ApiResult};
