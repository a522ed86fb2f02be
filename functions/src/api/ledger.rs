//! The correctable ledger's routes: reverse an award, adjust, transfer, spend, hold, capture,
//! void, and the wallet's history. Each write: parse, authenticate, then per attempt load (one
//! BatchGetItem, plus the open holds where they matter), decide (`domain::ledger`, pure),
//! commit (one TransactWriteItems conditioned on the exact balances read), answer. A failed
//! condition means the state moved: reload and decide again.

use crate::AppContext;
use crate::api::paging;
use crate::domain::events::{
    AWARD_REVERSED, Event, WALLET_ADJUSTED, WALLET_SPENT, WALLET_TRANSFERRED,
};
use crate::domain::ledger::{self, Currency, Decided, ReverseRequest, Stamp};
use crate::error::{ApiError, ApiResult, DEPENDENCY_UNAVAILABLE};
use crate::http::{json_body, path_param};
use crate::identity::auth::{Caller, authenticate, require_admin};
use crate::ids::{ExternalId, IdempotencyKey, TenantId};
use crate::store::idempotency::{self, Collision};
use crate::store::ledger::{
    AwardState, Hold, Key, LedgerWrite, WalletState, find_award, history_page, hold_key,
    open_holds, transaction, user_key,
};
use crate::store::users::user_not_found;
use crate::store::{self, Fault, Item, StoreError};
use crate::wire::PageInfo;
use crate::wire::ledger::{
    AdjustBody, CloseBody, LedgerHistory, ReverseBody, SpendBody, TransferBody, WalletAfter,
};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::collections::HashMap;

/// Decide-and-commit attempts while concurrent writes keep moving the wallet first.
const LEDGER_ATTEMPTS: u32 = 25;
/// Of those, how many may follow a dependency's fault before answering 503.
const DEPENDENCY_RETRIES: u32 = 2;
/// Fresh ids per attempt: an entry, a second entry or hold, and expired holds' releases.
const IDS_PER_ATTEMPT: usize = 2 + ledger::MAX_RELEASES;

fn parse<T: DeserializeOwned>(req: &Request) -> ApiResult<(T, String)> {
    let raw: Value = json_body(req)?;
    let body = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {e}."),
        )
    })?;
    Ok((body, idempotency::request_hash(&raw)))
}

/// A path or body user id; one that breaks the slug rule cannot exist (404, no read).
fn user_id(text: &str) -> ApiResult<ExternalId> {
    ExternalId::try_new(text).map_err(|_| user_not_found(text))
}

