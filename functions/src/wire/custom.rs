//! Custom strategies: `/strategies/custom...` (GAME §1.7, §4.6).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// `POST /strategies/custom` and `POST /strategies/custom/import`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "double-weekends", "type": "DSL_EXTEND",
    "parentStrategyId": "default", "astJson": {"type": "program", "rules": []}}))]
pub struct CreateBody {
    /// 1 to 200 characters, unique in the tenant.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// `DSL_FULL` (default) or `DSL_EXTEND`.
    #[serde(rename = "type")]
    #[schema(pattern = r"^(DSL_FULL|DSL_EXTEND)$")]
    pub kind: Option<String>,
    /// DSL_EXTEND: the built-in it extends.
    pub parent_strategy_id: Option<String>,
    /// The program (docs/strategies.md); required by import.
    pub ast_json: Option<Value>,
    /// The Blockly workspace the program was built in; required by import.
    pub blockly_xml: Option<String>,
    #[schema(max_length = 200)]
    pub experiment_tag: Option<String>,
}

/// `PUT /strategies/custom/{id}`: a DRAFT changes in place; a PUBLISHED or ARCHIVED version
/// gets a new DRAFT version with the changes.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"description": "doubles points on weekends"}))]
pub struct UpdateBody {
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `null` removes the parent (DSL_FULL).
    #[serde(default, with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub parent_strategy_id: Option<Option<String>>,
    pub ast_json: Option<Value>,
    pub blockly_xml: Option<String>,
    pub experiment_tag: Option<String>,
}

/// `absent` → None, `null` → Some(None), a value → Some(Some(v)).
mod double_option {
    use serde::{Deserialize, Deserializer};
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

/// One version of a custom strategy.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomStrategyView {
    /// `<familyId>.<version>`.
    pub id: String,
    /// `custom:<id>`.
    pub strategy_id: String,
    pub family_id: String,
    /// The tenant.
    pub realm_id: String,
    pub name: String,
    pub description: Option<String>,
    /// `DSL_FULL` or `DSL_EXTEND`.
    #[serde(rename = "type")]
    pub kind: String,
    pub parent_strategy_id: Option<String>,
    /// The normalised program, `null` while there is none.
    pub ast_json: Value,
    pub blockly_xml: Option<String>,
    pub version: u64,
    /// `DRAFT`, `PUBLISHED` or `ARCHIVED`.
    pub status: String,
    pub created_by: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    #[serde(rename = "updated_at")]
    pub updated_at: String,
    pub published_at: Option<String>,
    pub experiment_tag: Option<String>,
}

/// A starting point for a new strategy (`GET /strategies/custom/templates`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub parent_strategy_id: Option<String>,
    pub ast_json: Value,
    pub blockly_xml: Option<String>,
}

/// `POST /strategies/custom/simulate` (with `astJson`, `type`, `parentStrategyId`) and
/// `POST /strategies/custom/{id}/simulate` (without them: the stored program runs).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"externalGameId": "city-walks", "externalTaskId": "walk-1",
    "externalUserId": "ana", "data": {"minutes": 12},
    "astJson": {"type": "program", "rules": []}, "type": "DSL_EXTEND", "parentStrategyId": "default"}))]
pub struct SimulateBody {
    #[schema(min_length = 1, max_length = 200)]
    pub external_game_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub external_task_id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub external_user_id: String,
    /// What an award would send as `data` (a JSON object).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    /// Values for state the program reads, instead of the stored state.
    #[serde(default)]
    pub mock_state: Option<Map<String, Value>>,
    /// `POST /strategies/custom/simulate` only: the program to run and its type.
    #[serde(default)]
    pub ast_json: Option<Value>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub parent_strategy_id: Option<String>,
}

/// What a simulated run scored. Nothing is stored.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulationResult {
    /// A number (an integer or a float, as the program computed it).
    #[schema(value_type = Option<f64>)]
    pub points: Value,
    /// `null` when no rule matched and there is no default.
    pub case_name: Option<String>,
    /// The callback data object (`{}` when none was set).
    pub callback_data: Value,
    /// The nodes run, in order: `{nodeId, type, value, branch}`.
    pub execution_trace: Vec<Value>,
    pub nodes_executed: usize,
    pub vetoed: bool,
    /// DSL_EXTEND: what the parent built-in returned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<ParentOutcome>,
    /// What the award would do to the user's levels, achievements and streak (when the game
    /// defines progression); nothing is stored.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progression: Option<crate::wire::progression::ProgressionBlock>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParentOutcome {
    #[schema(value_type = Option<f64>)]
    pub points: Option<Value>,
    pub case_name: String,
}

