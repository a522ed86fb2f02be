//! `greencrowdStrategy` (GAME `app/engine/greencrowdStrategy.py`): simulation-driven scoring
//! over five dimensions, with three control groups for experiments.
//!
//! GAME's version crashes at HEAD (un-awaited async calls, reference §3.7); this is the
//! intended algorithm, pure: the history it reads is a [`GreencrowdSnapshot`] of write-time
//! aggregates, the `random_range` group draws from a ChaCha8 RNG seeded by the caller, and
//! simulations are signed with HMAC-SHA256 over a canonical serialisation (GAME hashed
//! Python's `repr`, which nothing else can reproduce).

use std::collections::{BTreeMap, BTreeSet};

use hmac::{Hmac, Mac};
use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde_json::{Map, Value, json};
use sha2::Sha256;

use crate::analytics::{Need, Series};
use crate::catalog::{Variables, hex};
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyError, float_var, int_var, need};
use crate::time::{MICROS_PER_SECOND, day_of, format_game_datetime, hour_of, parse_game_datetime};

pub(crate) const NEEDS: &[Need] = &[Need::Greencrowd];

pub const CASE_VALID: &str = "Valid Simulation";
pub const CASE_USED: &str = "Valid Simulation - Origin: Used simulation";
pub const CASE_EXPIRED: &str = "Valid Simulation - Origin: Expired simulation";
pub(crate) const CASES: &[&str] = &[CASE_VALID, CASE_USED, CASE_EXPIRED];

/// GAME's `(-1, "Invalid hash")`.
pub const INVALID_HASH: &str = "Invalid hash";

/// The five dimensions, in GAME's order (also the order of `dimensions` in a simulation).
pub const DIMENSIONS: [&str; 5] = ["DIM_BP", "DIM_LBE", "DIM_TD", "DIM_PP", "DIM_S"];

/// A task whose user's latest award (in the game) is on it and older than this scores 0 in
/// every dimension (GAME: 300 s).
pub const ZERO_AFTER_US: i64 = 300 * MICROS_PER_SECOND;

/// Version tag of the canonical serialisation that simulations are signed over.
const CANONICAL_TAG: &[u8] = b"GAME-greencrowd-simulation-v1\n";

/// The experiment's control groups (`UserGameConfig.experimentGroup`), in GAME's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ControlGroup {
    RandomRange,
    AverageScore,
    DynamicCalculation,
}

impl ControlGroup {
    pub const ALL: [ControlGroup; 3] = [
        ControlGroup::RandomRange,
        ControlGroup::AverageScore,
        ControlGroup::DynamicCalculation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ControlGroup::RandomRange => "random_range",
            ControlGroup::AverageScore => "average_score",
            ControlGroup::DynamicCalculation => "dynamic_calculation",
        }
    }

    pub fn parse(s: &str) -> Option<ControlGroup> {
        ControlGroup::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

/// GAME's assignment for a user without a group: the group with the fewest users in the game
/// so far, ties broken by [`ControlGroup::ALL`] order. `existing[i]` counts `ALL[i]`.
pub fn choose_control_group(existing: [u64; 3]) -> ControlGroup {
    let mut best = 0;
    for i in 1..3 {
        if existing[i] < existing[best] {
            best = i;
        }
    }
    ControlGroup::ALL[best]
}

/// Count, sum, min and max of one dimension's values across the awards of the game's
/// greencrowd tasks (what `random_range` and `average_score` read).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DimStats {
    pub count: u64,
    pub sum: i128,
    pub min: i64,
    pub max: i64,
}

