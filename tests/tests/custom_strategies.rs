//! Custom strategies: storage and lifecycle routes against DynamoDB Local.

use game_tests::TestApp;
use serde_json::{Value, json};

fn program(points: i64, case: &str) -> Value {
    json!({"type": "program", "rules": [], "default":
        {"type": "assign_points", "value": {"type": "literal", "value": points}, "case_name": case}})
}

async fn create(app: &TestApp, name: &str, points: i64) -> Value {
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": name, "astJson": program(points, "Flat")})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    r.body
}

/// Items other than rate-limit counters and execution-log rows (which every run may add).
async fn state_count(app: &TestApp) -> usize {
    entities(app)
        .await
        .into_iter()
        .filter(|e| e != "ratelimit" && e != "customStrategyRun")
        .count()
}

async fn entities(app: &TestApp) -> Vec<String> {
    app.items()
        .await
        .iter()
        .map(|item| {
            item.get("entity")
                .and_then(|e| e.as_s().ok())
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

fn path(id: &Value, rest: &str) -> String {
    format!("/api/v1/strategies/custom/{}{rest}", id.as_str().unwrap())
}

#[tokio::test]
async fn create_reads_back_normalised_and_names_are_unique_per_tenant() {
    let app = TestApp::new().await;
    let created = create(&app, "flat", 3).await;
    assert_eq!(created["version"], 1);
    assert_eq!(created["status"], "DRAFT");
    assert_eq!(created["type"], "DSL_FULL");
    // The stored AST is the normalised one: ids filled in.
    assert_eq!(created["astJson"]["id"], "p.program.0");
    let got = app.call("GET", &path(&created["id"], ""), None).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, created);

    let again = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "flat", "astJson": program(1, "X")})),
        )
        .await;
    again.assert_problem(409, "custom_strategy_name_exists");

    // Another tenant neither sees it nor collides with its name.
    let other = app.other_tenant_key().await;
    let theirs = app
        .call_as(Some(&other), "GET", &path(&created["id"], ""), None)
        .await;
    theirs.assert_problem(404, "custom_strategy_not_found");
    let same_name = app
        .call_as(
            Some(&other),
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "flat"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(same_name.status, 201, "{}", same_name.text);
    for bad in ["nope", "00000000-0000-0000-0000-000000000000.1", ""] {
        let r = app
            .call("GET", &format!("/api/v1/strategies/custom/{bad}x"), None)
            .await;
        r.assert_problem(404, "custom_strategy_not_found");
    }
}

#[tokio::test]
async fn invalid_programs_are_problem_json_with_dsl_code_and_node_id() {
    let app = TestApp::new().await;
    let bad_compare = json!({"type": "program", "rules": [{"type": "rule", "when":
        {"type": "compare", "op": "~", "left": {"type": "literal", "value": 1},
         "right": {"type": "literal", "value": 2}},
        "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "A"}]}]});
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "bad", "astJson": bad_compare})),
        )
        .await;
    r.assert_problem(400, "DSL_COMPARE_OP_NOT_ALLOWED");
    assert!(
        r.body["nodeId"]
            .as_str()
            .unwrap()
            .starts_with("p.program.0.rule.0")
    );

    // Too deep: a limit, 422.
    let mut cond = json!({"type": "literal", "value": true});
    for _ in 0..40 {
        cond = json!({"type": "not", "arg": cond});
    }
    let deep = json!({"type": "program", "rules": [{"type": "rule", "when": cond,
        "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "A"}]}]});
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "deep", "astJson": deep})),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    assert!(
        r.body["code"].as_str().unwrap().starts_with("DSL_"),
        "{}",
        r.text
    );
    assert!(r.body.get("nodeId").is_some());

    // Type rules.
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "x", "type": "DSL_EXTEND", "astJson": program(1, "A")})),
        )
        .await;
    r.assert_problem(400, "parent_required");
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "x", "type": "DSL_EXTEND", "parentStrategyId": "nope"})),
        )
        .await;
    r.assert_problem(404, "parent_strategy_not_found");
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "x", "parentStrategyId": "default"})),
        )
        .await;
    r.assert_problem(400, "parent_not_allowed");
    // Beyond what one item can hold: 422, not a DynamoDB error.
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "huge", "blocklyXml": "x".repeat(400_000)})),
        )
        .await;
    r.assert_problem(422, "custom_strategy_too_large");
    let r = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "bad\u{1}name"})),
        )
        .await;
    r.assert_problem(422, "invalid_field");
    assert_eq!(state_count(&app).await, 1, "only the test's API key exists");
}

