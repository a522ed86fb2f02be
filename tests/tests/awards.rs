//! The award write path against DynamoDB Local: scoring, one transaction, idempotency,
//! concurrency and failure injection.

use aws_sdk_dynamodb::config::interceptors::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use game_functions::store::keys;
use game_tests::id;
use game_tests::{RequestCounter, TestApp, TestResponse, json, operation_of};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

async fn setup(app: &TestApp, strategy: &str) -> String {
    let game_id = app
        .create_game("award-game", json!({"strategyId": strategy}))
        .await;
    app.create_task(&game_id, "walk", json!({})).await;
    game_id
}

fn points_path(game_id: &str) -> String {
    format!("/api/v1/games/{game_id}/tasks/walk/points")
}

async fn award_with(app: &TestApp, game_id: &str, body: Value, key: Option<&str>) -> TestResponse {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-api-key", app.api_key.clone()),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key.to_owned()));
    }
    app.call_with_headers(
        "POST",
        &points_path(game_id),
        &headers,
        Some(body.to_string().into_bytes()),
    )
    .await
}

/// (count, pointsTotal) of a user's aggregate on the task, straight from the table.
async fn user_task(app: &TestApp, game_id: &str, user: &str) -> Option<(u64, String)> {
    let item = app
        .ctx
        .store
        .get(
            keys::task_awards_pk(&app.tenant_id(), &id(game_id), &id("walk")),
            keys::user_task_sk(&id(user)),
        )
        .await
        .unwrap()?;
    Some((
        item["count"].as_n().unwrap().parse().unwrap(),
        item["pointsTotal"].as_n().unwrap().clone(),
    ))
}

async fn wallet(app: &TestApp, user: &str) -> Option<String> {
    let item = app
        .ctx
        .store
        .get(keys::user_pk(&app.tenant_id(), &id(user)), keys::USER_SK)
        .await
        .unwrap()?;
    Some(item["pointsBalance"].as_n().unwrap().clone())
}

