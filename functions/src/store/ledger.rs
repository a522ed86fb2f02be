//! The correctable ledger's items (docs/data-model.md, "Ledger"): the wallet's balances as a
//! conditioned state, ledger entries with the balances after them, coin holds, and the
//! writes a correction commits (`LedgerWrite`), turned into one TransactWriteItems here.
//!
//! Every wallet write is conditioned on the exact balances the decision read, so the
//! `pointsAfter` / `coinsAfter` an entry records are exact, and a balance the decision refused
//! to take below zero cannot go there through a concurrent write.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, IdempotencyKey, TaskId, TenantId};
use crate::store::{self, Filter, Item, PK, QuerySpec, SK, Store, attrs, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;

pub type Key = (String, String);

/// Signed amounts of a wallet: posted points and coins, and coins held by open holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Balances {
    pub points: Decimal,
    pub coins: Decimal,
    pub held: Decimal,
}

impl Balances {
    pub fn plus(self, delta: Balances) -> Balances {
        Balances {
            points: self.points + delta.points,
            coins: self.coins + delta.coins,
            held: self.held + delta.held,
        }
    }
}

/// A wallet as read: its balances, and whether `heldCoins` exists yet (the condition must
/// name what was read, absent included).
#[derive(Debug, Clone, PartialEq)]
pub struct WalletState {
    pub external_user_id: ExternalId,
    pub balances: Balances,
    pub held_present: bool,
}

impl WalletState {
    pub fn from_item(item: &Item) -> Option<WalletState> {
        Some(WalletState {
            external_user_id: ExternalId::try_new(attrs::s(item, "externalUserId")?).ok()?,
            balances: Balances {
                points: attrs::decimal(item, "pointsBalance").unwrap_or_default(),
                coins: attrs::decimal(item, "coinsBalance").unwrap_or_default(),
                held: attrs::decimal(item, "heldCoins").unwrap_or_default(),
            },
            held_present: item.contains_key("heldCoins"),
        })
    }
}

pub fn user_key(tenant: &TenantId, user: &ExternalId) -> Key {
    (keys::user_pk(tenant, user), keys::USER_SK.to_owned())
}

pub fn hold_key(tenant: &TenantId, user: &ExternalId, hold_id: &str) -> Key {
    (keys::user_pk(tenant, user), keys::hold_sk(hold_id))
}

const DAY_US: i64 = 86_400_000_000;

/// GSI1 partition of the open holds that expire on one UTC day (days since the epoch): the
/// sweeper reads the last few days' (docs/ledger.md, "Holds").
fn open_holds_pk(day: i64) -> String {
    format!("OPENHOLDS#{day}")
}

/// Ordered by expiry, then who: `<expiresUs, 20 digits>#<tenant>#<user>#<holdId>`.
fn open_hold_sk(tenant: &TenantId, user: &ExternalId, hold_id: &str, expires_us: i64) -> String {
    format!("{expires_us:020}#{tenant}#{user}#{hold_id}")
}

/// An open hold the index lists as expired: whose it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiredHold {
    pub tenant: TenantId,
    pub user: ExternalId,
    pub hold_id: String,
}

/// Open holds that expired before `now_us`, from the index of the `days` UTC days up to today
/// (eventually consistent: the sweeper re-reads each hold before releasing it), at most `limit`.
pub async fn expired_holds(
    store: &Store,
    now_us: i64,
    days: i64,
    limit: usize,
) -> ApiResult<Vec<ExpiredHold>> {
    let today = now_us.div_euclid(DAY_US);
    let below = format!("{now_us:020}");
    let mut found = Vec::new();
    for day in (today - days + 1)..=today {
        let items = store
            .query_index_below(
                store::GSI1,
                (store::GSI1PK, &open_holds_pk(day)),
                (store::GSI1SK, &below),
                limit,
            )
            .await?;
        for item in &items {
            let parsed = attrs::s(item, store::GSI1SK).and_then(|sk| {
                let mut parts = sk.splitn(4, '#').skip(1);
                Some(ExpiredHold {
                    tenant: TenantId::try_new(parts.next()?).ok()?,
                    user: ExternalId::try_new(parts.next()?).ok()?,
                    hold_id: parts.next()?.to_owned(),
                })
            });
            found.extend(parsed);
            if found.len() >= limit {
                return Ok(found);
            }
        }
    }
    Ok(found)
}

