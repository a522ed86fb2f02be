//! Behaviour beyond the reference vectors: variables overriding in scoring, needs, errors,
//! greencrowd's dynamic group and RNG, Gi* classes.

mod common;

use common::*;
use game_scoring::greencrowd::{
    self, CASE_VALID, ControlGroup, DimStats, GreencrowdSnapshot, LastAward, SimulatedTask,
    TaskActivity, choose_control_group,
};
use game_scoring::time::days_from_civil;
use game_scoring::{
    Analytics, Grid, MinutesAgg, Need, Points, Series, StrategyError, StrategyKind, UserGame,
    UserTaskSeries, gi_star, strategies, strategy_needs,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------- needs and dispatch

#[test]
fn every_registered_strategy_scores_and_declares_its_needs() {
    for info in strategies() {
        let kind = StrategyKind::from_id(info.id).expect("registered id has a kind");
        assert_eq!(kind.id(), info.id);
        assert_eq!(strategy_needs(info.id), Some(kind.needs()));
        assert!(!kind.case_names().is_empty());
    }
    assert_eq!(
        strategy_needs("default"),
        Some(&[Need::TaskSeries, Need::UserTaskSeries][..])
    );
    assert_eq!(
        strategy_needs("constantEffortStrategy"),
        Some(&[Need::UserTaskSeries][..])
    );
    assert_eq!(
        strategy_needs("greengageStrategy"),
        Some(&[Need::UserTaskSeries, Need::UserGame, Need::GameMinutes][..])
    );
    assert_eq!(
        strategy_needs("greencrowdStrategy"),
        Some(&[Need::Greencrowd][..])
    );
    assert_eq!(
        strategy_needs("getis_ord_gi_star"),
        Some(&[Need::CellGrid][..])
    );
    assert_eq!(strategy_needs("custom:abc"), None);
}

#[test]
fn a_missing_need_is_reported_not_guessed() {
    let now = t0();
    let only_task = Analytics {
        task: Some(Series {
            count: 5,
            first_us: 0,
            last_us: 10 * S,
        }),
        ..Analytics::default()
    };
    let err = run(
        "default",
        &defaults("default"),
        &only_task,
        &Value::Null,
        now,
    )
    .unwrap_err();
    assert_eq!(err, StrategyError::MissingAnalytics(Need::UserTaskSeries));
    assert!(!err.is_client_error());
}

#[test]
fn unknown_id_and_foreign_variables_are_errors() {
    let a = Analytics::default();
    let v = defaults("default");
    assert_eq!(
        run("nope", &v, &a, &Value::Null, t0()).unwrap_err(),
        StrategyError::UnknownStrategy("nope".into())
    );
    let err = run("socio_bee", &v, &a, &Value::Null, t0()).unwrap_err();
    assert!(matches!(err, StrategyError::VariablesMismatch { .. }));
}

// ---------------------------------------------------------------- variables override scoring

#[test]
fn task_params_override_default_variables_in_scoring() {
    // PerformanceBonus = basic + bonus.
    let (user, now) = user_series(3, 5.0, 5.0, 1.0);
    let analytics = Analytics {
        task: Some(series(3, 10.0, now - 100 * S)),
        user_task: Some(user),
        ..Analytics::default()
    };
    let bonus = json!("40");
    let basic = json!(2);
    let vars = with_params(
        "default",
        &[("variable_bonus_points", &bonus), ("basic_points", &basic)],
    );
    let o = run("default", &vars, &analytics, &Value::Null, now).unwrap();
    assert_eq!(o.case_name, "PerformanceBonus");
    assert_eq!(o.points, Points::from_int(42));
}

#[test]
fn constant_effort_variables_change_window_and_cap() {
    let now = t0();
    let mut user = UserTaskSeries::default();
    for ago in [500, 400, 10] {
        user.record(now - ago * S);
    }
    let analytics = Analytics {
        user_task: Some(user),
        ..Analytics::default()
    };
    let id = "constantEffortStrategy";
    // Default 5-minute window: 1 recent award → k = 2 → 2 points.
    let o = run(id, &defaults(id), &analytics, &Value::Null, now).unwrap();
    assert_eq!(o.points, Points::from_int(2));
    // 10-minute window: 3 recent → k = 4; max_points 10 → int(4/10*100) = 40 → capped at 10.
    let (ten, max) = (json!(10), json!("10"));
    let vars = with_params(
        id,
        &[
            ("constant_effort_interval_minutes", &ten),
            ("variable_max_points", &max),
        ],
    );
    let o = run(id, &vars, &analytics, &Value::Null, now).unwrap();
    assert_eq!(
        (o.points, o.case_name),
        (Points::from_int(10), "ConstantEffortReward")
    );
    // max_points 0 would divide by zero in GAME; here it is a clear error.
    let zero = json!(0);
    let vars = with_params(id, &[("variable_max_points", &zero)]);
    let err = run(id, &vars, &analytics, &Value::Null, now).unwrap_err();
    assert!(err.is_client_error());
    assert!(err.to_string().contains("variable_max_points"), "{err}");
}

#[test]
fn greengage_default_points_override_and_negative_minutes() {
    let now = t0();
    let analytics = Analytics {
        user_task: Some(UserTaskSeries::default()),
        user_game: Some(UserGame {
            count: 5,
            minutes: MinutesAgg {
                sum: 60.0,
                count: 4,
            },
        }),
        game_minutes: Some(MinutesAgg {
            sum: 40.0,
            count: 4,
        }),
        ..Analytics::default()
    };
    let id = "greengageStrategy";
    let dp = json!(7);
    let vars = with_params(id, &[("variable_default_points", &dp)]);
    // m = 16 > global 10 → BP = 7×15 × 1.5 = 157.5.
    let o = run(id, &vars, &analytics, &json!({"minutes": 16}), now).unwrap();
    assert_eq!(
        (o.points.to_string(), o.case_name),
        ("157.5".into(), "Case 3 (BP)")
    );
    for bad in [
        json!({"minutes": -1}),
        json!({"minutes": true}),
        json!({"minutes": 5.0}),
    ] {
        let err = run(id, &vars, &analytics, &bad, now).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The minutes must be a number equal or greater than 0"
        );
    }
}

