//! Games: `/games`, `/games/{gameId}`, `/games/{gameId}/duplicate`, `/games/{gameId}/strategy`.

use super::common::{ParamInput, ParamView};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /games`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"externalGameId": "city-walks", "platform": "web",
    "params": [{"key": "variable_bonus_points", "value": 20}]}))]
pub struct CreateGame {
    /// The client's id for the game: 3 to 60 letters, digits, `_` or `-`; unique in the tenant.
    #[schema(example = "city-walks", pattern = r"^[A-Za-z0-9_-]{3,60}$")]
    pub external_game_id: String,
    #[schema(example = "web", min_length = 1, max_length = 200, pattern = r"\S")]
    pub platform: String,
    /// A built-in strategy id (`GET /strategies`) or `custom:<familyId>`; default `default`.
    #[schema(schema_with = super::common::strategy_id_schema)]
    pub strategy_id: Option<String>,
    /// Game-wide strategy variables (`variable_*` keys override the strategy's defaults).
    #[serde(default)]
    #[schema(max_items = 100)]
    pub params: Vec<ParamInput>,
    /// Shards of the game's hot aggregates (task series, minutes, grid): raise it for a game
    /// whose tasks take more than a few hundred awards a second (docs/data-model.md, "Hot
    /// items"). 1 to 16, default 4.
    #[schema(minimum = 1, maximum = 16, example = 4)]
    pub aggregate_shards: Option<u32>,
    /// Leaderboards besides the implicit `points` one, created with the game (in its
    /// transaction) exactly as `POST /games/{gameId}/leaderboards` creates each.
    #[serde(default)]
    #[schema(max_items = 5)]
    pub leaderboards: Vec<super::leaderboards::CreateLeaderboard>,
}

/// `PATCH /games/{gameId}`: at least one member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"platform": "mobile"}))]
pub struct PatchGame {
    #[schema(pattern = r"^[A-Za-z0-9_-]{3,60}$")]
    pub external_game_id: Option<String>,
    #[schema(schema_with = super::common::strategy_id_schema)]
    pub strategy_id: Option<String>,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub platform: Option<String>,
    /// Each entry names an existing parameter by `id` and replaces its key and value.
    #[schema(max_items = 100)]
    pub params: Option<Vec<ParamInput>>,
    /// More shards for the game's hot aggregates (never fewer: what they hold would be lost).
    #[schema(minimum = 1, maximum = 16)]
    pub aggregate_shards: Option<u32>,
    /// Leaderboards to add, in the game's update transaction; a key the game already has is
    /// 409 `leaderboard_exists` (change a board with `PATCH /games/{gameId}/leaderboards/{key}`).
    #[schema(max_items = 5)]
    pub leaderboards: Option<Vec<super::leaderboards::CreateLeaderboard>>,
}

/// `POST /games/{gameId}/duplicate`: the copy's external id (its tasks are copied too).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"externalGameId": "city-walks-2"}))]
pub struct DuplicateGame {
    #[schema(pattern = r"^[A-Za-z0-9_-]{3,60}$")]
    pub external_game_id: String,
}

/// A game (GAME's `GameRead`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameView {
    /// The game's id (a UUID the API assigns).
    pub game_id: String,
    pub external_game_id: String,
    pub platform: String,
    pub strategy_id: String,
    pub params: Vec<ParamView>,
    /// Bumped by every change (optimistic concurrency).
    pub version: u64,
    /// RFC 3339, UTC.
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    /// Shards of the game's hot aggregates (1 for games stored before sharding).
    pub aggregate_shards: u32,
}

/// A game after a create, change or duplicate, with GAME's confirmation `message`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GameSaved {
    #[serde(flatten)]
    pub game: GameView,
    /// e.g. `Game with gameId: <id> created successfully`.
    pub message: String,
}
