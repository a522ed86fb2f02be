//! The custom-strategy language: §7.2 rows 9–10 and 33–44 (named after their rows), the
//! validator's rules, the interpreter's semantics, DSL_EXTEND, limits and templates.

mod common;

use common::*;
use game_scoring::dsl::templates::{self, CONSTANT_EFFORT_V0_0_1, DEFAULT_V0_0_2};
use game_scoring::dsl::{
    self, CustomStrategy, DslCode, DslFailure, DslInput, DslKind, DslOutcome, FieldPath, Limits,
    Program, RunStatus,
};
use game_scoring::{
    Analytics, Need, Points, ScoreInput, Series, StrategyKind, UserTaskSeries, Variables,
};
use serde_json::{Map, Value, json};

// ---------------------------------------------------------------- helpers

fn full(ast: Value) -> CustomStrategy {
    CustomStrategy::new(&ast, DslKind::Full).expect("valid program")
}

fn extend(parent: &str, ast: Value) -> CustomStrategy {
    CustomStrategy::new(
        &ast,
        DslKind::Extend(StrategyKind::from_id(parent).unwrap()),
    )
    .expect("valid program")
}

/// An owned copy of a run's result (a `DslOutcome` borrows its program).
#[derive(Debug)]
struct Out {
    points: Result<Points, dsl::DslError>,
    points_json: Value,
    case_name: Option<String>,
    callback_data: Value,
    trace: Vec<Value>,
    nodes: usize,
    vetoed: bool,
    parent: Option<game_scoring::Outcome>,
}

impl Out {
    fn points(&self) -> Result<Points, dsl::DslError> {
        self.points.clone()
    }
    fn points_json(&self) -> Value {
        self.points_json.clone()
    }
    fn callback_data_opt(&self) -> Option<&Value> {
        self.callback_data
            .as_object()
            .filter(|m| !m.is_empty())
            .map(|_| &self.callback_data)
    }
}

#[derive(Debug)]
struct Fail {
    error: dsl::DslError,
}

fn own(r: Result<DslOutcome<'_>, DslFailure<'_>>) -> Result<Out, Fail> {
    match r {
        Ok(o) => Ok(Out {
            points: o.points(),
            points_json: o.points_json(),
            case_name: o.case_name.clone(),
            callback_data: o.callback_data.clone(),
            trace: o
                .trace
                .iter()
                .map(|t| serde_json::to_value(t).unwrap())
                .collect(),
            nodes: o.nodes,
            vetoed: o.vetoed,
            parent: o.parent.clone(),
        }),
        Err(f) => Err(Fail { error: f.error }),
    }
}

fn exec(
    cs: &CustomStrategy,
    vars: &Variables,
    analytics: &Analytics,
    data: &Value,
    now: i64,
    mock: Option<&Map<String, Value>>,
) -> Result<Out, Fail> {
    own(cs.run(
        &DslInput {
            score: ScoreInput {
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
            },
            mock_state: mock,
        },
        &|| false,
    ))
}

/// Run a DSL_FULL program with only `data` (no analytics).
fn run_data(ast: Value, data: Value) -> Result<Out, Fail> {
    exec(
        &full(ast),
        &defaults("default"),
        &Analytics::default(),
        &data,
        t0(),
        None,
    )
}

fn pc(o: &Out) -> (Points, Option<&str>) {
    (o.points().unwrap(), o.case_name.as_deref())
}

fn lit(v: Value) -> Value {
    json!({"type": "literal", "value": v})
}

fn field(p: &str) -> Value {
    json!({"type": "field", "path": p})
}

fn arith(op: &str, l: Value, r: Value) -> Value {
    json!({"type": "arith", "op": op, "left": l, "right": r})
}

fn cmp(op: &str, l: Value, r: Value) -> Value {
    json!({"type": "compare", "op": op, "left": l, "right": r})
}

fn assign(v: Value, case: &str) -> Value {
    json!({"type": "assign_points", "value": v, "case_name": case})
}

fn rule(when: Value, then: Vec<Value>) -> Value {
    json!({"type": "rule", "when": when, "then": then})
}

fn program(rules: Vec<Value>) -> Value {
    json!({"type": "program", "rules": rules})
}

/// A program assigning `expr` unconditionally.
fn assign_expr(expr: Value) -> Value {
    program(vec![rule(lit(json!(true)), vec![assign(expr, "X")])])
}

fn code_of(r: Result<Out, Fail>) -> DslCode {
    r.expect_err("must fail").error.code
}

/// The default strategy's analytics snapshot for the §7.2 vectors (see vectors.rs).
fn enhanced_snapshot(
    task_count: u64,
    all_avg: f64,
    user_count: u64,
    user_avg: f64,
    last: f64,
    new: f64,
) -> (Analytics, i64) {
    let (user, now) = user_series(user_count, user_avg, last, new);
    (
        Analytics {
            task: Some(series(task_count, all_avg, now - 1000 * S)),
            user_task: Some(user),
            ..Analytics::default()
        },
        now,
    )
}