/// Award, entry and hold ids are UUIDs: anything else finds nothing.
fn uuid_like(text: &str) -> bool {
    text.len() == 36 && text.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

fn actor(caller: &Caller) -> String {
    caller.principal()
}

/// What one attempt loaded.
struct Loaded {
    items: HashMap<Key, Item>,
    holds: Vec<Hold>,
}

impl Loaded {
    fn wallet(&self, key: &Key, user: &ExternalId) -> ApiResult<WalletState> {
        self.items
            .get(key)
            .and_then(WalletState::from_item)
            .ok_or_else(|| user_not_found(user.as_str()))
    }
}

/// One ledger write, run to its end: its idempotency, its reads and its decision.
struct Operation {
    tenant: TenantId,
    /// The record's key and the client's key, when the request carries one.
    idempotency: Option<(Key, IdempotencyKey)>,
    request_hash: String,
    reads: Vec<Key>,
    /// Whose open holds the decision needs (spend, hold), and that user's wallet key.
    holds_of: Option<(ExternalId, Key)>,
    /// The event a commit reports (its data: the answer), if any.
    event_type: Option<&'static str>,
}

impl Operation {
    fn new(
        req: &Request,
        caller: &Caller,
        scope: &str,
        request_hash: String,
        reads: Vec<Key>,
    ) -> ApiResult<Operation> {
        let key = idempotency::key_from(req, &Value::Null)?;
        Ok(Operation {
            tenant: caller.tenant.clone(),
            idempotency: key.map(|key| {
                (
                    idempotency::record_key(&caller.tenant, &format!("LEDGER#{scope}"), &key),
                    key,
                )
            }),
            request_hash,
            reads,
            holds_of: None,
            event_type: None,
        })
    }

    fn reporting(mut self, event_type: Option<&'static str>) -> Operation {
        self.event_type = event_type;
        self
    }

    async fn load(&self, ctx: &AppContext) -> ApiResult<(Loaded, Option<idempotency::Record>)> {
        let mut keys = self.reads.clone();
        keys.extend(self.idempotency.as_ref().map(|(k, _)| k.clone()));
        let found = ctx.store.get_many(&keys).await?;
        let mut items: HashMap<Key, Item> = keys
            .into_iter()
            .zip(found)
            .filter_map(|(key, item)| Some((key, item?)))
            .collect();
        let record = self.idempotency.as_ref().and_then(|(key, _)| {
            idempotency::live_record(items.remove(key).as_ref(), crate::clock::now_micros())
        });
        // Open holds exist only while coins are held: no query for a wallet holding none.
        let holds = match &self.holds_of {
            Some((user, wallet_key))
                if record.is_none()
                    && items
                        .get(wallet_key)
                        .and_then(WalletState::from_item)
                        .is_some_and(|w| w.balances.held > rust_decimal::Decimal::ZERO) =>
            {
                open_holds(&ctx.store, &self.tenant, user).await?
            }
            _ => Vec::new(),
        };
        Ok((Loaded { items, holds }, record))
    }

    /// Load, decide, commit until one commits, the decision refuses, or the attempts run out.
    async fn run(
        self,
        ctx: &AppContext,
        actor: &str,
        decide: impl Fn(&Loaded, &Stamp) -> ApiResult<Decided>,
    ) -> ApiResult<Response<Body>> {
        let mut dependency_retries = 0;
        // The answer of a commit whose outcome is unknown (its response was lost): found
        // stored on the next load, it is this request's own answer, not a replay.
        let mut unsure: Option<String> = None;
        for attempt in 0..LEDGER_ATTEMPTS {
            let (loaded, record) = match self.load(ctx).await {
                Ok(loaded) => loaded,
                Err(error)
                    if error.code == DEPENDENCY_UNAVAILABLE
                        && dependency_retries < DEPENDENCY_RETRIES =>
                {
                    dependency_retries += 1;
                    store::backoff(attempt).await;
                    continue;
                }
                Err(error) => return Err(error),
            };
            if let Some(record) = record {
                if unsure.as_deref() == Some(record.body.as_str()) {
                    return Ok(idempotency::json_text(StatusCode::OK, record.body));
                }
                return record.replay(&self.request_hash);
            }
            let stamp = Stamp {
                actor: actor.to_owned(),
                now_us: crate::clock::now_micros(),
                ids: (0..IDS_PER_ATTEMPT).map(|_| crate::ids::new_id()).collect(),
            };
            let decided = decide(&loaded, &stamp)?;
            let body = serde_json::to_string(&decided.result).map_err(ApiError::internal)?;
            let mut writes = Vec::with_capacity(decided.writes.len() + 1);
            if let Some((record_key, key)) = &self.idempotency {
                writes.push(LedgerWrite::Idempotency {
                    record_key: record_key.clone(),
                    key: key.clone(),
                    request_hash: self.request_hash.clone(),
                    body: body.clone(),
                    now_us: stamp.now_us,
                    ttl_secs: ctx.config.idempotency_ttl.as_secs() as i64,
                });
            }
            writes.extend(decided.writes);
            if let Some(event_type) = self.event_type {
                // Keyed by the attempt's first fresh id: the committed attempt's, once.
                writes.push(LedgerWrite::Outbox {
                    event: Box::new(Event::new(
                        &stamp.ids[0],
                        event_type,
                        &self.tenant,
                        &crate::clock::micros_to_rfc3339(stamp.now_us),
                        serde_json::to_value(&decided.result).map_err(ApiError::internal)?,
                    )),
                    now_secs: stamp.now_us.div_euclid(1_000_000),
                });
            }
            let (items, index) = transaction(ctx.store.table(), &self.tenant, &writes)?;
            match ctx.store.transact_once(items).await {
                Ok(()) => return Ok(idempotency::json_text(StatusCode::OK, body)),
                Err(StoreError::Cancelled { reasons }) => {
                    match idempotency::collision(index.and_then(|i| reasons.get(i))) {
                        Some(Collision::InFlight) => return Err(idempotency::in_flight()),
                        Some(Collision::Committed) => continue, // the next load replays it
                        // A wallet, award or hold moved since the load: decide again.
                        None => store::backoff(attempt.min(4)).await,
                    }
                }
                Err(error) => {
                    // Busy: nothing was written. A lost answer may hide a commit: only a keyed
                    // request can find out (the next load finds its record).
                    let retry = match error.fault() {
                        Some(Fault::Busy) => true,
                        Some(Fault::Unavailable) => self.idempotency.is_some(),
                        _ => false,
                    };
                    if !retry || dependency_retries >= DEPENDENCY_RETRIES {
                        return Err(error.into());
                    }
                    tracing::warn!(error = %error, "ledger commit failed; retrying");
                    dependency_retries += 1;
                    if error.fault() == Some(Fault::Unavailable) {
                        unsure = Some(body);
                    }
                    store::backoff(attempt).await;
                }
            }
        }
        Err(ApiError::conflict(
            "concurrent_modification",
            "The wallet kept changing during the operation; retry it with the same idempotency key.",
        )
        .with_header("retry-after", "1"))
    }
}

fn award_not_found(award_id: &str) -> ApiError {
    ApiError::not_found(
        "award_not_found",
        format!("Award not found with awardId: {award_id}"),
    )
}

/// `POST /awards/{awardId}/reversal` (admin): a compensating entry for (part of) an award.
pub async fn reverse(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (body, request_hash): (ReverseBody, String) = parse(&req)?;
    let amount = body
        .amount
        .as_ref()
        .map(|a| ledger::parse_amount("amount", Some(a), Currency::Points, false))
        .transpose()?;
    let request = ReverseRequest {
        amount,
        allow_negative: body.allow_negative,
        reason: ledger::text("reason", body.reason.as_deref(), false)?,
    };
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let award_id = path_param(&req, "awardId")?;
    if !uuid_like(&award_id) {
        return Err(award_not_found(&award_id));
    }
    // GSI1 finds the award (eventually consistent); the attempts read it consistently.
    let first = find_award(&ctx.store, &caller.tenant, &award_id)
        .await?
        .ok_or_else(|| award_not_found(&award_id))?;
    let award_key = first.key.clone();
    let tenant = caller.tenant.clone();
    let wallet_key = user_key(&tenant, &first.external_user_id);
    let mut reads = vec![
        award_key.clone(),
        wallet_key.clone(),
        first.user_task_key(&tenant),
    ];
    reads.extend(ledger::reversal_extra_reads(&tenant, &first));
    let operation = Operation::new(
        &req,
        &caller,
        &format!("REVERSE#{award_id}"),
        request_hash,
        reads,
    )?
    .reporting(Some(AWARD_REVERSED));
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let award = loaded
                .items
                .get(&award_key)
                .and_then(AwardState::from_item)
                .ok_or_else(|| award_not_found(&award_id))?;
            let wallet = loaded.wallet(&wallet_key, &award.external_user_id)?;
            ledger::reverse(&tenant, &award, &wallet, &request, stamp, &loaded.items)
        })
        .await
}

