//! Progression's items (docs/data-model.md, "Progression"):
//!
//! * `T#t#G#g` / `PROGRESSION`: the game's ladder, achievement definitions and streak rule,
//!   one versioned item (read by every award of the game in its BatchGetItem).
//! * `T#t#U#u` / `PROG#g`: the user's progression in the game (points and awards counted,
//!   per-task awards, level and best level, achievements held, streak, zone), versioned:
//!   every award of a game with progression writes it with `version = :read`.
//! * `T#t#U#u` / `PROGLOG#g#<version>`: the immutable event of the state change that produced
//!   that version (level crossing, grants or revocations, freezes used), put with
//!   `attribute_not_exists`, so a crossing, a grant or a freeze is recorded once.
//! * `T#t#G#g#PROGSTATS` / `SHARD#<n>`: users with progression and achievement counts, ADDed
//!   on the user's shard.

use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TenantId};
use crate::store::award::AwardKeys;
use crate::store::{self, Item, Store, attrs, keys};
use crate::wire::progression::{AchievementDef, Ladder, LevelUp, StreakRule};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem, Update};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

pub const CONFIG_SK: &str = "PROGRESSION";

pub fn config_key(tenant: &TenantId, game_id: &GameId) -> (String, String) {
    (keys::game_pk(tenant, game_id), CONFIG_SK.to_owned())
}

pub fn user_key(
    tenant: &TenantId,
    external_user_id: &ExternalId,
    game_id: &GameId,
) -> (String, String) {
    (
        keys::user_pk(tenant, external_user_id),
        format!("PROG#{game_id}"),
    )
}

pub fn log_prefix(game_id: &GameId) -> String {
    format!("PROGLOG#{game_id}#")
}

pub fn stats_pk(tenant: &TenantId, game_id: &GameId) -> String {
    format!("T#{tenant}#G#{game_id}#PROGSTATS")
}

pub fn stats_keys(tenant: &TenantId, game_id: &GameId) -> Vec<(String, String)> {
    (0..crate::domain::progression::STATS_SHARDS)
        .map(|shard| (stats_pk(tenant, game_id), format!("SHARD#{shard}")))
        .collect()
}

/// A game's progression definitions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Config {
    pub ladder: Option<Ladder>,
    pub achievements: Vec<AchievementDef>,
    pub streak: Option<StreakRule>,
    pub version: u64,
}

impl Config {
    pub fn from_item(item: Item) -> ApiResult<Config> {
        Ok(store::from_item(item)?)
    }

    pub fn to_item(&self, tenant: &TenantId, game_id: &GameId) -> ApiResult<Item> {
        let (pk, sk) = config_key(tenant, game_id);
        Ok(store::to_item(
            self,
            "progressionConfig",
            &[(store::PK, pk), (store::SK, sk)],
        )?)
    }
}

/// An achievement as a user holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Held {
    pub times: u32,
    pub earned_us: i64,
    pub revoked: bool,
}

/// A user's progression in one game.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserState {
    /// Exact decimal text (points in the game since its progression was defined).
    pub points_total: String,
    pub awards: u64,
    pub task_awards: BTreeMap<String, u64>,
    pub level: u32,
    pub peak_level: u32,
    pub achievements: BTreeMap<String, Held>,
    pub streak: crate::domain::progression::StreakState,
    pub time_zone: Option<String>,
    pub version: u64,
}

impl Default for UserState {
    fn default() -> Self {
        UserState {
            // Never empty: DynamoDB refuses empty strings in some places (and Local everywhere).
            points_total: "0".into(),
            awards: 0,
            task_awards: BTreeMap::new(),
            level: 0,
            peak_level: 0,
            achievements: BTreeMap::new(),
            streak: Default::default(),
            time_zone: None,
            version: 0,
        }
    }
}

impl UserState {
    pub fn points(&self) -> Decimal {
        crate::decimal::parse(&self.points_total).unwrap_or_default()
    }

    pub fn set_points(&mut self, points: Decimal) {
        self.points_total = points.normalize().to_string();
    }

    pub fn from_item(item: Item) -> ApiResult<UserState> {
        Ok(store::from_item(item)?)
    }
}

/// A grant or revocation, as recorded in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub key: String,
    /// The grant's number (1 for the first); a revocation names the grant it revokes.
    pub times: u32,
    pub name: String,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub revoke: bool,
}

/// A level crossing (possibly several levels at once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Crossing {
    pub from: u32,
    pub to: u32,
    pub levels: Vec<LevelUp>,
}

/// A freeze that covered a missed period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FreezeUsed {
    pub period: i64,
    /// The period's first day, `YYYY-MM-DD`.
    pub label: String,
}

/// The immutable entry of what one award (or admin change) did: its level crossing, grants or
/// revocations and freezes used. Keyed by the progression version it produced, put with
/// `attribute_not_exists`: one entry per state change, so a crossing, a grant or a freeze is
/// recorded exactly once (and the history stays: a revocation is a new entry).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub seq: u64,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub award_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level_up: Option<Crossing>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grants: Vec<Grant>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freezes: Vec<FreezeUsed>,
}

impl Event {
    pub fn is_empty(&self) -> bool {
        self.level_up.is_none() && self.grants.is_empty() && self.freezes.is_empty()
    }
}

/// One progression write of an award (or of an admin change): at most three items, so an
/// award with progression stays within DynamoDB Local's 10-item transactions (AWS allows 100).
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressionWrite {
    /// The user's progression, conditioned on the version the decision read (0: absent).
    State {
        state: Box<UserState>,
        read_version: u64,
    },
    /// What happened, when something did.
    Event(Box<Event>),
    /// ADDs on the user's statistics shard.
    Stats {
        shard: u32,
        new_user: bool,
        earned: Vec<(String, i64)>,
    },
}

