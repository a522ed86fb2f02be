//! `greengageStrategy` (GAME `app/engine/greengageStrategy.py`).

use serde_json::Value;

use crate::analytics::Need;
use crate::points::Points;
use crate::strategy::{Outcome, ScoreInput, StrategyError, int_var, need};
use crate::time::MICROS_PER_SECOND;

pub(crate) const NEEDS: &[Need] = &[Need::UserTaskSeries, Need::UserGame, Need::GameMinutes];

pub(crate) const CASES: &[&str] = &[
    "Case 1.1 (DP)",
    "Case 1.2 (DP/2)",
    "Case 2 (DP x 2)",
    "Case 3 (BP)",
    "Case 4.1 (PBP)",
    "Case 4.2 (DPTE)",
];

/// GAME's messages for its `-1` sentinel, verbatim.
pub const MINUTES_REQUIRED: &str = "The \"minutes\" field is required into the data";
pub const MINUTES_INVALID: &str = "The minutes must be a number equal or greater than 0";

/// GAME's `time_ranges = [0, 1, 15, 30, 60, inf]`: the multiplier is the largest boundary
/// `<= minutes` (for minutes >= 0).
pub fn dpte_multiplier(minutes: u64) -> i64 {
    match minutes {
        0 => 0,
        1..=14 => 1,
        15..=29 => 15,
        30..=59 => 30,
        _ => 60,
    }
}

/// DPTE: default points × time-elapsed multiplier.
pub fn dpte(points: i64, minutes: u64) -> Option<Points> {
    let p = i128::from(points).checked_mul(i128::from(dpte_multiplier(minutes)))?;
    Points::from_decimal(p, 0)
}

/// BP = DPTE + DPTE/2 (exact: 187.5 stays 187.5).
pub fn bp(points: i64, minutes: u64) -> Option<Points> {
    let d = dpte(points, minutes)?;
    d.checked_add(d.checked_half()?)
}

/// PBP = DPTE + DPTE/4.
pub fn pbp(points: i64, minutes: u64) -> Option<Points> {
    let d = dpte(points, minutes)?;
    d.checked_add(d.checked_quarter()?)
}

/// `data.minutes` as GAME accepts it: a JSON integer. Rejected like GAME: a missing or null
/// field, floats (`5.0`), strings (`"5"`). Rejected unlike GAME (documented in
/// docs/compatibility.md): booleans (Python counts `True` as the int 1) and negative integers
/// (GAME's message already says "equal or greater than 0"; GAME then awarded `inf` or 20).
pub fn minutes(data: &Value) -> Result<u64, StrategyError> {
    let m = match data.get("minutes") {
        None | Some(Value::Null) => {
            return Err(StrategyError::InvalidData(MINUTES_REQUIRED.to_string()));
        }
        Some(m) => m,
    };
    match m {
        Value::Number(n) if n.is_u64() => n.as_u64(),
        _ => None,
    }
    .ok_or_else(|| StrategyError::InvalidData(MINUTES_INVALID.to_string()))
}

pub(crate) fn score(input: &ScoreInput<'_>) -> Result<Outcome, StrategyError> {
    let m = minutes(input.data)?;
    let user_task = need(&input.analytics.user_task, Need::UserTaskSeries)?;
    let user_game = need(&input.analytics.user_game, Need::UserGame)?;
    let game = need(&input.analytics.game_minutes, Need::GameMinutes)?;
    let vars = input.variables;
    let dp = int_var(vars, 0)?;
    let minutes_to_check = int_var(vars, 1)?;
    // variable_complexity / variable_dimension_complexity (and the task params GAME copies
    // into the latter) do not enter the arithmetic in GAME; they don't here either.

    let window_us = i128::from(minutes_to_check) * 60 * i128::from(MICROS_PER_SECOND);
    let recent = user_task.any_within(input.now_us, window_us);
    let overflow = || StrategyError::Overflow;
    if m == 0 {
        return Ok(if !recent {
            Outcome::new(Points::from_int(dp), "Case 1.1 (DP)")
        } else {
            let half = Points::from_int(dp).checked_half().ok_or_else(overflow)?;
            Outcome::new(half, "Case 1.2 (DP/2)")
        });
    }
    if user_game.count < 2 {
        let double = Points::from_decimal(i128::from(dp) * 2, 0).ok_or_else(overflow)?;
        return Ok(Outcome::new(double, "Case 2 (DP x 2)"));
    }
    let mf = m as f64;
    if mf > game.avg() {
        return Ok(Outcome::new(bp(dp, m).ok_or_else(overflow)?, "Case 3 (BP)"));
    }
    if mf > user_game.minutes.avg() {
        return Ok(Outcome::new(
            pbp(dp, m).ok_or_else(overflow)?,
            "Case 4.1 (PBP)",
        ));
    }
    Ok(Outcome::new(
        dpte(dp, m).ok_or_else(overflow)?,
        "Case 4.2 (DPTE)",
    ))
}
