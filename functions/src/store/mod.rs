//! The DynamoDB single table: keys, typed items and the few operations handlers compose.
//! See docs/data-model.md for every access pattern.

pub mod custom;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, WriteRequest,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Duration;

use crate::error::{ApiError, ApiResult};
pub use fault::Fault;
pub(crate) use fault::request_error;

pub mod actions;
pub mod apikeys;
pub mod award;
pub mod client_data;
pub mod counters;
pub mod dashboard;
pub mod exports;
pub mod fault;
pub mod games;
pub mod greencrowd;
pub mod idempotency;
pub mod leaderboards;
pub mod ledger;
pub mod outbox;
pub mod progression;
pub mod queue;
pub mod readmodels;
pub mod users;
pub mod webhooks;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
/// Epoch seconds after which DynamoDB TTL may reap the item.
pub const TTL_ATTRIBUTE: &str = "expiresAt";

/// Key construction. The tenant is inside every tenant-owned partition key.
pub mod keys {
    use crate::ids::{ExternalId, GameId, TaskId, TenantId};

    pub fn game_pk(tenant: &TenantId, game_id: &GameId) -> String {
        format!("T#{tenant}#G#{game_id}")
    }
    pub const GAME_SK: &str = "GAME";
    pub fn games_index_pk(tenant: &TenantId) -> String {
        format!("T#{tenant}#GAMES")
    }
    /// Uniqueness marker for an externalGameId within a tenant.
    pub fn external_game_pk(tenant: &TenantId, external_game_id: &ExternalId) -> String {
        format!("T#{tenant}#XG#{external_game_id}")
    }
    pub const EXTERNAL_GAME_SK: &str = "XG";
    pub const TASK_SK_PREFIX: &str = "TASK#";
    pub fn task_sk(external_task_id: &TaskId) -> String {
        format!("TASK#{external_task_id}")
    }
    pub fn api_key_pk(prefix: &str) -> String {
        format!("APIKEY#{prefix}")
    }
    pub const API_KEY_SK: &str = "APIKEY";
    pub const HEALTH_PK: &str = "HEALTH";