/// `POST /users/{externalUserId}/adjustments` (admin): a signed amount with its reason.
pub async fn adjust(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (body, request_hash): (AdjustBody, String) = parse(&req)?;
    let currency = Currency::parse(body.currency.as_deref())?;
    let amount = ledger::parse_amount("amount", Some(&body.amount), currency, true)?;
    let reason = ledger::text("reason", Some(&body.reason), true)?.unwrap_or_default();
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let user = user_id(&path_param(&req, "externalUserId")?)?;
    let wallet_key = user_key(&caller.tenant, &user);
    let operation = Operation::new(
        &req,
        &caller,
        &format!("ADJUST#{user}"),
        request_hash,
        vec![wallet_key.clone()],
    )?
    .reporting(Some(WALLET_ADJUSTED));
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let wallet = loaded.wallet(&wallet_key, &user)?;
            ledger::adjust(
                &wallet,
                currency,
                amount,
                &reason,
                body.allow_negative,
                stamp,
            )
        })
        .await
}

/// `POST /users/{externalUserId}/transfers` (admin): both sides or neither.
pub async fn transfer(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (body, request_hash): (TransferBody, String) = parse(&req)?;
    let currency = Currency::parse(body.currency.as_deref())?;
    let amount = ledger::parse_amount("amount", Some(&body.amount), currency, false)?;
    let reason = ledger::text("reason", body.reason.as_deref(), false)?;
    let caller = authenticate(ctx, &req).await?;
    require_admin(&caller)?;
    let from = user_id(&path_param(&req, "externalUserId")?)?;
    let to = ExternalId::parse("toExternalUserId", &body.to_external_user_id)?;
    if from == to {
        return Err(ledger::transfer_to_self());
    }
    let (from_key, to_key) = (
        user_key(&caller.tenant, &from),
        user_key(&caller.tenant, &to),
    );
    let operation = Operation::new(
        &req,
        &caller,
        &format!("TRANSFER#{from}"),
        request_hash,
        vec![from_key.clone(), to_key.clone()],
    )?
    .reporting(Some(WALLET_TRANSFERRED));
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let sender = loaded.wallet(&from_key, &from)?;
            let receiver = loaded.wallet(&to_key, &to)?;
            ledger::transfer(
                &sender,
                &receiver,
                currency,
                amount,
                reason.as_deref(),
                stamp,
            )
        })
        .await
}

