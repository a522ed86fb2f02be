//! A slow, busy or failing dependency is never a 500: DynamoDB's retryable errors (throttling,
//! transaction conflicts, DynamoDB Local's lock time-outs, dispatch failures) answer 503 or 409
//! with Retry-After after a bounded retry; a stalled DynamoDB or Secrets Manager answers within
//! the configured time-outs instead of hanging the request or the cold start.

use game_functions::sdk::Timeouts;
use game_functions::store::keys;
use game_functions::{AppContext, Config};
use game_tests::faults::{self, Answer, FaultyDynamoDb, error_body};
use game_tests::{TestApp, TestResponse, json};
use lambda_http::http::Method;
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// A generous guard against hangs: a test that needs it has failed.
const HANG_GUARD: Duration = Duration::from_secs(60);

async fn award(app: &TestApp, game_id: &str, user: &str, key: &str) -> TestResponse {
    award_keyed(app, game_id, user, Some(key)).await
}

async fn award_keyed(app: &TestApp, game_id: &str, user: &str, key: Option<&str>) -> TestResponse {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-api-key", app.api_key.clone()),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key.to_owned()));
    }
    let body = json!({"externalUserId": user}).to_string().into_bytes();
    app.call_with_headers(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/race/points"),
        &headers,
        Some(body),
    )
    .await
}

fn points_of(response: &TestResponse) -> Decimal {
    response.body["points"]
        .to_string()
        .parse()
        .unwrap_or_else(|_| panic!("points in {}", response.text))
}

async fn wallet_points(app: &TestApp, user: &str) -> Decimal {
    let item = app
        .ctx
        .store
        .get(
            keys::user_pk(&app.tenant_id(), &game_tests::id(user)),
            keys::USER_SK,
        )
        .await
        .unwrap()
        .expect("the user exists");
    item["pointsBalance"].as_n().unwrap().parse().unwrap()
}

async fn ledger_entries(app: &TestApp, user: &str) -> usize {
    app.ctx
        .store
        .query_all(
            &keys::user_pk(&app.tenant_id(), &game_tests::id(user)),
            Some(keys::LEDGER_SK_PREFIX),
        )
        .await
        .unwrap()
        .len()
}

/// Asserts a retryable answer: 503 or 409 problem+json with a Retry-After of whole seconds.
#[track_caller]
fn assert_retryable(response: &TestResponse) {
    assert!(
        matches!(response.status, 409 | 503),
        "{}: {}",
        response.status,
        response.text
    );
    assert_eq!(response.content_type(), "application/problem+json");
    let retry_after = response
        .headers
        .get("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After on {}", response.text));
    let seconds: u64 = retry_after.to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
}

/// Many concurrent awards on one user and task against DynamoDB Local: they conflict on the
/// same items (DynamoDB Local answers lock time-outs where DynamoDB cancels with
/// TransactionConflict). Every answer is a success or a retryable 409/503, none is a 500, and
/// the wallet holds exactly what the successful answers awarded; clients that then retry with
/// the same key complete every award exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_awards_on_one_user_and_task_never_answer_500() {
    // 120, not 300: still a storm on one wallet item (106 of 120 refused with 409 in one run),
    // without the 300-award run's lock waits (over 8 minutes at 4 test threads, 30 at 6).
    const AWARDS: usize = 120;
    // As deployed: rate limits on.
    let app =
        Arc::new(TestApp::configured(|c| c.rate_limits = game_tests::generous_rate_limits()).await);
    let game_id = app
        .create_game("race", json!({"strategyId": "constantEffortStrategy"}))
        .await;
    app.create_task(&game_id, "race", json!({})).await;

    let mut storm = tokio::task::JoinSet::new();
    for i in 0..AWARDS {
        let (app, game_id) = (app.clone(), game_id.clone());
        storm.spawn(async move {
            let response = award(&app, &game_id, "racer", &format!("race-{i}")).await;
            (i, response)
        });
    }
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let mut succeeded = Decimal::ZERO;
    let mut successes = 0;
    let mut pending = Vec::new();
    let answers = tokio::time::timeout(HANG_GUARD * 5, storm.join_all())
        .await
        .expect("every award answered");
    for (i, response) in answers {
        let label = match response.status {
            200 | 201 => {
                succeeded += points_of(&response);
                successes += 1;
                response.status.to_string()
            }
            _ => {
                assert_retryable(&response);
                pending.push(i);
                format!(
                    "{} {}",
                    response.status,
                    response.body["code"].as_str().unwrap()
                )
            }
        };
        *outcomes.entry(label).or_default() += 1;
    }
    println!("{AWARDS} concurrent awards: {outcomes:?}");
    assert_eq!(outcomes.values().sum::<usize>(), AWARDS);
    assert!(successes > 0, "{outcomes:?}");
    assert_eq!(
        wallet_points(&app, "racer").await,
        succeeded,
        "the wallet holds what the successful answers awarded: {outcomes:?}"
    );
    assert_eq!(ledger_entries(&app, "racer").await, successes);

    // Well-behaved clients retry the others with their key until they go through.
    let mut total = succeeded;
    for i in pending {
        let mut attempts = 0;
        let response = loop {
            let response = award(&app, &game_id, "racer", &format!("race-{i}")).await;
            if response.status == 200 {
                break response;
            }
            assert_retryable(&response);
            attempts += 1;
            assert!(attempts < 50, "award {i} never went through");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        total += points_of(&response);
    }
    assert_eq!(wallet_points(&app, "racer").await, total);
    assert_eq!(ledger_entries(&app, "racer").await, AWARDS);
}

