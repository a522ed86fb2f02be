//! greencrowd's write-time aggregates: one item per game (control-group sizes, dimension
//! statistics, award counts per task and UTC time slot) and one per (user, game) (control group,
//! award series, distinct days). Both are versioned: every writer re-reads on conflict.

use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::games::Task;
use crate::store::{self, Item, attrs, keys};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use game_scoring::Series;
use game_scoring::greencrowd::{ControlGroup, DimStats, LastAward};
use std::collections::{BTreeMap, BTreeSet, HashMap};

pub const STRATEGY_ID: &str = "greencrowdStrategy";

pub fn game_key(tenant: &TenantId, game_id: &GameId) -> (String, String) {
    (format!("T#{tenant}#G#{game_id}#GC"), "GC".to_owned())
}

pub fn user_key(
    tenant: &TenantId,
    external_user_id: &ExternalId,
    game_id: &GameId,
) -> (String, String) {
    (
        keys::user_pk(tenant, external_user_id),
        format!("GC#{game_id}"),
    )
}

/// The longest presented hash kept as is in the used-hash key.
const MAX_HASH_IN_KEY: usize = 256;

/// Marks a presented simulation hash as used on (game, task).
pub fn used_hash_key(
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    hash: &str,
) -> (String, String) {
    // A hash we issued is 64 hex digits; anything much longer (a client's text, which fails
    // verification anyway) is keyed by its digest, so it cannot exceed the 1,024-byte sort key.
    let hash = if hash.len() <= MAX_HASH_IN_KEY {
        hash.to_owned()
    } else {
        use sha2::Digest;
        format!("sha256:{:x}", sha2::Sha256::digest(hash.as_bytes()))
    };
    (
        keys::task_awards_pk(tenant, game_id, external_task_id),
        format!("SIMHASH#{hash}"),
    )
}

