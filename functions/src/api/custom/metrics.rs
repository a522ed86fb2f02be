//! The execution log's metrics of one version (`GET /strategies/custom/{id}/metrics`) and of
//! two side by side (`GET /strategies/custom/compare`).

use crate::AppContext;
use crate::domain::custom::runlog::{aggregate, delta};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, path_param, query_param};
use crate::identity::auth::{Caller, authenticate};
use crate::store::custom as custom_store;
use crate::wire::custom::{MetricsComparison, StrategyMetrics};
use lambda_http::{Body, Request, Response};

fn parse_instant(req: &Request, name: &str) -> ApiResult<Option<(i64, String)>> {
    use time::format_description::well_known::Rfc3339;
    let Some(text) = query_param(req, name) else {
        return Ok(None);
    };
    let at = time::OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
        ApiError::unprocessable(
            "invalid_datetime",
            format!(
                "{name} must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z, got \"{text}\"."
            ),
        )
    })?;
    let us = i64::try_from(at.unix_timestamp_nanos() / 1000)
        .unwrap_or(0)
        .max(0);
    Ok(Some((us, text)))
}

type Instant = Option<(i64, String)>;

/// `since` and `until`; a window that ends before it starts is refused (DynamoDB refuses
/// such a range: found by the schema fuzzer as a 500).
fn window(req: &Request) -> ApiResult<(Instant, Instant)> {
    let since = parse_instant(req, "since")?;
    let until = parse_instant(req, "until")?;
    if let (Some((from, from_text)), Some((to, to_text))) = (&since, &until)
        && from > to
    {
        return Err(ApiError::unprocessable(
            "invalid_datetime",
            format!("since ({from_text}) must not be later than until ({to_text})."),
        ));
    }
    Ok((since, until))
}

/// The metrics object of one version over [since, until].
async fn metrics_of(
    ctx: &AppContext,
    caller: &Caller,
    id: &str,
    since: Option<&(i64, String)>,
    until: Option<&(i64, String)>,
) -> ApiResult<StrategyMetrics> {
    let def = custom_store::load_definition(&ctx.store, &caller.tenant, id).await?;
    let from = since.map_or(0, |s| s.0);
    let to = until.map_or(i64::MAX, |u| u.0);
    let (runs, truncated) = custom_store::logged_runs(
        &ctx.store,
        &caller.tenant,
        &def.family_id,
        def.version,
        from,
        to,
    )
    .await?;
    Ok(StrategyMetrics {
        metrics: aggregate(&runs),
        strategy_id: def.id(),
        name: def.name,
        version: def.version,
        status: def.status,
        window_from: since.map(|s| s.1.clone()),
        window_until: until.map(|u| u.1.clone()),
        sample_rate: ctx.custom.log_sample_rate(),
        rows_truncated: truncated,
    })
}

/// `GET /strategies/custom/{id}/metrics?since=&until=`.
pub async fn metrics(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (since, until) = window(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    http::ok(&metrics_of(ctx, &caller, &id, since.as_ref(), until.as_ref()).await?)
}

/// `GET /strategies/custom/compare?a=&b=&since=&until=`.
pub async fn compare(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (Some(a), Some(b)) = (query_param(&req, "a"), query_param(&req, "b")) else {
        return Err(ApiError::unprocessable(
            "missing_query",
            "compare needs two custom strategy ids: ?a=<id>&b=<id>.",
        ));
    };
    let (since, until) = window(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let ma = metrics_of(ctx, &caller, &a, since.as_ref(), until.as_ref()).await?;
    let mb = metrics_of(ctx, &caller, &b, since.as_ref(), until.as_ref()).await?;
    let delta = delta(&ma.metrics, &mb.metrics);
    http::ok(&MetricsComparison {
        a: ma,
        b: mb,
        delta,
    })
}
