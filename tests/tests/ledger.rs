//! The correctable ledger against DynamoDB Local: reversals, adjustments, transfers, spending
//! and holds through the API; the invariant checker (balance = Σ entries, and every entry's
//! balances-after chain) after every test that writes; a race of 100 mixed operations; faults
//! between decide and commit.

use game_functions::domain::ledger::{check_balances, check_chain};
use game_functions::ids::ExternalId;
use game_functions::store::ledger::{AwardState, WalletState, all_entries, user_key};
use game_tests::faults::{self, Answer, FaultyDynamoDb, error_body};
use game_tests::{TestApp, TestResponse, json};
use rust_decimal::Decimal;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

async fn post_keyed(app: &TestApp, path: &str, body: Value, key: Option<&str>) -> TestResponse {
    let mut headers = vec![
        ("content-type", "application/json".to_owned()),
        ("x-api-key", app.api_key.clone()),
    ];
    if let Some(key) = key {
        headers.push(("idempotency-key", key.to_owned()));
    }
    app.call_with_headers("POST", path, &headers, Some(body.to_string().into_bytes()))
        .await
}

async fn post(app: &TestApp, path: &str, body: Value) -> TestResponse {
    post_keyed(app, path, body, None).await
}

#[track_caller]
fn ok(response: &TestResponse) -> &Value {
    assert_eq!(response.status, 200, "{}", response.text);
    &response.body
}

async fn wallet(app: &TestApp, user: &str) -> WalletState {
    let (pk, sk) = user_key(&app.tenant_id(), &ExternalId::try_new(user).unwrap());
    WalletState::from_item(&app.ctx.store.get(pk, sk).await.unwrap().unwrap()).unwrap()
}

/// The invariant checker: for each user, the wallet equals the sum of its entries, every
/// entry's balances-after continue a balance another entry ended at, and (unless `negative`
/// is allowed) no balance is below zero.
async fn assert_invariants(app: &TestApp, users: &[&str], negative: bool) {
    for user in users {
        let wallet = wallet(app, user).await;
        let entries = all_entries(
            &app.ctx.store,
            &app.tenant_id(),
            &ExternalId::try_new(*user).unwrap(),
        )
        .await
        .unwrap();
        check_balances(&wallet.balances, &entries).unwrap_or_else(|e| panic!("{user}: {e}"));
        check_chain(&wallet.balances, &entries).unwrap_or_else(|e| panic!("{user}: {e}"));
        if !negative {
            assert!(
                wallet.balances.points >= Decimal::ZERO,
                "{user}: {wallet:?}"
            );
        }
        assert!(wallet.balances.coins >= Decimal::ZERO, "{user}: {wallet:?}");
        assert!(wallet.balances.held >= Decimal::ZERO, "{user}: {wallet:?}");
    }
    let violations = app.access_violations.lock().unwrap().clone();
    assert!(
        violations.is_empty(),
        "beyond the routes' access: {violations:?}"
    );
}

