//! Properties of the custom-strategy language:
//! * parity: GAME's `default_v0_0_2` and `constant_effort_v0_0_1` programs score exactly like
//!   the built-ins on generated snapshots;
//! * fuzzing: arbitrary JSON (biased towards AST shapes) through validate + run never panics,
//!   and every run ends within the node budget. Run longer with
//!   `PROPTEST_CASES=100000 cargo test -p game-scoring --test dsl_properties --release`.

mod common;

use common::{KEY, S, defaults, t0};
use game_scoring::dsl::templates::{self, CONSTANT_EFFORT_V0_0_1, DEFAULT_V0_0_2};
use game_scoring::dsl::{CustomStrategy, DslInput, DslKind, Limits};
use game_scoring::{
    Analytics, RECENT_TIMESTAMPS_KEPT, ScoreInput, Series, StrategyKind, UserTaskSeries, Variables,
    score,
};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

fn arb_ts() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => (-100_000i64..100_000).prop_map(|s| t0() + s * S),
        3 => (-600i64..600).prop_map(|s| t0() + s * S),
        1 => any::<i64>(),
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
        prop::collection::vec(arb_ts(), 0..RECENT_TIMESTAMPS_KEPT),
    )
        .prop_map(|(series, prev_us, recent_us)| UserTaskSeries {
            series,
            prev_us,
            recent_us,
        })
}

fn input<'a>(
    vars: &'a Variables,
    analytics: &'a Analytics,
    data: &'a Value,
    now: i64,
) -> ScoreInput<'a> {
    ScoreInput {
        game_id: "g1",
        task_id: "t1",
        user_id: "u1",
        data,
        now_us: now,
        variables: vars,
        task_params: &[],
        analytics,
        simulation_key: KEY,
        rng_seed: 7,
    }
}

fn run_twin(twin: &CustomStrategy, builtin: &str, analytics: &Analytics, now: i64) {
    let vars = defaults(builtin);
    let data = Value::Null;
    let want = score(builtin, &input(&vars, analytics, &data, now)).unwrap();
    let got = twin
        .run(
            &DslInput {
                score: input(&vars, analytics, &data, now),
                mock_state: None,
            },
            &|| false,
        )
        .unwrap();
    assert_eq!(got.points().unwrap(), want.points);
    assert_eq!(got.case_name.as_deref(), Some(want.case_name));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn default_v0_0_2_twin_scores_like_default(task in arb_series(), user in arb_user_task(), now in arb_ts()) {
        let twin = templates::parity_program(DEFAULT_V0_0_2).unwrap();
        let a = Analytics { task: Some(task), user_task: Some(user), ..Analytics::default() };
        run_twin(&twin, "default", &a, now);
    }

    #[test]
    fn constant_effort_v0_0_1_twin_scores_like_constant_effort(user in arb_user_task(), now in arb_ts()) {
        let twin = templates::parity_program(CONSTANT_EFFORT_V0_0_1).unwrap();
        let a = Analytics { user_task: Some(user), ..Analytics::default() };
        run_twin(&twin, "constantEffortStrategy", &a, now);
    }
}

/// Realistic default-strategy histories (many awards at second granularity), which reach the
/// branches past the early returns far more often than arbitrary series.
fn arb_history() -> impl Strategy<Value = (Analytics, i64)> {
    (
        prop::collection::vec(0i64..400, 0..12),
        prop::collection::vec(0i64..400, 0..12),
        0i64..400,
    )
        .prop_map(|(mine, others, since)| {
            let now = t0();
            let mut user = UserTaskSeries::default();
            let mut task = Series::default();
            let mut ts: Vec<(i64, bool)> = mine.iter().map(|g| (*g, true)).collect();
            ts.extend(others.iter().map(|g| (*g, false)));
            // Lay the gaps out backwards from now - since.
            let mut t = now - since * S;
            let mut stamps: Vec<(i64, bool)> = Vec::new();
            for (gap, is_mine) in ts {
                stamps.push((t, is_mine));
                t -= gap * S;
            }
            stamps.reverse();
            for (at, is_mine) in stamps {
                task.record(at);
                if is_mine {
                    user.record(at);
                }
            }
            (
                Analytics {
                    task: Some(task),
                    user_task: Some(user),
                    ..Analytics::default()
                },
                now,
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn default_twin_parity_on_histories((a, now) in arb_history()) {
        let twin = templates::parity_program(DEFAULT_V0_0_2).unwrap();
        run_twin(&twin, "default", &a, now);
        let twin = templates::parity_program(CONSTANT_EFFORT_V0_0_1).unwrap();
        run_twin(&twin, "constantEffortStrategy", &a, now);
    }
}

// ---------------------------------------------------------------- fuzzing

fn arb_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-3i64..4).prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![Just(0.0), Just(1e308), Just(-0.5), Just(2.5)].prop_map(|f| json!(f)),
        ".{0,6}".prop_map(Value::from),
    ]
}

