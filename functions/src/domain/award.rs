//! The award decision, pure: from what was loaded and the request, the outcome, the response
//! and every item the commit writes. The handler only loads, calls [`decide`] and commits.

use crate::decimal;
use crate::domain::model::{self, Game, Task};
use crate::error::{ApiError, ApiResult};
use crate::store::{self, Item, attrs, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use game_scoring::{Analytics, Grid, MinutesAgg, Need, Series, UserGame, UserTaskSeries};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

pub const DEFAULT_CONVERSION_RATE: i64 = 100;

/// The parsed award request.
#[derive(Debug, Clone)]
pub struct AwardRequest {
    pub external_user_id: String,
    pub data: Value,
    pub is_simulated: bool,
    pub idempotency_key: Option<String>,
    /// Hash of the canonical request body: a replay must carry the same one.
    pub request_hash: String,
}

/// A user with the wallet it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub external_user_id: String,
    pub created_at: String,
    pub points_balance: Decimal,
    pub coins_balance: Decimal,
    pub conversion_rate: i64,
}

impl UserRecord {
    pub fn from_item(item: &Item) -> Option<UserRecord> {
        Some(UserRecord {
            external_user_id: attrs::s(item, "externalUserId")?.to_owned(),
            created_at: attrs::s(item, "createdAt")?.to_owned(),
            points_balance: attrs::decimal(item, "pointsBalance").unwrap_or_default(),
            coins_balance: attrs::decimal(item, "coinsBalance").unwrap_or_default(),
            conversion_rate: attrs::i64(item, "conversionRate").unwrap_or(DEFAULT_CONVERSION_RATE),
        })
    }
}

/// A user's aggregate on one (game, task): the series constantEffort and default read, the
/// award count and points total the read models serve. Versioned: each award checks it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserTaskAggregate {
    pub series: UserTaskSeries,
    pub points_total: Decimal,
    pub version: u64,
}

impl UserTaskAggregate {
    pub fn from_item(item: &Item) -> UserTaskAggregate {
        UserTaskAggregate {
            series: UserTaskSeries {
                series: Series {
                    count: attrs::u64(item, "count").unwrap_or(0),
                    first_us: attrs::i64(item, "firstUs").unwrap_or(0),
                    last_us: attrs::i64(item, "lastUs").unwrap_or(0),
                },
                prev_us: attrs::i64(item, "prevUs").unwrap_or(0),
                recent_us: attrs::i64_list(item, "recentUs"),
            },
            points_total: attrs::decimal(item, "pointsTotal").unwrap_or_default(),
            version: attrs::u64(item, "version").unwrap_or(0),
        }
    }
}

/// Everything the decision reads, from one BatchGetItem.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub game: Game,
    pub task: Task,
    pub user: Option<UserRecord>,
    pub user_task: UserTaskAggregate,
    pub task_series: Series,
    pub user_game: UserGame,
    pub game_minutes: MinutesAgg,
    pub grid_cells: Vec<(usize, usize, f64)>,
    /// greencrowd's state; loaded only when the task's strategy is greencrowd.
    pub greencrowd: Option<crate::domain::greencrowd::Loaded>,
    /// The published program of the task's custom strategy (`custom:<family>`), if it has one.
    pub custom: Option<std::sync::Arc<game_scoring::dsl::CustomStrategy>>,
}

/// The keys of every item an award reads (the superset of all strategies' needs: the task's
/// strategy is only known once the task is read, and absent items cost nothing).
pub struct AwardKeys {
    pub game: (String, String),
    pub task: (String, String),
    pub user: (String, String),
    pub user_task: (String, String),
    pub task_series: (String, String),
    pub user_game: (String, String),
    pub game_minutes: (String, String),
    pub grid: (String, String),
    pub greencrowd_game: (String, String),
    pub greencrowd_user: (String, String),
    /// Where a presented greencrowd simulation hash is marked used, when one is presented.
    pub used_hash: Option<(String, String)>,
    pub idempotency: Option<(String, String)>,
}

