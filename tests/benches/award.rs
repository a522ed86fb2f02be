//! Award benchmark against DynamoDB Local (not a test: it prints numbers).
//!
//!   make stack-start && eval "$(infra/scripts/stack.sh env)"
//!   cargo bench -p game-tests --bench award            # GAME_BENCH_HISTORY=10000 by default
//!
//! Reports DynamoDB requests per award (counted by an SDK interceptor), award latency p50/p99,
//! and the latency after a long history for one (user, task) against a short one.

use game_tests::{RequestCounter, TestApp, json};
use std::time::Instant;

const MEASURED: usize = 300;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

async fn award(app: &TestApp, game_id: &str, task: &str, user: &str, key: &str) {
    let response = app
        .call_with_headers(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
            &[
                ("x-api-key", app.api_key.clone()),
                ("idempotency-key", key.to_owned()),
            ],
            Some(json!({"externalUserId": user}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// Latencies in ms of `MEASURED` sequential awards for (task, user).
async fn measure(app: &TestApp, game_id: &str, task: &str, user: &str) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(MEASURED);
    for i in 0..MEASURED {
        let started = Instant::now();
        award(app, game_id, task, user, &format!("measure-{task}-{i}")).await;
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

#[tokio::main]
async fn main() {
    let history: usize = std::env::var("GAME_BENCH_HISTORY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let counter = RequestCounter::default();
    let app = TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await;
    let game_id = app
        .create_game("bench", json!({"strategyId": "constantEffortStrategy"}))
        .await;
    app.create_task(&game_id, "short", json!({})).await;
    app.create_task(&game_id, "long", json!({})).await;

    for i in 0..10 {
        award(
            &app,
            &game_id,
            "short",
            "bench-user",
            &format!("seed-short-{i}"),
        )
        .await;
    }
    let seeding = Instant::now();
    for i in 0..history {
        award(
            &app,
            &game_id,
            "long",
            "bench-user",
            &format!("seed-long-{i}"),
        )
        .await;
    }
    println!(
        "seeded {history} awards on (bench-user, long) in {:.1} s",
        seeding.elapsed().as_secs_f64()
    );

    counter.take();
    let short = measure(&app, &game_id, "short", "bench-user").await;
    let requests = counter.take();
    let long = measure(&app, &game_id, "long", "bench-user").await;
    let per_award = requests.len() as f64 / MEASURED as f64;
    let mut kinds = requests.clone();
    kinds.dedup();
    println!(
        "DynamoDB requests per award: {per_award:.2} ({} over {MEASURED} awards; operations {kinds:?})",
        requests.len()
    );
    println!(
        "after 10 prior awards:      p50 {:.2} ms  p99 {:.2} ms",
        percentile(&short, 0.5),
        percentile(&short, 0.99)
    );
    println!(
        "after {history} prior awards: p50 {:.2} ms  p99 {:.2} ms",
        percentile(&long, 0.5),
        percentile(&long, 0.99)
    );
    println!(
        "p50 ratio long/short: {:.3}",
        percentile(&long, 0.5) / percentile(&short, 0.5)
    );
}
