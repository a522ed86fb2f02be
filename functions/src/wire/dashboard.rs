//! The dashboard (`GET /dashboard/summary`, `GET /dashboard/summary/logs`): GAME's shapes.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// One bucket of a series (GAME's `{label, count}`): a day `2026-05-01`, a week of a month
/// `week_1_2026-05` (days 1–7, 8–14, 15–21, 22–28, 29 on) or a month `2026-05`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(example = json!({"label": "2026-05-01", "count": 12}))]
pub struct LabelCount {
    pub label: String,
    /// A count; for `points_earned` the exact sum of the points awarded (may be fractional).
    #[schema(value_type = f64)]
    pub count: Value,
}

/// `GET /dashboard/summary`: the caller's tenant only, every bucket of the range in date
/// order (zero where nothing happened).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DashboardSummary {
    /// Users created (by their first award or action).
    pub new_users: Vec<LabelCount>,
    /// Games created (duplicates included).
    pub games_opened: Vec<LabelCount>,
    /// Sum of the points awarded.
    pub points_earned: Vec<LabelCount>,
    /// User and task actions logged.
    pub actions_performed: Vec<LabelCount>,
    /// Awards committed (not in GAME: what the console charts as awards per day).
    pub awards: Vec<LabelCount>,
}

/// `GET /dashboard/summary/logs`: GAME's counts by log level, from what we record
/// (docs/api.md, "Dashboard").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({"info": 14, "success": 230, "error": 3}))]
pub struct DashboardLogs {
    /// Games opened, users created and actions logged.
    pub info: u64,
    /// Awards committed.
    pub success: u64,
    /// Award requests of an authenticated caller answered with an error.
    pub error: u64,
}
