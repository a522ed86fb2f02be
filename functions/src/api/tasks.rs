//! Tasks of a game. Path position four is always `{externalTaskId}` (API Gateway allows one
//! parameter name per position; GAME mixed `{taskId}` and `{externalTaskId}` there).

use crate::AppContext;
use crate::api::WRITE_ATTEMPTS;
use crate::api::events;
use crate::api::games::param_views;
use crate::api::{paging, strategies::strategy_view};
use crate::domain::custom;
use crate::domain::model::{self, Game, ParamOwner, Task};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::authenticate;
use crate::ids::TaskId;
use crate::store::custom as custom_store;
use crate::store::games::{
    game_key, game_not_found, load_game, load_game_and_task, task_item, task_key, task_not_found,
};
use crate::store::{self, PK, QuerySpec, SK, keys, tx};
use crate::wire::Page;
use crate::wire::strategies::EffectiveStrategy;
use crate::wire::tasks::{
    BulkCreated, BulkFailure, BulkTasks, CreateTask, DuplicateTask, PatchTask, TaskDeleted,
    TaskSaved, TaskView,
};
use lambda_http::{Body, Request, Response};

pub const MAX_BULK_TASKS: usize = 100;

/// GAME's task answer: the task, its game's params, and its strategy with variables
/// overridden by game params then task params.
pub fn task_view(game: &Game, task: &Task) -> TaskView {
    // Params are checked on every write; if the game's params changed since, show the
    // defaults and say why instead of failing a read.
    let strategy = game_scoring::strategy(&task.strategy_id).map(|info| {
        EffectiveStrategy::Builtin(
            match model::effective_variables(info, &game.params, &task.params) {
                Ok(variables) => strategy_view(info, &variables),
                Err(error) => {
                    let mut strategy = strategy_view(info, &info.default_variables());
                    strategy.variables_error = Some(error.detail);
                    strategy
                }
            },
        )
    });
    TaskView {
        id: task.task_id.clone(),
        task_id: task.task_id.clone(),
        game_id: task.game_id.to_string(),
        external_game_id: game.external_game_id.to_string(),
        external_task_id: task.external_task_id.to_string(),
        strategy_id: task.strategy_id.clone(),
        status: task.status.clone(),
        game_params: param_views(&game.params),
        task_params: param_views(&task.params),
        version: task.version,
        created_at: task.created_at.clone(),
        updated_at: task.updated_at.clone(),
        strategy,
    }
}

fn saved(task: TaskView, message: String) -> TaskSaved {
    TaskSaved { task, message }
}

fn task_exists(game_id: &str, external_task_id: &str) -> ApiError {
    ApiError::conflict(
        "task_exists",
        format!("Task with externalTaskId: {external_task_id} already exists in gameId: {game_id}"),
    )
}

fn validate_task(game: &Game, task: &Task) -> ApiResult<()> {
    model::validate_params(ParamOwner::Task, &task.params)?;
    if custom::is_custom(&task.strategy_id) {
        return Ok(()); // checked against the tenant's families by custom::check_assignable
    }
    let info = model::known_strategy(&task.strategy_id)?;
    model::effective_variables(info, &game.params, &task.params)?;
    Ok(())
}

/// A new task commits only while its game exists, and never over an existing one.
async fn commit_new_task(ctx: &AppContext, game: &Game, task: &Task) -> ApiResult<()> {
    let table = ctx.store.table();
    let items = vec![
        tx::require_exists(table, game_key(&game.tenant, &game.game_id))?,
        tx::put_new(table, task_item(task)?)?,
        events::outbox_item(
            table,
            &task.tenant,
            events::TASK_CREATED,
            &task_view(game, task),
        )?,
    ];
    match ctx.store.transact(items).await {
        Ok(()) => Ok(()),
        Err(error) => match error.failed_condition() {
            Some((0, _)) => Err(game_not_found(&game.game_id)),
            Some(_) => Err(task_exists(&game.game_id, &task.external_task_id)),
            None => Err(error.into()),
        },
    }
}

/// A task without a strategyId inherits its game's (GAME's docs; its code used "default").
fn new_task(game: &Game, body: CreateTask) -> ApiResult<Task> {
    let now = crate::clock::now_rfc3339();
    Ok(Task {
        tenant: game.tenant.clone(),
        game_id: game.game_id.clone(),
        task_id: crate::ids::new_id(),
        external_task_id: TaskId::parse(&body.external_task_id)?,
        strategy_id: body.strategy_id.unwrap_or_else(|| game.strategy_id.clone()),
        status: model::TASK_OPEN.to_owned(),
        params: model::new_params(body.params),
        version: 1,
        created_at: now.clone(),
        updated_at: now,
    })
}

