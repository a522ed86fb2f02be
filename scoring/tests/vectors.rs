//! The reference's §7.2 test vectors, one test per applicable row, named after the row.
//!
//! GAME's tests mock the §3.1 analytics functions; here each row's mocked values are produced
//! by a snapshot of aggregates that derives exactly those values (see `common`), and the
//! decision goes through the public `score` entry point.
//!
//! Rows 9–10 and 33–44 (the custom-strategy language) are in `dsl.rs`. Not applicable to this
//! crate: 45 (abuse prevention),
//! 48 (conversion), 49 (idempotency).

mod common;

use common::*;
use game_scoring::greencrowd::{
    self, CASE_EXPIRED, CASE_USED, CASE_VALID, ControlGroup, DimStats, GreencrowdSnapshot,
    LastAward, SimulatedTask, TaskActivity,
};
use game_scoring::greengage::{MINUTES_INVALID, MINUTES_REQUIRED, bp, dpte, pbp};
use game_scoring::time::format_game_datetime;
use game_scoring::{
    Analytics, Grid, MinutesAgg, Points, Series, StrategyError, UserGame, UserTaskSeries,
    constant_effort, gi_star,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------- default / socio_bee

/// Runs `default` (and `socio_bee`, which must agree) on a snapshot deriving
/// task_count, user_count, user_avg, all_avg, last window and seconds since last.
fn enhanced(
    task_count: u64,
    all_avg: f64,
    user_count: u64,
    user_avg: f64,
    last: f64,
    new: f64,
) -> (Points, &'static str) {
    let (user, now) = user_series(user_count, user_avg, last, new);
    let analytics = Analytics {
        task: Some(series(task_count, all_avg, now - 1000 * S)),
        user_task: Some(user),
        ..Analytics::default()
    };
    let d = run(
        "default",
        &defaults("default"),
        &analytics,
        &Value::Null,
        now,
    )
    .unwrap();
    let s = run(
        "socio_bee",
        &defaults("socio_bee"),
        &analytics,
        &Value::Null,
        now,
    )
    .unwrap();
    assert_eq!(d, s, "socio_bee must score exactly like default");
    assert_eq!(d.callback_data, None);
    (d.points, d.case_name)
}

#[test]
fn row_01_default_basic_engagement() {
    assert_eq!(
        enhanced(1, -1.0, 0, -1.0, 0.0, 0.0),
        (Points::from_int(1), "BasicEngagement")
    );
}

#[test]
fn row_02_default_user_count_two_is_default() {
    assert_eq!(
        enhanced(3, 5.0, 2, 10.0, 10.0, 1.0),
        (Points::from_int(1), "default")
    );
}

#[test]
fn row_03_default_performance_bonus() {
    assert_eq!(
        enhanced(3, 10.0, 3, 5.0, 5.0, 1.0),
        (Points::from_int(11), "PerformanceBonus")
    );
}

#[test]
fn row_04_default_individual_over_global() {
    assert_eq!(
        enhanced(3, 5.0, 3, 10.0, 3.0, 5.0),
        (Points::from_int(3), "IndividualOverGlobal")
    );
}

#[test]
fn row_05_default_peak_performer_bonus() {
    assert_eq!(
        enhanced(3, 5.0, 3, 10.0, 2.0, 9.0),
        (Points::from_int(15), "PeakPerformerBonus")
    );
}

#[test]
fn row_06_default_global_advantage_adjustment() {
    assert_eq!(
        enhanced(3, 7.0, 3, 10.0, 1.0, 13.0),
        (Points::from_int(7), "GlobalAdvantageAdjustment")
    );
}

#[test]
fn row_07_default_individual_adjustment() {
    assert_eq!(
        enhanced(3, 5.0, 3, 10.0, 5.0, 3.0),
        (Points::from_int(8), "IndividualAdjustment")
    );
}

#[test]
fn row_08_default_zero_diff_is_default() {
    assert_eq!(
        enhanced(3, 5.0, 3, 10.0, 5.0, 5.0),
        (Points::from_int(1), "default")
    );
}

/// §3.4: `diff > 0`, `diff >= all_avg` and `diff == user_avg` falls through to "default".
#[test]
fn row_08b_default_diff_equal_to_user_avg_falls_to_default() {
    // user_avg 10, all_avg 5, last 2, new 12 → diff 10.
    assert_eq!(
        enhanced(3, 5.0, 3, 10.0, 2.0, 12.0),
        (Points::from_int(1), "default")
    );
}

// ---------------------------------------------------------------- constantEffortStrategy

/// `n` awards inside the 300 s window (plus older ones that must not count).
fn constant_effort_with(n: u64) -> (Points, &'static str) {
    let now = t0();
    let mut user = UserTaskSeries::default();
    for i in 0..3 {
        user.record(now - (1000 + i) * S); // outside the window
    }
    for i in 0..n {
        // inside: now − 299 s … now − 1 s, spread out
        user.record(now - (299 - (i as i64 % 299)) * S);
    }
    let analytics = Analytics {
        user_task: Some(user),
        ..Analytics::default()
    };
    let id = "constantEffortStrategy";
    let o = run(id, &defaults(id), &analytics, &Value::Null, now).unwrap();
    (o.points, o.case_name)
}

#[test]
fn row_11_constant_effort_basic_reward() {
    assert_eq!(
        constant_effort_with(0),
        (Points::from_int(1), "BasicReward")
    );
}

#[test]
fn row_12_constant_effort_one_recent() {
    assert_eq!(
        constant_effort_with(1),
        (Points::from_int(2), "ConstantEffortReward")
    );
}

#[test]
fn row_13_constant_effort_four_recent() {
    assert_eq!(
        constant_effort_with(4),
        (Points::from_int(5), "ConstantEffortReward")
    );
}

#[test]
fn row_14_constant_effort_ninety_nine_recent() {
    assert_eq!(
        constant_effort_with(99),
        (Points::from_int(100), "ConstantEffortReward")
    );
}

#[test]
fn row_15_constant_effort_clamped_at_max() {
    // 150 awards; the aggregate keeps the newest 100, which still saturates at 100 points.
    assert_eq!(
        constant_effort_with(150),
        (Points::from_int(100), "ConstantEffortReward")
    );
}

#[test]
fn row_16_constant_effort_f64_truncation() {
    for (n, want) in [(28, 28), (56, 56), (57, 57)] {
        assert_eq!(
            constant_effort_with(n),
            (Points::from_int(want), "ConstantEffortReward"),
            "n = {n}"
        );
    }
    // And every other k in 1..=100 gives k.
    for k in 1..=100u64 {
        let want = match k {
            29 => 28,
            57 => 56,
            58 => 57,
            _ => k as i64,
        };
        assert_eq!(
            constant_effort::points_from_consistency(k, 100),
            want,
            "k = {k}"
        );
    }
}

#[test]
fn row_17_points_from_consistency() {
    assert_eq!(constant_effort::points_from_consistency(50, 100), 50);
    assert_eq!(constant_effort::points_from_consistency(0, 100), 1);
}

// ---------------------------------------------------------------- greengageStrategy

/// Greengage with the user's last award on the task `last_ago` seconds before now (None: no
/// award), `records` awards of the user in the game, and the minutes averages.
fn greengage(
    data: Value,
    last_ago: Option<i64>,
    records: u64,
    global_avg: Option<f64>,
    personal_avg: Option<f64>,
) -> Result<(Points, &'static str), StrategyError> {
    let now = t0();
    let mut user_task = UserTaskSeries::default();
    if let Some(ago) = last_ago {
        user_task.record(now - ago * S);
    }
    let agg = |avg: Option<f64>| match avg {
        Some(a) => MinutesAgg {
            sum: a * 4.0,
            count: 4,
        },
        None => MinutesAgg::default(),
    };
    let analytics = Analytics {
        user_task: Some(user_task),
        user_game: Some(UserGame {
            count: records,
            minutes: agg(personal_avg),
        }),
        game_minutes: Some(agg(global_avg)),
        ..Analytics::default()
    };
    let id = "greengageStrategy";
    run(id, &defaults(id), &analytics, &data, now).map(|o| (o.points, o.case_name))
}

#[test]
fn row_18_greengage_minutes_required() {
    let err = greengage(json!({}), None, 0, None, None).unwrap_err();
    assert_eq!(err, StrategyError::InvalidData(MINUTES_REQUIRED.into()));
    assert_eq!(
        err.to_string(),
        "The \"minutes\" field is required into the data"
    );
    assert!(err.is_client_error());
}

#[test]
fn row_19_greengage_minutes_string_rejected() {
    let err = greengage(json!({"minutes": "5"}), None, 0, None, None).unwrap_err();
    assert_eq!(err, StrategyError::InvalidData(MINUTES_INVALID.into()));
    assert_eq!(
        err.to_string(),
        "The minutes must be a number equal or greater than 0"
    );
}

#[test]
fn row_20_greengage_case_1_1() {
    // Last award two minutes ago: not within the 1-minute check.
    assert_eq!(
        greengage(json!({"minutes": 0}), Some(120), 3, None, None).unwrap(),
        (Points::from_int(10), "Case 1.1 (DP)")
    );
}

#[test]
fn row_21_greengage_case_1_2_recent_record() {
    assert_eq!(
        greengage(json!({"minutes": 0}), Some(30), 3, None, None).unwrap(),
        (Points::from_int(5), "Case 1.2 (DP/2)")
    );
}

#[test]
fn row_22_greengage_case_2_few_records() {
    assert_eq!(
        greengage(json!({"minutes": 5}), None, 1, None, None).unwrap(),
        (Points::from_int(20), "Case 2 (DP x 2)")
    );
}

#[test]
fn row_23_greengage_case_3_bp() {
    assert_eq!(
        greengage(json!({"minutes": 11}), None, 2, Some(10.0), None).unwrap(),
        (Points::from_int(15), "Case 3 (BP)")
    );
}

#[test]
fn row_24_greengage_case_4_1_pbp_fractional() {
    let (p, case) = greengage(json!({"minutes": 16}), None, 2, Some(20.0), Some(15.0)).unwrap();
    assert_eq!(case, "Case 4.1 (PBP)");
    assert_eq!(p.to_string(), "187.5");
    assert_eq!(
        p.as_i64(),
        None,
        "fractional: the caller decides how to persist"
    );
    assert_eq!(serde_json::to_value(p).unwrap(), json!(187.5));
}

#[test]
fn row_25_greengage_case_4_2_dpte() {
    assert_eq!(
        greengage(json!({"minutes": 16}), None, 2, Some(20.0), Some(16.0)).unwrap(),
        (Points::from_int(150), "Case 4.2 (DPTE)")
    );
}

#[test]
fn row_26_greengage_helpers() {
    assert_eq!(dpte(3, 0), Some(Points::from_int(0)));
    assert_eq!(dpte(2, 16), Some(Points::from_int(30)));
    // GAME's m = inf lands in the last bucket (×60); u64::MAX stands for "unbounded".
    assert_eq!(dpte(2, u64::MAX), Some(Points::from_int(120)));
    assert_eq!(bp(10, 16), Some(Points::from_int(225)));
    assert_eq!(pbp(10, 16).map(|p| p.to_string()), Some("187.5".into()));
}

// ---------------------------------------------------------------- greencrowdStrategy

fn gc_snapshot(group: ControlGroup, dims: [DimStats; 5], used: bool) -> GreencrowdSnapshot {
    GreencrowdSnapshot {
        group,
        tasks: vec![
            TaskActivity {
                external_task_id: "t1".into(),
                slot_counts: [0, 1, 0, 0],
            },
            TaskActivity {
                external_task_id: "t2".into(),
                slot_counts: [0; 4],
            },
        ],
        dims,
        user_series: Series::default(),
        user_days: vec![],
        user_last_award: None,
        simulation_used: used,
    }
}

/// Dimension stats whose every dimension has mean `m` (values m−1 and m+1).
fn dims_with_mean(m: i64) -> [DimStats; 5] {
    let mut d = DimStats::default();
    d.record(m - 1);
    d.record(m + 1);
    [d; 5]
}

/// A simulation signed with the test key, as the simulation endpoint would have returned it.
fn presented(dims: [i64; 5], expires_us: i64, key: &[u8]) -> Value {
    let tasks = vec![SimulatedTask {
        external_user_id: "u1".into(),
        external_task_id: "t1".into(),
        user_group: Some("average_score".into()),
        dimensions: dims,
        total_simulated_points: dims.iter().sum(),
        expiration_date: format_game_datetime(expires_us),
    }];
    let hash = greencrowd::sign(key, "g1", "u1", &tasks).unwrap();
    json!({
        "simulationHash": hash,
        "tasks": tasks.iter().map(SimulatedTask::to_json).collect::<Vec<_>>(),
    })
}

fn greencrowd_score(
    snap: GreencrowdSnapshot,
    data: &Value,
    now: i64,
) -> Result<game_scoring::Outcome, StrategyError> {
    let analytics = Analytics {
        greencrowd: Some(snap),
        ..Analytics::default()
    };
    let id = "greencrowdStrategy";
    run(id, &defaults(id), &analytics, data, now)
}

#[test]
fn row_27_greencrowd_hash_mismatch() {
    let now = t0();
    let snap = gc_snapshot(ControlGroup::AverageScore, dims_with_mean(2), false);
    // Signed with another key.
    let forged = presented([1, 2, 3, 4, 5], now + 600 * S, b"another key");
    let err = greencrowd_score(snap.clone(), &forged, now).unwrap_err();
    assert_eq!(err, StrategyError::InvalidData("Invalid hash".into()));
    // Signed with ours, then tampered with.
    let mut tampered = presented([1, 2, 3, 4, 5], now + 600 * S, KEY);
    tampered["tasks"][0]["dimensions"][0]["DIM_BP"] = json!(100);
    let err = greencrowd_score(snap, &tampered, now).unwrap_err();
    assert_eq!(err.to_string(), "Invalid hash");
}

#[test]
fn row_28_greencrowd_valid_simulation() {
    let now = t0();
    let snap = gc_snapshot(ControlGroup::AverageScore, dims_with_mean(2), false);
    let data = presented([1, 2, 3, 4, 5], now + 600 * S, KEY);
    let o = greencrowd_score(snap, &data, now).unwrap();
    assert_eq!(o.points, Points::from_int(15));
    assert_eq!(o.case_name, CASE_VALID);
    assert_eq!(o.callback_data, None);
}

fn entry_dims(callback: &Value, task: &str) -> Vec<i64> {
    let entry = callback
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["externalTaskId"] == task)
        .unwrap();
    SimulatedTask::from_json(entry).unwrap().dimensions.to_vec()
}

