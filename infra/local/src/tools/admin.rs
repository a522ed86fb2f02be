//! Operator commands against a deployed GAME table, with the ambient AWS credentials (profile,
//! environment or SSO, through the standard chain). `game-admin --help` lists them.
//!
//! Creating keys through the API needs an admin key, so a fresh deployment's first one is
//! minted here. Only its hash is stored: an HMAC under the pepper derived from the deployment
//! secret (`--secret`, the stack's secret name or ARN; default `GAME_SECRET_ARN`), read the way
//! the functions read it. The table name is the stack's `TableName` output. Keys are made,
//! listed and revoked by the same library functions as the API's `/apikey` routes.

use clap::{CommandFactory, Parser, Subcommand, error::ErrorKind};
use game_functions::api::MAX_PAGE_SIZE;
use game_functions::identity::auth::{self, ApiKeyRecord, NewApiKey};
use game_functions::ids::TenantId;
use game_functions::store::Store;
use game_functions::{ApiError, Config, Secrets, clock, logging};

#[derive(Parser)]
#[command(
    name = "game-admin",
    about = "Operator commands for a GAME table: API keys, and local table and secret set-up."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Mint an admin API key for a tenant and print it once on stdout (only its hash is stored).
    MintKey {
        /// The table (the stack's TableName output).
        #[arg(long)]
        table: String,
        /// The deployment secret's name or ARN [default: $GAME_SECRET_ARN].
        #[arg(long)]
        secret: Option<String>,
        /// The tenant whose keys these are.
        #[arg(long)]
        tenant: String,
        /// Who the key is for (shown in key listings).
        #[arg(long)]
        client: String,
        #[arg(long, default_value = "first admin key (game-admin)")]
        description: String,
    },
    /// List a tenant's API keys: prefix, client, role, created, revoked (never a secret).
    ListKeys {
        #[arg(long)]
        table: String,
        /// The tenant whose keys these are.
        #[arg(long)]
        tenant: TenantId,
    },
    /// Revoke a tenant's API key by its prefix, like DELETE /apikey/{prefix}.
    RevokeKey {
        #[arg(long)]
        table: String,
        /// The tenant whose keys these are.
        #[arg(long)]
        tenant: TenantId,
        /// The key's public prefix (gme_live_ and 8 characters).
        #[arg(long)]
        prefix: String,
    },
    /// Give awards and users stored before their GSI1 listings existed their keys (reversals
    /// find awards by id, the users export lists users; docs/ledger.md); safe to rerun.
    /// Prints how many of each it saw and indexed.
    BackfillIndexes {
        #[arg(long)]
        table: String,
    },
    /// Create the table from template.yaml (local stacks); an existing table is left as it is.
    CreateTable {
        #[arg(long)]
        table: String,
    },
    /// Print the OpenAPI document the code generates (docs/openapi.json), or with --write
    /// rewrite docs/openapi.json and the problem-code table of docs/api.md from the code.
    Openapi {
        #[arg(long)]
        write: bool,
    },
    /// Create the deployment secret with random key material unless it exists (local stacks),
    /// and print its name for GAME_SECRET_ARN.
    CreateSecret {
        /// The secret's name [default: $GAME_SECRET_ARN].
        #[arg(long)]
        secret: Option<String>,
    },
}

/// `game-admin openapi [--write]`: needs no AWS.
fn openapi(write: bool) {
    if !write {
        match game_functions::openapi::to_json() {
            Ok(spec) => print!("{spec}"),
            Err(error) => fail(error),
        }
        return;
    }
    let root = game_local::contract::repo_root();
    match game_local::contract::write(&root) {
        Ok(changed) if changed.is_empty() => {
            eprintln!("game-admin: the generated docs are up to date")
        }
        Ok(changed) => eprintln!("game-admin: wrote {}", changed.join(", ")),
        Err(error) => fail(error),
    }
}

fn fail(message: impl std::fmt::Display) -> ! {
    eprintln!("game-admin: {message}");
    std::process::exit(1);
}

/// A failed library call for a person: internal errors' details are generic (they are written
/// for API clients), their cause is the ERROR line logged just before.
fn describe(error: &ApiError) -> String {
    if error.status.is_server_error() {
        "failed (the cause is logged above)".to_owned()
    } else {
        error.detail.clone()
    }
}

