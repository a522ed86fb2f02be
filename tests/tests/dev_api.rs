//! The dev API's edges (issue 11, "What a new user hit"): CORS as API Gateway applies
//! template.yaml's, a listen backlog that queues a burst, game-dev's start-up (port first, key
//! reused while valid), and stack.sh's recorded ports and refusals (run as a shell command on
//! spare ports with a state dir of its own).

use game_functions::identity::auth;
use game_local::dev::{self, DevSettings, KeyOrigin};
use game_local::devapi;
use game_tests::{TestApp, http_request, unique};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

const ORIGIN: &str = "https://app.example.org";

fn header<'r>(response: &'r game_tests::TestResponse, name: &str) -> &'r str {
    response
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

#[tokio::test]
async fn browser_preflight_is_answered_as_api_gateway_would() {
    let cors = game_local::template::cors()
        .unwrap()
        .expect("template.yaml configures CORS");
    let app = TestApp::new().await;
    let address = app.serve_http().await;
    // What a browser sends before a cross-origin POST with an API key and an Idempotency-Key.
    let preflight = http_request(
        address,
        "OPTIONS",
        "/api/v1/games/some-game/tasks/walk-1/points",
        &[
            ("origin", ORIGIN),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type,idempotency-key,x-api-key",
            ),
        ],
        vec![],
    )
    .await;
    assert_eq!(preflight.status, 204, "{}", preflight.text);
    assert!(preflight.text.is_empty());
    // AllowOrigins is `!Ref CorsAllowOrigins`, default "*".
    assert_eq!(cors.allow_origins, ["*"]);
    assert_eq!(header(&preflight, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&preflight, "access-control-allow-methods"),
        cors.allow_methods.join(",")
    );
    for method in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(cors.allow_methods.iter().any(|m| m == method), "{method}");
    }
    assert_eq!(
        header(&preflight, "access-control-allow-headers"),
        cors.allow_headers.join(",")
    );
    for requested in ["content-type", "idempotency-key", "x-api-key"] {
        assert!(
            cors.allow_headers.iter().any(|h| h == requested),
            "{requested}"
        );
    }
    assert_eq!(
        header(&preflight, "access-control-max-age"),
        cors.max_age.unwrap().to_string()
    );

    // An OPTIONS that is no preflight reaches the routes, which serve no OPTIONS.
    let plain = http_request(address, "OPTIONS", "/api/v1/games", &[], vec![]).await;
    plain.assert_problem(404, "route_not_found");
}

#[tokio::test]
async fn cross_origin_responses_carry_the_allow_origin_header() {
    let app = TestApp::new().await;
    let address = app.serve_http().await;
    let key = app.api_key.as_str();
    let with_origin = http_request(
        address,
        "GET",
        "/api/v1/games",
        &[("x-api-key", key), ("origin", ORIGIN)],
        vec![],
    )
    .await;
    assert_eq!(with_origin.status, 200, "{}", with_origin.text);
    assert_eq!(header(&with_origin, "access-control-allow-origin"), "*");
    assert!(header(&with_origin, "access-control-expose-headers").contains("idempotent-replayed"));
    // Errors too: a browser must be able to read the problem document.
    let error = http_request(
        address,
        "GET",
        "/api/v1/games",
        &[("origin", ORIGIN)],
        vec![],
    )
    .await;
    error.assert_problem(401, "missing_credentials");
    assert_eq!(header(&error, "access-control-allow-origin"), "*");
    // Same-origin and server-to-server calls (no Origin) get no CORS headers.
    let without = http_request(
        address,
        "GET",
        "/api/v1/games",
        &[("x-api-key", key)],
        vec![],
    )
    .await;
    assert_eq!(without.status, 200);
    assert!(!without.headers.contains_key("access-control-allow-origin"));
}

/// 500 clients connect before the server accepts any: all of them must be queued (a backlog of
/// 128, std's and tokio's default, resets or drops the rest).
#[tokio::test]
async fn the_listener_queues_a_500_client_burst() {
    let listener = devapi::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    let connects: Vec<_> = (0..500)
        .map(|_| {
            tokio::spawn(async move {
                tokio::time::timeout(
                    Duration::from_secs(5),
                    tokio::net::TcpStream::connect(address),
                )
                .await
            })
        })
        .collect();
    let mut streams = Vec::new();
    for connect in connects {
        match connect.await.unwrap() {
            Ok(Ok(stream)) => streams.push(stream),
            Ok(Err(error)) => panic!("connect failed after {} clients: {error}", streams.len()),
            Err(_) => panic!(
                "connect timed out after {} clients: the backlog is below 500",
                streams.len()
            ),
        }
    }
    assert_eq!(streams.len(), 500);
    drop(listener);
}