    /// A task's award partition: its awards, its series and each user's aggregate on it.
    pub fn task_awards_pk(
        tenant: &TenantId,
        game_id: &GameId,
        external_task_id: &TaskId,
    ) -> String {
        format!("T#{tenant}#G#{game_id}#T#{external_task_id}")
    }
    pub const TASK_SERIES_SK: &str = "SERIES";
    pub const USER_TASK_SK_PREFIX: &str = "USER#";
    pub fn user_task_sk(external_user_id: &ExternalId) -> String {
        format!("USER#{external_user_id}")
    }
    pub const AWARD_SK_PREFIX: &str = "AWARD#";
    pub fn award_sk(external_user_id: &ExternalId, award_id: &str) -> String {
        format!("AWARD#{external_user_id}#{award_id}")
    }
    /// GSI1 partition listing a user's (game, task) aggregates.
    pub fn user_aggregates_index_pk(tenant: &TenantId, external_user_id: &ExternalId) -> String {
        format!("T#{tenant}#U#{external_user_id}#AGG")
    }
    /// A user's partition: the user (with its wallet), per-game aggregates, ledger, actions.
    pub fn user_pk(tenant: &TenantId, external_user_id: &ExternalId) -> String {
        format!("T#{tenant}#U#{external_user_id}")
    }
    pub const USER_SK: &str = "USER";
    pub fn user_game_sk(game_id: &GameId) -> String {
        format!("GAME#{game_id}")
    }
    pub const LEDGER_SK_PREFIX: &str = "LEDGER#";
    pub fn ledger_sk(id: &str) -> String {
        format!("LEDGER#{id}")
    }
    pub const ACTION_SK_PREFIX: &str = "ACTION#";
    pub fn action_sk(id: &str) -> String {
        format!("ACTION#{id}")
    }
    pub fn game_minutes_pk(tenant: &TenantId, game_id: &GameId) -> String {
        format!("T#{tenant}#G#{game_id}#MINUTES")
    }
    pub const GAME_MINUTES_SK: &str = "MINUTES";
    pub fn grid_pk(tenant: &TenantId, game_id: &GameId) -> String {
        format!("T#{tenant}#G#{game_id}#GRID")
    }
    pub const GRID_SK: &str = "GRID";
    /// Shard `shard` of an item every award of a task or game writes (docs/data-model.md,
    /// "Hot items"): shard 0 is the item's own key, shard n its partition + `#S<n>`, so a
    /// game's shards spread over partitions and a game that never raised its count keeps
    /// its items where they were.
    pub fn shard_key(key: &(String, String), shard: u32) -> (String, String) {
        match shard {
            0 => key.clone(),
            n => (format!("{}#S{n}", key.0), key.1.clone()),
        }
    }
    /// The shard a user's awards write, of `shards` (FNV-1a: stable across builds).
    pub fn aggregate_shard(user: &ExternalId, shards: u32) -> u32 {
        let mut hash: u32 = 0x811c_9dc5;
        for byte in user.as_str().bytes() {
            hash ^= u32::from(byte);
            hash = hash.wrapping_mul(0x0100_0193);
        }
        hash % shards.max(1)
    }
    /// GSI1 partition of a tenant's users, by `<createdAt>#<externalUserId>` (exports).
    pub fn users_index_pk(tenant: &TenantId) -> String {
        format!("T#{tenant}#USERS")
    }
    /// A tenant's export audit rows, by `<createdUs, 20 digits>#<exportId>`.
    pub fn exports_pk(tenant: &TenantId) -> String {
        format!("T#{tenant}#EXPORTS")
    }
    pub fn idempotency_pk(tenant: &TenantId, scope: &str) -> String {
        format!("T#{tenant}#IDEM#{scope}")
    }
    pub const IDEMPOTENCY_SK: &str = "IDEM";
    /// GSI1 partition that finds an award by its id alone (reversals, docs/ledger.md).
    pub fn award_index_pk(tenant: &TenantId, award_id: &str) -> String {
        format!("T#{tenant}#AWARD#{award_id}")
    }
    pub const AWARD_INDEX_SK: &str = "AWARD";
    /// A coin hold (two-step purchase) in its user's partition.
    pub const HOLD_SK_PREFIX: &str = "HOLD#";
    pub fn hold_sk(hold_id: &str) -> String {
        format!("HOLD#{hold_id}")
    }
}

/// Typed reads of item attributes written by hand (amounts are exact `N` decimals).
pub mod attrs {
    use super::Item;
    use rust_decimal::Decimal;

    pub fn s<'i>(item: &'i Item, name: &str) -> Option<&'i str> {
        item.get(name)?.as_s().ok().map(String::as_str)
    }
    pub fn i64(item: &Item, name: &str) -> Option<i64> {
        item.get(name)?.as_n().ok()?.parse().ok()
    }
    pub fn u64(item: &Item, name: &str) -> Option<u64> {
        item.get(name)?.as_n().ok()?.parse().ok()
    }
    pub fn f64(item: &Item, name: &str) -> Option<f64> {
        item.get(name)?.as_n().ok()?.parse().ok()
    }
    pub fn bool(item: &Item, name: &str) -> Option<bool> {
        item.get(name)?.as_bool().ok().copied()
    }
    pub fn decimal(item: &Item, name: &str) -> Option<Decimal> {
        crate::decimal::parse(item.get(name)?.as_n().ok()?)
    }
    pub fn i64_list(item: &Item, name: &str) -> Vec<i64> {
        item.get(name)
            .and_then(|v| v.as_l().ok())
            .map(|list| {
                list.iter()
                    .filter_map(|v| v.as_n().ok()?.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The transaction was cancelled; one reason per item, in order (`None` = that item was fine).
    #[error("transaction cancelled: {reasons:?}")]
    Cancelled { reasons: Vec<CancelReason> },
    /// DynamoDB was busy, failing or silent (see [`Fault`]): 503 with Retry-After.
    #[error("DynamoDB {fault}: {message}")]
    Dependency { fault: Fault, message: String },
    /// A request DynamoDB refused as ours (validation, access): our bug, 500.
    #[error("DynamoDB request failed: {0}")]
    Request(String),
    #[error("stored item is not readable: {0}")]
    Decode(String),
}

#[derive(Debug, Clone)]
pub struct CancelReason {
    pub code: Option<String>,
    /// The item as it was, when the condition check failed (ALL_OLD).
    pub item: Option<Item>,
}

impl CancelReason {
    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some("ConditionalCheckFailed")
    }
}

impl StoreError {
    /// Index of the first transaction item whose condition failed.
    pub fn failed_condition(&self) -> Option<(usize, &CancelReason)> {
        match self {
            StoreError::Cancelled { reasons } => reasons
                .iter()
                .enumerate()
                .find(|(_, r)| r.condition_failed()),
            _ => None,
        }
    }
}

impl StoreError {
    /// The dependency's fault behind this error, if it is one: a cancellation counts when
    /// every reason is fine or a momentary refusal (a conflict, throttling), so nothing was
    /// written.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StoreError::Dependency { fault, .. } => Some(*fault),
            StoreError::Cancelled { reasons }
                if reasons.iter().any(CancelReason::busy)
                    && reasons.iter().all(|r| r.code.is_none() || r.busy()) =>
            {
                Some(Fault::Busy)
            }
            _ => None,
        }
    }
}