// ---------------------------------------------------------------- §7.2 rows

/// Row 9/10's wrapper: DSL_EXTEND(default), post `user.measurements_count == 0 →
/// set_points(parent.points + 5)`.
fn row_9_wrapper() -> CustomStrategy {
    extend(
        "default",
        json!({"type": "program", "rules": [], "post_rules": [rule(
            cmp("==", field("user.measurements_count"), lit(json!(0))),
            vec![json!({"type": "set_points",
                        "value": arith("+", field("parent.points"), lit(json!(5)))})],
        )]}),
    )
}

#[test]
fn row_09_extend_default_post_rule_adds_five_for_new_user() {
    let (a, now) = enhanced_snapshot(1, -1.0, 0, -1.0, 0.0, 0.0);
    let o = exec(
        &row_9_wrapper(),
        &defaults("default"),
        &a,
        &Value::Null,
        now,
        None,
    )
    .unwrap();
    assert_eq!(pc(&o), (Points::from_int(6), Some("BasicEngagement")));
    assert_eq!(o.parent.as_ref().unwrap().points, Points::from_int(1));
}

#[test]
fn row_10_extend_default_wrapper_is_identical_to_baseline_for_vectors_2_to_8() {
    let vectors = [
        (3, 5.0, 2, 10.0, 10.0, 1.0),
        (3, 10.0, 3, 5.0, 5.0, 1.0),
        (3, 5.0, 3, 10.0, 3.0, 5.0),
        (3, 5.0, 3, 10.0, 2.0, 9.0),
        (3, 7.0, 3, 10.0, 1.0, 13.0),
        (3, 5.0, 3, 10.0, 5.0, 3.0),
        (3, 5.0, 3, 10.0, 5.0, 5.0),
    ];
    let cs = row_9_wrapper();
    for (t, all, u, uavg, last, new) in vectors {
        let (a, now) = enhanced_snapshot(t, all, u, uavg, last, new);
        let base = run("default", &defaults("default"), &a, &Value::Null, now).unwrap();
        let o = exec(&cs, &defaults("default"), &a, &Value::Null, now, None).unwrap();
        assert_eq!(
            pc(&o),
            (base.points, Some(base.case_name)),
            "vector {t},{u},{uavg}"
        );
    }
}

#[test]
fn row_33_functions_min_max_int_clamp() {
    let f = |name: &str, args: Vec<Value>| json!({"type": "func_call", "name": name, "args": args});
    let cases = [
        (arith("min", lit(json!(3)), lit(json!(5))), 3),
        (arith("max", lit(json!(5)), lit(json!(3))), 5),
        (f("int", vec![lit(json!(2.7))]), 2),
        (
            f(
                "clamp",
                vec![lit(json!(-5)), lit(json!(1)), lit(json!(100))],
            ),
            1,
        ),
        (
            f(
                "clamp",
                vec![lit(json!(150)), lit(json!(1)), lit(json!(100))],
            ),
            100,
        ),
    ];
    for (expr, want) in cases {
        let o = run_data(assign_expr(expr.clone()), Value::Null).unwrap();
        assert_eq!(o.points().unwrap(), Points::from_int(want), "{expr}");
        // Integral results stay Python ints.
        assert_eq!(o.points_json(), json!(want));
    }
}

#[test]
fn row_34_callback_data_before_assign_is_kept() {
    let ast = program(vec![rule(
        lit(json!(true)),
        vec![
            json!({"type": "set_callback_data", "key": "bonus_kind", "value": lit(json!("perf"))}),
            json!({"type": "set_callback_data", "key": "level", "value": lit(json!(3))}),
            assign(lit(json!(4)), "Perf"),
            json!({"type": "set_callback_data", "key": "never", "value": lit(json!(1))}),
        ],
    )]);
    let o = run_data(ast, Value::Null).unwrap();
    assert_eq!(o.points().unwrap(), Points::from_int(4));
    assert_eq!(o.callback_data, json!({"bonus_kind": "perf", "level": 3}));
}

#[test]
fn row_35_no_match_no_default_is_zero_none_empty() {
    let ast = program(vec![rule(
        lit(json!(false)),
        vec![assign(lit(json!(9)), "N")],
    )]);
    let o = run_data(ast, Value::Null).unwrap();
    assert_eq!(pc(&o), (Points::ZERO, None));
    assert_eq!(o.callback_data, json!({}));
    assert_eq!(o.callback_data_opt(), None);
}

#[test]
fn row_36_else_branch_does_not_halt_and_next_rule_assigns() {
    let ast = program(vec![
        json!({"type": "rule", "when": lit(json!(false)),
               "then": [assign(lit(json!(1)), "FIRST")],
               "else": [{"type": "set_callback_data", "key": "note", "value": lit(json!("x"))}]}),
        rule(lit(json!(true)), vec![assign(lit(json!(9)), "SECOND")]),
    ]);
    let o = run_data(ast, Value::Null).unwrap();
    assert_eq!(pc(&o), (Points::from_int(9), Some("SECOND")));
    assert_eq!(o.callback_data, json!({"note": "x"}));
}

