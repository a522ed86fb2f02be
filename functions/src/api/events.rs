//! The two event functions (docs/events.md). They are not HTTP routes: the dispatcher reads
//! the table's DynamoDB Stream, the delivery function reads the SQS queue. Both take exactly
//! the event Lambda passes (`aws_lambda_events`), so the dev API's pollers call them unchanged.
//!
//! - [`dispatch`]: outbox inserts → the tenant's matching, enabled subscriptions → one SQS
//!   message per (event, endpoint).
//! - [`deliver`]: one signed POST per message; a failure sets the message's visibility
//!   timeout to the retry schedule's next delay and reports it failed, so SQS redelivers it,
//!   and after `MAX_ATTEMPTS` receives the queue's redrive policy moves it to the DLQ.

use crate::AppContext;
/// The event types, for the handlers that emit them.
pub use crate::domain::events::{
    AWARD_CREATED, GAME_CREATED, GAME_DELETED, GAME_UPDATED, STRATEGY_PUBLISHED, TASK_CREATED,
    TASK_DELETED, TASK_UPDATED, WALLET_CONVERTED,
};
use crate::domain::events::{Event, selects};
use crate::domain::webhooks::{self, DISABLE_AFTER_SECS, MAX_ATTEMPTS};
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::outbox;
use crate::store::queue::sqs_error;
use crate::store::webhooks::{self as subs, Delivery, Subscription};
use aws_lambda_events::event::dynamodb::Event as StreamEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// One delivery job: the SQS message body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    pub tenant: TenantId,
    pub subscription_id: String,
    pub event_id: String,
    pub event_type: String,
    /// The event body, exactly as signed and sent.
    pub body: String,
}

impl Job {
    pub fn of(event: &Event, subscription_id: &str) -> Job {
        Job {
            tenant: event.tenant.clone(),
            subscription_id: subscription_id.to_owned(),
            event_id: event.id.clone(),
            event_type: event.event_type.clone(),
            body: event.body(),
        }
    }
}

/// The outbox image of a stream record (what the filter criteria select).
#[derive(Deserialize)]
struct OutboxImage {
    entity: Option<String>,
    event: Option<String>,
}

fn event_of_record(record: &aws_lambda_events::event::dynamodb::EventRecord) -> Option<Event> {
    if record.event_name != "INSERT" {
        return None;
    }
    let image: OutboxImage = serde_dynamo::from_item(record.change.new_image.clone()).ok()?;
    if image.entity.as_deref() != Some(outbox::ENTITY) {
        return None;
    }
    serde_json::from_str(&image.event?).ok()
}

/// Enqueues jobs, ten per SendMessageBatch. Returns how many were sent.
pub async fn enqueue(ctx: &AppContext, jobs: &[Job]) -> ApiResult<usize> {
    let queue_url = ctx.events.queue_url()?;
    let sqs = ctx.events.sqs().await;
    for chunk in jobs.chunks(10) {
        let mut batch = sqs.send_message_batch().queue_url(queue_url);
        for (i, job) in chunk.iter().enumerate() {
            let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(serde_json::to_string(job).map_err(ApiError::internal)?)
                .build()
                .map_err(ApiError::internal)?;
            batch = batch.entries(entry);
        }
        let output = batch.send().await.map_err(sqs_error)?;
        if !output.failed().is_empty() {
            tracing::warn!(
                failed = output.failed().len(),
                "SQS refused part of a batch"
            );
            return Err(ApiError::dependency_unavailable(1));
        }
    }
    Ok(jobs.len())
}

