//! Leaderboards, pure: board definitions and their validation, period keys in the board's
//! IANA zone, the order of entries (score desc, then first reached), the count tree that makes
//! a rank exact at bounded cost, and what one award writes on every board it counts for.
//! No clock and no I/O: `now` and the loaded state come in (docs/data-model.md, "Leaderboards").

use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The board every game has without defining it.
pub const IMPLICIT_KEY: &str = "points";
/// The implicit board's id (ids of defined boards are UUIDs).
pub const IMPLICIT_ID: &str = "points";
/// Board keys that would shadow a literal route segment.
pub const RESERVED_KEYS: [&str; 1] = ["standings"];
/// Defined boards per game (the implicit one aside): keeps the award's transaction under 100 items.
pub const MAX_BOARDS: usize = 5;
pub const MAX_ENTRIES_LIMIT: u32 = 1000;
pub const DEFAULT_MAX_ENTRIES: u32 = 100;
pub const MAX_TASK_FILTER: usize = 50;
/// Closed periods stay readable this long after they end (their items' TTL).
pub const RETENTION_DAYS: i64 = 90;
/// Each board-period's count tree is split in this many shards (by user), so no single item
/// takes every award (docs/data-model.md, "Hot items").
pub const SHARDS: u32 = 8;
/// Levels of the count tree: one per byte of the score's integer bucket (u32).
pub const LEVELS: usize = 4;
/// Sort keys order scores at this resolution (points carry at most 6 decimals in practice).
const MICRO: i64 = 1_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The sum of awarded points.
    Points,
    /// The number of awards.
    Awards,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TieBreak {
    FirstReached,
    Shared,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    AllTime,
    Daily,
    /// ISO weeks (Monday first; the ISO year in the key).
    Weekly,
    Monthly,
    /// Consecutive windows of `length_days` local days from a local start date.
    Custom {
        start: NaiveDate,
        length_days: u32,
    },
}

/// A board as stored (on the game's boards item) and answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardRecord {
    pub key: String,
    /// Changes when the scoring changes (metric, tasks, period, zone): a new id starts empty.
    pub id: String,
    pub metric: Metric,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_task_ids: Vec<String>,
    pub period: String,
    pub time_zone: String,
    pub tie_break: TieBreak,
    pub max_entries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_start: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_length_days: Option<u32>,
    #[serde(default)]
    pub created_at: String,
    #[serde(default)]
    pub updated_at: String,
}

/// A validated board.
#[derive(Debug, Clone, PartialEq)]
pub struct Board {
    pub record: BoardRecord,
    pub period: Period,
    pub zone: Tz,
}

pub fn parse_zone(name: &str) -> ApiResult<Tz> {
    name.parse::<Tz>().map_err(|_| {
        ApiError::unprocessable(
            "unknown_time_zone",
            format!("\"{name}\" is not an IANA time zone name (e.g. Europe/Madrid, UTC)."),
        )
    })
}

impl Board {
    /// Validates a record (from a request or the store).
    pub fn parse(record: BoardRecord) -> ApiResult<Board> {
        validate_key(&record.key)?;
        let zone = parse_zone(&record.time_zone)?;
        if record.max_entries == 0 || record.max_entries > MAX_ENTRIES_LIMIT {
            return Err(ApiError::unprocessable(
                "invalid_leaderboard",
                format!("maxEntries must be from 1 to {MAX_ENTRIES_LIMIT}."),
            ));
        }
        if record.external_task_ids.len() > MAX_TASK_FILTER {
            return Err(ApiError::unprocessable(
                "invalid_leaderboard",
                format!("externalTaskIds holds at most {MAX_TASK_FILTER} tasks."),
            ));
        }
        for task in &record.external_task_ids {
            crate::ids::TaskId::parse(task)?;
        }
        let custom = (&record.custom_start, record.custom_length_days);
        let period = match (record.period.as_str(), custom) {
            ("all_time", (None, None)) => Period::AllTime,
            ("daily", (None, None)) => Period::Daily,
            ("weekly", (None, None)) => Period::Weekly,
            ("monthly", (None, None)) => Period::Monthly,
            ("custom", (Some(start), Some(length_days))) if (1..=366).contains(&length_days) => {
                let start = NaiveDate::parse_from_str(start, "%Y-%m-%d").map_err(|_| {
                    ApiError::unprocessable(
                        "invalid_period",
                        "customStart must be a local date YYYY-MM-DD in the board's zone.",
                    )
                })?;
                Period::Custom { start, length_days }
            }
            ("custom", _) => {
                return Err(ApiError::unprocessable(
                    "invalid_period",
                    "A custom period needs customStart (YYYY-MM-DD) and customLengthDays (1 to 366).",
                ));
            }
            ("all_time" | "daily" | "weekly" | "monthly", _) => {
                return Err(ApiError::unprocessable(
                    "invalid_period",
                    "customStart and customLengthDays belong to period \"custom\" only.",
                ));
            }
            (other, _) => {
                return Err(ApiError::unprocessable(
                    "invalid_period",
                    format!(
                        "period \"{other}\" is not one of all_time, daily, weekly, monthly, custom."
                    ),
                ));
            }
        };
        Ok(Board {
            record,
            period,
            zone,
        })
    }

