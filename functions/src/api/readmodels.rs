//! Read models of awarded points, GAME's shapes, served from the per-(game, task, user)
//! aggregates and key queries (never scans). Totals are each user's exact sums.

use crate::AppContext;
use crate::decimal;
use crate::domain::model::{Game, Task};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{Caller, authenticate};
use crate::store::games::{load_game, load_tasks};
use crate::store::users::{load_user, user_not_found};
use crate::store::{self, GSI1, GSI1PK, GSI1SK, Item, attrs, keys};
use crate::wire::points::{
    AwardDetail, AwardEntry, GamePoints, GamePointsDetails, GameUser, GameUsers, TaskTotals,
    TaskTotalsWithAwards, TaskUsers, UserGamePoints, UserGameSummary, UserSummary, UserTaskAwards,
    UserTaskPoints, UserTaskTotal, UserTotal, UserTotalWithAwards, UserTotalWithDetails,
    UsersQuery,
};
use lambda_http::{Body, Request, Response};
use std::collections::BTreeMap;

/// At most this many users per `POST /users/points/query`.
pub const MAX_QUERY_USERS: usize = 100;

fn text(item: &Item, name: &str) -> Option<String> {
    attrs::s(item, name).map(str::to_owned)
}

fn totals(item: &Item) -> UserTotal {
    UserTotal {
        external_user_id: text(item, "externalUserId"),
        points: decimal::to_json(attrs::decimal(item, "pointsTotal").unwrap_or_default()),
        times_awarded: attrs::u64(item, "count").unwrap_or(0),
    }
}

fn point_data(item: &Item) -> AwardEntry {
    AwardEntry {
        points: decimal::to_json(attrs::decimal(item, "points").unwrap_or_default()),
        case_name: text(item, "caseName"),
        created_at: text(item, "createdAt"),
    }
}

fn point_detail(item: &Item) -> AwardDetail {
    AwardDetail {
        award: point_data(item),
        data: attrs::json(item, "data"),
        description: text(item, "description"),
    }
}

/// Each user's aggregate on a task, ordered by externalUserId.
async fn task_totals(
    ctx: &AppContext,
    tenant: &str,
    game_id: &str,
    external_task_id: &str,
) -> ApiResult<Vec<Item>> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    ctx.store
        .query_all(&pk, Some(keys::USER_TASK_SK_PREFIX))
        .await
}

/// A task's awards grouped by user (chronological within a user).
async fn task_awards(
    ctx: &AppContext,
    tenant: &str,
    game_id: &str,
    external_task_id: &str,
    user: Option<&str>,
) -> ApiResult<BTreeMap<String, Vec<Item>>> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let prefix = match user {
        Some(user) => format!("{}{user}#", keys::AWARD_SK_PREFIX),
        None => keys::AWARD_SK_PREFIX.to_owned(),
    };
    let mut grouped: BTreeMap<String, Vec<Item>> = BTreeMap::new();
    for item in ctx.store.query_all(&pk, Some(&prefix)).await? {
        let user = attrs::s(&item, "externalUserId")
            .unwrap_or_default()
            .to_owned();
        grouped.entry(user).or_default().push(item);
    }
    Ok(grouped)
}

async fn load_task(ctx: &AppContext, game: &Game, external_task_id: &str) -> ApiResult<Task> {
    let item = ctx
        .store
        .get(
            keys::game_pk(&game.tenant, &game.game_id),
            keys::task_sk(external_task_id),
        )
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "task_not_found",
                format!(
                    "Task not found with externalTaskId: {external_task_id} in gameId: {}",
                    game.game_id
                ),
            )
        })?;
    Ok(store::from_item(item)?)
}

/// The game, and per task each user's aggregate with (when `details`) their awards.
async fn game_points(
    ctx: &AppContext,
    caller: &Caller,
    req: &Request,
    details: bool,
) -> ApiResult<(Game, Vec<(String, Vec<(Item, Vec<Item>)>)>)> {
    let game = load_game(&ctx.store, &caller.tenant, &path_param(req, "gameId")?).await?;
    let mut tasks = Vec::new();
    for task in load_tasks(&ctx.store, &game).await? {
        let mut awards = if details {
            task_awards(
                ctx,
                &game.tenant,
                &game.game_id,
                &task.external_task_id,
                None,
            )
            .await?
        } else {
            BTreeMap::new()
        };
        let users = task_totals(ctx, &game.tenant, &game.game_id, &task.external_task_id)
            .await?
            .into_iter()
            .map(|item| {
                let user = attrs::s(&item, "externalUserId").unwrap_or_default();
                let awards = awards.remove(user).unwrap_or_default();
                (item, awards)
            })
            .collect();
        tasks.push((task.external_task_id, users));
    }
    Ok((game, tasks))
}