impl From<StoreError> for ApiError {
    /// A dependency's fault is 503 with Retry-After (`dependency_unavailable`,
    /// `dependency_timeout`); anything else is our bug (500, logged).
    fn from(error: StoreError) -> Self {
        match error.fault() {
            Some(fault) => {
                tracing::warn!(%fault, error = %error, "DynamoDB did not serve the request");
                match fault {
                    Fault::Timeout => ApiError::dependency_timeout(fault.retry_after_secs()),
                    Fault::Busy | Fault::Unavailable => {
                        ApiError::dependency_unavailable(fault.retry_after_secs())
                    }
                }
            }
            None => ApiError::internal(error),
        }
    }
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// A single-item conditional write's result: `Ok(false)` when its condition refused it (nothing
/// written), the request's error otherwise.
pub(crate) fn condition_outcome<T, E>(
    result: Result<
        T,
        aws_sdk_dynamodb::error::SdkError<E, aws_sdk_dynamodb::config::http::HttpResponse>,
    >,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    use aws_sdk_dynamodb::error::ProvideErrorMetadata as _;
    match result {
        Ok(_) => Ok(true),
        Err(error) if error.code() == Some("ConditionalCheckFailedException") => Ok(false),
        Err(error) => Err(request_error(error)),
    }
}

/// Serialises a domain value and adds its keys and entity tag.
pub fn to_item(
    value: &impl Serialize,
    entity: &str,
    keys: &[(&str, String)],
) -> Result<Item, StoreError> {
    let mut item: Item =
        serde_dynamo::to_item(value).map_err(|e| StoreError::Decode(e.to_string()))?;
    for (name, key) in keys {
        item.insert((*name).to_owned(), s(key.clone()));
    }
    item.insert("entity".into(), s(entity));
    Ok(item)
}

pub fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Decode(e.to_string()))
}

pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// A page of a query and the opaque cursor for the next one.
pub struct Page {
    pub items: Vec<Item>,
    pub next_token: Option<String>,
}

pub struct QuerySpec<'a> {
    pub index: Option<&'a str>,
    pub partition: (&'a str, String),
    pub sort_prefix: Option<(&'a str, &'a str)>,
    pub limit: i32,
    pub forward: bool,
    pub next_token: Option<&'a str>,
    /// Applied by DynamoDB after the page is read, so a page may hold fewer items.
    pub filter: Option<Filter>,
}

pub struct Filter {
    pub expression: String,
    pub names: Vec<(String, String)>,
    pub values: Vec<(String, AttributeValue)>,
}

