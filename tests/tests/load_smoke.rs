//! A few seconds of `make load`'s tool against the dev API over real HTTP: every request class
//! of GAME's mix succeeds, the report's files are written, and the awards it sent are awards.

use game_tests::TestApp;

#[tokio::test]
async fn the_load_tool_runs_games_mix_against_the_api() {
    let app = TestApp::new().await;
    let address = app.serve_http().await;
    let out = std::env::temp_dir().join(game_tests::unique("load"));
    let args = game_load::Args::from_args([
        "game-load",
        "--base-url",
        &format!("http://{address}"),
        "--api-key",
        &app.api_key,
        "--vus",
        "4",
        "--mix",
        "50/25/25",
        "--warm-up",
        "1",
        "--hold",
        "2",
        "--ramp-down",
        "1",
        "--no-progress",
        "--keep-game",
        "--api-pid",
        &std::process::id().to_string(),
        "--out",
        out.to_str().unwrap(),
    ])
    .unwrap();
    assert!(game_load::run(args).await.unwrap());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("load-summary.json")).unwrap()).unwrap();
    for class in [
        "strategies_public",
        "strategies",
        "games_list",
        "task_action",
        "task_points",
        "game_points_details",
    ] {
        let stats = &summary["classes"][class];
        assert!(
            stats["requests"].as_u64().unwrap() > 0,
            "{class}: {summary}"
        );
        assert_eq!(stats["errors"], 0, "{class}: {summary}");
    }
    assert!(summary["api_cpu"]["cpu_seconds"].as_f64().unwrap() > 0.0);
    assert_eq!(
        &std::fs::read(out.join("load.png")).unwrap()[..4],
        b"\x89PNG"
    );
    // The game it kept holds exactly the awards it reported.
    let games = app.call("GET", "/api/v1/games?pageSize=10", None).await;
    let game_id = games.body["items"][0]["gameId"]
        .as_str()
        .unwrap()
        .to_owned();
    let points = app
        .call("GET", &format!("/api/v1/games/{game_id}/points"), None)
        .await;
    let awarded: u64 = points.body["task"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["points"].as_array().unwrap())
        .map(|row| row["timesAwarded"].as_u64().unwrap())
        .sum();
    assert_eq!(
        awarded,
        summary["classes"]["task_points"]["requests"]
            .as_u64()
            .unwrap()
    );
    std::fs::remove_dir_all(&out).unwrap();
}
