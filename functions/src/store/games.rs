//! Games and their tasks: the records, their keys and the reads every route shares.
//! A game is `T#<tenant>#G#<gameId>` / `GAME` (GSI1: the tenant's games); its tasks share the
//! partition (`TASK#<externalTaskId>`); `T#<tenant>#XG#<externalGameId>` makes the external id
//! unique within the tenant.

use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::{self, GSI1PK, GSI1SK, Item, PK, SK, Store, StoreError, keys};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A game or task parameter. `value` keeps the JSON type the client sent.
/// The status of a task that accepts awards and actions.
pub const TASK_OPEN: &str = "open";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Param {
    pub id: String,
    pub key: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Game {
    pub tenant: TenantId,
    pub game_id: GameId,
    pub external_game_id: ExternalId,
    pub platform: String,
    pub strategy_id: String,
    pub params: Vec<Param>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
    /// How many shards each of the game's hot aggregates has (docs/data-model.md, "Hot
    /// items"); absent on games stored before sharding: one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate_shards: Option<u32>,
}

impl Game {
    /// The games' hot-aggregate shards: new games get this many unless they ask otherwise.
    pub const DEFAULT_SHARDS: u32 = 4;
    /// At most: the award reads every shard of three aggregates in its one BatchGetItem.
    pub const MAX_SHARDS: u32 = 16;

    pub fn shards(&self) -> u32 {
        self.aggregate_shards
            .unwrap_or(1)
            .clamp(1, Self::MAX_SHARDS)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub tenant: TenantId,
    pub game_id: GameId,
    pub task_id: String,
    pub external_task_id: TaskId,
    pub strategy_id: String,
    pub status: String,
    pub params: Vec<Param>,
    pub version: u64,
    pub created_at: String,
    pub updated_at: String,
}

pub fn game_item(game: &Game) -> Result<Item, StoreError> {
    store::to_item(
        game,
        "game",
        &[
            (PK, keys::game_pk(&game.tenant, &game.game_id)),
            (SK, keys::GAME_SK.to_owned()),
            (GSI1PK, keys::games_index_pk(&game.tenant)),
            (GSI1SK, game.game_id.to_string()),
        ],
    )
}

pub fn game_key(tenant: &TenantId, game_id: &GameId) -> Item {
    store::key(keys::game_pk(tenant, game_id), keys::GAME_SK)
}

pub fn marker_key(tenant: &TenantId, external_game_id: &ExternalId) -> Item {
    store::key(
        keys::external_game_pk(tenant, external_game_id),
        keys::EXTERNAL_GAME_SK,
    )
}

/// The item that makes an externalGameId unique within a tenant.
pub fn marker_item(game: &Game) -> Item {
    let mut item = marker_key(&game.tenant, &game.external_game_id);
    item.insert("entity".into(), store::s("externalGameId"));
    item.insert("gameId".into(), store::s(game.game_id.clone()));
    item
}

pub fn task_item(task: &Task) -> Result<Item, StoreError> {
    store::to_item(
        task,
        "task",
        &[
            (PK, keys::game_pk(&task.tenant, &task.game_id)),
            (SK, keys::task_sk(&task.external_task_id)),
        ],
    )
}

pub fn task_key(task: &Task) -> Item {
    store::key(
        keys::game_pk(&task.tenant, &task.game_id),
        keys::task_sk(&task.external_task_id),
    )
}

pub fn game_not_found(game_id: &str) -> ApiError {
    ApiError::not_found(
        "game_not_found",
        format!("Game not found by gameId: {game_id}"),
    )
}

pub fn task_not_found(game_id: &str, external_task_id: &str) -> ApiError {
    ApiError::not_found(
        "task_not_found",
        format!("Task not found with externalTaskId: {external_task_id} in gameId: {game_id}"),
    )
}

/// The game a uniqueness marker item points at.
pub fn marker_game_id(marker: &Item) -> Option<String> {
    store::attrs::s(marker, "gameId").map(str::to_owned)
}

/// The game an externalGameId names in the tenant, through its uniqueness marker.
pub async fn game_id_by_external(
    store: &Store,
    tenant: &TenantId,
    external_game_id: &ExternalId,
) -> ApiResult<Option<GameId>> {
    let marker = store
        .get(
            keys::external_game_pk(tenant, external_game_id),
            keys::EXTERNAL_GAME_SK,
        )
        .await?;
    Ok(marker
        .as_ref()
        .and_then(marker_game_id)
        .and_then(|id| GameId::try_new(id).ok()))
}

/// Another tenant's game is indistinguishable from a missing one: the tenant is in the key.
pub async fn load_game(store: &Store, tenant: &TenantId, game_id: &str) -> ApiResult<Game> {
    let game_id = GameId::from_path(game_id)?;
    let item = store
        .get(keys::game_pk(tenant, &game_id), keys::GAME_SK)
        .await?
        .ok_or_else(|| game_not_found(&game_id))?;
    Ok(store::from_item(item)?)
}

/// Every task of the game, in task-id order.
pub async fn load_tasks(store: &Store, game: &Game) -> ApiResult<Vec<Task>> {
    tasks_of(store, &game.tenant, &game.game_id).await
}

/// The game and every one of its tasks, read at the same time (both are keyed by the path's
/// game id: one round trip where `load_game` then `load_tasks` take two).
pub async fn load_game_with_tasks(
    store: &Store,
    tenant: &TenantId,
    game_id: &str,
) -> ApiResult<(Game, Vec<Task>)> {
    let id = GameId::from_path(game_id)?;
    tokio::try_join!(
        load_game(store, tenant, game_id),
        tasks_of(store, tenant, &id)
    )
}

async fn tasks_of(store: &Store, tenant: &TenantId, game_id: &GameId) -> ApiResult<Vec<Task>> {
    let items = store
        .query_all(&keys::game_pk(tenant, game_id), Some(keys::TASK_SK_PREFIX))
        .await?;
    items
        .into_iter()
        .map(|item| store::from_item(item).map_err(ApiError::from))
        .collect()
}

/// The game and one of its tasks, in one round trip.
pub async fn load_game_and_task(
    store: &Store,
    tenant: &TenantId,
    game_id: &str,
    external_task_id: &str,
) -> ApiResult<(Game, Task)> {
    let game_id_text = game_id;
    let game_id = GameId::from_path(game_id_text)?;
    let Ok(task_id) = TaskId::try_new(external_task_id) else {
        return Err(task_not_found(game_id_text, external_task_id));
    };
    let pk = keys::game_pk(tenant, &game_id);
    let mut found = store
        .get_many(&[
            (pk.clone(), keys::GAME_SK.to_owned()),
            (pk, keys::task_sk(&task_id)),
        ])
        .await?
        .into_iter();
    let game: Game = match found.next().flatten() {
        Some(item) => store::from_item(item)?,
        None => return Err(game_not_found(&game_id)),
    };
    match found.next().flatten() {
        Some(item) => Ok((game, store::from_item(item)?)),
        None => Err(task_not_found(game_id_text, external_task_id)),
    }
}
