//! Exports: the rows of each dataset (read from the tenant's own partitions only), the audit
//! rows (`T#<tenant>#EXPORTS` / `<createdUs>#<exportId>`), and the export bucket (files too
//! large for a Lambda answer, fetched through a presigned URL).

use crate::decimal;
use crate::env::{env_bool, env_text, env_u64};
use crate::error::{ApiError, ApiResult};
use crate::ids::{GameId, TaskId, TenantId};
use crate::store::{self, GSI1, GSI1PK, GSI1SK, Item, PK, SK, Store, attrs, keys, request_error};
use crate::wire::exports::ExportAuditView;
use serde_json::Value;
use std::time::Duration;

/// GAME's datasets and their columns, in GAME's order (`DATASET_COLUMNS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    Users,
    UserPoints,
    UserInteractions,
    WalletTransactions,
}

impl Dataset {
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Users => "users",
            Dataset::UserPoints => "user-points",
            Dataset::UserInteractions => "user-interactions",
            Dataset::WalletTransactions => "wallet-transactions",
        }
    }

    pub fn parse(name: &str) -> Option<Dataset> {
        [
            Dataset::Users,
            Dataset::UserPoints,
            Dataset::UserInteractions,
            Dataset::WalletTransactions,
        ]
        .into_iter()
        .find(|d| d.name() == name)
    }

    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Dataset::Users => &[
                "id",
                "externalUserId",
                "created_at",
                "updated_at",
                "apiKey_used",
                "oauth_user_id",
            ],
            Dataset::UserPoints => &[
                "id",
                "created_at",
                "externalUserId",
                "externalTaskId",
                "externalGameId",
                "points",
                "caseName",
                "description",
                "idempotencyKey",
                "data",
                "apiKey_used",
            ],
            Dataset::UserInteractions => &[
                "id",
                "created_at",
                "externalUserId",
                "typeAction",
                "description",
                "data",
                "apiKey_used",
            ],
            Dataset::WalletTransactions => &[
                "id",
                "created_at",
                "externalUserId",
                "transactionType",
                "points",
                "coins",
                "appliedConversionRate",
                "data",
                "apiKey_used",
            ],
        }
    }
}

/// One row, its values in the dataset's column order.
pub type Row = Vec<Value>;

/// Which rows an export takes.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `created_at` bounds, RFC 3339 text compared as instants (inclusive).
    pub from_us: Option<i64>,
    pub to_us: Option<i64>,
    pub game_id: Option<GameId>,
    pub external_task_id: Option<TaskId>,
    pub limit: usize,
}

impl Selection {
    fn takes(&self, created_at: &str) -> bool {
        let Some(us) = micros(created_at) else {
            return false;
        };
        self.from_us.is_none_or(|from| us >= from) && self.to_us.is_none_or(|to| us <= to)
    }

    /// A user action or ledger entry's game and task against the filters.
    fn matches_task(&self, item: &Item) -> bool {
        self.game_id
            .as_ref()
            .is_none_or(|g| attrs::s(item, "gameId") == Some(g.as_str()))
            && self
                .external_task_id
                .as_ref()
                .is_none_or(|t| attrs::s(item, "externalTaskId") == Some(t.as_str()))
    }
}

fn micros(text: &str) -> Option<i64> {
    use time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(at.unix_timestamp_nanos() / 1000).ok()
}

fn text(item: &Item, name: &str) -> Value {
    attrs::s(item, name).map_or(Value::Null, Value::from)
}

fn amount(item: &Item, name: &str) -> Value {
    attrs::decimal(item, name).map_or(Value::Null, decimal::to_json)
}

