//! Progression (issue 13) through the API: ladders, achievements and streaks decided by the
//! award and committed in its one transaction; races that must grant, level up and freeze once.

use game_functions::domain::progression::{STATS_SHARDS, Tz, period_of};
use game_functions::store::progression::{Event, UserState, user_key};
use game_functions::wire::progression::StreakPeriod;
use game_tests::{RequestCounter, TestApp};
use serde_json::{Value, json};
use std::sync::Arc;

async fn game(app: &TestApp, name: &str) -> String {
    let game_id = app.create_game(name, json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    app.create_task(&game_id, "run", json!({})).await;
    game_id
}

async fn put(app: &TestApp, path: &str, body: Value) -> Value {
    let r = app.call("PUT", path, Some(body)).await;
    assert_eq!(r.status, 200, "{path}: {}", r.text);
    r.body
}

async fn award(app: &TestApp, game_id: &str, task: &str, body: Value) -> game_tests::TestResponse {
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
        Some(body),
    )
    .await
}

async fn progression(app: &TestApp, game_id: &str, user: &str) -> Value {
    let r = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/{user}/progression"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body
}

fn ladder() -> Value {
    json!({"metric": "awards", "levels": [
        {"level": 1, "name": "Rookie", "threshold": 1},
        {"level": 2, "name": "Walker", "threshold": 2, "data": {"badge": "boots"}},
        {"level": 3, "name": "Explorer", "threshold": 4}]})
}

/// The progression events in the table.
async fn events(app: &TestApp) -> Vec<Event> {
    app.items()
        .await
        .into_iter()
        .filter(|item| {
            item.get("entity")
                .and_then(|e| e.as_s().ok())
                .map(String::as_str)
                == Some("progressionEvent")
        })
        .map(|item| game_functions::store::from_item(item).unwrap())
        .collect()
}

/// How many (level-ups, grants, freezes) the events record.
async fn recorded(app: &TestApp) -> (usize, usize, usize) {
    let events = events(app).await;
    (
        events.iter().filter(|e| e.level_up.is_some()).count(),
        events.iter().map(|e| e.grants.len()).sum(),
        events.iter().map(|e| e.freezes.len()).sum(),
    )
}

/// The outbox's event types in the table, but the games' and tasks' own.
async fn outbox_types(app: &TestApp) -> Vec<String> {
    let mut types: Vec<String> = app
        .outbox_events()
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|t| !t.starts_with("game.") && !t.starts_with("task."))
        .collect();
    types.sort();
    types
}

#[tokio::test]
async fn a_reversal_takes_its_points_off_the_level_and_the_best_level_is_not_crossed_twice() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(10).await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/levels"),
        json!({"metric": "points", "levels": [
            {"level": 1, "name": "Bronze", "threshold": 10},
            {"level": 2, "name": "Silver", "threshold": 11}]}),
    )
    .await;
    // The paying task pays 10 for its first awards, then 1: Bronze, then Silver.
    let first = app.pay(&game_id, "ana").await;
    assert_eq!(first.body["points"], 10, "{}", first.text);
    let second = app.pay(&game_id, "ana").await;
    assert_eq!(second.body["progression"]["level"], 2, "{}", second.text);
    let award_id = second.body["awardId"].as_str().unwrap();
    let reversal = app
        .call(
            "POST",
            &format!("/api/v1/awards/{award_id}/reversal"),
            Some(json!({"reason": "fraud"})),
        )
        .await;
    assert_eq!(reversal.status, 200, "{}", reversal.text);
    let view = progression(&app, &game_id, "ana").await;
    assert_eq!(view["points"], 10, "{view}");
    assert_eq!(view["level"]["level"], 1, "{view}");
    assert_eq!(
        view["awards"], 2,
        "the award happened: counts are not reversed"
    );
    // Silver again: the level, but no second crossing (the best level held is still 2).
    let third = app.pay(&game_id, "ana").await;
    assert_eq!(third.body["progression"]["level"], 2, "{}", third.text);
    assert_eq!(third.body["progression"]["levelUps"], json!([]));
    assert_eq!(recorded(&app).await.0, 2);
    assert_eq!(
        outbox_types(&app).await,
        [
            "award.created",
            "award.created",
            "award.created",
            "award.reversed",
            "level.reached",
            "level.reached"
        ]
    );
}

