//! Custom strategies in the table (docs/data-model.md, "Custom strategies"):
//! * family `T#<tenant>#CS#<familyId>` / `FAMILY`: name, maxVersion, the published version and a
//!   copy of its program (what games and tasks run, resolved at load time), `rev`;
//! * version `T#<tenant>#CS#<familyId>` / `V#<version, 10 digits>`: one per (family, version),
//!   created with `attribute_not_exists`, so (tenant, name, version) is unique by construction;
//!   GSI1 `T#<tenant>#CUSTOM` / `<name>\x01<inverted version>` lists them by name, newest first;
//! * name marker `T#<tenant>#CSN#<name>` / `CSN`: makes a name unique within a tenant;
//! * run `T#<tenant>#CSLOG#<familyId>#<version>` / `<createdUs>#<runId>`: the execution log.
//!
//! Items map the types of `domain::custom` (whose serde names are the attribute names); the
//! rules stay there.

use crate::domain::custom::runlog::{LOG_TTL_DAYS, LoggedRun, METRICS_MAX_ROWS, RunReport};
use crate::domain::custom::{
    CustomWarm, Definition, Family, Write, check_published, family_of_strategy_id, family_view,
    is_custom, not_found, parse_id, unknown_custom,
};
use crate::error::ApiResult;
use crate::ids::{GameId, TaskId, TenantId};
use crate::store::{
    self, Filter, GSI1, GSI1PK, GSI1SK, Item, PK, QuerySpec, SK, Store, StoreError, attrs, tx,
};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};

pub mod keys {
    use crate::ids::TenantId;

    pub fn family_pk(tenant: &TenantId, family_id: &str) -> String {
        format!("T#{tenant}#CS#{family_id}")
    }
    pub const FAMILY_SK: &str = "FAMILY";
    pub const VERSION_SK_PREFIX: &str = "V#";
    pub fn version_sk(version: u64) -> String {
        format!("V#{version:010}")
    }
    pub fn name_pk(tenant: &TenantId, name: &str) -> String {
        format!("T#{tenant}#CSN#{name}")
    }
    pub const NAME_SK: &str = "CSN";
    pub fn list_index_pk(tenant: &TenantId) -> String {
        format!("T#{tenant}#CUSTOM")
    }
    pub fn list_index_sk(name: &str, version: u64) -> String {
        format!(
            "{name}\u{1}{:010}",
            9_999_999_999u64.saturating_sub(version)
        )
    }
}

pub mod log_keys {
    use crate::ids::TenantId;

    pub fn log_pk(tenant: &TenantId, family_id: &str, version: u64) -> String {
        format!("T#{tenant}#CSLOG#{family_id}#{version}")
    }
    pub fn log_sk(at_us: i64, run_id: &str) -> String {
        format!("{at_us:020}#{run_id}")
    }
}

pub fn definition_item(def: &Definition) -> Result<Item, StoreError> {
    store::to_item(
        def,
        "customStrategy",
        &[
            (PK, keys::family_pk(&def.tenant, &def.family_id)),
            (SK, keys::version_sk(def.version)),
            (GSI1PK, keys::list_index_pk(&def.tenant)),
            (GSI1SK, keys::list_index_sk(&def.name, def.version)),
        ],
    )
}

pub fn family_item(family: &Family) -> Result<Item, StoreError> {
    store::to_item(
        family,
        "customStrategyFamily",
        &[
            (PK, keys::family_pk(&family.tenant, &family.family_id)),
            (SK, keys::FAMILY_SK.to_owned()),
        ],
    )
}

fn name_item(tenant: &TenantId, name: &str, family_id: &str) -> Item {
    let mut item = store::key(keys::name_pk(tenant, name), keys::NAME_SK);
    item.insert("entity".into(), store::s("customStrategyName"));
    item.insert("familyId".into(), store::s(family_id));
    item
}

/// Put that replaces an item only if its `rev` is still the one we read.
fn put_if_rev(table: &str, item: Item, rev: u64) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("#r = :r")
        .expression_attribute_names("#r", "rev")
        .expression_attribute_values(":r", store::n(rev))
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn write_item(table: &str, write: &Write) -> Result<TransactWriteItem, StoreError> {
    match write {
        Write::NewDefinition(def) => tx::put_new(table, definition_item(def)?),
        Write::Definition { def, expected_rev } => {
            put_if_rev(table, definition_item(def)?, *expected_rev)
        }
        Write::Family {
            family,
            expected_rev,
        } => put_if_rev(table, family_item(family)?, *expected_rev),
    }
}

