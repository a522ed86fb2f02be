//! tracing-subscriber set-up: JSON lines in Lambda (CloudWatch), readable text locally.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The filter directives in force: `RUST_LOG` (any directives), else the Lambda runtime's
/// `AWS_LAMBDA_LOG_LEVEL` (set by the function's LoggingConfig), else `GAME_LOG_LEVEL` (the
/// template's LogLevel parameter), else `default`. Unset or blank values are skipped.
pub fn level_directives(
    rust_log: Option<&str>,
    lambda_level: Option<&str>,
    game_level: Option<&str>,
    default: &str,
) -> String {
    if let Some(directives) = given(rust_log) {
        return directives.to_owned();
    }
    if let Some(level) = given(lambda_level).and_then(lambda_level_name) {
        return level.to_owned();
    }
    given(game_level).unwrap_or(default).to_owned()
}

/// A setting that is present and not blank, trimmed.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// Lambda's level names as tracing levels; tracing has no FATAL, so it is `error`. An unknown
/// name falls through to the next setting rather than silencing the function.
fn lambda_level_name(level: &str) -> Option<&'static str> {
    Some(match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => return None,
    })
}

fn filter(default: &str) -> EnvFilter {
    let var = |name: &str| std::env::var(name).ok();
    let directives = level_directives(
        var("RUST_LOG").as_deref(),
        var("AWS_LAMBDA_LOG_LEVEL").as_deref(),
        var("GAME_LOG_LEVEL").as_deref(),
        default,
    );
    // A malformed RUST_LOG must not leave the function without logs.
    EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(default))
}

pub fn init_json() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_ansi(false) // JSON lines are parsed, never shown raw at a terminal
        .with_env_filter(filter("info"))
        .with_current_span(false)
        .with_target(false)
        .without_time() // CloudWatch stamps every line
        .try_init();
}

pub fn init_text() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("info"))
        .with_target(false)
        // Colour codes only for a person at a terminal, never in a piped or captured log.
        .with_ansi(std::io::stdout().is_terminal())
        .try_init();
}

/// Text on stderr, for command-line tools whose stdout is their answer (a minted key). Only
/// errors (the cause behind a failed command) unless a level is set: the SDK's warnings about
/// credential and region sources would drown the answer.
pub fn init_stderr() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("error"))
        .with_target(false)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::level_directives;

    #[test]
    fn rust_log_wins_then_lambda_then_game_then_info() {
        let all = level_directives(Some("game=trace"), Some("ERROR"), Some("debug"), "info");
        assert_eq!(all, "game=trace");
        assert_eq!(
            level_directives(None, Some("WARN"), Some("debug"), "info"),
            "warn"
        );
        assert_eq!(level_directives(None, None, Some("debug"), "info"), "debug");
        assert_eq!(level_directives(None, None, None, "info"), "info");
    }

    #[test]
    fn lambda_levels_map_case_insensitively_and_fatal_is_error() {
        for (lambda, level) in [
            ("TRACE", "trace"),
            ("debug", "debug"),
            ("Info", "info"),
            ("WARN", "warn"),
            ("error", "error"),
            ("FATAL", "error"),
            ("fatal", "error"),
        ] {
            assert_eq!(
                level_directives(None, Some(lambda), None, "info"),
                level,
                "{lambda}"
            );
        }
    }

    #[test]
    fn blank_or_unknown_values_fall_through() {
        assert_eq!(
            level_directives(Some(""), Some(" "), Some("warn"), "info"),
            "warn"
        );
        assert_eq!(
            level_directives(None, Some("LOUD"), Some("debug"), "info"),
            "debug"
        );
        assert_eq!(level_directives(None, Some("LOUD"), None, "info"), "info");
    }
}
