//! Progression routes (issue 13): a game's ladder, achievement definitions and streak rule;
//! a user's progression; an achievement's statistics; admin grants and revocations. The award
//! itself decides progression (`domain::progression::for_award`).

use crate::AppContext;
use crate::api::WRITE_ATTEMPTS;
use crate::domain::progression::{self as rules, Compiled};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param};
use crate::identity::auth::{authenticate, require_admin};
use crate::ids::{ExternalId, GameId, TenantId};
use crate::store::games::game_not_found;
use crate::store::progression::{self as records, Config, UserState};
use crate::store::{self, keys};
use crate::wire::Message;
use crate::wire::progression::{
    AchievementDef, AchievementList, AchievementStats, AdminGrant, AdminGrantDone, Ladder,
    StreakRule, UserProgressionView,
};
use lambda_http::{Body, Request, Response};

fn game_id_of(req: &Request) -> ApiResult<GameId> {
    GameId::from_path(&path_param(req, "gameId")?)
}

/// The game's definitions, and 404 when the game does not exist: one BatchGetItem.
async fn load(
    ctx: &AppContext,
    tenant: &TenantId,
    game_id: &GameId,
    extra: &[(String, String)],
) -> ApiResult<(Config, Vec<Option<store::Item>>)> {
    let mut wanted = vec![
        (keys::game_pk(tenant, game_id), keys::GAME_SK.to_owned()),
        records::config_key(tenant, game_id),
    ];
    wanted.extend_from_slice(extra);
    let mut found = ctx.store.get_many(&wanted).await?.into_iter();
    if found.next().flatten().is_none() {
        return Err(game_not_found(game_id));
    }
    let config = match found.next().flatten() {
        Some(item) => Config::from_item(item)?,
        None => Config::default(),
    };
    Ok((config, found.collect()))
}

/// Changes the definitions with `change` on the version read, retrying when another writer
/// moved them first; answers what `change` returns.
async fn change_config<T>(
    ctx: &AppContext,
    req: &Request,
    change: impl Fn(&mut Config) -> ApiResult<T>,
) -> ApiResult<T> {
    let caller = authenticate(ctx, req).await?;
    let game_id = game_id_of(req)?;
    for attempt in 0..WRITE_ATTEMPTS {
        let (mut config, _) = load(ctx, &caller.tenant, &game_id, &[]).await?;
        let read_version = config.version;
        let answer = change(&mut config)?;
        // Everything the award will compile must compile now: nothing bad is stored.
        Compiled::of(&config)?;
        config.version = read_version + 1;
        if records::save_config(&ctx.store, &caller.tenant, &game_id, &config, read_version).await?
        {
            return Ok(answer);
        }
        store::backoff(attempt as u32).await;
    }
    Err(ApiError::conflict(
        "concurrent_update",
        "The game's progression definitions kept changing; retry.",
    )
    .with_header("retry-after", "1"))
}

fn body<T: serde::de::DeserializeOwned>(req: &Request) -> ApiResult<T> {
    let raw: serde_json::Value = json_body(req)?;
    serde_json::from_value(raw).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {e}."),
        )
    })
}

fn ladder_not_found(game_id: &GameId) -> ApiError {
    ApiError::not_found(
        "ladder_not_found",
        format!("The game {game_id} has no level ladder."),
    )
}

fn streak_not_found(game_id: &GameId) -> ApiError {
    ApiError::not_found(
        "streak_rule_not_found",
        format!("The game {game_id} has no streak rule."),
    )
}

fn achievement_not_found(key: &str) -> ApiError {
    ApiError::not_found(
        "achievement_not_found",
        format!("The game has no achievement \"{key}\"."),
    )
}

pub async fn levels_get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let (config, _) = load(ctx, &caller.tenant, &game_id, &[]).await?;
    http::ok(&config.ladder.ok_or_else(|| ladder_not_found(&game_id))?)
}

pub async fn levels_put(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let ladder: Ladder = body(&req)?;
    rules::validate_ladder(&ladder)?;
    let saved = change_config(ctx, &req, |config| {
        config.ladder = Some(ladder.clone());
        Ok(ladder.clone())
    })
    .await?;
    http::ok(&saved)
}

pub async fn streak_get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let (config, _) = load(ctx, &caller.tenant, &game_id, &[]).await?;
    http::ok(&config.streak.ok_or_else(|| streak_not_found(&game_id))?)
}

pub async fn streak_put(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let rule: StreakRule = body(&req)?;
    rules::validate_streak(&rule)?;
    let saved = change_config(ctx, &req, |config| {
        config.streak = Some(rule.clone());
        Ok(rule.clone())
    })
    .await?;
    http::ok(&saved)
}

pub async fn achievements_list(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let (config, _) = load(ctx, &caller.tenant, &game_id, &[]).await?;
    http::ok(&AchievementList {
        achievements: config.achievements,
    })
}