#[test]
fn row_37_division_by_zero() {
    let r = run_data(
        assign_expr(arith("/", lit(json!(10)), lit(json!(0)))),
        Value::Null,
    );
    let e = r.unwrap_err().error;
    assert_eq!(e.code, DslCode::ArithDivByZero);
    assert_eq!(
        e.node_id.as_deref(),
        Some("p.program.0.rule.0.assign_points.0.arith.0")
    );
    assert_eq!(e.code.http_status(), 400);
}

/// A parent strategy stand-in: DSL_EXTEND(default) whose parent yields (5, case) through
/// `parent_variables` (basic points 5 on a first award).
fn extend_parent_5(post: Vec<Value>, pre: Vec<Value>) -> CustomStrategy {
    extend(
        "default",
        json!({"type": "program", "rules": [], "pre_rules": pre, "post_rules": post,
               "parent_variables": {"variable_basic_points": 5}}),
    )
}

fn first_award() -> (Analytics, i64) {
    enhanced_snapshot(1, -1.0, 0, -1.0, 0.0, 0.0)
}

#[test]
fn row_38_extend_post_set_points_doubles_parent() {
    let cs = extend_parent_5(
        vec![rule(
            lit(json!(true)),
            vec![json!({"type": "set_points",
                        "value": arith("*", field("parent.points"), lit(json!(2)))})],
        )],
        vec![],
    );
    let (a, now) = first_award();
    let o = exec(&cs, &defaults("default"), &a, &Value::Null, now, None).unwrap();
    assert_eq!(pc(&o), (Points::from_int(10), Some("BasicEngagement")));
}

#[test]
fn row_39_extend_post_set_case_name() {
    let cs = extend_parent_5(
        vec![rule(
            lit(json!(true)),
            vec![json!({"type": "set_case_name", "value": lit(json!("EnhancedReward"))})],
        )],
        vec![],
    );
    let (a, now) = first_award();
    let o = exec(&cs, &defaults("default"), &a, &Value::Null, now, None).unwrap();
    assert_eq!(pc(&o), (Points::from_int(5), Some("EnhancedReward")));
    // The post phase starts from float(parent.points), as GAME does.
    assert_eq!(o.points_json(), json!(5.0));
}

#[test]
fn row_40_extend_pre_veto_skips_parent() {
    let cs = extend_parent_5(
        vec![rule(
            lit(json!(true)),
            vec![json!({"type": "set_points", "value": lit(json!(99))})],
        )],
        vec![rule(
            lit(json!(true)),
            vec![json!({"type": "veto", "case_name": "TooEarly"})],
        )],
    );
    // An empty snapshot: the parent would fail on missing analytics if it ran.
    let o = exec(
        &cs,
        &defaults("default"),
        &Analytics::default(),
        &Value::Null,
        t0(),
        None,
    )
    .unwrap();
    assert_eq!(pc(&o), (Points::ZERO, Some("TooEarly")));
    assert!(o.vetoed);
    assert!(o.parent.is_none());
}

/// The citizen-science recipe of GAME's strategies guide (rows 41–44).
fn recipe() -> CustomStrategy {
    full(json!({"type": "program", "rules": [
        rule(cmp("<", field("task.measurements_count"), lit(json!(2))),
             vec![assign(lit(json!(5)), "TaskCompleted-Onboarding")]),
        rule(cmp("==", field("data.priority_zone"), lit(json!(1))),
             vec![assign(lit(json!(25)), "PriorityZoneBonus")]),
        {"type": "rule", "when": cmp(">=", field("data.streak_days"), lit(json!(10))),
         "then": [assign(lit(json!(50)), "StreakBonus")],
         "else_if": [{"when": cmp(">=", field("data.streak_days"), lit(json!(3))),
                      "then": [assign(lit(json!(20)), "StreakBonus")]}]},
    ], "default": assign(lit(json!(2)), "TaskCompleted")}))
}

fn recipe_run(task_count: u64, data: Value) -> (Points, Option<String>) {
    let a = Analytics {
        task: Some(Series {
            count: task_count,
            first_us: t0() - 100 * S,
            last_us: t0() - S,
        }),
        ..Analytics::default()
    };
    let o = exec(&recipe(), &defaults("default"), &a, &data, t0(), None).unwrap();
    (o.points().unwrap(), o.case_name)
}

#[test]
fn row_41_recipe_onboarding() {
    assert_eq!(
        recipe_run(1, json!({"priority_zone": 0, "streak_days": 0})),
        (Points::from_int(5), Some("TaskCompleted-Onboarding".into()))
    );
}

#[test]
fn row_42_recipe_priority_zone() {
    assert_eq!(
        recipe_run(10, json!({"priority_zone": 1, "streak_days": 0})),
        (Points::from_int(25), Some("PriorityZoneBonus".into()))
    );
}

