//! Leaderboard items (docs/data-model.md, "Leaderboards"):
//! - the game's board definitions: `T#<t>#G#<game>` / `LEADERBOARDS` (versioned);
//! - a user's standings on every board of a game: `T#<t>#U#<user>` / `LB#<game>` (versioned;
//!   the award reads it in its one BatchGetItem, whatever boards the game has);
//! - a board-period's entries: `T#<t>#G#<game>#LB#<boardId>#<period>` / `E#<inverted score>#
//!   <reachedUs>#<user>` (the order of the board) and `U#<user>` (where the user's entry is);
//! - its count tree, sharded by user: `...#<period>#T<shard>` / `N<level>#<prefix>`, one count
//!   attribute `c<digit>` per child.
//!
//! Closed periods' items carry `expiresAt` (the period's end + 90 days).

use crate::decimal;
use crate::domain::leaderboards::{self as domain, Board, BoardRecord, Counts, Standing};
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, GameId, TenantId};
use crate::store::award::AwardKeys;
use crate::store::games::{Game, game_not_found};
use crate::store::{self, Item, Store, StoreError, TTL_ATTRIBUTE, attrs, keys, request_error};
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, Select, TransactWriteItem, Update};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};

type Key = (String, String);

pub const BOARDS_SK: &str = "LEADERBOARDS";

pub fn boards_key(tenant: &TenantId, game_id: &GameId) -> Key {
    (keys::game_pk(tenant, game_id), BOARDS_SK.to_owned())
}

/// GSI1 partition of the boards items of games with a periodic board (the closer's list).
pub const PERIODIC_BOARDS_PK: &str = "PERIODIC_BOARDS";
/// The sort key of a board-period's marker: the period was closed (its event emitted).
pub const CLOSED_SK: &str = "CLOSED";

/// Every game with a periodic board: its tenant, id and boards (from GSI1, eventually
/// consistent: a board defined a moment ago is closed by the next run).
pub async fn periodic_games(store: &Store) -> ApiResult<Vec<(TenantId, GameId, Defined)>> {
    let items = store
        .query_every(
            Some(store::GSI1),
            (store::GSI1PK, PERIODIC_BOARDS_PK.to_owned()),
            None,
        )
        .await?;
    let mut games = Vec::new();
    for item in items {
        // GSI1SK is the game's partition key, `T#<tenant>#G#<gameId>`.
        let ids = attrs::s(&item, store::GSI1SK).and_then(|pk| {
            let rest = pk.strip_prefix("T#")?;
            let (tenant, game) = rest.split_once("#G#")?;
            Some((TenantId::try_new(tenant).ok()?, GameId::try_new(game).ok()?))
        });
        if let Some((tenant, game_id)) = ids {
            games.push((tenant, game_id, Defined::from_item(Some(item))?));
        }
    }
    Ok(games)
}

/// The transaction items that close a board-period once: its marker (conditioned on being
/// new, with the period's TTL) and the event.
pub fn close_items(
    table: &str,
    pk: &str,
    expires_at: Option<i64>,
    event: &crate::domain::events::Event,
    now_secs: i64,
) -> ApiResult<Vec<TransactWriteItem>> {
    let mut marker = store::key(pk, CLOSED_SK);
    marker.insert("entity".into(), store::s("leaderboardClosed"));
    marker.insert("eventId".into(), store::s(event.id.clone()));
    if let Some(at) = expires_at {
        marker.insert(TTL_ATTRIBUTE.into(), store::n(at));
    }
    Ok(vec![
        store::tx::put_new(table, marker)?,
        store::outbox::put(table, event, now_secs)?,
    ])
}

pub fn standings_key(tenant: &TenantId, user: &ExternalId, game_id: &GameId) -> Key {
    (keys::user_pk(tenant, user), format!("LB#{game_id}"))
}