#[tokio::test]
async fn draft_edits_in_place_published_forks_and_publish_archives_the_previous() {
    let app = TestApp::new().await;
    let v1 = create(&app, "life", 1).await;
    let edited = app
        .call(
            "PUT",
            &path(&v1["id"], ""),
            Some(json!({"astJson": program(2, "Two"), "description": "d"})),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    assert_eq!(edited.body["id"], v1["id"], "a draft edits in place");
    assert_eq!(edited.body["version"], 1);
    assert_eq!(edited.body["description"], "d");

    let published = app.call("POST", &path(&v1["id"], "/publish"), None).await;
    assert_eq!(published.status, 200, "{}", published.text);
    assert_eq!(published.body["status"], "PUBLISHED");
    assert!(published.body["publishedAt"].is_string());

    let fork = app
        .call(
            "PUT",
            &path(&v1["id"], ""),
            Some(json!({"astJson": program(3, "Three")})),
        )
        .await;
    assert_eq!(fork.status, 200, "{}", fork.text);
    assert_ne!(fork.body["id"], v1["id"]);
    assert_eq!(fork.body["version"], 2);
    assert_eq!(fork.body["status"], "DRAFT");
    let still = app.call("GET", &path(&v1["id"], ""), None).await;
    assert_eq!(still.body["status"], "PUBLISHED");
    assert_eq!(still.body["astJson"]["default"]["value"]["value"], 2);

    let p2 = app
        .call("POST", &path(&fork.body["id"], "/publish"), None)
        .await;
    assert_eq!(p2.status, 200, "{}", p2.text);
    let old = app.call("GET", &path(&v1["id"], ""), None).await;
    assert_eq!(
        old.body["status"], "ARCHIVED",
        "publishing archives the previous"
    );

    let versions = app
        .call("GET", &path(&fork.body["id"], "/versions"), None)
        .await;
    assert_eq!(versions.status, 200, "{}", versions.text);
    let list: Vec<(u64, String)> = versions
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_u64().unwrap(),
                v["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(list, [(2, "PUBLISHED".into()), (1, "ARCHIVED".into())]);

    // Archived: no edits, no publish.
    app.call(
        "PUT",
        &path(&v1["id"], ""),
        Some(json!({"description": "x"})),
    )
    .await
    .assert_problem(409, "custom_strategy_archived");
    app.call("POST", &path(&v1["id"], "/publish"), None)
        .await
        .assert_problem(409, "custom_strategy_archived");
    app.call(
        "PUT",
        &path(&v1["id"], ""),
        Some(json!({"name": "renamed"})),
    )
    .await
    .assert_problem(422, "name_immutable");

    // Rollback to v1: v1 published again, v2 archived.
    let rb = app
        .call("POST", &path(&fork.body["id"], "/rollback/1"), None)
        .await;
    assert_eq!(rb.status, 200, "{}", rb.text);
    assert_eq!(rb.body["version"], 1);
    assert_eq!(rb.body["status"], "PUBLISHED");
    let v2 = app.call("GET", &path(&fork.body["id"], ""), None).await;
    assert_eq!(v2.body["status"], "ARCHIVED");
    app.call("POST", &path(&fork.body["id"], "/rollback/1"), None)
        .await
        .assert_problem(409, "custom_strategy_already_published");
    app.call("POST", &path(&fork.body["id"], "/rollback/9"), None)
        .await
        .assert_problem(404, "custom_strategy_version_not_found");
    app.call("POST", &path(&fork.body["id"], "/rollback/0"), None)
        .await
        .assert_problem(422, "invalid_version");

    // Archive is idempotent; archiving the published version leaves nothing published.
    for _ in 0..2 {
        let a = app.call("POST", &path(&v1["id"], "/archive"), None).await;
        assert_eq!(a.status, 200, "{}", a.text);
        assert_eq!(a.body["status"], "ARCHIVED");
    }
    let published = app
        .call("GET", "/api/v1/strategies/custom?status=PUBLISHED", None)
        .await;
    assert_eq!(published.body["items"], json!([]));
}

#[tokio::test]
async fn publish_archive_rollback_are_admin_only() {
    let app = TestApp::new().await;
    let v1 = create(&app, "guarded", 1).await;
    let client = app.mint_key(&app.tenant, "client").await;
    for rest in ["/publish", "/archive", "/rollback/1"] {
        let r = app
            .call_as(Some(&client), "POST", &path(&v1["id"], rest), None)
            .await;
        r.assert_problem(403, "admin_required");
    }
    let still = app.call("GET", &path(&v1["id"], ""), None).await;
    assert_eq!(still.body["status"], "DRAFT");
    // A client may create and edit drafts.
    let edit = app
        .call_as(
            Some(&client),
            "PUT",
            &path(&v1["id"], ""),
            Some(json!({"description": "by client"}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(edit.status, 200, "{}", edit.text);
}

#[tokio::test]
async fn list_filters_pages_and_does_not_collide_with_the_catalogue() {
    let app = TestApp::new().await;
    let a = create(&app, "alpha", 1).await;
    create(&app, "beta", 1).await;
    let ext = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(
                json!({"name": "gamma", "type": "DSL_EXTEND", "parentStrategyId": "default",
                        "astJson": {"type": "program", "rules": [], "post_rules": []}}),
            ),
        )
        .await;
    assert_eq!(ext.status, 201, "{}", ext.text);
    app.call("POST", &path(&a["id"], "/publish"), None).await;

    let all = app.call("GET", "/api/v1/strategies/custom", None).await;
    assert_eq!(all.status, 200, "{}", all.text);
    let names: Vec<&str> = all.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta", "gamma"]);

    let published = app
        .call("GET", "/api/v1/strategies/custom?status=PUBLISHED", None)
        .await;
    assert_eq!(published.body["items"].as_array().unwrap().len(), 1);
    assert_eq!(published.body["items"][0]["name"], "alpha");
    let extend = app
        .call("GET", "/api/v1/strategies/custom?type=DSL_EXTEND", None)
        .await;
    assert_eq!(extend.body["items"][0]["name"], "gamma");
    app.call("GET", "/api/v1/strategies/custom?status=LIVE", None)
        .await
        .assert_problem(422, "invalid_status");

    let page1 = app
        .call("GET", "/api/v1/strategies/custom?page_size=2", None)
        .await;
    assert_eq!(page1.body["items"].as_array().unwrap().len(), 2);
    let token = page1.body["nextToken"].as_str().unwrap();
    let page2 = app
        .call(
            "GET",
            &format!("/api/v1/strategies/custom?page_size=2&nextToken={token}"),
            None,
        )
        .await;
    assert_eq!(page2.body["items"][0]["name"], "gamma");

    // The built-in catalogue is unaffected.
    let catalogue = app.call_as(None, "GET", "/api/v1/strategies", None).await;
    assert_eq!(catalogue.status, 200);
    assert!(catalogue.body.is_array());
    let builtin = app
        .call_as(None, "GET", "/api/v1/strategies/default", None)
        .await;
    assert_eq!(builtin.body["id"], "default");
    // Custom routes need a caller.
    let anonymous = app
        .call_as(None, "GET", "/api/v1/strategies/custom", None)
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
}

#[tokio::test]
async fn templates_are_served_and_import_renames_on_collision() {
    let app = TestApp::new().await;
    let t = app
        .call("GET", "/api/v1/strategies/custom/templates", None)
        .await;
    assert_eq!(t.status, 200, "{}", t.text);
    let ids: Vec<&str> = t
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "bonus_extiende_default",
            "bonus_por_velocidad",
            "engagement_basico",
            "recompensa_completar_tarea"
        ]
    );

    create(&app, "imported", 1).await;
    let body = json!({"name": "imported", "astJson": program(4, "Four"), "blocklyXml": "<xml/>"});
    let r = app
        .call("POST", "/api/v1/strategies/custom/import", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let name = r.body["name"].as_str().unwrap();
    assert!(name.starts_with("imported (importada 20"), "{name}");
    assert_eq!(r.body["blocklyXml"], "<xml/>");
    let missing = app
        .call(
            "POST",
            "/api/v1/strategies/custom/import",
            Some(json!({"name": "n", "astJson": program(1, "A")})),
        )
        .await;
    missing.assert_problem(422, "blockly_xml_required");
}

fn family(v: &Value) -> String {
    v["familyId"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn games_and_tasks_take_custom_strategies_and_follow_the_published_version() {
    let app = TestApp::new().await;
    let v1 = create(&app, "assigned", 1).await;
    let fam = family(&v1);
    let by_family = format!("custom:{fam}");

    // A draft-only family cannot be assigned.
    let draft = app
        .call(
            "POST",
            "/api/v1/games",
            Some(json!({"externalGameId": "g-draft", "platform": "web", "strategyId": by_family})),
        )
        .await;
    draft.assert_problem(422, "custom_strategy_not_published");
    app.call("POST", &path(&v1["id"], "/publish"), None).await;

    // Create (not only patch) accepts custom:<familyId>; tasks inherit it.
    let game_id = app
        .create_game("g-custom", json!({"strategyId": by_family}))
        .await;
    let task = app.create_task(&game_id, "t1", json!({})).await;
    assert_eq!(task["strategyId"], by_family.as_str());
    assert_eq!(task["strategy"]["name"], "assigned");
    assert_eq!(task["strategy"]["version"], 1);

    let strategy = app
        .call("GET", &format!("/api/v1/games/{game_id}/strategy"), None)
        .await;
    assert_eq!(strategy.status, 200, "{}", strategy.text);
    assert_eq!(strategy.body["id"], by_family.as_str());
    assert_eq!(strategy.body["version"], 1);
    assert_eq!(strategy.body["status"], "PUBLISHED");

    // A new published version switches every consumer: nothing to re-point.
    let fork = app
        .call(
            "PUT",
            &path(&v1["id"], ""),
            Some(json!({"astJson": program(9, "Nine")})),
        )
        .await;
    app.call("POST", &path(&fork.body["id"], "/publish"), None)
        .await;
    let strategy = app
        .call("GET", &format!("/api/v1/games/{game_id}/strategy"), None)
        .await;
    assert_eq!(strategy.body["version"], 2);
    assert_eq!(strategy.body["astJson"]["default"]["value"]["value"], 9);
    let listed = app
        .call("GET", &format!("/api/v1/games/{game_id}/tasks"), None)
        .await;
    assert_eq!(listed.body["items"][0]["strategy"]["version"], 2);

    // custom:<id> of a version names the same family; patching a task to it works.
    let by_id = format!("custom:{}", v1["id"].as_str().unwrap());
    let patched = app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}/tasks/t1"),
            Some(json!({"strategyId": by_id})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["strategy"]["version"], 2);
    let got = app
        .call("GET", &format!("/api/v1/games/{game_id}/tasks/t1"), None)
        .await;
    assert_eq!(got.body["strategy"]["familyId"], fam.as_str());
    let bulk = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/bulk"),
            Some(
                json!({"tasks": [{"externalTaskId": "t-bulk", "strategyId": by_id},
                                  {"externalTaskId": "t-bad", "strategyId": "custom:nope"}]}),
            ),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.text);
    assert_eq!(
        bulk.body["succesfully_created"][0]["strategy"]["version"],
        2
    );
    assert_eq!(bulk.body["failed_to_create"][0]["code"], "unknown_strategy");

    // Another tenant cannot assign this family; unknown custom ids are 422.
    let other = app.other_tenant_key().await;
    let theirs = app
        .call_as(
            Some(&other),
            "POST",
            "/api/v1/games",
            Some(
                json!({"externalGameId": "g-other", "platform": "web", "strategyId": by_family})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    theirs.assert_problem(422, "unknown_strategy");
    let patch = app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}"),
            Some(json!({"strategyId": "custom:not-a-family"})),
        )
        .await;
    patch.assert_problem(422, "unknown_strategy");
    // Built-ins still validate as before.
    let builtin = app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}"),
            Some(json!({"strategyId": "nope"})),
        )
        .await;
    builtin.assert_problem(422, "unknown_strategy");
}

fn lit(v: Value) -> Value {
    json!({"type": "literal", "value": v})
}

fn assign(points: Value, case: &str) -> Value {
    json!({"type": "assign_points", "value": points, "case_name": case})
}

/// Creates `name` with `ast` (of `kind`), publishes it and answers the version.
async fn published(app: &TestApp, name: &str, body: Value) -> Value {
    let mut body = body;
    body["name"] = json!(name);
    let r = app
        .call("POST", "/api/v1/strategies/custom", Some(body))
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let p = app
        .call("POST", &path(&r.body["id"], "/publish"), None)
        .await;
    assert_eq!(p.status, 200, "{}", p.text);
    p.body
}

async fn award(
    app: &TestApp,
    game_id: &str,
    task: &str,
    user: &str,
    data: Value,
) -> game_tests::TestResponse {
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/{task}/points"),
        Some(json!({"externalUserId": user, "data": data})),
    )
    .await
}

