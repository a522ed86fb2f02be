//! Clients' `data` and text fields on the award and action routes: any JSON the API accepts is
//! kept exactly (canonical JSON text in one attribute) and read back unchanged; every field and
//! the body have a size cap; a body must be a JSON object. Bad input is problem+json and
//! writes nothing.

use game_functions::ids::ExternalId;
use game_functions::store;
use game_tests::{TestApp, TestResponse, id, json, unique};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::Value;

const CASES: usize = 32;

async fn game_with_task(app: &TestApp) -> String {
    let game_id = app.create_game(&unique("data"), json!({})).await;
    app.create_task(&game_id, "walk", json!({})).await;
    game_id
}

async fn award(app: &TestApp, game_id: &str, user: &str, data: &Value) -> TestResponse {
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/walk/points"),
        Some(json!({"externalUserId": user, "data": data})),
    )
    .await
}

async fn task_action(app: &TestApp, game_id: &str, user: &str, data: &Value) -> TestResponse {
    app.call(
        "POST",
        &format!("/api/v1/games/{game_id}/tasks/walk/action"),
        Some(
            json!({"typeAction": "click", "data": data, "description": "", "externalUserId": user}),
        ),
    )
    .await
}

async fn user_action(app: &TestApp, user: &str, data: &Value) -> TestResponse {
    app.call(
        "POST",
        &format!("/api/v1/users/{user}/actions"),
        Some(json!({"typeAction": "click", "data": data, "description": "d"})),
    )
    .await
}

/// The data of `user`'s (only) award on the task, as the details route shows it.
async fn awarded_data(app: &TestApp, game_id: &str, user: &str) -> Value {
    let details = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/walk/points/details"),
            None,
        )
        .await;
    assert_eq!(details.status, 200, "{}", details.text);
    let entry = details
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["externalUserId"] == user)
        .unwrap_or_else(|| panic!("no award of {user}: {}", details.text))
        .clone();
    entry["pointsData"][0]["data"].clone()
}

/// The data of `user`'s newest ledger entry, as the wallet route shows it.
async fn ledger_data(app: &TestApp, user: &str) -> Value {
    let wallet = app
        .call("GET", &format!("/api/v1/users/{user}/wallet"), None)
        .await;
    assert_eq!(wallet.status, 200, "{}", wallet.text);
    wallet.body["walletTransactions"][0]["data"].clone()
}

/// The data of a logged action, read back through the store.
async fn action_data(app: &TestApp, user: &str, response: &TestResponse) -> Value {
    let action_id = response.body["id"].as_str().expect("action id");
    let user: ExternalId = id(user);
    store::actions::get(&app.ctx.store, &app.tenant_id(), &user, action_id)
        .await
        .expect("read the action")
        .expect("the action exists")
        .data
}

/// What the fuzzer and the field tests found: values DynamoDB cannot hold as attribute values.
fn awkward_data() -> Vec<Value> {
    vec![
        json!({"e": ""}),
        json!({"l": [""]}),
        json!({"n": {"d": {"s": "", "l": ["", {"": ""}]}}}),
        json!({"": 1}),
        json!({"": ""}),
        json!({"big": 1e130}),
        json!({"tiny": 1e-140}),
        json!({"neg": -1e308}),
        json!({"mix": [1e130, -1e-140, 18446744073709551615u64, -9223372036854775808i64, 0.1]}),
        json!({"deep": (0..40).fold(json!(1), |inner, i| if i % 2 == 0 { json!([inner]) } else { json!({"": inner}) })}),
        json!({"set": [1, 1, "a", "a"], "null": null, "t": true}),
        json!({"minutes": 1e130}),
        json!({"minutes": 1e-140}),
        json!({"minutes": "1e300"}),
        json!({"simulationHash": "x".repeat(2000)}),
    ]
}

#[tokio::test]
async fn awkward_data_is_kept_exactly_on_awards_and_actions() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    for (i, data) in awkward_data().iter().enumerate() {
        let user = format!("user-{i}");
        let awarded = award(&app, &game_id, &user, data).await;
        assert_eq!(awarded.status, 200, "{data}: {}", awarded.text);
        assert_eq!(&awarded_data(&app, &game_id, &user).await, data);
        assert_eq!(&ledger_data(&app, &user).await, data);

        let logged = task_action(&app, &game_id, &user, data).await;
        assert_eq!(logged.status, 201, "{data}: {}", logged.text);
        assert_eq!(&logged.body["data"], data);
        assert_eq!(&action_data(&app, &user, &logged).await, data);

        let logged = user_action(&app, &user, data).await;
        assert_eq!(logged.status, 201, "{data}: {}", logged.text);
        assert_eq!(&action_data(&app, &user, &logged).await, data);
    }
}

