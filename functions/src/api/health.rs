use crate::error::{ApiError, ApiResult};
use crate::wire::health::{Health, KpiHealth};
use crate::{AppContext, http};
use lambda_http::{Body, Request, Response};

/// GAME's liveness probe: answers without touching anything.
pub async fn kpi_health_check(
    _ctx: &'static AppContext,
    _req: Request,
) -> ApiResult<Response<Body>> {
    http::ok(&KpiHealth {
        status: "KPI service is running".into(),
        timestamp: crate::clock::now_rfc3339(),
    })
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
    http::ok(&Health {
        status: "ok".into(),
        table: "reachable".into(),
        timestamp: crate::clock::now_rfc3339(),
    })
}