fn arb_type() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "program", "rule", "and", "or", "not", "compare", "literal", "field", "arith",
            "func_call", "assign_points", "set_callback_data", "return", "set_data", "veto",
            "set_points", "set_case_name",
        ]).prop_map(Value::from),
        1 => arb_scalar(),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(vec![
            "type", "id", "rules", "default", "pre_rules", "post_rules", "parent_variables",
            "when", "then", "else_if", "else", "args", "arg", "op", "left", "right", "value",
            "path", "name", "key", "case_name",
        ]).prop_map(String::from),
        1 => "[a-z_]{1,6}",
    ]
}

fn arb_leafish() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_scalar(),
        prop::sample::select(vec![
            "<",
            "<=",
            "==",
            "!=",
            ">=",
            ">",
            "+",
            "-",
            "*",
            "/",
            "min",
            "max",
            "int",
            "clamp",
            "user.measurements_count",
            "user.recent_measurements_count",
            "task.measurements_count",
            "user.avg_time",
            "all.avg_time",
            "user.last_window_diff",
            "user.new_last_window_diff",
            "externalGameId",
            "data.x",
            "data.y",
            "parent.points",
            "parent.case_name",
            "X",
            "variable_basic_points",
        ])
        .prop_map(Value::from),
    ]
}

/// JSON biased towards AST shapes: objects with a node type and node keys, lists of them.
fn arb_astish() -> impl Strategy<Value = Value> {
    arb_leafish().prop_recursive(8, 256, 6, |inner| {
        prop_oneof![
            3 => (arb_type(), prop::collection::vec((arb_key(), inner.clone()), 0..5)).prop_map(
                |(ty, kv)| {
                    let mut m: Map<String, Value> = kv.into_iter().collect();
                    m.insert("type".into(), ty);
                    Value::Object(m)
                }
            ),
            1 => prop::collection::vec(inner, 0..5).prop_map(Value::Array),
        ]
    })
}

fn arb_program() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(arb_astish(), 0..4),
        prop::option::of(arb_astish()),
        prop::option::of(prop::collection::vec(arb_astish(), 0..3)),
        prop::option::of(prop::collection::vec(arb_astish(), 0..3)),
        prop::option::of(prop::collection::vec(
            ("variable_[a-z_]{1,12}", arb_scalar()),
            0..3,
        )),
    )
        .prop_map(|(rules, default, pre, post, pv)| {
            let mut m = Map::new();
            m.insert("type".into(), json!("program"));
            m.insert("rules".into(), Value::Array(rules));
            if let Some(d) = default {
                m.insert("default".into(), d);
            }
            if let Some(p) = pre {
                m.insert("pre_rules".into(), Value::Array(p));
            }
            if let Some(p) = post {
                m.insert("post_rules".into(), Value::Array(p));
            }
            if let Some(pv) = pv {
                m.insert(
                    "parent_variables".into(),
                    Value::Object(pv.into_iter().collect()),
                );
            }
            Value::Object(m)
        })
}