pub fn family_from_item(item: Item) -> ApiResult<Family> {
    Ok(store::from_item(item)?)
}

/// The version `id` (`<familyId>.<version>`) of `tenant`; 404 when there is none.
pub async fn load_definition(store: &Store, tenant: &TenantId, id: &str) -> ApiResult<Definition> {
    let (family, version) = parse_id(id).ok_or_else(|| not_found(id))?;
    let item = store
        .get(keys::family_pk(tenant, &family), keys::version_sk(version))
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(store::from_item(item)?)
}

pub async fn load_version(
    store: &Store,
    family: &Family,
    version: u64,
) -> ApiResult<Option<Definition>> {
    let item = store
        .get(
            keys::family_pk(&family.tenant, &family.family_id),
            keys::version_sk(version),
        )
        .await?;
    item.map(store::from_item).transpose().map_err(Into::into)
}

pub async fn load_family(
    store: &Store,
    tenant: &TenantId,
    family_id: &str,
) -> ApiResult<Option<Family>> {
    let item = store
        .get(keys::family_pk(tenant, family_id), keys::FAMILY_SK)
        .await?;
    item.map(store::from_item).transpose().map_err(Into::into)
}

/// The version and its family in one round trip.
pub async fn load_with_family(
    store: &Store,
    tenant: &TenantId,
    id: &str,
) -> ApiResult<(Definition, Family)> {
    let (family_id, version) = parse_id(id).ok_or_else(|| not_found(id))?;
    let pk = keys::family_pk(tenant, &family_id);
    let mut found = store
        .get_many(&[
            (pk.clone(), keys::version_sk(version)),
            (pk, keys::FAMILY_SK.to_owned()),
        ])
        .await?
        .into_iter();
    match (found.next().flatten(), found.next().flatten()) {
        (Some(def), Some(family)) => Ok((store::from_item(def)?, store::from_item(family)?)),
        _ => Err(not_found(id)),
    }
}

/// Every version of a family, in key order.
pub async fn load_versions(
    store: &Store,
    tenant: &TenantId,
    family_id: &str,
) -> ApiResult<Vec<Definition>> {
    let items = store
        .query_all(
            &keys::family_pk(tenant, family_id),
            Some(keys::VERSION_SK_PREFIX),
        )
        .await?;
    Ok(items
        .into_iter()
        .map(store::from_item::<Definition>)
        .collect::<Result<Vec<_>, _>>()?)
}

/// One page of the tenant's versions by name, then newest version first, optionally only those
/// of a status and a type; and the next page's cursor.
pub async fn list_definitions(
    store: &Store,
    tenant: &TenantId,
    status: Option<String>,
    kind: Option<String>,
    page_size: i32,
    next_token: Option<&str>,
) -> ApiResult<(Vec<Definition>, Option<String>)> {
    let mut clauses = Vec::new();
    let mut names = Vec::new();
    let mut values = Vec::new();
    if let Some(status) = status {
        clauses.push("#st = :st".to_owned());
        names.push(("#st".to_owned(), "status".to_owned()));
        values.push((":st".to_owned(), store::s(status)));
    }
    if let Some(kind) = kind {
        clauses.push("#ty = :ty".to_owned());
        names.push(("#ty".to_owned(), "type".to_owned()));
        values.push((":ty".to_owned(), store::s(kind)));
    }
    let filter = (!clauses.is_empty()).then(|| Filter {
        expression: clauses.join(" AND "),
        names,
        values,
    });
    let page = store
        .query(QuerySpec {
            index: Some(GSI1),
            partition: (GSI1PK, keys::list_index_pk(tenant)),
            sort_prefix: None,
            limit: page_size,
            forward: true, // by name, then newest version first
            next_token,
            filter,
        })
        .await?;
    let defs = page
        .items
        .into_iter()
        .map(store::from_item::<Definition>)
        .collect::<Result<Vec<_>, _>>()?;
    Ok((defs, page.next_token))
}

