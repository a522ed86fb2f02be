//! The award decision, pure: from what was loaded, the request and what the shell supplies
//! (the new ids, `now`, the signing key), the outcome, the response and every write of the
//! commit. No clock, no randomness, no I/O: the handler loads, calls [`decide`] and commits.

use crate::decimal;
use crate::domain::analytics::{self, Scoring};
use crate::domain::custom::dsl_error;
use crate::domain::custom::runlog::RunReport;
use crate::domain::greencrowd;
use crate::error::{ApiError, ApiResult};
use crate::ids::{ExternalId, IdempotencyKey};
use crate::store::award::{Aggregates, AwardRecord, AwardWrite, Loaded};
use crate::store::games::{Game, Task};
use crate::store::users::{DEFAULT_CONVERSION_RATE, LedgerEntry, UserRecord};
use crate::wire::points::AwardResponse;
use game_scoring::Need;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The parsed award request.
#[derive(Debug, Clone)]
pub struct AwardRequest {
    pub external_user_id: ExternalId,
    pub data: Value,
    pub is_simulated: bool,
    pub idempotency_key: Option<IdempotencyKey>,
    /// Hash of the canonical request body: a replay must carry the same one.
    pub request_hash: String,
    /// The user's IANA zone for streaks (validated), stored on first use.
    pub time_zone: Option<String>,
}

/// Everything one decision reads.
pub struct AwardInput<'a> {
    pub game: &'a Game,
    pub task: &'a Task,
    pub loaded: &'a Loaded,
    pub request: &'a AwardRequest,
    /// Fresh ids for the award and its ledger entry (the shell draws them).
    pub award_id: &'a str,
    pub ledger_id: &'a str,
    /// Decision time, from [`decision_time`].
    pub now_us: i64,
    pub simulation_key: &'a [u8],
    pub idempotency_ttl_secs: i64,
}

/// The decision: what to answer and what to write.
#[derive(Debug, Clone)]
pub struct Decision {
    pub points: Decimal,
    pub case_name: String,
    pub created_user: bool,
    pub response: AwardResponse,
    /// The exact writes of the commit, in transaction order.
    pub writes: Vec<AwardWrite>,
}

/// Decision time never goes behind what was already recorded: a Lambda whose clock lags
/// another's by a few ms still records in order instead of failing the series' check.
pub fn decision_time(clock_us: i64, aggregates: &Aggregates) -> i64 {
    clock_us
        .max(aggregates.task_series.last_us)
        .max(aggregates.user_task.series.series.last_us)
        .max(aggregates.user_game_last_us)
}

fn strategy_error(error: game_scoring::StrategyError) -> ApiError {
    if error.is_client_error() {
        ApiError::unprocessable("strategy_rejected", error.to_string())
    } else if let game_scoring::StrategyError::UnknownStrategy(_) = error {
        ApiError::unprocessable("unknown_strategy", error.to_string())
    } else {
        ApiError::internal(error)
    }
}

