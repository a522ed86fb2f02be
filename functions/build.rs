//! Compresses the documentation pages' files (assets/docs/), the admin console's (assets/console/)
//! and the committed OpenAPI document (../docs/openapi.json) into OUT_DIR, for `docs_assets` to
//! embed: the docs and console functions answer them gzip-encoded, and only their binaries link
//! them.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::Path;

/// (file in OUT_DIR, source relative to this crate)
const FILES: [(&str, &str); 11] = [
    ("openapi.json.gz", "../docs/openapi.json"),
    ("docs.html.gz", "assets/docs/docs.html"),
    ("redocs.html.gz", "assets/docs/redocs.html"),
    (
        "swagger-ui-bundle.js.gz",
        "assets/docs/swagger-ui-bundle.js",
    ),
    ("swagger-ui.css.gz", "assets/docs/swagger-ui.css"),
    ("redoc.standalone.js.gz", "assets/docs/redoc.standalone.js"),
    ("console.html.gz", "assets/console/console.html"),
    ("console.js.gz", "assets/console/console.js"),
    ("console.css.gz", "assets/console/console.css"),
    ("uPlot.iife.min.js.gz", "assets/console/uPlot.iife.min.js"),
    ("uPlot.min.css.gz", "assets/console/uPlot.min.css"),
];

fn main() {
    let out = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR");
    for (name, source) in FILES {
        println!("cargo:rerun-if-changed={source}");
        let bytes = match std::fs::read(source) {
            Ok(bytes) => bytes,
            // Only before the first `make openapi`: serve an empty document until then.
            Err(_) if name == "openapi.json.gz" => b"{}".to_vec(),
            Err(error) => panic!("{source}: {error}"),
        };
        // No file name and mtime 0 in the header: the output depends on the content only.
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        encoder.write_all(&bytes).expect("gzip in memory");
        let gz = encoder.finish().expect("gzip in memory");
        std::fs::write(Path::new(&out).join(name), gz).expect("write OUT_DIR");
    }
}
