//! Leaderboards: a game's boards (list, create, read, patch, delete) and their reads (top-N
//! of a period, a user's rank and neighbours, a user's standing on every board). The award
//! fills them in its own transaction (domain::leaderboards, store::leaderboards).

use crate::AppContext;
use crate::api::WRITE_ATTEMPTS;
use crate::domain::leaderboards::{
    self as domain, Board, BoardRecord, Metric, TieBreak, period_bounds,
};
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param, query_param};
use crate::identity::auth::authenticate;
use crate::ids::{ExternalId, GameId, TenantId};
use crate::store::leaderboards::{self as store_lb, Defined, StoredEntry};
use crate::store::{Store, StoreError};
use crate::wire::leaderboards::{
    CreateLeaderboard, LeaderboardEntry, LeaderboardList, LeaderboardPage, LeaderboardStanding,
    LeaderboardStandings, LeaderboardView, PatchLeaderboard,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};

pub const DEFAULT_LIMIT: i64 = 10;
pub const MAX_LIMIT: i64 = 100;
pub const MAX_AROUND: i64 = 25;

fn not_found(game_id: &GameId, key: &str) -> ApiError {
    ApiError::not_found(
        "leaderboard_not_found",
        format!("Leaderboard \"{key}\" not found in gameId: {game_id}"),
    )
}

fn implicit_fixed(key: &str) -> ApiError {
    ApiError::conflict(
        "leaderboard_implicit",
        format!("\"{key}\" is the implicit board every game has: it cannot be changed or deleted."),
    )
}

fn metric_of(text: &str) -> ApiResult<Metric> {
    match text {
        "points" => Ok(Metric::Points),
        "awards" => Ok(Metric::Awards),
        _ => Err(ApiError::unprocessable(
            "invalid_leaderboard",
            format!("metric \"{text}\" is not one of points, awards."),
        )),
    }
}

fn tie_of(text: &str) -> ApiResult<TieBreak> {
    match text {
        "first_reached" => Ok(TieBreak::FirstReached),
        "shared" => Ok(TieBreak::Shared),
        _ => Err(ApiError::unprocessable(
            "invalid_leaderboard",
            format!("tieBreak \"{text}\" is not one of first_reached, shared."),
        )),
    }
}

fn metric_text(metric: Metric) -> &'static str {
    match metric {
        Metric::Points => "points",
        Metric::Awards => "awards",
    }
}

fn tie_text(tie: TieBreak) -> &'static str {
    match tie {
        TieBreak::FirstReached => "first_reached",
        TieBreak::Shared => "shared",
    }
}

pub fn view(board: &Board, now_us: i64) -> LeaderboardView {
    let r = &board.record;
    LeaderboardView {
        key: r.key.clone(),
        id: r.id.clone(),
        metric: metric_text(r.metric).into(),
        external_task_ids: r.external_task_ids.clone(),
        period: r.period.clone(),
        time_zone: r.time_zone.clone(),
        tie_break: tie_text(r.tie_break).into(),
        max_entries: r.max_entries,
        custom_start: r.custom_start.clone(),
        custom_length_days: r.custom_length_days,
        implicit: r.id == domain::IMPLICIT_ID,
        current_period: board.period_key(now_us),
    }
}

fn game_id_of(req: &Request) -> ApiResult<GameId> {
    GameId::from_path(&path_param(req, "gameId")?)
}

fn board_of(defined: &Defined, game_id: &GameId, key: &str) -> ApiResult<Board> {
    defined
        .all()
        .into_iter()
        .find(|b| b.key() == key)
        .ok_or_else(|| not_found(game_id, key))
}

pub async fn list(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let (_, defined, _) = store_lb::load_game(&ctx.store, &caller.tenant, &game_id, None).await?;
    let now = crate::clock::now_micros();
    let items = defined.all().iter().map(|b| view(b, now)).collect();
    http::ok(&LeaderboardList { items })
}

