//! Operator commands against a deployed GAME table, with the ambient AWS credentials (profile,
//! environment or SSO, through the standard chain).
//!
//!   game-admin mint-key --table <table> --secret <secret> --tenant <tenant> --client <client> [--description <text>]
//!   game-admin create-table --table <table>     (local stacks: the table from template.yaml)
//!   game-admin create-secret --secret <name>    (local stacks: the secret, random key material)
//!
//! Mints an admin API key for <tenant> and prints it once on stdout: creating keys through the
//! API needs an admin key, so a fresh deployment's first one is made here. Only its hash is
//! stored: an HMAC under the pepper derived from the deployment secret (`--secret`, the stack's
//! secret name or ARN; default `GAME_SECRET_ARN`), read the way the functions read it. The table
//! name is the stack's `TableName` output.

use game_functions::identity::auth;
use game_functions::store::Store;

fn usage() -> ! {
    eprintln!(
        "usage: game-admin mint-key --table <table> [--secret <secret>] --tenant <tenant> --client <client> [--description <text>]\n       game-admin create-table --table <table>\n       game-admin create-secret --secret <name>"
    );
    std::process::exit(2);
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_else(|| usage());
    let (mut table, mut tenant, mut client) = (None, None, None);
    let mut secret = std::env::var(game_functions::Config::SECRET_ENV).ok();
    let mut description = "first admin key (game-admin)".to_owned();
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_else(|| usage());
        match flag.as_str() {
            "--table" => table = Some(value),
            "--secret" => secret = Some(value),
            "--tenant" => tenant = Some(value),
            "--client" => client = Some(value),
            "--description" => description = value,
            _ => usage(),
        }
    }
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    if command == "create-table" {
        let Some(table) = table else { usage() };
        if let Err(error) = game_local::template::create_table(&dynamodb, &table).await {
            eprintln!("game-admin: {error}");
            std::process::exit(1);
        }
        return;
    }
    if command == "create-secret" {
        // Local stacks (moto): the deployment secret with fresh random key material, unless it
        // exists. Prints its name for GAME_SECRET_ARN.
        let Some(secret) = secret else { usage() };
        let client = aws_sdk_secretsmanager::Client::new(&config);
        if let Err(error) = game_local::secret::ensure_secret(&client, &secret).await {
            eprintln!("game-admin: {error}");
            std::process::exit(1);
        }
        println!("{secret}");
        return;
    }
    if command != "mint-key" {
        usage();
    }
    let (Some(table), Some(secret), Some(tenant), Some(client)) = (table, secret, tenant, client)
    else {
        usage();
    };
    let secrets =
        match game_functions::Secrets::load(&aws_sdk_secretsmanager::Client::new(&config), &secret)
            .await
        {
            Ok(secrets) => secrets,
            Err(error) => {
                eprintln!("game-admin: {error}");
                std::process::exit(1);
            }
        };
    let store = Store::new(dynamodb, table.clone());
    match auth::mint_api_key(
        &store,
        &secrets.api_key_pepper,
        &tenant,
        &client,
        &description,
        "admin",
        "game-admin",
    )
    .await
    {
        Ok(key) => {
            eprintln!(
                "game-admin: admin key for tenant {tenant} stored in {table}; it is shown only now:"
            );
            println!("{key}");
        }
        Err(error) => {
            eprintln!("game-admin: could not mint the key in {table}: {error:?}");
            std::process::exit(1);
        }
    }
}