fn fuzz_one(ast: &Value, data: &Value, mock: Option<&Map<String, Value>>) {
    let analytics = Analytics {
        task: Some(Series {
            count: 3,
            first_us: t0() - 100 * S,
            last_us: t0() - S,
        }),
        user_task: Some(UserTaskSeries::default()),
        ..Analytics::default()
    };
    for kind in [
        DslKind::Full,
        DslKind::Extend(StrategyKind::Default),
        DslKind::Extend(StrategyKind::Greengage),
    ] {
        let Ok(cs) = CustomStrategy::new(ast, kind) else {
            continue;
        };
        // Re-validation of the normalised form is idempotent.
        let norm = cs.validated().to_json();
        let again = CustomStrategy::new(&norm, kind).expect("normalised AST re-validates");
        assert_eq!(again.validated().to_json(), norm);
        let vars = match kind.parent() {
            Some(p) => defaults(p.id()),
            None => defaults("default"),
        };
        let r = cs.run(
            &DslInput {
                score: input(&vars, &analytics, data, t0()),
                mock_state: mock,
            },
            &|| false,
        );
        match r {
            Ok(o) => {
                assert!(o.nodes <= 3 * Limits::default().max_nodes);
                let _ = o.points();
                let _ = serde_json::to_string(&o.trace).unwrap();
            }
            Err(f) => {
                assert!(!f.error.message.is_empty());
                assert!(f.error.node_id.is_some());
                let s = f.error.http_status();
                assert!(s == 400 || s == 422 || s == 500, "{s}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fuzz_arbitrary_json_never_panics(ast in arb_astish()) {
        fuzz_one(&ast, &json!({"x": 1, "y": "s"}), None);
    }

    #[test]
    fn fuzz_program_shaped_json_never_panics(
        ast in arb_program(),
        data in prop::collection::vec((prop::sample::select(vec!["x", "y", "minutes"]), arb_leafish()), 0..3),
        mock in prop::collection::vec((arb_leafish().prop_map(|v| v.to_string().trim_matches('"').to_string()), arb_leafish()), 0..3),
    ) {
        let data = Value::Object(data.into_iter().map(|(k, v)| (k.to_string(), v)).collect());
        let mock: Map<String, Value> = mock.into_iter().collect();
        fuzz_one(&ast, &data, Some(&mock));
    }
}

// Well-formed programs: every one validates, so the interpreter itself is fuzzed.

/// Literal values the validator accepts (integers within i64).
fn arb_lit_scalar() -> impl Strategy<Value = Value> {
    arb_scalar().prop_filter("i64 literal", |v| !(v.is_u64() && v.as_i64().is_none()))
}

fn arb_expr() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        arb_lit_scalar().prop_map(|v| json!({"type": "literal", "value": v})),
        prop::sample::select(vec![
            "user.measurements_count",
            "user.recent_measurements_count",
            "task.measurements_count",
            "user.avg_time",
            "all.avg_time",
            "user.last_window_diff",
            "user.new_last_window_diff",
            "externalGameId",
            "data.x",
            "data.y",
        ])
        .prop_map(|p| json!({"type": "field", "path": p})),
    ];
    leaf.prop_recursive(5, 64, 3, |inner| {
        prop_oneof![
            (
                prop::sample::select(vec!["+", "-", "*", "/", "min", "max"]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, l, r)| json!({"type": "arith", "op": op, "left": l, "right": r})),
            inner
                .clone()
                .prop_map(|a| json!({"type": "func_call", "name": "int", "args": [a]})),
            (inner.clone(), inner.clone(), inner).prop_map(
                |(a, b, c)| json!({"type": "func_call", "name": "clamp", "args": [a, b, c]})
            ),
        ]
    })
}

fn arb_cond() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        (
            prop::sample::select(vec!["<", "<=", "==", "!=", ">=", ">"]),
            arb_expr(),
            arb_expr()
        )
            .prop_map(|(op, l, r)| json!({"type": "compare", "op": op, "left": l, "right": r})),
        arb_lit_scalar().prop_map(|v| json!({"type": "literal", "value": v})),
        Just(json!({"type": "field", "path": "data.x"})),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3)
                .prop_map(|a| json!({"type": "and", "args": a})),
            prop::collection::vec(inner.clone(), 1..3)
                .prop_map(|a| json!({"type": "or", "args": a})),
            inner.prop_map(|a| json!({"type": "not", "arg": a})),
        ]
    })
}

fn arb_stmt() -> impl Strategy<Value = Value> {
    prop_oneof![
        arb_expr().prop_map(|v| json!({"type": "assign_points", "value": v, "case_name": "C"})),
        arb_expr().prop_map(|v| json!({"type": "set_callback_data", "key": "k", "value": v})),
        Just(json!({"type": "return"})),
    ]
}

fn arb_rule() -> impl Strategy<Value = Value> {
    (
        arb_cond(),
        prop::collection::vec(arb_stmt(), 1..3),
        prop::collection::vec((arb_cond(), prop::collection::vec(arb_stmt(), 1..2)), 0..2),
        prop::option::of(prop::collection::vec(arb_stmt(), 1..2)),
    )
        .prop_map(|(when, then, elifs, els)| {
            let mut r = json!({"type": "rule", "when": when, "then": then});
            if !elifs.is_empty() {
                r["else_if"] = Value::Array(
                    elifs
                        .into_iter()
                        .map(|(w, t)| json!({"when": w, "then": t}))
                        .collect(),
                );
            }
            if let Some(e) = els {
                r["else"] = Value::Array(e);
            }
            r
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn fuzz_well_formed_programs_validate_and_run(
        rules in prop::collection::vec(arb_rule(), 0..4),
        default in prop::option::of(arb_stmt()),
        x in arb_leafish(),
        y in arb_leafish(),
    ) {
        let mut ast = json!({"type": "program", "rules": rules});
        if let Some(d) = default {
            ast["default"] = d;
        }
        // Every well-formed program within the limits validates.
        match CustomStrategy::new(&ast, DslKind::Full) {
            Ok(_) => {}
            Err(e) => prop_assert!(e.code.http_status() == 422, "{}: {ast}", e.message),
        }
        fuzz_one(&ast, &json!({"x": x, "y": y}), None);
    }
}