impl DimStats {
    pub fn record(&mut self, v: i64) {
        if self.count == 0 {
            self.min = v;
            self.max = v;
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(i128::from(v));
    }

    /// GAME's `int(round(mean))` (round half to even), computed exactly; 5 with no value.
    pub fn rounded_mean(&self) -> i64 {
        if self.count == 0 {
            return 5;
        }
        let c = i128::from(self.count);
        let q = self.sum.div_euclid(c);
        let r = self.sum.rem_euclid(c);
        let q = match (2 * r).cmp(&c) {
            std::cmp::Ordering::Less => q,
            std::cmp::Ordering::Greater => q + 1,
            std::cmp::Ordering::Equal if q % 2 == 0 => q,
            std::cmp::Ordering::Equal => q + 1,
        };
        // The mean lies between two i64 values, so this only clamps a corrupted snapshot.
        q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
    }

    /// `random_range`'s bounds: GAME's `(min, max)`, or `(0, 10)` with no value.
    fn range(&self) -> (i64, i64) {
        if self.count == 0 {
            (0, 10)
        } else {
            (self.min.min(self.max), self.max.max(self.min))
        }
    }
}

/// What an award adds to the [`DimStats`]: GAME reads `data.callbackData` when non-empty,
/// else `data.tasks`, and collects every `dimensions[*][DIM_*]` of every task in it. Only
/// integer values count here (GAME's `randint` fails on anything else).
pub fn record_award_dimensions(stats: &mut [DimStats; 5], data: &Value) {
    let non_empty = |v: Option<&Value>| match v {
        Some(Value::Array(a)) if !a.is_empty() => Some(a.clone()),
        _ => None,
    };
    let Some(tasks) = non_empty(data.get("callbackData")).or_else(|| non_empty(data.get("tasks")))
    else {
        return;
    };
    for task in &tasks {
        let Some(dims) = task.get("dimensions").and_then(Value::as_array) else {
            continue;
        };
        for entry in dims.iter().filter_map(Value::as_object) {
            for (k, v) in entry {
                if let (Some(i), Some(v)) = (DIMENSIONS.iter().position(|d| d == k), v.as_i64()) {
                    stats[i].record(v);
                }
            }
        }
    }
}

/// The UTC time slot of a timestamp: 0 late night [0, 6), 1 morning, 2 afternoon, 3 evening.
pub fn time_slot(at_us: i64) -> usize {
    (hour_of(at_us) / 6) as usize
}

/// Awards on one of the game's greencrowd tasks, by UTC time slot (all users).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskActivity {
    pub external_task_id: String,
    pub slot_counts: [u64; 4],
}

impl TaskActivity {
    pub fn records(&self) -> u64 {
        self.slot_counts
            .iter()
            .fold(0u64, |a, b| a.saturating_add(*b))
    }

    pub fn record(&mut self, at_us: i64) {
        let s = time_slot(at_us);
        self.slot_counts[s] = self.slot_counts[s].saturating_add(1);
    }
}

/// The user's latest award in the game, on any task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastAward {
    pub external_task_id: String,
    pub at_us: i64,
}

/// Everything a greencrowd simulation reads, as write-time aggregates of the game (GAME read
/// every award of the game's greencrowd tasks).
#[derive(Debug, Clone, PartialEq)]
pub struct GreencrowdSnapshot {
    /// The user's control group; assign one with [`choose_control_group`] first if none.
    pub group: ControlGroup,
    /// The game's tasks whose strategy is `greencrowdStrategy`, in the game's task order.
    pub tasks: Vec<TaskActivity>,
    /// Dimension values found in those tasks' awards ([`record_award_dimensions`]).
    pub dims: [DimStats; 5],
    /// The user's awards on those tasks: count, first and last timestamps.
    pub user_series: Series,
    /// Distinct UTC days (days since 1970-01-01) of the user's awards on those tasks.
    pub user_days: Vec<i64>,
    /// The user's latest award in the game, any task.
    pub user_last_award: Option<LastAward>,
    /// Whether an award on (game, task) already carries `data.simulationHash` equal to the
    /// hash presented in this request's data ([`presented_hash`]): the simulation was used.
    pub simulation_used: bool,
}