/// The dispatcher: each outbox insert to its tenant's matching subscriptions. A record that
/// cannot be fanned out is reported (Lambda retries from it; bisect-on-error narrows a batch;
/// an exhausted record goes to the on-failure destination). Re-enqueuing is harmless:
/// delivery is at least once and receivers dedupe on `webhook-id`.
pub async fn dispatch(ctx: &AppContext, event: StreamEvent) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    let mut cache: HashMap<TenantId, Vec<Subscription>> = HashMap::new();
    for record in &event.records {
        let Some(outboxed) = event_of_record(record) else {
            continue;
        };
        if let Err(error) = fan_out(ctx, &mut cache, &outboxed).await {
            tracing::warn!(event_id = %outboxed.id, error = %error.detail, "fan-out failed");
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = record.change.sequence_number.clone();
            response.batch_item_failures.push(failure);
            // Lambda resumes from the first failure; later records come again with it.
            break;
        }
    }
    response
}

async fn fan_out(
    ctx: &AppContext,
    cache: &mut HashMap<TenantId, Vec<Subscription>>,
    event: &Event,
) -> ApiResult<()> {
    if !cache.contains_key(&event.tenant) {
        let list = subs::list(&ctx.store, &event.tenant).await?;
        cache.insert(event.tenant.clone(), list);
    }
    let jobs: Vec<Job> = cache[&event.tenant]
        .iter()
        .filter(|sub| sub.enabled && selects(&sub.event_types, &event.event_type))
        .map(|sub| Job::of(event, &sub.id))
        .collect();
    enqueue(ctx, &jobs).await?;
    tracing::info!(event_id = %event.id, event_type = %event.event_type, deliveries = jobs.len(), "event fanned out");
    Ok(())
}

/// The signing secrets of a subscription still live at `now_us` (current first).
pub fn live_secrets(ctx: &AppContext, sub: &Subscription, now_us: i64) -> Vec<String> {
    let Ok(key) = <[u8; 32]>::try_from(ctx.secrets.webhook_key.as_slice()) else {
        return Vec::new();
    };
    sub.secrets
        .iter()
        .filter(|s| s.expires_us.is_none_or(|at| at > now_us))
        .filter_map(|s| webhooks::open(&key, &sub.id, &s.sealed))
        .collect()
}

fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The delivery function: one attempt per message; failed ones are reported for retry.
pub async fn deliver(ctx: &AppContext, event: SqsEvent) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    for message in &event.records {
        let id = message.message_id.clone().unwrap_or_default();
        let retry = match deliver_one(ctx, message).await {
            Ok(None) => continue,
            Ok(Some(delay)) => Some(delay),
            Err(error) => {
                tracing::warn!(message_id = %id, error = %error.detail, "delivery could not run");
                None
            }
        };
        if let (Some(delay), Some(receipt)) = (retry, &message.receipt_handle) {
            let secs = i32::try_from(delay.as_secs()).unwrap_or(43_200);
            let queue_url = ctx.events.queue_url().ok();
            if let Some(queue_url) = queue_url {
                let changed = ctx
                    .events
                    .sqs()
                    .await
                    .change_message_visibility()
                    .queue_url(queue_url)
                    .receipt_handle(receipt)
                    .visibility_timeout(secs)
                    .send()
                    .await;
                if let Err(error) = changed {
                    tracing::warn!(error = %crate::store::fault::chain(&error), "visibility change failed; the queue's default applies");
                }
            }
        }
        let mut failure = BatchItemFailure::default();
        failure.item_identifier = id;
        response.batch_item_failures.push(failure);
    }
    response
}