    /// The board every game has: points, all time, UTC.
    pub fn implicit() -> Board {
        Board {
            record: BoardRecord {
                key: IMPLICIT_KEY.into(),
                id: IMPLICIT_ID.into(),
                metric: Metric::Points,
                external_task_ids: vec![],
                period: "all_time".into(),
                time_zone: "UTC".into(),
                tie_break: TieBreak::FirstReached,
                max_entries: DEFAULT_MAX_ENTRIES,
                custom_start: None,
                custom_length_days: None,
                created_at: String::new(),
                updated_at: String::new(),
            },
            period: Period::AllTime,
            zone: Tz::UTC,
        }
    }

    pub fn key(&self) -> &str {
        &self.record.key
    }

    /// Whether an award of this task counts on the board.
    pub fn counts(&self, external_task_id: &str) -> bool {
        self.record.external_task_ids.is_empty()
            || self
                .record
                .external_task_ids
                .iter()
                .any(|t| t == external_task_id)
    }

    /// How much an award adds to the score.
    pub fn increment(&self, points: Decimal) -> Decimal {
        match self.record.metric {
            Metric::Points => points,
            Metric::Awards => Decimal::ONE,
        }
    }

    pub fn period_key(&self, at_us: i64) -> String {
        period_key(self.period, self.zone, at_us)
    }

    /// When the period ends (µs), `None` for all time: the TTL of its items is 90 days later.
    pub fn expires_at_secs(&self, period_key: &str) -> Option<i64> {
        let (_, end) = period_bounds(self.period, self.zone, period_key)?;
        end.map(|end_us| end_us / 1_000_000 + RETENTION_DAYS * 86_400)
    }

    /// The period that ended last before `now_us` and its end (µs); `None` for all time.
    pub fn previous_period(&self, now_us: i64) -> Option<(String, i64)> {
        let current = self.period_key(now_us);
        let (start, _) = period_bounds(self.period, self.zone, &current)?;
        let previous = self.period_key(start? - 1);
        let (_, end) = period_bounds(self.period, self.zone, &previous)?;
        Some((previous, end?))
    }

    /// When the board started counting (µs): its id's time (a UUIDv7; a redefinition gets a
    /// new id), else its creation time.
    pub fn counting_since_us(&self) -> Option<i64> {
        uuid::Uuid::parse_str(&self.record.id)
            .ok()
            .and_then(|id| id.get_timestamp())
            .map(|t| {
                let (secs, nanos) = t.to_unix();
                (secs as i64) * 1_000_000 + i64::from(nanos / 1_000)
            })
            .or_else(|| {
                DateTime::parse_from_rfc3339(&self.record.created_at)
                    .ok()
                    .map(|at| at.timestamp_micros())
            })
    }

    /// `?period=`: a period key of this board, or an RFC 3339 instant inside the period.
    pub fn resolve_period(&self, query: Option<&str>, now_us: i64) -> ApiResult<String> {
        let Some(text) = query else {
            return Ok(self.period_key(now_us));
        };
        if period_bounds(self.period, self.zone, text).is_some() {
            return Ok(text.to_owned());
        }
        if let Ok(instant) = DateTime::parse_from_rfc3339(text) {
            return Ok(self.period_key(instant.timestamp_micros()));
        }
        Err(ApiError::unprocessable(
            "invalid_period",
            format!(
                "period \"{text}\" is neither a period of this board ({}) nor an RFC 3339 instant.",
                example_key(self.period)
            ),
        ))
    }
}

fn example_key(period: Period) -> &'static str {
    match period {
        Period::AllTime => "all",
        Period::Daily => "e.g. 2026-12-02",
        Period::Weekly => "e.g. 2026-W48",
        Period::Monthly => "e.g. 2026-12",
        Period::Custom { .. } => "the start date of a period, e.g. 2026-01-05",
    }
}