async fn award_state(app: &TestApp, award_id: &str) -> AwardState {
    game_functions::store::ledger::find_award(&app.ctx.store, &app.tenant_id(), award_id)
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn a_reversal_reduces_the_wallet_and_every_read_model_and_marks_the_award() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/awards/{award_id}/reversal");

    let partial = post(
        &app,
        &path,
        json!({"amount": 15, "reason": "duplicate event"}),
    )
    .await;
    let body = ok(&partial);
    assert_eq!(body["wallets"][0]["pointsBalance"], 25);
    assert_eq!(body["award"]["reversedPoints"], 15);
    assert_eq!(body["award"]["remainingPoints"], 25);
    assert_eq!(body["award"]["reversed"], false);
    let entry = &body["entries"][0];
    assert_eq!(entry["transactionType"], "ReverseAward");
    assert_eq!(entry["points"], -15);
    assert_eq!(entry["pointsAfter"], 25);
    assert_eq!(entry["awardId"], award_id.as_str());
    assert_eq!(entry["reason"], "duplicate event");
    assert!(entry["actor"].as_str().unwrap().starts_with("key:"));

    // The read models: task totals, details, the user's points, the points query.
    let totals = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/pay/points"),
            None,
        )
        .await;
    assert_eq!(ok(&totals)[0]["points"], 25, "{}", totals.text);
    let details = app
        .call(
            "GET",
            &format!("/api/v1/games/{game_id}/tasks/pay/points/details"),
            None,
        )
        .await;
    assert!(ok(&details).to_string().contains("25"), "{}", details.text);
    let user_points = app.call("GET", "/api/v1/users/ana/points", None).await;
    assert!(
        ok(&user_points).to_string().contains("25"),
        "{}",
        user_points.text
    );
    let query = post(&app, "/api/v1/users/points/query", json!(["ana"])).await;
    assert!(ok(&query).to_string().contains("25"), "{}", query.text);

    // Over-reversal, then the rest, then nothing left.
    post(&app, &path, json!({"amount": 26}))
        .await
        .assert_problem(409, "reversal_exceeds_award");
    let rest = post(&app, &path, json!({})).await;
    assert_eq!(ok(&rest)["award"]["reversed"], true);
    assert_eq!(rest.body["wallets"][0]["pointsBalance"], 0);
    post(&app, &path, json!({}))
        .await
        .assert_problem(409, "award_already_reversed");
    let marked = award_state(&app, &award_id).await;
    assert_eq!(marked.reversed_points, Some(Decimal::from(40)));
    assert_eq!(marked.reversal_ids.len(), 2);
    assert_eq!(marked.reversal_ids[0], entry["id"].as_str().unwrap());

    // Bad input and other tenants' awards: problem+json, nothing written.
    let other = app.other_tenant_key().await;
    let client = app.mint_key(&app.tenant, "client").await;
    let items = app.item_count().await;
    post(
        &app,
        "/api/v1/awards/0190a0a0-0000-7000-8000-000000000000/reversal",
        json!({}),
    )
    .await
    .assert_problem(404, "award_not_found");
    post(&app, "/api/v1/awards/not-an-id/reversal", json!({}))
        .await
        .assert_problem(404, "award_not_found");
    for amount in [json!(0), json!(-1), json!(0.0000001), json!("x")] {
        post(&app, &path, json!({"amount": amount}))
            .await
            .assert_problem(422, "invalid_amount");
    }
    app.call_as(Some(&other), "POST", &path, Some(b"{}".to_vec()))
        .await
        .assert_problem(404, "award_not_found");
    app.call_as(Some(&client), "POST", &path, Some(b"{}".to_vec()))
        .await
        .assert_problem(403, "admin_required");
    assert_eq!(app.item_count().await, items);
    assert_invariants(&app, &["ana"], false).await;
}

#[tokio::test]
async fn converted_points_refuse_a_reversal_unless_an_admin_allows_negative() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "conv").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&post(&app, "/api/v1/users/conv/convert", json!({"points": 30})).await);
    let path = format!("/api/v1/awards/{award_id}/reversal");
    let items = app.item_count().await;
    let refused = post(&app, &path, json!({})).await;
    refused.assert_problem(409, "insufficient_points");
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("allowNegative")
    );
    assert_eq!(app.item_count().await, items, "nothing written");
    let allowed = post(
        &app,
        &path,
        json!({"allowNegative": true, "reason": "fraud"}),
    )
    .await;
    assert_eq!(ok(&allowed)["wallets"][0]["pointsBalance"], -30);
    assert_eq!(
        wallet(&app, "conv").await.balances.points,
        Decimal::from(-30)
    );
    // Negative points cannot be converted.
    post(&app, "/api/v1/users/conv/convert", json!({"points": 1}))
        .await
        .assert_problem(409, "insufficient_points");
    assert_invariants(&app, &["conv"], true).await;
}