/// `Ok(None)`: done with this message (delivered, or nothing to deliver to). `Ok(Some(d))`:
/// failed, retry after `d`.
async fn deliver_one(
    ctx: &AppContext,
    message: &SqsMessage,
) -> ApiResult<Option<std::time::Duration>> {
    let Some(job) = message
        .body
        .as_deref()
        .and_then(|b| serde_json::from_str::<Job>(b).ok())
    else {
        tracing::warn!("a delivery message that is not a job; dropped");
        return Ok(None);
    };
    let attempt = receive_count(message);
    let now_us = crate::clock::now_micros();
    let now_secs = now_us.div_euclid(1_000_000);
    let Some(sub) = subs::load(&ctx.store, &job.tenant, &job.subscription_id).await? else {
        return Ok(None); // the subscription was deleted: nothing to deliver to
    };
    let mut record = Delivery {
        event_id: job.event_id.clone(),
        event_type: job.event_type.clone(),
        status: String::new(),
        attempts: attempt,
        last_status_code: None,
        last_error: None,
        updated_at: crate::clock::micros_to_rfc3339(now_us),
        body: job.body.clone(),
    };
    if !sub.enabled {
        record.status = "skipped".into();
        record.last_error = sub.disabled_reason.clone();
        subs::record_delivery(&ctx.store, &job.tenant, &sub.id, &record, now_secs).await?;
        return Ok(None);
    }
    let secrets = live_secrets(ctx, &sub, now_us);
    let signature = webhooks::signature_header(&secrets, &job.event_id, now_secs, &job.body);
    let headers = [
        ("webhook-id", job.event_id.clone()),
        ("webhook-timestamp", now_secs.to_string()),
        ("webhook-signature", signature),
    ];
    let outcome = ctx
        .events
        .sender
        .post(&sub.url, &headers, job.body.clone())
        .await;
    match &outcome {
        crate::webhook_http::Outcome::Status(code) => record.last_status_code = Some(*code),
        crate::webhook_http::Outcome::Failed(reason) => record.last_error = Some(reason.clone()),
    }
    if outcome.delivered() {
        record.status = "delivered".into();
        subs::record_delivery(&ctx.store, &job.tenant, &sub.id, &record, now_secs).await?;
        if sub.failing_since_us.is_some() {
            subs::mark_healthy(&ctx.store, &sub).await?;
        }
        return Ok(None);
    }
    let last = attempt >= MAX_ATTEMPTS;
    record.status = if last { "dead" } else { "retrying" }.into();
    subs::record_delivery(&ctx.store, &job.tenant, &sub.id, &record, now_secs).await?;
    let since = sub.failing_since_us.unwrap_or(now_us);
    let disable = (now_us - since) / 1_000_000 >= DISABLE_AFTER_SECS;
    let reason = disable.then(|| {
        format!(
            "Disabled at {}: every delivery failed for {} days (last: {}).",
            record.updated_at,
            DISABLE_AFTER_SECS / 86_400,
            record
                .last_status_code
                .map(|c| format!("HTTP {c}"))
                .or(record.last_error.clone())
                .unwrap_or_default()
        )
    });
    subs::mark_failing(&ctx.store, &sub, now_us, reason).await?;
    tracing::info!(event_id = %job.event_id, subscription = %sub.id, attempt, "delivery failed");
    // The last attempt returns at once so the redrive policy moves it to the DLQ now.
    Ok(Some(if last {
        std::time::Duration::ZERO
    } else {
        webhooks::retry_delay(attempt, ctx.events.config.retry_scale, jitter())
    }))
}

/// Jitter in [0, 1) from the OS's randomness (the pure schedule takes it as an argument).
fn jitter() -> f64 {
    let mut bytes = [0u8; 4];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    f64::from(u32::from_le_bytes(bytes)) / (f64::from(u32::MAX) + 1.0)
}

/// The outbox item of an event a handler's write emits, for that write's own transaction
/// (the one-line hook the game, task, wallet and strategy writes use; docs/events.md).
pub fn outbox_item(
    table: &str,
    tenant: &TenantId,
    event_type: &str,
    data: &impl Serialize,
) -> ApiResult<aws_sdk_dynamodb::types::TransactWriteItem> {
    let now_us = crate::clock::now_micros();
    let event = Event::new(
        &crate::ids::new_id(),
        event_type,
        tenant,
        &crate::clock::micros_to_rfc3339(now_us),
        serde_json::to_value(data).map_err(ApiError::internal)?,
    );
    Ok(outbox::put(table, &event, now_us.div_euclid(1_000_000))?)
}