#[test]
fn row_43_recipe_streaks() {
    assert_eq!(
        recipe_run(10, json!({"priority_zone": 0, "streak_days": 4})),
        (Points::from_int(20), Some("StreakBonus".into()))
    );
    assert_eq!(
        recipe_run(10, json!({"priority_zone": 0, "streak_days": 20})),
        (Points::from_int(50), Some("StreakBonus".into()))
    );
}

#[test]
fn row_44_recipe_default() {
    assert_eq!(
        recipe_run(10, json!({"priority_zone": 0, "streak_days": 0})),
        (Points::from_int(2), Some("TaskCompleted".into()))
    );
}

// ---------------------------------------------------------------- validator

fn invalid(ast: Value) -> dsl::DslError {
    CustomStrategy::new(&ast, DslKind::Full).expect_err("must be rejected")
}

#[test]
fn auto_ids_follow_parent_type_index_and_revalidation_is_idempotent() {
    let ast = program(vec![
        rule(lit(json!(true)), vec![assign(lit(json!(1)), "A")]),
        rule(
            json!({"type": "and", "args": [field("data.x"), cmp("<", lit(json!(1)), lit(json!(2)))]}),
            vec![assign(lit(json!(2)), "B")],
        ),
    ]);
    let v = dsl::validate(&ast).unwrap();
    let norm = v.to_json();
    assert_eq!(norm["id"], "p.program.0");
    assert_eq!(norm["rules"][0]["id"], "p.program.0.rule.0");
    assert_eq!(
        norm["rules"][0]["when"]["id"],
        "p.program.0.rule.0.literal.0"
    );
    assert_eq!(
        norm["rules"][0]["then"][0]["id"],
        "p.program.0.rule.0.assign_points.0"
    );
    assert_eq!(
        norm["rules"][0]["then"][0]["value"]["id"],
        "p.program.0.rule.0.assign_points.0.literal.0"
    );
    assert_eq!(
        norm["rules"][1]["when"]["args"][1]["right"]["id"],
        "p.program.0.rule.1.and.0.compare.1.literal.1"
    );
    // Author ids are kept.
    let mut with_id = ast.clone();
    with_id["rules"][0]["id"] = json!("mine");
    assert_eq!(
        dsl::validate(&with_id).unwrap().to_json()["rules"][0]["id"],
        "mine"
    );
    // Idempotent.
    let again = dsl::validate(&norm).unwrap();
    assert_eq!(again.to_json(), norm);
    assert_eq!(again.program(), v.program());
    // The typed AST round-trips through serde, and serde rejects unknown keys.
    let typed: Program = serde_json::from_value(norm.clone()).unwrap();
    assert_eq!(&typed, v.program());
    let mut extra = norm.clone();
    extra["rules"][0]["when"]["surprise"] = json!(1);
    assert!(serde_json::from_value::<Program>(extra).is_err());
}

#[test]
fn validator_reports_every_field_path_and_the_aggregates_to_load() {
    let cs = extend(
        "constantEffortStrategy",
        json!({"type": "program", "rules": [rule(cmp("<", field("all.avg_time"), field("data.k")),
                                                 vec![assign(lit(json!(1)), "A")])],
               "post_rules": [rule(field("parent.case_name"),
                                   vec![json!({"type": "set_points", "value": field("user.avg_time")})])]}),
    );
    let paths: Vec<String> = cs
        .validated()
        .field_paths()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        paths,
        [
            "user.avg_time",
            "all.avg_time",
            "data.k",
            "parent.case_name"
        ]
    );
    let needs = cs.needs();
    assert!(needs.contains(&Need::TaskSeries));
    assert!(needs.contains(&Need::UserTaskSeries));
    assert_eq!(needs.len(), 2);
    assert_eq!(full(program(vec![])).needs(), Vec::<Need>::new());
}

