//! Leaderboards: `/games/{gameId}/leaderboards...` (docs/api.md, "Leaderboards").

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /games/{gameId}/leaderboards`: a board of the game.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"key": "weekly", "metric": "points", "period": "weekly",
    "timeZone": "Europe/Madrid", "tieBreak": "first_reached", "maxEntries": 100}))]
pub struct CreateLeaderboard {
    /// 1 to 40 letters, digits, `_` or `-`; unique in the game (`points` is the implicit board,
    /// `standings` is reserved).
    #[schema(pattern = r"^[A-Za-z0-9_-]{1,40}$")]
    pub key: String,
    /// `points` (sum of awarded points, the default) or `awards` (number of awards).
    #[schema(example = "points")]
    pub metric: Option<String>,
    /// Only awards of these tasks count (all tasks when empty).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub external_task_ids: Vec<String>,
    /// `all_time` (default), `daily`, `weekly` (ISO weeks), `monthly` or `custom`.
    #[schema(example = "weekly")]
    pub period: Option<String>,
    /// IANA zone of the period boundaries (default `UTC`).
    #[schema(example = "Europe/Madrid")]
    pub time_zone: Option<String>,
    /// `first_reached` (default: among equal scores, who reached it first ranks higher) or
    /// `shared` (equal scores share a rank: 1, 2, 2, 4).
    pub tie_break: Option<String>,
    /// How many entries the board shows (1 to 1000, default 100).
    #[schema(minimum = 1, maximum = 1000)]
    pub max_entries: Option<u32>,
    /// Period `custom`: the first period's local start date, `YYYY-MM-DD`.
    pub custom_start: Option<String>,
    /// Period `custom`: each period's length in local days (1 to 366).
    pub custom_length_days: Option<u32>,
}

/// `PATCH /games/{gameId}/leaderboards/{boardKey}`: at least one member. Changing the metric,
/// tasks, period or zone starts the board over (a new `id`); the rest keeps its entries.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"maxEntries": 50}))]
pub struct PatchLeaderboard {
    pub metric: Option<String>,
    pub external_task_ids: Option<Vec<String>>,
    pub period: Option<String>,
    pub time_zone: Option<String>,
    pub tie_break: Option<String>,
    #[schema(minimum = 1, maximum = 1000)]
    pub max_entries: Option<u32>,
    pub custom_start: Option<String>,
    pub custom_length_days: Option<u32>,
}

/// A board of a game.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardView {
    pub key: String,
    /// Changes when the board starts over (a scoring change).
    pub id: String,
    pub metric: String,
    pub external_task_ids: Vec<String>,
    pub period: String,
    pub time_zone: String,
    pub tie_break: String,
    pub max_entries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_length_days: Option<u32>,
    /// The implicit `points` board every game has (it cannot be changed or deleted).
    pub implicit: bool,
    /// The key of the period now running (e.g. `2026-W49`; `all` for all time).
    pub current_period: String,
}

/// `GET /games/{gameId}/leaderboards`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct LeaderboardList {
    pub items: Vec<LeaderboardView>,
}

/// One ranked entry.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardEntry {
    pub rank: i64,
    pub external_user_id: String,
    /// Points, or the number of awards.
    #[schema(value_type = f64)]
    pub score: Value,
    /// When the user reached this score (RFC 3339, UTC): the first to reach it ranks higher.
    pub reached_at: String,
}

/// `GET /games/{gameId}/leaderboards/{boardKey}/entries`: one page of the board's period.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardPage {
    pub key: String,
    pub period_key: String,
    /// The period's bounds (RFC 3339, UTC); `null` for all time.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    /// Everyone with an entry in the period.
    pub entrants: i64,
    pub entries: Vec<LeaderboardEntry>,
    /// Pass as `cursor` for the next page; `null` at the end (or at `maxEntries`).
    pub next_cursor: Option<String>,
}

/// A user's standing on one board.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardStanding {
    pub key: String,
    pub period_key: String,
    /// `null` when the user has no entry in the period.
    pub rank: Option<i64>,
    #[schema(value_type = Option<f64>)]
    pub score: Option<Value>,
    pub entrants: i64,
    /// With `around=K`: up to K entries above the user, the user, up to K below.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub around: Option<Vec<LeaderboardEntry>>,
}

/// `GET /games/{gameId}/leaderboards/standings/users/{externalUserId}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeaderboardStandings {
    pub external_user_id: String,
    pub boards: Vec<LeaderboardStanding>,
}
