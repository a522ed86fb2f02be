//! User actions: an append-only log in the user's partition, committed with the user (created
//! when missing) and, for a task's action, a check that the task is still open.

use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::games::TASK_OPEN;
use crate::store::users::{DEFAULT_CONVERSION_RATE, UserRecord};
use crate::store::{self, Item, Store, StoreError, attrs, keys, tx};
use aws_sdk_dynamodb::types::{ConditionCheck, TransactWriteItem};
use rust_decimal::Decimal;
use serde_json::Value;

const ATTEMPTS: u32 = 4;

/// One logged action.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionRecord {
    pub id: String,
    pub external_user_id: ExternalId,
    pub type_action: String,
    pub data: Value,
    pub description: Option<String>,
    /// The task the action was logged on (`POST .../tasks/{t}/action`).
    pub task: Option<(GameId, TaskId)>,
    pub created_at: String,
}

impl ActionRecord {
    fn to_item(&self, user_pk: &str) -> Result<Item, StoreError> {
        let mut item = store::key(user_pk.to_owned(), keys::action_sk(&self.id));
        for (name, value) in [
            ("entity", store::s("action")),
            ("id", store::s(self.id.as_str())),
            ("externalUserId", store::s(self.external_user_id.as_str())),
            ("typeAction", store::s(self.type_action.as_str())),
            ("data", store::client_data::attribute(&self.data)),
            ("createdAt", store::s(self.created_at.as_str())),
        ] {
            item.insert(name.into(), value);
        }
        // DynamoDB Local refuses an empty string attribute: an empty description is kept as none.
        if let Some(description) = self.description.as_ref().filter(|d| !d.is_empty()) {
            item.insert("description".into(), store::s(description.as_str()));
        }
        if let Some((game_id, task_id)) = &self.task {
            item.insert("gameId".into(), store::s(game_id.as_str()));
            item.insert("externalTaskId".into(), store::s(task_id.as_str()));
        }
        Ok(item)
    }

    fn from_item(item: &Item) -> Option<ActionRecord> {
        let text = |name| attrs::s(item, name).map(str::to_owned);
        let task = match (text("gameId"), text("externalTaskId")) {
            (Some(game), Some(task)) => {
                Some((GameId::try_new(game).ok()?, TaskId::try_new(task).ok()?))
            }
            _ => None,
        };
        Some(ActionRecord {
            id: text("id")?,
            external_user_id: ExternalId::try_new(attrs::s(item, "externalUserId")?).ok()?,
            type_action: text("typeAction")?,
            data: store::client_data::read(item, "data"),
            description: text("description"),
            task,
            created_at: text("createdAt")?,
        })
    }
}

/// One logged action of a user, if it exists.
pub async fn get(
    store: &Store,
    tenant: &TenantId,
    external_user_id: &ExternalId,
    id: &str,
) -> Result<Option<ActionRecord>, StoreError> {
    let item = store
        .get(keys::user_pk(tenant, external_user_id), keys::action_sk(id))
        .await?;
    item.map(|item| {
        ActionRecord::from_item(&item)
            .ok_or_else(|| StoreError::Decode("unreadable action item".into()))
    })
    .transpose()
}

/// What committing an action came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionCommit {
    Logged {
        user_created: bool,
    },
    /// The task was closed or deleted before the action committed.
    TaskNotOpen,
    /// The user item kept being created or removed under every attempt.
    UserKeptChanging,
}

fn task_still_open(
    table: &str,
    tenant: &TenantId,
    game_id: &GameId,
    task_id: &TaskId,
) -> Result<TransactWriteItem, StoreError> {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(store::key(
            keys::game_pk(tenant, game_id),
            keys::task_sk(task_id),
        )))
        .condition_expression("#status = :open")
        .expression_attribute_names("#status", "status")
        .expression_attribute_values(":open", store::s(TASK_OPEN))
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(TransactWriteItem::builder().condition_check(check).build())
}

/// The action on its day's dashboard counters (and the user, when the action creates it).
fn dashboard_count(
    table: &str,
    tenant: &TenantId,
    action: &ActionRecord,
    creates_user: bool,
) -> Result<TransactWriteItem, StoreError> {
    store::dashboard::update_item(
        table,
        tenant,
        action.external_user_id.as_str(),
        action.created_at.get(..10).unwrap_or_default(),
        &store::dashboard::Increment {
            actions: 1,
            new_users: u64::from(creates_user),
            ..Default::default()
        },
    )
    .map_err(|e| StoreError::Request(e.detail))
}

/// Commits the action with its user in one transaction; a user created or removed meanwhile is
/// re-read and the commit retried.
pub async fn commit(
    store: &Store,
    tenant: &TenantId,
    action: &ActionRecord,
) -> Result<ActionCommit, StoreError> {
    let user_key = (
        keys::user_pk(tenant, &action.external_user_id),
        keys::USER_SK.to_owned(),
    );
    let table = store.table();
    for attempt in 0..ATTEMPTS {
        let exists = store
            .get(user_key.0.clone(), user_key.1.clone())
            .await?
            .is_some();
        let mut items = Vec::with_capacity(3);
        if let Some((game_id, task_id)) = &action.task {
            items.push(task_still_open(table, tenant, game_id, task_id)?);
        }
        let user_index = items.len();
        items.push(if exists {
            tx::require_exists(table, store::key(user_key.0.clone(), user_key.1.clone()))?
        } else {
            let user = UserRecord {
                external_user_id: action.external_user_id.clone(),
                created_at: action.created_at.clone(),
                points_balance: Decimal::ZERO,
                coins_balance: Decimal::ZERO,
                conversion_rate: DEFAULT_CONVERSION_RATE,
            };
            tx::put_new(table, user.to_item(&user_key))?
        });
        items.push(tx::put_new(table, action.to_item(&user_key.0)?)?);
        items.push(dashboard_count(table, tenant, action, !exists)?);
        match store.transact(items).await {
            Ok(()) => {
                return Ok(ActionCommit::Logged {
                    user_created: !exists,
                });
            }
            Err(error) => match error.failed_condition() {
                Some((i, _)) if i == user_index => store::backoff(attempt).await,
                Some(_) => return Ok(ActionCommit::TaskNotOpen),
                None => return Err(error),
            },
        }
    }
    Ok(ActionCommit::UserKeptChanging)
}
