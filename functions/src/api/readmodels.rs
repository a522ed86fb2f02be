//! Read models of awarded points, GAME's shapes, served from the per-(game, task, user)
//! aggregates and key queries (never scans). Totals are each user's exact sums.

use crate::AppContext;
use crate::decimal;
use crate::domain::model::Game;
use crate::domain::pages::{Cursor, Page, Row, Sized};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, path_param};
use crate::identity::auth::{Caller, authenticate};
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::games::{load_game, load_game_and_task, load_game_with_tasks};
use crate::store::readmodels::{self as rm, AwardEntry, RowsFrom, UserTaskTotal};
use crate::store::users::{load_user, user_not_found};
use crate::wire::points as wire;
use futures_util::StreamExt as _;
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

/// At most this many user rows per answer of the points read models (and the default).
pub const MAX_POINTS_PAGE_ROWS: i32 = 1000;
/// At most this many bytes of award entries (their JSON) per details answer: with the rows
/// around them an answer stays far below Lambda's 6 MB response limit.
pub const MAX_POINTS_PAGE_AWARD_BYTES: usize = 1024 * 1024;
/// Tasks read at the same time by the per-game read models: a page is usually filled by the
/// first tasks, and more in flight would read rows the page has no room for.
pub const TASK_READ_CONCURRENCY: usize = 4;

/// `pageSize` (or GAME's `page_size`; 1..=1000, default 1000: a GAME client that reads
/// everything in one answer still gets up to 1000 rows) and the decoded `nextToken`.
fn points_paging(req: &Request) -> ApiResult<(i32, Option<Cursor>)> {
    if let Some(page) = http::query_param(req, "page").filter(|p| p != "1") {
        return Err(ApiError::unprocessable(
            "unsupported_pagination",
            format!(
                "page={page} is not supported: the points read models page with pageSize and the nextToken of the previous answer."
            ),
        ));
    }
    let page_size = match crate::api::PAGE_SIZE_PARAMS
        .iter()
        .find_map(|name| http::query_param(req, name))
    {
        None => MAX_POINTS_PAGE_ROWS,
        Some(text) => match text.parse::<i32>() {
            Ok(size) if (1..=MAX_POINTS_PAGE_ROWS).contains(&size) => size,
            _ => {
                return Err(ApiError::unprocessable(
                    "invalid_page_size",
                    format!(
                        "pageSize must be a whole number from 1 to {MAX_POINTS_PAGE_ROWS}, got \"{text}\"."
                    ),
                ));
            }
        },
    };
    let cursor = match http::query_param(req, "nextToken") {
        None => None,
        Some(token) => Some(Cursor::decode(&token).ok_or_else(invalid_cursor)?),
    };
    Ok((page_size, cursor))
}

fn invalid_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "nextToken is not a cursor this list issued.",
    )
}

/// Where the page starts in the cursor's task (its ids checked: a cursor is client input).
fn rows_from(cursor: &Cursor) -> ApiResult<(RowsFrom, Option<String>)> {
    let user = match &cursor.user {
        None => return Ok((RowsFrom::Start, None)),
        Some(user) => ExternalId::try_new(user.as_str()).map_err(|_| invalid_cursor())?,
    };
    Ok(match &cursor.after_award {
        None => (RowsFrom::After(user), None),
        Some(award) => (RowsFrom::At(user), Some(award.clone())),
    })
}

type PointsRow = Row<UserTaskTotal, AwardEntry>;

/// What a details answer lists of each award: its wire size (as `cost`) and the attributes read.
type Details = (fn(&AwardEntry) -> usize, rm::AwardFields);

/// Awards read ahead of a task's first page of details: enough for this many per user of the
/// page, within the per-query bounds.
const READ_AHEAD_AWARDS_PER_ROW: u64 = 10;

