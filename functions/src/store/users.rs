//! Users and their wallets (`T#<tenant>#U#<externalUserId>` / `USER`), and their ledger entries
//! (same partition, `LEDGER#<id>`): immutable, one per balance change.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, Item, Store, attrs, keys};
use rust_decimal::Decimal;
use serde_json::Value;

/// Points per coin for a user no conversion rate was set for (GAME's default).
pub const DEFAULT_CONVERSION_RATE: i64 = 100;

/// A user with the wallet it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub external_user_id: String,
    pub created_at: String,
    pub points_balance: Decimal,
    pub coins_balance: Decimal,
    pub conversion_rate: i64,
}

impl UserRecord {
    pub fn from_item(item: &Item) -> Option<UserRecord> {
        Some(UserRecord {
            external_user_id: attrs::s(item, "externalUserId")?.to_owned(),
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
            ("externalUserId", store::s(self.external_user_id.clone())),
            ("createdAt", store::s(self.created_at.clone())),
            ("pointsBalance", decimal::attribute(self.points_balance)),
            ("coinsBalance", decimal::attribute(self.coins_balance)),
            ("conversionRate", store::n(self.conversion_rate)),
        ] {
            item.insert(name.into(), value);
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
    pub game_id: Option<String>,
    pub external_task_id: Option<String>,
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
            ("awardId", &self.award_id),
            ("gameId", &self.game_id),
            ("externalTaskId", &self.external_task_id),
        ] {
            if let Some(value) = value {
                item.insert(name.into(), store::s(value.clone()));
            }
        }
        if let Some(data) = &self.data {
            item.insert("data".into(), store::json_attribute(data));
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
    tenant: &str,
    external_user_id: &str,
) -> ApiResult<UserRecord> {
    if crate::ids::validate_slug("externalUserId", external_user_id).is_err() {
        return Err(user_not_found(external_user_id));
    }
    let item = store
        .get(keys::user_pk(tenant, external_user_id), keys::USER_SK)
        .await?
        .ok_or_else(|| user_not_found(external_user_id))?;
    UserRecord::from_item(&item).ok_or_else(|| ApiError::internal("unreadable user item"))
}
