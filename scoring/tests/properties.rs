//! Property tests: no panic on any snapshot and any JSON data, same input → same output,
//! points within each strategy's documented bounds (docs/strategies.md).

mod common;

use common::{KEY, S, t0};
use game_scoring::greencrowd::{
    self, ControlGroup, DimStats, GreencrowdSnapshot, LastAward, SimulatedTask, TaskActivity,
};
use game_scoring::time::format_game_datetime;
use game_scoring::{
    Analytics, Grid, MinutesAgg, Points, ScoreInput, Series, UserGame, UserTaskSeries, VarType,
    coerce, gi_star, resolve_variables, score, strategies, strategy,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------- generators

fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("minutes".to_string()),
        Just("tasks".to_string()),
        Just("simulationHash".to_string()),
        Just("callbackData".to_string()),
        Just("dimensions".to_string()),
        Just("DIM_BP".to_string()),
        Just("externalTaskId".to_string()),
        "[a-zA-Z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        (-5i64..100).prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn arb_ts() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        (-1_000_000i64..1_000_000).prop_map(|s| t0() + s * S),
    ]
}

fn arb_series() -> impl Strategy<Value = Series> {
    (prop_oneof![0u64..6, any::<u64>()], arb_ts(), arb_ts()).prop_map(|(count, a, b)| Series {
        count,
        first_us: a.min(b),
        last_us: a.max(b),
    })
}

fn arb_user_task() -> impl Strategy<Value = UserTaskSeries> {
    (
        arb_series(),
        arb_ts(),
        prop::collection::vec(arb_ts(), 0..120),
    )
        .prop_map(|(series, prev_us, recent_us)| UserTaskSeries {
            series,
            prev_us,
            recent_us,
        })
}

fn arb_minutes() -> impl Strategy<Value = MinutesAgg> {
    (any::<f64>(), any::<u64>()).prop_map(|(sum, count)| MinutesAgg { sum, count })
}

fn arb_grid() -> impl Strategy<Value = Grid> {
    (
        0usize..7,
        0usize..7,
        prop::collection::vec(
            prop_oneof![any::<f64>(), (0u32..50).prop_map(f64::from)],
            0..50,
        ),
    )
        .prop_map(|(rows, cols, values)| Grid { rows, cols, values })
}

fn arb_group() -> impl Strategy<Value = ControlGroup> {
    prop_oneof![
        Just(ControlGroup::RandomRange),
        Just(ControlGroup::AverageScore),
        Just(ControlGroup::DynamicCalculation),
    ]
}

fn arb_dims() -> impl Strategy<Value = [DimStats; 5]> {
    prop::array::uniform5(
        (any::<u64>(), any::<i128>(), any::<i64>(), any::<i64>()).prop_map(
            |(count, sum, min, max)| DimStats {
                count,
                sum,
                min,
                max,
            },
        ),
    )
}

fn arb_greencrowd() -> impl Strategy<Value = GreencrowdSnapshot> {
    (
        arb_group(),
        prop::collection::vec(
            (
                "[a-z]{0,2}(_[a-z0-9]{0,2}){0,2}",
                prop::array::uniform4(any::<u64>()),
            ),
            0..6,
        ),
        arb_dims(),
        arb_series(),
        prop::collection::vec(any::<i64>(), 0..10),
        prop::option::of(("[a-z_0-9]{0,4}", arb_ts())),
        any::<bool>(),
    )
        .prop_map(|(group, tasks, dims, user_series, user_days, last, used)| {
            GreencrowdSnapshot {
                group,
                tasks: tasks
                    .into_iter()
                    .map(|(id, slot_counts)| TaskActivity {
                        external_task_id: id,
                        slot_counts,
                    })
                    .collect(),
                dims,
                user_series,
                user_days,
                user_last_award: last.map(|(id, at_us)| LastAward {
                    external_task_id: id,
                    at_us,
                }),
                simulation_used: used,
            }
        })
}

fn arb_analytics() -> impl Strategy<Value = Analytics> {
    (
        prop::option::of(arb_series()),
        prop::option::of(arb_user_task()),
        prop::option::of(
            (any::<u64>(), arb_minutes()).prop_map(|(count, minutes)| UserGame { count, minutes }),
        ),
        prop::option::of(arb_minutes()),
        prop::option::of(arb_grid()),
        prop::option::of(arb_greencrowd()),
    )
        .prop_map(
            |(task, user_task, user_game, game_minutes, grid, greencrowd)| Analytics {
                task,
                user_task,
                user_game,
                game_minutes,
                grid,
                greencrowd,
                progression: None,
            },
        )
}

