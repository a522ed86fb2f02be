//! What `game-dev` does before it serves, in the library so the tests run it:
//!
//! 1. take the port (a second `make dev` fails here, before it changes anything, naming
//!    `GAME_DEV_PORT`);
//! 2. create the table from template.yaml and the local secret, if missing;
//! 3. load the context through the production path (`AppContext::load`);
//! 4. reuse the admin key stored in `<state dir>/dev-api-key` while the table still accepts it
//!    (checked with the same `authenticate` every route runs), and mint one only when there is
//!    none or it is revoked or unknown (DynamoDB Local runs in memory: a restarted stack starts
//!    empty).

use game_functions::identity::auth::{self, ApiKeyRecord};
use game_functions::store::{from_item, keys};
use game_functions::{AppContext, Config};
use lambda_http::Body;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use tokio::net::TcpListener;

/// The tenant of the seeded admin key.
pub const LOCAL_TENANT: &str = "local";
pub const DEFAULT_PORT: u16 = 3000;
pub const DEFAULT_TABLE: &str = "game-local";
pub const PORT_ENV: &str = "GAME_DEV_PORT";

/// game-dev's settings (README, docs/local.md).
#[derive(Debug, Clone)]
pub struct DevSettings {
    pub table: String,
    pub port: u16,
    pub state_dir: PathBuf,
    pub secret_id: String,
}

impl DevSettings {
    /// `GAME_TABLE_NAME`, `GAME_DEV_PORT`, `GAME_STATE_DIR`, `GAME_SECRET_ARN` or their defaults.
    pub fn from_env() -> Result<Self, String> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let port =
            match var(PORT_ENV) {
                None => DEFAULT_PORT,
                Some(text) => text.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                    format!("{PORT_ENV} must be a port (1-65535), not \"{text}\"")
                })?,
            };
        Ok(Self {
            table: var(Config::TABLE_ENV).unwrap_or_else(|| DEFAULT_TABLE.to_owned()),
            port,
            state_dir: var("GAME_STATE_DIR")
                .unwrap_or_else(|| ".local".to_owned())
                .into(),
            secret_id: var(Config::SECRET_ENV)
                .unwrap_or_else(|| crate::secret::LOCAL_SECRET_ID.to_owned()),
        })
    }

    pub fn key_file(&self) -> PathBuf {
        self.state_dir.join("dev-api-key")
    }
}

/// Where the admin key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrigin {
    /// The stored key, still valid on the table.
    Reused,
    /// A new key, and why the stored one could not be used.
    Minted { reason: String },
}

#[derive(Debug, Clone)]
pub struct DevKey {
    pub key: String,
    pub origin: KeyOrigin,
}

/// Everything `serve` needs, and what the start-up did.
pub struct Prepared {
    pub listener: TcpListener,
    pub address: SocketAddr,
    pub ctx: &'static AppContext,
    pub key: DevKey,
    pub key_file: PathBuf,
    pub created_secret: bool,
}

/// Takes 127.0.0.1:`port` (0: any free port) with the dev API's backlog, or says which
/// variable picks another.
pub fn listen(port: u16) -> Result<TcpListener, String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    crate::devapi::bind(address).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "port {port} on 127.0.0.1 is already in use, probably by another `make dev`. Stop \
                 that one, or serve this one on another port: {PORT_ENV}={} make dev",
                port.saturating_add(1)
            )
        } else {
            format!("cannot listen on {address}: {error}")
        }
    })
}

/// Steps 1-4 of the module doc. Nothing is created or written when the port is taken.
pub async fn prepare(
    settings: &DevSettings,
    sdk_config: &aws_config::SdkConfig,
) -> Result<Prepared, String> {
    let listener = listen(settings.port)?;
    let address = listener
        .local_addr()
        .map_err(|e| format!("listener address: {e}"))?;
    let client = aws_sdk_dynamodb::Client::new(sdk_config);
    crate::template::create_table(&client, &settings.table).await?;
    let secrets_client = aws_sdk_secretsmanager::Client::new(sdk_config);
    let created_secret = crate::secret::ensure_secret(&secrets_client, &settings.secret_id).await?;
    let mut config = Config::from_env_with_table(&settings.table)?;
    config.secret_id = Some(settings.secret_id.clone());
    // The production loading path: the secret is read and checked exactly as at a cold start.
    let mut ctx = AppContext::load(sdk_config, config, true).await?;
    // Events out, locally: the delivery queue and its DLQ in moto, loopback receivers allowed
    // (the pollers that feed the handlers start with the API: events::start).
    let sqs = aws_sdk_sqs::Client::new(sdk_config);
    let (queue_url, dlq_url) =
        crate::events::ensure_queues(&sqs, &format!("{}-webhooks", settings.table), 30).await?;
    let mut events = game_functions::store::queue::EventsConfig::from_env();
    events.queue_url = Some(queue_url);
    events.dlq_url = Some(dlq_url);
    events.policy = game_functions::domain::webhooks::AddressPolicy::Local;
    ctx.events = game_functions::store::queue::EventsWarm::new(events);
    // Large exports, locally: a bucket in moto behind presigned URLs, as deployed (unless
    // GAME_EXPORT_BUCKET names one already).
    if ctx.config.exports.bucket.is_none() {
        let bucket = export_bucket_name(&settings.table);
        ensure_bucket(sdk_config, &bucket).await?;
        ctx.config.exports.bucket = Some(bucket);
        ctx.config.exports.path_style = true;
    }
    let ctx = ctx.leak();
    let key_file = settings.key_file();
    let key = admin_key(ctx, &key_file).await?;
    Ok(Prepared {
        listener,
        address,
        ctx,
        key,
        key_file,
        created_secret,
    })
}

