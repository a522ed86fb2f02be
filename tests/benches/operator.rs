//! Operator routes benchmark against DynamoDB Local (not a test: it prints numbers).
//!
//!   make stack-start && eval "$(infra/scripts/stack.sh env)"
//!   cargo bench -p game-tests --bench operator      # GAME_BENCH_AWARDS=2000 by default
//!
//! Seeds one tenant with awards over many users, then reports: DynamoDB requests and latency of
//! a 90-day and a 731-day dashboard summary (16 Query requests whatever the data), and the time
//! and size of each export format for every award.

use game_tests::{RequestCounter, TestApp, json};
use std::time::Instant;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

#[tokio::main]
async fn main() {
    let awards: usize = std::env::var("GAME_BENCH_AWARDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let counter = RequestCounter::default();
    let client = game_tests::dynamodb_client_with(counter.clone()).await;
    let app = std::sync::Arc::new(TestApp::with_client(client).await);
    let game_id = app.create_game("bench-game", json!({})).await;
    for task in ["walk", "run", "swim", "ride"] {
        app.create_task(&game_id, task, json!({})).await;
    }
    let started = Instant::now();
    let mut seeding = tokio::task::JoinSet::new();
    for worker in 0..8 {
        let (app, game_id) = (app.clone(), game_id.clone());
        seeding.spawn(async move {
            for i in (worker..awards).step_by(8) {
                let task = ["walk", "run", "swim", "ride"][i % 4];
                let response = app
                    .call(
                        "POST",
                        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
                        Some(json!({"externalUserId": format!("user-{:04}", i % 500)})),
                    )
                    .await;
                assert!(
                    response.status == 200 || response.status == 409,
                    "{}",
                    response.text
                );
            }
        });
    }
    seeding.join_all().await;
    println!(
        "seeded {awards} awards over 500 users in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    for (name, query) in [
        (
            "90-day summary",
            "start_date=2026-01-01&end_date=2026-03-31&group_by=day",
        ),
        (
            "731-day summary",
            "start_date=2025-01-01&end_date=2026-12-31&group_by=week",
        ),
    ] {
        let mut latencies = Vec::new();
        let mut requests = 0;
        for _ in 0..30 {
            counter.take();
            let at = Instant::now();
            let response = app
                .call("GET", &format!("/api/v1/dashboard/summary?{query}"), None)
                .await;
            latencies.push(at.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(response.status, 200, "{}", response.text);
            requests = counter.take().len();
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "{name}: {requests} DynamoDB requests, p50 {:.1} ms, p99 {:.1} ms",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99)
        );
    }
    for format in ["csv", "json", "xlsx"] {
        counter.take();
        let at = Instant::now();
        let response = app
            .call(
                "GET",
                &format!("/api/v1/exports/user-points?format={format}&limit=100000"),
                None,
            )
            .await;
        let ms = at.elapsed().as_secs_f64() * 1000.0;
        assert_eq!(response.status, 200, "{}", response.text);
        println!(
            "user-points export, {format}: {} rows, {} bytes, {:.0} ms, {} DynamoDB requests",
            response.headers["x-export-rows"].to_str().unwrap_or("?"),
            response.bytes.len(),
            ms,
            counter.take().len()
        );
    }
}
