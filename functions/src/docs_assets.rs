//! The files of the documentation routes, gzip-compressed at build time (build.rs): the
//! committed OpenAPI document, the two pages, and the vendored Swagger UI and Redoc
//! (assets/docs/README.md); and the admin console's page, script, style and vendored uPlot
//! (assets/console/README.md). A leaf. Only the docs binaries and the dev API name these statics,
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
pub static CONSOLE_HTML: Asset = asset!("console.html", "text/html; charset=utf-8");
pub static CONSOLE_JS: Asset = asset!("console.js", "text/javascript; charset=utf-8");
pub static CONSOLE_CSS: Asset = asset!("console.css", "text/css; charset=utf-8");
pub static UPLOT_JS: Asset = asset!("uPlot.iife.min.js", "text/javascript; charset=utf-8");
pub static UPLOT_CSS: Asset = asset!("uPlot.min.css", "text/css; charset=utf-8");

/// The files a docs binary serves, and how to inflate one for a client that does not accept
/// gzip (named here, not in the handlers, so the route table does not pull the inflater into
/// every binary either).
#[derive(Debug)]
pub struct Files {
    pub assets: &'static [&'static Asset],
    pub inflate: fn(&[u8]) -> std::io::Result<Vec<u8>>,
}

fn gunzip(gzip: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(gzip).read_to_end(&mut plain)?;
    Ok(plain)
}

/// What each docs route serves (its binary links only these).
pub static NONE: Files = Files {
    assets: &[],
    inflate: gunzip,
};
pub static OPENAPI: Files = Files {
    assets: &[&OPENAPI_JSON],
    inflate: gunzip,
};
pub static DOCS_PAGE: Files = Files {
    assets: &[&DOCS_HTML],
    inflate: gunzip,
};
pub static REDOCS_PAGE: Files = Files {
    assets: &[&REDOCS_HTML],
    inflate: gunzip,
};
/// `GET /docs/{file}`: the pages' scripts and styles.
pub static UI_FILES: Files = Files {
    assets: &[&SWAGGER_UI_JS, &SWAGGER_UI_CSS, &REDOC_JS],
    inflate: gunzip,
};
/// `GET /admin`: the console's page.
pub static CONSOLE_PAGE: Files = Files {
    assets: &[&CONSOLE_HTML],
    inflate: gunzip,
};
/// `GET /admin/{file}`: the console's script and styles, and uPlot.
pub static CONSOLE_FILES: Files = Files {
    assets: &[&CONSOLE_JS, &CONSOLE_CSS, &UPLOT_JS, &UPLOT_CSS],
    inflate: gunzip,
};
/// Everything, for the dev API (which serves every route in one process).
pub static ALL: Files = Files {
    assets: &[
        &OPENAPI_JSON,
        &DOCS_HTML,
        &REDOCS_HTML,
        &SWAGGER_UI_JS,
        &SWAGGER_UI_CSS,
        &REDOC_JS,
        &CONSOLE_HTML,
        &CONSOLE_JS,
        &CONSOLE_CSS,
        &UPLOT_JS,
        &UPLOT_CSS,
    ],
    inflate: gunzip,
};