#[tokio::test]
async fn levels_follow_the_awards_and_each_crossing_is_recorded_once() {
    let app = TestApp::new().await;
    let game_id = game(&app, "ladder").await;
    let stored = put(&app, &format!("/api/v1/games/{game_id}/levels"), ladder()).await;
    assert_eq!(stored["levels"][1]["name"], "Walker");
    let first = award(&app, &game_id, "walk", json!({"externalUserId": "ana"})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["progression"]["level"], 1);
    assert_eq!(
        first.body["progression"]["levelUps"],
        json!([{"level": 1, "name": "Rookie"}])
    );
    let second = award(&app, &game_id, "run", json!({"externalUserId": "ana"})).await;
    assert_eq!(
        second.body["progression"]["levelUps"],
        json!([{"level": 2, "name": "Walker", "data": {"badge": "boots"}}])
    );
    let third = award(&app, &game_id, "walk", json!({"externalUserId": "ana"})).await;
    assert_eq!(third.body["progression"]["levelUps"], json!([]));
    assert_eq!(third.body["progression"]["level"], 2);
    let view = progression(&app, &game_id, "ana").await;
    assert_eq!(view["awards"], 3);
    assert_eq!(view["level"]["level"], 2);
    assert_eq!(view["level"]["nextLevel"], 3);
    assert_eq!(view["level"]["pointsToNext"], 1);
    assert_eq!(view["level"]["fraction"], 0.5);
    assert_eq!(recorded(&app).await, (2, 0, 0));
    let read = app
        .call("GET", &format!("/api/v1/games/{game_id}/levels"), None)
        .await;
    assert_eq!(read.body, stored);
}

#[tokio::test]
async fn bad_definitions_are_422_with_a_stable_code_and_nothing_is_written() {
    let app = TestApp::new().await;
    let game_id = game(&app, "bad-defs").await;
    let before = app.item_count().await;
    let cases = [
        (
            format!("/api/v1/games/{game_id}/levels"),
            json!({"levels": [{"level": 2, "name": "a", "threshold": 5}, {"level": 1, "name": "b", "threshold": 9}]}),
            "invalid_ladder",
        ),
        (
            format!("/api/v1/games/{game_id}/achievements/brave"),
            json!({"name": "Brave", "criteria": {"type": "predicate",
                "when": {"type": "field", "path": "user.nonsense"}}}),
            "invalid_achievement",
        ),
        (
            format!("/api/v1/games/{game_id}/achievements/x"),
            json!({"name": "Short key", "criteria": {"type": "points", "threshold": 1}}),
            "invalid_achievement",
        ),
        (
            format!("/api/v1/games/{game_id}/streak"),
            json!({"period": "daily", "timeZone": "Mars/Olympus"}),
            "invalid_time_zone",
        ),
        (
            format!("/api/v1/games/{game_id}/streak"),
            json!({"period": "daily", "freezeEvery": 0}),
            "invalid_streak_rule",
        ),
        (
            format!("/api/v1/games/{game_id}/levels"),
            json!({"levels": [], "extra": 1}),
            "invalid_body",
        ),
    ];
    for (path, body, code) in cases {
        let r = app.call("PUT", &path, Some(body)).await;
        r.assert_problem(422, code);
    }
    app.call("GET", &format!("/api/v1/games/{game_id}/levels"), None)
        .await
        .assert_problem(404, "ladder_not_found");
    award(
        &app,
        &game_id,
        "walk",
        json!({"externalUserId": "ana", "timeZone": "Nowhere/City"}),
    )
    .await
    .assert_problem(422, "invalid_time_zone");
    assert_eq!(app.item_count().await, before, "nothing was written");
}