/// The partition of one board-period's entries.
pub fn entries_pk(tenant: &TenantId, game_id: &GameId, board_id: &str, period: &str) -> String {
    format!("{}#LB#{board_id}#{period}", keys::game_pk(tenant, game_id))
}

fn tree_pk(entries_pk: &str, shard: u32) -> String {
    format!("{entries_pk}#T{shard}")
}

pub fn pointer_sk(user: &str) -> String {
    format!("U#{user}")
}

/// The game's defined boards (the implicit one is not stored) and the item's version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Defined {
    pub boards: Vec<BoardRecord>,
    pub version: u64,
}

impl Defined {
    pub fn from_item(item: Option<Item>) -> ApiResult<Defined> {
        let Some(item) = item else {
            return Ok(Defined::default());
        };
        let boards = match item.get("boards") {
            Some(value) => serde_dynamo::from_attribute_value(value.clone())
                .map_err(|e| ApiError::internal(format!("stored leaderboards: {e}")))?,
            None => vec![],
        };
        Ok(Defined {
            boards,
            version: attrs::u64(&item, "version").unwrap_or(0),
        })
    }

    /// Every board of the game: the implicit one first, then the defined ones.
    pub fn all(&self) -> Vec<Board> {
        std::iter::once(Board::implicit())
            .chain(
                self.boards
                    .iter()
                    .filter_map(|r| Board::parse(r.clone()).ok()),
            )
            .collect()
    }

    /// The transaction item that stores `boards` if the version is still the one read.
    pub fn save(
        table: &str,
        key: &Key,
        boards: &[BoardRecord],
        read_version: u64,
    ) -> ApiResult<TransactWriteItem> {
        let mut item = store::key(key.0.clone(), key.1.clone());
        item.insert("entity".into(), store::s("leaderboards"));
        item.insert(
            "boards".into(),
            serde_dynamo::to_attribute_value(boards).map_err(ApiError::internal)?,
        );
        item.insert("version".into(), store::n(read_version + 1));
        // Games with a periodic board are listed for the period closer (sparse GSI1).
        if boards.iter().any(|b| b.period != "all_time") {
            item.insert(store::GSI1PK.into(), store::s(PERIODIC_BOARDS_PK));
            item.insert(store::GSI1SK.into(), store::s(key.0.clone()));
        }
        let put = Put::builder().table_name(table).set_item(Some(item));
        let put = if read_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :v")
                .expression_attribute_values(":v", store::n(read_version))
        };
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(ApiError::internal)?)
            .build())
    }
}

/// What the award reads of leaderboards: the boards and the user's standings.
#[derive(Debug, Clone, Default)]
pub struct AwardState {
    pub boards: Vec<Board>,
    pub standings: BTreeMap<String, Standing>,
    pub version: u64,
}

pub fn standings_from_item(item: Option<&Item>) -> (BTreeMap<String, Standing>, u64) {
    let Some(item) = item else {
        return (BTreeMap::new(), 0);
    };
    let mut standings = BTreeMap::new();
    if let Some(Ok(map)) = item.get("boards").map(|v| v.as_m()) {
        for (key, value) in map {
            let Ok(entry) = value.as_m() else { continue };
            let standing = (|| {
                Some(Standing {
                    id: attrs::s(entry, "id")?.to_owned(),
                    period: attrs::s(entry, "period")?.to_owned(),
                    score: attrs::decimal(entry, "score")?,
                    reached_us: attrs::i64(entry, "reachedUs")?,
                })
            })();
            if let Some(standing) = standing {
                standings.insert(key.clone(), standing);
            }
        }
    }
    (standings, attrs::u64(item, "version").unwrap_or(0))
}

/// The award's state from the two items its load read.
pub fn award_state(boards: Option<Item>, standings: Option<Item>) -> ApiResult<AwardState> {
    let (standings, version) = standings_from_item(standings.as_ref());
    Ok(AwardState {
        boards: Defined::from_item(boards)?.all(),
        standings,
        version,
    })
}

