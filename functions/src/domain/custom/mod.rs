//! Custom strategies (GAME §1.7, §4.6): the model of tenant-written programs and its rules.
//!
//! A family is every version of one (tenant, name); one version at most is published, and a
//! game's `custom:<familyId>` or `custom:<id>` runs that one. A version's id is
//! `<familyId>.<version>`. Storage is `store::custom`; this module reads no clock and draws
//! nothing: `now` and fresh ids are arguments.

pub mod lifecycle;
pub mod runlog;
pub mod warm;

pub use lifecycle::{
    CreateBody, MAX_STORED_BYTES, UpdateBody, Write, apply_update, check_name, check_text,
    import_name, new_definition, normalise, plan_archive, plan_publish, plan_rollback, plan_update,
    publishable,
};
pub use runlog::RunReport;
pub use warm::CustomWarm;

use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::wire::custom::CustomStrategyView;
use crate::wire::strategies::{CustomFamilyView, CustomStrategyRef, MissingCustomStrategy};
use game_scoring::StrategyKind;
use game_scoring::dsl::{CustomStrategy, DslError, DslKind};
use lambda_http::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const DRAFT: &str = "DRAFT";
pub const PUBLISHED: &str = "PUBLISHED";
pub const ARCHIVED: &str = "ARCHIVED";
/// The prefix of a custom strategy in a game's or task's `strategyId`.
pub const CUSTOM_PREFIX: &str = "custom:";

/// One version of a custom strategy (GAME's `StrategyDefinition` row).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub tenant: TenantId,
    pub family_id: String,
    pub name: String,
    pub description: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub parent_strategy_id: Option<String>,
    /// The normalised AST as compact JSON text (kept as text so ints stay ints and floats
    /// floats: DynamoDB numbers would not keep `5.0` apart from `5`).
    pub ast_text: Option<String>,
    pub blockly_xml: Option<String>,
    pub version: u64,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub published_at: Option<String>,
    pub experiment_tag: Option<String>,
    /// Bumped on every write (optimistic concurrency); `version` is the strategy's version.
    pub rev: u64,
}

impl Definition {
    pub fn id(&self) -> String {
        format!("{}.{}", self.family_id, self.version)
    }
}

/// A family: every version of one (tenant, name), and which one is published.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Family {
    pub tenant: TenantId,
    pub family_id: String,
    pub name: String,
    pub max_version: u64,
    pub published_version: Option<u64>,
    /// Copy of the published version's program, so an award reads the family item only.
    pub published_type: Option<String>,
    pub published_parent: Option<String>,
    pub published_ast: Option<String>,
    pub rev: u64,
}

impl Family {
    /// The family a new strategy's first version starts (nothing published yet).
    pub fn first_of(def: &Definition) -> Family {
        Family {
            tenant: def.tenant.clone(),
            family_id: def.family_id.clone(),
            name: def.name.clone(),
            max_version: 1,
            published_version: None,
            published_type: None,
            published_parent: None,
            published_ast: None,
            rev: 1,
        }
    }

    fn publish(&mut self, def: &Definition) {
        self.published_version = Some(def.version);
        self.published_type = Some(def.kind.clone());
        self.published_parent.clone_from(&def.parent_strategy_id);
        self.published_ast.clone_from(&def.ast_text);
    }

    fn unpublish(&mut self) {
        self.published_version = None;
        self.published_type = None;
        self.published_parent = None;
        self.published_ast = None;
    }

    /// The published program, validated; `None` when nothing is published.
    pub fn published_strategy(&self) -> Option<Result<CustomStrategy, ApiError>> {
        self.published_version?;
        let kind = self.published_type.as_deref()?;
        Some(program(
            kind,
            self.published_parent.as_deref(),
            self.published_ast.as_deref(),
        ))
    }
}

/// Validates a stored or submitted program for its type.
pub fn program(
    kind: &str,
    parent: Option<&str>,
    ast_text: Option<&str>,
) -> ApiResult<CustomStrategy> {
    let dsl_kind = dsl_kind(kind, parent)?;
    let Some(text) = ast_text else {
        return Err(without_program(
            "This custom strategy has no program (astJson) to run.",
        ));
    };
    let ast: Value = serde_json::from_str(text).map_err(ApiError::internal)?;
    CustomStrategy::new(&ast, dsl_kind).map_err(|e| dsl_error(&e))
}

