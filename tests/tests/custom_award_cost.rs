//! The cost of an award with a custom strategy: the family rides in the award's single
//! BatchGetItem once this (warm) context has seen the task. It sets its context's execution-log
//! sample rate to 0 so no success is logged (a log write would be one more request).

use game_tests::{RequestCounter, TestApp};
use serde_json::json;

#[tokio::test]
async fn a_warm_custom_award_costs_one_read_and_one_transaction() {
    let counter = RequestCounter::default();
    let app = TestApp::with_config(
        game_tests::dynamodb_client_with(counter.clone()).await,
        |c| c.rate_limits = game_functions::identity::rate_limit::RateLimits::disabled(),
    )
    .await;
    app.ctx.custom.set_log_sample_rate(0.0);
    let ast = json!({"type": "program", "rules": [], "default":
        {"type": "assign_points", "value": {"type": "field", "path": "user.measurements_count"},
         "case_name": "Count"}});
    let created = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "counted", "astJson": ast})),
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
        .create_game("g-cost", json!({"strategyId": format!("custom:{family}")}))
        .await;
    app.create_task(&game_id, "t1", json!({})).await;
    let path = format!("/api/v1/games/{game_id}/tasks/t1/points");
    for i in 0..3 {
        counter.take();
        let r = app
            .call("POST", &path, Some(json!({"externalUserId": "counted"})))
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(
            r.body["points"], i,
            "the program reads the user's count before the award"
        );
        let ops = counter.take();
        if i == 0 {
            // Cold: this process has not seen the task's family yet.
            assert_eq!(ops, ["BatchGetItem", "GetItem", "TransactWriteItems"]);
        } else {
            assert_eq!(ops, ["BatchGetItem", "TransactWriteItems"]);
        }
    }
}
