//! The analytics snapshot a strategy reads, and what each strategy needs loaded.
//!
//! GAME's analytics (§3.1 of the reference) scan the award history on every award. Every one
//! of them can be served from small aggregates updated in the same transaction as the award;
//! a snapshot is those aggregates as they were **before** the award being scored, exactly as
//! GAME reads history before inserting.
//!
//! Scoping (fix of GAME defect §9.3 item 12): every aggregate here is scoped to the game.
//! GAME counted awards by `externalTaskId` across all games, so two games with a task called
//! `t1` polluted each other's counts.

use serde_json::Value;

use crate::gi_star::Grid;
use crate::greencrowd::GreencrowdSnapshot;
use crate::time::MICROS_PER_SECOND;

/// How many of a user's most recent award timestamps on a (game, task) a store should keep in
/// [`UserTaskSeries::recent_us`]. `constantEffortStrategy` counts awards in its window from
/// these; with the default `max_points` = 100 its points stop changing at 99 recent awards,
/// so 100 makes it exact. (With `max_points` overridden above 100 the count saturates here.)
pub const RECENT_TIMESTAMPS_KEPT: usize = 100;

/// One aggregate a strategy reads. A caller loads exactly the needs of the strategy it runs
/// ([`crate::strategy_needs`]) and fills the matching [`Analytics`] field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Need {
    /// (game, task), all users: award count, first and last timestamps → [`Analytics::task`].
    TaskSeries,
    /// (game, task, user): count, first/previous/last timestamps and the most recent
    /// timestamps → [`Analytics::user_task`].
    UserTaskSeries,
    /// (game, user): award count and positive `data.minutes` sum/count → [`Analytics::user_game`].
    UserGame,
    /// (game): positive `data.minutes` sum/count over all users → [`Analytics::game_minutes`].
    GameMinutes,
    /// (game): activity per grid cell → [`Analytics::grid`].
    CellGrid,
    /// (game, user): greencrowd's simulation inputs → [`Analytics::greencrowd`].
    Greencrowd,
}

/// The aggregates loaded for one decision. A field a strategy needs but that is `None` is a
/// caller bug and yields [`crate::StrategyError::MissingAnalytics`]; "no history yet" is
/// `Some` of an empty aggregate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Analytics {
    pub task: Option<Series>,
    pub user_task: Option<UserTaskSeries>,
    pub user_game: Option<UserGame>,
    pub game_minutes: Option<MinutesAgg>,
    pub grid: Option<Grid>,
    pub greencrowd: Option<GreencrowdSnapshot>,
    /// The user's progression in the game (levels, streak, achievements held), when the game
    /// defines progression; the custom-strategy language reads it as `user.level`,
    /// `user.streak_length` and `achievement.<key>` (0 / false without it).
    pub progression: Option<ProgressionSnapshot>,
}

/// A user's progression as strategies read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgressionSnapshot {
    pub level: u32,
    /// The streak's current length (0 when broken).
    pub streak_length: u32,
    /// Keys of the achievements held (not revoked), sorted.
    pub achievements: Vec<String>,
}

/// Count and first/last timestamps of a series of awards (µs since epoch, UTC).
/// `first_us`/`last_us` are meaningless while `count == 0`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Series {
    pub count: u64,
    pub first_us: i64,
    pub last_us: i64,
}

impl Series {
    /// Mean gap between consecutive awards, in seconds; −1 with fewer than two awards (GAME's
    /// sentinel). The mean of consecutive gaps telescopes to `(last − first)/(count − 1)`;
    /// GAME sums the individual gaps, so results may differ from it in the last ulp.
    pub fn avg_gap_secs(&self) -> f64 {
        if self.count < 2 {
            return -1.0;
        }
        secs(self.last_us.saturating_sub(self.first_us)) / (self.count - 1) as f64
    }