/// `--secret`, else `GAME_SECRET_ARN`; neither is a usage error (exit 2), as before clap.
fn secret_or_env(secret: Option<String>, subcommand: &str) -> String {
    secret
        .or_else(|| std::env::var(Config::SECRET_ENV).ok())
        .unwrap_or_else(|| {
            let mut command = Cli::command();
            command.build();
            let command = command
                .find_subcommand_mut(subcommand)
                .expect("a subcommand of game-admin");
            command
                .error(
                    ErrorKind::MissingRequiredArgument,
                    format!(
                        "--secret is required when {} is not set",
                        Config::SECRET_ENV
                    ),
                )
                .exit()
        })
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut cli = Cli::parse();
    // A missing secret is a usage error, found before any AWS set-up.
    match &mut cli.command {
        Command::MintKey { secret, .. } => *secret = Some(secret_or_env(secret.take(), "mint-key")),
        Command::CreateSecret { secret } => {
            *secret = Some(secret_or_env(secret.take(), "create-secret"));
        }
        _ => {}
    }
    if let Command::Openapi { write } = cli.command {
        return openapi(write);
    }
    // Diagnostics (the cause behind an internal error) go to stderr: stdout is the answer.
    logging::init_stderr();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    match cli.command {
        Command::Openapi { .. } => {} // answered above, without AWS
        Command::BackfillIndexes { table } => {
            let store = Store::new(dynamodb, table.clone());
            match game_functions::store::ledger::backfill_indexes(&store).await {
                Ok(done) => println!(
                    "awards: {}, indexed now: {}; users: {}, indexed now: {}",
                    done.awards, done.awards_indexed, done.users, done.users_indexed
                ),
                Err(error) => fail(format!("backfill of {table}: {}", describe(&error))),
            }
        }
        Command::CreateTable { table } => {
            if let Err(error) = game_local::template::create_table(&dynamodb, &table).await {
                fail(error);
            }
        }
        Command::CreateSecret { secret } => {
            let secret = secret.unwrap_or_default();
            let client = aws_sdk_secretsmanager::Client::new(&config);
            if let Err(error) = game_local::secret::ensure_secret(&client, &secret).await {
                fail(error);
            }
            println!("{secret}");
        }
        Command::MintKey {
            table,
            secret,
            tenant,
            client,
            description,
        } => {
            let secret = secret.unwrap_or_default();
            let secrets_client = aws_sdk_secretsmanager::Client::new(&config);
            let secrets = Secrets::load(&secrets_client, &secret)
                .await
                .unwrap_or_else(|error| fail(error));
            let store = Store::new(dynamodb, table.clone());
            let key = NewApiKey {
                tenant: &tenant,
                client: &client,
                description: &description,
                role: auth::ROLE_ADMIN,
                created_by: "game-admin",
            };
            let (_, plaintext) =
                auth::create_api_key(&store, &secrets.api_key_pepper, &key, &clock::now_rfc3339())
                    .await
                    .unwrap_or_else(|error| {
                        fail(format!(
                            "could not mint the key in {table}: {}",
                            describe(&error)
                        ))
                    });
            eprintln!(
                "game-admin: admin key for tenant {tenant} stored in {table}; it is shown only now:"
            );
            println!("{plaintext}");
        }
        Command::ListKeys { table, tenant } => {
            let store = Store::new(dynamodb, table.clone());
            let mut records: Vec<ApiKeyRecord> = Vec::new();
            let mut next_token = None;
            loop {
                let (page, next) =
                    auth::list_api_keys(&store, &tenant, MAX_PAGE_SIZE, next_token.as_deref())
                        .await
                        .unwrap_or_else(|error| {
                            fail(format!("listing keys in {table}: {}", describe(&error)))
                        });
                records.extend(page);
                match next {
                    Some(token) => next_token = Some(token),
                    None => break,
                }
            }
            print_keys(&records);
        }
        Command::RevokeKey {
            table,
            tenant,
            prefix,
        } => {
            let store = Store::new(dynamodb, table.clone());
            let revoked = auth::revoke_api_key(&store, &tenant, &prefix, &clock::now_rfc3339())
                .await
                .unwrap_or_else(|error| {
                    fail(format!(
                        "revoking {prefix} in {table}: {}",
                        describe(&error)
                    ))
                });
            if !revoked {
                fail(format!(
                    "tenant {tenant} has no API key {prefix} in {table}"
                ));
            }
            eprintln!(
                "game-admin: key {prefix} of tenant {tenant} revoked; warm functions stop accepting it within their key cache TTL"
            );
        }
    }
}

/// One line per key, columns aligned; what a listing may show and nothing else.
fn print_keys(records: &[ApiKeyRecord]) {
    let rows: Vec<[&str; 5]> = records
        .iter()
        .map(|r| {
            let revoked = match (&r.revoked_at, r.active) {
                (Some(at), _) => at.as_str(),
                (None, true) => "-",
                (None, false) => "yes",
            };
            [
                r.prefix.as_str(),
                r.client.as_str(),
                r.role.as_str(),
                r.created_at.as_str(),
                revoked,
            ]
        })
        .collect();
    let header = ["PREFIX", "CLIENT", "ROLE", "CREATED", "REVOKED"];
    let mut widths = header.map(str::len);
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}
