//! `POST /games/{gameId}/tasks/{externalTaskId}/points`: load (one BatchGetItem), decide
//! (pure, `domain::award::decide`), commit (one TransactWriteItems), answer.

use crate::AppContext;
use crate::domain::award::{self, AwardInput, AwardRequest};
use crate::domain::custom::{self, CustomWarm};
use crate::error::{ApiError, ApiResult, DEPENDENCY_UNAVAILABLE};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::authenticate;
use crate::identity::rate_limit;
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::award::{AwardKeys, CustomProgram, CustomResolver};
use crate::store::custom as custom_store;
use crate::store::games::{Task, game_not_found, task_not_found};
use crate::store::idempotency::{self, Collision};
use crate::store::{self, Fault, Item, StoreError};
use crate::wire::points::AwardBody;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Decide-and-commit attempts when concurrent awards keep changing the state first.
const AWARD_ATTEMPTS: u32 = 10;
/// Of those, how many may follow a dependency's fault (a busy table, a lost answer) before
/// the award answers 503 with Retry-After. Time-outs are not retried here: the SDK already
/// retried within the operation's time-out, and the Lambda's own time-out bounds the request.
const DEPENDENCY_RETRIES: u32 = 2;
/// A busy commit (throttled, or a lock held by a concurrent transaction: nothing was written)
/// has its own, larger budget: contention on a hot user or task passes within a few backoffs,
/// and re-deciding is always safe. A table that stays busy still answers 503.
const BUSY_COMMIT_RETRIES: u32 = 5;
/// Wall-clock budget of one custom-strategy run (GAME's DSL_EXECUTION_TIMEOUT_MS).
const CUSTOM_DEADLINE: Duration = Duration::from_millis(500);

fn parse(req: &Request) -> ApiResult<AwardRequest> {
    let raw: Value = json_body(req)?;
    let body: AwardBody = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {e}."),
        )
    })?;
    let external_user_id = ExternalId::parse("externalUserId", &body.external_user_id)?;
    let data = crate::domain::input::optional_data(body.data)?;
    if let Some(zone) = &body.time_zone {
        crate::domain::progression::time_zone(zone)?;
    }
    Ok(AwardRequest {
        external_user_id,
        idempotency_key: idempotency::key_from(req, &data)?,
        data,
        is_simulated: body.is_simulated,
        request_hash: idempotency::request_hash(&raw),
        time_zone: body.time_zone,
    })
}

