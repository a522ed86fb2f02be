//! Progression (issue 13), pure: a game's ladder, achievements and streak rule validated and
//! compiled; what one award does to a user's progression (level, level-ups, grants, streak,
//! freezes) decided from the state the award's one BatchGetItem loaded; the read views.
//!
//! Exactly once by construction: the user's progression is one versioned item per (user, game)
//! that every award of the game writes with `version = :read`, and each level-up, grant and
//! freeze is an immutable entry put with `attribute_not_exists` in the same transaction. Two
//! awards that both decide a crossing from the same state cannot both commit; the loser
//! re-decides on the winner's state, where the crossing is already behind it.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::store::progression::{
    Config, Crossing, Event, FreezeUsed, Grant, ProgressionWrite, UserState,
};
use crate::wire::progression::{
    AchievementDef, Criteria, EarnedAchievement, HeldAchievement, Ladder, LevelMetric, LevelUp,
    LevelView, ProgressionBlock, StreakChange, StreakOutcome, StreakPeriod, StreakPeriodView,
    StreakRule, StreakView,
};
use chrono::{Datelike, NaiveDate, TimeZone};
pub use chrono_tz::Tz;
use game_scoring::dsl::{CustomStrategy, DslKind};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use std::sync::Arc;

pub const MAX_LEVELS: usize = 100;
pub const MAX_ACHIEVEMENTS: usize = 50;
pub const MAX_FREEZE_CAP: u32 = 10;
/// Periods of history a user's streak keeps (and the read shows).
pub const HISTORY_PERIODS: i64 = 90;
/// Shards of a game's progression statistics (users, earned counts): an award adds to the
/// shard of its user, so one hot game spreads its grants and new users over this many items.
pub const STATS_SHARDS: u32 = 8;

fn decimal_of(value: f64) -> Option<Decimal> {
    if !value.is_finite() {
        return None;
    }
    decimal::parse(&value.to_string())
}

/// A ladder is 1 to 100 rungs, levels strictly increasing from 1, thresholds finite, ≥ 0 and
/// non-decreasing, names 1 to 200 characters, `data` an object.
pub fn validate_ladder(ladder: &Ladder) -> ApiResult<()> {
    let bad = |detail: String| ApiError::unprocessable("invalid_ladder", detail);
    if ladder.levels.is_empty() || ladder.levels.len() > MAX_LEVELS {
        return Err(bad(format!("A ladder has 1 to {MAX_LEVELS} levels.")));
    }
    let mut previous: Option<(u32, f64)> = None;
    for rung in &ladder.levels {
        if rung.level == 0 {
            return Err(bad("Levels start at 1.".into()));
        }
        if rung.name.trim().is_empty() || rung.name.chars().count() > 200 {
            return Err(bad(format!(
                "Level {}: the name is 1 to 200 characters.",
                rung.level
            )));
        }
        if decimal_of(rung.threshold).is_none() || rung.threshold < 0.0 {
            return Err(bad(format!(
                "Level {}: the threshold is a finite number from 0.",
                rung.level
            )));
        }
        if rung.data.as_ref().is_some_and(|d| !d.is_object()) {
            return Err(bad(format!("Level {}: data is a JSON object.", rung.level)));
        }
        if let Some((level, threshold)) = previous {
            if rung.level <= level {
                return Err(bad(
                    "Levels are strictly increasing along the ladder.".into()
                ));
            }
            if rung.threshold < threshold {
                return Err(bad("Thresholds never decrease along the ladder.".to_owned()));
            }
        }
        previous = Some((rung.level, rung.threshold));
    }
    Ok(())
}

/// An IANA zone name, or 422 `invalid_time_zone`.
pub fn time_zone(name: &str) -> ApiResult<Tz> {
    name.parse::<Tz>().map_err(|_| {
        ApiError::unprocessable(
            "invalid_time_zone",
            format!("\"{name}\" is not an IANA time zone (e.g. America/Santiago)."),
        )
    })
}

pub fn validate_streak(rule: &StreakRule) -> ApiResult<()> {
    let bad = |detail: &str| ApiError::unprocessable("invalid_streak_rule", detail.to_owned());
    if let Some(zone) = &rule.time_zone {
        time_zone(zone)?;
    }
    if rule.freeze_every == Some(0) {
        return Err(bad("freezeEvery is at least 1 period."));
    }
    if rule.freeze_cap > MAX_FREEZE_CAP {
        return Err(bad("freezeCap is 0 to 10."));
    }
    if rule.tasks.len() > 100 || rule.tasks.iter().any(|t| t.is_empty() || t.len() > 200) {
        return Err(bad("tasks lists up to 100 externalTaskIds."));
    }
    Ok(())
}

/// A predicate as the language's program: one rule whose `when` is the predicate. The rule
/// matching (a case name) is "true". The language's own validator and interpreter decide.
fn predicate_program(when: &Value) -> Value {
    json!({"type": "program", "rules": [{"type": "rule", "when": when, "then": [
        {"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "Earned"}
    ]}]})
}

/// An achievement definition validated, with its predicate compiled.
#[derive(Debug, Clone)]
pub struct CompiledAchievement {
    pub def: AchievementDef,
    pub predicate: Option<Arc<CustomStrategy>>,
    pub expires_us: Option<i64>,
    points: Option<Decimal>,
}

fn rfc3339_micros(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_micros())
}

