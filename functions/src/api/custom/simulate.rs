//! Simulation of custom strategies (`POST /strategies/custom/simulate`, `.../{id}/simulate`)
//! and where a family is used (`GET /strategies/custom/{id}/usage`). Persists nothing.

use crate::AppContext;
use crate::domain::custom::{
    CUSTOM_PREFIX, check_text, dsl_error, dsl_kind, family_of_strategy_id, program,
};
use crate::domain::model;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{Caller, authenticate};
use crate::store::custom as custom_store;
use crate::store::{self, GSI1, GSI1PK};
use game_scoring::dsl::CustomStrategy;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SimulateBody {
    external_game_id: String,
    external_task_id: String,
    external_user_id: String,
    #[serde(default)]
    data: Option<Value>,
    #[serde(default)]
    mock_state: Option<serde_json::Map<String, Value>>,
    /// `POST /strategies/custom/simulate` only: the program to run and its type.
    #[serde(default)]
    ast_json: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    parent_strategy_id: Option<String>,
}

/// The state a simulation reads: the real aggregates of (game, task, user) in the caller's
/// tenant, or none when the game does not exist (then only `mockState` and defaults).
struct SimState {
    game: Option<model::Game>,
    task: Option<model::Task>,
    user_task: crate::domain::award::UserTaskAggregate,
    task_series: game_scoring::Series,
    user_game: game_scoring::UserGame,
    game_minutes: game_scoring::MinutesAgg,
    grid_cells: Vec<(usize, usize, f64)>,
    /// greencrowd's state, when the program extends greencrowd and the game exists.
    greencrowd: Option<crate::domain::greencrowd::Loaded>,
}

async fn load_sim_state(
    ctx: &AppContext,
    tenant: &str,
    body: &SimulateBody,
) -> ApiResult<SimState> {
    use crate::store::keys as k;
    let mut state = SimState {
        game: None,
        task: None,
        user_task: Default::default(),
        task_series: Default::default(),
        user_game: Default::default(),
        game_minutes: Default::default(),
        grid_cells: Vec::new(),
        greencrowd: None,
    };
    let marker = ctx
        .store
        .get(
            k::external_game_pk(tenant, &body.external_game_id),
            k::EXTERNAL_GAME_SK,
        )
        .await?;
    let Some(game_id) = marker
        .as_ref()
        .and_then(|m| store::attrs::s(m, "gameId"))
        .map(str::to_owned)
    else {
        return Ok(state);
    };
    let keys = crate::domain::award::AwardKeys::new(
        tenant,
        &game_id,
        &body.external_task_id,
        &body.external_user_id,
        None,
        None,
    );
    let wanted = [
        keys.game.clone(),
        keys.task.clone(),
        keys.user_task.clone(),
        keys.task_series.clone(),
        keys.user_game.clone(),
        keys.game_minutes.clone(),
        keys.grid.clone(),
    ];
    let mut found = ctx.store.get_many(&wanted).await?.into_iter();
    let mut next = || found.next().flatten();
    state.game = next().map(store::from_item).transpose()?;
    state.task = next().map(store::from_item).transpose()?;
    if let Some(item) = next() {
        state.user_task = crate::domain::award::UserTaskAggregate::from_item(&item);
    }
    if let Some(item) = next() {
        state.task_series = crate::domain::award::task_series_from_item(&item);
    }
    if let Some(item) = next() {
        state.user_game = crate::domain::award::user_game_from_item(&item);
    }
    if let Some(item) = next() {
        state.game_minutes = crate::domain::award::minutes_from_item(&item);
    }
    if let Some(item) = next() {
        state.grid_cells = crate::domain::award::grid_from_item(&item);
    }
    Ok(state)
}

