//! Custom strategies (GAME §1.7, §4.6): storage and lifecycle of tenant-written programs.
//!
//! Items (docs/data-model.md, "Custom strategies"):
//! * family `T#<tenant>#CS#<familyId>` / `FAMILY`: name, maxVersion, the published version and a
//!   copy of its program (what games and tasks run, resolved at load time), `rev`;
//! * version `T#<tenant>#CS#<familyId>` / `V#<version, 10 digits>`: one per (family, version),
//!   created with `attribute_not_exists`, so (tenant, name, version) is unique by construction;
//!   GSI1 `T#<tenant>#CUSTOM` / `<name>\x01<inverted version>` lists them by name, newest first;
//! * name marker `T#<tenant>#CSN#<name>` / `CSN`: makes a name unique within a tenant.
//!
//! A version's id is `<familyId>.<version>`: reading it is one GetItem, and a game's
//! `custom:<familyId>` or `custom:<id>` names the family, whose published version runs.

use crate::AppContext;
use crate::api::paging;
use crate::domain::model;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param, query_param};
use crate::identity::auth::{Caller, authenticate, require_admin};
use crate::store::{self, Filter, GSI1, GSI1PK, GSI1SK, Item, PK, QuerySpec, SK, StoreError, tx};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use game_scoring::StrategyKind;
use game_scoring::dsl::{CustomStrategy, DslError, DslKind};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub const DRAFT: &str = "DRAFT";
pub const PUBLISHED: &str = "PUBLISHED";
pub const ARCHIVED: &str = "ARCHIVED";
/// The prefix of a custom strategy in a game's or task's `strategyId`.
pub const CUSTOM_PREFIX: &str = "custom:";

const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_TAG: usize = 200;
/// Optimistic-concurrency retries of a lifecycle write before 409.
const ATTEMPTS: usize = 5;

pub mod keys {
    pub fn family_pk(tenant: &str, family_id: &str) -> String {
        format!("T#{tenant}#CS#{family_id}")
    }
    pub const FAMILY_SK: &str = "FAMILY";
    pub const VERSION_SK_PREFIX: &str = "V#";
    pub fn version_sk(version: u64) -> String {
        format!("V#{version:010}")
    }
    pub fn name_pk(tenant: &str, name: &str) -> String {
        format!("T#{tenant}#CSN#{name}")
    }
    pub const NAME_SK: &str = "CSN";
    pub fn list_index_pk(tenant: &str) -> String {
        format!("T#{tenant}#CUSTOM")
    }
    pub fn list_index_sk(name: &str, version: u64) -> String {
        format!(
            "{name}\u{1}{:010}",
            9_999_999_999u64.saturating_sub(version)
        )
    }
}

/// One version of a custom strategy (GAME's `StrategyDefinition` row).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Definition {
    pub tenant: String,
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
    pub tenant: String,
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
        return Err(ApiError::unprocessable(
            "custom_strategy_without_program",
            "This custom strategy has no program (astJson) to run.",
        ));
    };
    let ast: Value = serde_json::from_str(text).map_err(ApiError::internal)?;
    CustomStrategy::new(&ast, dsl_kind).map_err(|e| dsl_error(&e))
}

fn dsl_kind(kind: &str, parent: Option<&str>) -> ApiResult<DslKind> {
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

pub fn view(def: &Definition) -> Value {
    let ast = def
        .ast_text
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null);
    json!({
        "id": def.id(),
        "strategyId": format!("{CUSTOM_PREFIX}{}", def.id()),
        "familyId": def.family_id,
        "realmId": def.tenant,
        "name": def.name,
        "description": def.description,
        "type": def.kind,
        "parentStrategyId": def.parent_strategy_id,
        "astJson": ast,
        "blocklyXml": def.blockly_xml,
        "version": def.version,
        "status": def.status,
        "createdBy": def.created_by,
        "created_at": def.created_at,
        "updated_at": def.updated_at,
        "publishedAt": def.published_at,
        "experimentTag": def.experiment_tag,
    })
}

fn definition_item(def: &Definition) -> Result<Item, StoreError> {
    store::to_item(
        def,
        "customStrategy",
        &[
            (PK, keys::family_pk(&def.tenant, &def.family_id)),
            (SK, keys::version_sk(def.version)),
            (GSI1PK, keys::list_index_pk(&def.tenant)),
            (GSI1SK, keys::list_index_sk(&def.name, def.version)),
        ],
    )
}

fn family_item(family: &Family) -> Result<Item, StoreError> {
    store::to_item(
        family,
        "customStrategyFamily",
        &[
            (PK, keys::family_pk(&family.tenant, &family.family_id)),
            (SK, keys::FAMILY_SK.to_owned()),
        ],
    )
}

fn name_item(tenant: &str, name: &str, family_id: &str) -> Item {
    let mut item = store::key(keys::name_pk(tenant, name), keys::NAME_SK);
    item.insert("entity".into(), store::s("customStrategyName"));
    item.insert("familyId".into(), store::s(family_id));
    item
}

/// Put that replaces an item only if its `rev` is still the one we read.
fn put_if_rev(table: &str, item: Item, rev: u64) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#r = :r")
        .expression_attribute_names("#r", "rev")
        .expression_attribute_values(":r", store::n(rev))
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
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

fn not_published(strategy_id: &str) -> ApiError {
    ApiError::unprocessable(
        "custom_strategy_not_published",
        format!(
            "Custom strategy \"{strategy_id}\" has no published version (it is a draft or archived); publish a version first."
        ),
    )
}

/// The family a custom `strategyId` names, in the caller's tenant, with a published version
/// (GAME's rule at assignment time). Built-in ids are not this function's business.
pub async fn resolve_published(
    ctx: &AppContext,
    tenant: &str,
    strategy_id: &str,
) -> ApiResult<Family> {
    let family_id =
        family_of_strategy_id(strategy_id).ok_or_else(|| unknown_custom(strategy_id))?;
    let family = load_family(ctx, tenant, &family_id)
        .await?
        .ok_or_else(|| unknown_custom(strategy_id))?;
    check_published(&family, strategy_id)?;
    Ok(family)
}

/// A family with nothing published (only drafts, or its published version archived) cannot run.
pub fn check_published(family: &Family, strategy_id: &str) -> ApiResult<()> {
    if family.published_version.is_none() {
        return Err(not_published(strategy_id));
    }
    Ok(())
}

/// Create/patch of a game or task: a custom `strategyId` must name a published family of the
/// caller's tenant. Built-in ids pass (they are validated by `model::known_strategy`).
pub async fn check_assignable(ctx: &AppContext, tenant: &str, strategy_id: &str) -> ApiResult<()> {
    if is_custom(strategy_id) {
        resolve_published(ctx, tenant, strategy_id).await?;
    }
    Ok(())
}

/// What `GET /games/{id}/strategy` and task views show for a custom strategy: the family and
/// the version that runs.
pub fn family_view(strategy_id: &str, family: Option<&Family>) -> Value {
    let Some(family) = family else {
        return json!({"id": strategy_id, "custom": true, "status": Value::Null});
    };
    let ast = family
        .published_ast
        .as_deref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .unwrap_or(Value::Null);
    let variables = family
        .published_parent
        .as_deref()
        .and_then(game_scoring::strategy)
        .map(|info| info.default_variables().to_json())
        .unwrap_or_else(|| json!({}));
    json!({
        "id": strategy_id,
        "custom": true,
        "familyId": family.family_id,
        "name": family.name,
        "type": family.published_type,
        "parentStrategyId": family.published_parent,
        "version": family.published_version,
        "publishedId": family.published_version.map(|v| format!("{}.{v}", family.family_id)),
        "status": if family.published_version.is_some() { PUBLISHED } else { "UNPUBLISHED" },
        "astJson": ast,
        "variables": variables,
    })
}

