//! Rate limits through the award and action routes: GAME's numbers, headers, window roll-over
//! (on the app's injectable clock, no sleeping), refunds, source IPs, concurrency.

use game_functions::identity::rate_limit::{self, RateLimits};
use game_functions::store;
use game_tests::{RequestCounter, TestApp, TestResponse, json, unique};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Moves the app's clock to the start of a fresh window, so a burst never straddles two.
fn align_to_window(app: &TestApp) {
    let window = app.ctx.config.rate_limits.window.as_secs() as i64;
    let now = app.ctx.clock.now_secs();
    app.ctx.clock.advance(Duration::from_secs(
        (window - now.rem_euclid(window)) as u64,
    ));
}

async fn award(app: &TestApp, key: &str, game_id: &str, user: &str) -> TestResponse {
    app.call_as(
        Some(key),
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/walk/points"),
        Some(json!({"externalUserId": user}).to_string().into_bytes()),
    )
    .await
}

async fn action_from(
    app: &TestApp,
    ip: [u8; 4],
    user: &str,
    extra: &[(&str, String)],
) -> TestResponse {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-api-key", app.api_key.clone()),
    ];
    headers.extend(extra.iter().cloned());
    app.call_from(
        IpAddr::V4(Ipv4Addr::from(ip)),
        "POST",
        &format!("/api/v1/users/{user}/actions"),
        &headers,
        Some(
            json!({"typeAction": "click", "data": {}})
                .to_string()
                .into_bytes(),
        ),
    )
    .await
}

fn header<'r>(response: &'r TestResponse, name: &str) -> &'r str {
    response
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?}", response.headers))
        .to_str()
        .unwrap()
}

/// The value of the counter a scope uses for the app's tenant and key, now.
async fn counter(app: &TestApp, scope: &str, principal: &str, ip: &str, user: &str) -> Option<i64> {
    let scopes = rate_limit::scopes(
        &app.ctx.config.rate_limits,
        &app.tenant_id(),
        principal,
        ip,
        user,
        app.ctx.clock.now_secs(),
    );
    let scope = scopes.iter().find(|s| s.name == scope)?;
    let item = app
        .client
        .get_item()
        .table_name(&app.table)
        .set_key(Some(store::key(scope.pk.clone(), scope.sk.clone())))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item?;
    store::attrs::i64(&item, "count")
}

fn principal_of(key: &str) -> String {
    format!("key:{}", key.split_once('.').unwrap().0)
}

#[tokio::test]
async fn the_121st_award_in_a_window_is_429_with_headers_and_the_window_rolls_over() {
    // GAME's limits (120 per key, 60 per user, so the users vary) over a 10-minute window:
    // 120 awards on a loaded machine may take longer than GAME's 60 s, and the clock runs.
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            window: Duration::from_secs(600),
            ..RateLimits::default()
        }
    })
    .await;
    let game_id = app.create_game("limited", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    align_to_window(&app);
    for i in 0..120 {
        let response = award(&app, &app.api_key, &game_id, &format!("user-{}", i % 10)).await;
        assert_eq!(response.status, 200, "award {i}: {}", response.text);
    }
    let items_before = app.item_count().await;
    let refused = award(&app, &app.api_key, &game_id, "user-0").await;
    refused.assert_problem(429, "rate_limited");
    assert_eq!(refused.body["scope"], "apiKey");
    assert_eq!(
        refused.body["detail"],
        "API key rate limit exceeded for sensitive task operations."
    );
    assert_eq!(header(&refused, "ratelimit-limit"), "120");
    assert_eq!(header(&refused, "ratelimit-remaining"), "0");
    let reset: i64 = header(&refused, "ratelimit-reset").parse().unwrap();
    assert!((1..=600).contains(&reset), "reset {reset}");
    assert_eq!(header(&refused, "retry-after"), reset.to_string());
    assert_eq!(
        header(&refused, "ratelimit-policy"),
        "\"apiKey\";q=120;w=600, \"ip\";q=240;w=600, \"externalUserId\";q=60;w=600, \"apiKeyDaily\";q=10000;w=86400"
    );
    // The refused scope has nothing left; the refunded ones show what they had before.
    let pacing = header(&refused, "ratelimit");
    assert!(
        pacing.starts_with(&format!("\"apiKey\";r=0;t={reset}, \"ip\";r=120;t=")),
        "{pacing}"
    );
    assert_eq!(
        app.item_count().await,
        items_before,
        "a refused award writes nothing"
    );
    assert_eq!(
        counter(
            &app,
            "apiKey",
            &principal_of(&app.api_key),
            "127.0.0.1",
            "user-0"
        )
        .await,
        Some(120),
        "the refused request was not counted"
    );

    // Another key of the tenant has its own budget.
    let other_key = app.mint_key(&app.tenant, "client").await;
    assert_eq!(
        award(&app, &other_key, &game_id, "user-0").await.status,
        200
    );

    // The next window starts from zero.
    app.ctx.clock.advance(Duration::from_secs(reset as u64));
    let next = award(&app, &app.api_key, &game_id, "user-0").await;
    assert_eq!(next.status, 200, "{}", next.text);
}

