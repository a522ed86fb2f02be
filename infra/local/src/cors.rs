//! CORS as API Gateway's HTTP API applies it from template.yaml's `CorsConfiguration`: it answers
//! preflights itself (no OPTIONS route is needed) and adds the configured headers to the
//! integration's responses, ignoring any CORS headers the function returned.
//!
//! A request is a CORS request when it has an `Origin` header; a preflight is an `OPTIONS` with
//! `Origin` and `Access-Control-Request-Method`. Preflights are answered 204; when the origin is
//! not allowed, without any `Access-Control-*` header (the browser then refuses the call).

use crate::template::CorsConfig;
use lambda_http::http::header::{HeaderMap, HeaderName, HeaderValue, ORIGIN, VARY};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Response};

const ALLOW_ORIGIN: &str = "access-control-allow-origin";
const ALLOW_METHODS: &str = "access-control-allow-methods";
const ALLOW_HEADERS: &str = "access-control-allow-headers";
const EXPOSE_HEADERS: &str = "access-control-expose-headers";
const MAX_AGE: &str = "access-control-max-age";
const ALLOW_CREDENTIALS: &str = "access-control-allow-credentials";
const REQUEST_METHOD: &str = "access-control-request-method";

/// The CORS behaviour of the API (`None` in the template: no CORS headers at all).
#[derive(Debug, Clone, Default)]
pub struct Cors {
    config: Option<CorsConfig>,
}

impl Cors {
    pub fn new(config: Option<CorsConfig>) -> Self {
        Self { config }
    }

    /// template.yaml's configuration, parameter defaults applied.
    pub fn from_template() -> Result<Self, String> {
        crate::template::cors().map(Self::new)
    }

    /// The `Access-Control-Allow-Origin` value for a request's origin, if it is allowed:
    /// `*` when any origin is, else the origin itself (`https://*`-style entries match a scheme).
    fn allowed_origin(&self, origin: &str) -> Option<String> {
        let config = self.config.as_ref()?;
        if config.allow_origins.iter().any(|o| o == "*") {
            return Some("*".to_owned());
        }
        config
            .allow_origins
            .iter()
            .any(|allowed| match allowed.strip_suffix('*') {
                Some(scheme) => origin.starts_with(scheme),
                None => allowed.eq_ignore_ascii_case(origin),
            })
            .then(|| origin.to_owned())
    }

    /// The answer to a preflight, or `None` when the request is not one (it goes to the routes).
    pub fn preflight(&self, method: &Method, headers: &HeaderMap) -> Option<Response<Body>> {
        let config = self.config.as_ref()?;
        if method != Method::OPTIONS || !headers.contains_key(REQUEST_METHOD) {
            return None;
        }
        let origin = headers.get(ORIGIN)?.to_str().unwrap_or_default();
        let mut response = Response::new(Body::Empty);
        *response.status_mut() = StatusCode::NO_CONTENT;
        if let Some(allowed) = self.allowed_origin(origin) {
            let out = response.headers_mut();
            set(out, ALLOW_ORIGIN, &allowed);
            set(out, ALLOW_METHODS, &config.allow_methods.join(","));
            set(out, ALLOW_HEADERS, &config.allow_headers.join(","));
            if let Some(max_age) = config.max_age {
                set(out, MAX_AGE, &max_age.to_string());
            }
            if config.allow_credentials {
                set(out, ALLOW_CREDENTIALS, "true");
            }
            if allowed != "*" {
                out.append(VARY, HeaderValue::from_static("origin"));
            }
        }
        Some(response)
    }

    /// Adds the CORS headers to a route's response to a request with `request_headers`.
    pub fn decorate(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        let Some(config) = self.config.as_ref() else {
            return;
        };
        // API Gateway ignores CORS headers from the integration once CORS is configured.
        let theirs: Vec<HeaderName> = response_headers
            .keys()
            .filter(|name| name.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for name in theirs {
            response_headers.remove(name);
        }
        let Some(origin) = request_headers.get(ORIGIN).and_then(|o| o.to_str().ok()) else {
            return;
        };
        let Some(allowed) = self.allowed_origin(origin) else {
            return;
        };
        set(response_headers, ALLOW_ORIGIN, &allowed);
        if !config.expose_headers.is_empty() {
            set(
                response_headers,
                EXPOSE_HEADERS,
                &config.expose_headers.join(","),
            );
        }
        if config.allow_credentials {
            set(response_headers, ALLOW_CREDENTIALS, "true");
        }
        if allowed != "*" {
            response_headers.append(VARY, HeaderValue::from_static("origin"));
        }
    }
}

fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cors(origins: &[&str]) -> Cors {
        Cors::new(Some(CorsConfig {
            allow_origins: origins.iter().map(|o| o.to_string()).collect(),
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["x-api-key".into()],
            expose_headers: vec!["idempotent-replayed".into()],
            max_age: Some(600),
            allow_credentials: false,
        }))
    }

    fn preflight_headers(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers.insert(REQUEST_METHOD, HeaderValue::from_static("POST"));
        headers
    }

    #[test]
    fn listed_and_scheme_wildcard_origins_are_echoed() {
        let cors = cors(&["https://app.example.org", "http://*"]);
        let answer = cors
            .preflight(
                &Method::OPTIONS,
                &preflight_headers("https://app.example.org"),
            )
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(answer.headers()[ALLOW_ORIGIN], "https://app.example.org");
        assert_eq!(answer.headers()[VARY], "origin");
        let answer = cors
            .preflight(
                &Method::OPTIONS,
                &preflight_headers("http://localhost:5173"),
            )
            .unwrap();
        assert_eq!(answer.headers()[ALLOW_ORIGIN], "http://localhost:5173");
    }

    #[test]
    fn other_origins_get_no_cors_headers() {
        let cors = cors(&["https://app.example.org"]);
        let answer = cors
            .preflight(&Method::OPTIONS, &preflight_headers("https://evil.example"))
            .unwrap();
        assert_eq!(answer.status(), 204);
        assert!(!answer.headers().contains_key(ALLOW_ORIGIN));
        let mut response = HeaderMap::new();
        response.insert(ALLOW_ORIGIN, HeaderValue::from_static("*"));
        cors.decorate(&preflight_headers("https://evil.example"), &mut response);
        assert!(
            response.is_empty(),
            "the function's own CORS headers are dropped"
        );
    }

    #[test]
    fn only_options_with_a_requested_method_is_a_preflight() {
        let cors = cors(&["*"]);
        let mut headers = preflight_headers("https://a.example");
        assert!(cors.preflight(&Method::GET, &headers).is_none());
        headers.remove(REQUEST_METHOD);
        assert!(cors.preflight(&Method::OPTIONS, &headers).is_none());
        assert!(
            Cors::new(None)
                .preflight(&Method::OPTIONS, &preflight_headers("https://a.example"))
                .is_none()
        );
    }
}
