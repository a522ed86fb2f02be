//! The operator's routes: the dashboard (per-tenant day counters), exports (two tenants
//! seeded and diffed; large files through moto's S3) and strategy graphs.

use game_tests::{RequestCounter, TestApp, TestResponse, json};
use serde_json::Value;

fn today() -> String {
    game_functions::clock::now_rfc3339()[..10].to_owned()
}

async fn award(app: &TestApp, key: &str, game_id: &str, task: &str, user: &str) -> TestResponse {
    app.call_as(
        Some(key),
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
        Some(json!({"externalUserId": user}).to_string().into_bytes()),
    )
    .await
}

/// A tenant's game with one task, `awards` awards spread over `users` users, and one action.
async fn seed(app: &TestApp, key: &str, game: &str, users: &[&str], awards: usize) -> String {
    let created = app
        .call_as(
            Some(key),
            "POST",
            "/api/v1/games",
            Some(
                json!({"externalGameId": game, "platform": "web"})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let game_id = created.body["gameId"].as_str().unwrap().to_owned();
    let task = app
        .call_as(
            Some(key),
            "POST",
            &format!("/api/v1/games/{game_id}/tasks"),
            Some(json!({"externalTaskId": "walk"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(task.status, 201, "{}", task.text);
    for i in 0..awards {
        let answer = award(app, key, &game_id, "walk", users[i % users.len()]).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let action = app
        .call_as(
            Some(key),
            "POST",
            &format!("/api/v1/users/{}/actions", users[0]),
            Some(json!({"typeAction": "opened_app"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(action.status, 201, "{}", action.text);
    game_id
}

fn total(series: &Value) -> f64 {
    series
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn the_dashboard_counts_only_the_callers_tenant() {
    let app = TestApp::new().await;
    let other = app.other_tenant_key().await;
    seed(&app, &app.api_key, "mine", &["ana", "bob", "cat"], 7).await;
    seed(&app, &other, "theirs", &["dan", "eve"], 5).await;
    // A new user through an action only.
    app.call(
        "POST",
        "/api/v1/users/zoe/actions",
        Some(json!({"typeAction": "signed_up"})),
    )
    .await;
    let day = today();
    let summary = app
        .call(
            "GET",
            &format!("/api/v1/dashboard/summary?start_date={day}&end_date={day}&group_by=day"),
            None,
        )
        .await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    let body = &summary.body;
    assert_eq!(body["awards"], json!([{"label": day, "count": 7}]));
    assert_eq!(total(&body["new_users"]), 4.0, "ana, bob, cat and zoe");
    assert_eq!(total(&body["games_opened"]), 1.0);
    assert_eq!(total(&body["actions_performed"]), 2.0);
    // default strategy: 1 point per award while the task has fewer than 2 awards, then 1.
    assert_eq!(total(&body["points_earned"]), 7.0);
    let month = app
        .call("GET", "/api/v1/dashboard/summary?group_by=month", None)
        .await;
    assert_eq!(month.status, 200, "{}", month.text);
    let label = month.body["awards"].as_array().unwrap().last().unwrap()["label"].clone();
    assert_eq!(label, json!(day[..7]));
    assert_eq!(
        total(&month.body["awards"]),
        7.0,
        "the default range ends today"
    );
    let weeks = app
        .call("GET", "/api/v1/dashboard/summary?group_by=week", None)
        .await;
    assert!(
        weeks.body["awards"][0]["label"]
            .as_str()
            .unwrap()
            .starts_with("week_")
    );
    // Awards answered with an error: two of this tenant's (an unknown game, twice) and one of
    // the other's count; a body that does not parse is refused before the caller is known.
    let nowhere = "/api/v1/games/0190a0a0-0000-7000-8000-000000000099/tasks/walk/points";
    for key in [&app.api_key, &app.api_key, &other] {
        app.call_as(
            Some(key),
            "POST",
            nowhere,
            Some(json!({"externalUserId": "ana"}).to_string().into_bytes()),
        )
        .await
        .assert_problem(404, "game_not_found");
    }
    app.call("POST", nowhere, Some(json!({"user": "ana"})))
        .await
        .assert_problem(422, "invalid_body");
    let logs = app
        .call(
            "GET",
            &format!("/api/v1/dashboard/summary/logs?start_date={day}"),
            None,
        )
        .await;
    assert_eq!(logs.status, 200, "{}", logs.text);
    assert_eq!(logs.body, json!({"info": 7, "success": 7, "error": 2}));
    let theirs = app
        .call_as(
            Some(&other),
            "GET",
            "/api/v1/dashboard/summary?group_by=day",
            None,
        )
        .await;
    assert_eq!(total(&theirs.body["awards"]), 5.0);
}

#[tokio::test]
async fn bad_dashboard_queries_are_400_problems() {
    let app = TestApp::new().await;
    for (query, code) in [
        ("group_by=year", "invalid_group_by"),
        ("", "invalid_group_by"),
        ("group_by=day&start_date=yesterday", "invalid_date"),
        ("group_by=day&end_date=2026-02-30", "invalid_date"),
        (
            "group_by=day&start_date=2026-05-02&end_date=2026-05-01",
            "invalid_date_range",
        ),
        (
            "group_by=day&start_date=2020-01-01&end_date=2026-01-01",
            "invalid_date_range",
        ),
    ] {
        app.call("GET", &format!("/api/v1/dashboard/summary?{query}"), None)
            .await
            .assert_problem(400, code);
    }
    app.call(
        "GET",
        "/api/v1/dashboard/summary/logs?start_date=05/01/2026",
        None,
    )
    .await
    .assert_problem(400, "invalid_date");
    app.call_as(None, "GET", "/api/v1/dashboard/summary?group_by=day", None)
        .await
        .assert_problem(401, "missing_credentials");
}

#[tokio::test]
async fn a_two_year_summary_costs_sixteen_queries() {
    let counter = RequestCounter::default();
    let client = game_tests::dynamodb_client_with(counter.clone()).await;
    let app = TestApp::with_client(client).await;
    seed(&app, &app.api_key, "ggg", &["ana"], 2).await;
    counter.take();
    let summary = app
        .call(
            "GET",
            "/api/v1/dashboard/summary?start_date=2025-01-01&end_date=2026-12-31&group_by=day",
            None,
        )
        .await;
    assert_eq!(summary.status, 200, "{}", summary.text);
    assert_eq!(summary.body["awards"].as_array().unwrap().len(), 730);
    let requests = counter.take();
    let queries = requests.iter().filter(|r| *r == "Query").count();
    assert_eq!(queries, 16, "{requests:?}");
    assert!(
        requests.iter().all(|r| r == "Query" || r == "GetItem"),
        "{requests:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_awards_are_all_counted() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let game_id = app.create_game("race", json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    // 48 awards at once over 12 users: they meet on the users' shards and the task's series.
    // Clients retry refusals (409, or 503 from a busy emulator) with their key, so all commit.
    const AWARDS: usize = 48;
    let mut storm = tokio::task::JoinSet::new();
    for i in 0..AWARDS {
        let (app, game_id) = (app.clone(), game_id.clone());
        storm.spawn(async move {
            let user = format!("user-{:02}", i % 12);
            app.award_until_committed(&game_id, "walk", &user, &format!("race-{i}"))
                .await
        });
    }
    let answers = storm.join_all().await;
    let points: f64 = answers
        .iter()
        .map(|a| a.body["points"].as_f64().unwrap())
        .sum();
    let summary = app
        .call("GET", "/api/v1/dashboard/summary?group_by=day", None)
        .await;
    assert_eq!(total(&summary.body["awards"]), AWARDS as f64);
    assert_eq!(total(&summary.body["points_earned"]), points);
    let users_created = answers
        .iter()
        .filter(|a| a.body["isACreatedUser"] == true)
        .count();
    assert_eq!(
        users_created, 12,
        "each user is created by exactly one award"
    );
    assert_eq!(total(&summary.body["new_users"]), users_created as f64);
}

async fn export(app: &TestApp, key: &str, path: &str) -> TestResponse {
    app.call_as(Some(key), "GET", path, None).await
}

fn json_rows(response: &TestResponse) -> Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.content_type(), "application/json");
    serde_json::from_slice::<Vec<Value>>(&response.bytes).unwrap()
}

#[tokio::test]
async fn exports_have_games_columns_and_never_another_tenants_rows() {
    let app = TestApp::new().await;
    let other = app.other_tenant_key().await;
    // The same ids in both tenants: only the tenant tells them apart.
    seed(&app, &app.api_key, "walks", &["ana", "bob"], 4).await;
    seed(&app, &other, "walks", &["ana", "bob", "cid"], 6).await;
    let mine_users =
        json_rows(&export(&app, &app.api_key, "/api/v1/exports/users?format=json").await);
    let theirs_users = json_rows(&export(&app, &other, "/api/v1/exports/users?format=json").await);
    assert_eq!(mine_users.len(), 2);
    assert_eq!(theirs_users.len(), 3);
    let mine_points = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-points?format=json",
        )
        .await,
    );
    let theirs_points =
        json_rows(&export(&app, &other, "/api/v1/exports/user-points?format=json").await);
    assert_eq!(mine_points.len(), 4);
    assert_eq!(theirs_points.len(), 6);
    let ids = |rows: &[Value]| -> std::collections::BTreeSet<String> {
        rows.iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(ids(&mine_points).is_disjoint(&ids(&theirs_points)));
    let wallet_mine = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/wallet-transactions?format=json",
        )
        .await,
    );
    let wallet_theirs = json_rows(
        &export(
            &app,
            &other,
            "/api/v1/exports/wallet-transactions?format=json",
        )
        .await,
    );
    assert_eq!(wallet_mine.len(), 4);
    assert_eq!(wallet_theirs.len(), 6);
    assert!(ids(&wallet_mine).is_disjoint(&ids(&wallet_theirs)));
    let actions = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-interactions?format=json",
        )
        .await,
    );
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0]["typeAction"], "opened_app");
    // GAME's columns, in order, as the CSV header.
    let csv = export(&app, &app.api_key, "/api/v1/exports/user-points").await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(csv.content_type(), "text/csv; charset=utf-8");
    assert_eq!(
        csv.text.lines().next().unwrap(),
        "id,created_at,externalUserId,externalTaskId,externalGameId,points,caseName,description,idempotencyKey,data,apiKey_used"
    );
    assert_eq!(csv.text.lines().count(), 5);
    let disposition = csv.headers["content-disposition"].to_str().unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"user-points_")
            && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let xlsx = export(
        &app,
        &app.api_key,
        "/api/v1/exports/wallet-transactions?format=xlsx",
    )
    .await;
    assert_eq!(xlsx.status, 200);
    assert_eq!(&xlsx.bytes[..2], b"PK");
    // Filters and limits.
    let one = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-points?format=json&limit=1",
        )
        .await,
    );
    assert_eq!(one.len(), 1);
    let game = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-points?format=json&externalGameId=walks&externalTaskId=walk",
        )
        .await,
    );
    assert_eq!(game.len(), 4);
    let none = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-points?format=json&externalTaskId=run",
        )
        .await,
    );
    assert!(none.is_empty());
    let future = json_rows(
        &export(
            &app,
            &app.api_key,
            "/api/v1/exports/user-points?format=json&dateFrom=2999-01-01",
        )
        .await,
    );
    assert!(future.is_empty());
    let today = today();
    let dated = json_rows(
        &export(
            &app,
            &app.api_key,
            &format!("/api/v1/exports/user-points?format=json&dateFrom={today}&dateTo={today}"),
        )
        .await,
    );
    assert_eq!(dated.len(), 4);
    // The audit rows: completed, with their row counts and who asked.
    let history = app.call("GET", "/api/v1/exports/history", None).await;
    assert_eq!(history.status, 200, "{}", history.text);
    let rows = history.body.as_array().unwrap();
    assert_eq!(rows.len(), 11, "the eleven exports above");
    assert!(rows.iter().all(|r| r["status"] == "completed"));
    assert_eq!(rows[0]["datasetType"], "user-points");
    assert_eq!(rows[0]["rowCount"], 4);
    assert_eq!(rows[0]["filters"]["dateFrom"], json!(today));
    assert!(
        rows[0]["requestedBy"]
            .as_str()
            .unwrap()
            .starts_with("gme_live_")
    );
    let theirs = app
        .call_as(
            Some(&other),
            "GET",
            "/api/v1/exports/history?scope=all",
            None,
        )
        .await;
    assert_eq!(theirs.body.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bad_export_requests_are_problems() {
    let app = TestApp::new().await;
    let client_key = app.mint_key(&app.tenant, "client").await;
    let other = app.other_tenant_key().await;
    seed(&app, &other, "theirs", &["ana"], 1).await;
    let before = app.item_count().await;
    for (path, status, code) in [
        ("/api/v1/exports/users?limit=0", 422, "invalid_export_limit"),
        (
            "/api/v1/exports/users?limit=100001",
            422,
            "invalid_export_limit",
        ),
        (
            "/api/v1/exports/users?limit=ten",
            422,
            "invalid_export_limit",
        ),
        (
            "/api/v1/exports/users?format=pdf",
            422,
            "invalid_export_format",
        ),
        (
            "/api/v1/exports/user-points?dateFrom=yesterday",
            400,
            "invalid_date",
        ),
        (
            "/api/v1/exports/user-points?dateFrom=2026-05-02&dateTo=2026-05-01",
            400,
            "invalid_date_range",
        ),
        (
            "/api/v1/exports/history?scope=everyone",
            422,
            "invalid_export_scope",
        ),
        (
            "/api/v1/exports/history?limit=201",
            422,
            "invalid_export_limit",
        ),
    ] {
        export(&app, &app.api_key, path)
            .await
            .assert_problem(status, code);
    }
    assert_eq!(
        app.item_count().await,
        before,
        "refused exports leave no audit row"
    );
    for path in [
        "/api/v1/exports/users",
        "/api/v1/exports/user-points",
        "/api/v1/exports/user-interactions",
        "/api/v1/exports/wallet-transactions",
        "/api/v1/exports/history",
    ] {
        export(&app, &client_key, path)
            .await
            .assert_problem(403, "admin_required");
    }
    // Another tenant's game is not found, exactly like a missing one.
    export(
        &app,
        &app.api_key,
        "/api/v1/exports/user-points?externalGameId=theirs",
    )
    .await
    .assert_problem(404, "game_not_found");
    export(
        &app,
        &app.api_key,
        "/api/v1/exports/user-interactions?externalGameId=nowhere",
    )
    .await
    .assert_problem(404, "game_not_found");
}

fn s3_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL_S3")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER"))
        .expect("the stack exports moto's endpoint")
}