/// The rows of a dataset, at most `selection.limit`, oldest first.
pub async fn rows(
    store: &Store,
    tenant: &TenantId,
    dataset: Dataset,
    selection: &Selection,
) -> ApiResult<Vec<Row>> {
    let mut rows: Vec<(String, Row)> = match dataset {
        Dataset::Users => user_rows(store, tenant, selection).await?,
        Dataset::UserPoints => award_rows(store, tenant, selection).await?,
        Dataset::UserInteractions | Dataset::WalletTransactions => {
            user_partition_rows(store, tenant, dataset, selection).await?
        }
    };
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows.truncate(selection.limit);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Every user of the tenant, from its GSI1 partition (`<createdAt>#<user>` sorts by time).
async fn users_index(store: &Store, tenant: &TenantId) -> ApiResult<Vec<Item>> {
    store
        .query_every(Some(GSI1), (GSI1PK, keys::users_index_pk(tenant)), None)
        .await
}

async fn user_rows(
    store: &Store,
    tenant: &TenantId,
    selection: &Selection,
) -> ApiResult<Vec<(String, Row)>> {
    let mut rows = Vec::new();
    for item in users_index(store, tenant).await? {
        let created = attrs::s(&item, "createdAt").unwrap_or_default().to_owned();
        if !selection.takes(&created) {
            continue;
        }
        rows.push((
            created.clone(),
            vec![
                text(&item, "externalUserId"),
                text(&item, "externalUserId"),
                Value::from(created),
                Value::Null,
                Value::Null,
                Value::Null,
            ],
        ));
        if rows.len() >= selection.limit {
            break;
        }
    }
    Ok(rows)
}

/// Awards live in their task's partition: the tenant's games (or the one named), their tasks
/// (or the one named), then each task's `AWARD#` items. Reading stops at the limit.
async fn award_rows(
    store: &Store,
    tenant: &TenantId,
    selection: &Selection,
) -> ApiResult<Vec<(String, Row)>> {
    let game_ids: Vec<String> = match &selection.game_id {
        Some(game_id) => vec![game_id.to_string()],
        None => store
            .query_every(Some(GSI1), (GSI1PK, keys::games_index_pk(tenant)), None)
            .await?
            .iter()
            .filter_map(|item| attrs::s(item, GSI1SK).map(str::to_owned))
            .collect(),
    };
    let mut rows = Vec::new();
    for game_id in game_ids {
        let Ok(game_id) = GameId::try_new(game_id) else {
            continue;
        };
        let task_ids: Vec<String> = match &selection.external_task_id {
            Some(task) => vec![task.to_string()],
            None => store
                .query_all(&keys::game_pk(tenant, &game_id), Some(keys::TASK_SK_PREFIX))
                .await?
                .iter()
                .filter_map(|item| {
                    attrs::s(item, SK)?
                        .strip_prefix(keys::TASK_SK_PREFIX)
                        .map(str::to_owned)
                })
                .collect(),
        };
        for task in task_ids {
            let Ok(task) = TaskId::try_new(task) else {
                continue;
            };
            let partition = keys::task_awards_pk(tenant, &game_id, &task);
            for item in store
                .query_all(&partition, Some(keys::AWARD_SK_PREFIX))
                .await?
            {
                let created = attrs::s(&item, "createdAt").unwrap_or_default().to_owned();
                if !selection.takes(&created) {
                    continue;
                }
                rows.push((
                    created.clone(),
                    vec![
                        text(&item, "awardId"),
                        Value::from(created),
                        text(&item, "externalUserId"),
                        text(&item, "externalTaskId"),
                        text(&item, "externalGameId"),
                        amount(&item, "points"),
                        text(&item, "caseName"),
                        text(&item, "description"),
                        text(&item, "idempotencyKey"),
                        store::client_data::read(&item, "data"),
                        Value::Null,
                    ],
                ));
            }
            if rows.len() >= selection.limit {
                return Ok(rows);
            }
        }
    }
    Ok(rows)
}

/// Actions and ledger entries live in each user's partition: the tenant's users, then each
/// one's `ACTION#` or `LEDGER#` items.
async fn user_partition_rows(
    store: &Store,
    tenant: &TenantId,
    dataset: Dataset,
    selection: &Selection,
) -> ApiResult<Vec<(String, Row)>> {
    let prefix = if dataset == Dataset::UserInteractions {
        keys::ACTION_SK_PREFIX
    } else {
        keys::LEDGER_SK_PREFIX
    };
    let mut rows = Vec::new();
    for user in users_index(store, tenant).await? {
        let Some(external_user_id) = attrs::s(&user, "externalUserId") else {
            continue;
        };
        let Some(partition) = attrs::s(&user, PK) else {
            continue;
        };
        for item in store.query_all(partition, Some(prefix)).await? {
            let created = attrs::s(&item, "createdAt").unwrap_or_default().to_owned();
            if !selection.takes(&created) || !selection.matches_task(&item) {
                continue;
            }
            let row = if dataset == Dataset::UserInteractions {
                vec![
                    text(&item, "id"),
                    Value::from(created.clone()),
                    Value::from(external_user_id),
                    text(&item, "typeAction"),
                    text(&item, "description"),
                    store::client_data::read(&item, "data"),
                    Value::Null,
                ]
            } else {
                vec![
                    text(&item, "id"),
                    Value::from(created.clone()),
                    Value::from(external_user_id),
                    text(&item, "transactionType"),
                    amount(&item, "points"),
                    amount(&item, "coins"),
                    amount(&item, "appliedConversionRate"),
                    if item.contains_key("data") {
                        store::client_data::read(&item, "data")
                    } else {
                        Value::Null
                    },
                    Value::Null,
                ]
            };
            rows.push((created, row));
        }
        if rows.len() >= selection.limit {
            break;
        }
    }
    Ok(rows)
}

/// One export's audit row (GAME's `exportauditlog`).
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub id: String,
    pub dataset: &'static str,
    pub format: &'static str,
    pub filters: Value,
    pub row_limit: u64,
    /// -1 until the export completes.
    pub row_count: i64,
    /// `started`, `completed` or `failed`.
    pub status: String,
    pub requested_by: String,
    pub created_at: String,
    pub created_us: i64,
    /// `inline` or `url`, once completed.
    pub delivery: Option<String>,
    pub error: Option<String>,
}

