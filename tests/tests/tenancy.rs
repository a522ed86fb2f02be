//! Tenancy, generically over the route table: tenant A's admin key against every route that
//! takes a game, task, user or key id, with tenant B's ids. Each answers 404 exactly like a
//! missing id, and nothing of B's changes. Routes added later are covered automatically; a
//! route whose request this test cannot shape fails it with a message saying what to add.

use game_functions::routes::ROUTES;
use game_tests::{TestApp, TestResponse, json};
use serde_json::Value;

/// Routes that create by external id in the caller's own tenant: B's id is just a name there,
/// so A gets its own user, never B's.
const UPSERTS_IN_CALLERS_TENANT: &[&str] = &["users_actions"];

struct TenantB {
    key: String,
    tenant: String,
    game_id: String,
    task: &'static str,
    user: &'static str,
    prefix: String,
    award_id: String,
    hold_id: String,
    webhook_id: String,
}

async fn tenant_b(app: &TestApp) -> TenantB {
    let tenant = game_tests::unique("tenant-b");
    let key = app.mint_key(&tenant, "admin").await;
    let as_b = |method: &'static str, path: String, body: Value| {
        let key = key.clone();
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
    let game = as_b(
        "POST",
        "/api/v1/games".into(),
        json!({"externalGameId": "b-game", "platform": "web"}),
    )
    .await;
    assert_eq!(game.status, 201, "{}", game.text);
    let game_id = game.body["gameId"].as_str().unwrap().to_owned();
    let task = as_b(
        "POST",
        format!("/api/v1/games/{game_id}/tasks"),
        json!({"externalTaskId": "b-task"}),
    )
    .await;
    assert_eq!(task.status, 201, "{}", task.text);
    let award = as_b(
        "POST",
        format!("/api/v1/games/{game_id}/tasks/b-task/points"),
        json!({"externalUserId": "b-user"}),
    )
    .await;
    assert_eq!(award.status, 200, "{}", award.text);
    let award_id = award.body["awardId"].as_str().unwrap().to_owned();
    let webhook = as_b(
        "POST",
        "/api/v1/webhooks".into(),
        json!({"url": "https://hooks.example.org/b"}),
    )
    .await;
    assert_eq!(webhook.status, 201, "{}", webhook.text);
    let webhook_id = webhook.body["webhookId"].as_str().unwrap().to_owned();
    let prefix = game_functions::identity::auth::key_prefix(&key)
        .unwrap()
        .to_owned();
    // A hold of B's user, for the hold routes.
    let coins = as_b(
        "POST",
        "/api/v1/users/b-user/adjustments".into(),
        json!({"currency": "coins", "amount": 5, "reason": "fixture"}),
    )
    .await;
    assert_eq!(coins.status, 200, "{}", coins.text);
    let hold = as_b(
        "POST",
        "/api/v1/users/b-user/holds".into(),
        json!({"itemId": "b-item", "price": 1}),
    )
    .await;
    assert_eq!(hold.status, 200, "{}", hold.text);
    let hold_id = hold.body["hold"]["holdId"].as_str().unwrap().to_owned();
    TenantB {
        key,
        tenant,
        game_id,
        task: "b-task",
        user: "b-user",
        prefix,
        award_id,
        hold_id,
        webhook_id,
    }
}

/// Everything in the table that is not tenant A's (A's own rate-limit counters and anything A
/// creates in its own namespace are A's business), as sorted text.
async fn not_a(app: &TestApp) -> Vec<String> {
    let a_prefix = format!("T#{}#", app.tenant);
    let mut items: Vec<String> = app
        .items()
        .await
        .into_iter()
        .filter(|item| {
            let pk = game_functions::store::attrs::s(item, "PK").unwrap_or_default();
            let tenant = game_functions::store::attrs::s(item, "tenant").unwrap_or_default();
            let a_owns =
                pk.starts_with(&a_prefix) || (pk.starts_with("APIKEY#") && tenant == app.tenant);
            !a_owns
        })
        .map(|item| {
            let mut pairs: Vec<String> = item
                .iter()
                .map(|(k, v)| format!("{k}={}", canonical(v)))
                .collect();
            pairs.sort();
            pairs.join(",")
        })
        .collect();
    items.sort();
    items
}

/// An attribute's text with map members in key order (a map's Debug order is a HashMap's).
fn canonical(value: &aws_sdk_dynamodb::types::AttributeValue) -> String {
    use aws_sdk_dynamodb::types::AttributeValue;
    match value {
        AttributeValue::M(map) => {
            let mut members: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{k:?}: {}", canonical(v)))
                .collect();
            members.sort();
            format!("M({{{}}})", members.join(", "))
        }
        AttributeValue::L(list) => {
            let items: Vec<String> = list.iter().map(canonical).collect();
            format!("L([{}])", items.join(", "))
        }
        other => format!("{other:?}"),
    }
}