/// One task's rows from `from`: at most `rows` totals and, with `details`, their awards up to
/// the byte bound (counted as `cost` says: the JSON each award takes in the answer). Returns
/// the rows and whether the task has rows after them.
async fn task_rows(
    ctx: &AppContext,
    game: &Game,
    task: &TaskId,
    (from, after_award): (RowsFrom, Option<String>),
    rows: usize,
    details: Option<Details>,
) -> ApiResult<(Vec<PointsRow>, bool)> {
    let (store, tenant, game_id) = (&ctx.store, &game.tenant, &game.game_id);
    let totals_page = rm::task_totals_page(store, tenant, game_id, task, &from, rows);
    let (Some(details), RowsFrom::Start) = (details, &from) else {
        let (totals, more) = totals_page.await?;
        return rows_with_awards(
            ctx,
            game,
            task,
            (totals, more),
            (from, after_award),
            details,
            None,
        )
        .await
        .map(|(rows, _)| rows);
    };
    // A page from the task's first user: its first awards are read with its totals.
    let limit = (rows as u64).saturating_mul(READ_AHEAD_AWARDS_PER_ROW);
    let (totals, ahead) = tokio::join!(
        totals_page,
        rm::first_awards(store, tenant, game_id, task, details.1, limit)
    );
    let totals = totals?;
    let from = (from, after_award);
    let (read, consistent) = rows_with_awards(
        ctx,
        game,
        task,
        totals.clone(),
        from.clone(),
        Some(details),
        Some(ahead?),
    )
    .await?;
    if consistent {
        return Ok(read);
    }
    // An award landed between the two reads and the read-ahead missed one a total counts:
    // read the awards after the totals instead, as a later page does.
    rows_with_awards(ctx, game, task, totals, from, Some(details), None)
        .await
        .map(|(rows, _)| rows)
}

/// The rows of `totals` with, given `details`, their awards (`ahead`: the task's first awards,
/// already read). Also answers whether every complete row lists as many awards as its total
/// counts (a read-ahead can miss an award committed after it).
async fn rows_with_awards(
    ctx: &AppContext,
    game: &Game,
    task: &TaskId,
    (totals, more): (Vec<UserTaskTotal>, bool),
    (from, after_award): (RowsFrom, Option<String>),
    details: Option<Details>,
    ahead: Option<rm::AwardsRead>,
) -> ApiResult<((Vec<PointsRow>, bool), bool)> {
    let (Some((cost, fields)), Some(first), Some(last)) = (details, totals.first(), totals.last())
    else {
        let rows = totals
            .into_iter()
            .map(|total| Row {
                user: total.external_user_id.clone(),
                total,
                awards: Vec::new(),
                complete: true,
            })
            .collect();
        return Ok(((rows, more), true));
    };
    let ids = |total: &UserTaskTotal| ExternalId::try_new(total.external_user_id.as_str());
    let (Ok(first_id), Ok(last_id)) = (ids(first), ids(last)) else {
        return Err(ApiError::internal(
            "an aggregate without a valid externalUserId",
        ));
    };
    let resumed = matches!(from, RowsFrom::At(_));
    let (awards, read_all) = rm::awards_of_users(
        &ctx.store,
        &game.tenant,
        &game.game_id,
        task,
        (&first_id, after_award.as_deref()),
        &last_id,
        (fields, totals.iter().map(|t| t.count).sum()),
        ctx.config.points_page_award_bytes,
        cost,
        ahead,
    )
    .await?;
    let mut by_user: BTreeMap<String, Vec<Sized<AwardEntry>>> = BTreeMap::new();
    for (user, id, award) in awards {
        by_user.entry(user).or_default().push(Sized {
            id,
            bytes: cost(&award),
            value: award,
        });
    }
    // The read stopped inside the last user it reached: later users were not read at all.
    let reached = if read_all {
        None
    } else {
        by_user.keys().next_back().cloned()
    };
    let mut out = Vec::new();
    let mut more = more;
    let mut consistent = true;
    for (i, total) in totals.into_iter().enumerate() {
        let awards = by_user.remove(&total.external_user_id).unwrap_or_default();
        let past_reach = reached
            .as_ref()
            .is_some_and(|r| total.external_user_id.as_str() > r.as_str());
        if past_reach {
            more = true;
            break;
        }
        let last_reached = reached.as_deref() == Some(total.external_user_id.as_str());
        let listed_all = awards.len() as u64 >= total.count;
        let complete = if last_reached {
            !(resumed && i == 0) && listed_all
        } else {
            consistent &= listed_all;
            true
        };
        out.push(Row {
            user: total.external_user_id.clone(),
            total,
            awards,
            complete,
        });
        if last_reached {
            more = true;
            break;
        }
    }
    Ok(((out, more), consistent))
}

