//! `game-dev`: the whole API on 127.0.0.1 (default port 3000) against DynamoDB Local.
//! Creates the table from template.yaml, seeds an admin API key and prints a walk-through.

use game_functions::identity::auth;
use game_functions::{AppContext, Config, logging};
use std::net::SocketAddr;

const LOCAL_TENANT: &str = "local";

fn setting(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    logging::init_text();
    let table = setting(Config::TABLE_ENV, "game-local");
    let port: u16 = setting("GAME_DEV_PORT", "3000").parse()?;
    let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let client = aws_sdk_dynamodb::Client::new(&sdk_config);
    game_local::template::create_table(&client, &table).await?;
    let secret_id = std::env::var(Config::SECRET_ENV)
        .unwrap_or_else(|_| game_local::secret::LOCAL_SECRET_ID.into());
    let secrets_client = aws_sdk_secretsmanager::Client::new(&sdk_config);
    if game_local::secret::ensure_secret(&secrets_client, &secret_id).await? {
        println!("created secret {secret_id} (random key material) in the local Secrets Manager");
    }
    let mut config = Config::from_env_with_table(&table)?;
    config.secret_id = Some(secret_id);
    // The production loading path: the secret is read and checked exactly as at a cold start.
    let ctx = AppContext::load(&sdk_config, config, true).await?.leak();
    // The dev API serves every route, the documentation pages included.
    game_functions::api::docs::install(&game_functions::docs_assets::ALL);
    let api_key = auth::mint_api_key(
        &ctx.store,
        &ctx.secrets.api_key_pepper,
        LOCAL_TENANT,
        "dev",
        "seeded by game-dev",
        "admin",
        "game-dev",
    )
    .await?;
    let state_dir = setting("GAME_STATE_DIR", ".local");
    std::fs::create_dir_all(&state_dir)?;
    let key_file = format!("{state_dir}/dev-api-key");
    std::fs::write(&key_file, &api_key)?;
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(address).await?;
    println!(
        "\nGAME dev API on http://{address} (table {table}, tenant {LOCAL_TENANT})\n\
         Admin API key (also in {key_file}):\n  export GAME_API_KEY={api_key}\n\n\
         API documentation: http://{address}/docs\n\n\
         Try:\n  curl -s http://{address}/api/v1/kpi/health_check\n  \
         curl -s -X POST http://{address}/api/v1/games -H \"X-API-Key: $GAME_API_KEY\" -H 'content-type: application/json' -d '{{\"externalGameId\":\"city-walks\",\"platform\":\"web\"}}'\n\
         The README's walk-through goes on from there.\n"
    );
    game_local::devapi::serve(listener, ctx).await?;
    Ok(())
}
