//! Exports (`GET /exports/...`): the link answer of a large export and the audit rows.

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// The answer of an export too large to be the body: where to download it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportLink {
    pub export_id: String,
    /// `completed`.
    pub status: String,
    pub dataset_type: String,
    pub format: String,
    pub row_count: usize,
    pub bytes: usize,
    /// `<dataset>_<YYYYmmddTHHMMSSZ>.<ext>`, as GAME names its files.
    pub filename: String,
    /// A presigned GET URL of the file; no credential is needed to fetch it until `expiresAt`.
    pub url: String,
    pub expires_at: String,
}

/// One export's audit row (GAME's `exportauditlog`).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExportAuditView {
    pub id: String,
    /// `users`, `user-points`, `user-interactions` or `wallet-transactions`.
    pub dataset_type: String,
    pub format: String,
    /// The query's `dateFrom`, `dateTo`, `externalGameId` and `externalTaskId`.
    #[schema(value_type = Object)]
    pub filters: Value,
    pub row_limit: u64,
    /// -1 while the export runs (and when it failed).
    pub row_count: i64,
    /// `started`, then `completed` or `failed`.
    pub status: String,
    /// The requesting key's prefix or token subject.
    pub requested_by: String,
    #[serde(rename = "created_at")]
    pub created_at: String,
    pub finished_at: Option<String>,
    /// `inline` (the answer's body) or `url` (the export bucket).
    pub delivery: Option<String>,
    /// Why it failed (a problem code).
    pub failure: Option<String>,
}