async fn read_task(
    ctx: &AppContext,
    game: &Game,
    task: TaskId,
    from: (RowsFrom, Option<String>),
    rows: usize,
    details: Option<Details>,
) -> (TaskId, ApiResult<(Vec<PointsRow>, bool)>) {
    let read = task_rows(ctx, game, &task, from, rows, details).await;
    (task, read)
}

/// The wire size of an award in `pointsData` (a comma included).
fn entry_bytes(award: &AwardEntry) -> usize {
    serde_json::to_vec(&point_data(award)).map_or(0, |v| v.len() + 1)
}

fn detail_bytes(award: &AwardEntry) -> usize {
    serde_json::to_vec(&point_detail(award)).map_or(0, |v| v.len() + 1)
}

/// One page of a game's rows, task by task in externalTaskId order. Tasks are read
/// `TASK_READ_CONCURRENCY` at a time, in order, and reading stops once the page is full.
async fn game_page(
    ctx: &AppContext,
    caller: &Caller,
    req: &Request,
    details: Option<Details>,
) -> ApiResult<(Game, Vec<(TaskId, Vec<PointsRow>)>, wire::PointsPageInfo)> {
    let (page_size, cursor) = points_paging(req)?;
    let (game, tasks) =
        load_game_with_tasks(&ctx.store, &caller.tenant, &path_param(req, "gameId")?).await?;
    let tasks: Vec<TaskId> = tasks.into_iter().map(|t| t.external_task_id).collect();
    let (skip, first_from) = match &cursor {
        None => (0, (RowsFrom::Start, None)),
        Some(cursor) => {
            let at = tasks
                .iter()
                .position(|t| t.as_str() == cursor.task)
                .ok_or_else(invalid_cursor)?;
            (at, rows_from(cursor)?)
        }
    };
    let rows = usize::try_from(page_size).unwrap_or(1);
    let game_ref = &game;
    let mut first_from = Some(first_from);
    let mut reads = futures_util::stream::iter(tasks.iter().skip(skip).cloned())
        .map(|task| {
            let from = first_from.take().unwrap_or((RowsFrom::Start, None));
            read_task(ctx, game_ref, task, from, rows, details)
        })
        .buffered(TASK_READ_CONCURRENCY);
    let mut page = Page::new(rows, ctx.config.points_page_award_bytes);
    let mut out = Vec::new();
    let mut next = None;
    while let Some((task, read)) = reads.next().await {
        let (task_rows, more) = read?;
        let (taken, cursor) = page.take(task.as_str(), task_rows, more);
        if !taken.is_empty() || cursor.is_none() {
            out.push((task, taken));
        }
        if let Some(cursor) = cursor {
            next = Some(cursor.encode());
            break;
        }
    }
    // Reads still in flight are for rows the page has no room for: cancel them.
    drop(reads);
    Ok((
        game,
        out,
        wire::PointsPageInfo {
            page_size,
            next_token: next,
        },
    ))
}

/// `GET /games/{gameId}/points`: per task, each user's total and award count (paged).
pub async fn game_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks, page) = game_page(ctx, &caller, &req, None).await?;
    http::ok(&wire::GamePoints {
        external_game_id: game.external_game_id.to_string(),
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(task, rows)| wire::TaskTotals {
                external_task_id: task.to_string(),
                points: rows.iter().map(|row| totals(&row.total)).collect(),
            })
            .collect(),
        page,
    })
}

/// `GET /games/{gameId}/points/details`: as above, with the awards in `pointsData` (paged).
pub async fn game_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks, page) = game_page(
        ctx,
        &caller,
        &req,
        Some((entry_bytes, rm::AwardFields::Summary)),
    )
    .await?;
    http::ok(&wire::GamePointsDetails {
        external_game_id: game.external_game_id.to_string(),
        created_at: game.created_at,
        task: tasks
            .into_iter()
            .map(|(task, rows)| wire::TaskTotalsWithAwards {
                external_task_id: task.to_string(),
                points: rows
                    .iter()
                    .map(|row| wire::UserTotalWithAwards {
                        total: totals(&row.total),
                        points_data: row.awards.iter().map(|a| point_data(&a.value)).collect(),
                    })
                    .collect(),
            })
            .collect(),
        page,
    })
}