/// Draft-10 `RateLimit` items: (scope, remaining, reset seconds).
fn pacing(response: &TestResponse) -> Vec<(String, u64, i64)> {
    header(response, "ratelimit")
        .split(", ")
        .map(|item| {
            let mut parts = item.split(';');
            let name = parts.next().unwrap().trim_matches('"').to_owned();
            let r = parts
                .next()
                .unwrap()
                .strip_prefix("r=")
                .unwrap()
                .parse()
                .unwrap();
            let t = parts
                .next()
                .unwrap()
                .strip_prefix("t=")
                .unwrap()
                .parse()
                .unwrap();
            (name, r, t)
        })
        .collect()
}

#[tokio::test]
async fn every_answer_of_a_limited_route_carries_the_pacing_fields() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            per_key: 50,
            per_ip: 40,
            per_user: 5,
            daily_per_key: 1000,
            ..RateLimits::default()
        }
    })
    .await;
    align_to_window(&app);
    let game_id = app.create_game("paced", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    let first = award(&app, &app.api_key, &game_id, "pacer").await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        header(&first, "ratelimit-policy"),
        "\"apiKey\";q=50;w=60, \"ip\";q=40;w=60, \"externalUserId\";q=5;w=60, \"apiKeyDaily\";q=1000;w=86400"
    );
    let remaining: Vec<(String, u64)> =
        pacing(&first).into_iter().map(|(n, r, _)| (n, r)).collect();
    assert_eq!(
        remaining,
        [
            ("apiKey", 49),
            ("ip", 39),
            ("externalUserId", 4),
            ("apiKeyDaily", 999)
        ]
        .map(|(n, r)| (n.to_owned(), r))
    );
    assert!(pacing(&first).iter().all(|(_, _, t)| *t >= 1));
    // A request that is charged and then fails (an unknown game) is paced too.
    let missing = award(
        &app,
        &app.api_key,
        "0b7e3c52-5d1e-4c8e-9a57-0f3f4ad6a001",
        "pacer",
    )
    .await;
    missing.assert_problem(404, "game_not_found");
    assert_eq!(
        pacing(&missing)[2],
        ("externalUserId".to_owned(), 3, pacing(&missing)[2].2)
    );
    // Actions are limited routes as well.
    let action = action_from(&app, [10, 0, 0, 9], "pacer", &[]).await;
    assert_eq!(action.status, 201, "{}", action.text);
    assert_eq!(pacing(&action)[2].1, 2);
    // Routes without limits say nothing about them.
    let listed = app.call("GET", "/api/v1/games", None).await;
    assert_eq!(listed.status, 200);
    assert!(listed.headers.get("ratelimit").is_none());
    assert!(listed.headers.get("ratelimit-policy").is_none());
}