/// One leaderboard item of an award's transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum LeaderboardWrite {
    /// The user's standings on every board, conditioned on the version read (a concurrent
    /// award of the same user re-decides on fresh scores).
    Standings {
        standings: BTreeMap<String, Standing>,
        read_version: u64,
    },
    /// The entry's previous position.
    RemoveEntry {
        board_id: String,
        period: String,
        sk: String,
    },
    /// The entry at its new position.
    Entry {
        board_id: String,
        period: String,
        sk: String,
        score: Decimal,
        reached_us: i64,
        expires_at: Option<i64>,
    },
    /// Where the user's entry is in this period (reads of past periods start here).
    Pointer {
        board_id: String,
        period: String,
        sk: String,
        score: Decimal,
        reached_us: i64,
        expires_at: Option<i64>,
    },
    /// Count changes of one tree node (`ADD`: commutative, so concurrent awards of other
    /// users need no condition here).
    Node {
        board_id: String,
        period: String,
        shard: u32,
        node: String,
        deltas: Vec<(u8, i64)>,
        expires_at: Option<i64>,
    },
}

fn build<T, E: std::fmt::Display>(result: Result<T, E>) -> ApiResult<T> {
    result.map_err(ApiError::internal)
}

fn entry_item(
    pk: String,
    sk: &str,
    user: &str,
    score: Decimal,
    reached_us: i64,
    expires_at: Option<i64>,
    entity: &str,
) -> Item {
    let mut item = store::key(pk, sk);
    item.insert("entity".into(), store::s(entity));
    item.insert("externalUserId".into(), store::s(user));
    item.insert("score".into(), decimal::attribute(score));
    item.insert("reachedUs".into(), store::n(reached_us));
    if entity == "leaderboardPointer" {
        item.insert("entrySk".into(), store::s(sk));
    }
    if let Some(at) = expires_at {
        item.insert(TTL_ATTRIBUTE.into(), store::n(at));
    }
    item
}

/// The transaction item of one leaderboard write of an award.
pub fn award_item(
    table: &str,
    keys: &AwardKeys,
    write: &LeaderboardWrite,
) -> ApiResult<TransactWriteItem> {
    board_item(
        table,
        &keys.tenant,
        &keys.game_id,
        &keys.external_user_id,
        write,
    )
}

