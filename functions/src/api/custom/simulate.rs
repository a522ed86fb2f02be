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
use crate::ids::{ExternalId, GameId, TaskId, TenantId};
use crate::store::custom as custom_store;
use crate::store::games::game_id_by_external;
use crate::store::{self, GSI1, GSI1PK};
use crate::wire::custom::{
    ParentOutcome, SimulateBody, SimulationResult, Usage, UsingGame, UsingTask,
};
use game_scoring::dsl::CustomStrategy;
use lambda_http::{Body, Request, Response};
use serde_json::Value;

/// The state a simulation reads: what an award of (game, task, user) in the caller's tenant
/// would read (the award's own load), or nothing when the game does not exist (then only
/// `mockState` and defaults).
async fn load_sim_state(
    ctx: &AppContext,
    tenant: &TenantId,
    body: &SimulateBody,
    strategy: &CustomStrategy,
) -> ApiResult<crate::store::award::Loaded> {
    // Ids that break the rules cannot name stored state: the simulation runs on defaults.
    let (Ok(external_game_id), Ok(task_id), Ok(user_id)) = (
        ExternalId::try_new(body.external_game_id.as_str()),
        TaskId::try_new(body.external_task_id.as_str()),
        ExternalId::try_new(body.external_user_id.as_str()),
    ) else {
        return Ok(Default::default());
    };
    let found = game_id_by_external(&ctx.store, tenant, &external_game_id).await?;
    let Some(game_id) = found else {
        return Ok(Default::default());
    };
    let presented = body
        .data
        .as_ref()
        .and_then(game_scoring::greencrowd::presented_hash);
    let keys =
        crate::store::award::AwardKeys::new(tenant, &game_id, &task_id, &user_id, None, presented)
            .with_shards(crate::store::games::Game::DEFAULT_SHARDS);
    let program = SubmittedProgram(strategy);
    crate::store::award::load(&ctx.store, &keys, &program, crate::clock::now_micros()).await
}

/// A simulation scores the program it was given, whatever the stored task runs.
struct SubmittedProgram<'a>(&'a CustomStrategy);

impl crate::store::award::CustomResolver for SubmittedProgram<'_> {
    fn hint(&self, _: &TenantId, _: &GameId, _: &TaskId) -> Option<(String, String)> {
        None
    }
    fn family_key(&self, _: &TenantId, _: &str) -> ApiResult<(String, String)> {
        Err(ApiError::internal("a simulation resolves no family"))
    }
    fn program(
        &self,
        _: &TenantId,
        _: &model::Task,
        _: Option<crate::store::Item>,
    ) -> ApiResult<crate::store::award::CustomProgram> {
        Err(ApiError::internal("a simulation resolves no family"))
    }
    fn is_custom(&self, _: &str) -> bool {
        false
    }
    fn needs_greencrowd(&self) -> bool {
        self.0.needs().contains(&game_scoring::Need::Greencrowd)
    }
}

