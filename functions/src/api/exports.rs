//! `GET /exports/{users,user-points,user-interactions,wallet-transactions}` and
//! `/exports/history`: admin only, the caller's tenant only. Small files are the answer's body;
//! larger ones go to the export bucket and the answer carries a short-lived presigned URL.

use crate::AppContext;
use crate::domain::exports::{self, Format};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, query_param};
use crate::identity::auth::{authenticate, require_admin};
use crate::ids::{ExternalId, TaskId};
use crate::store::exports::{self as store, Audit, Dataset, Selection};
use crate::store::games::game_id_by_external;
use crate::wire::exports::ExportLink;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};

pub async fn users(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    export(ctx, req, Dataset::Users).await
}

pub async fn user_points(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    export(ctx, req, Dataset::UserPoints).await
}

pub async fn user_interactions(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    export(ctx, req, Dataset::UserInteractions).await
}

pub async fn wallet_transactions(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    export(ctx, req, Dataset::WalletTransactions).await
}

/// The query, checked before anything is read.
struct Query {
    format: Format,
    limit: u64,
    from: Option<(String, i64)>,
    to: Option<(String, i64)>,
    external_game_id: Option<ExternalId>,
    external_task_id: Option<TaskId>,
}

fn parse(req: &Request, dataset: Dataset) -> ApiResult<Query> {
    let format = Format::parse(query_param(req, "format").as_deref())?;
    let limit = exports::parse_limit(
        query_param(req, "limit").as_deref(),
        exports::DEFAULT_LIMIT,
        exports::MAX_LIMIT,
    )?;
    let bound = |name: &str, end: bool| -> ApiResult<Option<(String, i64)>> {
        query_param(req, name)
            .map(|text| exports::parse_bound(name, &text, end).map(|us| (text, us)))
            .transpose()
    };
    let from = bound("dateFrom", false)?;
    let to = bound("dateTo", true)?;
    if let (Some((_, from)), Some((_, to))) = (&from, &to)
        && from > to
    {
        return Err(ApiError::bad_request(
            "invalid_date_range",
            "dateFrom is after dateTo.",
        ));
    }
    // GAME takes the game and task filters on user-points and user-interactions; the ledger
    // records them too, so wallet-transactions honours them as well.
    let filtered = dataset != Dataset::Users;
    let external_game_id = match query_param(req, "externalGameId").filter(|_| filtered) {
        Some(text) => Some(ExternalId::parse("externalGameId", &text)?),
        None => None,
    };
    let external_task_id = match query_param(req, "externalTaskId").filter(|_| filtered) {
        Some(text) => Some(TaskId::try_new(text.as_str()).map_err(|_| {
            ApiError::unprocessable(
                "invalid_external_task_id",
                format!("externalTaskId \"{text}\" is not a valid task id."),
            )
        })?),
        None => None,
    };
    Ok(Query {
        format,
        limit,
        from,
        to,
        external_game_id,
        external_task_id,
    })
}

fn filters(query: &Query) -> Value {
    json!({
        "dateFrom": query.from.as_ref().map(|(t, _)| t),
        "dateTo": query.to.as_ref().map(|(t, _)| t),
        "externalGameId": query.external_game_id.as_ref().map(|g| g.as_str()),
        "externalTaskId": query.external_task_id.as_ref().map(|t| t.as_str()),
    })
}

