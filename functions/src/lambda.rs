//! Running one route: inside Lambda (`serve`) or in-process (`dispatch`, used by the dev API).

use crate::docs_assets::Files;
use crate::routes::Route;
use crate::{AppContext, http, logging};
use lambda_http::{Body, Request, Response, service_fn};
use std::time::Instant;

/// Runs a handler and turns its error into problem+json, logging one line per request.
pub async fn dispatch(
    route: &'static Route,
    ctx: &'static AppContext,
    req: Request,
) -> Response<Body> {
    let started = Instant::now();
    let request_id = http::request_id(&req);
    let response = crate::identity::rate_limit::paced(async move {
        match (route.handler)(ctx, req).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        }
    })
    .await;
    log_request(route.name, &response, started, &request_id);
    response
}

/// The one log line per request.
fn log_request(route: &str, response: &Response<Body>, started: Instant, request_id: &str) {
    tracing::info!(
        route,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        request_id = %request_id,
        "request"
    );
}

/// The body of every binary in src/bin: build the context once, then serve one route.
pub async fn serve(route: &'static Route) -> Result<(), lambda_http::Error> {
    logging::init_json();
    let route_name = route.name;
    // Only routes that authenticate read the secret (their IAM policy allows it; others' not).
    let ctx = match AppContext::from_env_with(route.access.secret).await {
        Ok(ctx) => ctx.leak(),
        Err(message) => {
            tracing::error!(route = route_name, error = %message, "init failed");
            return Err(message.into());
        }
    };
    lambda_http::run(service_fn(move |req: Request| async move {
        Ok::<_, std::convert::Infallible>(dispatch(route, ctx, req).await)
    }))
    .await
}

/// The body of the documentation routes' binaries: no context (they touch no AWS resource)
/// and not the route table, so they link neither the SDK's clients nor the other handlers, and
/// `files` (their embedded pages) only they link.
pub async fn serve_docs(
    route_name: &'static str,
    files: &'static Files,
) -> Result<(), lambda_http::Error> {
    logging::init_json();
    lambda_http::run(service_fn(move |req: Request| async move {
        let started = Instant::now();
        let request_id = http::request_id(&req);
        let response = crate::api::docs::respond(route_name, files, &req)
            .unwrap_or_else(crate::error::ApiError::into_response);
        log_request(route_name, &response, started, &request_id);
        Ok::<_, std::convert::Infallible>(response)
    }))
    .await
}

/// Functions that are not HTTP routes: they consume the table's stream and the delivery
/// queue (docs/events.md). Their binaries call [`serve_worker`].
pub const WORKERS: &[&str] = &[
    "events_dispatch",
    "events_deliver",
    "holds_sweep",
    "leaderboards_close",
];

/// The body of a worker's binary: the dispatcher (DynamoDB Stream records) or the delivery
/// function (SQS messages), each answering partial batch failures.
pub async fn serve_worker(name: &str) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::LambdaEvent;
    logging::init_json();
    // Only the delivery function opens sealed secrets; the dispatcher reads no secret.
    let needs_secret = name == "events_deliver";
    let ctx = match AppContext::from_env_with(needs_secret).await {
        Ok(ctx) => ctx.leak(),
        Err(message) => {
            tracing::error!(function = name, error = %message, "init failed");
            return Err(message.into());
        }
    };
    match name {
        "events_dispatch" => {
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: LambdaEvent<aws_lambda_events::event::dynamodb::Event>| async move {
                    Ok::<_, std::convert::Infallible>(
                        crate::api::events::dispatch(ctx, event.payload).await,
                    )
                },
            ))
            .await
        }
        "events_deliver" => {
            lambda_runtime::run(lambda_runtime::service_fn(
                move |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
                    Ok::<_, std::convert::Infallible>(
                        crate::api::events::deliver(ctx, event.payload).await,
                    )
                },
            ))
            .await
        }
        "holds_sweep" => {
            // An EventBridge schedule's event; its content does not matter.
            lambda_runtime::run(lambda_runtime::service_fn(
                move |_: LambdaEvent<serde_json::Value>| async move {
                    let sweep = crate::api::ledger::sweep_expired_holds(ctx).await;
                    match &sweep {
                        Ok(done) => tracing::info!(
                            listed = done.listed,
                            released = done.released,
                            skipped = done.skipped,
                            "holds swept"
                        ),
                        Err(error) => tracing::error!(error = %error.detail, "hold sweep failed"),
                    }
                    sweep.map_err(|error| lambda_runtime::Error::from(error.detail))
                },
            ))
            .await
        }
        "leaderboards_close" => {
            lambda_runtime::run(lambda_runtime::service_fn(
                move |_: LambdaEvent<serde_json::Value>| async move {
                    let now = crate::clock::now_micros();
                    let closing = crate::api::leaderboards::close_periods(ctx, now).await;
                    match &closing {
                        Ok(done) => tracing::info!(
                            boards = done.boards,
                            closed = done.closed,
                            "leaderboard periods closed"
                        ),
                        Err(error) => {
                            tracing::error!(error = %error.detail, "closing periods failed")
                        }
                    }
                    closing.map_err(|error| lambda_runtime::Error::from(error.detail))
                },
            ))
            .await
        }
        other => Err(format!("no worker named {other}").into()),
    }
}