/// The custom strategy view for a `strategyId`, loading its family (tenant-scoped).
pub async fn strategy_id_view(
    ctx: &AppContext,
    tenant: &str,
    strategy_id: &str,
) -> ApiResult<Value> {
    let family = match family_of_strategy_id(strategy_id) {
        Some(id) => load_family(ctx, tenant, &id).await?,
        None => None,
    };
    Ok(family_view(strategy_id, family.as_ref()))
}

/// Validated published programs per warm Lambda, keyed by (tenant, family, version): a
/// published version's program never changes (edits fork a new version).
type ProgramCache =
    std::collections::HashMap<(String, String, u64), std::sync::Arc<CustomStrategy>>;
static PROGRAMS: std::sync::LazyLock<std::sync::Mutex<ProgramCache>> =
    std::sync::LazyLock::new(Default::default);
const PROGRAM_CACHE_LIMIT: usize = 512;

/// The family's published program, validated once per warm Lambda. Nothing published (a
/// draft-only family, or its published version archived) is 422.
pub fn published_program(
    family: &Family,
    strategy_id: &str,
) -> ApiResult<std::sync::Arc<CustomStrategy>> {
    check_published(family, strategy_id)?;
    let version = family.published_version.unwrap_or_default();
    let key = (family.tenant.clone(), family.family_id.clone(), version);
    if let Some(hit) = PROGRAMS.lock().ok().and_then(|m| m.get(&key).cloned()) {
        return Ok(hit);
    }
    let strategy = match family.published_strategy() {
        Some(result) => std::sync::Arc::new(result?),
        None => return Err(not_published(strategy_id)),
    };
    if let Ok(mut cache) = PROGRAMS.lock() {
        if cache.len() >= PROGRAM_CACHE_LIMIT {
            cache.clear();
        }
        cache.insert(key, strategy.clone());
    }
    Ok(strategy)
}

/// Which family a (tenant, game, task) used last time, per warm Lambda: the award route adds
/// that family's key to its one BatchGetItem. A miss (cold, or the task changed strategy)
/// costs one GetItem.
type HintMap = std::collections::HashMap<(String, String, String), String>;
static FAMILY_HINTS: std::sync::LazyLock<std::sync::Mutex<HintMap>> =
    std::sync::LazyLock::new(Default::default);
const HINT_LIMIT: usize = 10_000;

pub fn family_hint(
    tenant: &str,
    game_id: &str,
    external_task_id: &str,
) -> Option<(String, String)> {
    let key = (
        tenant.to_owned(),
        game_id.to_owned(),
        external_task_id.to_owned(),
    );
    let family_id = FAMILY_HINTS.lock().ok()?.get(&key)?.clone();
    Some((
        keys::family_pk(tenant, &family_id),
        keys::FAMILY_SK.to_owned(),
    ))
}

pub fn remember_family(tenant: &str, game_id: &str, external_task_id: &str, family_id: &str) {
    if let Ok(mut hints) = FAMILY_HINTS.lock() {
        if hints.len() >= HINT_LIMIT {
            hints.clear();
        }
        hints.insert(
            (
                tenant.to_owned(),
                game_id.to_owned(),
                external_task_id.to_owned(),
            ),
            family_id.to_owned(),
        );
    }
}

/// The family key a custom `strategyId` names in `tenant`.
pub fn family_key(tenant: &str, strategy_id: &str) -> Option<(String, String)> {
    let family_id = family_of_strategy_id(strategy_id)?;
    Some((
        keys::family_pk(tenant, &family_id),
        keys::FAMILY_SK.to_owned(),
    ))
}

pub fn family_from_item(item: Item) -> ApiResult<Family> {
    Ok(store::from_item(item)?)
}

async fn load_definition(ctx: &AppContext, caller: &Caller, id: &str) -> ApiResult<Definition> {
    let (family, version) = parse_id(id).ok_or_else(|| not_found(id))?;
    let item = ctx
        .store
        .get(
            keys::family_pk(&caller.tenant, &family),
            keys::version_sk(version),
        )
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(store::from_item(item)?)
}

pub async fn load_family(
    ctx: &AppContext,
    tenant: &str,
    family_id: &str,
) -> ApiResult<Option<Family>> {
    let item = ctx
        .store
        .get(keys::family_pk(tenant, family_id), keys::FAMILY_SK)
        .await?;
    item.map(store::from_item).transpose().map_err(Into::into)
}