// ---------------------------------------------------------------- greencrowd

/// A worked example of the dynamic_calculation group, computed by hand from GAME's formulas
/// (reference §3.7). now = 2026-02-10 09:30 UTC (morning slot), basic 10, multiplier 0.5.
/// Tasks: t_A_1 (POI A, 3 awards: 2 morning, 1 afternoon), t_A_2 (POI A, none), t_B_1 (POI B,
/// 1 late-night award), nopoi (4 evening awards, no POI). 8 awards over 2 POIs → avg_POI 4.
/// User: 3 awards from now−60 min to now−20 min → mean gap 20 min, last window 20 min →
/// alpha 0.1, smoothed 18 → DIM_PP round(18/20×10) = 9. Days today, today−1, today−3 →
/// GAME's count 2 → DIM_S round(10 × 2^0.4) = 13.
#[test]
fn greencrowd_dynamic_calculation_worked_example() {
    let now = t0();
    let today = days_from_civil(2026, 2, 10);
    let snap = GreencrowdSnapshot {
        group: ControlGroup::DynamicCalculation,
        tasks: vec![
            TaskActivity {
                external_task_id: "t_A_1".into(),
                slot_counts: [0, 2, 1, 0],
            },
            TaskActivity {
                external_task_id: "t_A_2".into(),
                slot_counts: [0; 4],
            },
            TaskActivity {
                external_task_id: "t_B_1".into(),
                slot_counts: [1, 0, 0, 0],
            },
            TaskActivity {
                external_task_id: "nopoi".into(),
                slot_counts: [0, 0, 0, 4],
            },
        ],
        dims: [DimStats::default(); 5],
        user_series: Series {
            count: 3,
            first_us: now - 3600 * S,
            last_us: now - 1200 * S,
        },
        user_days: vec![today, today - 3, today - 1, today],
        user_last_award: Some(LastAward {
            external_task_id: "elsewhere".into(),
            at_us: now - 300 * S,
        }),
        simulation_used: false,
    };
    let vars = defaults("greencrowdStrategy");
    let sim = greencrowd::simulate("g1", "u1", now, &vars, &snap, 1, KEY).unwrap();
    let dims: Vec<[i64; 5]> = sim.tasks.iter().map(|t| t.dimensions).collect();
    // t_A_1: BP 10−round(10×1/2)=5, LBE 5 (3 < 4), TD round((1−2/1)×10)=−10, PP 9, S 13.
    // t_A_2: BP 5, LBE 5 (0 < 4), TD 10 (no other slot), PP 9, S 13.
    // t_B_1: BP 10−round(10×1/1)=0, LBE 5, TD round((1−0/1)×10)=10, PP 9, S 13.
    // nopoi: GAME returns zeros when the id has no "_<poi>" part.
    assert_eq!(
        dims,
        vec![
            [5, 5, -10, 9, 13],
            [5, 5, 10, 9, 13],
            [0, 5, 10, 9, 13],
            [0, 0, 0, 0, 0]
        ]
    );
    let totals: Vec<i64> = sim.tasks.iter().map(|t| t.total_simulated_points).collect();
    assert_eq!(totals, vec![22, 42, 37, 0]);
    assert!(
        sim.tasks
            .iter()
            .all(|t| t.user_group.as_deref() == Some("dynamic_calculation"))
    );
    // Signed: the simulation verifies with the key and the same ids only.
    assert!(greencrowd::verify(KEY, "g1", "u1", &sim.tasks, &sim.simulation_hash).unwrap());
    assert!(!greencrowd::verify(KEY, "g2", "u1", &sim.tasks, &sim.simulation_hash).unwrap());
    assert!(!greencrowd::verify(KEY, "g1", "u2", &sim.tasks, &sim.simulation_hash).unwrap());
}

