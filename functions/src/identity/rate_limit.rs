//! Abuse limits on the award and action routes (GAME §5.4), as fixed windows of DynamoDB
//! atomic counters.
//!
//! Semantics:
//! * Scopes, each its own counter item: the caller's principal (API key prefix, or a bearer
//!   token's subject) per window, the source IP (API Gateway's `requestContext.http.sourceIp`,
//!   never a client header) per window, the `externalUserId` per window, and the principal per
//!   UTC day. All are inside the caller's tenant (the tenant is in every partition key).
//! * Windows are aligned to the epoch (`start = now - now % window`); the daily one to UTC
//!   midnight. Counter items carry `expiresAt` (window end + 60 s) and DynamoDB TTL reaps them.
//! * One request charges every scope at once: one conditional `ADD` per scope
//!   (`attribute_not_exists(c) OR c < :limit`), in parallel. A scope at its limit refuses the
//!   increment. If any scope refuses, the scopes that were charged are refunded (`ADD -1`), so a
//!   rejected request costs no scope anything: exactly `limit` requests pass per window, however
//!   many arrive concurrently.
//! * The counters are deliberately not items of the award's transaction: every award of a key
//!   would then conflict on the key's counter and awards would serialise.
//! * A request counts once it is authenticated and well-formed, before its game is read:
//!   replays and requests that then fail (404, 409) count, as in GAME.
//! * Rejection: 429 problem+json with `Retry-After`, and for the refused scope `RateLimit-Limit`,
//!   `RateLimit-Remaining` (0) and `RateLimit-Reset` (seconds until the window ends).
//! * Pacing: every response of a request that was charged (or refused) also carries the IETF
//!   httpapi draft-10 fields for every scope, `RateLimit-Policy: "apiKey";q=120;w=60, …` and
//!   `RateLimit: "apiKey";r=119;t=42, …`, whatever the handler then answers (200, 404, 409):
//!   `charge` records them and [`paced`], around the handler in `lambda::dispatch`, adds them.
//!   On a refusal the refused scope shows `r=0`; the refunded ones what they had before.
//! * A limit of 0 switches that scope off; `GAME_RATE_LIMIT_ENABLED=false` switches all off.

use crate::error::{ApiError, ApiResult};
use crate::identity::Identity;
use crate::identity::auth::Caller;
use crate::ids::TenantId;
use crate::store::{Store, counters};
use lambda_http::http::{HeaderMap, HeaderValue, StatusCode};
use lambda_http::{Body, Response};
use std::cell::RefCell;
use std::time::Duration;

const SECONDS_PER_DAY: i64 = 86_400;

/// The routes whose handlers `charge` (their OpenAPI answers list the pacing fields).
pub const LIMITED_ROUTES: [&str; 3] = ["points_award", "points_task_action", "users_actions"];
/// Counters outlive their window by this much before TTL may reap them.
const TTL_BUFFER_SECS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimits {
    pub enabled: bool,
    pub window: Duration,
    /// Per API key (or bearer subject) per window.
    pub per_key: u64,
    /// Per source IP per window.
    pub per_ip: u64,
    /// Per externalUserId per window.
    pub per_user: u64,
    /// Per API key (or bearer subject) per UTC day.
    pub daily_per_key: u64,
}

impl Default for RateLimits {
    /// GAME's defaults.
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(60),
            per_key: 120,
            per_ip: 240,
            per_user: 60,
            daily_per_key: 10_000,
        }
    }
}

impl RateLimits {
    pub fn from_env() -> Result<Self, String> {
        use crate::env::{env_bool, env_u64};
        let d = Self::default();
        let window = env_u64("GAME_RATE_LIMIT_WINDOW_SECONDS", d.window.as_secs())?;
        if window == 0 {
            return Err("GAME_RATE_LIMIT_WINDOW_SECONDS must be at least 1".into());
        }
        Ok(Self {
            enabled: env_bool("GAME_RATE_LIMIT_ENABLED", d.enabled)?,
            window: Duration::from_secs(window),
            per_key: env_u64("GAME_RATE_LIMIT_PER_KEY", d.per_key)?,
            per_ip: env_u64("GAME_RATE_LIMIT_PER_IP", d.per_ip)?,
            per_user: env_u64("GAME_RATE_LIMIT_PER_USER", d.per_user)?,
            daily_per_key: env_u64("GAME_DAILY_QUOTA_PER_KEY", d.daily_per_key)?,
        })
    }

    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

/// One counter a request is charged to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub name: &'static str,
    pub limit: u64,
    /// Counter item key.
    pub pk: String,
    pub sk: String,
    /// Epoch seconds at which the window ends.
    pub window_end: i64,
    pub window_secs: i64,
    pub message: &'static str,
}