/// The kinds of entries a correction writes (the award writes `AssignPoints`, the conversion
/// `ConvertPointsToCoins`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    ReverseAward,
    Adjust,
    TransferOut,
    TransferIn,
    Spend,
    Hold,
    Capture,
    Void,
    HoldExpired,
}

impl EntryKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            EntryKind::ReverseAward => "ReverseAward",
            EntryKind::Adjust => "Adjust",
            EntryKind::TransferOut => "TransferOut",
            EntryKind::TransferIn => "TransferIn",
            EntryKind::Spend => "Spend",
            EntryKind::Hold => "Hold",
            EntryKind::Capture => "Capture",
            EntryKind::Void => "Void",
            EntryKind::HoldExpired => "HoldExpired",
        }
    }
}

/// One immutable ledger entry of a correction: signed deltas and the balances after it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    pub id: String,
    pub kind: Option<EntryKind>,
    pub user: Option<ExternalId>,
    pub delta: Balances,
    pub after: Balances,
    /// The entry this one answers (a transfer's other side, the hold a capture settles).
    pub linked_entry_id: Option<String>,
    pub award_id: Option<String>,
    pub game_id: Option<GameId>,
    pub external_task_id: Option<TaskId>,
    pub counterparty: Option<ExternalId>,
    pub item_id: Option<String>,
    pub hold_id: Option<String>,
    /// Who did it: `key:<prefix>` or `sub:<token subject>`.
    pub actor: String,
    pub reason: Option<String>,
    pub created_at: String,
}

impl Entry {
    fn to_item(&self, tenant: &TenantId) -> ApiResult<Item> {
        let user = self
            .user
            .as_ref()
            .ok_or_else(|| ApiError::internal("ledger entry without its user"))?;
        let kind = self
            .kind
            .ok_or_else(|| ApiError::internal("ledger entry without its kind"))?;
        let mut item = store::key(keys::user_pk(tenant, user), keys::ledger_sk(&self.id));
        for (name, value) in [
            ("entity", store::s("ledger")),
            ("id", store::s(self.id.clone())),
            ("transactionType", store::s(kind.as_str())),
            // Signed: what the entry adds to each balance.
            ("points", decimal::attribute(self.delta.points)),
            ("coins", decimal::attribute(self.delta.coins)),
            ("heldCoins", decimal::attribute(self.delta.held)),
            ("pointsAfter", decimal::attribute(self.after.points)),
            ("coinsAfter", decimal::attribute(self.after.coins)),
            ("heldCoinsAfter", decimal::attribute(self.after.held)),
            ("appliedConversionRate", store::n(0)),
            ("actor", store::s(self.actor.clone())),
            ("createdAt", store::s(self.created_at.clone())),
        ] {
            item.insert(name.into(), value);
        }
        for (name, value) in [
            ("linkedEntryId", self.linked_entry_id.as_deref()),
            ("awardId", self.award_id.as_deref()),
            ("gameId", self.game_id.as_deref()),
            ("externalTaskId", self.external_task_id.as_deref()),
            ("counterparty", self.counterparty.as_deref()),
            ("itemId", self.item_id.as_deref()),
            ("holdId", self.hold_id.as_deref()),
            ("reason", self.reason.as_deref()),
        ] {
            if let Some(value) = value {
                item.insert(name.into(), store::s(value));
            }
        }
        Ok(item)
    }
}

