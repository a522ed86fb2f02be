//! Shapes shared by several routes: the list envelope, parameters, the problem object.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// The paging members of a list answer. Lists page by cursor: send `nextToken` back (with the
/// same query) for the next page; `null` means this is the last one.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    /// The page size this answer was read with (1–100, default 10).
    #[schema(minimum = 1, maximum = 100, example = 10)]
    pub page_size: i32,
    /// The cursor of the next page, or `null` at the end of the list.
    pub next_token: Option<String>,
}

/// One page of a list: its items and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(flatten)]
    pub page: PageInfo,
}

impl<T> Page<T> {
    pub fn new(items: Vec<T>, page_size: i32, next_token: Option<String>) -> Self {
        Self {
            items,
            page: PageInfo {
                page_size,
                next_token,
            },
        }
    }
}

/// A confirmation with GAME's human `message`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Message {
    pub message: String,
}

/// A game or task parameter: GAME's `{id, key, value}`. The value keeps the JSON type sent:
/// a string, a number or a boolean (tasks also accept an object).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ParamView {
    pub id: String,
    pub key: String,
    #[schema(value_type = ParamValue)]
    pub value: Value,
}

/// A parameter as clients send it: on create `id` is ignored (a fresh one is assigned); on a
/// game PATCH `id` names the parameter to change; on a task PATCH the list is the whole new set
/// (entries with an `id` are kept and changed, entries without one are created).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
pub struct ParamInput {
    #[serde(default)]
    pub id: Option<String>,
    #[schema(
        example = "variable_bonus_points",
        min_length = 1,
        max_length = 100,
        pattern = r"\S"
    )]
    pub key: String,
    #[schema(value_type = ParamValue, example = 20)]
    pub value: Value,
}

/// A parameter value: a string, a number or a boolean (task parameters also an object).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)] // a schema only: values travel as serde_json::Value
pub enum ParamValue {
    String(String),
    Number(f64),
    Boolean(bool),
    Object(Map<String, Value>),
}

/// RFC 9457 problem details, GAME-compatible: clients read `detail`, machines read `code`
/// (the registry: docs/api.md#problem-codes). Some problems carry extra members, e.g. the
/// existing `gameId` of a `game_exists` conflict.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[schema(
    example = json!({"type": "urn:game:problem:game_exists", "title": "Conflict", "status": 409,
        "detail": "A game with externalGameId \"city-walks\" already exists.",
        "code": "game_exists", "gameId": "0193a0c4-5f6e-7b21-9a44-2f0c1d2e3f40"})
)]
pub struct Problem {
    /// `urn:game:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The HTTP status's reason phrase.
    pub title: String,
    pub status: u16,
    /// A human sentence saying what went wrong and what to do.
    pub detail: String,
    /// The stable machine code (one of the registry's).
    pub code: String,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub extra: Map<String, Value>,
}

/// A `strategyId` a game or task may name: a built-in's id (`GET /strategies`) or a custom
/// strategy's `custom:<familyId>` (or `custom:<familyId>.<version>`); `null` or absent for the
/// default (a task: its game's).
pub fn strategy_id_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, Type};
    let builtins: Vec<&str> = game_scoring::strategies().iter().map(|s| s.id).collect();
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(builtins)),
        )
        .item(
            ObjectBuilder::new().schema_type(Type::String).pattern(Some(
                r"^custom:[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(\.[1-9][0-9]*)?$",
            )),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "A built-in strategy's id, or `custom:<familyId>` for a custom strategy; absent or null for the default.",
        ))
        .build();
    Schema::OneOf(one_of)
}