pub fn validate_key(key: &str) -> ApiResult<()> {
    let valid = (1..=40).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if !valid {
        return Err(ApiError::unprocessable(
            "invalid_leaderboard",
            "A leaderboard key is 1 to 40 letters, digits, `_` or `-`.",
        ));
    }
    if RESERVED_KEYS.contains(&key) {
        return Err(ApiError::unprocessable(
            "invalid_leaderboard",
            format!("\"{key}\" is reserved (it names a route)."),
        ));
    }
    Ok(())
}

fn local(zone: Tz, at_us: i64) -> NaiveDateTime {
    let utc = DateTime::<Utc>::from_timestamp_micros(at_us).unwrap_or_default();
    utc.with_timezone(&zone).naive_local()
}

/// The instant a local midnight begins; a day whose midnight a DST jump skips begins at the
/// first local instant that exists (the jump is at most a few hours).
fn start_of(zone: Tz, date: NaiveDate) -> i64 {
    let mut at = date.and_hms_opt(0, 0, 0).unwrap_or_default();
    for _ in 0..48 {
        if let Some(instant) = zone.from_local_datetime(&at).earliest() {
            return instant.timestamp_micros();
        }
        at += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&at).timestamp_micros()
}

fn custom_index(start: NaiveDate, length_days: u32, date: NaiveDate) -> i64 {
    (date - start).num_days().div_euclid(i64::from(length_days))
}

/// The key of the period holding `at_us`, in the zone's local calendar.
pub fn period_key(period: Period, zone: Tz, at_us: i64) -> String {
    let date = local(zone, at_us).date();
    match period {
        Period::AllTime => "all".into(),
        Period::Daily => date.format("%Y-%m-%d").to_string(),
        Period::Weekly => {
            let week = date.iso_week();
            format!("{}-W{:02}", week.year(), week.week())
        }
        Period::Monthly => date.format("%Y-%m").to_string(),
        Period::Custom { start, length_days } => {
            let index = custom_index(start, length_days, date);
            let first = start + Duration::days(index * i64::from(length_days));
            first.format("%Y-%m-%d").to_string()
        }
    }
}

/// A period key's first local day and the day after its last, or `None` if the text is not
/// a canonical key of this period kind.
fn period_days(period: Period, key: &str) -> Option<(NaiveDate, NaiveDate)> {
    let (first, next) = match period {
        Period::AllTime => return None,
        Period::Daily => {
            let day = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
            (day, day.succ_opt()?)
        }
        Period::Weekly => {
            let (year, week) = key.split_once("-W")?;
            let monday = NaiveDate::from_isoywd_opt(
                year.parse().ok()?,
                week.parse().ok()?,
                chrono::Weekday::Mon,
            )?;
            (monday, monday + Duration::days(7))
        }
        Period::Monthly => {
            let first = NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").ok()?;
            let next = if first.month() == 12 {
                NaiveDate::from_ymd_opt(first.year() + 1, 1, 1)?
            } else {
                NaiveDate::from_ymd_opt(first.year(), first.month() + 1, 1)?
            };
            (first, next)
        }
        Period::Custom { start, length_days } => {
            let first = NaiveDate::parse_from_str(key, "%Y-%m-%d").ok()?;
            let offset = (first - start).num_days();
            if offset.rem_euclid(i64::from(length_days)) != 0 {
                return None;
            }
            (first, first + Duration::days(i64::from(length_days)))
        }
    };
    Some((first, next))
}

/// `[start, end)` of a period in µs (`end` `None` for all time), or `None` when `key` is not a
/// canonical key of this board's period.
pub fn period_bounds(period: Period, zone: Tz, key: &str) -> Option<(Option<i64>, Option<i64>)> {
    if period == Period::AllTime {
        return (key == "all").then_some((None, None));
    }
    let (first, next) = period_days(period, key)?;
    // Canonical only: "2026-W5" or "2026-12-2" would name the same period under another key.
    if period_key(period, zone, start_of(zone, first)) != key {
        return None;
    }
    Some((Some(start_of(zone, first)), Some(start_of(zone, next))))
}

// ---------------------------------------------------------------------------------------
// Order and the count tree.

/// Score in micro-points, clamped to what a sort key holds.
pub fn micros(score: Decimal) -> i64 {
    (score * Decimal::from(MICRO))
        .floor()
        .to_i64()
        .unwrap_or(if score.is_sign_negative() {
            i64::MIN
        } else {
            i64::MAX
        })
}