pub async fn get(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "boardKey")?;
    let (_, defined, _) = store_lb::load_game(&ctx.store, &caller.tenant, &game_id, None).await?;
    http::ok(&view(
        &board_of(&defined, &game_id, &key)?,
        crate::clock::now_micros(),
    ))
}

/// A new board from a create body, validated.
pub fn new_board(body: &CreateLeaderboard, now: &str) -> ApiResult<Board> {
    Board::parse(BoardRecord {
        key: body.key.clone(),
        id: crate::ids::new_id(),
        metric: metric_of(body.metric.as_deref().unwrap_or("points"))?,
        external_task_ids: body.external_task_ids.clone(),
        period: body.period.clone().unwrap_or_else(|| "all_time".into()),
        time_zone: body.time_zone.clone().unwrap_or_else(|| "UTC".into()),
        tie_break: tie_of(body.tie_break.as_deref().unwrap_or("first_reached"))?,
        max_entries: body.max_entries.unwrap_or(domain::DEFAULT_MAX_ENTRIES),
        custom_start: body.custom_start.clone(),
        custom_length_days: body.custom_length_days,
        created_at: now.to_owned(),
        updated_at: now.to_owned(),
    })
}

/// The boards after adding `board`: a taken key is 409, more than the limit 422.
pub fn with_added(defined: &Defined, board: &Board) -> ApiResult<Vec<BoardRecord>> {
    if defined.all().iter().any(|b| b.key() == board.key()) {
        return Err(ApiError::conflict(
            "leaderboard_exists",
            format!(
                "A leaderboard with key \"{}\" already exists in this game.",
                board.key()
            ),
        ));
    }
    if defined.boards.len() >= domain::MAX_BOARDS {
        return Err(ApiError::unprocessable(
            "too_many_leaderboards",
            format!(
                "A game has at most {} leaderboards besides the implicit one.",
                domain::MAX_BOARDS
            ),
        ));
    }
    let mut boards = defined.boards.clone();
    boards.push(board.record.clone());
    Ok(boards)
}

fn concurrent() -> ApiError {
    ApiError::conflict(
        "concurrent_modification",
        "The game's leaderboards kept changing while this update was applied; retry it.",
    )
    .with_header("retry-after", "1")
}

