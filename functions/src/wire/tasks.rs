//! Tasks of a game: `/games/{gameId}/tasks...`.

use super::common::{ParamInput, ParamView};
use super::strategies::EffectiveStrategy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /games/{gameId}/tasks` (and each entry of a bulk create).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"externalTaskId": "walk-1",
    "params": [{"key": "variable_basic_points", "value": 2}]}))]
pub struct CreateTask {
    /// 1 to 200 characters, no surrounding spaces, none of `/ ? # %` or control characters.
    #[schema(
        example = "walk-1",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s/?#%\x00-\x1f\x7f-\x9f]([^/?#%\x00-\x1f\x7f-\x9f]*[^\s/?#%\x00-\x1f\x7f-\x9f])?$"
    )]
    pub external_task_id: String,
    /// Default: the game's strategy.
    #[schema(schema_with = super::common::strategy_id_schema)]
    pub strategy_id: Option<String>,
    /// Task variables; they override the game's params.
    #[serde(default)]
    #[schema(max_items = 100)]
    pub params: Vec<ParamInput>,
}

/// `POST /games/{gameId}/tasks/bulk`: up to 100 tasks, each created or refused on its own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"tasks": [{"externalTaskId": "walk-2"}, {"externalTaskId": "walk-3"}]}))]
pub struct BulkTasks {
    /// Each entry is a `CreateTask`; an entry of the wrong shape is reported in
    /// `failed_to_create`, not refused with the whole request.
    #[schema(value_type = Vec<CreateTask>, max_items = 100)]
    pub tasks: Vec<Value>,
}

/// `PATCH /games/{gameId}/tasks/{externalTaskId}`: at least one member.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"status": "closed"}))]
pub struct PatchTask {
    #[schema(schema_with = super::common::strategy_id_schema)]
    pub strategy_id: Option<String>,
    /// `open` accepts awards and actions; anything else (e.g. `closed`) does not.
    #[schema(min_length = 1, max_length = 50, pattern = r"\S")]
    pub status: Option<String>,
    /// The complete new parameter list.
    #[schema(max_items = 100)]
    pub params: Option<Vec<ParamInput>>,
}

/// `POST /games/{gameId}/tasks/{externalTaskId}/duplicate`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"externalTaskId": "walk-1-copy"}))]
pub struct DuplicateTask {
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\s/?#%\x00-\x1f\x7f-\x9f]([^/?#%\x00-\x1f\x7f-\x9f]*[^\s/?#%\x00-\x1f\x7f-\x9f])?$"
    )]
    pub external_task_id: String,
}

/// A task (GAME's task answer): the task, its game's params, and the strategy it runs.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskView {
    /// The task's id (as `taskId`; GAME's name).
    pub id: String,
    pub task_id: String,
    pub game_id: String,
    pub external_game_id: String,
    pub external_task_id: String,
    pub strategy_id: String,
    /// `open` or another status the client set.
    pub status: String,
    pub game_params: Vec<ParamView>,
    pub task_params: Vec<ParamView>,
    pub version: u64,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    /// The built-in with the variables after game then task params, or the custom family.
    /// Absent only when the strategy id names neither.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub strategy: Option<EffectiveStrategy>,
}

/// A task after a create, read, change or duplicate, with GAME's `message`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TaskSaved {
    #[serde(flatten)]
    pub task: TaskView,
    pub message: String,
}

/// `POST /games/{gameId}/tasks/bulk`: GAME's field names, spelling included.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BulkCreated {
    pub succesfully_created: Vec<TaskSaved>,
    pub failed_to_create: Vec<BulkFailure>,
}

/// A bulk entry that was refused: the entry as sent, and why.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct BulkFailure {
    /// The entry as sent.
    pub task: Value,
    /// The problem's human sentence.
    pub error: String,
    /// The problem's code (docs/api.md#problem-codes).
    pub code: String,
}

/// `DELETE /games/{gameId}/tasks/{externalTaskId}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TaskDeleted {
    pub task_id: String,
    pub game_id: String,
    pub external_task_id: String,
    pub message: String,
}