impl Filter {
    /// Items whose text attributes each contain the given text (GAME's `LIKE %value%`);
    /// `None` when there is nothing to filter on.
    pub fn contains_all(pairs: &[(&str, String)]) -> Option<Filter> {
        let mut filter = Filter {
            expression: String::new(),
            names: Vec::new(),
            values: Vec::new(),
        };
        for (i, (attribute, value)) in pairs.iter().enumerate() {
            let clause = format!("contains(#f{i}, :f{i})");
            if i > 0 {
                filter.expression.push_str(" AND ");
            }
            filter.expression.push_str(&clause);
            filter
                .names
                .push((format!("#f{i}"), (*attribute).to_owned()));
            filter.values.push((format!(":f{i}"), s(value.as_str())));
        }
        (!pairs.is_empty()).then_some(filter)
    }
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
}

const TRANSACTION_CONFLICT_RETRIES: u32 = 8;

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table's name, for the transaction items the store modules build.
    pub fn table(&self) -> &str {
        &self.table
    }

    pub async fn get(
        &self,
        pk: impl Into<String>,
        sk: impl Into<String>,
    ) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        Ok(output.item)
    }

    /// Reads several items in one round trip; the answer is in the order of `keys`.
    pub async fn get_many(
        &self,
        keys: &[(String, String)],
    ) -> Result<Vec<Option<Item>>, StoreError> {
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        let mut pending: Vec<Item> = keys
            .iter()
            .map(|(pk, sk)| key(pk.clone(), sk.clone()))
            .collect();
        pending.dedup();
        let mut attempt = 0;
        while !pending.is_empty() {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(std::mem::take(&mut pending)))
                .consistent_read(true)
                .build()
                .map_err(|e| StoreError::Request(e.to_string()))?;
            let output = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .send()
                .await
                .map_err(request_error)?;
            for item in output
                .responses
                .unwrap_or_default()
                .remove(&self.table)
                .unwrap_or_default()
            {
                if let (Some(AttributeValue::S(pk)), Some(AttributeValue::S(sk))) =
                    (item.get(PK), item.get(SK))
                {
                    found.insert((pk.clone(), sk.clone()), item);
                }
            }
            if let Some(mut unprocessed) = output.unprocessed_keys.filter(|u| !u.is_empty()) {
                if let Some(rest) = unprocessed.remove(&self.table) {
                    pending = rest.keys;
                }
                attempt += 1;
                backoff(attempt).await;
            }
        }
        Ok(keys.iter().map(|k| found.get(k).cloned()).collect())
    }

    /// Runs a transaction once and reports every cancellation reason, for callers that decide
    /// themselves what a conflict means (the award path re-decides on fresh state).
    pub async fn transact_once(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(error) => Err(cancellation(error)),
        }
    }

    /// Runs a transaction. Items come back on condition failure (ALL_OLD) so callers can
    /// explain a conflict. A cancellation caused only by a concurrent transaction (or
    /// throttling) and a busy table wrote nothing, so they are retried a few times before
    /// being reported.
    pub async fn transact(&self, items: Vec<TransactWriteItem>) -> Result<(), StoreError> {
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let error = match result {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let error = cancellation(error);
            if error.fault() == Some(Fault::Busy) && attempt < TRANSACTION_CONFLICT_RETRIES {
                attempt += 1;
                backoff(attempt).await;
                continue;
            }
            return Err(error);
        }
    }

    pub async fn query(&self, spec: QuerySpec<'_>) -> ApiResult<Page> {
        let partition_value = spec.partition.1.clone();
        let mut names = HashMap::from([("#pk".to_owned(), spec.partition.0.to_owned())]);
        let mut values = HashMap::from([(":pk".to_owned(), s(partition_value.clone()))]);
        let mut condition = "#pk = :pk".to_owned();
        if let Some((attribute, prefix)) = spec.sort_prefix {
            names.insert("#sk".into(), attribute.to_owned());
            values.insert(":skp".into(), s(prefix));
            condition.push_str(" AND begins_with(#sk, :skp)");
        }
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(spec.index.map(str::to_owned))
            .key_condition_expression(condition)
            .limit(spec.limit)
            .scan_index_forward(spec.forward);
        if spec.index.is_none() {
            request = request.consistent_read(true);
        }
        if let Some(filter) = spec.filter {
            request = request.filter_expression(filter.expression);
            names.extend(filter.names);
            values.extend(filter.values);
        }
        if let Some(token) = spec.next_token {
            let list = CursorList {
                index: spec.index,
                partition: (spec.partition.0, &partition_value),
                sort_prefix: spec.sort_prefix,
            };
            request = request.set_exclusive_start_key(Some(decode_cursor(token, &list)?));
        }
        let output = request
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .send()
            .await
            .map_err(request_error)?;
        Ok(Page {
            items: output.items.unwrap_or_default(),
            next_token: output
                .last_evaluated_key
                .filter(|k| !k.is_empty())
                .map(|k| encode_cursor(&k)),
        })
    }

    /// Every item of a partition (optionally under a sort-key prefix), following pages.
    pub async fn query_all(&self, pk: &str, sort_prefix: Option<&str>) -> ApiResult<Vec<Item>> {
        self.query_every(None, (PK, pk.to_owned()), sort_prefix.map(|p| (SK, p)))
            .await
    }

    /// Every item a key condition selects, on the table or an index, following pages.
    pub async fn query_every(
        &self,
        index: Option<&str>,
        partition: (&str, String),
        sort_prefix: Option<(&str, &str)>,
    ) -> ApiResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .query(QuerySpec {
                    index,
                    partition: partition.clone(),
                    sort_prefix,
                    limit: 1000,
                    forward: true,
                    next_token: token.as_deref(),
                    filter: None,
                })
                .await?;
            items.extend(page.items);
            match page.next_token {
                Some(next) => token = Some(next),
                None => return Ok(items),
            }
        }
    }

    /// Up to `limit` items of an index partition whose sort key is below `below`, in order.
    pub async fn query_index_below(
        &self,
        index: &str,
        (partition_attribute, partition): (&str, &str),
        (sort_attribute, below): (&str, &str),
        limit: usize,
    ) -> ApiResult<Vec<Item>> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .key_condition_expression("#pk = :pk AND #sk < :below")
            .expression_attribute_names("#pk", partition_attribute)
            .expression_attribute_names("#sk", sort_attribute)
            .expression_attribute_values(":pk", s(partition))
            .expression_attribute_values(":below", s(below))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(request_error)?;
        Ok(output.items.unwrap_or_default())
    }

    /// One page of a full-table scan for items whose `entity` is `entity` (operator commands
    /// only: no route scans). `start` is the previous page's last key.
    pub async fn scan_entity_page(
        &self,
        entity: &str,
        start: Option<Item>,
    ) -> ApiResult<(Vec<Item>, Option<Item>)> {
        let output = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("entity = :entity")
            .expression_attribute_values(":entity", s(entity))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .map_err(request_error)?;
        Ok((
            output.items.unwrap_or_default(),
            output.last_evaluated_key.filter(|k| !k.is_empty()),
        ))
    }

    /// Writes puts and deletes in batches of 25, retrying what DynamoDB leaves unprocessed.
    pub async fn write_all(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(request_error)?;
                if let Some(rest) = output
                    .unprocessed_items
                    .and_then(|mut u| u.remove(&self.table))
                {
                    pending = rest;
                    attempt += 1;
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }

    pub async fn delete_keys(&self, keys: Vec<Item>) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map(|delete| WriteRequest::builder().delete_request(delete).build())
                    .map_err(|e| StoreError::Request(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.write_all(requests).await
    }

    /// Puts an item that must not exist yet; `false` when one does (nothing written).
    pub async fn put_new(&self, item: Item) -> Result<bool, StoreError> {
        condition_outcome(
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .send()
                .await,
        )
    }

    /// Deletes an item that must exist; `false` when there is none.
    pub async fn delete_existing(&self, key: Item) -> Result<bool, StoreError> {
        condition_outcome(
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(PK)")
                .send()
                .await,
        )
    }

    /// Sets string attributes on an existing item unless the first is already set; `false`
    /// when it was (or the item is gone).
    pub async fn set_if_absent(
        &self,
        item_key: (String, String),
        values: &[(&str, String)],
    ) -> ApiResult<bool> {
        let mut names = HashMap::new();
        let mut attribute_values = HashMap::new();
        let mut sets = Vec::new();
        for (i, (name, value)) in values.iter().enumerate() {
            names.insert(format!("#a{i}"), (*name).to_owned());
            attribute_values.insert(format!(":v{i}"), s(value.clone()));
            sets.push(format!("#a{i} = :v{i}"));
        }
        Ok(condition_outcome(
            self.client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(self::key(item_key.0, item_key.1)))
                .update_expression(format!("SET {}", sets.join(", ")))
                .condition_expression("attribute_exists(PK) AND attribute_not_exists(#a0)")
                .set_expression_attribute_names(Some(names))
                .set_expression_attribute_values(Some(attribute_values))
                .send()
                .await,
        )?)
    }

    /// Cheap data-plane probe used by the health route.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.get(keys::HEALTH_PK, keys::HEALTH_PK).await.map(|_| ())
    }
}

