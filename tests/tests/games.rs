//! Games against DynamoDB Local: success paths and every 400/401/404/409/422 case.

use game_tests::{TestApp, json, unique};

#[tokio::test]
async fn create_answers_201_with_games_fields_and_reads_back() {
    let app = TestApp::new().await;
    let response = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "City-Walks_1", "platform": "web", "params": [{"key": "variable_bonus_points", "value": 20}, {"key": "region", "value": "north"}]})),
        )
        .await;
    assert_eq!(response.status, 201, "{}", response.text);
    let game = &response.body;
    let game_id = game["gameId"].as_str().unwrap();
    assert_eq!(game["externalGameId"], "City-Walks_1");
    assert_eq!(game["strategyId"], "default");
    assert_eq!(game["platform"], "web");
    assert_eq!(
        game["message"],
        format!("Game with gameId: {game_id} created successfully")
    );
    assert_eq!(game["params"][0]["key"], "variable_bonus_points");
    assert_eq!(game["params"][0]["value"], 20);
    assert!(
        game["params"][0]["id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(
        game["created_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );

    let read = app
        .call("GET", &format!("/api/v1/games/{game_id}"), None)
        .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body["externalGameId"], "City-Walks_1");
    assert_eq!(read.body["params"], game["params"]);
}

#[tokio::test]
async fn bad_input_is_rejected_and_nothing_is_written() {
    let app = TestApp::new().await;
    let baseline = app.item_count().await;
    let cases = [
        (
            json!({"externalGameId": "no spaces allowed", "platform": "web"}),
            422,
            "invalid_slug",
        ),
        (
            json!({"externalGameId": "ab", "platform": "web"}),
            422,
            "invalid_slug",
        ),
        (
            json!({"externalGameId": "good-id", "platform": "web", "strategyId": "nope"}),
            422,
            "unknown_strategy",
        ),
        (
            json!({"externalGameId": "good-id", "platform": ""}),
            422,
            "invalid_field",
        ),
        (json!({"externalGameId": "good-id"}), 422, "invalid_body"),
        (
            json!({"externalGameId": "good-id", "platform": "web", "params": [{"key": "variable_bonus_points", "value": "lots"}]}),
            422,
            "invalid_param",
        ),
        (
            json!({"externalGameId": "good-id", "platform": "web", "params": [{"key": "a", "value": 1}, {"key": "a", "value": 2}]}),
            422,
            "duplicate_param",
        ),
        (
            json!({"externalGameId": "good-id", "platform": "web", "params": [{"key": "a", "value": [1]}]}),
            422,
            "invalid_param",
        ),
    ];
    for (body, status, code) in cases {
        let response = app.call("POST", "/api/v1/games", Some(body.clone())).await;
        assert_eq!(response.status, status, "{body}: {}", response.text);
        response.assert_problem(status, code);
    }
    let malformed = app
        .call_as(
            Some(&app.api_key),
            "POST",
            "/api/v1/games",
            Some(b"{not json".to_vec()),
        )
        .await;
    malformed.assert_problem(400, "malformed_json");
    let empty = app
        .call_as(Some(&app.api_key), "POST", "/api/v1/games", None)
        .await;
    empty.assert_problem(400, "missing_body");
    assert_eq!(
        app.item_count().await,
        baseline,
        "a rejected request wrote something"
    );
}

#[tokio::test]
async fn credentials_are_required_and_checked() {
    let app = TestApp::new().await;
    let body = Some(
        json!({"externalGameId": "x-game", "platform": "web"})
            .to_string()
            .into_bytes(),
    );
    let missing = app
        .call_as(None, "POST", "/api/v1/games", body.clone())
        .await;
    missing.assert_problem(401, "missing_credentials");
    let (prefix, _) = app.api_key.split_once('.').unwrap();
    for key in [
        "garbage",
        &format!("{prefix}.wrongsecretwrongsecretwrongsecret"),
        "gme_live_AAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",
    ] {
        let response = app.call_as(Some(key), "GET", "/api/v1/games", None).await;
        response.assert_problem(401, "invalid_api_key");
        assert!(!response.text.contains(key), "the key must not be echoed");
    }
}

#[tokio::test]
async fn duplicate_external_game_id_is_409_with_the_existing_game() {
    let app = TestApp::new().await;
    let game_id = app.create_game("same-id", json!({})).await;
    let response = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "same-id", "platform": "ios"})),
        )
        .await;
    response.assert_problem(409, "game_exists");
    assert_eq!(response.body["gameId"], game_id);
    // Another tenant may use the same externalGameId.
    let other = app.other_tenant_key().await;
    let body = json!({"externalGameId": "same-id", "platform": "web"})
        .to_string()
        .into_bytes();
    let theirs = app
        .call_as(Some(&other), "POST", "/api/v1/games", Some(body))
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.text);
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_external_id_give_one_201() {
    let app = TestApp::new().await;
    let app = std::sync::Arc::new(app);
    let mut handles = Vec::new();
    for i in 0..20 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            app.call(
                "POST",
                "/api/v1/games",
                Some(json!({"externalGameId": "race-game", "platform": format!("p{i}")})),
            )
            .await
        }));
    }
    let mut created = 0;
    let mut conflicts = 0;
    let mut winner = None;
    for handle in handles {
        let response = handle.await.unwrap();
        match response.status {
            201 => {
                created += 1;
                winner = response.body["gameId"].as_str().map(str::to_owned);
            }
            409 => {
                response.assert_problem(409, "game_exists");
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", response.text),
        }
    }
    assert_eq!((created, conflicts), (1, 19));
    let list = app.call("GET", "/api/v1/games?page_size=100", None).await;
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "exactly one game exists");
    assert_eq!(items[0]["gameId"].as_str(), winner.as_deref());
}