/// `GET /games/{gameId}/points`: per task, each user's total and award count.
pub async fn game_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks) = game_points(ctx, &caller, &req, false).await?;
    http::ok(&GamePoints {
        external_game_id: game.external_game_id,
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(external_task_id, users)| TaskTotals {
                external_task_id,
                points: users.iter().map(|(item, _)| totals(item)).collect(),
            })
            .collect(),
    })
}

/// `GET /games/{gameId}/points/details`: as above, with every award in `pointsData`.
pub async fn game_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks) = game_points(ctx, &caller, &req, true).await?;
    http::ok(&GamePointsDetails {
        external_game_id: game.external_game_id,
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(external_task_id, users)| TaskTotalsWithAwards {
                external_task_id,
                points: users
                    .iter()
                    .map(|(item, awards)| UserTotalWithAwards {
                        total: totals(item),
                        points_data: awards.iter().map(point_data).collect(),
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
        let aggregates =
            task_totals(ctx, &game.tenant, &game.game_id, &task.external_task_id).await?;
        for item in &aggregates {
            user_ids.insert(
                attrs::s(item, "externalUserId")
                    .unwrap_or_default()
                    .to_owned(),
            );
        }
        per_task.push((task.external_task_id, aggregates));
    }
    let user_ids: Vec<String> = user_ids.into_iter().collect();
    let mut created: BTreeMap<String, Option<String>> = BTreeMap::new();
    for chunk in user_ids.chunks(100) {
        let keys: Vec<(String, String)> = chunk
            .iter()
            .map(|u| (keys::user_pk(&game.tenant, u), keys::USER_SK.to_owned()))
            .collect();
        for (user, item) in chunk.iter().zip(ctx.store.get_many(&keys).await?) {
            created.insert(
                user.clone(),
                item.and_then(|i| attrs::s(&i, "createdAt").map(str::to_owned)),
            );
        }
    }
    let tasks: Vec<TaskUsers> = per_task
        .into_iter()
        .map(|(external_task_id, aggregates)| {
            let users: Vec<GameUser> = aggregates
                .iter()
                .map(|item| {
                    let user = attrs::s(item, "externalUserId").unwrap_or_default();
                    GameUser {
                        external_user_id: user.to_owned(),
                        created_at: created.get(user).cloned().flatten(),
                        first_action: attrs::i64(item, "firstUs")
                            .map(crate::clock::micros_to_rfc3339),
                    }
                })
                .collect();
            TaskUsers {
                external_task_id,
                users,
            }
        })
        .collect();
    http::ok(&GameUsers {
        game_id: game.game_id,
        tasks,
    })
}

/// A user's aggregates through GSI1, optionally only one game's.
async fn user_aggregates(
    ctx: &AppContext,
    tenant: &str,
    external_user_id: &str,
    game_id: Option<&str>,
) -> ApiResult<Vec<Item>> {
    let prefix = game_id.map(|g| format!("{g}#"));
    ctx.store
        .query_every(
            Some(GSI1),
            (
                GSI1PK,
                keys::user_aggregates_index_pk(tenant, external_user_id),
            ),
            prefix.as_deref().map(|p| (GSI1SK, p)),
        )
        .await
}

/// `GET /games/{gameId}/users/{externalUserId}/points`: the user's total on each task of the game.
pub async fn game_user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    load_user(&ctx.store, &caller.tenant, &external_user_id).await?;
    let entries: Vec<UserTaskTotal> =
        user_aggregates(ctx, &caller.tenant, &external_user_id, Some(&game.game_id))
            .await?
            .iter()
            .map(|item| UserTaskTotal {
                total: totals(item),
                external_task_id: text(item, "externalTaskId"),
            })
            .collect();
    http::ok(&entries)
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/points`: each user's total on the task.
pub async fn task_user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let task = load_task(ctx, &game, &path_param(&req, "externalTaskId")?).await?;
    let items = task_totals(ctx, &game.tenant, &game.game_id, &task.external_task_id).await?;
    http::ok(&items.iter().map(totals).collect::<Vec<_>>())
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/points/details`: with every award.
pub async fn task_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let task = load_task(ctx, &game, &path_param(&req, "externalTaskId")?).await?;
    let awards = task_awards(
        ctx,
        &game.tenant,
        &game.game_id,
        &task.external_task_id,
        None,
    )
    .await?;
    let entries: Vec<UserTotalWithDetails> =
        task_totals(ctx, &game.tenant, &game.game_id, &task.external_task_id)
            .await?
            .iter()
            .map(|item| {
                let user = attrs::s(item, "externalUserId").unwrap_or_default();
                UserTotalWithDetails {
                    total: totals(item),
                    points_data: awards
                        .get(user)
                        .map(|a| a.iter().map(point_detail).collect())
                        .unwrap_or_default(),
                }
            })
            .collect();
    http::ok(&entries)
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/users/{externalUserId}/points`.
pub async fn task_user_points(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let task = load_task(ctx, &game, &path_param(&req, "externalTaskId")?).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let item = ctx
        .store
        .get(
            keys::task_awards_pk(&game.tenant, &game.game_id, &task.external_task_id),
            keys::user_task_sk(&external_user_id),
        )
        .await?
        .ok_or_else(|| user_not_found(&external_user_id))?;
    http::ok(&totals(&item))
}

/// A user's points grouped by game then task, GAME's `AllPointsByGame` list.
async fn points_by_game(
    ctx: &AppContext,
    tenant: &str,
    external_user_id: &str,
) -> ApiResult<Vec<UserGamePoints>> {
    let mut games: BTreeMap<String, (Option<String>, Vec<UserTaskPoints>)> = BTreeMap::new();
    for item in user_aggregates(ctx, tenant, external_user_id, None).await? {
        let game_id = attrs::s(&item, "gameId").unwrap_or_default().to_owned();
        let entry = games.entry(game_id).or_insert_with(|| {
            (
                attrs::s(&item, "externalGameId").map(str::to_owned),
                Vec::new(),
            )
        });
        entry.1.push(UserTaskPoints {
            external_task_id: text(&item, "externalTaskId"),
            points: vec![totals(&item)],
        });
    }
    let game_keys: Vec<(String, String)> = games
        .keys()
        .map(|g| (keys::game_pk(tenant, g), keys::GAME_SK.to_owned()))
        .collect();
    let mut created = Vec::new();
    for chunk in game_keys.chunks(100) {
        created.extend(ctx.store.get_many(chunk).await?);
    }
    Ok(games
        .into_iter()
        .zip(created)
        .map(|((_, (external_game_id, tasks)), game)| UserGamePoints {
            external_game_id,
            created_at: game.and_then(|g| text(&g, "createdAt")),
            task: tasks,
        })
        .collect())
}

/// `GET /users/{externalUserId}/points`.
pub async fn user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    load_user(&ctx.store, &caller.tenant, &external_user_id).await?;
    http::ok(&points_by_game(ctx, &caller.tenant, &external_user_id).await?)
}

async fn user_summary(
    ctx: &AppContext,
    tenant: &str,
    external_user_id: &str,
) -> ApiResult<UserSummary> {
    let exists = ctx
        .store
        .get(keys::user_pk(tenant, external_user_id), keys::USER_SK)
        .await?
        .is_some();
    let mut total = rust_decimal::Decimal::ZERO;
    let mut count = 0u64;
    let mut games: BTreeMap<
        String,
        (
            Option<String>,
            rust_decimal::Decimal,
            u64,
            Vec<UserTaskAwards>,
        ),
    > = BTreeMap::new();
    for item in user_aggregates(ctx, tenant, external_user_id, None).await? {
        let points = attrs::decimal(&item, "pointsTotal").unwrap_or_default();
        let times = attrs::u64(&item, "count").unwrap_or(0);
        total += points;
        count += times;
        let game_id = attrs::s(&item, "gameId").unwrap_or_default().to_owned();
        let external_task_id = attrs::s(&item, "externalTaskId")
            .unwrap_or_default()
            .to_owned();
        let awards = task_awards(
            ctx,
            tenant,
            &game_id,
            &external_task_id,
            Some(external_user_id),
        )
        .await?;
        let data: Vec<AwardEntry> = awards.values().flatten().map(point_data).collect();
        let entry = games.entry(game_id).or_insert_with(|| {
            (
                text(&item, "externalGameId"),
                rust_decimal::Decimal::ZERO,
                0,
                Vec::new(),
            )
        });
        entry.1 += points;
        entry.2 += times;
        entry.3.push(UserTaskAwards {
            external_task_id,
            points_data: data,
        });
    }
    let games: Vec<UserGameSummary> = games
        .into_values()
        .map(|(external_game_id, points, times, tasks)| UserGameSummary {
            external_game_id,
            points: decimal::to_json(points),
            times_awarded: times,
            tasks,
        })
        .collect();
    Ok(UserSummary {
        external_user_id: external_user_id.to_owned(),
        points: decimal::to_json(total),
        times_awarded: count,
        games,
        user_exists: exists,
    })
}

/// `POST /users/points/query`: totals for several users (GAME counted each award once per
/// award row; here every total is each user's exact sum).
pub async fn users_query(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let UsersQuery(users) = json_body(&req)?;
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
        summaries.push(
            if crate::ids::validate_slug("externalUserId", user).is_ok() {
                user_summary(ctx, &caller.tenant, user).await?
            } else {
                UserSummary {
                    external_user_id: user.clone(),
                    points: 0.into(),
                    times_awarded: 0,
                    games: Vec::new(),
                    user_exists: false,
                }
            },
        );
    }
    http::ok(&summaries)
}
