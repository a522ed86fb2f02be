//! `GET /dashboard/summary` and `/dashboard/summary/logs`: the caller's tenant's counters
//! (GAME aggregates every tenant's rows: docs/compatibility.md).

use crate::AppContext;
use crate::domain::dashboard::{self, Bucket, GroupBy, Range};
use crate::error::ApiResult;
use crate::http::{self, query_param};
use crate::identity::auth::authenticate;
use crate::store::dashboard as store;
use crate::wire::dashboard::{DashboardLogs, DashboardSummary, LabelCount};
use lambda_http::{Body, Request, Response};
use serde_json::Value;

fn today() -> time::Date {
    time::OffsetDateTime::now_utc().date()
}

fn range(req: &Request) -> ApiResult<Range> {
    Range::resolve(
        query_param(req, "start_date").as_deref(),
        query_param(req, "end_date").as_deref(),
        today(),
    )
}

fn counts(buckets: Vec<Bucket<u64>>) -> Vec<LabelCount> {
    buckets
        .into_iter()
        .map(|b| LabelCount {
            label: b.label,
            count: Value::from(b.count),
        })
        .collect()
}

pub async fn summary(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    // Input first: a bad query is 400 before any read.
    let group_by = GroupBy::parse(query_param(&req, "group_by").as_deref())?;
    let range = range(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let rows = store::read(&ctx.store, &caller.tenant, range.first, range.last).await?;
    let summary = dashboard::summarize(range, group_by, &rows);
    http::ok(&DashboardSummary {
        new_users: counts(summary.new_users),
        games_opened: counts(summary.games_opened),
        actions_performed: counts(summary.actions_performed),
        awards: counts(summary.awards),
        points_earned: summary
            .points_earned
            .into_iter()
            .map(|b| LabelCount {
                label: b.label,
                count: crate::decimal::to_json(b.count),
            })
            .collect(),
    })
}

pub async fn logs(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let range = range(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let rows = store::read(&ctx.store, &caller.tenant, range.first, range.last).await?;
    let levels = dashboard::levels(range, &rows);
    http::ok(&DashboardLogs {
        info: levels.info,
        success: levels.success,
        error: levels.error,
    })
}
