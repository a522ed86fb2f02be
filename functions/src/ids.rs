//! Identifiers. Fresh ids are time-ordered UUIDs (v7): sortable by creation, unguessable.

use crate::error::{ApiError, ApiResult};

pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// GAME's slug rule for external game and user ids: `^[a-z0-9_-]{3,60}$`, case-insensitive.
pub fn validate_slug(field: &str, value: &str) -> ApiResult<()> {
    let length_ok = (3..=60).contains(&value.len());
    let chars_ok = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if length_ok && chars_ok {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_slug",
            format!(
                "{field} \"{value}\" is not valid: use 3 to 60 characters among letters, digits, '_' and '-'."
            ),
        ))
    }
}

/// Tenants name key partitions (`T#<tenant>#...`), so they never contain `#` or odd bytes.
pub fn valid_tenant(tenant: &str) -> bool {
    (1..=128).contains(&tenant.len())
        && tenant
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b))
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
}
