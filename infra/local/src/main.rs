//! `game-dev`: the whole API on 127.0.0.1 (default port 3000) against DynamoDB Local.
//! Takes the port first, creates the table from template.yaml, reuses or seeds an admin API
//! key and prints a walk-through (game_local::dev).

use game_functions::logging;
use game_local::dev::{self, DevSettings, KeyOrigin, LOCAL_TENANT};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    logging::init_text();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("game-dev: error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let settings = DevSettings::from_env()?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let prepared = dev::prepare(&settings, &sdk_config).await?;
    let (address, table, key_file) = (prepared.address, &settings.table, &prepared.key_file);
    if prepared.created_secret {
        println!(
            "created secret {} (random key material) in the local Secrets Manager",
            settings.secret_id
        );
    }
    let api_key = &prepared.key.key;
    let key_note = match &prepared.key.origin {
        KeyOrigin::Reused => format!("reused from {}", key_file.display()),
        KeyOrigin::Minted { reason } => {
            format!("new, as {reason}; saved to {}", key_file.display())
        }
    };
    println!(
        "\nGAME dev API on http://{address} (table {table}, tenant {LOCAL_TENANT})\n\
         Admin API key ({key_note}):\n  export GAME_API_KEY={api_key}\n\n\
         API documentation: http://{address}/docs\n\n\
         Try:\n  curl -s http://{address}/api/v1/kpi/health_check\n  \
         curl -s -X POST http://{address}/api/v1/games -H \"X-API-Key: $GAME_API_KEY\" -H 'content-type: application/json' -d '{{\"externalGameId\":\"city-walks\",\"platform\":\"web\"}}'\n\
         The README's walk-through goes on from there.\n"
    );
    // The dev API serves every route, the documentation pages included.
    game_functions::api::docs::install(&game_functions::docs_assets::ALL);
    // The stream and queue pollers that stand in for Lambda's event source mappings.
    game_local::events::start(&sdk_config, table, prepared.ctx);
    game_local::devapi::serve(prepared.listener, prepared.ctx)
        .await
        .map_err(|e| format!("serving on {address}: {e}"))
}
