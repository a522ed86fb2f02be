//! Read models against a scenario with known totals, and the action log.

use game_tests::{RequestCounter, TestApp, json};

/// t1: ana 10 + 10 + 1 (3 awards), bob 1; t2: ana 10. (default strategy, basic points 10)
async fn scenario(app: &TestApp) -> String {
    let game_id = app
        .create_game(
            "scores",
            json!({"params": [{"key": "variable_basic_points", "value": 10}]}),
        )
        .await;
    app.create_task(&game_id, "t1", json!({})).await;
    app.create_task(&game_id, "t2", json!({})).await;
    app.create_task(&game_id, "t3", json!({})).await;
    for (task, user, expected) in [
        ("t1", "ana", 10),
        ("t1", "ana", 10),
        ("t1", "bob", 1),
        ("t1", "ana", 1),
        ("t2", "ana", 10),
    ] {
        let response = app
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
                Some(json!({"externalUserId": user, "data": {"n": 1}})),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.body["points"], expected, "{task} {user}");
    }
    game_id
}

#[tokio::test]
async fn game_and_task_totals() {
    let app = TestApp::new().await;
    let game_id = scenario(&app).await;
    let game = app
        .call("GET", &format!("/api/v1/games/{game_id}/points"), None)
        .await;
    assert_eq!(game.status, 200, "{}", game.text);
    assert_eq!(game.body["externalGameId"], "scores");
    assert_eq!(
        game.body["task"],
        json!([
            {"externalTaskId": "t1", "points": [
                {"externalUserId": "ana", "points": 21, "timesAwarded": 3},
                {"externalUserId": "bob", "points": 1, "timesAwarded": 1}]},
            {"externalTaskId": "t2", "points": [{"externalUserId": "ana", "points": 10, "timesAwarded": 1}]},
            {"externalTaskId": "t3", "points": []}
        ])
    );
    let details = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/points/details"),
            None,
        )
        .await;
    let ana = &details.body["task"][0]["points"][0];
    let data: Vec<_> = ana["pointsData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["points"].clone(), p["caseName"].clone()))
        .collect();
    assert_eq!(
        data,
        [
            (json!(10), json!("BasicEngagement")),
            (json!(10), json!("BasicEngagement")),
            (json!(1), json!("default"))
        ]
    );
    assert!(ana["pointsData"][0]["created_at"].as_str().is_some());

    let task = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/t1/points"),
            None,
        )
        .await;
    assert_eq!(
        task.body,
        json!([
        {"externalUserId": "ana", "points": 21, "timesAwarded": 3},
        {"externalUserId": "bob", "points": 1, "timesAwarded": 1}])
    );
    let task_details = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/t1/points/details"),
            None,
        )
        .await;
    let bob = &task_details.body[1];
    assert_eq!(bob["pointsData"][0]["data"], json!({"n": 1}));
    assert_eq!(
        bob["pointsData"][0]["description"],
        "Points assigned by GAME"
    );

    let one = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/t1/users/bob/points"),
            None,
        )
        .await;
    assert_eq!(
        one.body,
        json!({"externalUserId": "bob", "points": 1, "timesAwarded": 1})
    );
    app.call(
        "GET",
        &format!("/api/v1/games/{game_id}/tasks/t2/users/bob/points"),
        None,
    )
    .await
    .assert_problem(404, "user_not_found");
    app.call(
        "GET",
        &format!("/api/v1/games/{game_id}/tasks/nope/points"),
        None,
    )
    .await
    .assert_problem(404, "task_not_found");
    app.call(
        "GET",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/points",
        None,
    )
    .await
    .assert_problem(404, "game_not_found");

    let per_user = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/ana/points"),
            None,
        )
        .await;
    assert_eq!(
        per_user.body,
        json!([
        {"externalUserId": "ana", "externalTaskId": "t1", "points": 21, "timesAwarded": 3},
        {"externalUserId": "ana", "externalTaskId": "t2", "points": 10, "timesAwarded": 1}])
    );
    app.call(
        "GET",
        &format!("/api/v1/games/{game_id}/users/zed/points"),
        None,
    )
    .await
    .assert_problem(404, "user_not_found");

    let users = app
        .call("GET", &format!("/api/v1/games/{game_id}/users"), None)
        .await;
    assert_eq!(users.body["gameId"], game_id);
    let t1_users: Vec<_> = users.body["tasks"][0]["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["externalUserId"].clone())
        .collect();
    assert_eq!(t1_users, [json!("ana"), json!("bob")]);
    assert!(
        users.body["tasks"][0]["users"][0]["firstAction"]
            .as_str()
            .is_some()
    );
    assert!(
        users.body["tasks"][0]["users"][0]["created_at"]
            .as_str()
            .is_some()
    );
}

