//! Test harness: each test gets its own randomly named table (created from template.yaml) in
//! DynamoDB Local, its own tenant and admin key, and calls routes through the dev API's
//! in-process path or over real HTTP.

use bytes::Bytes;
use game_functions::identity::auth;
use game_functions::identity::rate_limit::RateLimits;
use game_functions::{AppContext, Config, Secrets};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use lambda_http::http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

pub use serde_json::json;

pub mod access;
pub mod faults;

/// The greencrowd simulation signing key test apps use.
pub const TEST_SIMULATION_KEY: &[u8] = b"test-simulation-signing-key";
/// The API-key pepper test apps use.
pub const TEST_PEPPER: &[u8] = b"test-api-key-pepper-0123456789abcdef";
/// The HS256 bearer-token key test apps use.
pub const TEST_HS256_KEY: &[u8] = b"test-hs256-shared-key-0123456789abcdef";

/// Key material given directly (the secret-loading path has its own test against moto).
pub fn test_secrets() -> Secrets {
    Secrets::new(TEST_PEPPER, TEST_HS256_KEY, TEST_SIMULATION_KEY)
}

/// Rate limits on, but far above what any test sends unless it lowers them: the counters
/// are exercised on every award and action without getting in the way.
pub fn generous_rate_limits() -> RateLimits {
    RateLimits {
        per_key: 1_000_000,
        per_ip: 1_000_000,
        per_user: 1_000_000,
        daily_per_key: 1_000_000,
        ..RateLimits::default()
    }
}

/// An id of the library's types from a literal (panics on one that breaks the type's rule).
pub fn id<T>(value: &str) -> T
where
    T: std::str::FromStr,
    T::Err: std::fmt::Debug,
{
    value.parse().expect("a valid id literal")
}

pub struct TestApp {
    pub ctx: &'static AppContext,
    pub client: aws_sdk_dynamodb::Client,
    pub table: String,
    pub tenant: String,
    pub api_key: String,
    /// DynamoDB calls a route made beyond its declared access (see `access`).
    pub access_violations: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as sent (e.g. gzip-encoded).
    pub bytes: Vec<u8>,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    fn new(status: u16, headers: HeaderMap, bytes: &[u8]) -> Self {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        // Every problem any test sees carries a registered code with its registered status.
        if headers
            .get("content-type")
            .is_some_and(|v| v.as_bytes() == b"application/problem+json")
        {
            let code = body["code"].as_str().unwrap_or_default();
            let registered = game_functions::problems::lookup(code).unwrap_or_else(|| {
                panic!("problem code {code:?} is not in functions/src/problems.rs: {text}")
            });
            assert_eq!(
                registered.status, status,
                "{code} answered with {status}, registered as {}",
                registered.status
            );
        }
        Self {
            status,
            headers,
            bytes: bytes.to_vec(),
            text,
            body,
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    /// Asserts a problem+json answer with this status and code.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "body: {}",
            self.text
        );
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["status"], status);
        let detail = self.body["detail"].as_str().unwrap_or_default();
        assert!(
            detail.len() > 10 && detail.contains(' '),
            "detail must be a sentence: {detail:?}"
        );
    }
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// The SDK client for DynamoDB Local. The test command exports the endpoint; without it the
/// tests would silently aim at real AWS, so refuse.
pub async fn dynamodb_client() -> aws_sdk_dynamodb::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok()
            || std::env::var("AWS_ENDPOINT_URL").is_ok(),
        "AWS_ENDPOINT_URL_DYNAMODB is not set: run the tests with `make test`, which starts DynamoDB Local"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_dynamodb::Client::new(&config)
}

