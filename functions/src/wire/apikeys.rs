//! API keys of the caller's tenant (admin only): `/apikey/create`, `/apikey`, `/apikey/{prefix}`.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /apikey/create`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"client": "mobile-app", "description": "the iOS app"}))]
pub struct CreateKey {
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub client: String,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub description: String,
    /// `client` (default) or `admin`.
    #[serde(default)]
    #[schema(pattern = r"^(client|admin)$")]
    pub role: Option<String>,
}

/// What a listing shows of a key: its public prefix, never its hash or plaintext.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    /// The key's public prefix (what `DELETE /apikey/{prefix}` takes).
    pub api_key: String,
    pub client: String,
    pub description: String,
    /// `client` or `admin`.
    pub role: String,
    pub created_by: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    pub active: bool,
    #[serde(rename = "revoked_at")]
    pub revoked_at: Option<String>,
}

/// A new key: the only answer that ever holds its plaintext (sent with `Cache-Control:
/// no-store`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key to send as `X-API-Key`. Shown once.
    pub plaintext: String,
    pub message: String,
}

/// `DELETE /apikey/{prefix}`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRevoked {
    pub api_key: String,
    /// Always `false`.
    pub active: bool,
    pub message: String,
}
