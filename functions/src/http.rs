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

/// Parses a JSON body: unparsable JSON is 400, JSON of the wrong shape is 422.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> ApiResult<T> {
    let bytes: &[u8] = req.body().as_ref();
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "missing_body",
            "This request needs a JSON body.",
        ));
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