/// Transaction item builders, so handlers state intent rather than SDK plumbing.
pub mod tx {
    use super::*;
    use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put};

    fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, StoreError> {
        result.map_err(|e| StoreError::Request(e.to_string()))
    }

    /// Put that must not overwrite an existing item.
    pub fn put_new(table: &str, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = build(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                )
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Delete of an item that must still exist (the transaction fails if it is gone).
    pub fn delete_existing(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Put that replaces an item only if it still has the version we read.
    pub fn put_versioned(
        table: &str,
        item: Item,
        expected_version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = build(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(expected_version))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    pub fn delete_versioned(
        table: &str,
        key: Item,
        expected_version: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression("#v = :v")
                .expression_attribute_names("#v", "version")
                .expression_attribute_values(":v", n(expected_version))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Delete guarded by an attribute equality (e.g. a uniqueness marker still pointing at us).
    pub fn delete_if(
        table: &str,
        key: Item,
        attribute: &str,
        value: &str,
    ) -> Result<TransactWriteItem, StoreError> {
        let delete = build(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression("#a = :a")
                .expression_attribute_names("#a", attribute)
                .expression_attribute_values(":a", s(value))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    pub fn require_exists(table: &str, key: Item) -> Result<TransactWriteItem, StoreError> {
        let check = build(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key))
                .condition_expression("attribute_exists(PK)")
                .build(),
        )?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }
}

fn cancellation(
    error: aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        aws_sdk_dynamodb::config::http::HttpResponse,
    >,
) -> StoreError {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        return request_error(error);
    };
    StoreError::Cancelled {
        reasons: cancelled
            .cancellation_reasons()
            .iter()
            .map(|r| CancelReason {
                code: r.code().filter(|c| *c != "None").map(str::to_owned),
                item: r.item().cloned(),
            })
            .collect(),
    }
}

impl CancelReason {
    pub fn conflicted(&self) -> bool {
        self.code.as_deref() == Some("TransactionConflict")
    }

    /// A momentary refusal of this item (a conflict, throttling): nothing was written.
    pub fn busy(&self) -> bool {
        fault::busy_reason(self.code.as_deref())
    }
}

pub async fn backoff(attempt: u32) {
    // Full jitter: racing writers that collided once spread out instead of colliding again.
    let ceiling = 5u64.saturating_mul(1 << attempt.min(6));
    let jitter = getrandom::u64().unwrap_or(ceiling / 2) % ceiling.max(1);
    tokio::time::sleep(Duration::from_millis(ceiling / 2 + jitter)).await;
}

fn encode_cursor(key: &Item) -> String {
    let plain: HashMap<&str, &str> = key
        .iter()
        .filter_map(|(name, value)| value.as_s().ok().map(|v| (name.as_str(), v.as_str())))
        .collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&plain).unwrap_or_default())
}

