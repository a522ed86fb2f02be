//! Helpers shared by the integration tests: build snapshots whose derived analytics are the
//! values GAME's tests mock, and run `score` with everything else fixed.

#![allow(dead_code)]

use game_scoring::time::{MICROS_PER_SECOND, days_from_civil};
use game_scoring::{
    Analytics, Outcome, ScoreInput, Series, StrategyError, UserTaskSeries, Variables,
    resolve_variables, score, strategy,
};
use serde_json::Value;

pub const S: i64 = MICROS_PER_SECOND;
pub const KEY: &[u8] = b"test-simulation-key";

/// 2026-02-10 09:30:00 UTC, a fixed "now".
pub fn t0() -> i64 {
    days_from_civil(2026, 2, 10) * 86_400 * S + (9 * 3600 + 30 * 60) * S
}

/// Seconds (possibly fractional) to µs.
pub fn us(secs: f64) -> i64 {
    (secs * S as f64).round() as i64
}

/// A (game, task) series of `count` awards whose mean gap is `avg_secs`.
pub fn series(count: u64, avg_secs: f64, last_us: i64) -> Series {
    let span = if count >= 2 {
        us(avg_secs * (count - 1) as f64)
    } else {
        0
    };
    Series {
        count,
        first_us: last_us - span,
        last_us,
    }
}

/// The user's series on (game, task) with mean gap `avg_secs`, the last two awards
/// `last_window` seconds apart, and `now = last + since_last`. Returns (series, now).
pub fn user_series(
    count: u64,
    avg_secs: f64,
    last_window: f64,
    since_last: f64,
) -> (UserTaskSeries, i64) {
    let now = t0();
    let last = now - us(since_last);
    let s = series(count, avg_secs, last);
    let prev = last - us(last_window);
    let mut recent = vec![last];
    if count >= 2 {
        recent.push(prev);
    }
    (
        UserTaskSeries {
            series: s,
            prev_us: prev,
            recent_us: recent,
        },
        now,
    )
}

pub fn defaults(id: &str) -> Variables {
    strategy(id).expect("known id").default_variables()
}

pub fn with_params(id: &str, task_params: &[(&str, &Value)]) -> Variables {
    resolve_variables(strategy(id).expect("known id"), &[], task_params).expect("valid params")
}

/// Score with fixed ids ("g1", "t1", "u1"), no task params and the test key/seed.
pub fn run(
    id: &str,
    vars: &Variables,
    analytics: &Analytics,
    data: &Value,
    now_us: i64,
) -> Result<Outcome, StrategyError> {
    run_full(id, vars, analytics, data, now_us, "t1", &[], 7)
}

#[allow(clippy::too_many_arguments)]
pub fn run_full(
    id: &str,
    vars: &Variables,
    analytics: &Analytics,
    data: &Value,
    now_us: i64,
    task_id: &str,
    task_params: &[(&str, &Value)],
    rng_seed: u64,
) -> Result<Outcome, StrategyError> {
    score(
        id,
        &ScoreInput {
            game_id: "g1",
            task_id,
            user_id: "u1",
            data,
            now_us,
            variables: vars,
            task_params,
            analytics,
            simulation_key: KEY,
            rng_seed,
        },
    )
}
