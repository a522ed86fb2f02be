//! Webhook subscriptions and their deliveries (docs/events.md, docs/data-model.md).
//!
//! - A subscription is `T#<tenant>#WEBHOOKS` / `WH#<id>`: one partition per tenant, so the
//!   dispatcher finds a tenant's endpoints with one Query. Its signing secrets are sealed
//!   (AES-256-GCM, `domain::webhooks::seal`), never stored in the clear.
//! - A delivery is `T#<tenant>#WH#<id>#DLV` / `<eventId>`: status, attempts, the last status
//!   code, and the signed body for redelivery; TTL 30 days.

use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::{self, Item, PK, SK, Store, TTL_ATTRIBUTE, attrs};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

pub const DELIVERY_TTL_SECS: i64 = 30 * 24 * 3600;

pub fn subscriptions_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#WEBHOOKS")
}
pub fn subscription_sk(id: &str) -> String {
    format!("WH#{id}")
}
pub fn deliveries_pk(tenant: &TenantId, id: &str) -> String {
    format!("T#{tenant}#WH#{id}#DLV")
}

/// A signing secret at rest; `expires_us` is set on the old secret of a rotation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedSecret {
    pub sealed: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_us: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Subscription {
    pub tenant: TenantId,
    pub id: String,
    pub url: String,
    /// Event types delivered; empty means all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Left out when empty (DynamoDB Local refuses empty strings).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed (cleared by a success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since_us: Option<i64>,
    pub secrets: Vec<SealedSecret>,
    pub created_at: String,
    pub updated_at: String,
    pub version: u64,
}

impl Subscription {
    pub fn to_item(&self) -> ApiResult<Item> {
        Ok(store::to_item(
            self,
            "webhook",
            &[
                (PK, subscriptions_pk(&self.tenant)),
                (SK, subscription_sk(&self.id)),
            ],
        )?)
    }
}

pub fn not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "webhook_not_found",
        format!("Webhook subscription not found: {id}"),
    )
}

pub async fn load(store: &Store, tenant: &TenantId, id: &str) -> ApiResult<Option<Subscription>> {
    let item = store
        .get(&subscriptions_pk(tenant), &subscription_sk(id))
        .await?;
    Ok(item.map(store::from_item).transpose()?)
}

pub async fn list(store: &Store, tenant: &TenantId) -> ApiResult<Vec<Subscription>> {
    store
        .query_all(&subscriptions_pk(tenant), Some("WH#"))
        .await?
        .into_iter()
        .map(|item| store::from_item(item).map_err(ApiError::from))
        .collect()
}

/// Creates (`expected` None: must be new) or replaces the version read. `Ok(false)`: someone
/// changed it first.
pub async fn save(store: &Store, sub: &Subscription, expected: Option<u64>) -> ApiResult<bool> {
    let item = sub.to_item()?;
    let request = store
        .client
        .put_item()
        .table_name(store.table())
        .set_item(Some(item));
    let request = match expected {
        None => request.condition_expression("attribute_not_exists(PK)"),
        Some(version) => request
            .condition_expression("version = :v")
            .expression_attribute_values(":v", store::n(version)),
    };
    Ok(store::condition_outcome(request.send().await)?)
}

pub async fn delete(store: &Store, tenant: &TenantId, id: &str) -> ApiResult<bool> {
    Ok(store
        .delete_existing(store::key(subscriptions_pk(tenant), subscription_sk(id)))
        .await?)
}

/// One delivery of one event to one endpoint, as the deliveries listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub event_id: String,
    pub event_type: String,
    /// `pending`, `delivered`, `retrying`, `dead` (in the dead-letter queue) or `skipped`.
    pub status: String,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub updated_at: String,
    /// The event body, for redelivery.
    pub body: String,
}

pub async fn record_delivery(
    store: &Store,
    tenant: &TenantId,
    subscription_id: &str,
    delivery: &Delivery,
    now_secs: i64,
) -> ApiResult<()> {
    let mut item = store::to_item(
        delivery,
        "webhookDelivery",
        &[
            (PK, deliveries_pk(tenant, subscription_id)),
            (SK, delivery.event_id.clone()),
        ],
    )?;
    item.insert(TTL_ATTRIBUTE.into(), store::n(now_secs + DELIVERY_TTL_SECS));
    store
        .client
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await
        .map_err(store::fault::request_error)?;
    Ok(())
}

pub async fn load_delivery(
    store: &Store,
    tenant: &TenantId,
    subscription_id: &str,
    event_id: &str,
) -> ApiResult<Option<Delivery>> {
    let item = store
        .get(&deliveries_pk(tenant, subscription_id), event_id)
        .await?;
    Ok(item.map(store::from_item).transpose()?)
}

/// The most recent deliveries first (event ids are time-ordered).
pub async fn recent_deliveries(
    store: &Store,
    tenant: &TenantId,
    subscription_id: &str,
    limit: usize,
) -> ApiResult<Vec<Delivery>> {
    let mut items = store
        .query_all(&deliveries_pk(tenant, subscription_id), None)
        .await?;
    items.sort_by(|a, b| attrs::s(b, SK).cmp(&attrs::s(a, SK)));
    items
        .into_iter()
        .take(limit)
        .map(|item| store::from_item(item).map_err(ApiError::from))
        .collect()
}

/// Records that an endpoint failed (keeps the first failure time) or disables it.
pub async fn mark_failing(
    store: &Store,
    sub: &Subscription,
    now_us: i64,
    disable_reason: Option<String>,
) -> ApiResult<()> {
    let mut update = store
        .client
        .update_item()
        .table_name(store.table())
        .key(PK, AttributeValue::S(subscriptions_pk(&sub.tenant)))
        .key(SK, AttributeValue::S(subscription_sk(&sub.id)))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_values(":now", store::n(now_us));
    update = match disable_reason {
        Some(reason) => update
            .update_expression("SET failingSinceUs = if_not_exists(failingSinceUs, :now), enabled = :f, disabledReason = :r ADD version :one")
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .expression_attribute_values(":r", store::s(reason))
            .expression_attribute_values(":one", store::n(1)),
        None => update.update_expression("SET failingSinceUs = if_not_exists(failingSinceUs, :now)"),
    };
    store::condition_outcome(update.send().await)?;
    Ok(())
}

pub async fn mark_healthy(store: &Store, sub: &Subscription) -> ApiResult<()> {
    let update = store
        .client
        .update_item()
        .table_name(store.table())
        .key(PK, AttributeValue::S(subscriptions_pk(&sub.tenant)))
        .key(SK, AttributeValue::S(subscription_sk(&sub.id)))
        .condition_expression("attribute_exists(PK)")
        .update_expression("REMOVE failingSinceUs");
    store::condition_outcome(update.send().await)?;
    Ok(())
}