    /// The aggregate after one more award at `at_us` (awards arrive in time order; an older
    /// timestamp still widens the range correctly).
    pub fn record(&mut self, at_us: i64) {
        if self.count == 0 {
            self.first_us = at_us;
            self.last_us = at_us;
        } else {
            self.first_us = self.first_us.min(at_us);
            self.last_us = self.last_us.max(at_us);
        }
        self.count = self.count.saturating_add(1);
    }
}

/// A user's awards on one (game, task).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserTaskSeries {
    pub series: Series,
    /// Timestamp of the award before the last one; meaningful when `series.count >= 2`.
    pub prev_us: i64,
    /// The most recent award timestamps, at most [`RECENT_TIMESTAMPS_KEPT`], any order.
    pub recent_us: Vec<i64>,
}

impl UserTaskSeries {
    /// GAME's `get_last_window_time_diff`: seconds between the two most recent awards, 0 with
    /// fewer than two.
    pub fn last_window_secs(&self) -> f64 {
        if self.series.count < 2 {
            return 0.0;
        }
        secs(self.series.last_us.saturating_sub(self.prev_us))
    }

    /// GAME's `get_new_last_window_time_diff`: seconds from the last award to `now`, 0 with none.
    pub fn since_last_secs(&self, now_us: i64) -> f64 {
        if self.series.count == 0 {
            return 0.0;
        }
        secs(now_us.saturating_sub(self.series.last_us))
    }

    /// GAME's `get_user_task_measurements_count_the_last_seconds`: awards with
    /// `created_at > now − window`. Exact up to [`RECENT_TIMESTAMPS_KEPT`] awards.
    pub fn count_within(&self, now_us: i64, window_us: i128) -> u64 {
        let since = i128::from(now_us) - window_us;
        self.recent_us
            .iter()
            .filter(|&&t| i128::from(t) > since)
            .count() as u64
    }

    /// GAME's `user_has_record_before_in_externalTaskId_last_min`: an award with
    /// `created_at > now − window`.
    pub fn any_within(&self, now_us: i64, window_us: i128) -> bool {
        self.series.count > 0 && i128::from(self.series.last_us) > i128::from(now_us) - window_us
    }

    /// The aggregate after one more award at `at_us`.
    pub fn record(&mut self, at_us: i64) {
        if self.series.count > 0 {
            self.prev_us = self.series.last_us;
        }
        self.series.record(at_us);
        self.recent_us.push(at_us);
        if self.recent_us.len() > RECENT_TIMESTAMPS_KEPT {
            // Drop the oldest; order is not significant.
            if let Some((i, _)) = self.recent_us.iter().enumerate().min_by_key(|(_, t)| **t) {
                self.recent_us.swap_remove(i);
            }
        }
    }
}

/// A user's awards in one game.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UserGame {
    /// GAME's `count_personal_records_by_external_game_id`.
    pub count: u64,
    /// The user's positive `data.minutes` in the game.
    pub minutes: MinutesAgg,
}

/// Sum and count of positive `data.minutes` values (GAME's `AVG(data->>'minutes')` filtered on
/// `minutes > 0`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MinutesAgg {
    pub sum: f64,
    pub count: u64,
}

impl MinutesAgg {
    /// The average, or −1 with no positive value (GAME's sentinel).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            -1.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The aggregate after one more award whose request data is `data` (any strategy: GAME
    /// averages every award of the game). See [`minutes_of`].
    pub fn record(&mut self, data: &Value) {
        if let Some(m) = minutes_of(data) {
            self.sum += m;
            self.count = self.count.saturating_add(1);
        }
    }
}

/// The largest `data.minutes` that counts (about 1,900 years): the minutes sums are exact
/// decimals in storage, which hold 38 digits.
pub const MAX_MINUTES: f64 = 1e9;