/// `GET /strategies/custom/{id}/usage`: the games and tasks that run the family.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// `custom:<familyId>`.
    pub strategy_id: String,
    pub id: String,
    pub family_id: String,
    pub name: String,
    pub version: u64,
    pub status: String,
    pub game_count: usize,
    pub task_count: usize,
    pub games: Vec<UsingGame>,
    pub tasks: Vec<UsingTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsingGame {
    pub game_id: String,
    pub external_game_id: String,
    pub platform: String,
    pub strategy_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UsingTask {
    pub task_id: String,
    pub external_task_id: String,
    pub game_id: String,
    pub external_game_id: String,
    pub strategy_id: String,
}

/// GAME's metrics over the execution log's runs of one version.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunMetrics {
    pub status_breakdown: StatusBreakdown,
    pub success_rate: f64,
    /// Errors, timeouts and limits over all runs.
    pub error_rate: f64,
    pub duration: DurationStats,
    pub duration_histogram: Vec<DurationBucket>,
    pub top_errors: Vec<CodeCount>,
    pub top_cases: Vec<CaseCount>,
    pub points_histogram: Vec<PointsBucket>,
    pub points_sum: f64,
    pub nodes_avg: f64,
    pub nodes_max: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StatusBreakdown {
    pub ok: u64,
    pub error: u64,
    pub timeout: u64,
    pub limit: u64,
    pub other: u64,
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DurationStats {
    pub avg_ms: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub sample_size: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DurationBucket {
    /// e.g. `<=50ms`, `>5000ms`.
    pub label: String,
    /// `null` for the last, open bucket.
    pub upper_bound: Option<f64>,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CodeCount {
    pub code: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseCount {
    pub case_name: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PointsBucket {
    pub lower: f64,
    pub upper: f64,
    pub count: usize,
}

/// `GET /strategies/custom/{id}/metrics`: a version's metrics over a window.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrategyMetrics {
    #[serde(flatten)]
    pub metrics: RunMetrics,
    /// The version's id, `<familyId>.<version>`.
    pub strategy_id: String,
    pub name: String,
    pub version: u64,
    pub status: String,
    /// `since` as sent, `null` without one.
    pub window_from: Option<String>,
    pub window_until: Option<String>,
    /// The share of successful runs the log keeps (failures are always kept).
    pub sample_rate: f64,
    /// True when the window held more rows than a read aggregates (the newest are used).
    pub rows_truncated: bool,
}

/// `b − a` of the compared figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricsDelta {
    pub success_rate: f64,
    pub error_rate: f64,
    pub p95_ms: f64,
    pub avg_ms: f64,
    /// pointsSum / total.
    pub points_avg: f64,
}

/// `GET /strategies/custom/compare?a=&b=`: two versions side by side.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MetricsComparison {
    pub a: StrategyMetrics,
    pub b: StrategyMetrics,
    pub delta: MetricsDelta,
}

/// `GET /games/{gameId}/users/{externalUserId}/points/simulated`: greencrowd's signed
/// projection of what each greencrowd task of the game would pay the user now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GreencrowdSimulation {
    /// Lowercase hex HMAC-SHA256 over the tasks; an award that presents it pays them.
    pub simulation_hash: String,
    pub tasks: Vec<SimulatedTask>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SimulatedTask {
    pub external_user_id: String,
    pub external_task_id: String,
    pub user_group: Option<String>,
    /// Five single-key objects in this order: `DIM_BP`, `DIM_LBE`, `DIM_TD`, `DIM_PP`, `DIM_S`.
    pub dimensions: Vec<std::collections::BTreeMap<String, i64>>,
    pub total_simulated_points: i64,
    /// GAME's format, `YYYY-MM-DD HH:MM:SS.ffffff+00:00`.
    pub expiration_date: String,
}
