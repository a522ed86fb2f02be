//! Exact decimal amounts (points, balances, coins). DynamoDB numbers are exact decimals of up
//! to 38 digits, so amounts travel as `N` text and are never floats in storage.

use aws_sdk_dynamodb::types::AttributeValue;
use rust_decimal::Decimal;
use serde_json::Value;

pub fn from_points(points: game_scoring::Points) -> Option<Decimal> {
    let scale = u32::from(points.scale());
    Decimal::try_from_i128_with_scale(points.units(), scale)
        .ok()
        .map(|d| d.normalize())
}

pub fn attribute(value: Decimal) -> AttributeValue {
    AttributeValue::N(value.normalize().to_string())
}

pub fn parse(text: &str) -> Option<Decimal> {
    text.parse::<Decimal>()
        .ok()
        .or_else(|| Decimal::from_scientific(text).ok())
        .map(|d| d.normalize())
}

/// A JSON number: an integer when integral, else the nearest f64 (whose shortest text is the
/// decimal itself for every amount with up to 15 significant digits).
pub fn to_json(value: Decimal) -> Value {
    let value = value.normalize();
    if value.scale() == 0
        && let Ok(integer) = i64::try_from(value.mantissa())
    {
        return Value::from(integer);
    }
    use rust_decimal::prelude::ToPrimitive;
    value
        .to_f64()
        .and_then(serde_json::Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(value.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_become_exact_decimals_and_json_numbers() {
        let points = game_scoring::Points::from_decimal(1875, 1).unwrap();
        let value = from_points(points).unwrap();
        assert_eq!(value.to_string(), "187.5");
        assert_eq!(attribute(value), AttributeValue::N("187.5".into()));
        assert_eq!(to_json(value), serde_json::json!(187.5));
        assert_eq!(to_json(parse("15").unwrap()), serde_json::json!(15));
        assert_eq!(parse("2.50").unwrap().to_string(), "2.5");
        assert_eq!(parse("1E+2").unwrap().to_string(), "100");
        assert!(parse("abc").is_none());
    }
}