/// Runs `strategy` on the simulation state: DSL_EXTEND runs fully (pre, parent, post).
/// Persists nothing.
fn simulate_run(
    strategy: &CustomStrategy,
    body: &SimulateBody,
    state: &crate::store::award::Loaded,
    now_us: i64,
    simulation_key: &[u8],
    deadline: &dyn Fn() -> bool,
) -> ApiResult<SimulationResult> {
    use crate::domain::analytics::{self, Scoring};
    // The award's own checks of data: what it would refuse, a simulation refuses.
    let data = crate::domain::input::optional_data(body.data.clone())?;
    let no_params = Vec::new();
    let game_params = state.game.as_ref().map_or(&no_params, |g| &g.params);
    let task_params_list = state.task.as_ref().map_or(&no_params, |t| &t.params);
    let scoring = Scoring::Custom(strategy);
    let variables = scoring.variables(game_params, task_params_list)?;
    let task_params = analytics::param_pairs(task_params_list);
    let cell = game_scoring::gi_star::task_cell(&task_params);
    let mut analytics = analytics::analytics(&scoring.needs(), &state.aggregates, cell).map_err(|_| {
        ApiError::unprocessable(
            "unknown_game",
            "A program extending greencrowdStrategy simulates the game's greencrowd tasks: externalGameId must name a game of this tenant.",
        )
    })?;
    analytics.progression = crate::domain::progression::loaded_snapshot(state, now_us);
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
    // What the award would refuse, the simulation refuses, with the same status and code.
    let points = crate::domain::award::custom_points(&out).map_err(|error| {
        error.with(
            "executionTrace",
            serde_json::to_value(&out.trace).unwrap_or(Value::Null),
        )
    })?;
    // What the award would do to levels, achievements and the streak (issue 13).
    let progression = match (
        &out.case_name,
        ExternalId::try_new(body.external_user_id.as_str()),
    ) {
        (Some(_), Ok(_)) => crate::domain::progression::simulate(state, &input, points, deadline)?,
        _ => None,
    };
    Ok(SimulationResult {
        points: out.points_json(),
        case_name: out.case_name.clone(),
        callback_data: out.callback_data.clone(),
        execution_trace: out
            .trace
            .iter()
            .map(|entry| serde_json::to_value(entry).unwrap_or(Value::Null))
            .collect(),
        nodes_executed: out.nodes,
        vetoed: out.vetoed,
        progression,
        parent: out.parent.as_ref().map(|parent| ParentOutcome {
            points: crate::decimal::from_points(parent.points).map(crate::decimal::to_json),
            case_name: parent.case_name.to_string(),
        }),
    })
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
    let state = load_sim_state(ctx, &caller.tenant, body, strategy).await?;
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
        for task in crate::store::games::load_tasks(&ctx.store, &game).await? {
            if uses(&task.strategy_id) {
                tasks.push(UsingTask {
                    task_id: task.task_id,
                    external_task_id: task.external_task_id.to_string(),
                    game_id: game.game_id.to_string(),
                    external_game_id: game.external_game_id.to_string(),
                    strategy_id: task.strategy_id,
                });
            }
        }
        if uses(&game.strategy_id) {
            games.push(UsingGame {
                game_id: game.game_id.to_string(),
                external_game_id: game.external_game_id.to_string(),
                platform: game.platform,
                strategy_id: game.strategy_id,
            });
        }
    }
    http::ok(&Usage {
        strategy_id: format!("{CUSTOM_PREFIX}{}", def.family_id),
        id: def.id(),
        family_id: def.family_id,
        name: def.name,
        version: def.version,
        status: def.status,
        game_count: games.len(),
        task_count: tasks.len(),
        games,
        tasks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::award::{AwardInput, AwardRequest, decide};
    use crate::domain::model::Param;
    use crate::store::award::{CustomProgram, Loaded};
    use crate::store::games::{Game, Task};
    use game_scoring::StrategyKind;
    use game_scoring::dsl::DslKind;
    use serde_json::json;
    use std::sync::Arc;

    fn state(strategy: &Arc<CustomStrategy>, awards_before: u64) -> Loaded {
        let param = |key: &str, value: i64| Param {
            id: key.into(),
            key: key.into(),
            value: json!(value),
        };
        let game = Game {
            tenant: "t".into(),
            game_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            external_game_id: "city".into(),
            platform: "web".into(),
            strategy_id: "default".into(),
            params: vec![
                param("variable_basic_points", 7),
                param("variable_bonus_points", 13),
            ],
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
            aggregate_shards: None,
        };
        let task = Task {
            tenant: "t".into(),
            game_id: game.game_id.clone(),
            task_id: "x".into(),
            external_task_id: "walk".into(),
            strategy_id: "custom:f".into(),
            status: "open".into(),
            params: vec![],
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let mut loaded = Loaded {
            game: Some(game),
            task: Some(task),
            custom: Some(CustomProgram {
                strategy: strategy.clone(),
                family_id: "f".into(),
                version: 1,
            }),
            ..Loaded::default()
        };
        let day = 86_400_000_000;
        for i in 0..awards_before {
            loaded
                .aggregates
                .user_task
                .series
                .record(i64::try_from(i).unwrap() * day);
        }
        loaded.aggregates.task_series.count = awards_before * 4;
        loaded
    }

    /// What is simulated is what would be awarded: same state, same program, same answer.
    #[test]
    fn simulate_scores_exactly_what_the_award_would() {
        let strategy = Arc::new(
            CustomStrategy::new(
                &json!({"type": "program", "rules": []}),
                DslKind::Extend(StrategyKind::Default),
            )
            .unwrap(),
        );
        let mut seen = std::collections::BTreeSet::new();
        for awards_before in [0, 1, 3, 12] {
            let loaded = state(&strategy, awards_before);
            let now_us = 20 * 86_400_000_000;
            let request = AwardRequest {
                external_user_id: "ana".into(),
                data: json!({}),
                is_simulated: false,
                idempotency_key: None,
                request_hash: String::new(),
                time_zone: None,
            };
            let awarded = decide(
                &AwardInput {
                    game: loaded.game.as_ref().unwrap(),
                    task: loaded.task.as_ref().unwrap(),
                    loaded: &loaded,
                    request: &request,
                    award_id: "a",
                    ledger_id: "l",
                    now_us,
                    simulation_key: b"",
                    idempotency_ttl_secs: 1,
                },
                &|| false,
                &mut None,
            )
            .unwrap();
            let body = SimulateBody {
                external_game_id: "city".into(),
                external_task_id: "walk".into(),
                external_user_id: "ana".into(),
                data: None,
                mock_state: None,
                ast_json: None,
                kind: None,
                parent_strategy_id: None,
            };
            let simulated =
                simulate_run(&strategy, &body, &loaded, now_us, b"", &|| false).unwrap();
            assert_eq!(simulated.points, awarded.response.points, "{awards_before}");
            assert_eq!(simulated.case_name, Some(awarded.response.case_name));
            seen.insert(awarded.response.points.to_string());
        }
        // The state and the game's params are read: the four states do not all score alike.
        assert!(seen.len() > 1, "{seen:?}");
    }
}