#[test]
fn validator_error_codes_and_node_ids() {
    let cases: Vec<(Value, DslCode, &str)> = vec![
        (json!([]), DslCode::InvalidRoot, "root"),
        (
            json!({"type": "prog", "rules": []}),
            DslCode::InvalidRoot,
            "p.program.0",
        ),
        (
            json!({"type": "program"}),
            DslCode::MissingKey,
            "p.program.0",
        ),
        (
            json!({"type": "program", "rules": [], "x": 1}),
            DslCode::UnexpectedKey,
            "p.program.0",
        ),
        (
            json!({"type": "program", "rules": {}}),
            DslCode::InvalidShape,
            "p.program.0",
        ),
        (
            program(vec![rule(lit(json!(true)), vec![])]),
            DslCode::EmptyBranch,
            "p.program.0.rule.0",
        ),
        (
            program(vec![rule(
                field("user.secret"),
                vec![assign(lit(json!(1)), "A")],
            )]),
            DslCode::FieldPathNotAllowed,
            "p.program.0.rule.0.field.0",
        ),
        (
            program(vec![rule(
                field("data.a-b"),
                vec![assign(lit(json!(1)), "A")],
            )]),
            DslCode::FieldPathNotAllowed,
            "p.program.0.rule.0.field.0",
        ),
        (
            program(vec![rule(
                field("parent.points"),
                vec![assign(lit(json!(1)), "A")],
            )]),
            DslCode::ParentFieldOutsidePost,
            "p.program.0.rule.0.field.0",
        ),
        (
            assign_expr(arith("**", lit(json!(1)), lit(json!(2)))),
            DslCode::ArithOpNotAllowed,
            "p.program.0.rule.0.assign_points.0.arith.0",
        ),
        (
            assign_expr(json!({"type": "func_call", "name": "eval", "args": []})),
            DslCode::FuncNameNotAllowed,
            "p.program.0.rule.0.assign_points.0.func_call.0",
        ),
        (
            assign_expr(json!({"type": "func_call", "name": "clamp", "args": [lit(json!(1))]})),
            DslCode::FuncArityMismatch,
            "p.program.0.rule.0.assign_points.0.func_call.0",
        ),
        (
            program(vec![rule(
                cmp("=~", lit(json!(1)), lit(json!(1))),
                vec![assign(lit(json!(1)), "A")],
            )]),
            DslCode::CompareOpNotAllowed,
            "p.program.0.rule.0.compare.0",
        ),
        (
            program(vec![rule(
                lit(json!(true)),
                vec![json!({"type": "veto", "case_name": "X"})],
            )]),
            DslCode::StatementNotAllowed,
            "p.program.0.rule.0.veto.0",
        ),
        (
            json!({"type": "program", "rules": [], "default": {"type": "set_points", "value": lit(json!(1))}}),
            DslCode::StatementNotAllowed,
            "p.program.0.set_points.0",
        ),
        (
            program(vec![rule(
                lit(json!(true)),
                vec![assign(lit(json!(1)), "bad\u{7f}")],
            )]),
            DslCode::InvalidCaseName,
            "p.program.0.rule.0.assign_points.0",
        ),
        (
            program(vec![rule(
                lit(json!(true)),
                vec![assign(lit(json!([1])), "A")],
            )]),
            DslCode::InvalidLiteral,
            "p.program.0.rule.0.assign_points.0.literal.0",
        ),
        (
            program(vec![rule(
                lit(json!(true)),
                vec![assign(lit(json!(u64::MAX)), "A")],
            )]),
            DslCode::InvalidLiteral,
            "p.program.0.rule.0.assign_points.0.literal.0",
        ),
        (
            program(vec![rule(
                arith("+", lit(json!(1)), lit(json!(1))),
                vec![assign(lit(json!(1)), "A")],
            )]),
            DslCode::UnknownNodeType,
            "p.program.0.rule.0",
        ),
        (
            json!({"type": "program", "rules": [], "pre_rules": [rule(lit(json!(1)),
                   vec![json!({"type": "set_data", "key": "a.b", "value": lit(json!(1))})])]}),
            DslCode::InvalidKey,
            "p.program.0.rule.0.set_data.0",
        ),
        (
            json!({"type": "program", "rules": [], "parent_variables": {"basic_points": 1}}),
            DslCode::InvalidParentVariables,
            "p.program.0",
        ),
        (
            json!({"type": "program", "rules": [{"type": "rule", "when": lit(json!(true)),
                   "then": [assign(lit(json!(1)), "A")], "else_if": [{"when": lit(json!(1)), "x": 1}]}]}),
            DslCode::UnexpectedKey,
            "p.program.0.rule.0.else_if.0",
        ),
    ];
    for (ast, code, node) in cases {
        let e = invalid(ast.clone());
        assert_eq!(e.code, code, "{ast}: {}", e.message);
        assert_eq!(e.node_id.as_deref(), Some(node), "{ast}: {}", e.message);
        assert!(!e.message.is_empty());
        assert_eq!(e.code.http_status(), 400);
    }
}

/// `not(not(...(true)))` nested `n` deep as a rule's condition.
fn nested_not(n: usize) -> Value {
    let mut c = lit(json!(true));
    for _ in 0..n {
        c = json!({"type": "not", "arg": c});
    }
    program(vec![rule(c, vec![assign(lit(json!(1)), "A")])])
}

#[test]
fn depth_limit_is_32_and_answers_422() {
    // Rule at depth 1, the outer not at 2, ..., the literal at n + 2.
    assert!(dsl::validate(&nested_not(30)).is_ok());
    let e = dsl::validate(&nested_not(31)).unwrap_err();
    assert_eq!(e.code, DslCode::MaxDepthExceeded);
    assert_eq!(e.code.http_status(), 422);
    assert_eq!(e.status(), RunStatus::Limit);
    assert!(e.node_id.unwrap().ends_with(".literal.0"));
}

