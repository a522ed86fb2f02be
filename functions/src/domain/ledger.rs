//! The ledger's decisions, pure: reversals, adjustments, transfers, spending and holds. Each
//! takes what was loaded (the wallet's exact balances, the award, the hold), the request and
//! what the shell supplies (fresh ids, `now`, the actor) and returns the answer and the writes
//! (`store::ledger::LedgerWrite`) of one transaction. Corrections are new entries, never
//! edits (TigerBeetle's model); the one mutable mark is the award's `reversedPoints`, which
//! makes a second reversal of the same points impossible.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, TenantId};
use crate::store::Item;
use crate::store::ledger::{
    AwardState, Balances, Entry, EntryKind, EntryRow, Hold, Key, LedgerWrite, WalletState, hold_key,
};
use crate::wire::ledger::{HistoryEntry, HoldView, LedgerResult, ReversalView, WalletAfter};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;

/// Points keep 6 decimals (as conversions take them), coins 12 (as conversions give them).
pub const POINT_DECIMALS: u32 = 6;
pub const COIN_DECIMALS: u32 = 12;
/// A hold lives 15 minutes unless the request says otherwise, at most a day.
pub const DEFAULT_HOLD_TTL_SECS: i64 = 900;
pub const MAX_HOLD_TTL_SECS: i64 = 86_400;
/// Expired holds one operation releases on its way (each is two transaction items).
pub const MAX_RELEASES: usize = 20;
/// Longest `reason` and `itemId`.
pub const MAX_TEXT: usize = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Currency {
    Points,
    Coins,
}

impl Currency {
    pub fn parse(text: Option<&str>) -> ApiResult<Currency> {
        match text {
            None | Some("points") => Ok(Currency::Points),
            Some("coins") => Ok(Currency::Coins),
            Some(other) => Err(ApiError::unprocessable(
                "invalid_currency",
                format!("currency must be \"points\" or \"coins\", got \"{other}\"."),
            )),
        }
    }

    fn decimals(self) -> u32 {
        match self {
            Currency::Points => POINT_DECIMALS,
            Currency::Coins => COIN_DECIMALS,
        }
    }

    fn delta(self, amount: Decimal) -> Balances {
        match self {
            Currency::Points => Balances {
                points: amount,
                ..Balances::default()
            },
            Currency::Coins => Balances {
                coins: amount,
                ..Balances::default()
            },
        }
    }
}

/// An amount as sent (a JSON number or numeric text): non-zero, within the currency's
/// decimals, positive unless `signed`.
pub fn parse_amount(
    field: &str,
    value: Option<&Value>,
    currency: Currency,
    signed: bool,
) -> ApiResult<Decimal> {
    let sign = if signed {
        "a non-zero number"
    } else {
        "a number greater than 0"
    };
    let invalid = || {
        ApiError::unprocessable(
            "invalid_amount",
            format!(
                "{field} must be {sign} with at most {} decimals.",
                currency.decimals()
            ),
        )
    };
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return Err(invalid()),
    };
    let amount = decimal::parse(&text).ok_or_else(invalid)?;
    // 10^15: far beyond any balance, and still exact as a JSON number.
    let too_large = amount.abs() >= Decimal::from(1_000_000_000_000_000i64);
    if amount.is_zero()
        || (!signed && amount < Decimal::ZERO)
        || amount.scale() > currency.decimals()
        || too_large
    {
        return Err(invalid());
    }
    Ok(amount)
}