/// One task of a simulation (GAME's `SimulatedTaskPoints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedTask {
    pub external_user_id: String,
    pub external_task_id: String,
    pub user_group: Option<String>,
    /// DIM_BP, DIM_LBE, DIM_TD, DIM_PP, DIM_S.
    pub dimensions: [i64; 5],
    pub total_simulated_points: i64,
    /// GAME's format, `YYYY-MM-DD HH:MM:SS.ffffff+00:00`.
    pub expiration_date: String,
}

impl SimulatedTask {
    /// GAME's JSON shape (`dimensions` as `[{"DIM_BP": v}, ...]`).
    pub fn to_json(&self) -> Value {
        let dims: Vec<Value> = DIMENSIONS
            .iter()
            .zip(self.dimensions)
            .map(|(k, v)| {
                let mut m = Map::new();
                m.insert((*k).to_string(), Value::from(v));
                Value::Object(m)
            })
            .collect();
        json!({
            "externalUserId": self.external_user_id,
            "externalTaskId": self.external_task_id,
            "userGroup": self.user_group,
            "dimensions": dims,
            "totalSimulatedPoints": self.total_simulated_points,
            "expirationDate": self.expiration_date,
        })
    }

    /// Strict parse of GAME's JSON shape: five single-key dimension objects in GAME's order,
    /// integer values. Unknown extra keys are ignored (they are not signed either).
    pub fn from_json(v: &Value) -> Option<SimulatedTask> {
        let o = v.as_object()?;
        let s = |k: &str| o.get(k).and_then(Value::as_str).map(str::to_string);
        let user_group = match o.get("userGroup") {
            None | Some(Value::Null) => None,
            Some(Value::String(g)) => Some(g.clone()),
            Some(_) => return None,
        };
        let dims = o.get("dimensions")?.as_array()?;
        if dims.len() != 5 {
            return None;
        }
        let mut dimensions = [0i64; 5];
        for (i, d) in dims.iter().enumerate() {
            let d = d.as_object()?;
            if d.len() != 1 {
                return None;
            }
            dimensions[i] = d.get(DIMENSIONS[i])?.as_i64()?;
        }
        Some(SimulatedTask {
            external_user_id: s("externalUserId")?,
            external_task_id: s("externalTaskId")?,
            user_group,
            dimensions,
            total_simulated_points: o.get("totalSimulatedPoints")?.as_i64()?,
            expiration_date: s("expirationDate")?,
        })
    }

    /// The points this entry is worth: the sum of its dimensions (as GAME, not the total field).
    pub fn points(&self) -> Option<i64> {
        self.dimensions
            .iter()
            .try_fold(0i64, |a, d| a.checked_add(*d))
    }
}

/// A signed simulation, as `GET /games/{id}/users/{userId}/points/simulated` returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Simulation {
    /// Lowercase hex HMAC-SHA256 over [`canonical_bytes`].
    pub simulation_hash: String,
    pub tasks: Vec<SimulatedTask>,
}

impl Simulation {
    pub fn to_json(&self) -> Value {
        json!({
            "simulationHash": self.simulation_hash,
            "tasks": self.tasks_json(),
        })
    }

    /// The `tasks` list alone (what GAME stores as `callbackData`).
    pub fn tasks_json(&self) -> Value {
        Value::Array(self.tasks.iter().map(SimulatedTask::to_json).collect())
    }
}