pub fn compile_achievement(def: &AchievementDef) -> ApiResult<CompiledAchievement> {
    let bad = |detail: String| ApiError::unprocessable("invalid_achievement", detail);
    if !crate::ids::ExternalId::valid(&def.key) {
        return Err(bad(
            "The key is 3 to 60 letters, digits, `_` or `-`.".to_owned()
        ));
    }
    if def.name.trim().is_empty() || def.name.chars().count() > 200 {
        return Err(bad("The name is 1 to 200 characters.".into()));
    }
    if def.description.chars().count() > 1000 {
        return Err(bad("The description is at most 1000 characters.".into()));
    }
    let expires_us = match &def.expires_at {
        Some(text) => Some(
            rfc3339_micros(text)
                .ok_or_else(|| bad("expiresAt is an RFC 3339 date-time.".into()))?,
        ),
        None => None,
    };
    let mut points = None;
    let mut predicate = None;
    match &def.criteria {
        Criteria::Points { threshold } => {
            points = Some(
                decimal_of(*threshold)
                    .filter(|_| *threshold >= 0.0)
                    .ok_or_else(|| bad("The points threshold is a finite number from 0.".into()))?,
            );
        }
        Criteria::Awards { threshold, tasks }
            if *threshold == 0 || tasks.len() > 100 || tasks.iter().any(|t| t.is_empty()) =>
        {
            return Err(bad(
                "An awards criterion counts from 1 on up to 100 tasks.".into()
            ));
        }
        Criteria::DistinctTasks { threshold } if *threshold == 0 => {
            return Err(bad("distinctTasks counts from 1.".into()));
        }
        Criteria::Streak { length } if *length == 0 => {
            return Err(bad("A streak criterion counts from 1 period.".into()));
        }
        Criteria::Level { level } if *level == 0 => {
            return Err(bad("A level criterion names a level from 1.".into()));
        }
        Criteria::Predicate { when } => {
            let strategy = CustomStrategy::new(&predicate_program(when), DslKind::Full)
                .map_err(|e| bad(format!("The predicate is not a valid condition: {e}")))?;
            predicate = Some(Arc::new(strategy));
        }
        _ => {}
    }
    Ok(CompiledAchievement {
        def: def.clone(),
        predicate,
        expires_us,
        points,
    })
}

/// A game's definitions, compiled for decisions.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    pub ladder: Option<Ladder>,
    pub achievements: Vec<CompiledAchievement>,
    pub streak: Option<StreakRule>,
}