/// A mandatory or optional free text (`reason`, `itemId`): trimmed, non-empty, bounded.
pub fn text(field: &str, value: Option<&str>, required: bool) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") if required => Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} is required: say why (at most {MAX_TEXT} characters)."),
        )),
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) => {
            Err(ApiError::unprocessable(
                "invalid_field",
                format!(
                    "{field} must be at most {MAX_TEXT} characters without control characters."
                ),
            ))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// What every decision gets from the shell.
#[derive(Debug, Clone)]
pub struct Stamp {
    pub actor: String,
    pub now_us: i64,
    /// Fresh ids (UUIDv7), drawn per attempt; a decision uses what it needs, in order.
    pub ids: Vec<String>,
}

impl Stamp {
    fn id(&self, n: usize) -> String {
        self.ids.get(n).cloned().unwrap_or_default()
    }

    fn created_at(&self) -> String {
        crate::clock::micros_to_rfc3339(self.now_us)
    }

    fn entry(&self, n: usize, kind: EntryKind, user: &ExternalId) -> Entry {
        Entry {
            id: self.id(n),
            kind: Some(kind),
            user: Some(user.clone()),
            actor: self.actor.clone(),
            created_at: self.created_at(),
            ..Entry::default()
        }
    }
}

/// The answer and the writes of one decided operation.
#[derive(Debug, Clone)]
pub struct Decided {
    pub result: LedgerResult,
    pub writes: Vec<LedgerWrite>,
}

/// Balances after `delta`, refusing to go below zero (or to release more held coins than are
/// held) unless `allow_negative` (points only: an admin's reversal or adjustment).
fn apply(
    wallet: &Balances,
    delta: Balances,
    allow_negative: bool,
    user: &ExternalId,
) -> ApiResult<Balances> {
    let after = wallet.plus(delta);
    if after.points < Decimal::ZERO && delta.points < Decimal::ZERO && !allow_negative {
        return Err(ApiError::conflict(
            "insufficient_points",
            format!(
                "Not enough points: {user}'s wallet holds {} points and {} are needed (points converted or spent cannot be taken back; an admin may set allowNegative).",
                wallet.points, -delta.points
            ),
        ));
    }
    if after.coins < Decimal::ZERO && delta.coins < Decimal::ZERO && !allow_negative {
        return Err(ApiError::conflict(
            "insufficient_coins",
            format!(
                "Not enough coins: {user}'s wallet has {} coins available and {} are needed.",
                wallet.coins, -delta.coins
            ),
        ));
    }
    if after.held < Decimal::ZERO {
        return Err(ApiError::internal(
            "a hold releases more coins than are held",
        ));
    }
    Ok(after)
}

/// Posts entries to one wallet in order, each with the balances after it.
struct Posting {
    wallet: WalletState,
    balances: Balances,
    entries: Vec<Entry>,
    writes: Vec<LedgerWrite>,
    /// The next of the stamp's ids: entries take them in posting order, so the ledger's
    /// order (by id) is the order they were posted in.
    next: usize,
}

impl Posting {
    fn new(wallet: &WalletState, first_id: usize) -> Self {
        Posting {
            balances: wallet.balances,
            wallet: wallet.clone(),
            entries: Vec::new(),
            writes: Vec::new(),
            next: first_id,
        }
    }

    fn entry(&mut self, stamp: &Stamp, kind: EntryKind) -> Entry {
        let entry = stamp.entry(self.next, kind, &self.wallet.external_user_id);
        self.next += 1;
        entry
    }

    fn post(&mut self, mut entry: Entry, delta: Balances, allow_negative: bool) -> ApiResult<()> {
        let after = apply(
            &self.balances,
            delta,
            allow_negative,
            &self.wallet.external_user_id,
        )?;
        entry.delta = delta;
        entry.after = after;
        self.balances = after;
        self.entries.push(entry);
        Ok(())
    }

    /// Expired open holds released first: their coins return before the decision spends.
    fn release_expired(
        &mut self,
        tenant: &TenantId,
        holds: &[Hold],
        stamp: &Stamp,
    ) -> ApiResult<()> {
        let owner = self.wallet.external_user_id.clone();
        let expired = holds
            .iter()
            .filter(|h| h.user == owner)
            .filter(|h| h.is_open() && h.expires_us <= stamp.now_us)
            .take(MAX_RELEASES);
        for hold in expired {
            let mut entry = self.entry(stamp, EntryKind::HoldExpired);
            entry.hold_id = Some(hold.hold_id.clone());
            entry.item_id = Some(hold.item_id.clone());
            entry.linked_entry_id = Some(hold.hold_entry_id.clone());
            self.writes.push(LedgerWrite::HoldClosed {
                key: hold_key(tenant, &hold.user, &hold.hold_id),
                status: "expired",
                entry_id: entry.id.clone(),
                closed_at: stamp.created_at(),
            });
            self.post(
                entry,
                Balances {
                    coins: hold.amount,
                    held: -hold.amount,
                    ..Balances::default()
                },
                false,
            )?;
        }
        Ok(())
    }

    /// The wallet's write, the entries' writes and the others, in transaction order.
    fn finish(self, writes: &mut Vec<LedgerWrite>, rows: &mut Vec<HistoryEntry>) -> WalletAfter {
        writes.push(LedgerWrite::Wallet {
            before: self.wallet.clone(),
            after: self.balances,
        });
        for entry in self.entries {
            rows.push(history_entry(&row_of(&entry)));
            writes.push(LedgerWrite::Entry(Box::new(entry)));
        }
        writes.extend(self.writes);
        wallet_after(&self.wallet.external_user_id, &self.balances)
    }
}

fn wallet_after(user: &ExternalId, balances: &Balances) -> WalletAfter {
    WalletAfter {
        external_user_id: user.to_string(),
        points_balance: decimal::to_json(balances.points),
        coins_balance: decimal::to_json(balances.coins),
        held_coins: decimal::to_json(balances.held),
    }
}

/// An entry as the history shows it.
pub fn row_of(entry: &Entry) -> EntryRow {
    EntryRow {
        id: entry.id.clone(),
        transaction_type: entry
            .kind
            .map(EntryKind::as_str)
            .unwrap_or_default()
            .to_owned(),
        delta: entry.delta,
        points_after: Some(entry.after.points),
        coins_after: Some(entry.after.coins),
        held_after: Some(entry.after.held),
        linked_entry_id: entry.linked_entry_id.clone(),
        award_id: entry.award_id.clone(),
        game_id: entry.game_id.as_ref().map(ToString::to_string),
        external_task_id: entry.external_task_id.as_ref().map(ToString::to_string),
        counterparty: entry.counterparty.as_ref().map(ToString::to_string),
        item_id: entry.item_id.clone(),
        hold_id: entry.hold_id.clone(),
        actor: Some(entry.actor.clone()),
        reason: entry.reason.clone(),
        created_at: entry.created_at.clone(),
        data: Value::Object(Default::default()),
    }
}

pub fn history_entry(row: &EntryRow) -> HistoryEntry {
    HistoryEntry {
        id: row.id.clone(),
        transaction_type: row.transaction_type.clone(),
        created_at: row.created_at.clone(),
        points: decimal::to_json(row.delta.points),
        coins: decimal::to_json(row.delta.coins),
        held_coins: decimal::to_json(row.delta.held),
        points_after: row.points_after.map(decimal::to_json),
        coins_after: row.coins_after.map(decimal::to_json),
        held_coins_after: row.held_after.map(decimal::to_json),
        linked_entry_id: row.linked_entry_id.clone(),
        award_id: row.award_id.clone(),
        game_id: row.game_id.clone(),
        external_task_id: row.external_task_id.clone(),
        counterparty: row.counterparty.clone(),
        item_id: row.item_id.clone(),
        hold_id: row.hold_id.clone(),
        actor: row.actor.clone(),
        reason: row.reason.clone(),
        data: row.data.clone(),
    }
}

fn result(entries: Vec<HistoryEntry>, wallets: Vec<WalletAfter>) -> LedgerResult {
    LedgerResult {
        entries,
        wallets,
        award: None,
        hold: None,
    }
}

/// What the reversal hook sees: the award, what is taken back, and what was loaded for it.
pub struct ReversalFacts<'a> {
    pub tenant: &'a TenantId,
    pub award: &'a AwardState,
    pub amount: Decimal,
    pub fully_reversed: bool,
    pub now_us: i64,
    /// The items [`reversal_extra_reads`] asked for (absent ones are missing).
    pub loaded: &'a HashMap<Key, Item>,
}