/// The parts of a spend or hold body every such route checks.
fn purchase(body: &SpendBody) -> ApiResult<(String, rust_decimal::Decimal, Option<String>)> {
    let item_id = ledger::text("itemId", Some(&body.item_id), true)?.unwrap_or_default();
    let price = ledger::parse_amount("price", Some(&body.price), Currency::Coins, false)?;
    Ok((
        item_id,
        price,
        ledger::text("reason", body.reason.as_deref(), false)?,
    ))
}

/// `POST /users/{externalUserId}/spend`: coins for an external item, in one step.
pub async fn spend(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (body, request_hash): (SpendBody, String) = parse(&req)?;
    let (item_id, price, reason) = purchase(&body)?;
    if body.ttl_seconds.is_some() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "ttlSeconds belongs to holds (POST …/holds), not to a one-step spend.",
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let user = user_id(&path_param(&req, "externalUserId")?)?;
    let wallet_key = user_key(&caller.tenant, &user);
    let mut operation = Operation::new(
        &req,
        &caller,
        &format!("SPEND#{user}"),
        request_hash,
        vec![wallet_key.clone()],
    )?
    .reporting(Some(WALLET_SPENT));
    operation.holds_of = Some((user.clone(), wallet_key.clone()));
    let tenant = caller.tenant.clone();
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let wallet = loaded.wallet(&wallet_key, &user)?;
            ledger::spend(
                &tenant,
                &wallet,
                &loaded.holds,
                &item_id,
                price,
                reason.as_deref(),
                stamp,
            )
        })
        .await
}

/// `POST /users/{externalUserId}/holds`: coins held for a two-step purchase.
pub async fn hold(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let (body, request_hash): (SpendBody, String) = parse(&req)?;
    let (item_id, price, reason) = purchase(&body)?;
    let ttl = body.ttl_seconds.unwrap_or(ledger::DEFAULT_HOLD_TTL_SECS);
    if !(1..=ledger::MAX_HOLD_TTL_SECS).contains(&ttl) {
        return Err(ApiError::unprocessable(
            "invalid_ttl",
            format!(
                "ttlSeconds must be a whole number from 1 to {}.",
                ledger::MAX_HOLD_TTL_SECS
            ),
        ));
    }
    let caller = authenticate(ctx, &req).await?;
    let user = user_id(&path_param(&req, "externalUserId")?)?;
    let wallet_key = user_key(&caller.tenant, &user);
    let mut operation = Operation::new(
        &req,
        &caller,
        &format!("HOLD#{user}"),
        request_hash,
        vec![wallet_key.clone()],
    )?;
    operation.holds_of = Some((user.clone(), wallet_key.clone()));
    let tenant = caller.tenant.clone();
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let wallet = loaded.wallet(&wallet_key, &user)?;
            ledger::hold(
                &tenant,
                &wallet,
                &loaded.holds,
                &item_id,
                price,
                ttl,
                reason.as_deref(),
                stamp,
            )
        })
        .await
}

fn hold_not_found(hold_id: &str) -> ApiError {
    ApiError::not_found(
        "hold_not_found",
        format!("Hold not found with holdId: {hold_id}"),
    )
}

/// Capture or void: the hold and its wallet, decided by `close`.
async fn close_hold(
    ctx: &'static AppContext,
    req: Request,
    verb: &str,
    close: fn(&TenantId, &WalletState, &Hold, Option<&str>, &Stamp) -> ApiResult<Decided>,
) -> ApiResult<Response<Body>> {
    // The body is optional (`{reason?}`); its hash is what a replay must match.
    let (body, request_hash): (CloseBody, String) = if req.body().is_empty() {
        (
            CloseBody::default(),
            idempotency::request_hash(&Value::Null),
        )
    } else {
        parse(&req)?
    };
    let reason = ledger::text("reason", body.reason.as_deref(), false)?;
    let caller = authenticate(ctx, &req).await?;
    let user = user_id(&path_param(&req, "externalUserId")?)?;
    let hold_id = path_param(&req, "holdId")?;
    if !uuid_like(&hold_id) {
        return Err(hold_not_found(&hold_id));
    }
    let tenant = caller.tenant.clone();
    let (wallet_key, key) = (user_key(&tenant, &user), hold_key(&tenant, &user, &hold_id));
    let operation = Operation::new(
        &req,
        &caller,
        &format!("{verb}#{user}#{hold_id}"),
        request_hash,
        vec![wallet_key.clone(), key.clone()],
    )?
    .reporting((verb == "CAPTURE").then_some(WALLET_SPENT));
    operation
        .run(ctx, &actor(&caller), |loaded, stamp| {
            let hold = loaded
                .items
                .get(&key)
                .and_then(Hold::from_item)
                .ok_or_else(|| hold_not_found(&hold_id))?;
            let wallet = loaded.wallet(&wallet_key, &user)?;
            close(&tenant, &wallet, &hold, reason.as_deref(), stamp)
        })
        .await
}