/// Loads the boards, applies `change` and stores the result under the version read; a
/// concurrent change is retried on fresh state.
async fn change_boards<T>(
    store: &Store,
    tenant: &TenantId,
    game_id: &GameId,
    change: impl Fn(&Defined) -> ApiResult<(Vec<BoardRecord>, T)>,
) -> ApiResult<T> {
    let key = store_lb::boards_key(tenant, game_id);
    for _ in 0..WRITE_ATTEMPTS {
        let (_, defined, _) = store_lb::load_game(store, tenant, game_id, None).await?;
        let (boards, answer) = change(&defined)?;
        let item = Defined::save(store.table(), &key, &boards, defined.version)?;
        match store.transact(vec![item]).await {
            Ok(()) => return Ok(answer),
            Err(StoreError::Cancelled { .. }) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(concurrent())
}

pub async fn create(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: CreateLeaderboard = json_body(&req)?;
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let board = new_board(&body, &crate::clock::now_rfc3339())?;
    change_boards(&ctx.store, &caller.tenant, &game_id, |defined| {
        Ok((with_added(defined, &board)?, ()))
    })
    .await?;
    http::created(&view(&board, crate::clock::now_micros()))
}

/// Pure: the board after a patch. A change of what is counted or when starts it over.
pub fn patched(current: &Board, patch: &PatchLeaderboard, now: &str) -> ApiResult<Board> {
    let mut record = current.record.clone();
    if let Some(metric) = &patch.metric {
        record.metric = metric_of(metric)?;
    }
    if let Some(tasks) = &patch.external_task_ids {
        record.external_task_ids.clone_from(tasks);
    }
    if let Some(period) = &patch.period {
        record.period.clone_from(period);
        if period != "custom" {
            record.custom_start = None;
            record.custom_length_days = None;
        }
    }
    if let Some(zone) = &patch.time_zone {
        record.time_zone.clone_from(zone);
    }
    if let Some(tie) = &patch.tie_break {
        record.tie_break = tie_of(tie)?;
    }
    if let Some(max) = patch.max_entries {
        record.max_entries = max;
    }
    if patch.custom_start.is_some() {
        record.custom_start.clone_from(&patch.custom_start);
    }
    if patch.custom_length_days.is_some() {
        record.custom_length_days = patch.custom_length_days;
    }
    let old = &current.record;
    let restarts = record.metric != old.metric
        || record.external_task_ids != old.external_task_ids
        || record.period != old.period
        || record.time_zone != old.time_zone
        || record.custom_start != old.custom_start
        || record.custom_length_days != old.custom_length_days;
    if restarts {
        record.id = crate::ids::new_id();
    }
    record.updated_at = now.to_owned();
    Board::parse(record)
}

pub async fn patch(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let body: PatchLeaderboard = json_body(&req)?;
    let empty = body.metric.is_none()
        && body.external_task_ids.is_none()
        && body.period.is_none()
        && body.time_zone.is_none()
        && body.tie_break.is_none()
        && body.max_entries.is_none()
        && body.custom_start.is_none()
        && body.custom_length_days.is_none();
    if empty {
        return Err(ApiError::unprocessable(
            "empty_patch",
            "The patch changes nothing: send at least one member.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "boardKey")?;
    let now = crate::clock::now_rfc3339();
    let board = change_boards(&ctx.store, &caller.tenant, &game_id, |defined| {
        let current = board_of(defined, &game_id, &key)?;
        if current.record.id == domain::IMPLICIT_ID {
            return Err(implicit_fixed(&key));
        }
        let board = patched(&current, &body, &now)?;
        let boards = defined
            .boards
            .iter()
            .map(|r| {
                if r.key == key {
                    board.record.clone()
                } else {
                    r.clone()
                }
            })
            .collect();
        Ok((boards, board))
    })
    .await?;
    http::ok(&view(&board, crate::clock::now_micros()))
}

pub async fn delete(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "boardKey")?;
    let board = change_boards(&ctx.store, &caller.tenant, &game_id, |defined| {
        let current = board_of(defined, &game_id, &key)?;
        if current.record.id == domain::IMPLICIT_ID {
            return Err(implicit_fixed(&key));
        }
        let boards = defined
            .boards
            .iter()
            .filter(|r| r.key != key)
            .cloned()
            .collect();
        Ok((boards, current))
    })
    .await?;
    http::ok(&view(&board, crate::clock::now_micros()))
}

// ---------------------------------------------------------------------------------------
// Reads.

fn entry_view(entry: &StoredEntry, rank: i64) -> LeaderboardEntry {
    LeaderboardEntry {
        rank,
        external_user_id: entry.user.clone(),
        score: crate::decimal::to_json(entry.score),
        reached_at: crate::clock::micros_to_rfc3339(entry.reached_us),
    }
}

fn bounded(req: &Request, name: &str, default: i64, range: (i64, i64)) -> ApiResult<i64> {
    let Some(text) = query_param(req, name) else {
        return Ok(default);
    };
    match text.parse::<i64>() {
        Ok(n) if (range.0..=range.1).contains(&n) => Ok(n),
        _ => Err(ApiError::unprocessable(
            "invalid_limit",
            format!(
                "{name} must be a whole number from {} to {}, got \"{text}\".",
                range.0, range.1
            ),
        )),
    }
}

/// Where a page ended: the next page's first position and rank follow from it.
#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    /// The board-period the cursor belongs to.
    p: String,
    sk: String,
    pos: i64,
    rank: i64,
    /// The last entry's score, exact decimal text.
    score: String,
}

fn bad_cursor() -> ApiError {
    ApiError::bad_request(
        "invalid_cursor",
        "`cursor` was not issued by this leaderboard and period (or was altered).",
    )
}

fn decode_cursor(text: &str, pk: &str) -> ApiResult<Cursor> {
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad_cursor())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| bad_cursor())?;
    if cursor.p != pk || !cursor.sk.starts_with("E#") || cursor.pos < 1 || cursor.rank < 1 {
        return Err(bad_cursor());
    }
    Ok(cursor)
}

fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

/// The board-period a read addresses: its partition and key.
struct Target {
    board: Board,
    period: String,
    pk: String,
}

fn target(
    tenant: &TenantId,
    game_id: &GameId,
    defined: &Defined,
    key: &str,
    period: Option<&str>,
) -> ApiResult<Target> {
    let board = board_of(defined, game_id, key)?;
    let period = board.resolve_period(period, crate::clock::now_micros())?;
    let pk = store_lb::entries_pk(tenant, game_id, &board.record.id, &period);
    Ok(Target { board, period, pk })
}

pub async fn top(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let limit = bounded(&req, "limit", DEFAULT_LIMIT, (1, MAX_LIMIT))?;
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "boardKey")?;
    let (_, defined, _) = store_lb::load_game(&ctx.store, &caller.tenant, &game_id, None).await?;
    let t = target(
        &caller.tenant,
        &game_id,
        &defined,
        &key,
        query_param(&req, "period").as_deref(),
    )?;
    let cursor = query_param(&req, "cursor")
        .map(|c| decode_cursor(&c, &t.pk))
        .transpose()?;
    let shown = i64::from(t.board.record.max_entries);
    let offset = cursor.as_ref().map_or(0, |c| c.pos);
    let limit = limit.min(shown - offset).max(0);
    let entries = if limit == 0 {
        vec![]
    } else {
        ctx.store
            .leaderboard_page(
                &t.pk,
                cursor.as_ref().map(|c| c.sk.as_str()),
                limit as i32,
                true,
            )
            .await?
    };
    let roots = store_lb::tree_counts(&ctx.store, &[(t.pk.clone(), 0)]).await?;
    let entrants = roots.first().map_or(0, domain::entrants);
    let first_rank = match (&cursor, entries.first()) {
        (Some(c), Some(first)) if crate::decimal::parse(&c.score) == Some(first.score) => c.rank,
        _ => offset + 1,
    };
    let listed: Vec<_> = entries.iter().map(StoredEntry::listed).collect();
    let ranks = domain::ranks(&listed, offset + 1, first_rank, t.board.record.tie_break);
    let next_cursor = match entries.last() {
        Some(last) if entries.len() as i64 == limit && offset + limit < shown => {
            Some(encode_cursor(&Cursor {
                p: t.pk.clone(),
                sk: last.sk.clone(),
                pos: offset + limit,
                rank: ranks.last().copied().unwrap_or(1),
                score: last.score.to_string(),
            }))
        }
        _ => None,
    };
    let (start, end) =
        period_bounds(t.board.period, t.board.zone, &t.period).unwrap_or((None, None));
    http::ok(&LeaderboardPage {
        key: t.board.key().to_owned(),
        period_key: t.period.clone(),
        period_start: start.map(crate::clock::micros_to_rfc3339),
        period_end: end.map(crate::clock::micros_to_rfc3339),
        entrants,
        entries: entries
            .iter()
            .zip(&ranks)
            .map(|(e, r)| entry_view(e, *r))
            .collect(),
        next_cursor,
    })
}