/// What the award loads for progression: the game's definitions (compiled) and the user's state.
#[derive(Debug, Clone)]
pub struct AwardState {
    pub defs: crate::domain::progression::Compiled,
    pub user: Option<UserState>,
}

/// From the award's loaded items: `None` when the game defines no progression (the award
/// then writes nothing of it).
pub fn award_state(config: Option<Item>, user: Option<Item>) -> ApiResult<Option<AwardState>> {
    let Some(config) = config else {
        return Ok(None);
    };
    let defs = crate::domain::progression::Compiled::of(&Config::from_item(config)?)?;
    if defs.is_empty() {
        return Ok(None);
    }
    Ok(Some(AwardState {
        defs,
        user: user.map(UserState::from_item).transpose()?,
    }))
}

pub async fn load_config(store: &Store, tenant: &TenantId, game_id: &GameId) -> ApiResult<Config> {
    let (pk, sk) = config_key(tenant, game_id);
    match store.get(pk, sk).await? {
        Some(item) => Config::from_item(item),
        None => Ok(Config::default()),
    }
}

/// Writes the definitions if they are still at the version read; `false` when they moved.
pub async fn save_config(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    config: &Config,
    read_version: u64,
) -> ApiResult<bool> {
    let item = config.to_item(tenant, game_id)?;
    let items = vec![if read_version == 0 {
        store::tx::put_new(store.table(), item)?
    } else {
        store::tx::put_versioned(store.table(), item, read_version)?
    }];
    match store.transact_once(items).await {
        Ok(()) => Ok(true),
        Err(error) if error.failed_condition().is_some() => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// Summed statistics shards: (users, earned per key).
pub fn sum_stats(items: &[Option<Item>]) -> (i64, HashMap<String, i64>) {
    let mut users = 0;
    let mut earned: HashMap<String, i64> = HashMap::new();
    for item in items.iter().flatten() {
        users += attrs::i64(item, "users").unwrap_or(0);
        for (name, value) in item {
            if let (Some(key), Ok(n)) = (name.strip_prefix("a_"), value.as_n()) {
                *earned.entry(key.to_owned()).or_default() += n.parse::<i64>().unwrap_or(0);
            }
        }
    }
    (users, earned)
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> ApiResult<T> {
    result.map_err(ApiError::internal)
}

fn put_new(table: &str, item: Item) -> ApiResult<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .put(build(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(PK)")
                .build(),
        )?)
        .build())
}

/// Where the user's entries live and who they are.
pub struct Owner<'a> {
    pub tenant: &'a TenantId,
    pub game_id: &'a GameId,
    pub external_user_id: &'a ExternalId,
}

impl<'a> Owner<'a> {
    pub fn of(keys: &'a AwardKeys) -> Self {
        Owner {
            tenant: &keys.tenant,
            game_id: &keys.game_id,
            external_user_id: &keys.external_user_id,
        }
    }
}

/// An event's sort key: the progression version it produced.
pub fn event_sk(game_id: &GameId, seq: u64) -> String {
    format!("{}{seq:010}", log_prefix(game_id))
}

/// The transaction item of one progression write.
pub fn write_item(
    table: &str,
    owner: &Owner<'_>,
    write: &ProgressionWrite,
) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = user_key(owner.tenant, owner.external_user_id, owner.game_id);
    Ok(match write {
        ProgressionWrite::State {
            state,
            read_version,
        } => {
            let item = store::to_item(
                state.as_ref(),
                "progression",
                &[
                    (store::PK, pk),
                    (store::SK, sk),
                    ("gameId", owner.game_id.to_string()),
                    ("externalUserId", owner.external_user_id.to_string()),
                ],
            )?;
            if *read_version == 0 {
                put_new(table, item)?
            } else {
                store::tx::put_versioned(table, item, *read_version)?
            }
        }
        ProgressionWrite::Event(event) => {
            let item = store::to_item(
                event.as_ref(),
                "progressionEvent",
                &[
                    (store::PK, pk),
                    (store::SK, event_sk(owner.game_id, event.seq)),
                    ("gameId", owner.game_id.to_string()),
                    ("externalUserId", owner.external_user_id.to_string()),
                ],
            )?;
            put_new(table, item)?
        }
        ProgressionWrite::Stats {
            shard,
            new_user,
            earned,
        } => {
            let mut adds = Vec::new();
            let mut names = HashMap::new();
            let mut values = HashMap::from([(":entity".to_owned(), store::s("progressionStats"))]);
            if *new_user {
                // `users` is a reserved word.
                adds.push("#users :one".to_owned());
                names.insert("#users".to_owned(), "users".to_owned());
                values.insert(":one".into(), store::n(1));
            }
            for (i, (key, delta)) in earned.iter().enumerate() {
                adds.push(format!("#a{i} :a{i}"));
                names.insert(format!("#a{i}"), format!("a_{key}"));
                values.insert(format!(":a{i}"), store::n(delta));
            }
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(
                        stats_pk(owner.tenant, owner.game_id),
                        format!("SHARD#{shard}"),
                    )))
                    .update_expression(format!("ADD {} SET entity = :entity", adds.join(", ")))
                    .set_expression_attribute_names((!names.is_empty()).then_some(names))
                    .set_expression_attribute_values(Some(values))
                    .build(),
            )?;
            TransactWriteItem::builder().update(update).build()
        }
    })
}