/// The transaction item of one leaderboard write of `user` in `game_id` (an award's, or its
/// reversal's).
pub fn board_item(
    table: &str,
    tenant: &TenantId,
    game_id: &GameId,
    user: &ExternalId,
    write: &LeaderboardWrite,
) -> ApiResult<TransactWriteItem> {
    let standings_key = standings_key(tenant, user, game_id);
    let put = |item: Item| -> ApiResult<TransactWriteItem> {
        let put = build(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .build(),
        )?;
        Ok(TransactWriteItem::builder().put(put).build())
    };
    match write {
        LeaderboardWrite::Standings {
            standings,
            read_version,
        } => {
            let mut item = store::key(standings_key.0, standings_key.1);
            let boards = standings
                .iter()
                .map(|(key, s)| {
                    let entry = HashMap::from([
                        ("id".to_owned(), store::s(s.id.clone())),
                        ("period".to_owned(), store::s(s.period.clone())),
                        ("score".to_owned(), decimal::attribute(s.score)),
                        ("reachedUs".to_owned(), store::n(s.reached_us)),
                    ]);
                    (key.clone(), AttributeValue::M(entry))
                })
                .collect();
            item.insert("entity".into(), store::s("leaderboardStandings"));
            item.insert("gameId".into(), store::s(game_id.clone()));
            item.insert("boards".into(), AttributeValue::M(boards));
            item.insert("version".into(), store::n(read_version + 1));
            let put = Put::builder().table_name(table).set_item(Some(item));
            let put = if *read_version == 0 {
                put.condition_expression("attribute_not_exists(PK)")
            } else {
                put.condition_expression("version = :v")
                    .expression_attribute_values(":v", store::n(read_version))
            };
            Ok(TransactWriteItem::builder()
                .put(build(put.build())?)
                .build())
        }
        LeaderboardWrite::RemoveEntry {
            board_id,
            period,
            sk,
        } => {
            let delete = build(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(store::key(
                        entries_pk(tenant, game_id, board_id, period),
                        sk.clone(),
                    )))
                    .build(),
            )?;
            Ok(TransactWriteItem::builder().delete(delete).build())
        }
        LeaderboardWrite::Entry {
            board_id,
            period,
            sk,
            score,
            reached_us,
            expires_at,
        } => put(entry_item(
            entries_pk(tenant, game_id, board_id, period),
            sk,
            user,
            *score,
            *reached_us,
            *expires_at,
            "leaderboardEntry",
        )),
        LeaderboardWrite::Pointer {
            board_id,
            period,
            sk,
            score,
            reached_us,
            expires_at,
        } => {
            let mut item = entry_item(
                entries_pk(tenant, game_id, board_id, period),
                sk,
                user,
                *score,
                *reached_us,
                *expires_at,
                "leaderboardPointer",
            );
            item.insert("SK".into(), store::s(pointer_sk(user)));
            put(item)
        }
        LeaderboardWrite::Node {
            board_id,
            period,
            shard,
            node,
            deltas,
            expires_at,
        } => {
            let pk = tree_pk(&entries_pk(tenant, game_id, board_id, period), *shard);
            let mut names = HashMap::new();
            let mut values = HashMap::new();
            let mut adds = Vec::new();
            for (i, (digit, delta)) in deltas.iter().enumerate() {
                names.insert(format!("#c{i}"), format!("c{digit}"));
                values.insert(format!(":d{i}"), store::n(delta));
                adds.push(format!("#c{i} :d{i}"));
            }
            let mut expression = format!("ADD {}", adds.join(", "));
            if let Some(at) = expires_at {
                expression.push_str(" SET #ttl = :ttl");
                names.insert("#ttl".into(), TTL_ATTRIBUTE.into());
                values.insert(":ttl".into(), store::n(at));
            }
            let update = build(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(store::key(pk, node.clone())))
                    .update_expression(expression)
                    .set_expression_attribute_names(Some(names))
                    .set_expression_attribute_values(Some(values))
                    .build(),
            )?;
            Ok(TransactWriteItem::builder().update(update).build())
        }
    }
}

/// The writes of a planned award, grouped so no item appears twice in the transaction.
pub fn writes_of(plan: domain::AwardBoards) -> Vec<LeaderboardWrite> {
    let mut writes = vec![LeaderboardWrite::Standings {
        standings: plan.standings,
        read_version: plan.read_version,
    }];
    for change in plan.changes {
        let sk = change.sk.clone();
        if let Some(old) = change.old_sk.clone() {
            writes.push(LeaderboardWrite::RemoveEntry {
                board_id: change.board_id.clone(),
                period: change.period.clone(),
                sk: old,
            });
        }
        writes.push(LeaderboardWrite::Entry {
            board_id: change.board_id.clone(),
            period: change.period.clone(),
            sk: sk.clone(),
            score: change.score,
            reached_us: change.reached_us,
            expires_at: change.expires_at,
        });
        writes.push(LeaderboardWrite::Pointer {
            board_id: change.board_id.clone(),
            period: change.period.clone(),
            sk,
            score: change.score,
            reached_us: change.reached_us,
            expires_at: change.expires_at,
        });
        let mut nodes: BTreeMap<(u32, String), Vec<(u8, i64)>> = BTreeMap::new();
        for m in &change.moves {
            nodes
                .entry((m.shard, m.node.clone()))
                .or_default()
                .push((m.digit, m.delta));
        }
        for ((shard, node), deltas) in nodes {
            writes.push(LeaderboardWrite::Node {
                board_id: change.board_id.clone(),
                period: change.period.clone(),
                shard,
                node,
                deltas,
                expires_at: change.expires_at,
            });
        }
    }
    writes
}

