//! User actions: an append-only event log in the user's partition. Actions never award points
//! (as GAME's code; its docs said "may").

use crate::AppContext;
use crate::clock::now_rfc3339;
use crate::domain::{input, model};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::authenticate;
use crate::identity::rate_limit;
use crate::ids::{ExternalId, new_id};
use crate::store::actions::{self, ActionCommit, ActionRecord};
use crate::store::games::load_game_and_task;
use crate::wire::points::{TaskActionBody, TaskActionCreated};
use crate::wire::users::{UserActionBody, UserActionCreated};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;

fn user_kept_changing() -> ApiError {
    ApiError::conflict(
        "concurrent_modification",
        "The user kept changing while this action was recorded; retry it.",
    )
    .with_header("retry-after", "1")
}

fn task_not_open(why: &str) -> ApiError {
    ApiError::new(
        StatusCode::GONE,
        "task_not_open",
        format!("Task is not active: {why}."),
    )
}

/// `POST /games/{gameId}/tasks/{externalTaskId}/action`: logs an action on an open task.
pub async fn task_action(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: TaskActionBody = json_body(&req)?;
    input::check_action(&body.type_action, body.description.as_deref(), &body.data)?;
    let user_id = ExternalId::parse("externalUserId", &body.external_user_id)?;
    let caller = authenticate(ctx, &req).await?;
    rate_limit::charge(ctx, &caller, &http::source_ip(&req), &body.external_user_id).await?;
    let (game, task) = load_game_and_task(
        &ctx.store,
        &caller.tenant,
        &path_param(&req, "gameId")?,
        &path_param(&req, "externalTaskId")?,
    )
    .await?;
    if task.status != model::TASK_OPEN {
        return Err(task_not_open("its status is not \"open\""));
    }
    let created_at = now_rfc3339();
    let action = ActionRecord {
        id: new_id(),
        external_user_id: user_id,
        type_action: body.type_action,
        data: body.data,
        description: body.description,
        // The task must still be open when the action commits (a concurrent close or delete wins).
        task: Some((game.game_id.clone(), task.external_task_id.clone())),
        created_at: created_at.clone(),
    };
    match actions::commit(&ctx.store, &caller.tenant, &action).await? {
        ActionCommit::Logged { .. } => {}
        ActionCommit::TaskNotOpen => return Err(task_not_open("it was closed or deleted")),
        ActionCommit::UserKeptChanging => return Err(user_kept_changing()),
    }
    http::created(&TaskActionCreated {
        id: action.id,
        updated_at: created_at.clone(),
        created_at,
        type_action: action.type_action,
        data: action.data,
        description: action.description,
        external_user_id: action.external_user_id.to_string(),
        game_id: game.game_id.to_string(),
        external_task_id: task.external_task_id.to_string(),
        message: "Action added successfully".into(),
    })
}

/// `POST /users/{externalUserId}/actions`: logs an action, creating the user if needed.
pub async fn user_action(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: UserActionBody = json_body(&req)?;
    let data = body.data.unwrap_or_else(|| json!({}));
    input::check_action(&body.type_action, body.description.as_deref(), &data)?;
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let user_id = ExternalId::parse("externalUserId", &external_user_id)?;
    rate_limit::charge(ctx, &caller, &http::source_ip(&req), &external_user_id).await?;
    let action = ActionRecord {
        id: new_id(),
        external_user_id: user_id,
        type_action: body.type_action.clone(),
        data,
        description: body.description.clone(),
        task: None,
        created_at: now_rfc3339(),
    };
    let ActionCommit::Logged {
        user_created: created,
    } = actions::commit(&ctx.store, &caller.tenant, &action).await?
    else {
        return Err(task_not_open("it was closed or deleted"));
    };
    http::created(&UserActionCreated {
        id: action.id,
        type_action: body.type_action,
        description: body.description,
        user_id: external_user_id,
        is_user_created: created,
        message: "Action added successfully".into(),
    })
}
