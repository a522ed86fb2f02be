//! API keys of the caller's tenant: create (the plaintext is answered once), list, revoke.
//! Admin only. A key of another tenant answers 404, exactly like a missing one.

use crate::AppContext;
use crate::api::paging;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{
    self, ApiKeyRecord, NewApiKey, ROLE_CLIENT, authenticate, require_admin,
};
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
    let role = body.role.as_deref().unwrap_or(ROLE_CLIENT);
    let (record, plaintext) = auth::create_api_key(
        &ctx.store,
        &ctx.secrets.api_key_pepper,
        &NewApiKey {
            tenant: &caller.tenant,
            client: &body.client,
            description: &body.description,
            role,
            created_by: &caller.subject,
        },
        &crate::clock::now_rfc3339(),
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
    let (records, next_token) =
        auth::list_api_keys(&ctx.store, &caller.tenant, page_size, next_token.as_deref()).await?;
    let items = records.iter().map(key_view).collect();
    crate::api::list_answer(items, page_size, next_token)
}

/// `DELETE /apikey/{prefix}`: deactivates a key of the caller's tenant. Other warm functions
/// stop accepting it within the key cache's TTL (`GAME_API_KEY_CACHE_TTL_SECONDS`, 5 s).
pub async fn revoke(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let prefix = path_param(&req, "prefix")?;
    if !auth::revoke_api_key(
        &ctx.store,
        &caller.tenant,
        &prefix,
        &crate::clock::now_rfc3339(),
    )
    .await?
    {
        return Err(key_not_found(&prefix));
    }
    ctx.api_keys.evict_prefix(&prefix);
    tracing::info!(key_prefix = %prefix, revoked_by = %caller.subject, "API key revoked");
    http::ok(&json!({
        "apiKey": prefix,
        "active": false,
        "message": "API key revoked successfully.",
    }))
}
