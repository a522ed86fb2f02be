//! Progression (issue 13): a game's level ladder, achievement definitions and streak rule, a
//! user's progression, and the `progression` block of an award's answer. The definitions are
//! stored as sent (after validation, `domain::progression`), so the wire shape is the stored one.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// What a ladder's thresholds measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum LevelMetric {
    /// The user's points in the game (every award counted since the game's progression was defined).
    #[default]
    Points,
    /// The user's awards in the game.
    Awards,
}

/// One rung of a ladder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LevelDef {
    /// 1 and up, strictly increasing along the ladder.
    pub level: u32,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// The metric value from which the user holds this level (non-decreasing along the ladder).
    pub threshold: f64,
    /// Anything the client wants back with a level-up (a JSON object).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// `PUT /games/{gameId}/levels`: the game's ladder, replaced whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"metric": "points", "levels": [
    {"level": 1, "name": "Rookie", "threshold": 0},
    {"level": 2, "name": "Walker", "threshold": 100},
    {"level": 3, "name": "Explorer", "threshold": 500}]}))]
pub struct Ladder {
    #[serde(default)]
    pub metric: LevelMetric,
    /// 1 to 100 levels.
    pub levels: Vec<LevelDef>,
}

/// What an achievement asks for. `predicate` is a condition of the custom-strategy language
/// (docs/strategies.md) over the same read-only context the strategies see.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum Criteria {
    /// Points in the game reach `threshold`.
    Points { threshold: f64 },
    /// Awards on the listed tasks (all tasks when empty) reach `threshold`.
    Awards {
        threshold: u64,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tasks: Vec<String>,
    },
    /// Awards on `threshold` different tasks.
    DistinctTasks { threshold: u64 },
    /// The streak reaches `length` periods.
    Streak { length: u32 },
    /// The user reaches level `level`.
    Level { level: u32 },
    /// The condition (`when` of a rule) holds after the award.
    Predicate {
        #[schema(value_type = Object)]
        when: Value,
    },
}

/// A repeatable achievement is earned again once `cooldownSeconds` have passed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Repeatable {
    pub cooldown_seconds: u64,
}

/// An achievement (badge) definition. `PUT /games/{gameId}/achievements/{key}` takes it without
/// `key` (the path names it) or with the same key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"name": "Century", "description": "100 points",
    "criteria": {"type": "points", "threshold": 100}}))]
pub struct AchievementDef {
    /// 1 to 60 letters, digits, `_` or `-`.
    #[serde(default)]
    pub key: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub criteria: Criteria,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeatable: Option<Repeatable>,
    /// RFC 3339; after it the achievement is no longer earned (seasonal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StreakPeriod {
    #[default]
    Daily,
    /// ISO weeks, Monday to Sunday.
    Weekly,
}

/// `PUT /games/{gameId}/streak`: the game's streak rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"period": "daily", "timeZone": "America/Santiago",
    "freezeEvery": 7, "freezeCap": 2}))]
pub struct StreakRule {
    pub period: StreakPeriod,
    /// The tasks whose awards count (all when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<String>,
    /// The game's IANA zone, used for users who never sent `timeZone` (else UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A freeze is earned every `freezeEvery` periods of streak (none when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freeze_every: Option<u32>,
    /// Most freezes a user holds (0 to 10; default 2).
    #[serde(default = "default_freeze_cap")]
    pub freeze_cap: u32,
}

fn default_freeze_cap() -> u32 {
    2
}

/// `GET /games/{gameId}/achievements`: the game's definitions.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AchievementList {
    pub achievements: Vec<AchievementDef>,
}

/// `GET /games/{gameId}/achievements/{key}/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AchievementStats {
    pub key: String,
    /// Users holding it now (grants minus revocations).
    pub earned: i64,
    /// Users with progression in the game.
    pub users: i64,
    /// `earned / users` (0 when the game has no users).
    pub share: f64,
}

/// A level reached by an award, in `progression.levelUps` and a user's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LevelUp {
    pub level: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
}

/// An achievement granted (by an award or an admin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EarnedAchievement {
    pub key: String,
    pub name: String,
    pub earned_at: String,
    /// 1 for the first grant; repeatable achievements count up.
    pub times: u32,
}

/// What an award did to the streak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub enum StreakChange {
    Extended,
    Unchanged,
    Restarted,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreakOutcome {
    pub status: StreakChange,
    pub length: u32,
    /// The periods (their first day, `YYYY-MM-DD`) a freeze covered in this award.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes_used: Vec<String>,
    pub freezes_held: u32,
}

/// The `progression` block of an award's answer (present when the game defines progression).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProgressionBlock {
    /// The user's level after the award (0: below the first rung), when the game has a ladder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<u32>,
    pub level_ups: Vec<LevelUp>,
    pub achievements: Vec<EarnedAchievement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak: Option<StreakOutcome>,
}

/// A user's level and progress to the next.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LevelView {
    pub level: u32,
    pub name: Option<String>,
    pub metric: LevelMetric,
    #[schema(value_type = f64)]
    pub value: Value,
    pub next_level: Option<u32>,
    /// What is left to the next level (of the ladder's metric; `null` at the top).
    #[schema(value_type = Option<f64>)]
    pub points_to_next: Value,
    /// From 0 (at this level's threshold) to 1 (at the next one); 1 at the top.
    pub fraction: f64,
}

/// One period of a streak's history.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreakPeriodView {
    /// The period's first day in the user's zone, `YYYY-MM-DD`.
    pub period: String,
    /// `qualified` (an award counted) or `frozen` (a freeze covered it).
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StreakView {
    pub period: StreakPeriod,
    pub time_zone: String,
    /// 0 when broken (evaluated now, in the user's zone).
    pub current: u32,
    pub longest: u32,
    pub broken: bool,
    pub last_qualifying_period: Option<String>,
    pub freezes_held: u32,
    /// The last 90 periods with an award or a freeze, oldest first.
    pub history: Vec<StreakPeriodView>,
}

/// A user's achievement, as held now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeldAchievement {
    pub key: String,
    pub earned_at: String,
    pub times: u32,
    /// Revoked by an admin (the history keeps the grant).
    pub revoked: bool,
}

/// `GET /games/{gameId}/users/{externalUserId}/progression`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProgressionView {
    pub external_user_id: String,
    pub game_id: String,
    #[schema(value_type = f64)]
    pub points: Value,
    pub awards: u64,
    pub level: Option<LevelView>,
    pub achievements: Vec<HeldAchievement>,
    pub streak: Option<StreakView>,
}

/// `POST …/achievements/{key}/grant` and `…/revoke`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdminGrant {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The entry an admin grant or revocation wrote.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminGrantDone {
    pub key: String,
    pub external_user_id: String,
    /// `grant` or `revoke`.
    pub action: String,
    pub reason: String,
    pub times: u32,
    pub at: String,
}