pub async fn achievements_put(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let key = path_param(&req, "key")?;
    let mut def: AchievementDef = body(&req)?;
    if def.key.is_empty() {
        def.key = key.clone();
    } else if def.key != key {
        return Err(ApiError::unprocessable(
            "invalid_achievement",
            format!(
                "The body's key \"{}\" is not the path's \"{key}\".",
                def.key
            ),
        ));
    }
    rules::compile_achievement(&def)?;
    let saved = change_config(ctx, &req, |config| {
        let count = config.achievements.len();
        match config.achievements.iter_mut().find(|a| a.key == def.key) {
            Some(existing) => *existing = def.clone(),
            None if count >= rules::MAX_ACHIEVEMENTS => {
                return Err(ApiError::unprocessable(
                    "too_many_achievements",
                    format!(
                        "A game has at most {} achievements.",
                        rules::MAX_ACHIEVEMENTS
                    ),
                ));
            }
            None => config.achievements.push(def.clone()),
        }
        Ok(def.clone())
    })
    .await?;
    http::ok(&saved)
}

pub async fn achievements_delete(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    let key = path_param(&req, "key")?;
    change_config(ctx, &req, |config| {
        let before = config.achievements.len();
        config.achievements.retain(|a| a.key != key);
        if config.achievements.len() == before {
            return Err(achievement_not_found(&key));
        }
        Ok(())
    })
    .await?;
    http::ok(&Message {
        message: format!(
            "Achievement \"{key}\" deleted; the grants already made stay in the users' history."
        ),
    })
}

pub async fn achievements_stats(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "key")?;
    let shards = records::stats_keys(&caller.tenant, &game_id);
    let (config, found) = load(ctx, &caller.tenant, &game_id, &shards).await?;
    if config.achievements.iter().all(|a| a.key != key) {
        return Err(achievement_not_found(&key));
    }
    let (users, earned) = records::sum_stats(&found);
    let earned = earned.get(&key).copied().unwrap_or(0).max(0);
    http::ok(&AchievementStats {
        key,
        earned,
        users,
        share: if users > 0 {
            earned as f64 / users as f64
        } else {
            0.0
        },
    })
}

fn user_of(req: &Request) -> ApiResult<ExternalId> {
    ExternalId::parse("externalUserId", &path_param(req, "externalUserId")?)
}

pub async fn user_progression(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let user = user_of(&req)?;
    let user_key = records::user_key(&caller.tenant, &user, &game_id);
    let (config, found) = load(ctx, &caller.tenant, &game_id, &[user_key]).await?;
    let state = found
        .into_iter()
        .next()
        .flatten()
        .map(UserState::from_item)
        .transpose()?
        .unwrap_or_default();
    let now_us = crate::clock::now_micros();
    http::ok(&UserProgressionView {
        external_user_id: user.to_string(),
        game_id: game_id.to_string(),
        points: crate::decimal::to_json(state.points()),
        awards: state.awards,
        level: config.ladder.as_ref().map(|l| rules::level_view(l, &state)),
        achievements: state
            .achievements
            .iter()
            .map(|(key, held)| rules::held_view(key, held))
            .collect(),
        streak: config
            .streak
            .as_ref()
            .map(|rule| rules::streak_view(rule, &state, now_us)),
    })
}

async fn admin(ctx: &'static AppContext, req: Request, revoke: bool) -> ApiResult<Response<Body>> {
    let grant: AdminGrant = body(&req)?;
    if grant.reason.trim().is_empty() || grant.reason.chars().count() > 500 {
        return Err(ApiError::unprocessable(
            "invalid_field",
            "reason is 1 to 500 characters.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let game_id = game_id_of(&req)?;
    let user = user_of(&req)?;
    let key = path_param(&req, "key")?;
    let user_key = records::user_key(&caller.tenant, &user, &game_id);
    for attempt in 0..WRITE_ATTEMPTS {
        let (config, found) = load(
            ctx,
            &caller.tenant,
            &game_id,
            std::slice::from_ref(&user_key),
        )
        .await?;
        let def = config
            .achievements
            .iter()
            .find(|a| a.key == key)
            .ok_or_else(|| achievement_not_found(&key))?;
        let state = found
            .into_iter()
            .next()
            .flatten()
            .map(UserState::from_item)
            .transpose()?;
        let (done, writes) = rules::admin_change(
            state.as_ref(),
            &key,
            &def.name,
            &user,
            &grant.reason,
            revoke,
            crate::clock::now_micros(),
        )?;
        let owner = records::Owner {
            tenant: &caller.tenant,
            game_id: &game_id,
            external_user_id: &user,
        };
        let items = writes
            .iter()
            .map(|w| records::write_item(ctx.store.table(), &owner, w))
            .collect::<ApiResult<Vec<_>>>()?;
        match ctx.store.transact_once(items).await {
            Ok(()) => {
                return http::ok(&AdminGrantDone {
                    key,
                    external_user_id: user.to_string(),
                    action: if revoke { "revoke" } else { "grant" }.into(),
                    reason: grant.reason,
                    times: done.times,
                    at: done.at,
                });
            }
            // An award or another admin moved the user's progression: decide again.
            Err(error) if error.failed_condition().is_some() || error.fault().is_some() => {
                store::backoff(attempt as u32).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_update",
        "The user's progression kept changing; retry.",
    )
    .with_header("retry-after", "1"))
}

pub async fn achievement_grant(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    admin(ctx, req, false).await
}

pub async fn achievement_revoke(
    ctx: &'static AppContext,
    req: Request,
) -> ApiResult<Response<Body>> {
    admin(ctx, req, true).await
}
