//! Wallets, ledgers and atomic conversion against DynamoDB Local.

use game_tests::{TestApp, json};
use std::sync::Arc;

#[tokio::test]
async fn wallet_shows_balances_and_the_ledger_newest_first() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    app.pay(&game_id, "wally").await;
    app.pay(&game_id, "wally").await;
    let convert = app
        .call(
            "POST",
            "/api/v1/users/wally/convert",
            Some(json!({"points": 50})),
        )
        .await;
    assert_eq!(convert.status, 200, "{}", convert.text);

    let wallet = app.call("GET", "/api/v1/users/wally/wallet", None).await;
    assert_eq!(wallet.status, 200, "{}", wallet.text);
    assert_eq!(wallet.body["userId"], "wally");
    assert_eq!(
        wallet.body["wallet"],
        json!({"pointsBalance": 30, "coinsBalance": 0.5, "conversionRate": 100})
    );
    let ledger = wallet.body["walletTransactions"].as_array().unwrap();
    let types: Vec<_> = ledger
        .iter()
        .map(|t| t["transactionType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        ["ConvertPointsToCoins", "AssignPoints", "AssignPoints"]
    );
    assert_eq!(ledger[0]["points"], 50);
    assert_eq!(ledger[0]["coins"], 0.5);
    assert_eq!(ledger[0]["appliedConversionRate"], 100);
    assert_eq!(ledger[1]["points"], 40);

    let first_page = app
        .call("GET", "/api/v1/users/wally/wallet?page_size=2", None)
        .await;
    assert_eq!(
        first_page.body["walletTransactions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let token = first_page.body["nextToken"].as_str().unwrap();
    let second_page = app
        .call(
            "GET",
            &format!("/api/v1/users/wally/wallet?page_size=2&nextToken={token}"),
            None,
        )
        .await;
    assert_eq!(
        second_page.body["walletTransactions"][0]["id"],
        ledger[2]["id"]
    );

    app.call("GET", "/api/v1/users/nobody/wallet", None)
        .await
        .assert_problem(404, "user_not_found");
    let other = app.other_tenant_key().await;
    app.call_as(Some(&other), "GET", "/api/v1/users/wally/wallet", None)
        .await
        .assert_problem(404, "user_not_found");
}

#[tokio::test]
async fn preview_computes_without_writing() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(200).await;
    app.pay(&game_id, "previewer").await;
    let items = app.item_count().await;
    let preview = app
        .call(
            "GET",
            "/api/v1/users/previewer/convert/preview?points=250",
            None,
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(preview.body["convertedAmount"], 2.5);
    assert_eq!(preview.body["conversionRate"], 100);
    assert_eq!(preview.body["convertedCurrency"], "coins");
    assert_eq!(preview.body["haveEnoughPoints"], false);
    let enough = app
        .call(
            "GET",
            "/api/v1/users/previewer/convert/preview?points=150",
            None,
        )
        .await;
    assert_eq!(enough.body["haveEnoughPoints"], true);
    for bad in ["0", "-5", "abc", "1.0000001"] {
        app.call(
            "GET",
            &format!("/api/v1/users/previewer/convert/preview?points={bad}"),
            None,
        )
        .await
        .assert_problem(422, "invalid_points");
    }
    app.call("GET", "/api/v1/users/previewer/convert/preview", None)
        .await
        .assert_problem(422, "invalid_points");
    app.call("GET", "/api/v1/users/ghost/convert/preview?points=1", None)
        .await
        .assert_problem(404, "user_not_found");
    assert_eq!(app.item_count().await, items);
}

#[tokio::test]
async fn convert_is_atomic_idempotent_and_refuses_overdrafts() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(100).await;
    app.pay(&game_id, "saver").await;
    let items = app.item_count().await;
    for (body, status, code) in [
        (json!({"points": 0}), 422, "invalid_points"),
        (json!({"points": -3}), 422, "invalid_points"),
        (json!({"points": "x"}), 422, "invalid_points"),
        (json!({}), 422, "invalid_body"),
        (json!({"points": 101}), 409, "insufficient_points"),
    ] {
        app.call("POST", "/api/v1/users/saver/convert", Some(body))
            .await
            .assert_problem(status, code);
    }
    app.call(
        "POST",
        "/api/v1/users/ghost/convert",
        Some(json!({"points": 1})),
    )
    .await
    .assert_problem(404, "user_not_found");
    assert_eq!(
        app.item_count().await,
        items,
        "refused conversions wrote nothing"
    );

    let headers = [
        ("x-api-key", app.api_key.clone()),
        ("idempotency-key", "convert-1".to_owned()),
    ];
    let body = json!({"points": 60}).to_string().into_bytes();
    let first = app
        .call_with_headers(
            "POST",
            "/api/v1/users/saver/convert",
            &headers,
            Some(body.clone()),
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["convertedAmount"], 0.6);
    assert_eq!(first.body["haveEnoughPoints"], true);
    assert!(first.body["transactionId"].as_str().is_some());
    let replay = app
        .call_with_headers("POST", "/api/v1/users/saver/convert", &headers, Some(body))
        .await;
    assert_eq!(replay.text, first.text);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let changed = json!({"points": 10}).to_string().into_bytes();
    app.call_with_headers(
        "POST",
        "/api/v1/users/saver/convert",
        &headers,
        Some(changed),
    )
    .await
    .assert_problem(422, "idempotency_key_reused");
    let wallet = app.call("GET", "/api/v1/users/saver/wallet", None).await;
    assert_eq!(wallet.body["wallet"]["pointsBalance"], 40);
    assert_eq!(wallet.body["wallet"]["coinsBalance"], 0.6);
    // Converting what is left works once; the second full conversion is refused unchanged.
    assert_eq!(
        app.call(
            "POST",
            "/api/v1/users/saver/convert",
            Some(json!({"points": 40}))
        )
        .await
        .status,
        200
    );
    app.call(
        "POST",
        "/api/v1/users/saver/convert",
        Some(json!({"points": 40})),
    )
    .await
    .assert_problem(409, "insufficient_points");
    let wallet = app.call("GET", "/api/v1/users/saver/wallet", None).await;
    assert_eq!(
        wallet.body["wallet"],
        json!({"pointsBalance": 0, "coinsBalance": 1, "conversionRate": 100})
    );
}

#[tokio::test]
async fn twenty_concurrent_conversions_never_overdraw() {
    let app = Arc::new(TestApp::new().await);
    let game_id = app.paying_game(250).await;
    app.pay(&game_id, "drained").await;
    app.pay(&game_id, "drained").await; // 500 points
    let mut handles = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        handles.push(tokio::spawn(async move {
            app.call(
                "POST",
                "/api/v1/users/drained/convert",
                Some(json!({"points": 60})),
            )
            .await
        }));
    }
    let mut successes = 0;
    for handle in handles {
        let response = handle.await.unwrap();
        match response.status {
            200 => successes += 1,
            409 => assert!(
                ["insufficient_points", "concurrent_modification"]
                    .contains(&response.body["code"].as_str().unwrap())
            ),
            other => panic!("unexpected {other}: {}", response.text),
        }
    }
    assert!(successes * 60 <= 500);
    assert_eq!(
        successes, 8,
        "500 points fund exactly eight conversions of 60"
    );
    let wallet = app
        .call("GET", "/api/v1/users/drained/wallet?page_size=100", None)
        .await;
    assert_eq!(wallet.body["wallet"]["pointsBalance"], 500 - successes * 60);
    assert_eq!(wallet.body["wallet"]["coinsBalance"], 4.8);
    let conversions = wallet.body["walletTransactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["transactionType"] == "ConvertPointsToCoins")
        .count();
    assert_eq!(conversions, successes as usize);
}
