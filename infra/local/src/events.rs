//! The local stand-ins for Lambda's event source mappings (docs/events.md, docs/local.md):
//!
//! - a stream poller reads the table's DynamoDB Stream from DynamoDB Local, applies the same
//!   filter as template.yaml's FilterCriteria (outbox inserts), and invokes the dispatcher
//!   handler with the JSON shape Lambda passes (`aws_lambda_events`' DynamoDB event);
//! - a queue poller receives from the delivery queue in moto and invokes the delivery handler
//!   with Lambda's SQS event shape, then deletes what the handler did not report failed (as
//!   the SQS event source mapping does).
//!
//! Nothing in the handlers knows which of the two runs them.

use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use game_functions::AppContext;
use game_functions::api::events;
use serde_json::{Value, json};
use std::time::Duration;

/// Creates (or finds) the delivery queue and its dead-letter queue with the template's redrive
/// policy (maxReceiveCount = the schedule's attempts). Returns (queue URL, DLQ URL).
pub async fn ensure_queues(
    sqs: &aws_sdk_sqs::Client,
    name: &str,
    visibility_secs: u32,
) -> Result<(String, String), String> {
    use aws_sdk_sqs::types::QueueAttributeName;
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{name}-dlq"))
        .send()
        .await
        .map_err(|e| format!("creating {name}-dlq: {e:?}"))?;
    let dlq_url = dlq.queue_url.ok_or("moto returned no DLQ url")?;
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("reading {name}-dlq: {e:?}"))?;
    let dlq_arn = attributes
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .ok_or("the DLQ has no ARN")?;
    let queue = sqs
        .create_queue()
        .queue_name(name)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            json!({"deadLetterTargetArn": dlq_arn,
                   "maxReceiveCount": game_functions::domain::webhooks::MAX_ATTEMPTS})
            .to_string(),
        )
        .attributes(
            QueueAttributeName::VisibilityTimeout,
            visibility_secs.to_string(),
        )
        .send()
        .await
        .map_err(|e| format!("creating {name}: {e:?}"))?;
    Ok((
        queue.queue_url.ok_or("moto returned no queue url")?,
        dlq_url,
    ))
}

/// A stream image attribute in DynamoDB's JSON (what Lambda's event carries).
fn attribute_json(value: &AttributeValue) -> Value {
    use base64::Engine as _;
    let b64 = |b: &aws_sdk_dynamodbstreams::primitives::Blob| {
        base64::engine::general_purpose::STANDARD.encode(b.as_ref())
    };
    match value {
        AttributeValue::S(s) => json!({"S": s}),
        AttributeValue::N(n) => json!({"N": n}),
        AttributeValue::Bool(b) => json!({"BOOL": b}),
        AttributeValue::Null(_) => json!({"NULL": true}),
        AttributeValue::Ss(v) => json!({"SS": v}),
        AttributeValue::Ns(v) => json!({"NS": v}),
        AttributeValue::B(b) => json!({"B": b64(b)}),
        AttributeValue::Bs(v) => json!({"BS": v.iter().map(b64).collect::<Vec<_>>()}),
        AttributeValue::L(items) => {
            json!({"L": items.iter().map(attribute_json).collect::<Vec<_>>()})
        }
        AttributeValue::M(map) => json!({"M": image_json(map)}),
        _ => json!({"NULL": true}),
    }
}

fn image_json(map: &std::collections::HashMap<String, AttributeValue>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), attribute_json(v)))
            .collect(),
    )
}

/// template.yaml's FilterCriteria, applied as Lambda applies it.
fn selected(record: &aws_sdk_dynamodbstreams::types::Record) -> bool {
    record.event_name.as_ref().map(|n| n.as_str()) == Some("INSERT")
        && record
            .dynamodb
            .as_ref()
            .and_then(|d| d.new_image.as_ref())
            .and_then(|image| image.get("entity"))
            .and_then(|v| v.as_s().ok())
            .is_some_and(|entity| entity == game_functions::store::outbox::ENTITY)
}