fn random_snapshot() -> GreencrowdSnapshot {
    let mut dims = [DimStats::default(); 5];
    for (i, d) in dims.iter_mut().enumerate() {
        d.record(i as i64);
        d.record(10 + 5 * i as i64);
    }
    GreencrowdSnapshot {
        group: ControlGroup::RandomRange,
        tasks: (0..20)
            .map(|i| TaskActivity {
                external_task_id: format!("task_{i}"),
                slot_counts: [0; 4],
            })
            .collect(),
        dims,
        user_series: Series::default(),
        user_days: vec![],
        user_last_award: None,
        simulation_used: false,
    }
}

#[test]
fn greencrowd_random_range_is_seeded_and_in_range() {
    let now = t0();
    let vars = defaults("greencrowdStrategy");
    let snap = random_snapshot();
    let a = greencrowd::simulate("g1", "u1", now, &vars, &snap, 42, KEY).unwrap();
    let b = greencrowd::simulate("g1", "u1", now, &vars, &snap, 42, KEY).unwrap();
    let c = greencrowd::simulate("g1", "u1", now, &vars, &snap, 43, KEY).unwrap();
    assert_eq!(a, b, "same seed, same simulation");
    assert_ne!(a.tasks, c.tasks, "another seed draws other values");
    for t in &a.tasks {
        for (i, d) in t.dimensions.iter().enumerate() {
            let (lo, hi) = (i as i64, 10 + 5 * i as i64);
            assert!((lo..=hi).contains(d), "dim {i} = {d} outside [{lo}, {hi}]");
        }
    }
    // With no recorded value GAME draws from [0, 10].
    let mut empty = snap.clone();
    empty.dims = [DimStats::default(); 5];
    let e = greencrowd::simulate("g1", "u1", now, &vars, &empty, 42, KEY).unwrap();
    assert!(
        e.tasks
            .iter()
            .flat_map(|t| t.dimensions)
            .all(|d| (0..=10).contains(&d))
    );
}