/// A DynamoDB client whose every request passes through `interceptor` (fault injection,
/// request counting).
pub async fn dynamodb_client_with(
    interceptor: impl aws_sdk_dynamodb::config::Intercept + 'static,
) -> aws_sdk_dynamodb::Client {
    let base = dynamodb_client().await;
    let config = base.config().to_builder().interceptor(interceptor).build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Counts DynamoDB requests by operation name (from the `x-amz-target` header).
#[derive(Debug, Clone, Default)]
pub struct RequestCounter(pub std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl RequestCounter {
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

pub fn operation_of(
    request: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
) -> String {
    request
        .request()
        .headers()
        .get("x-amz-target")
        .and_then(|target| target.split('.').next_back())
        .unwrap_or_default()
        .to_owned()
}

impl aws_sdk_dynamodb::config::Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        self.0.lock().unwrap().push(operation_of(context));
        Ok(())
    }
}

/// Groups DynamoDB requests into sequential round trips: a request sent while none is in
/// flight starts a new round trip; requests sent while others are in flight share theirs.
#[derive(Debug, Clone, Default)]
pub struct RoundTrips(std::sync::Arc<std::sync::Mutex<(usize, Vec<Vec<String>>)>>);

impl RoundTrips {
    /// The round trips since the last call, each with its operations sorted.
    pub fn take(&self) -> Vec<Vec<String>> {
        let mut state = self.0.lock().unwrap();
        let mut trips = std::mem::take(&mut state.1);
        for trip in &mut trips {
            trip.sort();
        }
        trips
    }
}

impl aws_sdk_dynamodb::config::Intercept for RoundTrips {
    fn name(&self) -> &'static str {
        "RoundTrips"
    }

    fn read_before_transmit(
        &self,
        context: &aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let mut state = self.0.lock().unwrap();
        if state.0 == 0 {
            state.1.push(Vec::new());
        }
        state.0 += 1;
        if let Some(trip) = state.1.last_mut() {
            trip.push(operation_of(context));
        }
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &aws_sdk_dynamodb::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_dynamodb::config::RuntimeComponents,
        _: &mut aws_sdk_dynamodb::config::ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let mut state = self.0.lock().unwrap();
        state.0 = state.0.saturating_sub(1);
        Ok(())
    }
}

