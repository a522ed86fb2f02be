//! greencrowd end to end: signed simulations, claims, used and tampered simulations, and the
//! aggregates the next simulation reads.

use game_tests::{TEST_SIMULATION_KEY, TestApp, json};
use serde_json::Value;

async fn greencrowd_game(app: &TestApp) -> String {
    let game_id = app
        .create_game("crowd", json!({"strategyId": "greencrowdStrategy"}))
        .await;
    for task in ["task_park_1", "task_park_2", "task_lake_1"] {
        app.create_task(&game_id, task, json!({})).await;
    }
    app.create_task(&game_id, "plain", json!({"strategyId": "default"}))
        .await;
    game_id
}

fn points_of(entry: &Value) -> i64 {
    entry["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d.as_object()
                .unwrap()
                .values()
                .next()
                .unwrap()
                .as_i64()
                .unwrap()
        })
        .sum()
}

#[tokio::test]
async fn simulate_then_claim_then_reuse() {
    let app = TestApp::new().await;
    let game_id = greencrowd_game(&app).await;
    let simulated = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/walker/points/simulated"),
            None,
        )
        .await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);
    let tasks = simulated.body["tasks"].as_array().unwrap();
    let ids: Vec<_> = tasks
        .iter()
        .map(|t| t["externalTaskId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        ["task_lake_1", "task_park_1", "task_park_2"],
        "every greencrowd task, none other"
    );
    let hash = simulated.body["simulationHash"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(hash.len(), 64);
    let group = tasks[0]["userGroup"].clone();
    assert!(group.is_string());
    // The group sticks.
    let again = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/walker/points/simulated"),
            None,
        )
        .await;
    assert_eq!(again.body["tasks"][0]["userGroup"], group);

    // Claim the presented simulation for one task: its entry's dimensions are the points.
    let entry = tasks
        .iter()
        .find(|t| t["externalTaskId"] == "task_park_1")
        .unwrap();
    let data = json!({"simulationHash": hash, "tasks": simulated.body["tasks"]});
    let claim = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/task_park_1/points"),
            Some(json!({"externalUserId": "walker", "data": data})),
        )
        .await;
    assert_eq!(claim.status, 200, "{}", claim.text);
    assert_eq!(claim.body["caseName"], "Valid Simulation");
    assert_eq!(claim.body["points"], points_of(entry));

    // The same simulation again on the same task is "used": re-simulated.
    let reuse = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/task_park_1/points"),
            Some(json!({"externalUserId": "walker", "data": data})),
        )
        .await;
    assert_eq!(reuse.status, 200, "{}", reuse.text);
    assert_eq!(
        reuse.body["caseName"],
        "Valid Simulation - Origin: Used simulation"
    );

    // The aggregates the next simulation reads moved with each award.
    let (pk, sk) =
        game_functions::store::greencrowd::game_key(&app.tenant_id(), &game_tests::id(&game_id));
    let state = game_functions::domain::greencrowd::GameState::from_item(
        &app.ctx.store.get(pk, sk).await.unwrap().unwrap(),
    );
    assert_eq!(state.slots["task_park_1"].iter().sum::<u64>(), 2);
    assert_eq!(
        state.group_counts.iter().sum::<u64>(),
        1,
        "one user, one group"
    );
    assert!(
        state.dims.iter().all(|d| d.count >= 1),
        "the claims' dimensions were recorded"
    );
    let (pk, sk) = game_functions::store::greencrowd::user_key(
        &app.tenant_id(),
        &game_tests::id("walker"),
        &game_tests::id(&game_id),
    );
    let user = game_functions::domain::greencrowd::UserState::from_item(
        &app.ctx.store.get(pk, sk).await.unwrap().unwrap(),
    );
    assert_eq!(user.series.count, 2);
    assert_eq!(user.group.map(|g| g.as_str()), group.as_str());

    // A tampered simulation is refused and writes nothing.
    let mut forged = data.clone();
    forged["tasks"][0]["totalSimulatedPoints"] = json!(999);
    forged["tasks"][0]["dimensions"][0] = json!({"DIM_BP": 999});
    let items = app.item_count().await;
    let refused = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/task_lake_1/points"),
            Some(json!({"externalUserId": "walker", "data": forged})),
        )
        .await;
    refused.assert_problem(422, "strategy_rejected");
    assert_eq!(refused.body["detail"], "Invalid hash");
    assert_eq!(app.item_count().await, items);

    // Without a presented simulation, one is made and scored on the spot.
    let direct = app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/task_lake_1/points"),
            Some(json!({"externalUserId": "runner"})),
        )
        .await;
    assert_eq!(direct.status, 200, "{}", direct.text);
    assert_eq!(direct.body["caseName"], "Valid Simulation");
}

#[tokio::test]
async fn signatures_verify_with_the_deployments_key_only() {
    let app = TestApp::new().await;
    let game_id = greencrowd_game(&app).await;
    let simulated = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/users/checker/points/simulated"),
            None,
        )
        .await;
    let tasks: Vec<game_scoring::SimulatedTask> = simulated.body["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| game_scoring::SimulatedTask::from_json(t).unwrap())
        .collect();
    let hash = simulated.body["simulationHash"].as_str().unwrap();
    assert!(
        game_scoring::greencrowd::verify(TEST_SIMULATION_KEY, "crowd", "checker", &tasks, hash)
            .unwrap()
    );
    assert!(
        !game_scoring::greencrowd::verify(b"another key", "crowd", "checker", &tasks, hash)
            .unwrap()
    );
}

#[tokio::test]
async fn simulation_errors() {
    let app = TestApp::new().await;
    let game_id = greencrowd_game(&app).await;
    app.call(
        "GET",
        &format!("/api/v1/games/{game_id}/users/not%20a%20slug/points/simulated"),
        None,
    )
    .await
    .assert_problem(422, "invalid_slug");
    app.call(
        "GET",
        "/api/v1/games/0190a0a0-0000-7000-8000-000000000000/users/x-user/points/simulated",
        None,
    )
    .await
    .assert_problem(404, "game_not_found");
    let other = app.other_tenant_key().await;
    app.call_as(
        Some(&other),
        "GET",
        &format!("/api/v1/games/{game_id}/users/x-user/points/simulated"),
        None,
    )
    .await
    .assert_problem(404, "game_not_found");
}
