//! Bearer tokens end to end: a local OIDC provider (discovery + JWKS over HTTP on loopback)
//! and the attack matrix: each forged or unacceptable token is refused with its code, and
//! nothing is written.

use bytes::Bytes;
use game_functions::Secrets;
use game_tests::{TEST_HS256_KEY, TestApp, TestResponse, json, unique};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const AUDIENCE: &str = "game-api";
const RSA1: &[u8] = include_bytes!("../fixtures/jwt/rsa1.der");
const RSA2: &[u8] = include_bytes!("../fixtures/jwt/rsa2.der");
const RSA1_PUBLIC_PEM: &[u8] = include_bytes!("../fixtures/jwt/rsa1.pub.pem");
const EC1: &[u8] = include_bytes!("../fixtures/jwt/ec1.der");

/// A minimal OIDC provider: `/realms/<realm>/.well-known/openid-configuration` and its JWKS.
struct Idp {
    issuer: String,
    jwks: Mutex<Vec<Value>>,
    hits: AtomicUsize,
    failing: AtomicBool,
    /// Requests are accepted, counted and never answered.
    stalled: AtomicBool,
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(key, alg).expect("jwk");
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).expect("jwk json")
}

fn rsa1() -> EncodingKey {
    EncodingKey::from_rsa_der(RSA1)
}
fn rsa2() -> EncodingKey {
    EncodingKey::from_rsa_der(RSA2)
}
fn ec1() -> EncodingKey {
    EncodingKey::from_ec_der(EC1)
}

impl Idp {
    async fn start(realm: &str) -> Arc<Idp> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        let idp = Arc::new(Idp {
            issuer: format!("http://{address}/realms/{realm}"),
            jwks: Mutex::new(vec![
                jwk(&rsa1(), Algorithm::RS256, "rsa1"),
                jwk(&ec1(), Algorithm::ES256, "ec1"),
            ]),
            hits: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            stalled: AtomicBool::new(false),
        });
        let served = idp.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let idp = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let idp = idp.clone();
                        async move {
                            if idp.stalled.load(Ordering::SeqCst) {
                                idp.hits.fetch_add(1, Ordering::SeqCst);
                                std::future::pending::<()>().await;
                            }
                            Ok::<_, Infallible>(idp.answer(req.uri().path()))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        idp
    }

    fn answer(&self, path: &str) -> hyper::Response<Full<Bytes>> {
        self.hits.fetch_add(1, Ordering::SeqCst);
        let issuer_path = self.issuer.split_once("/realms/").map(|(_, r)| r).unwrap();
        let body = if self.failing.load(Ordering::SeqCst) {
            None
        } else if path == format!("/realms/{issuer_path}/.well-known/openid-configuration") {
            Some(
                json!({"issuer": self.issuer, "jwks_uri": format!("{}/protocol/openid-connect/certs", self.issuer)}),
            )
        } else if path == format!("/realms/{issuer_path}/protocol/openid-connect/certs") {
            Some(json!({"keys": *self.jwks.lock().unwrap()}))
        } else {
            None
        };
        let (status, text) = match body {
            Some(body) => (200, body.to_string()),
            None => (500, "{}".to_owned()),
        };
        hyper::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(text)))
            .unwrap()
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

async fn app_for(idp: &Idp, secrets: Secrets, refresh_interval: Duration) -> TestApp {
    let issuer = idp.issuer.clone();
    TestApp::build(
        game_tests::dynamodb_client().await,
        move |config| {
            config.jwt.issuers = vec![issuer];
            config.jwt.audiences = vec![AUDIENCE.to_owned()];
            config.jwt.jwks_refresh_interval = refresh_interval;
        },
        secrets,
    )
    .await
}

fn now(app: &TestApp) -> i64 {
    app.ctx.clock.now_secs()
}

fn claims(app: &TestApp, idp: &Idp) -> Value {
    json!({
        "iss": idp.issuer,
        "aud": AUDIENCE,
        "sub": "user-1",
        "iat": now(app),
        "exp": now(app) + 300,
    })
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("sign")
}

fn b64(value: &Value) -> String {
    use base64_url::encode;
    encode(&value.to_string())
}

/// Tiny base64url (no padding) so the tests can hand-craft tokens.
mod base64_url {
    pub fn encode(text: &str) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = text.as_bytes();
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out
    }
}