/// The version and its family in one round trip.
async fn load_with_family(
    ctx: &AppContext,
    caller: &Caller,
    id: &str,
) -> ApiResult<(Definition, Family)> {
    let (family_id, version) = parse_id(id).ok_or_else(|| not_found(id))?;
    let pk = keys::family_pk(&caller.tenant, &family_id);
    let mut found = ctx
        .store
        .get_many(&[
            (pk.clone(), keys::version_sk(version)),
            (pk, keys::FAMILY_SK.to_owned()),
        ])
        .await?
        .into_iter();
    match (found.next().flatten(), found.next().flatten()) {
        (Some(def), Some(family)) => Ok((store::from_item(def)?, store::from_item(family)?)),
        _ => Err(not_found(id)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateBody {
    name: String,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    parent_strategy_id: Option<String>,
    ast_json: Option<Value>,
    blockly_xml: Option<String>,
    experiment_tag: Option<String>,
}

fn check_text(field: &str, value: Option<&str>, min: usize, max: usize) -> ApiResult<()> {
    if let Some(v) = value {
        let n = v.chars().count();
        if n < min || n > max {
            return Err(ApiError::unprocessable(
                "invalid_field",
                format!("{field} must have {min} to {max} characters, got {n}."),
            ));
        }
    }
    Ok(())
}

/// Validates the program for its type; answers the normalised AST text (`None` without one).
fn normalise(kind: &str, parent: Option<&str>, ast: Option<&Value>) -> ApiResult<Option<String>> {
    let dsl_kind = dsl_kind(kind, parent)?;
    match ast {
        None | Some(Value::Null) => Ok(None),
        Some(ast) => {
            let strategy = CustomStrategy::new(ast, dsl_kind).map_err(|e| dsl_error(&e))?;
            Ok(Some(strategy.validated().to_json().to_string()))
        }
    }
}

/// Stored program text and Blockly XML together stay well under DynamoDB's 400 KB item.
pub const MAX_STORED_BYTES: usize = 300_000;

fn check_size(def: &Definition) -> ApiResult<()> {
    let bytes = def.ast_text.as_ref().map_or(0, String::len)
        + def.blockly_xml.as_ref().map_or(0, String::len)
        + def.description.as_ref().map_or(0, String::len);
    if bytes > MAX_STORED_BYTES {
        return Err(ApiError::unprocessable(
            "custom_strategy_too_large",
            format!(
                "The program, Blockly XML and description take {bytes} bytes; at most {MAX_STORED_BYTES} can be stored."
            ),
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> ApiResult<()> {
    check_text("name", Some(name), 1, MAX_NAME)?;
    if name.chars().any(char::is_control) || name.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "name must be visible text without control characters.",
        ));
    }
    Ok(())
}

fn new_definition(caller: &Caller, body: CreateBody, name: String) -> ApiResult<Definition> {
    check_name(&name)?;
    check_text(
        "description",
        body.description.as_deref(),
        0,
        MAX_DESCRIPTION,
    )?;
    check_text("experimentTag", body.experiment_tag.as_deref(), 0, MAX_TAG)?;
    let kind = body.kind.unwrap_or_else(|| "DSL_FULL".to_owned());
    let ast_text = normalise(
        &kind,
        body.parent_strategy_id.as_deref(),
        body.ast_json.as_ref(),
    )?;
    let now = crate::clock::now_rfc3339();
    let def = Definition {
        tenant: caller.tenant.clone(),
        family_id: uuid::Uuid::now_v7().to_string(),
        name,
        description: body.description,
        kind,
        parent_strategy_id: body.parent_strategy_id,
        ast_text,
        blockly_xml: body.blockly_xml,
        version: 1,
        status: DRAFT.to_owned(),
        created_by: caller.subject.clone(),
        created_at: now.clone(),
        updated_at: now,
        published_at: None,
        experiment_tag: body.experiment_tag,
        rev: 1,
    };
    check_size(&def)?;
    Ok(def)
}

fn name_taken(name: &str) -> ApiError {
    ApiError::conflict(
        "custom_strategy_name_exists",
        format!(
            "A custom strategy named \"{name}\" already exists; edit it (PUT) to make a new version."
        ),
    )
}

/// Commits a new family (marker, family, v1). `Ok(false)`: the name is taken.
async fn commit_new(ctx: &AppContext, def: &Definition) -> ApiResult<bool> {
    let family = Family {
        tenant: def.tenant.clone(),
        family_id: def.family_id.clone(),
        name: def.name.clone(),
        max_version: 1,
        published_version: None,
        published_type: None,
        published_parent: None,
        published_ast: None,
        rev: 1,
    };
    let table = &ctx.store.table;
    let items = vec![
        tx::put_new(table, name_item(&def.tenant, &def.name, &def.family_id))?,
        tx::put_new(table, family_item(&family)?)?,
        tx::put_new(table, definition_item(def)?)?,
    ];
    match ctx.store.transact(items).await {
        Ok(()) => Ok(true),
        Err(error) => match error.failed_condition() {
            Some((0, _)) => Ok(false),
            _ => Err(error.into()),
        },
    }
}

pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateBody = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let name = body.name.clone();
    let def = new_definition(&caller, body, name)?;
    if !commit_new(ctx, &def).await? {
        return Err(name_taken(&def.name));
    }
    http::created(&view(&def))
}

/// Import: like create, but `astJson` and `blocklyXml` are required, and a taken name is
/// renamed `"<name> (importada YYYY-MM-DD)"` as GAME does.
pub async fn import(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateBody = json_body(&req)?;
    if body.ast_json.as_ref().is_none_or(Value::is_null) {
        return Err(ApiError::unprocessable(
            "ast_required",
            "An import needs astJson (the program).",
        ));
    }
    if body.blockly_xml.as_deref().is_none_or(str::is_empty) {
        return Err(ApiError::unprocessable(
            "blockly_xml_required",
            "An import needs blocklyXml (at least one character).",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let name = body.name.clone();
    let mut def = new_definition(&caller, body, name)?;
    if commit_new(ctx, &def).await? {
        return http::created(&view(&def));
    }
    let now = crate::clock::now_rfc3339();
    let today = now.get(..10).unwrap_or(&now);
    def.name = format!("{} (importada {today})", def.name);
    check_name(&def.name)?;
    if !commit_new(ctx, &def).await? {
        return Err(name_taken(&def.name));
    }
    http::created(&view(&def))
}

pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    let mut clauses = Vec::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    if let Some(status) = query_param(&req, "status") {
        if ![DRAFT, PUBLISHED, ARCHIVED].contains(&status.as_str()) {
            return Err(ApiError::unprocessable(
                "invalid_status",
                format!("status must be DRAFT, PUBLISHED or ARCHIVED, got \"{status}\"."),
            ));
        }
        clauses.push("#st = :st".to_owned());
        names.push(("#st".to_owned(), "status".to_owned()));
        values.push((":st".to_owned(), store::s(status)));
    }
    if let Some(kind) = query_param(&req, "type") {
        if !["DSL_FULL", "DSL_EXTEND"].contains(&kind.as_str()) {
            return Err(ApiError::unprocessable(
                "invalid_strategy_type",
                format!("type must be DSL_FULL or DSL_EXTEND, got \"{kind}\"."),
            ));
        }
        clauses.push("#ty = :ty".to_owned());
        names.push(("#ty".to_owned(), "type".to_owned()));
        values.push((":ty".to_owned(), store::s(kind)));
    }
    let filter = (!clauses.is_empty()).then(|| Filter {
        expression: clauses.join(" AND "),
        names,
        values,
    });
    let page = ctx
        .store
        .query(QuerySpec {
            index: Some(GSI1),
            partition: (GSI1PK, keys::list_index_pk(&caller.tenant)),
            sort_prefix: None,
            limit: page_size,
            forward: true, // by name, then newest version first
            next_token: next_token.as_deref(),
            filter,
        })
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|item| store::from_item::<Definition>(item).map(|d| view(&d)))
        .collect::<Result<Vec<_>, _>>()?;
    crate::api::list_answer(items, page_size, page.next_token)
}

pub async fn templates(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    authenticate(ctx, &req).await?;
    http::ok(&game_scoring::dsl::templates::user_templates())
}

pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let def = load_definition(ctx, &caller, &path_param(&req, "id")?).await?;
    http::ok(&view(&def))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct UpdateBody {
    name: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default, with = "double_option")]
    parent_strategy_id: Option<Option<String>>,
    ast_json: Option<Value>,
    blockly_xml: Option<String>,
    experiment_tag: Option<String>,
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

/// Pure: the edited definition (validated). The caller decides in place or fork.
fn apply_update(current: &Definition, body: &UpdateBody) -> ApiResult<Definition> {
    if let Some(name) = &body.name
        && name != &current.name
    {
        return Err(ApiError::unprocessable(
            "name_immutable",
            "A custom strategy's name names its family of versions and cannot change; create a new strategy instead.",
        ));
    }
    check_text(
        "description",
        body.description.as_deref(),
        0,
        MAX_DESCRIPTION,
    )?;
    check_text("experimentTag", body.experiment_tag.as_deref(), 0, MAX_TAG)?;
    let mut def = current.clone();
    if let Some(d) = &body.description {
        def.description = Some(d.clone());
    }
    if let Some(k) = &body.kind {
        def.kind.clone_from(k);
    }
    if let Some(p) = &body.parent_strategy_id {
        def.parent_strategy_id.clone_from(p);
    }
    if let Some(x) = &body.blockly_xml {
        def.blockly_xml = Some(x.clone());
    }
    if let Some(t) = &body.experiment_tag {
        def.experiment_tag = Some(t.clone());
    }
    let ast = match &body.ast_json {
        Some(ast) => Some(ast.clone()),
        None => current
            .ast_text
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
    };
    def.ast_text = normalise(&def.kind, def.parent_strategy_id.as_deref(), ast.as_ref())?;
    def.updated_at = crate::clock::now_rfc3339();
    check_size(&def)?;
    Ok(def)
}

fn busy() -> ApiError {
    ApiError::conflict(
        "concurrent_modification",
        "The custom strategy kept changing while this change was applied; retry it.",
    )
    .with_header("retry-after", "1")
}

fn archived(id: &str) -> ApiError {
    ApiError::conflict(
        "custom_strategy_archived",
        format!(
            "Custom strategy {id} is archived; an archived version cannot change or be published."
        ),
    )
}

pub async fn update(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: UpdateBody = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    let table = &ctx.store.table;
    for _ in 0..ATTEMPTS {
        let (current, family) = load_with_family(ctx, &caller, &id).await?;
        let mut def = apply_update(&current, &body)?;
        let items = match current.status.as_str() {
            DRAFT => {
                def.rev = current.rev + 1;
                vec![put_if_rev(table, definition_item(&def)?, current.rev)?]
            }
            PUBLISHED => {
                // Fork: a new DRAFT at the family's next version; the published one stays.
                let mut next_family = family.clone();
                next_family.max_version += 1;
                next_family.rev += 1;
                def.version = next_family.max_version;
                def.status = DRAFT.to_owned();
                def.published_at = None;
                def.created_by = caller.subject.clone();
                def.created_at = def.updated_at.clone();
                def.rev = 1;
                vec![
                    put_if_rev(table, family_item(&next_family)?, family.rev)?,
                    tx::put_new(table, definition_item(&def)?)?,
                ]
            }
            _ => return Err(archived(&id)),
        };
        match ctx.store.transact(items).await {
            Ok(()) => return http::ok(&view(&def)),
            Err(error) if error.failed_condition().is_some() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(busy())
}

/// Pure: the writes that publish `target` (archiving the family's published version, if any).
/// Answers the new target, the displaced version and the new family.
fn plan_publish(
    target: &Definition,
    displaced: Option<&Definition>,
    family: &Family,
) -> (Definition, Option<Definition>, Family) {
    let now = crate::clock::now_rfc3339();
    let mut promoted = target.clone();
    promoted.status = PUBLISHED.to_owned();
    promoted.published_at = Some(now.clone());
    promoted.updated_at.clone_from(&now);
    promoted.rev += 1;
    let archived = displaced.map(|d| {
        let mut a = d.clone();
        a.status = ARCHIVED.to_owned();
        a.updated_at.clone_from(&now);
        a.rev += 1;
        a
    });
    let mut next_family = family.clone();
    next_family.publish(&promoted);
    next_family.rev += 1;
    (promoted, archived, next_family)
}

/// Promotes `target` to the family's published version, archiving the one it displaces, in one
/// transaction; `None` when something changed meanwhile (the caller reloads and retries).
async fn commit_publish(
    ctx: &AppContext,
    target: &Definition,
    family: &Family,
) -> ApiResult<Option<Definition>> {
    let displaced = match family.published_version {
        Some(v) => load_version(ctx, family, v).await?,
        None => None,
    };
    let displaced = displaced.as_ref();
    let table = &ctx.store.table;
    let (promoted, archived, next_family) = plan_publish(target, displaced, family);
    let mut items = vec![
        put_if_rev(table, family_item(&next_family)?, family.rev)?,
        put_if_rev(table, definition_item(&promoted)?, target.rev)?,
    ];
    if let (Some(a), Some(d)) = (&archived, displaced) {
        items.push(put_if_rev(table, definition_item(a)?, d.rev)?);
    }
    match ctx.store.transact(items).await {
        Ok(()) => Ok(Some(promoted)),
        Err(error) if error.failed_condition().is_some() => Ok(None),
        Err(error) => Err(error.into()),
    }
}

async fn load_version(
    ctx: &AppContext,
    family: &Family,
    version: u64,
) -> ApiResult<Option<Definition>> {
    let item = ctx
        .store
        .get(
            keys::family_pk(&family.tenant, &family.family_id),
            keys::version_sk(version),
        )
        .await?;
    item.map(store::from_item).transpose().map_err(Into::into)
}

pub async fn publish(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let id = path_param(&req, "id")?;
    for _ in 0..ATTEMPTS {
        let (target, family) = load_with_family(ctx, &caller, &id).await?;
        match target.status.as_str() {
            PUBLISHED => return http::ok(&view(&target)),
            ARCHIVED => return Err(archived(&id)),
            _ => {}
        }
        if target.ast_text.is_none() {
            return Err(ApiError::unprocessable(
                "custom_strategy_without_program",
                "This custom strategy has no program (astJson); add one before publishing.",
            ));
        }
        if let Some(promoted) = commit_publish(ctx, &target, &family).await? {
            return http::ok(&view(&promoted));
        }
    }
    Err(busy())
}

pub async fn archive(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let id = path_param(&req, "id")?;
    let table = &ctx.store.table;
    for _ in 0..ATTEMPTS {
        let (current, family) = load_with_family(ctx, &caller, &id).await?;
        if current.status == ARCHIVED {
            return http::ok(&view(&current));
        }
        let mut def = current.clone();
        def.status = ARCHIVED.to_owned();
        def.updated_at = crate::clock::now_rfc3339();
        def.rev += 1;
        let mut items = vec![put_if_rev(table, definition_item(&def)?, current.rev)?];
        if family.published_version == Some(current.version) {
            // Archiving the published version leaves the family with nothing to run.
            let mut next_family = family.clone();
            next_family.unpublish();
            next_family.rev += 1;
            items.push(put_if_rev(table, family_item(&next_family)?, family.rev)?);
        }
        match ctx.store.transact(items).await {
            Ok(()) => return http::ok(&view(&def)),
            Err(error) if error.failed_condition().is_some() => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(busy())
}

pub async fn versions(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    let (family_id, _) = parse_id(&id).ok_or_else(|| not_found(&id))?;
    let items = ctx
        .store
        .query_all(
            &keys::family_pk(&caller.tenant, &family_id),
            Some(keys::VERSION_SK_PREFIX),
        )
        .await?;
    let mut defs = items
        .into_iter()
        .map(store::from_item::<Definition>)
        .collect::<Result<Vec<_>, _>>()?;
    if !defs.iter().any(|d| d.id() == id) {
        return Err(not_found(&id));
    }
    defs.sort_by_key(|d| std::cmp::Reverse(d.version));
    http::ok(&defs.iter().map(view).collect::<Vec<_>>())
}

pub async fn rollback(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let id = path_param(&req, "id")?;
    let version_text = path_param(&req, "version")?;
    let version = version_text
        .parse::<u64>()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_version",
                format!("version must be a whole number from 1, got \"{version_text}\"."),
            )
        })?;
    for _ in 0..ATTEMPTS {
        let (_, family) = load_with_family(ctx, &caller, &id).await?;
        let target = load_version(ctx, &family, version).await?.ok_or_else(|| {
            ApiError::not_found(
                "custom_strategy_version_not_found",
                format!("Version {version} does not exist in the family of custom strategy {id}."),
            )
        })?;
        if family.published_version == Some(version) {
            return Err(ApiError::conflict(
                "custom_strategy_already_published",
                format!("Version {version} is already the published version."),
            ));
        }
        if target.ast_text.is_none() {
            return Err(ApiError::unprocessable(
                "custom_strategy_without_program",
                "That version has no program (astJson) to publish.",
            ));
        }
        if let Some(promoted) = commit_publish(ctx, &target, &family).await? {
            return http::ok(&view(&promoted));
        }
    }
    Err(busy())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimulateBody {
    external_game_id: String,
    external_task_id: String,
    external_user_id: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    mock_state: Option<serde_json::Map<String, Value>>,
    /// `POST /strategies/custom/simulate` only: the program to run and its type.
    #[serde(default)]
    ast_json: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    parent_strategy_id: Option<String>,
}

/// The state a simulation reads: what an award of (game, task, user) in the caller's tenant
/// would read (the award's own load), or nothing when the game does not exist (then only
/// `mockState` and defaults).
async fn load_sim_state(
    ctx: &AppContext,
    tenant: &str,
    body: &SimulateBody,
    strategy: &CustomStrategy,
) -> ApiResult<crate::store::award::Loaded> {
    use crate::store::keys as k;
    let marker = ctx
        .store
        .get(
            k::external_game_pk(tenant, &body.external_game_id),
            k::EXTERNAL_GAME_SK,
        )
        .await?;
    let Some(game_id) = marker
        .as_ref()
        .and_then(|m| store::attrs::s(m, "gameId"))
        .map(str::to_owned)
    else {
        return Ok(Default::default());
    };
    let presented = body
        .data
        .as_ref()
        .and_then(game_scoring::greencrowd::presented_hash);
    let keys = crate::store::award::AwardKeys::new(
        tenant,
        &game_id,
        &body.external_task_id,
        &body.external_user_id,
        None,
        presented,
    );
    let program = SubmittedProgram(strategy);
    crate::store::award::load(&ctx.store, &keys, &program, crate::clock::now_micros()).await
}

/// A simulation scores the program it was given, whatever the stored task runs.
struct SubmittedProgram<'a>(&'a CustomStrategy);

impl crate::store::award::CustomResolver for SubmittedProgram<'_> {
    fn hint(&self, _: &str, _: &str, _: &str) -> Option<(String, String)> {
        None
    }
    fn family_key(&self, _: &str, _: &str) -> ApiResult<(String, String)> {
        Err(ApiError::internal("a simulation resolves no family"))
    }
    fn program(
        &self,
        _: &str,
        _: &model::Task,
        _: Option<Item>,
    ) -> ApiResult<crate::store::award::CustomProgram> {
        Err(ApiError::internal("a simulation resolves no family"))
    }
    fn is_custom(&self, _: &str) -> bool {
        false
    }
    fn needs_greencrowd(&self) -> bool {
        self.0.needs().contains(&game_scoring::Need::Greencrowd)
    }
}

/// Runs `strategy` on the simulation state: DSL_EXTEND runs fully (pre, parent, post).
/// Persists nothing.
fn simulate_run(
    strategy: &CustomStrategy,
    body: &SimulateBody,
    state: &crate::store::award::Loaded,
    now_us: i64,
    simulation_key: &[u8],
    deadline: &dyn Fn() -> bool,
) -> ApiResult<Value> {
    use crate::domain::analytics::{self, Scoring};
    let data = match &body.data {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "data must be a JSON object.",
            ));
        }
    };
    let no_params = Vec::new();
    let game_params = state.game.as_ref().map_or(&no_params, |g| &g.params);
    let task_params_list = state.task.as_ref().map_or(&no_params, |t| &t.params);
    let scoring = Scoring::Custom(strategy);
    let variables = scoring.variables(game_params, task_params_list)?;
    let task_params = analytics::param_pairs(task_params_list);
    let cell = game_scoring::gi_star::task_cell(&task_params);
    let analytics = analytics::analytics(&scoring.needs(), &state.aggregates, cell).map_err(|_| {
        ApiError::unprocessable(
            "unknown_game",
            "A program extending greencrowdStrategy simulates the game's greencrowd tasks: externalGameId must name a game of this tenant.",
        )
    })?;
    let input = game_scoring::ScoreInput {
        game_id: &body.external_game_id,
        task_id: &body.external_task_id,
        user_id: &body.external_user_id,
        data: &data,
        now_us,
        variables: &variables,
        task_params: &task_params,
        analytics: &analytics,
        simulation_key,
        rng_seed: 0,
    };
    let out = strategy
        .run(
            &game_scoring::dsl::DslInput {
                score: input,
                mock_state: body.mock_state.as_ref(),
            },
            deadline,
        )
        .map_err(|failure| {
            dsl_error(&failure.error).with(
                "executionTrace",
                serde_json::to_value(&failure.trace).unwrap_or(Value::Null),
            )
        })?;
    let mut answer = json!({
        "points": out.points_json(),
        "caseName": out.case_name,
        "callbackData": out.callback_data,
        "executionTrace": out.trace,
        "nodesExecuted": out.nodes,
        "vetoed": out.vetoed,
    });
    if let Some(parent) = &out.parent {
        answer["parent"] = json!({
            "points": crate::decimal::from_points(parent.points).map(crate::decimal::to_json),
            "caseName": parent.case_name,
        });
    }
    Ok(answer)
}

