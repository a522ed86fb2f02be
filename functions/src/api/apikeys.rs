//! API keys of the caller's tenant: create (the plaintext is answered once), list, revoke.
//! Admin only. A key of another tenant answers 404, exactly like a missing one.

use crate::AppContext;
use crate::api::paging;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{
    self, ApiKeyRecord, NewApiKey, ROLE_CLIENT, authenticate, require_admin,
};
use crate::wire::Page;
use crate::wire::apikeys::{ApiKeyCreated, ApiKeyRevoked, ApiKeyView, CreateKey};
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};

/// What a listing shows of a key: never its hash, never its plaintext.
fn key_view(record: &ApiKeyRecord) -> ApiKeyView {
    ApiKeyView {
        api_key: record.prefix.clone(),
        client: record.client.clone(),
        description: record.description.clone(),
        role: record.role.clone(),
        created_by: record.created_by.clone(),
        created_at: record.created_at.clone(),
        active: record.active,
        revoked_at: record.revoked_at.clone(),
    }
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
    let mut response = http::created(&ApiKeyCreated {
        key: key_view(&record),
        plaintext,
        message: "API Key created successfully".into(),
    })?;
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
    http::ok(&Page::new(items, page_size, next_token))
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
    http::ok(&ApiKeyRevoked {
        api_key: prefix,
        active: false,
        message: "API key revoked successfully.".into(),
    })
}