#[test]
fn greencrowd_without_presented_tasks_simulates_afresh() {
    let now = t0();
    let analytics = Analytics {
        greencrowd: Some(random_snapshot()),
        ..Analytics::default()
    };
    let id = "greencrowdStrategy";
    let o = run_full(
        id,
        &defaults(id),
        &analytics,
        &json!({}),
        now,
        "task_3",
        &[],
        9,
    )
    .unwrap();
    assert_eq!(o.case_name, CASE_VALID);
    let cb = o
        .callback_data
        .clone()
        .expect("the simulation that was scored");
    let entry = cb
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["externalTaskId"] == "task_3")
        .unwrap();
    let entry = SimulatedTask::from_json(entry).unwrap();
    assert_eq!(o.points, Points::from_int(entry.dimensions.iter().sum()));
    // Same seed, same decision (replay).
    let again = run_full(
        id,
        &defaults(id),
        &analytics,
        &json!({}),
        now,
        "task_3",
        &[],
        9,
    )
    .unwrap();
    assert_eq!(o, again);
}

#[test]
fn greencrowd_errors() {
    let now = t0();
    let analytics = Analytics {
        greencrowd: Some(random_snapshot()),
        ..Analytics::default()
    };
    let id = "greencrowdStrategy";
    let vars = defaults(id);
    // A task that is not in the game's greencrowd tasks.
    let err = run_full(id, &vars, &analytics, &json!({}), now, "zzz", &[], 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "The simulation has no entry for task \"zzz\"."
    );
    // A malformed presented simulation.
    let err = run(id, &vars, &analytics, &json!({"tasks": [{"a": 1}]}), now).unwrap_err();
    assert!(err.is_client_error());
    let err = run(id, &vars, &analytics, &json!({"tasks": "x"}), now).unwrap_err();
    assert!(err.is_client_error());
    // No key configured.
    let err = game_scoring::score(
        id,
        &game_scoring::ScoreInput {
            game_id: "g1",
            task_id: "task_1",
            user_id: "u1",
            data: &json!({}),
            now_us: now,
            variables: &vars,
            task_params: &[],
            analytics: &analytics,
            simulation_key: b"",
            rng_seed: 0,
        },
    )
    .unwrap_err();
    assert_eq!(err, StrategyError::MissingSimulationKey);
}

#[test]
fn control_group_goes_to_the_least_used_group_in_games_order() {
    assert_eq!(choose_control_group([0, 0, 0]), ControlGroup::RandomRange);
    assert_eq!(choose_control_group([1, 0, 0]), ControlGroup::AverageScore);
    assert_eq!(
        choose_control_group([1, 1, 0]),
        ControlGroup::DynamicCalculation
    );
    assert_eq!(choose_control_group([2, 1, 1]), ControlGroup::AverageScore);
}

#[test]
fn simulation_json_round_trips_in_games_shape() {
    let t = SimulatedTask {
        external_user_id: "u1".into(),
        external_task_id: "t1".into(),
        user_group: Some("random_range".into()),
        dimensions: [1, 2, 3, 4, 5],
        total_simulated_points: 15,
        expiration_date: "2026-02-10 09:45:00.000000+00:00".into(),
    };
    let v = t.to_json();
    assert_eq!(
        v,
        json!({"externalUserId": "u1", "externalTaskId": "t1", "userGroup": "random_range",
               "dimensions": [{"DIM_BP": 1}, {"DIM_LBE": 2}, {"DIM_TD": 3}, {"DIM_PP": 4}, {"DIM_S": 5}],
               "totalSimulatedPoints": 15, "expirationDate": "2026-02-10 09:45:00.000000+00:00"})
    );
    assert_eq!(SimulatedTask::from_json(&v), Some(t));
    // Dimensions out of GAME's order are not a simulation we issued.
    let mut swapped = v.clone();
    swapped["dimensions"][0] = json!({"DIM_LBE": 1});
    assert_eq!(SimulatedTask::from_json(&swapped), None);
}

// ---------------------------------------------------------------- Getis-Ord Gi*

