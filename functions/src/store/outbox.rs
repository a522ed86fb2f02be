//! The transactional outbox (docs/events.md): an event is one item put in the SAME
//! TransactWriteItems as the write it reports, so it exists exactly when that write committed
//! (no dual write). The table's stream carries the insert to the dispatcher; TTL reaps the item
//! after the stream has fanned it out.
//!
//! Any write that emits an event adds `outbox::put(table, &event, now_secs)` to its items:
//! that is the whole mechanism (leaderboards, progression and the ledger call it the same way).

use crate::domain::events::Event;
use crate::store::{self, Item, StoreError, TTL_ATTRIBUTE, attrs};
use aws_sdk_dynamodb::types::{Put, TransactWriteItem};

/// The `entity` of an outbox item: the stream's filter criteria select inserts of it only.
pub const ENTITY: &str = "outbox";
pub const SK: &str = "EVENT";
/// Kept past fan-out (the stream keeps records 24 h) for a day of inspection, then reaped.
pub const TTL_SECS: i64 = 2 * 24 * 3600;

/// One partition per event: outbox writes never make a hot key, whatever the tenant's rate.
pub fn key(event: &Event) -> (String, String) {
    (
        format!("T#{}#EVT#{}", event.tenant, event.id),
        SK.to_owned(),
    )
}

pub fn item(event: &Event, now_secs: i64) -> Item {
    let (pk, sk) = key(event);
    let mut item = store::key(pk, sk);
    item.insert("entity".into(), store::s(ENTITY));
    item.insert("tenant".into(), store::s(event.tenant.clone()));
    item.insert("eventType".into(), store::s(event.event_type.clone()));
    // The body as text: exactly the bytes that are signed and sent.
    item.insert("event".into(), store::s(event.body()));
    item.insert(TTL_ATTRIBUTE.into(), store::n(now_secs + TTL_SECS));
    item
}

/// The outbox item as a transaction item. Conditioned on being new: an event id is written
/// once, so a retried transaction cannot emit twice.
pub fn put(table: &str, event: &Event, now_secs: i64) -> Result<TransactWriteItem, StoreError> {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item(event, now_secs)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .map_err(|e| StoreError::Request(e.to_string()))?;
    Ok(TransactWriteItem::builder().put(put).build())
}

/// The event an outbox item (or a stream record's new image) carries.
pub fn event_of(item: &Item) -> Option<Event> {
    if attrs::s(item, "entity") != Some(ENTITY) {
        return None;
    }
    serde_json::from_str(attrs::s(item, "event")?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::TenantId;
    use serde_json::json;

    #[test]
    fn item_round_trips_and_expires() {
        let event = Event::new(
            "1",
            "game.created",
            &TenantId::try_new("acme").unwrap(),
            "2026-12-02T10:00:00Z",
            json!({"gameId": "g"}),
        );
        let item = item(&event, 1000);
        assert_eq!(event_of(&item), Some(event));
        assert_eq!(attrs::i64(&item, TTL_ATTRIBUTE), Some(1000 + TTL_SECS));
    }
}
