//! Progression's items (docs/data-model.md, "Progression"):
//!
//! * `T#t#G#g` / `PROGRESSION`: the game's ladder, achievement definitions and streak rule,
//!   one versioned item (read by every award of the game in its BatchGetItem).
//! * `T#t#U#u` / `PROG#g`: the user's progression in the game (points and awards counted,
//!   per-task awards, level and best level, achievements held, streak, zone), versioned:
//!   every award of a game with progression writes it with `version = :read`.
//! * `T#t#U#u` / `PROGLOG#g#LEVEL#<to>`, `…#ACH#<key>#<n>[#REVOKE]`, `…#FREEZE#<period>`:
//!   immutable entries (level-ups, grants and revocations, freezes used), each put with
//!   `attribute_not_exists`, so a crossing, a grant or a freeze is recorded once.
//! * `T#t#G#g#PROGSTATS` / `SHARD#<n>`: users with progression and achievement counts, ADDed
//!   on the user's shard.

use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TenantId};
use crate::store::award::AwardKeys;
use crate::store::{self, Item, Store, attrs, keys};
use crate::wire::progression::{AchievementDef, Ladder, LevelUp, StreakRule};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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

/// A grant or revocation entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Grant {
    pub key: String,
    /// The grant's number (1 for the first); a revocation names the grant it revokes.
    pub times: u32,
    pub name: String,
    pub at: String,
    pub award_id: Option<String>,
    pub reason: Option<String>,
    pub revoke: bool,
}

/// One progression write of an award (or of an admin grant).
#[derive(Debug, Clone, PartialEq)]
pub enum ProgressionWrite {
    /// The user's progression, conditioned on the version the decision read (0: absent).
    State {
        state: Box<UserState>,
        read_version: u64,
    },
    LevelUp {
        from: u32,
        to: u32,
        levels: Vec<LevelUp>,
        award_id: String,
        at: String,
    },
    Grant(Grant),
    Freeze {
        period: i64,
        label: String,
        award_id: String,
        at: String,
    },
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

fn entry(pk: &str, sk: String, entity: &str, fields: Vec<(&str, AttributeValue)>) -> Item {
    let mut item = store::key(pk.to_owned(), sk);
    item.insert("entity".into(), store::s(entity));
    for (name, value) in fields {
        item.insert(name.to_owned(), value);
    }
    item
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

/// A grant or revocation entry's sort key.
pub fn grant_sk(game_id: &GameId, grant: &Grant) -> String {
    format!(
        "{}ACH#{}#{:06}{}",
        log_prefix(game_id),
        grant.key,
        grant.times,
        if grant.revoke { "#REVOKE" } else { "" }
    )
}

/// The transaction item of one progression write.
pub fn write_item(
    table: &str,
    owner: &Owner<'_>,
    write: &ProgressionWrite,
) -> ApiResult<TransactWriteItem> {
    let (pk, sk) = user_key(owner.tenant, owner.external_user_id, owner.game_id);
    let common = |mut fields: Vec<(&'static str, AttributeValue)>| {
        fields.push(("gameId", store::s(owner.game_id.clone())));
        fields.push(("externalUserId", store::s(owner.external_user_id.clone())));
        fields
    };
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
        ProgressionWrite::LevelUp {
            from,
            to,
            levels,
            award_id,
            at,
        } => {
            let levels = serde_json::to_value(levels).map_err(ApiError::internal)?;
            put_new(
                table,
                entry(
                    &pk,
                    format!("{}LEVEL#{to:06}", log_prefix(owner.game_id)),
                    "levelUp",
                    common(vec![
                        ("from", store::n(from)),
                        ("to", store::n(to)),
                        ("levels", store::s(levels.to_string())),
                        ("awardId", store::s(award_id.clone())),
                        ("at", store::s(at.clone())),
                    ]),
                ),
            )?
        }
        ProgressionWrite::Grant(grant) => {
            let mut fields = common(vec![
                ("key", store::s(grant.key.clone())),
                ("times", store::n(grant.times)),
                ("name", store::s(grant.name.clone())),
                ("at", store::s(grant.at.clone())),
                (
                    "action",
                    store::s(if grant.revoke { "revoke" } else { "grant" }),
                ),
            ]);
            if let Some(award_id) = &grant.award_id {
                fields.push(("awardId", store::s(award_id.clone())));
            }
            if let Some(reason) = &grant.reason {
                fields.push(("reason", store::s(reason.clone())));
            }
            put_new(
                table,
                entry(&pk, grant_sk(owner.game_id, grant), "achievementEntry", fields),
            )?
        }
        ProgressionWrite::Freeze {
            period,
            label,
            award_id,
            at,
        } => put_new(
            table,
            entry(
                &pk,
                format!("{}FREEZE#{period:08}", log_prefix(owner.game_id)),
                "freezeUsed",
                common(vec![
                    ("period", store::s(label.clone())),
                    ("awardId", store::s(award_id.clone())),
                    ("at", store::s(at.clone())),
                ]),
            ),
        )?,
        ProgressionWrite::Stats {
            shard,
            new_user,
            earned,
        } => {
            let mut adds = Vec::new();
            let mut names = HashMap::new();
            let mut values = HashMap::from([(":entity".to_owned(), store::s("progressionStats"))]);
            if *new_user {
                adds.push("users :one".to_owned());
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