const SIMULATION_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

async fn simulate_with(
    ctx: &AppContext,
    caller: &Caller,
    body: &SimulateBody,
    strategy: &CustomStrategy,
) -> ApiResult<Response<Body>> {
    for (field, value) in [
        ("externalGameId", &body.external_game_id),
        ("externalTaskId", &body.external_task_id),
        ("externalUserId", &body.external_user_id),
    ] {
        check_text(field, Some(value), 1, 200)?;
    }
    let state = load_sim_state(ctx, &caller.tenant, body, strategy).await?;
    let now_us = crate::clock::now_micros();
    let started = std::time::Instant::now();
    let deadline = move || started.elapsed() > SIMULATION_DEADLINE;
    let answer = simulate_run(
        strategy,
        body,
        &state,
        now_us,
        &ctx.simulation_key,
        &deadline,
    )?;
    http::ok(&answer)
}

/// `POST /strategies/custom/simulate`: validate and run the submitted program.
pub async fn simulate(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: SimulateBody = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let kind = body.kind.clone().unwrap_or_else(|| "DSL_FULL".to_owned());
    let dsl_kind = dsl_kind(&kind, body.parent_strategy_id.as_deref())?;
    let ast = body
        .ast_json
        .as_ref()
        .filter(|a| !a.is_null())
        .ok_or_else(|| {
            ApiError::bad_request(
                "DSL_NO_AST_TO_SIMULATE",
                "There is no program to simulate: send astJson.",
            )
        })?;
    let strategy = CustomStrategy::new(ast, dsl_kind).map_err(|e| dsl_error(&e))?;
    simulate_with(ctx, &caller, &body, &strategy).await
}

