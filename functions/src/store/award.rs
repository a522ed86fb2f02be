//! The award's items: the keys it reads, the records behind them, its one load (shared by the
//! award, the simulator and greencrowd's projection) and the transaction a decided award commits.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, IdempotencyKey, TaskId, TenantId};
use crate::store::games::{self, Game, Task};
use crate::store::greencrowd;
use crate::store::idempotency::{self, Record};
use crate::store::leaderboards;
use crate::store::progression;
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

/// The games' shard counts as this warm Lambda last saw them: the award's batch reads that
/// many shards, so a game that raised its count costs one more read, once.
#[derive(Debug, Default)]
pub struct ShardHints(std::sync::Mutex<HashMap<String, u32>>);

/// Games remembered per warm Lambda before the map starts over.
const SHARD_HINTS: usize = 10_000;

impl ShardHints {
    fn name(tenant: &TenantId, game_id: &GameId) -> String {
        format!("{tenant}#{game_id}")
    }

    pub fn get(&self, tenant: &TenantId, game_id: &GameId) -> u32 {
        let hints = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        hints
            .get(&Self::name(tenant, game_id))
            .copied()
            .unwrap_or(Game::DEFAULT_SHARDS)
    }

    pub fn remember(&self, tenant: &TenantId, game_id: &GameId, shards: u32) {
        let mut hints = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if hints.len() >= SHARD_HINTS {
            hints.clear();
        }
        hints.insert(Self::name(tenant, game_id), shards);
    }
}

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
    /// The game's leaderboards and the user's standings on them (store::leaderboards).
    pub boards: (String, String),
    pub standings: (String, String),
    /// The game's progression definitions and the user's progression (store::progression).
    pub progression_config: (String, String),
    pub progression_user: (String, String),
    /// How many shards of the hot aggregates (task series, game minutes, grid) the load reads
    /// in its batch: the game's count as this Lambda last saw it (more are read after the
    /// game, if it has more).
    pub shards_read: u32,
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
            boards: leaderboards::boards_key(tenant, game_id),
            standings: leaderboards::standings_key(tenant, external_user_id, game_id),
            progression_config: progression::config_key(tenant, game_id),
            progression_user: progression::user_key(tenant, external_user_id, game_id),
            shards_read: 1,
            idempotency: idempotency_key.map(|key| {
                crate::store::idempotency::record_key(
                    tenant,
                    &format!("AWARD#{game_id}#{external_task_id}#{external_user_id}"),
                    key,
                )
            }),
        }
    }

    /// Reads `shards` shards of the hot aggregates in the batch.
    pub fn with_shards(mut self, shards: u32) -> Self {
        self.shards_read = shards.clamp(1, Game::MAX_SHARDS);
        self
    }

    /// The keys of shards `from..to` of the three hot aggregates.
    pub fn shard_keys(&self, from: u32, to: u32) -> Vec<(String, String)> {
        (from..to)
            .flat_map(|shard| {
                [&self.task_series, &self.game_minutes, &self.grid]
                    .map(|key| keys::shard_key(key, shard))
            })
            .collect()
    }

    pub fn all(&self) -> Vec<(String, String)> {
        let mut all = vec![
            self.game.clone(),
            self.task.clone(),
            self.user.clone(),
            self.user_task.clone(),
            self.user_game.clone(),
            self.greencrowd_game.clone(),
            self.greencrowd_user.clone(),
        ];
        all.extend(self.shard_keys(0, self.shards_read));
        all.push(self.boards.clone());
        all.push(self.standings.clone());
        all.push(self.progression_config.clone());
        all.push(self.progression_user.clone());
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
    /// The boards and the user's standings (`None`: not loaded, nothing to write).
    pub leaderboards: Option<leaderboards::AwardState>,
    /// The game's progression and the user's (`None`: the game defines none, nothing to write).
    pub progression: Option<progression::AwardState>,
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
    // A game with more shards than the batch read: the rest in one more read (once per
    // warm Lambda and game: the caller remembers the count).
    let shards = loaded.game.as_ref().map_or(1, Game::shards);
    if shards > keys.shards_read {
        let extra = keys.shard_keys(keys.shards_read, shards);
        for (key, item) in extra.iter().cloned().zip(store.get_many(&extra).await?) {
            if let Some(item) = item {
                found.0.insert(key, item);
            }
        }
    }
    let shard_items = |found: &mut Found, key: &Key| -> Vec<Item> {
        (0..shards.max(keys.shards_read))
            .filter_map(|shard| found.take(&keys::shard_key(key, shard)))
            .collect()
    };
    let task_series = shard_items(&mut found, &keys.task_series);
    let game_minutes = shard_items(&mut found, &keys.game_minutes);
    let grid = shard_items(&mut found, &keys.grid);
    let user_game = found.take(&keys.user_game);
    loaded.aggregates = Aggregates {
        user_task: found
            .take(&keys.user_task)
            .as_ref()
            .map(UserTaskAggregate::from_item)
            .unwrap_or_default(),
        task_series: merge_series(task_series.iter().map(task_series_from_item)),
        user_game: user_game
            .as_ref()
            .map(user_game_from_item)
            .unwrap_or_default(),
        game_minutes: merge_minutes(game_minutes.iter().map(minutes_from_item)),
        grid_cells: merge_grid(grid.iter().map(grid_from_item)),
        greencrowd: None,
        user_game_last_us: user_game
            .as_ref()
            .and_then(|item| attrs::i64(item, "lastUs"))
            .unwrap_or(0),
    };
    loaded.leaderboards = Some(leaderboards::award_state(
        found.take(&keys.boards),
        found.take(&keys.standings),
    )?);
    loaded.progression = progression::award_state(
        found.take(&keys.progression_config),
        found.take(&keys.progression_user),
    )?;
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

/// The shards of a task's series as one: counts add up, the first award is the earliest
/// shard's, the last the latest's (what one unsharded item would hold).
pub fn merge_series(parts: impl Iterator<Item = Series>) -> Series {
    parts.fold(Series::default(), |all, part| Series {
        count: all.count + part.count,
        first_us: match (all.first_us, part.first_us) {
            (0, first) | (first, 0) => first,
            (a, b) => a.min(b),
        },
        last_us: all.last_us.max(part.last_us),
    })
}

pub fn merge_minutes(parts: impl Iterator<Item = MinutesAgg>) -> MinutesAgg {
    parts.fold(MinutesAgg::default(), |all, part| MinutesAgg {
        sum: all.sum + part.sum,
        count: all.count + part.count,
    })
}

/// Cells' counts summed over the shards, in (row, column) order.
pub fn merge_grid(
    parts: impl Iterator<Item = Vec<(usize, usize, f64)>>,
) -> Vec<(usize, usize, f64)> {
    let mut cells: std::collections::BTreeMap<(usize, usize), f64> = Default::default();
    for (row, col, count) in parts.flatten() {
        *cells.entry((row, col)).or_default() += count;
    }
    cells.into_iter().map(|((r, c), n)| (r, c, n)).collect()
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
    /// The ids of the boards that counted the award, and whether progression did: what a
    /// reversal of it compensates.
    pub counted_boards: Vec<String>,
    pub counted_progression: bool,
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
    /// The task's series over all users, on the user's shard; `lastUs` only moves forward.
    TaskSeries {
        now_us: i64,
        shard: u32,
    },
    /// The user's awards (and minutes) in the game, and their latest award.
    UserGame {
        now_us: i64,
        minutes: Option<f64>,
    },
    GameMinutes {
        minutes: f64,
        shard: u32,
    },
    GridCell {
        shard: u32,
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
    /// An existing wallet credited, conditioned on the balances the decision read (`read`:
    /// points, coins) so the ledger entry's balances-after are exact (docs/data-model.md).
    Credit {
        points: Decimal,
        read: (Decimal, Decimal),
    },
    Ledger(LedgerEntry),
    /// One leaderboard item (docs/data-model.md, "Leaderboards").
    Leaderboard(leaderboards::LeaderboardWrite),
    /// One progression item (docs/data-model.md, "Progression").
    Progression(progression::ProgressionWrite),
    /// The tenant's dashboard counters of the award's UTC day (store/dashboard.rs).
    DashboardDay {
        day: String,
        points: Decimal,
        new_user: bool,
    },
    /// The award's `award.created` event, in the outbox (docs/events.md).
    Outbox {
        event: Box<crate::domain::events::Event>,
        now_secs: i64,
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
                (
                    "countedBoards",
                    AttributeValue::L(
                        award
                            .counted_boards
                            .iter()
                            .map(|id| store::s(id.clone()))
                            .collect(),
                    ),
                ),
                (
                    "countedProgression",
                    AttributeValue::Bool(award.counted_progression),
                ),
            ] {
                item.insert(name.into(), value);
            }
            if let Some(key) = &award.idempotency_key {
                item.insert("idempotencyKey".into(), store::s(key.clone()));
            }
            // Findable by its id alone, for reversals (store::ledger::find_award).
            item.insert(
                store::GSI1PK.into(),
                store::s(keys::award_index_pk(&keys.tenant, &award.award_id)),
            );
            item.insert(store::GSI1SK.into(), store::s(keys::AWARD_INDEX_SK));
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
        AwardWrite::TaskSeries { now_us, shard } => update(
            table,
            &keys::shard_key(&keys.task_series, *shard),
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
        AwardWrite::GameMinutes { minutes, shard } => update(
            table,
            &keys::shard_key(&keys.game_minutes, *shard),
            "ADD minutesSum :m, minutesCount :one SET entity = :entity",
            None,
            HashMap::new(),
            HashMap::from([
                (":m".into(), store::n(minutes)),
                (":one".into(), store::n(1)),
                (":entity".into(), store::s("gameMinutes")),
            ]),
        )?,
        AwardWrite::GridCell { cell, shard } => update(
            table,
            &keys::shard_key(&keys.grid, *shard),
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
        AwardWrite::Credit { points, read } => update(
            table,
            &keys.user,
            "ADD pointsBalance :p",
            Some("attribute_exists(PK) AND pointsBalance = :pb AND coinsBalance = :cb"),
            HashMap::new(),
            HashMap::from([
                (":p".into(), decimal::attribute(*points)),
                (":pb".into(), decimal::attribute(read.0)),
                (":cb".into(), decimal::attribute(read.1)),
            ]),
        )?,
        AwardWrite::Ledger(entry) => put(table, entry.to_item(&keys.user.0), NEW, HashMap::new())?,
        AwardWrite::Leaderboard(write) => leaderboards::award_item(table, keys, write)?,
        AwardWrite::Progression(write) => {
            progression::write_item(table, &progression::Owner::of(keys), write)?
        }
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
        AwardWrite::Outbox { event, now_secs } => {
            build(crate::store::outbox::put(table, event, *now_secs))?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One award as the hot aggregates see it: who, when, minutes, cell.
    type Event = (u8, i64, Option<u16>, Option<(u8, u8)>);

    /// What DynamoDB's update expressions do to one item per aggregate (transaction.rs):
    /// `ADD count 1, firstUs if_not_exists, lastUs = now`; `ADD minutesSum, minutesCount`;
    /// `ADD c_<row>_<col> 1`.
    #[derive(Default)]
    struct Items {
        series: Series,
        minutes: MinutesAgg,
        grid: std::collections::BTreeMap<(usize, usize), f64>,
    }

    impl Items {
        fn apply(&mut self, (_, at, minutes, cell): &Event) {
            self.series.count += 1;
            if self.series.first_us == 0 {
                self.series.first_us = *at;
            }
            self.series.last_us = *at;
            if let Some(m) = minutes {
                self.minutes.sum += f64::from(*m);
                self.minutes.count += 1;
            }
            if let Some((r, c)) = cell {
                *self
                    .grid
                    .entry((usize::from(*r), usize::from(*c)))
                    .or_default() += 1.0;
            }
        }

        fn grid(&self) -> Vec<(usize, usize, f64)> {
            self.grid.iter().map(|(&(r, c), &n)| (r, c, n)).collect()
        }
    }

    proptest! {
        /// Strategies read the same analytics from N shards as from one item: the merged
        /// snapshot equals the unsharded one for any history (award times only move forward,
        /// as the decision time guarantees).
        #[test]
        fn sharded_aggregates_merge_to_the_unsharded_snapshot(
            mut events in proptest::collection::vec(
                (0u8..50, 1i64..1_000_000, proptest::option::of(0u16..600),
                 proptest::option::of((0u8..4, 0u8..4))),
                0..200,
            ),
            shards in 1u32..=16,
        ) {
            events.sort_by_key(|e| e.1);
            let mut one = Items::default();
            let mut parts: Vec<Items> = (0..shards).map(|_| Items::default()).collect();
            for event in &events {
                one.apply(event);
                let user = ExternalId::try_new(format!("user-{}", event.0)).unwrap();
                parts[keys::aggregate_shard(&user, shards) as usize].apply(event);
            }
            prop_assert_eq!(merge_series(parts.iter().map(|p| p.series)), one.series);
            let minutes = merge_minutes(parts.iter().map(|p| p.minutes));
            prop_assert_eq!(minutes.count, one.minutes.count);
            prop_assert!((minutes.sum - one.minutes.sum).abs() < 1e-6);
            prop_assert_eq!(merge_grid(parts.iter().map(Items::grid)), one.grid());
        }
    }

    #[test]
    fn shard_zero_is_the_unsharded_key_and_others_spread_over_partitions() {
        let key = ("T#t#G#g#MINUTES".to_owned(), "MINUTES".to_owned());
        assert_eq!(keys::shard_key(&key, 0), key);
        assert_eq!(
            keys::shard_key(&key, 3),
            ("T#t#G#g#MINUTES#S3".to_owned(), "MINUTES".to_owned())
        );
        let users: std::collections::BTreeSet<u32> = (0..200)
            .map(|i| keys::aggregate_shard(&ExternalId::try_new(format!("u-{i}")).unwrap(), 8))
            .collect();
        assert_eq!(users.len(), 8, "200 users use every one of 8 shards");
    }
}