#[tokio::test]
async fn user_totals_are_exact_sums() {
    let app = TestApp::new().await;
    let game_id = scenario(&app).await;
    let points = app.call("GET", "/api/v1/users/ana/points", None).await;
    assert_eq!(points.status, 200, "{}", points.text);
    assert_eq!(
        points.body.as_array().unwrap().len(),
        1,
        "one entry per game, not per award"
    );
    assert_eq!(points.body[0]["externalGameId"], "scores");
    assert_eq!(points.body[0]["task"].as_array().unwrap().len(), 2);
    app.call("GET", "/api/v1/users/ghost/points", None)
        .await
        .assert_problem(404, "user_not_found");

    let query = app
        .call(
            "POST",
            "/api/v1/users/points/query",
            Some(json!(["ana", "bob", "nobody", "not a slug"])),
        )
        .await;
    assert_eq!(query.status, 200, "{}", query.text);
    let ana = &query.body[0];
    assert_eq!(ana["points"], 31);
    assert_eq!(ana["timesAwarded"], 4);
    assert_eq!(ana["userExists"], true);
    assert_eq!(ana["games"][0]["points"], 31);
    let data_lengths: Vec<_> = ana["games"][0]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["pointsData"].as_array().unwrap().len())
        .collect();
    assert_eq!(data_lengths, [3, 1]);
    assert_eq!(query.body[1]["points"], 1);
    assert_eq!(query.body[2]["userExists"], false);
    assert_eq!(query.body[3]["userExists"], false);
    let too_many: Vec<String> = (0..101).map(|i| format!("user-{i}")).collect();
    app.call("POST", "/api/v1/users/points/query", Some(json!(too_many)))
        .await
        .assert_problem(422, "too_many_users");
    app.call(
        "POST",
        "/api/v1/users/points/query",
        Some(json!({"users": []})),
    )
    .await
    .assert_problem(400, "body_not_array");
    app.call("POST", "/api/v1/users/points/query", Some(json!([1])))
        .await
        .assert_problem(422, "invalid_body");
    let _ = game_id;
}

