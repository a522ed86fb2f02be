//! Tasks against DynamoDB Local.

use game_tests::{TestApp, json};

#[tokio::test]
async fn create_inherits_the_games_strategy_and_overlays_params() {
    let app = TestApp::new().await;
    let game_id = app
        .create_game("effort", json!({"strategyId": "constantEffortStrategy", "params": [{"key": "variable_max_points", "value": 50}, {"key": "variable_bonus_points", "value": 3}]}))
        .await;
    let task = app
        .create_task(&game_id, "Walk 1", json!({"params": [{"key": "variable_max_points", "value": 80}, {"key": "meta", "value": {"zone": "n"}}]}))
        .await;
    assert_eq!(
        task["strategyId"], "constantEffortStrategy",
        "inherits the game's strategy"
    );
    assert_eq!(task["externalTaskId"], "Walk 1");
    assert_eq!(task["externalGameId"], "effort");
    assert_eq!(task["status"], "open");
    assert_eq!(
        task["message"],
        format!("Task created successfully with externalTaskId: Walk 1 for gameId: {game_id}")
    );
    assert_eq!(task["strategy"]["id"], "constantEffortStrategy");
    assert_eq!(
        task["strategy"]["variables"]["variable_max_points"], 80,
        "task params win"
    );
    assert_eq!(
        task["strategy"]["variables"]["variable_bonus_points"], 3,
        "game params apply"
    );
    assert_eq!(task["gameParams"].as_array().unwrap().len(), 2);
    assert_eq!(task["taskParams"][1]["value"], json!({"zone": "n"}));

    let explicit = app
        .create_task(&game_id, "t2", json!({"strategyId": "greengageStrategy"}))
        .await;
    assert_eq!(explicit["strategyId"], "greengageStrategy");

    // Percent-encoded path segments reach the handler decoded.
    let read = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/Walk%201"),
            None,
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["taskId"], task["taskId"]);
    assert_eq!(read.body["strategy"], task["strategy"]);
}

#[tokio::test]
async fn create_rejections() {
    let app = TestApp::new().await;
    let game_id = app.create_game("rejections", json!({})).await;
    app.create_task(&game_id, "taken", json!({})).await;
    let other = app.other_tenant_key().await;
    let baseline = app.item_count().await;
    let path = format!("/api/v1/games/{game_id}/tasks");
    let cases = [
        (json!({"externalTaskId": "taken"}), 409, "task_exists"),
        (
            json!({"externalTaskId": "a/b"}),
            422,
            "invalid_external_task_id",
        ),
        (
            json!({"externalTaskId": ""}),
            422,
            "invalid_external_task_id",
        ),
        (
            json!({"externalTaskId": "ok", "strategyId": "nope"}),
            422,
            "unknown_strategy",
        ),
        (
            json!({"externalTaskId": "ok", "params": [{"key": "variable_basic_points", "value": 1.5}]}),
            422,
            "invalid_param",
        ),
        (
            json!({"externalTaskId": "ok", "params": [{"key": "x", "value": null}]}),
            422,
            "invalid_param",
        ),
        (json!({"strategyId": "default"}), 422, "invalid_body"),
    ];
    for (body, status, code) in cases {
        app.call("POST", &path, Some(body))
            .await
            .assert_problem(status, code);
    }
    app.call_as(Some(&app.api_key), "POST", &path, Some(b"{".to_vec()))
        .await
        .assert_problem(400, "malformed_json");
    app.call(
        "POST",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/tasks",
        Some(json!({"externalTaskId": "x"})),
    )
    .await
    .assert_problem(404, "game_not_found");
    app.call_as(
        Some(&other),
        "POST",
        &path,
        Some(json!({"externalTaskId": "theirs"}).to_string().into_bytes()),
    )
    .await
    .assert_problem(404, "game_not_found");
    assert_eq!(app.item_count().await, baseline);
}

