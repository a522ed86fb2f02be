//! API keys as stored: the record (never the plaintext), its key, the tenant's listing.

use crate::ids::TenantId;
use crate::store::{GSI1, GSI1PK, QuerySpec, Store, StoreError, from_item, keys, to_item};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};

/// The stored form of an API key. Never holds the plaintext.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyRecord {
    pub prefix: String,
    /// HMAC-SHA256(pepper, plaintext), hex.
    pub key_hash: String,
    pub tenant: String,
    pub client: String,
    pub description: String,
    pub role: String,
    pub active: bool,
    pub created_at: String,
    pub created_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
}

/// GSI1 partition listing a tenant's keys (newest last by `createdAt#prefix`).
fn index_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}#APIKEYS")
}

/// Stores a new key; `false` when its prefix is taken.
pub async fn insert(store: &Store, record: &ApiKeyRecord) -> Result<bool, StoreError> {
    let tenant = TenantId::try_new(record.tenant.as_str())
        .map_err(|e| StoreError::Request(e.to_string()))?;
    let item = to_item(
        record,
        "apikey",
        &[
            ("PK", keys::api_key_pk(&record.prefix)),
            ("SK", keys::API_KEY_SK.to_owned()),
            ("GSI1PK", index_pk(&tenant)),
            ("GSI1SK", format!("{}#{}", record.created_at, record.prefix)),
        ],
    )?;
    store.put_new(item).await
}

pub async fn load(store: &Store, prefix: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
    match store
        .get(keys::api_key_pk(prefix), keys::API_KEY_SK)
        .await?
    {
        Some(item) => Ok(Some(from_item(item)?)),
        None => Ok(None),
    }
}

/// One page of the tenant's keys, oldest first, and the token of the next page.
pub async fn list(
    store: &Store,
    tenant: &TenantId,
    page_size: i32,
    next_token: Option<&str>,
) -> crate::error::ApiResult<(Vec<ApiKeyRecord>, Option<String>)> {
    let page = store
        .query(QuerySpec {
            index: Some(GSI1),
            partition: (GSI1PK, index_pk(tenant)),
            sort_prefix: None,
            limit: page_size,
            forward: true,
            next_token,
            filter: None,
        })
        .await?;
    let records = page
        .items
        .into_iter()
        .map(from_item::<ApiKeyRecord>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((records, page.next_token))
}

/// Deactivates the tenant's key, stamping `revokedAt` the first time; `false` when the tenant
/// has no such key (another tenant's key is left untouched and looks missing).
pub async fn revoke(
    store: &Store,
    tenant: &TenantId,
    prefix: &str,
    now: &str,
) -> Result<bool, StoreError> {
    let result = store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(crate::store::key(
            keys::api_key_pk(prefix),
            keys::API_KEY_SK,
        )))
        .update_expression("SET #active = :false, #revoked = if_not_exists(#revoked, :now)")
        // Scoped by the condition: another tenant's key is "not found", and nothing changes.
        .condition_expression("attribute_exists(PK) AND #tenant = :tenant")
        .expression_attribute_names("#active", "active")
        .expression_attribute_names("#revoked", "revokedAt")
        .expression_attribute_names("#tenant", "tenant")
        .expression_attribute_values(":false", AttributeValue::Bool(false))
        .expression_attribute_values(":now", crate::store::s(now))
        .expression_attribute_values(":tenant", crate::store::s(tenant.as_str()))
        .send()
        .await;
    crate::store::condition_outcome(result)
}