#[tokio::test]
async fn twenty_concurrent_crossings_grant_and_level_up_once() {
    let app = Arc::new(TestApp::new().await);
    let game_id = game(&app, "race").await;
    put(&app, &format!("/api/v1/games/{game_id}/levels"), ladder()).await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/achievements/first-step"),
        json!({"name": "First step", "criteria": {"type": "awards", "threshold": 1}}),
    )
    .await;
    // Each award is a client that retries a retryable refusal (409 concurrent_award, 503
    // busy) with the same Idempotency-Key, as the API asks: all 20 must land exactly once. Twenty
    // crowd the one user's item as fifty did (the ladder tops out at 4 awards) in a fraction of
    // the time: each award waits out the ones before it.
    let mut handles = Vec::new();
    for i in 0..20 {
        let (app, game_id) = (app.clone(), game_id.clone());
        let task = if i % 2 == 0 { "walk" } else { "run" };
        handles.push(tokio::spawn(async move {
            let headers = [
                ("content-type", "application/json".to_owned()),
                ("x-api-key", app.api_key.clone()),
                ("idempotency-key", format!("race-{i}")),
            ];
            let body = json!({"externalUserId": "racer"}).to_string().into_bytes();
            for attempt in 0..20 {
                let r = app
                    .call_with_headers(
                        "POST",
                        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
                        &headers,
                        Some(body.clone()),
                    )
                    .await;
                match r.status {
                    200 => return r,
                    409 => r.assert_problem(409, "concurrent_award"),
                    503 => r.assert_problem(503, "dependency_unavailable"),
                    other => panic!("unexpected {other}: {}", r.text),
                }
                tokio::time::sleep(std::time::Duration::from_millis(20 * (attempt + 1))).await;
            }
            panic!("award {i} still refused after 20 attempts");
        }));
    }
    let (mut granted, mut rookie, mut ok) = (0, 0, 0);
    for handle in handles {
        let r = handle.await.unwrap();
        ok += 1;
        let block = &r.body["progression"];
        granted += block["achievements"].as_array().unwrap().len();
        rookie += block["levelUps"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|l| l["level"] == 1)
            .count();
    }
    assert_eq!(ok, 20);
    assert_eq!(granted, 1, "one answer carries the grant");
    assert_eq!(rookie, 1, "one answer carries level 1");
    assert_eq!(
        recorded(&app).await,
        (3, 1, 0),
        "one crossing per level (1, 2, 3), one grant"
    );
    let view = progression(&app, &game_id, "racer").await;
    assert_eq!(view["awards"], ok, "every committed award counted");
    assert_eq!(view["achievements"][0]["times"], 1);
    let stats = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/achievements/first-step/stats"),
            None,
        )
        .await;
    assert_eq!(
        stats.body,
        json!({"key": "first-step", "earned": 1, "users": 1, "share": 1.0})
    );
}

/// Seeds a user whose streak qualified two periods ago, holding one freeze.
async fn seed_streak(app: &TestApp, game_id: &str, user: &str, now_us: i64) {
    let today = period_of(now_us, Tz::UTC, StreakPeriod::Daily);
    let mut state = UserState {
        awards: 3,
        version: 1,
        ..UserState::default()
    };
    state.streak.length = 3;
    state.streak.longest = 3;
    state.streak.last = Some(today - 2);
    state.streak.freezes = 1;
    let tenant = app.tenant_id();
    let (pk, sk) = user_key(&tenant, &game_tests::id(user), &game_tests::id(game_id));
    let item =
        game_functions::store::to_item(&state, "progression", &[("PK", pk), ("SK", sk)]).unwrap();
    assert!(app.ctx.store.put_new(item).await.unwrap());
}

