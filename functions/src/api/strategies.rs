//! The built-in strategy catalogue, served from game-scoring's registry. Public routes.

use crate::error::{ApiError, ApiResult};
use crate::{AppContext, http};
use game_scoring::{StrategyInfo, Variables};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

/// GAME's `Strategy` object, with the variables given (defaults or overridden by params).
pub fn strategy_view(info: &StrategyInfo, variables: &Variables) -> Value {
    json!({
        "id": info.id,
        "name": info.name,
        "description": info.description,
        "version": info.version,
        "variables": variables.to_json(),
        "hash_version": info.hash_version(),
    })
}

fn find(req: &Request) -> ApiResult<&'static StrategyInfo> {
    let id = http::path_param(req, "id")?;
    game_scoring::strategy(&id).ok_or_else(|| {
        ApiError::not_found(
            "strategy_not_found",
            format!("Strategy not found with id: {id}"),
        )
    })
}

pub async fn list(_ctx: &'static AppContext, _req: Request) -> ApiResult<Response<Body>> {
    let views: Vec<Value> = game_scoring::strategies()
        .iter()
        .map(|info| strategy_view(info, &info.default_variables()))
        .collect();
    http::ok(&views)
}

pub async fn get(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let info = find(&req)?;
    http::ok(&strategy_view(info, &info.default_variables()))
}

pub async fn schema(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let info = find(&req)?;
    let mut variables: Vec<Value> = info
        .variables
        .iter()
        .map(|v| json!({"name": v.name, "type": v.ty, "currentValue": v.default}))
        .collect();
    variables.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    http::ok(&json!({
        "id": info.id,
        "name": info.name,
        "description": info.description,
        "version": info.version,
        "variables": variables,
        "hash_version": info.hash_version(),
    }))
}