fn audit_sk(audit: &Audit) -> String {
    format!("{:020}#{}", audit.created_us, audit.id)
}

/// Writes the `started` row before any data is read, so a crash mid-export leaves a trace.
pub async fn start(store: &Store, tenant: &TenantId, audit: &Audit) -> ApiResult<()> {
    let mut item = store::key(keys::exports_pk(tenant), audit_sk(audit));
    for (name, value) in [
        ("entity", store::s("exportAudit")),
        ("id", store::s(audit.id.clone())),
        ("datasetType", store::s(audit.dataset)),
        ("format", store::s(audit.format)),
        ("filters", store::s(audit.filters.to_string())),
        ("rowLimit", store::n(audit.row_limit)),
        ("rowCount", store::n(-1)),
        ("status", store::s("started")),
        ("requestedBy", store::s(audit.requested_by.clone())),
        ("createdAt", store::s(audit.created_at.clone())),
    ] {
        item.insert(name.into(), value);
    }
    store.put_new(item).await?;
    Ok(())
}

/// Marks the row completed (with its row count and delivery) or failed (with the reason).
pub async fn finish(
    store: &Store,
    tenant: &TenantId,
    audit: &Audit,
    outcome: Result<(usize, &str), &str>,
    now: &str,
) -> ApiResult<()> {
    let request = store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(store::key(keys::exports_pk(tenant), audit_sk(audit))))
        .condition_expression("attribute_exists(PK)")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":finished", store::s(now));
    let request = match outcome {
        Ok((rows, delivery)) => request
            .update_expression(
                "SET #status = :completed, rowCount = :rows, delivery = :delivery, finishedAt = :finished",
            )
            .expression_attribute_values(":completed", store::s("completed"))
            .expression_attribute_values(":rows", store::n(rows))
            .expression_attribute_values(":delivery", store::s(delivery)),
        Err(reason) => request
            .update_expression("SET #status = :failed, failure = :reason, finishedAt = :finished")
            .expression_attribute_values(":failed", store::s("failed"))
            .expression_attribute_values(":reason", store::s(reason)),
    };
    request.send().await.map_err(request_error)?;
    Ok(())
}

fn audit_view(item: &Item) -> ExportAuditView {
    let owned = |name| attrs::s(item, name).map(str::to_owned);
    ExportAuditView {
        id: owned("id").unwrap_or_default(),
        dataset_type: owned("datasetType").unwrap_or_default(),
        format: owned("format").unwrap_or_default(),
        filters: attrs::s(item, "filters")
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .unwrap_or(Value::Null),
        row_limit: attrs::u64(item, "rowLimit").unwrap_or(0),
        row_count: attrs::i64(item, "rowCount").unwrap_or(-1),
        status: owned("status").unwrap_or_default(),
        requested_by: owned("requestedBy").unwrap_or_default(),
        created_at: owned("createdAt").unwrap_or_default(),
        finished_at: owned("finishedAt"),
        delivery: owned("delivery"),
        failure: owned("failure"),
    }
}