/// The scopes a request is charged to at `now` (pure: no I/O). Blank values and limits of 0
/// are skipped, as in GAME.
pub fn scopes(
    limits: &RateLimits,
    tenant: &TenantId,
    principal: &str,
    source_ip: &str,
    external_user_id: &str,
    now: i64,
) -> Vec<Scope> {
    let window = i64::try_from(limits.window.as_secs()).unwrap_or(60).max(1);
    let short_start = now - now.rem_euclid(window);
    let day_start = now - now.rem_euclid(SECONDS_PER_DAY);
    let candidates = [
        (
            "apiKey",
            principal,
            limits.per_key,
            window,
            short_start,
            "API key rate limit exceeded for sensitive task operations.",
        ),
        (
            "ip",
            source_ip,
            limits.per_ip,
            window,
            short_start,
            "IP rate limit exceeded for sensitive task operations.",
        ),
        (
            "externalUserId",
            external_user_id,
            limits.per_user,
            window,
            short_start,
            "externalUserId rate limit exceeded for sensitive task operations.",
        ),
        (
            "apiKeyDaily",
            principal,
            limits.daily_per_key,
            SECONDS_PER_DAY,
            day_start,
            "Daily API key quota exceeded for sensitive task operations.",
        ),
    ];
    candidates
        .into_iter()
        .filter(|(_, value, limit, ..)| !value.trim().is_empty() && *limit > 0)
        .map(|(name, value, limit, length, start, message)| Scope {
            name,
            limit,
            pk: format!("T#{tenant}#RL#{name}#{value}"),
            sk: format!("{length}s#{start}"),
            window_end: start + length,
            window_secs: length,
            message,
        })
        .collect()
}

enum Outcome {
    /// Charged; the counter's new count.
    Charged(u64),
    Refused,
    Failed(ApiError),
}

/// Retries of a counter update the table refused as busy (throttled or locked: nothing was
/// added), before the request answers 503.
const BUSY_RETRIES: u32 = 3;

async fn increment(store: &Store, scope: &Scope) -> Outcome {
    let ttl = scope.window_end + TTL_BUFFER_SECS;
    let key = (scope.pk.as_str(), scope.sk.as_str());
    let mut result = counters::add_below(store, key, scope.limit, ttl).await;
    for attempt in 0..BUSY_RETRIES {
        match &result {
            Err(error) if error.fault() == Some(crate::store::Fault::Busy) => {
                crate::store::backoff(attempt).await;
                result = counters::add_below(store, key, scope.limit, ttl).await;
            }
            _ => break,
        }
    }
    match result {
        Ok(Some(count)) => Outcome::Charged(count),
        Ok(None) => Outcome::Refused,
        // A busy or silent table is 503 with Retry-After, like everywhere else.
        Err(error) => Outcome::Failed(error.into()),
    }
}

async fn refund(store: &Store, scope: &Scope) {
    if let Err(error) = counters::subtract_existing(store, (&scope.pk, &scope.sk)).await {
        tracing::warn!(scope = scope.name, error = %error, "rate-limit refund failed");
    }
}

