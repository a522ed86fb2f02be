//! Events out, end to end with the real local parts (docs/events.md): the outbox committed with
//! each write, DynamoDB Local's stream read by the local poller into the dispatcher handler,
//! moto's SQS queue and DLQ feeding the delivery handler, and a receiver on loopback that
//! verifies every signature with the `standardwebhooks` reference library (Python) and fails
//! deliveries on purpose.

use game_functions::domain::webhooks::AddressPolicy;
use game_functions::store::queue::{EventsConfig, EventsWarm};
use game_tests::{TestApp, json, test_secrets, unique};
use serde_json::Value;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Harness {
    app: TestApp,
    receiver: std::process::Child,
    port: u16,
    lines: Arc<Mutex<Vec<Value>>>,
    secrets_file: std::path::PathBuf,
    secrets: Mutex<serde_json::Map<String, Value>>,
    dlq_url: String,
    pollers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.receiver.kill();
        let _ = self.receiver.wait();
        for poller in &self.pollers {
            poller.abort();
        }
        let _ = std::fs::remove_file(&self.secrets_file);
    }
}

async fn sqs() -> aws_sdk_sqs::Client {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_sqs::Client::new(&config)
}

impl Harness {
    async fn new() -> Harness {
        let sqs = sqs().await;
        // Visibility 1 s: a delivery handler that died mid-message is retried quickly.
        let (queue_url, dlq_url) = game_local::events::ensure_queues(&sqs, &unique("wh"), 1)
            .await
            .expect("queues in moto");
        let config = EventsConfig {
            queue_url: Some(queue_url.clone()),
            dlq_url: Some(dlq_url.clone()),
            policy: AddressPolicy::Local,
            // The schedule's shape with zero waits: eight attempts take a moment, not a day.
            retry_scale: 0.0,
            timeout: Duration::from_secs(3),
        };
        let app = TestApp::build_with(
            game_tests::dynamodb_client().await,
            |_| {},
            test_secrets(),
            |ctx| ctx.events = EventsWarm::new(config),
        )
        .await;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let streams = aws_sdk_dynamodbstreams::Client::new(&sdk);
        let (ddb, table, ctx) = (app.client.clone(), app.table.clone(), app.ctx);
        let stream = tokio::spawn(async move {
            game_local::events::poll_stream(ddb, streams, table, ctx)
                .await
                .expect("stream poller");
        });
        let queue = tokio::spawn(async move {
            game_local::events::poll_queue(sqs, queue_url, ctx)
                .await
                .expect("queue poller");
        });

        let secrets_file = std::env::temp_dir().join(format!("{}.json", unique("whsecrets")));
        std::fs::write(&secrets_file, "{}").unwrap();
        let python = std::env::var("GAME_WEBHOOKS_PYTHON")
            .expect("GAME_WEBHOOKS_PYTHON (infra/scripts/tools.sh env sets it)");
        let script =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/webhook_receiver.py");
        let mut receiver = std::process::Command::new(python)
            .arg(&script)
            .arg(&secrets_file)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the receiver");
        let mut out = std::io::BufReader::new(receiver.stdout.take().unwrap());
        let mut first = String::new();
        out.read_line(&mut first).unwrap();
        let port = serde_json::from_str::<Value>(&first).unwrap()["port"]
            .as_u64()
            .unwrap() as u16;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if let Ok(value) = serde_json::from_str::<Value>(&line) {
                    sink.lock().unwrap().push(value);
                }
            }
        });
        Harness {
            app,
            receiver,
            port,
            lines,
            secrets_file,
            secrets: Mutex::new(Default::default()),
            dlq_url,
            pollers: vec![stream, queue],
        }
    }

    fn url(&self, mode: &str, label: &str) -> String {
        format!("http://127.0.0.1:{}/{mode}/{label}", self.port)
    }

    fn add_secret(&self, label: &str, secret: &str) {
        let mut secrets = self.secrets.lock().unwrap();
        let list = secrets.entry(label.to_owned()).or_insert_with(|| json!([]));
        list.as_array_mut().unwrap().push(json!(secret));
        std::fs::write(
            &self.secrets_file,
            Value::Object(secrets.clone()).to_string(),
        )
        .unwrap();
    }

    /// Subscribes `label` at `mode` for `types`; returns the webhook id.
    async fn subscribe(&self, mode: &str, label: &str, types: Value) -> String {
        let created = self
            .app
            .call(
                "POST",
                "/api/v1/webhooks",
                Some(json!({"url": self.url(mode, label), "eventTypes": types})),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        self.add_secret(label, created.body["secret"].as_str().unwrap());
        created.body["webhookId"].as_str().unwrap().to_owned()
    }

    fn received(&self, label: &str) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|l| {
                l["path"]
                    .as_str()
                    .unwrap_or_default()
                    .ends_with(&format!("/{label}"))
            })
            .cloned()
            .collect()
    }

    /// Waits (up to 60 s) until `done` holds for what `label` received.
    async fn wait_for(&self, label: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        for _ in 0..600 {
            let got = self.received(label);
            if done(&got) {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out; {label} received {:#?}", self.received(label));
    }

    async fn game_and_task(&self) -> String {
        let game_id = self.app.create_game(&unique("g"), json!({})).await;
        self.app.create_task(&game_id, "walk", json!({})).await;
        game_id
    }

    async fn award(&self, game_id: &str, user: &str, extra: Value) -> game_tests::TestResponse {
        let mut body = json!({"externalUserId": user});
        if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
            b.extend(e);
        }
        self.app
            .call(
                "POST",
                &format!("/api/v1/games/{game_id}/tasks/walk/points"),
                Some(body),
            )
            .await
    }

    async fn outbox_types(&self) -> Vec<String> {
        self.app
            .items()
            .await
            .iter()
            .filter(|i| {
                i.get("entity")
                    .and_then(|v| v.as_s().ok())
                    .map(String::as_str)
                    == Some("outbox")
            })
            .filter_map(|i| i.get("eventType")?.as_s().ok().cloned())
            .collect()
    }
}

fn ok(line: &Value) -> bool {
    line["status"] == 200
}

#[tokio::test]
async fn an_award_is_delivered_once_signed_and_a_replay_or_simulation_emits_nothing() {
    let h = Harness::new().await;
    h.subscribe("ok", "awards", json!(["award.created"])).await;
    let game_id = h.game_and_task().await;
    let first = h
        .award(&game_id, "ana", json!({"data": {"eventId": "idem-1"}}))
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    let replay = h
        .award(&game_id, "ana", json!({"data": {"eventId": "idem-1"}}))
        .await;
    assert_eq!(replay.text, first.text);
    let simulated = h.award(&game_id, "ana", json!({"isSimulated": true})).await;
    assert_eq!(simulated.status, 200, "{}", simulated.text);

    h.wait_for("awards", |l| l.iter().any(ok)).await;
    // Time for a second (wrong) event to arrive, had one been emitted.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = h.received("awards");
    assert_eq!(got.len(), 1, "{got:#?}");
    let award_id = first.body["awardId"].as_str().unwrap();
    assert_eq!(got[0]["id"], format!("evt_{award_id}"));
    assert_eq!(got[0]["type"], "award.created");
    assert_eq!(
        got[0]["verifiedWith"],
        json!([0]),
        "signature verified by standardwebhooks"
    );
    // Exactly one award.created in the outbox: the replay and the simulation wrote none.
    let types = h.outbox_types().await;
    assert_eq!(
        types.iter().filter(|t| *t == "award.created").count(),
        1,
        "{types:?}"
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_each_event_arrives() {
    let h = Harness::new().await;
    let webhook = h
        .subscribe("fail/2", "flaky", json!(["award.created"]))
        .await;
    let game_id = h.game_and_task().await;
    let mut ids = Vec::new();
    for user in ["user1", "user2", "user3", "user4"] {
        let r = h.award(&game_id, user, json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        ids.push(format!("evt_{}", r.body["awardId"].as_str().unwrap()));
    }
    let got = h
        .wait_for("flaky", |l| {
            ids.iter()
                .all(|id| l.iter().any(|x| x["id"] == *id && ok(x)))
        })
        .await;
    for id in &ids {
        let attempts: Vec<_> = got.iter().filter(|x| x["id"] == *id).collect();
        // Two refused, then accepted: at least once, each attempt signed.
        assert!(attempts.len() >= 3, "{id}: {attempts:#?}");
        assert!(attempts.iter().all(|x| x["verifiedWith"] == json!([0])));
    }
    // The deliveries listing shows the attempts and the final status.
    let mut listed = Value::Null;
    for _ in 0..50 {
        listed = h
            .app
            .call(
                "GET",
                &format!("/api/v1/webhooks/{webhook}/deliveries"),
                None,
            )
            .await
            .body;
        if listed
            .as_array()
            .is_some_and(|l| l.len() == 4 && l.iter().all(|d| d["status"] == "delivered"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 4, "{listed:#?}");
    for delivery in listed {
        assert_eq!(delivery["status"], "delivered");
        assert_eq!(delivery["lastStatusCode"], 200);
        assert!(delivery["attempts"].as_u64().unwrap() >= 3, "{delivery}");
    }
}

#[tokio::test]
async fn exhausted_deliveries_land_in_the_dlq_and_redelivery_from_it_works() {
    let h = Harness::new().await;
    let webhook = h.subscribe("down", "dead", json!(["award.created"])).await;
    let game_id = h.game_and_task().await;
    let award = h.award(&game_id, "ana", json!({})).await;
    let id = format!("evt_{}", award.body["awardId"].as_str().unwrap());
    let max = game_functions::domain::webhooks::MAX_ATTEMPTS as usize;
    h.wait_for("dead", |l| {
        l.iter().filter(|x| x["id"] == id).count() >= max
    })
    .await;
    // In the DLQ now (the 9th receive moved it), and never attempted a 9th time.
    let sqs = sqs().await;
    let mut in_dlq = 0;
    for _ in 0..50 {
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&h.dlq_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .unwrap();
        in_dlq = attrs
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
                    .cloned()
            })
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        if in_dlq == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(in_dlq, 1);
    assert_eq!(h.received("dead").len(), max);
    let deliveries = h
        .app
        .call(
            "GET",
            &format!("/api/v1/webhooks/{webhook}/deliveries"),
            None,
        )
        .await;
    assert_eq!(deliveries.body[0]["status"], "dead", "{}", deliveries.text);
    assert_eq!(deliveries.body[0]["lastStatusCode"], 500);

    // The endpoint is fixed; its dead letters go out again and arrive.
    let patched = h
        .app
        .call(
            "PATCH",
            &format!("/api/v1/webhooks/{webhook}"),
            Some(json!({"url": h.url("ok", "dead")})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let redelivered = h
        .app
        .call(
            "POST",
            &format!("/api/v1/webhooks/{webhook}/redeliver-dlq"),
            None,
        )
        .await;
    assert_eq!(redelivered.status, 200, "{}", redelivered.text);
    assert_eq!(redelivered.body["eventIds"], json!([id]));
    h.wait_for("dead", |l| l.iter().any(|x| x["id"] == id && ok(x)))
        .await;

    // And one delivery again on request: the same webhook-id, for the receiver to dedupe.
    let again = h
        .app
        .call(
            "POST",
            &format!("/api/v1/webhooks/{webhook}/deliveries/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    h.wait_for("dead", |l| {
        l.iter().filter(|x| x["id"] == id && ok(x)).count() == 2
    })
    .await;
}

#[tokio::test]
async fn a_rotated_secret_and_the_old_one_both_sign_during_the_overlap() {
    let h = Harness::new().await;
    let webhook = h.subscribe("ok", "rot", json!([])).await;
    let rotated = h
        .app
        .call("POST", &format!("/api/v1/webhooks/{webhook}/rotate"), None)
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    assert_eq!(rotated.body["signingSecrets"], 2);
    h.add_secret("rot", rotated.body["secret"].as_str().unwrap());
    let test = h
        .app
        .call("POST", &format!("/api/v1/webhooks/{webhook}/test"), None)
        .await;
    assert_eq!(test.status, 200, "{}", test.text);
    let got = h.wait_for("rot", |l| !l.is_empty()).await;
    assert_eq!(got[0]["type"], "webhook.test");
    assert_eq!(
        got[0]["verifiedWith"],
        json!([0, 1]),
        "old and new both verify"
    );

    // Rotating with no overlap retires every older secret at once.
    let rotated = h
        .app
        .call(
            "POST",
            &format!("/api/v1/webhooks/{webhook}/rotate"),
            Some(json!({"overlapSeconds": 0})),
        )
        .await;
    assert_eq!(rotated.body["signingSecrets"], 1, "{}", rotated.text);
    h.add_secret("rot", rotated.body["secret"].as_str().unwrap());
    h.app
        .call("POST", &format!("/api/v1/webhooks/{webhook}/test"), None)
        .await;
    let got = h.wait_for("rot", |l| l.len() >= 2).await;
    assert_eq!(
        got[1]["verifiedWith"],
        json!([2]),
        "only the newest secret signs"
    );
}

#[tokio::test]
async fn game_task_and_wallet_writes_emit_their_events() {
    let h = Harness::new().await;
    h.subscribe("ok", "all", json!([])).await;
    let game_id = h.game_and_task().await;
    let patched = h
        .app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}"),
            Some(json!({"platform": "ios"})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let task = h
        .app
        .call(
            "PATCH",
            &format!("/api/v1/games/{game_id}/tasks/walk"),
            Some(json!({"status": "closed"})),
        )
        .await;
    assert_eq!(task.status, 200, "{}", task.text);
    h.app.create_task(&game_id, "run", json!({})).await;
    let awarded = h
        .app
        .call(
            "POST",
            &format!("/api/v1/games/{game_id}/tasks/run/points"),
            Some(json!({"externalUserId": "ana"})),
        )
        .await;
    assert_eq!(awarded.status, 200, "{}", awarded.text);
    let converted = h
        .app
        .call(
            "POST",
            "/api/v1/users/ana/convert",
            Some(json!({"points": 1})),
        )
        .await;
    assert_eq!(converted.status, 200, "{}", converted.text);
    let deleted = h
        .app
        .call(
            "DELETE",
            &format!("/api/v1/games/{game_id}/tasks/walk"),
            None,
        )
        .await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    let gone = h
        .app
        .call("DELETE", &format!("/api/v1/games/{game_id}"), None)
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text);
    let expected = [
        "game.created",
        "task.created",
        "game.updated",
        "task.updated",
        "award.created",
        "wallet.converted",
        "task.deleted",
        "game.deleted",
    ];
    let got = h
        .wait_for("all", |l| {
            expected
                .iter()
                .all(|t| l.iter().any(|x| x["type"] == *t && ok(x)))
        })
        .await;
    assert!(got.iter().all(|x| x["verifiedWith"] == json!([0])));
    // A task delete of a task already gone still answers 404 and emits nothing.
    let again = h
        .app
        .call(
            "DELETE",
            &format!("/api/v1/games/{game_id}/tasks/walk"),
            None,
        )
        .await;
    assert_eq!(again.status, 404, "{}", again.text);
}

/// The ledger's, progression's and custom strategies' events reach a receiver signed, like
/// the award's.
#[tokio::test]
async fn correction_progression_and_strategy_events_are_delivered_signed() {
    let h = Harness::new().await;
    h.subscribe("ok", "all", json!([])).await;
    let app = &h.app;
    let game_id = app.paying_game(10).await;
    let ladder = app
        .call(
            "PUT",
            &format!("/api/v1/games/{game_id}/levels"),
            Some(json!({"metric": "points", "levels": [{"level": 1, "name": "Bronze", "threshold": 5}]})),
        )
        .await;
    assert_eq!(ladder.status, 200, "{}", ladder.text);
    let award_id = app.pay(&game_id, "ana").await.body["awardId"]
        .as_str()
        .unwrap()
        .to_owned();
    for (path, body) in [
        (
            format!("/api/v1/awards/{award_id}/reversal"),
            json!({"amount": 2}),
        ),
        (
            "/api/v1/users/ana/adjustments".to_owned(),
            json!({"currency": "coins", "amount": 3, "reason": "goodwill"}),
        ),
    ] {
        let r = app.call("POST", &path, Some(body)).await;
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    let strategy = app
        .call(
            "POST",
            "/api/v1/strategies/custom",
            Some(json!({"name": "flat", "astJson": {"type": "program", "rules": [], "default":
                {"type": "assign_points", "value": {"type": "literal", "value": 3}, "case_name": "Flat"}}})),
        )
        .await;
    assert_eq!(strategy.status, 201, "{}", strategy.text);
    let id = strategy.body["id"].as_str().unwrap();
    let published = app
        .call(
            "POST",
            &format!("/api/v1/strategies/custom/{id}/publish"),
            None,
        )
        .await;
    assert_eq!(published.status, 200, "{}", published.text);

    let expected = [
        "award.created",
        "level.reached",
        "award.reversed",
        "wallet.adjusted",
        "strategy.published",
    ];
    let got = h
        .wait_for("all", |l| {
            expected
                .iter()
                .all(|t| l.iter().any(|x| x["type"] == *t && ok(x)))
        })
        .await;
    assert!(
        got.iter().all(|x| x["verifiedWith"] == json!([0])),
        "{got:#?}"
    );
    let reversed = got.iter().find(|x| x["type"] == "award.reversed").unwrap();
    assert_eq!(reversed["data"]["award"]["awardId"], award_id.as_str());
    let level = got.iter().find(|x| x["type"] == "level.reached").unwrap();
    assert_eq!(level["data"]["level"], 1);
    assert_eq!(level["data"]["externalUserId"], "ana");
    assert_eq!(level["id"], format!("evt_{award_id}-level"));
}

#[tokio::test]
async fn subscriptions_api_shows_the_secret_once_and_refuses_unsafe_urls() {
    let h = Harness::new().await;
    let created = h
        .app
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": h.url("ok", "x"), "description": "d"})),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.headers["cache-control"], "no-store");
    let secret = created.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created.body["webhookId"].as_str().unwrap().to_owned();
    let got = h
        .app
        .call("GET", &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(got.status, 200);
    assert!(got.body.get("secret").is_none());
    let listed = h.app.call("GET", "/api/v1/webhooks", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
    assert!(!listed.text.contains(&secret));
    // The table holds the secret sealed, never in the clear.
    let key = secret.trim_start_matches("whsec_");
    assert!(
        !format!("{:?}", h.app.items().await).contains(key),
        "the plaintext secret is in the table"
    );
    for url in [
        "http://example.com/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest",
        "ftp://example.com/",
        "https://user:pw@example.com/",
    ] {
        let refused = h
            .app
            .call("POST", "/api/v1/webhooks", Some(json!({"url": url})))
            .await;
        refused.assert_problem(422, "invalid_webhook_url");
    }
    h.app
        .call(
            "POST",
            "/api/v1/webhooks",
            Some(json!({"url": h.url("ok", "x"), "eventTypes": ["award.exploded"]})),
        )
        .await
        .assert_problem(422, "unknown_event_type");
    // Another tenant's admin sees nothing; a client key is refused.
    let other = h.app.other_tenant_key().await;
    h.app
        .call_as(Some(&other), "GET", &format!("/api/v1/webhooks/{id}"), None)
        .await
        .assert_problem(404, "webhook_not_found");
    let client = h.app.mint_key(&h.app.tenant, "client").await;
    let refused = h
        .app
        .call_as(Some(&client), "GET", "/api/v1/webhooks", None)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    let deleted = h
        .app
        .call("DELETE", &format!("/api/v1/webhooks/{id}"), None)
        .await;
    assert_eq!(deleted.status, 200);
    h.app
        .call("GET", &format!("/api/v1/webhooks/{id}"), None)
        .await
        .assert_problem(404, "webhook_not_found");
    assert!(h.app.access_violations.lock().unwrap().is_empty());
}

/// The numbers in docs/benchmarks.md ("Events out"), not a check: run with
/// `... cargo test -p game-tests --test integration -- events::lag --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore]
async fn lag_and_throughput_benchmark() {
    let h = Arc::new(Harness::new().await);
    h.subscribe("ok", "bench", json!(["award.created"])).await;
    let game_id = h.game_and_task().await;
    let n = 200;
    let started = std::time::Instant::now();
    // Sequential: every award of one task writes its series item, so a burst on one task
    // measures that item's conflicts, not the events path.
    let mut committed = std::collections::HashMap::new();
    for i in 0..n {
        let r = h.award(&game_id, &format!("user-{i:04}"), json!({})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        let at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        committed.insert(format!("evt_{}", r.body["awardId"].as_str().unwrap()), at);
    }
    let awarded = started.elapsed().as_secs_f64();
    let got = h
        .wait_for("bench", |l| l.iter().filter(|x| ok(x)).count() >= n)
        .await;
    let delivered = started.elapsed().as_secs_f64();
    let mut lags: Vec<f64> = got
        .iter()
        .filter_map(|x| Some(x["receivedAt"].as_f64()? - committed.get(x["id"].as_str()?)?))
        .collect();
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)] * 1000.0;
    let outbox_bytes: usize = h
        .app
        .items()
        .await
        .iter()
        .filter(|i| {
            i.get("entity")
                .and_then(|v| v.as_s().ok())
                .map(String::as_str)
                == Some("outbox")
        })
        .map(|i| {
            i.iter()
                .map(|(k, v)| {
                    k.len()
                        + v.as_s()
                            .map(String::len)
                            .or_else(|_| v.as_n().map(String::len))
                            .unwrap_or(8)
                })
                .sum::<usize>()
        })
        .sum::<usize>()
        / n;
    // Dispatcher + delivery alone: 500 outbox items committed in transactions of 10 (DynamoDB
    // Local's limit per TransactWriteItems).
    let burst = 500;
    let tenant = h.app.tenant_id();
    let started = std::time::Instant::now();
    for _ in 0..burst / 10 {
        let items = (0..10)
            .map(|i| {
                game_functions::api::events::outbox_item(
                    h.app.ctx.store.table(),
                    &tenant,
                    "award.created",
                    &json!({"burst": i}),
                )
                .unwrap()
            })
            .collect();
        h.app.ctx.store.transact(items).await.unwrap();
    }
    h.wait_for("bench", |l| l.iter().filter(|x| ok(x)).count() >= n + burst)
        .await;
    let burst_secs = started.elapsed().as_secs_f64();
    println!(
        "events bench: burst of {burst} outbox events delivered in {burst_secs:.2} s ({:.0} events/s through dispatcher + delivery)",
        burst as f64 / burst_secs
    );
    println!(
        "events bench: {n} awards in {awarded:.2} s, all delivered after {delivered:.2} s ({:.1} events/s end to end); \
         lag commit->receiver p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms; outbox item ~{outbox_bytes} bytes",
        n as f64 / delivered,
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
}