#[tokio::test]
async fn another_tenants_game_is_404_like_a_missing_one() {
    let app = TestApp::new().await;
    let game_id = app.create_game("mine", json!({})).await;
    let other = app.other_tenant_key().await;
    for (method, path) in [
        ("GET", format!("/api/v1/games/{game_id}")),
        ("GET", format!("/api/v1/games/{game_id}/strategy")),
        ("DELETE", format!("/api/v1/games/{game_id}")),
        ("GET", format!("/api/v1/games/{game_id}/tasks")),
    ] {
        let theirs = app.call_as(Some(&other), method, &path, None).await;
        theirs.assert_problem(404, "game_not_found");
        let missing = app
            .call(
                method,
                &path.replace(&game_id, "0190a0a0-0000-7000-8000-000000000000"),
                None,
            )
            .await;
        missing.assert_problem(404, "game_not_found");
    }
    let patch = app
        .call_as(
            Some(&other),
            "PATCH",
            &format!("/api/v1/games/{game_id}"),
            Some(br#"{"platform":"x"}"#.to_vec()),
        )
        .await;
    patch.assert_problem(404, "game_not_found");
    let listed = app
        .call_as(Some(&other), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(listed.body["items"], json!([]));
    let still = app
        .call("GET", &format!("/api/v1/games/{game_id}"), None)
        .await;
    assert_eq!(
        still.body["platform"], "web",
        "the other tenant changed nothing"
    );
    app.call("GET", "/api/v1/games/not-a-uuid", None)
        .await
        .assert_problem(404, "game_not_found");
}

#[tokio::test]
async fn list_pages_with_next_token_newest_first() {
    let app = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.create_game(
                &format!("game-{i}"),
                json!({"platform": if i % 2 == 0 { "web" } else { "ios" }}),
            )
            .await,
        );
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let path = match &token {
            Some(t) => format!("/api/v1/games?page_size=2&nextToken={t}"),
            None => "/api/v1/games?page_size=2".to_owned(),
        };
        let page = app.call("GET", &path, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        pages += 1;
        for item in page.body["items"].as_array().unwrap() {
            seen.push(item["gameId"].as_str().unwrap().to_owned());
        }
        match page.body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "pagination does not end");
    }
    ids.reverse();
    assert_eq!(seen, ids, "every game once, newest first");

    let web = app
        .call("GET", "/api/v1/games?page_size=100&platform=web", None)
        .await;
    assert_eq!(web.body["items"].as_array().unwrap().len(), 3);
    let by_id = app
        .call("GET", "/api/v1/games?externalGameId=game-3", None)
        .await;
    assert_eq!(by_id.body["items"][0]["externalGameId"], "game-3");

    app.call("GET", "/api/v1/games?page_size=0", None)
        .await
        .assert_problem(422, "invalid_page_size");
    app.call("GET", "/api/v1/games?page_size=abc", None)
        .await
        .assert_problem(422, "invalid_page_size");
    app.call("GET", "/api/v1/games?page=2", None)
        .await
        .assert_problem(422, "unsupported_pagination");
    app.call("GET", "/api/v1/games?nextToken=bogus", None)
        .await
        .assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn a_cursor_from_another_tenant_is_refused() {
    let app = TestApp::new().await;
    for i in 0..3 {
        app.create_game(&format!("g-{i}"), json!({})).await;
    }
    let page = app.call("GET", "/api/v1/games?page_size=1", None).await;
    let token = page.body["nextToken"].as_str().unwrap().to_owned();
    let other = app.other_tenant_key().await;
    let theirs = app
        .call_as(
            Some(&other),
            "GET",
            &format!("/api/v1/games?nextToken={token}"),
            None,
        )
        .await;
    theirs.assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn patch_changes_fields_params_and_external_id() {
    let app = TestApp::new().await;
    let created = app
        .call("POST", "/api/v1/games", Some(json!({"externalGameId": "old-name", "platform": "web", "params": [{"key": "variable_basic_points", "value": 2}]})))
        .await;
    let game_id = created.body["gameId"].as_str().unwrap();
    let param_id = created.body["params"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/games/{game_id}");
    let patched = app
        .call("PATCH", &path, Some(json!({"externalGameId": "new-name", "platform": "android", "strategyId": "socio_bee", "params": [{"id": param_id, "key": "variable_basic_points", "value": 4}]})))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.body["message"],
        format!("Game with gameId: {game_id} updated successfully")
    );
    assert_eq!(patched.body["version"], 2);
    let read = app.call("GET", &path, None).await;
    assert_eq!(read.body["externalGameId"], "new-name");
    assert_eq!(read.body["platform"], "android");
    assert_eq!(read.body["strategyId"], "socio_bee");
    assert_eq!(read.body["params"][0]["value"], 4);
    // The old externalGameId is free again; the new one is taken.
    app.create_game("old-name", json!({})).await;
    app.call(
        "POST",
        "/api/v1/games",
        Some(json!({"externalGameId": "new-name", "platform": "web"})),
    )
    .await
    .assert_problem(409, "game_exists");
}

#[tokio::test]
async fn patch_rejections_write_nothing() {
    let app = TestApp::new().await;
    let game_id = app.create_game("patch-me", json!({})).await;
    let taken = app.create_game("taken-name", json!({})).await;
    let path = format!("/api/v1/games/{game_id}");
    let before = app.call("GET", &path, None).await.body;
    app.call("PATCH", &path, Some(json!({})))
        .await
        .assert_problem(422, "empty_patch");
    app.call("PATCH", &path, Some(json!({"externalGameId": "bad id"})))
        .await
        .assert_problem(422, "invalid_slug");
    app.call("PATCH", &path, Some(json!({"strategyId": "nope"})))
        .await
        .assert_problem(422, "unknown_strategy");
    app.call(
        "PATCH",
        &path,
        Some(json!({"params": [{"id": "nope", "key": "k", "value": 1}]})),
    )
    .await
    .assert_problem(422, "unknown_param_id");
    let conflict = app
        .call(
            "PATCH",
            &path,
            Some(json!({"externalGameId": "taken-name"})),
        )
        .await;
    conflict.assert_problem(409, "game_exists");
    assert_eq!(conflict.body["gameId"], taken);
    app.call_as(Some(&app.api_key), "PATCH", &path, Some(b"[".to_vec()))
        .await
        .assert_problem(400, "malformed_json");
    app.call(
        "PATCH",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000",
        Some(json!({"platform": "x"})),
    )
    .await
    .assert_problem(404, "game_not_found");
    assert_eq!(app.call("GET", &path, None).await.body, before);
}

#[tokio::test]
async fn concurrent_patches_never_lose_an_update() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let params: Vec<_> = (0..8)
        .map(|i| json!({"key": format!("k{i}"), "value": 0}))
        .collect();
    let created = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "hot-game", "platform": "web", "params": params})),
        )
        .await;
    let game_id = created.body["gameId"].as_str().unwrap().to_owned();
    let ids: Vec<String> = created.body["params"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let mut handles = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let (app, game_id, id) = (app.clone(), game_id.clone(), id.clone());
        handles.push(tokio::spawn(async move {
            app.call(
                "PATCH",
                &format!("/api/v1/games/{game_id}"),
                Some(json!({"params": [{"id": id, "key": format!("k{i}"), "value": i + 1}]})),
            )
            .await
        }));
    }
    let mut applied = Vec::new();
    for (i, handle) in handles.into_iter().enumerate() {
        let response = handle.await.unwrap();
        match response.status {
            200 => applied.push(i),
            409 => response.assert_problem(409, "concurrent_modification"),
            other => panic!("unexpected {other}: {}", response.text),
        }
    }
    assert!(!applied.is_empty());
    let game = app
        .call("GET", &format!("/api/v1/games/{game_id}"), None)
        .await
        .body;
    for i in 0..8 {
        let expected = if applied.contains(&i) { i + 1 } else { 0 };
        assert_eq!(game["params"][i]["value"], expected, "param k{i}");
    }
    assert_eq!(
        game["version"],
        1 + applied.len(),
        "one version per applied patch"
    );
}