/// The game's greencrowd tasks in the game's task order; `current` (the task being scored, which
/// may run greencrowd as the parent of a custom program) is always among them.
pub fn task_list(tasks: Vec<Task>, current: Option<&TaskId>) -> Vec<String> {
    tasks
        .into_iter()
        .filter(|t| t.strategy_id == STRATEGY_ID || Some(&t.external_task_id) == current)
        .map(|t| t.external_task_id.into())
        .collect()
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GameState {
    pub group_counts: [u64; 3],
    pub dims: [DimStats; 5],
    pub slots: BTreeMap<String, [u64; 4]>,
    pub version: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserState {
    pub group: Option<ControlGroup>,
    pub series: Series,
    pub days: BTreeSet<i64>,
    pub version: u64,
}

fn n_list(values: impl IntoIterator<Item = String>) -> AttributeValue {
    AttributeValue::L(values.into_iter().map(AttributeValue::N).collect())
}

fn list_u64(value: Option<&AttributeValue>) -> Vec<u64> {
    value
        .and_then(|v| v.as_l().ok())
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_n().ok()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

impl GameState {
    pub fn from_item(item: &Item) -> GameState {
        let mut state = GameState {
            version: attrs::u64(item, "version").unwrap_or(0),
            ..GameState::default()
        };
        for (i, count) in list_u64(item.get("groupCounts"))
            .into_iter()
            .take(3)
            .enumerate()
        {
            state.group_counts[i] = count;
        }
        if let Some(dims) = item.get("dims").and_then(|v| v.as_l().ok()) {
            for (i, dim) in dims.iter().take(5).enumerate() {
                if let Ok(map) = dim.as_m() {
                    let get = |name: &str| {
                        map.get(name)
                            .and_then(|v| v.as_n().ok())
                            .map(String::as_str)
                    };
                    state.dims[i] = DimStats {
                        count: get("count").and_then(|t| t.parse().ok()).unwrap_or(0),
                        sum: get("sum").and_then(|t| t.parse().ok()).unwrap_or(0),
                        min: get("min").and_then(|t| t.parse().ok()).unwrap_or(0),
                        max: get("max").and_then(|t| t.parse().ok()).unwrap_or(0),
                    };
                }
            }
        }
        if let Some(slots) = item.get("slots").and_then(|v| v.as_m().ok()) {
            for (task, counts) in slots {
                let mut slot_counts = [0u64; 4];
                for (i, count) in list_u64(Some(counts)).into_iter().take(4).enumerate() {
                    slot_counts[i] = count;
                }
                state.slots.insert(task.clone(), slot_counts);
            }
        }
        state
    }

    fn attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        let dims = self
            .dims
            .iter()
            .map(|d| {
                AttributeValue::M(HashMap::from([
                    ("count".to_owned(), store::n(d.count)),
                    ("sum".to_owned(), store::n(d.sum)),
                    ("min".to_owned(), store::n(d.min)),
                    ("max".to_owned(), store::n(d.max)),
                ]))
            })
            .collect();
        let slots = self
            .slots
            .iter()
            .map(|(task, counts)| (task.clone(), n_list(counts.iter().map(u64::to_string))))
            .collect();
        vec![
            ("entity", store::s("greencrowdGame")),
            (
                "groupCounts",
                n_list(self.group_counts.iter().map(u64::to_string)),
            ),
            ("dims", AttributeValue::L(dims)),
            ("slots", AttributeValue::M(slots)),
            ("version", store::n(self.version + 1)),
        ]
    }
}

impl UserState {
    pub fn from_item(item: &Item) -> UserState {
        UserState {
            group: attrs::s(item, "group").and_then(ControlGroup::parse),
            series: Series {
                count: attrs::u64(item, "count").unwrap_or(0),
                first_us: attrs::i64(item, "firstUs").unwrap_or(0),
                last_us: attrs::i64(item, "lastUs").unwrap_or(0),
            },
            days: attrs::i64_list(item, "days").into_iter().collect(),
            version: attrs::u64(item, "version").unwrap_or(0),
        }
    }

    fn attributes(&self) -> Vec<(&'static str, AttributeValue)> {
        let mut attributes = vec![
            ("entity", store::s("greencrowdUser")),
            ("count", store::n(self.series.count)),
            ("firstUs", store::n(self.series.first_us)),
            ("lastUs", store::n(self.series.last_us)),
            ("days", n_list(self.days.iter().map(i64::to_string))),
            ("version", store::n(self.version + 1)),
        ];
        if let Some(group) = self.group {
            attributes.push(("group", store::s(group.as_str())));
        }
        attributes
    }
}

/// Everything greencrowd reads for one (game, user), as loaded.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub game: GameState,
    pub user: UserState,
    /// The game's greencrowd tasks in the game's task order.
    pub tasks: Vec<String>,
    pub last_award: Option<LastAward>,
    pub simulation_used: bool,
}

fn versioned_put(
    table: &str,
    key: &(String, String),
    attributes: Vec<(&'static str, AttributeValue)>,
    read_version: u64,
) -> ApiResult<TransactWriteItem> {
    let mut item = store::key(key.0.clone(), key.1.clone());
    for (name, value) in attributes {
        item.insert(name.to_owned(), value);
    }
    let mut put = Put::builder().table_name(table).set_item(Some(item));
    put = if read_version == 0 {
        put.condition_expression("attribute_not_exists(PK)")
    } else {
        put.condition_expression("version = :v")
            .expression_attribute_values(":v", store::n(read_version))
    };
    Ok(TransactWriteItem::builder()
        .put(put.build().map_err(ApiError::internal)?)
        .build())
}

/// The game's state over what was read (conditioned on the version it was read at).
pub fn game_put(
    table: &str,
    tenant: &TenantId,
    game_id: &GameId,
    state: &GameState,
) -> ApiResult<TransactWriteItem> {
    versioned_put(
        table,
        &game_key(tenant, game_id),
        state.attributes(),
        state.version,
    )
}

/// The user's state over what was read (conditioned on the version it was read at).
pub fn user_put(
    table: &str,
    tenant: &TenantId,
    external_user_id: &ExternalId,
    game_id: &GameId,
    state: &UserState,
) -> ApiResult<TransactWriteItem> {
    versioned_put(
        table,
        &user_key(tenant, external_user_id, game_id),
        state.attributes(),
        state.version,
    )
}

/// Both states over what was read.
pub fn plan(
    table: &str,
    tenant: &TenantId,
    game_id: &GameId,
    external_user_id: &ExternalId,
    next: &(GameState, UserState),
) -> ApiResult<Vec<TransactWriteItem>> {
    Ok(vec![
        game_put(table, tenant, game_id, &next.0)?,
        user_put(table, tenant, external_user_id, game_id, &next.1)?,
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_through_items() {
        let mut game = GameState {
            group_counts: [2, 1, 0],
            ..GameState::default()
        };
        game.dims[1] = DimStats {
            count: 3,
            sum: -4,
            min: -5,
            max: 2,
        };
        game.slots.insert("task_poi_1".into(), [1, 0, 4, 2]);
        let mut item: Item = game
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        item.insert("version".into(), store::n(0));
        assert_eq!(GameState::from_item(&item), game);

        let user = UserState {
            group: Some(ControlGroup::AverageScore),
            series: Series {
                count: 2,
                first_us: 5,
                last_us: 9,
            },
            days: [3, 7].into_iter().collect(),
            version: 0,
        };
        let mut item: Item = user
            .attributes()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        item.insert("version".into(), store::n(0));
        assert_eq!(UserState::from_item(&item), user);
    }
}