/// The keys a reversal reads beyond the award, wallet and task total, for the compensating
/// writes of what derives from points (docs/ledger.md): the game's boards and the user's
/// standings, the game's progression and the user's.
pub fn reversal_extra_reads(tenant: &TenantId, award: &AwardState) -> Vec<Key> {
    let (game, user) = (&award.game_id, &award.external_user_id);
    vec![
        crate::store::leaderboards::boards_key(tenant, game),
        crate::store::leaderboards::standings_key(tenant, user, game),
        crate::store::progression::config_key(tenant, game),
        crate::store::progression::user_key(tenant, user, game),
    ]
}

/// The compensating writes a reversal commits in its one transaction: the award's board
/// scores reduced (while their period is current) and its points taken off the user's
/// progression (the level follows the total; the best level and what was earned stay).
pub fn reversal_compensations(facts: &ReversalFacts<'_>) -> ApiResult<Vec<LedgerWrite>> {
    let (tenant, award) = (facts.tenant, facts.award);
    let (game, user) = (&award.game_id, &award.external_user_id);
    let item = |key: Key| facts.loaded.get(&key).cloned();
    let mut writes = Vec::new();
    let boards = crate::store::leaderboards::award_state(
        item(crate::store::leaderboards::boards_key(tenant, game)),
        item(crate::store::leaderboards::standings_key(
            tenant, user, game,
        )),
    )?;
    let reversed = crate::domain::leaderboards::Reversed {
        external_task_id: award.external_task_id.as_str(),
        awarded_us: award.created_us,
        counted_boards: award.counted_boards.as_deref(),
        amount: facts.amount,
        fully_reversed: facts.fully_reversed,
    };
    if let Some(plan) = crate::domain::leaderboards::plan_reversal(
        &boards.boards,
        &boards.standings,
        boards.version,
        user.as_str(),
        &reversed,
        facts.now_us,
    ) {
        writes.extend(
            crate::store::leaderboards::writes_of(plan)
                .into_iter()
                .map(|write| LedgerWrite::Leaderboard {
                    game_id: game.clone(),
                    user: user.clone(),
                    write,
                }),
        );
    }
    if award.counted_progression {
        let progression = crate::store::progression::award_state(
            item(crate::store::progression::config_key(tenant, game)),
            item(crate::store::progression::user_key(tenant, user, game)),
        )?;
        if let Some(write) = progression.and_then(|p| {
            crate::domain::progression::after_reversal(&p.defs, p.user.as_ref()?, facts.amount)
        }) {
            writes.push(LedgerWrite::Progression {
                game_id: game.clone(),
                user: user.clone(),
                write,
            });
        }
    }
    Ok(writes)
}

/// A reversal request, parsed.
#[derive(Debug, Clone)]
pub struct ReverseRequest {
    /// None: whatever remains of the award.
    pub amount: Option<Decimal>,
    pub allow_negative: bool,
    pub reason: Option<String>,
}

/// Reverses (part of) an award: a compensating entry, the wallet and the task total reduced,
/// the award marked. `stamp.ids[0]` is the reversal entry's id.
pub fn reverse(
    tenant: &TenantId,
    award: &AwardState,
    wallet: &WalletState,
    request: &ReverseRequest,
    stamp: &Stamp,
    loaded: &HashMap<Key, Item>,
) -> ApiResult<Decided> {
    let reversed = award.reversed_points.unwrap_or_default();
    let remaining = award.points - reversed;
    if remaining <= Decimal::ZERO {
        return Err(ApiError::conflict(
            "award_already_reversed",
            format!(
                "Award {} has nothing left to reverse ({} of its {} points were reversed).",
                award.award_id, reversed, award.points
            ),
        ));
    }
    let amount = request.amount.unwrap_or(remaining);
    if amount > remaining {
        return Err(ApiError::conflict(
            "reversal_exceeds_award",
            format!(
                "Award {} has {} points left to reverse; {} were asked.",
                award.award_id, remaining, amount
            ),
        ));
    }
    let mut posting = Posting::new(wallet, 0);
    let mut entry = posting.entry(stamp, EntryKind::ReverseAward);
    entry.award_id = Some(award.award_id.clone());
    entry.game_id = Some(award.game_id.clone());
    entry.external_task_id = Some(award.external_task_id.clone());
    entry.reason = request.reason.clone();
    let entry_id = entry.id.clone();
    posting.post(
        entry,
        Currency::Points.delta(-amount),
        request.allow_negative,
    )?;
    let now_reversed = reversed + amount;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let wallet = posting.finish(&mut writes, &mut rows);
    writes.push(LedgerWrite::AwardReversed {
        award: Box::new(award.clone()),
        reversed_points: now_reversed,
        reversal_entry_id: entry_id.clone(),
    });
    writes.push(LedgerWrite::UserTaskPoints {
        key: award.user_task_key(tenant),
        delta: -amount,
    });
    writes.extend(reversal_compensations(&ReversalFacts {
        tenant,
        award,
        amount,
        fully_reversed: now_reversed >= award.points,
        now_us: stamp.now_us,
        loaded,
    })?);
    let mut result = result(rows, vec![wallet]);
    let mut reversal_ids = award.reversal_ids.clone();
    reversal_ids.push(entry_id);
    result.award = Some(ReversalView {
        award_id: award.award_id.clone(),
        points: decimal::to_json(award.points),
        reversed_points: decimal::to_json(now_reversed),
        remaining_points: decimal::to_json(award.points - now_reversed),
        reversed: now_reversed >= award.points,
        reversal_ids,
    });
    Ok(Decided { result, writes })
}