#[tokio::test]
async fn delete_removes_the_game_and_its_tasks_and_frees_the_external_id() {
    let app = TestApp::new().await;
    let game_id = app
        .create_game("doomed", json!({"params": [{"key": "a", "value": 1}]}))
        .await;
    app.create_task(&game_id, "t1", json!({})).await;
    app.create_task(&game_id, "t2", json!({})).await;
    let deleted = app
        .call("DELETE", &format!("/api/v1/games/{game_id}"), None)
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["externalGameId"], "doomed");
    assert_eq!(deleted.body["params"], json!([]));
    app.call("GET", &format!("/api/v1/games/{game_id}"), None)
        .await
        .assert_problem(404, "game_not_found");
    app.call("GET", &format!("/api/v1/games/{game_id}/tasks/t1"), None)
        .await
        .assert_problem(404, "game_not_found");
    app.call("DELETE", &format!("/api/v1/games/{game_id}"), None)
        .await
        .assert_problem(404, "game_not_found");
    // Only the admin key and nothing of the game remains.
    assert_eq!(app.item_count().await, 1);
    app.create_game("doomed", json!({})).await;
}

#[tokio::test]
async fn duplicate_copies_params_and_tasks_under_new_ids() {
    let app = TestApp::new().await;
    let game_id = app
        .create_game("original", json!({"strategyId": "constantEffortStrategy", "params": [{"key": "variable_max_points", "value": 50}]}))
        .await;
    app.create_task(
        &game_id,
        "walk",
        json!({"params": [{"key": "zone", "value": "a"}]}),
    )
    .await;
    let closed = app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}/tasks/walk"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(closed.status, 200, "{}", closed.text);
    app.create_task(&game_id, "run", json!({})).await;

    let copy = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/duplicate"),
            Some(json!({"externalGameId": "copy"})),
        )
        .await;
    assert_eq!(copy.status, 201, "{}", copy.text);
    let copy_id = copy.body["gameId"].as_str().unwrap();
    assert_ne!(copy_id, game_id);
    assert_eq!(copy.body["strategyId"], "constantEffortStrategy");
    assert_eq!(copy.body["params"][0]["value"], 50);
    assert_eq!(
        copy.body["message"],
        format!("Game with gameId: {copy_id} duplicated successfully from gameId: {game_id}")
    );
    let tasks = app
        .call("GET", &format!("/api/v1/games/{copy_id}/tasks"), None)
        .await;
    let items = tasks.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let walk = items
        .iter()
        .find(|t| t["externalTaskId"] == "walk")
        .unwrap();
    assert_eq!(walk["status"], "open", "copies restart open");
    assert_eq!(walk["taskParams"][0]["value"], "a");
    assert_eq!(walk["gameId"], copy_id);

    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/duplicate"),
        Some(json!({"externalGameId": "copy"})),
    )
    .await
    .assert_problem(409, "game_exists");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/duplicate"),
        Some(json!({"externalGameId": "x"})),
    )
    .await
    .assert_problem(422, "invalid_slug");
    let unknown = format!(
        "/api/v1/games/{}/duplicate",
        "0190a0a0-0000-7000-8000-000000000000"
    );
    app.call("POST", &unknown, Some(json!({"externalGameId": "copy-2"})))
        .await
        .assert_problem(404, "game_not_found");
    // The refused duplicate left no task copies behind: original 2 + copy 2 tasks, 2 games + 2 markers, 1 key.
    assert_eq!(app.item_count().await, 9);
}