/// A user's place on a board-period: position in board order, and rank (equal to the
/// position for `first_reached`; the first position of the score for `shared`).
struct Place {
    position: i64,
    rank: i64,
}

/// The rank at bounded cost: the count tree gives the entries in higher whole-point buckets
/// (one BatchGetItem, read by the caller); a COUNT query counts those ahead within the bucket.
async fn place(
    store: &Store,
    t: &Target,
    entry: &StoredEntry,
    above_bucket: i64,
    want_position: bool,
) -> ApiResult<Place> {
    let start = domain::bucket_start_sk(domain::bucket(entry.score));
    let shared = t.board.record.tie_break == TieBreak::Shared;
    let position = if want_position || !shared {
        // The user's own entry is in [start, sk].
        Some(above_bucket + store.leaderboard_count(&t.pk, &start, &entry.sk).await?)
    } else {
        None
    };
    let rank = if shared {
        above_bucket
            + store
                .leaderboard_count(&t.pk, &start, &domain::score_sk(entry.score))
                .await?
            + 1
    } else {
        position.unwrap_or(1)
    };
    Ok(Place {
        position: position.unwrap_or(rank),
        rank,
    })
}

/// The user's entry in the target period: from the standings item when it is the current
/// period, else from the period's pointer item.
async fn entry_of(
    store: &Store,
    t: &Target,
    user: &ExternalId,
    standings: Option<&crate::store::Item>,
    now_us: i64,
) -> ApiResult<Option<StoredEntry>> {
    let (standings, _) = store_lb::standings_from_item(standings);
    if t.period == t.board.period_key(now_us) {
        return Ok(standings
            .get(t.board.key())
            .filter(|s| s.id == t.board.record.id && s.period == t.period)
            .map(|s| StoredEntry {
                sk: domain::entry_sk(s.score, s.reached_us, user),
                user: user.to_string(),
                score: s.score,
                reached_us: s.reached_us,
            }));
    }
    store_lb::pointer(store, &t.pk, user).await
}

