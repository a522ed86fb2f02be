//! Games: create, list, read, patch, delete, duplicate, and the game's effective strategy.

use crate::AppContext;
use crate::api::leaderboards;
use crate::api::{WRITE_ATTEMPTS, events, paging, strategies::strategy_view};
use crate::domain::custom;
use crate::domain::leaderboards::BoardRecord;
use crate::domain::model::{self, Game, ParamOwner, Task};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param, query_param};
use crate::identity::auth::authenticate;
use crate::ids::{ExternalId, GameId};
use crate::store::custom as custom_store;
use crate::store::games::{
    game_item, game_key, load_game, load_tasks, marker_game_id, marker_item, marker_key,
};
use crate::store::leaderboards::{self as store_lb, Defined};
use crate::store::{self, Filter, GSI1, GSI1PK, Item, PK, QuerySpec, SK, StoreError, keys, tx};
use crate::wire::games::{CreateGame, DuplicateGame, GameSaved, GameView, PatchGame};
use crate::wire::leaderboards::CreateLeaderboard;
use crate::wire::strategies::EffectiveStrategy;
use crate::wire::{Page, ParamView};
use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use lambda_http::{Body, Request, Response};

pub fn param_views(params: &[model::Param]) -> Vec<ParamView> {
    params
        .iter()
        .map(|p| ParamView {
            id: p.id.clone(),
            key: p.key.clone(),
            value: p.value.clone(),
        })
        .collect()
}

pub fn game_view(game: &Game) -> GameView {
    GameView {
        game_id: game.game_id.to_string(),
        external_game_id: game.external_game_id.to_string(),
        platform: game.platform.clone(),
        strategy_id: game.strategy_id.clone(),
        params: param_views(&game.params),
        version: game.version,
        created_at: game.created_at.clone(),
        updated_at: game.updated_at.clone(),
        aggregate_shards: game.shards(),
    }
}

/// A requested shard count, checked (`current`: a patch's game, which may only gain shards).
fn aggregate_shards(requested: u32, current: Option<u32>) -> ApiResult<u32> {
    if !(1..=Game::MAX_SHARDS).contains(&requested) {
        return Err(ApiError::unprocessable(
            "invalid_aggregate_shards",
            format!(
                "aggregateShards must be a whole number from 1 to {}.",
                Game::MAX_SHARDS
            ),
        ));
    }
    if let Some(current) = current.filter(|c| requested < *c) {
        return Err(ApiError::unprocessable(
            "invalid_aggregate_shards",
            format!(
                "The game has {current} aggregate shards: a patch may add shards, not remove them (their counts would be lost)."
            ),
        ));
    }
    Ok(requested)
}

fn saved(game: &Game, message: String) -> GameSaved {
    GameSaved {
        game: game_view(game),
        message,
    }
}

fn game_exists(external_game_id: &str, existing: Option<&Item>) -> ApiError {
    let error = ApiError::conflict(
        "game_exists",
        format!("A game with externalGameId \"{external_game_id}\" already exists."),
    );
    match existing.and_then(marker_game_id) {
        Some(game_id) => error.with("gameId", game_id),
        None => error,
    }
}

fn validate_new_game(game: &Game) -> ApiResult<()> {
    model::validate_text("platform", &game.platform, 200)?;
    model::validate_params(ParamOwner::Game, &game.params)?;
    if custom::is_custom(&game.strategy_id) {
        return Ok(()); // checked against the tenant's families by custom::check_assignable
    }
    let info = model::known_strategy(&game.strategy_id)?;
    model::effective_variables(info, &game.params, &[])?;
    Ok(())
}

/// The boards a game's create or patch body adds to `defined`, by the rules of
/// `POST /games/{gameId}/leaderboards` (keys, limits, validation), before anything is written.
fn added_boards(
    defined: &Defined,
    bodies: &[CreateLeaderboard],
    now: &str,
) -> ApiResult<Vec<BoardRecord>> {
    let mut next = defined.clone();
    for body in bodies {
        let board = leaderboards::new_board(body, now)?;
        next.boards = leaderboards::with_added(&next, &board)?;
    }
    Ok(next.boards)
}