#[test]
fn row_29_greencrowd_used_simulation_resimulates() {
    let now = t0();
    // The re-simulation (average_score) yields 2 in every dimension.
    let snap = gc_snapshot(ControlGroup::AverageScore, dims_with_mean(2), true);
    let data = presented([1, 2, 3, 4, 5], now + 600 * S, KEY);
    let o = greencrowd_score(snap, &data, now).unwrap();
    assert_eq!(o.points, Points::from_int(10));
    assert_eq!(o.case_name, CASE_USED);
    let cb = o.callback_data.expect("the new simulation");
    assert_eq!(entry_dims(&cb, "t1"), vec![2; 5]);
    assert_eq!(
        cb.as_array().unwrap().len(),
        2,
        "every greencrowd task of the game"
    );
}

#[test]
fn row_30_greencrowd_expired_simulation_resimulates() {
    let now = t0();
    let snap = gc_snapshot(ControlGroup::AverageScore, dims_with_mean(3), false);
    let data = presented([1, 2, 3, 4, 5], now - S, KEY);
    let o = greencrowd_score(snap, &data, now).unwrap();
    assert_eq!(o.points, Points::from_int(15));
    assert_eq!(o.case_name, CASE_EXPIRED);
    let cb = o.callback_data.expect("the new simulation");
    assert_eq!(entry_dims(&cb, "t1"), vec![3; 5]);
    // The new entries expire variable_simulation_valid_until (15) minutes from now.
    assert_eq!(cb[0]["expirationDate"], format_game_datetime(now + 900 * S));
}

