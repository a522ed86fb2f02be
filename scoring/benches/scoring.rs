//! ns per decision for each strategy: `cargo bench -p game-scoring`.
//! Each bench scores one award on its slowest realistic branch with pre-resolved variables
//! and a loaded snapshot (what the award route holds after its load step).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use game_scoring::greencrowd::{
    self, ControlGroup, DimStats, GreencrowdSnapshot, LastAward, SimulatedTask, TaskActivity,
};
use game_scoring::time::{days_from_civil, format_game_datetime};
use game_scoring::{
    Analytics, Grid, MinutesAgg, ScoreInput, Series, UserGame, UserTaskSeries, Variables,
    resolve_variables, score, strategy,
};
use serde_json::{Value, json};

const S: i64 = 1_000_000;
const KEY: &[u8] = b"bench-simulation-key-32-bytes!!!";

fn now() -> i64 {
    days_from_civil(2026, 2, 10) * 86_400 * S + 34_200 * S
}

fn input<'a>(
    vars: &'a Variables,
    analytics: &'a Analytics,
    data: &'a Value,
    task_params: &'a [(&'a str, &'a Value)],
    task_id: &'a str,
) -> ScoreInput<'a> {
    ScoreInput {
        game_id: "game-1",
        task_id,
        user_id: "user-1",
        data,
        now_us: now(),
        variables: vars,
        task_params,
        analytics,
        simulation_key: KEY,
        rng_seed: 7,
    }
}

fn bench_one(c: &mut Criterion, name: &str, id: &str, input: &ScoreInput<'_>) {
    // Sanity: the bench measures a successful decision, not an error path.
    let o = score(id, input).expect("bench input must score");
    eprintln!("{name}: {} {}", o.points, o.case_name);
    c.bench_function(name, |b| b.iter(|| score(black_box(id), black_box(input))));
}

fn strategies(c: &mut Criterion) {
    let n = now();
    let null = Value::Null;

    // default / socio_bee: past every early return (GlobalAdvantageAdjustment).
    let mut user = UserTaskSeries::default();
    for t in [n - 29 * S, n - 19 * S, n - 11 * S, n - 9 * S] {
        user.record(t);
    }
    let enhanced = Analytics {
        task: Some(Series {
            count: 50,
            first_us: n - 245 * S,
            last_us: n - S,
        }),
        user_task: Some(user),
        ..Analytics::default()
    };
    for id in ["default", "socio_bee"] {
        let vars = strategy(id).unwrap().default_variables();
        bench_one(c, id, id, &input(&vars, &enhanced, &null, &[], "t1"));
    }

    // constantEffort: 100 recent timestamps to count.
    let mut user = UserTaskSeries::default();
    for i in 0..100 {
        user.record(n - (400 - 3 * i) * S);
    }
    let ce = Analytics {
        user_task: Some(user),
        ..Analytics::default()
    };
    let vars = strategy("constantEffortStrategy")
        .unwrap()
        .default_variables();
    bench_one(
        c,
        "constantEffortStrategy",
        "constantEffortStrategy",
        &input(&vars, &ce, &null, &[], "t1"),
    );

    // greengage: Case 4.1 (PBP), fractional.
    let mut user = UserTaskSeries::default();
    user.record(n - 600 * S);
    let gg = Analytics {
        user_task: Some(user),
        user_game: Some(UserGame {
            count: 4,
            minutes: MinutesAgg {
                sum: 60.0,
                count: 4,
            },
        }),
        game_minutes: Some(MinutesAgg {
            sum: 200.0,
            count: 10,
        }),
        ..Analytics::default()
    };
    let data = json!({"minutes": 16});
    let vars = strategy("greengageStrategy").unwrap().default_variables();
    bench_one(
        c,
        "greengageStrategy",
        "greengageStrategy",
        &input(&vars, &gg, &data, &[], "t1"),
    );

    // Gi*: a 10×10 grid.
    let grid = Grid {
        rows: 10,
        cols: 10,
        values: (0..100).map(|i| f64::from((i * 37) % 11)).collect(),
    };
    let gi = Analytics {
        grid: Some(grid),
        ..Analytics::default()
    };
    let (r, col) = (json!(4), json!(6));
    let params = [("cellRow", &r), ("cellCol", &col)];
    let vars = strategy("getis_ord_gi_star").unwrap().default_variables();
    bench_one(
        c,
        "getis_ord_gi_star (10x10 grid)",
        "getis_ord_gi_star",
        &input(&vars, &gi, &null, &params, "t1"),
    );

    // greencrowd: 10 tasks; scoring a presented, valid simulation (HMAC verify), then
    // re-simulating (dynamic group) on an expired one, then a bare simulation.
    let today = days_from_civil(2026, 2, 10);
    let mut dims = [DimStats::default(); 5];
    for v in 0..20 {
        for d in dims.iter_mut() {
            d.record(v % 9);
        }
    }
    let snap = GreencrowdSnapshot {
        group: ControlGroup::DynamicCalculation,
        tasks: (0..10)
            .map(|i| TaskActivity {
                external_task_id: format!("task_poi{}_{i}", i % 3),
                slot_counts: [i, 2 * i, 1, 0],
            })
            .collect(),
        dims,
        user_series: Series {
            count: 12,
            first_us: n - 5 * 86_400 * S,
            last_us: n - 3600 * S,
        },
        user_days: vec![today - 4, today - 2, today - 1, today],
        user_last_award: Some(LastAward {
            external_task_id: "task_poi0_0".into(),
            at_us: n - 3600 * S,
        }),
        simulation_used: false,
    };
    let gc = Analytics {
        greencrowd: Some(snap.clone()),
        ..Analytics::default()
    };
    let vars = strategy("greencrowdStrategy").unwrap().default_variables();
    let sim = greencrowd::simulate("game-1", "user-1", n, &vars, &snap, 7, KEY).unwrap();
    let valid = sim.to_json();
    let mut expired_tasks: Vec<SimulatedTask> = sim.tasks.clone();
    for t in &mut expired_tasks {
        t.expiration_date = format_game_datetime(n - S);
    }
    let expired = json!({
        "simulationHash": greencrowd::sign(KEY, "game-1", "user-1", &expired_tasks).unwrap(),
        "tasks": expired_tasks.iter().map(SimulatedTask::to_json).collect::<Vec<_>>(),
    });
    bench_one(
        c,
        "greencrowdStrategy (valid simulation, 10 tasks)",
        "greencrowdStrategy",
        &input(&vars, &gc, &valid, &[], "task_poi1_4"),
    );
    bench_one(
        c,
        "greencrowdStrategy (expired: re-simulation, 10 tasks)",
        "greencrowdStrategy",
        &input(&vars, &gc, &expired, &[], "task_poi1_4"),
    );
    c.bench_function("greencrowd simulate (dynamic, 10 tasks)", |b| {
        b.iter(|| {
            greencrowd::simulate(
                black_box("game-1"),
                "user-1",
                n,
                &vars,
                black_box(&snap),
                7,
                KEY,
            )
        })
    });

    // Resolving variables from params (done once per award, before scoring).
    let info = strategy("default").unwrap();
    let (b, x) = (json!("5"), json!(20));
    let game_params = [("variable_basic_points", &b)];
    let task_params = [("bonus_points", &x)];
    c.bench_function("resolve_variables (default, 2 params)", |bn| {
        bn.iter(|| resolve_variables(black_box(info), &game_params, &task_params))
    });
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! { name = benches; config = config(); targets = strategies }
criterion_main!(benches);
