//! Wallets: balances with their ledger, and the atomic points → coins conversion.

use crate::AppContext;
use crate::api::paging;
use crate::clock::now_micros;
use crate::decimal;
use crate::error::{ApiError, ApiResult};
use crate::http::{self, json_body, path_param, query_param};
use crate::identity::auth::authenticate;
use crate::ids::ExternalId;
use crate::store::idempotency::{self, Collision};
use crate::store::users::{
    LedgerEntry, LedgerRow, UserRecord, conversion_items, ledger_page, load_user, user_not_found,
};
use crate::store::{self, StoreError, keys};
use crate::wire::PageInfo;
use crate::wire::users::{Conversion, ConvertBody, LedgerEntryView, WalletBalances, WalletView};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

const CONVERT_ATTEMPTS: u32 = 8;
/// Coins keep 12 decimals, rounded toward zero: a conversion never mints more than it pays for.
pub const COIN_DECIMALS: u32 = 12;

fn wallet_view(user: &UserRecord) -> WalletBalances {
    WalletBalances {
        points_balance: decimal::to_json(user.points_balance),
        coins_balance: decimal::to_json(user.coins_balance),
        conversion_rate: user.conversion_rate,
    }
}

fn ledger_view(row: &LedgerRow) -> LedgerEntryView {
    LedgerEntryView {
        id: row.id.clone(),
        created_at: row.created_at.clone(),
        transaction_type: row.transaction_type.clone(),
        points: decimal::to_json(row.points),
        coins: decimal::to_json(row.coins),
        applied_conversion_rate: decimal::to_json(row.applied_conversion_rate),
        data: row.data.clone(),
    }
}

/// Balances and the ledger, newest first, paginated.
pub async fn wallet(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let caller = authenticate(ctx, &req).await?;
    let (page_size, next_token) = paging(&req)?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let user = load_user(&ctx.store, &caller.tenant, &external_user_id).await?;
    let (rows, next) = ledger_page(
        &ctx.store,
        &caller.tenant,
        &user.external_user_id,
        page_size,
        next_token.as_deref(),
    )
    .await?;
    http::ok(&WalletView {
        user_id: external_user_id,
        wallet: wallet_view(&user),
        wallet_transactions: rows.iter().map(ledger_view).collect(),
        page: PageInfo {
            page_size,
            next_token: next,
        },
    })
}

/// A positive amount of points with at most 6 decimals (awards may be fractional).
fn parse_points(value: Option<&Value>) -> ApiResult<Decimal> {
    let invalid = || {
        ApiError::unprocessable(
            "invalid_points",
            "points must be a number greater than 0 with at most 6 decimals.",
        )
    };
    let text = match value {
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_owned(),
        _ => return Err(invalid()),
    };
    let points = decimal::parse(&text).ok_or_else(invalid)?;
    if points <= Decimal::ZERO || points.scale() > 6 {
        return Err(invalid());
    }
    Ok(points)
}

/// Pure: what a conversion of `points` gives with this wallet.
pub fn conversion(user: &UserRecord, points: Decimal) -> ApiResult<(Decimal, bool)> {
    let rate = Decimal::from(user.conversion_rate);
    if rate <= Decimal::ZERO {
        return Err(ApiError::internal(
            "wallet with a non-positive conversion rate",
        ));
    }
    let coins = points
        .checked_div(rate)
        .ok_or_else(|| {
            ApiError::unprocessable("invalid_points", "points is too large to convert.")
        })?
        .round_dp_with_strategy(COIN_DECIMALS, RoundingStrategy::ToZero)
        .normalize();
    Ok((coins, user.points_balance >= points))
}

fn conversion_view(user: &UserRecord, points: Decimal, coins: Decimal, enough: bool) -> Conversion {
    Conversion {
        points: decimal::to_json(points),
        conversion_rate: user.conversion_rate,
        conversion_rate_date: user.created_at.clone(),
        converted_amount: decimal::to_json(coins),
        converted_currency: "coins".into(),
        have_enough_points: enough,
        transaction_id: None,
    }
}

pub async fn convert_preview(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let points = parse_points(query_param(&req, "points").map(Value::String).as_ref())?;
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let user = load_user(&ctx.store, &caller.tenant, &external_user_id).await?;
    let (coins, enough) = conversion(&user, points)?;
    http::ok(&conversion_view(&user, points, coins, enough))
}

fn insufficient(user: &UserRecord, points: Decimal) -> ApiError {
    ApiError::conflict(
        "insufficient_points",
        format!(
            "Not enough points: the wallet holds {} points and {} were asked to convert.",
            user.points_balance, points
        ),
    )
}

