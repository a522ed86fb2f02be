//! Dashboard counters: per tenant, per shard, per UTC day (`T#<tenant>#DASH#<shard>` /
//! `<YYYY-MM-DD>`), changed only by `ADD` in the transaction of the write they count (an
//! award, a game created, an action logged), so they are exact and never need a scan.

use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::ids::TenantId;
use crate::store::{self, Item, PK, SK, Store, StoreError, attrs, request_error};
use aws_sdk_dynamodb::types::{TransactWriteItem, Update};
use rust_decimal::Decimal;
use std::collections::HashMap;
use time::{Date, Month};

pub const ENTITY: &str = "dashboardDay";

/// Counter shards per tenant. Every award writes one shard's item of the day (chosen by the
/// user, so one user's concurrent awards, which already meet on the user's wallet, add no
/// new conflict), and a read queries every shard: 16 parallel Query requests whatever the
/// range (docs/data-model.md, "Dashboard counters").
pub const SHARDS: u32 = 16;

/// The shard of a user's (or game's) counter writes: FNV-1a of the id, so the same id always
/// lands on the same shard, across Lambdas and deployments.
pub fn shard_of(id: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in id.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

/// One day's counters of one shard (or their sum).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DayCounts {
    pub new_users: u64,
    pub games_opened: u64,
    pub actions: u64,
    pub awards: u64,
    pub points: Decimal,
    /// Award requests answered with an error after authentication (4xx and 5xx).
    pub award_errors: u64,
}

impl DayCounts {
    pub fn add(&mut self, other: &DayCounts) {
        self.new_users += other.new_users;
        self.games_opened += other.games_opened;
        self.actions += other.actions;
        self.awards += other.awards;
        self.points += other.points;
        self.award_errors += other.award_errors;
    }
}

/// A date from a stored day (`YYYY-MM-DD`); `None` for anything else.
pub fn stored_day(text: &str) -> Option<Date> {
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

pub fn shard_pk(tenant: &TenantId, shard: u32) -> String {
    format!("T#{tenant}#DASH#{shard:02}")
}

/// What one write adds to its day's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Increment {
    pub new_users: u64,
    pub games_opened: u64,
    pub actions: u64,
    pub awards: u64,
    pub points: Decimal,
    pub award_errors: u64,
}

impl Increment {
    fn expression(
        &self,
    ) -> (
        String,
        HashMap<String, aws_sdk_dynamodb::types::AttributeValue>,
    ) {
        let mut adds = Vec::new();
        let mut values = HashMap::from([(":entity".to_owned(), store::s(ENTITY))]);
        for (name, count) in [
            ("newUsers", self.new_users),
            ("gamesOpened", self.games_opened),
            ("actions", self.actions),
            ("awards", self.awards),
            ("awardErrors", self.award_errors),
        ] {
            if count > 0 {
                adds.push(format!("{name} :{name}"));
                values.insert(format!(":{name}"), store::n(count));
            }
        }
        if self.awards > 0 {
            // Points are added with their award, a zero-point award included.
            adds.push("points :points".to_owned());
            values.insert(":points".into(), decimal::attribute(self.points));
        }
        (
            format!("ADD {} SET entity = :entity", adds.join(", ")),
            values,
        )
    }
}

/// The counter update for a transaction (the award's, a game's creation, an action's).
pub fn update_item(
    table: &str,
    tenant: &TenantId,
    shard_id: &str,
    day: &str,
    increment: &Increment,
) -> ApiResult<TransactWriteItem> {
    let (expression, values) = increment.expression();
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(store::key(shard_pk(tenant, shard_of(shard_id)), day)))
        .update_expression(expression)
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// A counter update on its own (what no transaction carries: a refused award).
pub async fn add(
    store: &Store,
    tenant: &TenantId,
    shard_id: &str,
    day: &str,
    increment: &Increment,
) -> Result<(), StoreError> {
    let (expression, values) = increment.expression();
    store
        .client
        .update_item()
        .table_name(store.table())
        .set_key(Some(store::key(shard_pk(tenant, shard_of(shard_id)), day)))
        .update_expression(expression)
        .set_expression_attribute_values(Some(values))
        .send()
        .await
        .map(|_| ())
        .map_err(request_error)
}

fn counts_of(item: &Item) -> Option<(Date, DayCounts)> {
    let day = stored_day(attrs::s(item, SK)?)?;
    Some((
        day,
        DayCounts {
            new_users: attrs::u64(item, "newUsers").unwrap_or(0),
            games_opened: attrs::u64(item, "gamesOpened").unwrap_or(0),
            actions: attrs::u64(item, "actions").unwrap_or(0),
            awards: attrs::u64(item, "awards").unwrap_or(0),
            points: attrs::decimal(item, "points").unwrap_or_default(),
            award_errors: attrs::u64(item, "awardErrors").unwrap_or(0),
        },
    ))
}

/// The range's day items of every shard: one Query per shard, all in flight at once
/// (`SK BETWEEN first AND last`). A shard holds one item per day, so a range within
/// the dashboard's 731-day cap is one page: [`SHARDS`] requests in all.
pub async fn read(
    store: &Store,
    tenant: &TenantId,
    first: Date,
    last: Date,
) -> ApiResult<Vec<(Date, DayCounts)>> {
    let mut queries = tokio::task::JoinSet::new();
    for shard in 0..SHARDS {
        let store = store.clone();
        let pk = shard_pk(tenant, shard);
        let (first, last) = (first.to_string(), last.to_string());
        queries.spawn(async move { read_shard(&store, pk, first, last).await });
    }
    let mut rows = Vec::new();
    while let Some(done) = queries.join_next().await {
        rows.extend(done.map_err(ApiError::internal)??);
    }
    Ok(rows)
}

async fn read_shard(
    store: &Store,
    pk: String,
    first: String,
    last: String,
) -> ApiResult<Vec<(Date, DayCounts)>> {
    let mut rows = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = store
            .client
            .query()
            .table_name(store.table())
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", store::s(pk.clone()))
            .expression_attribute_values(":first", store::s(first.clone()))
            .expression_attribute_values(":last", store::s(last.clone()))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(request_error)?;
        rows.extend(output.items().iter().filter_map(counts_of));
        match output.last_evaluated_key.filter(|k| !k.is_empty()) {
            Some(key) => start = Some(key),
            None => return Ok(rows),
        }
    }
}
