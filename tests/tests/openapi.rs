//! The API contract: docs/openapi.json is what the code generates, every route of the table is
//! in it as it is routed, and the documentation routes serve it and the pages, offline.

use game_functions::routes::ROUTES;
use game_local::contract;
use game_tests::TestApp;
use serde_json::Value;
use std::io::Read;

fn spec() -> Value {
    serde_json::from_str(&game_functions::openapi::to_json().expect("the document generates"))
        .expect("the document is JSON")
}

fn committed(path: &str) -> String {
    std::fs::read_to_string(contract::repo_root().join(path)).expect(path)
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut plain)
        .expect("a gzip body");
    plain
}

/// docs/openapi.json and the problem table of docs/api.md are generated: a change to a route,
/// a wire type or a problem code shows in their diff. GAME_UPDATE_OPENAPI=1 rewrites them.
#[test]
fn the_committed_contract_is_what_the_code_generates() {
    let root = contract::repo_root();
    if std::env::var_os("GAME_UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        contract::write(&root).expect("write the generated docs");
    }
    let stale = contract::stale(&root).expect("generate the docs");
    assert!(
        stale.is_empty(),
        "{} differ from what the code generates: run `make openapi` (or \
         GAME_UPDATE_OPENAPI=1 cargo test -p game-tests --test integration openapi::) and \
         commit the result",
        stale.join(" and ")
    );
}

#[test]
fn every_route_is_in_the_document_with_its_method_and_path() {
    let spec = spec();
    let paths = spec["paths"].as_object().expect("paths");
    for route in ROUTES {
        let method = route.method.as_str().to_ascii_lowercase();
        let operation = &paths
            .get(route.path)
            .unwrap_or_else(|| panic!("{} ({}) is not in the document", route.path, route.name))
            [&method];
        assert_eq!(
            operation["operationId"], route.name,
            "{} {} is not documented as {}",
            route.method, route.path, route.name
        );
    }
    // And nothing else: every documented operation is a route.
    let documented: usize = paths
        .values()
        .map(|item| item.as_object().map_or(0, |o| o.len()))
        .sum();
    assert_eq!(documented, ROUTES.len());
}

#[test]
fn operations_document_their_parameters_problems_and_security() {
    let spec = spec();
    let codes: Vec<&str> = spec["components"]["schemas"]["ProblemCode"]["enum"]
        .as_array()
        .expect("ProblemCode enum")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(codes.len(), game_functions::problems::all().len());
    for route in ROUTES {
        let operation = &spec["paths"][route.path][route.method.as_str().to_ascii_lowercase()];
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for name in route
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            assert!(
                parameters
                    .iter()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                "{}: path parameter {name} undocumented",
                route.name
            );
        }
        let responses = operation["responses"].as_object().expect("responses");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]["application/problem+json"]["schema"]["$ref"]
                        .as_str()
                        .is_some_and(|r| r.ends_with("/Problem")),
                    "{} {status}: not a problem+json answer",
                    route.name
                );
            }
        }
        // A route that reads the secret authenticates (the documentation routes do not).
        let secured = operation["security"]
            .as_array()
            .is_some_and(|s| !s.is_empty());
        assert_eq!(
            secured, route.access.secret,
            "{}: security schemes must say whether it authenticates",
            route.name
        );
        if secured {
            assert!(responses.contains_key("401"), "{}: no 401", route.name);
        }
    }
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["ApiKeyAuth"]["type"], "apiKey");
    assert_eq!(schemes["ApiKeyAuth"]["in"], "header");
    assert_eq!(schemes["ApiKeyAuth"]["name"], "X-API-Key");
    assert_eq!(schemes["BearerAuth"]["scheme"], "bearer");
    assert_eq!(schemes["BearerAuth"]["bearerFormat"], "JWT");
    assert_eq!(spec["openapi"], "3.1.0");
}

