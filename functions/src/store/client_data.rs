//! Clients' `data` (awards, their ledger entries, actions) as the store keeps it: opaque, as
//! its canonical JSON text ([`crate::canonical`]) in one string attribute. DynamoDB's own types
//! cannot hold every JSON value (empty strings on DynamoDB Local, numbers beyond 38 digits or
//! outside 1e-130..1e126, maps nested deeper than 32), text can: what the API accepted reads
//! back exactly. Items written before this kept `data` as a DynamoDB map; those still read.

use crate::store::Item;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

/// The attribute holding `value`.
pub fn attribute(value: &Value) -> AttributeValue {
    AttributeValue::S(crate::canonical::to_string(value))
}

/// The value of attribute `name`: canonical text, or a map of an older item; `null` when the
/// item has none (or it is unreadable, which is logged).
pub fn read(item: &Item, name: &str) -> Value {
    let Some(attribute) = item.get(name) else {
        return Value::Null;
    };
    let read = match attribute {
        AttributeValue::S(text) => serde_json::from_str(text).map_err(|e| e.to_string()),
        legacy => serde_dynamo::from_attribute_value(legacy.clone()).map_err(|e| e.to_string()),
    };
    read.unwrap_or_else(|error| {
        tracing::warn!(attribute = name, error = %error, "unreadable client data");
        Value::Null
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn data_is_canonical_text_and_old_maps_still_read() {
        let value = json!({"b": "", "a": [1e130, -1e-140, {"": null}]});
        let attribute = attribute(&value);
        assert_eq!(
            attribute,
            AttributeValue::S(r#"{"a":[1e+130,-1e-140,{"":null}],"b":""}"#.into())
        );
        let item: Item = [("data".to_owned(), attribute)].into();
        assert_eq!(read(&item, "data"), value);

        let old = json!({"where": "park", "n": 3, "l": [true, "x"]});
        let legacy: Item = [(
            "data".to_owned(),
            serde_dynamo::to_attribute_value(&old).unwrap(),
        )]
        .into();
        assert_eq!(read(&legacy, "data"), old);
        assert_eq!(read(&legacy, "missing"), Value::Null);
    }
}
