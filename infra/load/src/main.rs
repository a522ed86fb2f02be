//! `game-load`: see the library (`game_load`) for the scenario and its options.

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match game_load::run(game_load::Args::parse()).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(1),
        Err(message) => {
            eprintln!("game-load: {message}");
            std::process::ExitCode::from(2)
        }
    }
}