#[tokio::test]
async fn concurrent_awards_after_a_missed_day_use_one_freeze() {
    let app = Arc::new(TestApp::new().await);
    let game_id = game(&app, "freeze").await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/streak"),
        json!({"period": "daily", "timeZone": "UTC", "freezeCap": 2}),
    )
    .await;
    let now = game_functions::clock::now_micros();
    seed_streak(&app, &game_id, "sleeper", now).await;
    let mut handles = Vec::new();
    for _ in 0..20 {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            award(&app, &game_id, "walk", json!({"externalUserId": "sleeper"})).await
        }));
    }
    let mut used = Vec::new();
    for handle in handles {
        let r = handle.await.unwrap();
        if r.status == 409 {
            r.assert_problem(409, "concurrent_award");
            continue;
        }
        assert_eq!(r.status, 200, "{}", r.text);
        let streak = &r.body["progression"]["streak"];
        assert_eq!(streak["length"], 5, "3 + the frozen day + today");
        used.extend(
            streak["freezesUsed"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    assert_eq!(
        used.len(),
        1,
        "one freeze, for the one missed day: {used:?}"
    );
    assert_eq!(recorded(&app).await.2, 1);
    let view = progression(&app, &game_id, "sleeper").await;
    assert_eq!(view["streak"]["freezesHeld"], 0);
    assert_eq!(view["streak"]["current"], 5);
    assert_eq!(view["streak"]["history"].as_array().unwrap().len(), 2);
    assert_eq!(view["streak"]["history"][0]["status"], "frozen");
}

#[tokio::test]
async fn a_streak_reads_broken_once_the_freezes_cannot_cover_the_gap() {
    let app = TestApp::new().await;
    let game_id = game(&app, "broken").await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/streak"),
        json!({"period": "daily"}),
    )
    .await;
    // Last qualified four UTC days ago with one freeze: broken, in UTC and in Santiago too,
    // whose day lags UTC's by one in UTC's first hours (three days back there, still broken).
    let now = game_functions::clock::now_micros();
    seed_streak(&app, &game_id, "lazy", now - 2 * 86_400_000_000).await;
    let view = progression(&app, &game_id, "lazy").await;
    assert_eq!(
        view["streak"]["current"], 0,
        "three days back with one freeze is broken"
    );
    assert_eq!(view["streak"]["broken"], true);
    assert_eq!(view["streak"]["longest"], 3);
    let r = award(
        &app,
        &game_id,
        "walk",
        json!({"externalUserId": "lazy", "timeZone": "America/Santiago"}),
    )
    .await;
    assert_eq!(r.body["progression"]["streak"]["status"], "restarted");
    let view = progression(&app, &game_id, "lazy").await;
    assert_eq!(
        view["streak"]["timeZone"], "America/Santiago",
        "the award's zone is stored"
    );
    assert_eq!(view["streak"]["current"], 1);
}

#[tokio::test]
async fn predicates_simulations_and_replays() {
    let app = TestApp::new().await;
    let game_id = game(&app, "predicates").await;
    put(&app, &format!("/api/v1/games/{game_id}/levels"), ladder()).await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/achievements/marathon"),
        json!({"name": "Marathon", "criteria": {"type": "predicate", "when": {
            "type": "compare", "op": ">=", "left": {"type": "field", "path": "data.km"},
            "right": {"type": "literal", "value": 30}}}}),
    )
    .await;
    let path = format!("/api/v1/games/{game_id}/tasks/walk/points");
    let short = award(
        &app,
        &game_id,
        "walk",
        json!({"externalUserId": "ana", "data": {"km": 10}}),
    )
    .await;
    assert_eq!(short.status, 200, "{}", short.text);
    assert_eq!(short.body["progression"]["achievements"], json!([]));
    // A simulation reports what would happen and stores nothing.
    let before = app.item_count().await;
    let simulated = award(
        &app,
        &game_id,
        "walk",
        json!({"externalUserId": "ana", "isSimulated": true, "data": {"km": 42}}),
    )
    .await;
    assert_eq!(
        simulated.body["progression"]["achievements"][0]["key"],
        "marathon"
    );
    assert_eq!(simulated.body["progression"]["levelUps"][0]["level"], 2);
    assert_eq!(
        app.item_count().await,
        before,
        "a simulation persists nothing"
    );
    // The real award, then its replay: the same bytes.
    let headers = [
        ("content-type", "application/json".to_owned()),
        ("x-api-key", app.api_key.clone()),
        ("idempotency-key", "run-42".to_owned()),
    ];
    let body = json!({"externalUserId": "ana", "data": {"km": 42}}).to_string();
    let first = app
        .call_with_headers("POST", &path, &headers, Some(body.clone().into_bytes()))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.body["progression"]["achievements"][0]["key"],
        "marathon"
    );
    let replay = app
        .call_with_headers("POST", &path, &headers, Some(body.into_bytes()))
        .await;
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    assert_eq!(
        replay.text, first.text,
        "the original progression block, byte for byte"
    );
    assert_eq!(recorded(&app).await.1, 1);
}