#[tokio::test]
async fn awards_run_the_families_published_version() {
    let app = TestApp::new().await;
    // First completion of the task by anyone: 5 "First"; afterwards 2 "Again".
    let first = json!({"type": "program", "rules": [{"type": "rule",
        "when": {"type": "compare", "op": "==",
                 "left": {"type": "field", "path": "task.measurements_count"}, "right": lit(json!(0))},
        "then": [assign(lit(json!(5)), "First")]}],
        "default": assign(lit(json!(2.5)), "Again")});
    let v1 = published(&app, "award-me", json!({"astJson": first})).await;
    let strategy_id = format!("custom:{}", family(&v1));
    let game_id = app
        .create_game("g-award", json!({"strategyId": strategy_id}))
        .await;
    app.create_task(&game_id, "t1", json!({})).await;

    let a = award(&app, &game_id, "t1", "user-1", json!({})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.body["points"], 5);
    assert_eq!(a.body["caseName"], "First");
    let b = award(&app, &game_id, "t1", "user-2", json!({})).await;
    assert_eq!(b.status, 200, "{}", b.text);
    assert_eq!(b.body["points"], 2.5);
    assert_eq!(b.body["caseName"], "Again");
    let wallet = app.call("GET", "/api/v1/users/user-2/wallet", None).await;
    assert_eq!(wallet.status, 200, "{}", wallet.text);

    // Publishing v2 switches the game at once.
    let fork = app
        .call(
            "PUT",
            &path(&v1["id"], ""),
            Some(json!({"astJson": {"type": "program", "rules": [], "default": assign(lit(json!(7)), "V2")}})),
        )
        .await;
    app.call("POST", &path(&fork.body["id"], "/publish"), None)
        .await;
    let c = award(&app, &game_id, "t1", "user-1", json!({})).await;
    assert_eq!(
        (c.body["points"].clone(), c.body["caseName"].clone()),
        (json!(7), json!("V2")),
        "{}",
        c.text
    );

    // Rollback to v1 switches back.
    app.call("POST", &path(&fork.body["id"], "/rollback/1"), None)
        .await;
    let d = award(&app, &game_id, "t1", "user-3", json!({})).await;
    assert_eq!(d.body["caseName"], "Again", "{}", d.text);

    // Archiving the published version: the family has nothing to run, awards refuse.
    app.call("POST", &path(&v1["id"], "/archive"), None).await;
    let before = state_count(&app).await;
    let e = award(&app, &game_id, "t1", "user-1", json!({})).await;
    e.assert_problem(422, "custom_strategy_not_published");
    assert_eq!(
        state_count(&app).await,
        before,
        "a refused award writes nothing"
    );
}