/// A deleted game's items are gone; its award partitions stay (their awards are immutable), so
/// the cross-game read models drop the aggregates of games that no longer exist.
#[tokio::test]
async fn deleted_games_disappear_from_a_users_points() {
    let counter = RequestCounter::default();
    let app = TestApp::with_client(game_tests::dynamodb_client_with(counter.clone()).await).await;
    let kept = scenario(&app).await;
    let mut deleted = Vec::new();
    for name in ["gone-1", "gone-2"] {
        let game_id = app.create_game(name, json!({})).await;
        app.create_task(&game_id, "t", json!({})).await;
        let awarded = app
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/t/points"),
                Some(json!({"externalUserId": "ana"})),
            )
            .await;
        assert_eq!(awarded.status, 200, "{}", awarded.text);
        deleted.push(game_id);
    }
    let listed = |body: &serde_json::Value| -> Vec<String> {
        body.as_array()
            .unwrap()
            .iter()
            .map(|g| g["externalGameId"].as_str().unwrap().to_owned())
            .collect()
    };
    let before = app.call("GET", "/api/v1/users/ana/points", None).await;
    assert_eq!(listed(&before.body), ["scores", "gone-1", "gone-2"]);
    for game_id in &deleted {
        let response = app
            .call("DELETE", &format!("/api/v1/games/{game_id}"), None)
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
    }

    counter.take();
    let after = app.call("GET", "/api/v1/users/ana/points", None).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(listed(&after.body), ["scores"], "{}", after.text);
    assert!(after.body[0]["created_at"].is_string(), "{}", after.text);
    let batches = counter
        .take()
        .iter()
        .filter(|op| *op == "BatchGetItem")
        .count();
    assert_eq!(batches, 1, "one BatchGetItem for the user's games");

    let query = app
        .call("POST", "/api/v1/users/points/query", Some(json!(["ana"])))
        .await;
    assert_eq!(query.status, 200, "{}", query.text);
    let ana = &query.body[0];
    assert_eq!(
        ana["points"], 31,
        "the deleted games' points no longer count"
    );
    assert_eq!(ana["timesAwarded"], 4);
    assert_eq!(listed(&ana["games"]), ["scores"]);
    for game_id in &deleted {
        app.call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/ana/points"),
            None,
        )
        .await
        .assert_problem(404, "game_not_found");
    }
    // The wallet keeps what was credited: ledger entries are immutable.
    let wallet = app.call("GET", "/api/v1/users/ana/wallet", None).await;
    assert_eq!(
        wallet.body["wallet"]["pointsBalance"], 33,
        "{}",
        wallet.text
    );
    let _ = kept;
}

#[tokio::test]
async fn actions_are_logged_and_need_an_open_task() {
    let app = TestApp::new().await;
    let game_id = app.create_game("actions", json!({})).await;
    app.create_task(&game_id, "open-task", json!({})).await;
    app.create_task(&game_id, "closed-task", json!({})).await;
    let closed = app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}/tasks/closed-task"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(closed.status, 200);
    let body = json!({"typeAction": "checkin", "data": {"where": "park"}, "description": "morning", "externalUserId": "actor"});
    let logged = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/open-task/action"),
            Some(body.clone()),
        )
        .await;
    assert_eq!(logged.status, 201, "{}", logged.text);
    assert_eq!(logged.body["typeAction"], "checkin");
    assert_eq!(logged.body["data"], json!({"where": "park"}));
    assert_eq!(logged.body["message"], "Action added successfully");
    let items = app.item_count().await;
    let gone = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/closed-task/action"),
            Some(body.clone()),
        )
        .await;
    gone.assert_problem(410, "task_not_open");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/missing/action"),
        Some(body.clone()),
    )
    .await
    .assert_problem(404, "task_not_found");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/open-task/action"),
        Some(json!({"typeAction": "x", "data": 5, "externalUserId": "actor"})),
    )
    .await
    .assert_problem(422, "invalid_body");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/open-task/action"),
        Some(json!({"typeAction": "x", "data": {}, "externalUserId": "a b"})),
    )
    .await
    .assert_problem(422, "invalid_slug");
    assert_eq!(
        app.item_count().await,
        items,
        "refused actions wrote nothing"
    );

    let first = app
        .call(
            "POST",
            "/api/v1/users/newbie/actions",
            Some(json!({"typeAction": "signup", "data": null, "description": null})),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["is_user_created"], true);
    assert_eq!(first.body["userId"], "newbie");
    let second = app
        .call(
            "POST",
            "/api/v1/users/newbie/actions",
            Some(json!({"typeAction": "login"})),
        )
        .await;
    assert_eq!(second.body["is_user_created"], false);
    // Actions never award points.
    let wallet = app.call("GET", "/api/v1/users/newbie/wallet", None).await;
    assert_eq!(wallet.body["wallet"]["pointsBalance"], 0);
    assert_eq!(wallet.body["walletTransactions"], json!([]));
}
