//! Canonical JSON: the one text of a JSON value, written here rather than left to a serde
//! feature. Object keys sorted (by their UTF-8 bytes) at every level, no whitespace, strings
//! escaped minimally, numbers in one fixed format. Idempotency hashes it (a replay must carry
//! the same request) and the store keeps clients' `data` as this text, so neither may change
//! when a crate in the build turns on serde_json's `preserve_order` or `arbitrary_precision`.
//!
//! The number format (serde_json 1.0.154's, so hashes stored before this module still match):
//! * an integer that fits an i64 or u64: plain decimal (`-2`, `18446744073709551615`);
//! * any other number: the shortest decimal that reads back as the same f64 (the value JSON
//!   parsing gave), as the `zmij` crate writes it (serde_json's float formatter): `d.ddd` with
//!   at least one decimal when its leading digit's exponent is within -5..=15 (`3.5`, `100.0`,
//!   `0.00001`), else `d.ddde±x` (`1e+20`, `1.5e-7`); zero is `0.0` or `-0.0`.

use serde_json::{Number, Value};
use std::fmt::Write as _;

/// The canonical text of `value`.
pub fn to_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

/// The canonical text's length in bytes (what the size limits count).
pub fn len(value: &Value) -> usize {
    to_string(value).len()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number),
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                write_value(out, item);
            }
            out.push('}');
        }
    }
}

fn write_number(out: &mut String, number: &Number) {
    if let Some(unsigned) = number.as_u64() {
        let _ = write!(out, "{unsigned}");
    } else if let Some(signed) = number.as_i64() {
        let _ = write!(out, "{signed}");
    } else if let Some(float) = number.as_f64() {
        write_float(out, float);
    } else {
        out.push_str("null");
    }
}

fn write_float(out: &mut String, value: f64) {
    if !value.is_finite() {
        // JSON has no such number; serde_json writes null for one too.
        out.push_str("null");
        return;
    }
    // zmij is the formatter serde_json writes floats with: the shortest digits that read back
    // as the same f64, and where two candidates are equally short, the same one serde_json
    // picks (std's `{:e}` picks differently, e.g. for -1164254470530509.2).
    out.push_str(zmij::Buffer::new().format_finite(value));
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            c if c < '\u{20}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn keys_are_sorted_at_every_level_and_nothing_is_spaced() {
        let value = json!({"b": [3, {"z": 1, "a": null}], "a": {"y": true, "": false}, "B": "x"});
        assert_eq!(
            to_string(&value),
            r#"{"B":"x","a":{"":false,"y":true},"b":[3,{"a":null,"z":1}]}"#
        );
    }

    #[test]
    fn numbers_have_one_format() {
        let text = r#"[1, -2, 3.5, 1e130, 1.0e-7, 18446744073709551615, -9223372036854775808,
            0.1, 100000000000000000000, 1e15, 1e16, 0.00001, 0.000001, -0.0, 0.0, 1.0, 2.5e-300,
            -1e308, 123456.789, -1164254470530509.3]"#;
        let value: Value = serde_json::from_str(text).unwrap();
        assert_eq!(
            to_string(&value),
            "[1,-2,3.5,1e+130,1e-7,18446744073709551615,-9223372036854775808,0.1,1e+20,\
             1000000000000000.0,1e+16,0.00001,1e-6,-0.0,0.0,1.0,2.5e-300,-1e+308,123456.789,\
             -1164254470530509.2]"
        );
    }

    #[test]
    fn strings_escape_quotes_backslashes_and_controls_only() {
        let value = json!("é\"\\\n\r\t\u{08}\u{0c}\u{01}\u{1f}\u{7f}/<>");
        let expected = "\"é\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001f\u{7f}/<>\"";
        assert_eq!(to_string(&value), expected);
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// The canonical text reads back as the same value: what the store keeps is lossless.
        #[test]
        fn canonical_text_round_trips(value in json_value()) {
            let text = to_string(&value);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(&back, &value);
            prop_assert_eq!(to_string(&back), text);
        }

        /// Numbers and strings are written exactly as serde_json writes them today, so every
        /// request hash stored before this module keeps matching.
        #[test]
        fn leaves_match_the_format_hashes_were_stored_with(
            float in any::<f64>().prop_filter("finite", |f| f.is_finite()),
            signed in any::<i64>(),
            text in any::<String>(),
        ) {
            for value in [Value::from(float), Value::from(signed), Value::String(text)] {
                prop_assert_eq!(to_string(&value), serde_json::to_string(&value).unwrap());
            }
        }
    }
}