/// The fixed-width text that sorts higher scores first.
fn inverted(micros: i64) -> String {
    let inverted = (i128::from(i64::MAX) - i128::from(micros)) as u128;
    format!("{inverted:020}")
}

/// An entry's sort key: score descending, then who reached it first, then the user id.
pub fn entry_sk(score: Decimal, reached_us: i64, user: &str) -> String {
    format!(
        "E#{}#{:020}#{user}",
        inverted(micros(score)),
        reached_us.max(0)
    )
}

/// The lowest sort key of entries with exactly this score (all of them sort after it).
pub fn score_sk(score: Decimal) -> String {
    format!("E#{}#", inverted(micros(score)))
}

/// The tree's bucket of a score: its whole points, clamped to `[0, u32::MAX]`.
pub fn bucket(score: Decimal) -> u32 {
    score
        .floor()
        .to_u32()
        .unwrap_or(if score.is_sign_negative() {
            0
        } else {
            u32::MAX
        })
}

/// The lowest sort key of the entries in a bucket: the bucket's highest score sorts first.
pub fn bucket_start_sk(bucket: u32) -> String {
    if bucket == u32::MAX {
        return "E#".into();
    }
    let top = i64::from(bucket + 1) * MICRO - 1;
    format!("E#{}#", inverted(top))
}

/// The shard of a user's counts on every board (stable: it is part of the key).
pub fn shard(user: &str) -> u32 {
    // FNV-1a: stable across builds and machines, unlike the std hasher.
    let mut hash: u32 = 0x811c_9dc5;
    for byte in user.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

/// The node at `level` on a bucket's path (the bucket's top `level` bytes) and the child digit.
pub fn node(bucket: u32, level: usize) -> (String, u8) {
    let bytes = bucket.to_be_bytes();
    let prefix: String = bytes[..level].iter().map(|b| format!("{b:02x}")).collect();
    (format!("N{level}#{prefix}"), bytes[level])
}

/// One count change: `delta` on `digit` of node `node` in `shard`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NodeDelta {
    pub shard: u32,
    pub node: String,
    pub digit: u8,
    pub delta: i64,
}

/// The count changes of an entry moving from bucket `from` (none: a new entrant) to `to`.
/// Levels above the first differing digit do not change at all.
pub fn tree_moves(shard: u32, from: Option<u32>, to: u32) -> Vec<NodeDelta> {
    let mut moves = Vec::new();
    for level in 0..LEVELS {
        let (to_node, to_digit) = node(to, level);
        if let Some(from) = from {
            let (from_node, from_digit) = node(from, level);
            if from_node == to_node && from_digit == to_digit {
                continue;
            }
            moves.push(NodeDelta {
                shard,
                node: from_node,
                digit: from_digit,
                delta: -1,
            });
        }
        moves.push(NodeDelta {
            shard,
            node: to_node,
            digit: to_digit,
            delta: 1,
        });
    }
    moves
}

/// The nodes whose counts rank a bucket: the path's node at every level, in every shard.
pub fn rank_nodes(bucket: u32) -> Vec<(u32, String)> {
    (0..SHARDS)
        .flat_map(|shard| (0..LEVELS).map(move |level| (shard, node(bucket, level).0)))
        .collect()
}

/// The nodes' children counts, by (shard, node).
pub type Counts = BTreeMap<(u32, String), BTreeMap<u8, i64>>;

/// Entries in buckets above `bucket`, from the counts of [`rank_nodes`].
pub fn entries_above_bucket(counts: &Counts, bucket: u32) -> i64 {
    let mut above = 0;
    for shard in 0..SHARDS {
        for level in 0..LEVELS {
            let (name, digit) = node(bucket, level);
            if let Some(children) = counts.get(&(shard, name)) {
                above += children
                    .iter()
                    .filter(|(d, _)| **d > digit)
                    .map(|(_, c)| *c)
                    .sum::<i64>();
            }
        }
    }
    above
}

/// Every entrant of the board-period: the roots' counts.
pub fn entrants(counts: &Counts) -> i64 {
    (0..SHARDS)
        .filter_map(|shard| counts.get(&(shard, node(0, 0).0)))
        .flat_map(|children| children.values())
        .sum()
}

// ---------------------------------------------------------------------------------------
// The award's part.

/// A user's entry on one board, as the user's standing item keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    /// The board's id (a stale id means the board was redefined: the entry does not count).
    pub id: String,
    pub period: String,
    pub score: Decimal,
    pub reached_us: i64,
}