// ---------------------------------------------------------------------------------------
// Reads.

/// A listed entry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    pub sk: String,
    pub user: String,
    pub score: Decimal,
    pub reached_us: i64,
}

impl StoredEntry {
    fn from_item(item: &Item) -> Option<StoredEntry> {
        Some(StoredEntry {
            sk: attrs::s(item, "entrySk")
                .or_else(|| attrs::s(item, store::SK))?
                .to_owned(),
            user: attrs::s(item, "externalUserId")?.to_owned(),
            score: attrs::decimal(item, "score")?,
            reached_us: attrs::i64(item, "reachedUs")?,
        })
    }

    pub fn listed(&self) -> domain::Listed {
        domain::Listed {
            user: self.user.clone(),
            score: self.score,
            reached_us: self.reached_us,
        }
    }
}

/// The game with its boards, and optionally a user's standings item: one BatchGetItem.
pub async fn load_game(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    user: Option<&ExternalId>,
) -> ApiResult<(Game, Defined, Option<Item>)> {
    let game_key = (keys::game_pk(tenant, game_id), keys::GAME_SK.to_owned());
    let mut wanted = vec![game_key, boards_key(tenant, game_id)];
    wanted.extend(user.map(|u| standings_key(tenant, u, game_id)));
    let mut found = store.get_many(&wanted).await?.into_iter();
    let game: Game = match found.next().flatten() {
        Some(item) => store::from_item(item)?,
        None => return Err(game_not_found(game_id)),
    };
    let defined = Defined::from_item(found.next().flatten())?;
    Ok((game, defined, found.next().flatten()))
}

impl Store {
    /// Entries of a board-period in board order, from after `after` (exclusive).
    pub async fn leaderboard_page(
        &self,
        pk: &str,
        after: Option<&str>,
        limit: i32,
        forward: bool,
    ) -> Result<Vec<StoredEntry>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .limit(limit)
            .scan_index_forward(forward)
            .expression_attribute_values(":pk", store::s(pk));
        request = match (after, forward) {
            (Some(after), true) => request
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":from", store::s(format!("{after}\u{0}")))
                .expression_attribute_values(":to", store::s("E#~")),
            (Some(after), false) => request
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":from", store::s("E#"))
                .expression_attribute_values(":to", store::s(after))
                .exclusive_start_key("PK", store::s(pk))
                .exclusive_start_key("SK", store::s(after)),
            (None, _) => request
                .key_condition_expression("PK = :pk AND begins_with(SK, :e)")
                .expression_attribute_values(":e", store::s("E#")),
        };
        let output = request.send().await.map_err(request_error)?;
        Ok(output
            .items
            .unwrap_or_default()
            .iter()
            .filter_map(StoredEntry::from_item)
            .collect())
    }

    /// How many entries sort in `[from, to]`: a COUNT query, paged by DynamoDB's 1 MB.
    pub async fn leaderboard_count(
        &self,
        pk: &str,
        from: &str,
        to: &str,
    ) -> Result<i64, StoreError> {
        if from > to {
            return Ok(0);
        }
        let mut count = 0i64;
        let mut start: Option<Item> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .select(Select::Count)
                .key_condition_expression("PK = :pk AND SK BETWEEN :from AND :to")
                .expression_attribute_values(":pk", store::s(pk))
                .expression_attribute_values(":from", store::s(from))
                .expression_attribute_values(":to", store::s(to))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(request_error)?;
            count += i64::from(output.count);
            match output.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(key) => start = Some(key),
                None => return Ok(count),
            }
        }
    }
}

