//! The API's own documentation, outside `/api/v1` as in GAME: `GET /` (307 to `/docs`),
//! `GET /docs` (Swagger UI), `GET /redocs` (Redoc), `GET /docs/{file}` (their scripts and
//! styles) and `GET /openapi.json` (docs/openapi.json). Files are answered gzip-encoded (inflated
//! for a client that does not accept gzip) and are cacheable. The admin console is served the
//! same way: `GET /admin` (its page) and `GET /admin/{file}` (its script, styles and uPlot), with
//! a Content-Security-Policy that lets the page load and call only its own origin.
//!
//! The files are embedded statics (`crate::docs_assets`). A handler in the route table cannot
//! name them, or every one of the 58 binaries (which all link the whole table) would carry them:
//! the docs binaries pass theirs to [`respond`] through `lambda::serve_docs`, and the dev API
//! hands them over once with [`install`].

use crate::AppContext;
use crate::docs_assets::{Asset, Files};
use crate::error::{ApiError, ApiResult};
use crate::http::{header_str, path_param};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use std::sync::OnceLock;

static INSTALLED: OnceLock<&'static Files> = OnceLock::new();

/// Makes `files` what the route table's docs handlers serve (the dev API, tests). Once per
/// process; later calls are ignored.
pub fn install(files: &'static Files) {
    let _ = INSTALLED.set(files);
}

fn installed() -> ApiResult<&'static Files> {
    INSTALLED
        .get()
        .copied()
        .ok_or_else(|| ApiError::internal("docs assets were not installed"))
}

/// Answers docs route `route_name` from `files`.
pub fn respond(route_name: &str, files: &Files, req: &Request) -> ApiResult<Response<Body>> {
    let name = match route_name {
        "root" => return Ok(redirect()),
        "openapi" => "openapi.json".to_owned(),
        "docs" => "docs.html".to_owned(),
        "redocs" => "redocs.html".to_owned(),
        "docs_asset" | "console_asset" => path_param(req, "file")?,
        "console" => "console.html".to_owned(),
        other => return Err(ApiError::internal(format!("{other} is not a docs route"))),
    };
    let console = route_name.starts_with("console");
    // `/docs/{file}` and `/admin/{file}` serve their own pages' scripts and styles only (the dev
    // API embeds both sets; names, not the statics, so a binary links only its own files).
    let page = !route_name.ends_with("_asset");
    let own = if console {
        CONSOLE_FILE_NAMES
    } else {
        DOCS_FILE_NAMES
    };
    let servable = |asset: &&&Asset| asset.name == name && (page || own.contains(&asset.name));
    let mut response = match files.assets.iter().find(servable) {
        Some(asset) => file(asset, files.inflate, req)?,
        None if page => return Err(ApiError::internal(format!("{name} is not embedded here"))),
        None if console => {
            return Err(ApiError::not_found(
                "asset_not_found",
                format!("The admin console has no file named \"{name}\"."),
            ));
        }
        None => {
            return Err(ApiError::not_found(
                "asset_not_found",
                format!("The documentation pages have no file named \"{name}\"."),
            ));
        }
    };
    if console {
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONSOLE_CSP),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        headers.insert(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        );
    }
    Ok(response)
}

/// What `GET /docs/{file}` may serve.
const DOCS_FILE_NAMES: &[&str] = &[
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "redoc.standalone.js",
];
/// What `GET /admin/{file}` may serve.
const CONSOLE_FILE_NAMES: &[&str] = &[
    "console.js",
    "console.css",
    "uPlot.iife.min.js",
    "uPlot.min.css",
];
/// The console runs only its own files and talks only to its own origin (the API), so an
/// injected script could neither load nor send the operator's key elsewhere; downloads of a
/// large export follow a presigned link as a navigation, which `connect-src` does not limit.
const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; \
     frame-ancestors 'none'; base-uri 'none'";

/// GAME's `GET /` → `307 Location: /docs`.
fn redirect() -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::TEMPORARY_REDIRECT;
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/docs"));
    response
}

/// Whether `Accept-Encoding` allows gzip (a `gzip` or `*` coding whose q is not 0).
fn accepts_gzip(req: &Request) -> bool {
    header_str(req, "accept-encoding").is_some_and(|value| {
        value.split(',').any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
    })
}

fn file(
    asset: &Asset,
    inflate: fn(&[u8]) -> std::io::Result<Vec<u8>>,
    req: &Request,
) -> ApiResult<Response<Body>> {
    let gzip = accepts_gzip(req);
    let bytes = if gzip {
        asset.gzip.to_vec()
    } else {
        inflate(asset.gzip).map_err(ApiError::internal)?
    };
    let mut response = Response::new(Body::Binary(bytes));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}

pub async fn root(_ctx: &'static AppContext, _req: Request) -> ApiResult<Response<Body>> {
    Ok(redirect())
}

pub async fn openapi(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("openapi", installed()?, &req)
}

pub async fn docs(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("docs", installed()?, &req)
}

pub async fn redocs(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("redocs", installed()?, &req)
}

pub async fn docs_asset(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("docs_asset", installed()?, &req)
}

pub async fn console(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("console", installed()?, &req)
}

pub async fn console_asset(_ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    respond("console_asset", installed()?, &req)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_accept(value: &str) -> Request {
        let mut req = Request::default();
        req.headers_mut()
            .insert("accept-encoding", HeaderValue::from_str(value).unwrap());
        req
    }

    #[test]
    fn gzip_only_when_accepted() {
        assert!(accepts_gzip(&with_accept("gzip, deflate, br")));
        assert!(accepts_gzip(&with_accept("br;q=1.0, GZIP;q=0.5")));
        assert!(accepts_gzip(&with_accept("*")));
        assert!(!accepts_gzip(&with_accept("gzip;q=0")));
        assert!(!accepts_gzip(&with_accept("br, deflate")));
        assert!(!accepts_gzip(&Request::default()));
    }
}
