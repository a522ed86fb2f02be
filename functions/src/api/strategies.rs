//! The built-in strategy catalogue, served from game-scoring's registry. Public routes.

use crate::error::{ApiError, ApiResult};
use crate::wire::strategies::{StrategySchema, StrategyView, VariableSchema};
use crate::{AppContext, http};
use game_scoring::{StrategyInfo, Variables};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// GAME's `Strategy` object, with the variables given (defaults or overridden by params).
pub fn strategy_view(info: &StrategyInfo, variables: &Variables) -> StrategyView {
    StrategyView {
        id: info.id.to_owned(),
        name: info.name.to_owned(),
        description: info.description.to_owned(),
        version: info.version.to_owned(),
        variables: match variables.to_json() {
            Value::Object(map) => map,
            _ => Default::default(),
        },
        hash_version: info.hash_version(),
        variables_error: None,
    }
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
    let views: Vec<StrategyView> = game_scoring::strategies()
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
    let mut variables: Vec<VariableSchema> = info
        .variables
        .iter()
        .map(|v| VariableSchema {
            name: v.name.to_owned(),
            kind: v.ty.as_str().to_owned(),
            current_value: v.default.clone(),
        })
        .collect();
    variables.sort_by(|a, b| a.name.cmp(&b.name));
    http::ok(&StrategySchema {
        id: info.id.to_owned(),
        name: info.name.to_owned(),
        description: info.description.to_owned(),
        version: info.version.to_owned(),
        variables,
        hash_version: info.hash_version(),
    })
}

/// `GET /strategies/{id}/graph`: the strategy's decision logic as SVG or DOT (`?format=dot`).
pub async fn graph(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    crate::api::graph::graph(ctx, req).await
}