/// A version that has no program where one is needed (running, publishing).
pub fn without_program(detail: &'static str) -> ApiError {
    ApiError::unprocessable("custom_strategy_without_program", detail)
}

pub fn dsl_kind(kind: &str, parent: Option<&str>) -> ApiResult<DslKind> {
    match (kind, parent) {
        ("DSL_FULL", None) => Ok(DslKind::Full),
        ("DSL_FULL", Some(_)) => Err(ApiError::bad_request(
            "parent_not_allowed",
            "A DSL_FULL strategy must not have a parentStrategyId.",
        )),
        ("DSL_EXTEND", None) => Err(ApiError::bad_request(
            "parent_required",
            "A DSL_EXTEND strategy needs a parentStrategyId (a built-in strategy id).",
        )),
        ("DSL_EXTEND", Some(p)) => StrategyKind::from_id(p).map(DslKind::Extend).ok_or_else(|| {
            ApiError::not_found(
                "parent_strategy_not_found",
                format!(
                    "Parent strategy \"{p}\" is not a built-in strategy; GET /api/v1/strategies lists them."
                ),
            )
        }),
        (other, _) => Err(ApiError::unprocessable(
            "invalid_strategy_type",
            format!("type must be DSL_FULL or DSL_EXTEND, got \"{other}\"."),
        )),
    }
}

/// A validator or runtime error as problem+json: its `DSL_*` code, node id and sentence.
pub fn dsl_error(error: &DslError) -> ApiError {
    let status =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
    let mut api = ApiError::new(status, error.code.as_str(), error.message.clone());
    if api.detail.trim().is_empty() {
        api.detail = format!("The custom strategy failed with {}.", error.code.as_str());
    }
    api.with(
        "nodeId",
        error.node_id.clone().map_or(Value::Null, Value::String),
    )
}

fn parsed_ast(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null)
}

/// The JSON view of one version.
pub fn view(def: &Definition) -> CustomStrategyView {
    CustomStrategyView {
        id: def.id(),
        strategy_id: format!("{CUSTOM_PREFIX}{}", def.id()),
        family_id: def.family_id.clone(),
        realm_id: def.tenant.to_string(),
        name: def.name.clone(),
        description: def.description.clone(),
        kind: def.kind.clone(),
        parent_strategy_id: def.parent_strategy_id.clone(),
        ast_json: parsed_ast(def.ast_text.as_deref()),
        blockly_xml: def.blockly_xml.clone(),
        version: def.version,
        status: def.status.clone(),
        created_by: def.created_by.clone(),
        created_at: def.created_at.clone(),
        updated_at: def.updated_at.clone(),
        published_at: def.published_at.clone(),
        experiment_tag: def.experiment_tag.clone(),
    }
}

/// What `GET /games/{id}/strategy` and task views show for a custom strategy: the family and
/// the version that runs.
pub fn family_view(strategy_id: &str, family: Option<&Family>) -> CustomStrategyRef {
    let Some(family) = family else {
        return CustomStrategyRef::Missing(MissingCustomStrategy {
            id: strategy_id.to_owned(),
            custom: true,
            status: None,
        });
    };
    let variables = family
        .published_parent
        .as_deref()
        .and_then(game_scoring::strategy)
        .map(|info| info.default_variables().to_json());
    CustomStrategyRef::Family(CustomFamilyView {
        id: strategy_id.to_owned(),
        custom: true,
        family_id: family.family_id.clone(),
        name: family.name.clone(),
        kind: family.published_type.clone(),
        parent_strategy_id: family.published_parent.clone(),
        version: family.published_version,
        published_id: family
            .published_version
            .map(|v| format!("{}.{v}", family.family_id)),
        status: if family.published_version.is_some() {
            PUBLISHED
        } else {
            "UNPUBLISHED"
        }
        .to_owned(),
        ast_json: parsed_ast(family.published_ast.as_deref()),
        variables: match variables {
            Some(Value::Object(map)) => map,
            _ => Default::default(),
        },
    })
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "custom_strategy_not_found",
        format!("Custom strategy not found: {id}"),
    )
}

/// `<familyId>.<version>` → (familyId, version); anything else is nobody's id.
pub fn parse_id(id: &str) -> Option<(String, u64)> {
    let (family, version) = id.rsplit_once('.')?;
    uuid::Uuid::parse_str(family).ok()?;
    if version.is_empty()
        || !version.bytes().all(|b| b.is_ascii_digit())
        || version.starts_with('0')
    {
        return None;
    }
    let version: u64 = version.parse().ok()?;
    Some((family.to_owned(), version))
}