#[tokio::test]
async fn concurrent_creates_of_one_task_give_one_201() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let game_id = app.create_game("task-race", json!({})).await;
    let mut handles = Vec::new();
    for _ in 0..10 {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            app.call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks"),
                Some(json!({"externalTaskId": "same"})),
            )
            .await
            .status
        }));
    }
    let mut statuses = Vec::new();
    for handle in handles {
        statuses.push(handle.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn bulk_creates_each_task_on_its_own() {
    let app = TestApp::new().await;
    let game_id = app.create_game("bulk", json!({})).await;
    app.create_task(&game_id, "exists", json!({})).await;
    let response = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/bulk"),
            Some(json!({"tasks": [
                {"externalTaskId": "a"},
                {"externalTaskId": "exists"},
                {"externalTaskId": "b", "strategyId": "nope"},
                {"noId": true},
                {"externalTaskId": "c", "strategyId": "socio_bee"},
                {"externalTaskId": "a"}
            ]})),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.text);
    let created: Vec<_> = response.body["succesfully_created"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["externalTaskId"].clone())
        .collect();
    assert_eq!(created, [json!("a"), json!("c")]);
    let failed = response.body["failed_to_create"].as_array().unwrap();
    let codes: Vec<_> = failed.iter().map(|f| f["code"].as_str().unwrap()).collect();
    assert_eq!(
        codes,
        [
            "task_exists",
            "unknown_strategy",
            "invalid_body",
            "task_exists"
        ]
    );
    assert_eq!(failed[1]["task"]["externalTaskId"], "b");
    assert!(
        failed[0]["error"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );
    let list = app
        .call("GET", &format!("/api/v1/games/{game_id}/tasks"), None)
        .await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);

    let too_many: Vec<_> = (0..101)
        .map(|i| json!({"externalTaskId": format!("t{i}")}))
        .collect();
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/bulk"),
        Some(json!({"tasks": too_many})),
    )
    .await
    .assert_problem(422, "too_many_tasks");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/bulk"),
        Some(json!({"task": []})),
    )
    .await
    .assert_problem(422, "invalid_body");
}

#[tokio::test]
async fn list_pages_through_every_task() {
    let app = TestApp::new().await;
    let game_id = app.create_game("many-tasks", json!({})).await;
    let tasks: Vec<_> = (0..7)
        .map(|i| json!({"externalTaskId": format!("task-{i}")}))
        .collect();
    let bulk = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/bulk"),
            Some(json!({"tasks": tasks})),
        )
        .await;
    assert_eq!(
        bulk.body["succesfully_created"].as_array().unwrap().len(),
        7
    );
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let suffix = if token.is_empty() {
            String::new()
        } else {
            format!("&nextToken={token}")
        };
        let page = app
            .call(
                "GET",
                &format!("/api/v1/games/{game_id}/tasks?page_size=3{suffix}"),
                None,
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.body["items"].as_array().unwrap().len() <= 3);
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["externalTaskId"].as_str().unwrap().to_owned()),
        );
        match page.body["nextToken"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("task-{i}")).collect();
    assert_eq!(seen, expected);
    // A cursor of another game's list is refused.
    let other_game = app.create_game("other-game", json!({})).await;
    let first = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks?page_size=1"),
            None,
        )
        .await;
    let cursor = first.body["nextToken"].as_str().unwrap();
    app.call(
        "GET",
        &format!("/api/v1/games/{other_game}/tasks?nextToken={cursor}"),
        None,
    )
    .await
    .assert_problem(400, "invalid_cursor");
}

#[tokio::test]
async fn get_unknown_task_is_404() {
    let app = TestApp::new().await;
    let game_id = app.create_game("lookup", json!({})).await;
    let response = app
        .call("GET", &format!("/api/v1/games/{game_id}/tasks/ghost"), None)
        .await;
    response.assert_problem(404, "task_not_found");
    assert_eq!(
        response.body["detail"],
        format!("Task not found with externalTaskId: ghost in gameId: {game_id}")
    );
}

#[tokio::test]
async fn patch_replaces_the_param_set_and_status() {
    let app = TestApp::new().await;
    let game_id = app.create_game("patch-tasks", json!({})).await;
    let task = app
        .create_task(
            &game_id,
            "t",
            json!({"params": [{"key": "keep", "value": 1}, {"key": "drop", "value": 2}]}),
        )
        .await;
    let keep_id = task["taskParams"][0]["id"].as_str().unwrap();
    let path = format!("/api/v1/games/{game_id}/tasks/t");
    let patched = app
        .call("PATCH", &path, Some(json!({"status": "closed", "strategyId": "constantEffortStrategy", "params": [{"id": keep_id, "key": "keep", "value": 10}, {"key": "variable_max_points", "value": 40}]})))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let read = app.call("GET", &path, None).await.body;
    assert_eq!(read["status"], "closed");
    assert_eq!(read["strategyId"], "constantEffortStrategy");
    let params = read["taskParams"].as_array().unwrap();
    assert_eq!(params.len(), 2);
    assert_eq!(
        params[0],
        json!({"id": keep_id, "key": "keep", "value": 10})
    );
    assert_eq!(params[1]["key"], "variable_max_points");
    assert_eq!(read["strategy"]["variables"]["variable_max_points"], 40);
    assert_eq!(read["version"], 2);

    app.call("PATCH", &path, Some(json!({})))
        .await
        .assert_problem(422, "empty_patch");
    app.call("PATCH", &path, Some(json!({"strategyId": "nope"})))
        .await
        .assert_problem(422, "unknown_strategy");
    app.call(
        "PATCH",
        &path,
        Some(json!({"params": [{"id": "missing", "key": "k", "value": 1}]})),
    )
    .await
    .assert_problem(422, "unknown_param_id");
    app.call(
        "PATCH",
        &path,
        Some(json!({"params": [{"key": "variable_max_points", "value": "many"}]})),
    )
    .await
    .assert_problem(422, "invalid_param");
    app.call(
        "PATCH",
        &format!("/api/v1/games/{game_id}/tasks/ghost"),
        Some(json!({"status": "open"})),
    )
    .await
    .assert_problem(404, "task_not_found");
    assert_eq!(
        app.call("GET", &path, None).await.body,
        read,
        "rejected patches changed nothing"
    );
}

