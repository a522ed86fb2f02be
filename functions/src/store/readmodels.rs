//! What the read models read: the per-(game, task, user) aggregates the award writes and the
//! award items themselves, by key queries only (never scans).

use crate::error::ApiResult;
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::{GSI1, GSI1PK, GSI1SK, Item, Store, attrs, keys};
use rust_decimal::Decimal;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// One user's aggregate on one task (the item `AwardWrite::UserTask` writes).
#[derive(Debug, Clone, PartialEq)]
pub struct UserTaskTotal {
    pub game_id: String,
    pub external_game_id: Option<String>,
    pub external_task_id: String,
    pub external_user_id: String,
    pub points_total: Decimal,
    pub count: u64,
    pub first_us: Option<i64>,
}

/// What [`UserTaskTotal`] reads of the aggregate: not its recent-award series (up to 100
/// timestamps per user, most of the item's bytes).
const TOTAL_FIELDS: &[&str] = &[
    "gameId",
    "externalGameId",
    "externalTaskId",
    "externalUserId",
    "pointsTotal",
    "count",
    "firstUs",
];

impl UserTaskTotal {
    fn from_item(item: &Item) -> Self {
        let text = |name| attrs::s(item, name).unwrap_or_default().to_owned();
        UserTaskTotal {
            game_id: text("gameId"),
            external_game_id: attrs::s(item, "externalGameId").map(str::to_owned),
            external_task_id: text("externalTaskId"),
            external_user_id: text("externalUserId"),
            points_total: attrs::decimal(item, "pointsTotal").unwrap_or_default(),
            count: attrs::u64(item, "count").unwrap_or(0),
            first_us: attrs::i64(item, "firstUs"),
        }
    }
}

/// One award as the read models show it (the item `AwardWrite::Award` writes).
#[derive(Debug, Clone, PartialEq)]
pub struct AwardEntry {
    pub points: Decimal,
    pub case_name: Option<String>,
    pub created_at: Option<String>,
    pub data: Value,
    pub description: Option<String>,
}

impl AwardEntry {
    fn from_item(item: &Item) -> Self {
        AwardEntry {
            // Net of reversals, so the details add up to the totals (docs/ledger.md).
            points: attrs::decimal(item, "points").unwrap_or_default()
                - attrs::decimal(item, "reversedPoints").unwrap_or_default(),
            case_name: attrs::s(item, "caseName").map(str::to_owned),
            created_at: attrs::s(item, "createdAt").map(str::to_owned),
            data: crate::store::client_data::read(item, "data"),
            description: attrs::s(item, "description").map(str::to_owned),
        }
    }
}

/// Each user's aggregate on a task, ordered by externalUserId.
pub async fn task_totals(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
) -> ApiResult<Vec<UserTaskTotal>> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let items = store
        .query_all(&pk, Some(keys::USER_TASK_SK_PREFIX))
        .await?;
    Ok(items.iter().map(UserTaskTotal::from_item).collect())
}

/// One user's aggregate on a task, if the user was ever awarded there.
pub async fn user_task_total(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    external_user_id: &ExternalId,
) -> ApiResult<Option<UserTaskTotal>> {
    let item = store
        .get(
            keys::task_awards_pk(tenant, game_id, external_task_id),
            keys::user_task_sk(external_user_id),
        )
        .await?;
    Ok(item.as_ref().map(UserTaskTotal::from_item))
}

/// A task's awards grouped by user (chronological within a user).
pub async fn task_awards(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    user: Option<&ExternalId>,
) -> ApiResult<BTreeMap<String, Vec<AwardEntry>>> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let prefix = match user {
        Some(user) => format!("{}{user}#", keys::AWARD_SK_PREFIX),
        None => keys::AWARD_SK_PREFIX.to_owned(),
    };
    let mut grouped: BTreeMap<String, Vec<AwardEntry>> = BTreeMap::new();
    for item in store.query_all(&pk, Some(&prefix)).await? {
        let user = attrs::s(&item, "externalUserId")
            .unwrap_or_default()
            .to_owned();
        grouped
            .entry(user)
            .or_default()
            .push(AwardEntry::from_item(&item));
    }
    Ok(grouped)
}