/// Lambda's DynamoDB stream event for `records`.
pub fn lambda_event(records: &[aws_sdk_dynamodbstreams::types::Record], stream_arn: &str) -> Value {
    let records: Vec<Value> = records
        .iter()
        .map(|r| {
            let d = r.dynamodb.as_ref();
            json!({
                "eventID": r.event_id.clone().unwrap_or_default(),
                "eventName": r.event_name.as_ref().map(|n| n.as_str()).unwrap_or_default(),
                "eventVersion": r.event_version.clone().unwrap_or_else(|| "1.1".into()),
                "eventSource": "aws:dynamodb",
                "awsRegion": r.aws_region.clone().unwrap_or_else(|| "us-east-1".into()),
                "eventSourceARN": stream_arn,
                "dynamodb": {
                    "ApproximateCreationDateTime": d.and_then(|d| d.approximate_creation_date_time)
                        .map(|t| t.as_secs_f64()).unwrap_or(0.0),
                    "Keys": d.and_then(|d| d.keys.as_ref()).map(image_json).unwrap_or(json!({})),
                    "NewImage": d.and_then(|d| d.new_image.as_ref()).map(image_json).unwrap_or(json!({})),
                    "SequenceNumber": d.and_then(|d| d.sequence_number.clone()),
                    "SizeBytes": d.and_then(|d| d.size_bytes).unwrap_or(0),
                    "StreamViewType": d.and_then(|d| d.stream_view_type.as_ref()).map(|v| v.as_str().to_owned()),
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

/// Reads every shard of `table`'s stream from its start and dispatches outbox inserts, until
/// the task is dropped. Batches of up to 100 records, as the template's BatchSize.
pub async fn poll_stream(
    ddb: aws_sdk_dynamodb::Client,
    streams: aws_sdk_dynamodbstreams::Client,
    table: String,
    ctx: &'static AppContext,
) -> Result<(), String> {
    let described = ddb
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .map_err(|e| format!("describing {table}: {e:?}"))?;
    let stream_arn = described
        .table
        .and_then(|t| t.latest_stream_arn)
        .ok_or_else(|| format!("{table} has no stream (template.yaml's StreamSpecification)"))?;
    let mut iterators: std::collections::HashMap<String, Option<String>> = Default::default();
    loop {
        // New shards appear over time (DynamoDB Local rolls them too): pick them up.
        let stream = streams
            .describe_stream()
            .stream_arn(&stream_arn)
            .send()
            .await
            .map_err(|e| format!("describing the stream: {e:?}"))?;
        for shard in stream
            .stream_description
            .and_then(|d| d.shards)
            .unwrap_or_default()
        {
            let Some(id) = shard.shard_id else { continue };
            if iterators.contains_key(&id) {
                continue;
            }
            let iterator = streams
                .get_shard_iterator()
                .stream_arn(&stream_arn)
                .shard_id(&id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await
                .map_err(|e| format!("shard iterator: {e:?}"))?
                .shard_iterator;
            iterators.insert(id, iterator);
        }
        let mut idle = true;
        for iterator in iterators.values_mut() {
            let Some(current) = iterator.clone() else {
                continue;
            };
            let output = match streams
                .get_records()
                .shard_iterator(&current)
                .limit(100)
                .send()
                .await
            {
                Ok(output) => output,
                Err(e) => {
                    tracing::warn!(error = ?e, "stream poller: GetRecords failed");
                    continue;
                }
            };
            let records: Vec<_> = output
                .records
                .unwrap_or_default()
                .into_iter()
                .filter(selected)
                .collect();
            *iterator = output.next_shard_iterator;
            if records.is_empty() {
                continue;
            }
            idle = false;
            dispatch_with_retry(ctx, &records, &stream_arn).await;
        }
        if idle {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Lambda retries a batch from the first reported failure; so does this.
async fn dispatch_with_retry(
    ctx: &'static AppContext,
    records: &[aws_sdk_dynamodbstreams::types::Record],
    stream_arn: &str,
) {
    let mut from = 0;
    for attempt in 0..10u32 {
        let event: aws_lambda_events::event::dynamodb::Event =
            match serde_json::from_value(lambda_event(&records[from..], stream_arn)) {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(error = %e, "stream poller: not a Lambda DynamoDB event");
                    return;
                }
            };
        let response = events::dispatch(ctx, event).await;
        let Some(failed) = response
            .batch_item_failures
            .first()
            .and_then(|f| f.item_identifier.clone())
        else {
            return;
        };
        from += records[from..]
            .iter()
            .position(|r| {
                r.dynamodb
                    .as_ref()
                    .and_then(|d| d.sequence_number.as_deref())
                    == Some(&failed)
            })
            .unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(100 << attempt.min(5))).await;
    }
    tracing::error!(
        "stream poller: a batch failed 10 times; dropped (Lambda: the on-failure destination)"
    );
}

/// Receives from the delivery queue and runs the delivery handler, until the task is dropped.
pub async fn poll_queue(
    sqs: aws_sdk_sqs::Client,
    queue_url: String,
    ctx: &'static AppContext,
) -> Result<(), String> {
    use aws_sdk_sqs::types::MessageSystemAttributeName;
    loop {
        let output = match sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(5)
            .wait_time_seconds(1)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
        {
            Ok(output) => output,
            Err(e) => {
                tracing::warn!(error = ?e, "queue poller: ReceiveMessage failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        let messages = output.messages.unwrap_or_default();
        if messages.is_empty() {
            continue;
        }
        let records: Vec<Value> = messages
            .iter()
            .map(|m| {
                let attributes: serde_json::Map<String, Value> = m
                    .attributes
                    .iter()
                    .flatten()
                    .map(|(k, v)| (k.as_str().to_owned(), json!(v)))
                    .collect();
                json!({
                    "messageId": m.message_id,
                    "receiptHandle": m.receipt_handle,
                    "body": m.body,
                    "md5OfBody": m.md5_of_body,
                    "attributes": attributes,
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": queue_url,
                    "awsRegion": "us-east-1",
                })
            })
            .collect();
        let event: aws_lambda_events::event::sqs::SqsEvent =
            match serde_json::from_value(json!({ "Records": records })) {
                Ok(event) => event,
                Err(e) => {
                    tracing::error!(error = %e, "queue poller: not a Lambda SQS event");
                    continue;
                }
            };
        let response = events::deliver(ctx, event).await;
        let failed: std::collections::HashSet<String> = response
            .batch_item_failures
            .into_iter()
            .map(|f| f.item_identifier)
            .collect();
        for message in &messages {
            let id = message.message_id.clone().unwrap_or_default();
            if failed.contains(&id) {
                continue;
            }
            if let Some(receipt) = &message.receipt_handle {
                let _ = sqs
                    .delete_message()
                    .queue_url(&queue_url)
                    .receipt_handle(receipt)
                    .send()
                    .await;
            }
        }
    }
}

/// The schedule of the `holds_sweep` and `leaderboards_close` functions, locally: the same
/// handlers every 30 s (deployed: every 5 minutes; a dev hold of a minute should not linger).
const LOCAL_SWEEP_EVERY: Duration = Duration::from_secs(30);

/// What `game-dev` runs beside the API: both pollers, restarted after an error, and the
/// scheduled functions' ticks.
pub fn start(sdk_config: &aws_config::SdkConfig, table: &str, ctx: &'static AppContext) {
    let ddb = aws_sdk_dynamodb::Client::new(sdk_config);
    let streams = aws_sdk_dynamodbstreams::Client::new(sdk_config);
    let sqs = aws_sdk_sqs::Client::new(sdk_config);
    let table = table.to_owned();
    tokio::spawn(async move {
        loop {
            if let Err(e) = poll_stream(ddb.clone(), streams.clone(), table.clone(), ctx).await {
                tracing::warn!(error = %e, "stream poller stopped; restarting");
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(LOCAL_SWEEP_EVERY).await;
            match game_functions::api::ledger::sweep_expired_holds(ctx).await {
                Ok(sweep) if sweep.listed > 0 => {
                    tracing::info!(
                        released = sweep.released,
                        skipped = sweep.skipped,
                        "holds swept"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.detail, "hold sweep failed"),
            }
            let now = game_functions::clock::now_micros();
            match game_functions::api::leaderboards::close_periods(ctx, now).await {
                Ok(closing) if closing.closed > 0 => {
                    tracing::info!(closed = closing.closed, "leaderboard periods closed")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e.detail, "closing periods failed"),
            }
        }
    });
    if let Some(queue_url) = ctx.events.config.queue_url.clone() {
        tokio::spawn(async move {
            loop {
                if let Err(e) = poll_queue(sqs.clone(), queue_url.clone(), ctx).await {
                    tracing::warn!(error = %e, "queue poller stopped; restarting");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
    }
}