/// `rules` never-matching rules of 6 validator nodes each.
fn wide_program(rules: usize) -> Value {
    // Each rule: rule + compare + 2 literals + assign + literal = 6 nodes.
    program(
        (0..rules)
            .map(|_| {
                rule(
                    cmp("<", lit(json!(2)), lit(json!(1))),
                    vec![assign(lit(json!(1)), "A")],
                )
            })
            .collect(),
    )
}

#[test]
fn node_limit_is_1000_and_answers_422() {
    // 1 + 6 × 166 = 997 nodes.
    let ok = dsl::validate(&wide_program(166)).unwrap();
    assert_eq!(ok.node_count(), 997);
    let e = dsl::validate(&wide_program(167)).unwrap_err();
    assert_eq!(e.code, DslCode::MaxNodesExceeded);
    assert_eq!(e.code.http_status(), 422);
    // The widest valid program runs within its budget: runtime visits ≤ static count (here
    // the program, then rule + compare + 2 literals per rule; no `then` runs).
    let o = run_data(wide_program(166), Value::Null).unwrap();
    assert_eq!(o.nodes, 1 + 4 * 166);
    assert_eq!(pc(&o), (Points::ZERO, None));
}

#[test]
fn runtime_budget_and_deadline_stop_a_run() {
    let cs = full(wide_program(100));
    // The deadline is consulted every 64 nodes: a passed deadline stops the run there.
    let calls = std::cell::Cell::new(0);
    let r = cs.run(
        &DslInput {
            score: ScoreInput {
                game_id: "g",
                task_id: "t",
                user_id: "u",
                data: &Value::Null,
                now_us: t0(),
                variables: &defaults("default"),
                task_params: &[],
                analytics: &Analytics::default(),
                simulation_key: KEY,
                rng_seed: 0,
            },
            mock_state: None,
        },
        &|| {
            calls.set(calls.get() + 1);
            true
        },
    );
    let f = r.unwrap_err();
    assert_eq!(f.error.code, DslCode::Timeout);
    assert_eq!(f.error.status(), RunStatus::Timeout);
    assert_eq!(f.nodes, 64);
    assert_eq!(calls.get(), 1);
    assert!(!f.trace.is_empty());
    // The node budget: the interpreter alone, with a smaller budget than the program.
    let p = cs.program();
    let r = dsl::interp::run_phase(
        p,
        dsl::Mode::Full,
        &dsl::Fields::new(),
        Map::new(),
        None,
        Limits {
            max_nodes: 50,
            max_depth: 32,
        },
        &|| false,
    );
    let f = r.unwrap_err();
    assert_eq!(f.error.code, DslCode::LimitExceeded);
    assert_eq!(f.nodes, 51);
}

// ---------------------------------------------------------------- interpreter semantics

#[test]
fn first_assign_halts_and_default_only_runs_without_match() {
    let ast = json!({"type": "program", "rules": [
        rule(lit(json!(true)), vec![assign(lit(json!(3)), "A"), assign(lit(json!(4)), "B")]),
        rule(lit(json!(true)), vec![assign(lit(json!(5)), "C")]),
    ], "default": assign(lit(json!(7)), "D")});
    let o = run_data(ast, Value::Null).unwrap();
    assert_eq!(pc(&o), (Points::from_int(3), Some("A")));
    let ast = json!({"type": "program", "rules": [rule(lit(json!(0)), vec![assign(lit(json!(3)), "A")])],
                     "default": assign(lit(json!(7)), "D")});
    assert_eq!(
        pc(&run_data(ast, Value::Null).unwrap()),
        (Points::from_int(7), Some("D"))
    );
    // `return` halts everything, default included: 0 points, no case.
    let ast = json!({"type": "program", "rules": [rule(lit(json!(1)), vec![json!({"type": "return"})])],
                     "default": assign(lit(json!(7)), "D")});
    let o = run_data(ast, Value::Null).unwrap();
    assert_eq!(pc(&o), (Points::ZERO, None));
    assert_eq!(o.trace.last().unwrap()["branch"], "halt");
}