/// The bytes a simulation is signed over: a tag, the game and user ids, then every task's
/// fields in a fixed order. Strings are length-prefixed (`s<len>:<bytes>;`), integers decimal
/// (`i<n>;`), an absent user group `n;`, so no two different simulations share an encoding.
pub fn canonical_bytes(game_id: &str, user_id: &str, tasks: &[SimulatedTask]) -> Vec<u8> {
    fn int(out: &mut Vec<u8>, v: i64) {
        // Decimal without going through fmt (this runs for every verification).
        let mut buf = [0u8; 20];
        let mut n = v.unsigned_abs();
        let mut i = buf.len();
        loop {
            i -= 1;
            buf[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if v < 0 {
            out.push(b'-');
        }
        out.extend_from_slice(&buf[i..]);
    }
    fn s(out: &mut Vec<u8>, v: &str) {
        out.push(b's');
        int(out, v.len() as i64);
        out.push(b':');
        out.extend_from_slice(v.as_bytes());
        out.push(b';');
    }
    fn i(out: &mut Vec<u8>, v: i64) {
        out.push(b'i');
        int(out, v);
        out.push(b';');
    }
    let mut out = Vec::with_capacity(
        CANONICAL_TAG.len()
            + 64
            + game_id.len()
            + user_id.len()
            + tasks
                .iter()
                .map(|t| {
                    150 + t.external_user_id.len()
                        + t.external_task_id.len()
                        + t.user_group.as_ref().map_or(0, String::len)
                        + t.expiration_date.len()
                })
                .sum::<usize>(),
    );
    out.extend_from_slice(CANONICAL_TAG);
    s(&mut out, game_id);
    s(&mut out, user_id);
    i(&mut out, tasks.len() as i64);
    for t in tasks {
        s(&mut out, &t.external_user_id);
        s(&mut out, &t.external_task_id);
        match &t.user_group {
            Some(g) => s(&mut out, g),
            None => out.extend_from_slice(b"n;"),
        }
        for d in t.dimensions {
            i(&mut out, d);
        }
        i(&mut out, t.total_simulated_points);
        s(&mut out, &t.expiration_date);
    }
    out
}

fn mac(key: &[u8]) -> Result<Hmac<Sha256>, StrategyError> {
    if key.is_empty() {
        return Err(StrategyError::MissingSimulationKey);
    }
    Hmac::<Sha256>::new_from_slice(key).map_err(|_| StrategyError::MissingSimulationKey)
}

/// Sign a simulation: lowercase hex HMAC-SHA256(key, canonical bytes).
pub fn sign(
    key: &[u8],
    game_id: &str,
    user_id: &str,
    tasks: &[SimulatedTask],
) -> Result<String, StrategyError> {
    let mut m = mac(key)?;
    m.update(&canonical_bytes(game_id, user_id, tasks));
    Ok(hex(&m.finalize().into_bytes()))
}

/// Check a presented hash in constant time.
pub fn verify(
    key: &[u8],
    game_id: &str,
    user_id: &str,
    tasks: &[SimulatedTask],
    presented: &str,
) -> Result<bool, StrategyError> {
    let mut m = mac(key)?;
    m.update(&canonical_bytes(game_id, user_id, tasks));
    Ok(match unhex(presented) {
        Some(bytes) => m.verify_slice(&bytes).is_ok(),
        None => false,
    })
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

/// The `simulationHash` a request presents (the caller needs it to look up "used").
pub fn presented_hash(data: &Value) -> Option<&str> {
    data.get("simulationHash").and_then(Value::as_str)
}

/// Python's `round(x)` on a float: round half to even, to an integer.
fn py_round(x: f64) -> Result<i64, StrategyError> {
    let r = x.round_ties_even();
    if r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64 {
        Ok(r as i64)
    } else {
        Err(StrategyError::Overflow)
    }
}

/// Python's `"a_b_c".split("_")[1]`, `None` where Python raises IndexError.
fn poi_of(external_task_id: &str) -> Option<&str> {
    external_task_id.split('_').nth(1)
}

/// A uniform integer in [lo, hi] by rejection sampling on 64-bit draws: unbiased, and
/// independent of any crate's sampling algorithm, so a seed replays forever.
fn randint(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> i64 {
    let span = (i128::from(hi) - i128::from(lo) + 1) as u128; // 1..=2^64
    if span > u128::from(u64::MAX) {
        return (i128::from(lo) + i128::from(rng.next_u64())) as i64;
    }
    let span = span as u64;
    let zone = u64::MAX - (u64::MAX % span + 1) % span; // largest multiple of span, minus 1
    loop {
        let x = rng.next_u64();
        if x <= zone {
            return (i128::from(lo) + i128::from(x % span)) as i64;
        }
    }
}

struct Ctx<'a> {
    snap: &'a GreencrowdSnapshot,
    now_us: i64,
    basic: i64,
    lbe_multiplier: f64,
    poi_tasks: BTreeMap<&'a str, BTreeSet<&'a str>>,
    tasks_with_records: BTreeSet<&'a str>,
    records_by_task: BTreeMap<&'a str, [u64; 4]>,
    total_records: u64,
}

impl<'a> Ctx<'a> {
    fn new(snap: &'a GreencrowdSnapshot, now_us: i64, basic: i64, lbe_multiplier: f64) -> Self {
        let mut poi_tasks: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut tasks_with_records = BTreeSet::new();
        let mut records_by_task: BTreeMap<&str, [u64; 4]> = BTreeMap::new();
        let mut total_records = 0u64;
        for t in &snap.tasks {
            let id = t.external_task_id.as_str();
            if let Some(p) = poi_of(id) {
                poi_tasks.entry(p).or_default().insert(id);
            }
            if t.records() > 0 {
                tasks_with_records.insert(id);
            }
            let slots = records_by_task.entry(id).or_default();
            for (s, c) in slots.iter_mut().zip(t.slot_counts) {
                *s = s.saturating_add(c);
            }
            total_records = total_records.saturating_add(t.records());
        }
        Ctx {
            snap,
            now_us,
            basic,
            lbe_multiplier,
            poi_tasks,
            tasks_with_records,
            records_by_task,
            total_records,
        }
    }

    /// GAME's `get_dynamic_values_from_tasks` for one task.
    /// DIM_PP and DIM_S depend on the user only: computed once per simulation.
    fn user_dims(&self) -> Result<(i64, i64), StrategyError> {
        let bf = self.basic as f64;
        // DIM_PP: personal pace (minutes), smoothed.
        let us = &self.snap.user_series;
        let avg_window = if us.count >= 2 {
            (us.last_us.saturating_sub(us.first_us) as f64 / MICROS_PER_SECOND as f64 / 60.0)
                / (us.count - 1) as f64
        } else {
            0.0
        };
        let last_window = if us.count > 0 {
            self.now_us.saturating_sub(us.last_us) as f64 / MICROS_PER_SECOND as f64 / 60.0
        } else {
            0.0
        };
        let dim_pp = if avg_window > 0.0 {
            let alpha = (1.0 - last_window / avg_window).clamp(0.1, 0.5);
            let smoothed = alpha * (avg_window - last_window) + (1.0 - alpha) * avg_window;
            py_round((smoothed / avg_window).max(0.0) * bf)?
        } else {
            0
        };

        // DIM_S: GAME's streak count over the sorted distinct days, reproduced as written:
        // #{i : days[i] >= today - i} with days ascending.
        let mut days = self.snap.user_days.clone();
        days.sort_unstable();
        days.dedup();
        let today = day_of(self.now_us);
        let consecutive = days
            .iter()
            .enumerate()
            .filter(|(i, d)| i128::from(**d) >= i128::from(today) - *i as i128)
            .count();
        let dim_s = py_round(bf * 2f64.powf(consecutive as f64 / 5.0))?;

        Ok((dim_pp, dim_s))
    }

    /// GAME's `get_dynamic_values_from_tasks` for one task.
    fn dynamic(&self, task_id: &str, user_dims: (i64, i64)) -> Result<[i64; 5], StrategyError> {
        let Some(poi) = poi_of(task_id) else {
            return Ok([0; 5]);
        };
        let b = self.basic;
        let bf = b as f64;
        let ovf = || StrategyError::Overflow;

        // DIM_BP: fewer of the POI's tasks already done → more points.
        let in_poi = self.poi_tasks.get(poi);
        let total = in_poi.map_or(0, BTreeSet::len);
        let unique = in_poi.map_or(0, |s| {
            s.iter()
                .filter(|t| self.tasks_with_records.contains(*t))
                .count()
        });
        let dim_bp = if total > 0 {
            b.checked_sub(py_round(bf * (unique as f64 / total as f64))?)
                .ok_or_else(ovf)?
        } else {
            0
        };

        // DIM_LBE: this task has fewer awards than the average per POI.
        let slots = self.records_by_task.get(task_id).copied().unwrap_or([0; 4]);
        let count_task = slots.iter().fold(0u64, |a, c| a.saturating_add(*c));
        let avg_poi = self.total_records as f64 / self.poi_tasks.len().max(1) as f64;
        let dim_lbe = if avg_poi > 0.0 && (count_task as f64) < avg_poi {
            py_round(bf * self.lbe_multiplier)?
        } else {
            0
        };

        // DIM_TD: the current UTC time slot is under-represented on this task.
        let current = time_slot(self.now_us);
        let others = count_task.saturating_sub(slots[current]);
        let dim_td = if others > 0 {
            py_round((1.0 - slots[current] as f64 / others as f64) * bf)?
        } else {
            b
        };

        let (dim_pp, dim_s) = user_dims;
        Ok([dim_bp, dim_lbe, dim_td, dim_pp, dim_s])
    }
}

/// Simulate the points of every greencrowd task of the game for one user, and sign the result.
///
/// `variables` are greencrowd's effective variables; `rng_seed` feeds `random_range`
/// (draws in task order, then dimension order); `now_us` sets the time slot, the streak's
/// "today" and the expiry (`now + variable_simulation_valid_until` minutes).
pub fn simulate(
    game_id: &str,
    user_id: &str,
    now_us: i64,
    variables: &Variables,
    snap: &GreencrowdSnapshot,
    rng_seed: u64,
    key: &[u8],
) -> Result<Simulation, StrategyError> {
    if variables.strategy_id() != "greencrowdStrategy" {
        return Err(StrategyError::VariablesMismatch {
            strategy: "greencrowdStrategy",
            variables_for: variables.strategy_id(),
        });
    }
    let basic = int_var(variables, 0)?;
    let lbe_multiplier = float_var(variables, 2)?;
    let valid_minutes = int_var(variables, 3)?;
    let expiry =
        i128::from(now_us) + i128::from(valid_minutes) * 60 * i128::from(MICROS_PER_SECOND);
    let expiry = i64::try_from(expiry).map_err(|_| StrategyError::Overflow)?;
    let expiration_date = format_game_datetime(expiry);

    let dynamic = match snap.group {
        ControlGroup::DynamicCalculation => {
            let ctx = Ctx::new(snap, now_us, basic, lbe_multiplier);
            let user_dims = ctx.user_dims()?;
            Some((ctx, user_dims))
        }
        _ => None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(rng_seed);
    let group = snap.group;
    let mut tasks = Vec::with_capacity(snap.tasks.len());
    for t in &snap.tasks {
        let id = t.external_task_id.as_str();
        let stale = snap.user_last_award.as_ref().is_some_and(|la| {
            la.external_task_id == id
                && i128::from(now_us) - i128::from(la.at_us) > i128::from(ZERO_AFTER_US)
        });
        let dimensions = if stale {
            [0; 5]
        } else {
            match group {
                ControlGroup::RandomRange => {
                    let mut d = [0i64; 5];
                    for (i, s) in snap.dims.iter().enumerate() {
                        let (lo, hi) = s.range();
                        d[i] = randint(&mut rng, lo, hi);
                    }
                    d
                }
                ControlGroup::AverageScore => {
                    let mut d = [0i64; 5];
                    for (i, s) in snap.dims.iter().enumerate() {
                        d[i] = s.rounded_mean();
                    }
                    d
                }
                ControlGroup::DynamicCalculation => match &dynamic {
                    Some((ctx, user_dims)) => ctx.dynamic(id, *user_dims)?,
                    None => [0; 5],
                },
            }
        };
        let total = dimensions
            .iter()
            .try_fold(0i64, |a, d| a.checked_add(*d))
            .ok_or(StrategyError::Overflow)?;
        tasks.push(SimulatedTask {
            external_user_id: user_id.to_string(),
            external_task_id: id.to_string(),
            user_group: Some(group.as_str().to_string()),
            dimensions,
            total_simulated_points: total,
            expiration_date: expiration_date.clone(),
        });
    }
    let simulation_hash = sign(key, game_id, user_id, &tasks)?;
    Ok(Simulation {
        simulation_hash,
        tasks,
    })
}

/// The presented simulation: `None` when `data.tasks` is absent, null or empty (GAME then
/// simulates afresh), else every entry parsed strictly.
fn presented_tasks(data: &Value) -> Result<Option<Vec<SimulatedTask>>, StrategyError> {
    match data.get("tasks") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) if a.is_empty() => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(SimulatedTask::from_json)
            .collect::<Option<Vec<_>>>()
            .map(Some)
            .ok_or_else(|| {
                StrategyError::InvalidData(
                    "Invalid simulation payload: every entry of \"tasks\" must be a simulated task as returned by the simulation endpoint.".to_string(),
                )
            }),
        Some(_) => Err(StrategyError::InvalidData(
            "Invalid simulation payload: \"tasks\" must be a list.".to_string(),
        )),
    }
}

fn entry_for<'t>(tasks: &'t [SimulatedTask], task_id: &str) -> Option<&'t SimulatedTask> {
    tasks.iter().find(|t| t.external_task_id == task_id)
}

