//! Events out (docs/events.md): what happened, as the envelope a webhook receiver gets. Pure:
//! the id and the time come in as arguments; the store turns an [`Event`] into an outbox item
//! committed in the same transaction as the write it reports (`store::outbox::put`).

use crate::ids::TenantId;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The envelope's version; a breaking change of any event's `data` bumps it.
pub const API_VERSION: &str = "2026-12-01";

/// Every event type GAME emits or will emit (the list). Subscriptions filter on these.
pub const EVENT_TYPES: &[&str] = &[
    AWARD_CREATED,
    AWARD_REVERSED,
    WALLET_CONVERTED,
    WALLET_ADJUSTED,
    WALLET_TRANSFERRED,
    WALLET_SPENT,
    LEVEL_REACHED,
    ACHIEVEMENT_EARNED,
    STREAK_EXTENDED,
    STREAK_BROKEN,
    STREAK_FREEZE_USED,
    LEADERBOARD_PERIOD_CLOSED,
    GAME_CREATED,
    GAME_UPDATED,
    GAME_DELETED,
    TASK_CREATED,
    TASK_UPDATED,
    TASK_DELETED,
    STRATEGY_PUBLISHED,
    TEST,
];
pub const AWARD_CREATED: &str = "award.created";
pub const WALLET_CONVERTED: &str = "wallet.converted";
pub const AWARD_REVERSED: &str = "award.reversed";
pub const LEVEL_REACHED: &str = "level.reached";
pub const LEADERBOARD_PERIOD_CLOSED: &str = "leaderboard.period_closed";
pub const ACHIEVEMENT_EARNED: &str = "achievement.earned";
pub const STREAK_EXTENDED: &str = "streak.extended";
pub const STREAK_BROKEN: &str = "streak.broken";
pub const STREAK_FREEZE_USED: &str = "streak.freeze_used";
pub const WALLET_ADJUSTED: &str = "wallet.adjusted";
pub const WALLET_TRANSFERRED: &str = "wallet.transferred";
/// A spend, and a hold's capture (the held coins spent).
pub const WALLET_SPENT: &str = "wallet.spent";
pub const GAME_CREATED: &str = "game.created";
pub const GAME_UPDATED: &str = "game.updated";
pub const GAME_DELETED: &str = "game.deleted";
pub const TASK_CREATED: &str = "task.created";
pub const TASK_UPDATED: &str = "task.updated";
pub const TASK_DELETED: &str = "task.deleted";
pub const STRATEGY_PUBLISHED: &str = "strategy.published";
/// Sent by `POST /webhooks/{id}/test` only.
pub const TEST: &str = "webhook.test";

/// One event: `id` is the `webhook-id` of every delivery of it (receivers dedupe on it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub api_version: String,
    pub occurred_at: String,
    pub tenant: TenantId,
    pub data: Value,
}

impl Event {
    /// `id` is stable for the write it reports (`evt_` + the write's own fresh id), so a
    /// re-decided write that finally commits reports under the id it committed with.
    pub fn new(
        id_seed: &str,
        event_type: &str,
        tenant: &TenantId,
        occurred_at: &str,
        data: Value,
    ) -> Event {
        Event {
            id: format!("evt_{id_seed}"),
            event_type: event_type.to_owned(),
            api_version: API_VERSION.to_owned(),
            occurred_at: occurred_at.to_owned(),
            tenant: tenant.clone(),
            data,
        }
    }