/// A ledger entry as read back, of any kind (the award's and the conversion's included),
/// normalised to signed deltas.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryRow {
    pub id: String,
    pub transaction_type: String,
    pub delta: Balances,
    /// Absent on entries written before balances-after were recorded.
    pub points_after: Option<Decimal>,
    pub coins_after: Option<Decimal>,
    pub held_after: Option<Decimal>,
    pub linked_entry_id: Option<String>,
    pub award_id: Option<String>,
    pub game_id: Option<String>,
    pub external_task_id: Option<String>,
    pub counterparty: Option<String>,
    pub item_id: Option<String>,
    pub hold_id: Option<String>,
    pub actor: Option<String>,
    pub reason: Option<String>,
    pub created_at: String,
    pub data: Value,
}

impl EntryRow {
    pub fn from_item(item: &Item) -> EntryRow {
        let text = |name| attrs::s(item, name).map(str::to_owned);
        let amount = |name| attrs::decimal(item, name).unwrap_or_default();
        let transaction_type = text("transactionType").unwrap_or_default();
        let delta = match transaction_type.as_str() {
            // The conversion stores both amounts positive: points out, coins in.
            "ConvertPointsToCoins" => Balances {
                points: -amount("points"),
                coins: amount("coins"),
                held: Decimal::ZERO,
            },
            _ => Balances {
                points: amount("points"),
                coins: amount("coins"),
                held: amount("heldCoins"),
            },
        };
        EntryRow {
            id: text("id").unwrap_or_default(),
            transaction_type,
            delta,
            points_after: attrs::decimal(item, "pointsAfter"),
            coins_after: attrs::decimal(item, "coinsAfter"),
            held_after: attrs::decimal(item, "heldCoinsAfter"),
            linked_entry_id: text("linkedEntryId"),
            award_id: text("awardId"),
            game_id: text("gameId"),
            external_task_id: text("externalTaskId"),
            counterparty: text("counterparty"),
            item_id: text("itemId"),
            hold_id: text("holdId"),
            actor: text("actor"),
            reason: text("reason"),
            created_at: text("createdAt").unwrap_or_default(),
            data: store::client_data::read(item, "data"),
        }
    }
}

/// A coin hold: coins moved from the balance to `heldCoins` until captured, voided or expired.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub hold_id: String,
    pub user: ExternalId,
    pub item_id: String,
    pub amount: Decimal,
    /// `open`, `captured`, `voided` or `expired`.
    pub status: String,
    pub expires_us: i64,
    pub hold_entry_id: String,
    pub created_at: String,
}

impl Hold {
    pub fn from_item(item: &Item) -> Option<Hold> {
        Some(Hold {
            hold_id: attrs::s(item, "holdId")?.to_owned(),
            user: ExternalId::try_new(attrs::s(item, "externalUserId")?).ok()?,
            item_id: attrs::s(item, "itemId")?.to_owned(),
            amount: attrs::decimal(item, "amount")?,
            status: attrs::s(item, "status")?.to_owned(),
            expires_us: attrs::i64(item, "holdExpiresUs")?,
            hold_entry_id: attrs::s(item, "holdEntryId").unwrap_or_default().to_owned(),
            created_at: attrs::s(item, "createdAt").unwrap_or_default().to_owned(),
        })
    }

    pub fn is_open(&self) -> bool {
        self.status == "open"
    }
}

/// An award as a reversal reads it (through GSI1, then consistently by its key).
#[derive(Debug, Clone, PartialEq)]
pub struct AwardState {
    pub key: Key,
    pub award_id: String,
    pub game_id: GameId,
    pub external_task_id: TaskId,
    pub external_user_id: ExternalId,
    pub points: Decimal,
    /// What earlier reversals took back (absent: none).
    pub reversed_points: Option<Decimal>,
    pub reversal_ids: Vec<String>,
    pub created_us: i64,
    /// The boards that counted the award; `None` on awards stored before awards recorded it.
    pub counted_boards: Option<Vec<String>>,
    /// Whether progression counted the award (`false` also on awards that predate the record).
    pub counted_progression: bool,
}

