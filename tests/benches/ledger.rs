//! Ledger benchmark against DynamoDB Local (not a test: it prints numbers).
//!
//!   make stack-start && eval "$(infra/scripts/stack.sh env)"
//!   cargo bench -p game-tests --bench ledger
//!
//! Reports DynamoDB requests and latency of sequential transfers, reversals and spends, and
//! what contention on one wallet costs: N concurrent transfers between the same two users
//! against N concurrent adjustments of N different users (wall time, commits attempted per
//! success).

use game_tests::{RequestCounter, TestApp, json};
use std::sync::Arc;
use std::time::Instant;

const MEASURED: usize = 200;
const CONCURRENT: usize = 50;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[rank]
}

async fn post(app: &TestApp, path: &str, body: serde_json::Value, key: &str) -> u16 {
    app.call_with_headers(
        "POST",
        path,
        &[
            ("x-api-key", app.api_key.clone()),
            ("idempotency-key", key.to_owned()),
        ],
        Some(body.to_string().into_bytes()),
    )
    .await
    .status
}

async fn timed(
    app: &TestApp,
    counter: &RequestCounter,
    name: &str,
    call: impl Fn(usize) -> (String, serde_json::Value),
) {
    counter.take();
    let mut latencies = Vec::with_capacity(MEASURED);
    for i in 0..MEASURED {
        let (path, body) = call(i);
        let started = Instant::now();
        let status = post(app, &path, body, &format!("{name}-{i}")).await;
        assert_eq!(status, 200, "{name} {i}");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let requests = counter.take();
    latencies.sort_by(f64::total_cmp);
    let mut kinds = requests.clone();
    kinds.sort();
    kinds.dedup();
    println!(
        "{name:<10} requests/op {:.2} {kinds:?}  p50 {:.2} ms  p99 {:.2} ms",
        requests.len() as f64 / MEASURED as f64,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
}

/// `CONCURRENT` requests at once: wall time, successes, commits attempted per success.
async fn storm(
    app: &Arc<TestApp>,
    counter: &RequestCounter,
    name: &str,
    call: impl Fn(usize) -> (String, serde_json::Value),
) {
    counter.take();
    let started = Instant::now();
    let mut handles = Vec::new();
    for i in 0..CONCURRENT {
        let (path, body) = call(i);
        let app = app.clone();
        let key = format!("{name}-{i}");
        handles.push(tokio::spawn(
            async move { post(&app, &path, body, &key).await },
        ));
    }
    let mut ok = 0;
    for handle in handles {
        if handle.await.unwrap() == 200 {
            ok += 1;
        }
    }
    let wall = started.elapsed().as_secs_f64() * 1000.0;
    let commits = counter
        .take()
        .iter()
        .filter(|op| op.as_str() == "TransactWriteItems")
        .count();
    println!(
        "{name:<24} {CONCURRENT} at once: {ok} ok in {wall:.0} ms, {:.2} commits attempted per success",
        commits as f64 / ok.max(1) as f64
    );
}

#[tokio::main]
async fn main() {
    let counter = RequestCounter::default();
    let app = Arc::new(
        TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await,
    );
    let game_id = app.create_game("bench-ledger", json!({})).await;
    app.create_task(
        &game_id,
        "pay",
        json!({"params": [{"key": "variable_basic_points", "value": 1000}]}),
    )
    .await;
    let mut awards = Vec::new();
    for user in std::iter::once("ana".to_owned())
        .chain(std::iter::once("bob".to_owned()))
        .chain((0..CONCURRENT).map(|i| format!("user-{i}")))
    {
        let response = app
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/pay/points"),
                Some(json!({"externalUserId": user})),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        awards.push(response.body["awardId"].as_str().unwrap().to_owned());
    }
    let seed = |user: &str| {
        (
            format!("/api/v1/users/{user}/adjustments"),
            json!({"amount": 100000, "currency": "coins", "reason": "bench"}),
        )
    };
    for user in ["ana", "bob"] {
        let (path, body) = seed(user);
        assert_eq!(post(&app, &path, body, &format!("seed-{user}")).await, 200);
    }
    timed(&app, &counter, "transfer", |i| {
        let (from, to) = if i % 2 == 0 {
            ("ana", "bob")
        } else {
            ("bob", "ana")
        };
        (
            format!("/api/v1/users/{from}/transfers"),
            json!({"toExternalUserId": to, "amount": 1}),
        )
    })
    .await;
    let first = awards[0].clone();
    timed(&app, &counter, "reversal", move |_| {
        (
            format!("/api/v1/awards/{first}/reversal"),
            json!({"amount": 0.01}),
        )
    })
    .await;
    timed(&app, &counter, "spend", |_| {
        (
            "/api/v1/users/ana/spend".to_owned(),
            json!({"itemId": "sku", "price": 1}),
        )
    })
    .await;
    storm(&app, &counter, "transfers, one pair", |i| {
        let (from, to) = if i % 2 == 0 {
            ("ana", "bob")
        } else {
            ("bob", "ana")
        };
        (
            format!("/api/v1/users/{from}/transfers"),
            json!({"toExternalUserId": to, "amount": 1}),
        )
    })
    .await;
    storm(&app, &counter, "adjustments, 50 users", |i| {
        (
            format!("/api/v1/users/user-{i}/adjustments"),
            json!({"amount": 1, "reason": "bench"}),
        )
    })
    .await;
}