#[tokio::test]
async fn adjust_transfer_spend_hold_capture_and_void_walk_through() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    app.pay(&game_id, "ana").await;
    app.pay(&game_id, "bob").await;

    let adjust = post(
        &app,
        "/api/v1/users/ana/adjustments",
        json!({"currency": "coins", "amount": 10, "reason": "goodwill"}),
    )
    .await;
    assert_eq!(ok(&adjust)["wallets"][0]["coinsBalance"], 10);
    assert_eq!(adjust.body["entries"][0]["coinsAfter"], 10);
    let down = post(
        &app,
        "/api/v1/users/ana/adjustments",
        json!({"amount": "-2.5", "reason": "correction"}),
    )
    .await;
    assert_eq!(ok(&down)["wallets"][0]["pointsBalance"], 37.5);

    let transfer = post(
        &app,
        "/api/v1/users/ana/transfers",
        json!({"toExternalUserId": "bob", "amount": 7.5, "reason": "gift"}),
    )
    .await;
    let body = ok(&transfer);
    assert_eq!(body["wallets"][0]["pointsBalance"], 30);
    assert_eq!(body["wallets"][1]["pointsBalance"], 47.5);
    assert_eq!(
        body["entries"][0]["linkedEntryId"],
        body["entries"][1]["id"]
    );
    assert_eq!(
        body["entries"][1]["linkedEntryId"],
        body["entries"][0]["id"]
    );
    assert_eq!(body["entries"][1]["counterparty"], "ana");

    let spend = post(
        &app,
        "/api/v1/users/ana/spend",
        json!({"itemId": "sku-1", "price": 3}),
    )
    .await;
    assert_eq!(ok(&spend)["wallets"][0]["coinsBalance"], 7);
    assert_eq!(spend.body["entries"][0]["itemId"], "sku-1");

    let hold = post(
        &app,
        "/api/v1/users/ana/holds",
        json!({"itemId": "sku-2", "price": 4}),
    )
    .await;
    let hold_id = ok(&hold)["hold"]["holdId"].as_str().unwrap().to_owned();
    assert_eq!(
        hold.body["wallets"][0],
        json!({"externalUserId": "ana", "pointsBalance": 30, "coinsBalance": 3, "heldCoins": 4})
    );
    let capture = post(
        &app,
        &format!("/api/v1/users/ana/holds/{hold_id}/capture"),
        json!({}),
    )
    .await;
    assert_eq!(ok(&capture)["hold"]["status"], "captured");
    assert_eq!(capture.body["wallets"][0]["heldCoins"], 0);
    assert_eq!(
        capture.body["entries"][0]["linkedEntryId"],
        hold.body["entries"][0]["id"]
    );
    post(
        &app,
        &format!("/api/v1/users/ana/holds/{hold_id}/void"),
        json!({}),
    )
    .await
    .assert_problem(409, "hold_closed");

    let second = post(
        &app,
        "/api/v1/users/ana/holds",
        json!({"itemId": "sku-3", "price": 2}),
    )
    .await;
    let second_id = ok(&second)["hold"]["holdId"].as_str().unwrap().to_owned();
    let void = post(
        &app,
        &format!("/api/v1/users/ana/holds/{second_id}/void"),
        json!({}),
    )
    .await;
    assert_eq!(ok(&void)["wallets"][0]["coinsBalance"], 3);

    // An expired hold cannot be captured; the next spend releases its coins first.
    let short = post(
        &app,
        "/api/v1/users/ana/holds",
        json!({"itemId": "sku-4", "price": 3, "ttlSeconds": 1}),
    )
    .await;
    let short_id = ok(&short)["hold"]["holdId"].as_str().unwrap().to_owned();
    assert_eq!(short.body["wallets"][0]["coinsBalance"], 0);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let items = app.item_count().await;
    post(
        &app,
        &format!("/api/v1/users/ana/holds/{short_id}/capture"),
        json!({}),
    )
    .await
    .assert_problem(409, "hold_expired");
    assert_eq!(app.item_count().await, items, "nothing written");
    let after_expiry = post(
        &app,
        "/api/v1/users/ana/spend",
        json!({"itemId": "sku-5", "price": 3}),
    )
    .await;
    let types: Vec<&str> = ok(&after_expiry)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["transactionType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["HoldExpired", "Spend"]);
    assert_eq!(after_expiry.body["wallets"][0]["coinsBalance"], 0);
    assert_eq!(after_expiry.body["wallets"][0]["heldCoins"], 0);

    // Bad input: problem+json with a stable code, nothing written.
    let items = app.item_count().await;
    for (path, body, status, code) in [
        (
            "/api/v1/users/ana/adjustments",
            json!({"amount": 1}),
            422,
            "invalid_body",
        ),
        (
            "/api/v1/users/ana/adjustments",
            json!({"amount": 1, "reason": " "}),
            422,
            "invalid_field",
        ),
        (
            "/api/v1/users/ana/adjustments",
            json!({"amount": 0, "reason": "x"}),
            422,
            "invalid_amount",
        ),
        (
            "/api/v1/users/ana/adjustments",
            json!({"amount": -100, "reason": "x"}),
            409,
            "insufficient_points",
        ),
        (
            "/api/v1/users/ana/adjustments",
            json!({"amount": 1, "currency": "gold", "reason": "x"}),
            422,
            "invalid_currency",
        ),
        (
            "/api/v1/users/ghost/adjustments",
            json!({"amount": 1, "reason": "x"}),
            404,
            "user_not_found",
        ),
        (
            "/api/v1/users/ana/transfers",
            json!({"toExternalUserId": "ana", "amount": 1}),
            422,
            "transfer_to_self",
        ),
        (
            "/api/v1/users/ana/transfers",
            json!({"toExternalUserId": "bob", "amount": 1000}),
            409,
            "insufficient_points",
        ),
        (
            "/api/v1/users/ana/transfers",
            json!({"toExternalUserId": "ghost", "amount": 1}),
            404,
            "user_not_found",
        ),
        (
            "/api/v1/users/ana/transfers",
            json!({"toExternalUserId": "bob", "amount": 1.0000001}),
            422,
            "invalid_amount",
        ),
        (
            "/api/v1/users/ana/spend",
            json!({"itemId": "sku", "price": 1}),
            409,
            "insufficient_coins",
        ),
        (
            "/api/v1/users/ana/spend",
            json!({"itemId": "sku", "price": -1}),
            422,
            "invalid_amount",
        ),
        (
            "/api/v1/users/ana/holds",
            json!({"itemId": "sku", "price": 1, "ttlSeconds": 0}),
            422,
            "invalid_ttl",
        ),
        (
            "/api/v1/users/ana/holds/0190a0a0-0000-7000-8000-000000000000/capture",
            json!({}),
            404,
            "hold_not_found",
        ),
        (
            "/api/v1/users/bob/holds/HOLD/capture",
            json!({}),
            404,
            "hold_not_found",
        ),
    ] {
        post(&app, path, body.clone())
            .await
            .assert_problem(status, code);
    }
    assert_eq!(app.item_count().await, items, "nothing written");

    // The history: every entry, oldest first, paged to the end.
    let mut entries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = app
            .call(
                "GET",
                &match &token {
                    None => "/api/v1/users/ana/ledger?pageSize=3".to_owned(),
                    Some(t) => format!("/api/v1/users/ana/ledger?pageSize=3&nextToken={t}"),
                },
                None,
            )
            .await;
        entries.extend(ok(&page)["entries"].as_array().unwrap().clone());
        match page.body["nextToken"].as_str() {
            Some(next) => token = Some(next.to_owned()),
            None => break,
        }
    }
    let types: Vec<&str> = entries
        .iter()
        .map(|e| e["transactionType"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "AssignPoints",
            "Adjust",
            "Adjust",
            "TransferOut",
            "Spend",
            "Hold",
            "Capture",
            "Hold",
            "Void",
            "Hold",
            "HoldExpired",
            "Spend"
        ]
    );
    assert_eq!(entries[0]["pointsAfter"], 40);
    assert_eq!(entries.last().unwrap()["coinsAfter"], 0);
    assert_invariants(&app, &["ana", "bob"], false).await;
}

