//! What a failed DynamoDB request means. Every SDK error goes through [`request_error`], the one
//! place that decides whether it is a dependency's momentary fault (503 with Retry-After, and
//! retryable where the write allows it) or our bug (500).

use super::StoreError;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// A dependency's fault: the request may succeed if sent again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Refused for now and nothing was written: throttling, capacity and request-rate limits,
    /// a conflicting transaction, a lock time-out (DynamoDB Local). Any write may be retried.
    Busy,
    /// No usable answer (a 5xx, a failed connection, an unreadable response): a write may or
    /// may not have happened, so only an idempotent write may be retried.
    Unavailable,
    /// No answer within the configured time-outs (docs/deploy.md); a write may have happened.
    Timeout,
}

impl Fault {
    /// Whether a write that failed this way certainly wrote nothing.
    pub fn nothing_written(self) -> bool {
        self == Fault::Busy
    }

    /// The Retry-After a client gets, in seconds.
    pub fn retry_after_secs(self) -> u32 {
        match self {
            Fault::Busy => 1,
            Fault::Unavailable | Fault::Timeout => 2,
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Fault::Busy => "busy",
            Fault::Unavailable => "unavailable",
            Fault::Timeout => "timed out",
        })
    }
}

/// The fault a DynamoDB error answer means, from its code, message and HTTP status; `None`
/// for errors that are ours (validation, missing table, access denied: a 500 and a log line).
pub fn service_fault(code: Option<&str>, message: Option<&str>, status: u16) -> Option<Fault> {
    match code.unwrap_or_default() {
        "ThrottlingException"
        | "ProvisionedThroughputExceededException"
        | "RequestLimitExceeded"
        | "TransactionConflictException" => Some(Fault::Busy),
        // The transaction with this ClientRequestToken (the SDK sets one) is still running: it
        // may yet commit.
        "TransactionInProgressException" => Some(Fault::Unavailable),
        "InternalServerError" | "InternalFailure" | "ServiceUnavailable" => {
            Some(Fault::Unavailable)
        }
        // DynamoDB Local answers table-lock time-outs under concurrent writes as validation
        // errors ("...timed out because it too long waiting for a lock. This request will
        // succeed in actual DynamoDB API"); DynamoDB itself would have served the request.
        "ValidationException"
            if message.is_some_and(|m| {
                m.contains("waiting for a lock") || m.contains("trying to acquire lock")
            }) =>
        {
            Some(Fault::Busy)
        }
        _ if status >= 500 => Some(Fault::Unavailable),
        _ => None,
    }
}

/// Classifies a failed DynamoDB request: a [`Fault`] becomes [`StoreError::Dependency`],
/// anything else [`StoreError::Request`]. The message keeps the SDK's source chain for the log.
pub(crate) fn request_error<E>(error: SdkError<E, HttpResponse>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let fault = match &error {
        SdkError::TimeoutError(_) => Some(Fault::Timeout),
        SdkError::DispatchFailure(failure) if failure.is_timeout() => Some(Fault::Timeout),
        // Connection refused or reset, TLS, a body cut short: nothing usable came back.
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => Some(Fault::Unavailable),
        SdkError::ServiceError(context) => service_fault(
            error.code(),
            error.message(),
            context.raw().status().as_u16(),
        ),
        // ConstructionFailure (a request we could not build) and whatever the SDK adds.
        _ => None,
    };
    let message = chain(&error);
    match fault {
        Some(fault) => StoreError::Dependency { fault, message },
        None => StoreError::Request(message),
    }
}

/// An error and its sources: the SDK's Display is terse, the chain carries the service's words.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Whether a transaction cancellation reason is a momentary refusal (nothing was written).
pub fn busy_reason(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "TransactionConflict"
                | "ThrottlingError"
                | "ProvisionedThroughputExceeded"
                | "RequestLimitExceeded"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_conflicts_and_local_lock_timeouts_are_busy() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
            "RequestLimitExceeded",
            "TransactionConflictException",
        ] {
            assert_eq!(service_fault(Some(code), None, 400), Some(Fault::Busy));
        }
        let lock = "This action timed out because it too long waiting for a lock. This request will succeed in actual DynamoDB API";
        assert_eq!(
            service_fault(Some("ValidationException"), Some(lock), 400),
            Some(Fault::Busy)
        );
        assert!(Fault::Busy.nothing_written());
    }

    #[test]
    fn server_errors_are_unavailable_and_client_errors_are_ours() {
        for code in ["InternalServerError", "TransactionInProgressException"] {
            assert_eq!(
                service_fault(Some(code), None, 500),
                Some(Fault::Unavailable)
            );
        }
        assert_eq!(service_fault(None, None, 502), Some(Fault::Unavailable));
        assert!(!Fault::Unavailable.nothing_written());
        for code in [
            "ValidationException",
            "ResourceNotFoundException",
            "AccessDeniedException",
        ] {
            assert_eq!(
                service_fault(Some(code), Some("One or more parameter values"), 400),
                None
            );
        }
    }

    #[test]
    fn cancellation_reasons() {
        assert!(busy_reason(Some("TransactionConflict")));
        assert!(busy_reason(Some("ThrottlingError")));
        assert!(!busy_reason(Some("ConditionalCheckFailed")));
        assert!(!busy_reason(Some("ValidationError")));
        assert!(!busy_reason(None));
    }
}