/// Commits a new family (name marker, family, version 1). `Ok(false)`: the name is taken.
pub async fn commit_new(store: &Store, def: &Definition, family: &Family) -> ApiResult<bool> {
    let table = store.table();
    let items = vec![
        tx::put_new(table, name_item(&def.tenant, &def.name, &def.family_id))?,
        tx::put_new(table, family_item(family)?)?,
        tx::put_new(table, definition_item(def)?)?,
    ];
    match store.transact(items).await {
        Ok(()) => Ok(true),
        Err(error) => match error.failed_condition() {
            Some((0, _)) => Ok(false),
            _ => Err(error.into()),
        },
    }
}

/// Applies a lifecycle change in one transaction. `Ok(false)`: something changed since it was
/// read (the caller reloads and decides again).
pub async fn commit(store: &Store, writes: &[Write]) -> ApiResult<bool> {
    commit_with(store, writes, Vec::new()).await
}

/// [`commit`] with more items in the same transaction (the outbox item of its event).
pub async fn commit_with(
    store: &Store,
    writes: &[Write],
    extra: Vec<TransactWriteItem>,
) -> ApiResult<bool> {
    let mut items = writes
        .iter()
        .map(|w| write_item(store.table(), w))
        .collect::<Result<Vec<_>, _>>()?;
    items.extend(extra);
    match store.transact(items).await {
        Ok(()) => Ok(true),
        Err(error) if error.failed_condition().is_some() => Ok(false),
        Err(error) => Err(error.into()),
    }
}

/// The family a custom `strategyId` names, in `tenant`, with a published version (GAME's rule
/// at assignment time). Built-in ids are not this function's business.
pub async fn resolve_published(
    store: &Store,
    tenant: &TenantId,
    strategy_id: &str,
) -> ApiResult<Family> {
    let family_id =
        family_of_strategy_id(strategy_id).ok_or_else(|| unknown_custom(strategy_id))?;
    let family = load_family(store, tenant, &family_id)
        .await?
        .ok_or_else(|| unknown_custom(strategy_id))?;
    check_published(&family, strategy_id)?;
    Ok(family)
}

/// Create/patch of a game or task: a custom `strategyId` must name a published family of the
/// caller's tenant. Built-in ids pass (they are validated by `model::known_strategy`).
pub async fn check_assignable(
    store: &Store,
    tenant: &TenantId,
    strategy_id: &str,
) -> ApiResult<()> {
    if is_custom(strategy_id) {
        resolve_published(store, tenant, strategy_id).await?;
    }
    Ok(())
}

/// The custom strategy view for a `strategyId`, loading its family (tenant-scoped).
pub async fn strategy_id_view(
    store: &Store,
    tenant: &TenantId,
    strategy_id: &str,
) -> ApiResult<crate::wire::strategies::CustomStrategyRef> {
    let family = match family_of_strategy_id(strategy_id) {
        Some(id) => load_family(store, tenant, &id).await?,
        None => None,
    };
    Ok(family_view(strategy_id, family.as_ref()))
}

/// The key of the family this (tenant, game, task) ran last in this warm Lambda: the award
/// route adds it to its one BatchGetItem. A miss (cold, or the task changed strategy) costs
/// one GetItem.
pub fn family_hint(
    warm: &CustomWarm,
    tenant: &TenantId,
    game_id: &GameId,
    external_task_id: &TaskId,
) -> Option<(String, String)> {
    let family_id = warm.family_hint(tenant, game_id, external_task_id)?;
    Some((
        keys::family_pk(tenant, &family_id),
        keys::FAMILY_SK.to_owned(),
    ))
}

/// The family key a custom `strategyId` names in `tenant`.
pub fn family_key(tenant: &TenantId, strategy_id: &str) -> Option<(String, String)> {
    let family_id = family_of_strategy_id(strategy_id)?;
    Some((
        keys::family_pk(tenant, &family_id),
        keys::FAMILY_SK.to_owned(),
    ))
}

