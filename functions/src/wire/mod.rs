//! The wire contract: the request and response bodies of every route, as typed values. Field
//! names are GAME's (camelCase, with its `created_at`/`updated_at` and its spelling where clients
//! depend on it); the OpenAPI document (`crate::openapi`, docs/openapi.json) is generated from
//! these types and the route table. A leaf: plain data, no I/O, no imports from other floors.
//!
//! Opaque client values (award `data`, parameter values, custom-strategy programs) stay
//! `serde_json::Value`: the API keeps them as sent.

pub mod apikeys;
pub mod common;
pub mod custom;
pub mod dashboard;
pub mod exports;
pub mod games;
pub mod health;
pub mod points;
pub mod strategies;
pub mod tasks;
pub mod users;

pub use common::{Message, Page, PageInfo, ParamInput, ParamView, Problem};
