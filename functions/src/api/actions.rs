//! User actions: an append-only event log in the user's partition. Actions never award points
//! (as GAME's code; its docs said "may").

use crate::AppContext;
use crate::clock::micros_to_rfc3339;
use crate::clock::now_micros;
use crate::domain::model::{self, Game, Task};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::authenticate;
use crate::identity::rate_limit;
use crate::store::games::game_not_found;
use crate::store::users::DEFAULT_CONVERSION_RATE;
use crate::store::{self, Item, keys};
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

const ACTION_ATTEMPTS: u32 = 4;

fn tx_put(table: &str, item: Item, condition: &str) -> ApiResult<TransactWriteItem> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression(condition)
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

fn tx_check(
    table: &str,
    key: Item,
    condition: &str,
    names: &[(&str, &str)],
    values: Vec<(&str, aws_sdk_dynamodb::types::AttributeValue)>,
) -> ApiResult<TransactWriteItem> {
    let mut check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key))
        .condition_expression(condition);
    for (name, attribute) in names {
        check = check.expression_attribute_names(*name, *attribute);
    }
    for (name, value) in values {
        check = check.expression_attribute_values(name, value);
    }
    Ok(TransactWriteItem::builder()
        .condition_check(check.build().map_err(ApiError::internal)?)
        .build())
}

fn new_user_item(tenant: &str, external_user_id: &str, created_at: &str) -> Item {
    let mut item = store::key(keys::user_pk(tenant, external_user_id), keys::USER_SK);
    for (name, value) in [
        ("entity", store::s("user")),
        ("externalUserId", store::s(external_user_id)),
        ("createdAt", store::s(created_at)),
        ("pointsBalance", store::n(0)),
        ("coinsBalance", store::n(0)),
        ("conversionRate", store::n(DEFAULT_CONVERSION_RATE)),
    ] {
        item.insert(name.into(), value);
    }
    item
}

struct ActionRecord<'a> {
    tenant: &'a str,
    external_user_id: &'a str,
    type_action: &'a str,
    data: &'a Value,
    description: Option<&'a str>,
    game: Option<(&'a Game, &'a Task)>,
}

/// Commits the action with the user (created when missing) and answers whether it was created.
/// `guard` is an extra condition the commit must hold (the task still open).
async fn commit_action(
    ctx: &AppContext,
    record: &ActionRecord<'_>,
    guard: Option<TransactWriteItem>,
) -> ApiResult<(String, String, bool)> {
    let table = &ctx.store.table;
    let user_key = (
        keys::user_pk(record.tenant, record.external_user_id),
        keys::USER_SK.to_owned(),
    );
    for attempt in 0..ACTION_ATTEMPTS {
        let exists = ctx
            .store
            .get(user_key.0.clone(), user_key.1.clone())
            .await?
            .is_some();
        let id = crate::ids::new_id();
        let created_at = micros_to_rfc3339(now_micros());
        let mut action = store::key(user_key.0.clone(), keys::action_sk(&id));
        for (name, value) in [
            ("entity", store::s("action")),
            ("id", store::s(id.clone())),
            ("externalUserId", store::s(record.external_user_id)),
            ("typeAction", store::s(record.type_action)),
            (
                "data",
                serde_dynamo::to_attribute_value(record.data).map_err(ApiError::internal)?,
            ),
            ("createdAt", store::s(created_at.clone())),
        ] {
            action.insert(name.into(), value);
        }
        if let Some(description) = record.description {
            action.insert("description".into(), store::s(description));
        }
        if let Some((game, task)) = record.game {
            action.insert("gameId".into(), store::s(game.game_id.clone()));
            action.insert(
                "externalTaskId".into(),
                store::s(task.external_task_id.clone()),
            );
        }
        let mut items: Vec<TransactWriteItem> = guard.iter().cloned().collect();
        let user_index = items.len();
        if exists {
            items.push(tx_check(
                table,
                store::key(user_key.0.clone(), user_key.1.clone()),
                "attribute_exists(PK)",
                &[],
                vec![],
            )?);
        } else {
            items.push(tx_put(
                table,
                new_user_item(record.tenant, record.external_user_id, &created_at),
                "attribute_not_exists(PK)",
            )?);
        }
        items.push(tx_put(table, action, "attribute_not_exists(PK)")?);
        match ctx.store.transact(items).await {
            Ok(()) => return Ok((id, created_at, !exists)),
            Err(error) => match error.failed_condition() {
                Some((i, _)) if i == user_index => store::backoff(attempt).await, // created or removed meanwhile
                Some(_) => {
                    return Err(ApiError::new(
                        StatusCode::GONE,
                        "task_not_open",
                        "Task is not active: it was closed or deleted.",
                    ));
                }
                None => return Err(error.into()),
            },
        }
    }
    Err(ApiError::conflict(
        "concurrent_modification",
        "The user kept changing while this action was recorded; retry it.",
    )
    .with_header("retry-after", "1"))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskActionBody {
    type_action: String,
    data: Value,
    #[serde(default)]
    description: Option<String>,
    external_user_id: String,
}

fn check_action(type_action: &str, data: &Value) -> ApiResult<()> {
    model::validate_text("typeAction", type_action, 200)?;
    if !data.is_object() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "data must be a JSON object.",
        ));
    }
    Ok(())
}

