//! Local stand-ins for what AWS runs: the dev API (API Gateway HTTP API + Lambda, in-process)
//! and the table, created from template.yaml so local and deployed schemas are one; and the
//! generated parts of the API contract (docs/openapi.json, the problem codes in docs/api.md).

pub mod contract;
pub mod cors;
pub mod dev;
pub mod devapi;
pub mod events;
pub mod secret;
pub mod template;
