//! Paging cursors (`nextToken`) are opaque to clients and bound to the list that issued them:
//! a cursor of another list, a forged one or garbage is 400 `invalid_cursor`, never a 500 from
//! DynamoDB's ExclusiveStartKey validation, and nothing is read past it or written.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use game_tests::{TestApp, json};
use serde_json::{Map, Value};

/// Every paginated list, each with at least two entries so that `page_size=1` issues a cursor.
struct Lists {
    paths: Vec<(&'static str, String)>,
}

async fn lists(app: &TestApp) -> Lists {
    let game = app.create_game("cursor-a", json!({})).await;
    let other_game = app.create_game("cursor-b", json!({})).await;
    for task in ["t1", "t2"] {
        app.create_task(&game, task, json!({})).await;
    }
    for _ in 0..2 {
        let award = app
            .call(
                "POST",
                &format!("/api/v1/games/{game}/tasks/t1/points"),
                Some(json!({"externalUserId": "pager"})),
            )
            .await;
        assert_eq!(award.status, 200, "{}", award.text);
    }
    app.mint_key(&app.tenant, "client").await;
    for name in ["cursor-one", "cursor-two"] {
        let created = app
            .call(
                "POST",
                "/api/v1/strategies/custom",
                Some(json!({"name": name, "astJson": {"type": "program", "rules": [], "default":
                    {"type": "assign_points", "value": {"type": "literal", "value": 1}, "case_name": "Flat"}}})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    Lists {
        paths: vec![
            ("games", "/api/v1/games".to_owned()),
            ("tasks", format!("/api/v1/games/{game}/tasks")),
            (
                "other game's tasks",
                format!("/api/v1/games/{other_game}/tasks"),
            ),
            ("wallet", "/api/v1/users/pager/wallet".to_owned()),
            ("api keys", "/api/v1/apikey".to_owned()),
            ("custom strategies", "/api/v1/strategies/custom".to_owned()),
        ],
    }
}

fn with_token(path: &str, token: &str) -> String {
    format!("{path}?page_size=1&nextToken={token}")
}

/// The first page's cursor of a list (`None` for a list too short to have a second page).
async fn first_cursor(app: &TestApp, path: &str) -> Option<String> {
    let page = app.call("GET", &format!("{path}?page_size=1"), None).await;
    assert_eq!(page.status, 200, "{path}: {}", page.text);
    page.body["nextToken"].as_str().map(str::to_owned)
}

fn decode(token: &str) -> Map<String, Value> {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token).expect("base64")).expect("json object")
}

fn encode(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// Forgeries of a genuine cursor: each attribute missing, wrong-typed, empty or oversized, an
/// extra attribute, the other key schema's attributes, sort keys outside the list, and bytes
/// that are not a cursor at all.
fn forgeries(genuine: &str) -> Vec<(String, String)> {
    let key = decode(genuine);
    let mut forged = Vec::new();
    for name in key.keys() {
        let mut missing = key.clone();
        missing.remove(name);
        forged.push((format!("without {name}"), encode(&Value::Object(missing))));
        for (what, value) in [
            ("a number", json!(7)),
            ("a typed value", json!({"S": key[name]})),
            ("null", Value::Null),
            ("empty", json!("")),
            ("longer than DynamoDB allows", json!("x".repeat(2049))),
        ] {
            let mut changed = key.clone();
            changed.insert(name.clone(), value);
            forged.push((format!("{name} {what}"), encode(&Value::Object(changed))));
        }
    }
    let mut extra = key.clone();
    extra.insert("role".into(), json!("admin"));
    forged.push(("an extra attribute".into(), encode(&Value::Object(extra))));
    let mut other_schema = key.clone();
    if other_schema.contains_key("GSI1PK") {
        other_schema.remove("GSI1PK");
        other_schema.remove("GSI1SK");
    } else {
        other_schema.insert("GSI1PK".into(), json!("T#x#GAMES"));
        other_schema.insert("GSI1SK".into(), json!("x"));
    }
    forged.push((
        "the other key schema".into(),
        encode(&Value::Object(other_schema)),
    ));
    if !key.contains_key("GSI1PK") {
        // Table lists read one sort-key prefix of their partition: a start key outside it.
        for sk in ["AAAA", "USER", "GAME", "~~~~"] {
            let mut outside = key.clone();
            outside.insert("SK".into(), json!(sk));
            forged.push((
                format!("SK {sk} outside the list"),
                encode(&Value::Object(outside)),
            ));
        }
    }
    for (what, token) in [
        ("not base64", "!!!!".to_owned()),
        ("padded base64", format!("{genuine}==")),
        ("truncated", genuine[..genuine.len() / 2].to_owned()),
        ("base64 of text", URL_SAFE_NO_PAD.encode("not json")),
        ("a JSON array", encode(&json!([key]))),
        ("a JSON string", encode(&json!("PK"))),
        ("an empty object", encode(&json!({}))),
        ("empty", String::new()),
        ("8 KiB long", "A".repeat(8192)),
    ] {
        forged.push((what.to_owned(), token));
    }
    forged
}

#[tokio::test]
async fn a_cursor_from_another_list_is_400_invalid_cursor() {
    let app = TestApp::new().await;
    let lists = lists(&app).await;
    let mut cursors = Vec::new();
    for (name, path) in &lists.paths {
        if let Some(token) = first_cursor(&app, path).await {
            // The genuine cursor works on its own list.
            let next = app.call("GET", &with_token(path, &token), None).await;
            assert_eq!(next.status, 200, "{name}: {}", next.text);
            cursors.push((*name, token));
        }
    }
    assert_eq!(
        cursors.len(),
        lists.paths.len() - 1,
        "every list but the empty one issued a cursor"
    );
    let baseline = app.item_count().await;
    let mut checked = 0;
    for (from, token) in &cursors {
        for (to, path) in &lists.paths {
            if from == to {
                continue;
            }
            let answer = app.call("GET", &with_token(path, token), None).await;
            assert_eq!(
                answer.status, 400,
                "a {from} cursor sent to {to}: {}",
                answer.text
            );
            answer.assert_problem(400, "invalid_cursor");
            checked += 1;
        }
    }
    assert_eq!(checked, 5 * 5);
    assert_eq!(app.item_count().await, baseline, "nothing was written");
}

#[tokio::test]
async fn forged_and_garbage_cursors_are_400_invalid_cursor_on_every_list() {
    let app = TestApp::new().await;
    let lists = lists(&app).await;
    let baseline = app.item_count().await;
    let mut checked = 0;
    for (name, path) in &lists.paths {
        let Some(genuine) = first_cursor(&app, path).await else {
            continue;
        };
        for (what, token) in forgeries(&genuine) {
            let answer = app.call("GET", &with_token(path, &token), None).await;
            assert_eq!(
                answer.status, 400,
                "{name} with a cursor {what}: {}",
                answer.text
            );
            answer.assert_problem(400, "invalid_cursor");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked} forgeries checked");
    assert_eq!(app.item_count().await, baseline, "nothing was written");
}

#[tokio::test]
async fn another_tenants_cursor_is_400_invalid_cursor() {
    let app = TestApp::new().await;
    let lists = lists(&app).await;
    let other = app.other_tenant_key().await;
    for (name, path) in &lists.paths {
        let Some(token) = first_cursor(&app, path).await else {
            continue;
        };
        let answer = app
            .call_as(Some(&other), "GET", &with_token(path, &token), None)
            .await;
        // A list of another tenant's game or user is 404 before any cursor is read.
        if answer.status != 404 {
            answer.assert_problem(400, "invalid_cursor");
        }
        assert_ne!(answer.status, 500, "{name}: {}", answer.text);
    }
}