/// `GET /games/{gameId}/users`: per task, the users with points, their creation and first award.
pub async fn game_users(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (game, tasks) =
        load_game_with_tasks(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let game_ref = &game;
    let per_task: Vec<(TaskId, Vec<UserTaskTotal>)> = futures_util::stream::iter(tasks)
        .map(|task| async move {
            let aggregates = rm::task_totals(
                &ctx.store,
                &game_ref.tenant,
                &game_ref.game_id,
                &task.external_task_id,
            )
            .await?;
            ApiResult::Ok((task.external_task_id, aggregates))
        })
        .buffered(TASK_READ_CONCURRENCY)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<ApiResult<_>>()?;
    let user_ids: std::collections::BTreeSet<ExternalId> = per_task
        .iter()
        .flat_map(|(_, aggregates)| aggregates)
        .filter_map(|t| ExternalId::try_new(t.external_user_id.as_str()).ok())
        .collect();
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
    let game_id = path_param(&req, "gameId")?;
    let (game, external_user_id) = tokio::try_join!(
        load_game(&ctx.store, &caller.tenant, &game_id),
        path_user(ctx, &caller, &req)
    )?;
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

/// One page of a task's rows; the cursor of the next page goes in the `Next-Token` and `Link`
/// headers, since GAME's answer is a bare array.
async fn task_page(
    ctx: &AppContext,
    caller: &Caller,
    req: &Request,
    details: Option<Details>,
) -> ApiResult<(Vec<PointsRow>, i32, Option<String>)> {
    let (page_size, cursor) = points_paging(req)?;
    let (game, task) = path_task(ctx, caller, req).await?;
    let from = match &cursor {
        None => (RowsFrom::Start, None),
        Some(cursor) if cursor.task == task.as_str() => rows_from(cursor)?,
        Some(_) => return Err(invalid_cursor()),
    };
    let rows = usize::try_from(page_size).unwrap_or(1);
    let (task_rows, more) = task_rows(ctx, &game, &task, from, rows, details).await?;
    let mut page = Page::new(rows, ctx.config.points_page_award_bytes);
    let (taken, cursor) = page.take(task.as_str(), task_rows, more);
    Ok((taken, page_size, cursor.map(|c| c.encode())))
}

/// A bare-array answer with the next page's cursor in `Next-Token` and in an RFC 8288 `Link`
/// (`rel="next"`, a reference relative to the request's own path).
fn array_page(
    value: &impl serde::Serialize,
    page_size: i32,
    next: Option<String>,
) -> ApiResult<Response<Body>> {
    let mut response = http::ok(value)?;
    if let Some(token) = next {
        let headers = response.headers_mut();
        let link = format!("<?pageSize={page_size}&nextToken={token}>; rel=\"next\"");
        for (name, value) in [("next-token", token), ("link", link)] {
            if let Ok(value) = lambda_http::http::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
    }
    Ok(response)
}

/// `GET /games/{gameId}/tasks/{externalTaskId}/points`: each user's total on the task (paged).
pub async fn task_user_totals(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (rows, page_size, next) = task_page(ctx, &caller, &req, None).await?;
    let entries: Vec<wire::UserTotal> = rows.iter().map(|row| totals(&row.total)).collect();
    array_page(&entries, page_size, next)
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

/// `GET /games/{gameId}/tasks/{externalTaskId}/points/details`: with the awards (paged).
pub async fn task_details(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (rows, page_size, next) = task_page(
        ctx,
        &caller,
        &req,
        Some((detail_bytes, rm::AwardFields::WithData)),
    )
    .await?;
    let entries: Vec<wire::UserTotalWithDetails> = rows
        .iter()
        .map(|row| wire::UserTotalWithDetails {
            total: totals(&row.total),
            points_data: row.awards.iter().map(|a| point_detail(&a.value)).collect(),
        })
        .collect();
    array_page(&entries, page_size, next)
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
        .into_iter()
        .map(
            |(game_id, (external_game_id, created_at, tasks))| wire::UserGamePoints {
                game_id: game_id.to_string(),
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
