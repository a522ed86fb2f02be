//! Leaderboards against DynamoDB Local: definitions and their validation, the award filling
//! every board in its own transaction, the reads (top-N with cursor, periods, rank, around-me,
//! standings), and the race of 200 concurrent awards for 50 users.

use game_tests::{RequestCounter, TestApp, TestResponse, json};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The stack's DynamoDB Local (100-item transactions: docs/local.md), counted when asked.
async fn full_transactions_client(counter: Option<RequestCounter>) -> aws_sdk_dynamodb::Client {
    let base = game_tests::dynamodb_client().await;
    match counter {
        Some(counter) => aws_sdk_dynamodb::Client::from_conf(
            base.config().to_builder().interceptor(counter).build(),
        ),
        None => base,
    }
}

async fn app_with(counter: Option<RequestCounter>) -> TestApp {
    TestApp::with_config(full_transactions_client(counter).await, |c| {
        c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled();
    })
    .await
}

fn boards_path(game_id: &str) -> String {
    format!("/api/v1/games/{game_id}/leaderboards")
}

async fn setup(app: &TestApp) -> String {
    let game_id = app.create_game("board-game", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    app.create_task(&game_id, "run", json!({})).await;
    game_id
}

async fn create_board(app: &TestApp, game_id: &str, body: Value) -> TestResponse {
    app.call("POST", &boards_path(game_id), Some(body)).await
}

async fn award(app: &TestApp, game_id: &str, task: &str, user: &str, key: &str) -> TestResponse {
    app.call_with_headers(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
        &[
            ("content-type", "application/json".to_owned()),
            ("x-api-key", app.api_key.clone()),
            ("idempotency-key", key.to_owned()),
        ],
        Some(json!({"externalUserId": user}).to_string().into_bytes()),
    )
    .await
}

/// An award that a well-behaved client retries on 409/503 (same key) until it goes through.
async fn award_ok(app: &TestApp, game_id: &str, task: &str, user: &str, key: &str) -> f64 {
    let response = app.award_until_committed(game_id, task, user, key).await;
    response.body["points"].as_f64().unwrap()
}

async fn get(app: &TestApp, path: &str) -> TestResponse {
    app.call("GET", path, None).await
}

fn no_violations(app: &TestApp) {
    assert!(
        app.access_violations.lock().unwrap().is_empty(),
        "{:?}",
        app.access_violations.lock().unwrap()
    );
}

#[tokio::test]
async fn boards_are_defined_validated_listed_changed_and_deleted() {
    let app = app_with(None).await;
    let game_id = setup(&app).await;
    let created = create_board(
        &app,
        &game_id,
        json!({"key": "weekly", "period": "weekly", "timeZone": "Europe/Madrid"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["tieBreak"], "first_reached");
    assert_eq!(created.body["metric"], "points");
    assert_eq!(created.body["maxEntries"], 100);
    assert!(
        created.body["currentPeriod"]
            .as_str()
            .unwrap()
            .contains("-W")
    );
    let id = created.body["id"].as_str().unwrap().to_owned();

    let list = get(&app, &boards_path(&game_id)).await;
    assert_eq!(list.status, 200);
    let keys: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["points", "weekly"]);
    assert_eq!(list.body["items"][0]["implicit"], true);

    let path = format!("{}/weekly", boards_path(&game_id));
    let patched = app
        .call(
            "PATCH",
            &path,
            Some(json!({"maxEntries": 10, "tieBreak": "shared"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.body["id"],
        id.as_str(),
        "display changes keep the entries"
    );
    let restarted = app
        .call(
            "PATCH",
            &path,
            Some(json!({"timeZone": "America/New_York"})),
        )
        .await;
    assert_ne!(restarted.body["id"], id.as_str(), "a new zone starts over");
    assert_eq!(get(&app, &path).await.body["timeZone"], "America/New_York");

    // Bad input: a stable code, nothing written.
    let baseline = app.item_count().await;
    for (body, code) in [
        (
            json!({"key": "z", "timeZone": "Mars/Olympus"}),
            "unknown_time_zone",
        ),
        (json!({"key": "z", "period": "hourly"}), "invalid_period"),
        (json!({"key": "z", "period": "custom"}), "invalid_period"),
        (json!({"key": "z", "maxEntries": 0}), "invalid_leaderboard"),
        (json!({"key": "standings"}), "invalid_leaderboard"),
        (
            json!({"key": "z", "tieBreak": "coin_flip"}),
            "invalid_leaderboard",
        ),
    ] {
        create_board(&app, &game_id, body)
            .await
            .assert_problem(422, code);
    }
    create_board(&app, &game_id, json!({"key": "weekly"}))
        .await
        .assert_problem(409, "leaderboard_exists");
    create_board(&app, &game_id, json!({"key": "points"}))
        .await
        .assert_problem(409, "leaderboard_exists");
    let implicit = format!("{}/points", boards_path(&game_id));
    app.call("PATCH", &implicit, Some(json!({"maxEntries": 3})))
        .await
        .assert_problem(409, "leaderboard_implicit");
    app.call("DELETE", &implicit, None)
        .await
        .assert_problem(409, "leaderboard_implicit");
    get(&app, &format!("{}/nope/entries", boards_path(&game_id)))
        .await
        .assert_problem(404, "leaderboard_not_found");
    get(
        &app,
        &format!("{}/points/entries?limit=0", boards_path(&game_id)),
    )
    .await
    .assert_problem(422, "invalid_limit");
    get(
        &app,
        &format!("{}/points/entries?limit=101", boards_path(&game_id)),
    )
    .await
    .assert_problem(422, "invalid_limit");
    get(
        &app,
        &format!("{}/weekly/entries?period=2026-13", boards_path(&game_id)),
    )
    .await
    .assert_problem(422, "invalid_period");
    get(
        &app,
        &format!("{}/points/entries?cursor=bm9wZQ", boards_path(&game_id)),
    )
    .await
    .assert_problem(400, "invalid_cursor");
    assert_eq!(app.item_count().await, baseline);

    let deleted = app.call("DELETE", &path, None).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    get(&app, &path)
        .await
        .assert_problem(404, "leaderboard_not_found");
    no_violations(&app);
}

#[tokio::test]
async fn an_award_fills_every_board_it_counts_for_in_its_one_transaction() {
    let counter = RequestCounter::default();
    let app = app_with(Some(counter.clone())).await;
    let game_id = setup(&app).await;
    for body in [
        json!({"key": "weekly", "period": "weekly", "timeZone": "Europe/Madrid"}),
        json!({"key": "count", "metric": "awards", "tieBreak": "shared"}),
        json!({"key": "walks", "metric": "awards", "externalTaskIds": ["walk"], "period": "daily"}),
    ] {
        assert_eq!(create_board(&app, &game_id, body).await.status, 201);
    }
    let mut points: HashMap<&str, f64> = HashMap::new();
    for (i, (task, user)) in [
        ("walk", "ana"),
        ("run", "bob"),
        ("walk", "bob"),
        ("run", "ana"),
    ]
    .into_iter()
    .enumerate()
    {
        counter.take();
        *points.entry(user).or_default() +=
            award_ok(&app, &game_id, task, user, &format!("k{i}")).await;
        // Three boards and the implicit one: still one read and one transaction.
        assert_eq!(counter.take(), ["BatchGetItem", "TransactWriteItems"]);
    }
    // Read right after the 200s: the boards hold every award.
    let top = get(&app, &format!("{}/count/entries", boards_path(&game_id))).await;
    assert_eq!(top.status, 200, "{}", top.text);
    assert_eq!(top.body["entrants"], 2);
    let entries = top.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(
        entries.iter().all(|e| e["score"] == 2 && e["rank"] == 1),
        "shared: {entries:?}"
    );
    let walks = get(&app, &format!("{}/walks/entries", boards_path(&game_id))).await;
    let walks = walks.body["entries"].as_array().unwrap().clone();
    assert_eq!(walks.len(), 2);
    assert_eq!(walks[0]["externalUserId"], "ana", "ana walked first");
    assert_eq!(walks[0]["score"], 1);
    let implicit = get(&app, &format!("{}/points/entries", boards_path(&game_id))).await;
    for entry in implicit.body["entries"].as_array().unwrap() {
        let user = entry["externalUserId"].as_str().unwrap();
        assert_eq!(entry["score"].as_f64().unwrap(), points[user]);
    }

    let standings = get(
        &app,
        &format!("{}/standings/users/ana", boards_path(&game_id)),
    )
    .await;
    assert_eq!(standings.status, 200, "{}", standings.text);
    let boards = standings.body["boards"].as_array().unwrap();
    assert_eq!(boards.len(), 4);
    assert!(
        boards
            .iter()
            .all(|b| b["rank"].is_i64() && b["entrants"] == 2)
    );
    let nobody = get(
        &app,
        &format!("{}/weekly/users/nobody", boards_path(&game_id)),
    )
    .await;
    assert_eq!(nobody.status, 200, "{}", nobody.text);
    assert_eq!(nobody.body["rank"], Value::Null);
    assert_eq!(nobody.body["entrants"], 2);

    // A simulated award and a replayed one change nothing.
    let before = get(&app, &format!("{}/count/entries", boards_path(&game_id))).await;
    let simulated = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/walk/points"),
            Some(json!({"externalUserId": "ana", "isSimulated": true})),
        )
        .await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let replay = award(&app, &game_id, "walk", "ana", "k0").await;
    assert_eq!(replay.status, 200);
    let after = get(&app, &format!("{}/count/entries", boards_path(&game_id))).await;
    assert_eq!(before.body, after.body);
    no_violations(&app);
}

fn board_keys(list: &TestResponse) -> Vec<String> {
    assert_eq!(list.status, 200, "{}", list.text);
    list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["key"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn boards_can_be_defined_in_the_game_create_and_patch_bodies() {
    let app = app_with(None).await;
    // A bad board refuses the whole game: nothing is written.
    let items = app.item_count().await;
    let bad = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "boarded", "platform": "web",
                "leaderboards": [{"key": "weekly", "period": "weekly", "timeZone": "Mars/Olympus"}]})),
        )
        .await;
    bad.assert_problem(422, "unknown_time_zone");
    let twice = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "boarded", "platform": "web",
                "leaderboards": [{"key": "weekly"}, {"key": "weekly", "metric": "awards"}]})),
        )
        .await;
    twice.assert_problem(409, "leaderboard_exists");
    assert_eq!(
        app.item_count().await,
        items,
        "refused creates wrote nothing"
    );

    let game_id = app
        .create_game(
            "boarded",
            json!({"leaderboards": [
                {"key": "weekly", "period": "weekly", "timeZone": "Europe/Madrid"},
                {"key": "count", "metric": "awards"}]}),
        )
        .await;
    let list = get(&app, &boards_path(&game_id)).await;
    assert_eq!(board_keys(&list), ["points", "weekly", "count"]);
    assert_eq!(list.body["items"][1]["timeZone"], "Europe/Madrid");

    let path = format!("/api/v1/games/{game_id}");
    let taken = app
        .call(
            "PATCH",
            &path,
            Some(json!({"leaderboards": [{"key": "count"}]})),
        )
        .await;
    taken.assert_problem(409, "leaderboard_exists");
    let patched = app
        .call(
            "PATCH",
            &path,
            Some(json!({"platform": "mobile", "leaderboards": [{"key": "daily", "period": "daily"}]})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let list = get(&app, &boards_path(&game_id)).await;
    assert_eq!(board_keys(&list), ["points", "weekly", "count", "daily"]);
    let game = get(&app, &path).await;
    assert_eq!(game.body["platform"], "mobile");
    assert_eq!(
        game.body["version"], 2,
        "one update: the refused patch changed nothing"
    );
    // Awards fill boards defined with the game like any other.
    app.create_task(&game_id, "walk", json!({})).await;
    award_ok(&app, &game_id, "walk", "ana", "w1").await;
    assert_eq!(
        standing(&app, &game_id, "count", "ana").await,
        (json!(1), json!(1))
    );
    no_violations(&app);
}

async fn reverse(app: &TestApp, award_id: &str, body: Value) -> TestResponse {
    let r = app
        .call(
            "POST",
            &format!("/api/v1/awards/{award_id}/reversal"),
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r
}

/// A user's (rank, score) on a board: the rank comes from the board's count tree, the score
/// from the user's entry.
async fn standing(app: &TestApp, game_id: &str, board: &str, user: &str) -> (Value, Value) {
    let r = get(
        app,
        &format!("{}/{board}/users/{user}", boards_path(game_id)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    (r.body["rank"].clone(), r.body["score"].clone())
}

async fn order(app: &TestApp, game_id: &str, board: &str) -> Vec<(String, Value)> {
    let r = get(app, &format!("{}/{board}/entries", boards_path(game_id))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["externalUserId"].as_str().unwrap().to_owned(),
                e["score"].clone(),
            )
        })
        .collect()
}

/// A score as the API writes it (whole numbers without a fraction).
fn num(x: f64) -> Value {
    if x.fract() == 0.0 {
        json!(x as i64)
    } else {
        json!(x)
    }
}

/// The board's order must be the ranks its count tree gives each user.
async fn assert_ranks_match_order(app: &TestApp, game_id: &str, board: &str) {
    let listed = order(app, game_id, board).await;
    for (i, (user, score)) in listed.iter().enumerate() {
        assert_eq!(
            standing(app, game_id, board, user).await,
            (json!(i + 1), score.clone()),
            "{board}: {listed:?}"
        );
    }
}

#[tokio::test]
async fn a_reversal_takes_its_points_back_from_exactly_the_boards_that_counted_the_award() {
    let app = app_with(None).await;
    // The paying task pays 10 for a user's first award, then 1; the bonus task 4, then 1.
    let game_id = app.paying_game(10).await;
    app.create_task(
        &game_id,
        "bonus",
        json!({"params": [{"key": "variable_basic_points", "value": 4}]}),
    )
    .await;
    for body in [
        json!({"key": "weekly", "period": "weekly", "timeZone": "Europe/Madrid"}),
        json!({"key": "count", "metric": "awards"}),
        json!({"key": "bonuses", "externalTaskIds": ["bonus"]}),
    ] {
        assert_eq!(create_board(&app, &game_id, body).await.status, 201);
    }
    let mut totals: HashMap<String, f64> = HashMap::new();
    let mut firsts: HashMap<String, (String, f64)> = HashMap::new();
    for (i, user) in ["ana", "bob", "ana", "carol", "bob", "ana"]
        .iter()
        .enumerate()
    {
        let r = award(&app, &game_id, "pay", user, &format!("p{i}")).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let points = r.body["points"].as_f64().unwrap();
        *totals.entry(user.to_string()).or_default() += points;
        firsts
            .entry(user.to_string())
            .or_insert((r.body["awardId"].as_str().unwrap().to_owned(), points));
    }
    // A board defined after these awards did not count them; ana's bonus counts on it.
    assert_eq!(
        create_board(&app, &game_id, json!({"key": "late"}))
            .await
            .status,
        201
    );
    let bonus = award_ok(&app, &game_id, "bonus", "ana", "b0").await;
    *totals.get_mut("ana").unwrap() += bonus;
    let (ana_first, ana_first_points) = firsts["ana"].clone();
    assert_eq!(ana_first_points, 10.0);
    let ana = totals["ana"];
    assert_eq!(standing(&app, &game_id, "points", "ana").await.1, num(ana));
    assert_eq!(standing(&app, &game_id, "count", "ana").await.1, json!(4));

    // Half of ana's first award: the points boards lose 5; it still counts as one award.
    reverse(&app, &ana_first, json!({"amount": 5})).await;
    for board in ["points", "weekly"] {
        assert_eq!(
            standing(&app, &game_id, board, "ana").await.1,
            num(ana - 5.0),
            "{board}"
        );
    }
    assert_eq!(standing(&app, &game_id, "count", "ana").await.1, json!(4));

    // The rest: ana has 10 points and an award less.
    reverse(&app, &ana_first, json!({})).await;
    totals.insert("ana".into(), ana - 10.0);
    let mut expected: Vec<(String, f64)> = totals.clone().into_iter().collect();
    expected.sort_by(|a, b| b.1.total_cmp(&a.1));
    assert!(
        expected.windows(2).all(|w| w[0].1 > w[1].1),
        "distinct scores: {expected:?}"
    );
    assert_eq!(
        order(&app, &game_id, "points").await,
        expected
            .iter()
            .map(|(user, score)| (user.clone(), num(*score)))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        standing(&app, &game_id, "weekly", "ana").await.1,
        num(ana - 10.0)
    );
    assert_eq!(
        standing(&app, &game_id, "count", "ana").await,
        (json!(1), json!(3))
    );
    // The boards that did not count the award are untouched.
    assert_eq!(
        standing(&app, &game_id, "bonuses", "ana").await,
        (json!(1), num(bonus))
    );
    assert_eq!(
        standing(&app, &game_id, "late", "ana").await,
        (json!(1), num(bonus))
    );

    // bob's first award reversed: on awards he ties carol (1) and reached it later, so
    // carol ranks above him.
    reverse(&app, &firsts["bob"].0, json!({})).await;
    assert_eq!(
        standing(&app, &game_id, "points", "bob").await.1,
        num(totals["bob"] - firsts["bob"].1)
    );
    assert_eq!(
        standing(&app, &game_id, "count", "carol").await,
        (json!(2), json!(1))
    );
    assert_eq!(
        standing(&app, &game_id, "count", "bob").await,
        (json!(3), json!(1))
    );
    for board in ["points", "weekly", "count"] {
        assert_ranks_match_order(&app, &game_id, board).await;
    }
    let top = get(&app, &format!("{}/points/entries", boards_path(&game_id))).await;
    assert_eq!(top.body["entrants"], 3, "a reversed entrant keeps an entry");
    no_violations(&app);
}

#[tokio::test]
async fn periods_past_and_present_and_the_entries_around_a_user() {
    let app = app_with(None).await;
    let game_id = setup(&app).await;
    create_board(
        &app,
        &game_id,
        json!({"key": "count", "metric": "awards", "period": "weekly", "timeZone": "Europe/Madrid"}),
    )
    .await;
    create_board(
        &app,
        &game_id,
        json!({"key": "shared", "metric": "awards", "tieBreak": "shared"}),
    )
    .await;
    // usr1 has 1 award, usr2 2, ... usr6 6; usr7 ties with usr6.
    let mut n = 0;
    for (user, awards) in [
        ("usr1", 1),
        ("usr2", 2),
        ("usr3", 3),
        ("usr4", 4),
        ("usr5", 5),
        ("usr6", 6),
        ("usr7", 6),
    ] {
        for _ in 0..awards {
            n += 1;
            award_ok(&app, &game_id, "walk", user, &format!("a{n}")).await;
        }
    }
    let base = boards_path(&game_id);
    let top = get(&app, &format!("{base}/count/entries?limit=3")).await;
    let current = top.body["periodKey"].as_str().unwrap().to_owned();
    let users: Vec<&str> = top.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["externalUserId"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["usr6", "usr7", "usr5"], "usr6 reached 6 first");
    let cursor = top.body["nextCursor"].as_str().unwrap();
    let next = get(
        &app,
        &format!("{base}/count/entries?limit=3&cursor={cursor}"),
    )
    .await;
    let ranks: Vec<i64> = next.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, [4, 5, 6]);
    // The same period by key and by an instant inside it; last year's week is empty.
    let now = game_functions::clock::now_rfc3339();
    let by_instant = get(&app, &format!("{base}/count/entries?limit=3&period={now}")).await;
    assert_eq!(by_instant.body["periodKey"], current.as_str());
    assert_eq!(by_instant.body["entries"], top.body["entries"]);
    let by_key = get(
        &app,
        &format!("{base}/count/entries?limit=3&period={current}"),
    )
    .await;
    assert_eq!(by_key.body["entries"], top.body["entries"]);
    let past = get(&app, &format!("{base}/count/entries?period=2025-W48")).await;
    assert_eq!(past.status, 200, "{}", past.text);
    assert_eq!(past.body["entrants"], 0);
    assert_eq!(past.body["periodStart"], "2025-11-23T23:00:00Z");
    let past_user = get(&app, &format!("{base}/count/users/usr3?period=2025-W48")).await;
    assert_eq!(past_user.body["rank"], Value::Null);

    let me = get(&app, &format!("{base}/count/users/usr3?around=2")).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["rank"], 5);
    assert_eq!(me.body["entrants"], 7);
    let around: Vec<(String, i64)> = me.body["around"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["externalUserId"].as_str().unwrap().to_owned(),
                e["rank"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        around,
        [
            ("usr5".into(), 3),
            ("usr4".into(), 4),
            ("usr3".into(), 5),
            ("usr2".into(), 6),
            ("usr1".into(), 7)
        ]
    );
    // Shared ties: usr6 and usr7 are both 1st; usr5 is 3rd ("1224").
    let shared = get(&app, &format!("{base}/shared/users/usr5?around=2")).await;
    assert_eq!(shared.body["rank"], 3);
    let ranks: Vec<i64> = shared.body["around"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["rank"].as_i64().unwrap())
        .collect();
    assert_eq!(ranks, [1, 1, 3, 4, 5]);
    let tied = get(&app, &format!("{base}/shared/users/usr7?around=1")).await;
    assert_eq!(tied.body["rank"], 1);
    no_violations(&app);
}

#[tokio::test]
async fn eighty_concurrent_awards_for_twenty_users_rank_exactly() {
    // Four awards per user, all at once: the board's count tree and every user's entry are
    // raced as with 200 awards for 50 users, in two fifths of the time.
    const USERS: usize = 20;
    let app = Arc::new(app_with(None).await);
    let game_id = setup(&app).await;
    create_board(
        &app,
        &game_id,
        json!({"key": "weekly", "period": "weekly", "timeZone": "Europe/Madrid"}),
    )
    .await;
    let mut handles = Vec::new();
    for i in 0..USERS * 4 {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            let user = format!("racer-{:02}", i % USERS);
            let points = award_ok(&app, &game_id, "walk", &user, &format!("race-{i}")).await;
            (user, points)
        }));
    }
    let mut expected: HashMap<String, f64> = HashMap::new();
    for handle in handles {
        let (user, points) = handle.await.unwrap();
        *expected.entry(user).or_default() += points;
    }
    for board in ["points", "weekly"] {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("{}/{board}/entries?limit=8", boards_path(&game_id));
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = get(&app, &path).await;
            assert_eq!(page.status, 200, "{}", page.text);
            assert_eq!(page.body["entrants"], USERS);
            entries.extend(page.body["entries"].as_array().unwrap().clone());
            match page.body["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(entries.len(), USERS);
        for (i, entry) in entries.iter().enumerate() {
            let user = entry["externalUserId"].as_str().unwrap();
            assert_eq!(entry["score"].as_f64().unwrap(), expected[user], "{user}");
            assert_eq!(entry["rank"], i as i64 + 1);
            if i > 0 {
                let prev = &entries[i - 1];
                let (a, b) = (
                    prev["score"].as_f64().unwrap(),
                    entry["score"].as_f64().unwrap(),
                );
                assert!(
                    a > b || (a == b && prev["reachedAt"].as_str() <= entry["reachedAt"].as_str())
                );
            }
        }
        // Every user's own rank agrees with the list.
        for (i, entry) in entries.iter().enumerate().step_by(7) {
            let user = entry["externalUserId"].as_str().unwrap();
            let me = get(
                &app,
                &format!("{}/{board}/users/{user}", boards_path(&game_id)),
            )
            .await;
            assert_eq!(me.body["rank"], i as i64 + 1, "{user} on {board}");
        }
    }
    no_violations(&app);
}