#[tokio::test]
async fn concurrent_task_patches_never_lose_an_update() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let game_id = app.create_game("task-patch-race", json!({})).await;
    app.create_task(&game_id, "t", json!({})).await;
    let mut handles = Vec::new();
    for i in 0..6 {
        let (app, game_id) = (app.clone(), game_id.clone());
        handles.push(tokio::spawn(async move {
            app.call(
                "PATCH",
                &format!("/api/v1/games/{game_id}/tasks/t"),
                Some(json!({"status": format!("s{i}")})),
            )
            .await
            .status
        }));
    }
    let mut ok = 0;
    for handle in handles {
        match handle.await.unwrap() {
            200 => ok += 1,
            409 => {}
            other => panic!("unexpected {other}"),
        }
    }
    let task = app
        .call("GET", &format!("/api/v1/games/{game_id}/tasks/t"), None)
        .await
        .body;
    assert_eq!(
        task["version"],
        1 + ok,
        "every 200 is one version; none was overwritten silently"
    );
}

#[tokio::test]
async fn delete_and_duplicate() {
    let app = TestApp::new().await;
    let game_id = app.create_game("dup-tasks", json!({})).await;
    let source = app
        .create_task(
            &game_id,
            "src",
            json!({"strategyId": "socio_bee", "params": [{"key": "p", "value": true}]}),
        )
        .await;
    let copy = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/src/duplicate"),
            Some(json!({"externalTaskId": "copy"})),
        )
        .await;
    assert_eq!(copy.status, 201, "{}", copy.text);
    assert_eq!(copy.body["strategyId"], "socio_bee");
    assert_eq!(copy.body["taskParams"][0]["value"], true);
    assert_ne!(
        copy.body["taskParams"][0]["id"],
        source["taskParams"][0]["id"]
    );
    assert_ne!(copy.body["taskId"], source["taskId"]);
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/src/duplicate"),
        Some(json!({"externalTaskId": "copy"})),
    )
    .await
    .assert_problem(409, "task_exists");
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/ghost/duplicate"),
        Some(json!({"externalTaskId": "x"})),
    )
    .await
    .assert_problem(404, "task_not_found");

    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/games/{game_id}/tasks/src"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    assert_eq!(deleted.body["externalTaskId"], "src");
    assert_eq!(deleted.body["taskId"], source["taskId"]);
    app.call("GET", &format!("/api/v1/games/{game_id}/tasks/src"), None)
        .await
        .assert_problem(404, "task_not_found");
    app.call(
        "DELETE",
        &format!("/api/v1/games/{game_id}/tasks/src"),
        None,
    )
    .await
    .assert_problem(404, "task_not_found");
    assert_eq!(
        app.call("GET", &format!("/api/v1/games/{game_id}/tasks/copy"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn bulk_and_duplicate_reject_bad_requests() {
    let app = TestApp::new().await;
    let game_id = app.create_game("bulk-errors", json!({})).await;
    app.create_task(&game_id, "src", json!({})).await;
    let baseline = app.item_count().await;
    app.call(
        "POST",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/tasks/bulk",
        Some(json!({"tasks": [{"externalTaskId": "a"}]})),
    )
    .await
    .assert_problem(404, "game_not_found");
    let bulk = format!("/api/v1/games/{game_id}/tasks/bulk");
    app.call_as(
        Some(&app.api_key),
        "POST",
        &bulk,
        Some(b"{\"tasks\": [".to_vec()),
    )
    .await
    .assert_problem(400, "malformed_json");
    let duplicate = format!("/api/v1/games/{game_id}/tasks/src/duplicate");
    app.call_as(
        Some(&app.api_key),
        "POST",
        &duplicate,
        Some(b"nope".to_vec()),
    )
    .await
    .assert_problem(400, "malformed_json");
    app.call(
        "POST",
        &duplicate,
        Some(json!({"externalTaskId": "bad/id"})),
    )
    .await
    .assert_problem(422, "invalid_external_task_id");
    app.call("POST", &duplicate, Some(json!({})))
        .await
        .assert_problem(422, "invalid_body");
    app.call("POST", &duplicate, Some(json!({"externalTaskId": "src"})))
        .await
        .assert_problem(409, "task_exists");
    assert_eq!(app.item_count().await, baseline);
}