#[test]
fn row_31_greencrowd_average_score_from_callback_data() {
    let now = t0();
    let mut dims = [DimStats::default(); 5];
    // Two earlier awards whose callbackData carries DIM_BP 2 and 4 only; data.tasks is
    // ignored when callbackData is non-empty.
    for bp_value in [2, 4] {
        greencrowd::record_award_dimensions(
            &mut dims,
            &json!({
                "tasks": [{"dimensions": [{"DIM_BP": 50}, {"DIM_S": 50}]}],
                "callbackData": [{"dimensions": [{"DIM_BP": bp_value}]}],
            }),
        );
    }
    let snap = gc_snapshot(ControlGroup::AverageScore, dims, false);
    let vars = defaults("greencrowdStrategy");
    let sim = greencrowd::simulate("g1", "u1", now, &vars, &snap, 0, KEY).unwrap();
    assert_eq!(sim.tasks[0].dimensions, [3, 5, 5, 5, 5]);
    assert_eq!(sim.tasks[0].total_simulated_points, 23);
}

#[test]
fn row_32_greencrowd_last_award_on_same_task_400s_ago_zeroes_it() {
    let now = t0();
    let mut snap = gc_snapshot(ControlGroup::AverageScore, dims_with_mean(4), false);
    snap.user_last_award = Some(LastAward {
        external_task_id: "t1".into(),
        at_us: now - 400 * S,
    });
    let vars = defaults("greencrowdStrategy");
    let sim = greencrowd::simulate("g1", "u1", now, &vars, &snap, 0, KEY).unwrap();
    assert_eq!(sim.tasks[0].dimensions, [0; 5]);
    assert_eq!(sim.tasks[0].total_simulated_points, 0);
    assert_eq!(
        sim.tasks[1].total_simulated_points, 20,
        "other tasks unaffected"
    );
    // 200 s ago is not stale.
    snap.user_last_award.as_mut().unwrap().at_us = now - 200 * S;
    let sim = greencrowd::simulate("g1", "u1", now, &vars, &snap, 0, KEY).unwrap();
    assert_eq!(sim.tasks[0].total_simulated_points, 20);
}