/// A user's aggregates through GSI1, optionally only one game's.
pub async fn user_totals(
    store: &Store,
    tenant: &TenantId,
    external_user_id: &ExternalId,
    game_id: Option<&GameId>,
) -> ApiResult<Vec<UserTaskTotal>> {
    let prefix = game_id.map(|g| format!("{g}#"));
    let items = store
        .query_every(
            Some(GSI1),
            (
                GSI1PK,
                keys::user_aggregates_index_pk(tenant, external_user_id),
            ),
            prefix.as_deref().map(|p| (GSI1SK, p)),
        )
        .await?;
    Ok(items.iter().map(UserTaskTotal::from_item).collect())
}

/// When each user was created (None for a user item that is gone), in batches of 100.
pub async fn users_created_at(
    store: &Store,
    tenant: &TenantId,
    users: &[ExternalId],
) -> ApiResult<BTreeMap<String, Option<String>>> {
    let mut created = BTreeMap::new();
    for chunk in users.chunks(100) {
        let wanted: Vec<(String, String)> = chunk
            .iter()
            .map(|u| (keys::user_pk(tenant, u), keys::USER_SK.to_owned()))
            .collect();
        for (user, item) in chunk.iter().zip(store.get_many(&wanted).await?) {
            created.insert(
                user.to_string(),
                item.and_then(|i| attrs::s(&i, "createdAt").map(str::to_owned)),
            );
        }
    }
    Ok(created)
}

/// A user's aggregates in the games that still exist, each with its game's `createdAt`.
/// Deleting a game removes its items but not its award partitions (awards are immutable), so
/// GSI1 still lists their aggregates: they are dropped here, for every cross-game read model
/// alike. One GSI1 query (all pages) and one BatchGetItem per 100 games.
pub async fn user_totals_in_existing_games(
    store: &Store,
    tenant: &TenantId,
    external_user_id: &ExternalId,
) -> ApiResult<Vec<(UserTaskTotal, Option<String>)>> {
    let totals = user_totals(store, tenant, external_user_id, None).await?;
    let games: BTreeSet<GameId> = totals
        .iter()
        .filter_map(|t| GameId::try_new(t.game_id.as_str()).ok())
        .collect();
    let existing = existing_games(store, tenant, &games).await?;
    Ok(totals
        .into_iter()
        .filter_map(|total| {
            let created_at = existing.get(total.game_id.as_str())?.clone();
            Some((total, created_at))
        })
        .collect())
}

/// Which of `games` exist, each with its `createdAt`, in batches of 100.
async fn existing_games(
    store: &Store,
    tenant: &TenantId,
    games: &BTreeSet<GameId>,
) -> ApiResult<BTreeMap<String, Option<String>>> {
    let games: Vec<&GameId> = games.iter().collect();
    let mut existing = BTreeMap::new();
    for chunk in games.chunks(100) {
        let wanted: Vec<(String, String)> = chunk
            .iter()
            .map(|g| (keys::game_pk(tenant, g), keys::GAME_SK.to_owned()))
            .collect();
        for (game_id, item) in chunk.iter().zip(store.get_many(&wanted).await?) {
            if let Some(item) = item {
                let created_at = attrs::s(&item, "createdAt").map(str::to_owned);
                existing.insert(game_id.to_string(), created_at);
            }
        }
    }
    Ok(existing)
}

/// Where a page of a task's user rows starts: at the first user, after a user (the previous
/// page ended with them), or at a user whose awards the previous page only began.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowsFrom {
    Start,
    After(ExternalId),
    At(ExternalId),
}