pub(crate) fn score(input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let snap = need(&input.analytics.greencrowd, Need::Greencrowd)?;
    let key = input.simulation_key;
    mac(key)?;
    let resimulate = || {
        simulate(
            input.game_id,
            input.user_id,
            input.now_us,
            input.variables,
            snap,
            input.rng_seed,
            key,
        )
    };

    let (entry, case_name, callback) = match presented_tasks(input.data)? {
        None => {
            // No simulation presented: simulate now and score that (GAME step 1).
            let sim = resimulate()?;
            let entry = entry_for(&sim.tasks, input.task_id).cloned();
            (entry, CASE_VALID, Some(sim.tasks_json()))
        }
        Some(tasks) => {
            let presented = presented_hash(input.data).unwrap_or("");
            if !verify(key, input.game_id, input.user_id, &tasks, presented)? {
                return Err(StrategyError::InvalidData(INVALID_HASH.to_string()));
            }
            let mut entry = entry_for(&tasks, input.task_id).cloned();
            let mut case_name = None;
            let mut callback = None;
            if snap.simulation_used {
                let sim = resimulate()?;
                entry = entry_for(&sim.tasks, input.task_id).cloned();
                case_name = Some(CASE_USED);
                callback = Some(sim.tasks_json());
            }
            if let Some(e) = &entry {
                let expires = parse_game_datetime(&e.expiration_date).ok_or_else(|| {
                    StrategyError::InvalidData(
                        "Invalid simulation payload: unreadable expirationDate.".to_string(),
                    )
                })?;
                if expires < input.now_us {
                    let sim = resimulate()?;
                    entry = entry_for(&sim.tasks, input.task_id).cloned();
                    case_name = case_name.or(Some(CASE_EXPIRED));
                    callback = Some(sim.tasks_json());
                }
            }
            (entry, case_name.unwrap_or(CASE_VALID), callback)
        }
    };
    let entry = entry.ok_or_else(|| {
        StrategyError::InvalidData(format!(
            "The simulation has no entry for task \"{}\".",
            input.task_id
        ))
    })?;
    let points = entry.points().ok_or(StrategyError::Overflow)?;
    Ok(Outcome {
        points: Points::from_int(points),
        case_name,
        callback_data: callback,
    })
}