/// 5×5 grid, 0 everywhere except 10 on the plus-shaped cluster around the centre.
/// Centre: n 25, mean 2, std 4, Σw 5, Σwx 50 → Gi* = 40 / (4·√(100/24)) = 2√6 ≈ 4.898979.
/// Corner (0,0): Σw 3, Σwx 0 → Gi* = −6 / (4·√2.75) ≈ −0.904534.
fn plus_grid(inside: f64, outside: f64) -> Grid {
    let mut values = vec![outside; 25];
    for (r, c) in [(2, 2), (1, 2), (3, 2), (2, 1), (2, 3)] {
        values[r * 5 + c] = inside;
    }
    Grid {
        rows: 5,
        cols: 5,
        values,
    }
}

fn gi(grid: Grid, row: u64, col: u64) -> Result<game_scoring::Outcome, StrategyError> {
    let analytics = Analytics {
        grid: Some(grid),
        ..Analytics::default()
    };
    let (r, c) = (json!(row), json!(col.to_string()));
    let id = "getis_ord_gi_star";
    run_full(
        id,
        &defaults(id),
        &analytics,
        &Value::Null,
        t0(),
        "t1",
        &[("cellRow", &r), ("cellCol", &c)],
        0,
    )
}

#[test]
fn gi_star_values_of_the_worked_example() {
    let z = gi_star::gi_star_at(&plus_grid(10.0, 0.0), 2, 2).unwrap();
    assert!((z - 2.0 * 6f64.sqrt()).abs() < 1e-12, "{z}");
    let z = gi_star::gi_star_at(&plus_grid(10.0, 0.0), 0, 0).unwrap();
    assert!((z + 6.0 / (4.0 * 2.75f64.sqrt())).abs() < 1e-12, "{z}");
}

#[test]
fn gi_star_cold_beats_average_beats_hot() {
    // Visiting the heavily visited centre: hot spot → basic / 2.
    let hot = gi(plus_grid(10.0, 0.0), 2, 2).unwrap();
    assert_eq!(
        (hot.points, hot.case_name),
        (Points::from_int(5), "HotSpotReduced")
    );
    // The centre of an unvisited hole in a busy grid: cold spot → basic + bonus.
    let cold = gi(plus_grid(0.0, 10.0), 2, 2).unwrap();
    assert_eq!(
        (cold.points, cold.case_name),
        (Points::from_int(20), "ColdSpotBonus")
    );
    // A corner (|Gi*| ≈ 0.9, not significant) → basic.
    let avg = gi(plus_grid(10.0, 0.0), 0, 0).unwrap();
    assert_eq!(
        (avg.points, avg.case_name),
        (Points::from_int(10), "AverageArea")
    );
    assert!(cold.points > avg.points && avg.points > hot.points);
    // The z-score is kept for audit.
    let cb = hot.callback_data.unwrap();
    assert_eq!(cb["cell"], json!([2, 2]));
    assert!((cb["giStar"].as_f64().unwrap() - 2.0 * 6f64.sqrt()).abs() < 1e-12);
    // No activity yet: no variance → Gi* 0 → average.
    let fresh = gi(plus_grid(0.0, 0.0), 2, 2).unwrap();
    assert_eq!(fresh.case_name, "AverageArea");
}

#[test]
fn gi_star_needs_a_cell_on_the_grid() {
    let analytics = Analytics {
        grid: Some(plus_grid(1.0, 0.0)),
        ..Analytics::default()
    };
    let id = "getis_ord_gi_star";
    let err = run(id, &defaults(id), &analytics, &Value::Null, t0()).unwrap_err();
    assert!(matches!(err, StrategyError::InvalidTaskParams(_)));
    assert!(err.to_string().contains("cellRow"), "{err}");
    let err = gi(plus_grid(1.0, 0.0), 7, 0).unwrap_err();
    assert!(matches!(err, StrategyError::InvalidSnapshot(_)));
}

#[test]
fn gi_star_grid_from_sparse_cells_includes_the_task() {
    let g = Grid::from_cells([(0, 1, 2.0), (0, 1, 1.0), (2, 0, 4.0)], (1, 3)).unwrap();
    assert_eq!((g.rows, g.cols), (3, 4));
    assert_eq!(g.values[1], 3.0);
    assert_eq!(g.values[8], 4.0);
    assert_eq!(g.values.iter().sum::<f64>(), 7.0);
}