const LOCK_TIMEOUT: &str = "This action timed out because it too long waiting for a lock. This request will succeed in actual DynamoDB API";

/// An app whose DynamoDB is the production client (time-outs, retries) through a proxy that
/// injects errors, with a game, its task `race`, and the API key verified once (and trusted
/// for the rest of the test, so the key's lookup is not what the faults hit).
async fn faulty_app() -> (TestApp, Arc<FaultyDynamoDb>, String) {
    let proxy = FaultyDynamoDb::start().await;
    let client = faults::production_client(&proxy.endpoint(), &faults::generous_timeouts()).await;
    // Rate limits on, as deployed: their counter updates are among the calls that fail.
    let app = TestApp::with_config(client, |config| {
        config.api_key_cache_ttl = Duration::from_secs(3600);
        config.rate_limits = game_tests::generous_rate_limits();
    })
    .await;
    let game_id = app.create_game("faulty", json!({})).await;
    app.create_task(&game_id, "race", json!({})).await;
    (app, proxy, game_id)
}

/// The requests each fault is injected under: (operation that fails, what the client calls).
fn calls(game_id: &str) -> Vec<(&'static str, &'static str, String, Option<Value>)> {
    let award = format!("/api/v1/games/{game_id}/tasks/race/points");
    let body = Some(json!({"externalUserId": "victim"}));
    vec![
        ("GetItem", "GET", format!("/api/v1/games/{game_id}"), None),
        ("Query", "GET", "/api/v1/games".into(), None),
        (
            "TransactWriteItems",
            "POST",
            "/api/v1/games".into(),
            Some(json!({"externalGameId": "never-created", "platform": "web"})),
        ),
        ("UpdateItem", "POST", award.clone(), body.clone()),
        ("BatchGetItem", "POST", award.clone(), body.clone()),
        ("TransactWriteItems", "POST", award, body),
    ]
}