async fn count_under(app: &TestApp, pk: String, prefix: &str) -> usize {
    app.ctx
        .store
        .query_all(&pk, Some(prefix))
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn awards_score_with_default_and_write_everything_once() {
    let app = TestApp::new().await;
    let game_id = setup(&app, "default").await;
    let first = award_with(&app, &game_id, json!({"externalUserId": "Ana_1"}), None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["points"], 1);
    assert_eq!(first.body["caseName"], "BasicEngagement");
    assert_eq!(first.body["isACreatedUser"], true);
    assert_eq!(first.body["gameId"], game_id);
    assert_eq!(first.body["externalTaskId"], "walk");
    assert!(first.body["awardId"].as_str().is_some());
    assert!(first.body["created_at"].as_str().unwrap().ends_with('Z'));

    let second = award_with(&app, &game_id, json!({"externalUserId": "Ana_1"}), None).await;
    assert_eq!(second.body["isACreatedUser"], false);
    assert_eq!(
        second.body["caseName"], "BasicEngagement",
        "one award on the task so far (< 2)"
    );
    let third = award_with(&app, &game_id, json!({"externalUserId": "Ana_1"}), None).await;
    assert_eq!(
        third.body["caseName"], "default",
        "two on the task, but the user's count 2 is not > 2"
    );
    assert_eq!(
        user_task(&app, &game_id, "Ana_1").await,
        Some((3, "3".into()))
    );
    assert_eq!(wallet(&app, "Ana_1").await.as_deref(), Some("3"));
    assert_eq!(
        count_under(
            &app,
            keys::user_pk(&app.tenant_id(), &id("Ana_1")),
            keys::LEDGER_SK_PREFIX
        )
        .await,
        3
    );
    assert_eq!(
        count_under(
            &app,
            keys::task_awards_pk(&app.tenant_id(), &id(&game_id), &id("walk")),
            keys::AWARD_SK_PREFIX
        )
        .await,
        3
    );
}

#[tokio::test]
async fn a_happy_award_costs_exactly_one_read_and_one_transaction() {
    let counter = RequestCounter::default();
    // The award itself; the rate-limit counters' cost is counted in tests/tests/rate_limits.rs.
    let app = TestApp::with_config(
        game_tests::dynamodb_client_with(counter.clone()).await,
        |c| c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled(),
    )
    .await;
    let game_id = setup(&app, "default").await;
    for i in 0..3 {
        counter.take();
        let response = award_with(
            &app,
            &game_id,
            json!({"externalUserId": "counted"}),
            Some(&format!("k{i}")),
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text);
        // The API key is cached since the setup's requests.
        assert_eq!(counter.take(), ["BatchGetItem", "TransactWriteItems"]);
    }
}

#[tokio::test]
async fn bad_requests_write_nothing() {
    let app = TestApp::new().await;
    let game_id = setup(&app, "greengageStrategy").await;
    let baseline = app.item_count().await;
    award_with(&app, &game_id, json!({"externalUserId": "no spaces"}), None)
        .await
        .assert_problem(422, "invalid_slug");
    award_with(&app, &game_id, json!({"externalUserId": "ab"}), None)
        .await
        .assert_problem(422, "invalid_slug");
    award_with(&app, &game_id, json!({"user": "x"}), None)
        .await
        .assert_problem(422, "invalid_body");
    award_with(
        &app,
        &game_id,
        json!({"externalUserId": "anna", "data": [1]}),
        None,
    )
    .await
    .assert_problem(422, "invalid_body");
    let rejected = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "anna", "data": {}}),
        None,
    )
    .await;
    rejected.assert_problem(422, "strategy_rejected");
    assert_eq!(
        rejected.body["detail"],
        "The \"minutes\" field is required into the data"
    );
    let negative = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "anna", "data": {"minutes": "5"}}),
        None,
    )
    .await;
    negative.assert_problem(422, "strategy_rejected");
    let long_key = "k".repeat(300);
    award_with(
        &app,
        &game_id,
        json!({"externalUserId": "anna", "data": {"minutes": 1}}),
        Some(&long_key),
    )
    .await
    .assert_problem(422, "invalid_idempotency_key");
    let malformed = app
        .call_as(
            Some(&app.api_key),
            "POST",
            &points_path(&game_id),
            Some(b"{".to_vec()),
        )
        .await;
    malformed.assert_problem(400, "malformed_json");
    app.call(
        "POST",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/tasks/walk/points",
        Some(json!({"externalUserId": "anna"})),
    )
    .await
    .assert_problem(404, "game_not_found");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/ghost/points"),
        Some(json!({"externalUserId": "anna"})),
    )
    .await
    .assert_problem(404, "task_not_found");
    let other = app.other_tenant_key().await;
    let theirs = app
        .call_as(
            Some(&other),
            "POST",
            &points_path(&game_id),
            Some(
                json!({"externalUserId": "anna", "data": {"minutes": 1}})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    theirs.assert_problem(404, "game_not_found");
    assert_eq!(
        app.item_count().await,
        baseline + 1,
        "only the other tenant's key was written"
    );
}

#[tokio::test]
async fn simulated_awards_answer_and_persist_nothing() {
    let app = TestApp::new().await;
    let game_id = setup(&app, "default").await;
    let baseline = app.item_count().await;
    let response = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "sim-user", "isSimulated": true}),
        Some("sim-1"),
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["points"], 1);
    assert_eq!(response.body["isSimulated"], true);
    assert_eq!(app.item_count().await, baseline);
}