#[tokio::test]
async fn custom_award_errors_are_problem_json_never_500() {
    let app = TestApp::new().await;
    // No rule matches and no default: 422.
    let no_match = json!({"type": "program", "rules": [{"type": "rule",
        "when": {"type": "field", "path": "data.flag"},
        "then": [assign(lit(json!(1)), "Flag")]}]});
    let nm = published(&app, "no-match", json!({"astJson": no_match})).await;
    // Division by a data field: a runtime error with its node id.
    let divide = json!({"type": "program", "rules": [], "default": assign(
        json!({"type": "arith", "id": "div", "op": "/", "left": lit(json!(10)),
               "right": {"type": "field", "path": "data.by"}}), "Div")});
    let dv = published(&app, "divide", json!({"astJson": divide})).await;
    // DSL_EXTEND of default: double the parent's points.
    let extend = json!({"type": "program", "rules": [], "post_rules": [{"type": "rule",
        "when": lit(json!(true)),
        "then": [{"type": "set_points", "value": {"type": "arith", "op": "*",
            "left": {"type": "field", "path": "parent.points"}, "right": lit(json!(2))}},
                 {"type": "set_case_name", "value": lit(json!("Doubled"))}]}]});
    let ex = published(
        &app,
        "extend",
        json!({"type": "DSL_EXTEND", "parentStrategyId": "default", "astJson": extend}),
    )
    .await;

    let game_id = app.create_game("g-errors", json!({})).await;
    for (task, v) in [("nm", &nm), ("dv", &dv), ("ex", &ex)] {
        app.create_task(
            &game_id,
            task,
            json!({"strategyId": format!("custom:{}", v["id"].as_str().unwrap())}),
        )
        .await;
    }
    let before = state_count(&app).await;
    award(&app, &game_id, "nm", "user-1", json!({}))
        .await
        .assert_problem(422, "custom_strategy_no_match");
    let flagged = award(&app, &game_id, "nm", "user-1", json!({"flag": true})).await;
    assert_eq!(flagged.body["caseName"], "Flag", "{}", flagged.text);
    let after_flag = state_count(&app).await;
    assert!(after_flag > before);

    let zero = award(&app, &game_id, "dv", "user-1", json!({"by": 0})).await;
    zero.assert_problem(400, "DSL_ARITH_DIV_BY_ZERO");
    let logged = entities(&app).await;
    assert!(
        logged.iter().any(|e| e == "customStrategyRun"),
        "failures are always logged"
    );
    assert_eq!(zero.body["nodeId"], "div");
    let text = award(&app, &game_id, "dv", "user-1", json!({"by": "x"})).await;
    text.assert_problem(400, "DSL_ARITH_TYPE_MISMATCH");
    assert_eq!(
        state_count(&app).await,
        after_flag,
        "refused awards write nothing"
    );
    let ok = award(&app, &game_id, "dv", "user-1", json!({"by": 4})).await;
    assert_eq!(ok.body["points"], 2.5, "{}", ok.text);

    // default's first award on a task is 1 BasicEngagement; doubled by the post rule.
    let doubled = award(&app, &game_id, "ex", "user-1", json!({})).await;
    assert_eq!(doubled.status, 200, "{}", doubled.text);
    assert_eq!(doubled.body["caseName"], "Doubled");
    assert_eq!(doubled.body["points"], 2);
}