/// `POST /strategies/custom/{id}/simulate`: run a stored version, whatever its status.
pub async fn simulate_stored(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: SimulateBody = json_body(&req)?;
    if body.ast_json.is_some() || body.kind.is_some() || body.parent_strategy_id.is_some() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "This route simulates the stored program: send externalGameId, externalTaskId, externalUserId, data and mockState only.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let def = load_definition(ctx, &caller, &path_param(&req, "id")?).await?;
    if def.ast_text.is_none() {
        return Err(ApiError::bad_request(
            "DSL_NO_AST_TO_SIMULATE",
            "This custom strategy has no program (astJson) to simulate.",
        ));
    }
    let strategy = program(
        &def.kind,
        def.parent_strategy_id.as_deref(),
        def.ast_text.as_deref(),
    )?;
    simulate_with(ctx, &caller, &body, &strategy).await
}

/// `GET /strategies/custom/{id}/usage`: the games and tasks whose `strategyId` names this
/// version's family (any of them runs the family's published version). Reads the tenant's
/// games index and each game's tasks: a cost proportional to the tenant's games.
pub async fn usage(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    use crate::store::keys as k;
    let caller = authenticate(ctx, &req).await?;
    let def = load_definition(ctx, &caller, &path_param(&req, "id")?).await?;
    let uses = |strategy_id: &str| {
        family_of_strategy_id(strategy_id).as_deref() == Some(def.family_id.as_str())
    };
    let game_items = ctx
        .store
        .query_every(
            Some(GSI1),
            (GSI1PK, k::games_index_pk(&caller.tenant)),
            None,
        )
        .await?;
    let mut games = Vec::new();
    let mut tasks = Vec::new();
    for item in game_items {
        let game: model::Game = store::from_item(item)?;
        if uses(&game.strategy_id) {
            games.push(json!({
                "gameId": game.game_id,
                "externalGameId": game.external_game_id,
                "platform": game.platform,
                "strategyId": game.strategy_id,
            }));
        }
        let task_items = ctx
            .store
            .query_all(
                &k::game_pk(&game.tenant, &game.game_id),
                Some(k::TASK_SK_PREFIX),
            )
            .await?;
        for item in task_items {
            let task: model::Task = store::from_item(item)?;
            if uses(&task.strategy_id) {
                tasks.push(json!({
                    "taskId": task.task_id,
                    "externalTaskId": task.external_task_id,
                    "gameId": game.game_id,
                    "externalGameId": game.external_game_id,
                    "strategyId": task.strategy_id,
                }));
            }
        }
    }
    http::ok(&json!({
        "strategyId": format!("{CUSTOM_PREFIX}{}", def.family_id),
        "id": def.id(),
        "familyId": def.family_id,
        "name": def.name,
        "version": def.version,
        "status": def.status,
        "gameCount": games.len(),
        "taskCount": tasks.len(),
        "games": games,
        "tasks": tasks,
    }))
}

