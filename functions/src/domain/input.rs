//! Caps on what clients send to the award and action routes (docs/api.md, "Limits"). Every
//! text and `data` field has one, so no item can outgrow DynamoDB's 400 KB item limit: an
//! action is at most ~21 KB, an award or its ledger entry at most ~70 KB (data with a
//! strategy's `callbackData`), with room for the attributes around them. The request body as a
//! whole is capped in [`crate::http::json_body`].

use crate::canonical;
use crate::error::{ApiError, ApiResult};
use serde_json::Value;

/// A client's `data`, as canonical JSON (keys sorted, no spaces).
pub const MAX_DATA_BYTES: usize = 16 * 1024;
/// What an award stores as its data: the client's and a strategy's `callbackData`.
pub const MAX_STORED_DATA_BYTES: usize = 64 * 1024;
/// An action's `typeAction`.
pub const MAX_TYPE_ACTION_CHARS: usize = 200;
/// An action's `description`.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;

/// 422 `field_too_large`, naming the field and its cap.
pub fn too_large(field: &str, limit: usize, unit: &str, detail: String) -> ApiError {
    ApiError::unprocessable("field_too_large", detail)
        .with("field", field)
        .with("limit", limit)
        .with("unit", unit)
}

/// A client's `data` must be a JSON object of at most [`MAX_DATA_BYTES`] (canonical JSON).
pub fn check_data(data: &Value) -> ApiResult<()> {
    if !data.is_object() {
        return Err(ApiError::unprocessable(
            "invalid_body",
            "data must be a JSON object.",
        ));
    }
    let size = canonical::len(data);
    if size > MAX_DATA_BYTES {
        return Err(too_large(
            "data",
            MAX_DATA_BYTES,
            "bytes",
            format!("data is {size} bytes as compact JSON; at most {MAX_DATA_BYTES} are accepted."),
        ));
    }
    Ok(())
}

/// A client's `data` where absence and `null` mean `{}` (awards, user actions).
pub fn optional_data(data: Option<Value>) -> ApiResult<Value> {
    let data = match data {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(data) => data,
    };
    check_data(&data)?;
    Ok(data)
}

/// What an award stores: the client's data with a strategy's `callbackData`, capped so a
/// strategy cannot grow the award's item without bound.
pub fn check_stored_data(data: &Value) -> ApiResult<()> {
    let size = canonical::len(data);
    if size > MAX_STORED_DATA_BYTES {
        return Err(ApiError::unprocessable(
            "callback_data_too_large",
            format!(
                "The strategy's callbackData makes the award's data {size} bytes; at most {MAX_STORED_DATA_BYTES} can be stored."
            ),
        ));
    }
    Ok(())
}

/// A text field of at most `max` characters (`required`: not empty or blank either).
pub fn check_text(field: &str, value: &str, max: usize, required: bool) -> ApiResult<()> {
    if required && value.trim().is_empty() {
        return Err(ApiError::unprocessable(
            "invalid_field",
            format!("{field} must be a non-empty text of at most {max} characters."),
        ));
    }
    let chars = value.chars().count();
    if chars > max {
        return Err(too_large(
            field,
            max,
            "characters",
            format!("{field} is {chars} characters long; at most {max} are accepted."),
        ));
    }
    Ok(())
}

/// An action's fields: `typeAction` (required), `description`, `data`.
pub fn check_action(type_action: &str, description: Option<&str>, data: &Value) -> ApiResult<()> {
    check_text("typeAction", type_action, MAX_TYPE_ACTION_CHARS, true)?;
    if let Some(description) = description {
        check_text("description", description, MAX_DESCRIPTION_CHARS, false)?;
    }
    check_data(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn caps_are_inclusive_and_counted_as_documented() {
        let at = json!({"blob": "x".repeat(MAX_DATA_BYTES - 11)});
        assert!(check_data(&at).is_ok());
        let over = json!({"blob": "x".repeat(MAX_DATA_BYTES - 10)});
        let error = check_data(&over).unwrap_err();
        assert_eq!(
            (error.status.as_u16(), error.code),
            (422, "field_too_large")
        );
        assert_eq!(error.extra["field"], "data");
        assert_eq!(check_data(&json!([1])).unwrap_err().code, "invalid_body");
        assert_eq!(optional_data(None).unwrap(), json!({}));
        assert_eq!(optional_data(Some(Value::Null)).unwrap(), json!({}));

        // Characters, not bytes.
        assert!(check_text("description", &"é".repeat(1000), 1000, false).is_ok());
        assert!(check_text("description", "", 1000, false).is_ok());
        let error = check_text("description", &"é".repeat(1001), 1000, false).unwrap_err();
        assert_eq!(error.code, "field_too_large");
        assert_eq!(
            check_text("typeAction", " ", 200, true).unwrap_err().code,
            "invalid_field"
        );
        assert!(check_action("click", Some("d"), &json!({})).is_ok());
        assert!(check_stored_data(&json!({"x": "y".repeat(MAX_STORED_DATA_BYTES)})).is_err());
    }
}