#[tokio::test]
async fn admin_grants_and_revocations_are_entries_and_move_the_statistics() {
    let app = TestApp::new().await;
    let game_id = game(&app, "admin").await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/achievements/helper"),
        json!({"name": "Helper", "criteria": {"type": "level", "level": 9}}),
    )
    .await;
    let grant = format!("/api/v1/games/{game_id}/users/bob/achievements/helper/grant");
    let revoke = format!("/api/v1/games/{game_id}/users/bob/achievements/helper/revoke");
    app.call(
        "POST",
        &revoke,
        Some(json!({"reason": "nothing to revoke"})),
    )
    .await
    .assert_problem(409, "achievement_not_held");
    let granted = app
        .call("POST", &grant, Some(json!({"reason": "forum help"})))
        .await;
    assert_eq!(granted.status, 200, "{}", granted.text);
    assert_eq!(granted.body["times"], 1);
    let stats_path = format!("/api/v1/games/{game_id}/achievements/helper/stats");
    assert_eq!(app.call("GET", &stats_path, None).await.body["earned"], 1);
    let revoked = app
        .call("POST", &revoke, Some(json!({"reason": "mistake"})))
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(app.call("GET", &stats_path, None).await.body["earned"], 0);
    let view = progression(&app, &game_id, "bob").await;
    assert_eq!(view["achievements"][0]["revoked"], true);
    let history = events(&app).await;
    assert_eq!(history.len(), 2, "the grant stays; the revocation is new");
    assert!(history[1].grants[0].revoke && !history[0].grants[0].revoke);
    let client = app.mint_key(&app.tenant, "client").await;
    let r = app
        .call_as(
            Some(&client),
            "POST",
            &grant,
            Some(json!({"reason": "x"}).to_string().into_bytes()),
        )
        .await;
    r.assert_problem(403, "admin_required");
    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/games/{game_id}/achievements/helper"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(events(&app).await.len(), 2, "history stays");
    app.call("GET", &stats_path, None)
        .await
        .assert_problem(404, "achievement_not_found");
}

#[tokio::test]
async fn an_award_with_a_ladder_twenty_achievements_and_a_streak_is_one_read_and_one_transaction() {
    let counter = RequestCounter::default();
    let app = TestApp::with_config(
        game_tests::dynamodb_client_with(counter.clone()).await,
        |c| {
            c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled();
            // The key stays cached over the setup: the counted requests are the award's own.
            c.api_key_cache_ttl = std::time::Duration::from_secs(600);
        },
    )
    .await;
    let game_id = game(&app, "cost").await;
    put(&app, &format!("/api/v1/games/{game_id}/levels"), ladder()).await;
    for i in 0..20 {
        let criteria = match i % 4 {
            0 => json!({"type": "points", "threshold": i}),
            1 => json!({"type": "awards", "threshold": i, "tasks": ["walk"]}),
            2 => json!({"type": "distinctTasks", "threshold": 1}),
            _ => json!({"type": "predicate", "when": {"type": "compare", "op": ">",
                "left": {"type": "field", "path": "user.measurements_count"},
                "right": {"type": "literal", "value": i}}}),
        };
        put(
            &app,
            &format!("/api/v1/games/{game_id}/achievements/badge-{i}"),
            json!({"name": format!("Badge {i}"), "criteria": criteria}),
        )
        .await;
    }
    put(
        &app,
        &format!("/api/v1/games/{game_id}/streak"),
        json!({"period": "daily", "timeZone": "America/Santiago", "freezeEvery": 3}),
    )
    .await;
    for i in 0..3 {
        counter.take();
        let r = award(&app, &game_id, "walk", json!({"externalUserId": "counted"})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            counter.take(),
            ["BatchGetItem", "TransactWriteItems"],
            "award {i}"
        );
    }
    // Statistics are sharded; the read sums every shard in its one BatchGetItem.
    counter.take();
    let stats = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/achievements/badge-2/stats"),
            None,
        )
        .await;
    assert_eq!(stats.body["earned"], 1);
    assert_eq!(counter.take(), ["BatchGetItem"]);
    assert_eq!(STATS_SHARDS, 8);
}