// ---- Observability: the execution log, metrics and compare (GAME §1.8, §4.5) ----

/// Trace entries kept per logged run (GAME's DSL_EXECUTION_LOG_TRACE_LIMIT).
pub const LOG_TRACE_LIMIT: usize = 200;
/// Days a logged run is kept (DynamoDB TTL reaps it after).
pub const LOG_TTL_DAYS: i64 = 30;
/// Share of successful runs logged unless `GAME_CUSTOM_LOG_SAMPLE_RATE` says otherwise
/// (GAME's DSL_EXECUTION_LOG_SAMPLE_RATE); failures are always logged.
pub const DEFAULT_LOG_SAMPLE_RATE: f64 = 0.05;

static LOG_SAMPLE_RATE_MILLIONTHS: std::sync::LazyLock<std::sync::atomic::AtomicU32> =
    std::sync::LazyLock::new(|| {
        let rate = std::env::var("GAME_CUSTOM_LOG_SAMPLE_RATE")
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|r| (0.0..=1.0).contains(r))
            .unwrap_or(DEFAULT_LOG_SAMPLE_RATE);
        std::sync::atomic::AtomicU32::new((rate * 1_000_000.0) as u32)
    });

/// The share of successful runs logged, 0..=1.
pub fn log_sample_rate() -> f64 {
    f64::from(LOG_SAMPLE_RATE_MILLIONTHS.load(std::sync::atomic::Ordering::Relaxed)) / 1_000_000.0
}

/// Changes the share of successful runs logged for this process (tests, tools).
pub fn set_log_sample_rate(rate: f64) {
    let rate = rate.clamp(0.0, 1.0);
    LOG_SAMPLE_RATE_MILLIONTHS.store(
        (rate * 1_000_000.0) as u32,
        std::sync::atomic::Ordering::Relaxed,
    );
}

/// What one run of a custom strategy did, for the execution log.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// `ok | error | timeout | limit`.
    pub status: &'static str,
    pub error_code: Option<String>,
    pub points: Option<rust_decimal::Decimal>,
    pub case_name: Option<String>,
    pub nodes: usize,
    /// The trace, at most [`LOG_TRACE_LIMIT`] entries.
    pub trace: Value,
    /// Entries before truncation.
    pub trace_len: usize,
}

/// Bytes of trace JSON a logged run keeps (values may be long strings).
const LOG_TRACE_BYTES: usize = 64_000;

fn truncated_trace<T: Serialize>(trace: &[T]) -> Value {
    let mut n = trace.len().min(LOG_TRACE_LIMIT);
    loop {
        let value = serde_json::to_value(&trace[..n]).unwrap_or(Value::Null);
        if n == 0 || value.to_string().len() <= LOG_TRACE_BYTES {
            return value;
        }
        n /= 2;
    }
}

impl RunReport {
    pub fn ok<T: Serialize>(
        points: rust_decimal::Decimal,
        case_name: &str,
        nodes: usize,
        trace: &[T],
    ) -> Self {
        RunReport {
            status: "ok",
            error_code: None,
            points: Some(points),
            case_name: Some(case_name.to_owned()),
            nodes,
            trace: truncated_trace(trace),
            trace_len: trace.len(),
        }
    }

    pub fn failed<T: Serialize>(
        status: &'static str,
        code: &str,
        nodes: usize,
        trace: &[T],
    ) -> Self {
        RunReport {
            status,
            error_code: Some(code.to_owned()),
            points: None,
            case_name: None,
            nodes,
            trace: truncated_trace(trace),
            trace_len: trace.len(),
        }
    }

    /// All failures; successes with probability `rate` (`draw` uniform in [0, 1)).
    pub fn sampled(&self, rate: f64, draw: f64) -> bool {
        self.status != "ok" || draw < rate
    }
}

pub mod log_keys {
    pub fn log_pk(tenant: &str, family_id: &str, version: u64) -> String {
        format!("T#{tenant}#CSLOG#{family_id}#{version}")
    }
    pub fn log_sk(at_us: i64, run_id: &str) -> String {
        format!("{at_us:020}#{run_id}")
    }
}

/// The execution-log item of one run.
pub fn log_item(
    tenant: &str,
    family_id: &str,
    version: u64,
    report: &RunReport,
    duration_ms: f64,
    at_us: i64,
) -> Item {
    let run_id = crate::ids::new_id();
    let mut item = store::key(
        log_keys::log_pk(tenant, family_id, version),
        log_keys::log_sk(at_us, &run_id),
    );
    let mut put = |k: &str, v| {
        item.insert(k.to_owned(), v);
    };
    put("entity", store::s("customStrategyRun"));
    put("status", store::s(report.status));
    put("durationMs", store::n(duration_ms));
    put("nodesExecuted", store::n(report.nodes));
    put(
        "sampled",
        aws_sdk_dynamodb::types::AttributeValue::Bool(report.status == "ok"),
    );
    put("createdUs", store::n(at_us));
    put(
        store::TTL_ATTRIBUTE,
        store::n(at_us / 1_000_000 + LOG_TTL_DAYS * 86_400),
    );
    put("trace", store::s(report.trace.to_string()));
    let kept = report.trace.as_array().map_or(0, Vec::len);
    if report.trace_len > kept {
        put(
            "note",
            store::s(format!(
                "trace truncated: {} -> {kept} entries",
                report.trace_len
            )),
        );
    }
    if let Some(code) = &report.error_code {
        put("errorCode", store::s(code.clone()));
    }
    if let Some(points) = report.points {
        put("points", store::n(points));
    }
    if let Some(case) = &report.case_name {
        put("caseName", store::s(case.clone()));
    }
    item
}