/// Runs `strategy` on the simulation state: DSL_EXTEND runs fully (pre, parent, post).
/// Persists nothing.
fn simulate_run(
    strategy: &CustomStrategy,
    body: &SimulateBody,
    state: &SimState,
    now_us: i64,
    simulation_key: &[u8],
    deadline: &dyn Fn() -> bool,
) -> ApiResult<Value> {
    use game_scoring::{Analytics, Grid, Need};
    let data = match &body.data {
        None | Some(Value::Null) => json!({}),
        Some(Value::Object(m)) => Value::Object(m.clone()),
        Some(_) => {
            return Err(ApiError::unprocessable(
                "invalid_body",
                "data must be a JSON object.",
            ));
        }
    };
    let no_params = Vec::new();
    let game_params = state.game.as_ref().map_or(&no_params, |g| &g.params);
    let task_params_list = state.task.as_ref().map_or(&no_params, |t| &t.params);
    let parent = strategy.kind().parent();
    let info = model::known_strategy(parent.map_or(model::DEFAULT_STRATEGY, |p| p.id()))?;
    let variables = if parent.is_some() {
        model::effective_variables(info, game_params, task_params_list)?
    } else {
        info.default_variables()
    };
    let task_params: Vec<(&str, &Value)> = task_params_list
        .iter()
        .map(|p| (p.key.as_str(), &p.value))
        .collect();
    let cell = game_scoring::gi_star::task_cell(&task_params);
    let mut analytics = Analytics::default();
    for need in strategy.needs() {
        match need {
            Need::TaskSeries => analytics.task = Some(state.task_series),
            Need::UserTaskSeries => analytics.user_task = Some(state.user_task.series.clone()),
            Need::UserGame => analytics.user_game = Some(state.user_game),
            Need::GameMinutes => analytics.game_minutes = Some(state.game_minutes),
            Need::CellGrid => {
                analytics.grid =
                    Grid::from_cells(state.grid_cells.iter().copied(), cell.unwrap_or((0, 0)));
            }
            Need::Greencrowd => {
                let greencrowd = state.greencrowd.as_ref().ok_or_else(|| {
                    ApiError::unprocessable(
                        "unknown_game",
                        "A program extending greencrowdStrategy simulates the game's greencrowd tasks: externalGameId must name a game of this tenant.",
                    )
                })?;
                analytics.greencrowd = Some(greencrowd.snapshot());
            }
        }
    }
    let input = game_scoring::ScoreInput {
        game_id: &body.external_game_id,
        task_id: &body.external_task_id,
        user_id: &body.external_user_id,
        data: &data,
        now_us,
        variables: &variables,
        task_params: &task_params,
        analytics: &analytics,
        simulation_key,
        rng_seed: 0,
    };
    let out = strategy
        .run(
            &game_scoring::dsl::DslInput {
                score: input,
                mock_state: body.mock_state.as_ref(),
            },
            deadline,
        )
        .map_err(|failure| {
            dsl_error(&failure.error).with(
                "executionTrace",
                serde_json::to_value(&failure.trace).unwrap_or(Value::Null),
            )
        })?;
    let mut answer = json!({
        "points": out.points_json(),
        "caseName": out.case_name,
        "callbackData": out.callback_data,
        "executionTrace": out.trace,
        "nodesExecuted": out.nodes,
        "vetoed": out.vetoed,
    });
    if let Some(parent) = &out.parent {
        answer["parent"] = json!({
            "points": crate::decimal::from_points(parent.points).map(crate::decimal::to_json),
            "caseName": parent.case_name,
        });
    }
    Ok(answer)
}

const SIMULATION_DEADLINE: std::time::Duration = std::time::Duration::from_millis(500);

async fn simulate_with(
    ctx: &AppContext,
    caller: &Caller,
    body: &SimulateBody,
    strategy: &CustomStrategy,
) -> ApiResult<Response<Body>> {
    for (field, value) in [
        ("externalGameId", &body.external_game_id),
        ("externalTaskId", &body.external_task_id),
        ("externalUserId", &body.external_user_id),
    ] {
        check_text(field, Some(value), 1, 200)?;
    }
    let mut state = load_sim_state(ctx, &caller.tenant, body).await?;
    if strategy.needs().contains(&game_scoring::Need::Greencrowd)
        && let Some(game) = &state.game
    {
        let presented = body
            .data
            .as_ref()
            .and_then(game_scoring::greencrowd::presented_hash);
        state.greencrowd = Some(
            crate::domain::greencrowd::load(
                ctx,
                game,
                &body.external_user_id,
                &body.external_task_id,
                presented,
            )
            .await?,
        );
    }
    let now_us = crate::clock::now_micros();
    let started = std::time::Instant::now();
    let deadline = move || started.elapsed() > SIMULATION_DEADLINE;
    let answer = simulate_run(
        strategy,
        body,
        &state,
        now_us,
        &ctx.simulation_key,
        &deadline,
    )?;
    http::ok(&answer)
}