/// What the award writes on one board.
#[derive(Debug, Clone, PartialEq)]
pub struct BoardChange {
    pub board_id: String,
    pub period: String,
    /// The TTL of the period's items (seconds), `None` for all time.
    pub expires_at: Option<i64>,
    /// The entry's sort key before the award (same period), to delete.
    pub old_sk: Option<String>,
    /// The entry's sort key after the award.
    pub sk: String,
    pub score: Decimal,
    pub reached_us: i64,
    pub moves: Vec<NodeDelta>,
}

/// The award's leaderboard writes: each board's change and the user's standings after it
/// (one item for all boards, conditioned on the version read).
#[derive(Debug, Clone, PartialEq)]
pub struct AwardBoards {
    pub changes: Vec<BoardChange>,
    pub standings: BTreeMap<String, Standing>,
    pub read_version: u64,
}

/// The boards an award counts on and how each changes. Nothing when no score changes.
pub fn plan_award(
    boards: &[Board],
    standings: &BTreeMap<String, Standing>,
    read_version: u64,
    user: &str,
    external_task_id: &str,
    points: Decimal,
    now_us: i64,
) -> Option<AwardBoards> {
    let mut next = standings.clone();
    // Standings of boards that no longer exist are dropped, so the item stays small.
    next.retain(|key, standing| {
        boards
            .iter()
            .any(|b| b.key() == key && b.record.id == standing.id)
    });
    let mut changes = Vec::new();
    for board in boards.iter().filter(|b| b.counts(external_task_id)) {
        let increment = board.increment(points);
        if increment.is_zero() {
            continue;
        }
        let period = board.period_key(now_us);
        let current = next
            .get(board.key())
            .filter(|s| s.id == board.record.id && s.period == period);
        let (old_sk, old_bucket, old_score) = match current {
            Some(s) => (
                Some(entry_sk(s.score, s.reached_us, user)),
                Some(bucket(s.score)),
                s.score,
            ),
            None => (None, None, Decimal::ZERO),
        };
        let score = old_score + increment;
        let moves = tree_moves(shard(user), old_bucket, bucket(score));
        next.insert(
            board.key().to_owned(),
            Standing {
                id: board.record.id.clone(),
                period: period.clone(),
                score,
                reached_us: now_us,
            },
        );
        changes.push(BoardChange {
            board_id: board.record.id.clone(),
            expires_at: board.expires_at_secs(&period),
            period,
            old_sk,
            sk: entry_sk(score, now_us, user),
            score,
            reached_us: now_us,
            moves,
        });
    }
    (!changes.is_empty()).then_some(AwardBoards {
        changes,
        standings: next,
        read_version,
    })
}

/// The award a reversal takes points back from, as its leaderboards need it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reversed<'a> {
    pub external_task_id: &'a str,
    pub awarded_us: i64,
    /// The boards the award counted on, as the award recorded them; `None` for awards stored
    /// before they recorded it: then every board defined before the award (by its UUIDv7 id's
    /// time, the implicit board always) that counts the award's task.
    pub counted_boards: Option<&'a [String]>,
    /// Points taken back now.
    pub amount: Decimal,
    /// Whether nothing of the award remains after this reversal.
    pub fully_reversed: bool,
}

/// Whether board `board` counted the award (see [`Reversed::counted_boards`]).
fn counted(board: &Board, award: &Reversed<'_>) -> bool {
    match award.counted_boards {
        Some(ids) => ids.contains(&board.record.id),
        None => {
            board.counts(award.external_task_id)
                && (board.record.id == IMPLICIT_ID
                    || board
                        .counting_since_us()
                        .is_some_and(|since| since <= award.awarded_us))
        }
    }
}