/// Writes a board of `n` entrants in the shape the award writes (entries, pointers, the count
/// tree) with BatchWriteItem, and the standings items of `measured` users.
async fn seed(app: &TestApp, game_id: &str, n: usize, measured: &[usize]) {
    use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
    use game_functions::domain::leaderboards as lb;
    use rust_decimal::Decimal;
    let tenant = app.tenant_id();
    let game: game_functions::ids::GameId = game_tests::id(game_id);
    let pk = game_functions::store::leaderboards::entries_pk(&tenant, &game, "points", "all");
    let mut requests = Vec::new();
    let mut tree: std::collections::BTreeMap<(u32, String), std::collections::BTreeMap<u8, i64>> =
        Default::default();
    let put = |item: HashMap<String, AttributeValue>| {
        WriteRequest::builder()
            .put_request(PutRequest::builder().set_item(Some(item)).build().unwrap())
            .build()
    };
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let num = |v: String| AttributeValue::N(v);
    for i in 0..n {
        let user = format!("bench-{i:06}");
        // Scores spread over 0..n/2 whole points: about two entrants share each score.
        let score = Decimal::from((i as u64).wrapping_mul(2_654_435_761) % (n as u64 / 2).max(1));
        let reached = 1_700_000_000_000_000 + i as i64;
        let sk = lb::entry_sk(score, reached, &user);
        let entry = |sk: String, entity: &str| {
            HashMap::from([
                ("PK".to_owned(), s(&pk)),
                ("SK".to_owned(), s(&sk)),
                ("entity".to_owned(), s(entity)),
                ("externalUserId".to_owned(), s(&user)),
                ("score".to_owned(), num(score.to_string())),
                ("reachedUs".to_owned(), num(reached.to_string())),
            ])
        };
        requests.push(put(entry(sk.clone(), "leaderboardEntry")));
        let mut pointer = entry(
            game_functions::store::leaderboards::pointer_sk(&user),
            "leaderboardPointer",
        );
        pointer.insert("entrySk".into(), s(&sk));
        requests.push(put(pointer));
        for m in lb::tree_moves(lb::shard(&user), None, lb::bucket(score)) {
            *tree
                .entry((m.shard, m.node))
                .or_default()
                .entry(m.digit)
                .or_default() += m.delta;
        }
        if measured.contains(&i) {
            let (upk, usk) = game_functions::store::leaderboards::standings_key(
                &tenant,
                &game_tests::id(&user),
                &game,
            );
            let standing = HashMap::from([
                ("id".to_owned(), s("points")),
                ("period".to_owned(), s("all")),
                ("score".to_owned(), num(score.to_string())),
                ("reachedUs".to_owned(), num(reached.to_string())),
            ]);
            requests.push(put(HashMap::from([
                ("PK".to_owned(), s(&upk)),
                ("SK".to_owned(), s(&usk)),
                ("version".to_owned(), num("1".into())),
                (
                    "boards".to_owned(),
                    AttributeValue::M(HashMap::from([(
                        "points".to_owned(),
                        AttributeValue::M(standing),
                    )])),
                ),
            ])));
        }
    }
    for ((shard, node), children) in tree {
        let mut item = HashMap::from([
            ("PK".to_owned(), s(&format!("{pk}#T{shard}"))),
            ("SK".to_owned(), s(&node)),
        ]);
        for (digit, count) in children {
            item.insert(format!("c{digit}"), num(count.to_string()));
        }
        requests.push(put(item));
    }
    app.ctx.store.write_all(requests).await.unwrap();
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The numbers of docs/benchmarks.md ("Leaderboards"): not a timed assertion. Run with
/// `cargo test -p game-tests --test integration -- --ignored leaderboards::bench --nocapture`.
#[tokio::test]
#[ignore]
async fn bench_reads_at_1000_and_100000_entrants() {
    for n in [1_000usize, 100_000] {
        let counter = RequestCounter::default();
        let app = TestApp::with_config(
            game_tests::dynamodb_client_with(counter.clone()).await,
            |c| c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled(),
        )
        .await;
        let game_id = app.create_game("bench-game", json!({})).await;
        // Not n / 2: (n / 2) * k mod (n / 2) is 0, the last score.
        let middle = n / 2 + 1;
        let started = std::time::Instant::now();
        seed(&app, &game_id, n, &[middle]).await;
        println!("n={n}: seeded in {:.1} s", started.elapsed().as_secs_f64());
        let base = boards_path(&game_id);
        let user = format!("bench-{middle:06}");
        for (name, path) in [
            ("top-100", format!("{base}/points/entries?limit=100")),
            ("my-rank", format!("{base}/points/users/{user}")),
            ("around-5", format!("{base}/points/users/{user}?around=5")),
        ] {
            let mut times = Vec::new();
            let mut requests = Vec::new();
            for _ in 0..60 {
                counter.take();
                let t = std::time::Instant::now();
                let response = get(&app, &path).await;
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                assert_eq!(response.status, 200, "{}", response.text);
                requests = counter.take();
            }
            times.sort_by(f64::total_cmp);
            let rank = get(&app, &format!("{base}/points/users/{user}")).await.body["rank"].clone();
            println!(
                "n={n} {name}: p50 {:.1} ms, p99 {:.1} ms, requests {} {:?} (rank of the middle user: {rank})",
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                requests.len(),
                requests
            );
        }
    }
}

#[tokio::test]
async fn a_closed_period_reports_its_final_top_once() {
    let app = app_with(None).await;
    let game_id = app.paying_game(10).await;
    let created = create_board(
        &app,
        &game_id,
        json!({"key": "daily", "period": "daily", "timeZone": "Europe/Madrid"}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let today = created.body["currentPeriod"].as_str().unwrap().to_owned();
    for (i, user) in ["ana", "bob", "ana"].iter().enumerate() {
        award_ok(&app, &game_id, "pay", user, &format!("d{i}")).await;
    }
    let close = |now: i64| {
        let app = &app;
        async move {
            game_functions::api::leaderboards::close_periods(app.ctx, now)
                .await
                .unwrap()
        }
    };
    let now = game_functions::clock::now_micros();
    // The board started today: yesterday has nothing to close.
    assert_eq!(close(now).await.closed, 0);
    // A day later, today is the period that ended: closed once, however often the closer runs.
    let tomorrow = now + 86_400_000_000;
    let first = close(tomorrow).await;
    assert_eq!((first.boards, first.closed), (1, 1));
    assert_eq!(close(tomorrow).await.closed, 0);

    let mut closed = app.outbox_events().await;
    closed.retain(|e| e.event_type == "leaderboard.period_closed");
    assert_eq!(closed.len(), 1, "{closed:?}");
    let data = &closed[0].data;
    assert_eq!(data["leaderboardId"], "daily");
    assert_eq!(data["period"], today.as_str());
    assert_eq!(data["entrants"], 2);
    assert_eq!(data["top"][0]["externalUserId"], "ana");
    assert_eq!(data["top"][0]["rank"], 1);
    assert_eq!(data["top"][1]["externalUserId"], "bob");
    assert_eq!(data["top"].as_array().unwrap().len(), 2);
    no_violations(&app);
}