#[tokio::test]
async fn a_large_export_goes_to_the_bucket_behind_a_presigned_url() {
    let bucket = game_tests::unique("exports");
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .endpoint_url(s3_endpoint())
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("create bucket in moto");
    let app = TestApp::configured(|config| {
        config.exports.bucket = Some(bucket.clone());
        config.exports.inline_max_bytes = 200;
        config.exports.path_style = true;
    })
    .await;
    seed(&app, &app.api_key, "big", &["ana", "bob", "cat"], 6).await;
    let answer = export(&app, &app.api_key, "/api/v1/exports/user-points").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.content_type(), "application/json");
    assert_eq!(answer.body["rowCount"], 6);
    assert_eq!(answer.body["status"], "completed");
    let url = answer.body["url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains(&bucket));
    // The URL alone (no key) fetches the file.
    let rest = url.split_once("://").unwrap().1;
    let (host, path) = rest.split_once('/').unwrap();
    let address: std::net::SocketAddr = host.parse().unwrap();
    let file = game_tests::http_request(address, "GET", &format!("/{path}"), &[], Vec::new()).await;
    assert_eq!(file.status, 200, "{}", file.text);
    assert!(file.text.starts_with("id,created_at,externalUserId"));
    assert_eq!(file.text.lines().count(), 7);
    let key = format!(
        "{}/{}/{}",
        app.tenant,
        answer.body["exportId"].as_str().unwrap(),
        answer.body["filename"].as_str().unwrap()
    );
    let stored = s3
        .head_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.content_type(), Some("text/csv; charset=utf-8"));
    let history = app.call("GET", "/api/v1/exports/history", None).await;
    assert_eq!(history.body[0]["delivery"], "url");
    assert_eq!(history.body[0]["rowCount"], 6);
    // Without a bucket, the same export is refused as too large.
    let unbucketed = TestApp::configured(|config| config.exports.inline_max_bytes = 200).await;
    seed(
        &unbucketed,
        &unbucketed.api_key,
        "big",
        &["ana", "bob", "cat"],
        6,
    )
    .await;
    export(
        &unbucketed,
        &unbucketed.api_key,
        "/api/v1/exports/user-points",
    )
    .await
    .assert_problem(413, "export_too_large");
    let failed = unbucketed
        .call("GET", "/api/v1/exports/history", None)
        .await;
    assert_eq!(failed.body[0]["status"], "failed");
    assert_eq!(failed.body[0]["failure"], "export_too_large");
}

