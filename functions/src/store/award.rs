//! The award's items: the keys it reads, the records behind them, its one load (shared by the
//! award, the simulator and greencrowd's projection) and the transaction a decided award commits.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, IdempotencyKey, TaskId, TenantId};
use crate::store::games::{self, Game, Task};
use crate::store::greencrowd;
use crate::store::idempotency::{self, Record};
use crate::store::users::{LedgerEntry, UserRecord};
use crate::store::{self, Item, Store, attrs, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use game_scoring::dsl::CustomStrategy;
use game_scoring::{MinutesAgg, Series, UserGame, UserTaskSeries};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

type Key = (String, String);

/// The keys of every item an award reads (the superset of all strategies' needs: the task's
/// strategy is only known once the task is read, and absent items cost nothing).
pub struct AwardKeys {
    pub tenant: TenantId,
    pub game_id: GameId,
    pub external_task_id: TaskId,
    pub external_user_id: ExternalId,
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
        tenant: &TenantId,
        game_id: &GameId,
        external_task_id: &TaskId,
        external_user_id: &ExternalId,
        idempotency_key: Option<&str>,
        presented_hash: Option<&str>,
    ) -> Self {
        let task_pk = keys::task_awards_pk(tenant, game_id, external_task_id);
        let user_pk = keys::user_pk(tenant, external_user_id);
        AwardKeys {
            tenant: tenant.to_owned(),
            game_id: game_id.to_owned(),
            external_task_id: external_task_id.to_owned(),
            external_user_id: external_user_id.to_owned(),
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
            greencrowd_game: greencrowd::game_key(tenant, game_id),
            greencrowd_user: greencrowd::user_key(tenant, external_user_id, game_id),
            used_hash: presented_hash
                .map(|hash| greencrowd::used_hash_key(tenant, game_id, external_task_id, hash)),
            idempotency: idempotency_key.map(|key| {
                crate::store::idempotency::record_key(
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

/// The aggregates strategies read (docs/strategies.md, "What strategies read").
#[derive(Debug, Clone, Default)]
pub struct Aggregates {
    pub user_task: UserTaskAggregate,
    pub task_series: Series,
    pub user_game: UserGame,
    pub game_minutes: MinutesAgg,
    pub grid_cells: Vec<(usize, usize, f64)>,
    /// greencrowd's state; loaded only when the task's strategy is greencrowd or extends it.
    pub greencrowd: Option<greencrowd::Loaded>,
    /// When the user's latest award in the game was recorded (0: none).
    pub user_game_last_us: i64,
}

/// A task's custom strategy as resolved at load time: the family's published program.
#[derive(Debug, Clone)]
pub struct CustomProgram {
    pub strategy: Arc<CustomStrategy>,
    pub family_id: String,
    pub version: u64,
}

/// Everything an award decision reads. `game`/`task` are absent when they do not exist (the
/// award answers 404; a simulation scores on defaults).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub game: Option<Game>,
    pub task: Option<Task>,
    pub user: Option<UserRecord>,
    pub aggregates: Aggregates,
    pub custom: Option<CustomProgram>,
    /// The live idempotency record of the request's key, when one was committed.
    pub replay: Option<Record>,
}

/// Loaded items by key; each is taken once.
struct Found(HashMap<Key, Item>);

impl Found {
    async fn read(store: &Store, wanted: &[Key]) -> ApiResult<Found> {
        Ok(Found(
            wanted
                .iter()
                .cloned()
                .zip(store.get_many(wanted).await?)
                .filter_map(|(key, item)| Some((key, item?)))
                .collect(),
        ))
    }

    fn take(&mut self, key: &Key) -> Option<Item> {
        self.0.remove(key)
    }
}

/// How the load resolves a custom strategy's family (the warm caches live in the context).
pub trait CustomResolver: Sync {
    /// The family key this warm Lambda saw for the task last time, to ride in the batch.
    fn hint(&self, tenant: &TenantId, game_id: &GameId, external_task_id: &TaskId) -> Option<Key>;
    /// The family key a `custom:` strategy id names.
    fn family_key(&self, tenant: &TenantId, strategy_id: &str) -> ApiResult<Key>;
    /// The published program of a family item, remembered for the task.
    fn program(
        &self,
        tenant: &TenantId,
        task: &Task,
        family: Option<Item>,
    ) -> ApiResult<CustomProgram>;
    fn is_custom(&self, strategy_id: &str) -> bool;
    /// Whether greencrowd's state is needed whatever the task runs (a simulated program
    /// extending greencrowd).
    fn needs_greencrowd(&self) -> bool {
        false
    }
}

/// The award's one load: one BatchGetItem for everything (the family of a custom strategy
/// rides along when this Lambda saw the task before), plus a GetItem for a family not hinted
/// and the game's task list when greencrowd is involved.
pub async fn load(
    store: &Store,
    keys: &AwardKeys,
    custom: &dyn CustomResolver,
    now_us: i64,
) -> ApiResult<Loaded> {
    let mut wanted = keys.all();
    let tenant = &keys.tenant;
    let hinted = custom.hint(tenant, &keys.game_id, &keys.external_task_id);
    wanted.extend(hinted.clone());
    let mut found = Found::read(store, &wanted).await?;
    let replay = idempotency::live_record(
        keys.idempotency
            .as_ref()
            .and_then(|k| found.take(k))
            .as_ref(),
        now_us,
    );
    let mut loaded = Loaded {
        replay,
        game: found.take(&keys.game).map(store::from_item).transpose()?,
        task: found.take(&keys.task).map(store::from_item).transpose()?,
        user: found
            .take(&keys.user)
            .as_ref()
            .and_then(UserRecord::from_item),
        ..Loaded::default()
    };
    if loaded.replay.is_some() {
        return Ok(loaded);
    }
    let user_game = found.take(&keys.user_game);
    loaded.aggregates = Aggregates {
        user_task: found
            .take(&keys.user_task)
            .as_ref()
            .map(UserTaskAggregate::from_item)
            .unwrap_or_default(),
        task_series: found
            .take(&keys.task_series)
            .as_ref()
            .map(task_series_from_item)
            .unwrap_or_default(),
        user_game: user_game
            .as_ref()
            .map(user_game_from_item)
            .unwrap_or_default(),
        game_minutes: found
            .take(&keys.game_minutes)
            .as_ref()
            .map(minutes_from_item)
            .unwrap_or_default(),
        grid_cells: found
            .take(&keys.grid)
            .as_ref()
            .map(grid_from_item)
            .unwrap_or_default(),
        greencrowd: None,
        user_game_last_us: user_game
            .as_ref()
            .and_then(|item| attrs::i64(item, "lastUs"))
            .unwrap_or(0),
    };
    if let Some(task) = &loaded.task
        && custom.is_custom(&task.strategy_id)
    {
        let family_key = custom.family_key(tenant, &task.strategy_id)?;
        let item = match found.take(&family_key) {
            Some(item) => Some(item),
            // Hinted and absent: the family is gone; no second read.
            None if hinted.as_ref() == Some(&family_key) => None,
            None => {
                store
                    .get(family_key.0.clone(), family_key.1.clone())
                    .await?
            }
        };
        loaded.custom = Some(custom.program(tenant, task, item)?);
    }
    // greencrowd (built in, or the parent of a custom DSL_EXTEND program) simulates every
    // greencrowd task of the game: the one decision that needs the game's task list.
    let needs_greencrowd = custom.needs_greencrowd()
        || loaded
            .task
            .as_ref()
            .is_some_and(|t| t.strategy_id == greencrowd::STRATEGY_ID)
        || loaded
            .custom
            .as_ref()
            .is_some_and(|c| c.strategy.needs().contains(&game_scoring::Need::Greencrowd));
    if needs_greencrowd && let Some(game) = &loaded.game {
        let tasks = games::load_tasks(store, game).await?;
        loaded.aggregates.greencrowd = Some(greencrowd_state(
            &mut found,
            GreencrowdKeys::of(keys),
            tasks,
            Some(&keys.external_task_id),
            user_game.as_ref(),
        ));
    }
    Ok(loaded)
}

/// The items greencrowd's state is read from.
struct GreencrowdKeys<'k> {
    game: &'k (String, String),
    user: &'k (String, String),
    used_hash: Option<&'k (String, String)>,
}

impl<'k> GreencrowdKeys<'k> {
    fn of(keys: &'k AwardKeys) -> Self {
        GreencrowdKeys {
            game: &keys.greencrowd_game,
            user: &keys.greencrowd_user,
            used_hash: keys.used_hash.as_ref(),
        }
    }
}

/// greencrowd's state from loaded items: the one place it is assembled.
fn greencrowd_state(
    found: &mut Found,
    keys: GreencrowdKeys<'_>,
    tasks: Vec<Task>,
    current: Option<&TaskId>,
    user_game: Option<&Item>,
) -> greencrowd::Loaded {
    greencrowd::Loaded {
        game: found
            .take(keys.game)
            .as_ref()
            .map(greencrowd::GameState::from_item)
            .unwrap_or_default(),
        user: found
            .take(keys.user)
            .as_ref()
            .map(greencrowd::UserState::from_item)
            .unwrap_or_default(),
        tasks: greencrowd::task_list(tasks, current),
        last_award: user_game.and_then(last_award_from_item),
        simulation_used: keys.used_hash.and_then(|k| found.take(k)).is_some(),
    }
}

/// greencrowd's state of (game, user) with no task scored (the signed projection): the same
/// items as the award's load, read on their own.
pub async fn load_greencrowd(
    store: &Store,
    game: &Game,
    external_user_id: &ExternalId,
) -> ApiResult<greencrowd::Loaded> {
    let game_key = greencrowd::game_key(&game.tenant, &game.game_id);
    let user_key = greencrowd::user_key(&game.tenant, external_user_id, &game.game_id);
    let user_game_key = (
        keys::user_pk(&game.tenant, external_user_id),
        keys::user_game_sk(&game.game_id),
    );
    let wanted = [game_key.clone(), user_key.clone(), user_game_key.clone()];
    let tasks = games::load_tasks(store, game).await?;
    let mut found = Found::read(store, &wanted).await?;
    let user_game = found.take(&user_game_key);
    let keys = GreencrowdKeys {
        game: &game_key,
        user: &user_key,
        used_hash: None,
    };
    Ok(greencrowd_state(
        &mut found,
        keys,
        tasks,
        None,
        user_game.as_ref(),
    ))
}

fn task_series_from_item(item: &Item) -> Series {
    Series {
        count: attrs::u64(item, "count").unwrap_or(0),
        first_us: attrs::i64(item, "firstUs").unwrap_or(0),
        last_us: attrs::i64(item, "lastUs").unwrap_or(0),
    }
}

fn user_game_from_item(item: &Item) -> UserGame {
    UserGame {
        count: attrs::u64(item, "count").unwrap_or(0),
        minutes: MinutesAgg {
            sum: attrs::f64(item, "minutesSum").unwrap_or(0.0),
            count: attrs::u64(item, "minutesCount").unwrap_or(0),
        },
    }
}

/// The user's latest award in the game, any task (kept on the user's game aggregate).
fn last_award_from_item(item: &Item) -> Option<game_scoring::greencrowd::LastAward> {
    Some(game_scoring::greencrowd::LastAward {
        external_task_id: attrs::s(item, "lastTaskId")?.to_owned(),
        at_us: attrs::i64(item, "lastUs")?,
    })
}

fn minutes_from_item(item: &Item) -> MinutesAgg {
    MinutesAgg {
        sum: attrs::f64(item, "minutesSum").unwrap_or(0.0),
        count: attrs::u64(item, "minutesCount").unwrap_or(0),
    }
}

/// Grid cells are attributes named `c_<row>_<col>` holding award counts.
fn grid_from_item(item: &Item) -> Vec<(usize, usize, f64)> {
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

/// The award itself: immutable once written.
#[derive(Debug, Clone, PartialEq)]
pub struct AwardRecord {
    pub award_id: String,
    pub game_id: GameId,
    pub external_game_id: ExternalId,
    pub external_task_id: TaskId,
    pub external_user_id: ExternalId,
    pub points: Decimal,
    pub case_name: String,
    /// The request data as stored (with `callbackData` when the strategy returned some).
    pub data: Value,
    pub strategy_id: String,
    pub created_at: String,
    pub created_us: i64,
    pub idempotency_key: Option<IdempotencyKey>,
}

/// One write of an award's transaction, typed; [`transaction`] turns them into items.
#[derive(Debug, Clone, PartialEq)]
pub enum AwardWrite {
    /// The stored first answer, for replays (fails if a live record exists).
    Idempotency {
        key: IdempotencyKey,
        request_hash: String,
        body: String,
        now_us: i64,
        ttl_secs: i64,
    },
    Award(AwardRecord),
    /// The user's aggregate on the task, conditioned on the version the decision read.
    UserTask {
        aggregate: UserTaskAggregate,
        external_game_id: ExternalId,
        read_version: u64,
    },
    /// The task's series over all users; `lastUs` only moves forward.
    TaskSeries {
        now_us: i64,
    },
    /// The user's awards (and minutes) in the game, and their latest award.
    UserGame {
        now_us: i64,
        minutes: Option<f64>,
    },
    GameMinutes {
        minutes: f64,
    },
    GridCell {
        cell: (usize, usize),
    },
    /// greencrowd's states, each conditioned on the version it was read at.
    GreencrowdGame(Box<greencrowd::GameState>),
    GreencrowdUser(Box<greencrowd::UserState>),
    /// A presented greencrowd simulation hash, now used.
    UsedSimulation {
        award_id: String,
    },
    /// The user and wallet, created by their first award.
    NewUser(UserRecord),
    /// An existing wallet credited.
    Credit {
        points: Decimal,
    },
    Ledger(LedgerEntry),
    /// The tenant's dashboard counters of the award's UTC day (store/dashboard.rs).
    DashboardDay {
        day: String,
        points: Decimal,
        new_user: bool,
    },
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
    condition: Option<&str>,
    values: HashMap<String, AttributeValue>,
) -> ApiResult<TransactWriteItem> {
    let put = build(
        Put::builder()
            .table_name(table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_values((!values.is_empty()).then_some(values))
            .build(),
    )?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn update(
    table: &str,
    key: &Key,
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

const NEW: Option<&str> = Some("attribute_not_exists(PK)");

/// Every write of one award, for one TransactWriteItems: all of it happens or none of it.
pub fn transaction(
    table: &str,
    keys: &AwardKeys,
    writes: &[AwardWrite],
) -> ApiResult<(Vec<TransactWriteItem>, PlanIndex)> {
    let mut items = Vec::with_capacity(writes.len());
    let mut index = PlanIndex { idempotency: None };
    for write in writes {
        if matches!(write, AwardWrite::Idempotency { .. }) {
            index.idempotency = Some(items.len());
        }
        items.push(item_of(table, keys, write)?);
    }
    Ok((items, index))
}

fn item_of(table: &str, keys: &AwardKeys, write: &AwardWrite) -> ApiResult<TransactWriteItem> {
    let user = &keys.external_user_id;
    Ok(match write {
        AwardWrite::Idempotency {
            key,
            request_hash,
            body,
            now_us,
            ttl_secs,
        } => {
            let record_key = keys
                .idempotency
                .as_ref()
                .ok_or_else(|| ApiError::internal("idempotency write without a key"))?;
            idempotency::put_record(
                table,
                record_key,
                key,
                request_hash,
                body,
                *now_us,
                *ttl_secs,
            )?
        }
        AwardWrite::Award(award) => {
            let mut item = store::key(
                keys.user_task.0.clone(),
                keys::award_sk(user, &award.award_id),
            );
            for (name, value) in [
                ("entity", store::s("award")),
                ("awardId", store::s(award.award_id.clone())),
                ("gameId", store::s(award.game_id.clone())),
                ("externalGameId", store::s(award.external_game_id.clone())),
                ("externalTaskId", store::s(award.external_task_id.clone())),
                ("externalUserId", store::s(award.external_user_id.clone())),
                ("points", decimal::attribute(award.points)),
                ("caseName", store::s(award.case_name.clone())),
                ("data", store::client_data::attribute(&award.data)),
                ("description", store::s("Points assigned by GAME")),
                ("strategyId", store::s(award.strategy_id.clone())),
                ("createdAt", store::s(award.created_at.clone())),
                ("createdUs", store::n(award.created_us)),
            ] {
                item.insert(name.into(), value);
            }
            if let Some(key) = &award.idempotency_key {
                item.insert("idempotencyKey".into(), store::s(key.clone()));
            }
            put(table, item, NEW, HashMap::new())?
        }
        AwardWrite::UserTask {
            aggregate,
            external_game_id,
            read_version,
        } => {
            let mut item = store::key(keys.user_task.0.clone(), keys.user_task.1.clone());
            for (name, value) in [
                ("entity", store::s("userTask")),
                (
                    store::GSI1PK,
                    store::s(keys::user_aggregates_index_pk(&keys.tenant, user)),
                ),
                (
                    store::GSI1SK,
                    store::s(format!("{}#{}", keys.game_id, keys.external_task_id)),
                ),
                ("gameId", store::s(keys.game_id.clone())),
                ("externalGameId", store::s(external_game_id.clone())),
                ("externalTaskId", store::s(keys.external_task_id.clone())),
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
                ("version", store::n(read_version + 1)),
            ] {
                item.insert(name.into(), value);
            }
            if *read_version == 0 {
                put(table, item, NEW, HashMap::new())?
            } else {
                put(
                    table,
                    item,
                    Some("version = :v"),
                    HashMap::from([(":v".to_owned(), store::n(read_version))]),
                )?
            }
        }
        AwardWrite::TaskSeries { now_us } => update(
            table,
            &keys.task_series,
            "ADD #count :one SET #first = if_not_exists(#first, :now), #last = :now, entity = :entity",
            // A decision older than the last award re-decides with a fresh clock.
            Some("attribute_not_exists(#last) OR #last <= :now"),
            HashMap::from([
                ("#count".into(), "count".into()),
                ("#first".into(), "firstUs".into()),
                ("#last".into(), "lastUs".into()),
            ]),
            HashMap::from([
                (":one".into(), store::n(1)),
                (":now".into(), store::n(now_us)),
                (":entity".into(), store::s("taskSeries")),
            ]),
        )?,
        AwardWrite::UserGame { now_us, minutes } => {
            let mut expression = "ADD #count :one".to_owned();
            let mut values = HashMap::from([(":one".to_owned(), store::n(1))]);
            if let Some(minutes) = minutes {
                expression.push_str(", minutesSum :m, minutesCount :one");
                values.insert(":m".into(), store::n(minutes));
            }
            // The latest award only moves forward, as for the task series.
            expression.push_str(
                " SET entity = :entity, gameId = :game, lastTaskId = :task, lastUs = :now",
            );
            values.insert(":entity".into(), store::s("userGame"));
            values.insert(":game".into(), store::s(keys.game_id.clone()));
            values.insert(":task".into(), store::s(keys.external_task_id.clone()));
            values.insert(":now".into(), store::n(now_us));
            update(
                table,
                &keys.user_game,
                &expression,
                Some("attribute_not_exists(lastUs) OR lastUs <= :now"),
                HashMap::from([("#count".into(), "count".into())]),
                values,
            )?
        }
        AwardWrite::GameMinutes { minutes } => update(
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
        )?,
        AwardWrite::GridCell { cell } => update(
            table,
            &keys.grid,
            "ADD #cell :one SET entity = :entity",
            None,
            HashMap::from([("#cell".into(), grid_attribute(*cell))]),
            HashMap::from([
                (":one".into(), store::n(1)),
                (":entity".into(), store::s("grid")),
            ]),
        )?,
        AwardWrite::GreencrowdGame(state) => {
            greencrowd::game_put(table, &keys.tenant, &keys.game_id, state)?
        }
        AwardWrite::GreencrowdUser(state) => {
            greencrowd::user_put(table, &keys.tenant, user, &keys.game_id, state)?
        }
        AwardWrite::UsedSimulation { award_id } => {
            let used = keys
                .used_hash
                .as_ref()
                .ok_or_else(|| ApiError::internal("used simulation without a hash"))?;
            let mut marker = store::key(used.0.clone(), used.1.clone());
            marker.insert("entity".into(), store::s("usedSimulation"));
            marker.insert("awardId".into(), store::s(award_id.clone()));
            // Unconditional: a hash presented again is simply still used.
            put(table, marker, None, HashMap::new())?
        }
        // The condition matches what was read, so a concurrent first award re-decides
        // `isACreatedUser`.
        AwardWrite::NewUser(record) => put(table, record.to_item(&keys.user), NEW, HashMap::new())?,
        AwardWrite::Credit { points } => update(
            table,
            &keys.user,
            "ADD pointsBalance :p",
            Some("attribute_exists(PK)"),
            HashMap::new(),
            HashMap::from([(":p".into(), decimal::attribute(*points))]),
        )?,
        AwardWrite::Ledger(entry) => put(table, entry.to_item(&keys.user.0), NEW, HashMap::new())?,
        AwardWrite::DashboardDay {
            day,
            points,
            new_user,
        } => crate::store::dashboard::update_item(
            table,
            &keys.tenant,
            user.as_str(),
            day,
            &crate::store::dashboard::Increment {
                awards: 1,
                points: *points,
                new_users: u64::from(*new_user),
                ..Default::default()
            },
        )?,
    })
}