impl AwardKeys {
    pub fn new(
        tenant: &str,
        game_id: &str,
        external_task_id: &str,
        external_user_id: &str,
        idempotency_key: Option<&str>,
        presented_hash: Option<&str>,
    ) -> Self {
        let task_pk = keys::task_awards_pk(tenant, game_id, external_task_id);
        let user_pk = keys::user_pk(tenant, external_user_id);
        AwardKeys {
            game: (keys::game_pk(tenant, game_id), keys::GAME_SK.to_owned()),
            task: (
                keys::game_pk(tenant, game_id),
                keys::task_sk(external_task_id),
            ),
            user: (user_pk.clone(), keys::USER_SK.to_owned()),
            user_task: (task_pk.clone(), keys::user_task_sk(external_user_id)),
            task_series: (task_pk, keys::TASK_SERIES_SK.to_owned()),
            user_game: (user_pk, keys::user_game_sk(game_id)),
            game_minutes: (
                keys::game_minutes_pk(tenant, game_id),
                keys::GAME_MINUTES_SK.to_owned(),
            ),
            grid: (keys::grid_pk(tenant, game_id), keys::GRID_SK.to_owned()),
            greencrowd_game: crate::domain::greencrowd::game_key(tenant, game_id),
            greencrowd_user: crate::domain::greencrowd::user_key(tenant, external_user_id, game_id),
            used_hash: presented_hash.map(|hash| {
                crate::domain::greencrowd::used_hash_key(tenant, game_id, external_task_id, hash)
            }),
            idempotency: idempotency_key.map(|key| {
                crate::idempotency::record_key(
                    tenant,
                    &format!("AWARD#{game_id}#{external_task_id}#{external_user_id}"),
                    key,
                )
            }),
        }
    }

    pub fn all(&self) -> Vec<(String, String)> {
        let mut all = vec![
            self.game.clone(),
            self.task.clone(),
            self.user.clone(),
            self.user_task.clone(),
            self.task_series.clone(),
            self.user_game.clone(),
            self.game_minutes.clone(),
            self.grid.clone(),
            self.greencrowd_game.clone(),
            self.greencrowd_user.clone(),
        ];
        all.extend(self.used_hash.clone());
        all.extend(self.idempotency.clone());
        all
    }
}

pub fn task_series_from_item(item: &Item) -> Series {
    Series {
        count: attrs::u64(item, "count").unwrap_or(0),
        first_us: attrs::i64(item, "firstUs").unwrap_or(0),
        last_us: attrs::i64(item, "lastUs").unwrap_or(0),
    }
}

pub fn user_game_from_item(item: &Item) -> UserGame {
    UserGame {
        count: attrs::u64(item, "count").unwrap_or(0),
        minutes: MinutesAgg {
            sum: attrs::f64(item, "minutesSum").unwrap_or(0.0),
            count: attrs::u64(item, "minutesCount").unwrap_or(0),
        },
    }
}

/// The user's latest award in the game, any task (kept on the user's game aggregate).
pub fn last_award_from_item(item: &Item) -> Option<game_scoring::greencrowd::LastAward> {
    Some(game_scoring::greencrowd::LastAward {
        external_task_id: attrs::s(item, "lastTaskId")?.to_owned(),
        at_us: attrs::i64(item, "lastUs")?,
    })
}

pub fn minutes_from_item(item: &Item) -> MinutesAgg {
    MinutesAgg {
        sum: attrs::f64(item, "minutesSum").unwrap_or(0.0),
        count: attrs::u64(item, "minutesCount").unwrap_or(0),
    }
}

/// Grid cells are attributes named `c_<row>_<col>` holding award counts.
pub fn grid_from_item(item: &Item) -> Vec<(usize, usize, f64)> {
    item.iter()
        .filter_map(|(name, value)| {
            let (row, col) = name.strip_prefix("c_")?.split_once('_')?;
            Some((
                row.parse().ok()?,
                col.parse().ok()?,
                value.as_n().ok()?.parse().ok()?,
            ))
        })
        .collect()
}

fn grid_attribute(cell: (usize, usize)) -> String {
    format!("c_{}_{}", cell.0, cell.1)
}