async fn export(
    ctx: &'static AppContext,
    req: Request,
    dataset: Dataset,
) -> ApiResult<Response<Body>> {
    let query = parse(&req, dataset)?;
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    // Another tenant's game is not found, exactly like a missing one.
    let game_id = match &query.external_game_id {
        Some(external) => Some(
            game_id_by_external(&ctx.store, &caller.tenant, external)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(
                        "game_not_found",
                        format!("Game not found by externalGameId: {external}"),
                    )
                })?,
        ),
        None => None,
    };
    let now_us = crate::clock::now_micros();
    let audit = Audit {
        id: crate::ids::new_id(),
        dataset: dataset.name(),
        format: query.format.name(),
        filters: filters(&query),
        row_limit: query.limit,
        row_count: -1,
        status: "started".into(),
        requested_by: caller.subject.clone(),
        created_at: crate::clock::micros_to_rfc3339(now_us),
        created_us: now_us,
        delivery: None,
        error: None,
    };
    store::start(&ctx.store, &caller.tenant, &audit).await?;
    let selection = Selection {
        from_us: query.from.as_ref().map(|(_, us)| *us),
        to_us: query.to.as_ref().map(|(_, us)| *us),
        game_id,
        external_task_id: query.external_task_id.clone(),
        limit: usize::try_from(query.limit).unwrap_or(usize::MAX),
    };
    let filename = exports::filename(dataset, query.format, now_us);
    let outcome = produce(
        ctx,
        &caller.tenant,
        dataset,
        &query,
        &selection,
        &audit,
        &filename,
    )
    .await;
    let finished = crate::clock::now_rfc3339();
    match outcome {
        Ok((rows, delivery, response)) => {
            store::finish(
                &ctx.store,
                &caller.tenant,
                &audit,
                Ok((rows, delivery)),
                &finished,
            )
            .await?;
            Ok(response)
        }
        Err(error) => {
            // Best effort: the answer is the export's own error either way.
            let _ = store::finish(
                &ctx.store,
                &caller.tenant,
                &audit,
                Err(error.code),
                &finished,
            )
            .await;
            Err(error)
        }
    }
}

/// Reads, renders and delivers the file: (rows, delivery, the answer).
async fn produce(
    ctx: &'static AppContext,
    tenant: &crate::ids::TenantId,
    dataset: Dataset,
    query: &Query,
    selection: &Selection,
    audit: &Audit,
    filename: &str,
) -> ApiResult<(usize, &'static str, Response<Body>)> {
    let rows = store::rows(&ctx.store, tenant, dataset, selection).await?;
    let bytes = exports::render(dataset, query.format, &rows)?;
    let config = &ctx.config.exports;
    if bytes.len() <= config.inline_max_bytes {
        let body = match query.format {
            Format::Xlsx => Body::Binary(bytes),
            _ => Body::Text(String::from_utf8(bytes).map_err(ApiError::internal)?),
        };
        let mut response = Response::new(body);
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(query.format.content_type()),
        );
        headers.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                .map_err(ApiError::internal)?,
        );
        headers.insert(
            "x-export-id",
            HeaderValue::from_str(&audit.id).map_err(ApiError::internal)?,
        );
        headers.insert("x-export-rows", HeaderValue::from(rows.len()));
        return Ok((rows.len(), "inline", response));
    }
    let Some(bucket) = &config.bucket else {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "export_too_large",
            format!(
                "The export is {} bytes, more than the {} a direct answer carries, and no export bucket is configured: lower limit or narrow dateFrom/dateTo.",
                bytes.len(),
                config.inline_max_bytes
            ),
        ));
    };
    let key = format!("{tenant}/{}/{filename}", audit.id);
    let size = bytes.len();
    let url = ctx
        .export_files
        .put_and_presign(
            config,
            bucket,
            &key,
            bytes,
            query.format.content_type(),
            filename,
        )
        .await?;
    let expires_at = crate::clock::micros_to_rfc3339(
        crate::clock::now_micros() + i64::try_from(config.url_ttl.as_micros()).unwrap_or(0),
    );
    let response = http::ok(&ExportLink {
        export_id: audit.id.clone(),
        status: "completed".into(),
        dataset_type: dataset.name().into(),
        format: query.format.name().into(),
        row_count: rows.len(),
        bytes: size,
        filename: filename.to_owned(),
        url,
        expires_at,
    })?;
    Ok((rows.len(), "url", response))
}

pub async fn history(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let limit = exports::parse_limit(query_param(&req, "limit").as_deref(), 50, 200)?;
    let mine = match query_param(&req, "scope").as_deref() {
        None | Some("mine") => true,
        Some("all") => false,
        Some(other) => {
            return Err(ApiError::unprocessable(
                "invalid_export_scope",
                format!("scope must be mine or all, not \"{other}\"."),
            ));
        }
    };
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let rows = store::history(
        &ctx.store,
        &caller.tenant,
        usize::try_from(limit).unwrap_or(50),
        mine.then_some(caller.subject.as_str()),
    )
    .await?;
    http::ok(&rows)
}