pub async fn user(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let around = bounded(&req, "around", 0, (0, MAX_AROUND))?;
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let key = path_param(&req, "boardKey")?;
    let user = ExternalId::parse("externalUserId", &path_param(&req, "externalUserId")?)?;
    let (_, defined, standings) =
        store_lb::load_game(&ctx.store, &caller.tenant, &game_id, Some(&user)).await?;
    let t = target(
        &caller.tenant,
        &game_id,
        &defined,
        &key,
        query_param(&req, "period").as_deref(),
    )?;
    let now = crate::clock::now_micros();
    let entry = entry_of(&ctx.store, &t, &user, standings.as_ref(), now).await?;
    let bucket = entry.as_ref().map_or(0, |e| domain::bucket(e.score));
    let counts = store_lb::tree_counts(&ctx.store, &[(t.pk.clone(), bucket)]).await?;
    let counts = counts.into_iter().next().unwrap_or_default();
    let entrants = domain::entrants(&counts);
    let Some(entry) = entry else {
        return http::ok(&LeaderboardStanding {
            key: t.board.key().to_owned(),
            period_key: t.period.clone(),
            rank: None,
            score: None,
            entrants,
            around: (around > 0).then(Vec::new),
        });
    };
    let above = domain::entries_above_bucket(&counts, bucket);
    let place = place(&ctx.store, &t, &entry, above, around > 0).await?;
    let around = if around > 0 {
        Some(neighbours(&ctx.store, &t, &entry, &place, around).await?)
    } else {
        None
    };
    http::ok(&LeaderboardStanding {
        key: t.board.key().to_owned(),
        period_key: t.period.clone(),
        rank: Some(place.rank),
        score: Some(crate::decimal::to_json(entry.score)),
        entrants,
        around,
    })
}