#[tokio::test]
async fn every_operation_replays_with_its_key() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.pay(&game_id, "bob").await;
    ok(&post(
        &app,
        "/api/v1/users/ana/adjustments",
        json!({"currency": "coins", "amount": 10, "reason": "seed"}),
    )
    .await);
    let hold = post(
        &app,
        "/api/v1/users/ana/holds",
        json!({"itemId": "h", "price": 1}),
    )
    .await;
    let hold_id = ok(&hold)["hold"]["holdId"].as_str().unwrap().to_owned();
    for (path, body) in [
        (
            format!("/api/v1/awards/{award_id}/reversal"),
            json!({"amount": 1}),
        ),
        (
            "/api/v1/users/ana/adjustments".to_owned(),
            json!({"amount": 1, "reason": "goodwill"}),
        ),
        (
            "/api/v1/users/ana/transfers".to_owned(),
            json!({"toExternalUserId": "bob", "amount": 1}),
        ),
        (
            "/api/v1/users/ana/spend".to_owned(),
            json!({"itemId": "s", "price": 1}),
        ),
        (
            "/api/v1/users/ana/holds".to_owned(),
            json!({"itemId": "h2", "price": 1}),
        ),
        (
            format!("/api/v1/users/ana/holds/{hold_id}/capture"),
            json!({}),
        ),
    ] {
        let key = game_tests::unique("key");
        let first = post_keyed(&app, &path, body.clone(), Some(&key)).await;
        ok(&first);
        let items = app.item_count().await;
        let replay = post_keyed(&app, &path, body.clone(), Some(&key)).await;
        assert_eq!(replay.status, 200, "{path}: {}", replay.text);
        assert_eq!(replay.headers["idempotent-replayed"], "true", "{path}");
        assert_eq!(replay.text, first.text, "{path}: byte-identical");
        assert_eq!(
            app.item_count().await,
            items,
            "{path}: a replay writes nothing"
        );
        let mut other = body.clone();
        other["reason"] = json!("another request");
        post_keyed(&app, &path, other, Some(&key))
            .await
            .assert_problem(422, "idempotency_key_reused");
    }
    assert_invariants(&app, &["ana", "bob"], false).await;
}

