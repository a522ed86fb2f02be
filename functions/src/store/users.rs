//! Users and their wallets (`T#<tenant>#U#<externalUserId>` / `USER`), and their ledger entries
//! (same partition, `LEDGER#<id>`): immutable, one per balance change.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::{self, Item, PK, QuerySpec, SK, Store, StoreError, attrs, keys};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use rust_decimal::Decimal;
use serde_json::Value;

/// Points per coin for a user no conversion rate was set for (GAME's default).
pub const DEFAULT_CONVERSION_RATE: i64 = 100;

/// A user with the wallet it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub external_user_id: ExternalId,
    pub created_at: String,
    pub points_balance: Decimal,
    pub coins_balance: Decimal,
    pub conversion_rate: i64,
}

impl UserRecord {
    pub fn from_item(item: &Item) -> Option<UserRecord> {
        Some(UserRecord {
            external_user_id: ExternalId::try_new(attrs::s(item, "externalUserId")?).ok()?,
            created_at: attrs::s(item, "createdAt")?.to_owned(),
            points_balance: attrs::decimal(item, "pointsBalance").unwrap_or_default(),
            coins_balance: attrs::decimal(item, "coinsBalance").unwrap_or_default(),
            conversion_rate: attrs::i64(item, "conversionRate").unwrap_or(DEFAULT_CONVERSION_RATE),
        })
    }

    /// The item of a user created with its first award.
    pub fn to_item(&self, key: &(String, String)) -> Item {
        let mut item = store::key(key.0.clone(), key.1.clone());
        for (name, value) in [
            ("entity", store::s("user")),
            ("externalUserId", store::s(self.external_user_id.as_str())),
            ("createdAt", store::s(self.created_at.clone())),
            ("pointsBalance", decimal::attribute(self.points_balance)),
            ("coinsBalance", decimal::attribute(self.coins_balance)),
            ("conversionRate", store::n(self.conversion_rate)),
        ] {
            item.insert(name.into(), value);
        }
        // The tenant's users by creation time (GSI1), for the users export.
        if let Some((tenant_prefix, _)) = key.0.rsplit_once("#U#") {
            item.insert(
                store::GSI1PK.into(),
                store::s(format!("{tenant_prefix}#USERS")),
            );
            item.insert(
                store::GSI1SK.into(),
                store::s(format!("{}#{}", self.created_at, self.external_user_id)),
            );
        }
        item
    }
}

/// One immutable balance change (GAME's `UserPointsTransaction` / wallet transaction).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEntry {
    pub id: String,
    /// GAME's transaction types: `AssignPoints`, `ConvertPoints`.
    pub transaction_type: &'static str,
    pub points: Decimal,
    pub coins: Decimal,
    pub applied_conversion_rate: i64,
    pub award_id: Option<String>,
    pub game_id: Option<GameId>,
    pub external_task_id: Option<TaskId>,
    pub data: Option<Value>,
    pub created_at: String,
}

impl LedgerEntry {
    pub fn to_item(&self, user_pk: &str) -> Item {
        let mut item = store::key(user_pk.to_owned(), keys::ledger_sk(&self.id));
        for (name, value) in [
            ("entity", store::s("ledger")),
            ("id", store::s(self.id.clone())),
            ("transactionType", store::s(self.transaction_type)),
            ("points", decimal::attribute(self.points)),
            ("coins", decimal::attribute(self.coins)),
            (
                "appliedConversionRate",
                store::n(self.applied_conversion_rate),
            ),
            ("createdAt", store::s(self.created_at.clone())),
        ] {
            item.insert(name.into(), value);
        }
        for (name, value) in [
            ("awardId", self.award_id.as_deref()),
            ("gameId", self.game_id.as_deref()),
            ("externalTaskId", self.external_task_id.as_deref()),
        ] {
            if let Some(value) = value {
                item.insert(name.into(), store::s(value));
            }
        }
        if let Some(data) = &self.data {
            item.insert("data".into(), store::client_data::attribute(data));
        }
        item
    }
}

pub fn user_not_found(external_user_id: &str) -> ApiError {
    ApiError::not_found(
        "user_not_found",
        format!("User not found with externalUserId: {external_user_id}"),
    )
}

/// The user and wallet, or 404. An id that breaks GAME's slug rule cannot exist: no read.
pub async fn load_user(
    store: &Store,
    tenant: &TenantId,
    external_user_id: &str,
) -> ApiResult<UserRecord> {
    let Ok(user_id) = ExternalId::try_new(external_user_id) else {
        return Err(user_not_found(external_user_id));
    };
    let item = store
        .get(keys::user_pk(tenant, &user_id), keys::USER_SK)
        .await?
        .ok_or_else(|| user_not_found(external_user_id))?;
    UserRecord::from_item(&item).ok_or_else(|| ApiError::internal("unreadable user item"))
}

/// A ledger entry as read back for the wallet route (the read side of [`LedgerEntry`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerRow {
    pub id: Option<String>,
    pub created_at: Option<String>,
    pub transaction_type: Option<String>,
    pub points: Decimal,
    pub coins: Decimal,
    pub applied_conversion_rate: Decimal,
    pub data: serde_json::Value,
}

impl LedgerRow {
    fn from_item(item: &Item) -> Self {
        let text = |name| attrs::s(item, name).map(str::to_owned);
        let amount = |name| attrs::decimal(item, name).unwrap_or_default();
        LedgerRow {
            id: text("id"),
            created_at: text("createdAt"),
            transaction_type: text("transactionType"),
            points: amount("points"),
            coins: amount("coins"),
            applied_conversion_rate: amount("appliedConversionRate"),
            data: store::client_data::read(item, "data"),
        }
    }
}

/// One page of the user's ledger, newest first, and the token of the next page.
pub async fn ledger_page(
    store: &Store,
    tenant: &TenantId,
    external_user_id: &ExternalId,
    page_size: i32,
    next_token: Option<&str>,
) -> ApiResult<(Vec<LedgerRow>, Option<String>)> {
    let page = store
        .query(QuerySpec {
            index: None,
            partition: (PK, keys::user_pk(tenant, external_user_id)),
            sort_prefix: Some((SK, keys::LEDGER_SK_PREFIX)),
            limit: page_size,
            forward: false,
            next_token,
            filter: None,
        })
        .await?;
    Ok((
        page.items.iter().map(LedgerRow::from_item).collect(),
        page.next_token,
    ))
}

/// A conversion's writes: the wallet moves points to coins only while it holds the points
/// (the condition is in the write), and its ledger entry is added.
pub fn conversion_items(
    table: &str,
    user_key: &(String, String),
    points: Decimal,
    coins: Decimal,
    ledger: &LedgerEntry,
) -> Result<Vec<TransactWriteItem>, StoreError> {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(store::key(user_key.0.clone(), user_key.1.clone())))
        .update_expression(
            "SET pointsBalance = pointsBalance - :p, coinsBalance = coinsBalance + :c",
        )
        .condition_expression("pointsBalance >= :p")
        .expression_attribute_values(":p", decimal::attribute(points))
        .expression_attribute_values(":c", decimal::attribute(coins))
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(ledger.to_item(&user_key.0)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(vec![
        TransactWriteItem::builder().update(update).build(),
        TransactWriteItem::builder().put(put).build(),
    ])
}