#[tokio::test]
async fn game_strategy_shows_variables_overridden_by_game_params() {
    let app = TestApp::new().await;
    let game_id = app
        .create_game(&unique("strat"), json!({"params": [{"key": "variable_bonus_points", "value": 25}, {"key": "basic_points", "value": "3"}, {"key": "unrelated", "value": true}]}))
        .await;
    let response = app
        .call("GET", &format!("/api/v1/games/{game_id}/strategy"), None)
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let info = game_scoring::strategy("default").unwrap();
    assert_eq!(response.body["id"], "default");
    assert_eq!(response.body["version"], info.version);
    assert_eq!(response.body["hash_version"], info.hash_version());
    assert_eq!(response.body["variables"]["variable_bonus_points"], 25);
    assert_eq!(response.body["variables"]["variable_basic_points"], 3);
    assert_eq!(
        response.body["variables"]["variable_peak_performer_bonus_points"],
        15
    );
    assert!(response.body["variables"].get("unrelated").is_none());
}

#[tokio::test]
async fn duplicate_and_strategy_reject_bad_requests() {
    let app = TestApp::new().await;
    let game_id = app.create_game("dup-errors", json!({})).await;
    let path = format!("/api/v1/games/{game_id}/duplicate");
    app.call_as(Some(&app.api_key), "POST", &path, Some(b"{]".to_vec()))
        .await
        .assert_problem(400, "malformed_json");
    app.call("POST", &path, Some(json!({"platform": "web"})))
        .await
        .assert_problem(422, "invalid_body");
    app.call(
        "GET",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/strategy",
        None,
    )
    .await
    .assert_problem(404, "game_not_found");
}

/// One list envelope in GAME's camelCase: `{items, pageSize, nextToken}`; the query takes
/// `pageSize` and still GAME's `page_size`.
#[tokio::test]
async fn lists_answer_page_size_in_camel_case_and_take_both_query_names() {
    let app = TestApp::new().await;
    for i in 0..3 {
        app.create_game(&format!("envelope-{i}"), json!({})).await;
    }
    for query in ["pageSize=2", "page_size=2"] {
        let page = app
            .call("GET", &format!("/api/v1/games?{query}"), None)
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let keys: Vec<&String> = page.body.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["items", "nextToken", "pageSize"], "{query}");
        assert_eq!(page.body["pageSize"], 2);
        assert_eq!(page.body["items"].as_array().unwrap().len(), 2);
        assert!(page.body["nextToken"].is_string());
    }
    app.call("GET", "/api/v1/games?pageSize=101", None)
        .await
        .assert_problem(422, "invalid_page_size");
    // An empty filter matches every game (found by the schema fuzzer: it answered 500).
    let all = app
        .call("GET", "/api/v1/games?platform=&externalGameId=", None)
        .await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body["items"].as_array().unwrap().len(), 3);
}