#[tokio::test]
async fn fractional_points_are_stored_exactly() {
    let app = TestApp::new().await;
    let game_id = setup(&app, "greengageStrategy").await;
    // Personal average 15 over two awards, the game's average 20 (15, 15, 30).
    for (user, minutes) in [("ana", 15), ("ana", 15), ("bob", 30)] {
        let response = award_with(
            &app,
            &game_id,
            json!({"externalUserId": user, "data": {"minutes": minutes}}),
            None,
        )
        .await;
        assert_eq!(response.status, 200, "{}", response.text);
    }
    let before = wallet(&app, "ana").await.unwrap();
    let response = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "ana", "data": {"minutes": 16}}),
        None,
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["points"], 187.5);
    assert_eq!(response.body["caseName"], "Case 4.1 (PBP)");
    let before: f64 = before.parse().unwrap();
    let after = wallet(&app, "ana").await.unwrap();
    assert_eq!(
        after,
        format!("{}", before + 187.5),
        "the balance is the exact decimal sum"
    );
    assert!(after.ends_with(".5"));
}

#[tokio::test]
async fn replays_return_the_first_answer_byte_for_byte() {
    let app = TestApp::new().await;
    let game_id = setup(&app, "default").await;
    let body = json!({"externalUserId": "replayer", "data": {"note": "x"}});
    let first = award_with(&app, &game_id, body.clone(), Some("evt-123")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    let items = app.item_count().await;
    // Same key, same body (keys in another order): the stored answer, nothing written.
    let reordered =
        serde_json::from_str::<Value>(r#"{"data": {"note": "x"}, "externalUserId": "replayer"}"#)
            .unwrap();
    for _ in 0..2 {
        let replay = award_with(&app, &game_id, reordered.clone(), Some("evt-123")).await;
        assert_eq!(replay.status, 200);
        assert_eq!(replay.text, first.text);
        assert_eq!(replay.headers["idempotent-replayed"], "true");
    }
    assert_eq!(app.item_count().await, items);
    // GAME's header and body fields are keys too.
    let via_x_header = app
        .call_with_headers(
            "POST",
            &points_path(&game_id),
            &[
                ("x-api-key", app.api_key.clone()),
                ("x-idempotency-key", "evt-123".into()),
            ],
            Some(reordered.to_string().into_bytes()),
        )
        .await;
    assert_eq!(via_x_header.text, first.text);
    let in_body = json!({"externalUserId": "replayer", "data": {"eventId": "evt-9"}});
    let a = award_with(&app, &game_id, in_body.clone(), None).await;
    let b = award_with(&app, &game_id, in_body, None).await;
    assert_eq!(a.text, b.text);
    assert_eq!(b.headers["idempotent-replayed"], "true");
    // Same key, different body: 422 and nothing written.
    let items = app.item_count().await;
    award_with(
        &app,
        &game_id,
        json!({"externalUserId": "replayer", "data": {"note": "y"}}),
        Some("evt-123"),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.item_count().await, items);
    // The key is scoped to (game, task, user): another user with the same key is a new award.
    let other_user = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "someone", "data": {"note": "x"}}),
        Some("evt-123"),
    )
    .await;
    assert_eq!(other_user.status, 200);
    assert!(!other_user.headers.contains_key("idempotent-replayed"));
    assert_eq!(user_task(&app, &game_id, "replayer").await.unwrap().0, 2);
}

#[tokio::test]
async fn fifty_concurrent_duplicates_award_once() {
    let app = Arc::new(TestApp::new().await);
    let game_id = setup(&app, "default").await;
    let mut handles = Vec::new();
    for _ in 0..50 {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            award_with(
                &app,
                &game_id,
                json!({"externalUserId": "dup-user"}),
                Some("same-key"),
            )
            .await
        }));
    }
    let mut bodies = std::collections::HashSet::new();
    let mut in_flight = 0;
    for handle in handles {
        let response = handle.await.unwrap();
        match response.status {
            200 => {
                bodies.insert(response.text.clone());
            }
            409 => {
                response.assert_problem(409, "request_in_flight");
                assert_eq!(response.headers["retry-after"], "1");
                in_flight += 1;
            }
            other => panic!("unexpected {other}: {}", response.text),
        }
    }
    assert_eq!(bodies.len(), 1, "every 200 is the identical stored answer");
    assert!(in_flight < 50);
    assert_eq!(
        user_task(&app, &game_id, "dup-user").await.unwrap().0,
        1,
        "exactly one award"
    );
    assert_eq!(wallet(&app, "dup-user").await.as_deref(), Some("1"));
    assert_eq!(
        count_under(
            &app,
            keys::user_pk(&app.tenant_id(), &id("dup-user")),
            keys::LEDGER_SK_PREFIX
        )
        .await,
        1
    );
}

