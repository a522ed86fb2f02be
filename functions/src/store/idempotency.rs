//! Stripe-style idempotency for writes that must not happen twice (awards, conversions): the
//! first answer is stored in the same transaction as the write and replayed byte for byte.

use crate::error::{ApiError, ApiResult};
use crate::http::header_str;
use crate::ids::{IdempotencyKey, TenantId};
use crate::store::{self, CancelReason, Item, attrs, keys};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The key that makes a write idempotent: a header (`Idempotency-Key`, GAME's
/// `X-Idempotency-Key`) or GAME's body fields `data.eventId`, `data.idempotencyKey`,
/// `data.correlationId`. None means no deduplication, as in GAME without a key.
pub fn key_from(req: &Request, data: &Value) -> ApiResult<Option<IdempotencyKey>> {
    let given = ["idempotency-key", "x-idempotency-key"]
        .iter()
        .find_map(|name| {
            header_str(req, name)
                .map(str::trim)
                .filter(|k| !k.is_empty())
        })
        .or_else(|| {
            ["eventId", "idempotencyKey", "correlationId"]
                .iter()
                .find_map(|field| {
                    data.get(field)?
                        .as_str()
                        .map(str::trim)
                        .filter(|k| !k.is_empty())
                })
        });
    given
        .map(|key| {
            IdempotencyKey::try_new(key).map_err(|_| {
                ApiError::unprocessable(
                    "invalid_idempotency_key",
                    format!(
                        "The idempotency key must be at most {} printable characters.",
                        IdempotencyKey::MAX_LEN
                    ),
                )
            })
        })
        .transpose()
}

/// The SHA-256 of a request body's canonical JSON ([`crate::canonical`]): a replay must carry
/// the same one. Stored in every idempotency record, so its input text never changes.
pub fn request_hash(body: &Value) -> String {
    format!(
        "{:x}",
        Sha256::digest(crate::canonical::to_string(body).as_bytes())
    )
}

/// Where the record of `key` lives; `scope` names the write (e.g. game, task and user).
pub fn record_key(tenant: &TenantId, scope: &str, key: &str) -> (String, String) {
    (
        keys::idempotency_pk(tenant, &format!("{scope}#{key}")),
        keys::IDEMPOTENCY_SK.to_owned(),
    )
}

/// A stored first answer, kept for replays until `expiresAt`.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
    pub expires_at: i64,
}

impl Record {
    pub fn from_item(item: &Item) -> Option<Record> {
        Some(Record {
            request_hash: attrs::s(item, "requestHash")?.to_owned(),
            status: u16::try_from(attrs::u64(item, "status")?).ok()?,
            body: attrs::s(item, "body")?.to_owned(),
            expires_at: attrs::i64(item, store::TTL_ATTRIBUTE).unwrap_or(i64::MAX),
        })
    }

    /// DynamoDB TTL deletes lazily; an expired record counts as gone.
    pub fn live(&self, now_secs: i64) -> bool {
        self.expires_at > now_secs
    }

    /// The stored answer, or 422 if the key was used for a different request.
    pub fn replay(&self, request_hash: &str) -> ApiResult<Response<Body>> {
        if self.request_hash != request_hash {
            return Err(ApiError::unprocessable(
                "idempotency_key_reused",
                "This idempotency key was already used with a different request body; use a new key for a new request.",
            ));
        }
        let mut response = json_text(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK),
            self.body.clone(),
        );
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        Ok(response)
    }
}

/// A live record among loaded items, if any.
pub fn live_record(item: Option<&Item>, now_us: i64) -> Option<Record> {
    item.and_then(Record::from_item)
        .filter(|r| r.live(now_us / 1_000_000))
}

/// The record's write, committed with the write it protects. An expired record may be replaced.
pub fn put_record(
    table: &str,
    record_key: &(String, String),
    key: &str,
    request_hash: &str,
    body: &str,
    now_us: i64,
    ttl_secs: i64,
) -> ApiResult<TransactWriteItem> {
    let now_secs = now_us / 1_000_000;
    let mut item = store::key(record_key.0.clone(), record_key.1.clone());
    for (name, value) in [
        ("entity", store::s("idempotency")),
        ("idempotencyKey", store::s(key)),
        ("requestHash", store::s(request_hash)),
        ("status", store::n(200)),
        ("body", store::s(body)),
        (store::TTL_ATTRIBUTE, store::n(now_secs + ttl_secs)),
    ] {
        item.insert(name.to_owned(), value);
    }
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(PK) OR expiresAt < :now")
        .expression_attribute_values(":now", store::n(now_secs))
        .build()
        .map_err(ApiError::internal)?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// What a cancelled transaction says about its idempotency record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    /// The first request committed: reload and replay it.
    Committed,
    /// The first request is committing right now.
    InFlight,
}

pub fn collision(reason: Option<&CancelReason>) -> Option<Collision> {
    match reason {
        Some(r) if r.condition_failed() => Some(Collision::Committed),
        Some(r) if r.conflicted() => Some(Collision::InFlight),
        _ => None,
    }
}

pub fn in_flight() -> ApiError {
    ApiError::conflict(
        "request_in_flight",
        "A request with this idempotency key is still being processed; retry shortly to get its result.",
    )
    .with_header("retry-after", "1")
}

/// A JSON answer whose text is already fixed (so a replay can return it byte for byte).
pub fn json_text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash the code before `canonical` (serde_json's sorted `Value::to_string`) stored for
    /// this body: records written then must still match their replays.
    #[test]
    fn request_hash_is_pinned() {
        let text = r#"{"z":[1,-2,3.5,1e130,1.0e-7,18446744073709551615,-9223372036854775808,0.1,100000000000000000000],"a":{"y":"é\"\\\n\u0001\u001f\u007f/<>","b":null,"":true,"B":false},"m":-0.0,"externalUserId":"ana","data":{}}"#;
        let body: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            request_hash(&body),
            "c0c70a88ee626a55ed94a44f96d34b745ac2fef641fdb612c8c4c6822567bf4d"
        );
        // Key order and spacing of the request do not matter; values do.
        let reordered: Value =
            serde_json::from_str(r#"{ "data": {}, "externalUserId": "ana" }"#).unwrap();
        let original: Value =
            serde_json::from_str(r#"{"externalUserId":"ana","data":{}}"#).unwrap();
        assert_eq!(request_hash(&reordered), request_hash(&original));
        let other: Value = serde_json::from_str(r#"{"externalUserId":"bob","data":{}}"#).unwrap();
        assert_ne!(request_hash(&other), request_hash(&original));
    }
}