/// A signed adjustment of points or coins with its reason (goodwill, correction, migration).
pub fn adjust(
    wallet: &WalletState,
    currency: Currency,
    amount: Decimal,
    reason: &str,
    allow_negative: bool,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    let mut posting = Posting::new(wallet, 0);
    let mut entry = posting.entry(stamp, EntryKind::Adjust);
    entry.reason = Some(reason.to_owned());
    posting.post(entry, currency.delta(amount), allow_negative)?;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let after = posting.finish(&mut writes, &mut rows);
    Ok(Decided {
        result: result(rows, vec![after]),
        writes,
    })
}

/// Moves points or coins between two wallets of the tenant: both sides in one transaction,
/// each entry linked to the other, the sender never below zero.
pub fn transfer(
    from: &WalletState,
    to: &WalletState,
    currency: Currency,
    amount: Decimal,
    reason: Option<&str>,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    if from.external_user_id == to.external_user_id {
        return Err(transfer_to_self());
    }
    let (out_id, in_id) = (stamp.id(0), stamp.id(1));
    let mut sender = Posting::new(from, 0);
    let mut out = sender.entry(stamp, EntryKind::TransferOut);
    out.counterparty = Some(to.external_user_id.clone());
    out.linked_entry_id = Some(in_id);
    out.reason = reason.map(str::to_owned);
    sender.post(out, currency.delta(-amount), false)?;
    let mut receiver = Posting::new(to, 1);
    let mut incoming = receiver.entry(stamp, EntryKind::TransferIn);
    incoming.counterparty = Some(from.external_user_id.clone());
    incoming.linked_entry_id = Some(out_id);
    incoming.reason = reason.map(str::to_owned);
    receiver.post(incoming, currency.delta(amount), false)?;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let a = sender.finish(&mut writes, &mut rows);
    let b = receiver.finish(&mut writes, &mut rows);
    Ok(Decided {
        result: result(rows, vec![a, b]),
        writes,
    })
}

pub fn transfer_to_self() -> ApiError {
    ApiError::unprocessable(
        "transfer_to_self",
        "A transfer needs two different users: the recipient is the sender.",
    )
}

/// Spends coins on an external item at a price, in one step. Expired holds are released
/// first, each with its own entry.
pub fn spend(
    tenant: &TenantId,
    wallet: &WalletState,
    holds: &[Hold],
    item_id: &str,
    price: Decimal,
    reason: Option<&str>,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    let mut posting = Posting::new(wallet, 0);
    posting.release_expired(tenant, holds, stamp)?;
    let mut entry = posting.entry(stamp, EntryKind::Spend);
    entry.item_id = Some(item_id.to_owned());
    entry.reason = reason.map(str::to_owned);
    posting.post(entry, Currency::Coins.delta(-price), false)?;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let after = posting.finish(&mut writes, &mut rows);
    Ok(Decided {
        result: result(rows, vec![after]),
        writes,
    })
}

/// Holds coins for a two-step purchase: they leave the balance for `heldCoins` until captured
/// or voided, or until the hold expires (then the next spend, hold or void releases them).
/// The hold's id is the stamp's last id (entries take the first ones, in order).
#[allow(clippy::too_many_arguments)]
pub fn hold(
    tenant: &TenantId,
    wallet: &WalletState,
    holds: &[Hold],
    item_id: &str,
    price: Decimal,
    ttl_secs: i64,
    reason: Option<&str>,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    let mut posting = Posting::new(wallet, 0);
    posting.release_expired(tenant, holds, stamp)?;
    // The hold's id is the stamp's last, after every entry's.
    let hold_id = stamp.ids.last().cloned().unwrap_or_default();
    let mut entry = posting.entry(stamp, EntryKind::Hold);
    entry.item_id = Some(item_id.to_owned());
    entry.hold_id = Some(hold_id.clone());
    entry.reason = reason.map(str::to_owned);
    let entry_id = entry.id.clone();
    posting.post(
        entry,
        Balances {
            coins: -price,
            held: price,
            ..Balances::default()
        },
        false,
    )?;
    let hold = Hold {
        hold_id,
        user: wallet.external_user_id.clone(),
        item_id: item_id.to_owned(),
        amount: price,
        status: "open".into(),
        expires_us: stamp
            .now_us
            .saturating_add(ttl_secs.saturating_mul(1_000_000)),
        hold_entry_id: entry_id,
        created_at: stamp.created_at(),
    };
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let after = posting.finish(&mut writes, &mut rows);
    writes.push(LedgerWrite::HoldOpened(Box::new(hold.clone())));
    let mut result = result(rows, vec![after]);
    result.hold = Some(hold_view(&hold));
    Ok(Decided { result, writes })
}