/// Any JSON value, numbers across f64's whole range and strings of any characters.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop_oneof![Just(String::new()), any::<String>()].prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A client's `data`: an object whose top-level names are not ones the routes interpret.
fn client_data() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9 _é\"\\\\/-]{1,12}",
        any::<String>()
    ]
    .prop_filter("not a name the award reads", |n| {
        ![
            "eventId",
            "idempotencyKey",
            "correlationId",
            "simulationHash",
            "minutes",
            "callbackData",
            "tasks",
        ]
        .contains(&n.as_str())
    });
    prop::collection::btree_map(name, json_value(), 0..6)
        .prop_map(|m| Value::Object(m.into_iter().collect()))
}

fn generated(count: usize) -> Vec<Value> {
    let mut runner = TestRunner::default();
    let strategy = client_data();
    (0..count)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect()
}

#[tokio::test]
async fn generated_data_round_trips_through_awards_and_ledger() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    for (i, data) in generated(CASES).iter().enumerate() {
        let user = format!("prop-{i}");
        let awarded = award(&app, &game_id, &user, data).await;
        assert_eq!(awarded.status, 200, "{data}: {}", awarded.text);
        assert_eq!(
            &awarded_data(&app, &game_id, &user).await,
            data,
            "award {i}"
        );
        assert_eq!(&ledger_data(&app, &user).await, data, "ledger {i}");
    }
}

#[tokio::test]
async fn generated_data_round_trips_through_actions() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    for (i, data) in generated(CASES).iter().enumerate() {
        let user = format!("prop-{i}");
        let logged = task_action(&app, &game_id, &user, data).await;
        assert_eq!(logged.status, 201, "{data}: {}", logged.text);
        assert_eq!(
            &action_data(&app, &user, &logged).await,
            data,
            "task action {i}"
        );
        let logged = user_action(&app, &user, data).await;
        assert_eq!(logged.status, 201, "{data}: {}", logged.text);
        assert_eq!(
            &action_data(&app, &user, &logged).await,
            data,
            "user action {i}"
        );
    }
}

/// Items stored before data became text (a DynamoDB map) still read back.
#[tokio::test]
async fn data_stored_as_a_map_still_reads_back() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    let data = json!({"where": "park", "n": 3, "l": [1, "a", {"b": true}]});
    assert_eq!(award(&app, &game_id, "legacy", &data).await.status, 200);
    let logged = user_action(&app, "legacy", &data).await;
    assert_eq!(logged.status, 201, "{}", logged.text);
    let map = serde_dynamo::to_attribute_value::<_, aws_sdk_dynamodb::types::AttributeValue>(&data)
        .unwrap();
    let mut rewritten = 0;
    for item in app.items().await {
        let entity = store::attrs::s(&item, "entity")
            .unwrap_or_default()
            .to_owned();
        if !["award", "ledger", "action"].contains(&entity.as_str()) {
            continue;
        }
        app.client
            .update_item()
            .table_name(&app.table)
            .key(store::PK, item[store::PK].clone())
            .key(store::SK, item[store::SK].clone())
            .update_expression("SET #d = :d")
            .expression_attribute_names("#d", "data")
            .expression_attribute_values(":d", map.clone())
            .send()
            .await
            .unwrap();
        rewritten += 1;
    }
    assert_eq!(rewritten, 3, "an award, its ledger entry and an action");
    assert_eq!(awarded_data(&app, &game_id, "legacy").await, data);
    assert_eq!(ledger_data(&app, "legacy").await, data);
    assert_eq!(action_data(&app, "legacy", &logged).await, data);
}

