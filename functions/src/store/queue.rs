//! The delivery queue (SQS) and what a warm events function keeps: the queue URLs, the
//! address policy, the retry scale, the SQS client (built on first use) and the HTTP sender.

use crate::domain::webhooks::AddressPolicy;
use crate::env::env_text;
use crate::error::{ApiError, ApiResult};
use crate::webhook_http::Sender;
use std::time::Duration;
use tokio::sync::OnceCell;

#[derive(Debug, Clone)]
pub struct EventsConfig {
    /// `GAME_WEBHOOK_QUEUE_URL`: where the dispatcher enqueues deliveries.
    pub queue_url: Option<String>,
    /// `GAME_WEBHOOK_DLQ_URL`: the dead-letter queue, read by redelivery.
    pub dlq_url: Option<String>,
    /// `GAME_WEBHOOK_MODE`: `production` (default) or `local` (loopback http receivers).
    pub policy: AddressPolicy,
    /// `GAME_WEBHOOK_RETRY_SCALE`: multiplies the retry schedule (1 in production).
    pub retry_scale: f64,
    /// `GAME_WEBHOOK_TIMEOUT_MS`: one attempt's time-out (default 5000).
    pub timeout: Duration,
}

impl EventsConfig {
    pub fn from_env() -> EventsConfig {
        let policy = match env_text("GAME_WEBHOOK_MODE").as_deref() {
            Some("local") => AddressPolicy::Local,
            _ => AddressPolicy::Production,
        };
        EventsConfig {
            queue_url: env_text("GAME_WEBHOOK_QUEUE_URL"),
            dlq_url: env_text("GAME_WEBHOOK_DLQ_URL"),
            policy,
            retry_scale: env_text("GAME_WEBHOOK_RETRY_SCALE")
                .and_then(|v| v.parse::<f64>().ok())
                .filter(|v| v.is_finite() && *v >= 0.0)
                .unwrap_or(1.0),
            timeout: Duration::from_millis(
                env_text("GAME_WEBHOOK_TIMEOUT_MS")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(5000),
            ),
        }
    }
}

pub struct EventsWarm {
    pub config: EventsConfig,
    sqs: OnceCell<aws_sdk_sqs::Client>,
    pub sender: Sender,
}

impl EventsWarm {
    pub fn new(config: EventsConfig) -> EventsWarm {
        EventsWarm {
            sender: Sender::new(config.policy, config.timeout),
            config,
            sqs: OnceCell::new(),
        }
    }

    /// The SQS client from the default chain (`AWS_ENDPOINT_URL_SQS` locally).
    pub async fn sqs(&self) -> &aws_sdk_sqs::Client {
        self.sqs
            .get_or_init(|| async {
                let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                aws_sdk_sqs::Client::new(&config)
            })
            .await
    }

    pub fn queue_url(&self) -> ApiResult<&str> {
        self.config.queue_url.as_deref().ok_or_else(|| {
            ApiError::unavailable(
                "webhooks_not_configured",
                "This deployment has no delivery queue (GAME_WEBHOOK_QUEUE_URL).",
            )
        })
    }

    pub fn dlq_url(&self) -> ApiResult<&str> {
        self.config.dlq_url.as_deref().ok_or_else(|| {
            ApiError::unavailable(
                "webhooks_not_configured",
                "This deployment has no dead-letter queue (GAME_WEBHOOK_DLQ_URL).",
            )
        })
    }
}

/// An SQS failure as the API's 503.
pub fn sqs_error(error: impl std::error::Error) -> ApiError {
    tracing::warn!(error = %crate::store::fault::chain(&error), "SQS request failed");
    ApiError::dependency_unavailable(1)
}