#[tokio::test]
async fn simulate_uses_real_analytics_unless_mocked_runs_extend_fully_and_persists_nothing() {
    let app = TestApp::new().await;
    let game_id = app.create_game("g-sim", json!({})).await;
    app.create_task(&game_id, "t1", json!({})).await;
    for user in ["user-1", "user-2"] {
        let a = award(&app, &game_id, "t1", user, json!({})).await;
        assert_eq!(a.status, 200, "{}", a.text);
    }
    let count_program = json!({"type": "program", "rules": [], "default": assign(
        json!({"type": "field", "id": "n", "path": "task.measurements_count"}), "Count")});
    let sim = |extra: Value| {
        let mut body = json!({"externalGameId": "g-sim", "externalTaskId": "t1",
                              "externalUserId": "user-1", "astJson": count_program});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let before = state_count(&app).await;
    let real = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(sim(json!({}))),
        )
        .await;
    assert_eq!(real.status, 200, "{}", real.text);
    assert_eq!(real.body["points"], 2, "two awards on the task so far");
    assert_eq!(real.body["caseName"], "Count");
    assert!(
        real.body["executionTrace"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["nodeId"] == "n")
    );
    let mocked = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(sim(json!({"mockState": {"task.measurements_count": 40}}))),
        )
        .await;
    assert_eq!(mocked.body["points"], 40, "{}", mocked.text);
    // A game that does not exist: no analytics, zero counts.
    let none = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(sim(json!({"externalGameId": "g-none"}))),
        )
        .await;
    assert_eq!(none.body["points"], 0, "{}", none.text);

    // DSL_EXTEND runs pre, parent and post (GAME ran only the full mode).
    let extend = json!({"type": "program", "rules": [],
        "pre_rules": [{"type": "rule", "when": {"type": "field", "path": "data.blocked"},
                       "then": [{"type": "veto", "case_name": "Blocked"}]}],
        "post_rules": [{"type": "rule", "when": lit(json!(true)),
        "then": [{"type": "set_points", "value": {"type": "arith", "op": "*",
            "left": {"type": "field", "path": "parent.points"}, "right": lit(json!(10))}}]}]});
    let ext_body = |data: Value| {
        json!({"externalGameId": "g-sim", "externalTaskId": "t1", "externalUserId": "user-9",
               "type": "DSL_EXTEND", "parentStrategyId": "default", "astJson": extend,
               "data": data})
    };
    let full = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(ext_body(json!({}))),
        )
        .await;
    assert_eq!(full.status, 200, "{}", full.text);
    // default for a user's first award on a task with 2 awards: 1 default → ×10.
    assert_eq!(full.body["parent"]["points"], 1, "{}", full.text);
    assert_eq!(full.body["points"], 10.0);
    let vetoed = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(ext_body(json!({"blocked": true}))),
        )
        .await;
    assert_eq!(vetoed.status, 200, "{}", vetoed.text);
    assert_eq!(vetoed.body["vetoed"], true);
    assert_eq!(vetoed.body["caseName"], "Blocked");

    // Errors: problem+json with the code, node id and the trace so far.
    let bad = app
        .call(
            "POST",
            "/api/v1/strategies/custom/simulate",
            Some(
                json!({"externalGameId": "g-sim", "externalTaskId": "t1", "externalUserId": "u",
                "astJson": {"type": "program", "rules": [], "default": assign(
                    json!({"type": "arith", "id": "div", "op": "/", "left": lit(json!(1)),
                           "right": lit(json!(0))}), "X")}}),
            ),
        )
        .await;
    bad.assert_problem(400, "DSL_ARITH_DIV_BY_ZERO");
    assert_eq!(bad.body["nodeId"], "div");
    assert!(bad.body["executionTrace"].is_array());
    app.call(
        "POST",
        "/api/v1/strategies/custom/simulate",
        Some(json!({"externalGameId": "g", "externalTaskId": "t", "externalUserId": "u"})),
    )
    .await
    .assert_problem(400, "DSL_NO_AST_TO_SIMULATE");

    // A stored version simulates whatever its status; one without a program cannot.
    let stored = create(&app, "stored", 6).await;
    let s = app
        .call(
            "POST",
            &path(&stored["id"], "/simulate"),
            Some(json!({"externalGameId": "g-sim", "externalTaskId": "t1", "externalUserId": "u"})),
        )
        .await;
    assert_eq!(s.status, 200, "{}", s.text);
    assert_eq!(s.body["points"], 6);
    let empty = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "empty"})),
        )
        .await;
    app.call(
        "POST",
        &path(&empty.body["id"], "/simulate"),
        Some(json!({"externalGameId": "g-sim", "externalTaskId": "t1", "externalUserId": "u"})),
    )
    .await
    .assert_problem(400, "DSL_NO_AST_TO_SIMULATE");
    assert_eq!(
        state_count(&app).await,
        before + 6,
        "simulations persist nothing (the 6 items are the two strategies' marker, family, v1)"
    );
}