/// `<table>-exports`, as S3 names a bucket (lower case, digits, `-`; 3 to 63 characters).
pub fn export_bucket_name(table: &str) -> String {
    let name: String = format!("{table}-exports")
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(63)
        .collect();
    name.trim_matches('-').to_owned()
}

/// Creates the bucket in the stack's S3 (moto) unless it exists.
async fn ensure_bucket(sdk_config: &aws_config::SdkConfig, bucket: &str) -> Result<(), String> {
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk_config)
            .force_path_style(true)
            .build(),
    );
    if s3.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .map(drop)
        .map_err(|e| format!("creating the export bucket {bucket} in the local S3: {e}"))
}

/// The stored admin key of [`LOCAL_TENANT`] if `ctx`'s table still accepts it, else a new one,
/// written to `key_file` (only the owner may read it).
pub async fn admin_key(ctx: &AppContext, key_file: &Path) -> Result<DevKey, String> {
    let shown = key_file.display();
    let stored = match std::fs::read_to_string(key_file) {
        Ok(text) => Some(text.trim().to_owned()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(format!("reading {shown}: {error}")),
    };
    let reason = match stored {
        None => format!("no key stored in {shown} yet"),
        Some(key) => match unusable(ctx, &key).await? {
            None => {
                return Ok(DevKey {
                    key,
                    origin: KeyOrigin::Reused,
                });
            }
            Some(why) => format!("the key in {shown} {why}"),
        },
    };
    let key = auth::mint_api_key(
        &ctx.store,
        &ctx.secrets.api_key_pepper,
        LOCAL_TENANT,
        "dev",
        "seeded by game-dev",
        auth::ROLE_ADMIN,
        "game-dev",
    )
    .await
    .map_err(|e| {
        format!(
            "minting the admin key in {}: {}",
            ctx.store.table(),
            e.detail
        )
    })?;
    write_private(key_file, &key).map_err(|e| format!("writing {shown}: {e}"))?;
    Ok(DevKey {
        key,
        origin: KeyOrigin::Minted { reason },
    })
}

/// `None` when `key` authenticates as an admin of [`LOCAL_TENANT`] on `ctx`'s table, else why not.
async fn unusable(ctx: &AppContext, key: &str) -> Result<Option<String>, String> {
    let table = &ctx.store.table();
    let Ok(request) = lambda_http::http::Request::builder()
        .header(auth::API_KEY_HEADER, key)
        .body(Body::Empty)
    else {
        return Ok(Some("is not an API key".to_owned()));
    };
    match auth::authenticate(ctx, &request).await {
        Ok(caller) if caller.tenant == LOCAL_TENANT && caller.is_admin => Ok(None),
        Ok(caller) => Ok(Some(format!(
            "is not an admin key of tenant {LOCAL_TENANT} (tenant {}, admin: {})",
            caller.tenant, caller.is_admin
        ))),
        Err(error) if error.status == 401 => Ok(Some(why_rejected(ctx, key).await)),
        Err(error) => Err(format!(
            "checking the stored key against {table}: {}",
            error.detail
        )),
    }
}

/// Why the table rejected a stored key, for the start-up message.
async fn why_rejected(ctx: &AppContext, key: &str) -> String {
    let table = &ctx.store.table();
    let Some(prefix) = auth::key_prefix(key) else {
        return "is not an API key".to_owned();
    };
    match ctx
        .store
        .get(keys::api_key_pk(prefix), keys::API_KEY_SK)
        .await
    {
        Ok(None) => format!(
            "is unknown to table {table} (DynamoDB Local keeps data in memory: a restarted stack starts empty)"
        ),
        Ok(Some(item)) => match from_item::<ApiKeyRecord>(item) {
            Ok(record) if !record.active => format!("was revoked in table {table}"),
            _ => format!(
                "does not match its record in {table} (the local secret changed: moto restarted?)"
            ),
        },
        Err(_) => format!("was rejected by table {table}"),
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
