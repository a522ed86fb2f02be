//! Webhook subscriptions of the caller's tenant (admin only; docs/events.md): create (the
//! secret is answered once), list, get, update, rotate the secret, delete, send a test event,
//! recent deliveries, redeliver one delivery or the endpoint's dead letters.

use crate::AppContext;
use crate::api::events::{self, Job};
use crate::domain::events::{Event, TEST, known_type};
use crate::domain::webhooks::{self, check_url, secret_text};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param, query_param};
use crate::identity::auth::{authenticate, require_admin};
use crate::store::queue::sqs_error;
use crate::store::webhooks::{self as subs, SealedSecret, Subscription};
use crate::wire::webhooks::{
    CreateWebhook, DeliveryView, PatchWebhook, Queued, RotateWebhook, WebhookView,
    WebhookWithSecret,
};
use lambda_http::http::{HeaderValue, header};
use lambda_http::{Body, Request, Response};

const DEFAULT_OVERLAP_SECS: u64 = 24 * 3600;
const MAX_OVERLAP_SECS: u64 = 7 * 24 * 3600;
const MAX_SUBSCRIPTIONS: usize = 20;

pub fn view(sub: &Subscription, now_us: i64) -> WebhookView {
    WebhookView {
        webhook_id: sub.id.clone(),
        url: sub.url.clone(),
        event_types: sub.event_types.clone(),
        description: sub.description.clone(),
        enabled: sub.enabled,
        disabled_reason: sub.disabled_reason.clone(),
        failing_since: sub.failing_since_us.map(crate::clock::micros_to_rfc3339),
        signing_secrets: sub
            .secrets
            .iter()
            .filter(|s| s.expires_us.is_none_or(|at| at > now_us))
            .count(),
        created_at: sub.created_at.clone(),
        updated_at: sub.updated_at.clone(),
    }
}

fn check(ctx: &AppContext, url: &str, event_types: &[String]) -> ApiResult<()> {
    check_url(url, ctx.events.config.policy)
        .map_err(|reason| ApiError::unprocessable("invalid_webhook_url", reason))?;
    if let Some(unknown) = event_types.iter().find(|t| !known_type(t) && *t != "*") {
        return Err(ApiError::unprocessable(
            "unknown_event_type",
            format!("Unknown event type: {unknown} (docs/events.md lists them)."),
        ));
    }
    Ok(())
}

fn sealing_key(ctx: &AppContext) -> ApiResult<[u8; 32]> {
    <[u8; 32]>::try_from(ctx.secrets.webhook_key.as_slice())
        .map_err(|_| ApiError::internal("no webhook sealing key (the deployment secret)"))
}

fn random<const N: usize>() -> ApiResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(ApiError::internal)?;
    Ok(bytes)
}

/// A fresh `whsec_` secret and its sealed form for subscription `id`.
fn new_secret(ctx: &AppContext, id: &str) -> ApiResult<(String, SealedSecret)> {
    let secret = secret_text(&random::<32>()?);
    let sealed = webhooks::seal(&sealing_key(ctx)?, random::<12>()?, id, &secret)
        .ok_or_else(|| ApiError::internal("sealing a webhook secret failed"))?;
    Ok((
        secret,
        SealedSecret {
            sealed,
            expires_us: None,
        },
    ))
}

fn with_secret(sub: &Subscription, secret: String, status: u16) -> ApiResult<Response<Body>> {
    let now_us = crate::clock::now_micros();
    let body = WebhookWithSecret {
        webhook: view(sub, now_us),
        secret,
    };
    let mut response = if status == 201 {
        http::created(&body)?
    } else {
        http::ok(&body)?
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn load(
    ctx: &AppContext,
    req: &Request,
) -> ApiResult<(crate::identity::auth::Caller, Subscription)> {
    let caller = authenticate(ctx, req).await?;
    require_admin(&caller)?;
    let id = path_param(req, "webhookId")?;
    let sub = subs::load(&ctx.store, &caller.tenant, &id)
        .await?
        .ok_or_else(|| subs::not_found(&id))?;
    Ok((caller, sub))
}

/// `POST /webhooks`.
pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateWebhook = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    check(ctx, &body.url, &body.event_types)?;
    if subs::list(&ctx.store, &caller.tenant).await?.len() >= MAX_SUBSCRIPTIONS {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("A tenant has at most {MAX_SUBSCRIPTIONS} webhook subscriptions."),
        ));
    }
    let id = format!("wh_{}", crate::ids::new_id());
    let (secret, sealed) = new_secret(ctx, &id)?;
    let now = crate::clock::now_rfc3339();
    let sub = Subscription {
        tenant: caller.tenant.clone(),
        id,
        url: body.url,
        event_types: body.event_types,
        description: body.description,
        enabled: true,
        disabled_reason: None,
        failing_since_us: None,
        secrets: vec![sealed],
        created_at: now.clone(),
        updated_at: now,
        version: 1,
    };
    if !subs::save(&ctx.store, &sub, None).await? {
        return Err(ApiError::internal("a fresh webhook id already existed"));
    }
    tracing::info!(webhook = %sub.id, created_by = %caller.subject, "webhook created");
    with_secret(&sub, secret, 201)
}

