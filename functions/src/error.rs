//! RFC 9457 problem details. Every error a client sees goes through [`ApiError`].

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde_json::{Map, Value, json};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// 503: a dependency is busy (throttling, conflicts, locks) or failing; Retry-After says when.
pub const DEPENDENCY_UNAVAILABLE: &str = "dependency_unavailable";
/// 503: a dependency did not answer within its configured time-out; Retry-After says when.
pub const DEPENDENCY_TIMEOUT: &str = "dependency_timeout";

/// An error answer: status, a stable machine `code`, and a human `detail` sentence.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    /// Extra members of the problem object (e.g. the id of a conflicting resource).
    pub extra: Map<String, Value>,
    pub headers: Vec<(&'static str, String)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: Map::new(),
            headers: Vec::new(),
        }
    }

    pub fn bad_request(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub fn unauthorized(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, detail)
            .with_header("www-authenticate", "ApiKey header=\"X-API-Key\"")
    }

    pub fn not_found(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// A fault on our side. The detail never carries internals; they go to the log.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The server could not complete the request. Retry later; if it persists, report the request id.",
        )
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, code, detail)
    }

    /// A dependency (the table, the secret store) refused or failed the request for now: 503
    /// with Retry-After. Internals go to the log, never into the detail.
    pub fn dependency_unavailable(retry_after_secs: u32) -> Self {
        Self::unavailable(
            DEPENDENCY_UNAVAILABLE,
            "A service this request depends on is busy or unavailable right now; retry after the Retry-After delay (with the same Idempotency-Key for a write).",
        )
        .with_header("retry-after", retry_after_secs.to_string())
    }

    /// A dependency did not answer within its configured time-out: 503 with Retry-After.
    pub fn dependency_timeout(retry_after_secs: u32) -> Self {
        Self::unavailable(
            DEPENDENCY_TIMEOUT,
            "A service this request depends on did not answer in time; retry after the Retry-After delay (with the same Idempotency-Key for a write).",
        )
        .with_header("retry-after", retry_after_secs.to_string())
    }

    /// A dependency error that a retry of the same request may get past.
    pub fn is_dependency_failure(&self) -> bool {
        [DEPENDENCY_UNAVAILABLE, DEPENDENCY_TIMEOUT].contains(&self.code)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.extra.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn body(&self) -> Value {
        let mut problem = Map::new();
        problem.insert(
            "type".into(),
            json!(format!("urn:game:problem:{}", self.code)),
        );
        problem.insert(
            "title".into(),
            json!(self.status.canonical_reason().unwrap_or("Error")),
        );
        problem.insert("status".into(), json!(self.status.as_u16()));
        problem.insert("detail".into(), json!(self.detail));
        problem.insert("code".into(), json!(self.code));
        for (key, value) in &self.extra {
            problem.insert(key.clone(), value.clone());
        }
        Value::Object(problem)
    }

    pub fn into_response(self) -> Response<Body> {
        let mut response = Response::new(Body::Text(self.body().to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