#[tokio::test]
async fn strategy_graphs_draw_builtins_and_custom_programs() {
    let app = TestApp::new().await;
    let svg = app
        .call_as(None, "GET", "/api/v1/strategies/default/graph", None)
        .await;
    assert_eq!(svg.status, 200, "{}", svg.text);
    assert_eq!(svg.content_type(), "image/svg+xml");
    assert!(svg.text.starts_with("<svg "));
    for case in [
        "BasicEngagement",
        "PerformanceBonus",
        "IndividualAdjustment",
    ] {
        assert!(svg.text.contains(case), "{case}");
    }
    let dot = app
        .call_as(
            None,
            "GET",
            "/api/v1/strategies/greengageStrategy/graph?format=dot",
            None,
        )
        .await;
    assert_eq!(dot.status, 200);
    assert!(dot.text.starts_with("digraph \"greengageStrategy\" {"));
    assert!(dot.text.contains("Case 4.2 (DPTE)"));
    app.call_as(None, "GET", "/api/v1/strategies/nothing/graph", None)
        .await
        .assert_problem(404, "strategy_not_found");
    app.call_as(
        None,
        "GET",
        "/api/v1/strategies/default/graph?format=png",
        None,
    )
    .await
    .assert_problem(422, "invalid_graph_format");
    let ast = json!({"type": "program", "rules": [{"type": "rule", "id": "long-walk",
        "when": {"type": "compare", "op": ">", "left": {"type": "field", "path": "data.minutes"},
                 "right": {"type": "literal", "value": 30}},
        "then": [{"type": "assign_points", "value": {"type": "literal", "value": 5}, "case_name": "Long"}]}],
        "default": {"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "Short"}});
    let created = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "walks", "astJson": ast})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let version_id = created.body["id"].as_str().unwrap().to_owned();
    let family = created.body["familyId"].as_str().unwrap().to_owned();
    let draft = app
        .call(
            "GET",
            &format!("/api/v1/strategies/{version_id}/graph"),
            None,
        )
        .await;
    assert_eq!(draft.status, 200, "{}", draft.text);
    assert!(
        draft.text.contains("[long-walk] data.minutes &gt; 30"),
        "{}",
        draft.text
    );
    assert!(draft.text.contains("Short"));
    // Nothing published yet: the family has no program to draw.
    app.call(
        "GET",
        &format!("/api/v1/strategies/custom:{family}/graph"),
        None,
    )
    .await
    .assert_problem(422, "custom_strategy_not_published");
    let published = app
        .call(
            "POST",
            &format!("/api/v1/strategies/custom/{version_id}/publish"),
            None,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let drawn = app
        .call(
            "GET",
            &format!("/api/v1/strategies/custom:{family}/graph?format=dot"),
            None,
        )
        .await;
    assert_eq!(drawn.status, 200, "{}", drawn.text);
    assert!(drawn.text.contains("walks v1"));
    // Another tenant, and no credential, see nothing of it.
    let other = app.other_tenant_key().await;
    app.call_as(
        Some(&other),
        "GET",
        &format!("/api/v1/strategies/custom:{family}/graph"),
        None,
    )
    .await
    .assert_problem(422, "unknown_strategy");
    app.call_as(
        Some(&other),
        "GET",
        &format!("/api/v1/strategies/{version_id}/graph"),
        None,
    )
    .await
    .assert_problem(404, "custom_strategy_not_found");
    app.call_as(
        None,
        "GET",
        &format!("/api/v1/strategies/{version_id}/graph"),
        None,
    )
    .await
    .assert_problem(401, "missing_credentials");
}