/// The execution-log item of one run.
pub fn log_item(
    tenant: &TenantId,
    family_id: &str,
    version: u64,
    report: &RunReport,
    duration_ms: f64,
    at_us: i64,
) -> Item {
    let run_id = crate::ids::new_id();
    let mut item = store::key(
        log_keys::log_pk(tenant, family_id, version),
        log_keys::log_sk(at_us, &run_id),
    );
    let mut put = |k: &str, v| {
        item.insert(k.to_owned(), v);
    };
    put("entity", store::s("customStrategyRun"));
    put("status", store::s(report.status));
    put("durationMs", store::n(duration_ms));
    put("nodesExecuted", store::n(report.nodes));
    put("sampled", AttributeValue::Bool(report.status == "ok"));
    put("createdUs", store::n(at_us));
    put(
        store::TTL_ATTRIBUTE,
        store::n(at_us / 1_000_000 + LOG_TTL_DAYS * 86_400),
    );
    put("trace", store::s(report.trace.to_string()));
    let kept = report.trace.as_array().map_or(0, Vec::len);
    if report.trace_len > kept {
        put(
            "note",
            store::s(format!(
                "trace truncated: {} -> {kept} entries",
                report.trace_len
            )),
        );
    }
    if let Some(code) = &report.error_code {
        put("errorCode", store::s(code.clone()));
    }
    if let Some(points) = report.points {
        put("points", store::n(points));
    }
    if let Some(case) = &report.case_name {
        put("caseName", store::s(case.clone()));
    }
    item
}

/// Logs a run when sampled (at `warm`'s rate). A failed log write is logged and never fails the
/// request.
pub async fn log_run(
    store: &Store,
    warm: &CustomWarm,
    tenant: &TenantId,
    family_id: &str,
    version: u64,
    report: &RunReport,
    duration_ms: f64,
) {
    let draw = getrandom::u32().map_or(0.0, |r| f64::from(r) / (f64::from(u32::MAX) + 1.0));
    if !report.sampled(warm.log_sample_rate(), draw) {
        return;
    }
    let at_us = crate::clock::now_micros();
    let item = log_item(tenant, family_id, version, report, duration_ms, at_us);
    let result = store
        .client
        .put_item()
        .table_name(store.table())
        .set_item(Some(item))
        .send()
        .await;
    if let Err(error) = result {
        tracing::warn!(error = %error, "custom strategy execution log: write failed");
    }
}

fn logged_run(item: &Item) -> LoggedRun {
    LoggedRun {
        status: attrs::s(item, "status").unwrap_or("other").to_owned(),
        error_code: attrs::s(item, "errorCode").map(str::to_owned),
        case_name: attrs::s(item, "caseName").map(str::to_owned),
        points: attrs::f64(item, "points"),
        duration_ms: attrs::f64(item, "durationMs").unwrap_or(0.0),
        nodes: attrs::u64(item, "nodesExecuted").unwrap_or(0),
    }
}

/// The logged runs of one version created in [from, to] µs, oldest first: at most
/// [`METRICS_MAX_ROWS`], the newest of the window, so the cost of a metrics read is bounded
/// whatever the traffic. The flag says rows were left out.
pub async fn logged_runs(
    store: &Store,
    tenant: &TenantId,
    family_id: &str,
    version: u64,
    from: i64,
    to: i64,
) -> ApiResult<(Vec<LoggedRun>, bool)> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut truncated = false;
    loop {
        let page = store
            .query(QuerySpec {
                index: None,
                partition: (PK, log_keys::log_pk(tenant, family_id, version)),
                sort_prefix: None,
                limit: 1000,
                forward: false,
                next_token: token.as_deref(),
                filter: Some(Filter {
                    expression: "#at BETWEEN :from AND :to".into(),
                    names: vec![("#at".into(), "createdUs".into())],
                    values: vec![
                        (":from".into(), store::n(from)),
                        (":to".into(), store::n(to)),
                    ],
                }),
            })
            .await?;
        items.extend(page.items);
        if items.len() >= METRICS_MAX_ROWS {
            truncated = page.next_token.is_some() || items.len() > METRICS_MAX_ROWS;
            items.truncate(METRICS_MAX_ROWS);
            break;
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => break,
        }
    }
    // Read newest first; answered oldest first, as `aggregate` expects.
    Ok((items.iter().rev().map(logged_run).collect(), truncated))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sort_key_orders_name_then_newest_version() {
        let a1 = keys::list_index_sk("a", 1);
        let a2 = keys::list_index_sk("a", 2);
        let ab = keys::list_index_sk("ab", 1);
        assert!(a2 < a1 && a1 < ab);
    }
}