/// A user's entry in a board-period (its pointer item).
pub async fn pointer(store: &Store, pk: &str, user: &str) -> ApiResult<Option<StoredEntry>> {
    Ok(store
        .get(pk.to_owned(), pointer_sk(user))
        .await?
        .as_ref()
        .and_then(StoredEntry::from_item))
}

/// The count-tree nodes of several (board-period, bucket) paths, in BatchGetItems of ≤ 100.
pub async fn tree_counts(store: &Store, paths: &[(String, u32)]) -> ApiResult<Vec<Counts>> {
    let mut wanted: Vec<Key> = Vec::new();
    let mut owners: Vec<(usize, u32, String)> = Vec::new();
    for (i, (pk, bucket)) in paths.iter().enumerate() {
        for (shard, node) in domain::rank_nodes(*bucket) {
            wanted.push((tree_pk(pk, shard), node.clone()));
            owners.push((i, shard, node));
        }
    }
    let mut counts = vec![Counts::new(); paths.len()];
    let mut found = Vec::with_capacity(wanted.len());
    for chunk in wanted.chunks(100) {
        found.extend(store.get_many(chunk).await?);
    }
    for ((i, shard, node), item) in owners.into_iter().zip(found) {
        let Some(item) = item else { continue };
        let children = item
            .iter()
            .filter_map(|(name, value)| {
                let digit = name.strip_prefix('c')?.parse::<u8>().ok()?;
                Some((digit, value.as_n().ok()?.parse::<i64>().ok()?))
            })
            .collect();
        counts[i].insert((shard, node), children);
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::leaderboards::plan_award;

    fn key_of(item: &TransactWriteItem) -> (String, String) {
        let key = if let Some(put) = item.put() {
            put.item().clone()
        } else if let Some(update) = item.update() {
            update.key().clone()
        } else {
            item.delete().unwrap().key().clone()
        };
        (
            key["PK"].as_s().unwrap().clone(),
            key["SK"].as_s().unwrap().clone(),
        )
    }

    #[test]
    fn an_award_touches_each_item_once_and_as_few_as_the_table_says() {
        let mut weekly = Board::implicit().record;
        weekly.key = "weekly".into();
        weekly.id = "w1".into();
        weekly.period = "weekly".into();
        weekly.time_zone = "Europe/Madrid".into();
        let boards = vec![Board::implicit(), Board::parse(weekly).unwrap()];
        let keys = AwardKeys::new(
            &"t".into(),
            &"0190a0a0-0000-7000-8000-000000000001".into(),
            &"walk".into(),
            &"ana".into(),
            None,
            None,
        );
        let first = plan_award(
            &boards,
            &BTreeMap::new(),
            0,
            "ana",
            "walk",
            Decimal::ONE,
            1_000,
        )
        .unwrap();
        let standings = first.standings.clone();
        let items: Vec<_> = writes_of(first)
            .iter()
            .map(|w| award_item("table", &keys, w).unwrap())
            .collect();
        // standings + per board: entry, pointer, 4 nodes (a new entrant).
        assert_eq!(items.len(), 1 + 2 * 6);
        let next = plan_award(&boards, &standings, 1, "ana", "walk", Decimal::ONE, 2_000).unwrap();
        let items: Vec<_> = writes_of(next)
            .iter()
            .map(|w| award_item("table", &keys, w).unwrap())
            .collect();
        // standings + per board: delete, entry, pointer, the leaf node (1 -> 2 points).
        assert_eq!(items.len(), 1 + 2 * 4);
        let mut seen = std::collections::HashSet::new();
        assert!(items.iter().all(|i| seen.insert(key_of(i))));
        let standings = items[0].put().unwrap();
        assert_eq!(standings.condition_expression(), Some("version = :v"));
        let node = items[4].update().unwrap();
        assert_eq!(node.update_expression(), "ADD #c0 :d0, #c1 :d1");
    }
}