#[tokio::test]
async fn fields_and_bodies_have_size_caps_and_nothing_is_written() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    let before = app.item_count().await;
    let big_text = "x".repeat(500 * 1024);
    let big_data = json!({"blob": big_text});
    let task_path = format!("/api/v1/games/{game_id}/tasks/walk");

    // A 500 KB body: refused before it is parsed, on every route.
    for (path, body) in [
        (
            format!("{task_path}/points"),
            json!({"externalUserId": "ana", "data": big_data}),
        ),
        (
            format!("{task_path}/action"),
            json!({"typeAction": "click", "data": {}, "description": big_text, "externalUserId": "ana"}),
        ),
        (
            "/api/v1/users/ana/actions".to_owned(),
            json!({"typeAction": "click", "data": big_data}),
        ),
        (
            "/api/v1/games".to_owned(),
            json!({"externalGameId": "big", "platform": big_text}),
        ),
    ] {
        let response = app.call("POST", &path, Some(body)).await;
        response.assert_problem(413, "body_too_large");
    }

    // Fields over their caps, in bodies under the body cap.
    let data_over = json!({"blob": "x".repeat(16 * 1024)});
    let description_over = "é".repeat(1001);
    let type_over = "t".repeat(201);
    for (path, body, field) in [
        (
            format!("{task_path}/points"),
            json!({"externalUserId": "ana", "data": data_over}),
            "data",
        ),
        (
            format!("{task_path}/action"),
            json!({"typeAction": "click", "data": data_over, "externalUserId": "ana"}),
            "data",
        ),
        (
            format!("{task_path}/action"),
            json!({"typeAction": "click", "data": {}, "description": description_over, "externalUserId": "ana"}),
            "description",
        ),
        (
            format!("{task_path}/action"),
            json!({"typeAction": type_over, "data": {}, "externalUserId": "ana"}),
            "typeAction",
        ),
        (
            "/api/v1/users/ana/actions".to_owned(),
            json!({"typeAction": "click", "data": data_over}),
            "data",
        ),
        (
            "/api/v1/users/ana/actions".to_owned(),
            json!({"typeAction": "click", "description": description_over}),
            "description",
        ),
        (
            "/api/v1/users/ana/actions".to_owned(),
            json!({"typeAction": type_over}),
            "typeAction",
        ),
    ] {
        let response = app.call("POST", &path, Some(body)).await;
        response.assert_problem(422, "field_too_large");
        assert_eq!(response.body["field"], field, "{}", response.text);
    }
    assert_eq!(
        app.item_count().await,
        before,
        "refused requests wrote nothing"
    );

    // At the caps: accepted.
    let data_at = json!({"blob": "x".repeat(16 * 1024 - 11)});
    assert_eq!(game_functions::canonical::len(&data_at), 16 * 1024);
    let description_at = "é".repeat(1000);
    assert_eq!(award(&app, &game_id, "ana", &data_at).await.status, 200);
    let logged = app
        .call(
            "POST",
            &format!("{task_path}/action"),
            Some(json!({"typeAction": "t".repeat(200), "data": data_at, "description": description_at, "externalUserId": "ana"})),
        )
        .await;
    assert_eq!(logged.status, 201, "{}", logged.text);
    assert_eq!(logged.body["description"], description_at);
}

#[tokio::test]
async fn a_body_must_be_a_json_object() {
    let app = TestApp::new().await;
    let game_id = game_with_task(&app).await;
    let before = app.item_count().await;
    let task_path = format!("/api/v1/games/{game_id}/tasks/walk");
    for (path, body) in [
        (
            "/api/v1/users/ana/actions".to_owned(),
            r#"["click",{"a":1},"desc"]"#,
        ),
        ("/api/v1/users/ana/actions".to_owned(), r#""click""#),
        ("/api/v1/users/ana/actions".to_owned(), "null"),
        (format!("{task_path}/action"), r#"["click",{},null,"ana"]"#),
        (format!("{task_path}/points"), r#"["ana"]"#),
        (format!("{task_path}/points"), "42"),
        ("/api/v1/games".to_owned(), r#"["g1","web"]"#),
        ("/api/v1/users/ana/convert".to_owned(), "[5]"),
    ] {
        let response = app
            .call_as(
                Some(&app.api_key),
                "POST",
                &path,
                Some(body.as_bytes().to_vec()),
            )
            .await;
        response.assert_problem(400, "body_not_object");
    }
    // The one route whose body is a list wants a list.
    app.call(
        "POST",
        "/api/v1/users/points/query",
        Some(json!({"users": ["ana"]})),
    )
    .await
    .assert_problem(400, "body_not_array");
    assert_eq!(
        app.item_count().await,
        before,
        "refused requests wrote nothing"
    );
}