/// Up to `k` entries above the user, the user, up to `k` below, ranked.
async fn neighbours(
    store: &Store,
    t: &Target,
    me: &StoredEntry,
    place: &Place,
    k: i64,
) -> ApiResult<Vec<LeaderboardEntry>> {
    let mut window = store
        .leaderboard_page(&t.pk, Some(&me.sk), k as i32, false)
        .await?;
    window.reverse();
    let above = window.len() as i64;
    window.push(me.clone());
    window.extend(
        store
            .leaderboard_page(&t.pk, Some(&me.sk), k as i32, true)
            .await?,
    );
    let first_position = place.position - above;
    let first_rank = match (t.board.record.tie_break, window.first()) {
        (TieBreak::Shared, Some(top)) if top.score == me.score => place.rank,
        (TieBreak::Shared, Some(top)) => {
            // Those of the top entry's score above the window share its rank.
            let before = store
                .leaderboard_count(&t.pk, &domain::score_sk(top.score), &top.sk)
                .await?
                - 1;
            first_position - before
        }
        _ => first_position,
    };
    let listed: Vec<_> = window.iter().map(StoredEntry::listed).collect();
    let ranks = domain::ranks(
        &listed,
        first_position,
        first_rank,
        t.board.record.tie_break,
    );
    Ok(window
        .iter()
        .zip(ranks)
        .map(|(e, r)| entry_view(e, r))
        .collect())
}

