//! Dependencies that misbehave, on loopback: a DynamoDB that answers chosen operations with
//! chosen errors (and forwards everything else to DynamoDB Local), and a server that accepts
//! connections and never answers.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// What a matching request gets.
#[derive(Debug, Clone)]
pub enum Answer {
    /// This error, without DynamoDB Local seeing the request (nothing is written).
    Error { status: u16, body: Value },
    /// The first match is forwarded (so it takes effect) and its answer replaced by a 500;
    /// later matches get the 500 without being forwarded: a commit whose answer was lost,
    /// then a DynamoDB that keeps failing while the SDK retries.
    LostAfterCommit,
}

#[derive(Debug)]
struct Rule {
    operation: String,
    remaining: usize,
    answer: Answer,
    forwarded: bool,
}

/// A DynamoDB endpoint between the SDK and DynamoDB Local that injects errors.
#[derive(Debug)]
pub struct FaultyDynamoDb {
    pub address: SocketAddr,
    upstream: String,
    rules: Mutex<Vec<Rule>>,
    /// Requests answered with an injected error.
    pub injected: AtomicUsize,
}

/// The error body DynamoDB sends (awsJson1_0): the shape's id in `__type`, then `message`.
pub fn error_body(error_type: &str, message: &str) -> Value {
    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{error_type}"), "message": message})
}

/// A 500 InternalServerError, as DynamoDB sends it.
pub fn internal_server_error() -> Value {
    error_body("InternalServerError", "Internal server error")
}

fn upstream() -> String {
    let url = std::env::var("AWS_ENDPOINT_URL_DYNAMODB")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .expect("AWS_ENDPOINT_URL_DYNAMODB is set by the test command");
    url.trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

impl FaultyDynamoDb {
    pub async fn start() -> Arc<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let proxy = Arc::new(Self {
            address: listener.local_addr().expect("address"),
            upstream: upstream(),
            rules: Mutex::new(Vec::new()),
            injected: AtomicUsize::new(0),
        });
        let served = proxy.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let proxy = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: hyper::Request<Incoming>| {
                        let proxy = proxy.clone();
                        async move { Ok::<_, Infallible>(proxy.handle(req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        proxy
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The next `times` requests of `operation` (e.g. "TransactWriteItems", "*" for any) get
    /// `answer`.
    pub fn inject(&self, operation: &str, times: usize, answer: Answer) {
        self.rules.lock().unwrap().push(Rule {
            operation: operation.to_owned(),
            remaining: times,
            answer,
            forwarded: false,
        });
    }

    /// `times` answers of this DynamoDB error to `operation`.
    pub fn fail(&self, operation: &str, times: usize, status: u16, body: Value) {
        self.inject(operation, times, Answer::Error { status, body });
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// Decides a request's fate: `Some((status, body, forward first))` for an injected answer.
    fn take(&self, operation: &str) -> Option<(u16, Value, bool)> {
        let mut rules = self.rules.lock().unwrap();
        let rule = rules
            .iter_mut()
            .find(|r| r.remaining > 0 && (r.operation == "*" || r.operation == operation))?;
        rule.remaining -= 1;
        self.injected.fetch_add(1, Ordering::SeqCst);
        Some(match &rule.answer {
            Answer::Error { status, body } => (*status, body.clone(), false),
            Answer::LostAfterCommit => {
                let first = !rule.forwarded;
                rule.forwarded = true;
                (500, internal_server_error(), first)
            }
        })
    }

    async fn handle(&self, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let operation = req
            .headers()
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.split('.').next_back())
            .unwrap_or_default()
            .to_owned();
        let (parts, body) = req.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        match self.take(&operation) {
            Some((status, error, forward_first)) => {
                if forward_first {
                    self.forward(&parts, body).await;
                }
                respond(status, Bytes::from(error.to_string()))
            }
            None => self.forward(&parts, body).await,
        }
    }

    async fn forward(
        &self,
        parts: &hyper::http::request::Parts,
        body: Bytes,
    ) -> hyper::Response<Full<Bytes>> {
        let Ok(stream) = tokio::net::TcpStream::connect(&self.upstream).await else {
            return respond(502, Bytes::new());
        };
        let Ok((mut sender, connection)) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
        else {
            return respond(502, Bytes::new());
        };
        tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(parts.method.clone())
            .uri(parts.uri.path());
        for (name, value) in &parts.headers {
            if name != "host" {
                request = request.header(name, value);
            }
        }
        let request = request
            .header("host", &self.upstream)
            .body(Full::new(body))
            .expect("request");
        let Ok(response) = sender.send_request(request).await else {
            return respond(502, Bytes::new());
        };
        let (parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        hyper::Response::from_parts(parts, Full::new(body))
    }
}

fn respond(status: u16, body: Bytes) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.0")
        .body(Full::new(body))
        .expect("response")
}

/// A server that accepts connections and never answers: a stalled dependency. The
/// connections stay open for as long as the test runs.
pub async fn stalled_endpoint() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    format!("http://{address}")
}

/// An SDK configuration whose every client goes to `endpoint` (set in code, so it wins over
/// the AWS_ENDPOINT_URL_* variables the test command exports).
pub async fn sdk_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .load()
        .await
}

/// The production time-outs stretched for tests about errors: they share DynamoDB Local with
/// the other tests, and a busy DynamoDB Local must not be the failure they see.
pub fn generous_timeouts() -> game_functions::sdk::Timeouts {
    game_functions::sdk::Timeouts {
        dynamodb_attempt: std::time::Duration::from_secs(20),
        dynamodb: std::time::Duration::from_secs(30),
        ..Default::default()
    }
}

/// The production DynamoDB client (`game_functions::sdk`: time-outs, retries) aimed at
/// `endpoint`.
pub async fn production_client(
    endpoint: &str,
    timeouts: &game_functions::sdk::Timeouts,
) -> aws_sdk_dynamodb::Client {
    game_functions::sdk::dynamodb_client(&sdk_config_for(endpoint).await, timeouts)
}