impl AwardState {
    pub fn from_item(item: &Item) -> Option<AwardState> {
        Some(AwardState {
            key: (
                attrs::s(item, PK)?.to_owned(),
                attrs::s(item, SK)?.to_owned(),
            ),
            award_id: attrs::s(item, "awardId")?.to_owned(),
            game_id: GameId::try_new(attrs::s(item, "gameId")?).ok()?,
            external_task_id: TaskId::try_new(attrs::s(item, "externalTaskId")?).ok()?,
            external_user_id: ExternalId::try_new(attrs::s(item, "externalUserId")?).ok()?,
            points: attrs::decimal(item, "points").unwrap_or_default(),
            reversed_points: attrs::decimal(item, "reversedPoints"),
            reversal_ids: match item.get("reversalIds") {
                Some(AttributeValue::L(list)) => {
                    list.iter().filter_map(|v| v.as_s().ok().cloned()).collect()
                }
                _ => Vec::new(),
            },
            created_us: attrs::i64(item, "createdUs").unwrap_or_default(),
            counted_boards: match item.get("countedBoards") {
                Some(AttributeValue::L(list)) => {
                    Some(list.iter().filter_map(|v| v.as_s().ok().cloned()).collect())
                }
                _ => None,
            },
            counted_progression: matches!(
                item.get("countedProgression"),
                Some(AttributeValue::Bool(true))
            ),
        })
    }

    /// The user's aggregate on the award's task (whose `pointsTotal` a reversal reduces).
    pub fn user_task_key(&self, tenant: &TenantId) -> Key {
        (
            keys::task_awards_pk(tenant, &self.game_id, &self.external_task_id),
            keys::user_task_sk(&self.external_user_id),
        )
    }
}

/// What [`backfill_indexes`] did: items seen and given their GSI1 key, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfill {
    pub awards: u64,
    pub awards_indexed: u64,
    pub users: u64,
    pub users_indexed: u64,
}

/// Gives items stored before their GSI1 listing existed their key: awards (`T#<tenant>#AWARD#
/// <id>`, so `POST /awards/{awardId}/reversal` finds them) and users (`T#<tenant>#USERS` /
/// `<createdAt>#<user>`, so the users export lists them). A scan per kind, one conditional
/// UpdateItem per item without the key: safe to rerun and to run while the API writes (new
/// items carry their keys; the condition never overwrites one).
pub async fn backfill_indexes(store: &Store) -> ApiResult<Backfill> {
    let mut done = Backfill::default();
    for entity in ["award", "user"] {
        let mut start = None;
        loop {
            let (items, next) = store.scan_entity_page(entity, start).await?;
            for item in &items {
                let (total, fresh) = if entity == "award" {
                    (&mut done.awards, &mut done.awards_indexed)
                } else {
                    (&mut done.users, &mut done.users_indexed)
                };
                *total += 1;
                if item.contains_key(store::GSI1PK) {
                    continue;
                }
                let Some(keys) = index_keys(entity, item) else {
                    continue;
                };
                let (Some(pk), Some(sk)) = (attrs::s(item, PK), attrs::s(item, SK)) else {
                    continue;
                };
                let values = [(store::GSI1PK, keys.0), (store::GSI1SK, keys.1)];
                if store
                    .set_if_absent((pk.to_owned(), sk.to_owned()), &values)
                    .await?
                {
                    *fresh += 1;
                }
            }
            match next {
                Some(key) => start = Some(key),
                None => break,
            }
        }
    }
    Ok(done)
}