/// What a reversal does to the boards the award counted on: each score reduced (points: the
/// amount; awards: one, once the award is fully reversed), in the award's period while it is
/// still the current one. A closed period's results are final (docs/leaderboards.md). The
/// entry keeps its place among equal scores by the time it reached the lower score: now.
pub fn plan_reversal(
    boards: &[Board],
    standings: &BTreeMap<String, Standing>,
    read_version: u64,
    user: &str,
    award: &Reversed<'_>,
    now_us: i64,
) -> Option<AwardBoards> {
    let mut next = standings.clone();
    let mut changes = Vec::new();
    for board in boards.iter().filter(|b| counted(b, award)) {
        let decrement = match board.record.metric {
            Metric::Points => award.amount,
            Metric::Awards if award.fully_reversed => Decimal::ONE,
            Metric::Awards => Decimal::ZERO,
        };
        let period = board.period_key(award.awarded_us);
        if decrement.is_zero() || period != board.period_key(now_us) {
            continue;
        }
        let Some(current) = next
            .get(board.key())
            .filter(|s| s.id == board.record.id && s.period == period)
            .cloned()
        else {
            continue;
        };
        let score = (current.score - decrement).max(Decimal::ZERO);
        next.insert(
            board.key().to_owned(),
            Standing {
                score,
                reached_us: now_us,
                ..current.clone()
            },
        );
        changes.push(BoardChange {
            board_id: board.record.id.clone(),
            expires_at: board.expires_at_secs(&period),
            old_sk: Some(entry_sk(current.score, current.reached_us, user)),
            sk: entry_sk(score, now_us, user),
            moves: tree_moves(shard(user), Some(bucket(current.score)), bucket(score)),
            period,
            score,
            reached_us: now_us,
        });
    }
    (!changes.is_empty()).then_some(AwardBoards {
        changes,
        standings: next,
        read_version,
    })
}

/// The boards an award's writes count it on (recorded on the award, for its reversals).
pub fn counted_board_ids(writes: &[crate::store::leaderboards::LeaderboardWrite]) -> Vec<String> {
    writes
        .iter()
        .filter_map(|w| match w {
            crate::store::leaderboards::LeaderboardWrite::Entry { board_id, .. } => {
                Some(board_id.clone())
            }
            _ => None,
        })
        .collect()
}

/// The award's leaderboard items: every board it counts for, and the user's standings.
pub fn award_writes(
    state: &crate::store::leaderboards::AwardState,
    user: &str,
    external_task_id: &str,
    points: Decimal,
    now_us: i64,
) -> Vec<crate::store::leaderboards::LeaderboardWrite> {
    plan_award(
        &state.boards,
        &state.standings,
        state.version,
        user,
        external_task_id,
        points,
        now_us,
    )
    .map(crate::store::leaderboards::writes_of)
    .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Ranks of listed entries.

/// A listed entry before its rank.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub user: String,
    pub score: Decimal,
    pub reached_us: i64,
}

