//! Windowed counters (rate limits): one item per (scope, window), reaped by TTL.

use crate::store::{self, Store, StoreError, TTL_ATTRIBUTE, condition_outcome, request_error};
use aws_sdk_dynamodb::types::ReturnValue;

/// Adds one to the counter unless it already reached `limit`: the new count, or `None` when
/// refused (nothing written). The item expires at `expires_at` (epoch seconds).
pub async fn add_below(
    store: &Store,
    key: (&str, &str),
    limit: u64,
    expires_at: i64,
) -> Result<Option<u64>, StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(store::key(key.0, key.1)))
        .update_expression("ADD #c :one SET #ttl = :ttl, #entity = :entity")
        .condition_expression("attribute_not_exists(#c) OR #c < :limit")
        .expression_attribute_names("#c", "count")
        .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
        .expression_attribute_names("#entity", "entity")
        .expression_attribute_values(":one", store::n(1))
        .expression_attribute_values(":limit", store::n(limit))
        .expression_attribute_values(":ttl", store::n(expires_at))
        .expression_attribute_values(":entity", store::s("ratelimit"))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    let count = result
        .as_ref()
        .ok()
        .and_then(|output| output.attributes())
        .and_then(|attributes| store::attrs::u64(attributes, "count"));
    // A charged counter without its count in the answer is treated as full: pacing headers
    // then under-promise rather than over-promise.
    Ok(condition_outcome(result)?.then(|| count.unwrap_or(limit)))
}

/// Takes one back from a counter that exists (a refund after TTL reaped it would start it at
/// -1, so it never creates one).
pub async fn subtract_existing(store: &Store, key: (&str, &str)) -> Result<(), StoreError> {
    store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(store::key(key.0, key.1)))
        .update_expression("ADD #c :minus")
        .condition_expression("attribute_exists(#c)")
        .expression_attribute_names("#c", "count")
        .expression_attribute_values(":minus", store::n(-1))
        .send()
        .await
        .map(|_| ())
        .map_err(request_error)
}