/// The newest audit rows, at most `limit`; only `requested_by`'s when given.
pub async fn history(
    store: &Store,
    tenant: &TenantId,
    limit: usize,
    requested_by: Option<&str>,
) -> ApiResult<Vec<ExportAuditView>> {
    let mut rows = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let mut request = store
            .client
            .query()
            .table_name(store.table())
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", store::s(keys::exports_pk(tenant)))
            .scan_index_forward(false)
            .consistent_read(true)
            .limit(200)
            .set_exclusive_start_key(start.take());
        if let Some(subject) = requested_by {
            request = request
                .filter_expression("requestedBy = :me")
                .expression_attribute_values(":me", store::s(subject));
        }
        let output = request.send().await.map_err(request_error)?;
        for item in output.items() {
            if rows.len() < limit {
                rows.push(audit_view(item));
            }
        }
        match output.last_evaluated_key.filter(|k| !k.is_empty()) {
            Some(key) if rows.len() < limit => start = Some(key),
            _ => return Ok(rows),
        }
    }
}

/// How exports are answered: inline up to a size, else through the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportConfig {
    /// `GAME_EXPORT_BUCKET`; without one, an export too large to answer inline is 413.
    pub bucket: Option<String>,
    /// Largest file answered in the response body (`GAME_EXPORT_INLINE_MAX_BYTES`). Binary
    /// files travel base64-encoded through API Gateway (4/3 larger), so the default keeps an
    /// xlsx under Lambda's 6 MB response limit too.
    pub inline_max_bytes: usize,
    /// Lifetime of a presigned download URL (`GAME_EXPORT_URL_TTL_SECONDS`).
    pub url_ttl: Duration,
    /// Path-style bucket addressing (`GAME_S3_FORCE_PATH_STYLE`), for S3 stand-ins on a host
    /// name without bucket subdomains.
    pub path_style: bool,
}

impl Default for ExportConfig {
    fn default() -> Self {
        ExportConfig {
            bucket: None,
            inline_max_bytes: 4_000_000,
            url_ttl: Duration::from_secs(900),
            path_style: false,
        }
    }
}

impl ExportConfig {
    pub fn from_env() -> Result<ExportConfig, String> {
        let defaults = ExportConfig::default();
        let inline = env_u64(
            "GAME_EXPORT_INLINE_MAX_BYTES",
            defaults.inline_max_bytes as u64,
        )?;
        if inline > 4_400_000 {
            return Err(
                "GAME_EXPORT_INLINE_MAX_BYTES must be at most 4400000 (Lambda answers at most 6 MB, base64 included)"
                    .into(),
            );
        }
        let ttl = env_u64("GAME_EXPORT_URL_TTL_SECONDS", 900)?;
        if !(60..=3600).contains(&ttl) {
            return Err("GAME_EXPORT_URL_TTL_SECONDS must be from 60 to 3600".into());
        }
        Ok(ExportConfig {
            bucket: env_text("GAME_EXPORT_BUCKET"),
            inline_max_bytes: usize::try_from(inline).unwrap_or(defaults.inline_max_bytes),
            url_ttl: Duration::from_secs(ttl),
            path_style: env_bool("GAME_S3_FORCE_PATH_STYLE", false)?,
        })
    }
}

/// The bucket's client, built on the first export that needs it (most never do).
#[derive(Debug, Default)]
pub struct ExportFiles {
    client: tokio::sync::OnceCell<aws_sdk_s3::Client>,
}

impl ExportFiles {
    async fn client(&self, config: &ExportConfig) -> &aws_sdk_s3::Client {
        self.client
            .get_or_init(|| async {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                let s3 = aws_sdk_s3::config::Builder::from(&sdk)
                    .force_path_style(config.path_style)
                    .build();
                aws_sdk_s3::Client::from_conf(s3)
            })
            .await
    }

    /// Stores the file under `key` and answers a GET URL valid for `config.url_ttl`.
    pub async fn put_and_presign(
        &self,
        config: &ExportConfig,
        bucket: &str,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
        filename: &str,
    ) -> ApiResult<String> {
        let client = self.client(config).await;
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .content_disposition(format!("attachment; filename=\"{filename}\""))
            .body(bytes.into())
            .send()
            .await
            .map_err(|e| {
                tracing::warn!(error = %crate::store::fault::chain(&e), "export upload failed");
                ApiError::dependency_unavailable(2)
            })?;
        let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(config.url_ttl)
            .map_err(ApiError::internal)?;
        let request = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .presigned(presigning)
            .await
            .map_err(ApiError::internal)?;
        Ok(request.uri().to_owned())
    }
}