const WINDOW_MINUTES: i64 = 24 * 60;

#[tokio::test]
async fn forty_concurrent_awards_to_one_user_lose_nothing() {
    // Forty at once queue on the one user's items as a hundred did (each waits out the ones
    // before it), in two fifths of the time.
    const AWARDS: i64 = 40;
    let app = Arc::new(TestApp::new().await);
    // A day-long window instead of the default 5 minutes: on a busy machine the race outlasts
    // 5 minutes, and the expected sum below assumes every earlier award is inside the window.
    let game_id = app
        .create_game(
            "award-game",
            json!({"strategyId": "constantEffortStrategy", "params": [
                {"key": "variable_constant_effort_interval_minutes", "value": WINDOW_MINUTES}
            ]}),
        )
        .await;
    app.create_task(&game_id, "walk", json!({})).await;
    let mut handles = Vec::new();
    for i in 0..AWARDS {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            app.award_until_committed(&game_id, "walk", "busy-user", &format!("award-{i}"))
                .await
        }));
    }
    let mut total = rust_decimal::Decimal::ZERO;
    for handle in handles {
        let response = handle.await.unwrap();
        total += response.body["points"]
            .to_string()
            .parse::<rust_decimal::Decimal>()
            .unwrap();
    }
    let (count, points_total) = user_task(&app, &game_id, "busy-user").await.unwrap();
    assert_eq!(count, AWARDS as u64);
    assert_eq!(points_total, total.to_string());
    assert_eq!(wallet(&app, "busy-user").await.unwrap(), total.to_string());
    assert_eq!(
        count_under(
            &app,
            keys::user_pk(&app.tenant_id(), &id("busy-user")),
            keys::LEDGER_SK_PREFIX
        )
        .await,
        AWARDS as usize
    );
    assert_eq!(
        count_under(
            &app,
            keys::task_awards_pk(&app.tenant_id(), &id(&game_id), &id("walk")),
            keys::AWARD_SK_PREFIX
        )
        .await,
        AWARDS as usize
    );
    // constantEffort scores on exact state: each award saw exactly the awards before it (all in
    // its window), so the total is the scoring crate's sum over counts 0..AWARDS.
    let mut series = game_scoring::UserTaskSeries::default();
    let info = game_scoring::strategy("constantEffortStrategy").unwrap();
    let window = json!(WINDOW_MINUTES);
    let variables = game_scoring::resolve_variables(
        info,
        &[("variable_constant_effort_interval_minutes", &window)],
        &[],
    )
    .unwrap();
    let mut expected = rust_decimal::Decimal::ZERO;
    for i in 0..AWARDS {
        let now = 1_000_000_000 + i;
        let analytics = game_scoring::Analytics {
            user_task: Some(series.clone()),
            ..Default::default()
        };
        let outcome = game_scoring::score(
            "constantEffortStrategy",
            &game_scoring::ScoreInput {
                game_id: "g",
                task_id: "walk",
                user_id: "busy-user",
                data: &Value::Null,
                now_us: now,
                variables: &variables,
                task_params: &[],
                analytics: &analytics,
                simulation_key: b"",
                rng_seed: 0,
            },
        )
        .unwrap();
        expected += game_functions::decimal::from_points(outcome.points).unwrap();
        series.record(now);
    }
    assert_eq!(
        total, expected,
        "each award was scored on the exact state before it"
    );
}

