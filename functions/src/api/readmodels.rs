//! Read models of awarded points, GAME's shapes, served from the per-(game, task, user)
//! aggregates and key queries (never scans). Totals are each user's exact sums.

use crate::AppContext;
use crate::decimal;
use crate::domain::model::Game;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, path_param};
use crate::identity::auth::{Caller, authenticate};
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::games::{load_game, load_game_and_task, load_tasks};
use crate::store::readmodels::{self as rm, AwardEntry, UserTaskTotal};
use crate::store::users::{load_user, user_not_found};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// At most this many users per `POST /users/points/query`.
pub const MAX_QUERY_USERS: usize = 100;

fn totals(total: &UserTaskTotal) -> Value {
    json!({
        "externalUserId": total.external_user_id,
        "points": decimal::to_json(total.points_total),
        "timesAwarded": total.count,
    })
}

fn point_data(award: &AwardEntry, full: bool) -> Value {
    let mut entry = json!({
        "points": decimal::to_json(award.points),
        "caseName": award.case_name,
        "created_at": award.created_at,
    });
    if full {
        entry["data"] = award.data.clone();
        entry["description"] = json!(award.description);
    }
    entry
}

/// Each total with its user's awards as `pointsData`.
fn with_awards(
    totals_of_task: &[UserTaskTotal],
    awards: &BTreeMap<String, Vec<AwardEntry>>,
    full: bool,
) -> Vec<Value> {
    totals_of_task
        .iter()
        .map(|total| {
            let mut entry = totals(total);
            entry["pointsData"] = awards
                .get(&total.external_user_id)
                .map(|a| a.iter().map(|i| point_data(i, full)).collect())
                .unwrap_or_default();
            entry
        })
        .collect()
}

async fn game_points(
    ctx: &AppContext,
    caller: &Caller,
    req: &Request,
    details: bool,
) -> ApiResult<Value> {
    let game = load_game(&ctx.store, &caller.tenant, &path_param(req, "gameId")?).await?;
    let mut tasks = Vec::new();
    for task in load_tasks(&ctx.store, &game).await? {
        let task_totals = rm::task_totals(
            &ctx.store,
            &game.tenant,
            &game.game_id,
            &task.external_task_id,
        )
        .await?;
        let points: Vec<Value> = if details {
            let awards = rm::task_awards(
                &ctx.store,
                &game.tenant,
                &game.game_id,
                &task.external_task_id,
                None,
            )
            .await?;
            with_awards(&task_totals, &awards, false)
        } else {
            task_totals.iter().map(totals).collect()
        };
        tasks.push(json!({"externalTaskId": task.external_task_id, "points": points}));
    }
    Ok(
        json!({"externalGameId": game.external_game_id, "created_at": game.created_at, "task": tasks}),
    )
}

/// `GET /games/{gameId}/points`: per task, each user's total and award count.
pub async fn game_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    http::ok(&game_points(ctx, &caller, &req, false).await?)
}

/// `GET /games/{gameId}/points/details`: as above, with every award in `pointsData`.
pub async fn game_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    http::ok(&game_points(ctx, &caller, &req, true).await?)
}

/// `GET /games/{gameId}/users`: per task, the users with points, their creation and first award.
pub async fn game_users(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let mut per_task = Vec::new();
    let mut user_ids = std::collections::BTreeSet::new();
    for task in load_tasks(&ctx.store, &game).await? {
        let aggregates = rm::task_totals(
            &ctx.store,
            &game.tenant,
            &game.game_id,
            &task.external_task_id,
        )
        .await?;
        user_ids.extend(
            aggregates
                .iter()
                .filter_map(|t| ExternalId::try_new(t.external_user_id.as_str()).ok()),
        );
        per_task.push((task.external_task_id, aggregates));
    }
    let user_ids: Vec<ExternalId> = user_ids.into_iter().collect();
    let created = rm::users_created_at(&ctx.store, &game.tenant, &user_ids).await?;
    let tasks: Vec<Value> = per_task
        .into_iter()
        .map(|(external_task_id, aggregates)| {
            let users: Vec<Value> = aggregates
                .iter()
                .map(|total| {
                    json!({
                        "externalUserId": total.external_user_id,
                        "created_at": created.get(&total.external_user_id).cloned().flatten(),
                        "firstAction": total.first_us.map(crate::clock::micros_to_rfc3339),
                    })
                })
                .collect();
            json!({"externalTaskId": external_task_id, "users": users})
        })
        .collect();
    http::ok(&json!({"gameId": game.game_id, "tasks": tasks}))
}

/// The user a path names, or 404 (an id that breaks GAME's slug rule cannot exist).
async fn path_user(ctx: &AppContext, caller: &Caller, req: &Request) -> ApiResult<ExternalId> {
    let user = load_user(
        &ctx.store,
        &caller.tenant,
        &path_param(req, "externalUserId")?,
    )
    .await?;
    Ok(user.external_user_id)
}