#[tokio::test]
async fn a_refused_request_charges_no_scope_and_each_scope_has_its_message() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            per_key: 1000,
            per_ip: 1000,
            per_user: 2,
            daily_per_key: 1000,
            ..RateLimits::default()
        }
    })
    .await;
    align_to_window(&app);
    let user = unique("u");
    for _ in 0..2 {
        assert_eq!(
            action_from(&app, [10, 0, 0, 1], &user, &[]).await.status,
            201
        );
    }
    let refused = action_from(&app, [10, 0, 0, 1], &user, &[]).await;
    refused.assert_problem(429, "rate_limited");
    assert_eq!(refused.body["scope"], "externalUserId");
    assert_eq!(header(&refused, "ratelimit-limit"), "2");
    let principal = principal_of(&app.api_key);
    for scope in ["apiKey", "ip", "apiKeyDaily"] {
        assert_eq!(
            counter(&app, scope, &principal, "10.0.0.1", &user).await,
            Some(2),
            "{scope} was refunded"
        );
    }
    assert_eq!(
        counter(&app, "externalUserId", &principal, "10.0.0.1", &user).await,
        Some(2)
    );
    // Another user is not affected.
    assert_eq!(
        action_from(&app, [10, 0, 0, 1], &unique("u"), &[])
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn the_ip_is_api_gateways_source_ip_never_a_header() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            per_ip: 2,
            ..game_tests::generous_rate_limits()
        }
    })
    .await;
    align_to_window(&app);
    let spoof = [
        ("x-forwarded-for", "203.0.113.9".to_owned()),
        ("x-real-ip", "203.0.113.10".to_owned()),
    ];
    for _ in 0..2 {
        assert_eq!(
            action_from(&app, [10, 0, 0, 1], &unique("u"), &spoof)
                .await
                .status,
            201
        );
    }
    let refused = action_from(&app, [10, 0, 0, 1], &unique("u"), &spoof).await;
    refused.assert_problem(429, "rate_limited");
    assert_eq!(refused.body["scope"], "ip");
    assert_eq!(
        refused.body["detail"],
        "IP rate limit exceeded for sensitive task operations."
    );
    assert_eq!(
        action_from(&app, [10, 0, 0, 2], &unique("u"), &[])
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn concurrent_requests_never_pass_more_than_the_limit() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            per_key: 10,
            ..game_tests::generous_rate_limits()
        }
    })
    .await;
    align_to_window(&app);
    let app = &app;
    let responses: Vec<u16> = futures_util::future::join_all((0..30).map(|i| async move {
        action_from(app, [10, 0, 0, 1], &format!("user-{i}"), &[])
            .await
            .status
    }))
    .await;
    let count = |status: u16| responses.iter().filter(|s| **s == status).count();
    let passed = count(201);
    let charged = counter(app, "apiKey", &principal_of(&app.api_key), "10.0.0.1", "x")
        .await
        .unwrap_or(0) as usize;
    // The claim: never more than the limit, whatever the interleaving.
    assert!(passed <= 10, "{responses:?}");
    assert!(
        charged <= 10 && charged >= passed,
        "{charged}: {responses:?}"
    );
    assert_eq!(count(201) + count(429) + count(503), 30, "{responses:?}");
    // A loaded local table may answer some requests 503 (retryable; a refused charge is
    // refunded, a charged request whose write then failed keeps its charge). Without any,
    // exactly the limit passes.
    if count(503) == 0 {
        assert_eq!((passed, count(429), charged), (10, 20, 10), "{responses:?}");
    }
}

#[tokio::test]
async fn the_daily_quota_resets_at_utc_midnight() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            daily_per_key: 3,
            ..game_tests::generous_rate_limits()
        }
    })
    .await;
    // Mid-day, so the three requests fall into one day.
    let now = app.ctx.clock.now_secs();
    app.ctx.clock.advance(Duration::from_secs(
        (86_400 - now.rem_euclid(86_400) + 43_200) as u64,
    ));
    for _ in 0..3 {
        assert_eq!(
            action_from(&app, [10, 0, 0, 1], &unique("u"), &[])
                .await
                .status,
            201
        );
    }
    let refused = action_from(&app, [10, 0, 0, 1], &unique("u"), &[]).await;
    refused.assert_problem(429, "rate_limited");
    assert_eq!(refused.body["scope"], "apiKeyDaily");
    let reset: i64 = header(&refused, "retry-after").parse().unwrap();
    assert!(
        (43_000..=43_200).contains(&reset),
        "until midnight: {reset}"
    );
    app.ctx.clock.advance(Duration::from_secs(reset as u64));
    assert_eq!(
        action_from(&app, [10, 0, 0, 1], &unique("u"), &[])
            .await
            .status,
        201
    );
}

