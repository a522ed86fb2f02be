//! The correctable ledger (docs/api.md, "Ledger"): reversals, adjustments, transfers,
//! spending, holds, and the wallet's full history. Amounts are exact decimals sent and
//! answered as JSON numbers (numeric text is accepted in requests), as everywhere in the API.

use super::common::PageInfo;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// `POST /awards/{awardId}/reversal` (admin).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"amount": 10, "reason": "duplicate event"}))]
pub struct ReverseBody {
    /// Points to take back, at most what remains of the award (default: all of it).
    #[serde(default)]
    #[schema(value_type = Option<f64>, exclusive_minimum = 0)]
    pub amount: Option<Value>,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Take the points back even when the wallet no longer holds them (the balance goes
    /// below zero, visibly).
    #[serde(default)]
    pub allow_negative: bool,
}

/// `POST /users/{externalUserId}/adjustments` (admin).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"currency": "points", "amount": -5, "reason": "correction"}))]
pub struct AdjustBody {
    /// `points` (default) or `coins`.
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "points")]
    pub currency: Option<String>,
    /// Signed, non-zero.
    #[schema(value_type = f64)]
    pub amount: Value,
    /// Mandatory: goodwill, correction, migration...
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
    /// Let a negative adjustment take the balance below zero.
    #[serde(default)]
    pub allow_negative: bool,
}

/// `POST /users/{externalUserId}/transfers` (admin): from this user to `toExternalUserId`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"toExternalUserId": "bob", "currency": "coins", "amount": 2}))]
pub struct TransferBody {
    pub to_external_user_id: String,
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "points")]
    pub currency: Option<String>,
    #[schema(value_type = f64, exclusive_minimum = 0)]
    pub amount: Value,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// `POST /users/{externalUserId}/spend` and `…/holds`: coins for an external item.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(example = json!({"itemId": "sku-42", "price": 3}))]
pub struct SpendBody {
    /// The client's id of what is bought.
    #[schema(min_length = 1, max_length = 500)]
    pub item_id: String,
    /// Coins, greater than 0, at most 12 decimals.
    #[schema(value_type = f64, exclusive_minimum = 0)]
    pub price: Value,
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
    /// Holds only: seconds until the hold expires and releases its coins (default 900, at
    /// most 86400).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub ttl_seconds: Option<i64>,
}

/// `POST …/holds/{holdId}/capture` and `…/void`: an optional body.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CloseBody {
    #[serde(default)]
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

/// One ledger entry: signed deltas, the balances after it, what it links to, who did it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HistoryEntry {
    pub id: String,
    /// `AssignPoints`, `ConvertPointsToCoins`, `ReverseAward`, `Adjust`, `TransferOut`,
    /// `TransferIn`, `Spend`, `Hold`, `Capture`, `Void`, `HoldExpired`.
    pub transaction_type: String,
    pub created_at: String,
    /// What the entry adds to the points balance (negative: taken).
    #[schema(value_type = f64)]
    pub points: Value,
    #[schema(value_type = f64)]
    pub coins: Value,
    /// What it adds to the coins held by open holds.
    #[schema(value_type = f64)]
    pub held_coins: Value,
    /// The balances right after this entry (null on entries written before they were kept).
    #[schema(value_type = Option<f64>)]
    pub points_after: Option<Value>,
    #[schema(value_type = Option<f64>)]
    pub coins_after: Option<Value>,
    #[schema(value_type = Option<f64>)]
    pub held_coins_after: Option<Value>,
    /// The entry this one answers: a transfer's other side, the hold a capture settles.
    pub linked_entry_id: Option<String>,
    /// The award an `AssignPoints` entry records or a `ReverseAward` entry takes back.
    pub award_id: Option<String>,
    pub game_id: Option<String>,
    pub external_task_id: Option<String>,
    /// The other user of a transfer.
    pub counterparty: Option<String>,
    pub item_id: Option<String>,
    pub hold_id: Option<String>,
    /// `key:<API key prefix>` or `sub:<token subject>` (null on awards and conversions).
    pub actor: Option<String>,
    pub reason: Option<String>,
    /// What an award or conversion entry records.
    pub data: Value,
}

/// A wallet after the operation.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WalletAfter {
    pub external_user_id: String,
    #[schema(value_type = f64)]
    pub points_balance: Value,
    /// Coins available (held coins excluded).
    #[schema(value_type = f64)]
    pub coins_balance: Value,
    #[schema(value_type = f64)]
    pub held_coins: Value,
}

/// The award a reversal touched.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReversalView {
    pub award_id: String,
    #[schema(value_type = f64)]
    pub points: Value,
    #[schema(value_type = f64)]
    pub reversed_points: Value,
    #[schema(value_type = f64)]
    pub remaining_points: Value,
    /// True once nothing remains.
    pub reversed: bool,
    /// The ids of its reversal entries, oldest first.
    pub reversal_ids: Vec<String>,
}

/// A hold.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HoldView {
    pub hold_id: String,
    pub external_user_id: String,
    pub item_id: String,
    #[schema(value_type = f64)]
    pub amount: Value,
    /// `open`, `captured`, `voided` or `expired`.
    pub status: String,
    pub expires_at: String,
}

/// What a ledger operation wrote: its entries (in order), the wallets after it, and the
/// award or hold it concerned.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerResult {
    pub entries: Vec<HistoryEntry>,
    pub wallets: Vec<WalletAfter>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub award: Option<ReversalView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hold: Option<HoldView>,
}

/// `GET /users/{externalUserId}/ledger`: the wallet and every entry, oldest first, paged.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LedgerHistory {
    pub wallet: WalletAfter,
    pub entries: Vec<HistoryEntry>,
    #[serde(flatten)]
    pub page: PageInfo,
}
