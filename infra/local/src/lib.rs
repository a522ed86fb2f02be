//! Local stand-ins for what AWS runs: the dev API (API Gateway HTTP API + Lambda, in-process)
//! and the table, created from template.yaml so local and deployed schemas are one.

pub mod cors;
pub mod dev;
pub mod devapi;
pub mod secret;
pub mod template;