async fn with_bearer(
    app: &TestApp,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> TestResponse {
    app.call_with_headers(
        method,
        path,
        &[
            ("content-type", "application/json".to_owned()),
            ("authorization", format!("Bearer {token}")),
        ],
        body.map(|b| b.to_string().into_bytes()),
    )
    .await
}

async fn create_game(app: &TestApp, token: &str) -> TestResponse {
    with_bearer(
        app,
        "POST",
        "/api/v1/games",
        token,
        Some(json!({"externalGameId": unique("jwt"), "platform": "web"})),
    )
    .await
}

#[tokio::test]
async fn valid_tokens_of_each_algorithm_are_accepted_and_the_realm_is_the_tenant() {
    let realm = unique("acme");
    let idp = Idp::start(&realm).await;
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    for token in [
        sign(Algorithm::RS256, Some("rsa1"), &base, &rsa1()),
        sign(Algorithm::ES256, Some("ec1"), &base, &ec1()),
        sign(
            Algorithm::HS256,
            None,
            &base,
            &EncodingKey::from_secret(TEST_HS256_KEY),
        ),
    ] {
        let response = create_game(&app, &token).await;
        assert_eq!(response.status, 201, "{}", response.text);
    }
    // The games are the realm's: a key of tenant <realm> sees them, the app's own does not.
    let realm_key = app.mint_key(&realm, "client").await;
    let listed = app
        .call_as(Some(&realm_key), "GET", "/api/v1/games", None)
        .await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        3,
        "{}",
        listed.text
    );
    let own = app.call("GET", "/api/v1/games", None).await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 0);
    // Discovery + JWKS were fetched once for all of it.
    assert_eq!(idp.hits(), 2);
    assert_eq!(app.ctx.jwt.fetch_count(), 2);
}

#[tokio::test]
async fn forged_and_unacceptable_tokens_are_refused_and_write_nothing() {
    let idp = Idp::start(&unique("realm")).await;
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    let with = |changes: Value| {
        let mut claims = base.clone();
        for (key, value) in changes.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        claims
    };
    let valid = sign(Algorithm::RS256, Some("rsa1"), &base, &rsa1());
    let (header, _, signature) = {
        let parts: Vec<&str> = valid.split('.').collect();
        (
            parts[0].to_owned(),
            parts[1].to_owned(),
            parts[2].to_owned(),
        )
    };
    let escalated =
        with(json!({"sub": "someone-else", "realm_access": {"roles": ["AdministratorGAME"]}}));
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                b64(&json!({"alg": "none", "typ": "JWT"})),
                b64(&base)
            ),
            "invalid_token",
        ),
        (
            "HS256 signed with the RSA public key",
            sign(
                Algorithm::HS256,
                Some("rsa1"),
                &base,
                &EncodingKey::from_secret(RSA1_PUBLIC_PEM),
            ),
            "invalid_token_signature",
        ),
        (
            "expired beyond the 30 s leeway",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"exp": now(&app) - 31})),
                &rsa1(),
            ),
            "token_expired",
        ),
        (
            "not yet valid",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"nbf": now(&app) + 120})),
                &rsa1(),
            ),
            "token_not_yet_valid",
        ),
        (
            "wrong issuer",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"iss": "http://127.0.0.1:1/realms/evil"})),
                &rsa1(),
            ),
            "untrusted_issuer",
        ),
        (
            "wrong audience",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"aud": "another-api"})),
                &rsa1(),
            ),
            "invalid_audience",
        ),
        (
            "unknown kid",
            sign(Algorithm::RS256, Some("rsa2"), &base, &rsa2()),
            "unknown_token_key",
        ),
        (
            "known kid, another key's signature",
            sign(Algorithm::RS256, Some("rsa1"), &base, &rsa2()),
            "invalid_token_signature",
        ),
        (
            "tampered payload",
            format!("{header}.{}.{signature}", b64(&escalated)),
            "invalid_token_signature",
        ),
        (
            "missing subject",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"sub": null})),
                &rsa1(),
            ),
            "token_subject_missing",
        ),
        (
            "missing expiry",
            sign(
                Algorithm::RS256,
                Some("rsa1"),
                &with(json!({"exp": null})),
                &rsa1(),
            ),
            "invalid_token",
        ),
        (
            "ES256 header on the RSA key",
            format!(
                "{}.{}.{signature}",
                b64(&json!({"alg": "ES256", "kid": "rsa1", "typ": "JWT"})),
                b64(&base)
            ),
            "token_algorithm_mismatch",
        ),
        (
            "RS384 with a pinned RS256 key",
            sign(Algorithm::RS384, Some("rsa1"), &base, &rsa1()),
            "unsupported_token_algorithm",
        ),
        ("garbage", "not-a-jwt".to_owned(), "invalid_token"),
    ];
    let baseline = app.item_count().await;
    for (name, token, code) in &cases {
        let response = create_game(&app, token).await;
        assert_eq!(response.status, 401, "{name}: {}", response.text);
        response.assert_problem(401, code);
        let challenge = response.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer"), "{name}: {challenge}");
    }
    let not_bearer = app
        .call_with_headers(
            "GET",
            "/api/v1/games",
            &[("authorization", "Basic dXNlcjpwdw==".to_owned())],
            None,
        )
        .await;
    not_bearer.assert_problem(401, "invalid_authorization");
    assert_eq!(
        app.item_count().await,
        baseline,
        "no rejected token wrote anything"
    );
    // Within the leeway is still fine, and the valid token itself works.
    let late = sign(
        Algorithm::RS256,
        Some("rsa1"),
        &with(json!({"exp": now(&app) - 20})),
        &rsa1(),
    );
    assert_eq!(create_game(&app, &late).await.status, 201);
    assert_eq!(create_game(&app, &valid).await.status, 201);
}

