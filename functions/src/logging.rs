//! tracing-subscriber set-up: JSON lines in Lambda (CloudWatch), readable text locally.

use tracing_subscriber::EnvFilter;

fn filter() -> EnvFilter {
    // GAME_LOG_LEVEL comes from the template's LogLevel parameter; RUST_LOG wins when set.
    let level = std::env::var("GAME_LOG_LEVEL").unwrap_or_else(|_| "info".into());
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level))
}

pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}

pub fn init_text() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_target(false)
        .try_init();
}
