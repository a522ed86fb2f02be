//! Webhook subscriptions (admin only): `/webhooks...` (docs/events.md).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /webhooks`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"url": "https://hooks.example.org/game", "eventTypes": ["award.created"],
    "description": "rewards service"}))]
pub struct CreateWebhook {
    /// https (http to loopback only in local mode).
    #[schema(min_length = 1, max_length = 2000)]
    pub url: String,
    /// Event types to deliver (docs/events.md); empty or absent: all.
    #[serde(default)]
    pub event_types: Vec<String>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: String,
}

/// `PATCH /webhooks/{webhookId}`: any of the fields.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"enabled": true}))]
pub struct PatchWebhook {
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub url: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub description: Option<String>,
    /// `true` re-enables a disabled endpoint (and clears its failure record).
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `POST /webhooks/{webhookId}/rotate`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"overlapSeconds": 86400}))]
pub struct RotateWebhook {
    /// How long the old secret keeps signing beside the new one (default 86400, at most
    /// 604800; 0 retires it at once).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap_seconds: Option<u64>,
}

/// A subscription as listed: never its secrets.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub webhook_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: String,
    pub enabled: bool,
    /// Why the endpoint was disabled, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<String>,
    /// How many secrets sign deliveries now (2 during a rotation's overlap).
    pub signing_secrets: usize,
    pub created_at: String,
    pub updated_at: String,
}

/// A new subscription or a rotation: the only answer that holds the secret (sent with
/// `Cache-Control: no-store`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub webhook: WebhookView,
    /// `whsec_...`: verify deliveries with it. Shown once.
    pub secret: String,
}

/// One delivery of one event to the endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The event's id: the `webhook-id` header.
    pub event_id: String,
    pub event_type: String,
    /// `delivered`, `retrying`, `dead` (in the dead-letter queue) or `skipped` (disabled).
    pub status: String,
    pub attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_status_code: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    pub updated_at: String,
}

/// What a test event or a redelivery queued.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Queued {
    pub queued: usize,
    /// The events queued (the test event's id, or the redelivered ones).
    pub event_ids: Vec<String>,
}