#[test]
fn python_numbers_strings_and_truthiness() {
    let num = |e: Value, data: Value| run_data(assign_expr(e), data).unwrap().points_json();
    assert_eq!(
        num(arith("+", lit(json!(true)), lit(json!(1))), Value::Null),
        json!(2)
    );
    assert_eq!(
        num(arith("/", lit(json!(7)), lit(json!(2))), Value::Null),
        json!(3.5)
    );
    assert_eq!(
        num(arith("/", lit(json!(4)), lit(json!(2))), Value::Null),
        json!(2.0)
    );
    assert_eq!(
        num(arith("*", lit(json!(2)), lit(json!(1.5))), Value::Null),
        json!(3.0)
    );
    assert_eq!(num(field("data.n"), json!({"n": 12})), json!(12));
    // String concatenation works, but strings are not points.
    let cat = assign_expr(arith("+", lit(json!("a")), lit(json!("b"))));
    assert_eq!(
        code_of(run_data(cat, Value::Null)),
        DslCode::AssignPointsNotNumber
    );
    let ast = program(vec![rule(
        cmp(
            "==",
            arith("+", field("data.a"), lit(json!("!"))),
            lit(json!("hi!")),
        ),
        vec![assign(lit(json!(1)), "Concat")],
    )]);
    assert_eq!(
        run_data(ast, json!({"a": "hi"}))
            .unwrap()
            .case_name
            .as_deref(),
        Some("Concat")
    );
    // bool is not a number for assign_points.
    assert_eq!(
        code_of(run_data(assign_expr(lit(json!(true))), Value::Null)),
        DslCode::AssignPointsNotNumber
    );
    // Missing data keys are None; None < 1 is a type error, None == 0 is false.
    let lt = program(vec![rule(
        cmp("<", field("data.missing"), lit(json!(1))),
        vec![assign(lit(json!(1)), "A")],
    )]);
    let e = run_data(lt, json!({})).unwrap_err().error;
    assert_eq!(e.code, DslCode::CompareTypeMismatch);
    assert_eq!(e.node_id.as_deref(), Some("p.program.0.rule.0.compare.0"));
    let eq = program(vec![rule(
        cmp("==", field("data.missing"), lit(json!(0))),
        vec![assign(lit(json!(1)), "A")],
    )]);
    assert_eq!(pc(&run_data(eq, json!({})).unwrap()), (Points::ZERO, None));
    // Arithmetic type errors.
    assert_eq!(
        code_of(run_data(
            assign_expr(arith("-", lit(json!("a")), lit(json!(1)))),
            Value::Null
        )),
        DslCode::ArithTypeMismatch
    );
    assert_eq!(
        code_of(run_data(
            assign_expr(json!({"type": "func_call", "name": "int", "args": [lit(json!("x"))]})),
            Value::Null
        )),
        DslCode::FuncCallFailed
    );
    // Overflow is an error here, where Python would grow a big int.
    assert_eq!(
        code_of(run_data(
            assign_expr(arith("*", lit(json!(i64::MAX)), lit(json!(2)))),
            Value::Null
        )),
        DslCode::ArithOverflow
    );
    // Truthiness of data values.
    for (v, truthy) in [
        (json!(0), false),
        (json!(""), false),
        (json!([]), false),
        (json!({}), false),
        (json!(0.5), true),
        (json!("x"), true),
        (json!([0]), true),
        (Value::Null, false),
    ] {
        let ast = program(vec![rule(
            field("data.v"),
            vec![assign(lit(json!(1)), "T")],
        )]);
        let o = run_data(ast, json!({"v": v})).unwrap();
        assert_eq!(o.case_name.is_some(), truthy, "{v}");
    }
}

#[test]
fn fractional_points_are_exact_decimals() {
    let o = run_data(
        assign_expr(arith("*", lit(json!(5)), lit(json!(1.5)))),
        Value::Null,
    )
    .unwrap();
    assert_eq!(o.points().unwrap(), Points::from_decimal(75, 1).unwrap());
    let o = run_data(
        assign_expr(arith("+", lit(json!(0.1)), lit(json!(0.2)))),
        Value::Null,
    )
    .unwrap();
    assert_eq!(o.points().unwrap().to_string(), "0.30000000000000004");
    // inf has no points.
    let o = run_data(
        assign_expr(arith("*", lit(json!(1e308)), lit(json!(10)))),
        Value::Null,
    )
    .unwrap();
    assert_eq!(o.points().unwrap_err().code, DslCode::PointsNotFinite);
}