/// The seed of random strategies: the same (game, user, idempotency key) draws the same.
pub fn rng_seed(game_id: &str, user: &str, key: &str) -> u64 {
    let digest = Sha256::digest(format!("{game_id}\u{0}{user}\u{0}{key}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(bytes)
}

/// The points, case name and callback data of one scoring.
struct Scored {
    points: Decimal,
    case_name: String,
    callback_data: Option<Value>,
}

/// The points a custom strategy's run awards, or the award's refusal: non-numeric, infinite
/// or NaN points are the run's `DSL_*` error (400), points beyond an exact decimal 422
/// `strategy_rejected`. The one check of both the award and the simulator, so a simulation
/// predicts the award's answer.
pub fn custom_points(out: &game_scoring::dsl::DslOutcome<'_>) -> ApiResult<Decimal> {
    let points = out.points().map_err(|e| dsl_error(&e))?;
    decimal::from_points(points).ok_or_else(|| {
        ApiError::unprocessable(
            "strategy_rejected",
            "The strategy computed points out of range.",
        )
    })
}

fn run_custom(
    strategy: &game_scoring::dsl::CustomStrategy,
    input: &game_scoring::ScoreInput<'_>,
    deadline: &dyn Fn() -> bool,
    report: &mut Option<RunReport>,
) -> ApiResult<Scored> {
    let out = match strategy.run(
        &game_scoring::dsl::DslInput {
            score: *input,
            mock_state: None,
        },
        deadline,
    ) {
        Ok(out) => out,
        Err(failure) => {
            *report = Some(RunReport::failed(
                failure.error.status().as_str(),
                failure.error.code.as_str(),
                failure.nodes,
                &failure.trace,
            ));
            return Err(dsl_error(&failure.error));
        }
    };
    let fail = |report: &mut Option<RunReport>, error: ApiError| {
        *report = Some(RunReport::failed(
            "error", error.code, out.nodes, &out.trace,
        ));
        error
    };
    let Some(case_name) = out.case_name.clone() else {
        return Err(fail(
            report,
            ApiError::unprocessable(
                "custom_strategy_no_match",
                "The custom strategy matched no rule and has no default, so it awards nothing; add a default to the program.",
            ),
        ));
    };
    let points = match custom_points(&out) {
        Ok(points) => points,
        Err(error) => return Err(fail(report, error)),
    };
    *report = Some(RunReport::ok(points, &case_name, out.nodes, &out.trace));
    Ok(Scored {
        points,
        case_name,
        callback_data: out.callback_data_opt().cloned(),
    })
}

/// Scores the award on the loaded state and prepares every write of the commit. `deadline`
/// is the wall-clock check a custom strategy's run consults (the handler passes an
/// `Instant`-based one); `report` receives a custom run's report for the execution log.
pub fn decide(
    input: &AwardInput<'_>,
    deadline: &dyn Fn() -> bool,
    report: &mut Option<RunReport>,
) -> ApiResult<Decision> {
    let (game, task, loaded, request) = (input.game, input.task, input.loaded, input.request);
    let now_us = input.now_us;
    let custom = loaded.custom.as_ref().map(|c| c.strategy.as_ref());
    let scoring = match custom {
        Some(strategy) => Scoring::Custom(strategy),
        None => Scoring::BuiltIn(&task.strategy_id),
    };
    let variables = scoring.variables(&game.params, &task.params)?;
    let needs = scoring.needs();
    let task_params = analytics::param_pairs(&task.params);
    let cell = game_scoring::gi_star::task_cell(&task_params);
    let mut analytics = analytics::analytics(&needs, &loaded.aggregates, cell)
        .map_err(|_| ApiError::internal("greencrowd state was not loaded"))?;
    analytics.progression = crate::domain::progression::loaded_snapshot(loaded, now_us);
    let seed_key = request.idempotency_key.as_deref().unwrap_or(input.award_id);
    let score_input = game_scoring::ScoreInput {
        game_id: &game.external_game_id,
        task_id: &task.external_task_id,
        user_id: &request.external_user_id,
        data: &request.data,
        now_us,
        variables: &variables,
        task_params: &task_params,
        analytics: &analytics,
        simulation_key: input.simulation_key,
        rng_seed: rng_seed(&game.game_id, &request.external_user_id, seed_key),
    };
    let outcome = match custom {
        Some(strategy) => run_custom(strategy, &score_input, deadline, report)?,
        None => {
            let outcome =
                game_scoring::score(&task.strategy_id, &score_input).map_err(strategy_error)?;
            Scored {
                points: decimal::from_points(outcome.points).ok_or_else(|| {
                    ApiError::unprocessable(
                        "strategy_rejected",
                        "The strategy computed points out of range.",
                    )
                })?,
                case_name: outcome.case_name.to_owned(),
                callback_data: outcome.callback_data,
            }
        }
    };
    let points = outcome.points;
    let mut data = match &request.data {
        Value::Object(map) => Value::Object(map.clone()),
        _ => json!({}),
    };
    if let Some(callback) = &outcome.callback_data {
        data["callbackData"] = callback.clone();
        crate::domain::input::check_stored_data(&data)?;
    }
    let created_at = crate::clock::micros_to_rfc3339(now_us);
    let created_user = loaded.user.is_none();
    let progression = crate::domain::progression::for_award(
        loaded,
        &score_input,
        points,
        input.award_id,
        request.time_zone.as_deref(),
        cell,
        deadline,
    )?;
    let response = AwardResponse {
        points: decimal::to_json(points),
        case_name: outcome.case_name.clone(),
        is_a_created_user: created_user,
        game_id: game.game_id.to_string(),
        external_task_id: task.external_task_id.to_string(),
        created_at: created_at.clone(),
        award_id: input.award_id.to_owned(),
        is_simulated: request.is_simulated.then_some(true),
        progression: progression.as_ref().map(|p| p.block.clone()),
    };
    let minutes = game_scoring::analytics::minutes_of(&request.data);
    let greencrowd_next = loaded
        .aggregates
        .greencrowd
        .as_ref()
        .filter(|_| needs.contains(&Need::Greencrowd))
        .map(|state| greencrowd::next_states(state, Some((&task.external_task_id, now_us, &data))));
    let mut writes = plan(
        input,
        &Planned {
            points,
            case_name: &outcome.case_name,
            data: &data,
            created_at: &created_at,
            response: &response,
            minutes,
            cell,
            greencrowd: greencrowd_next,
            progression: progression.is_some(),
        },
    );
    if let Some(p) = &progression {
        let origin = crate::domain::events::AwardOrigin {
            tenant: &game.tenant,
            award_id: input.award_id,
            occurred_at: &created_at,
            external_game_id: game.external_game_id.as_str(),
            external_user_id: request.external_user_id.as_str(),
        };
        writes.extend(
            crate::domain::events::progression_events(&origin, &p.block, p.broken_streak)
                .into_iter()
                .map(|event| AwardWrite::Outbox {
                    event: Box::new(event),
                    now_secs: now_us.div_euclid(1_000_000),
                }),
        );
    }
    writes.extend(
        progression
            .into_iter()
            .flat_map(|p| p.writes)
            .map(AwardWrite::Progression),
    );
    Ok(Decision {
        points,
        case_name: outcome.case_name,
        created_user,
        response,
        writes,
    })
}

/// What scoring produced, for the writes.
struct Planned<'a> {
    points: Decimal,
    case_name: &'a str,
    data: &'a Value,
    created_at: &'a str,
    response: &'a AwardResponse,
    minutes: Option<f64>,
    cell: Option<(usize, usize)>,
    greencrowd: Option<(greencrowd::GameState, greencrowd::UserState)>,
    /// Whether the game's progression counted the award (its points are in the user's total).
    progression: bool,
}

/// Every write of one award, in transaction order.
fn plan(input: &AwardInput<'_>, out: &Planned<'_>) -> Vec<AwardWrite> {
    let (game, task, loaded, request) = (input.game, input.task, input.loaded, input.request);
    let now_us = input.now_us;
    let mut writes = Vec::with_capacity(12);
    if let Some(key) = &request.idempotency_key {
        writes.push(AwardWrite::Idempotency {
            key: key.clone(),
            request_hash: request.request_hash.clone(),
            body: serde_json::to_string(out.response).unwrap_or_default(),
            now_us,
            ttl_secs: input.idempotency_ttl_secs,
        });
    }
    // Decided first: the award records which boards counted it, so its reversal can undo
    // exactly those (docs/ledger.md).
    let board_writes = loaded
        .leaderboards
        .as_ref()
        .map(|boards| {
            crate::domain::leaderboards::award_writes(
                boards,
                &request.external_user_id,
                &task.external_task_id,
                out.points,
                now_us,
            )
        })
        .unwrap_or_default();
    writes.push(AwardWrite::Award(AwardRecord {
        award_id: input.award_id.to_owned(),
        game_id: game.game_id.clone(),
        external_game_id: game.external_game_id.clone(),
        external_task_id: task.external_task_id.clone(),
        external_user_id: request.external_user_id.clone(),
        points: out.points,
        case_name: out.case_name.to_owned(),
        data: out.data.clone(),
        strategy_id: task.strategy_id.clone(),
        created_at: out.created_at.to_owned(),
        created_us: now_us,
        idempotency_key: request.idempotency_key.clone(),
        counted_boards: crate::domain::leaderboards::counted_board_ids(&board_writes),
        counted_progression: out.progression,
    }));
    let mut aggregate = loaded.aggregates.user_task.clone();
    aggregate.series.record(now_us);
    aggregate.points_total += out.points;
    writes.push(AwardWrite::UserTask {
        aggregate,
        external_game_id: game.external_game_id.clone(),
        read_version: loaded.aggregates.user_task.version,
    });
    // The game's hot aggregates: the user's shard of each (docs/data-model.md, "Hot items").
    let shard = crate::store::keys::aggregate_shard(&request.external_user_id, game.shards());
    writes.push(AwardWrite::TaskSeries { now_us, shard });
    writes.push(AwardWrite::UserGame {
        now_us,
        minutes: out.minutes,
    });
    if let Some((game_state, user_state)) = &out.greencrowd {
        writes.push(AwardWrite::GreencrowdGame(Box::new(game_state.clone())));
        writes.push(AwardWrite::GreencrowdUser(Box::new(user_state.clone())));
        if game_scoring::greencrowd::presented_hash(&request.data).is_some() {
            writes.push(AwardWrite::UsedSimulation {
                award_id: input.award_id.to_owned(),
            });
        }
    }
    if let Some(minutes) = out.minutes {
        writes.push(AwardWrite::GameMinutes { minutes, shard });
    }
    if let Some(cell) = out.cell {
        writes.push(AwardWrite::GridCell { cell, shard });
    }
    writes.push(AwardWrite::DashboardDay {
        day: crate::domain::dashboard::day_of_micros(now_us),
        points: out.points,
        new_user: loaded.user.is_none(),
    });
    match &loaded.user {
        None => writes.push(AwardWrite::NewUser(UserRecord {
            external_user_id: request.external_user_id.clone(),
            created_at: out.created_at.to_owned(),
            points_balance: out.points,
            coins_balance: Decimal::ZERO,
            conversion_rate: DEFAULT_CONVERSION_RATE,
        })),
        Some(user) => writes.push(AwardWrite::Credit {
            points: out.points,
            read: (user.points_balance, user.coins_balance),
        }),
    }
    writes.push(AwardWrite::Ledger(LedgerEntry {
        id: input.ledger_id.to_owned(),
        transaction_type: "AssignPoints",
        points: out.points,
        coins: Decimal::ZERO,
        applied_conversion_rate: 0,
        award_id: Some(input.award_id.to_owned()),
        game_id: Some(game.game_id.clone()),
        external_task_id: Some(task.external_task_id.clone()),
        data: Some(out.data.clone()),
        created_at: out.created_at.to_owned(),
        after: Some(match &loaded.user {
            None => (out.points, Decimal::ZERO),
            Some(user) => (user.points_balance + out.points, user.coins_balance),
        }),
    }));
    writes.extend(board_writes.into_iter().map(AwardWrite::Leaderboard));
    writes.push(AwardWrite::Outbox {
        event: Box::new(crate::domain::events::Event::new(
            input.award_id,
            crate::domain::events::AWARD_CREATED,
            &game.tenant,
            out.created_at,
            crate::domain::events::award_data(
                out.response,
                game.external_game_id.as_str(),
                request.external_user_id.as_str(),
                &crate::decimal::to_json(out.points),
                out.data,
            ),
        )),
        now_secs: now_us.div_euclid(1_000_000),
    });
    writes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::Param;
    use crate::store::award::{AwardKeys, CustomProgram, UserTaskAggregate};
    use crate::store::{self, Item};
    use game_scoring::MinutesAgg;

    const AWARD_ID: &str = "0190a0a0-0000-7000-8000-0000000000aa";
    const LEDGER_ID: &str = "0190a0a0-0000-7000-8000-0000000000bb";

    struct Scene {
        game: Game,
        task: Task,
        loaded: Loaded,
    }

    fn scene(strategy: &str, params: Vec<Param>) -> Scene {
        let game = Game {
            tenant: "t".into(),
            game_id: "0190a0a0-0000-7000-8000-000000000001".into(),
            external_game_id: "city".into(),
            platform: "web".into(),
            strategy_id: strategy.into(),
            params: vec![],
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
            strategy_id: strategy.into(),
            status: "open".into(),
            params,
            version: 1,
            created_at: String::new(),
            updated_at: String::new(),
        };
        Scene {
            game,
            task,
            loaded: Loaded::default(),
        }
    }

    fn decide_on(
        scene: &Scene,
        request: &AwardRequest,
        now_us: i64,
        deadline: &dyn Fn() -> bool,
        report: &mut Option<RunReport>,
    ) -> ApiResult<Decision> {
        decide(
            &AwardInput {
                game: &scene.game,
                task: &scene.task,
                loaded: &scene.loaded,
                request,
                award_id: AWARD_ID,
                ledger_id: LEDGER_ID,
                now_us,
                simulation_key: b"",
                idempotency_ttl_secs: 86_400,
            },
            deadline,
            report,
        )
    }

    fn decide_plain(scene: &Scene, request: &AwardRequest, now_us: i64) -> ApiResult<Decision> {
        decide_on(scene, request, now_us, &|| false, &mut None)
    }

    fn with_custom(ast: Value) -> Scene {
        let mut scene = scene("custom:00000000-0000-7000-8000-000000000000", vec![]);
        scene.loaded.custom = Some(CustomProgram {
            strategy: std::sync::Arc::new(
                game_scoring::dsl::CustomStrategy::new(&ast, game_scoring::dsl::DslKind::Full)
                    .unwrap(),
            ),
            family_id: "00000000-0000-7000-8000-000000000000".into(),
            version: 1,
        });
        scene
    }

    fn request(data: Value) -> AwardRequest {
        AwardRequest {
            external_user_id: "ana".into(),
            request_hash: crate::store::idempotency::request_hash(&data),
            data,
            is_simulated: false,
            idempotency_key: Some("k1".into()),
            time_zone: None,
        }
    }

    fn user_task(decision: &Decision) -> &UserTaskAggregate {
        decision
            .writes
            .iter()
            .find_map(|w| match w {
                AwardWrite::UserTask { aggregate, .. } => Some(aggregate),
                _ => None,
            })
            .unwrap()
    }

    #[test]
    fn custom_runs_report_and_past_deadline_is_dsl_timeout() {
        // 40 rules that never match: 160 nodes, so the deadline is consulted.
        let rule = json!({"type": "rule", "when": {"type": "compare", "op": "==",
            "left": {"type": "literal", "value": 1}, "right": {"type": "literal", "value": 2}},
            "then": [{"type": "assign_points", "value": {"type": "literal", "value": 1},
                      "case_name": "Never"}]});
        let ast = json!({"type": "program", "rules": vec![rule; 40],
            "default": {"type": "assign_points", "value": {"type": "literal", "value": 4},
                        "case_name": "Fallback"}});
        let scene = with_custom(ast);
        let mut report = None;
        let decision = decide_on(&scene, &request(json!({})), 1, &|| false, &mut report).unwrap();
        assert_eq!(decision.points, Decimal::from(4));
        assert_eq!(decision.case_name, "Fallback");
        let report = report.unwrap();
        assert_eq!(report.status, "ok");
        assert!(report.nodes > 64);

        let mut report = None;
        let error = decide_on(&scene, &request(json!({})), 1, &|| true, &mut report).unwrap_err();
        assert_eq!(error.code, "DSL_TIMEOUT");
        assert_eq!(error.status.as_u16(), 422);
        assert_eq!(report.unwrap().status, "timeout");
    }

    #[test]
    fn custom_no_match_is_422_and_reported() {
        let scene = with_custom(json!({"type": "program", "rules": []}));
        let mut report = None;
        let error = decide_on(&scene, &request(json!({})), 1, &|| false, &mut report).unwrap_err();
        assert_eq!(error.code, "custom_strategy_no_match");
        assert_eq!(error.status.as_u16(), 422);
        let report = report.unwrap();
        assert_eq!(report.status, "error");
        assert_eq!(
            report.error_code.as_deref(),
            Some("custom_strategy_no_match")
        );
    }

    #[test]
    fn first_award_scores_basic_engagement_and_records_the_series() {
        let scene = scene("default", vec![]);
        let decision = decide_plain(&scene, &request(json!({})), 5_000_000).unwrap();
        assert_eq!(decision.points, Decimal::ONE);
        assert_eq!(decision.case_name, "BasicEngagement");
        assert!(decision.created_user);
        assert_eq!(user_task(&decision).series.series.count, 1);
        assert_eq!(user_task(&decision).points_total, Decimal::ONE);
        assert_eq!(decision.response.points, 1);
        assert!(decision.response.is_a_created_user);
        assert_eq!(decision.response.award_id, AWARD_ID);
        assert!(
            matches!(decision.writes.iter().rev().nth(1), Some(AwardWrite::Ledger(entry)) if entry.id == LEDGER_ID)
        );
        // The award's event rides in the same transaction, last, under the award's id.
        match decision.writes.last() {
            Some(AwardWrite::Outbox { event, now_secs }) => {
                assert_eq!(event.id, format!("evt_{AWARD_ID}"));
                assert_eq!(event.event_type, "award.created");
                assert_eq!(event.data["awardId"], AWARD_ID);
                assert_eq!(event.data["externalUserId"], "ana");
                assert_eq!(*now_secs, 5);
            }
            other => panic!("the last write is not the outbox event: {other:?}"),
        }
    }

    #[test]
    fn the_same_inputs_decide_the_same_answer_and_writes() {
        let mut scene = scene("default", vec![]);
        scene.loaded.aggregates.task_series.count = 7;
        let first = decide_plain(&scene, &request(json!({"minutes": 3})), 9_000_000).unwrap();
        let again = decide_plain(&scene, &request(json!({"minutes": 3})), 9_000_000).unwrap();
        assert_eq!(first.response, again.response);
        assert_eq!(first.writes, again.writes);
    }

    #[test]
    fn decision_time_never_goes_behind_what_was_recorded() {
        let mut aggregates = Aggregates::default();
        assert_eq!(decision_time(10, &aggregates), 10);
        aggregates.user_game_last_us = 25;
        aggregates.task_series.last_us = 20;
        assert_eq!(decision_time(10, &aggregates), 25);
    }

    #[test]
    fn fractional_points_stay_exact() {
        let mut scene = scene("greengageStrategy", vec![]);
        scene.loaded.aggregates.user_game.count = 2;
        scene.loaded.aggregates.game_minutes = MinutesAgg {
            sum: 20.0,
            count: 1,
        };
        scene.loaded.aggregates.user_game.minutes = MinutesAgg {
            sum: 15.0,
            count: 1,
        };
        let decision = decide_plain(&scene, &request(json!({"minutes": 16})), 1).unwrap();
        assert_eq!(decision.points.to_string(), "187.5");
        assert_eq!(decision.response.points, 187.5);
        assert!(decision.writes.contains(&AwardWrite::GameMinutes {
            minutes: 16.0,
            shard: 0
        }));
    }

    #[test]
    fn strategy_errors_are_422_with_games_message() {
        let scene = scene("greengageStrategy", vec![]);
        let error = decide_plain(&scene, &request(json!({})), 1).unwrap_err();
        assert_eq!(error.status.as_u16(), 422);
        assert_eq!(error.code, "strategy_rejected");
        assert_eq!(
            error.detail,
            "The \"minutes\" field is required into the data"
        );
    }

    #[test]
    fn the_plan_writes_everything_once_and_checks_the_read_version() {
        let mut scene = scene(
            "getis_ord_gi_star",
            vec![
                Param {
                    id: "1".into(),
                    key: "cellRow".into(),
                    value: json!(0),
                },
                Param {
                    id: "2".into(),
                    key: "cellCol".into(),
                    value: json!(1),
                },
            ],
        );
        scene.loaded.aggregates.user_task.version = 3;
        scene.loaded.user = Some(UserRecord {
            external_user_id: "ana".into(),
            created_at: String::new(),
            points_balance: Decimal::TEN,
            coins_balance: Decimal::ZERO,
            conversion_rate: 100,
        });
        let req = request(json!({"minutes": 4}));
        let decision = decide_plain(&scene, &req, 7_000_000).unwrap();
        assert!(decision.writes.contains(&AwardWrite::GridCell {
            cell: (0, 1),
            shard: 0
        }));
        let keys = AwardKeys::new(
            &"t".into(),
            &scene.game.game_id,
            &"walk".into(),
            &"ana".into(),
            Some("k1"),
            None,
        );
        let (items, index) =
            crate::store::award::transaction("table", &keys, &decision.writes).unwrap();
        // idempotency, award, user-task, task series, user-game, game minutes, grid,
        // dashboard day, user, ledger, outbox event
        assert_eq!(items.len(), 11);
        let outbox = items[10].put().unwrap();
        assert_eq!(outbox.item()["entity"], store::s("outbox"));
        assert_eq!(
            outbox.condition_expression(),
            Some("attribute_not_exists(PK)")
        );
        assert_eq!(index.idempotency, Some(0));
        let user_task = items[2].put().unwrap();
        assert_eq!(user_task.condition_expression(), Some("version = :v"));
        assert_eq!(user_task.item()["version"], store::n(4));
        let grid = items[6].update().unwrap();
        assert_eq!(grid.expression_attribute_names().unwrap()["#cell"], "c_0_1");
        let dashboard = items[7].update().unwrap();
        assert!(
            dashboard
                .update_expression()
                .starts_with("ADD awards :awards")
        );
        let wallet = items[8].update().unwrap();
        // The wallet's write names the balances read, so the entry's balances-after are exact.
        assert_eq!(
            wallet.condition_expression(),
            Some("attribute_exists(PK) AND pointsBalance = :pb AND coinsBalance = :cb")
        );
        let ledger: &Item = items[9].put().unwrap().item();
        assert_eq!(ledger["awardId"], store::s(AWARD_ID));
        assert!(ledger.contains_key("pointsAfter") && ledger.contains_key("coinsAfter"));
    }
}