/// The GSI1 key an award or user item gets (as the writes that create them set it).
fn index_keys(entity: &str, item: &Item) -> Option<(String, String)> {
    // Every key starts `T#<tenant>#` and a tenant holds no `#`.
    let tenant = attrs::s(item, PK)?
        .strip_prefix("T#")?
        .split('#')
        .next()
        .and_then(|t| TenantId::try_new(t).ok())?;
    match entity {
        "award" => Some((
            keys::award_index_pk(&tenant, attrs::s(item, "awardId")?),
            keys::AWARD_INDEX_SK.to_owned(),
        )),
        _ => Some((
            keys::users_index_pk(&tenant),
            format!(
                "{}#{}",
                attrs::s(item, "createdAt")?,
                attrs::s(item, "externalUserId")?
            ),
        )),
    }
}

/// The award from its id, as GSI1 has it (eventually consistent: the attempts re-read it
/// consistently by its key; its user, game and task never change). None: no such award in
/// this tenant.
pub async fn find_award(
    store: &Store,
    tenant: &TenantId,
    award_id: &str,
) -> ApiResult<Option<AwardState>> {
    let items = store
        .query_every(
            Some(store::GSI1),
            (store::GSI1PK, keys::award_index_pk(tenant, award_id)),
            None,
        )
        .await?;
    Ok(items.first().and_then(AwardState::from_item))
}

/// A user's open holds (every hold is read and filtered by DynamoDB: closed ones are not
/// returned, though they are read).
pub async fn open_holds(
    store: &Store,
    tenant: &TenantId,
    user: &ExternalId,
) -> ApiResult<Vec<Hold>> {
    let mut holds = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = store
            .query(QuerySpec {
                index: None,
                partition: (PK, keys::user_pk(tenant, user)),
                sort_prefix: Some((SK, keys::HOLD_SK_PREFIX)),
                limit: 100,
                forward: true,
                next_token: token.as_deref(),
                filter: Some(Filter {
                    expression: "#status = :open".into(),
                    names: vec![("#status".into(), "status".into())],
                    values: vec![(":open".into(), store::s("open"))],
                }),
            })
            .await?;
        holds.extend(page.items.iter().filter_map(Hold::from_item));
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok(holds),
        }
    }
}

/// One page of a user's ledger, oldest first (an export reads it to the end).
pub async fn history_page(
    store: &Store,
    tenant: &TenantId,
    user: &ExternalId,
    page_size: i32,
    next_token: Option<&str>,
) -> ApiResult<(Vec<EntryRow>, Option<String>)> {
    let page = store
        .query(QuerySpec {
            index: None,
            partition: (PK, keys::user_pk(tenant, user)),
            sort_prefix: Some((SK, keys::LEDGER_SK_PREFIX)),
            limit: page_size,
            forward: true,
            next_token,
            filter: None,
        })
        .await?;
    Ok((
        page.items.iter().map(EntryRow::from_item).collect(),
        page.next_token,
    ))
}

/// Every entry of a user's ledger, oldest first (the invariant checker reads them all).
pub async fn all_entries(
    store: &Store,
    tenant: &TenantId,
    user: &ExternalId,
) -> ApiResult<Vec<EntryRow>> {
    let items = store
        .query_all(&keys::user_pk(tenant, user), Some(keys::LEDGER_SK_PREFIX))
        .await?;
    Ok(items.iter().map(EntryRow::from_item).collect())
}