#[test]
fn trace_records_branches_short_circuits_and_values() {
    let ast = json!({"type": "program", "rules": [
        {"type": "rule", "id": "r0",
         "when": {"type": "and", "id": "and0", "args": [lit(json!(true)), lit(json!(false)), lit(json!(true))]},
         "then": [assign(lit(json!(1)), "A")],
         "else_if": [{"when": {"type": "or", "id": "or0", "args": [lit(json!(0)), lit(json!(1))]},
                      "then": [{"type": "set_callback_data", "id": "cb", "key": "k", "value": lit(json!(2))}]}]},
        {"type": "rule", "id": "r1", "when": lit(json!(false)), "then": [assign(lit(json!(1)), "B")]},
    ]});
    let o = run_data(ast, Value::Null).unwrap();
    let t = serde_json::to_value(&o.trace).unwrap();
    let branches: Vec<(String, String, Value)> = t
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| !e["branch"].is_null())
        .map(|e| {
            (
                e["nodeId"].as_str().unwrap().to_string(),
                e["branch"].as_str().unwrap().to_string(),
                e["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        branches,
        vec![
            ("and0".into(), "short_circuit:1".into(), json!(false)),
            ("or0".into(), "short_circuit:1".into(), json!(true)),
            ("r0".into(), "elseif:0".into(), json!(true)),
            ("r1".into(), "skip".into(), json!(false)),
        ]
    );
    assert_eq!(
        t[0],
        json!({"nodeId": "and0.literal.0", "type": "literal", "value": true, "branch": null})
    );
    assert_eq!(o.callback_data, json!({"k": 2}));
}

// ---------------------------------------------------------------- DSL_EXTEND

#[test]
fn extend_set_data_feeds_the_parent_and_variables_are_overridden_on_a_copy() {
    // greengage reads data.minutes: a pre rule supplies it.
    let cs = extend(
        "greengageStrategy",
        json!({"type": "program", "rules": [], "pre_rules": [rule(lit(json!(true)),
               vec![json!({"type": "set_data", "key": "minutes", "value": lit(json!(5))})])]}),
    );
    let a = Analytics {
        user_task: Some(UserTaskSeries::default()),
        user_game: Some(game_scoring::UserGame {
            count: 1,
            minutes: Default::default(),
        }),
        game_minutes: Some(Default::default()),
        ..Analytics::default()
    };
    let o = exec(
        &cs,
        &defaults("greengageStrategy"),
        &a,
        &json!({}),
        t0(),
        None,
    )
    .unwrap();
    assert_eq!(pc(&o), (Points::from_int(20), Some("Case 2 (DP x 2)")));
    // Without the pre rule the parent refuses: a 422 with the parent's message.
    let bare = extend("greengageStrategy", json!({"type": "program", "rules": []}));
    let e = exec(
        &bare,
        &defaults("greengageStrategy"),
        &a,
        &json!({}),
        t0(),
        None,
    )
    .unwrap_err()
    .error;
    assert_eq!(e.code, DslCode::ParentFailed);
    assert_eq!(e.http_status(), 422);

    // parent_variables override the parent's variables for this run only.
    let vars = defaults("default");
    let (a, now) = first_award();
    let o = exec(
        &extend_parent_5(vec![], vec![]),
        &vars,
        &a,
        &Value::Null,
        now,
        None,
    )
    .unwrap();
    assert_eq!(pc(&o), (Points::from_int(5), Some("BasicEngagement")));
    assert_eq!(vars, defaults("default"));
}

#[test]
fn extend_parent_variables_are_checked_against_the_parent() {
    let unknown = CustomStrategy::new(
        &json!({"type": "program", "rules": [], "parent_variables": {"variable_nope": 1}}),
        DslKind::Extend(StrategyKind::Default),
    )
    .unwrap_err();
    assert_eq!(unknown.code, DslCode::UnknownParentVariable);
    let wrong_type = CustomStrategy::new(
        &json!({"type": "program", "rules": [], "parent_variables": {"variable_basic_points": "x"}}),
        DslKind::Extend(StrategyKind::Default),
    )
    .unwrap_err();
    assert_eq!(wrong_type.code, DslCode::InvalidParentVariables);
}

#[test]
fn mock_state_overrides_fields_verbatim() {
    let cs = full(program(vec![rule(
        cmp(">", field("user.measurements_count"), lit(json!(10))),
        vec![assign(field("data.bonus"), "Mocked")],
    )]));
    let mock: Map<String, Value> =
        serde_json::from_value(json!({"user.measurements_count": 11, "data.bonus": 3})).unwrap();
    // No analytics loaded at all: every read path is mocked.
    let o = exec(
        &cs,
        &defaults("default"),
        &Analytics::default(),
        &Value::Null,
        t0(),
        Some(&mock),
    )
    .unwrap();
    assert_eq!(pc(&o), (Points::from_int(3), Some("Mocked")));
    // Without the mock the aggregate is missing: the node says so.
    let e = exec(
        &cs,
        &defaults("default"),
        &Analytics::default(),
        &Value::Null,
        t0(),
        None,
    )
    .unwrap_err()
    .error;
    assert_eq!(e.code, DslCode::FieldNotPrecomputed);
}

// ---------------------------------------------------------------- templates

#[test]
fn user_templates_ship_and_validate() {
    let t = templates::user_templates();
    assert_eq!(t.len(), templates::USER_TEMPLATE_FILES);
    let ids: Vec<&str> = t.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "bonus_extiende_default",
            "bonus_por_velocidad",
            "engagement_basico",
            "recompensa_completar_tarea"
        ]
    );
    for tpl in t {
        tpl.strategy().unwrap();
    }
    // The weekend bonus: 1.5 × the parent's points.
    let weekend = t[0].strategy().unwrap();
    let (a, now) = first_award();
    let o = exec(
        &weekend,
        &defaults("default"),
        &a,
        &json!({"is_weekend": true}),
        now,
        None,
    )
    .unwrap();
    assert_eq!(
        pc(&o),
        (Points::from_decimal(15, 1).unwrap(), Some("WeekendBonus"))
    );
}

#[test]
fn parity_twins_validate() {
    templates::parity_program(DEFAULT_V0_0_2).unwrap();
    templates::parity_program(CONSTANT_EFFORT_V0_0_1).unwrap();
    assert!(FieldPath::parse("user.recent_measurements_count").is_some());
}