/// Fails the next TransactWriteItems: before sending it, or after DynamoDB committed it.
#[derive(Debug, Default)]
struct FailTransaction {
    before_send: AtomicUsize,
    after_commit: AtomicUsize,
    armed: AtomicBool,
}

impl Intercept for FailTransaction {
    fn name(&self) -> &'static str {
        "FailTransaction"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if operation_of(context) != "TransactWriteItems" {
            return Ok(());
        }
        if self.before_send.load(Ordering::SeqCst) > 0 {
            self.before_send.fetch_sub(1, Ordering::SeqCst);
            return Err("injected: connection lost before the transaction was sent".into());
        }
        if self.after_commit.load(Ordering::SeqCst) > 0 {
            self.after_commit.fetch_sub(1, Ordering::SeqCst);
            self.armed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        _: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err("injected: the response was lost after the transaction committed".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failed_commit_writes_nothing_and_the_retry_completes_once() {
    let fault = Arc::new(FailTransaction::default());
    let app =
        TestApp::with_client(game_tests::dynamodb_client_with(SharedFault(fault.clone())).await)
            .await;
    let game_id = setup(&app, "default").await;
    let baseline = app.item_count().await;

    // The connection fails on the award's first attempt and both of its retries.
    fault.before_send.store(3, Ordering::SeqCst);
    let failed = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "flaky"}),
        Some("retry-me"),
    )
    .await;
    failed.assert_problem(503, "dependency_unavailable");
    assert!(failed.headers.contains_key("retry-after"));
    assert_eq!(
        app.item_count().await,
        baseline,
        "nothing of the award was written"
    );
    let retried = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "flaky"}),
        Some("retry-me"),
    )
    .await;
    assert_eq!(retried.status, 200, "{}", retried.text);
    assert!(!retried.headers.contains_key("idempotent-replayed"));

    // Committed, but the answer was lost: the award's own retry finds its stored answer
    // (its own, so not marked replayed), and a client's retry replays it, never awarding again.
    fault.after_commit.store(1, Ordering::SeqCst);
    let lost = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "flaky"}),
        Some("second"),
    )
    .await;
    assert_eq!(lost.status, 200, "{}", lost.text);
    assert!(!lost.headers.contains_key("idempotent-replayed"));
    let again = award_with(
        &app,
        &game_id,
        json!({"externalUserId": "flaky"}),
        Some("second"),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.text, lost.text);
    assert_eq!(
        user_task(&app, &game_id, "flaky").await.unwrap().0,
        2,
        "two keys, two awards, no more"
    );
    assert_eq!(
        count_under(
            &app,
            keys::user_pk(&app.tenant_id(), &id("flaky")),
            keys::LEDGER_SK_PREFIX
        )
        .await,
        2
    );
}

#[derive(Debug, Clone)]
struct SharedFault(Arc<FailTransaction>);

impl Intercept for SharedFault {
    fn name(&self) -> &'static str {
        "SharedFault"
    }
    fn read_before_transmit(
        &self,
        c: &BeforeTransmitInterceptorContextRef<'_>,
        r: &RuntimeComponents,
        b: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_before_transmit(c, r, b)
    }
    fn read_after_deserialization(
        &self,
        c: &AfterDeserializationInterceptorContextRef<'_>,
        r: &RuntimeComponents,
        b: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.0.read_after_deserialization(c, r, b)
    }
}

/// What a hot-task race did.
struct HotRace {
    seconds: f64,
    commits: usize,
    client_retries: std::collections::BTreeMap<String, usize>,
    /// Each award's time from its first attempt to its 200, sorted (ms).
    latencies_ms: Vec<f64>,
}