/// `GET /webhooks`.
pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let now_us = crate::clock::now_micros();
    let all = subs::list(&ctx.store, &caller.tenant).await?;
    http::ok(&all.iter().map(|s| view(s, now_us)).collect::<Vec<_>>())
}

/// `GET /webhooks/{webhookId}`.
pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (_, sub) = load(ctx, &req).await?;
    http::ok(&view(&sub, crate::clock::now_micros()))
}

/// `PATCH /webhooks/{webhookId}`.
pub async fn update(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: PatchWebhook = json_body(&req)?;
    for _ in 0..crate::api::WRITE_ATTEMPTS {
        let (_, current) = load(ctx, &req).await?;
        let mut sub = current.clone();
        if let Some(url) = &body.url {
            sub.url = url.clone();
        }
        if let Some(types) = &body.event_types {
            sub.event_types = types.clone();
        }
        if let Some(description) = &body.description {
            sub.description = description.clone();
        }
        if let Some(enabled) = body.enabled {
            sub.enabled = enabled;
            if enabled {
                sub.disabled_reason = None;
                sub.failing_since_us = None;
            }
        }
        check(ctx, &sub.url, &sub.event_types)?;
        sub.updated_at = crate::clock::now_rfc3339();
        sub.version = current.version + 1;
        if subs::save(&ctx.store, &sub, Some(current.version)).await? {
            return http::ok(&view(&sub, crate::clock::now_micros()));
        }
    }
    Err(crate::api::games::concurrent_modification("webhook"))
}

/// `POST /webhooks/{webhookId}/rotate`: a new secret signs from now; the old one keeps
/// signing beside it for the overlap, so receivers can switch without missing a delivery.
pub async fn rotate(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: RotateWebhook = if req.body().is_empty() {
        RotateWebhook::default()
    } else {
        json_body(&req)?
    };
    let overlap = body.overlap_seconds.unwrap_or(DEFAULT_OVERLAP_SECS);
    if overlap > MAX_OVERLAP_SECS {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("overlapSeconds is at most {MAX_OVERLAP_SECS}."),
        ));
    }
    for _ in 0..crate::api::WRITE_ATTEMPTS {
        let (_, current) = load(ctx, &req).await?;
        let now_us = crate::clock::now_micros();
        let ends = now_us + i64::try_from(overlap).unwrap_or(0) * 1_000_000;
        let (secret, sealed) = new_secret(ctx, &current.id)?;
        let mut sub = current.clone();
        // The new secret first; every other live one ends with the overlap (or sooner).
        let mut secrets = vec![sealed];
        secrets.extend(
            current
                .secrets
                .iter()
                .filter(|s| s.expires_us.is_none_or(|at| at > now_us))
                .map(|s| SealedSecret {
                    sealed: s.sealed.clone(),
                    expires_us: Some(s.expires_us.map_or(ends, |at| at.min(ends))),
                })
                .filter(|s| s.expires_us.is_some_and(|at| at > now_us)),
        );
        sub.secrets = secrets;
        sub.updated_at = crate::clock::now_rfc3339();
        sub.version = current.version + 1;
        if subs::save(&ctx.store, &sub, Some(current.version)).await? {
            tracing::info!(webhook = %sub.id, overlap_seconds = overlap, "webhook secret rotated");
            return with_secret(&sub, secret, 200);
        }
    }
    Err(crate::api::games::concurrent_modification("webhook"))
}

/// `DELETE /webhooks/{webhookId}`: queued deliveries to it are dropped when they come up.
pub async fn delete(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (caller, sub) = load(ctx, &req).await?;
    if !subs::delete(&ctx.store, &caller.tenant, &sub.id).await? {
        return Err(subs::not_found(&sub.id));
    }
    http::ok(&view(&sub, crate::clock::now_micros()))
}