/// Converts points to coins in one transaction: the balance check is the write's condition.
pub async fn convert(ctx: &'static AppContext, req: Request) -> ApiResult<Response<Body>> {
    let raw: Value = json_body(&req)?;
    let body: ConvertBody = serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("The request body does not have the expected fields: {e}."),
        )
    })?;
    let points = parse_points(Some(&body.points))?;
    let key = idempotency::key_from(&req, &Value::Null)?;
    let request_hash = idempotency::request_hash(&raw);
    let caller = authenticate(ctx, &req).await?;
    let external_user_id = path_param(&req, "externalUserId")?;
    let user_id = ExternalId::try_new(external_user_id.as_str())
        .map_err(|_| user_not_found(&external_user_id))?;
    let user_key = (
        keys::user_pk(&caller.tenant, &user_id),
        keys::USER_SK.to_owned(),
    );
    let record_key = key.as_ref().map(|key| {
        idempotency::record_key(&caller.tenant, &format!("CONVERT#{external_user_id}"), key)
    });
    let mut read_keys = vec![user_key.clone()];
    read_keys.extend(record_key.clone());
    let table = ctx.store.table();
    for attempt in 0..CONVERT_ATTEMPTS {
        let mut found = ctx.store.get_many(&read_keys).await?.into_iter();
        let user_item = found.next().flatten();
        let now_us = now_micros();
        if let Some(record) = idempotency::live_record(found.next().flatten().as_ref(), now_us) {
            return record.replay(&request_hash);
        }
        let user = user_item
            .as_ref()
            .and_then(UserRecord::from_item)
            .ok_or_else(|| user_not_found(&external_user_id))?;
        let (coins, enough) = conversion(&user, points)?;
        if !enough {
            return Err(insufficient(&user, points));
        }
        let transaction_id = crate::ids::new_id();
        let created_at = crate::clock::micros_to_rfc3339(now_us);
        let mut response = conversion_view(&user, points, coins, true);
        response.transaction_id = Some(transaction_id.clone());
        let body = serde_json::to_string(&response).map_err(ApiError::internal)?;

        let mut items = Vec::new();
        let idempotency_index = record_key.as_ref().map(|_| 0);
        if let (Some(record_key), Some(key)) = (&record_key, &key) {
            let ttl = ctx.config.idempotency_ttl.as_secs() as i64;
            items.push(idempotency::put_record(
                table,
                record_key,
                key,
                &request_hash,
                &body,
                now_us,
                ttl,
            )?);
        }
        let wallet_index = items.len();
        let ledger = LedgerEntry {
            id: transaction_id.clone(),
            transaction_type: "ConvertPointsToCoins",
            points,
            coins,
            applied_conversion_rate: user.conversion_rate,
            award_id: None,
            game_id: None,
            external_task_id: None,
            data: Some(json!({
                "walletBefore": {"pointsBalance": user.points_balance.to_string(), "coinsBalance": user.coins_balance.to_string()},
            })),
            created_at,
            after: Some((user.points_balance - points, user.coins_balance + coins)),
        };
        let before = Some((user.points_balance, user.coins_balance));
        items.extend(conversion_items(
            table, &user_key, points, coins, &ledger, before,
        )?);
        items.push(crate::api::events::outbox_item(
            table,
            &caller.tenant,
            crate::api::events::WALLET_CONVERTED,
            &serde_json::json!({"externalUserId": external_user_id, "conversion": response}),
        )?);

        match ctx.store.transact_once(items).await {
            Ok(()) => return Ok(idempotency::json_text(StatusCode::OK, body)),
            Err(StoreError::Cancelled { reasons }) => {
                match idempotency::collision(idempotency_index.and_then(|i| reasons.get(i))) {
                    Some(Collision::InFlight) => return Err(idempotency::in_flight()),
                    Some(Collision::Committed) => continue,
                    None => {}
                }
                // The balance changed under us (an award or another conversion): re-check it.
                if !reasons
                    .get(wallet_index)
                    .is_some_and(|r| r.condition_failed())
                {
                    store::backoff(attempt).await;
                }
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::conflict(
        "concurrent_modification",
        "The wallet kept changing during the conversion; retry it.",
    )
    .with_header("retry-after", "1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(balance: i64, rate: i64) -> UserRecord {
        UserRecord {
            external_user_id: ExternalId::try_new("user").unwrap(),
            created_at: String::new(),
            points_balance: Decimal::from(balance),
            coins_balance: Decimal::ZERO,
            conversion_rate: rate,
        }
    }

    #[test]
    fn conversion_divides_by_the_rate_and_never_rounds_up() {
        assert_eq!(
            conversion(&user(300, 100), Decimal::from(250)).unwrap(),
            (Decimal::new(25, 1), true)
        );
        let (coins, enough) = conversion(&user(0, 3), Decimal::ONE).unwrap();
        assert!(!enough);
        assert_eq!(coins.to_string(), "0.333333333333");
        assert!(coins * Decimal::from(3) <= Decimal::ONE);
    }

    #[test]
    fn points_must_be_positive_with_few_decimals() {
        assert_eq!(parse_points(Some(&json!(5))).unwrap(), Decimal::from(5));
        assert_eq!(
            parse_points(Some(&json!("2.5"))).unwrap(),
            Decimal::new(25, 1)
        );
        for bad in [
            json!(0),
            json!(-1),
            json!("x"),
            json!(null),
            json!(0.0000001),
            json!([1]),
        ] {
            assert_eq!(
                parse_points(Some(&bad)).unwrap_err().code,
                "invalid_points",
                "{bad}"
            );
        }
        assert!(parse_points(None).is_err());
    }
}
