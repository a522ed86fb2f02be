//! The public strategy catalogue.

use game_tests::TestApp;

#[tokio::test]
async fn catalogue_lists_reads_and_describes_every_builtin() {
    let app = TestApp::new().await;
    let list = app.call_as(None, "GET", "/api/v1/strategies", None).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids: Vec<_> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            "default",
            "socio_bee",
            "constantEffortStrategy",
            "greengageStrategy",
            "greencrowdStrategy",
            "getis_ord_gi_star"
        ]
    );
    for id in &ids {
        let info = game_scoring::strategy(id).unwrap();
        let one = app
            .call_as(None, "GET", &format!("/api/v1/strategies/{id}"), None)
            .await;
        assert_eq!(one.status, 200);
        assert_eq!(one.body["name"], info.name);
        assert_eq!(one.body["version"], info.version);
        assert_eq!(one.body["hash_version"], info.hash_version());
        assert_eq!(
            one.body["variables"].as_object().unwrap().len(),
            info.variables.len()
        );

        let schema = app
            .call_as(
                None,
                "GET",
                &format!("/api/v1/strategies/{id}/schema"),
                None,
            )
            .await;
        assert_eq!(schema.status, 200);
        let names: Vec<_> = schema.body["variables"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted, "schema variables are sorted by name");
        for variable in schema.body["variables"].as_array().unwrap() {
            let spec = info.variable(variable["name"].as_str().unwrap()).unwrap();
            assert_eq!(variable["type"], spec.ty.as_str());
            assert_eq!(variable["currentValue"], spec.default);
        }
    }
    let default = app
        .call_as(None, "GET", "/api/v1/strategies/default", None)
        .await;
    assert_eq!(default.body["variables"]["variable_basic_points"], 1);
    assert_eq!(default.body["variables"]["variable_bonus_points"], 10);
}

#[tokio::test]
async fn unknown_strategy_is_404() {
    let app = TestApp::new().await;
    let response = app
        .call_as(None, "GET", "/api/v1/strategies/nope", None)
        .await;
    response.assert_problem(404, "strategy_not_found");
    assert_eq!(response.body["detail"], "Strategy not found with id: nope");
    app.call_as(None, "GET", "/api/v1/strategies/nope/schema", None)
        .await
        .assert_problem(404, "strategy_not_found");
}