/// What a cursor must fit: the list's index (its key schema), partition and sort-key prefix.
struct CursorList<'a> {
    index: Option<&'a str>,
    partition: (&'a str, &'a str),
    sort_prefix: Option<(&'a str, &'a str)>,
}

/// Longest `nextToken` accepted: a cursor of our keys is a few hundred characters.
const MAX_CURSOR_CHARS: usize = 4096;

/// The attributes of an ExclusiveStartKey on the table or an index (the index's key and the
/// table's), each with DynamoDB's size limit. An unknown index accepts no cursor.
fn cursor_schema(index: Option<&str>) -> &'static [(&'static str, usize)] {
    match index {
        None => &[(PK, 2048), (SK, 1024)],
        Some(GSI1) => &[(PK, 2048), (SK, 1024), (GSI1PK, 2048), (GSI1SK, 1024)],
        Some(_) => &[],
    }
}

/// A cursor is accepted only if DynamoDB would accept it as the start key of exactly this
/// list: the key attributes of the list's index and no others, all non-empty strings within
/// DynamoDB's limits, its partition (so it cannot be bent into reading another tenant's or
/// another list's items) and a sort key under the list's prefix. Anything else is the client's
/// error (400 `invalid_cursor`), checked before any request.
fn decode_cursor(token: &str, list: &CursorList<'_>) -> ApiResult<Item> {
    let invalid = || {
        ApiError::bad_request(
            "invalid_cursor",
            "nextToken is not a cursor this list issued.",
        )
    };
    if token.len() > MAX_CURSOR_CHARS {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let plain: HashMap<String, String> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let schema = cursor_schema(list.index);
    let fits = !schema.is_empty()
        && plain.len() == schema.len()
        && schema.iter().all(|(name, max)| {
            plain
                .get(*name)
                .is_some_and(|v| !v.is_empty() && v.len() <= *max)
        });
    if !fits || plain.get(list.partition.0).map(String::as_str) != Some(list.partition.1) {
        return Err(invalid());
    }
    if let Some((attribute, prefix)) = list.sort_prefix
        && !plain.get(attribute).is_some_and(|v| v.starts_with(prefix))
    {
        return Err(invalid());
    }
    Ok(plain.into_iter().map(|(k, v)| (k, s(v))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_are_bound_to_their_list() {
        let tasks = CursorList {
            index: None,
            partition: (PK, "T#a#G#1"),
            sort_prefix: Some((SK, "TASK#")),
        };
        let key: Item =
            HashMap::from([(PK.to_owned(), s("T#a#G#1")), (SK.to_owned(), s("TASK#x"))]);
        let token = encode_cursor(&key);
        assert_eq!(decode_cursor(&token, &tasks).unwrap(), key);
        let other_tenant = CursorList {
            partition: (PK, "T#b#G#1"),
            ..tasks
        };
        assert_eq!(
            decode_cursor(&token, &other_tenant).unwrap_err().code,
            "invalid_cursor"
        );
        let ledger = CursorList {
            sort_prefix: Some((SK, "LEDGER#")),
            ..tasks
        };
        assert!(
            decode_cursor(&token, &ledger).is_err(),
            "outside the prefix"
        );
        let index = CursorList {
            index: Some(GSI1),
            partition: (GSI1PK, "T#a#G#1"),
            sort_prefix: None,
        };
        assert!(
            decode_cursor(&token, &index).is_err(),
            "the table's keys only"
        );
        assert_eq!(
            decode_cursor("%%%", &tasks).unwrap_err().code,
            "invalid_cursor"
        );
        for forged in [
            r#"{"PK":"T#a#G#1","SK":"TASK#x","secret":"x"}"#,
            r#"{"PK":"T#a#G#1"}"#,
            r#"{"PK":"T#a#G#1","SK":""}"#,
            r#"{"PK":"T#a#G#1","SK":5}"#,
            r#"["PK"]"#,
        ] {
            let token = URL_SAFE_NO_PAD.encode(forged);
            assert!(decode_cursor(&token, &tasks).is_err(), "{forged}");
        }
    }
}
