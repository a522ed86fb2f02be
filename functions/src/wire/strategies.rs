//! The built-in strategy catalogue and the strategy a game or task runs.

use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A built-in strategy (GAME's `Strategy`), with its variables: the defaults, or as a game's
/// and task's params override them.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"id": "default", "name": "Default", "description": "…", "version": "0.0.1",
    "variables": {"variable_basic_points": 1, "variable_bonus_points": 10},
    "hash_version": "5d0c…"}))]
pub struct StrategyView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// Variable name → value (`variable_basic_points`, ...).
    pub variables: Map<String, Value>,
    /// SHA-256 (hex) of the strategy's id, version and variable declarations.
    #[serde(rename = "hash_version")]
    pub hash_version: String,
    /// Present on a task view when the game's params no longer fit the strategy: the variables
    /// shown are then the defaults, and this says why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variables_error: Option<String>,
}

/// A strategy's variables with their types (`GET /strategies/{id}/schema`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct StrategySchema {
    pub id: String,
    pub name: String,
    pub description: String,
    pub version: String,
    /// Sorted by name.
    pub variables: Vec<VariableSchema>,
    #[serde(rename = "hash_version")]
    pub hash_version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VariableSchema {
    #[schema(example = "variable_basic_points")]
    pub name: String,
    /// Python's type name, as GAME: `int`, `float`, `bool`, `str`, `dict` or `list`.
    #[serde(rename = "type")]
    #[schema(example = "int")]
    pub kind: String,
    /// The default value.
    pub current_value: Value,
}

/// The custom strategy a game or task names (`custom:<familyId>`): its family and the version
/// that runs, or only the id when the family is gone.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CustomStrategyRef {
    Family(CustomFamilyView),
    Missing(MissingCustomStrategy),
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomFamilyView {
    /// The `strategyId` as the game or task names it.
    pub id: String,
    /// Always `true`.
    pub custom: bool,
    pub family_id: String,
    pub name: String,
    /// `DSL_FULL` or `DSL_EXTEND` of the published version (`null` before one is published).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub parent_strategy_id: Option<String>,
    /// The published version number, `null` while none is.
    pub version: Option<u64>,
    /// `<familyId>.<version>` of the published version.
    pub published_id: Option<String>,
    /// `PUBLISHED` or `UNPUBLISHED`.
    pub status: String,
    /// The published program.
    pub ast_json: Value,
    /// The parent built-in's default variables (DSL_EXTEND), else `{}`.
    pub variables: Map<String, Value>,
}

/// A `custom:` strategy id whose family does not exist (any more).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct MissingCustomStrategy {
    pub id: String,
    /// Always `true`.
    pub custom: bool,
    /// Always `null` (what tells this shape from a family's).
    #[schema(schema_with = always_null, required = true)]
    pub status: Option<String>,
}

fn always_null() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::Null)
        .build()
}

/// The strategy a game runs: a built-in with its effective variables, or a custom family.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum EffectiveStrategy {
    Builtin(StrategyView),
    Custom(CustomStrategyRef),
}