/// `POST /webhooks/{webhookId}/test`: a `webhook.test` event to this endpoint only.
pub async fn test(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (caller, sub) = load(ctx, &req).await?;
    let event = Event::new(
        &crate::ids::new_id(),
        TEST,
        &caller.tenant,
        &crate::clock::now_rfc3339(),
        serde_json::json!({"webhookId": sub.id, "message": "A test event from GAME."}),
    );
    events::enqueue(ctx, &[Job::of(&event, &sub.id)]).await?;
    http::ok(&Queued {
        queued: 1,
        event_ids: vec![event.id],
    })
}

/// `GET /webhooks/{webhookId}/deliveries`: the most recent first (`limit`, default 50).
pub async fn deliveries(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (caller, sub) = load(ctx, &req).await?;
    let limit = query_param(&req, "limit")
        .map(|l| l.parse::<usize>().ok().filter(|l| (1..=200).contains(l)))
        .unwrap_or(Some(50))
        .ok_or_else(|| ApiError::unprocessable("invalid_field", "limit is 1 to 200."))?;
    let list = subs::recent_deliveries(&ctx.store, &caller.tenant, &sub.id, limit).await?;
    http::ok(
        &list
            .into_iter()
            .map(|d| DeliveryView {
                event_id: d.event_id,
                event_type: d.event_type,
                status: d.status,
                attempts: d.attempts,
                last_status_code: d.last_status_code,
                last_error: d.last_error,
                updated_at: d.updated_at,
            })
            .collect::<Vec<_>>(),
    )
}

/// `POST /webhooks/{webhookId}/deliveries/{eventId}/redeliver`: that event again, with a
/// fresh attempt count (same `webhook-id`, so a receiver that had it dedupes it).
pub async fn redeliver(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (caller, sub) = load(ctx, &req).await?;
    let event_id = path_param(&req, "eventId")?;
    let delivery = subs::load_delivery(&ctx.store, &caller.tenant, &sub.id, &event_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "delivery_not_found",
                format!("No delivery of {event_id} to {}.", sub.id),
            )
        })?;
    let job = Job {
        tenant: caller.tenant.clone(),
        subscription_id: sub.id.clone(),
        event_id: delivery.event_id.clone(),
        event_type: delivery.event_type,
        body: delivery.body,
    };
    events::enqueue(ctx, &[job]).await?;
    http::ok(&Queued {
        queued: 1,
        event_ids: vec![delivery.event_id],
    })
}

/// `POST /webhooks/{webhookId}/redeliver-dlq`: moves this endpoint's dead letters back to the
/// delivery queue (others' are left for their own redelivery).
pub async fn redeliver_dlq(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (_, sub) = load(ctx, &req).await?;
    let dlq = ctx.events.dlq_url()?;
    let sqs = ctx.events.sqs().await;
    let mut moved = Vec::new();
    let mut seen = std::collections::HashSet::new();
    // Bounded: each pass hides what it read (visibility 30 s), so a pass never reads a message
    // twice; messages of other endpoints are made visible again at once.
    for _ in 0..50 {
        let output = sqs
            .receive_message()
            .queue_url(dlq)
            .max_number_of_messages(10)
            .visibility_timeout(30)
            .wait_time_seconds(0)
            .send()
            .await
            .map_err(sqs_error)?;
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            break;
        }
        let mut fresh = false;
        for message in messages {
            let (Some(body), Some(receipt)) = (message.body(), message.receipt_handle()) else {
                continue;
            };
            fresh |= seen.insert(message.message_id().unwrap_or_default().to_owned());
            let job: Option<Job> = serde_json::from_str(body).ok();
            match job {
                Some(job) if job.tenant == sub.tenant && job.subscription_id == sub.id => {
                    events::enqueue(ctx, std::slice::from_ref(&job)).await?;
                    sqs.delete_message()
                        .queue_url(dlq)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(sqs_error)?;
                    moved.push(job.event_id);
                }
                _ => {
                    let _ = sqs
                        .change_message_visibility()
                        .queue_url(dlq)
                        .receipt_handle(receipt)
                        .visibility_timeout(0)
                        .send()
                        .await;
                }
            }
        }
        if !fresh {
            break;
        }
    }
    http::ok(&Queued {
        queued: moved.len(),
        event_ids: moved,
    })
}