/// Logs a run when sampled. A failed log write is logged and never fails the request.
pub async fn log_run(
    ctx: &AppContext,
    tenant: &str,
    family_id: &str,
    version: u64,
    report: &RunReport,
    duration_ms: f64,
) {
    let draw = getrandom::u32().map_or(0.0, |r| f64::from(r) / (f64::from(u32::MAX) + 1.0));
    if !report.sampled(log_sample_rate(), draw) {
        return;
    }
    let at_us = crate::clock::now_micros();
    let item = log_item(tenant, family_id, version, report, duration_ms, at_us);
    let result = ctx
        .store
        .client
        .put_item()
        .table_name(&ctx.store.table)
        .set_item(Some(item))
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %error, "custom strategy execution log: write failed");
    }
}

/// One logged run as the metrics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRun {
    pub status: String,
    pub error_code: Option<String>,
    pub case_name: Option<String>,
    pub points: Option<f64>,
    pub duration_ms: f64,
    pub nodes: u64,
}

impl LoggedRun {
    fn from_item(item: &Item) -> LoggedRun {
        use crate::store::attrs;
        LoggedRun {
            status: attrs::s(item, "status").unwrap_or("other").to_owned(),
            error_code: attrs::s(item, "errorCode").map(str::to_owned),
            case_name: attrs::s(item, "caseName").map(str::to_owned),
            points: attrs::f64(item, "points"),
            duration_ms: attrs::f64(item, "durationMs").unwrap_or(0.0),
            nodes: attrs::u64(item, "nodesExecuted").unwrap_or(0),
        }
    }
}

/// Percentile by linear interpolation (`k = (n-1)·p`) over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = (sorted.len() - 1) as f64 * p;
    let lo = k.floor() as usize;
    let hi = k.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo as f64)
}

const DURATION_BUCKETS: [f64; 12] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
];
/// Logged rows a metrics read aggregates at most (the newest of the window; GAME's maximum
/// sample).
pub const METRICS_MAX_ROWS: usize = 5000;
/// Durations that percentiles are computed over (the newest).
const PERCENTILE_SAMPLE: usize = 1000;
const TOP_LIMIT: usize = 10;

fn top(counts: std::collections::HashMap<String, u64>, key: &str) -> Vec<Value> {
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(TOP_LIMIT);
    list.into_iter()
        .map(|(k, c)| json!({key: k, "count": c}))
        .collect()
}

