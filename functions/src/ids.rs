//! Identifiers as types that parse. A key is built from these types only, so a key without a
//! tenant, or with a `#` smuggled into a segment, cannot be written. Fresh ids are time-ordered
//! UUIDs (v7): sortable by creation, unguessable.

use crate::error::{ApiError, ApiResult};
use std::fmt;

/// What an identifier type shares: its text, its display, and serde through its parser.
macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $rule:expr, $explain:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Whether `value` satisfies this type's rule.
            pub fn valid(value: &str) -> bool {
                let rule: fn(&str) -> bool = $rule;
                rule(value)
            }
            /// Parses, or says what the rule is (for serde and stored data).
            pub fn try_new(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                if Self::valid(&value) {
                    Ok(Self(value))
                } else {
                    Err(InvalidId { kind: stringify!($name), explain: $explain })
                }
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, InvalidId> {
                Self::try_new(value)
            }
        }
        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }
        /// Unit tests write ids as literals; a literal that breaks the rule fails the test.
        #[cfg(test)]
        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::try_new(value).expect("a valid id literal in a test")
            }
        }
        impl std::str::FromStr for $name {
            type Err = InvalidId;
            fn from_str(value: &str) -> Result<Self, InvalidId> {
                Self::try_new(value)
            }
        }
        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl std::ops::Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }
        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }
    };
}

/// A value that broke an identifier type's rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind}: {explain}")]
pub struct InvalidId {
    pub kind: &'static str,
    pub explain: &'static str,
}

id_type!(
    /// The tenant: inside every tenant-owned partition key (`T#<tenant>#...`), so it never
    /// contains `#` or odd bytes. It comes from the API key record or the token's claims.
    TenantId,
    |t| {
        (1..=128).contains(&t.len())
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b))
    },
    "1 to 128 characters among letters, digits and '-', '_', '.', ':', '@'"
);

id_type!(
    /// Our id of a game: a UUID, as in GAME.
    GameId,
    |g| g.len() <= 64 && !g.contains('#') && uuid::Uuid::parse_str(g).is_ok(),
    "a UUID"
);

id_type!(
    /// GAME's slug rule for external game and user ids: `^[a-z0-9_-]{3,60}$`, case-insensitive.
    ExternalId,
    |v| {
        (3..=60).contains(&v.len())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    },
    "3 to 60 characters among letters, digits, '_' and '-'"
);

id_type!(
    /// A task's external id: free text in GAME; we refuse only what cannot travel in one URL
    /// path segment or would split a key.
    TaskId,
    |v| {
        !v.is_empty()
            && v.chars().count() <= 200
            && v.trim() == v
            && !v
                .chars()
                .any(|c| c.is_control() || matches!(c, '/' | '?' | '#' | '%'))
    },
    "1 to 200 characters, no surrounding spaces, none of '/', '?', '#', '%' or control characters"
);

id_type!(
    /// What makes a write idempotent (a header or GAME's body fields), trimmed.
    IdempotencyKey,
    |k| !k.is_empty() && k.chars().count() <= IdempotencyKey::MAX_LEN && !k.chars().any(char::is_control),
    "1 to 255 printable characters"
);

/// The rules above as JSON Schema patterns, for the OpenAPI document (one place for both).
pub const EXTERNAL_ID_PATTERN: &str = "^[A-Za-z0-9_-]{3,60}$";
pub const TASK_ID_PATTERN: &str =
    r"^[^\s/?#%\x00-\x1f\x7f-\x9f]([^/?#%\x00-\x1f\x7f-\x9f]*[^\s/?#%\x00-\x1f\x7f-\x9f])?$";

impl IdempotencyKey {
    pub const MAX_LEN: usize = 255;
}

impl GameId {
    pub fn fresh() -> Self {
        Self(new_id())
    }
    /// A path's `gameId`: one that cannot be ours is simply not found (as before the type).
    pub fn from_path(value: &str) -> ApiResult<Self> {
        Self::try_new(value).map_err(|_| {
            ApiError::not_found(
                "game_not_found",
                format!("Game not found by gameId: {value}"),
            )
        })
    }
}

impl ExternalId {
    /// Parses a client's field, answering GAME's 422 `invalid_slug` with the field's name.
    pub fn parse(field: &str, value: &str) -> ApiResult<Self> {
        Self::try_new(value).map_err(|_| {
            ApiError::unprocessable(
                "invalid_slug",
                format!(
                    "{field} \"{value}\" is not valid: use 3 to 60 characters among letters, digits, '_' and '-'."
                ),
            )
        })
    }
}

impl TaskId {
    /// Parses a client's `externalTaskId`, answering 422 `invalid_external_task_id`.
    pub fn parse(value: &str) -> ApiResult<Self> {
        Self::try_new(value).map_err(|_| {
            ApiError::unprocessable(
                "invalid_external_task_id",
                format!(
                    "externalTaskId \"{value}\" is not valid: use 1 to 200 characters, no surrounding spaces, and none of '/', '?', '#', '%' or control characters."
                ),
            )
        })
    }
}

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// GAME's slug rule for external game and user ids (see [`ExternalId`]).
pub fn validate_slug(field: &str, value: &str) -> ApiResult<()> {
    ExternalId::parse(field, value).map(drop)
}

pub fn valid_tenant(tenant: &str) -> bool {
    TenantId::valid(tenant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_games_rule() {
        for ok in ["abc", "Game_1-x", &"a".repeat(60)] {
            assert!(validate_slug("externalGameId", ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "with space", "ümlaut", "a.b", &"a".repeat(61), ""] {
            let error = validate_slug("externalGameId", bad).unwrap_err();
            assert_eq!(error.code, "invalid_slug");
            assert_eq!(error.status.as_u16(), 422);
        }
    }

    #[test]
    fn no_id_type_admits_a_key_separator() {
        assert!(TenantId::try_new("a#b").is_err());
        assert!(GameId::try_new("g#1").is_err());
        assert!(ExternalId::try_new("u#ser").is_err());
        assert!(TaskId::try_new("t#1").is_err());
        assert!(TenantId::try_new("").is_err());
        assert!(TenantId::try_new("x".repeat(129)).is_err());
        assert!(TenantId::try_new("eu-west-1_AbC").is_ok());
    }

    #[test]
    fn serde_parses_through_the_rule() {
        let ok: TenantId = serde_json::from_str("\"acme\"").unwrap();
        assert_eq!(ok.as_str(), "acme");
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"acme\"");
        let bad = serde_json::from_str::<ExternalId>("\"a b\"").unwrap_err();
        assert!(bad.to_string().contains("ExternalId"), "{bad}");
        assert!(serde_json::from_str::<TaskId>("\" padded\"").is_err());
    }
}