pub fn hold_view(hold: &Hold) -> HoldView {
    HoldView {
        hold_id: hold.hold_id.clone(),
        external_user_id: hold.user.to_string(),
        item_id: hold.item_id.clone(),
        amount: decimal::to_json(hold.amount),
        status: hold.status.clone(),
        expires_at: crate::clock::micros_to_rfc3339(hold.expires_us),
    }
}

fn hold_closed(hold: &Hold) -> ApiError {
    ApiError::conflict(
        "hold_closed",
        format!("Hold {} is already {}.", hold.hold_id, hold.status),
    )
}

/// Settles an open, unexpired hold: the held coins leave the wallet for good.
pub fn capture(
    tenant: &TenantId,
    wallet: &WalletState,
    hold: &Hold,
    reason: Option<&str>,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    if !hold.is_open() {
        return Err(hold_closed(hold));
    }
    if hold.expires_us <= stamp.now_us {
        return Err(ApiError::conflict(
            "hold_expired",
            format!(
                "Hold {} expired at {}; its coins return to the wallet. Hold again to buy.",
                hold.hold_id,
                crate::clock::micros_to_rfc3339(hold.expires_us)
            ),
        ));
    }
    close(
        tenant,
        wallet,
        hold,
        reason,
        stamp,
        EntryKind::Capture,
        "captured",
    )
}

/// The sweeper's release of one open hold past its expiry: the `HoldExpired` entry the
/// user's next spend or hold would write, now (docs/ledger.md).
pub fn release_hold(
    tenant: &TenantId,
    wallet: &WalletState,
    hold: &Hold,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    // Settled or released since the index listed it (the index lags): nothing to do.
    if !hold.is_open() || hold.expires_us > stamp.now_us {
        return Err(hold_closed(hold));
    }
    let mut posting = Posting::new(wallet, 0);
    posting.release_expired(tenant, std::slice::from_ref(hold), stamp)?;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let after = posting.finish(&mut writes, &mut rows);
    Ok(Decided {
        result: result(rows, vec![after]),
        writes,
    })
}

/// Cancels an open hold (expired or not): the held coins return to the balance.
pub fn void(
    tenant: &TenantId,
    wallet: &WalletState,
    hold: &Hold,
    reason: Option<&str>,
    stamp: &Stamp,
) -> ApiResult<Decided> {
    if !hold.is_open() {
        return Err(hold_closed(hold));
    }
    close(
        tenant,
        wallet,
        hold,
        reason,
        stamp,
        EntryKind::Void,
        "voided",
    )
}

fn close(
    tenant: &TenantId,
    wallet: &WalletState,
    hold: &Hold,
    reason: Option<&str>,
    stamp: &Stamp,
    kind: EntryKind,
    status: &'static str,
) -> ApiResult<Decided> {
    let mut posting = Posting::new(wallet, 0);
    let mut entry = posting.entry(stamp, kind);
    entry.reason = reason.map(str::to_owned);
    entry.hold_id = Some(hold.hold_id.clone());
    entry.item_id = Some(hold.item_id.clone());
    entry.linked_entry_id = Some(hold.hold_entry_id.clone());
    let entry_id = entry.id.clone();
    let delta = match kind {
        EntryKind::Capture => Balances {
            held: -hold.amount,
            ..Balances::default()
        },
        _ => Balances {
            coins: hold.amount,
            held: -hold.amount,
            ..Balances::default()
        },
    };
    posting.post(entry, delta, false)?;
    let mut writes = Vec::new();
    let mut rows = Vec::new();
    let after = posting.finish(&mut writes, &mut rows);
    writes.push(LedgerWrite::HoldClosed {
        key: hold_key(tenant, &hold.user, &hold.hold_id),
        status,
        entry_id,
        closed_at: stamp.created_at(),
    });
    let mut closed = hold.clone();
    closed.status = status.to_owned();
    let mut result = result(rows, vec![after]);
    result.hold = Some(hold_view(&closed));
    Ok(Decided { result, writes })
}

/// The invariant: a wallet's balances equal the sum of its entries. Answers the recomputed
/// balances, or what differs.
pub fn check_balances(wallet: &Balances, entries: &[EntryRow]) -> Result<Balances, String> {
    let sum = entries
        .iter()
        .fold(Balances::default(), |sum, entry| sum.plus(entry.delta));
    if sum == *wallet {
        Ok(sum)
    } else {
        Err(format!(
            "wallet {wallet:?} but its {} entries sum to {sum:?}",
            entries.len()
        ))
    }
}

