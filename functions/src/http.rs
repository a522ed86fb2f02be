//! Request parsing and response building shared by every handler.

use crate::error::{ApiError, ApiResult};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A path parameter that API Gateway (or the dev API) matched. Missing means the
/// route table and the deployment disagree, which is our bug, not the client's.
pub fn path_param(req: &Request, name: &str) -> ApiResult<String> {
    req.path_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
        .ok_or_else(|| ApiError::internal(format!("path parameter {name} missing")))
}

pub fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query_string_parameters_ref()
        .and_then(|params| params.first(name))
        .map(str::to_owned)
}

pub fn header_str<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers()
        .get(name)
        .and_then(|value| value.to_str().ok())
}

/// The largest request body a route reads (413 `body_too_large` above it): room for every
/// field at its cap (docs/api.md, "Limits"), far below a DynamoDB item's 400 KB.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The body cap of the routes whose bodies are legitimately larger: bulk task creation and
/// custom-strategy programs (which have their own 300,000-byte cap on what is stored).
pub const MAX_LARGE_BODY_BYTES: usize = 1024 * 1024;

/// The JSON type a route's body must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Object,
    Array,
}

/// Parses a JSON object body of at most [`MAX_BODY_BYTES`]: too large is 413, absent,
/// unparsable or not an object is 400, an object of the wrong shape is 422.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    parse_body(req.body().as_ref(), MAX_BODY_BYTES, Shape::Object)
}

/// As [`json_body`], up to [`MAX_LARGE_BODY_BYTES`].
pub fn json_body_large<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    parse_body(req.body().as_ref(), MAX_LARGE_BODY_BYTES, Shape::Object)
}

/// As [`json_body`] for the route whose body is a JSON array (`POST /users/points/query`).
pub fn json_array_body<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    parse_body(req.body().as_ref(), MAX_BODY_BYTES, Shape::Array)
}

fn parse_body<T: DeserializeOwned>(bytes: &[u8], max: usize, shape: Shape) -> ApiResult<T> {
    if bytes.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!(
                "The request body is {} bytes; this route accepts at most {max}.",
                bytes.len()
            ),
        )
        .with("limit", max));
    }
    let Some(&first) = bytes.iter().find(|b| !b.is_ascii_whitespace()) else {
        return Err(ApiError::bad_request(
            "missing_body",
            "This request needs a JSON body.",
        ));
    };
    // Checked before deserialising: serde fills a struct's fields from a JSON array too.
    let (opening, wrong_shape): (u8, fn() -> ApiError) = match shape {
        Shape::Object => (b'{', || {
            ApiError::bad_request(
                "body_not_object",
                "The request body must be a JSON object ({...}).",
            )
        }),
        Shape::Array => (b'[', || {
            ApiError::bad_request(
                "body_not_array",
                "The request body must be a JSON array ([...]).",
            )
        }),
    };
    if first != opening && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(wrong_shape());
    }
    serde_json::from_slice(bytes).map_err(|error| {
        use serde_json::error::Category;
        match error.classify() {
            Category::Data => ApiError::unprocessable(
                "invalid_body",
                format!("The request body does not have the expected fields: {error}."),
            ),
            Category::Syntax | Category::Eof | Category::Io => ApiError::bad_request(
                "malformed_json",
                format!("The request body is not valid JSON: {error}."),
            ),
        }
    })
}

pub fn json_response(status: StatusCode, value: &impl Serialize) -> ApiResult<Response<Body>> {
    let text = serde_json::to_string(value).map_err(ApiError::internal)?;
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

pub fn ok(value: &impl Serialize) -> ApiResult<Response<Body>> {
    json_response(StatusCode::OK, value)
}

pub fn created(value: &impl Serialize) -> ApiResult<Response<Body>> {
    json_response(StatusCode::CREATED, value)
}

/// The client's address as API Gateway saw it (`requestContext.http.sourceIp`). Never read
/// from a header a client can set (X-Forwarded-For).
pub fn source_ip(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.http.source_ip.clone(),
        _ => None,
    }
    .unwrap_or_default()
}

/// The API Gateway request id, for log lines and error reports.
pub fn request_id(req: &Request) -> String {
    use lambda_http::request::RequestContext;
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    }
    .or_else(|| {
        req.lambda_context_ref()
            .map(|context| context.request_id.clone())
    })
    .unwrap_or_default()
}