/// What a client does with a retryable refusal: check it says when to retry, then wait.
async fn back_off(response: &TestResponse) {
    assert!(
        response.headers.contains_key("retry-after"),
        "{}",
        response.text
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
}

impl TestApp {
    /// The app's tenant as the library's key functions take it.
    pub fn tenant_id(&self) -> game_functions::ids::TenantId {
        id(&self.tenant)
    }

    pub async fn new() -> Self {
        Self::with_client(dynamodb_client().await).await
    }

    /// A test app on a client of the caller's (e.g. with an interceptor).
    pub async fn with_client(client: aws_sdk_dynamodb::Client) -> Self {
        Self::with_config(client, |_| {}).await
    }

    /// A test app whose configuration the test adjusts (rate limits, token issuers, ...).
    pub async fn configured(configure: impl FnOnce(&mut Config)) -> Self {
        Self::with_config(dynamodb_client().await, configure).await
    }

    pub async fn with_config(
        client: aws_sdk_dynamodb::Client,
        configure: impl FnOnce(&mut Config),
    ) -> Self {
        Self::build(client, configure, test_secrets()).await
    }

    /// The general constructor: client, configuration adjustments and key material.
    pub async fn build(
        client: aws_sdk_dynamodb::Client,
        configure: impl FnOnce(&mut Config),
        secrets: Secrets,
    ) -> Self {
        Self::build_with(client, configure, secrets, |_| {}).await
    }

    /// [`Self::build`], with the context adjusted before it is leaked (e.g. its event queues).
    pub async fn build_with(
        client: aws_sdk_dynamodb::Client,
        configure: impl FnOnce(&mut Config),
        secrets: Secrets,
        adjust: impl FnOnce(&mut AppContext),
    ) -> Self {
        // The documentation routes serve the embedded files, as the dev API does.
        game_functions::api::docs::install(&game_functions::docs_assets::ALL);
        let table = unique("test");
        game_local::template::create_table(&client, &table)
            .await
            .expect("create test table");
        let guard = access::AccessGuard {
            table: table.clone(),
            violations: Default::default(),
        };
        let access_violations = guard.violations.clone();
        let guarded = aws_sdk_dynamodb::Client::from_conf(
            client.config().to_builder().interceptor(guard).build(),
        );
        let mut config = Config::for_table(&table);
        // Off unless a test turns them on: four counter writes per award would add a third
        // of the suite's DynamoDB Local work. The limits' own tests, and the races that must
        // hold as deployed (limits on), configure them.
        config.rate_limits = RateLimits::disabled();
        // Tests count a request's DynamoDB calls; the deployed 5 s key cache can expire between
        // a loaded machine's requests and add a GetItem. The TTL's own test sets its own.
        config.api_key_cache_ttl = std::time::Duration::from_secs(3600);
        configure(&mut config);
        let mut ctx = AppContext::new(guarded, config, secrets);
        adjust(&mut ctx);
        let ctx = ctx.leak();
        let tenant = unique("tenant");
        let api_key = auth::mint_api_key(
            &ctx.store,
            &ctx.secrets.api_key_pepper,
            &tenant,
            "tests",
            "test key",
            "admin",
            "tests",
        )
        .await
        .expect("mint key");
        Self {
            ctx,
            client,
            table,
            tenant,
            api_key,
            access_violations,
        }
    }

    /// A new key of `tenant` with `role` ("admin" or "client") on this app's table.
    pub async fn mint_key(&self, tenant: &str, role: &str) -> String {
        auth::mint_api_key(
            &self.ctx.store,
            &self.ctx.secrets.api_key_pepper,
            tenant,
            "tests",
            "minted by a test",
            role,
            "tests",
        )
        .await
        .expect("mint key")
    }

    /// A key of another tenant on the same table.
    pub async fn other_tenant_key(&self) -> String {
        self.mint_key(&unique("other"), "admin").await
    }

    /// Calls a route in-process, as API Gateway would, with this app's key.
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> TestResponse {
        self.call_as(
            Some(&self.api_key),
            method,
            path,
            body.map(|b| b.to_string().into_bytes()),
        )
        .await
    }

    /// An award as a well-behaved client sends it: with `idempotency_key`, retried with the same
    /// key on 409 and 503 (both carry Retry-After) until it answers 200, which it returns. Any
    /// other answer, or 60 refusals in a row, fails the test.
    pub async fn award_until_committed(
        &self,
        game_id: &str,
        task: &str,
        user: &str,
        idempotency_key: &str,
    ) -> TestResponse {
        let path = format!("/api/v1/games/{game_id}/tasks/{task}/points");
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("x-api-key", self.api_key.clone()),
            ("idempotency-key", idempotency_key.to_owned()),
        ];
        let body = json!({"externalUserId": user}).to_string().into_bytes();
        for _ in 0..60 {
            let response = self
                .call_with_headers("POST", &path, &headers, Some(body.clone()))
                .await;
            match response.status {
                200 => return response,
                409 | 503 => back_off(&response).await,
                other => panic!(
                    "award {idempotency_key}: unexpected {other}: {}",
                    response.text
                ),
            }
        }
        panic!("award {idempotency_key} never went through");
    }

    /// `call_as` until the answer is not a retryable 503 (which must carry Retry-After), for
    /// tests about something other than availability on a busy DynamoDB Local.
    pub async fn call_as_until_answered(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        for _ in 0..60 {
            let response = self.call_as(key, method, path, body.clone()).await;
            if response.status != 503 {
                return response;
            }
            back_off(&response).await;
        }
        panic!("{method} {path} answered 503 sixty times");
    }

    pub async fn call_as(
        &self,
        key: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut headers = vec![("content-type", "application/json".to_owned())];
        if let Some(key) = key {
            headers.push(("x-api-key", key.to_owned()));
        }
        self.call_with_headers(method, path, &headers, body).await
    }

    pub async fn call_with_headers(
        &self,
        method: &str,
        path: &str,
        header_list: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        self.call_from(
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            method,
            path,
            header_list,
            body,
        )
        .await
    }

    /// As [`Self::call_with_headers`], from `source_ip` (API Gateway's sourceIp).
    pub async fn call_from(
        &self,
        source_ip: IpAddr,
        method: &str,
        path: &str,
        header_list: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> TestResponse {
        let mut headers = HeaderMap::new();
        for (name, value) in header_list {
            headers.insert(
                lambda_http::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                HeaderValue::from_str(value).expect("header value"),
            );
        }
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let call = game_local::devapi::call(
            self.ctx,
            &method,
            path,
            query,
            &headers,
            body.as_deref().unwrap_or_default(),
            source_ip,
        );
        // Every DynamoDB request the handler makes is checked against its route's Access.
        let response = match game_functions::routes::match_route(&method, path) {
            Some((route, _)) => access::CURRENT_ROUTE.scope(route, call).await,
            None => call.await,
        };
        let violations = std::mem::take(&mut *self.access_violations.lock().unwrap());
        assert!(violations.is_empty(), "{}", violations.join("\n"));
        let (parts, body) = response.into_parts();
        let bytes: Vec<u8> = match body {
            Body::Empty => Vec::new(),
            Body::Text(text) => text.into_bytes(),
            Body::Binary(data) => data,
            _ => Vec::new(),
        };
        TestResponse::new(parts.status.as_u16(), parts.headers, &bytes)
    }

    /// Creates a game and answers its gameId.
    pub async fn create_game(&self, external_game_id: &str, extra: Value) -> String {
        let mut body = json!({"externalGameId": external_game_id, "platform": "web"});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let response = self.call("POST", "/api/v1/games", Some(body)).await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.body["gameId"].as_str().expect("gameId").to_owned()
    }

    /// A game whose task `pay` pays `points` for each of a user's first awards (the default
    /// strategy, its basic points set by a task param).
    pub async fn paying_game(&self, points: i64) -> String {
        let game_id = self.create_game(&unique("paying"), json!({})).await;
        self.create_task(
            &game_id,
            "pay",
            json!({"params": [{"key": "variable_basic_points", "value": points}]}),
        )
        .await;
        game_id
    }

    /// One award on a [`Self::paying_game`]'s task, which must succeed.
    pub async fn pay(&self, game_id: &str, user: &str) -> TestResponse {
        let response = self
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/pay/points"),
                Some(json!({"externalUserId": user})),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.text);
        response
    }

    pub async fn create_task(&self, game_id: &str, external_task_id: &str, extra: Value) -> Value {
        let mut body = json!({"externalTaskId": external_task_id});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let response = self
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks"),
                Some(body),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.text);
        response.body
    }

    /// Every item in this test's table, for "nothing was written" checks. Rate-limit counters
    /// are not counted: every well-formed award or action is charged to them, whatever its
    /// outcome (that is their point; tests/tests/rate_limits.rs checks them). Nor are the
    /// dashboard's day counters, which every counted write adds to (tests/tests/operator.rs). Outbox events are
    /// not counted either: each commits only inside the write it reports (tests/tests/events.rs
    /// checks them), and TTL reaps them.
    pub async fn item_count(&self) -> usize {
        self.items()
            .await
            .iter()
            .filter(|item| {
                !matches!(
                    item.get("entity")
                        .and_then(|e| e.as_s().ok())
                        .map(String::as_str),
                    Some("ratelimit" | "outbox" | "dashboardDay")
                )
            })
            .count()
    }

    /// Every item in this test's table (all scan pages).
    pub async fn items(
        &self,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start)
                .send()
                .await
                .expect("scan");
            items.extend(output.items.unwrap_or_default());
            start = output.last_evaluated_key;
            if start.is_none() {
                return items;
            }
        }
    }

    /// The items of one entity (`entity` attribute) in this test's table.
    pub async fn items_of(
        &self,
        entity: &str,
    ) -> Vec<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        let mut items = self.items().await;
        items.retain(|i| {
            i.get("entity")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some(entity)
        });
        items
    }

    /// The events in this test's outbox, by id (the ids of one write's events sort in order).
    pub async fn outbox_events(&self) -> Vec<game_functions::domain::events::Event> {
        let mut events: Vec<_> = self
            .items_of(game_functions::store::outbox::ENTITY)
            .await
            .iter()
            .filter_map(game_functions::store::outbox::event_of)
            .collect();
        events.sort_by(|a, b| a.id.cmp(&b.id));
        events
    }

    /// Serves the dev API over real HTTP on an ephemeral loopback port.
    pub async fn serve_http(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let ctx = self.ctx;
        tokio::spawn(async move {
            let _ = game_local::devapi::serve(listener, ctx).await;
        });
        address
    }
}

/// One HTTP/1.1 request over a fresh connection.
pub async fn http_request(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> TestResponse {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", address.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = sender
        .send_request(request.body(Full::new(Bytes::from(body))).expect("request"))
        .await
        .expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    TestResponse::new(status, headers, &bytes)
}