/// Ranks of consecutive entries, the first at 1-based `first_position`. `first_rank` is the
/// first entry's rank when ties share one (its group may start above the list).
pub fn ranks(entries: &[Listed], first_position: i64, first_rank: i64, tie: TieBreak) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let position = first_position + i as i64;
        let rank = match (tie, i) {
            (TieBreak::FirstReached, _) => position,
            (TieBreak::Shared, 0) => first_rank,
            (TieBreak::Shared, _) if entries[i - 1].score == entry.score => out[i - 1],
            (TieBreak::Shared, _) => position,
        };
        out.push(rank);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn us(text: &str) -> i64 {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_micros()
    }

    fn board(period: &str, zone: &str) -> Board {
        let mut record = Board::implicit().record;
        record.key = period.into();
        record.id = format!("id-{period}");
        record.period = period.into();
        record.time_zone = zone.into();
        Board::parse(record).unwrap()
    }

    #[test]
    fn weekly_in_madrid_rolls_over_at_local_midnight() {
        let b = board("weekly", "Europe/Madrid");
        // Sunday 2026-11-29 23:59:59 in Madrid (UTC+1) is still week 48; a second later, 49.
        assert_eq!(b.period_key(us("2026-11-29T22:59:59Z")), "2026-W48");
        assert_eq!(b.period_key(us("2026-11-29T23:00:00Z")), "2026-W49");
        let (start, end) = period_bounds(b.period, b.zone, "2026-W49").unwrap();
        assert_eq!(start, Some(us("2026-11-29T23:00:00Z")));
        assert_eq!(end, Some(us("2026-12-06T23:00:00Z")));
    }

    #[test]
    fn daily_on_dst_change_days_is_23_and_25_hours() {
        let b = board("daily", "Europe/Madrid");
        let (start, end) = period_bounds(b.period, b.zone, "2026-03-29").unwrap();
        assert_eq!(end.unwrap() - start.unwrap(), 23 * 3_600_000_000);
        let (start, end) = period_bounds(b.period, b.zone, "2026-10-25").unwrap();
        assert_eq!(end.unwrap() - start.unwrap(), 25 * 3_600_000_000);
        // 00:30 local after the autumn change is still the 25th; 23:59:59 CET (UTC+1) too.
        assert_eq!(b.period_key(us("2026-10-25T22:59:59Z")), "2026-10-25");
        assert_eq!(b.period_key(us("2026-10-25T23:00:00Z")), "2026-10-26");
    }

    #[test]
    fn a_midnight_skipped_by_dst_starts_the_day_at_the_first_local_instant() {
        // America/Santiago moved clocks from 00:00 to 01:00 on 2022-09-11.
        let b = board("daily", "America/Santiago");
        let (start, _) = period_bounds(b.period, b.zone, "2022-09-11").unwrap();
        assert_eq!(start, Some(us("2022-09-11T04:00:00Z")));
        assert_eq!(b.period_key(us("2022-09-11T03:59:59Z")), "2022-09-10");
    }

    #[test]
    fn bad_zones_periods_and_keys_are_refused() {
        let mut record = Board::implicit().record;
        record.time_zone = "Mars/Olympus".into();
        assert_eq!(
            Board::parse(record.clone()).unwrap_err().code,
            "unknown_time_zone"
        );
        record.time_zone = "UTC".into();
        record.period = "hourly".into();
        assert_eq!(
            Board::parse(record.clone()).unwrap_err().code,
            "invalid_period"
        );
        record.period = "custom".into();
        assert_eq!(
            Board::parse(record.clone()).unwrap_err().code,
            "invalid_period"
        );
        record.period = "weekly".into();
        record.key = "standings".into();
        assert_eq!(
            Board::parse(record).unwrap_err().code,
            "invalid_leaderboard"
        );
        let b = board("weekly", "UTC");
        assert_eq!(
            b.resolve_period(Some("2026-W5"), 0).unwrap_err().code,
            "invalid_period"
        );
        assert_eq!(
            b.resolve_period(Some("2026-12-02T10:00:00+01:00"), 0)
                .unwrap(),
            "2026-W49"
        );
    }

    #[test]
    fn custom_periods_are_windows_from_the_start() {
        let mut record = Board::implicit().record;
        record.period = "custom".into();
        record.custom_start = Some("2026-01-05".into());
        record.custom_length_days = Some(14);
        record.time_zone = "Europe/Madrid".into();
        let b = Board::parse(record).unwrap();
        assert_eq!(b.period_key(us("2026-01-18T22:59:59Z")), "2026-01-05");
        assert_eq!(b.period_key(us("2026-01-18T23:00:00Z")), "2026-01-19");
        assert_eq!(b.period_key(us("2026-01-01T12:00:00Z")), "2025-12-22");
        assert!(period_bounds(b.period, b.zone, "2026-01-06").is_none());
    }

    #[test]
    fn sort_keys_order_by_score_then_first_reached() {
        let a = entry_sk(Decimal::from(10), 5, "ana");
        let b = entry_sk(Decimal::from(10), 7, "bob");
        let c = entry_sk(Decimal::new(95, 1), 1, "cy");
        let d = entry_sk(Decimal::from(-3), 1, "dee");
        assert!(a < b && b < c && c < d);
        assert!(score_sk(Decimal::from(10)) < a);
        assert!(bucket_start_sk(9) > b && bucket_start_sk(9) < c);
        assert!(bucket_start_sk(0) < d);
    }

    #[test]
    fn the_tree_counts_entries_above_a_bucket() {
        let scores = [0u32, 3, 3, 256, 70_000, 5, 1 << 30];
        let mut counts = Counts::new();
        for (i, s) in scores.iter().enumerate() {
            for m in tree_moves(i as u32 % SHARDS, None, *s) {
                *counts
                    .entry((m.shard, m.node))
                    .or_default()
                    .entry(m.digit)
                    .or_default() += m.delta;
            }
        }
        assert_eq!(entrants(&counts), 7);
        assert_eq!(entries_above_bucket(&counts, 3), 4);
        assert_eq!(entries_above_bucket(&counts, 0), 6);
        assert_eq!(entries_above_bucket(&counts, 1 << 30), 0);
        // Moving one entry from 3 to 300 keeps the total and moves it above 256.
        for m in tree_moves(1, Some(3), 300) {
            *counts
                .entry((m.shard, m.node))
                .or_default()
                .entry(m.digit)
                .or_default() += m.delta;
        }
        assert_eq!(entrants(&counts), 7);
        assert_eq!(entries_above_bucket(&counts, 256), 3);
        assert_eq!(tree_moves(1, Some(3), 4).len(), 2, "one node, two digits");
    }

    #[test]
    fn shared_ranks_are_standard_competition_ranking() {
        let e = |s: i64| Listed {
            user: String::new(),
            score: Decimal::from(s),
            reached_us: 0,
        };
        let list = [e(9), e(7), e(7), e(5)];
        assert_eq!(ranks(&list, 1, 1, TieBreak::Shared), vec![1, 2, 2, 4]);
        assert_eq!(ranks(&list, 1, 1, TieBreak::FirstReached), vec![1, 2, 3, 4]);
        assert_eq!(ranks(&list, 11, 9, TieBreak::Shared), vec![9, 12, 12, 14]);
    }

    #[test]
    fn an_award_moves_the_entry_and_keeps_first_reached() {
        let boards = vec![Board::implicit(), board("weekly", "Europe/Madrid")];
        let now = us("2026-12-02T10:00:00Z");
        let first = plan_award(
            &boards,
            &BTreeMap::new(),
            0,
            "ana",
            "walk",
            Decimal::TWO,
            now,
        )
        .unwrap();
        assert_eq!(first.changes.len(), 2);
        assert!(first.changes.iter().all(|c| c.old_sk.is_none()));
        assert_eq!(first.changes[0].moves.len(), LEVELS);
        assert_eq!(first.changes[1].period, "2026-W49");
        assert!(first.changes[1].expires_at.is_some());
        assert!(first.changes[0].expires_at.is_none());
        let again = plan_award(
            &boards,
            &first.standings,
            1,
            "ana",
            "walk",
            Decimal::ONE,
            now + 1,
        )
        .unwrap();
        assert_eq!(
            again.changes[0].old_sk.as_deref(),
            Some(entry_sk(Decimal::TWO, now, "ana").as_str())
        );
        assert_eq!(again.changes[0].score, Decimal::from(3));
        // Next week the weekly board starts over; the all-time one continues.
        let later = plan_award(
            &boards,
            &again.standings,
            2,
            "ana",
            "walk",
            Decimal::ONE,
            us("2026-12-07T00:00:00Z"),
        )
        .unwrap();
        assert_eq!(later.changes[0].score, Decimal::from(4));
        assert_eq!(later.changes[1].score, Decimal::ONE);
        assert!(later.changes[1].old_sk.is_none());
        assert!(
            plan_award(
                &boards,
                &later.standings,
                3,
                "ana",
                "walk",
                Decimal::ZERO,
                now
            )
            .is_none()
        );
    }

    const ZONES: [&str; 8] = [
        "UTC",
        "Europe/Madrid",
        "America/New_York",
        "America/Santiago",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
        "Pacific/Chatham",
        "America/Havana",
    ];

    proptest! {
        #[test]
        fn every_instant_lies_in_the_period_its_key_names(
            at in 0i64..4_102_444_800_000_000,
            zone in 0usize..ZONES.len(),
            kind in 0usize..4,
        ) {
            let period = ["daily", "weekly", "monthly", "custom"][kind];
            let mut record = Board::implicit().record;
            record.period = period.into();
            record.time_zone = ZONES[zone].into();
            if period == "custom" {
                record.custom_start = Some("2024-02-29".into());
                record.custom_length_days = Some(10);
            }
            let b = Board::parse(record).unwrap();
            let key = b.period_key(at);
            let (start, end) = period_bounds(b.period, b.zone, &key).unwrap();
            let (start, end) = (start.unwrap(), end.unwrap());
            prop_assert!(start <= at && at < end, "{key}: {start} <= {at} < {end}");
            prop_assert_eq!(b.period_key(start), key.clone());
            prop_assert_eq!(b.period_key(end - 1), key.clone());
            prop_assert_ne!(b.period_key(end), key.clone());
            prop_assert_eq!(b.resolve_period(Some(&key), 0).unwrap(), key);
        }

        #[test]
        fn sort_keys_follow_scores(a in -1_000_000i64..1_000_000, b in -1_000_000i64..1_000_000,
                                   ra in 0i64..1_000, rb in 0i64..1_000) {
            let (sa, sb) = (Decimal::new(a, 2), Decimal::new(b, 2));
            let (ka, kb) = (entry_sk(sa, ra, "a"), entry_sk(sb, rb, "b"));
            if sa > sb { prop_assert!(ka < kb); }
            if sa == sb && ra < rb { prop_assert!(ka < kb); }
            if bucket(sa) == bucket(sb) {
                prop_assert!(bucket_start_sk(bucket(sa)) < ka);
            } else if bucket(sa) > bucket(sb) {
                prop_assert!(kb > bucket_start_sk(bucket(sb)) && ka < bucket_start_sk(bucket(sb)));
            }
        }
    }
}