/// `GET /games/{gameId}/users/{externalUserId}/points`: the user's total on each task of the game.
pub async fn game_user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let external_user_id = path_user(ctx, &caller, &req).await?;
    let entries: Vec<Value> = rm::user_totals(
        &ctx.store,
        &caller.tenant,
        &external_user_id,
        Some(&game.game_id),
    )
    .await?
    .iter()
    .map(|total| {
        let mut entry = totals(total);
        entry["externalTaskId"] = json!(total.external_task_id);
        entry
    })
    .collect();
    http::ok(&entries)
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/points`: each user's total on the task.
pub async fn task_user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, task) = path_task(ctx, &caller, &req).await?;
    let all = rm::task_totals(&ctx.store, &game.tenant, &game.game_id, &task).await?;
    http::ok(&all.iter().map(totals).collect::<Vec<_>>())
}

async fn path_task(ctx: &AppContext, caller: &Caller, req: &Request) -> ApiResult<(Game, TaskId)> {
    let (game, task) = load_game_and_task(
        &ctx.store,
        &caller.tenant,
        &path_param(req, "gameId")?,
        &path_param(req, "externalTaskId")?,
    )
    .await?;
    Ok((game, task.external_task_id))
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/points/details`: with every award.
pub async fn task_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, task) = path_task(ctx, &caller, &req).await?;
    let awards = rm::task_awards(&ctx.store, &game.tenant, &game.game_id, &task, None).await?;
    let all = rm::task_totals(&ctx.store, &game.tenant, &game.game_id, &task).await?;
    http::ok(&with_awards(&all, &awards, true))
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/users/{externalUserId}/points`.
pub async fn task_user_points(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, task) = path_task(ctx, &caller, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let not_found = || user_not_found(&external_user_id);
    let user = ExternalId::try_new(external_user_id.as_str()).map_err(|_| not_found())?;
    let total = rm::user_task_total(&ctx.store, &game.tenant, &game.game_id, &task, &user)
        .await?
        .ok_or_else(not_found)?;
    http::ok(&totals(&total))
}

/// A user's points grouped by game then task, GAME's `AllPointsByGame` list.
async fn points_by_game(
    ctx: &AppContext,
    tenant: &TenantId,
    external_user_id: &ExternalId,
) -> ApiResult<Vec<Value>> {
    type Entry = (Option<String>, Option<String>, Vec<Value>);
    let mut games: BTreeMap<GameId, Entry> = BTreeMap::new();
    for (total, created_at) in
        rm::user_totals_in_existing_games(&ctx.store, tenant, external_user_id).await?
    {
        let Ok(game_id) = GameId::try_new(total.game_id.as_str()) else {
            continue;
        };
        let entry = games
            .entry(game_id)
            .or_insert_with(|| (total.external_game_id.clone(), created_at, Vec::new()));
        entry
            .2
            .push(json!({"externalTaskId": total.external_task_id, "points": [totals(&total)]}));
    }
    Ok(games
        .into_values()
        .map(|(external_game_id, created_at, tasks)| {
            json!({
                "externalGameId": external_game_id,
                "created_at": created_at,
                "task": tasks,
            })
        })
        .collect())
}

/// `GET /users/{externalUserId}/points`.
pub async fn user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_user(ctx, &caller, &req).await?;
    http::ok(&points_by_game(ctx, &caller.tenant, &external_user_id).await?)
}

async fn user_summary(
    ctx: &AppContext,
    tenant: &TenantId,
    external_user_id: &ExternalId,
) -> ApiResult<Value> {
    let exists = match load_user(&ctx.store, tenant, external_user_id).await {
        Ok(_) => true,
        Err(error) if error.code == "user_not_found" => false,
        Err(error) => return Err(error),
    };
    let mut total = rust_decimal::Decimal::ZERO;
    let mut count = 0u64;
    let mut games: BTreeMap<String, (Value, rust_decimal::Decimal, u64, Vec<Value>)> =
        BTreeMap::new();
    for (aggregate, _) in
        rm::user_totals_in_existing_games(&ctx.store, tenant, external_user_id).await?
    {
        total += aggregate.points_total;
        count += aggregate.count;
        let data: Vec<Value> = match (
            GameId::try_new(aggregate.game_id.as_str()),
            TaskId::try_new(aggregate.external_task_id.as_str()),
        ) {
            (Ok(game_id), Ok(task_id)) => rm::task_awards(
                &ctx.store,
                tenant,
                &game_id,
                &task_id,
                Some(external_user_id),
            )
            .await?
            .values()
            .flatten()
            .map(|a| point_data(a, false))
            .collect(),
            _ => Vec::new(),
        };
        let entry = games.entry(aggregate.game_id.clone()).or_insert_with(|| {
            (
                json!(aggregate.external_game_id),
                rust_decimal::Decimal::ZERO,
                0,
                Vec::new(),
            )
        });
        entry.1 += aggregate.points_total;
        entry.2 += aggregate.count;
        entry
            .3
            .push(json!({"externalTaskId": aggregate.external_task_id, "pointsData": data}));
    }
    let games: Vec<Value> = games
        .into_values()
        .map(|(external_game_id, points, times, tasks)| {
            json!({"externalGameId": external_game_id, "points": decimal::to_json(points), "timesAwarded": times, "tasks": tasks})
        })
        .collect();
    Ok(json!({
        "externalUserId": external_user_id,
        "points": decimal::to_json(total),
        "timesAwarded": count,
        "games": games,
        "userExists": exists,
    }))
}

/// `POST /users/points/query`: totals for several users (GAME counted each award once per
/// award row; here every total is each user's exact sum).
pub async fn users_query(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let users: Vec<String> = http::json_array_body(&req)?;
    if users.len() > MAX_QUERY_USERS {
        return Err(ApiError::unprocessable(
            "too_many_users",
            format!(
                "At most {MAX_QUERY_USERS} users per query; this one has {}.",
                users.len()
            ),
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let mut summaries = Vec::with_capacity(users.len());
    for user in &users {
        summaries.push(if let Ok(user) = ExternalId::try_new(user.as_str()) {
            user_summary(ctx, &caller.tenant, &user).await?
        } else {
            json!({"externalUserId": user, "points": 0, "timesAwarded": 0, "games": [], "userExists": false})
        });
    }
    http::ok(&summaries)
}
