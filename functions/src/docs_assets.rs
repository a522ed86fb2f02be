//! The files of the documentation routes, gzip-compressed at build time (build.rs): the
//! committed OpenAPI document, the two pages, and the vendored Swagger UI and Redoc
//! (assets/docs/README.md). A leaf. Only the docs binaries and the dev API name these statics,
//! so the other functions do not link them (docs/benchmarks.md has the sizes).

/// One file, as served.
#[derive(Debug)]
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub gzip: &'static [u8],
}

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            gzip: include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".gz")),
        }
    };
}

pub static OPENAPI_JSON: Asset = asset!("openapi.json", "application/json");
pub static DOCS_HTML: Asset = asset!("docs.html", "text/html; charset=utf-8");
pub static REDOCS_HTML: Asset = asset!("redocs.html", "text/html; charset=utf-8");
pub static SWAGGER_UI_JS: Asset = asset!("swagger-ui-bundle.js", "text/javascript; charset=utf-8");
pub static SWAGGER_UI_CSS: Asset = asset!("swagger-ui.css", "text/css; charset=utf-8");
pub static REDOC_JS: Asset = asset!("redoc.standalone.js", "text/javascript; charset=utf-8");

/// What each docs route serves (its binary links only these).
pub static OPENAPI: &[&Asset] = &[&OPENAPI_JSON];
pub static DOCS_PAGE: &[&Asset] = &[&DOCS_HTML];
pub static REDOCS_PAGE: &[&Asset] = &[&REDOCS_HTML];
/// `GET /docs/{file}`: the pages' scripts and styles.
pub static UI_FILES: &[&Asset] = &[&SWAGGER_UI_JS, &SWAGGER_UI_CSS, &REDOC_JS];
/// Everything, for the dev API (which serves every route in one process).
pub static ALL: &[&Asset] = &[
    &OPENAPI_JSON,
    &DOCS_HTML,
    &REDOCS_HTML,
    &SWAGGER_UI_JS,
    &SWAGGER_UI_CSS,
    &REDOC_JS,
];
