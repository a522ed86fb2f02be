//! The dev API: every route of the route table on one local port, with API Gateway HTTP API
//! (payload v2) semantics. Each HTTP request becomes the JSON event API Gateway would send and
//! goes through lambda_http's own parser, so handlers see exactly what they see in Lambda.
//! CORS is applied as API Gateway applies template.yaml's `CorsConfiguration` ([`crate::cors`]).

use crate::cors::Cors;
use bytes::Bytes;
use game_functions::AppContext;
use game_functions::error::ApiError;
use game_functions::lambda::dispatch;
use game_functions::routes::{Route, match_route};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::{Body, Response};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpSocket};

/// API Gateway's payload limit.
pub const MAX_BODY_BYTES: usize = 10 * 1024 * 1024;

/// The listen backlog: connections the kernel queues before `accept`. A burst of hundreds of
/// clients (what API Gateway absorbs) must queue, not be reset; std's and tokio's `bind` use
/// 128. Linux caps it at `net.core.somaxconn` (4096 on current kernels).
pub const LISTEN_BACKLOG: u32 = 1024;

/// Binds `address` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind` sets it:
/// a restart does not wait for TIME_WAIT; a port another server listens on is still refused).
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The API Gateway v2 event for one request to one route.
#[allow(clippy::too_many_arguments)]
pub fn event(
    route: &Route,
    path_params: &[(String, String)],
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    source_ip: IpAddr,
) -> Value {
    let mut header_map: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        if name == "cookie" {
            cookies.extend(value.split("; ").map(|c| json!(c)));
            continue;
        }
        // API Gateway joins repeated headers with commas.
        let joined = match header_map.get(name.as_str()).and_then(Value::as_str) {
            Some(previous) => format!("{previous},{value}"),
            None => value,
        };
        header_map.insert(name.as_str().to_owned(), json!(joined));
    }
    let mut query_params: Map<String, Value> = Map::new();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (decode(key), decode(value));
        let joined = match query_params.get(&key).and_then(Value::as_str) {
            Some(previous) => format!("{previous},{value}"),
            None => value,
        };
        query_params.insert(key, json!(joined));
    }
    let path_map: Map<String, Value> = path_params
        .iter()
        .map(|(k, v)| (k.clone(), json!(decode(v))))
        .collect();
    let route_key = format!("{} {}", route.method, route.path);
    let now = time::OffsetDateTime::now_utc();
    let time_text = now
        .format(time::macros::format_description!(
            "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
        ))
        .unwrap_or_default();
    let user_agent = headers
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let host = headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    let (body_value, base64) = match std::str::from_utf8(body) {
        _ if body.is_empty() => (Value::Null, false),
        Ok(text) => (json!(text), false),
        Err(_) => {
            use base64::Engine as _;
            (
                json!(base64::engine::general_purpose::STANDARD.encode(body)),
                true,
            )
        }
    };
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query.unwrap_or_default(),
        "headers": header_map,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "domainName": host,
            "domainPrefix": host.split('.').next().unwrap_or(host),
            "http": {
                "method": method.as_str(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip.to_string(),
                "userAgent": user_agent,
            },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": time_text,
            "timeEpoch": now.unix_timestamp() * 1000 + i64::from(now.millisecond()),
        },
        "isBase64Encoded": base64,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if !query_params.is_empty() {
        event["queryStringParameters"] = Value::Object(query_params);
    }
    if !path_map.is_empty() {
        event["pathParameters"] = Value::Object(path_map);
    }
    if !body_value.is_null() {
        event["body"] = body_value;
    }
    event
}

/// Routes one request and runs its handler in-process: what API Gateway + Lambda would do.
pub async fn call(
    ctx: &'static AppContext,
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
    source_ip: IpAddr,
) -> Response<Body> {
    let Some((route, params)) = match_route(method, path) else {
        return ApiError::not_found(
            "route_not_found",
            format!("No route serves {method} {path}."),
        )
        .into_response();
    };
    let event = event(
        route, &params, method, path, query, headers, body, source_ip,
    );
    match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => dispatch(route, ctx, request).await,
        Err(error) => ApiError::internal(format!("dev API built an unreadable event: {error}"))
            .into_response(),
    }
}

async fn handle(
    ctx: &'static AppContext,
    cors: &Cors,
    request: hyper::Request<Incoming>,
    remote: SocketAddr,
) -> Result<hyper::Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    // API Gateway answers preflights itself, before any route (none serves OPTIONS).
    let response = if let Some(answer) = cors.preflight(&parts.method, &parts.headers) {
        answer
    } else {
        let mut response = match Limited::new(body, MAX_BODY_BYTES).collect().await {
            Ok(collected) => {
                let bytes = collected.to_bytes();
                call(
                    ctx,
                    &parts.method,
                    parts.uri.path(),
                    parts.uri.query(),
                    &parts.headers,
                    &bytes,
                    remote.ip(),
                )
                .await
            }
            Err(_) => ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("The request body is larger than {MAX_BODY_BYTES} bytes."),
            )
            .into_response(),
        };
        cors.decorate(&parts.headers, response.headers_mut());
        response
    };
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(data) => Bytes::from(data),
        _ => Bytes::new(),
    };
    Ok(hyper::Response::from_parts(parts, Full::new(bytes)))
}

/// Serves until the task is dropped or the listener fails, with template.yaml's CORS.
pub async fn serve(listener: TcpListener, ctx: &'static AppContext) -> std::io::Result<()> {
    let cors = Cors::from_template().map_err(std::io::Error::other)?;
    serve_with(listener, ctx, cors).await
}

/// [`serve`] with a CORS behaviour of the caller's.
pub async fn serve_with(
    listener: TcpListener,
    ctx: &'static AppContext,
    cors: Cors,
) -> std::io::Result<()> {
    let cors = Arc::new(cors);
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            // Per-connection failures (a client that reset while queued) and running out of
            // descriptors under a burst are transient: a server must not stop over them.
            Err(error) => {
                tracing::warn!(%error, "accept failed; retrying");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let cors = cors.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let cors = cors.clone();
                async move { handle(ctx, &cors, request, remote).await }
            });
            if let Err(error) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%error, "connection closed");
            }
        });
    }
}