/// One query: the sort keys between `lo` and `hi` (inclusive) of a task's award partition,
/// from `start` (exclusive) on, at most `limit` items; and whether DynamoDB stopped early.
async fn range_query(
    store: &Store,
    pk: &str,
    (lo, hi): (&str, &str),
    start: Option<String>,
    limit: i32,
    projection: &[&str],
) -> ApiResult<(Vec<Item>, Option<String>)> {
    use crate::store::{PK, SK, request_error, s};
    let mut request = store
        .client
        .query()
        .table_name(&store.table)
        .consistent_read(true)
        .key_condition_expression("#pk = :pk AND #sk BETWEEN :lo AND :hi")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":lo", s(lo))
        .expression_attribute_values(":hi", s(hi))
        .limit(limit);
    if !projection.is_empty() {
        // Placeholders for every name: some (data, count) are reserved words.
        let mut names = Vec::with_capacity(projection.len());
        for (i, name) in projection.iter().enumerate() {
            let placeholder = format!("#p{i}");
            request = request.expression_attribute_names(&placeholder, *name);
            names.push(placeholder);
        }
        request = request.projection_expression(names.join(", "));
    }
    if let Some(sk) = start {
        request = request
            .exclusive_start_key(PK, s(pk))
            .exclusive_start_key(SK, s(sk));
    }
    let output = request.send().await.map_err(request_error)?;
    let last = output
        .last_evaluated_key
        .and_then(|key| attrs::s(&key, SK).map(str::to_owned));
    Ok((output.items.unwrap_or_default(), last))
}

/// Sorts after every sort key that starts with `prefix` (whose last character is `#`): ids
/// are `[A-Za-z0-9_-]`, all above `$`, so `USER#` … `USER$` is exactly the `USER#` items.
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.trim_end_matches('#').to_owned();
    end.push('$');
    end
}

/// At most `limit` users' aggregates on a task from `from` in externalUserId order, and
/// whether more follow. Reads `limit + 1` so that "more" is never a guess.
pub async fn task_totals_page(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    from: &RowsFrom,
    limit: usize,
) -> ApiResult<(Vec<UserTaskTotal>, bool)> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let lo = match from {
        RowsFrom::At(user) => keys::user_task_sk(user),
        _ => keys::USER_TASK_SK_PREFIX.to_owned(),
    };
    let hi = prefix_end(keys::USER_TASK_SK_PREFIX);
    let mut start = match from {
        RowsFrom::After(user) => Some(keys::user_task_sk(user)),
        _ => None,
    };
    let mut totals = Vec::new();
    loop {
        let want = limit + 1 - totals.len();
        let (items, last) = range_query(
            store,
            &pk,
            (&lo, &hi),
            start,
            i32::try_from(want).unwrap_or(i32::MAX),
            TOTAL_FIELDS,
        )
        .await?;
        totals.extend(items.iter().map(UserTaskTotal::from_item));
        match last {
            // DynamoDB stops at 1 MB too: follow it until the page (plus one) is read.
            Some(sk) if totals.len() <= limit => start = Some(sk),
            _ => break,
        }
    }
    let more = totals.len() > limit;
    totals.truncate(limit);
    Ok((totals, more))
}

/// Which attributes of an award a read model shows: the game routes list points, case and
/// time; the task routes add the client's data and description. Only those are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwardFields {
    Summary,
    WithData,
}

impl AwardFields {
    fn projection(self) -> &'static [&'static str] {
        const SUMMARY: &[&str] = &[
            crate::store::SK,
            "externalUserId",
            "points",
            "reversedPoints",
            "caseName",
            "createdAt",
        ];
        const WITH_DATA: &[&str] = &[
            crate::store::SK,
            "externalUserId",
            "points",
            "reversedPoints",
            "caseName",
            "createdAt",
            "data",
            "description",
        ];
        match self {
            AwardFields::Summary => SUMMARY,
            AwardFields::WithData => WITH_DATA,
        }
    }
}

/// The most awards one query asks for. DynamoDB also ends a page at 1 MB, so a page read past
/// the budget costs at most that.
const MAX_AWARDS_PER_QUERY: u64 = 2000;
/// Asked for even when the aggregates say nothing is left (they may be behind the awards).
const MIN_AWARDS_PER_QUERY: u64 = 100;

