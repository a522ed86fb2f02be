//! `default` (EnhancedGamificationStrategy) and `socio_bee` (SOCIO_BEE): one algorithm, two
//! registry entries (GAME `app/engine/default.py`, `socio_bee.py`).

use crate::analytics::Need;
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyError, int_var, need};

pub(crate) const NEEDS: &[Need] = &[Need::TaskSeries, Need::UserTaskSeries];

pub(crate) const CASES: &[&str] = &[
    "BasicEngagement",
    "default",
    "PerformanceBonus",
    "IndividualOverGlobal",
    "PeakPerformerBonus",
    "GlobalAdvantageAdjustment",
    "IndividualAdjustment",
];

/// GAME's `default_points_task_campaign`: a constant, not a variable.
const DEFAULT_POINTS: i64 = 1;

/// The analytics values GAME's tree compares, derived from the snapshot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Facts {
    /// Awards on (game, task) by anyone.
    pub task_count: u64,
    /// The user's awards on (game, task).
    pub user_count: u64,
    /// The user's mean gap in seconds on (game, task); −1 with < 2 awards.
    pub user_avg: f64,
    /// Everyone's mean gap in seconds on (game, task); −1 with < 2 awards.
    pub all_avg: f64,
    /// Seconds between the user's last two awards; 0 with < 2.
    pub last_window: f64,
    /// Seconds from the user's last award to now; 0 with none.
    pub since_last: f64,
}

/// The variables, in declaration order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vars {
    pub basic: i64,
    pub bonus: i64,
    pub individual_over_global: i64,
    pub peak_performer_bonus: i64,
    pub global_advantage_adjustment: i64,
    pub individual_adjustment: i64,
}

impl Default for Vars {
    fn default() -> Vars {
        Vars {
            basic: 1,
            bonus: 10,
            individual_over_global: 3,
            peak_performer_bonus: 15,
            global_advantage_adjustment: 7,
            individual_adjustment: 8,
        }
    }
}

/// GAME's decision tree, branch for branch (reference §3.4).
pub fn decide(f: &Facts, v: &Vars) -> Outcome {
    let pts = Points::from_int;
    if f.task_count < 2 {
        return Outcome::new(pts(v.basic), "BasicEngagement");
    }
    if f.user_count <= 2 {
        return Outcome::new(pts(DEFAULT_POINTS), "default");
    }
    if f.user_avg < f.all_avg {
        // i64 + i64 always fits the i128 mantissa.
        let p = Points::from_decimal(i128::from(v.basic) + i128::from(v.bonus), 0)
            .unwrap_or(Points::ZERO);
        return Outcome::new(p, "PerformanceBonus");
    }
    let diff = f.since_last - f.last_window;
    if diff > 0.0 {
        if diff < f.all_avg {
            return Outcome::new(pts(v.individual_over_global), "IndividualOverGlobal");
        }
        if diff < f.user_avg {
            return Outcome::new(pts(v.peak_performer_bonus), "PeakPerformerBonus");
        }
        if diff > f.user_avg {
            return Outcome::new(
                pts(v.global_advantage_adjustment),
                "GlobalAdvantageAdjustment",
            );
        }
        // diff == user_avg (and >= all_avg) falls through to "default", as in GAME.
    }
    if diff < 0.0 {
        return Outcome::new(pts(v.individual_adjustment), "IndividualAdjustment");
    }
    Outcome::new(pts(DEFAULT_POINTS), "default")
}

pub(crate) fn score(input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let task = need(&input.analytics.task, Need::TaskSeries)?;
    let user = need(&input.analytics.user_task, Need::UserTaskSeries)?;
    let vars = input.variables;
    let v = Vars {
        basic: int_var(vars, 0)?,
        bonus: int_var(vars, 1)?,
        individual_over_global: int_var(vars, 2)?,
        peak_performer_bonus: int_var(vars, 3)?,
        global_advantage_adjustment: int_var(vars, 4)?,
        individual_adjustment: int_var(vars, 5)?,
    };
    let f = Facts {
        task_count: task.count,
        user_count: user.series.count,
        user_avg: user.series.avg_gap_secs(),
        all_avg: task.avg_gap_secs(),
        last_window: user.last_window_secs(),
        since_last: user.since_last_secs(input.now_us),
    };
    Ok(decide(&f, &v))
}
