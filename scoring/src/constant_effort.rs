//! `constantEffortStrategy` (GAME `app/engine/constantEffortStrategy.py`).

use crate::analytics::Need;
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyError, int_var, need};
use crate::time::MICROS_PER_SECOND;

pub(crate) const NEEDS: &[Need] = &[Need::UserTaskSeries];

pub(crate) const CASES: &[&str] = &["ConstantEffortReward", "BasicReward"];

/// GAME's `_calculate_points_from_consistency(k)`: `min(max(int((k / max) * 100), 1), max)`.
///
/// Computed in f64 like Python, so the truncation reproduces GAME's results: k = 29 → 28,
/// 57 → 56, 58 → 57 (exact arithmetic would give 29, 57, 58).
pub fn points_from_consistency(k: u64, max_points: i64) -> i64 {
    let normalized = (k as f64 / max_points as f64) * 100.0;
    // Python's int() truncates toward zero; `as` does too (and saturates instead of growing).
    let truncated = normalized as i64;
    truncated.max(1).min(max_points)
}

pub(crate) fn score(input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let user = need(&input.analytics.user_task, Need::UserTaskSeries)?;
    let vars = input.variables;
    let interval_minutes = int_var(vars, 2)?;
    let max_points = int_var(vars, 3)?;
    if max_points < 1 {
        // GAME divides by it (ZeroDivisionError → 500 for 0); a negative cap inverts the clamp.
        return Err(StrategyError::InvalidVariable {
            name: "variable_max_points",
            message: format!(
                "Variable \"variable_max_points\" must be at least 1 for strategy constantEffortStrategy, got {max_points}."
            ),
        });
    }
    let window_us = i128::from(interval_minutes) * 60 * i128::from(MICROS_PER_SECOND);
    let n = user.count_within(input.now_us, window_us);
    if n > 0 {
        let points = points_from_consistency(n.saturating_add(1), max_points);
        return Ok(Outcome::new(
            Points::from_int(points),
            "ConstantEffortReward",
        ));
    }
    // A literal 1 in GAME, not variable_basic_points.
    Ok(Outcome::new(Points::from_int(1), "BasicReward"))
}
