//! Users: actions (`POST /users/{externalUserId}/actions`) and wallets (`…/wallet`,
//! `…/convert/preview`, `…/convert`).

use super::common::PageInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /users/{externalUserId}/actions`: logs an action, creating the user if needed.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(example = json!({"typeAction": "opened_app", "data": {"screen": "home"}}))]
pub struct UserActionBody {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub type_action: String,
    /// A JSON object, stored as sent (default `{}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub data: Option<Value>,
    #[serde(default)]
    pub description: Option<String>,
}

/// The logged user action.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserActionCreated {
    pub id: String,
    pub type_action: String,
    pub description: Option<String>,
    /// The externalUserId.
    pub user_id: String,
    /// True when this action created the user.
    #[serde(rename = "is_user_created")]
    pub is_user_created: bool,
    /// `Action added successfully`.
    pub message: String,
}

/// A wallet's balances.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletBalances {
    #[schema(value_type = f64)]
    pub points_balance: Value,
    #[schema(value_type = f64)]
    pub coins_balance: Value,
    /// Points per coin.
    pub conversion_rate: i64,
}

/// One ledger entry: an award's points or a conversion.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerEntryView {
    pub id: Option<String>,
    #[serde(rename = "created_at")]
    pub created_at: Option<String>,
    /// `AssignPoints`, `ConvertPointsToCoins` (both amounts positive), or a ledger operation's
    /// type with signed amounts (`ReverseAward`, `Adjust`, `TransferOut`, …: docs/ledger.md;
    /// `GET /users/{externalUserId}/ledger` shows every entry signed, with its balances after).
    pub transaction_type: Option<String>,
    #[schema(value_type = f64)]
    pub points: Value,
    #[schema(value_type = f64)]
    pub coins: Value,
    #[schema(value_type = f64)]
    pub applied_conversion_rate: Value,
    /// What the entry records (e.g. the wallet before a conversion).
    pub data: Value,
}

/// `GET /users/{externalUserId}/wallet`: balances and the ledger, newest first, paged.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletView {
    pub user_id: String,
    pub wallet: WalletBalances,
    pub wallet_transactions: Vec<LedgerEntryView>,
    #[serde(flatten)]
    pub page: PageInfo,
}

/// `POST /users/{externalUserId}/convert`. Idempotent with an `Idempotency-Key` header.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(example = json!({"points": 100}))]
pub struct ConvertBody {
    /// Points to convert: a number (or numeric text) greater than 0, at most 6 decimals.
    #[schema(value_type = f64, exclusive_minimum = 0)]
    pub points: Value,
}

/// What a conversion gives (`…/convert/preview`), or gave (`…/convert`, with its
/// `transactionId`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conversion {
    #[schema(value_type = f64)]
    pub points: Value,
    pub conversion_rate: i64,
    /// When the rate was set (the wallet's creation).
    pub conversion_rate_date: String,
    /// Coins, rounded toward zero to 12 decimals.
    #[schema(value_type = f64)]
    pub converted_amount: Value,
    /// Always `coins`.
    pub converted_currency: String,
    pub have_enough_points: bool,
    /// The ledger entry of a conversion (absent from a preview).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}
