//! API keys: create/list/revoke (admin only), revocation within the cache TTL, the plaintext
//! never in logs or table items, and the deployment secret loaded from Secrets Manager (moto).

use game_functions::identity::auth;
use game_functions::{AppContext, Config, Secrets};
use game_tests::{TestApp, json, unique};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Log lines as the JSON subscriber of the Lambdas writes them.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures every event logged on this thread (all TRACE and up) until the guard drops. A
/// `#[tokio::test]` runs on a current-thread runtime, so that is everything the test's calls
/// log, handler tasks included. Scoped, not global: the test binary holds every module's
/// tests, which neither log into this buffer nor pay for formatting TRACE events.
fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

#[tokio::test]
async fn create_list_and_revoke_a_key() {
    let app = TestApp::new().await;
    let created = app
        .call(
            "POST",
            "/api/v1/apikey/create",
            Some(json!({"client": "shop", "description": "checkout backend"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.headers["cache-control"], "no-store");
    let plaintext = created.body["plaintext"].as_str().unwrap().to_owned();
    let prefix = created.body["apiKey"].as_str().unwrap().to_owned();
    assert_eq!(auth::key_prefix(&plaintext), Some(prefix.as_str()));
    assert_eq!(created.body["role"], "client");
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["message"], "API Key created successfully");

    // The new key works, and is not an admin.
    let games = app
        .call_as(Some(&plaintext), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(games.status, 200, "{}", games.text);
    app.call_as(Some(&plaintext), "GET", "/api/v1/apikey", None)
        .await
        .assert_problem(403, "admin_required");
    app.call_as(
        Some(&plaintext),
        "POST",
        "/api/v1/apikey/create",
        Some(
            json!({"client": "x", "description": "y"})
                .to_string()
                .into_bytes(),
        ),
    )
    .await
    .assert_problem(403, "admin_required");

    // Listed without hash or plaintext.
    let listed = app.call("GET", "/api/v1/apikey", None).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let items = listed.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "the app's admin key and the new one");
    let entry = items
        .iter()
        .find(|k| k["apiKey"] == prefix.as_str())
        .unwrap();
    assert_eq!(entry["client"], "shop");
    assert!(!listed.text.contains(&plaintext) && !listed.text.contains("keyHash"));

    // Revoked: 401 at once in this container.
    let revoked = app
        .call("DELETE", &format!("/api/v1/apikey/{prefix}"), None)
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert_eq!(revoked.body["active"], false);
    app.call_as(Some(&plaintext), "GET", "/api/v1/games", None)
        .await
        .assert_problem(401, "invalid_api_key");
    let listed = app.call("GET", "/api/v1/apikey", None).await;
    let entry = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["apiKey"] == prefix.as_str())
        .unwrap()
        .clone();
    assert_eq!(entry["active"], false);
    assert!(entry["revoked_at"].is_string());

    app.call("DELETE", "/api/v1/apikey/gme_live_nothere0", None)
        .await
        .assert_problem(404, "api_key_not_found");
    app.call(
        "POST",
        "/api/v1/apikey/create",
        Some(json!({"client": "x", "description": "y", "role": "root"})),
    )
    .await
    .assert_problem(422, "invalid_field");
    app.call(
        "POST",
        "/api/v1/apikey/create",
        Some(json!({"client": "x"})),
    )
    .await
    .assert_problem(422, "invalid_body");
}

#[tokio::test]
async fn another_warm_function_stops_accepting_a_revoked_key_within_the_cache_ttl() {
    let app = TestApp::new().await;
    let key = app.mint_key(&app.tenant, "client").await;
    // A second "container" on the same table, with its own 5 s cache.
    let other = AppContext::new(
        app.client.clone(),
        Config::for_table(&app.table),
        game_tests::test_secrets(),
    )
    .leak();
    let call_other = |key: String| async move {
        let mut headers = lambda_http::http::HeaderMap::new();
        headers.insert("x-api-key", key.parse().unwrap());
        game_local::devapi::call(
            other,
            &lambda_http::http::Method::GET,
            "/api/v1/games",
            None,
            &headers,
            b"",
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        )
        .await
        .status()
        .as_u16()
    };
    assert_eq!(call_other(key.clone()).await, 200);
    let prefix = auth::key_prefix(&key).unwrap().to_owned();
    let revoked = app
        .call("DELETE", &format!("/api/v1/apikey/{prefix}"), None)
        .await;
    assert_eq!(revoked.status, 200);
    // Still cached over there for up to the TTL (the documented revocation delay)...
    other.clock.advance(Duration::from_secs(4));
    assert_eq!(call_other(key.clone()).await, 200);
    // ...and refused once it has passed.
    other.clock.advance(Duration::from_secs(1));
    assert_eq!(call_other(key.clone()).await, 401);
}

#[tokio::test]
async fn keys_are_scoped_to_their_tenant() {
    let app = TestApp::new().await;
    let theirs = app.other_tenant_key().await;
    let their_prefix = auth::key_prefix(&theirs).unwrap().to_owned();
    let listed = app.call("GET", "/api/v1/apikey", None).await;
    assert!(!listed.text.contains(&their_prefix));
    app.call("DELETE", &format!("/api/v1/apikey/{their_prefix}"), None)
        .await
        .assert_problem(404, "api_key_not_found");
    let still = app
        .call_as(Some(&theirs), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(still.status, 200, "their key still works");
}

#[tokio::test]
async fn the_plaintext_is_never_logged_or_stored() {
    let (logs, _capturing) = capture_logs();
    let app = TestApp::new().await;
    let create = json!({"client": "logged", "description": "watch the logs"});
    let created = app
        .call_as_until_answered(
            Some(&app.api_key),
            "POST",
            "/api/v1/apikey/create",
            Some(create.to_string().into_bytes()),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let plaintext = created.body["plaintext"].as_str().unwrap().to_owned();
    let secret_part = plaintext.split_once('.').unwrap().1.to_owned();
    // Use it, fail with a near miss, revoke it, fail with it.
    let used = app
        .call_as_until_answered(Some(&plaintext), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(used.status, 200, "{}", used.text);
    let near_miss = format!("{}x", &plaintext[..plaintext.len() - 1]);
    let missed = app
        .call_as_until_answered(Some(&near_miss), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(missed.status, 401, "{}", missed.text);
    let prefix = created.body["apiKey"].as_str().unwrap();
    let revoked = app
        .call_as_until_answered(
            Some(&app.api_key),
            "DELETE",
            &format!("/api/v1/apikey/{prefix}"),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text);
    let refused = app
        .call_as_until_answered(Some(&plaintext), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(refused.status, 401, "{}", refused.text);

    let logged = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(logged.contains("API key created"), "the capture works");
    for needle in [&plaintext, &secret_part, &app.api_key] {
        assert!(
            !logged.contains(needle.as_str()),
            "a key's plaintext was logged"
        );
    }
    let items = format!("{:?}", app.items().await);
    assert!(items.contains(prefix), "the scan sees the key's item");
    for needle in [&plaintext, &secret_part, &app.api_key] {
        assert!(
            !items.contains(needle.as_str()),
            "a key's plaintext is in the table"
        );
    }
    // The stored hash is the peppered one, not a plain SHA-256 of the key.
    let plain_sha256 = {
        use std::fmt::Write as _;
        let digest = <sha2::Sha256 as sha2::Digest>::digest(plaintext.as_bytes());
        digest.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    assert!(!items.contains(&plain_sha256));
    assert!(items.contains(&auth::hash_key(game_tests::TEST_PEPPER, &plaintext)));
}

#[tokio::test]
async fn invalid_keys_are_401_with_a_challenge() {
    let app = TestApp::new().await;
    // The real key with its last character changed (to one it cannot already be).
    let last = app.api_key.chars().last().unwrap_or('a');
    let altered = format!(
        "{}{}",
        &app.api_key[..app.api_key.len() - last.len_utf8()],
        if last == 'X' { 'Y' } else { 'X' }
    );
    assert_ne!(altered, app.api_key);
    for key in [
        "nonsense",
        "gme_live_abcdefgh.0123456789abcdef0123456789abcdef",
        &altered,
    ] {
        let response = app.call_as(Some(key), "GET", "/api/v1/games", None).await;
        response.assert_problem(401, "invalid_api_key");
        assert!(response.headers.contains_key("www-authenticate"));
    }
}

async fn secrets_client() -> aws_sdk_secretsmanager::Client {
    assert!(
        std::env::var("AWS_ENDPOINT_URL_SECRETS_MANAGER").is_ok(),
        "AWS_ENDPOINT_URL_SECRETS_MANAGER is not set: run the tests with `make test` (moto)"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_secretsmanager::Client::new(&config)
}

#[tokio::test]
async fn the_secret_is_loaded_from_secrets_manager_through_the_cold_start_path() {
    let client = secrets_client().await;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let name = format!("game/test/{}", unique("s"));
    let root = "k".repeat(48);
    client
        .create_secret()
        .name(&name)
        .secret_string(json!({"rootKey": root, "jwtHs256Key": "h".repeat(40)}).to_string())
        .send()
        .await
        .expect("create secret in moto");
    let app = TestApp::new().await;
    let mut config = Config::for_table(&app.table);
    config.secret_id = Some(name.clone());
    let ctx = AppContext::load(&sdk_config, config, true)
        .await
        .expect("load")
        .leak();
    assert_eq!(ctx.secrets.jwt_hs256_key, "h".repeat(40).into_bytes());
    assert_eq!(ctx.simulation_key, ctx.secrets.simulation_key);
    let parsed = Secrets::parse(&json!({"rootKey": root}).to_string()).unwrap();
    assert_eq!(ctx.secrets.api_key_pepper, parsed.api_key_pepper);
    // A key minted with the loaded pepper authenticates in a context that loaded it too.
    let key = auth::mint_api_key(
        &ctx.store,
        &ctx.secrets.api_key_pepper,
        "loaded",
        "c",
        "d",
        "client",
        "t",
    )
    .await
    .unwrap();
    let mut headers = lambda_http::http::HeaderMap::new();
    headers.insert("x-api-key", key.parse().unwrap());
    let response = game_local::devapi::call(
        ctx,
        &lambda_http::http::Method::GET,
        "/api/v1/games",
        None,
        &headers,
        b"",
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    )
    .await;
    assert_eq!(response.status(), 200);
    // ...and not in the test app, whose pepper differs.
    assert_eq!(
        app.call_as(Some(&key), "GET", "/api/v1/games", None)
            .await
            .status,
        401
    );

    // The dev API's helper creates a missing secret once and leaves an existing one alone.
    let dev_name = format!("game/test/{}", unique("dev"));
    assert!(
        game_local::secret::ensure_secret(&client, &dev_name)
            .await
            .unwrap()
    );
    assert!(
        !game_local::secret::ensure_secret(&client, &dev_name)
            .await
            .unwrap()
    );
    let mut config = Config::for_table(&app.table);
    config.secret_id = Some(dev_name);
    assert!(AppContext::load(&sdk_config, config, true).await.is_ok());
}

#[tokio::test]
async fn a_missing_or_malformed_secret_fails_the_init_with_a_clear_message() {
    let client = secrets_client().await;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let load = |secret_id: Option<String>| {
        let sdk_config = sdk_config.clone();
        async move {
            let mut config = Config::for_table("any");
            config.secret_id = secret_id;
            AppContext::load(&sdk_config, config, true)
                .await
                .err()
                .expect("must fail")
        }
    };
    assert!(load(None).await.contains("GAME_SECRET_ARN is not set"));
    let missing = format!("game/test/{}", unique("missing"));
    let error = load(Some(missing.clone())).await;
    assert!(
        error.contains(&missing) && error.contains("could not be read"),
        "{error}"
    );
    for (body, problem) in [
        ("not json at all".to_owned(), "is not a JSON object"),
        (json!({"other": "x"}).to_string(), "has no rootKey"),
        (
            json!({"rootKey": "too-short"}).to_string(),
            "shorter than 32",
        ),
    ] {
        let name = format!("game/test/{}", unique("bad"));
        client
            .create_secret()
            .name(&name)
            .secret_string(&body)
            .send()
            .await
            .unwrap();
        let error = load(Some(name.clone())).await;
        assert!(error.contains(&name) && error.contains(problem), "{error}");
        assert!(
            !error.contains("too-short"),
            "values are never echoed: {error}"
        );
    }
    // A route that authenticates nobody needs no secret.
    let mut config = Config::for_table("any");
    config.secret_id = None;
    assert!(AppContext::load(&sdk_config, config, false).await.is_ok());
}