#[tokio::test]
async fn a_burst_of_500_requests_is_served() {
    let app = TestApp::new().await;
    let listener = devapi::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let address = listener.local_addr().unwrap();
    let ctx = app.ctx;
    tokio::spawn(async move { devapi::serve(listener, ctx).await });
    let requests: Vec<_> = (0..500)
        .map(|_| {
            tokio::spawn(async move {
                http_request(address, "GET", "/api/v1/kpi/health_check", &[], vec![])
                    .await
                    .status
            })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.expect("no connection reset"), 200);
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> Self {
        let dir = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn settings(state_dir: &Path, port: u16) -> DevSettings {
    DevSettings {
        table: unique("dev"),
        port,
        state_dir: state_dir.to_owned(),
        secret_id: format!("game/{}", unique("dev")),
    }
}

async fn sdk_config() -> aws_config::SdkConfig {
    game_tests::dynamodb_client().await; // asserts the local endpoints are set
    aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await
}

/// A second `make dev` on the same port fails on the port, before it creates or mints anything.
#[tokio::test]
async fn a_second_dev_api_on_a_taken_port_fails_first() {
    let sdk = sdk_config().await;
    let first = dev::listen(0).unwrap();
    let port = first.local_addr().unwrap().port();
    let state = TempDir::new("dev-state");
    let settings = settings(&state.0, port);
    let Err(message) = dev::prepare(&settings, &sdk).await else {
        panic!("a taken port must fail");
    };
    assert!(message.contains(&format!("port {port}")), "{message}");
    assert!(message.contains("GAME_DEV_PORT="), "{message}");
    assert!(!settings.key_file().exists(), "no key may be minted first");
    let tables = aws_sdk_dynamodb::Client::new(&sdk)
        .describe_table()
        .table_name(&settings.table)
        .send()
        .await;
    assert!(tables.is_err(), "no table may be created first");
}

#[tokio::test]
async fn the_stored_admin_key_is_reused_while_the_table_accepts_it() {
    let sdk = sdk_config().await;
    let state = TempDir::new("dev-state");
    let mut settings = settings(&state.0, 0);

    let first = dev::prepare(&settings, &sdk).await.unwrap();
    assert!(
        matches!(&first.key.origin, KeyOrigin::Minted { reason } if reason.contains("no key stored")),
        "{:?}",
        first.key.origin
    );
    assert_eq!(
        std::fs::read_to_string(settings.key_file()).unwrap(),
        first.key.key
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(settings.key_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the admin key file is the owner's only");
    }
    drop(first.listener);

    let again = dev::prepare(&settings, &sdk).await.unwrap();
    assert_eq!(again.key.origin, KeyOrigin::Reused);
    assert_eq!(again.key.key, first.key.key);
    let listed = auth::list_api_keys(
        &again.ctx.store,
        &game_tests::id(dev::LOCAL_TENANT),
        100,
        None,
    )
    .await
    .unwrap()
    .0;
    assert_eq!(listed.len(), 1, "restarts must not pile up admin keys");
    drop(again.listener);

    // Revoked: a new key, and the old one is not written back.
    let prefix = auth::key_prefix(&first.key.key).unwrap();
    assert!(
        auth::revoke_api_key(
            &again.ctx.store,
            &game_tests::id(dev::LOCAL_TENANT),
            prefix,
            "2026-01-01T00:00:00Z"
        )
        .await
        .unwrap()
    );
    let after_revoke = dev::prepare(&settings, &sdk).await.unwrap();
    assert!(
        matches!(&after_revoke.key.origin, KeyOrigin::Minted { reason } if reason.contains("revoked")),
        "{:?}",
        after_revoke.key.origin
    );
    assert_ne!(after_revoke.key.key, first.key.key);
    assert_eq!(
        std::fs::read_to_string(settings.key_file()).unwrap(),
        after_revoke.key.key
    );
    drop(after_revoke.listener);

    // The table is gone (DynamoDB Local restarted in memory): a new table, a new key.
    settings.table = unique("dev");
    let fresh = dev::prepare(&settings, &sdk).await.unwrap();
    assert!(
        matches!(&fresh.key.origin, KeyOrigin::Minted { reason } if reason.contains("unknown to table")),
        "{:?}",
        fresh.key.origin
    );
}

// --- stack.sh ---------------------------------------------------------------------------------

fn stack_sh() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/scripts/stack.sh")
}

/// Ports nothing listens on right now (bound and released; the test starts on them at once).
fn spare_ports() -> (u16, u16) {
    let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let b = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

/// stack.sh with `state` as its state dir and only the port variables given (the ones of the
/// run that started these tests are removed).
fn stack(state: &Path, ports: Option<(u16, u16)>, args: &[&str]) -> Output {
    let mut command = Command::new(stack_sh());
    command
        .args(args)
        .env("GAME_STATE_DIR", state)
        .env_remove("GAME_DDB_PORT")
        .env_remove("GAME_MOTO_PORT");
    if let Some((ddb, moto)) = ports {
        command
            .env("GAME_DDB_PORT", ddb.to_string())
            .env("GAME_MOTO_PORT", moto.to_string());
    }
    let output = command.output().expect("run stack.sh");
    eprintln!(
        "stack.sh {}: {}\n{}",
        args.join(" "),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Stops what the test started, also when it fails half-way.
struct StackGuard(PathBuf, (u16, u16));

impl Drop for StackGuard {
    fn drop(&mut self) {
        stack(&self.0, Some(self.1), &["stop"]);
    }
}

#[test]
fn stack_sh_records_its_ports_and_stops_only_what_they_name() {
    let state = TempDir::new("stack-state");
    let other_state = TempDir::new("stack-other");
    let (ddb, moto) = spare_ports();
    let started = stack(&state.0, Some((ddb, moto)), &["start"]);
    let _guard = StackGuard(state.0.clone(), (ddb, moto));
    assert!(started.status.success(), "{}", stderr(&started));
    for (service, port) in [("dynamodb", ddb), ("moto", moto)] {
        let recorded = std::fs::read_to_string(state.0.join(format!("{service}.port"))).unwrap();
        assert_eq!(recorded.trim(), port.to_string());
    }

    // env and status need no variables: the state dir knows the ports.
    let env = stack(&state.0, None, &["env"]);
    let env = String::from_utf8_lossy(&env.stdout);
    assert!(
        env.contains(&format!(
            "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:{ddb}\n"
        )),
        "{env}"
    );
    assert!(
        env.contains(&format!(
            "AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:{moto}\n"
        )),
        "{env}"
    );
    assert!(stack(&state.0, None, &["status"]).status.success());

    // A stop for other ports stops nothing, keeps the pid files and says what it found.
    let wrong = stack(&state.0, Some((ddb + 1, moto)), &["stop"]);
    assert!(!wrong.status.success());
    let said = stderr(&wrong);
    assert!(said.contains("stopping nothing"), "{said}");
    assert!(said.contains(&format!("runs on port {ddb}")), "{said}");
    for service in ["dynamodb", "moto"] {
        assert!(
            state.0.join(format!("{service}.pid")).exists(),
            "{service}.pid kept"
        );
    }
    assert!(
        stack(&state.0, None, &["status"]).status.success(),
        "both still up"
    );

    // Another state dir on the same ports: it warns loudly, names the ports to pick, and its
    // stop leaves our servers alone.
    let shared = stack(&other_state.0, Some((ddb, moto)), &["start"]);
    assert!(shared.status.success());
    let said = stderr(&shared);
    assert!(
        said.contains("WARNING: DynamoDB Local already answers"),
        "{said}"
    );
    assert!(
        said.contains("WARNING: moto server already answers"),
        "{said}"
    );
    assert!(
        said.contains("GAME_DDB_PORT=") && said.contains("GAME_MOTO_PORT="),
        "{said}"
    );
    let other_stop = stack(&other_state.0, None, &["stop"]);
    assert!(other_stop.status.success());
    assert!(
        stderr(&other_stop).contains("left alone"),
        "{}",
        stderr(&other_stop)
    );
    assert!(
        stack(&state.0, None, &["status"]).status.success(),
        "both still up"
    );

    // A start asking for other ports in this state dir refuses rather than orphan the servers.
    let elsewhere = stack(&state.0, Some((ddb, moto + 1)), &["start"]);
    assert!(!elsewhere.status.success());
    assert!(
        stderr(&elsewhere).contains(&format!("runs on port {moto}")),
        "{}",
        stderr(&elsewhere)
    );

    // Without variables, stop finds and stops both.
    let stopped = stack(&state.0, None, &["stop"]);
    assert!(stopped.status.success(), "{}", stderr(&stopped));
    let said = stderr(&stopped);
    assert!(said.contains("stopped DynamoDB Local (pid"), "{said}");
    assert!(said.contains("stopped moto server (pid"), "{said}");
    for service in ["dynamodb", "moto"] {
        assert!(!state.0.join(format!("{service}.pid")).exists());
        assert!(!state.0.join(format!("{service}.port")).exists());
    }
    assert!(
        !stack(&state.0, Some((ddb, moto)), &["status"])
            .status
            .success()
    );
}