pub async fn standings(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let game_id = game_id_of(&req)?;
    let user = ExternalId::parse("externalUserId", &path_param(&req, "externalUserId")?)?;
    let (_, defined, standings) =
        store_lb::load_game(&ctx.store, &caller.tenant, &game_id, Some(&user)).await?;
    let now = crate::clock::now_micros();
    let mut targets = Vec::new();
    for board in defined.all() {
        let period = board.period_key(now);
        let pk = store_lb::entries_pk(&caller.tenant, &game_id, &board.record.id, &period);
        let t = Target { board, period, pk };
        let entry = entry_of(&ctx.store, &t, &user, standings.as_ref(), now).await?;
        targets.push((t, entry));
    }
    let paths: Vec<_> = targets
        .iter()
        .map(|(t, e)| {
            (
                t.pk.clone(),
                e.as_ref().map_or(0, |e| domain::bucket(e.score)),
            )
        })
        .collect();
    let counts = store_lb::tree_counts(&ctx.store, &paths).await?;
    let mut boards = Vec::with_capacity(targets.len());
    for ((t, entry), counts) in targets.iter().zip(counts) {
        let entrants = domain::entrants(&counts);
        let (rank, score) = match entry {
            Some(entry) => {
                let above = domain::entries_above_bucket(&counts, domain::bucket(entry.score));
                let place = place(&ctx.store, t, entry, above, false).await?;
                (Some(place.rank), Some(crate::decimal::to_json(entry.score)))
            }
            None => (None, None),
        };
        boards.push(LeaderboardStanding {
            key: t.board.key().to_owned(),
            period_key: t.period.clone(),
            rank,
            score,
            entrants,
            around: None,
        });
    }
    http::ok(&LeaderboardStandings {
        external_user_id: user.to_string(),
        boards,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::leaderboards::Period;

    fn create(body: serde_json::Value) -> ApiResult<Board> {
        new_board(&serde_json::from_value(body).unwrap(), "now")
    }

    #[test]
    fn a_patch_of_what_counts_restarts_the_board_and_the_rest_keeps_it() {
        let board = create(serde_json::json!({"key": "weekly", "period": "weekly",
            "timeZone": "Europe/Madrid"}))
        .unwrap();
        let shown = PatchLeaderboard {
            max_entries: Some(5),
            tie_break: Some("shared".into()),
            ..Default::default()
        };
        assert_eq!(
            patched(&board, &shown, "t").unwrap().record.id,
            board.record.id
        );
        let zone = PatchLeaderboard {
            time_zone: Some("UTC".into()),
            ..Default::default()
        };
        assert_ne!(
            patched(&board, &zone, "t").unwrap().record.id,
            board.record.id
        );
        let bad = PatchLeaderboard {
            time_zone: Some("Nowhere/City".into()),
            ..Default::default()
        };
        assert_eq!(
            patched(&board, &bad, "t").unwrap_err().code,
            "unknown_time_zone"
        );
    }

    #[test]
    fn keys_are_unique_and_the_implicit_one_is_taken() {
        let defined = Defined::default();
        let points = create(serde_json::json!({"key": "points"})).unwrap();
        assert_eq!(
            with_added(&defined, &points).unwrap_err().code,
            "leaderboard_exists"
        );
        assert_eq!(
            create(serde_json::json!({"key": "x", "metric": "coins"}))
                .unwrap_err()
                .code,
            "invalid_leaderboard"
        );
        assert!(matches!(
            create(serde_json::json!({"key": "m", "period": "monthly"}))
                .unwrap()
                .period,
            Period::Monthly
        ));
    }
}

/// What one run of the period closer did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Closing {
    /// Periodic boards looked at.
    pub boards: usize,
    /// Periods closed by this run (their events emitted).
    pub closed: usize,
}

/// Entries a `leaderboard.period_closed` event carries at most (its `top`).
pub const CLOSED_TOP: i64 = 100;

/// The `leaderboards_close` function (scheduled; docs/events.md): every periodic board's
/// period that ended last before `now_us` is closed once, with one transaction holding a
/// marker (conditioned on being new) and a `leaderboard.period_closed` event with the final
/// top entries. A board that started counting after that period ended has nothing to close.
pub async fn close_periods(ctx: &AppContext, now_us: i64) -> ApiResult<Closing> {
    let mut closing = Closing::default();
    for (tenant, game_id, defined) in store_lb::periodic_games(&ctx.store).await? {
        for board in defined.all() {
            let Some((period, end_us)) = board.previous_period(now_us) else {
                continue;
            };
            closing.boards += 1;
            if board
                .counting_since_us()
                .is_some_and(|since| since >= end_us)
            {
                continue;
            }
            let pk = store_lb::entries_pk(&tenant, &game_id, &board.record.id, &period);
            if ctx
                .store
                .get(pk.clone(), store_lb::CLOSED_SK.to_owned())
                .await?
                .is_some()
            {
                continue;
            }
            let shown = CLOSED_TOP.min(i64::from(board.record.max_entries));
            let entries = ctx
                .store
                .leaderboard_page(&pk, None, shown as i32, true)
                .await?;
            let listed: Vec<_> = entries.iter().map(StoredEntry::listed).collect();
            let ranks = domain::ranks(&listed, 1, 1, board.record.tie_break);
            let roots = store_lb::tree_counts(&ctx.store, &[(pk.clone(), 0)]).await?;
            let (start, _) =
                period_bounds(board.period, board.zone, &period).unwrap_or((None, None));
            let event = crate::domain::events::Event::new(
                &format!("{}-{period}", board.record.id),
                crate::domain::events::LEADERBOARD_PERIOD_CLOSED,
                &tenant,
                &crate::clock::micros_to_rfc3339(end_us),
                serde_json::json!({
                    "gameId": game_id,
                    "leaderboardId": board.key(),
                    "boardId": board.record.id,
                    "period": period,
                    "periodStart": start.map(crate::clock::micros_to_rfc3339),
                    "periodEnd": crate::clock::micros_to_rfc3339(end_us),
                    "entrants": roots.first().map_or(0, domain::entrants),
                    "top": entries.iter().zip(&ranks).map(|(e, r)| entry_view(e, *r)).collect::<Vec<_>>(),
                }),
            );
            let items = store_lb::close_items(
                ctx.store.table(),
                &pk,
                board.expires_at_secs(&period),
                &event,
                now_us.div_euclid(1_000_000),
            )?;
            match ctx.store.transact_once(items).await {
                Ok(()) => closing.closed += 1,
                // Another run closed it first.
                Err(StoreError::Cancelled { .. }) => {}
                Err(error) => return Err(error.into()),
            }
        }
    }
    Ok(closing)
}
