//! End to end over real HTTP through the dev API: API Gateway v2 semantics included.

use game_functions::{AppContext, Config};
use game_local::devapi;
use game_tests::{TestApp, http_request, json};
use lambda_http::http::{HeaderMap, HeaderValue, Method};
use lambda_http::request::RequestContext;
use lambda_http::{Body, RequestExt};
use std::net::{IpAddr, Ipv4Addr};

#[tokio::test]
async fn walk_through_over_http() {
    let app = TestApp::new().await;
    let address = app.serve_http().await;
    let key = app.api_key.as_str();

    let kpi = http_request(address, "GET", "/api/v1/kpi/health_check", &[], vec![]).await;
    assert_eq!(kpi.status, 200);
    assert_eq!(kpi.body["status"], "KPI service is running");
    assert_eq!(kpi.content_type(), "application/json");
    let health = http_request(address, "GET", "/api/v1/health", &[], vec![]).await;
    assert_eq!(health.status, 200, "{}", health.text);
    assert_eq!(health.body["table"], "reachable");

    let body = json!({"externalGameId": "http-game", "platform": "web"})
        .to_string()
        .into_bytes();
    let created = http_request(
        address,
        "POST",
        "/api/v1/games",
        &[("x-api-key", key), ("content-type", "application/json")],
        body,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let game_id = created.body["gameId"].as_str().unwrap();

    let task_body = json!({"externalTaskId": "walk 1"}).to_string().into_bytes();
    let task = http_request(
        address,
        "POST",
        &format!("/api/v1/games/{game_id}/tasks"),
        &[("x-api-key", key)],
        task_body,
    )
    .await;
    assert_eq!(task.status, 201, "{}", task.text);

    let read = http_request(
        address,
        "GET",
        &format!("/api/v1/games/{game_id}/tasks/walk%201"),
        &[("x-api-key", key)],
        vec![],
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["externalTaskId"], "walk 1");

    let filtered = http_request(
        address,
        "GET",
        "/api/v1/games?externalGameId=http%2Dgame&page_size=5",
        &[("x-api-key", key)],
        vec![],
    )
    .await;
    assert_eq!(filtered.body["items"][0]["gameId"], game_id);

    let unknown = http_request(address, "GET", "/api/v1/nowhere", &[], vec![]).await;
    unknown.assert_problem(404, "route_not_found");
    let unauthenticated = http_request(address, "GET", "/api/v1/games", &[], vec![]).await;
    unauthenticated.assert_problem(401, "missing_credentials");
    assert!(unauthenticated.headers.contains_key("www-authenticate"));
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = TestApp::new().await;
    let address = app.serve_http().await;
    let big = vec![b' '; devapi::MAX_BODY_BYTES + 1];
    let response = http_request(
        address,
        "POST",
        "/api/v1/games",
        &[("x-api-key", &app.api_key)],
        big,
    )
    .await;
    response.assert_problem(413, "payload_too_large");
}

#[tokio::test]
async fn events_carry_api_gateway_v2_semantics() {
    let (route, params) =
        game_functions::routes::match_route(&Method::POST, "/api/v1/games/g%201/tasks").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert("x-api-key", HeaderValue::from_static("k"));
    headers.append("x-multi", HeaderValue::from_static("a"));
    headers.append("x-multi", HeaderValue::from_static("b"));
    headers.insert("cookie", HeaderValue::from_static("c1=v1; c2=v2"));
    let binary = vec![0xff, 0x00, 0xfe];
    let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 9));
    let event = devapi::event(
        route,
        &params,
        &Method::POST,
        "/api/v1/games/g%201/tasks",
        Some("a=1&a=2&b=x%20y"),
        &headers,
        &binary,
        source,
    );
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["routeKey"], "POST /api/v1/games/{gameId}/tasks");
    assert_eq!(event["headers"]["x-multi"], "a,b");
    assert_eq!(event["cookies"], json!(["c1=v1", "c2=v2"]));

    let request = lambda_http::request::from_str(&event.to_string()).unwrap();
    assert_eq!(request.path_parameters().first("gameId"), Some("g 1"));
    assert_eq!(request.query_string_parameters().first("b"), Some("x y"));
    assert_eq!(
        request.query_string_parameters().all("a"),
        Some(vec!["1", "2"])
    );
    assert_eq!(request.body(), &Body::Binary(binary));
    match request.request_context() {
        RequestContext::ApiGatewayV2(context) => {
            assert_eq!(context.http.source_ip.as_deref(), Some("127.0.0.9"))
        }
        other => panic!("not an API Gateway v2 context: {other:?}"),
    }
    let text = devapi::event(
        route,
        &params,
        &Method::POST,
        "/p",
        None,
        &HeaderMap::new(),
        b"{\"a\":1}",
        source,
    );
    assert_eq!(text["isBase64Encoded"], false);
    assert_eq!(text["body"], "{\"a\":1}");
}

#[tokio::test]
async fn health_is_503_when_the_table_is_unreachable() {
    let client = game_tests::dynamodb_client().await;
    let ctx = AppContext::new(
        client,
        Config::for_table("no-such-table"),
        game_tests::test_secrets(),
    )
    .leak();
    let response = devapi::call(
        ctx,
        &Method::GET,
        "/api/v1/health",
        None,
        &HeaderMap::new(),
        b"",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    )
    .await;
    assert_eq!(response.status(), 503);
    let kpi = devapi::call(
        ctx,
        &Method::GET,
        "/api/v1/kpi/health_check",
        None,
        &HeaderMap::new(),
        b"",
        IpAddr::V4(Ipv4Addr::LOCALHOST),
    )
    .await;
    assert_eq!(
        kpi.status(),
        200,
        "the liveness probe does not touch the table"
    );
}
