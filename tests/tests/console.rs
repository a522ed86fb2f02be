//! The admin console's routes (docs/console.md): `GET /admin` and `GET /admin/{file}` serve the
//! embedded page and files with a policy that keeps the page to its own origin, and each asset
//! route serves only its own files. The console itself is tested in a browser
//! (infra/scripts/browser-checks.sh).

use game_tests::TestApp;
use std::path::Path;

#[tokio::test]
async fn the_console_page_and_its_files_are_served_with_a_same_origin_policy() {
    let app = TestApp::new().await;
    let page = app.call("GET", "/admin", None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.text.contains("id=\"login-form\""));
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["referrer-policy"], "no-referrer");

    // Every file the page loads is served, as JavaScript or CSS, under the same policy.
    let loaded: Vec<&str> = page
        .text
        .split('"')
        .filter(|s| s.starts_with("/admin/"))
        .collect();
    assert_eq!(loaded.len(), 4, "{loaded:?}");
    for path in loaded {
        let file = app.call("GET", path, None).await;
        assert_eq!(file.status, 200, "{path}");
        let ty = file.content_type();
        assert!(
            ty.starts_with("text/javascript") || ty.starts_with("text/css"),
            "{path}: {ty}"
        );
        assert!(
            file.headers.contains_key("content-security-policy"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn each_asset_route_serves_only_its_own_files() {
    let app = TestApp::new().await;
    for path in [
        "/admin/console.html",
        "/admin/swagger-ui.css",
        "/admin/nothing.js",
        "/docs/console.js",
        "/docs/uPlot.iife.min.js",
    ] {
        app.call("GET", path, None)
            .await
            .assert_problem(404, "asset_not_found");
    }
}

/// uPlot is the pinned package's (infra/scripts/vendor-console-ui.sh), with its licence.
#[test]
fn the_vendored_chart_library_is_complete() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/assets/console");
    let script = std::fs::read_to_string(dir.join("uPlot.iife.min.js")).unwrap();
    assert!(script.contains("uPlot"));
    assert!(dir.join("uPlot.min.css").is_file());
    let license = std::fs::read_to_string(dir.join("uPlot.LICENSE")).unwrap();
    assert!(license.starts_with("The MIT License"));
    let vendor =
        std::fs::read_to_string(dir.join("../../../infra/scripts/vendor-console-ui.sh")).unwrap();
    assert!(vendor.contains("UPLOT_SPEC=\"uplot@1.6.32\""));
}