/// The first `limit` awards of a task (every user's, in key order), projected as `fields` say:
/// what [`awards_of_users`] reads first for a page that starts at the task's first user, read
/// at the same time as that page's totals (one round trip where it was two).
pub async fn first_awards(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    fields: AwardFields,
    limit: u64,
) -> ApiResult<AwardsRead> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let lo = keys::AWARD_SK_PREFIX.to_owned();
    let hi = prefix_end(keys::AWARD_SK_PREFIX);
    let limit = limit.clamp(1, MAX_AWARDS_PER_QUERY);
    let (items, last_key) = range_query(
        store,
        &pk,
        (&lo, &hi),
        None,
        i32::try_from(limit).unwrap_or(i32::MAX),
        fields.projection(),
    )
    .await?;
    Ok(AwardsRead { items, last_key })
}

/// One query's awards and the key it stopped at (none: the range was read to its end).
pub struct AwardsRead {
    items: Vec<Item>,
    last_key: Option<String>,
}

/// The awards of the users `first` ..= `last` of a task (grouped by user, chronological within
/// a user), starting after award `after` of `first` when given. `ahead`, when given, is the
/// first query's answer, read before the range was known ([`first_awards`]): its awards
/// outside the range are dropped. `expected` is how many awards
/// the aggregates say the range holds: each query asks for what is left of it (one round trip
/// when the aggregates are right; fewer, larger pages measured 158 → 33 ms on DynamoDB Local
/// for 1,600 awards, with the projection, from boto3). Stops reading once `budget` is spent, counting each
/// award as `cost` says, so the last user may come back incomplete: the boolean says whether
/// the range was read to its end.
#[allow(clippy::too_many_arguments)]
pub async fn awards_of_users(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
    (first, after): (&ExternalId, Option<&str>),
    last: &ExternalId,
    (fields, expected): (AwardFields, u64),
    budget: usize,
    cost: impl Fn(&AwardEntry) -> usize,
    mut ahead: Option<AwardsRead>,
) -> ApiResult<(Vec<(String, String, AwardEntry)>, bool)> {
    let pk = keys::task_awards_pk(tenant, game_id, external_task_id);
    let lo = format!("{}{first}#", keys::AWARD_SK_PREFIX);
    let hi = format!("{}{last}$", keys::AWARD_SK_PREFIX);
    let mut start = after.map(|award| keys::award_sk(first, award));
    let mut awards = Vec::new();
    let mut spent = 0usize;
    loop {
        let left = expected.saturating_sub(awards.len() as u64);
        // What the aggregates say is left, and no more than the budget has room for at the
        // size seen so far (the aggregates may be behind: the loop follows the last key).
        let mut limit = left.saturating_add(1).max(MIN_AWARDS_PER_QUERY);
        if let Some(average) = spent.checked_div(awards.len()).filter(|a| *a > 0) {
            let room = budget.saturating_sub(spent) / average + 1;
            limit = limit.min(room as u64);
        }
        let limit = limit.clamp(1, MAX_AWARDS_PER_QUERY);
        let (items, mut last_key) = match ahead.take() {
            Some(read) => (read.items, read.last_key),
            None => {
                range_query(
                    store,
                    &pk,
                    (&lo, &hi),
                    start,
                    i32::try_from(limit).unwrap_or(i32::MAX),
                    fields.projection(),
                )
                .await?
            }
        };
        for item in &items {
            let sk = attrs::s(item, crate::store::SK).unwrap_or_default();
            if sk > hi.as_str() {
                // Read ahead past the range's last user: the range is complete.
                last_key = None;
                break;
            }
            if sk < lo.as_str() {
                continue;
            }
            let award_id = sk.rsplit('#').next().unwrap_or_default().to_owned();
            let user = attrs::s(item, "externalUserId")
                .unwrap_or_default()
                .to_owned();
            let entry = AwardEntry::from_item(item);
            spent = spent.saturating_add(cost(&entry));
            awards.push((user, award_id, entry));
            if spent > budget {
                return Ok((awards, false));
            }
        }
        match last_key {
            Some(sk) => start = Some(sk),
            None => return Ok((awards, true)),
        }
    }
}
