//! What a warm Lambda keeps between requests: the SDK client, configuration, caches.

use crate::auth::ApiKeyCache;
use crate::store::Store;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub table_name: String,
    /// How long a verified API key is trusted before it is looked up again (revocation delay).
    pub api_key_cache_ttl: Duration,
    /// How long an idempotency record (and so a replayable answer) is kept.
    pub idempotency_ttl: Duration,
}

fn env_seconds(name: &str, default: u64) -> Result<Duration, String> {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| format!("{name} is not a whole number of seconds: {text}")),
        Err(_) => Ok(Duration::from_secs(default)),
    }
}

impl Config {
    pub const TABLE_ENV: &'static str = "GAME_TABLE_NAME";

    pub fn from_env() -> Result<Self, String> {
        let table_name = std::env::var(Self::TABLE_ENV).map_err(|_| {
            format!(
                "{} is not set; it names the DynamoDB table",
                Self::TABLE_ENV
            )
        })?;
        Ok(Self {
            table_name,
            api_key_cache_ttl: env_seconds("GAME_API_KEY_CACHE_TTL_SECONDS", 5)?,
            idempotency_ttl: env_seconds("GAME_IDEMPOTENCY_TTL_SECONDS", 24 * 3600)?,
        })
    }

    pub fn for_table(table_name: impl Into<String>) -> Self {
        Self {
            table_name: table_name.into(),
            api_key_cache_ttl: Duration::from_secs(5),
            idempotency_ttl: Duration::from_secs(24 * 3600),
        }
    }
}

pub struct AppContext {
    pub store: Store,
    pub config: Config,
    pub api_keys: ApiKeyCache,
    /// HMAC key that signs greencrowd simulations (GAME's SECRET_KEY); empty = not configured.
    pub simulation_key: Vec<u8>,
}

impl AppContext {
    pub fn new(client: aws_sdk_dynamodb::Client, config: Config) -> Self {
        Self {
            store: Store::new(client, config.table_name.clone()),
            api_keys: ApiKeyCache::new(config.api_key_cache_ttl),
            config,
            simulation_key: Vec::new(),
        }
    }

    pub fn with_simulation_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.simulation_key = key.into();
        self
    }

    /// Cold start: configuration from the environment, AWS clients from the default chain
    /// (which honours AWS_ENDPOINT_URL_DYNAMODB locally; no code branches on "local").
    pub async fn from_env() -> Result<Self, String> {
        let config = Config::from_env()?;
        let sdk_config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        Ok(Self::new(
            aws_sdk_dynamodb::Client::new(&sdk_config),
            config,
        ))
    }

    /// Handlers take `&'static AppContext`: a Lambda keeps one for its whole life.
    pub fn leak(self) -> &'static AppContext {
        Box::leak(Box::new(self))
    }
}