/// Throttling, capacity and request limits, conflicts with a transaction, DynamoDB Local's
/// lock time-outs, 5xx: on every operation a route makes, the answer is 503
/// `dependency_unavailable` with Retry-After (after the SDK's and our bounded retries), and
/// nothing is written.
#[tokio::test]
async fn retryable_dynamodb_errors_answer_503_with_retry_after() {
    let (app, proxy, game_id) = faulty_app().await;
    let baseline = app.item_count().await;
    let errors = [
        (
            "ThrottlingException",
            400,
            "Rate of requests exceeds the allowed throughput.",
        ),
        (
            "ProvisionedThroughputExceededException",
            400,
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        (
            "RequestLimitExceeded",
            400,
            "Throughput exceeds the current throughput limit for your account.",
        ),
        (
            "TransactionConflictException",
            400,
            "Transaction is ongoing for the item",
        ),
        (
            "TransactionInProgressException",
            400,
            "The transaction with the given request token is already in progress.",
        ),
        ("ValidationException", 400, LOCK_TIMEOUT),
        ("InternalServerError", 500, "Internal server error"),
        ("ServiceUnavailable", 503, "Service unavailable"),
    ];
    let mut checked = 0;
    for (error, status, message) in errors {
        for (operation, method, path, body) in calls(&game_id) {
            proxy.clear();
            proxy.fail(operation, usize::MAX, status, error_body(error, message));
            let response = app.call(method, &path, body).await;
            assert_eq!(
                response.status, 503,
                "{error} on {operation} ({method} {path}): {}",
                response.text
            );
            assert_eq!(
                response.body["code"], "dependency_unavailable",
                "{error} on {operation}"
            );
            response.assert_problem(503, "dependency_unavailable");
            assert_retryable(&response);
            checked += 1;
        }
    }
    proxy.clear();
    assert_eq!(checked, 8 * 6);
    assert_eq!(app.item_count().await, baseline, "nothing was written");
}

fn cancelled_by_conflict() -> Value {
    let mut body = error_body(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]",
    );
    // The first item (an award's idempotency record) is fine: a conflict there would mean
    // the same key in flight (409 request_in_flight).
    body["CancellationReasons"] = json!([
        {"Code": "None"},
        {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
    ]);
    body
}

/// A transaction cancelled by a conflicting one wrote nothing: it is retried with jitter; when
/// the conflicts do not stop, the award answers 409 `concurrent_award` and other writes 503,
/// both with Retry-After. A few conflicts cost nothing but time.
#[tokio::test]
async fn transaction_conflicts_are_retried_then_answer_409_or_503() {
    let (app, proxy, game_id) = faulty_app().await;
    let baseline = app.item_count().await;
    proxy.fail(
        "TransactWriteItems",
        usize::MAX,
        400,
        cancelled_by_conflict(),
    );
    let award = award_keyed(&app, &game_id, "conflicted", Some("c-1")).await;
    award.assert_problem(409, "concurrent_award");
    assert_retryable(&award);
    let game = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "conflicted", "platform": "web"})),
        )
        .await;
    game.assert_problem(503, "dependency_unavailable");
    assert_retryable(&game);
    proxy.clear();
    assert_eq!(app.item_count().await, baseline, "nothing was written");

    proxy.fail("TransactWriteItems", 2, 400, cancelled_by_conflict());
    let award = award_keyed(&app, &game_id, "conflicted", Some("c-1")).await;
    assert_eq!(award.status, 200, "{}", award.text);
    proxy.fail("TransactWriteItems", 2, 400, cancelled_by_conflict());
    let game = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "conflicted", "platform": "web"})),
        )
        .await;
    assert_eq!(game.status, 201, "{}", game.text);
    assert_eq!(ledger_entries(&app, "conflicted").await, 1);
}

/// A busy table (DynamoDB Local's lock time-outs, which the SDK does not retry; throttling,
/// which it does) for a moment: the write goes through, exactly once, even without a key.
#[tokio::test]
async fn a_few_busy_answers_are_retried_and_the_write_goes_through_once() {
    let (app, proxy, game_id) = faulty_app().await;
    proxy.fail(
        "TransactWriteItems",
        2,
        400,
        error_body("ValidationException", LOCK_TIMEOUT),
    );
    let first = award_keyed(&app, &game_id, "patient", None).await;
    assert_eq!(first.status, 200, "{}", first.text);
    proxy.fail(
        "UpdateItem",
        2,
        400,
        error_body("ThrottlingException", "Rate exceeded"),
    );
    proxy.fail(
        "BatchGetItem",
        1,
        400,
        error_body("ValidationException", LOCK_TIMEOUT),
    );
    let second = award_keyed(&app, &game_id, "patient", None).await;
    assert_eq!(second.status, 200, "{}", second.text);
    proxy.fail(
        "TransactWriteItems",
        3,
        400,
        error_body("ValidationException", LOCK_TIMEOUT),
    );
    let game = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "patient", "platform": "web"})),
        )
        .await;
    assert_eq!(game.status, 201, "{}", game.text);
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::SeqCst), 8);
    assert_eq!(
        ledger_entries(&app, "patient").await,
        2,
        "two awards, no more"
    );
}

/// DynamoDB committed the award but its answer was lost (and the SDK's retries got 500s):
/// with an idempotency key the award's own retry finds its stored answer and returns it (not
/// as a replay); without one, the client gets 503 and cannot know, which is why writes take
/// keys (docs/api.md).
#[tokio::test]
async fn a_commit_whose_answer_was_lost_is_found_by_the_keyed_retry() {
    let (app, proxy, game_id) = faulty_app().await;
    proxy.inject("TransactWriteItems", 3, Answer::LostAfterCommit);
    let first = award_keyed(&app, &game_id, "unlucky", Some("lost-1")).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(!first.headers.contains_key("idempotent-replayed"));
    proxy.clear();
    let replay = award_keyed(&app, &game_id, "unlucky", Some("lost-1")).await;
    assert_eq!(replay.status, 200, "{}", replay.text);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(replay.text, first.text);
    assert_eq!(ledger_entries(&app, "unlucky").await, 1);

    proxy.inject("TransactWriteItems", 3, Answer::LostAfterCommit);
    let unkeyed = award_keyed(&app, &game_id, "unlucky", None).await;
    unkeyed.assert_problem(503, "dependency_unavailable");
    assert_retryable(&unkeyed);
    proxy.clear();
    assert_eq!(
        ledger_entries(&app, "unlucky").await,
        2,
        "the unkeyed award was committed once, not retried into a second"
    );
}