#[tokio::test]
async fn usage_lists_the_games_and_tasks_of_the_family() {
    let app = TestApp::new().await;
    let v1 = published(&app, "used", json!({"astJson": program(1, "One")})).await;
    let by_family = format!("custom:{}", family(&v1));
    let by_id = format!("custom:{}", v1["id"].as_str().unwrap());
    let g1 = app
        .create_game("g-use-1", json!({"strategyId": by_family}))
        .await;
    app.create_task(&g1, "t1", json!({})).await; // inherits
    let g2 = app.create_game("g-use-2", json!({})).await;
    app.create_task(&g2, "t2", json!({"strategyId": by_id}))
        .await;
    app.create_task(&g2, "t3", json!({})).await; // default: not a use
    let other = published(&app, "unused", json!({"astJson": program(1, "One")})).await;

    let usage = app.call("GET", &path(&v1["id"], "/usage"), None).await;
    assert_eq!(usage.status, 200, "{}", usage.text);
    assert_eq!(usage.body["gameCount"], 1);
    assert_eq!(usage.body["taskCount"], 2);
    assert_eq!(usage.body["games"][0]["gameId"], g1.as_str());
    let mut tasks: Vec<&str> = usage.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["externalTaskId"].as_str().unwrap())
        .collect();
    tasks.sort();
    assert_eq!(tasks, ["t1", "t2"]);
    let none = app.call("GET", &path(&other["id"], "/usage"), None).await;
    assert_eq!(
        (
            none.body["gameCount"].clone(),
            none.body["taskCount"].clone()
        ),
        (json!(0), json!(0))
    );
    let theirs = app.other_tenant_key().await;
    app.call_as(Some(&theirs), "GET", &path(&v1["id"], "/usage"), None)
        .await
        .assert_problem(404, "custom_strategy_not_found");
}