// ---------------------------------------------------------------- Getis-Ord Gi*

fn assert_close(got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 5e-7, "got {got:?}, want {want:?}");
    }
}

#[test]
#[allow(clippy::approx_constant)] // the row's six-decimal values, verbatim
fn row_46_gi_star_single_peak() {
    let grid = Grid {
        rows: 3,
        cols: 3,
        values: vec![1.0, 1.0, 1.0, 1.0, 9.0, 1.0, 1.0, 1.0, 1.0],
    };
    let (c, e, m) = (-0.707107, 1.118034, 0.894427);
    assert_close(
        &gi_star::gi_star(&grid).unwrap(),
        &[c, e, c, e, m, e, c, e, c],
    );
}

#[test]
fn row_47_gi_star_gradient() {
    let grid = Grid {
        rows: 2,
        cols: 2,
        values: vec![1.0, 2.0, 3.0, 4.0],
    };
    assert_close(
        &gi_star::gi_star(&grid).unwrap(),
        &[-1.341641, -0.447214, 0.447214, 1.341641],
    );
    let ranked = gi_star::rank_hotspots(&grid).unwrap();
    let order: Vec<(usize, usize)> = ranked.iter().map(|(cell, _)| *cell).collect();
    assert_eq!(order, vec![(1, 1), (1, 0), (0, 1), (0, 0)]);
}
