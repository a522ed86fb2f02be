//! The AWS clients a Lambda builds at its cold start, with time-outs: a DynamoDB or Secrets
//! Manager that stops answering costs a request a few seconds and a 503 (or a cold start a
//! clear log line), never the whole Lambda time-out. docs/deploy.md lists the variables.

use crate::env::env_u64;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use std::time::Duration;

/// Time-outs of the AWS clients. An attempt is one HTTP request; the operation is all of its
/// attempts (the SDK retries throttling, 5xx and I/O errors up to 3 attempts) with backoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Establishing a connection (`GAME_AWS_CONNECT_TIMEOUT_MS`), both clients.
    pub connect: Duration,
    /// One DynamoDB request (`GAME_DDB_ATTEMPT_TIMEOUT_MS`).
    pub dynamodb_attempt: Duration,
    /// One DynamoDB operation, retries included (`GAME_DDB_TIMEOUT_MS`).
    pub dynamodb: Duration,
    /// One Secrets Manager request (`GAME_SECRETS_ATTEMPT_TIMEOUT_MS`).
    pub secrets_attempt: Duration,
    /// Reading the secret at a cold start, retries included (`GAME_SECRETS_TIMEOUT_MS`).
    pub secrets: Duration,
}

impl Default for Timeouts {
    /// Within the functions' 10 s time-out (template.yaml) even for an award's four
    /// sequential DynamoDB round trips when one of them stalls.
    fn default() -> Self {
        Self {
            connect: Duration::from_millis(1000),
            dynamodb_attempt: Duration::from_millis(1500),
            dynamodb: Duration::from_millis(4000),
            secrets_attempt: Duration::from_millis(2000),
            secrets: Duration::from_millis(5000),
        }
    }
}

/// Backoff between the SDK's DynamoDB attempts. The SDK's default (1 s, for control planes)
/// would spend most of an operation's time-out waiting; DynamoDB's throttling and transient
/// errors clear in tens of milliseconds.
const DYNAMODB_INITIAL_BACKOFF: Duration = Duration::from_millis(25);
const DYNAMODB_MAX_ATTEMPTS: u32 = 3;

fn millis(name: &str, default: Duration) -> Result<Duration, String> {
    let ms = env_u64(name, default.as_millis() as u64)?;
    if ms == 0 {
        return Err(format!("{name} must be at least 1 (milliseconds)"));
    }
    Ok(Duration::from_millis(ms))
}

impl Timeouts {
    pub fn from_env() -> Result<Self, String> {
        let defaults = Self::default();
        let timeouts = Self {
            connect: millis("GAME_AWS_CONNECT_TIMEOUT_MS", defaults.connect)?,
            dynamodb_attempt: millis("GAME_DDB_ATTEMPT_TIMEOUT_MS", defaults.dynamodb_attempt)?,
            dynamodb: millis("GAME_DDB_TIMEOUT_MS", defaults.dynamodb)?,
            secrets_attempt: millis("GAME_SECRETS_ATTEMPT_TIMEOUT_MS", defaults.secrets_attempt)?,
            secrets: millis("GAME_SECRETS_TIMEOUT_MS", defaults.secrets)?,
        };
        timeouts.check()?;
        Ok(timeouts)
    }

    /// An attempt longer than its operation could never be retried: a configuration error.
    pub fn check(&self) -> Result<(), String> {
        if self.dynamodb_attempt > self.dynamodb {
            return Err("GAME_DDB_ATTEMPT_TIMEOUT_MS exceeds GAME_DDB_TIMEOUT_MS".into());
        }
        if self.secrets_attempt > self.secrets {
            return Err("GAME_SECRETS_ATTEMPT_TIMEOUT_MS exceeds GAME_SECRETS_TIMEOUT_MS".into());
        }
        Ok(())
    }

    fn config(&self, attempt: Duration, operation: Duration) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(attempt)
            .operation_timeout(operation)
            .build()
    }
}

/// The DynamoDB client of `sdk_config` (region, credentials, endpoint) with these time-outs
/// and a backoff fit for a data plane.
pub fn dynamodb_client(
    sdk_config: &aws_config::SdkConfig,
    timeouts: &Timeouts,
) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk_config)
        .timeout_config(timeouts.config(timeouts.dynamodb_attempt, timeouts.dynamodb))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(DYNAMODB_MAX_ATTEMPTS)
                .with_initial_backoff(DYNAMODB_INITIAL_BACKOFF),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The Secrets Manager client of `sdk_config` with these time-outs.
pub fn secrets_client(
    sdk_config: &aws_config::SdkConfig,
    timeouts: &Timeouts,
) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::config::Builder::from(sdk_config)
        .timeout_config(timeouts.config(timeouts.secrets_attempt, timeouts.secrets))
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fit_in_the_function_timeout_and_attempts_fit_in_operations() {
        let t = Timeouts::default();
        assert!(t.check().is_ok());
        assert!(t.dynamodb < Duration::from_secs(10) && t.secrets < Duration::from_secs(10));
        let bad = Timeouts {
            dynamodb_attempt: Duration::from_secs(5),
            dynamodb: Duration::from_secs(1),
            ..t
        };
        assert!(
            bad.check()
                .unwrap_err()
                .contains("GAME_DDB_ATTEMPT_TIMEOUT_MS")
        );
    }
}