/// The decision: what to answer and what to write.
#[derive(Debug, Clone)]
pub struct Decision {
    pub points: Decimal,
    pub case_name: String,
    pub created_user: bool,
    pub award_id: String,
    pub created_at: String,
    pub now_us: i64,
    /// The request data as stored (with `callbackData` when the strategy returned some).
    pub data: Value,
    pub user_task: UserTaskAggregate,
    pub minutes: Option<f64>,
    pub cell: Option<(usize, usize)>,
    /// greencrowd's aggregates after this award.
    pub greencrowd: Option<(
        crate::domain::greencrowd::GameState,
        crate::domain::greencrowd::UserState,
    )>,
    pub response: Value,
}

fn strategy_error(error: game_scoring::StrategyError) -> ApiError {
    if error.is_client_error() {
        ApiError::unprocessable("strategy_rejected", error.to_string())
    } else if let game_scoring::StrategyError::UnknownStrategy(_) = error {
        ApiError::unprocessable("unknown_strategy", error.to_string())
    } else {
        ApiError::internal(error)
    }
}

fn rng_seed(game_id: &str, user: &str, key: &str) -> u64 {
    let digest = Sha256::digest(format!("{game_id}\u{0}{user}\u{0}{key}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// Scores the award on the loaded state and prepares everything the commit writes.
pub fn decide(
    loaded: &Loaded,
    request: &AwardRequest,
    now_us: i64,
    simulation_key: &[u8],
) -> ApiResult<Decision> {
    decide_with(
        loaded,
        request,
        now_us,
        simulation_key,
        &|| false,
        &mut None,
    )
}

/// The points, case name and callback data of one scoring.
struct Scored {
    points: Decimal,
    case_name: String,
    callback_data: Option<Value>,
}

/// A custom strategy's run as an award: DSL errors are problem+json with their code and node
/// id; a program that matches nothing (no case) is 422, never 500.
fn run_custom(
    strategy: &game_scoring::dsl::CustomStrategy,
    input: &game_scoring::ScoreInput<'_>,
    deadline: &dyn Fn() -> bool,
    report: &mut Option<crate::domain::custom::RunReport>,
) -> ApiResult<Scored> {
    use crate::domain::custom::{RunReport, dsl_error};
    let out = match strategy.run(
        &game_scoring::dsl::DslInput {
            score: *input,
            mock_state: None,
        },
        deadline,
    ) {
        Ok(out) => out,
        Err(failure) => {
            *report = Some(RunReport::failed(
                failure.error.status().as_str(),
                failure.error.code.as_str(),
                failure.nodes,
                &failure.trace,
            ));
            return Err(dsl_error(&failure.error));
        }
    };
    let fail = |report: &mut Option<RunReport>, error: ApiError| {
        *report = Some(RunReport::failed(
            "error", error.code, out.nodes, &out.trace,
        ));
        error
    };
    let Some(case_name) = out.case_name.clone() else {
        return Err(fail(
            report,
            ApiError::unprocessable(
                "custom_strategy_no_match",
                "The custom strategy matched no rule and has no default, so it awards nothing; add a default to the program.",
            ),
        ));
    };
    let points = match out.points() {
        Ok(points) => points,
        Err(e) => return Err(fail(report, dsl_error(&e))),
    };
    let Some(points) = decimal::from_points(points) else {
        return Err(fail(
            report,
            ApiError::unprocessable(
                "strategy_rejected",
                "The strategy computed points out of range.",
            ),
        ));
    };
    *report = Some(RunReport::ok(points, &case_name, out.nodes, &out.trace));
    Ok(Scored {
        points,
        case_name,
        callback_data: out.callback_data_opt().cloned(),
    })
}

/// [`decide`] with the wall-clock check a custom strategy's run consults (the handler passes
/// an `Instant`-based one; this module reads no clock).
pub fn decide_with(
    loaded: &Loaded,
    request: &AwardRequest,
    now_us: i64,
    simulation_key: &[u8],
    deadline: &dyn Fn() -> bool,
    report: &mut Option<crate::domain::custom::RunReport>,
) -> ApiResult<Decision> {
    let task = &loaded.task;
    let custom = loaded.custom.as_deref();
    let (variables, needs): (game_scoring::Variables, Vec<Need>) = match custom {
        Some(strategy) => {
            // DSL_EXTEND: the parent's variables (defaults < game < task params); DSL_FULL
            // reads none.
            let parent = strategy
                .kind()
                .parent()
                .map_or(model::DEFAULT_STRATEGY, |p| p.id());
            let info = model::known_strategy(parent)?;
            let variables = if strategy.kind().parent().is_some() {
                model::effective_variables(info, &loaded.game.params, &task.params)?
            } else {
                info.default_variables()
            };
            (variables, strategy.needs())
        }
        None => {
            let info = model::known_strategy(&task.strategy_id)?;
            (
                model::effective_variables(info, &loaded.game.params, &task.params)?,
                game_scoring::strategy_needs(&task.strategy_id)
                    .unwrap_or(&[])
                    .to_vec(),
            )
        }
    };
    let needs = needs.as_slice();
    let task_params: Vec<(&str, &Value)> = task
        .params
        .iter()
        .map(|p| (p.key.as_str(), &p.value))
        .collect();
    let cell = game_scoring::gi_star::task_cell(&task_params);
    let mut analytics = Analytics::default();
    for need in needs {
        match need {
            Need::TaskSeries => analytics.task = Some(loaded.task_series),
            Need::UserTaskSeries => analytics.user_task = Some(loaded.user_task.series.clone()),
            Need::UserGame => analytics.user_game = Some(loaded.user_game),
            Need::GameMinutes => analytics.game_minutes = Some(loaded.game_minutes),
            Need::CellGrid => {
                analytics.grid =
                    Grid::from_cells(loaded.grid_cells.iter().copied(), cell.unwrap_or((0, 0)));
            }
            Need::Greencrowd => {
                let state = loaded
                    .greencrowd
                    .as_ref()
                    .ok_or_else(|| ApiError::internal("greencrowd state was not loaded"))?;
                analytics.greencrowd = Some(state.snapshot());
            }
        }
    }
    let award_id = crate::ids::new_id();
    let seed_key = request.idempotency_key.as_deref().unwrap_or(&award_id);
    let input = game_scoring::ScoreInput {
        game_id: &loaded.game.external_game_id,
        task_id: &task.external_task_id,
        user_id: &request.external_user_id,
        data: &request.data,
        now_us,
        variables: &variables,
        task_params: &task_params,
        analytics: &analytics,
        simulation_key,
        rng_seed: rng_seed(&loaded.game.game_id, &request.external_user_id, seed_key),
    };
    let outcome = match custom {
        Some(strategy) => run_custom(strategy, &input, deadline, report)?,
        None => {
            let outcome = game_scoring::score(&task.strategy_id, &input).map_err(strategy_error)?;
            Scored {
                points: decimal::from_points(outcome.points).ok_or_else(|| {
                    ApiError::unprocessable(
                        "strategy_rejected",
                        "The strategy computed points out of range.",
                    )
                })?,
                case_name: outcome.case_name.to_owned(),
                callback_data: outcome.callback_data,
            }
        }
    };
    let points = outcome.points;

    let mut data = match &request.data {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    if let Some(callback) = &outcome.callback_data {
        data["callbackData"] = callback.clone();
    }
    let greencrowd = loaded
        .greencrowd
        .as_ref()
        .filter(|_| needs.contains(&Need::Greencrowd))
        .map(|state| {
            crate::domain::greencrowd::next_states(
                state,
                Some((&task.external_task_id, now_us, &data)),
            )
        });
    let mut user_task = loaded.user_task.clone();
    user_task.series.record(now_us);
    user_task.points_total += points;
    let created_at = crate::clock::micros_to_rfc3339(now_us);
    let created_user = loaded.user.is_none();
    let mut response = json!({
        "points": decimal::to_json(points),
        "caseName": outcome.case_name,
        "isACreatedUser": created_user,
        "gameId": loaded.game.game_id,
        "externalTaskId": task.external_task_id,
        "created_at": created_at,
        "awardId": award_id,
    });
    if request.is_simulated {
        response["isSimulated"] = json!(true);
    }
    Ok(Decision {
        points,
        case_name: outcome.case_name,
        created_user,
        award_id,
        created_at,
        now_us,
        data,
        user_task,
        minutes: game_scoring::analytics::minutes_of(&request.data),
        cell,
        greencrowd,
        response,
    })
}

/// Which transaction item means what, to read a cancellation.
#[derive(Debug, Clone, Copy)]
pub struct PlanIndex {
    pub idempotency: Option<usize>,
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> ApiResult<T> {
    result.map_err(ApiError::internal)
}

fn put(
    table: &str,
    item: Item,
    condition: &str,
    values: HashMap<String, AttributeValue>,
) -> ApiResult<TransactWriteItem> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn update(
    table: &str,
    key: &(String, String),
    expression: &str,
    condition: Option<&str>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
) -> ApiResult<TransactWriteItem> {
    let update = build(
        Update::builder()
            .table_name(table)
            .set_key(Some(store::key(key.0.clone(), key.1.clone())))
            .update_expression(expression)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names((!names.is_empty()).then_some(names))
            .set_expression_attribute_values(Some(values))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().update(update).build())
}

fn json_attribute(value: &Value) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).unwrap_or(AttributeValue::Null(true))
}

/// Every write of one award, for one TransactWriteItems: all of it happens or none of it.
pub fn plan(
    table: &str,
    tenant: &str,
    keys: &AwardKeys,
    loaded: &Loaded,
    request: &AwardRequest,
    decision: &Decision,
    idempotency_ttl_secs: i64,
) -> ApiResult<(Vec<TransactWriteItem>, PlanIndex)> {
    let game = &loaded.game;
    let task = &loaded.task;
    let user = &request.external_user_id;
    let now = store::n(decision.now_us);
    let points = decimal::attribute(decision.points);
    let mut items = Vec::new();
    let mut index = PlanIndex { idempotency: None };

    if let (Some(key), Some(record_key)) = (&request.idempotency_key, &keys.idempotency) {
        index.idempotency = Some(items.len());
        items.push(crate::idempotency::put_record(
            table,
            record_key,
            key,
            &request.request_hash,
            &decision.response.to_string(),
            decision.now_us,
            idempotency_ttl_secs,
        )?);
    }

    // The award itself: immutable.
    let mut award = store::key(
        keys.user_task.0.clone(),
        keys::award_sk(user, &decision.award_id),
    );
    for (name, value) in [
        ("entity", store::s("award")),
        ("awardId", store::s(decision.award_id.clone())),
        ("gameId", store::s(game.game_id.clone())),
        ("externalGameId", store::s(game.external_game_id.clone())),
        ("externalTaskId", store::s(task.external_task_id.clone())),
        ("externalUserId", store::s(user.clone())),
        ("points", points.clone()),
        ("caseName", store::s(decision.case_name.clone())),
        ("data", json_attribute(&decision.data)),
        ("description", store::s("Points assigned by GAME")),
        ("strategyId", store::s(task.strategy_id.clone())),
        ("createdAt", store::s(decision.created_at.clone())),
        ("createdUs", now.clone()),
    ] {
        award.insert(name.into(), value);
    }
    if let Some(key) = &request.idempotency_key {
        award.insert("idempotencyKey".into(), store::s(key.clone()));
    }
    items.push(put(
        table,
        award,
        "attribute_not_exists(PK)",
        HashMap::new(),
    )?);

    // The user's aggregate on this task, checked against the version the decision read.
    let aggregate = &decision.user_task;
    let mut user_task = store::key(keys.user_task.0.clone(), keys.user_task.1.clone());
    for (name, value) in [
        ("entity", store::s("userTask")),
        (
            store::GSI1PK,
            store::s(keys::user_aggregates_index_pk(tenant, user)),
        ),
        (
            store::GSI1SK,
            store::s(format!("{}#{}", game.game_id, task.external_task_id)),
        ),
        ("gameId", store::s(game.game_id.clone())),
        ("externalGameId", store::s(game.external_game_id.clone())),
        ("externalTaskId", store::s(task.external_task_id.clone())),
        ("externalUserId", store::s(user.clone())),
        ("count", store::n(aggregate.series.series.count)),
        ("firstUs", store::n(aggregate.series.series.first_us)),
        ("lastUs", store::n(aggregate.series.series.last_us)),
        ("prevUs", store::n(aggregate.series.prev_us)),
        (
            "recentUs",
            AttributeValue::L(aggregate.series.recent_us.iter().map(store::n).collect()),
        ),
        ("pointsTotal", decimal::attribute(aggregate.points_total)),
        ("version", store::n(loaded.user_task.version + 1)),
    ] {
        user_task.insert(name.into(), value);
    }
    let (condition, values) = if loaded.user_task.version == 0 {
        ("attribute_not_exists(PK)", HashMap::new())
    } else {
        (
            "version = :v",
            HashMap::from([(":v".to_owned(), store::n(loaded.user_task.version))]),
        )
    };
    items.push(put(table, user_task, condition, values)?);

    // The task's series over all users: ADD keeps concurrent awards exact; `lastUs` may only
    // move forward (a decision older than the last award re-decides with a fresh clock).
    items.push(update(
        table,
        &keys.task_series,
        "ADD #count :one SET #first = if_not_exists(#first, :now), #last = :now, entity = :entity",
        Some("attribute_not_exists(#last) OR #last <= :now"),
        HashMap::from([
            ("#count".into(), "count".into()),
            ("#first".into(), "firstUs".into()),
            ("#last".into(), "lastUs".into()),
        ]),
        HashMap::from([
            (":one".into(), store::n(1)),
            (":now".into(), now.clone()),
            (":entity".into(), store::s("taskSeries")),
        ]),
    )?);

    // The user's awards in this game (and their minutes, for greengage).
    let mut expression = "ADD #count :one".to_owned();
    let mut values = HashMap::from([(":one".to_owned(), store::n(1))]);
    if let Some(minutes) = decision.minutes {
        expression.push_str(", minutesSum :m, minutesCount :one");
        values.insert(":m".into(), store::n(minutes));
    }
    // The latest award only moves forward, as for the task series.
    expression.push_str(" SET entity = :entity, gameId = :game, lastTaskId = :task, lastUs = :now");
    values.insert(":entity".into(), store::s("userGame"));
    values.insert(":game".into(), store::s(game.game_id.clone()));
    values.insert(":task".into(), store::s(task.external_task_id.clone()));
    values.insert(":now".into(), now.clone());
    items.push(update(
        table,
        &keys.user_game,
        &expression,
        Some("attribute_not_exists(lastUs) OR lastUs <= :now"),
        HashMap::from([("#count".into(), "count".into())]),
        values,
    )?);
    if let (Some(next), Some(state)) = (&decision.greencrowd, &loaded.greencrowd) {
        items.extend(crate::domain::greencrowd::plan(
            table,
            tenant,
            &game.game_id,
            user,
            state,
            next,
        )?);
        if let Some(used) = &keys.used_hash {
            let mut marker = store::key(used.0.clone(), used.1.clone());
            marker.insert("entity".into(), store::s("usedSimulation"));
            marker.insert("awardId".into(), store::s(decision.award_id.clone()));
            // Unconditional: a hash presented again is simply still used.
            let put = build(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(marker))
                    .build(),
            )?;
            items.push(TransactWriteItem::builder().put(put).build());
        }
    }

    if let Some(minutes) = decision.minutes {
        items.push(update(
            table,
            &keys.game_minutes,
            "ADD minutesSum :m, minutesCount :one SET entity = :entity",
            None,
            HashMap::new(),
            HashMap::from([
                (":m".into(), store::n(minutes)),
                (":one".into(), store::n(1)),
                (":entity".into(), store::s("gameMinutes")),
            ]),
        )?);
    }
    if let Some(cell) = decision.cell {
        items.push(update(
            table,
            &keys.grid,
            "ADD #cell :one SET entity = :entity",
            None,
            HashMap::from([("#cell".into(), grid_attribute(cell))]),
            HashMap::from([
                (":one".into(), store::n(1)),
                (":entity".into(), store::s("grid")),
            ]),
        )?);
    }

    // The user and its wallet: created by the first award, credited by every award. The
    // condition matches what was read, so a concurrent first award re-decides `isACreatedUser`.
    if decision.created_user {
        let mut item = store::key(keys.user.0.clone(), keys.user.1.clone());
        for (name, value) in [
            ("entity", store::s("user")),
            ("externalUserId", store::s(user.clone())),
            ("createdAt", store::s(decision.created_at.clone())),
            ("pointsBalance", points.clone()),
            ("coinsBalance", store::n(0)),
            ("conversionRate", store::n(DEFAULT_CONVERSION_RATE)),
        ] {
            item.insert(name.into(), value);
        }
        items.push(put(
            table,
            item,
            "attribute_not_exists(PK)",
            HashMap::new(),
        )?);
    } else {
        items.push(update(
            table,
            &keys.user,
            "ADD pointsBalance :p",
            Some("attribute_exists(PK)"),
            HashMap::new(),
            HashMap::from([(":p".into(), points.clone())]),
        )?);
    }

    // The ledger entry.
    let ledger_id = crate::ids::new_id();
    let mut ledger = store::key(keys.user.0.clone(), keys::ledger_sk(&ledger_id));
    for (name, value) in [
        ("entity", store::s("ledger")),
        ("id", store::s(ledger_id.clone())),
        ("transactionType", store::s("AssignPoints")),
        ("points", points),
        ("coins", store::n(0)),
        ("appliedConversionRate", store::n(0)),
        ("awardId", store::s(decision.award_id.clone())),
        ("gameId", store::s(game.game_id.clone())),
        ("externalTaskId", store::s(task.external_task_id.clone())),
        ("data", json_attribute(&decision.data)),
        ("createdAt", store::s(decision.created_at.clone())),
    ] {
        ledger.insert(name.into(), value);
    }
    items.push(put(
        table,
        ledger,
        "attribute_not_exists(PK)",
        HashMap::new(),
    )?);
    Ok((items, index))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Param;

    fn loaded(strategy: &str, params: Vec<Param>) -> Loaded {
        let game = Game {
            tenant: "t".into(),
            game_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            external_game_id: "g".into(),
            platform: "web".into(),
            strategy_id: strategy.into(),
            params: vec![],
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let task = Task {
            tenant: "t".into(),
            game_id: game.game_id.clone(),
            task_id: "x".into(),
            external_task_id: "walk".into(),
            strategy_id: strategy.into(),
            status: "open".into(),
            params,
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
        };
        Loaded {
            game,
            task,
            user: None,
            user_task: UserTaskAggregate::default(),
            task_series: Series::default(),
            user_game: UserGame::default(),
            game_minutes: MinutesAgg::default(),
            grid_cells: vec![],
            greencrowd: None,
            custom: None,
        }
    }

    fn with_custom(ast: Value) -> Loaded {
        let mut loaded = loaded("custom:00000000-0000-7000-8000-000000000000", vec![]);
        loaded.custom = Some(std::sync::Arc::new(
            game_scoring::dsl::CustomStrategy::new(&ast, game_scoring::dsl::DslKind::Full).unwrap(),
        ));
        loaded
    }

    #[test]
    fn custom_runs_report_and_past_deadline_is_dsl_timeout() {
        // 40 rules that never match: 160 nodes, so the deadline is consulted.
        let rule = json!({"type": "rule", "when": {"type": "compare", "op": "==",
            "left": {"type": "literal", "value": 1}, "right": {"type": "literal", "value": 2}},
            "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1},
                      "case_name": "Never"}]});
        let ast = json!({"type": "program", "rules": vec![rule; 40],
            "default": {"type": "assign_points", "value": {"type": "literal", "value": 4},
                        "case_name": "Fallback"}});
        let loaded = with_custom(ast);
        let mut report = None;
        let decision = decide_with(
            &loaded,
            &request(json!({})),
            1,
            b"k",
            &|| false,
            &mut report,
        )
        .unwrap();
        assert_eq!(decision.points, Decimal::from(4));
        assert_eq!(decision.case_name, "Fallback");
        let report = report.unwrap();
        assert_eq!(report.status, "ok");
        assert!(report.nodes > 64);

        let mut report = None;
        let error =
            decide_with(&loaded, &request(json!({})), 1, b"k", &|| true, &mut report).unwrap_err();
        assert_eq!(error.code, "DSL_TIMEOUT");
        assert_eq!(error.status.as_u16(), 422);
        assert_eq!(report.unwrap().status, "timeout");
    }

    #[test]
    fn custom_no_match_is_422_and_reported() {
        let loaded = with_custom(json!({"type": "program", "rules": []}));
        let mut report = None;
        let error = decide_with(
            &loaded,
            &request(json!({})),
            1,
            b"k",
            &|| false,
            &mut report,
        )
        .unwrap_err();
        assert_eq!(error.code, "custom_strategy_no_match");
        assert_eq!(error.status.as_u16(), 422);
        let report = report.unwrap();
        assert_eq!(report.status, "error");
        assert_eq!(
            report.error_code.as_deref(),
            Some("custom_strategy_no_match")
        );
    }

    fn request(data: Value) -> AwardRequest {
        AwardRequest {
            external_user_id: "ana".into(),
            request_hash: crate::idempotency::request_hash(&data),
            data,
            is_simulated: false,
            idempotency_key: Some("k1".into()),
        }
    }

    #[test]
    fn first_award_scores_basic_engagement_and_records_the_series() {
        let state = loaded("default", vec![]);
        let decision = decide(&state, &request(json!({})), 5_000_000, b"").unwrap();
        assert_eq!(decision.points, Decimal::ONE);
        assert_eq!(decision.case_name, "BasicEngagement");
        assert!(decision.created_user);
        assert_eq!(decision.user_task.series.series.count, 1);
        assert_eq!(decision.user_task.points_total, Decimal::ONE);
        assert_eq!(decision.response["points"], 1);
        assert_eq!(decision.response["isACreatedUser"], true);
    }

    #[test]
    fn fractional_points_stay_exact() {
        let mut state = loaded("greengageStrategy", vec![]);
        state.user_game.count = 2;
        state.game_minutes = MinutesAgg {
            sum: 20.0,
            count: 1,
        };
        state.user_game.minutes = MinutesAgg {
            sum: 15.0,
            count: 1,
        };
        let decision = decide(&state, &request(json!({"minutes": 16})), 1, b"").unwrap();
        assert_eq!(decision.points.to_string(), "187.5");
        assert_eq!(decision.response["points"], 187.5);
        assert_eq!(decision.minutes, Some(16.0));
    }

    #[test]
    fn strategy_errors_are_422_with_games_message() {
        let state = loaded("greengageStrategy", vec![]);
        let error = decide(&state, &request(json!({})), 1, b"").unwrap_err();
        assert_eq!(error.status.as_u16(), 422);
        assert_eq!(error.code, "strategy_rejected");
        assert_eq!(
            error.detail,
            "The \"minutes\" field is required into the data"
        );
    }

    #[test]
    fn the_plan_writes_everything_once_and_checks_the_read_version() {
        let mut state = loaded(
            "getis_ord_gi_star",
            vec![
                Param {
                    id: "1".into(),
                    key: "cellRow".into(),
                    value: json!(0),
                },
                Param {
                    id: "2".into(),
                    key: "cellCol".into(),
                    value: json!(1),
                },
            ],
        );
        state.user_task.version = 3;
        state.user = Some(UserRecord {
            external_user_id: "ana".into(),
            created_at: String::new(),
            points_balance: Decimal::TEN,
            coins_balance: Decimal::ZERO,
            conversion_rate: 100,
        });
        let req = request(json!({"minutes": 4}));
        let decision = decide(&state, &req, 7_000_000, b"").unwrap();
        assert_eq!(decision.cell, Some((0, 1)));
        let keys = AwardKeys::new("t", &state.game.game_id, "walk", "ana", Some("k1"), None);
        let (items, index) = plan("table", "t", &keys, &state, &req, &decision, 86_400).unwrap();
        // idempotency, award, user-task, task series, user-game, game minutes, grid, user, ledger
        assert_eq!(items.len(), 9);
        assert_eq!(index.idempotency, Some(0));
        let user_task = items[2].put().unwrap();
        assert_eq!(user_task.condition_expression(), Some("version = :v"));
        assert_eq!(user_task.item()["version"], store::n(4));
        let grid = items[6].update().unwrap();
        assert_eq!(grid.expression_attribute_names().unwrap()["#cell"], "c_0_1");
        let wallet = items[7].update().unwrap();
        assert_eq!(wallet.condition_expression(), Some("attribute_exists(PK)"));
    }
}