/// A body every write route accepts as well-formed, so the request gets as far as looking
/// up B's ids (routes ignore members they do not know).
fn body_for(route: &str, b: &TenantB) -> Value {
    match route {
        "users_points_query" => json!([b.user]),
        // The ledger's bodies refuse unknown members.
        "ledger_reverse" | "ledger_capture" | "ledger_void" => json!({}),
        "ledger_adjust" => json!({"amount": 1, "reason": "a"}),
        "ledger_transfer" => json!({"toExternalUserId": "a-user", "amount": 1}),
        "ledger_spend" | "ledger_hold" => json!({"itemId": "a-item", "price": 1}),
        "leaderboards_create" => json!({"key": "weekly", "period": "weekly"}),
        "leaderboards_patch" => json!({"period": "weekly"}),
        "levels_put" => json!({"levels": [{"level": 1, "name": "Rookie", "threshold": 1}]}),
        "streak_put" => json!({"period": "daily"}),
        "achievements_put" => {
            json!({"name": "First", "criteria": {"type": "awards", "threshold": 1}})
        }
        "users_achievement_grant" | "users_achievement_revoke" => json!({"reason": "a"}),
        _ => json!({
            "externalUserId": b.user,
            "externalGameId": "a-copy",
            "externalTaskId": "a-copy-task",
            "platform": "web",
            "typeAction": "click",
            "status": "open",
            "data": {},
            "points": 1,
            "tasks": [{"externalTaskId": "a-bulk"}],
            "client": "a",
            "description": "a",
        }),
    }
}

#[tokio::test]
async fn tenant_a_gets_404_for_every_id_of_tenant_b_and_nothing_of_b_changes() {
    let app = TestApp::new().await;
    let b = tenant_b(&app).await;
    let mut covered = Vec::new();
    // Upserting routes last: once A has its own user named like B's, A's reads of that name
    // rightly answer A's user.
    let mut routes: Vec<_> = ROUTES.iter().collect();
    routes.sort_by_key(|route| UPSERTS_IN_CALLERS_TENANT.contains(&route.name));
    for route in routes {
        let mut path = route.path.to_owned();
        let mut tenant_owned = false;
        let mut foreign = false;
        for segment in route.path.split('/') {
            let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) else {
                continue;
            };
            let value = match name {
                "gameId" => b.game_id.clone(),
                "externalTaskId" => b.task.to_owned(),
                "externalUserId" => b.user.to_owned(),
                "prefix" => b.prefix.clone(),
                "awardId" => b.award_id.clone(),
                "holdId" => b.hold_id.clone(),
                "webhookId" => b.webhook_id.clone(),
                // Any event id: B's webhook is not found first.
                "eventId" => "evt_none".to_owned(),
                // The implicit board every game has, and any achievement key: B's game is not
                // found first.
                "boardKey" => "points".to_owned(),
                "key" => "first".to_owned(),
                _ => {
                    foreign = true;
                    continue;
                }
            };
            tenant_owned = true;
            path = path.replace(segment, &value);
        }
        if foreign {
            // Catalogue ids (/strategies/{id}) name global data. Custom-strategy ids are tenant
            // data: custom_strategies::every_custom_id_route_is_tenant_scoped covers each of
            // those routes with another tenant's id.
            // The documentation's files (/docs/{file}) and the console's (/admin/{file}) are
            // public and tenant-less too.
            assert!(
                route.path.starts_with("/api/v1/strategies")
                    || route.path.starts_with("/docs/")
                    || route.path.starts_with("/admin/"),
                "{}: path parameter this test does not know; add it to the fixture",
                route.name
            );
            continue;
        }
        if !tenant_owned {
            continue;
        }
        let before = not_a(&app).await;
        let body = matches!(route.method.as_str(), "POST" | "PATCH" | "PUT")
            .then(|| body_for(route.name, &b).to_string().into_bytes());
        if route.method.as_str() == "GET" {
            // Query parameters some reads require (convert preview); the others ignore them.
            path.push_str("?points=1");
        }
        let response: TestResponse = app
            .call_as(Some(&app.api_key), route.method.as_str(), &path, body)
            .await;
        if UPSERTS_IN_CALLERS_TENANT.contains(&route.name) {
            assert!(
                (200..300).contains(&response.status),
                "{}: {} {}",
                route.name,
                response.status,
                response.text
            );
        } else {
            assert!(
                ![400, 422].contains(&response.status),
                "{}: the request was refused before any lookup ({}); give it a valid body in body_for",
                route.name,
                response.text
            );
            assert_eq!(
                response.status, 404,
                "{} {} with tenant B's ids: {}",
                route.method, path, response.text
            );
            response.assert_problem(404, response.body["code"].as_str().unwrap_or("?"));
            assert!(
                response.body["code"]
                    .as_str()
                    .unwrap()
                    .ends_with("_not_found"),
                "{}: {}",
                route.name,
                response.text
            );
        }
        assert_eq!(
            before,
            not_a(&app).await,
            "{}: tenant B's data changed",
            route.name
        );
        covered.push(route.name);
    }
    assert!(covered.len() >= 25, "covered only {covered:?}");

    // B still sees its data exactly as before, and its key still works.
    let game = app
        .call_as(
            Some(&b.key),
            "GET",
            &format!("/api/v1/games/{}", b.game_id),
            None,
        )
        .await;
    assert_eq!(game.status, 200, "{}", game.text);
    let wallet = app
        .call_as(
            Some(&b.key),
            "GET",
            &format!("/api/v1/users/{}/wallet", b.user),
            None,
        )
        .await;
    assert_eq!(wallet.status, 200, "{}", wallet.text);
    assert!(!b.tenant.is_empty());
}

#[tokio::test]
async fn tenant_a_lists_and_queries_see_nothing_of_tenant_b() {
    let app = TestApp::new().await;
    let b = tenant_b(&app).await;
    for path in ["/api/v1/games", "/api/v1/apikey"] {
        let response = app.call("GET", path, None).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert!(
            !response.text.contains(&b.game_id) && !response.text.contains(&b.prefix),
            "{path}: {}",
            response.text
        );
    }
    let query = app
        .call("POST", "/api/v1/users/points/query", Some(json!([b.user])))
        .await;
    assert!(
        !query.text.contains(&b.game_id) && !query.text.contains("\"points\":1"),
        "{}",
        query.text
    );
}
