//! `GET /games/{gameId}/users/{externalUserId}/points/simulated`: greencrowd's signed
//! projection of what each greencrowd task of the game would pay this user now. Nothing is
//! persisted but the user's control group (assigned on first use, as GAME).

use crate::AppContext;
use crate::clock::now_micros;
use crate::domain::greencrowd;
use crate::domain::model;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, path_param};
use crate::identity::auth::authenticate;
use crate::ids::ExternalId;
use crate::store;
use crate::store::games::load_game;
use crate::wire::custom::{GreencrowdSimulation, SimulatedTask};
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};

fn simulation_view(simulation: &game_scoring::greencrowd::Simulation) -> GreencrowdSimulation {
    use game_scoring::greencrowd::DIMENSIONS;
    GreencrowdSimulation {
        simulation_hash: simulation.simulation_hash.clone(),
        tasks: simulation
            .tasks
            .iter()
            .map(|task| SimulatedTask {
                external_user_id: task.external_user_id.clone(),
                external_task_id: task.external_task_id.clone(),
                user_group: task.user_group.clone(),
                dimensions: DIMENSIONS
                    .iter()
                    .zip(task.dimensions)
                    .map(|(name, value)| [((*name).to_owned(), value)].into())
                    .collect(),
                total_simulated_points: task.total_simulated_points,
                expiration_date: task.expiration_date.clone(),
            })
            .collect(),
    }
}

const GROUP_ATTEMPTS: u32 = 5;

pub async fn simulated(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game = load_game(&ctx.store, &caller.tenant, &path_param(&req, "gameId")?).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let external_user_id = ExternalId::parse("externalUserId", &external_user_id)?;
    if ctx.simulation_key.is_empty() {
        return Err(ApiError::unavailable(
            "simulation_unavailable",
            "Simulations need a signing key and this deployment has none configured.",
        ));
    }
    let info = model::known_strategy(greencrowd::STRATEGY_ID)?;
    let variables = model::effective_variables(info, &game.params, &[])?;
    for attempt in 0..GROUP_ATTEMPTS {
        let loaded = store::award::load_greencrowd(&ctx.store, &game, &external_user_id).await?;
        let now_us = now_micros();
        // A fresh draw per request for random_range; the signature makes it tamper-proof.
        let digest = Sha256::digest(
            format!("{}\u{0}{external_user_id}\u{0}{now_us}", game.game_id).as_bytes(),
        );
        let seed = u64::from_le_bytes(digest[..8].try_into().unwrap_or_default());
        let simulation = game_scoring::greencrowd::simulate(
            &game.external_game_id,
            &external_user_id,
            now_us,
            &variables,
            &greencrowd::snapshot(&loaded),
            seed,
            &ctx.simulation_key,
        )
        .map_err(|e| {
            if e.is_client_error() {
                ApiError::unprocessable("strategy_rejected", e.to_string())
            } else {
                ApiError::internal(e)
            }
        })?;
        let (_, new_group) = greencrowd::group(&loaded);
        if !new_group {
            return http::ok(&simulation_view(&simulation));
        }
        let next = greencrowd::next_states(&loaded, None);
        let items = store::greencrowd::plan(
            ctx.store.table(),
            &caller.tenant,
            &game.game_id,
            &external_user_id,
            &next,
        )?;
        match ctx.store.transact(items).await {
            Ok(()) => return http::ok(&simulation_view(&simulation)),
            Err(error) if error.failed_condition().is_some() => store::backoff(attempt).await,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_modification",
        "The game's greencrowd state kept changing; retry.",
    )
    .with_header("retry-after", "1"))
}
