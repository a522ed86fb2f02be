//! Custom strategies (GAME §1.7, §4.6): the lifecycle routes. The rules are
//! `domain::custom`, the items `store::custom`; simulation and usage are [`simulate`], the
//! execution log's metrics [`metrics`].

pub mod metrics;
pub mod simulate;

use crate::AppContext;
use crate::api::paging;
use crate::domain::custom::{
    self as rules, ARCHIVED, CreateBody, DRAFT, Definition, Family, PUBLISHED, UpdateBody, busy,
    name_taken, not_found, parse_id, view,
};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, path_param, query_param};
use crate::identity::auth::{Caller, authenticate, require_admin};
use crate::store::custom as custom_store;
use crate::wire::Page;
use crate::wire::custom::TemplateView;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// Optimistic-concurrency retries of a lifecycle write before 409.
const ATTEMPTS: usize = 5;

/// A new family's version 1 from a create or import body (a fresh family id, now).
fn new_definition(caller: &Caller, body: CreateBody, name: String) -> ApiResult<Definition> {
    let now = crate::clock::now_rfc3339();
    rules::new_definition(
        &caller.tenant,
        &caller.subject,
        body,
        name,
        uuid::Uuid::now_v7().to_string(),
        &now,
    )
}

async fn commit_new(ctx: &AppContext, def: &Definition) -> ApiResult<bool> {
    custom_store::commit_new(&ctx.store, def, &Family::first_of(def)).await
}

pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateBody = http::json_body_large(&req)?;
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
    let body: CreateBody = http::json_body_large(&req)?;
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
    def.name = rules::import_name(&def.name, &crate::clock::now_rfc3339())?;
    if !commit_new(ctx, &def).await? {
        return Err(name_taken(&def.name));
    }
    http::created(&view(&def))
}

pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    let status = query_param(&req, "status");
    if let Some(status) = &status
        && ![DRAFT, PUBLISHED, ARCHIVED].contains(&status.as_str())
    {
        return Err(ApiError::unprocessable(
            "invalid_status",
            format!("status must be DRAFT, PUBLISHED or ARCHIVED, got \"{status}\"."),
        ));
    }
    let kind = query_param(&req, "type");
    if let Some(kind) = &kind
        && !["DSL_FULL", "DSL_EXTEND"].contains(&kind.as_str())
    {
        return Err(ApiError::unprocessable(
            "invalid_strategy_type",
            format!("type must be DSL_FULL or DSL_EXTEND, got \"{kind}\"."),
        ));
    }
    let (defs, next) = custom_store::list_definitions(
        &ctx.store,
        &caller.tenant,
        status,
        kind,
        page_size,
        next_token.as_deref(),
    )
    .await?;
    http::ok(&Page::new(defs.iter().map(view).collect(), page_size, next))
}

pub async fn templates(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    authenticate(ctx, &req).await?;
    let templates: Vec<TemplateView> = game_scoring::dsl::templates::user_templates()
        .iter()
        .map(|t| TemplateView {
            id: t.id.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            kind: t.kind.clone(),
            parent_strategy_id: t.parent_strategy_id.clone(),
            ast_json: t.ast_json.clone(),
            blockly_xml: t.blockly_xml.clone(),
        })
        .collect();
    http::ok(&templates)
}

pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let def =
        custom_store::load_definition(&ctx.store, &caller.tenant, &path_param(&req, "id")?).await?;
    http::ok(&view(&def))
}

pub async fn update(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: UpdateBody = http::json_body_large(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    for _ in 0..ATTEMPTS {
        let (current, family) =
            custom_store::load_with_family(&ctx.store, &caller.tenant, &id).await?;
        let now = crate::clock::now_rfc3339();
        let (def, writes) =
            rules::plan_update(&current, &family, &body, &caller.subject, &now, &id)?;
        if custom_store::commit(&ctx.store, &writes).await? {
            return http::ok(&view(&def));
        }
    }
    Err(busy())
}

/// Promotes `target` to the family's published version, archiving the one it displaces, in one
/// transaction; `None` when something changed meanwhile (the caller reloads and retries).
async fn promote(
    ctx: &AppContext,
    target: &Definition,
    family: &Family,
) -> ApiResult<Option<Definition>> {
    let displaced = match family.published_version {
        Some(v) => custom_store::load_version(&ctx.store, family, v).await?,
        None => None,
    };
    let now = crate::clock::now_rfc3339();
    let (promoted, writes) = rules::plan_publish(target, displaced.as_ref(), family, &now);
    let event = crate::api::events::outbox_item(
        ctx.store.table(),
        &family.tenant,
        crate::api::events::STRATEGY_PUBLISHED,
        &view(&promoted),
    )?;
    Ok(custom_store::commit_with(&ctx.store, &writes, vec![event])
        .await?
        .then_some(promoted))
}

pub async fn publish(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let id = path_param(&req, "id")?;
    for _ in 0..ATTEMPTS {
        let (target, family) =
            custom_store::load_with_family(&ctx.store, &caller.tenant, &id).await?;
        if !rules::publishable(&target, &id)? {
            return http::ok(&view(&target));
        }
        if let Some(promoted) = promote(ctx, &target, &family).await? {
            return http::ok(&view(&promoted));
        }
    }
    Err(busy())
}

pub async fn archive(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let id = path_param(&req, "id")?;
    for _ in 0..ATTEMPTS {
        let (current, family) =
            custom_store::load_with_family(&ctx.store, &caller.tenant, &id).await?;
        let now = crate::clock::now_rfc3339();
        let Some((def, writes)) = rules::plan_archive(&current, &family, &now) else {
            return http::ok(&view(&current));
        };
        if custom_store::commit(&ctx.store, &writes).await? {
            return http::ok(&view(&def));
        }
    }
    Err(busy())
}

pub async fn versions(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let id = path_param(&req, "id")?;
    let (family_id, _) = parse_id(&id).ok_or_else(|| not_found(&id))?;
    let mut defs = custom_store::load_versions(&ctx.store, &caller.tenant, &family_id).await?;
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
        let (_, family) = custom_store::load_with_family(&ctx.store, &caller.tenant, &id).await?;
        let found = custom_store::load_version(&ctx.store, &family, version).await?;
        let target = rules::plan_rollback(&family, found, version, &id)?;
        if let Some(promoted) = promote(ctx, &target, &family).await? {
            return http::ok(&view(&promoted));
        }
    }
    Err(busy())
}