#[tokio::test]
async fn the_task_action_route_is_limited_too() {
    let app = TestApp::configured(|c| {
        c.rate_limits = RateLimits {
            per_user: 1,
            ..game_tests::generous_rate_limits()
        }
    })
    .await;
    align_to_window(&app);
    let game_id = app.create_game("actions", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    let path = format!("/api/v1/games/{game_id}/tasks/walk/action");
    let body = json!({"typeAction": "click", "data": {}, "externalUserId": "ana"});
    assert_eq!(
        app.call("POST", &path, Some(body.clone())).await.status,
        201
    );
    app.call("POST", &path, Some(body))
        .await
        .assert_problem(429, "rate_limited");
}

#[tokio::test]
async fn with_limits_an_award_costs_four_parallel_counter_updates_more() {
    let requests = RequestCounter::default();
    let app = TestApp::with_config(
        game_tests::dynamodb_client_with(requests.clone()).await,
        |c| c.rate_limits = game_tests::generous_rate_limits(),
    )
    .await;
    let game_id = app.create_game("counted", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    award(&app, &app.api_key, &game_id, "warm").await;
    requests.take();
    assert_eq!(award(&app, &app.api_key, &game_id, "ana").await.status, 200);
    let mut seen = requests.take();
    seen.sort();
    assert_eq!(
        seen,
        [
            "BatchGetItem",
            "TransactWriteItems",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem",
            "UpdateItem"
        ]
    );
}

#[tokio::test]
async fn with_limits_an_award_is_two_sequential_round_trips() {
    let trips = game_tests::RoundTrips::default();
    let app = TestApp::with_config(game_tests::dynamodb_client_with(trips.clone()).await, |c| {
        c.rate_limits = game_tests::generous_rate_limits()
    })
    .await;
    let game_id = app.create_game("tripped", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    award(&app, &app.api_key, &game_id, "warm").await;
    trips.take();
    assert_eq!(award(&app, &app.api_key, &game_id, "ana").await.status, 200);
    assert_eq!(
        trips.take(),
        [
            vec![
                "BatchGetItem",
                "UpdateItem",
                "UpdateItem",
                "UpdateItem",
                "UpdateItem"
            ],
            vec!["TransactWriteItems"]
        ],
        "the counters and the load in one round trip, then the commit"
    );
    // Refused: the counters' refunds follow, nothing is committed.
    let tight = TestApp::with_config(game_tests::dynamodb_client_with(trips.clone()).await, |c| {
        c.rate_limits = game_tests::generous_rate_limits();
        c.rate_limits.per_user = 1;
        // One window for both requests (windows are aligned to the epoch).
        c.rate_limits.window = std::time::Duration::from_secs(24 * 3600);
    })
    .await;
    let game_id = tight.create_game("tripped", json!({})).await;
    tight.create_task(&game_id, "walk", json!({})).await;
    assert_eq!(
        award(&tight, &tight.api_key, &game_id, "ana").await.status,
        200
    );
    trips.take();
    award(&tight, &tight.api_key, &game_id, "ana")
        .await
        .assert_problem(429, "rate_limited");
    let refused = trips.take();
    assert!(
        !refused
            .iter()
            .flatten()
            .any(|op| op == "TransactWriteItems"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn switched_off_there_are_no_counters() {
    let app = TestApp::configured(|c| c.rate_limits = RateLimits::disabled()).await;
    for _ in 0..3 {
        assert_eq!(
            action_from(&app, [10, 0, 0, 1], "ana", &[]).await.status,
            201
        );
    }
    let counters = app
        .items()
        .await
        .into_iter()
        .filter(|item| store::attrs::s(item, "entity") == Some("ratelimit"))
        .count();
    assert_eq!(counters, 0);
}

#[test]
fn scopes_follow_games_windows_and_skip_blank_values_and_zero_limits() {
    let limits = RateLimits {
        per_ip: 0,
        ..RateLimits::default()
    };
    let scopes = rate_limit::scopes(
        &limits,
        &game_tests::id("t"),
        "key:p",
        "10.0.0.1",
        "",
        1_000_000_123,
    );
    let names: Vec<&str> = scopes.iter().map(|s| s.name).collect();
    assert_eq!(names, ["apiKey", "apiKeyDaily"]);
    assert_eq!(scopes[0].window_end, 1_000_000_140);
    assert_eq!(scopes[0].sk, "60s#1000000080");
    assert_eq!(scopes[1].window_end, 1_000_080_000);
    assert!(scopes.iter().all(|s| s.pk.starts_with("T#t#RL#")));
}