/// `POST /users/{externalUserId}/holds/{holdId}/capture`.
pub async fn capture(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    close_hold(ctx, req, "CAPTURE", ledger::capture).await
}

/// `POST /users/{externalUserId}/holds/{holdId}/void`.
pub async fn void(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    close_hold(ctx, req, "VOID", ledger::void).await
}

fn wallet_view(wallet: &WalletState) -> WalletAfter {
    WalletAfter {
        external_user_id: wallet.external_user_id.to_string(),
        points_balance: crate::decimal::to_json(wallet.balances.points),
        coins_balance: crate::decimal::to_json(wallet.balances.coins),
        held_coins: crate::decimal::to_json(wallet.balances.held),
    }
}

/// `GET /users/{externalUserId}/ledger`: the wallet and every entry, oldest first, paged (an
/// export follows `nextToken` to the end).
pub async fn history(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    let user = user_id(&path_param(&req, "externalUserId")?)?;
    let (key_pk, key_sk) = user_key(&caller.tenant, &user);
    let wallet = ctx
        .store
        .get(key_pk, key_sk)
        .await?
        .as_ref()
        .and_then(WalletState::from_item)
        .ok_or_else(|| user_not_found(user.as_str()))?;
    let (rows, next) = history_page(
        &ctx.store,
        &caller.tenant,
        &user,
        page_size,
        next_token.as_deref(),
    )
    .await?;
    crate::http::ok(&LedgerHistory {
        wallet: wallet_view(&wallet),
        entries: rows.iter().map(ledger::history_entry).collect(),
        page: PageInfo {
            page_size,
            next_token: next,
        },
    })
}

/// What one sweep of expired holds did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Sweep {
    /// Expired open holds the index listed.
    pub listed: usize,
    pub released: usize,
    /// Settled or released meanwhile (the index lags the holds).
    pub skipped: usize,
}

/// Days of the open-holds index a sweep reads: a hold lives at most a day, so a sweeper that
/// was stopped for a week still finds what it left behind.
const SWEEP_DAYS: i64 = 8;
/// Holds one sweep releases at most (a scheduled run every few minutes takes the rest).
const SWEEP_LIMIT: usize = 500;
/// The entries' actor.
const SWEEPER: &str = "system:hold-sweeper";

/// The `holds_sweep` function (scheduled; docs/ledger.md, "Holds"): every open hold past its
/// expiry is released with the `HoldExpired` entry the user's next purchase would have
/// written, each in its own transaction conditioned like any correction.
pub async fn sweep_expired_holds(ctx: &AppContext) -> ApiResult<Sweep> {
    let now = crate::clock::now_micros();
    let listed =
        crate::store::ledger::expired_holds(&ctx.store, now, SWEEP_DAYS, SWEEP_LIMIT).await?;
    let mut sweep = Sweep {
        listed: listed.len(),
        ..Sweep::default()
    };
    for expired in listed {
        let wallet_key = user_key(&expired.tenant, &expired.user);
        let key = hold_key(&expired.tenant, &expired.user, &expired.hold_id);
        let operation = Operation {
            tenant: expired.tenant.clone(),
            idempotency: None,
            request_hash: String::new(),
            reads: vec![wallet_key.clone(), key.clone()],
            holds_of: None,
            event_type: None,
        };
        let released = operation
            .run(ctx, SWEEPER, |loaded, stamp| {
                let hold = loaded
                    .items
                    .get(&key)
                    .and_then(Hold::from_item)
                    .ok_or_else(|| hold_not_found(&expired.hold_id))?;
                let wallet = loaded.wallet(&wallet_key, &expired.user)?;
                ledger::release_hold(&expired.tenant, &wallet, &hold, stamp)
            })
            .await;
        match released {
            Ok(_) => sweep.released += 1,
            Err(error) if error.status.is_client_error() => sweep.skipped += 1,
            Err(error) => return Err(error),
        }
    }
    Ok(sweep)
}