#[tokio::test]
async fn custom_strategies_and_predicates_read_level_streak_and_achievements() {
    let app = TestApp::new().await;
    // Points: 10 × the level before the award, +5 while the user holds `first-step`, + the streak.
    let ast = json!({"type": "program", "default": {"type": "assign_points",
        "value": {"type": "arith", "op": "+",
            "left": {"type": "arith", "op": "*", "left": {"type": "field", "path": "user.level"},
                     "right": {"type": "literal", "value": 10}},
            "right": {"type": "field", "path": "user.streak_length"}},
        "case_name": "Adaptive"},
        "rules": [{"type": "rule", "when": {"type": "field", "path": "achievement.first-step"},
            "then": [{"type": "assign_points", "value": {"type": "literal", "value": 5},
                      "case_name": "Holder"}]}]});
    let created = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "adaptive", "astJson": ast})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let id = created.body["id"].as_str().unwrap();
    let published = app
        .call(
            "POST",
            &format!("/api/v1/strategies/custom/{id}/publish"),
            None,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let family = created.body["familyId"].as_str().unwrap();
    let game_id = app
        .create_game(
            "adaptive",
            json!({"strategyId": format!("custom:{family}")}),
        )
        .await;
    app.create_task(&game_id, "walk", json!({})).await;
    put(&app, &format!("/api/v1/games/{game_id}/levels"), ladder()).await;
    put(
        &app,
        &format!("/api/v1/games/{game_id}/streak"),
        json!({"period": "daily"}),
    )
    .await;
    // Granted when the award brings the user to level 2 (the predicate reads the new level).
    put(
        &app,
        &format!("/api/v1/games/{game_id}/achievements/first-step"),
        json!({"name": "Level two", "criteria": {"type": "predicate", "when": {"type": "compare",
            "op": ">=", "left": {"type": "field", "path": "user.level"},
            "right": {"type": "literal", "value": 2}}}}),
    )
    .await;
    let first = award(&app, &game_id, "walk", json!({"externalUserId": "ana"})).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(
        first.body["points"], 0,
        "level 0 and no streak before the first award"
    );
    let second = award(&app, &game_id, "walk", json!({"externalUserId": "ana"})).await;
    assert_eq!(
        second.body["points"], 11,
        "level 1 and a 1-day streak before it"
    );
    assert_eq!(
        second.body["progression"]["achievements"][0]["key"],
        "first-step"
    );
    let third = award(&app, &game_id, "walk", json!({"externalUserId": "ana"})).await;
    assert_eq!(third.body["caseName"], "Holder");
    assert_eq!(third.body["points"], 5);
    // The simulator reads the same progression and reports what the award would do.
    let before = app.item_count().await;
    let simulated = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(
                json!({"externalGameId": "adaptive", "externalTaskId": "walk",
                "externalUserId": "ana", "astJson": {"type": "program", "rules": [], "default": {
                    "type": "assign_points", "value": {"type": "field", "path": "user.level"},
                    "case_name": "Level"}}}),
            ),
        )
        .await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    assert_eq!(
        simulated.body["points"], 2,
        "level 2 before the fourth award"
    );
    assert_eq!(
        simulated.body["progression"]["levelUps"],
        json!([{"level": 3, "name": "Explorer"}])
    );
    assert_eq!(
        app.item_count().await,
        before,
        "a simulation persists nothing"
    );
}

/// The numbers of docs/benchmarks.md ("Progression"): sequential award latency on a plain game
/// and on one with a ladder, 20 achievements and a streak rule. Measures, asserts nothing timed:
/// `cargo test -p game-tests --test integration -- progression::measure --ignored --nocapture`.
#[tokio::test]
#[ignore]
async fn measure_award_latency_with_and_without_progression() {
    let app = TestApp::configured(|c| {
        c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled();
        c.api_key_cache_ttl = std::time::Duration::from_secs(600);
    })
    .await;
    let plain = game(&app, "bench-plain").await;
    let rich = game(&app, "bench-rich").await;
    let levels: Vec<Value> = (1..=20)
        .map(|l| json!({"level": l, "name": format!("L{l}"), "threshold": (l - 1) * 10}))
        .collect();
    put(
        &app,
        &format!("/api/v1/games/{rich}/levels"),
        json!({"levels": levels}),
    )
    .await;
    for i in 0..20 {
        let criteria = match i % 4 {
            0 => json!({"type": "points", "threshold": i * 10}),
            1 => json!({"type": "awards", "threshold": i, "tasks": ["walk"]}),
            2 => json!({"type": "distinctTasks", "threshold": 2}),
            _ => json!({"type": "predicate", "when": {"type": "compare", "op": ">",
                "left": {"type": "field", "path": "user.measurements_count"},
                "right": {"type": "literal", "value": i * 5}}}),
        };
        put(
            &app,
            &format!("/api/v1/games/{rich}/achievements/badge-{i}"),
            json!({"name": format!("Badge {i}"), "criteria": criteria}),
        )
        .await;
    }
    put(
        &app,
        &format!("/api/v1/games/{rich}/streak"),
        json!({"period": "daily", "timeZone": "America/Santiago", "freezeEvery": 7}),
    )
    .await;
    for (label, game_id) in [("plain", &plain), ("progression", &rich)] {
        let mut times = Vec::new();
        for _ in 0..200 {
            let started = std::time::Instant::now();
            let r = award(&app, game_id, "walk", json!({"externalUserId": "bench"})).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(r.status, 200, "{}", r.text);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{label}: p50 {:.2} ms, p99 {:.2} ms over {} awards",
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times.len()
        );
    }
}