/// The `data.minutes` an award contributes to the minutes averages: a positive finite JSON
/// number, or a string that parses to one (PostgreSQL's `(data->>'minutes')::float` accepts
/// both), kept to 6 decimals. Anything else contributes nothing (where PostgreSQL's cast would
/// fail the query), and so does a value above [`MAX_MINUTES`] or below 0.0000005 (0 at 6
/// decimals): every value that counts is a decimal of at most 16 digits.
pub fn minutes_of(data: &Value) -> Option<f64> {
    let m = match data.get("minutes")? {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !(m.is_finite() && m > 0.0 && m <= MAX_MINUTES) {
        return None;
    }
    let m = (m * 1e6).round() / 1e6;
    (m > 0.0).then_some(m)
}

fn secs(us: i64) -> f64 {
    us as f64 / MICROS_PER_SECOND as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: i64 = MICROS_PER_SECOND;

    #[test]
    fn avg_gap_telescopes() {
        // Awards at 0, 4, 10, 30 s: gaps 4, 6, 20 → mean 10.
        let mut s = Series::default();
        assert_eq!(s.avg_gap_secs(), -1.0);
        for t in [0, 4, 10, 30] {
            s.record(t * S);
        }
        assert_eq!(s.count, 4);
        assert_eq!(s.avg_gap_secs(), 10.0);
    }

    #[test]
    fn user_task_windows() {
        let mut u = UserTaskSeries::default();
        assert_eq!(u.last_window_secs(), 0.0);
        assert_eq!(u.since_last_secs(100 * S), 0.0);
        for t in [10, 17, 20] {
            u.record(t * S);
        }
        assert_eq!(u.last_window_secs(), 3.0);
        assert_eq!(u.since_last_secs(25 * S), 5.0);
        // created_at > now − window, strictly.
        assert_eq!(u.count_within(25 * S, i128::from(8 * S)), 1);
        assert_eq!(u.count_within(25 * S, i128::from(9 * S)), 2);
        assert_eq!(u.count_within(25 * S, i128::from(15 * S)), 2);
        assert_eq!(u.count_within(25 * S, i128::from(16 * S)), 3);
        assert!(u.any_within(25 * S, i128::from(6 * S)));
        assert!(!u.any_within(25 * S, i128::from(5 * S)));
    }

    #[test]
    fn recent_timestamps_are_capped_and_keep_the_newest() {
        let mut u = UserTaskSeries::default();
        for t in 0..(RECENT_TIMESTAMPS_KEPT as i64 + 20) {
            u.record(t * S);
        }
        assert_eq!(u.recent_us.len(), RECENT_TIMESTAMPS_KEPT);
        assert_eq!(*u.recent_us.iter().min().unwrap(), 20 * S);
    }

    #[test]
    fn minutes_contributions() {
        let mut m = MinutesAgg::default();
        assert_eq!(m.avg(), -1.0);
        for d in [
            json!({"minutes": 10}),
            json!({"minutes": "20"}),
            json!({"minutes": 0}),
            json!({"minutes": -5}),
            json!({"minutes": "abc"}),
            json!({}),
            json!(null),
        ] {
            m.record(&d);
        }
        assert_eq!(m.count, 2);
        assert_eq!(m.avg(), 15.0);
    }

    /// Only values storage holds exactly count: at most 1e9, kept to 6 decimals.
    #[test]
    fn minutes_out_of_range_count_nothing() {
        for d in [
            json!({"minutes": 1e130}),
            json!({"minutes": "1e300"}),
            json!({"minutes": 1e-140}),
            json!({"minutes": 0.0000004}),
            json!({"minutes": 1000000000.5}),
        ] {
            assert_eq!(minutes_of(&d), None, "{d}");
        }
        assert_eq!(minutes_of(&json!({"minutes": 1e9})), Some(1e9));
        assert_eq!(minutes_of(&json!({"minutes": 0.0000005})), Some(0.000001));
        assert_eq!(minutes_of(&json!({"minutes": 2.1234567})), Some(2.123457));
        assert_eq!(minutes_of(&json!({"minutes": "7.5"})), Some(7.5));
    }
}
