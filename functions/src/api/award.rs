//! `POST /games/{gameId}/tasks/{externalTaskId}/points`: load (one BatchGetItem), decide
//! (pure, `award::decide`), commit (one TransactWriteItems), answer.

use crate::AppContext;
use crate::api::games::{game_not_found, load_tasks};
use crate::domain::award::{self, AwardKeys, AwardRequest, Loaded, UserRecord, UserTaskAggregate};
use crate::domain::custom;
use crate::domain::greencrowd;
use crate::domain::model::{self, Game, Task};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::idempotency::{self, Collision};
use crate::identity::auth::authenticate;
use crate::identity::rate_limit;
use crate::store::custom as custom_store;
use crate::store::{self, Item, StoreError};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// Decide-and-commit attempts when concurrent awards keep changing the state first.
const AWARD_ATTEMPTS: u32 = 10;
/// Wall-clock budget of one custom-strategy run (GAME's DSL_EXECUTION_TIMEOUT_MS).
const CUSTOM_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AwardBody {
    external_user_id: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    is_simulated: bool,
}

pub async fn award(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let raw: Value = json_body(&req)?;
    let body: AwardBody = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {e}."),
        )
    })?;
    model::validate_slug("externalUserId", &body.external_user_id)?;
    let data = match body.data {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::Object(map)) => Value::Object(map),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "data must be a JSON object.",
            ));
        }
    };
    let key = idempotency::key_from(&req, &data)?;
    let caller = authenticate(ctx, &req).await?;
    // Before any read: a rejected request costs one round trip (docs/security.md).
    rate_limit::charge(ctx, &caller, &http::source_ip(&req), &body.external_user_id).await?;
    let game_id = path_param(&req, "gameId")?;
    let external_task_id = path_param(&req, "externalTaskId")?;
    if uuid::Uuid::parse_str(&game_id).is_err() {
        return Err(game_not_found(&game_id));
    }
    let request = AwardRequest {
        external_user_id: body.external_user_id,
        data,
        is_simulated: body.is_simulated,
        idempotency_key: key,
        request_hash: idempotency::request_hash(&raw),
    };
    let presented_hash = game_scoring::greencrowd::presented_hash(&request.data).map(str::to_owned);
    let keys = AwardKeys::new(
        &caller.tenant,
        &game_id,
        &external_task_id,
        &request.external_user_id,
        request.idempotency_key.as_deref(),
        presented_hash.as_deref(),
    );
    let mut all_keys = keys.all();
    // The task's custom strategy family, when this warm Lambda has seen the task before: its
    // key rides in the same BatchGetItem.
    let hinted_family =
        custom_store::family_hint(&ctx.custom, &caller.tenant, &game_id, &external_task_id);
    all_keys.extend(hinted_family.clone());
    for attempt in 0..AWARD_ATTEMPTS {
        let mut found: HashMap<(String, String), Item> = all_keys
            .iter()
            .cloned()
            .zip(ctx.store.get_many(&all_keys).await?)
            .filter_map(|(key, item)| Some((key, item?)))
            .collect();
        let mut take = |key: &(String, String)| found.remove(key);
        let now_us = crate::clock::now_micros();
        if let Some(record) = idempotency::live_record(
            keys.idempotency.as_ref().and_then(&mut take).as_ref(),
            now_us,
        ) {
            return record.replay(&request.request_hash);
        }
        let game: Game =
            store::from_item(take(&keys.game).ok_or_else(|| game_not_found(&game_id))?)?;
        let task: Task = store::from_item(take(&keys.task).ok_or_else(|| {
            ApiError::not_found(
                "task_not_found",
                format!(
                    "Task not found with externalTaskId: {external_task_id} in gameId: {game_id}"
                ),
            )
        })?)?;
        let user_game = take(&keys.user_game);
        let user_game_last_us = user_game
            .as_ref()
            .and_then(|item| store::attrs::i64(item, "lastUs"))
            .unwrap_or(0);
        let mut custom_ref: Option<(String, u64)> = None;
        let custom_strategy = if custom::is_custom(&task.strategy_id) {
            let family_key = custom_store::family_key(&caller.tenant, &task.strategy_id)
                .ok_or_else(|| custom::unknown_custom(&task.strategy_id))?;
            let item = match take(&family_key) {
                Some(item) => Some(item),
                None if hinted_family.as_ref() == Some(&family_key) => None,
                None => {
                    ctx.store
                        .get(family_key.0.clone(), family_key.1.clone())
                        .await?
                }
            };
            let family = custom_store::family_from_item(
                item.ok_or_else(|| custom::unknown_custom(&task.strategy_id))?,
            )?;
            ctx.custom.remember_family(
                &caller.tenant,
                &game_id,
                &external_task_id,
                &family.family_id,
            );
            let program = custom::published_program(&ctx.custom, &family, &task.strategy_id)?;
            custom_ref = Some((
                family.family_id.clone(),
                family.published_version.unwrap_or_default(),
            ));
            Some(program)
        } else {
            None
        };
        // greencrowd (built in, or the parent of a custom DSL_EXTEND program) simulates every
        // greencrowd task of the game: the one decision that needs the game's task list.
        let needs_greencrowd = task.strategy_id == greencrowd::STRATEGY_ID
            || custom_strategy
                .as_ref()
                .is_some_and(|c| c.needs().contains(&game_scoring::Need::Greencrowd));
        let greencrowd = if needs_greencrowd {
            let tasks = load_tasks(ctx, &game).await?;
            Some(greencrowd::Loaded {
                game: take(&keys.greencrowd_game)
                    .as_ref()
                    .map(greencrowd::GameState::from_item)
                    .unwrap_or_default(),
                user: take(&keys.greencrowd_user)
                    .as_ref()
                    .map(greencrowd::UserState::from_item)
                    .unwrap_or_default(),
                tasks: greencrowd::task_list(tasks, &task.external_task_id),
                last_award: user_game.as_ref().and_then(award::last_award_from_item),
                simulation_used: keys.used_hash.as_ref().and_then(&mut take).is_some(),
            })
        } else {
            None
        };
        let loaded = Loaded {
            custom: custom_strategy,
            game,
            task,
            user: take(&keys.user).as_ref().and_then(UserRecord::from_item),
            user_task: take(&keys.user_task)
                .as_ref()
                .map(UserTaskAggregate::from_item)
                .unwrap_or_default(),
            task_series: take(&keys.task_series)
                .as_ref()
                .map(award::task_series_from_item)
                .unwrap_or_default(),
            user_game: user_game
                .as_ref()
                .map(award::user_game_from_item)
                .unwrap_or_default(),
            game_minutes: take(&keys.game_minutes)
                .as_ref()
                .map(award::minutes_from_item)
                .unwrap_or_default(),
            grid_cells: take(&keys.grid)
                .as_ref()
                .map(award::grid_from_item)
                .unwrap_or_default(),
            greencrowd,
        };
        // Decision time never goes behind what was already recorded: a Lambda whose clock lags
        // another's by a few ms still records in order instead of failing the series' check.
        let now_us = [
            now_us,
            loaded.task_series.last_us,
            loaded.user_task.series.series.last_us,
            user_game_last_us,
        ]
        .into_iter()
        .max()
        .unwrap_or(now_us);
        // A custom strategy's run gets 500 ms of wall clock (docs/strategies.md).
        let started = std::time::Instant::now();
        let deadline = move || started.elapsed() > CUSTOM_DEADLINE;
        let mut report = None;
        let decided = award::decide_with(
            &loaded,
            &request,
            now_us,
            &ctx.simulation_key,
            &deadline,
            &mut report,
        );
        if let (Some(report), Some((family_id, version))) = (&report, &custom_ref) {
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            custom_store::log_run(
                &ctx.store,
                &ctx.custom,
                &caller.tenant,
                family_id,
                *version,
                report,
                ms,
            )
            .await;
        }
        let decision = decided?;
        if request.is_simulated {
            // Scored and answered, nothing persisted (GAME persisted anyway: defect §9.3 item 3).
            return http::ok(&decision.response);
        }
        let (items, index) = award::plan(
            &ctx.store.table,
            &caller.tenant,
            &keys,
            &loaded,
            &request,
            &decision,
            ctx.config.idempotency_ttl.as_secs() as i64,
        )?;
        match ctx.store.transact_once(items).await {
            Ok(()) => {
                return Ok(idempotency::json_text(
                    StatusCode::OK,
                    decision.response.to_string(),
                ));
            }
            Err(StoreError::Cancelled { reasons }) => {
                match idempotency::collision(index.idempotency.and_then(|i| reasons.get(i))) {
                    Some(Collision::InFlight) => return Err(idempotency::in_flight()),
                    Some(Collision::Committed) => continue, // the next load replays the first answer
                    // Someone changed what we scored on (or holds it in a transaction): re-decide.
                    None => store::backoff(attempt).await,
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_award",
        "Too many concurrent awards for this user and task; retry the request with the same idempotency key.",
    )
    .with_header("retry-after", "1"))
}
