//! Awards (`POST …/points`), task actions (`POST …/action`) and the read models of awarded
//! points (`GET …/points`, `…/points/details`, `…/users`, `POST /users/points/query`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /games/{gameId}/tasks/{externalTaskId}/points`. Idempotent with an `Idempotency-Key`
/// header or GAME's `data.eventId` / `data.idempotencyKey` / `data.correlationId`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"externalUserId": "ana"}))]
pub struct AwardBody {
    /// 3 to 60 letters, digits, `_` or `-`. The user is created on their first award.
    #[schema(example = "ana", pattern = r"^[A-Za-z0-9_-]{3,60}$")]
    pub external_user_id: String,
    /// What the strategy reads (e.g. `minutes`); stored with the award. A JSON object.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Score and answer without storing anything.
    #[serde(default)]
    pub is_simulated: bool,
    /// The user's IANA time zone for streaks (e.g. `America/Santiago`); stored on first use,
    /// changed by sending another.
    #[serde(default)]
    pub time_zone: Option<String>,
}

/// An award: the points the task's strategy gave and the case that decided them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"points": 22, "caseName": "BasicEngagement", "isACreatedUser": true,
    "gameId": "0193a0c4-5f6e-7b21-9a44-2f0c1d2e3f40", "externalTaskId": "walk-1",
    "created_at": "2026-12-02T10:00:00.000000Z", "awardId": "0193a0c5-0a1b-7c2d-8e3f-405162738495"}))]
pub struct AwardResponse {
    /// The points awarded (may be fractional, at most 6 decimals).
    #[schema(value_type = f64)]
    pub points: Value,
    /// The strategy's case (e.g. `BasicEngagement`).
    pub case_name: String,
    /// True when this award created the user.
    #[serde(rename = "isACreatedUser")]
    pub is_a_created_user: bool,
    pub game_id: String,
    pub external_task_id: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    pub award_id: String,
    /// Present (`true`) when the request was a simulation: nothing was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_simulated: Option<bool>,
    /// Levels, achievements and streak (present when the game defines progression).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progression: Option<crate::wire::progression::ProgressionBlock>,
}

/// `POST /games/{gameId}/tasks/{externalTaskId}/action`: an action of a user on an open task.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"typeAction": "click", "data": {"button": "start"},
    "externalUserId": "ana"}))]
pub struct TaskActionBody {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub type_action: String,
    /// A JSON object, stored as sent.
    #[schema(value_type = Object)]
    pub data: Value,
    #[serde(default)]
    pub description: Option<String>,
    #[schema(pattern = r"^[A-Za-z0-9_-]{3,60}$")]
    pub external_user_id: String,
}

/// The logged task action.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskActionCreated {
    pub id: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    pub type_action: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub description: Option<String>,
    pub external_user_id: String,
    pub game_id: String,
    pub external_task_id: String,
    /// `Action added successfully`.
    pub message: String,
}

/// A user's total on a task: the sum of their awards and how many there were.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTotal {
    pub external_user_id: String,
    #[schema(value_type = f64)]
    pub points: Value,
    pub times_awarded: u64,
}

/// One award in a details list.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwardEntry {
    #[schema(value_type = f64)]
    pub points: Value,
    pub case_name: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: Option<String>,
}

/// One award with what the client sent (`…/tasks/{externalTaskId}/points/details`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AwardDetail {
    #[serde(flatten)]
    pub award: AwardEntry,
    /// The award's `data` as sent (with the strategy's `callbackData`, if any).
    pub data: Value,
    pub description: Option<String>,
}

/// A user's total on a task with their awards (`GET /games/{gameId}/points/details`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTotalWithAwards {
    #[serde(flatten)]
    pub total: UserTotal,
    /// Chronological.
    pub points_data: Vec<AwardEntry>,
}

/// A user's total on a task with their awards and what was sent with each
/// (`GET /games/{gameId}/tasks/{externalTaskId}/points/details`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTotalWithDetails {
    #[serde(flatten)]
    pub total: UserTotal,
    /// Chronological.
    pub points_data: Vec<AwardDetail>,
}

/// `GET /games/{gameId}/points`: per task, each user's total.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GamePoints {
    pub external_game_id: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    /// This page's tasks (a task the page ends in continues on the next page).
    pub task: Vec<TaskTotals>,
    #[serde(flatten)]
    pub page: PointsPageInfo,
}

/// Paging of the points read models: at most `pageSize` user rows (1–1000, default 1000)
/// and at most 1 MiB of award entries per answer; send `nextToken` back for the rest.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PointsPageInfo {
    #[schema(minimum = 1, maximum = 1000, example = 1000)]
    pub page_size: i32,
    /// The cursor of the next page, or `null` at the end.
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskTotals {
    pub external_task_id: String,
    pub points: Vec<UserTotal>,
}

/// `GET /games/{gameId}/points/details`: as `GamePoints`, with every award.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GamePointsDetails {
    pub external_game_id: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    /// This page's tasks (a task the page ends in continues on the next page).
    pub task: Vec<TaskTotalsWithAwards>,
    #[serde(flatten)]
    pub page: PointsPageInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskTotalsWithAwards {
    pub external_task_id: String,
    pub points: Vec<UserTotalWithAwards>,
}

/// `GET /games/{gameId}/users`: per task, the users with points.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameUsers {
    pub game_id: String,
    pub tasks: Vec<TaskUsers>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskUsers {
    pub external_task_id: String,
    pub users: Vec<GameUser>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GameUser {
    pub external_user_id: String,
    /// When the user was created (their first award or action anywhere).
    #[serde(rename = "created_at")]
    pub created_at: Option<String>,
    /// Their first award on this task.
    pub first_action: Option<String>,
}

/// A user's total on one task of a game (`GET /users/{externalUserId}/points`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTaskPoints {
    pub external_task_id: String,
    /// One entry: the user's total on the task.
    pub points: Vec<UserTotal>,
}

/// A user's points in one game (GAME's `AllPointsByGame`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserGamePoints {
    /// The game's id (ours; GAME answers the external id only).
    pub game_id: String,
    pub external_game_id: Option<String>,
    /// The game's creation, `null` if it was deleted.
    #[serde(rename = "created_at")]
    pub created_at: Option<String>,
    pub task: Vec<UserTaskPoints>,
}

/// A user's total on a task of a game (`GET /games/{gameId}/users/{externalUserId}/points`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTaskTotal {
    #[serde(flatten)]
    pub total: UserTotal,
    pub external_task_id: String,
}

/// `POST /users/points/query`: a JSON array of up to 100 externalUserIds.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!(["ana", "ben"]))]
pub struct UsersQuery(pub Vec<String>);

/// One user's summary in a `POST /users/points/query` answer.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserSummary {
    pub external_user_id: String,
    #[schema(value_type = f64)]
    pub points: Value,
    pub times_awarded: u64,
    pub games: Vec<UserGameSummary>,
    pub user_exists: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserGameSummary {
    pub external_game_id: Option<String>,
    #[schema(value_type = f64)]
    pub points: Value,
    pub times_awarded: u64,
    pub tasks: Vec<UserTaskAwards>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTaskAwards {
    pub external_task_id: String,
    pub points_data: Vec<AwardEntry>,
}
