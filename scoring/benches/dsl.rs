//! Custom strategies: `cargo bench -p game-scoring --bench dsl`.
//! The target is a 100-node program evaluating in under 5 µs (docs/benchmarks.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use game_scoring::dsl::templates::{DEFAULT_V0_0_2, parity_program};
use game_scoring::dsl::{CustomStrategy, DslInput, DslKind, validate};
use game_scoring::time::days_from_civil;
use game_scoring::{Analytics, ScoreInput, Series, StrategyKind, UserTaskSeries, strategy};
use serde_json::{Value, json};

const S: i64 = 1_000_000;

fn now() -> i64 {
    days_from_civil(2026, 2, 10) * 86_400 * S + 34_200 * S
}

/// 16 rules that read analytics and data through arithmetic and do not match, then one that
/// assigns computed points: 1 + 16 × 6 + 6 = 103 nodes, all visited.
fn hundred_node_program() -> Value {
    let mut rules: Vec<Value> = (0..16)
        .map(|i| {
            let path = ["user.measurements_count", "task.measurements_count", "user.avg_time", "data.streak"][i % 4];
            json!({"type": "rule",
                   "when": {"type": "compare", "op": ">",
                            "left": {"type": "arith", "op": "*",
                                     "left": {"type": "field", "path": path},
                                     "right": {"type": "literal", "value": 2}},
                            "right": {"type": "literal", "value": 1_000_000 + i}},
                   "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "Never"}]})
        })
        .collect();
    rules.push(json!({"type": "rule",
        "when": {"type": "compare", "op": ">=", "left": {"type": "field", "path": "data.streak"},
                 "right": {"type": "literal", "value": 0}},
        "then": [{"type": "assign_points",
                  "value": {"type": "arith", "op": "+", "left": {"type": "field", "path": "data.streak"},
                            "right": {"type": "literal", "value": 2.5}},
                  "case_name": "Streak"}]}));
    json!({"type": "program", "rules": rules})
}

fn analytics() -> Analytics {
    let n = now();
    Analytics {
        task: Some(Series {
            count: 40,
            first_us: n - 4000 * S,
            last_us: n - 10 * S,
        }),
        user_task: Some(UserTaskSeries {
            series: Series {
                count: 12,
                first_us: n - 3000 * S,
                last_us: n - 20 * S,
            },
            prev_us: n - 200 * S,
            recent_us: vec![n - 20 * S, n - 200 * S],
        }),
        ..Analytics::default()
    }
}

fn bench(c: &mut Criterion) {
    let vars = strategy("default").unwrap().default_variables();
    let a = analytics();
    let data = json!({"streak": 4});
    let input = DslInput {
        score: ScoreInput {
            game_id: "game-1",
            task_id: "task-1",
            user_id: "user-1",
            data: &data,
            now_us: now(),
            variables: &vars,
            task_params: &[],
            analytics: &a,
            simulation_key: b"k",
            rng_seed: 0,
        },
        mock_state: None,
    };

    let ast = hundred_node_program();
    let cs = CustomStrategy::new(&ast, DslKind::Full).unwrap();
    let o = cs.run(&input, &|| false).unwrap();
    eprintln!(
        "100-node program: {} static nodes, {} visited, {} trace entries, {} {:?}",
        cs.validated().node_count(),
        o.nodes,
        o.trace.len(),
        o.points().unwrap(),
        o.case_name
    );
    let mut g = c.benchmark_group("dsl");
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("run_100_node_program", |b| {
        b.iter(|| black_box(cs.run(black_box(&input), &|| false)).is_ok())
    });
    g.bench_function("validate_100_node_program", |b| {
        b.iter(|| black_box(validate(black_box(&ast))).is_ok())
    });

    let twin = parity_program(DEFAULT_V0_0_2).unwrap();
    g.bench_function("run_default_v0_0_2_twin", |b| {
        b.iter(|| black_box(twin.run(black_box(&input), &|| false)).is_ok())
    });

    let ext = CustomStrategy::new(
        &json!({"type": "program", "rules": [], "post_rules": [{"type": "rule",
            "when": {"type": "field", "path": "data.streak"},
            "then": [{"type": "set_points", "value": {"type": "arith", "op": "*",
                      "left": {"type": "field", "path": "parent.points"}, "right": {"type": "literal", "value": 1.5}}}]}]}),
        DslKind::Extend(StrategyKind::Default),
    )
    .unwrap();
    g.bench_function("run_extend_default_with_post_rule", |b| {
        b.iter(|| black_box(ext.run(black_box(&input), &|| false)).is_ok())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