/// Pure: GAME's metrics over the logged runs (oldest first).
pub fn aggregate(runs: &[LoggedRun]) -> Value {
    let total = runs.len() as u64;
    let count = |s: &str| runs.iter().filter(|r| r.status == s).count() as u64;
    let (ok, error, timeout, limit) = (
        count("ok"),
        count("error"),
        count("timeout"),
        count("limit"),
    );
    let other = total - ok - error - timeout - limit;
    let rate = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    let start = runs.len().saturating_sub(PERCENTILE_SAMPLE);
    let mut durations: Vec<f64> = runs[start..].iter().map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let avg = if durations.is_empty() {
        0.0
    } else {
        durations.iter().sum::<f64>() / durations.len() as f64
    };
    let mut histogram: Vec<Value> = Vec::new();
    let mut lower = f64::NEG_INFINITY;
    for upper in DURATION_BUCKETS {
        let c = runs
            .iter()
            .filter(|r| r.duration_ms > lower && r.duration_ms <= upper)
            .count();
        histogram.push(json!({"label": format!("<={upper}ms"), "upperBound": upper, "count": c}));
        lower = upper;
    }
    let over = runs.iter().filter(|r| r.duration_ms > lower).count();
    histogram
        .push(json!({"label": format!(">{lower}ms"), "upperBound": Value::Null, "count": over}));

    let mut errors = std::collections::HashMap::new();
    let mut cases = std::collections::HashMap::new();
    for r in runs {
        if let Some(code) = &r.error_code {
            *errors.entry(code.clone()).or_insert(0u64) += 1;
        }
        if let Some(case) = &r.case_name {
            *cases.entry(case.clone()).or_insert(0u64) += 1;
        }
    }
    let points: Vec<f64> = runs.iter().filter_map(|r| r.points).collect();
    let points_sum: f64 = points.iter().sum();
    let points_histogram = match (
        points.iter().copied().reduce(f64::min),
        points.iter().copied().reduce(f64::max),
    ) {
        (Some(min), Some(max)) => {
            let width = (max - min) / 10.0;
            (0..10)
                .map(|i| {
                    let lo = min + width * i as f64;
                    let hi = if i == 9 {
                        max
                    } else {
                        min + width * (i + 1) as f64
                    };
                    let c = points
                        .iter()
                        .filter(|p| {
                            let bucket = if width > 0.0 {
                                (((*p - min) / width) as usize).min(9)
                            } else {
                                0
                            };
                            bucket == i
                        })
                        .count();
                    json!({"lower": lo, "upper": hi, "count": c})
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let nodes_max = runs.iter().map(|r| r.nodes).max().unwrap_or(0);
    let nodes_avg = if total == 0 {
        0.0
    } else {
        runs.iter().map(|r| r.nodes as f64).sum::<f64>() / total as f64
    };
    json!({
        "statusBreakdown": {"ok": ok, "error": error, "timeout": timeout, "limit": limit,
                            "other": other, "total": total},
        "successRate": rate(ok),
        "errorRate": rate(error + timeout + limit),
        "duration": {
            "avgMs": avg,
            "p50Ms": percentile(&durations, 0.50),
            "p95Ms": percentile(&durations, 0.95),
            "p99Ms": percentile(&durations, 0.99),
            "maxMs": durations.last().copied().unwrap_or(0.0),
            "sampleSize": durations.len(),
        },
        "durationHistogram": histogram,
        "topErrors": top(errors, "code"),
        "topCases": top(cases, "caseName"),
        "pointsHistogram": points_histogram,
        "pointsSum": points_sum,
        "nodesAvg": nodes_avg,
        "nodesMax": nodes_max,
    })
}

fn parse_instant(req: &Request, name: &str) -> ApiResult<Option<(i64, String)>> {
    use time::format_description::well_known::Rfc3339;
    let Some(text) = query_param(req, name) else {
        return Ok(None);
    };
    let at = time::OffsetDateTime::parse(&text, &Rfc3339).map_err(|_| {
        ApiError::unprocessable(
            "invalid_datetime",
            format!(
                "{name} must be an RFC 3339 date-time such as 2026-01-31T12:00:00Z, got \"{text}\"."
            ),
        )
    })?;
    let us = i64::try_from(at.unix_timestamp_nanos() / 1000)
        .unwrap_or(0)
        .max(0);
    Ok(Some((us, text)))
}

/// The metrics object of one version over [since, until].
async fn metrics_of(
    ctx: &AppContext,
    caller: &Caller,
    id: &str,
    since: Option<&(i64, String)>,
    until: Option<&(i64, String)>,
) -> ApiResult<Value> {
    let def = load_definition(ctx, caller, id).await?;
    let from = since.map_or(0, |s| s.0);
    let to = until.map_or(i64::MAX, |u| u.0);
    // Newest first, at most METRICS_MAX_ROWS rows of the window: the cost of a metrics read
    // is bounded whatever the traffic (the answer says when rows were left out).
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut truncated = false;
    loop {
        let page = ctx
            .store
            .query(QuerySpec {
                index: None,
                partition: (
                    PK,
                    log_keys::log_pk(&caller.tenant, &def.family_id, def.version),
                ),
                sort_prefix: None,
                limit: 1000,
                forward: false,
                next_token: token.as_deref(),
                filter: Some(Filter {
                    expression: "#at BETWEEN :from AND :to".into(),
                    names: vec![("#at".into(), "createdUs".into())],
                    values: vec![
                        (":from".into(), store::n(from)),
                        (":to".into(), store::n(to)),
                    ],
                }),
            })
            .await?;
        items.extend(page.items);
        if items.len() >= METRICS_MAX_ROWS {
            truncated = page.next_token.is_some() || items.len() > METRICS_MAX_ROWS;
            items.truncate(METRICS_MAX_ROWS);
            break;
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    // Oldest first, as `aggregate` expects.
    let runs: Vec<LoggedRun> = items.iter().rev().map(LoggedRun::from_item).collect();
    let mut out = aggregate(&runs);
    out["strategyId"] = json!(def.id());
    out["name"] = json!(def.name);
    out["version"] = json!(def.version);
    out["status"] = json!(def.status);
    out["windowFrom"] = json!(since.map(|s| s.1.clone()));
    out["windowUntil"] = json!(until.map(|u| u.1.clone()));
    out["sampleRate"] = json!(log_sample_rate());
    out["rowsTruncated"] = json!(truncated);
    Ok(out)
}

/// `GET /strategies/custom/{id}/metrics?since=&until=`.
pub async fn metrics(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let since = parse_instant(&req, "since")?;
    let until = parse_instant(&req, "until")?;
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    http::ok(&metrics_of(ctx, &caller, &id, since.as_ref(), until.as_ref()).await?)
}

/// Pure: `b − a` of the compared figures (pointsAvg = pointsSum / total).
pub fn delta(a: &Value, b: &Value) -> Value {
    let f = |v: &Value, path: &[&str]| {
        path.iter()
            .try_fold(v, |v, k| v.get(k))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let points_avg = |v: &Value| {
        let total = f(v, &["statusBreakdown", "total"]);
        if total == 0.0 {
            0.0
        } else {
            f(v, &["pointsSum"]) / total
        }
    };
    json!({
        "successRate": f(b, &["successRate"]) - f(a, &["successRate"]),
        "errorRate": f(b, &["errorRate"]) - f(a, &["errorRate"]),
        "p95Ms": f(b, &["duration", "p95Ms"]) - f(a, &["duration", "p95Ms"]),
        "avgMs": f(b, &["duration", "avgMs"]) - f(a, &["duration", "avgMs"]),
        "pointsAvg": points_avg(b) - points_avg(a),
    })
}

/// `GET /strategies/custom/compare?a=&b=&since=&until=`.
pub async fn compare(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (Some(a), Some(b)) = (query_param(&req, "a"), query_param(&req, "b")) else {
        return Err(ApiError::unprocessable(
            "missing_query",
            "compare needs two custom strategy ids: ?a=<id>&b=<id>.",
        ));
    };
    let since = parse_instant(&req, "since")?;
    let until = parse_instant(&req, "until")?;
    let caller = authenticate(ctx, &req).await?;
    let ma = metrics_of(ctx, &caller, &a, since.as_ref(), until.as_ref()).await?;
    let mb = metrics_of(ctx, &caller, &b, since.as_ref(), until.as_ref()).await?;
    let d = delta(&ma, &mb);
    http::ok(&json!({"a": ma, "b": mb, "delta": d}))
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

    fn run(status: &str, ms: f64, points: Option<f64>, case: Option<&str>) -> LoggedRun {
        LoggedRun {
            status: status.into(),
            error_code: (status != "ok").then(|| "DSL_X".to_owned()),
            case_name: case.map(str::to_owned),
            points,
            duration_ms: ms,
            nodes: 4,
        }
    }

    #[test]
    fn metrics_aggregate_like_game() {
        let runs = vec![
            run("ok", 1.0, Some(1.0), Some("A")),
            run("ok", 2.0, Some(3.0), Some("A")),
            run("ok", 3.0, Some(5.0), Some("B")),
            run("error", 4.0, None, None),
            run("timeout", 600.0, None, None),
        ];
        let m = aggregate(&runs);
        assert_eq!(m["statusBreakdown"]["total"], 5);
        assert_eq!(m["statusBreakdown"]["ok"], 3);
        assert_eq!(m["successRate"], 0.6);
        assert_eq!(m["errorRate"], 0.4);
        // sorted 1,2,3,4,600: p50 = 3; p95: k = 3.8 → 4 + 0.8·596
        assert_eq!(m["duration"]["p50Ms"], 3.0);
        let p95 = m["duration"]["p95Ms"].as_f64().unwrap();
        assert!((p95 - (4.0 + 0.8 * 596.0)).abs() < 1e-9);
        assert_eq!(m["duration"]["maxMs"], 600.0);
        assert_eq!(m["durationHistogram"][0]["count"], 4, "<= 5 ms");
        assert_eq!(m["durationHistogram"][9]["count"], 1, "<= 1000 ms");
        assert_eq!(m["topCases"][0], json!({"caseName": "A", "count": 2}));
        assert_eq!(m["topErrors"][0], json!({"code": "DSL_X", "count": 2}));
        assert_eq!(m["pointsSum"], 9.0);
        let buckets: u64 = m["pointsHistogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(buckets, 3);
        let empty = aggregate(&[]);
        assert_eq!(empty["successRate"], 0.0);
        let d = delta(&empty, &m);
        assert_eq!(d["pointsAvg"], 9.0 / 5.0);
        assert_eq!(d["successRate"], 0.6);
    }

    #[test]
    fn failures_are_always_sampled_successes_by_rate() {
        let ok = RunReport::ok(rust_decimal::Decimal::ONE, "A", 1, &[0u8; 0]);
        let bad = RunReport::failed("error", "DSL_X", 1, &[0u8; 0]);
        assert!(bad.sampled(0.0, 0.99));
        assert!(!ok.sampled(0.0, 0.0));
        assert!(ok.sampled(0.05, 0.01));
        assert!(!ok.sampled(0.05, 0.5));
        let long: Vec<u32> = (0..500).collect();
        let r = RunReport::failed("limit", "DSL_LIMIT_EXCEEDED", 500, &long);
        assert_eq!(r.trace.as_array().unwrap().len(), LOG_TRACE_LIMIT);
        assert_eq!(r.trace_len, 500);
    }

    #[test]
    fn list_sort_key_orders_name_then_newest_version() {
        let a1 = keys::list_index_sk("a", 1);
        let a2 = keys::list_index_sk("a", 2);
        let ab = keys::list_index_sk("ab", 1);
        assert!(a2 < a1 && a1 < ab);
    }

    #[test]
    fn dsl_errors_keep_code_node_and_status() {
        let e = CustomStrategy::new(&json!({"type": "program", "rules": "x"}), DslKind::Full)
            .unwrap_err();
        let api = dsl_error(&e);
        assert_eq!(api.code, e.code.as_str());
        assert_eq!(api.status.as_u16(), e.http_status());
        assert!(api.extra.contains_key("nodeId"));
    }
}