#[tokio::test]
async fn runs_are_logged_and_metrics_and_compare_aggregate_them() {
    let app = TestApp::new().await;
    app.ctx.custom.set_log_sample_rate(1.0);
    let divide = json!({"type": "program", "rules": [], "default": assign(
        json!({"type": "arith", "op": "/", "left": lit(json!(10)),
               "right": {"type": "field", "path": "data.by"}}), "Div")});
    let v1 = published(&app, "observed", json!({"astJson": divide})).await;
    let v2 = published(&app, "other", json!({"astJson": program(3, "Three")})).await;
    let game_id = app.create_game("g-obs", json!({})).await;
    app.create_task(
        &game_id,
        "t1",
        json!({"strategyId": format!("custom:{}", family(&v1))}),
    )
    .await;
    app.create_task(
        &game_id,
        "t2",
        json!({"strategyId": format!("custom:{}", family(&v2))}),
    )
    .await;
    for (user, by) in [
        ("user-1", json!(2)),
        ("user-2", json!(4)),
        ("user-3", json!(0)),
    ] {
        award(&app, &game_id, "t1", user, json!({"by": by})).await;
    }
    award(&app, &game_id, "t2", "user-1", json!({})).await;

    let m = app.call("GET", &path(&v1["id"], "/metrics"), None).await;
    assert_eq!(m.status, 200, "{}", m.text);
    assert_eq!(m.body["statusBreakdown"]["total"], 3, "{}", m.text);
    assert_eq!(m.body["statusBreakdown"]["ok"], 2);
    assert_eq!(m.body["statusBreakdown"]["error"], 1);
    assert_eq!(m.body["topErrors"][0]["code"], "DSL_ARITH_DIV_BY_ZERO");
    assert_eq!(
        m.body["topCases"][0],
        json!({"caseName": "Div", "count": 2})
    );
    assert_eq!(m.body["pointsSum"], 7.5);
    assert_eq!(m.body["duration"]["sampleSize"], 3);

    // A window in the future holds nothing.
    let later = app
        .call(
            "GET",
            &format!("{}?since=2999-01-01T00:00:00Z", path(&v1["id"], "/metrics")),
            None,
        )
        .await;
    assert_eq!(later.body["statusBreakdown"]["total"], 0, "{}", later.text);
    app.call(
        "GET",
        &format!("{}?since=yesterday", path(&v1["id"], "/metrics")),
        None,
    )
    .await
    .assert_problem(422, "invalid_datetime");
    // A window that ends before it starts (found by the schema fuzzer: it answered 500).
    app.call(
        "GET",
        &format!(
            "{}?since=2030-01-01T00:00:00Z&until=2020-01-01T00:00:00Z",
            path(&v1["id"], "/metrics")
        ),
        None,
    )
    .await
    .assert_problem(422, "invalid_datetime");

    let c = app
        .call(
            "GET",
            &format!(
                "/api/v1/strategies/custom/compare?a={}&b={}",
                v1["id"].as_str().unwrap(),
                v2["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    // b: one ok run of 3 points; a: 2 of 3 ok, 7.5 points over 3 runs.
    let d = &c.body["delta"];
    assert!(
        (d["successRate"].as_f64().unwrap() - (1.0 - 2.0 / 3.0)).abs() < 1e-9,
        "{}",
        c.text
    );
    assert!((d["pointsAvg"].as_f64().unwrap() - (3.0 - 2.5)).abs() < 1e-9);
    app.call("GET", "/api/v1/strategies/custom/compare?a=x", None)
        .await
        .assert_problem(422, "missing_query");
    // The log is the tenant's: another tenant sees a 404.
    let other = app.other_tenant_key().await;
    app.call_as(Some(&other), "GET", &path(&v1["id"], "/metrics"), None)
        .await
        .assert_problem(404, "custom_strategy_not_found");
}

/// Runs the calls concurrently (one task each) and answers the responses in order.
async fn concurrently(
    app: &std::sync::Arc<TestApp>,
    calls: Vec<(&'static str, String, Option<Value>)>,
) -> Vec<game_tests::TestResponse> {
    let handles: Vec<_> = calls
        .into_iter()
        .map(|(method, path, body)| {
            let app = app.clone();
            tokio::spawn(async move { app.call(method, &path, body).await })
        })
        .collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap());
    }
    out
}

#[tokio::test]
async fn concurrent_forks_get_distinct_versions_and_concurrent_publishes_leave_one_published() {
    let app = std::sync::Arc::new(TestApp::new().await);
    let v1 = published(&app, "raced", json!({"astJson": program(1, "One")})).await;
    // Eight concurrent edits of the published version: each fork gets its own version.
    let forks = concurrently(
        &app,
        (0..8)
            .map(|i| {
                (
                    "PUT",
                    path(&v1["id"], ""),
                    Some(json!({"astJson": program(10 + i, "Fork")})),
                )
            })
            .collect(),
    )
    .await;
    for r in &forks {
        assert!(r.status == 200 || r.status == 409, "{}", r.text);
    }
    let ids: Vec<Value> = forks
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.body["id"].clone())
        .collect();
    let mut versions: Vec<u64> = forks
        .iter()
        .filter(|r| r.status == 200)
        .map(|r| r.body["version"].as_u64().unwrap())
        .collect();
    assert!(versions.len() >= 2, "some forks commit");
    let n = versions.len();
    versions.sort();
    versions.dedup();
    assert_eq!(versions.len(), n, "(tenant, name, version) is unique");

    // Publish every fork at once: whatever the interleaving, exactly one version ends up
    // published and the family runs it.
    let publishes = concurrently(
        &app,
        ids.iter()
            .map(|id| ("POST", path(id, "/publish"), None))
            .collect(),
    )
    .await;
    for r in &publishes {
        assert!(r.status == 200 || r.status == 409, "{}", r.text);
    }
    let all = app.call("GET", &path(&v1["id"], "/versions"), None).await;
    let published_versions: Vec<u64> = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["status"] == "PUBLISHED")
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(published_versions.len(), 1, "{}", all.text);
    let game_id = app
        .create_game(
            "g-raced",
            json!({"strategyId": format!("custom:{}", family(&v1))}),
        )
        .await;
    let strategy = app
        .call("GET", &format!("/api/v1/games/{game_id}/strategy"), None)
        .await;
    assert_eq!(strategy.body["version"], published_versions[0]);
}

/// Tenancy over every custom-strategy route with an `{id}` (the generic tenancy test treats
/// `/strategies/{id}` as the public catalogue): tenant A's admin key with tenant B's id is
/// 404, and nothing of B's changes. Routes added later are covered automatically.
#[tokio::test]
async fn every_custom_id_route_is_tenant_scoped() {
    let app = TestApp::new().await;
    let b_key = app.other_tenant_key().await;
    let as_b = |method: &'static str, path: String, body: Value| {
        let key = b_key.clone();
        let app = &app;
        async move {
            app.call_as(
                Some(&key),
                method,
                &path,
                Some(body.to_string().into_bytes()),
            )
            .await
        }
    };
    let created = as_b(
        "POST",
        "/api/v1/strategies/custom".into(),
        json!({"name": "b-strategy", "astJson": program(1, "B")}),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let b_id = created.body["id"].as_str().unwrap().to_owned();
    let published = as_b(
        "POST",
        format!("/api/v1/strategies/custom/{b_id}/publish"),
        json!({}),
    )
    .await;
    assert_eq!(published.status, 200, "{}", published.text);
    let b_versions = || {
        as_b(
            "GET",
            format!("/api/v1/strategies/custom/{b_id}/versions"),
            json!({}),
        )
    };
    let before = b_versions().await.body;
    let mut covered = Vec::new();
    for route in game_functions::routes::ROUTES {
        if !route.path.starts_with("/api/v1/strategies/custom/{id}") {
            continue;
        }
        let path = route.path.replace("{id}", &b_id).replace("{version}", "1");
        let body = match route.method.as_str() {
            "PUT" => Some(json!({"description": "A was here"})),
            "POST" => {
                Some(json!({"externalGameId": "g", "externalTaskId": "t", "externalUserId": "u"}))
            }
            _ => None,
        };
        let body = if path.ends_with("/publish")
            || path.ends_with("/archive")
            || path.contains("/rollback/")
        {
            None
        } else {
            body
        };
        let r = app.call(route.method.as_str(), &path, body).await;
        assert_eq!(r.status, 404, "{} {path}: {}", route.method, r.text);
        r.assert_problem(404, "custom_strategy_not_found");
        covered.push(route.name);
    }
    assert!(covered.len() >= 9, "{covered:?}");
    let compare = app
        .call(
            "GET",
            &format!("/api/v1/strategies/custom/compare?a={b_id}&b={b_id}"),
            None,
        )
        .await;
    compare.assert_problem(404, "custom_strategy_not_found");
    assert_eq!(b_versions().await.body, before, "nothing of B changed");
    let listed = app.call("GET", "/api/v1/strategies/custom", None).await;
    assert_eq!(listed.body["items"], json!([]));
}