/// 60 concurrent awards, partial reversals of the same awards, transfers both ways between
/// two users and spends: every answer is a success or a clean refusal, and afterwards both
/// wallets equal the sum of their entries, nothing is below zero, no award is reversed
/// beyond its points, and the totals are conserved.
#[tokio::test]
async fn sixty_concurrent_mixed_operations_keep_the_invariants() {
    let app = Arc::new(TestApp::new().await);
    let game_id = app.paying_game(40).await;
    let mut awards = Vec::new();
    for user in ["ana", "bob", "ana", "bob"] {
        awards.push(
            app.pay(&game_id, user).await.body["awardId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    for user in ["ana", "bob"] {
        ok(&post(
            &app,
            &format!("/api/v1/users/{user}/adjustments"),
            json!({"currency": "coins", "amount": 20, "reason": "seed"}),
        )
        .await);
    }
    let start = [
        wallet(&app, "ana").await.balances,
        wallet(&app, "bob").await.balances,
    ];
    let mut handles = Vec::new();
    // Twelve reversals of 15 over four 40-point awards: at most two of each award's three fit.
    for i in 0..60usize {
        let (app, game_id) = (app.clone(), game_id.clone());
        let award_id = awards[i % awards.len()].clone();
        let (me, other) = if i % 2 == 0 {
            ("ana", "bob")
        } else {
            ("bob", "ana")
        };
        handles.push(tokio::spawn(async move {
            let (kind, path, body) = match i % 5 {
                0 => (
                    "award",
                    format!("/api/v1/games/{game_id}/tasks/pay/points"),
                    json!({"externalUserId": me}),
                ),
                1 => (
                    "reverse",
                    format!("/api/v1/awards/{award_id}/reversal"),
                    json!({"amount": 15}),
                ),
                2 | 3 => {
                    let currency = if i % 3 == 0 { "coins" } else { "points" };
                    (
                        "transfer",
                        format!("/api/v1/users/{me}/transfers"),
                        json!({"toExternalUserId": other, "amount": 7, "currency": currency}),
                    )
                }
                _ => (
                    "spend",
                    format!("/api/v1/users/{me}/spend"),
                    json!({"itemId": "race", "price": 3}),
                ),
            };
            // A loaded DynamoDB Local can time a call out (503, or request_in_flight while the
            // first try's marker stands); a client retries with the same Idempotency-Key, which
            // commits the operation at most once.
            let key = format!("race-{i}");
            let mut response = post_keyed(&app, &path, body.clone(), Some(&key)).await;
            for attempt in 1..10u64 {
                let in_flight = response.body["code"] == "request_in_flight";
                if response.status != 503 && !in_flight {
                    break;
                }
                if !in_flight {
                    response.assert_problem(503, "dependency_unavailable");
                }
                tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                response = post_keyed(&app, &path, body.clone(), Some(&key)).await;
            }
            (kind, i, response)
        }));
    }
    let (mut awarded, mut reversed, mut spent) = (Decimal::ZERO, 0i64, Decimal::ZERO);
    let mut refusals = std::collections::BTreeMap::<String, usize>::new();
    for handle in handles {
        let (kind, _, response) = handle.await.unwrap();
        match response.status {
            200 => match kind {
                "award" => {
                    awarded += game_functions::decimal::parse(&response.body["points"].to_string())
                        .unwrap()
                }
                "reverse" => reversed += 15,
                "spend" => spent += Decimal::from(3),
                _ => {}
            },
            409 => {
                let code = response.body["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                assert!(
                    [
                        "insufficient_points",
                        "insufficient_coins",
                        "reversal_exceeds_award",
                        "award_already_reversed",
                        "concurrent_modification",
                        "concurrent_award"
                    ]
                    .contains(&code.as_str()),
                    "{kind}: {}",
                    response.text
                );
                *refusals.entry(code).or_default() += 1;
            }
            other => panic!("{kind}: unexpected {other}: {}", response.text),
        }
    }
    eprintln!("race: awarded {awarded}, reversed {reversed}, spent {spent}, refused {refusals:?}");
    assert_invariants(&app, &["ana", "bob"], false).await;
    let end = [
        wallet(&app, "ana").await.balances,
        wallet(&app, "bob").await.balances,
    ];
    let points = |b: [game_functions::store::ledger::Balances; 2]| b[0].points + b[1].points;
    let coins = |b: [game_functions::store::ledger::Balances; 2]| b[0].coins + b[1].coins;
    assert_eq!(
        points(end),
        points(start) + awarded - Decimal::from(reversed),
        "points conserved; refusals {refusals:?}"
    );
    assert_eq!(coins(end), coins(start) - spent, "coins conserved");
    let mut reversed_total = Decimal::ZERO;
    for award_id in &awards {
        let state = award_state(&app, award_id).await;
        let done = state.reversed_points.unwrap_or_default();
        assert!(
            done <= state.points,
            "{award_id} reversed beyond its points"
        );
        assert_eq!(Decimal::from(15 * state.reversal_ids.len() as i64), done);
        reversed_total += done;
    }
    assert_eq!(reversed_total, Decimal::from(reversed));
}

/// An app whose DynamoDB is the production client through a proxy that injects errors, with
/// ana's and bob's first awards (40 points each); answers ana's award id.
async fn faulty_app() -> (TestApp, Arc<FaultyDynamoDb>, String) {
    let proxy = FaultyDynamoDb::start().await;
    let client = faults::production_client(&proxy.endpoint(), &faults::generous_timeouts()).await;
    let app = TestApp::with_config(client, |config| {
        config.api_key_cache_ttl = Duration::from_secs(3600);
    })
    .await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.pay(&game_id, "bob").await;
    (app, proxy, award_id)
}

fn cancelled_by_conflict(items: usize) -> Value {
    let mut body = error_body(
        "TransactionCanceledException",
        "Transaction cancelled, please refer cancellation reasons for specific reasons",
    );
    let mut reasons = vec![json!({"Code": "None"})];
    reasons.extend((1..items).map(|_| json!({"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"})));
    body["CancellationReasons"] = json!(reasons);
    body
}

/// A transfer or reversal that fails between decide and commit (the commit refused, or
/// cancelled by a conflicting transaction) leaves nothing half-written; the retry with the
/// same key completes exactly once, and a commit whose answer was lost is found, not redone.
#[tokio::test]
async fn faults_between_decide_and_commit_leave_nothing_half_written() {
    let (app, proxy, award_id) = faulty_app().await;
    let transfer = json!({"toExternalUserId": "bob", "amount": 5});
    let path = "/api/v1/users/ana/transfers";
    let baseline = app.item_count().await;
    let before = [wallet(&app, "ana").await, wallet(&app, "bob").await];

    // DynamoDB fails the commit every time: 503, nothing written.
    proxy.fail(
        "TransactWriteItems",
        usize::MAX,
        500,
        faults::internal_server_error(),
    );
    let failed = post_keyed(&app, path, transfer.clone(), Some("t-1")).await;
    failed.assert_problem(503, "dependency_unavailable");
    proxy.clear();
    assert_eq!(app.item_count().await, baseline, "nothing half-written");
    assert_eq!(
        [wallet(&app, "ana").await, wallet(&app, "bob").await],
        before
    );

    // Cancelled by conflicting transactions, twice: retried, committed once.
    proxy.fail("TransactWriteItems", 2, 400, cancelled_by_conflict(5));
    let retried = post_keyed(&app, path, transfer.clone(), Some("t-1")).await;
    assert_eq!(ok(&retried)["wallets"][0]["pointsBalance"], 35);
    let again = post_keyed(&app, path, transfer.clone(), Some("t-1")).await;
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(wallet(&app, "ana").await.balances.points, Decimal::from(35));

    // Committed, but the answer lost: the keyed retry finds its own answer.
    let reverse = format!("/api/v1/awards/{award_id}/reversal");
    proxy.inject("TransactWriteItems", 3, Answer::LostAfterCommit);
    let lost = post_keyed(&app, &reverse, json!({"amount": 10}), Some("r-1")).await;
    assert_eq!(ok(&lost)["award"]["reversedPoints"], 10, "{}", lost.text);
    proxy.clear();
    let replay = post_keyed(&app, &reverse, json!({"amount": 10}), Some("r-1")).await;
    assert_eq!(replay.text, lost.text);
    assert_eq!(
        award_state(&app, &award_id).await.reversal_ids.len(),
        1,
        "reversed exactly once"
    );

    // A cancelled reversal (its wallet in another transaction) is retried and lands once.
    proxy.fail("TransactWriteItems", 3, 400, cancelled_by_conflict(5));
    let cancelled = post_keyed(&app, &reverse, json!({"amount": 5}), Some("r-2")).await;
    assert_eq!(ok(&cancelled)["award"]["reversedPoints"], 15);
    proxy.clear();
    assert_eq!(award_state(&app, &award_id).await.reversal_ids.len(), 2);
    assert_invariants(&app, &["ana", "bob"], false).await;
}

/// The outbox's events of the ledger, oldest first: (type, data).
async fn ledger_events(app: &TestApp) -> Vec<(String, Value)> {
    app.outbox_events()
        .await
        .into_iter()
        .filter(|e| e.event_type.starts_with("wallet.") || e.event_type == "award.reversed")
        .map(|e| (e.event_type, e.data))
        .collect()
}

#[tokio::test]
async fn each_committed_correction_reports_one_event_and_a_refusal_or_replay_none() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.pay(&game_id, "bob").await;
    let calls = [
        (
            "/api/v1/users/ana/adjustments".to_owned(),
            json!({"currency": "coins", "amount": 10, "reason": "goodwill"}),
        ),
        (
            "/api/v1/users/ana/transfers".to_owned(),
            json!({"toExternalUserId": "bob", "amount": 5}),
        ),
        (
            "/api/v1/users/ana/spend".to_owned(),
            json!({"itemId": "sku-1", "price": 3}),
        ),
        (
            format!("/api/v1/awards/{award_id}/reversal"),
            json!({"amount": 10}),
        ),
    ];
    for (path, body) in &calls {
        ok(&post_keyed(&app, path, body.clone(), Some(path)).await);
        // The keyed replay answers the same and reports nothing more.
        ok(&post_keyed(&app, path, body.clone(), Some(path)).await);
    }
    // Refused: nothing written, nothing reported.
    post(
        &app,
        "/api/v1/users/ana/spend",
        json!({"itemId": "sku-2", "price": 100}),
    )
    .await
    .assert_problem(409, "insufficient_coins");
    let hold = post(
        &app,
        "/api/v1/users/ana/holds",
        json!({"itemId": "sku-3", "price": 2}),
    )
    .await;
    let hold_id = ok(&hold)["hold"]["holdId"].as_str().unwrap().to_owned();
    ok(&post(
        &app,
        &format!("/api/v1/users/ana/holds/{hold_id}/capture"),
        json!({}),
    )
    .await);

    let events = ledger_events(&app).await;
    let types: Vec<&str> = events.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        types,
        [
            "wallet.adjusted",
            "wallet.transferred",
            "wallet.spent",
            "award.reversed",
            "wallet.spent"
        ],
        "holds report when captured, not when opened"
    );
    // Each event's data is the operation's answer: its entries and the wallets after it.
    let (_, transferred) = &events[1];
    assert_eq!(transferred["wallets"][1]["externalUserId"], "bob");
    assert_eq!(transferred["wallets"][1]["pointsBalance"], 45);
    let (_, reversed) = &events[3];
    assert_eq!(reversed["award"]["awardId"], award_id.as_str());
    assert_eq!(reversed["award"]["reversedPoints"], 10);
    assert_eq!(reversed["entries"][0]["transactionType"], "ReverseAward");
    assert_invariants(&app, &["ana", "bob"], false).await;
}