/// 300 awards by 300 users on one task, `concurrency` at a time, of a game with `shards`
/// hot-aggregate shards (None: the default): never a 500, every award exactly once (300 award
/// items, the task series counting 300 over its shards, the wallets what was answered).
/// Clients retry 409/503 with their idempotency key, as the answers' Retry-After asks.
async fn hot_task_race(shards: Option<u32>, concurrency: usize) -> HotRace {
    const USERS: usize = 300;
    let counter = RequestCounter::default();
    // As deployed: rate limits on (their counters are written by every award too).
    let app = Arc::new(
        TestApp::with_config(
            game_tests::dynamodb_client_with(counter.clone()).await,
            |c| c.rate_limits = game_tests::generous_rate_limits(),
        )
        .await,
    );
    let extra = shards.map_or(json!({}), |n| json!({"aggregateShards": n}));
    let game_id = app.create_game("hot", extra).await;
    app.create_task(&game_id, "hot", json!({})).await;
    counter.take();
    let started = std::time::Instant::now();
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut storm = tokio::task::JoinSet::new();
    for i in 0..USERS {
        let (app, game_id, permits) = (app.clone(), game_id.clone(), permits.clone());
        storm.spawn(async move {
            let _permit = permits.acquire_owned().await.unwrap();
            let first_try = std::time::Instant::now();
            let mut refusals = Vec::new();
            for attempt in 0..60u64 {
                let r =
                    award_keyed(&app, &game_id, &format!("user-{i}"), &format!("hot-{i}")).await;
                match r.status {
                    200 => return (r, refusals, first_try.elapsed().as_secs_f64() * 1000.0),
                    409 | 503 => {
                        refusals.push(format!("{} {}", r.status, r.body["code"]));
                        tokio::time::sleep(std::time::Duration::from_millis(10 * (attempt + 1)))
                            .await;
                    }
                    other => panic!("award {i}: unexpected {other}: {}", r.text),
                }
            }
            panic!("award {i} never went through: {refusals:?}");
        });
    }
    let answers = storm.join_all().await;
    let seconds = started.elapsed().as_secs_f64();
    let mut client_retries = std::collections::BTreeMap::<String, usize>::new();
    for (_, refusals, _) in &answers {
        for r in refusals {
            *client_retries.entry(r.clone()).or_default() += 1;
        }
    }
    let commits = counter
        .take()
        .iter()
        .filter(|op| *op == "TransactWriteItems")
        .count();
    assert_eq!(app.items_of("award").await.len(), USERS, "every award once");
    let series = series_counts(&app).await;
    assert_eq!(series.iter().sum::<u64>(), USERS as u64, "{series:?}");
    let expected_items = shards.unwrap_or(game_functions::store::games::Game::DEFAULT_SHARDS);
    assert_eq!(
        series.len(),
        expected_items as usize,
        "one series item per shard: {series:?}"
    );
    let paid: f64 = answers
        .iter()
        .map(|(r, _, _)| r.body["points"].as_f64().unwrap())
        .sum();
    let wallets = app.items_of("user").await;
    assert_eq!(wallets.len(), USERS);
    let held: f64 = wallets
        .iter()
        .map(|i| i["pointsBalance"].as_n().unwrap().parse::<f64>().unwrap())
        .sum();
    assert!(
        (paid - held).abs() < 1e-9,
        "wallets hold what was answered: {paid} vs {held}"
    );
    let mut latencies_ms: Vec<f64> = answers.iter().map(|(_, _, ms)| *ms).collect();
    latencies_ms.sort_by(f64::total_cmp);
    HotRace {
        seconds,
        commits,
        client_retries,
        latencies_ms,
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(label: &str, race: &HotRace) {
    eprintln!(
        "hot task, {label}: 300 users' awards in {:.2} s, p50 {:.1} ms, p99 {:.1} ms, {} commits ({} cancelled or failed), client retries {:?}",
        race.seconds,
        percentile(&race.latencies_ms, 0.5),
        percentile(&race.latencies_ms, 0.99),
        race.commits,
        race.commits - 300,
        race.client_retries
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hundred_users_on_one_task_award_exactly_once() {
    report(
        "default shards, 300 at once",
        &hot_task_race(None, 300).await,
    );
}

/// The contention figures of docs/benchmarks.md: 300 awards at 1, 50 and 300 at a time, the
/// hot aggregates on one item and on eight shards (`cargo test ... -- --ignored bench_hot_task
/// --nocapture`; `GAME_BENCH_SHARDS=8` runs one half alone).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark (six 300-award races): run on demand"]
async fn bench_hot_task_contention_one_and_eight_shards() {
    let halves: Vec<u32> = match std::env::var("GAME_BENCH_SHARDS") {
        Ok(shards) => vec![shards.parse().expect("GAME_BENCH_SHARDS is a shard count")],
        Err(_) => vec![1, 8],
    };
    for shards in halves {
        for concurrency in [1, 50, 300] {
            let label = format!("{shards} shard(s), {concurrency} at a time");
            report(&label, &hot_task_race(Some(shards), concurrency).await);
        }
    }
}

/// The award counts of the task-series items (one per shard that has awards).
async fn series_counts(app: &TestApp) -> Vec<u64> {
    app.items_of("taskSeries")
        .await
        .iter()
        .map(|i| i["count"].as_n().unwrap().parse().unwrap())
        .collect()
}

async fn award_keyed(app: &TestApp, game_id: &str, user: &str, key: &str) -> TestResponse {
    app.call_with_headers(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/hot/points"),
        &[
            ("content-type", "application/json".to_owned()),
            ("x-api-key", app.api_key.clone()),
            ("idempotency-key", key.to_owned()),
        ],
        Some(json!({"externalUserId": user}).to_string().into_bytes()),
    )
    .await
}

/// A game raises its shards without migration: counts already on shard 0 stay, new awards
/// spread, the merged series counts every award; the first award after the raise reads the
/// new shards in one more BatchGetItem, the next ones in the one batch; shards never shrink.
#[tokio::test]
async fn a_game_gains_shards_without_losing_counts_and_never_loses_shards() {
    let counter = RequestCounter::default();
    let app = TestApp::with_config(
        game_tests::dynamodb_client_with(counter.clone()).await,
        |c| c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled(),
    )
    .await;
    let game_id = app
        .create_game("growing", json!({"aggregateShards": 1}))
        .await;
    app.create_task(&game_id, "hot", json!({})).await;
    for i in 0..3 {
        assert_eq!(
            award_keyed(&app, &game_id, &format!("early{i}"), &format!("e{i}"))
                .await
                .status,
            200
        );
    }
    let path = format!("/api/v1/games/{game_id}");
    let raised = app
        .call("PATCH", &path, Some(json!({"aggregateShards": 4})))
        .await;
    assert_eq!(raised.status, 200, "{}", raised.text);
    assert_eq!(raised.body["aggregateShards"], 4);
    app.call("PATCH", &path, Some(json!({"aggregateShards": 2})))
        .await
        .assert_problem(422, "invalid_aggregate_shards");
    app.call("PATCH", &path, Some(json!({"aggregateShards": 17})))
        .await
        .assert_problem(422, "invalid_aggregate_shards");

    counter.take();
    assert_eq!(award_keyed(&app, &game_id, "late0", "l0").await.status, 200);
    assert_eq!(
        counter.take(),
        ["BatchGetItem", "BatchGetItem", "TransactWriteItems"],
        "this Lambda saw 1 shard: the other three are read once"
    );
    for i in 1..20 {
        assert_eq!(
            award_keyed(&app, &game_id, &format!("late{i}"), &format!("l{i}"))
                .await
                .status,
            200
        );
        assert_eq!(counter.take(), ["BatchGetItem", "TransactWriteItems"]);
    }
    let series = series_counts(&app).await;
    assert_eq!(series.iter().sum::<u64>(), 23, "{series:?}");
    assert!(series.len() > 1 && series.len() <= 4, "{series:?}");
}