/// `POST /games/{gameId}/tasks/{externalTaskId}/action`: logs an action on an open task.
pub async fn task_action(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: TaskActionBody = json_body(&req)?;
    check_action(&body.type_action, &body.data)?;
    crate::ids::validate_slug("externalUserId", &body.external_user_id)?;
    let caller = authenticate(ctx, &req).await?;
    rate_limit::charge(ctx, &caller, &http::source_ip(&req), &body.external_user_id).await?;
    let game_id = path_param(&req, "gameId")?;
    let external_task_id = path_param(&req, "externalTaskId")?;
    if uuid::Uuid::parse_str(&game_id).is_err() {
        return Err(game_not_found(&game_id));
    }
    let game_pk = keys::game_pk(&caller.tenant, &game_id);
    let task_sk = keys::task_sk(&external_task_id);
    let mut found = ctx
        .store
        .get_many(&[
            (game_pk.clone(), keys::GAME_SK.to_owned()),
            (game_pk.clone(), task_sk.clone()),
        ])
        .await?
        .into_iter();
    let game: Game = store::from_item(
        found
            .next()
            .flatten()
            .ok_or_else(|| game_not_found(&game_id))?,
    )?;
    let task: Task = store::from_item(found.next().flatten().ok_or_else(|| {
        ApiError::not_found(
            "task_not_found",
            format!("Task not found with externalTaskId: {external_task_id} in gameId: {game_id}"),
        )
    })?)?;
    if task.status != model::TASK_OPEN {
        return Err(ApiError::new(
            StatusCode::GONE,
            "task_not_open",
            "Task is not active: its status is not \"open\".",
        ));
    }
    // The task must still be open when the action commits (a concurrent close or delete wins).
    let guard = tx_check(
        &ctx.store.table,
        store::key(game_pk, task_sk),
        "#status = :open",
        &[("#status", "status")],
        vec![(":open", store::s(model::TASK_OPEN))],
    )?;
    let record = ActionRecord {
        tenant: &caller.tenant,
        external_user_id: &body.external_user_id,
        type_action: &body.type_action,
        data: &body.data,
        description: body.description.as_deref(),
        game: Some((&game, &task)),
    };
    let (id, created_at, _) = commit_action(ctx, &record, Some(guard)).await?;
    http::created(&json!({
        "id": id,
        "created_at": created_at,
        "updated_at": created_at,
        "typeAction": body.type_action,
        "data": body.data,
        "description": body.description,
        "externalUserId": body.external_user_id,
        "gameId": game.game_id,
        "externalTaskId": task.external_task_id,
        "message": "Action added successfully",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UserActionBody {
    type_action: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    description: Option<String>,
}

/// `POST /users/{externalUserId}/actions`: logs an action, creating the user if needed.
pub async fn user_action(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: UserActionBody = json_body(&req)?;
    let data = body.data.unwrap_or_else(|| json!({}));
    check_action(&body.type_action, &data)?;
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    crate::ids::validate_slug("externalUserId", &external_user_id)?;
    rate_limit::charge(ctx, &caller, &http::source_ip(&req), &external_user_id).await?;
    let record = ActionRecord {
        tenant: &caller.tenant,
        external_user_id: &external_user_id,
        type_action: &body.type_action,
        data: &data,
        description: body.description.as_deref(),
        game: None,
    };
    let (id, _, created) = commit_action(ctx, &record, None).await?;
    http::created(&json!({
        "id": id,
        "typeAction": body.type_action,
        "description": body.description,
        "userId": external_user_id,
        "is_user_created": created,
        "message": "Action added successfully",
    }))
}