#[tokio::test]
async fn the_document_and_the_pages_are_served() {
    let app = TestApp::new().await;
    let gzip = [("accept-encoding", "gzip, br".to_owned())];

    let root = app.call("GET", "/", None).await;
    assert_eq!(root.status, 307);
    assert_eq!(root.headers["location"], "/docs");

    // GET /openapi.json is the committed file, gzip-encoded when the client accepts it.
    let document = app
        .call_with_headers("GET", "/openapi.json", &gzip, None)
        .await;
    assert_eq!(document.status, 200);
    assert_eq!(document.headers["content-encoding"], "gzip");
    assert_eq!(document.headers["content-type"], "application/json");
    assert_eq!(
        String::from_utf8(gunzip(&document.bytes)).unwrap(),
        committed(contract::OPENAPI_FILE)
    );
    // ... and plain when it does not.
    let plain = app.call("GET", "/openapi.json", None).await;
    assert!(plain.headers.get("content-encoding").is_none());
    assert_eq!(plain.text, committed(contract::OPENAPI_FILE));

    for (page, script) in [
        ("/docs", "docs/swagger-ui-bundle.js"),
        ("/redocs", "docs/redoc.standalone.js"),
    ] {
        let html = app.call("GET", page, None).await;
        assert_eq!(html.status, 200, "{page}");
        assert!(html.content_type().starts_with("text/html"), "{page}");
        assert!(html.text.contains(script), "{page}");
        assert!(html.text.contains("openapi.json"), "{page}");
        // Offline: the pages load nothing from another host.
        assert!(
            !html.text.contains("http://") && !html.text.contains("https://"),
            "{page} must not load anything from a CDN"
        );
        let asset = app
            .call_with_headers("GET", &format!("/{script}"), &gzip, None)
            .await;
        assert_eq!(asset.status, 200, "{script}");
        assert!(asset.content_type().starts_with("text/javascript"));
        assert_eq!(asset.headers["content-encoding"], "gzip");
        assert!(
            gunzip(&asset.bytes).len() > 500_000,
            "{script} is the bundle"
        );
    }
    let docs = app.call("GET", "/docs", None).await;
    assert!(
        docs.text.contains("validatorUrl: null"),
        "Swagger UI must not send the document to its online validator"
    );
    let css = app.call("GET", "/docs/swagger-ui.css", None).await;
    assert_eq!(css.status, 200);
    assert!(css.content_type().starts_with("text/css"));

    // Only the pages' scripts and styles are files of /docs/{file}.
    app.call("GET", "/docs/openapi.json", None)
        .await
        .assert_problem(404, "asset_not_found");
    app.call("GET", "/docs/nothing.js", None)
        .await
        .assert_problem(404, "asset_not_found");
}

/// The vendored files are the pinned packages' (infra/scripts/vendor-docs-ui.sh) and the
/// pages reference exactly what /docs/{file} serves.
#[test]
fn the_vendored_pages_are_complete() {
    let dir = contract::repo_root().join("functions/assets/docs");
    let head = |name: &str| {
        let text = std::fs::read_to_string(dir.join(name)).expect(name);
        text.chars().take(400).collect::<String>()
    };
    assert!(head("redoc.standalone.js").contains("redoc.standalone.js.LICENSE.txt"));
    assert!(head("swagger-ui-bundle.js").contains("swagger-ui-bundle.js.LICENSE.txt"));
    for license in [
        "swagger-ui-dist.LICENSE",
        "swagger-ui-dist.NOTICE",
        "redoc.LICENSE",
        "swagger-ui-bundle.js.LICENSE.txt",
        "redoc.standalone.js.LICENSE.txt",
    ] {
        assert!(dir.join(license).is_file(), "{license}");
    }
    let served: Vec<&str> = game_functions::docs_assets::UI_FILES
        .assets
        .iter()
        .map(|a| a.name)
        .collect();
    for page in ["docs.html", "redocs.html"] {
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        for reference in html.split(['"', '\'']).filter(|s| s.starts_with("docs/")) {
            assert!(
                served.contains(&reference.trim_start_matches("docs/")),
                "{page} loads {reference}, which GET /docs/{{file}} does not serve"
            );
        }
    }
}