#[tokio::test]
async fn the_backfill_indexes_awards_and_users_stored_without_their_keys_once() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    app.pay(&game_id, "bob").await;
    // ana's award as awards were stored before reversals: no GSI1 key.
    let award = award_state(&app, &award_id).await;
    without_index_key(&app, award.key.clone()).await;
    let path = format!("/api/v1/awards/{award_id}/reversal");
    post(&app, &path, json!({}))
        .await
        .assert_problem(404, "award_not_found");

    // bob as users were stored before the users export's index.
    let (pk, sk) = user_key(&app.tenant_id(), &ExternalId::try_new("bob").unwrap());
    without_index_key(&app, (pk, sk)).await;
    assert!(
        !exported(&app, "bob").await,
        "not listed before the backfill"
    );

    let store = &app.ctx.store;
    let done = game_functions::store::ledger::backfill_indexes(store)
        .await
        .unwrap();
    assert_eq!(
        (
            done.awards,
            done.awards_indexed,
            done.users,
            done.users_indexed
        ),
        (2, 1, 2, 1)
    );
    let again = game_functions::store::ledger::backfill_indexes(store)
        .await
        .unwrap();
    assert_eq!(
        (again.awards_indexed, again.users_indexed),
        (0, 0),
        "a rerun changes nothing"
    );
    assert!(exported(&app, "bob").await, "listed after it");
    let reversed = post(&app, &path, json!({})).await;
    assert_eq!(ok(&reversed)["award"]["reversed"], true);
    assert_invariants(&app, &["ana", "bob"], false).await;
}