#[tokio::test]
async fn extending_greencrowd_awards_and_simulates() {
    let app = TestApp::new().await;
    // Post rule: the parent's (greencrowd's) points plus 1, with its own case name.
    let plus_one = json!({"type": "program", "rules": [], "post_rules": [{"type": "rule",
        "when": lit(json!(true)),
        "then": [{"type": "set_points", "value": {"type": "arith", "op": "+",
            "left": {"type": "field", "path": "parent.points"}, "right": lit(json!(1))}},
                 {"type": "set_case_name", "value": lit(json!("CrowdPlusOne"))}]}]});
    let v = published(
        &app,
        "crowd-plus",
        json!({"type": "DSL_EXTEND", "parentStrategyId": "greencrowdStrategy", "astJson": plus_one}),
    )
    .await;
    let game_id = app.create_game("g-crowd-extend", json!({})).await;
    app.create_task(
        &game_id,
        "task_park_1",
        json!({"strategyId": "greencrowdStrategy"}),
    )
    .await;
    app.create_task(
        &game_id,
        "task_lake_1",
        json!({"strategyId": format!("custom:{}", family(&v))}),
    )
    .await;

    // Scored on a greencrowd simulation that includes the custom task itself.
    let awarded = award(&app, &game_id, "task_lake_1", "walker", json!({})).await;
    assert_eq!(awarded.status, 200, "{}", awarded.text);
    assert_eq!(awarded.body["caseName"], "CrowdPlusOne");
    let points = awarded.body["points"].as_f64().unwrap();
    // A dry run simulates greencrowd for the custom task on the spot, as the award did.
    let dry_run = app
        .call(
            "POST",
            &path(&v["id"], "/simulate"),
            Some(json!({"externalGameId": "g-crowd-extend", "externalTaskId": "task_lake_1", "externalUserId": "walker"})),
        )
        .await;
    assert_eq!(dry_run.status, 200, "{}", dry_run.text);
    assert_eq!(dry_run.body["caseName"], "CrowdPlusOne");
    assert!(points >= 1.0, "the parent's points plus one: {points}");
    // The award recorded greencrowd's aggregates for the custom task.
    let (pk, sk) =
        game_functions::store::greencrowd::game_key(&app.tenant_id(), &game_tests::id(&game_id));
    let state = game_functions::domain::greencrowd::GameState::from_item(
        &app.ctx.store.get(pk, sk).await.unwrap().unwrap(),
    );
    assert_eq!(state.slots["task_lake_1"].iter().sum::<u64>(), 1);
}

/// Points no award can give (infinite, NaN, beyond an exact decimal): the simulator answers
/// the award's refusal, status and code, instead of a 200 with `"points": null`.
#[tokio::test]
async fn simulate_refuses_the_points_the_award_refuses() {
    let app = TestApp::new().await;
    let game_id = app.create_game("g-points", json!({})).await;
    let arith = |op: &str, left: Value, right: Value| json!({"type": "arith", "op": op, "left": left, "right": right});
    let infinity = arith("*", lit(json!(1e308)), lit(json!(10)));
    let cases = [
        ("huge", lit(json!(1e300)), json!({})),
        ("infinite", infinity.clone(), json!({})),
        ("nan", arith("-", infinity.clone(), infinity), json!({})),
        (
            "from-data",
            json!({"type": "field", "path": "data.big"}),
            json!({"big": 1e300}),
        ),
    ];
    for (name, points, data) in cases {
        let ast = json!({"type": "program", "rules": [], "default": assign(points, "P")});
        let version = published(&app, name, json!({"astJson": ast})).await;
        let strategy_id = format!("custom:{}", version["id"].as_str().unwrap());
        app.create_task(&game_id, name, json!({"strategyId": strategy_id}))
            .await;
        let awarded = award(&app, &game_id, name, "user-1", data.clone()).await;
        assert!(
            [400, 422].contains(&awarded.status),
            "{name}: the award refuses: {}",
            awarded.text
        );
        let code = awarded.body["code"].as_str().unwrap().to_owned();
        awarded.assert_problem(awarded.status, &code);
        let body = json!({"externalGameId": "g-points", "externalTaskId": name,
                          "externalUserId": "user-1", "data": data});
        let mut submitted = body.clone();
        submitted["astJson"] = ast;
        for simulated in [
            app.call(
                "POST",
                "/api/v1/strategies/custom/simulate",
                Some(submitted),
            )
            .await,
            app.call("POST", &path(&version["id"], "/simulate"), Some(body))
                .await,
        ] {
            simulated.assert_problem(awarded.status, &code);
            assert!(
                simulated.body["executionTrace"].is_array(),
                "{}",
                simulated.text
            );
        }
    }
}