/// Commits a new game and its uniqueness marker together; a taken externalGameId is 409.
async fn commit_new_game(ctx: &AppContext, game: &Game, boards: &[BoardRecord]) -> ApiResult<()> {
    let table = ctx.store.table();
    let mut items = vec![
        tx::put_new(table, marker_item(game))?,
        tx::put_new(table, game_item(game)?)?,
        store::dashboard::update_item(
            table,
            &game.tenant,
            game.game_id.as_str(),
            game.created_at.get(..10).unwrap_or_default(),
            &store::dashboard::Increment {
                games_opened: 1,
                ..Default::default()
            },
        )?,
        events::outbox_item(table, &game.tenant, events::GAME_CREATED, &game_view(game))?,
    ];
    if !boards.is_empty() {
        let key = store_lb::boards_key(&game.tenant, &game.game_id);
        items.push(Defined::save(table, &key, boards, 0)?);
    }
    match ctx.store.transact(items).await {
        Ok(()) => Ok(()),
        Err(error) => match error.failed_condition() {
            Some((0, reason)) => Err(game_exists(&game.external_game_id, reason.item.as_ref())),
            _ => Err(error.into()),
        },
    }
}

pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateGame = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let now = crate::clock::now_rfc3339();
    let game = Game {
        tenant: caller.tenant.clone(),
        game_id: GameId::fresh(),
        external_game_id: ExternalId::parse("externalGameId", &body.external_game_id)?,
        platform: body.platform,
        strategy_id: body
            .strategy_id
            .unwrap_or_else(|| model::DEFAULT_STRATEGY.to_owned()),
        params: model::new_params(body.params),
        version: 1,
        created_at: now.clone(),
        updated_at: now,
        aggregate_shards: Some(aggregate_shards(
            body.aggregate_shards.unwrap_or(Game::DEFAULT_SHARDS),
            None,
        )?),
    };
    validate_new_game(&game)?;
    let boards = added_boards(&Defined::default(), &body.leaderboards, &game.created_at)?;
    custom_store::check_assignable(&ctx.store, &caller.tenant, &game.strategy_id).await?;
    commit_new_game(ctx, &game, &boards).await?;
    let message = format!("Game with gameId: {} created successfully", game.game_id);
    http::created(&saved(&game, message))
}

pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    // GAME filters with LIKE %value%; `contains` is the DynamoDB equivalent. An empty value
    // matches every game (LIKE '%%'), and DynamoDB refuses an empty string operand: drop it.
    let wanted: Vec<(&str, String)> = ["externalGameId", "platform"]
        .into_iter()
        .filter_map(|field| Some((field, query_param(&req, field)?)))
        .filter(|(_, value)| !value.is_empty())
        .collect();
    let filter = Filter::contains_all(&wanted);
    let page = ctx
        .store
        .query(QuerySpec {
            index: Some(GSI1),
            partition: (GSI1PK, keys::games_index_pk(&caller.tenant)),
            sort_prefix: None,
            limit: page_size,
            forward: false, // newest first: ids are UUIDv7, ordered by creation time
            next_token: next_token.as_deref(),
            filter,
        })
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|item| store::from_item::<Game>(item).map(|game| game_view(&game)))
        .collect::<Result<Vec<_>, _>>()?;
    http::ok(&Page::new(items, page_size, page.next_token))
}

pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    http::ok(&game_view(&game))
}