#[tokio::test]
async fn the_sweeper_releases_expired_holds_once_and_leaves_the_others() {
    let app = TestApp::new().await;
    let game_id = app.paying_game(40).await;
    app.pay(&game_id, "ana").await;
    ok(&post(
        &app,
        "/api/v1/users/ana/adjustments",
        json!({"currency": "coins", "amount": 10, "reason": "seed"}),
    )
    .await);
    let hold = |price: i64, ttl: i64| {
        let app = &app;
        async move {
            let r = post(
                app,
                "/api/v1/users/ana/holds",
                json!({"itemId": "sku", "price": price, "ttlSeconds": ttl}),
            )
            .await;
            ok(&r)["hold"]["holdId"].as_str().unwrap().to_owned()
        }
    };
    // The short hold last: any hold or spend of ana's would release it first if it expired.
    let long = hold(4, 900).await;
    let captured = hold(2, 900).await;
    ok(&post(
        &app,
        &format!("/api/v1/users/ana/holds/{captured}/capture"),
        json!({}),
    )
    .await);
    let short = hold(3, 1).await;
    assert_eq!(wallet(&app, "ana").await.balances.held, Decimal::from(7));
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let sweep = game_functions::api::ledger::sweep_expired_holds(app.ctx)
        .await
        .unwrap();
    // The captured hold left the index when it closed; the long one is not due.
    assert_eq!((sweep.listed, sweep.released, sweep.skipped), (1, 1, 0));
    let after = wallet(&app, "ana").await.balances;
    assert_eq!(
        (after.coins, after.held),
        (Decimal::from(4), Decimal::from(4))
    );
    let history = app.call("GET", "/api/v1/users/ana/ledger", None).await;
    let released: Vec<&Value> = ok(&history)["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transactionType"] == "HoldExpired")
        .collect();
    assert_eq!(released.len(), 1, "{}", history.text);
    assert_eq!(released[0]["holdId"], short.as_str());
    assert_eq!(released[0]["actor"], "system:hold-sweeper");
    let again = game_functions::api::ledger::sweep_expired_holds(app.ctx)
        .await
        .unwrap();
    assert_eq!(again.listed, 0, "released holds leave the index");
    // The long hold is still open and capturable.
    ok(&post(
        &app,
        &format!("/api/v1/users/ana/holds/{long}/capture"),
        json!({}),
    )
    .await);
    assert_invariants(&app, &["ana"], false).await;
}

/// Whether the users export lists `user`.
async fn exported(app: &TestApp, user: &str) -> bool {
    let r = app
        .call("GET", "/api/v1/exports/users?format=json", None)
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    r.text.contains(&format!("\"{user}\""))
}

/// The item as items were stored before their GSI1 listing: without GSI1PK/GSI1SK.
async fn without_index_key(app: &TestApp, (pk, sk): (String, String)) {
    app.client
        .update_item()
        .table_name(&app.table)
        .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(pk))
        .key("SK", aws_sdk_dynamodb::types::AttributeValue::S(sk))
        .update_expression("REMOVE GSI1PK, GSI1SK")
        .send()
        .await
        .unwrap();
}
