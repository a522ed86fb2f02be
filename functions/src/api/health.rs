use crate::error::{ApiError, ApiResult};
use crate::{AppContext, http};
use lambda_http::{Body, Request, Response};
use serde_json::json;

/// GAME's liveness probe: answers without touching anything.
pub async fn kpi_health_check(
    _ctx: &'static AppContext,
    _req: Request,
) -> ApiResult<Response<Body>> {
    http::ok(&json!({"status": "KPI service is running", "timestamp": crate::clock::now_rfc3339()}))
}

/// Readiness: the table answers a read.
pub async fn health(ctx: &'static AppContext, _req: Request) -> ApiResult<Response<Body>> {
    if let Err(error) = ctx.store.ping().await {
        tracing::error!(%error, "health: table unreachable");
        return Err(ApiError::unavailable(
            "table_unreachable",
            "The data store is not reachable right now.",
        ));
    }
    http::ok(
        &json!({"status": "ok", "table": "reachable", "timestamp": crate::clock::now_rfc3339()}),
    )
}