/// `POST /strategies/custom/simulate`: validate and run the submitted program.
pub async fn simulate(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: SimulateBody = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let kind = body.kind.clone().unwrap_or_else(|| "DSL_FULL".to_owned());
    let dsl_kind = dsl_kind(&kind, body.parent_strategy_id.as_deref())?;
    let ast = body
        .ast_json
        .as_ref()
        .filter(|a| !a.is_null())
        .ok_or_else(|| {
            ApiError::bad_request(
                "DSL_NO_AST_TO_SIMULATE",
                "There is no program to simulate: send astJson.",
            )
        })?;
    let strategy = CustomStrategy::new(ast, dsl_kind).map_err(|e| dsl_error(&e))?;
    simulate_with(ctx, &caller, &body, &strategy).await
}

/// `POST /strategies/custom/{id}/simulate`: run a stored version, whatever its status.
pub async fn simulate_stored(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: SimulateBody = json_body(&req)?;
    if body.ast_json.is_some() || body.kind.is_some() || body.parent_strategy_id.is_some() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "This route simulates the stored program: send externalGameId, externalTaskId, externalUserId, data and mockState only.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let def =
        custom_store::load_definition(&ctx.store, &caller.tenant, &path_param(&req, "id")?).await?;
    if def.ast_text.is_none() {
        return Err(ApiError::bad_request(
            "DSL_NO_AST_TO_SIMULATE",
            "This custom strategy has no program (astJson) to simulate.",
        ));
    }
    let strategy = program(
        &def.kind,
        def.parent_strategy_id.as_deref(),
        def.ast_text.as_deref(),
    )?;
    simulate_with(ctx, &caller, &body, &strategy).await
}

/// `GET /strategies/custom/{id}/usage`: the games and tasks whose `strategyId` names this
/// version's family (any of them runs the family's published version). Reads the tenant's
/// games index and each game's tasks: a cost proportional to the tenant's games.
pub async fn usage(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    use crate::store::keys as k;
    let caller = authenticate(ctx, &req).await?;
    let def =
        custom_store::load_definition(&ctx.store, &caller.tenant, &path_param(&req, "id")?).await?;
    let uses = |strategy_id: &str| {
        family_of_strategy_id(strategy_id).as_deref() == Some(def.family_id.as_str())
    };
    let game_items = ctx
        .store
        .query_every(
            Some(GSI1),
            (GSI1PK, k::games_index_pk(&caller.tenant)),
            None,
        )
        .await?;
    let mut games = Vec::new();
    let mut tasks = Vec::new();
    for item in game_items {
        let game: model::Game = store::from_item(item)?;
        if uses(&game.strategy_id) {
            games.push(json!({
                "gameId": game.game_id,
                "externalGameId": game.external_game_id,
                "platform": game.platform,
                "strategyId": game.strategy_id,
            }));
        }
        let task_items = ctx
            .store
            .query_all(
                &k::game_pk(&game.tenant, &game.game_id),
                Some(k::TASK_SK_PREFIX),
            )
            .await?;
        for item in task_items {
            let task: model::Task = store::from_item(item)?;
            if uses(&task.strategy_id) {
                tasks.push(json!({
                    "taskId": task.task_id,
                    "externalTaskId": task.external_task_id,
                    "gameId": game.game_id,
                    "externalGameId": game.external_game_id,
                    "strategyId": task.strategy_id,
                }));
            }
        }
    }
    http::ok(&json!({
        "strategyId": format!("{CUSTOM_PREFIX}{}", def.family_id),
        "id": def.id(),
        "familyId": def.family_id,
        "name": def.name,
        "version": def.version,
        "status": def.status,
        "gameCount": games.len(),
        "taskCount": tasks.len(),
        "games": games,
        "tasks": tasks,
    }))
}