fn created_message(game: &Game, task: &Task) -> String {
    format!(
        "Task created successfully with externalTaskId: {} for gameId: {}",
        task.external_task_id, game.game_id
    )
}

pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateTask = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let task = new_task(&game, body)?;
    validate_task(&game, &task)?;
    custom_store::check_assignable(&ctx.store, &caller.tenant, &task.strategy_id).await?;
    commit_new_task(ctx, &game, &task).await?;
    http::created(&saved(
        with_custom_strategy(ctx, &game, &task).await?,
        created_message(&game, &task),
    ))
}

/// Each task succeeds or fails on its own, as in GAME; the answer lists both.
pub async fn bulk(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: BulkTasks = http::json_body_large(&req)?;
    if body.tasks.len() > MAX_BULK_TASKS {
        return Err(ApiError::unprocessable(
            "too_many_tasks",
            format!(
                "A bulk request holds at most {MAX_BULK_TASKS} tasks; this one has {}.",
                body.tasks.len()
            ),
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let mut created = Vec::new();
    let mut failed = Vec::new();
    for raw in body.tasks {
        let outcome = async {
            let input: CreateTask = serde_json::from_value(raw.clone()).map_err(|e| {
                ApiError::unprocessable(
                    "invalid_body",
                    format!("The task does not have the expected fields: {e}."),
                )
            })?;
            let task = new_task(&game, input)?;
            validate_task(&game, &task)?;
            custom_store::check_assignable(&ctx.store, &caller.tenant, &task.strategy_id).await?;
            commit_new_task(ctx, &game, &task).await?;
            Ok::<_, ApiError>(saved(
                with_custom_strategy(ctx, &game, &task).await?,
                created_message(&game, &task),
            ))
        }
        .await;
        match outcome {
            Ok(view) => created.push(view),
            Err(error) if error.status.is_server_error() => return Err(error),
            Err(error) => failed.push(BulkFailure {
                task: raw,
                error: error.detail,
                code: error.code.to_owned(),
            }),
        }
    }
    http::ok(&BulkCreated {
        succesfully_created: created,
        failed_to_create: failed,
    })
}

pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let page = ctx
        .store
        .query(QuerySpec {
            index: None,
            partition: (PK, keys::game_pk(&game.tenant, &game.game_id)),
            sort_prefix: Some((SK, keys::TASK_SK_PREFIX)),
            limit: page_size,
            forward: true,
            next_token: next_token.as_deref(),
            filter: None,
        })
        .await?;
    let tasks = page
        .items
        .into_iter()
        .map(store::from_item::<Task>)
        .collect::<Result<Vec<_>, _>>()?;
    // One read per distinct custom strategy on the page.
    let mut customs: std::collections::HashMap<&str, _> = std::collections::HashMap::new();
    for task in &tasks {
        if custom::is_custom(&task.strategy_id) && !customs.contains_key(task.strategy_id.as_str())
        {
            let view =
                custom_store::strategy_id_view(&ctx.store, &game.tenant, &task.strategy_id).await?;
            customs.insert(&task.strategy_id, view);
        }
    }
    let items: Vec<TaskView> = tasks
        .iter()
        .map(|task| {
            let mut view = task_view(&game, task);
            if let Some(strategy) = customs.get(task.strategy_id.as_str()) {
                view.strategy = Some(EffectiveStrategy::Custom(strategy.clone()));
            }
            view
        })
        .collect();
    http::ok(&Page::new(items, page_size, page.next_token))
}

pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let (game, task) = load_game_and_task(
        &ctx.store,
        &caller.tenant,
        &game_id,
        &path_param(&req, "externalTaskId")?,
    )
    .await?;
    let message = format!(
        "Task found successfully with externalTaskId: {} for gameId: {game_id}",
        task.external_task_id
    );
    http::ok(&saved(
        with_custom_strategy(ctx, &game, &task).await?,
        message,
    ))
}

/// The task view, with its custom strategy's family when it has one (tenant-scoped read).
async fn with_custom_strategy(ctx: &AppContext, game: &Game, task: &Task) -> ApiResult<TaskView> {
    let mut view = task_view(game, task);
    if custom::is_custom(&task.strategy_id) {
        view.strategy = Some(EffectiveStrategy::Custom(
            custom_store::strategy_id_view(&ctx.store, &task.tenant, &task.strategy_id).await?,
        ));
    }
    Ok(view)
}

fn apply_patch(game: &Game, current: &Task, patch: &PatchTask) -> ApiResult<Task> {
    let mut task = current.clone();
    if let Some(strategy_id) = &patch.strategy_id {
        task.strategy_id.clone_from(strategy_id);
    }
    if let Some(status) = &patch.status {
        model::validate_text("status", status, 50)?;
        task.status.clone_from(status);
    }
    if let Some(params) = &patch.params {
        task.params = model::replace_params(&current.params, params.clone())?;
    }
    validate_task(game, &task)?;
    task.version = current.version + 1;
    task.updated_at = crate::clock::now_rfc3339();
    Ok(task)
}

pub async fn patch(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: PatchTask = json_body(&req)?;
    if body.strategy_id.is_none() && body.status.is_none() && body.params.is_none() {
        return Err(ApiError::unprocessable(
            "empty_patch",
            "The patch changes nothing: send at least one of strategyId, status, params.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let external_task_id = path_param(&req, "externalTaskId")?;
    let table = ctx.store.table();
    for _ in 0..WRITE_ATTEMPTS {
        let (game, current) =
            load_game_and_task(&ctx.store, &caller.tenant, &game_id, &external_task_id).await?;
        let task = apply_patch(&game, &current, &body)?;
        if body.strategy_id.is_some() {
            custom_store::check_assignable(&ctx.store, &caller.tenant, &task.strategy_id).await?;
        }
        let items = vec![
            tx::require_exists(table, game_key(&game.tenant, &game.game_id))?,
            tx::put_versioned(table, task_item(&task)?, current.version)?,
            events::outbox_item(
                table,
                &task.tenant,
                events::TASK_UPDATED,
                &task_view(&game, &task),
            )?,
        ];
        match ctx.store.transact(items).await {
            Ok(()) => {
                let message =
                    format!("Task with externalTaskId: {external_task_id} updated successfully");
                let view = with_custom_strategy(ctx, &game, &task).await?;
                return http::ok(&saved(view, message));
            }
            Err(error) if error.failed_condition().is_some() => continue, // reload: 404 or re-apply
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_modification",
        "The task kept changing while this update was applied; retry it.",
    )
    .with_header("retry-after", "1"))
}

pub async fn delete(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let external_task_id = path_param(&req, "externalTaskId")?;
    let (game, task) =
        load_game_and_task(&ctx.store, &caller.tenant, &game_id, &external_task_id).await?;
    // The delete and its event commit together; a task deleted meanwhile is 404.
    let table = ctx.store.table();
    let items = vec![
        tx::delete_existing(table, task_key(&task))?,
        events::outbox_item(
            table,
            &task.tenant,
            events::TASK_DELETED,
            &task_view(&game, &task),
        )?,
    ];
    if let Err(error) = ctx.store.transact(items).await {
        return match error.failed_condition() {
            Some(_) => Err(task_not_found(&game_id, &external_task_id)),
            None => Err(error.into()),
        };
    }
    http::ok(&TaskDeleted {
        task_id: task.task_id,
        game_id,
        message: format!("Task with externalTaskId: {external_task_id} deleted successfully"),
        external_task_id,
    })
}

pub async fn duplicate(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: DuplicateTask = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let game_id = path_param(&req, "gameId")?;
    let (game, source) = load_game_and_task(
        &ctx.store,
        &caller.tenant,
        &game_id,
        &path_param(&req, "externalTaskId")?,
    )
    .await?;
    let now = crate::clock::now_rfc3339();
    let task = Task {
        task_id: crate::ids::new_id(),
        external_task_id: TaskId::parse(&body.external_task_id)?,
        status: model::TASK_OPEN.to_owned(),
        params: model::copy_params(&source.params),
        version: 1,
        created_at: now.clone(),
        updated_at: now,
        ..source
    };
    validate_task(&game, &task)?;
    commit_new_task(ctx, &game, &task).await?;
    http::created(&saved(
        with_custom_strategy(ctx, &game, &task).await?,
        created_message(&game, &task),
    ))
}