/// One write of a correction, typed; [`transaction`] turns them into items.
#[derive(Debug, Clone, PartialEq)]
pub enum LedgerWrite {
    /// The stored first answer (fails if a live record exists).
    Idempotency {
        record_key: Key,
        key: IdempotencyKey,
        request_hash: String,
        body: String,
        now_us: i64,
        ttl_secs: i64,
    },
    /// The wallet set to `after`, conditioned on exactly the balances the decision read.
    Wallet {
        before: WalletState,
        after: Balances,
    },
    Entry(Box<Entry>),
    /// The award marked (partly) reversed, conditioned on what was reversed before.
    AwardReversed {
        award: Box<AwardState>,
        reversed_points: Decimal,
        reversal_entry_id: String,
    },
    /// The user's task total reduced; its version moves so an award deciding on the old total
    /// re-decides instead of overwriting this.
    UserTaskPoints {
        key: Key,
        delta: Decimal,
    },
    HoldOpened(Box<Hold>),
    /// An open hold closed (`captured`, `voided`, `expired`), conditioned on it being open.
    HoldClosed {
        key: Key,
        status: &'static str,
        entry_id: String,
        closed_at: String,
    },
    /// A reversed award's board score reduced (the award's own leaderboard items, reversed).
    Leaderboard {
        game_id: GameId,
        user: ExternalId,
        write: crate::store::leaderboards::LeaderboardWrite,
    },
    /// The event the correction reports (docs/events.md), in its own transaction.
    Outbox {
        event: Box<crate::domain::events::Event>,
        now_secs: i64,
    },
    /// A reversed award's points taken off the user's progression (versioned like an award's).
    Progression {
        game_id: GameId,
        user: ExternalId,
        write: crate::store::progression::ProgressionWrite,
    },
}