pub async fn award(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let request = parse(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let answer = award_as(ctx, &req, &caller, &request).await;
    if let Err(error) = &answer {
        count_error(ctx, &caller.tenant, &request.external_user_id, error).await;
    }
    answer
}

/// The dashboard's `error` level: an authenticated award answered with an error adds one to the
/// day's (sharded) counter. A rate-limited one does not (it would turn a flood into writes),
/// and a failure to count never changes the answer.
async fn count_error(ctx: &AppContext, tenant: &TenantId, user: &ExternalId, error: &ApiError) {
    if error.code == "rate_limited" {
        return;
    }
    let day = crate::domain::dashboard::day_of_micros(crate::clock::now_micros());
    let increment = store::dashboard::Increment {
        award_errors: 1,
        ..Default::default()
    };
    if let Err(failure) =
        store::dashboard::add(&ctx.store, tenant, user.as_str(), &day, &increment).await
    {
        tracing::warn!(error = %failure, "could not count an award error");
    }
}

async fn award_as(
    ctx: &'static AppContext,
    req: &Request,
    caller: &crate::identity::auth::Caller,
    request: &AwardRequest,
) -> ApiResult<Response<Body>> {
    let game_id = GameId::from_path(&path_param(req, "gameId")?)?;
    let external_task_id = path_param(req, "externalTaskId")?;
    let task_id = TaskId::try_new(external_task_id.as_str())
        .map_err(|_| task_not_found(&game_id, &external_task_id))?;
    let keys = award_keys(&caller.tenant, &game_id, &task_id, request)
        .with_shards(ctx.shard_hints.get(&caller.tenant, &game_id));
    // The rate-limit counters and the first load in one round trip: an award with limits on
    // costs two sequential round trips, not three. A refused request's load is discarded
    // unread (docs/security.md).
    let first_clock = crate::clock::now_micros();
    let (source_ip, families) = (http::source_ip(req), Families(&ctx.custom));
    let (charged, first_load) = tokio::join!(
        rate_limit::charge(ctx, caller, &source_ip, &request.external_user_id),
        store::award::load(&ctx.store, &keys, &families, first_clock),
    );
    charged?;
    let mut first = Some((first_clock, first_load));
    let mut dependency_retries = 0;
    let mut busy_retries = 0;
    // The answer of a commit whose outcome is unknown (its response was lost): if the next
    // load finds it stored, it is this request's own answer, not a replay.
    let mut unsure: Option<String> = None;
    for attempt in 0..AWARD_ATTEMPTS {
        let (clock_us, load) = match first.take() {
            Some(first) => first,
            None => {
                let clock_us = crate::clock::now_micros();
                let load =
                    store::award::load(&ctx.store, &keys, &Families(&ctx.custom), clock_us).await;
                (clock_us, load)
            }
        };
        let loaded = match load {
            Ok(loaded) => loaded,
            // Reading again is always safe.
            Err(error)
                if error.code == DEPENDENCY_UNAVAILABLE
                    && dependency_retries < DEPENDENCY_RETRIES =>
            {
                dependency_retries += 1;
                store::backoff(attempt).await;
                continue;
            }
            Err(error) => return Err(error),
        };
        if let Some(record) = &loaded.replay {
            if unsure.as_deref() == Some(record.body.as_str()) {
                return Ok(idempotency::json_text(StatusCode::OK, record.body.clone()));
            }
            return record.replay(&request.request_hash);
        }
        let game = loaded
            .game
            .as_ref()
            .ok_or_else(|| game_not_found(&game_id))?;
        ctx.shard_hints
            .remember(&caller.tenant, &game_id, game.shards());
        let task = loaded
            .task
            .as_ref()
            .ok_or_else(|| task_not_found(&game_id, &external_task_id))?;
        let (award_id, ledger_id) = (crate::ids::new_id(), crate::ids::new_id());
        let input = AwardInput {
            game,
            task,
            loaded: &loaded,
            request,
            award_id: &award_id,
            ledger_id: &ledger_id,
            now_us: award::decision_time(clock_us, &loaded.aggregates),
            simulation_key: &ctx.simulation_key,
            idempotency_ttl_secs: ctx.config.idempotency_ttl.as_secs() as i64,
        };
        let decision = decide_and_log(ctx, &caller.tenant, &input).await?;
        if request.is_simulated {
            // Scored and answered, nothing persisted (GAME persisted anyway: defect §9.3 item 3).
            return http::ok(&decision.response);
        }
        let (items, index) = store::award::transaction(ctx.store.table(), &keys, &decision.writes)?;
        match ctx.store.transact_once(items).await {
            Ok(()) => {
                let body = serde_json::to_string(&decision.response).map_err(ApiError::internal)?;
                return Ok(idempotency::json_text(StatusCode::OK, body));
            }
            Err(StoreError::Cancelled { reasons }) => {
                match idempotency::collision(index.idempotency.and_then(|i| reasons.get(i))) {
                    Some(Collision::InFlight) => return Err(idempotency::in_flight()),
                    Some(Collision::Committed) => continue, // the next load replays the first answer
                    // Someone changed what we scored on (or holds it in a transaction): re-decide.
                    None => store::backoff(attempt).await,
                }
            }
            Err(error) => {
                // Busy: nothing was written, so deciding again is safe. A lost answer may
                // hide a commit: only an award with an idempotency record can find out
                // (the next load replays it); without one, the client gets the 503.
                let retry = match error.fault() {
                    Some(Fault::Busy) => busy_retries < BUSY_COMMIT_RETRIES,
                    Some(Fault::Unavailable) => {
                        keys.idempotency.is_some() && dependency_retries < DEPENDENCY_RETRIES
                    }
                    _ => false,
                };
                if !retry {
                    return Err(error.into());
                }
                tracing::warn!(error = %error, "award commit failed; retrying");
                match error.fault() {
                    Some(Fault::Busy) => busy_retries += 1,
                    _ => dependency_retries += 1,
                }
                if error.fault() == Some(Fault::Unavailable) {
                    unsure = Some(
                        serde_json::to_string(&decision.response).map_err(ApiError::internal)?,
                    );
                }
                store::backoff(attempt).await;
            }
        }
    }
    Err(ApiError::conflict(
        "concurrent_award",
        "Too many concurrent awards for this user and task; retry the request with the same idempotency key.",
    )
    .with_header("retry-after", "1"))
}

fn award_keys(
    tenant: &TenantId,
    game_id: &GameId,
    task: &TaskId,
    request: &AwardRequest,
) -> AwardKeys {
    AwardKeys::new(
        tenant,
        game_id,
        task,
        &request.external_user_id,
        request.idempotency_key.as_deref(),
        game_scoring::greencrowd::presented_hash(&request.data),
    )
}

/// Decides under the custom-strategy deadline and logs a custom run (docs/strategies.md).
async fn decide_and_log(
    ctx: &AppContext,
    tenant: &TenantId,
    input: &AwardInput<'_>,
) -> ApiResult<award::Decision> {
    let started = Instant::now();
    let deadline = move || started.elapsed() > CUSTOM_DEADLINE;
    let mut report = None;
    let decided = award::decide(input, &deadline, &mut report);
    if let (Some(report), Some(custom)) = (&report, &input.loaded.custom) {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let (family, version) = (&custom.family_id, custom.version);
        custom_store::log_run(&ctx.store, &ctx.custom, tenant, family, version, report, ms).await;
    }
    decided
}

/// Custom strategies resolved through this warm Lambda's family hints and program cache.
struct Families<'a>(&'a CustomWarm);

impl CustomResolver for Families<'_> {
    fn hint(
        &self,
        tenant: &TenantId,
        game_id: &GameId,
        external_task_id: &TaskId,
    ) -> Option<(String, String)> {
        custom_store::family_hint(self.0, tenant, game_id, external_task_id)
    }

    fn family_key(&self, tenant: &TenantId, strategy_id: &str) -> ApiResult<(String, String)> {
        custom_store::family_key(tenant, strategy_id)
            .ok_or_else(|| custom::unknown_custom(strategy_id))
    }

    fn program(
        &self,
        tenant: &TenantId,
        task: &Task,
        family: Option<Item>,
    ) -> ApiResult<CustomProgram> {
        let family = custom_store::family_from_item(
            family.ok_or_else(|| custom::unknown_custom(&task.strategy_id))?,
        )?;
        self.0.remember_family(
            tenant,
            &task.game_id,
            &task.external_task_id,
            &family.family_id,
        );
        Ok(CustomProgram {
            strategy: custom::published_program(self.0, &family, &task.strategy_id)?,
            version: family.published_version.unwrap_or_default(),
            family_id: family.family_id,
        })
    }

    fn is_custom(&self, strategy_id: &str) -> bool {
        custom::is_custom(strategy_id)
    }
}