/// `custom:<familyId>` or `custom:<familyId>.<version>` → the family id.
pub fn family_of_strategy_id(strategy_id: &str) -> Option<String> {
    let rest = strategy_id.strip_prefix(CUSTOM_PREFIX)?;
    if uuid::Uuid::parse_str(rest).is_ok() {
        return Some(rest.to_owned());
    }
    parse_id(rest).map(|(family, _)| family)
}

/// Whether a game's or task's `strategyId` names a custom strategy.
pub fn is_custom(strategy_id: &str) -> bool {
    strategy_id.starts_with(CUSTOM_PREFIX)
}

pub fn unknown_custom(strategy_id: &str) -> ApiError {
    ApiError::unprocessable(
        "unknown_strategy",
        format!(
            "Strategy \"{strategy_id}\" does not exist; custom strategies are named custom:<familyId> or custom:<id> (GET /api/v1/strategies/custom lists them)."
        ),
    )
}

pub fn not_published(strategy_id: &str) -> ApiError {
    ApiError::unprocessable(
        "custom_strategy_not_published",
        format!(
            "Custom strategy \"{strategy_id}\" has no published version (it is a draft or archived); publish a version first."
        ),
    )
}

/// A family with nothing published (only drafts, or its published version archived) cannot run.
pub fn check_published(family: &Family, strategy_id: &str) -> ApiResult<()> {
    if family.published_version.is_none() {
        return Err(not_published(strategy_id));
    }
    Ok(())
}

/// The family's published program, validated once per warm Lambda (`warm` keeps it). Nothing
/// published (a draft-only family, or its published version archived) is 422.
pub fn published_program(
    warm: &CustomWarm,
    family: &Family,
    strategy_id: &str,
) -> ApiResult<std::sync::Arc<CustomStrategy>> {
    check_published(family, strategy_id)?;
    let version = family.published_version.unwrap_or_default();
    let key = (family.tenant.clone(), family.family_id.clone(), version);
    if let Some(hit) = warm.cached_program(&key) {
        return Ok(hit);
    }
    let strategy = match family.published_strategy() {
        Some(result) => std::sync::Arc::new(result?),
        None => return Err(not_published(strategy_id)),
    };
    warm.cache_program(key, strategy.clone());
    Ok(strategy)
}

pub fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(
        "custom_strategy_name_exists",
        format!(
            "A custom strategy named \"{name}\" already exists; edit it (PUT) to make a new version."
        ),
    )
}

pub fn busy() -> ApiError {
    ApiError::conflict(
        "concurrent_modification",
        "The custom strategy kept changing while this change was applied; retry it.",
    )
    .with_header("retry-after", "1")
}

pub fn archived(id: &str) -> ApiError {
    ApiError::conflict(
        "custom_strategy_archived",
        format!(
            "Custom strategy {id} is archived; an archived version cannot change or be published."
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_family_dot_version() {
        let fam = uuid::Uuid::now_v7().to_string();
        assert_eq!(parse_id(&format!("{fam}.3")), Some((fam.clone(), 3)));
        assert_eq!(parse_id(&format!("{fam}.0")), None);
        assert_eq!(parse_id(&format!("{fam}.-1")), None);
        assert_eq!(parse_id(&format!("{fam}.+1")), None);
        assert_eq!(parse_id("nope.1"), None);
        assert_eq!(parse_id(&fam), None);
        assert_eq!(
            family_of_strategy_id(&format!("custom:{fam}")),
            Some(fam.clone())
        );
        assert_eq!(
            family_of_strategy_id(&format!("custom:{fam}.2")),
            Some(fam.clone())
        );
        assert_eq!(family_of_strategy_id("default"), None);
        assert_eq!(family_of_strategy_id("custom:default"), None);
    }

    #[test]
    fn dsl_errors_keep_code_node_and_status() {
        let e = CustomStrategy::new(
            &serde_json::json!({"type": "program", "rules": "x"}),
            DslKind::Full,
        )
        .unwrap_err();
        let api = dsl_error(&e);
        assert_eq!(api.code, e.code.as_str());
        assert_eq!(api.status.as_u16(), e.http_status());
        assert!(api.extra.contains_key("nodeId"));
    }
}