#[tokio::test]
async fn hs256_is_refused_when_the_deployment_has_no_hs256_key() {
    let idp = Idp::start(&unique("realm")).await;
    let secrets = Secrets::new(
        game_tests::TEST_PEPPER,
        Vec::new(),
        game_tests::TEST_SIMULATION_KEY,
    );
    let app = app_for(&idp, secrets, Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    for key in [
        EncodingKey::from_secret(RSA1_PUBLIC_PEM),
        EncodingKey::from_secret(TEST_HS256_KEY),
    ] {
        create_game(&app, &sign(Algorithm::HS256, Some("rsa1"), &base, &key))
            .await
            .assert_problem(401, "unsupported_token_algorithm");
    }
    assert_eq!(idp.hits(), 0, "an HS256 token never makes us fetch keys");
}

#[tokio::test]
async fn admin_roles_subject_fallbacks_and_cognito_shapes() {
    let idp = Idp::start(&unique("realm")).await;
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    let token = |extra: Value| {
        let mut claims = base.clone();
        for (key, value) in extra.as_object().unwrap() {
            if value.is_null() {
                claims.as_object_mut().unwrap().remove(key);
            } else {
                claims[key] = value.clone();
            }
        }
        sign(Algorithm::RS256, Some("rsa1"), &claims, &rsa1())
    };
    let keycloak_admin =
        token(json!({"realm_access": {"roles": ["offline_access", "AdministratorGAME"]}}));
    let cognito_admin =
        token(json!({"aud": null, "client_id": AUDIENCE, "cognito:groups": ["AdministratorGAME"]}));
    let plain_user = token(json!({"realm_access": {"roles": ["user"]}}));
    for admin in [&keycloak_admin, &cognito_admin] {
        let listed = with_bearer(&app, "GET", "/api/v1/apikey", admin, None).await;
        assert_eq!(listed.status, 200, "{}", listed.text);
    }
    with_bearer(&app, "GET", "/api/v1/apikey", &plain_user, None)
        .await
        .assert_problem(403, "admin_required");
    // GAME's subject chain: no sub, so preferred_username names the creator.
    let by_username = token(
        json!({"sub": null, "preferred_username": "ana", "realm_access": {"roles": ["AdministratorGAME"]}}),
    );
    let created = with_bearer(
        &app,
        "POST",
        "/api/v1/apikey/create",
        &by_username,
        Some(json!({"client": "c", "description": "made by a bearer"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["createdBy"], "ana");
    let by_azp = token(json!({"sub": "  ", "azp": "service-account"}));
    assert_eq!(create_game(&app, &by_azp).await.status, 201);
}

#[tokio::test]
async fn keys_are_cached_refreshed_on_rotation_and_kept_when_the_idp_fails() {
    let idp = Idp::start(&unique("realm")).await;
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    let rsa1_token = sign(Algorithm::RS256, Some("rsa1"), &base, &rsa1());
    for _ in 0..3 {
        assert_eq!(create_game(&app, &rsa1_token).await.status, 201);
    }
    assert_eq!(idp.hits(), 2, "discovery and JWKS once");

    // Keys fetched under 10 s ago are not refetched for an unknown kid.
    let unknown = sign(Algorithm::RS256, Some("rsa2"), &base, &rsa2());
    create_game(&app, &unknown)
        .await
        .assert_problem(401, "unknown_token_key");
    assert_eq!(idp.hits(), 2);
    // Later, an unknown kid refreshes once; more unknown kids within the interval do not.
    app.ctx.clock.advance(Duration::from_secs(10));
    let rsa2_token = sign(Algorithm::RS256, Some("rsa2"), &base, &rsa2());
    create_game(&app, &rsa2_token)
        .await
        .assert_problem(401, "unknown_token_key");
    assert_eq!(idp.hits(), 4);
    create_game(
        &app,
        &sign(Algorithm::RS256, Some("made-up"), &base, &rsa2()),
    )
    .await
    .assert_problem(401, "unknown_token_key");
    assert_eq!(idp.hits(), 4, "refreshes are rate-limited");

    // The IdP rotates in rsa2: after the interval, the unknown kid is looked up again.
    idp.jwks
        .lock()
        .unwrap()
        .push(jwk(&rsa2(), Algorithm::RS256, "rsa2"));
    app.ctx.clock.advance(Duration::from_secs(11));
    let rsa2_token = sign(Algorithm::RS256, Some("rsa2"), &claims(&app, &idp), &rsa2());
    assert_eq!(create_game(&app, &rsa2_token).await.status, 201);
    assert_eq!(idp.hits(), 6);

    // The IdP goes down and the cache ages out: the cached keys stay in use.
    idp.failing.store(true, Ordering::SeqCst);
    app.ctx.clock.advance(Duration::from_secs(301));
    let fresh = sign(Algorithm::RS256, Some("rsa1"), &claims(&app, &idp), &rsa1());
    assert_eq!(create_game(&app, &fresh).await.status, 201);
    // 332 s after it was issued, the first token (exp +300 s, leeway 30 s) has expired.
    app.ctx.clock.advance(Duration::from_secs(10));
    create_game(&app, &rsa1_token)
        .await
        .assert_problem(401, "token_expired");
}

#[tokio::test]
async fn an_unreachable_idp_is_503_not_401() {
    let idp = Idp::start(&unique("realm")).await;
    idp.failing.store(true, Ordering::SeqCst);
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let token = sign(Algorithm::RS256, Some("rsa1"), &claims(&app, &idp), &rsa1());
    let response = create_game(&app, &token).await;
    response.assert_problem(503, "token_keys_unavailable");
    assert!(response.headers.contains_key("retry-after"));
}

/// An app trusting `idp` whose key refreshes may take `fetch_timeout`, and may happen for
/// every unknown kid (no refresh interval).
async fn app_with_fetch_timeout(idp: &Idp, fetch_timeout: Duration) -> Arc<TestApp> {
    let issuer = idp.issuer.clone();
    let app = TestApp::build(
        game_tests::dynamodb_client().await,
        move |config| {
            config.jwt.issuers = vec![issuer];
            config.jwt.audiences = vec![AUDIENCE.to_owned()];
            config.jwt.jwks_refresh_interval = Duration::ZERO;
            config.jwt.http_timeout = fetch_timeout;
        },
        game_tests::test_secrets(),
    )
    .await;
    Arc::new(app)
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(30), async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never: {what}"));
}

/// A token with an unknown kid makes us refresh the keys while the IdP hangs (here for up to
/// a minute): the refresh is single-flight (a second unknown kid waits for it rather than
/// fetching too), and tokens whose key is known verify meanwhile without waiting for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_key_refresh_does_not_hold_up_tokens_with_known_keys() {
    let idp = Idp::start(&unique("realm")).await;
    let app = app_with_fetch_timeout(&idp, Duration::from_secs(60)).await;
    let known = sign(Algorithm::RS256, Some("rsa1"), &claims(&app, &idp), &rsa1());
    assert_eq!(create_game(&app, &known).await.status, 201);
    let fetched = idp.hits();

    idp.stalled.store(true, Ordering::SeqCst);
    let mut stuck = tokio::task::JoinSet::new();
    for kid in ["rotated-1", "rotated-2"] {
        let (app, token) = (
            app.clone(),
            sign(Algorithm::RS256, Some(kid), &claims(&app, &idp), &rsa2()),
        );
        stuck.spawn(async move { create_game(&app, &token).await });
    }
    until("the IdP saw the refresh", || idp.hits() > fetched).await;

    for _ in 0..3 {
        let verified = tokio::time::timeout(Duration::from_secs(20), create_game(&app, &known))
            .await
            .expect("a known key is not held up by the hanging refresh");
        assert_eq!(verified.status, 201, "{}", verified.text);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        idp.hits(),
        fetched + 1,
        "one refresh in flight, not one per unknown kid"
    );
    assert!(!stuck.is_empty());
    stuck.abort_all();
}

/// A refresh is bounded: with a cold cache and a hanging IdP the request answers 503 (the
/// keys are unavailable) once the fetch time-out expires, and with cached keys an unknown kid
/// answers 401 while the known ones keep working.
#[tokio::test]
async fn a_hanging_idp_costs_one_fetch_timeout() {
    let idp = Idp::start(&unique("realm")).await;
    idp.stalled.store(true, Ordering::SeqCst);
    let app = app_with_fetch_timeout(&idp, Duration::from_millis(300)).await;
    let known = sign(Algorithm::RS256, Some("rsa1"), &claims(&app, &idp), &rsa1());
    let cold = tokio::time::timeout(Duration::from_secs(30), create_game(&app, &known))
        .await
        .expect("the refresh is bounded");
    cold.assert_problem(503, "token_keys_unavailable");
    assert!(cold.headers.contains_key("retry-after"));

    idp.stalled.store(false, Ordering::SeqCst);
    assert_eq!(create_game(&app, &known).await.status, 201);
    idp.stalled.store(true, Ordering::SeqCst);
    let unknown = sign(
        Algorithm::RS256,
        Some("rotated"),
        &claims(&app, &idp),
        &rsa2(),
    );
    let refused = tokio::time::timeout(Duration::from_secs(30), create_game(&app, &unknown))
        .await
        .expect("the refresh is bounded");
    refused.assert_problem(401, "unknown_token_key");
    assert_eq!(create_game(&app, &known).await.status, 201);
}

#[tokio::test]
async fn a_key_and_a_token_together_must_both_be_valid_and_agree() {
    let realm = unique("realm");
    let idp = Idp::start(&realm).await;
    let app = app_for(&idp, game_tests::test_secrets(), Duration::from_secs(10)).await;
    let base = claims(&app, &idp);
    let valid = sign(Algorithm::RS256, Some("rsa1"), &base, &rsa1());
    let expired = sign(
        Algorithm::RS256,
        Some("rsa1"),
        &json!({"exp": now(&app) - 100, "iss": idp.issuer, "aud": AUDIENCE, "sub": "x"}),
        &rsa1(),
    );
    let realm_key = app.mint_key(&realm, "client").await;
    let both = |key: &str, token: &str| {
        vec![
            ("x-api-key", key.to_owned()),
            ("authorization", format!("Bearer {token}")),
        ]
    };
    let ok = app
        .call_with_headers("GET", "/api/v1/games", &both(&realm_key, &valid), None)
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    app.call_with_headers("GET", "/api/v1/games", &both(&realm_key, &expired), None)
        .await
        .assert_problem(401, "token_expired");
    app.call_with_headers("GET", "/api/v1/games", &both(&app.api_key, &valid), None)
        .await
        .assert_problem(401, "conflicting_credentials");
}

#[tokio::test]
async fn without_a_configured_issuer_bearer_tokens_are_refused() {
    let app = TestApp::new().await;
    let token = sign(
        Algorithm::HS256,
        None,
        &json!({"iss": "x", "sub": "s", "exp": now(&app) + 60}),
        &EncodingKey::from_secret(TEST_HS256_KEY),
    );
    create_game(&app, &token)
        .await
        .assert_problem(401, "bearer_not_accepted");
}