/// Pure: the game after the patch, validated, with its version bumped.
fn apply_patch(current: &Game, patch: &PatchGame) -> ApiResult<Game> {
    let mut game = current.clone();
    if let Some(external_game_id) = &patch.external_game_id {
        game.external_game_id = ExternalId::parse("externalGameId", external_game_id)?;
    }
    if let Some(platform) = &patch.platform {
        game.platform.clone_from(platform);
    }
    if let Some(strategy_id) = &patch.strategy_id {
        game.strategy_id.clone_from(strategy_id);
    }
    if let Some(params) = &patch.params {
        game.params = model::patch_params_by_id(&current.params, params)?;
    }
    if let Some(shards) = patch.aggregate_shards {
        game.aggregate_shards = Some(aggregate_shards(shards, Some(current.shards()))?);
    }
    validate_new_game(&game)?;
    game.version = current.version + 1;
    game.updated_at = crate::clock::now_rfc3339();
    Ok(game)
}

pub fn concurrent_modification(what: &str) -> ApiError {
    ApiError::conflict(
        "concurrent_modification",
        format!("The {what} kept changing while this update was applied; retry it."),
    )
    .with_header("retry-after", "1")
}

pub async fn patch(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: PatchGame = json_body(&req)?;
    if body.external_game_id.is_none()
        && body.strategy_id.is_none()
        && body.platform.is_none()
        && body.params.is_none()
        && body.aggregate_shards.is_none()
        && body.leaderboards.as_ref().is_none_or(Vec::is_empty)
    {
        return Err(ApiError::unprocessable(
            "empty_patch",
            "The patch changes nothing: send at least one of externalGameId, platform, strategyId, params, aggregateShards, leaderboards.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let table = ctx.store.table();
    for _ in 0..WRITE_ATTEMPTS {
        let current = load_game(&ctx.store, &caller.tenant, &game_id).await?;
        let game = apply_patch(&current, &body)?;
        if body.strategy_id.is_some() {
            custom_store::check_assignable(&ctx.store, &caller.tenant, &game.strategy_id).await?;
        }
        let mut items = vec![tx::put_versioned(
            table,
            game_item(&game)?,
            current.version,
        )?];
        let renamed = game.external_game_id != current.external_game_id;
        if renamed {
            items.push(tx::delete_if(
                table,
                marker_key(&current.tenant, &current.external_game_id),
                "gameId",
                &game.game_id,
            )?);
            items.push(tx::put_new(table, marker_item(&game))?);
        }
        items.push(events::outbox_item(
            table,
            &game.tenant,
            events::GAME_UPDATED,
            &game_view(&game),
        )?);
        if let Some(bodies) = body.leaderboards.as_ref().filter(|b| !b.is_empty()) {
            // Last, so the marker's index above stays the one its cancellation reason has.
            let key = store_lb::boards_key(&game.tenant, &game.game_id);
            let defined = Defined::from_item(ctx.store.get(key.0.clone(), key.1.clone()).await?)?;
            let boards = added_boards(&defined, bodies, &game.updated_at)?;
            items.push(Defined::save(table, &key, &boards, defined.version)?);
        }
        match ctx.store.transact(items).await {
            Ok(()) => {
                let message = format!("Game with gameId: {game_id} updated successfully");
                return http::ok(&saved(&game, message));
            }
            Err(error) => match error.failed_condition() {
                Some((2, reason)) => {
                    return Err(game_exists(&game.external_game_id, reason.item.as_ref()));
                }
                Some(_) => continue, // someone else changed the game: reload and re-apply
                None => return Err(error.into()),
            },
        }
    }
    Err(concurrent_modification("game"))
}

pub async fn delete(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let table = ctx.store.table();
    for _ in 0..WRITE_ATTEMPTS {
        let game = load_game(&ctx.store, &caller.tenant, &game_id).await?;
        let items = vec![
            tx::delete_versioned(table, game_key(&game.tenant, &game.game_id), game.version)?,
            tx::delete_if(
                table,
                marker_key(&game.tenant, &game.external_game_id),
                "gameId",
                &game.game_id,
            )?,
            events::outbox_item(table, &game.tenant, events::GAME_DELETED, &game_view(&game))?,
        ];
        match ctx.store.transact(items).await {
            Ok(()) => {
                // The game is gone, so task writes (which check it exists) cannot add more;
                // now clear its partition. Awards and wallets stay, as in GAME.
                let rest = ctx
                    .store
                    .query_all(&keys::game_pk(&game.tenant, &game.game_id), None)
                    .await?;
                let keys = rest
                    .into_iter()
                    .filter_map(|item| {
                        Some(store::key(
                            item.get(PK)?.as_s().ok()?.clone(),
                            item.get(SK)?.as_s().ok()?.clone(),
                        ))
                    })
                    .collect();
                ctx.store.delete_keys(keys).await?;
                let mut view = game_view(&game);
                view.params = Vec::new();
                return http::ok(&view);
            }
            Err(error) if error.failed_condition().is_some() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(concurrent_modification("game"))
}

pub async fn duplicate(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: DuplicateGame = json_body(&req)?;
    let external_game_id = ExternalId::parse("externalGameId", &body.external_game_id)?;
    let caller = authenticate(ctx, &req).await?;
    let source_id = path_param(&req, "gameId")?;
    let source = load_game(&ctx.store, &caller.tenant, &source_id).await?;
    let source_tasks = load_tasks(&ctx.store, &source).await?;
    let now = crate::clock::now_rfc3339();
    let game = Game {
        game_id: GameId::fresh(),
        external_game_id,
        params: model::copy_params(&source.params),
        version: 1,
        created_at: now.clone(),
        updated_at: now.clone(),
        ..source.clone()
    };
    let tasks: Vec<Task> = source_tasks
        .iter()
        .map(|task| Task {
            game_id: game.game_id.clone(),
            task_id: crate::ids::new_id(),
            status: model::TASK_OPEN.to_owned(),
            params: model::copy_params(&task.params),
            version: 1,
            created_at: now.clone(),
            updated_at: now.clone(),
            ..task.clone()
        })
        .collect();
    // Tasks first, under the new game's key: nothing can reach them until the game item
    // exists, so the copy appears all at once when the game commits.
    let puts = tasks
        .iter()
        .map(|task| {
            let item = crate::store::games::task_item(task)?;
            PutRequest::builder()
                .set_item(Some(item))
                .build()
                .map(|put| WriteRequest::builder().put_request(put).build())
                .map_err(|e| StoreError::Request(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ctx.store.write_all(puts).await?;
    // The boards too, restarted: new ids (the copy's entries start empty).
    let (source_pk, source_sk) = store_lb::boards_key(&source.tenant, &source.game_id);
    let boards: Vec<BoardRecord> = Defined::from_item(ctx.store.get(source_pk, source_sk).await?)?
        .boards
        .into_iter()
        .map(|board| BoardRecord {
            id: crate::ids::new_id(),
            created_at: now.clone(),
            updated_at: now.clone(),
            ..board
        })
        .collect();
    if let Err(error) = commit_new_game(ctx, &game, &boards).await {
        let keys = tasks
            .iter()
            .map(|task| {
                store::key(
                    keys::game_pk(&task.tenant, &task.game_id),
                    keys::task_sk(&task.external_task_id),
                )
            })
            .collect();
        if let Err(cleanup) = ctx.store.delete_keys(keys).await {
            tracing::warn!(error = %cleanup, "duplicate: unreachable task copies left behind");
        }
        return Err(error);
    }
    let message = format!(
        "Game with gameId: {} duplicated successfully from gameId: {source_id}",
        game.game_id
    );
    http::created(&saved(&game, message))
}

/// The game's strategy with its variables overridden by the game's params.
pub async fn strategy(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    if custom::is_custom(&game.strategy_id) {
        let view =
            custom_store::strategy_id_view(&ctx.store, &caller.tenant, &game.strategy_id).await?;
        return http::ok(&EffectiveStrategy::Custom(view));
    }
    let info = model::known_strategy(&game.strategy_id)?;
    let variables = model::effective_variables(info, &game.params, &[])?;
    http::ok(&EffectiveStrategy::Builtin(strategy_view(info, &variables)))
}