/// Params: keys that name variables (full or bare), the Gi* cell keys, or anything.
fn arb_params() -> impl Strategy<Value = Vec<(String, Value)>> {
    let mut names: Vec<String> = Vec::new();
    for s in strategies() {
        for v in &s.variables {
            names.push(v.name.to_string());
            names.push(v.bare_name().to_string());
        }
    }
    names.push("cellRow".into());
    names.push("cellCol".into());
    let key = prop_oneof![prop::sample::select(names), "[a-z_]{0,6}"];
    let value = prop_oneof![
        (-1000i64..1000).prop_map(Value::from),
        (-1000i64..1000).prop_map(|i| Value::from(i.to_string())),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,6}".prop_map(Value::from),
        arb_json(),
    ];
    prop::collection::vec((key, value), 0..5)
}

fn ids() -> impl Strategy<Value = &'static str> {
    prop::sample::select(strategies().iter().map(|s| s.id).collect::<Vec<_>>())
}

// ---------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any id, any snapshot, any data, any params, any time: no panic, and the decision is a
    /// pure function of its input.
    #[test]
    fn never_panics_and_is_deterministic(
        id in ids(),
        analytics in arb_analytics(),
        data in arb_json(),
        params in arb_params(),
        now in arb_ts(),
        seed in any::<u64>(),
        task_id in prop_oneof![Just("t1".to_string()), "[a-z_0-9]{0,5}"],
    ) {
        let info = strategy(id).unwrap();
        let params: Vec<(&str, &Value)> = params.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let Ok(vars) = resolve_variables(info, &[], &params) else { return Ok(()); };
        let input = ScoreInput {
            game_id: "g1",
            task_id: &task_id,
            user_id: "u1",
            data: &data,
            now_us: now,
            variables: &vars,
            task_params: &params,
            analytics: &analytics,
            simulation_key: KEY,
            rng_seed: seed,
        };
        let a = score(id, &input);
        let b = score(id, &input);
        prop_assert_eq!(a, b);
    }

    /// Resolution never panics; what it returns fits the declared types; a rejection names a
    /// variable.
    #[test]
    fn resolved_variables_fit_their_types(id in ids(), game in arb_params(), task in arb_params()) {
        let info = strategy(id).unwrap();
        let g: Vec<(&str, &Value)> = game.iter().map(|(k, v)| (k.as_str(), v)).collect();
        let t: Vec<(&str, &Value)> = task.iter().map(|(k, v)| (k.as_str(), v)).collect();
        match resolve_variables(info, &g, &t) {
            Ok(vars) => {
                prop_assert_eq!(vars.len(), info.variables.len());
                for ((name, value), spec) in vars.iter().zip(&info.variables) {
                    prop_assert_eq!(name, spec.name);
                    let coerced = coerce(spec.ty, value);
                    prop_assert_eq!(coerced.as_ref(), Some(value));
                }
            }
            Err(e) => {
                prop_assert!(info.variable(&e.key).is_some());
                prop_assert!(e.message.contains(&e.key));
            }
        }
    }

    /// default / socio_bee: the points are exactly the variable (or constant) of the case.
    #[test]
    fn enhanced_points_are_the_cases_variable(
        id in prop_oneof![Just("default"), Just("socio_bee")],
        v in prop::array::uniform6(-1000i64..1000),
        task in arb_series(),
        user in arb_user_task(),
        now in arb_ts(),
    ) {
        let names = [
            "variable_basic_points", "variable_bonus_points",
            "variable_individual_over_global_points", "variable_peak_performer_bonus_points",
            "variable_global_advantage_adjustment_points", "variable_individual_adjustment_points",
        ];
        let values: Vec<Value> = v.iter().map(|i| json!(i)).collect();
        let params: Vec<(&str, &Value)> = names.iter().copied().zip(values.iter()).collect();
        let vars = resolve_variables(strategy(id).unwrap(), &[], &params).unwrap();
        let analytics = Analytics { task: Some(task), user_task: Some(user), ..Analytics::default() };
        let o = common::run(id, &vars, &analytics, &Value::Null, now).unwrap();
        let want = match o.case_name {
            "BasicEngagement" => v[0],
            "default" => 1,
            "PerformanceBonus" => v[0] + v[1],
            "IndividualOverGlobal" => v[2],
            "PeakPerformerBonus" => v[3],
            "GlobalAdvantageAdjustment" => v[4],
            "IndividualAdjustment" => v[5],
            other => return Err(TestCaseError::fail(format!("unexpected case {other}"))),
        };
        prop_assert_eq!(o.points, Points::from_int(want));
    }

    /// constantEffort: 1 for BasicReward, within [1, max_points] otherwise, and one more
    /// recent award never lowers the points.
    #[test]
    fn constant_effort_within_bounds_and_monotone(
        max in 1i64..500,
        minutes in 0i64..30,
        ages in prop::collection::vec(0i64..3600, 0..99),
    ) {
        let now = t0();
        let (m, x) = (json!(minutes), json!(max));
        let id = "constantEffortStrategy";
        let vars = resolve_variables(strategy(id).unwrap(), &[],
            &[("constant_effort_interval_minutes", &m), ("max_points", &x)]).unwrap();
        let mut user = UserTaskSeries::default();
        let mut last = None;
        for age in ages.iter().chain([&0]) {
            let analytics = Analytics { user_task: Some(user.clone()), ..Analytics::default() };
            let o = common::run(id, &vars, &analytics, &Value::Null, now).unwrap();
            match o.case_name {
                "BasicReward" => prop_assert_eq!(o.points, Points::from_int(1)),
                _ => {
                    prop_assert_eq!(o.case_name, "ConstantEffortReward");
                    prop_assert!(o.points >= Points::from_int(1) && o.points <= Points::from_int(max));
                }
            }
            if let (Some(prev), "ConstantEffortReward") = (last, o.case_name) {
                prop_assert!(o.points >= prev);
            }
            if o.case_name == "ConstantEffortReward" { last = Some(o.points); }
            // Only awards inside the window make the next one count more; add the next award
            // in the window so the count grows.
            user.record(now - (age % (minutes * 60 + 1)) * S);
        }
    }

    /// greengage: 0 ≤ points ≤ 90 × default_points, in quarters at worst (exact decimal),
    /// and minutes 0 always lands in case 1.x.
    #[test]
    fn greengage_within_bounds(
        dp in 0i64..100_000,
        minutes in prop_oneof![0u64..200, any::<u64>()],
        user in arb_user_task(),
        count in 0u64..5,
        personal in arb_minutes(),
        global in arb_minutes(),
    ) {
        let id = "greengageStrategy";
        let d = json!(dp);
        let vars = resolve_variables(strategy(id).unwrap(), &[], &[("default_points", &d)]).unwrap();
        let analytics = Analytics {
            user_task: Some(user),
            user_game: Some(UserGame { count, minutes: personal }),
            game_minutes: Some(global),
            ..Analytics::default()
        };
        let o = common::run(id, &vars, &analytics, &json!({"minutes": minutes}), t0()).unwrap();
        prop_assert!(o.points >= Points::ZERO);
        prop_assert!(o.points <= Points::from_int(90 * dp));
        prop_assert!(o.points.scale() <= 2);
        prop_assert_eq!(minutes == 0, o.case_name.starts_with("Case 1."));
    }

    /// Gi*: one of basic/2, basic, basic+bonus, ordered by the cell's z-score.
    #[test]
    fn gi_star_points_follow_z(
        basic in 1i64..1000,
        bonus in 1i64..1000,
        rows in 1usize..6,
        cols in 1usize..6,
        values in prop::collection::vec(0u32..20, 36),
        cell in (0usize..6, 0usize..6),
    ) {
        let grid = Grid { rows, cols, values: values[..rows * cols].iter().map(|v| f64::from(*v)).collect() };
        let (r, c) = (cell.0 % rows, cell.1 % cols);
        let id = "getis_ord_gi_star";
        let (b, x, jr, jc) = (json!(basic), json!(bonus), json!(r), json!(c));
        let vars = resolve_variables(strategy(id).unwrap(), &[], &[("basic_points", &b), ("bonus_points", &x)]).unwrap();
        let z = gi_star::gi_star_at(&grid, r, c).unwrap();
        let analytics = Analytics { grid: Some(grid), ..Analytics::default() };
        let o = common::run_full(id, &vars, &analytics, &Value::Null, t0(), "t1",
            &[("cellRow", &jr), ("cellCol", &jc)], 0).unwrap();
        let want = if z <= -gi_star::Z_CRITICAL {
            (Points::from_int(basic + bonus), "ColdSpotBonus")
        } else if z >= gi_star::Z_CRITICAL {
            (Points::from_decimal(i128::from(basic) * 5, 1).unwrap(), "HotSpotReduced")
        } else {
            (Points::from_int(basic), "AverageArea")
        };
        prop_assert_eq!((o.points, o.case_name), want);
    }

    /// greencrowd with a genuinely signed simulation: the points are the sum of the scored
    /// entry's dimensions; average_score entries lie within the recorded range.
    #[test]
    fn greencrowd_points_are_the_entrys_dimensions(
        dims in prop::array::uniform5(-50i64..50),
        expires_in in -3600i64..3600,
        used in any::<bool>(),
        values in prop::collection::vec(prop::array::uniform5(0i64..30), 1..6),
        seed in any::<u64>(),
    ) {
        let now = t0();
        let mut stats = [DimStats::default(); 5];
        for v in &values {
            for (s, x) in stats.iter_mut().zip(v) { s.record(*x); }
        }
        let snap = GreencrowdSnapshot {
            group: ControlGroup::AverageScore,
            tasks: vec![TaskActivity { external_task_id: "t1".into(), slot_counts: [1, 0, 0, 0] }],
            dims: stats,
            user_series: Series::default(),
            user_days: vec![],
            user_last_award: None,
            simulation_used: used,
        };
        let tasks = vec![SimulatedTask {
            external_user_id: "u1".into(),
            external_task_id: "t1".into(),
            user_group: Some("average_score".into()),
            dimensions: dims,
            total_simulated_points: dims.iter().sum(),
            expiration_date: format_game_datetime(now + expires_in * S),
        }];
        let hash = greencrowd::sign(KEY, "g1", "u1", &tasks).unwrap();
        let data = json!({"simulationHash": hash, "tasks": [tasks[0].to_json()]});
        let analytics = Analytics { greencrowd: Some(snap), ..Analytics::default() };
        let id = "greencrowdStrategy";
        let vars = strategy(id).unwrap().default_variables();
        let o = common::run_full(id, &vars, &analytics, &data, now, "t1", &[], seed).unwrap();
        match &o.callback_data {
            None => {
                prop_assert!(!used && expires_in >= 0);
                prop_assert_eq!(o.points, Points::from_int(dims.iter().sum()));
            }
            Some(cb) => {
                prop_assert!(used || expires_in < 0);
                let entry = SimulatedTask::from_json(&cb[0]).unwrap();
                prop_assert_eq!(o.points, Points::from_int(entry.dimensions.iter().sum()));
                for (d, s) in entry.dimensions.iter().zip(&stats) {
                    prop_assert!(s.min <= *d && *d <= s.max);
                }
            }
        }
    }

    /// Signatures: a simulation verifies; changing any signed field breaks it.
    #[test]
    fn signed_simulations_detect_tampering(
        dims in prop::array::uniform5(any::<i64>()),
        which in 0usize..5,
        delta in prop_oneof![Just(1i64), Just(-1), any::<i64>()],
        user in "[a-z0-9]{1,8}",
    ) {
        let t = SimulatedTask {
            external_user_id: user.clone(),
            external_task_id: "t1".into(),
            user_group: None,
            dimensions: dims,
            total_simulated_points: 0,
            expiration_date: "2026-02-10 09:45:00.000000+00:00".into(),
        };
        let h = greencrowd::sign(KEY, "g1", &user, std::slice::from_ref(&t)).unwrap();
        prop_assert!(greencrowd::verify(KEY, "g1", &user, std::slice::from_ref(&t), &h).unwrap());
        let mut bad = t.clone();
        bad.dimensions[which] = bad.dimensions[which].wrapping_add(delta);
        prop_assume!(bad != t);
        prop_assert!(!greencrowd::verify(KEY, "g1", &user, &[bad], &h).unwrap());
    }

    /// Exact points print the decimal their f64 approximates.
    #[test]
    fn points_text_and_f64_agree(units in -1_000_000_000_000i128..1_000_000_000_000, scale in 0u8..4) {
        let p = Points::from_decimal(units, scale).unwrap();
        let parsed: f64 = p.to_string().parse().unwrap();
        prop_assert_eq!(parsed, p.to_f64());
        prop_assert!((p.to_f64() - units as f64 / 10f64.powi(i32::from(scale))).abs() <= 1e-6 * p.to_f64().abs().max(1.0));
    }
}

#[test]
fn catalogue_types_are_the_declared_defaults_types() {
    for s in strategies() {
        for v in &s.variables {
            assert_eq!(
                coerce(v.ty, &v.default).as_ref(),
                Some(&v.default),
                "{}",
                v.name
            );
            assert_ne!(v.ty, VarType::Bool, "no built-in declares a bool");
        }
    }
}