/// Charges one request to every scope, or refuses it with 429 (charging nothing).
pub async fn charge(
    ctx: &impl Identity,
    caller: &Caller,
    source_ip: &str,
    external_user_id: &str,
) -> ApiResult<()> {
    let limits = ctx.rate_limits();
    if !limits.enabled {
        return Ok(());
    }
    let now = ctx.clock().now_secs();
    let scopes = scopes(
        limits,
        &caller.tenant,
        &caller.principal(),
        source_ip,
        external_user_id,
        now,
    );
    // All scopes at once: one round trip of latency, not four.
    let outcomes = join_all(scopes.iter().map(|s| increment(ctx.store(), s)).collect()).await;
    let refused = scopes
        .iter()
        .zip(&outcomes)
        .find(|(_, o)| matches!(o, Outcome::Refused))
        .map(|(s, _)| s.clone());
    let failed = outcomes.iter().find_map(|o| match o {
        Outcome::Failed(e) => Some(e.clone()),
        _ => None,
    });
    let rejected = refused.is_some() || failed.is_some();
    if failed.is_none() {
        record_pacing(Pacing::of(&scopes, &outcomes, rejected, now));
    }
    if rejected {
        let charged: Vec<&Scope> = scopes
            .iter()
            .zip(&outcomes)
            .filter(|(_, o)| matches!(o, Outcome::Charged(_)))
            .map(|(s, _)| s)
            .collect();
        join_all(
            charged
                .into_iter()
                .map(|s| refund(ctx.store(), s))
                .collect(),
        )
        .await;
    }
    if let Some(scope) = refused {
        return Err(too_many(&scope, now));
    }
    if let Some(error) = failed {
        return Err(error);
    }
    Ok(())
}

/// The draft-10 pacing fields of one request: its scopes' quotas and what each has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pacing {
    pub policy: String,
    pub remaining: String,
}

impl Pacing {
    fn of(scopes: &[Scope], outcomes: &[Outcome], refunded: bool, now: i64) -> Pacing {
        let mut policy = Vec::new();
        let mut remaining = Vec::new();
        for (scope, outcome) in scopes.iter().zip(outcomes) {
            let used = match outcome {
                // A refunded charge leaves the scope as it was before this request.
                Outcome::Charged(count) if refunded => count.saturating_sub(1),
                Outcome::Charged(count) => *count,
                Outcome::Refused | Outcome::Failed(_) => scope.limit,
            };
            let left = scope.limit.saturating_sub(used);
            let reset = (scope.window_end - now).max(1);
            policy.push(format!(
                "\"{}\";q={};w={}",
                scope.name, scope.limit, scope.window_secs
            ));
            remaining.push(format!("\"{}\";r={left};t={reset}", scope.name));
        }
        Pacing {
            policy: policy.join(", "),
            remaining: remaining.join(", "),
        }
    }

    fn apply(&self, headers: &mut HeaderMap) {
        for (name, value) in [
            ("ratelimit-policy", &self.policy),
            ("ratelimit", &self.remaining),
        ] {
            if let Ok(value) = HeaderValue::from_str(value) {
                headers.insert(name, value);
            }
        }
    }
}

tokio::task_local! {
    /// What this request was charged, for the pacing fields of whatever it answers.
    static PACING: RefCell<Option<Pacing>>;
}

fn record_pacing(pacing: Pacing) {
    // Outside `paced` (a handler called directly) there is no response to put them on.
    let _ = PACING.try_with(|cell| *cell.borrow_mut() = Some(pacing));
}

/// Runs a handler and adds the pacing fields its `charge` recorded to its response.
pub async fn paced(handler: impl Future<Output = Response<Body>>) -> Response<Body> {
    PACING
        .scope(RefCell::new(None), async move {
            let mut response = handler.await;
            if let Some(pacing) = PACING.with(|cell| cell.borrow_mut().take()) {
                pacing.apply(response.headers_mut());
            }
            response
        })
        .await
}

async fn maybe<F: Future>(future: Option<F>) -> Option<F::Output> {
    match future {
        Some(future) => Some(future.await),
        None => None,
    }
}

/// Runs futures concurrently (there are at most four scopes), answers in order.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut rest = futures.into_iter();
    let (a, b, c, d) = tokio::join!(
        maybe(rest.next()),
        maybe(rest.next()),
        maybe(rest.next()),
        maybe(rest.next())
    );
    let mut outputs: Vec<F::Output> = [a, b, c, d].into_iter().flatten().collect();
    for future in rest {
        outputs.push(future.await);
    }
    outputs
}

fn too_many(scope: &Scope, now: i64) -> ApiError {
    let reset = (scope.window_end - now).max(1);
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", scope.message)
        .with("scope", scope.name)
        .with("limit", scope.limit)
        .with("windowSeconds", scope.window_secs)
        .with("retryAfterSeconds", reset)
        .with_header("retry-after", reset.to_string())
        .with_header("ratelimit-limit", scope.limit.to_string())
        .with_header("ratelimit-remaining", "0")
        .with_header("ratelimit-reset", reset.to_string())
}