impl Compiled {
    pub fn of(config: &Config) -> ApiResult<Compiled> {
        Ok(Compiled {
            ladder: config.ladder.clone(),
            achievements: config
                .achievements
                .iter()
                .map(compile_achievement)
                .collect::<ApiResult<_>>()?,
            streak: config.streak.clone(),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.ladder.is_none() && self.achievements.is_empty() && self.streak.is_none()
    }
}

// ---- levels ----

/// The ladder's metric value of a state.
pub fn metric_value(ladder: &Ladder, state: &UserState) -> Decimal {
    match ladder.metric {
        LevelMetric::Points => state.points(),
        LevelMetric::Awards => Decimal::from(state.awards),
    }
}

/// A reversal's write on the user's progression: `amount` points off the total (never below
/// zero) and the level recomputed from it, as the next award would; the best level, its
/// recorded crossings, achievements and the streak stay (docs/ledger.md). `None` when nothing
/// changes.
pub fn after_reversal(
    defs: &Compiled,
    state: &UserState,
    amount: Decimal,
) -> Option<ProgressionWrite> {
    let mut next = state.clone();
    next.set_points((state.points() - amount).max(Decimal::ZERO));
    if let Some(ladder) = &defs.ladder {
        next.level = level_for(ladder, metric_value(ladder, &next));
    }
    next.version = state.version + 1;
    (next.points() != state.points()).then(|| ProgressionWrite::State {
        state: Box::new(next),
        read_version: state.version,
    })
}

/// The highest level whose threshold the value reaches (0 below the first rung).
pub fn level_for(ladder: &Ladder, value: Decimal) -> u32 {
    ladder
        .levels
        .iter()
        .filter(|rung| decimal_of(rung.threshold).is_some_and(|t| value >= t))
        .map(|rung| rung.level)
        .max()
        .unwrap_or(0)
}

pub fn level_view(ladder: &Ladder, state: &UserState) -> LevelView {
    let value = metric_value(ladder, state);
    let level = level_for(ladder, value);
    let current = ladder.levels.iter().find(|r| r.level == level);
    let next = ladder.levels.iter().find(|r| r.level > level);
    let base = current
        .and_then(|r| decimal_of(r.threshold))
        .unwrap_or(Decimal::ZERO);
    let (to_next, fraction) = match next.and_then(|r| decimal_of(r.threshold)) {
        Some(target) => {
            let span = target - base;
            let fraction = if span > Decimal::ZERO {
                use rust_decimal::prelude::ToPrimitive;
                ((value - base) / span)
                    .to_f64()
                    .unwrap_or(0.0)
                    .clamp(0.0, 1.0)
            } else {
                0.0
            };
            (
                decimal::to_json((target - value).max(Decimal::ZERO)),
                fraction,
            )
        }
        None => (Value::Null, 1.0),
    };
    LevelView {
        level,
        name: current.map(|r| r.name.clone()),
        metric: ladder.metric,
        value: decimal::to_json(value),
        next_level: next.map(|r| r.level),
        points_to_next: to_next,
        fraction,
    }
}

// ---- streak periods ----

fn epoch() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()
}

/// The period holding `now_us` in `zone`: days since 1970-01-01 of the local date (daily),
/// or ISO weeks counted from the week of 1969-12-29 (weekly). DST changes the length of a
/// local day, never which day an instant falls on, so the local date is the whole answer.
pub fn period_of(now_us: i64, zone: Tz, period: StreakPeriod) -> i64 {
    let local = zone.timestamp_micros(now_us).single().map_or_else(
        || chrono::DateTime::<chrono::Utc>::default().date_naive(),
        |t| t.date_naive(),
    );
    let days = (local - epoch()).num_days();
    match period {
        StreakPeriod::Daily => days,
        StreakPeriod::Weekly => {
            let monday = days - i64::from(local.weekday().num_days_from_monday());
            (monday + 3).div_euclid(7)
        }
    }
}

/// A period's first day, `YYYY-MM-DD`.
pub fn period_label(index: i64, period: StreakPeriod) -> String {
    let days = match period {
        StreakPeriod::Daily => index,
        StreakPeriod::Weekly => index * 7 - 3,
    };
    (epoch() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The zone a user's streak is counted in: theirs, else the game's, else UTC.
pub fn user_zone(rule: &StreakRule, state: &UserState) -> Tz {
    state
        .time_zone
        .as_deref()
        .or(rule.time_zone.as_deref())
        .and_then(|z| z.parse().ok())
        .unwrap_or(Tz::UTC)
}

/// A user's streak: the length, the best, the last qualifying period, freezes held and the
/// recent history (period, frozen?).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StreakState {
    pub length: u32,
    pub longest: u32,
    pub last: Option<i64>,
    pub freezes: u32,
    /// Counts toward the next earned freeze (reset when one is earned or the streak restarts).
    pub since_freeze: u32,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HistoryEntry {
    pub p: i64,
    /// A freeze covered it (no award).
    #[serde(default)]
    pub frozen: bool,
}

/// What one qualifying award in period `p` does to a streak: the change and the missed
/// periods a freeze covered (one freeze per missed period, all or none).
pub fn advance(state: &mut StreakState, rule: &StreakRule, p: i64) -> (StreakChange, Vec<i64>) {
    let mut covered = Vec::new();
    let change = match state.last {
        // Same period, or an award stamped before the last one (a zone moved west): no change.
        Some(last) if p <= last => return (StreakChange::Unchanged, covered),
        Some(last) if p == last + 1 => StreakChange::Extended,
        Some(last) => {
            let missed = p - last - 1;
            if i64::from(state.freezes) >= missed {
                covered = (last + 1..p).collect();
                state.freezes -= u32::try_from(missed).unwrap_or(u32::MAX);
                StreakChange::Extended
            } else {
                StreakChange::Restarted
            }
        }
        None => StreakChange::Restarted,
    };
    for &f in &covered {
        state.history.push(HistoryEntry { p: f, frozen: true });
    }
    state.history.push(HistoryEntry { p, frozen: false });
    state.history.retain(|h| h.p > p - HISTORY_PERIODS);
    if change == StreakChange::Restarted {
        state.length = 1;
        state.since_freeze = 1;
    } else {
        // A covered period counts toward the length: the streak never broke.
        state.length += 1 + u32::try_from(covered.len()).unwrap_or(0);
        state.since_freeze += 1;
    }
    state.last = Some(p);
    state.longest = state.longest.max(state.length);
    if let Some(every) = rule.freeze_every
        && state.since_freeze >= every
    {
        state.since_freeze = 0;
        state.freezes = (state.freezes + 1).min(rule.freeze_cap);
    }
    (change, covered)
}

/// The streak's length as of `now_p`: 0 once more periods were missed than freezes can cover
/// (the lazy read: nothing needs to be written for a streak to read as broken).
pub fn current_length(state: &StreakState, now_p: i64) -> u32 {
    match state.last {
        Some(last) if now_p - last - 1 > i64::from(state.freezes) => 0,
        Some(_) => state.length,
        None => 0,
    }
}

pub fn streak_view(rule: &StreakRule, state: &UserState, now_us: i64) -> StreakView {
    let zone = user_zone(rule, state);
    let now_p = period_of(now_us, zone, rule.period);
    let streak = &state.streak;
    let current = current_length(streak, now_p);
    StreakView {
        period: rule.period,
        time_zone: zone.name().to_owned(),
        current,
        longest: streak.longest,
        broken: streak.last.is_some() && current == 0,
        last_qualifying_period: streak.last.map(|p| period_label(p, rule.period)),
        freezes_held: streak.freezes,
        history: streak
            .history
            .iter()
            .filter(|h| h.p > now_p - HISTORY_PERIODS)
            .map(|h| StreakPeriodView {
                period: period_label(h.p, rule.period),
                status: if h.frozen { "frozen" } else { "qualified" }.into(),
            })
            .collect(),
    }
}

// ---- achievements ----

fn holds(
    achievement: &CompiledAchievement,
    state: &UserState,
    predicate: &dyn Fn(&CustomStrategy, &UserState) -> ApiResult<bool>,
) -> ApiResult<bool> {
    Ok(match &achievement.def.criteria {
        Criteria::Points { .. } => achievement.points.is_some_and(|t| state.points() >= t),
        Criteria::Awards { threshold, tasks } => {
            let count: u64 = if tasks.is_empty() {
                state.awards
            } else {
                tasks.iter().filter_map(|t| state.task_awards.get(t)).sum()
            };
            count >= *threshold
        }
        Criteria::DistinctTasks { threshold } => state.task_awards.len() as u64 >= *threshold,
        Criteria::Streak { length } => state.streak.length >= *length,
        Criteria::Level { level } => state.level >= *level,
        Criteria::Predicate { .. } => match &achievement.predicate {
            Some(strategy) => predicate(strategy, state)?,
            None => false,
        },
    })
}

/// Whether the achievement may be granted now: not expired; never held (a revoked one stays
/// revoked until an admin grants it again), or repeatable and out of its cooldown.
fn grantable(achievement: &CompiledAchievement, state: &UserState, now_us: i64) -> bool {
    if achievement.expires_us.is_some_and(|at| now_us > at) {
        return false;
    }
    match (
        state.achievements.get(&achievement.def.key),
        &achievement.def.repeatable,
    ) {
        (None, _) => true,
        (Some(held), Some(repeat)) => {
            !held.revoked
                && now_us - held.earned_us
                    >= i64::try_from(repeat.cooldown_seconds)
                        .unwrap_or(i64::MAX / 1_000_000)
                        .saturating_mul(1_000_000)
        }
        (Some(_), None) => false,
    }
}

// ---- the award's step ----

/// What the award step needs besides the definitions and the loaded state.
pub struct AwardFacts<'a> {
    pub external_task_id: &'a str,
    pub points: Decimal,
    pub now_us: i64,
    /// The award's `timeZone`, already validated.
    pub time_zone: Option<&'a str>,
    pub award_id: &'a str,
    /// Runs a compiled predicate on the award's context.
    pub predicate: &'a dyn Fn(&CustomStrategy, &UserState) -> ApiResult<bool>,
}

/// The award's progression: the answer's block and the writes.
#[derive(Debug, Clone)]
pub struct AwardProgression {
    pub block: ProgressionBlock,
    pub writes: Vec<ProgressionWrite>,
    /// The length of the streak this award found lapsed (and restarted), for `streak.broken`.
    pub broken_streak: Option<u32>,
}

/// Which statistics shard a user counts in.
pub fn stats_shard(external_user_id: &str) -> u32 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(external_user_id.as_bytes());
    u32::from(digest[0]) % STATS_SHARDS
}

/// One award's effect on the user's progression in the game, decided from the loaded state.
pub fn on_award(
    defs: &Compiled,
    loaded: Option<&UserState>,
    external_user_id: &str,
    facts: &AwardFacts<'_>,
) -> ApiResult<AwardProgression> {
    let read_version = loaded.map_or(0, |s| s.version);
    let mut state = loaded.cloned().unwrap_or_default();
    let now_us = facts.now_us;
    let at = crate::clock::micros_to_rfc3339(now_us);
    state.set_points(state.points() + facts.points);
    state.awards += 1;
    *state
        .task_awards
        .entry(facts.external_task_id.to_owned())
        .or_insert(0) += 1;
    if let Some(zone) = facts.time_zone {
        state.time_zone = Some(zone.to_owned());
    }
    let mut event = Event {
        seq: read_version + 1,
        at: at.clone(),
        award_id: Some(facts.award_id.to_owned()),
        level_up: None,
        grants: Vec::new(),
        freezes: Vec::new(),
    };
    let mut writes = Vec::new();
    let mut block = ProgressionBlock {
        level: None,
        level_ups: Vec::new(),
        achievements: Vec::new(),
        streak: None,
    };
    // Levels: from the new total alone; a crossing above the best level ever held is recorded.
    if let Some(ladder) = &defs.ladder {
        let level = level_for(ladder, metric_value(ladder, &state));
        state.level = level;
        block.level = Some(level);
        if level > state.peak_level {
            block.level_ups = ladder
                .levels
                .iter()
                .filter(|r| r.level > state.peak_level && r.level <= level)
                .map(|r| LevelUp {
                    level: r.level,
                    name: r.name.clone(),
                    data: r.data.clone(),
                })
                .collect();
            event.level_up = Some(Crossing {
                from: state.peak_level,
                to: level,
                levels: block.level_ups.clone(),
            });
            state.peak_level = level;
        }
    }
    // Streak: a qualifying award in the user's current period.
    let mut broken_streak = None;
    if let Some(rule) = &defs.streak {
        let counts =
            rule.tasks.is_empty() || rule.tasks.iter().any(|t| t == facts.external_task_id);
        let before = state.streak.last.map(|_| state.streak.length);
        let (status, covered) = if counts {
            let zone = user_zone(rule, &state);
            advance(
                &mut state.streak,
                rule,
                period_of(now_us, zone, rule.period),
            )
        } else {
            (StreakChange::Unchanged, Vec::new())
        };
        if status == StreakChange::Restarted {
            broken_streak = before.filter(|length| *length > 0);
        }
        event.freezes = covered
            .iter()
            .map(|&period| FreezeUsed {
                period,
                label: period_label(period, rule.period),
            })
            .collect();
        block.streak = Some(StreakOutcome {
            status,
            length: state.streak.length,
            freezes_used: covered
                .iter()
                .map(|&p| period_label(p, rule.period))
                .collect(),
            freezes_held: state.streak.freezes,
        });
    }
    // Achievements: on the state after the award (level and streak included).
    let mut earned_stats = Vec::new();
    for achievement in &defs.achievements {
        if !grantable(achievement, &state, now_us) || !holds(achievement, &state, facts.predicate)?
        {
            continue;
        }
        let key = achievement.def.key.clone();
        let held = state.achievements.entry(key.clone()).or_default();
        let first = held.times == 0 || held.revoked;
        held.times += 1;
        held.earned_us = now_us;
        held.revoked = false;
        if first {
            earned_stats.push(key.clone());
        }
        block.achievements.push(EarnedAchievement {
            key: key.clone(),
            name: achievement.def.name.clone(),
            earned_at: at.clone(),
            times: held.times,
        });
        event.grants.push(Grant {
            key,
            times: held.times,
            name: achievement.def.name.clone(),
            at: at.clone(),
            award_id: Some(facts.award_id.to_owned()),
            reason: None,
            revoke: false,
        });
    }
    if !event.is_empty() {
        writes.push(ProgressionWrite::Event(Box::new(event)));
    }
    if read_version == 0 || !earned_stats.is_empty() {
        writes.push(ProgressionWrite::Stats {
            shard: stats_shard(external_user_id),
            new_user: read_version == 0,
            earned: earned_stats.into_iter().map(|k| (k, 1)).collect(),
        });
    }
    state.version = read_version + 1;
    writes.insert(
        0,
        ProgressionWrite::State {
            state: Box::new(state),
            read_version,
        },
    );
    Ok(AwardProgression {
        block,
        writes,
        broken_streak,
    })
}

/// A user's progression as the strategies read it (`user.level`, `user.streak_length`,
/// `achievement.<key>`), the streak evaluated at `now_us` in the user's zone.
pub fn snapshot(
    defs: &Compiled,
    state: &UserState,
    now_us: i64,
) -> game_scoring::ProgressionSnapshot {
    game_scoring::ProgressionSnapshot {
        level: state.level,
        streak_length: defs.streak.as_ref().map_or(0, |rule| {
            current_length(
                &state.streak,
                period_of(now_us, user_zone(rule, state), rule.period),
            )
        }),
        // BTreeMap order: sorted, as the language's lookup expects.
        achievements: state
            .achievements
            .iter()
            .filter(|(_, held)| held.times > 0 && !held.revoked)
            .map(|(key, _)| key.clone())
            .collect(),
    }
}

/// The snapshot of the award's loaded state (before the award), when the game has progression.
pub fn loaded_snapshot(
    loaded: &crate::store::award::Loaded,
    now_us: i64,
) -> Option<game_scoring::ProgressionSnapshot> {
    let state = loaded.progression.as_ref()?;
    Some(snapshot(
        &state.defs,
        state.user.as_ref().unwrap_or(&UserState::default()),
        now_us,
    ))
}

/// The award's hook: its progression when the game defines some. Predicates run on the
/// award's own context (its data and the aggregates before it, as strategies see them), under
/// the award's custom-strategy deadline.
pub fn for_award(
    loaded: &crate::store::award::Loaded,
    score: &game_scoring::ScoreInput<'_>,
    points: Decimal,
    award_id: &str,
    time_zone: Option<&str>,
    cell: Option<(usize, usize)>,
    deadline: &dyn Fn() -> bool,
) -> ApiResult<Option<AwardProgression>> {
    let Some(state) = &loaded.progression else {
        return Ok(None);
    };
    let predicate = |strategy: &CustomStrategy, after: &UserState| -> ApiResult<bool> {
        let needs: Vec<_> = strategy
            .needs()
            .into_iter()
            .filter(|n| *n != game_scoring::Need::Greencrowd)
            .collect();
        let mut analytics = crate::domain::analytics::analytics(&needs, &loaded.aggregates, cell)
            .map_err(|_| ApiError::internal("greencrowd state was not loaded"))?;
        // Progression as it stands after the award (the level and streak it just reached).
        analytics.progression = Some(snapshot(&state.defs, after, score.now_us));
        let input = game_scoring::ScoreInput {
            analytics: &analytics,
            ..*score
        };
        let out = strategy
            .run(
                &game_scoring::dsl::DslInput {
                    score: input,
                    mock_state: None,
                },
                deadline,
            )
            .map_err(|f| crate::domain::custom::dsl_error(&f.error))?;
        Ok(out.case_name.is_some())
    };
    on_award(
        &state.defs,
        state.user.as_ref(),
        score.user_id,
        &AwardFacts {
            external_task_id: score.task_id,
            points,
            now_us: score.now_us,
            time_zone,
            award_id,
            predicate: &predicate,
        },
    )
    .map(Some)
}

/// What an award scoring `points` would do to the user's progression (the custom-strategy
/// simulate routes): the block only, nothing to write.
pub fn simulate(
    loaded: &crate::store::award::Loaded,
    score: &game_scoring::ScoreInput<'_>,
    points: Decimal,
    deadline: &dyn Fn() -> bool,
) -> ApiResult<Option<ProgressionBlock>> {
    let cell = game_scoring::gi_star::task_cell(score.task_params);
    Ok(for_award(loaded, score, points, "simulated", None, cell, deadline)?.map(|p| p.block))
}

/// An admin grant (`revoke: false`) or revocation: the new state and its writes. A grant of a
/// held achievement counts again; revoking one not held (or already revoked) is 409.
pub fn admin_change(
    loaded: Option<&UserState>,
    key: &str,
    name: &str,
    external_user_id: &str,
    reason: &str,
    revoke: bool,
    now_us: i64,
) -> ApiResult<(Grant, Vec<ProgressionWrite>)> {
    let read_version = loaded.map_or(0, |s| s.version);
    let mut state = loaded.cloned().unwrap_or_default();
    let held = state.achievements.entry(key.to_owned()).or_default();
    let delta = if revoke {
        if held.times == 0 || held.revoked {
            return Err(ApiError::conflict(
                "achievement_not_held",
                format!("The user does not hold the achievement \"{key}\"."),
            ));
        }
        held.revoked = true;
        -1
    } else {
        let was_held = held.times > 0 && !held.revoked;
        held.times += 1;
        held.earned_us = now_us;
        held.revoked = false;
        if was_held { 0 } else { 1 }
    };
    let grant = Grant {
        key: key.to_owned(),
        times: held.times,
        name: name.to_owned(),
        at: crate::clock::micros_to_rfc3339(now_us),
        award_id: None,
        reason: Some(reason.to_owned()),
        revoke,
    };
    state.version = read_version + 1;
    let mut writes = vec![
        ProgressionWrite::State {
            state: Box::new(state),
            read_version,
        },
        ProgressionWrite::Event(Box::new(Event {
            seq: read_version + 1,
            at: grant.at.clone(),
            award_id: None,
            level_up: None,
            grants: vec![grant.clone()],
            freezes: Vec::new(),
        })),
    ];
    if delta != 0 || read_version == 0 {
        writes.push(ProgressionWrite::Stats {
            shard: stats_shard(external_user_id),
            new_user: read_version == 0,
            earned: if delta != 0 {
                vec![(key.to_owned(), delta)]
            } else {
                vec![]
            },
        });
    }
    Ok((grant, writes))
}

pub fn held_view(key: &str, held: &crate::store::progression::Held) -> HeldAchievement {
    HeldAchievement {
        key: key.to_owned(),
        earned_at: crate::clock::micros_to_rfc3339(held.earned_us),
        times: held.times,
        revoked: held.revoked,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::progression::{LevelDef, Repeatable};
    use proptest::prelude::*;

    const DAY_US: i64 = 86_400_000_000;
    const HOUR_US: i64 = 3_600_000_000;

    fn ladder() -> Ladder {
        Ladder {
            metric: LevelMetric::Points,
            levels: [(1, 0.0), (2, 100.0), (3, 250.0), (4, 500.0)]
                .iter()
                .map(|&(level, threshold)| LevelDef {
                    level,
                    name: format!("L{level}"),
                    threshold,
                    data: None,
                })
                .collect(),
        }
    }

    fn rule(freeze_every: Option<u32>, cap: u32) -> StreakRule {
        StreakRule {
            period: StreakPeriod::Daily,
            tasks: vec![],
            time_zone: Some("America/Santiago".into()),
            freeze_every,
            freeze_cap: cap,
        }
    }

    fn achievement(key: &str, criteria: Criteria) -> AchievementDef {
        AchievementDef {
            key: key.into(),
            name: key.into(),
            description: String::new(),
            criteria,
            repeatable: None,
            expires_at: None,
        }
    }

    fn no_predicate(_: &CustomStrategy, _: &UserState) -> ApiResult<bool> {
        Ok(false)
    }

    fn award(
        defs: &Compiled,
        state: Option<&UserState>,
        points: i64,
        now_us: i64,
    ) -> AwardProgression {
        on_award(
            defs,
            state,
            "ana",
            &AwardFacts {
                external_task_id: "walk",
                points: Decimal::from(points),
                now_us,
                time_zone: None,
                award_id: "a1",
                predicate: &no_predicate,
            },
        )
        .unwrap()
    }

    fn state_of(p: &AwardProgression) -> UserState {
        match &p.writes[0] {
            ProgressionWrite::State { state, .. } => (**state).clone(),
            _ => panic!("the state is written first"),
        }
    }

    #[test]
    fn a_multi_level_crossing_is_one_entry_listing_every_level() {
        let defs = Compiled {
            ladder: Some(ladder()),
            ..Compiled::default()
        };
        let first = award(&defs, None, 10, 0);
        assert_eq!(first.block.level, Some(1));
        let state = state_of(&first);
        let second = award(&defs, Some(&state), 300, 1);
        let levels: Vec<u32> = second.block.level_ups.iter().map(|l| l.level).collect();
        assert_eq!(levels, vec![2, 3]);
        let events: Vec<&Event> = second
            .writes
            .iter()
            .filter_map(|w| match w {
                ProgressionWrite::Event(e) => Some(e.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(events.len(), 1);
        assert_eq!(
            events[0].level_up.as_ref().map(|c| (c.from, c.to)),
            Some((1, 3))
        );
        assert_eq!(second.writes.len(), 2, "the state and the event");
        // The same total again: no crossing.
        let third = award(&defs, Some(&state_of(&second)), 0, 2);
        assert!(third.block.level_ups.is_empty());
        assert_eq!(third.block.level, Some(3));
    }

    #[test]
    fn an_award_adds_one_to_three_transaction_items() {
        let defs = Compiled {
            ladder: Some(ladder()),
            achievements: vec![
                compile_achievement(&achievement(
                    "century",
                    Criteria::Points { threshold: 100.0 },
                ))
                .unwrap(),
            ],
            streak: Some(rule(Some(7), 2)),
        };
        // First award: the new state, its event (level 1, day 1) and the users count.
        let first = award(&defs, None, 10, 0);
        assert_eq!(first.writes.len(), 3);
        // Same day, no crossing: the state alone.
        let again = award(&defs, Some(&state_of(&first)), 10, 1);
        assert_eq!(again.writes.len(), 1);
        // A crossing with a grant: state, event, the earned count.
        let crossing = award(&defs, Some(&state_of(&again)), 100, 2);
        assert_eq!(crossing.writes.len(), 3);
        assert!(
            matches!(&crossing.writes[2], ProgressionWrite::Stats { new_user: false, earned, .. } if earned == &vec![("century".to_owned(), 1)])
        );
    }

    #[test]
    fn ladders_are_validated() {
        let mut bad = ladder();
        bad.levels[2].threshold = 50.0;
        assert_eq!(validate_ladder(&bad).unwrap_err().code, "invalid_ladder");
        let mut bad = ladder();
        bad.levels[1].level = 1;
        assert!(validate_ladder(&bad).is_err());
        assert!(validate_ladder(&ladder()).is_ok());
    }

    #[test]
    fn progress_to_next_is_exact() {
        let mut state = UserState::default();
        state.set_points(Decimal::new(1755, 1));
        let view = level_view(&ladder(), &state);
        assert_eq!(view.level, 2);
        assert_eq!(view.points_to_next, json!(74.5));
        assert!((view.fraction - 0.503_333).abs() < 1e-3);
    }

    #[test]
    fn achievements_are_granted_once_and_repeatables_after_their_cooldown() {
        let mut repeat = achievement(
            "daily5",
            Criteria::Awards {
                threshold: 1,
                tasks: vec![],
            },
        );
        repeat.repeatable = Some(Repeatable {
            cooldown_seconds: 3600,
        });
        let defs = Compiled {
            achievements: vec![
                compile_achievement(&achievement(
                    "century",
                    Criteria::Points { threshold: 100.0 },
                ))
                .unwrap(),
                compile_achievement(&repeat).unwrap(),
            ],
            ..Compiled::default()
        };
        let first = award(&defs, None, 150, 0);
        let keys: Vec<&str> = first
            .block
            .achievements
            .iter()
            .map(|a| a.key.as_str())
            .collect();
        assert_eq!(keys, vec!["century", "daily5"]);
        let second = award(&defs, Some(&state_of(&first)), 1, HOUR_US / 2);
        assert!(second.block.achievements.is_empty());
        let third = award(&defs, Some(&state_of(&second)), 1, HOUR_US);
        assert_eq!(third.block.achievements.len(), 1);
        assert_eq!(third.block.achievements[0].times, 2);
    }

    #[test]
    fn bad_predicates_are_invalid_achievements() {
        let def = achievement(
            "pred",
            Criteria::Predicate {
                when: json!({"type": "field", "path": "no.such"}),
            },
        );
        assert_eq!(
            compile_achievement(&def).unwrap_err().code,
            "invalid_achievement"
        );
        let good = achievement(
            "pred",
            Criteria::Predicate {
                when: json!({"type": "compare", "op": ">=",
                "left": {"type": "field", "path": "data.minutes"},
                "right": {"type": "literal", "value": 30}}),
            },
        );
        assert!(compile_achievement(&good).unwrap().predicate.is_some());
    }

    #[test]
    fn expired_achievements_are_not_earned() {
        let mut def = achievement("season", Criteria::Points { threshold: 0.0 });
        def.expires_at = Some("1970-01-01T00:00:01Z".into());
        let defs = Compiled {
            achievements: vec![compile_achievement(&def).unwrap()],
            ..Compiled::default()
        };
        assert!(
            award(&defs, None, 1, 2_000_000)
                .block
                .achievements
                .is_empty()
        );
        assert_eq!(award(&defs, None, 1, 0).block.achievements.len(), 1);
    }

    #[test]
    fn a_missed_day_uses_one_freeze_and_says_which() {
        let rule = rule(Some(2), 2);
        let mut s = StreakState::default();
        for day in 0..4 {
            advance(&mut s, &rule, day);
        }
        assert_eq!((s.length, s.freezes), (4, 2));
        let (change, covered) = advance(&mut s, &rule, 5);
        assert_eq!(change, StreakChange::Extended);
        assert_eq!(covered, vec![4]);
        assert_eq!((s.length, s.freezes), (6, 1));
        // Three missed days, one freeze: restarted, the freeze kept.
        let (change, covered) = advance(&mut s, &rule, 9);
        assert_eq!(change, StreakChange::Restarted);
        assert!(covered.is_empty());
        assert_eq!((s.length, s.longest, s.freezes), (1, 6, 1));
    }

    #[test]
    fn santiago_days_follow_local_midnight_across_dst() {
        let zone: Tz = "America/Santiago".parse().unwrap();
        // 2026-09-06 04:00 UTC is 00:00 in Santiago (DST starts that night: -04 → -03).
        let before = 1_788_667_200 * 1_000_000 - 1;
        let after = before + 1;
        assert_eq!(
            period_of(before, zone, StreakPeriod::Daily) + 1,
            period_of(after, zone, StreakPeriod::Daily)
        );
        assert_eq!(
            period_label(
                period_of(after, zone, StreakPeriod::Daily),
                StreakPeriod::Daily
            ),
            "2026-09-06"
        );
        // Weekly periods start on Mondays.
        let week = period_of(after, zone, StreakPeriod::Weekly);
        assert_eq!(period_label(week, StreakPeriod::Weekly), "2026-08-31");
    }

    #[test]
    fn a_broken_streak_reads_broken_without_an_award() {
        let rule = rule(None, 0);
        let mut state = UserState::default();
        advance(
            &mut state.streak,
            &rule,
            period_of(0, Tz::UTC, StreakPeriod::Daily),
        );
        state.time_zone = Some("UTC".into());
        assert_eq!(streak_view(&rule, &state, DAY_US).current, 1);
        let view = streak_view(&rule, &state, 2 * DAY_US);
        assert_eq!((view.current, view.broken), (0, true));
    }

    /// The naive model: the qualifying local dates as a set, walked day by day from the first.
    fn naive(days: &[i64], every: Option<u32>, cap: u32) -> (u32, u32, u32) {
        let mut sorted: Vec<i64> = Vec::new();
        // Awards arrive in time order; an earlier day after a later one never counts.
        for &d in days {
            if sorted.last().is_none_or(|&l| d > l) {
                sorted.push(d);
            }
        }
        let (mut length, mut longest, mut freezes, mut since) = (0u32, 0u32, 0u32, 0u32);
        let mut last: Option<i64> = None;
        for &d in &sorted {
            match last {
                Some(l) if d - l - 1 <= i64::from(freezes) => {
                    let missed = (d - l - 1) as u32;
                    freezes -= missed;
                    length += 1 + missed;
                    since += 1;
                }
                _ => {
                    length = 1;
                    since = 1;
                }
            }
            last = Some(d);
            longest = longest.max(length);
            if let Some(e) = every
                && since >= e
            {
                since = 0;
                freezes = (freezes + 1).min(cap);
            }
        }
        (length, longest, freezes)
    }

    const ZONES: [&str; 5] = [
        "UTC",
        "America/Santiago",
        "Europe/Madrid",
        "Australia/Lord_Howe",
        "Pacific/Chatham",
    ];

    proptest! {
        #[test]
        fn streaks_match_the_naive_model(
            zone in 0usize..ZONES.len(),
            gaps in prop::collection::vec(0i64..(60 * HOUR_US), 1..40),
            every in prop::option::of(1u32..5),
            cap in 0u32..4,
        ) {
            let zone: Tz = ZONES[zone].parse().unwrap();
            let rule = StreakRule { time_zone: Some(zone.name().into()), ..rule(every, cap) };
            // Instants from 2026-03-01 on: both DST changes of Santiago, Madrid, Lord Howe.
            let mut now = 1_772_323_200 * 1_000_000i64;
            let mut state = StreakState::default();
            let mut days = Vec::new();
            let mut used = std::collections::BTreeSet::new();
            for gap in gaps {
                now += gap;
                let p = period_of(now, zone, StreakPeriod::Daily);
                // The local date, computed independently of period_of.
                let local = zone.timestamp_micros(now).unwrap().date_naive();
                prop_assert_eq!(p, (local - epoch()).num_days());
                days.push(p);
                let (_, covered) = advance(&mut state, &rule, p);
                for c in covered {
                    // Never two freezes for one period.
                    prop_assert!(used.insert(c));
                }
            }
            prop_assert_eq!((state.length, state.longest, state.freezes), naive(&days, every, cap));
        }

        #[test]
        fn weekly_streaks_match_the_naive_model(
            zone in 0usize..ZONES.len(),
            gaps in prop::collection::vec(0i64..(12 * DAY_US), 1..30),
            every in prop::option::of(1u32..4),
            cap in 0u32..3,
        ) {
            let zone: Tz = ZONES[zone].parse().unwrap();
            let rule = StreakRule {
                period: StreakPeriod::Weekly,
                time_zone: Some(zone.name().into()),
                ..rule(every, cap)
            };
            let mut now = 1_772_323_200 * 1_000_000i64;
            let mut state = StreakState::default();
            let mut weeks = Vec::new();
            let first_monday = NaiveDate::from_ymd_opt(1969, 12, 29).unwrap();
            for gap in gaps {
                now += gap;
                let p = period_of(now, zone, StreakPeriod::Weekly);
                // The ISO week's Monday, counted independently of period_of.
                let local = zone.timestamp_micros(now).unwrap().date_naive();
                let week = local.iso_week();
                let monday = NaiveDate::from_isoywd_opt(week.year(), week.week(), chrono::Weekday::Mon).unwrap();
                prop_assert_eq!(p, (monday - first_monday).num_days() / 7);
                prop_assert_eq!(period_label(p, StreakPeriod::Weekly), monday.format("%Y-%m-%d").to_string());
                weeks.push(p);
                advance(&mut state, &rule, p);
            }
            prop_assert_eq!((state.length, state.longest, state.freezes), naive(&weeks, every, cap));
        }

        #[test]
        fn levels_match_the_naive_model(points in prop::collection::vec(0i64..200, 1..30)) {
            let defs = Compiled { ladder: Some(ladder()), ..Compiled::default() };
            let mut state: Option<UserState> = None;
            let mut total = 0i64;
            let mut seen = Vec::new();
            for (i, p) in points.iter().enumerate() {
                total += p;
                let out = award(&defs, state.as_ref(), *p, i as i64);
                seen.extend(out.block.level_ups.iter().map(|l| l.level));
                let naive_level = [(4, 500), (3, 250), (2, 100), (1, 0)]
                    .iter().find(|(_, t)| total >= *t).map_or(0, |(l, _)| *l);
                prop_assert_eq!(out.block.level, Some(naive_level));
                state = Some(state_of(&out));
            }
            // Every level up to the last one, each exactly once, in order.
            let top = state.unwrap().level;
            prop_assert_eq!(seen, (1..=top).collect::<Vec<_>>());
        }
    }
}
