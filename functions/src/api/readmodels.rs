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
use crate::wire::points as wire;
use lambda_http::{Body, Request, Response};
use std::collections::BTreeMap;

/// At most this many users per `POST /users/points/query`.
pub const MAX_QUERY_USERS: usize = 100;

fn totals(total: &UserTaskTotal) -> wire::UserTotal {
    wire::UserTotal {
        external_user_id: total.external_user_id.clone(),
        points: decimal::to_json(total.points_total),
        times_awarded: total.count,
    }
}

fn point_data(award: &AwardEntry) -> wire::AwardEntry {
    wire::AwardEntry {
        points: decimal::to_json(award.points),
        case_name: award.case_name.clone(),
        created_at: award.created_at.clone(),
    }
}

fn point_detail(award: &AwardEntry) -> wire::AwardDetail {
    wire::AwardDetail {
        award: point_data(award),
        data: award.data.clone(),
        description: award.description.clone(),
    }
}

/// A user's awards as `pointsData` (chronological), through `view`.
fn awards_of<T>(
    awards: &BTreeMap<String, Vec<AwardEntry>>,
    user: &str,
    view: fn(&AwardEntry) -> T,
) -> Vec<T> {
    awards
        .get(user)
        .map(|a| a.iter().map(view).collect())
        .unwrap_or_default()
}

/// The game, and per task each user's total with (when `details`) all awards of the task.
type TaskTotals = Vec<(
    TaskId,
    Vec<UserTaskTotal>,
    BTreeMap<String, Vec<AwardEntry>>,
)>;

async fn game_points(
    ctx: &AppContext,
    caller: &Caller,
    req: &Request,
    details: bool,
) -> ApiResult<(Game, TaskTotals)> {
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
        let awards = if details {
            rm::task_awards(
                &ctx.store,
                &game.tenant,
                &game.game_id,
                &task.external_task_id,
                None,
            )
            .await?
        } else {
            BTreeMap::new()
        };
        tasks.push((task.external_task_id, task_totals, awards));
    }
    Ok((game, tasks))
}

/// `GET /games/{gameId}/points`: per task, each user's total and award count.
pub async fn game_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks) = game_points(ctx, &caller, &req, false).await?;
    http::ok(&wire::GamePoints {
        external_game_id: game.external_game_id.to_string(),
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(task, task_totals, _)| wire::TaskTotals {
                external_task_id: task.to_string(),
                points: task_totals.iter().map(totals).collect(),
            })
            .collect(),
    })
}

/// `GET /games/{gameId}/points/details`: as above, with every award in `pointsData`.
pub async fn game_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks) = game_points(ctx, &caller, &req, true).await?;
    http::ok(&wire::GamePointsDetails {
        external_game_id: game.external_game_id.to_string(),
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(task, task_totals, awards)| wire::TaskTotalsWithAwards {
                external_task_id: task.to_string(),
                points: task_totals
                    .iter()
                    .map(|total| wire::UserTotalWithAwards {
                        total: totals(total),
                        points_data: awards_of(&awards, &total.external_user_id, point_data),
                    })
                    .collect(),
            })
            .collect(),
    })
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
    let tasks: Vec<wire::TaskUsers> = per_task
        .into_iter()
        .map(|(external_task_id, aggregates)| wire::TaskUsers {
            external_task_id: external_task_id.to_string(),
            users: aggregates
                .iter()
                .map(|total| wire::GameUser {
                    external_user_id: total.external_user_id.clone(),
                    created_at: created.get(&total.external_user_id).cloned().flatten(),
                    first_action: total.first_us.map(crate::clock::micros_to_rfc3339),
                })
                .collect(),
        })
        .collect();
    http::ok(&wire::GameUsers {
        game_id: game.game_id.to_string(),
        tasks,
    })
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
    let entries: Vec<wire::UserTaskTotal> = rm::user_totals(
        &ctx.store,
        &caller.tenant,
        &external_user_id,
        Some(&game.game_id),
    )
    .await?
    .iter()
    .map(|total| wire::UserTaskTotal {
        total: totals(total),
        external_task_id: total.external_task_id.clone(),
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
    let entries: Vec<wire::UserTotalWithDetails> = all
        .iter()
        .map(|total| wire::UserTotalWithDetails {
            total: totals(total),
            points_data: awards_of(&awards, &total.external_user_id, point_detail),
        })
        .collect();
    http::ok(&entries)
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
) -> ApiResult<Vec<wire::UserGamePoints>> {
    type Entry = (Option<String>, Option<String>, Vec<wire::UserTaskPoints>);
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
        entry.2.push(wire::UserTaskPoints {
            external_task_id: total.external_task_id.clone(),
            points: vec![totals(&total)],
        });
    }
    Ok(games
        .into_values()
        .map(
            |(external_game_id, created_at, tasks)| wire::UserGamePoints {
                external_game_id,
                created_at,
                task: tasks,
            },
        )
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
) -> ApiResult<wire::UserSummary> {
    let exists = match load_user(&ctx.store, tenant, external_user_id).await {
        Ok(_) => true,
        Err(error) if error.code == "user_not_found" => false,
        Err(error) => return Err(error),
    };
    let mut total = rust_decimal::Decimal::ZERO;
    let mut count = 0u64;
    let mut games: BTreeMap<
        String,
        (
            Option<String>,
            rust_decimal::Decimal,
            u64,
            Vec<wire::UserTaskAwards>,
        ),
    > = BTreeMap::new();
    for (aggregate, _) in
        rm::user_totals_in_existing_games(&ctx.store, tenant, external_user_id).await?
    {
        total += aggregate.points_total;
        count += aggregate.count;
        let data: Vec<wire::AwardEntry> = match (
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
            .map(point_data)
            .collect(),
            _ => Vec::new(),
        };
        let entry = games.entry(aggregate.game_id.clone()).or_insert_with(|| {
            (
                aggregate.external_game_id.clone(),
                rust_decimal::Decimal::ZERO,
                0,
                Vec::new(),
            )
        });
        entry.1 += aggregate.points_total;
        entry.2 += aggregate.count;
        entry.3.push(wire::UserTaskAwards {
            external_task_id: aggregate.external_task_id.clone(),
            points_data: data,
        });
    }
    let games: Vec<wire::UserGameSummary> = games
        .into_values()
        .map(
            |(external_game_id, points, times, tasks)| wire::UserGameSummary {
                external_game_id,
                points: decimal::to_json(points),
                times_awarded: times,
                tasks,
            },
        )
        .collect();
    Ok(wire::UserSummary {
        external_user_id: external_user_id.to_string(),
        points: decimal::to_json(total),
        times_awarded: count,
        games,
        user_exists: exists,
    })
}

/// `POST /users/points/query`: totals for several users (GAME counted each award once per
/// award row; here every total is each user's exact sum).
pub async fn users_query(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let wire::UsersQuery(users) = http::json_array_body(&req)?;
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
            wire::UserSummary {
                external_user_id: user.clone(),
                points: 0.into(),
                times_awarded: 0,
                games: Vec::new(),
                user_exists: false,
            }
        });
    }
    http::ok(&summaries)
}