impl LedgerWrite {
    pub fn is_idempotency(&self) -> bool {
        matches!(self, LedgerWrite::Idempotency { .. })
    }
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> ApiResult<T> {
    result.map_err(ApiError::internal)
}

/// Every write of one correction, for one TransactWriteItems (all of it or nothing), and
/// the index of the idempotency record among them.
pub fn transaction(
    table: &str,
    tenant: &TenantId,
    writes: &[LedgerWrite],
) -> ApiResult<(Vec<TransactWriteItem>, Option<usize>)> {
    let mut items = Vec::with_capacity(writes.len());
    let mut idempotency = None;
    for write in writes {
        if write.is_idempotency() {
            idempotency = Some(items.len());
        }
        items.push(item_of(table, tenant, write)?);
    }
    Ok((items, idempotency))
}

fn item_of(table: &str, tenant: &TenantId, write: &LedgerWrite) -> ApiResult<TransactWriteItem> {
    Ok(match write {
        LedgerWrite::Outbox { event, now_secs } => {
            crate::store::outbox::put(table, event, *now_secs).map_err(ApiError::internal)?
        }
        LedgerWrite::Leaderboard {
            game_id,
            user,
            write,
        } => crate::store::leaderboards::board_item(table, tenant, game_id, user, write)?,
        LedgerWrite::Progression {
            game_id,
            user,
            write,
        } => crate::store::progression::write_item(
            table,
            &crate::store::progression::Owner {
                tenant,
                game_id,
                external_user_id: user,
            },
            write,
        )?,
        LedgerWrite::Idempotency {
            record_key,
            key,
            request_hash,
            body,
            now_us,
            ttl_secs,
        } => crate::store::idempotency::put_record(
            table,
            record_key,
            key,
            request_hash,
            body,
            *now_us,
            *ttl_secs,
        )?,
        LedgerWrite::Wallet { before, after } => {
            let key = user_key(tenant, &before.external_user_id);
            let held = if before.held_present {
                "heldCoins = :hb"
            } else {
                "attribute_not_exists(heldCoins)"
            };
            let mut values = HashMap::from([
                (":pb".to_owned(), decimal::attribute(before.balances.points)),
                (":cb".to_owned(), decimal::attribute(before.balances.coins)),
                (":pa".to_owned(), decimal::attribute(after.points)),
                (":ca".to_owned(), decimal::attribute(after.coins)),
                (":ha".to_owned(), decimal::attribute(after.held)),
            ]);
            if before.held_present {
                values.insert(":hb".into(), decimal::attribute(before.balances.held));
            }
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(key.0, key.1)))
                    .update_expression(
                        "SET pointsBalance = :pa, coinsBalance = :ca, heldCoins = :ha",
                    )
                    .condition_expression(format!(
                        "pointsBalance = :pb AND coinsBalance = :cb AND {held}"
                    ))
                    .set_expression_attribute_values(Some(values))
                    .build(),
            )?;
            TransactWriteItem::builder().update(update).build()
        }
        LedgerWrite::Entry(entry) => put_new(table, entry.to_item(tenant)?)?,
        LedgerWrite::AwardReversed {
            award,
            reversed_points,
            reversal_entry_id,
        } => {
            let condition = match award.reversed_points {
                None => "attribute_not_exists(reversedPoints)",
                Some(_) => "reversedPoints = :before",
            };
            let mut values = HashMap::from([
                (":r".to_owned(), decimal::attribute(*reversed_points)),
                (
                    ":id".to_owned(),
                    AttributeValue::L(vec![store::s(reversal_entry_id.clone())]),
                ),
                (":none".to_owned(), AttributeValue::L(Vec::new())),
                (
                    ":full".to_owned(),
                    AttributeValue::Bool(*reversed_points >= award.points),
                ),
            ]);
            if let Some(before) = award.reversed_points {
                values.insert(":before".into(), decimal::attribute(before));
            }
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(award.key.0.clone(), award.key.1.clone())))
                    .update_expression(
                        "SET reversedPoints = :r, reversed = :full, reversalIds = list_append(if_not_exists(reversalIds, :none), :id)",
                    )
                    .condition_expression(format!("attribute_exists(PK) AND {condition}"))
                    .set_expression_attribute_values(Some(values))
                    .build(),
            )?;
            TransactWriteItem::builder().update(update).build()
        }
        LedgerWrite::UserTaskPoints { key, delta } => {
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(key.0.clone(), key.1.clone())))
                    .update_expression("ADD pointsTotal :d, version :one")
                    .condition_expression("attribute_exists(PK)")
                    .expression_attribute_values(":d", decimal::attribute(*delta))
                    .expression_attribute_values(":one", store::n(1))
                    .build(),
            )?;
            TransactWriteItem::builder().update(update).build()
        }
        LedgerWrite::HoldOpened(hold) => {
            let key = hold_key(tenant, &hold.user, &hold.hold_id);
            let mut item = store::key(key.0, key.1);
            for (name, value) in [
                ("entity", store::s("hold")),
                ("holdId", store::s(hold.hold_id.clone())),
                ("externalUserId", store::s(hold.user.as_str())),
                ("itemId", store::s(hold.item_id.clone())),
                ("amount", decimal::attribute(hold.amount)),
                ("status", store::s(hold.status.clone())),
                ("holdExpiresUs", store::n(hold.expires_us)),
                ("holdEntryId", store::s(hold.hold_entry_id.clone())),
                ("createdAt", store::s(hold.created_at.clone())),
                // Listed among open holds by the day it expires, for the sweeper.
                (
                    store::GSI1PK,
                    store::s(open_holds_pk(hold.expires_us.div_euclid(DAY_US))),
                ),
                (
                    store::GSI1SK,
                    store::s(open_hold_sk(
                        tenant,
                        &hold.user,
                        &hold.hold_id,
                        hold.expires_us,
                    )),
                ),
            ] {
                item.insert(name.into(), value);
            }
            put_new(table, item)?
        }
        LedgerWrite::HoldClosed {
            key,
            status,
            entry_id,
            closed_at,
        } => {
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(key.0.clone(), key.1.clone())))
                    // Closed holds leave the open-holds index.
                    .update_expression(
                        "SET #status = :status, closedEntryId = :entry, closedAt = :at REMOVE GSI1PK, GSI1SK",
                    )
                    .condition_expression("#status = :open")
                    .expression_attribute_names("#status", "status")
                    .expression_attribute_values(":status", store::s(*status))
                    .expression_attribute_values(":open", store::s("open"))
                    .expression_attribute_values(":entry", store::s(entry_id.clone()))
                    .expression_attribute_values(":at", store::s(closed_at.clone()))
                    .build(),
            )?;
            TransactWriteItem::builder().update(update).build()
        }
    })
}

fn put_new(table: &str, item: Item) -> ApiResult<TransactWriteItem> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(PK)")
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}