    /// The webhook body: exactly these bytes are signed and sent.
    pub fn body(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub fn known_type(event_type: &str) -> bool {
    EVENT_TYPES.contains(&event_type)
}

/// Whether a subscription's filter (empty: everything) selects an event type.
pub fn selects(filter: &[String], event_type: &str) -> bool {
    filter.is_empty() || filter.iter().any(|t| t == event_type || t == "*")
}

/// `award.created`'s data: the award answer plus who and where, in the API's field names.
pub fn award_data(
    response: &impl Serialize,
    external_game_id: &str,
    external_user_id: &str,
    points: &Value,
    data: &Value,
) -> Value {
    let mut value = serde_json::to_value(response).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut value {
        map.insert("externalGameId".into(), json!(external_game_id));
        map.insert("externalUserId".into(), json!(external_user_id));
        map.insert("points".into(), points.clone());
        map.insert("data".into(), data.clone());
    }
    value
}

/// Who and where a progression event is about.
pub struct AwardOrigin<'a> {
    pub tenant: &'a TenantId,
    pub award_id: &'a str,
    pub occurred_at: &'a str,
    pub external_game_id: &'a str,
    pub external_user_id: &'a str,
}

/// The events of what an award did to the user's progression, at most four, so an award's
/// transaction stays bounded: `level.reached` (every level crossed above the best one held),
/// `achievement.earned` (every achievement the award granted, in one event), `streak.extended`
/// or `streak.broken` (the award restarted a lapsed streak), `streak.freeze_used`. Their ids
/// derive from the award's, so a retried award reports each once.
pub fn progression_events(
    origin: &AwardOrigin<'_>,
    block: &crate::wire::progression::ProgressionBlock,
    broken_streak: Option<u32>,
) -> Vec<Event> {
    use crate::wire::progression::StreakChange;
    let event = |suffix: &str, event_type: &str, mut data: Value| {
        if let Value::Object(map) = &mut data {
            map.insert("awardId".into(), json!(origin.award_id));
            map.insert("externalGameId".into(), json!(origin.external_game_id));
            map.insert("externalUserId".into(), json!(origin.external_user_id));
        }
        Event::new(
            &format!("{}-{suffix}", origin.award_id),
            event_type,
            origin.tenant,
            origin.occurred_at,
            data,
        )
    };
    let mut events = Vec::new();
    if let Some(top) = block.level_ups.last() {
        events.push(event(
            "level",
            LEVEL_REACHED,
            json!({"level": top.level, "name": top.name, "levelUps": block.level_ups}),
        ));
    }
    if !block.achievements.is_empty() {
        events.push(event(
            "achievements",
            ACHIEVEMENT_EARNED,
            json!({"achievements": block.achievements}),
        ));
    }
    if let Some(streak) = &block.streak {
        match (streak.status, broken_streak) {
            (StreakChange::Extended, _) => {
                events.push(event("streak", STREAK_EXTENDED, json!({"streak": streak})));
            }
            (StreakChange::Restarted, Some(previous)) => events.push(event(
                "streak",
                STREAK_BROKEN,
                json!({"streak": streak, "brokenLength": previous}),
            )),
            // A first streak starting, or an award in a period already counted.
            _ => {}
        }
        if !streak.freezes_used.is_empty() {
            events.push(event(
                "freeze",
                STREAK_FREEZE_USED,
                json!({"freezesUsed": streak.freezes_used, "freezesHeld": streak.freezes_held}),
            ));
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_is_camel_case_and_versioned() {
        let event = Event::new(
            "0190",
            AWARD_CREATED,
            &TenantId::try_new("acme").unwrap(),
            "2026-12-02T10:00:00Z",
            json!({"points": 5}),
        );
        let body: Value = serde_json::from_str(&event.body()).unwrap();
        assert_eq!(body["id"], "evt_0190");
        assert_eq!(body["type"], "award.created");
        assert_eq!(body["apiVersion"], API_VERSION);
        assert_eq!(body["occurredAt"], "2026-12-02T10:00:00Z");
        assert_eq!(body["tenant"], "acme");
        assert_eq!(body["data"]["points"], 5);
    }

    #[test]
    fn empty_filter_selects_everything() {
        assert!(selects(&[], "game.created"));
        assert!(selects(&["award.created".into()], "award.created"));
        assert!(!selects(&["award.created".into()], "game.created"));
    }
}
