//! API keys of the caller's tenant: create (the plaintext is answered once), list, revoke.
//! Admin only. A key of another tenant answers 404, exactly like a missing one.

use crate::AppContext;
use crate::api::paging;
use crate::domain::model;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{
    self, ApiKeyRecord, ROLE_ADMIN, ROLE_CLIENT, api_keys_index_pk, authenticate, require_admin,
};
use crate::store::{self, GSI1, GSI1PK, QuerySpec, keys};
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateKey {
    client: String,
    description: String,
    /// `client` (default) or `admin`.
    #[serde(default)]
    role: Option<String>,
}

/// What a listing shows of a key: never its hash, never its plaintext.
fn key_view(record: &ApiKeyRecord) -> Value {
    json!({
        "apiKey": record.prefix,
        "client": record.client,
        "description": record.description,
        "role": record.role,
        "createdBy": record.created_by,
        "created_at": record.created_at,
        "active": record.active,
        "revoked_at": record.revoked_at,
    })
}

fn key_not_found(prefix: &str) -> ApiError {
    ApiError::not_found("api_key_not_found", format!("API key not found: {prefix}"))
}

/// `POST /apikey/create`: a new key of the caller's tenant.
pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let body: CreateKey = json_body(&req)?;
    model::validate_text("client", &body.client, 100)?;
    model::validate_text("description", &body.description, 500)?;
    let role = body.role.as_deref().unwrap_or(ROLE_CLIENT);
    if role != ROLE_CLIENT && role != ROLE_ADMIN {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("role must be \"{ROLE_CLIENT}\" or \"{ROLE_ADMIN}\", got \"{role}\"."),
        ));
    }
    let (record, plaintext) = auth::create_api_key(
        &ctx.store,
        &ctx.secrets.api_key_pepper,
        &caller.tenant,
        &body.client,
        &body.description,
        role,
        &caller.subject,
    )
    .await?;
    tracing::info!(
        key_prefix = %record.prefix,
        role,
        created_by = %caller.subject,
        "API key created"
    );
    let mut view = key_view(&record);
    if let Some(object) = view.as_object_mut() {
        object.insert("plaintext".into(), Value::String(plaintext));
        object.insert(
            "message".into(),
            Value::String("API Key created successfully".into()),
        );
    }
    let mut response = http::created(&view)?;
    // The only answer that ever holds a key's plaintext: no cache may keep it.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /apikey`: the tenant's keys, oldest first, paged like every list.
pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let (page_size, next_token) = paging(&req)?;
    let page = ctx
        .store
        .query(QuerySpec {
            index: Some(GSI1),
            partition: (GSI1PK, api_keys_index_pk(&caller.tenant)),
            sort_prefix: None,
            limit: page_size,
            forward: true,
            next_token: next_token.as_deref(),
            filter: None,
        })
        .await?;
    let items = page
        .items
        .into_iter()
        .map(|item| store::from_item::<ApiKeyRecord>(item).map(|r| key_view(&r)))
        .collect::<Result<Vec<_>, _>>()?;
    crate::api::list_answer(items, page_size, page.next_token)
}

/// `DELETE /apikey/{prefix}`: deactivates a key of the caller's tenant. Other warm functions
/// stop accepting it within the key cache's TTL (`GAME_API_KEY_CACHE_TTL_SECONDS`, 5 s).
pub async fn revoke(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let prefix = path_param(&req, "prefix")?;
    let well_formed = prefix
        .strip_prefix(auth::PREFIX_HEAD)
        .is_some_and(|rest| rest.len() == 8);
    if !well_formed {
        return Err(key_not_found(&prefix));
    }
    let now = crate::clock::now_rfc3339();
    let result = ctx
        .store
        .client
        .update_item()
        .table_name(&ctx.store.table)
        .set_key(Some(store::key(
            keys::api_key_pk(&prefix),
            keys::API_KEY_SK,
        )))
        .update_expression("SET #active = :false, #revoked = if_not_exists(#revoked, :now)")
        // Scoped by the condition: another tenant's key is "not found", and nothing changes.
        .condition_expression("attribute_exists(PK) AND #tenant = :tenant")
        .expression_attribute_names("#active", "active")
        .expression_attribute_names("#revoked", "revokedAt")
        .expression_attribute_names("#tenant", "tenant")
        .expression_attribute_values(
            ":false",
            aws_sdk_dynamodb::types::AttributeValue::Bool(false),
        )
        .expression_attribute_values(":now", store::s(now))
        .expression_attribute_values(":tenant", store::s(caller.tenant.clone()))
        .send()
        .await;
    match result {
        Ok(_) => {}
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
        {
            return Err(key_not_found(&prefix));
        }
        Err(error) => return Err(ApiError::internal(error)),
    }
    ctx.api_keys.evict_prefix(&prefix);
    tracing::info!(key_prefix = %prefix, revoked_by = %caller.subject, "API key revoked");
    http::ok(&json!({
        "apiKey": prefix,
        "active": false,
        "message": "API key revoked successfully.",
    }))
}
