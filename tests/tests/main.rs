//! The integration tests, as one test binary: `game-functions` is linked once, not once per
//! file. Each file beside this one is a module (`cargo test -p game-tests --test
//! integration awards::` runs one of them). tests/Cargo.toml sets `autotests = false`, so a file here is
//! compiled only if it is declared below; `every_file_here_is_a_module` fails when one is not.
//!
//! All modules share one process: process-wide state a test changes (the tracing
//! dispatcher) is set through a scoped guard, never for good.

mod apikeys;
mod awards;
mod client_data;
mod console;
mod cursors;
mod custom_award_cost;
mod custom_strategies;
mod dependencies;
mod dev_api;
mod events;
mod games;
mod greencrowd;
mod http;
mod jwt;
mod leaderboards;
mod ledger;
mod load_smoke;
mod local_stack;
mod openapi;
mod operator;
mod progression;
mod rate_limits;
mod readmodel_pages;
mod readmodels;
mod route_table;
mod strategies;
mod tasks;
mod tenancy;
mod wallet;

#[test]
fn every_file_here_is_a_module() {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files: Vec<String> = std::fs::read_dir(&here)
        .expect("tests/tests")
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs")?.to_owned())
        })
        .filter(|name| name != "main")
        .collect();
    files.sort();
    let declared: Vec<&str> = include_str!("main.rs")
        .lines()
        .filter_map(|line| line.strip_prefix("mod ")?.strip_suffix(';'))
        .collect();
    assert_eq!(
        files, declared,
        "each tests/tests/*.rs must be a `mod` line of tests/tests/main.rs, in order \
         (autotests = false: an undeclared file is never compiled)"
    );
}