/// A route called in-process on `ctx` (the dev API's path), with an API key.
async fn call_ctx(
    ctx: &'static AppContext,
    method: Method,
    path: &str,
    api_key: &str,
    body: Option<Value>,
) -> (u16, lambda_http::http::HeaderMap, Value) {
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("x-api-key", api_key.parse().unwrap());
    headers.insert("content-type", "application/json".parse().unwrap());
    let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let call = game_local::devapi::call(
        ctx,
        &method,
        path,
        None,
        &headers,
        &body,
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    );
    let response = tokio::time::timeout(HANG_GUARD, call)
        .await
        .expect("the request returned");
    let (parts, body) = response.into_parts();
    let body = match body {
        lambda_http::Body::Text(text) => serde_json::from_str(&text).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (parts.status.as_u16(), parts.headers, body)
}

fn short_timeouts() -> Timeouts {
    Timeouts {
        connect: Duration::from_millis(500),
        dynamodb_attempt: Duration::from_millis(300),
        dynamodb: Duration::from_millis(1000),
        secrets_attempt: Duration::from_millis(300),
        secrets: Duration::from_millis(1000),
    }
}

/// DynamoDB accepts connections and never answers: requests answer 503 `dependency_timeout`
/// with Retry-After once the configured time-outs expire, instead of hanging.
#[tokio::test]
async fn a_stalled_dynamodb_answers_503_dependency_timeout() {
    let app = TestApp::new().await;
    let stalled = faults::stalled_endpoint().await;
    let client = faults::production_client(&stalled, &short_timeouts()).await;
    let mut config = Config::for_table(&app.table);
    config.timeouts = short_timeouts();
    let ctx = AppContext::new(client, config, game_tests::test_secrets()).leak();
    let award = json!({"externalUserId": "waiting"});
    for (method, path, body) in [
        (Method::GET, "/api/v1/games".to_owned(), None),
        (
            Method::POST,
            format!("/api/v1/games/{}/tasks/walk/points", uuid_like()),
            Some(award),
        ),
    ] {
        let (status, headers, problem) = call_ctx(ctx, method, &path, &app.api_key, body).await;
        assert_eq!(status, 503, "{path}: {problem}");
        assert_eq!(problem["code"], "dependency_timeout", "{problem}");
        assert!(headers.contains_key("retry-after"), "{headers:?}");
    }
}

fn uuid_like() -> &'static str {
    "01900000-0000-7000-8000-000000000000"
}

/// A cold start whose Secrets Manager accepts the connection and never answers fails with an
/// error naming the secret and the time-out (the Lambda logs it as its init failure), instead
/// of hanging until the Lambda's own time-out.
#[tokio::test]
async fn a_cold_start_against_a_stalled_secrets_manager_fails_with_a_clear_error() {
    let stalled = faults::stalled_endpoint().await;
    let sdk_config = faults::sdk_config_for(&stalled).await;
    let mut config = Config::for_table("unused");
    config.secret_id = Some("game/stalled".into());
    config.timeouts = short_timeouts();
    let loaded = tokio::time::timeout(HANG_GUARD, AppContext::load(&sdk_config, config, true))
        .await
        .expect("the cold start returned");
    let Err(error) = loaded else {
        panic!("a context without its secret");
    };
    assert!(
        error.contains("secret game/stalled could not be read in time"),
        "{error}"
    );
    assert!(error.contains("GAME_SECRETS_TIMEOUT_MS"), "{error}");
}

/// The SDK retries an UpdateTimeToLive whose answer was lost; DynamoDB refuses the retry with
/// "TimeToLive is already enabled", and creating the table still succeeds, TTL on.
#[tokio::test]
async fn creating_a_table_survives_a_lost_ttl_answer() {
    let proxy = FaultyDynamoDb::start().await;
    let client = faults::production_client(&proxy.endpoint(), &faults::generous_timeouts()).await;
    proxy.inject("UpdateTimeToLive", 1, Answer::LostAfterCommit);
    let table = game_tests::unique("ttl");
    game_local::template::create_table(&client, &table)
        .await
        .expect("created despite the lost answer");
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ttl.time_to_live_description()
            .and_then(|d| d.time_to_live_status()),
        Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
    );
}