/// Each entry's balances-after equal the running sum in some order: for entries that record
/// them, `after - delta` is the balance before, and every balance-after appears once as
/// another entry's balance-before (or is the wallet's final state). Answers the first break.
pub fn check_chain(wallet: &Balances, entries: &[EntryRow]) -> Result<(), String> {
    use std::collections::BTreeMap;
    let recorded: Vec<&EntryRow> = entries
        .iter()
        .filter(|e| e.points_after.is_some() && e.coins_after.is_some())
        .collect();
    if recorded.len() != entries.len() {
        return Ok(()); // a ledger with older entries: only the sums can be checked
    }
    let after = |e: &EntryRow| {
        (
            e.points_after.unwrap_or_default().normalize(),
            e.coins_after.unwrap_or_default().normalize(),
        )
    };
    let before = |e: &EntryRow| {
        let (p, c) = after(e);
        (
            (p - e.delta.points).normalize(),
            (c - e.delta.coins).normalize(),
        )
    };
    // A multiset walk from zero: each balance-before must be a state reached before.
    let mut open: BTreeMap<(Decimal, Decimal), i64> = BTreeMap::new();
    *open.entry((Decimal::ZERO, Decimal::ZERO)).or_default() += 1;
    for e in &recorded {
        *open.entry(after(e)).or_default() += 1;
    }
    for e in &recorded {
        let state = before(e);
        match open.get_mut(&state) {
            Some(n) if *n > 0 => *n -= 1,
            _ => {
                return Err(format!(
                    "entry {} starts from {state:?}, a balance no entry ends at",
                    e.id
                ));
            }
        }
    }
    let last = (wallet.points.normalize(), wallet.coins.normalize());
    let left: Vec<_> = open.iter().filter(|(_, n)| **n > 0).collect();
    if left.len() == 1 && *left[0].0 == last && *left[0].1 == 1 {
        Ok(())
    } else {
        Err(format!(
            "the entries' balances do not end at the wallet: {left:?}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{GameId, TaskId};

    fn user(name: &str) -> ExternalId {
        ExternalId::try_new(name).unwrap()
    }

    fn wallet(name: &str, points: i64, coins: i64) -> WalletState {
        WalletState {
            external_user_id: user(name),
            balances: Balances {
                points: Decimal::from(points),
                coins: Decimal::from(coins),
                held: Decimal::ZERO,
            },
            held_present: false,
        }
    }

    fn stamp() -> Stamp {
        Stamp {
            actor: "key:abc".into(),
            now_us: 1_700_000_000_000_000,
            ids: (0..30).map(|n| format!("id-{n:02}")).collect(),
        }
    }

    fn tenant() -> TenantId {
        TenantId::try_new("t").unwrap()
    }

    fn award(points: i64, reversed: Option<i64>) -> AwardState {
        AwardState {
            key: ("pk".into(), "sk".into()),
            award_id: "award-1".into(),
            game_id: GameId::try_new("0190a0a0-0000-7000-8000-000000000001").unwrap(),
            external_task_id: TaskId::try_new("walk").unwrap(),
            external_user_id: user("ana"),
            points: Decimal::from(points),
            reversed_points: reversed.map(Decimal::from),
            reversal_ids: vec![],
            created_us: 0,
            counted_boards: Some(vec![]),
            counted_progression: false,
        }
    }

    fn reverse_req(amount: Option<i64>, allow_negative: bool) -> ReverseRequest {
        ReverseRequest {
            amount: amount.map(Decimal::from),
            allow_negative,
            reason: Some("fraud".into()),
        }
    }

    fn wallet_write(writes: &[LedgerWrite]) -> Balances {
        writes
            .iter()
            .find_map(|w| match w {
                LedgerWrite::Wallet { after, .. } => Some(*after),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn a_full_reversal_takes_back_what_remains_and_marks_the_award() {
        let loaded = HashMap::new();
        let d = reverse(
            &tenant(),
            &award(40, None),
            &wallet("ana", 50, 0),
            &reverse_req(None, false),
            &stamp(),
            &loaded,
        )
        .unwrap();
        assert_eq!(wallet_write(&d.writes).points, Decimal::from(10));
        let view = d.result.award.unwrap();
        assert!(view.reversed);
        assert_eq!(view.remaining_points, 0);
        assert_eq!(d.result.entries[0].points, -40);
        assert_eq!(
            d.result.entries[0].points_after,
            Some(serde_json::json!(10))
        );
        assert!(d.writes.iter().any(|w| matches!(w, LedgerWrite::UserTaskPoints { delta, .. } if *delta == Decimal::from(-40))));
        assert!(d.writes.iter().any(|w| matches!(w, LedgerWrite::AwardReversed { reversed_points, .. } if *reversed_points == Decimal::from(40))));
    }

    #[test]
    fn partial_reversals_stop_at_what_remains() {
        let loaded = HashMap::new();
        let d = reverse(
            &tenant(),
            &award(40, Some(15)),
            &wallet("ana", 50, 0),
            &reverse_req(Some(25), false),
            &stamp(),
            &loaded,
        )
        .unwrap();
        assert!(d.result.award.unwrap().reversed);
        let e = reverse(
            &tenant(),
            &award(40, Some(15)),
            &wallet("ana", 50, 0),
            &reverse_req(Some(26), false),
            &stamp(),
            &loaded,
        )
        .unwrap_err();
        assert_eq!(e.code, "reversal_exceeds_award");
        let e = reverse(
            &tenant(),
            &award(40, Some(40)),
            &wallet("ana", 50, 0),
            &reverse_req(None, false),
            &stamp(),
            &loaded,
        )
        .unwrap_err();
        assert_eq!(e.code, "award_already_reversed");
    }

    #[test]
    fn converted_points_refuse_the_reversal_unless_negative_is_allowed() {
        let loaded = HashMap::new();
        let e = reverse(
            &tenant(),
            &award(40, None),
            &wallet("ana", 10, 3),
            &reverse_req(None, false),
            &stamp(),
            &loaded,
        )
        .unwrap_err();
        assert_eq!(e.code, "insufficient_points");
        let d = reverse(
            &tenant(),
            &award(40, None),
            &wallet("ana", 10, 3),
            &reverse_req(None, true),
            &stamp(),
            &loaded,
        )
        .unwrap();
        assert_eq!(wallet_write(&d.writes).points, Decimal::from(-30));
    }

    #[test]
    fn transfers_move_both_sides_and_never_below_zero() {
        let d = transfer(
            &wallet("ana", 50, 0),
            &wallet("bob", 5, 0),
            Currency::Points,
            Decimal::from(20),
            None,
            &stamp(),
        )
        .unwrap();
        assert_eq!(d.result.wallets[0].points_balance, 30);
        assert_eq!(d.result.wallets[1].points_balance, 25);
        assert_eq!(
            d.result.entries[0].linked_entry_id.as_deref(),
            Some("id-01")
        );
        assert_eq!(
            d.result.entries[1].linked_entry_id.as_deref(),
            Some("id-00")
        );
        let e = transfer(
            &wallet("ana", 5, 0),
            &wallet("bob", 5, 0),
            Currency::Points,
            Decimal::from(20),
            None,
            &stamp(),
        )
        .unwrap_err();
        assert_eq!(e.code, "insufficient_points");
        let e = transfer(
            &wallet("ana", 50, 0),
            &wallet("ana", 50, 0),
            Currency::Points,
            Decimal::ONE,
            None,
            &stamp(),
        )
        .unwrap_err();
        assert_eq!(e.code, "transfer_to_self");
    }

    #[test]
    fn holds_move_coins_to_held_and_expired_ones_come_back_first() {
        let s = stamp();
        let d = hold(
            &tenant(),
            &wallet("ana", 0, 10),
            &[],
            "sku",
            Decimal::from(7),
            60,
            None,
            &s,
        )
        .unwrap();
        let after = wallet_write(&d.writes);
        assert_eq!(
            (after.coins, after.held),
            (Decimal::from(3), Decimal::from(7))
        );
        let open = match d.writes.last().unwrap() {
            LedgerWrite::HoldOpened(h) => (**h).clone(),
            other => panic!("{other:?}"),
        };
        let mut held = wallet("ana", 0, 3);
        held.balances.held = Decimal::from(7);
        held.held_present = true;
        // Not enough without the hold; once it expires, its coins pay for the spend.
        assert_eq!(
            spend(
                &tenant(),
                &held,
                std::slice::from_ref(&open),
                "sku",
                Decimal::from(9),
                None,
                &s
            )
            .unwrap_err()
            .code,
            "insufficient_coins"
        );
        let later = Stamp {
            now_us: open.expires_us,
            ..s.clone()
        };
        let d = spend(
            &tenant(),
            &held,
            std::slice::from_ref(&open),
            "sku",
            Decimal::from(9),
            None,
            &later,
        )
        .unwrap();
        let after = wallet_write(&d.writes);
        assert_eq!((after.coins, after.held), (Decimal::ONE, Decimal::ZERO));
        assert_eq!(
            capture(&tenant(), &held, &open, None, &later)
                .unwrap_err()
                .code,
            "hold_expired"
        );
        let d = capture(&tenant(), &held, &open, None, &s).unwrap();
        let after = wallet_write(&d.writes);
        assert_eq!((after.coins, after.held), (Decimal::from(3), Decimal::ZERO));
        let d = void(&tenant(), &held, &open, None, &later).unwrap();
        assert_eq!(wallet_write(&d.writes).coins, Decimal::from(10));
        let mut closed = open;
        closed.status = "captured".into();
        assert_eq!(
            void(&tenant(), &held, &closed, None, &s).unwrap_err().code,
            "hold_closed"
        );
    }

    #[test]
    fn amounts_are_positive_within_the_decimals() {
        let ok = |v: Value, c, signed| parse_amount("amount", Some(&v), c, signed);
        assert_eq!(
            ok(serde_json::json!(2.5), Currency::Points, false).unwrap(),
            Decimal::new(25, 1)
        );
        assert_eq!(
            ok(serde_json::json!("-3"), Currency::Points, true).unwrap(),
            Decimal::from(-3)
        );
        for (bad, currency, signed) in [
            (serde_json::json!(0), Currency::Points, true),
            (serde_json::json!(-1), Currency::Points, false),
            (serde_json::json!(0.0000001), Currency::Points, false),
            (serde_json::json!("x"), Currency::Coins, false),
            (serde_json::json!(null), Currency::Coins, false),
            (serde_json::json!(1e20), Currency::Coins, false),
        ] {
            assert_eq!(
                ok(bad.clone(), currency, signed).unwrap_err().code,
                "invalid_amount",
                "{bad}"
            );
        }
        assert!(ok(serde_json::json!(0.000000000001), Currency::Coins, false).is_ok());
    }

    #[test]
    fn the_checker_finds_a_balance_the_entries_do_not_explain() {
        let s = stamp();
        let d = adjust(
            &wallet("ana", 0, 0),
            Currency::Points,
            Decimal::from(5),
            "goodwill",
            false,
            &s,
        )
        .unwrap();
        let rows: Vec<EntryRow> = d
            .writes
            .iter()
            .filter_map(|w| match w {
                LedgerWrite::Entry(e) => Some(row_of(e)),
                _ => None,
            })
            .collect();
        let five = Balances {
            points: Decimal::from(5),
            ..Balances::default()
        };
        assert!(check_balances(&five, &rows).is_ok());
        assert!(check_chain(&five, &rows).is_ok());
        let six = Balances {
            points: Decimal::from(6),
            ..Balances::default()
        };
        assert!(check_balances(&six, &rows).is_err());
        assert!(check_chain(&six, &rows).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Adjust(i64, bool),
            Transfer(bool, i64),
            Spend(bool, i64),
            Hold(bool, i64),
            Capture(bool),
            Void(bool),
            Reverse(i64),
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                (-50i64..50, any::<bool>()).prop_map(|(a, c)| Op::Adjust(a, c)),
                (any::<bool>(), 1i64..40).prop_map(|(d, a)| Op::Transfer(d, a)),
                (any::<bool>(), 1i64..20).prop_map(|(u, a)| Op::Spend(u, a)),
                (any::<bool>(), 1i64..20).prop_map(|(u, a)| Op::Hold(u, a)),
                any::<bool>().prop_map(Op::Capture),
                any::<bool>().prop_map(Op::Void),
                (1i64..30).prop_map(Op::Reverse),
            ]
        }

        /// Applies a decision's writes as DynamoDB would: the wallet conditions must hold.
        fn commit(
            wallets: &mut [WalletState; 2],
            entries: &mut [Vec<EntryRow>; 2],
            holds: &mut Vec<Hold>,
            award: &mut AwardState,
            writes: Vec<LedgerWrite>,
        ) {
            for write in writes {
                match write {
                    LedgerWrite::Wallet { before, after } => {
                        let w = wallets
                            .iter_mut()
                            .find(|w| w.external_user_id == before.external_user_id)
                            .unwrap();
                        assert_eq!(
                            w.balances, before.balances,
                            "condition on the balances read"
                        );
                        w.balances = after;
                        w.held_present = true;
                    }
                    LedgerWrite::Entry(entry) => {
                        let i = usize::from(entry.user.as_ref().unwrap().as_str() == "bob");
                        entries[i].push(row_of(&entry));
                    }
                    LedgerWrite::HoldOpened(hold) => holds.push(*hold),
                    LedgerWrite::HoldClosed { key, status, .. } => {
                        let hold = holds
                            .iter_mut()
                            .find(|h| key.1.ends_with(&h.hold_id))
                            .unwrap();
                        assert!(hold.is_open());
                        hold.status = status.to_owned();
                    }
                    LedgerWrite::AwardReversed {
                        reversed_points,
                        reversal_entry_id,
                        ..
                    } => {
                        award.reversed_points = Some(reversed_points);
                        award.reversal_ids.push(reversal_entry_id);
                    }
                    _ => {}
                }
            }
        }

        proptest! {
            /// Any sequence of operations, each decided on the state the previous ones left:
            /// both wallets equal the sum of their entries, the entries chain, nothing goes
            /// below zero, and the award is never reversed beyond its points.
            #[test]
            fn any_sequence_keeps_the_invariants(ops in proptest::collection::vec(op(), 1..60)) {
                let mut wallets = [wallet("ana", 0, 0), wallet("bob", 0, 0)];
                let mut entries = [Vec::new(), Vec::new()];
                let mut holds: Vec<Hold> = Vec::new();
                let mut award = award(100, None);
                // ana's award of 100, as the award writes it.
                wallets[0].balances.points = Decimal::from(100);
                entries[0].push(EntryRow {
                    id: "award".into(),
                    transaction_type: "AssignPoints".into(),
                    delta: Balances { points: Decimal::from(100), ..Balances::default() },
                    points_after: Some(Decimal::from(100)),
                    coins_after: Some(Decimal::ZERO),
                    ..row_of(&Entry::default())
                });
                for (n, op) in ops.into_iter().enumerate() {
                    let stamp = Stamp {
                        actor: "key:p".into(),
                        now_us: 1_000_000 * n as i64,
                        ids: (0..30).map(|i| format!("{n:03}-{i:02}")).collect(),
                    };
                    let user = |b: bool| usize::from(b);
                    let decided = match op {
                        Op::Adjust(a, coins) if a != 0 => {
                            let currency = if coins { Currency::Coins } else { Currency::Points };
                            adjust(&wallets[0], currency, Decimal::from(a), "p", false, &stamp)
                        }
                        Op::Adjust(..) => continue,
                        Op::Transfer(d, a) => {
                            let (from, to) = if d { (1, 0) } else { (0, 1) };
                            transfer(&wallets[from], &wallets[to], Currency::Points, Decimal::from(a), None, &stamp)
                        }
                        Op::Spend(u, a) => spend(&tenant(), &wallets[user(u)], &holds, "i", Decimal::from(a), None, &stamp),
                        Op::Hold(u, a) => hold(&tenant(), &wallets[user(u)], &holds, "i", Decimal::from(a), 3, None, &stamp),
                        Op::Capture(u) | Op::Void(u) => {
                            let owner = &wallets[user(u)].external_user_id;
                            let Some(h) = holds.iter().find(|h| h.is_open() && &h.user == owner).cloned() else { continue };
                            if matches!(op, Op::Capture(_)) {
                                capture(&tenant(), &wallets[user(u)], &h, None, &stamp)
                            } else {
                                void(&tenant(), &wallets[user(u)], &h, None, &stamp)
                            }
                        }
                        Op::Reverse(a) => reverse(
                            &tenant(), &award, &wallets[0],
                            &ReverseRequest { amount: Some(Decimal::from(a)), allow_negative: false, reason: None },
                            &stamp, &HashMap::new(),
                        ),
                    };
                    match decided {
                        Ok(d) => commit(&mut wallets, &mut entries, &mut holds, &mut award, d.writes),
                        Err(e) => prop_assert!(e.status.as_u16() == 409 || e.status.as_u16() == 422, "{e:?}"),
                    }
                }
                for i in 0..2 {
                    let b = wallets[i].balances;
                    prop_assert!(check_balances(&b, &entries[i]).is_ok());
                    prop_assert!(check_chain(&b, &entries[i]).is_ok(), "{:?}", check_chain(&b, &entries[i]));
                    prop_assert!(b.points >= Decimal::ZERO && b.coins >= Decimal::ZERO && b.held >= Decimal::ZERO);
                    let open: Decimal = holds.iter().filter(|h| h.is_open() && h.user == wallets[i].external_user_id).map(|h| h.amount).sum();
                    prop_assert_eq!(open, b.held, "held coins are the open holds");
                }
                prop_assert!(award.reversed_points.unwrap_or_default() <= award.points);
            }
        }
    }
}
