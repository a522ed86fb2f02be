//! The strategy catalogue: GAME's six built-in strategies with their public metadata and
//! variables, and the resolution of effective variables from game and task params.
//!
//! Ids, names, name slugs, versions, descriptions, variable names, types, defaults and
//! declaration order are GAME's (`app/engine/*.py`, `get_variables()` insertion order), so
//! `GET /strategies` answers what GAME answers.

use std::fmt;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

/// The type of a strategy variable, as GAME's `/strategies/{id}/schema` names it
/// (Python's `type(value).__name__`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VarType {
    Bool,
    Int,
    Float,
    Str,
    Dict,
    List,
}

impl VarType {
    /// The lowercase name used in JSON and in error messages (`"int"`, `"dict"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            VarType::Bool => "bool",
            VarType::Int => "int",
            VarType::Float => "float",
            VarType::Str => "str",
            VarType::Dict => "dict",
            VarType::List => "list",
        }
    }

    /// "an int", "a float", ... for human sentences.
    fn with_article(self) -> &'static str {
        match self {
            VarType::Bool => "a bool",
            VarType::Int => "an int",
            VarType::Float => "a float",
            VarType::Str => "a str",
            VarType::Dict => "a dict",
            VarType::List => "a list",
        }
    }
}

impl fmt::Display for VarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One variable a strategy publishes (GAME: an instance attribute named `variable_*`).
#[derive(Debug, Clone, PartialEq)]
pub struct VariableSpec {
    /// GAME's full name, e.g. `"variable_basic_points"`.
    pub name: &'static str,
    pub ty: VarType,
    pub default: Value,
}

impl VariableSpec {
    /// The name without GAME's `variable_` prefix (`"basic_points"`), also accepted as a param key.
    pub fn bare_name(&self) -> &'static str {
        self.name.strip_prefix("variable_").unwrap_or(self.name)
    }
}

/// Public metadata of a built-in strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyInfo {
    /// Registry id (`task.strategyId`), e.g. `"default"`.
    pub id: &'static str,
    /// GAME's `strategy_name`.
    pub name: &'static str,
    /// GAME's `strategy_name_slug`.
    pub name_slug: &'static str,
    /// GAME's `strategy_description`, verbatim (typos included, clients may compare it).
    pub description: &'static str,
    /// GAME's `strategy_version`.
    pub version: &'static str,
    /// Variables in GAME's declaration order.
    pub variables: Vec<VariableSpec>,
}

/// Bumped when this port changes how its strategies score without GAME changing a version,
/// so `hash_version` still tells two scoring behaviours apart (GAME hashed the source code).
const LOGIC_REVISION: u32 = 1;

impl StrategyInfo {
    /// Stable hex SHA-256 over the id, the version, this port's logic revision and the
    /// canonical variable set (variables sorted by name, each with type and default as
    /// compact JSON with sorted object keys). Independent of param overrides, like GAME's.
    pub fn hash_version(&self) -> String {
        let mut vars: Vec<&VariableSpec> = self.variables.iter().collect();
        vars.sort_by(|a, b| a.name.cmp(b.name));
        let mut canon = String::with_capacity(256);
        canon.push_str("game-scoring/strategy/v1\n");
        canon.push_str(self.id);
        canon.push('\n');
        canon.push_str(self.version);
        canon.push('\n');
        canon.push_str(&LOGIC_REVISION.to_string());
        canon.push('\n');
        for v in vars {
            canon.push_str(v.name);
            canon.push('\t');
            canon.push_str(v.ty.as_str());
            canon.push('\t');
            // serde_json's Map is a BTreeMap here (no preserve_order), so keys come out sorted.
            canon.push_str(&v.default.to_string());
            canon.push('\n');
        }
        hex(&Sha256::digest(canon.as_bytes()))
    }

    /// The variable spec by GAME's full name or bare name.
    pub fn variable(&self, name: &str) -> Option<&VariableSpec> {
        self.variables
            .iter()
            .find(|v| v.name == name || v.bare_name() == name)
    }

    /// Defaults only (no params).
    pub fn default_variables(&self) -> Variables {
        Variables {
            strategy: self.id,
            entries: self
                .variables
                .iter()
                .map(|v| (v.name, v.default.clone()))
                .collect(),
        }
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 0xf) as usize] as char);
    }
    s
}

fn var(name: &'static str, ty: VarType, default: Value) -> VariableSpec {
    VariableSpec { name, ty, default }
}

/// default and socio_bee share their variables (`default.py`, `socio_bee.py`).
fn enhanced_variables() -> Vec<VariableSpec> {
    vec![
        var("variable_basic_points", VarType::Int, json!(1)),
        var("variable_bonus_points", VarType::Int, json!(10)),
        var(
            "variable_individual_over_global_points",
            VarType::Int,
            json!(3),
        ),
        var(
            "variable_peak_performer_bonus_points",
            VarType::Int,
            json!(15),
        ),
        var(
            "variable_global_advantage_adjustment_points",
            VarType::Int,
            json!(7),
        ),
        var(
            "variable_individual_adjustment_points",
            VarType::Int,
            json!(8),
        ),
    ]
}

const ENHANCED_DESCRIPTION: &str =
    "A more advanced gamification strategy with additional points and penalties.";

static STRATEGIES: LazyLock<Vec<StrategyInfo>> = LazyLock::new(|| {
    vec![
        StrategyInfo {
            id: "default",
            name: "EnhancedGamificationStrategy",
            name_slug: "enhanced_gamification",
            description: ENHANCED_DESCRIPTION,
            version: "0.0.2",
            variables: enhanced_variables(),
        },
        StrategyInfo {
            id: "socio_bee",
            name: "SOCIO_BEE",
            name_slug: "enhanced_gamification",
            description: ENHANCED_DESCRIPTION,
            version: "0.0.2",
            variables: enhanced_variables(),
        },
        StrategyInfo {
            id: "constantEffortStrategy",
            name: "ConstantEffortStrategy",
            name_slug: "constant_effort",
            description: "A strategy that rewards consistent effort over 5-minute intervals.",
            version: "0.0.1",
            variables: vec![
                var("variable_basic_points", VarType::Int, json!(1)),
                var("variable_bonus_points", VarType::Int, json!(10)),
                var(
                    "variable_constant_effort_interval_minutes",
                    VarType::Int,
                    json!(5),
                ),
                var("variable_max_points", VarType::Int, json!(100)),
            ],
        },
        StrategyInfo {
            id: "greengageStrategy",
            name: "GREENGAGEGamificationStrategy",
            name_slug: "greengage_gamification",
            description: "A gamification strategy to reward users based on their time taken to complete a task.",
            version: "0.0.1",
            variables: vec![
                var("variable_default_points", VarType::Int, json!(10)),
                var("variable_minutes_to_check", VarType::Int, json!(1)),
                var(
                    "variable_complexity",
                    VarType::Dict,
                    json!({"None": 0, "Very_low": 20, "Low": 40, "Normal": 60, "High": 80, "Very_high": 100}),
                ),
                var(
                    "variable_dimension_complexity",
                    VarType::Dict,
                    json!({"development": 0, "exploitation": 0, "management": 0}),
                ),
            ],
        },
        StrategyInfo {
            id: "greencrowdStrategy",
            name: "greencrowdStrategy",
            name_slug: "greencrowdStrategy",
            description: "A gamification strategy to reward users based on task completion, geolocation equity, time diversity, personal performance, and streak consistency.",
            version: "1.0.0",
            variables: vec![
                var("variable_basic_points", VarType::Int, json!(10)),
                var("variable_bonus_points", VarType::Int, json!(1)),
                var("variable_lbe_multiplier", VarType::Float, json!(0.5)),
                var("variable_simulation_valid_until", VarType::Int, json!(15)),
            ],
        },
        StrategyInfo {
            id: "getis_ord_gi_star",
            name: "GeoEquityGamificationModel",
            name_slug: "geo_equity_gamification_model",
            // Verbatim from GAME, including the missing space before "statistic".
            description: "GeoEquity Gamification Model - Based on Getis-Ord Gi*statistic to identify hotspots in spatial data.",
            version: "0.0.1",
            variables: vec![
                var("variable_basic_points", VarType::Int, json!(10)),
                var("variable_bonus_points", VarType::Int, json!(10)),
            ],
        },
    ]
});

/// Every built-in strategy, in GAME's registry order.
pub fn strategies() -> &'static [StrategyInfo] {
    &STRATEGIES
}

/// One built-in strategy by registry id (exact, case-sensitive, like GAME's registry).
pub fn strategy(id: &str) -> Option<&'static StrategyInfo> {
    STRATEGIES.iter().find(|s| s.id == id)
}

/// Effective variable values of one strategy, in declaration order.
#[derive(Debug, Clone, PartialEq)]
pub struct Variables {
    strategy: &'static str,
    entries: Vec<(&'static str, Value)>,
}

impl Variables {
    /// The strategy id these variables were resolved for.
    pub fn strategy_id(&self) -> &'static str {
        self.strategy
    }

    /// A variable's value by GAME's full name (`variable_basic_points`) or bare name (`basic_points`).
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(n, _)| *n == name || n.strip_prefix("variable_") == Some(name))
            .map(|(_, v)| v)
    }

    /// `(full name, value)` in declaration order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> + '_ {
        self.entries.iter().map(|(n, v)| (*n, v))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// `(full name, value)` at declaration index `i`; strategies read by index (cheap) after
    /// `score` checked that these variables belong to them.
    pub(crate) fn entry(&self, i: usize) -> Option<(&'static str, &Value)> {
        self.entries.get(i).map(|(n, v)| (*n, v))
    }

    /// As GAME's `get_variables()` JSON object (`{"variable_basic_points": 1, ...}`).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        for (n, v) in &self.entries {
            m.insert((*n).to_string(), v.clone());
        }
        Value::Object(m)
    }
}

/// A game or task param that names a variable but does not fit the variable's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamError {
    /// The param key as received.
    pub key: String,
    pub expected: VarType,
    /// A human sentence, suitable for a problem+json `detail`.
    pub message: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParamError {}

/// Effective variables: defaults, overridden by game params, then by task params (task wins).
///
/// A param whose key is a variable's full name (`variable_x`) or bare name (`x`) must fit the
/// variable's type (see [`coerce`]) or the whole resolution fails with a [`ParamError`].
/// Params whose key names no variable are ignored (tasks carry other params, e.g. Gi* cells).
/// Within one list, a later param for the same variable wins.
pub fn resolve_variables(
    info: &StrategyInfo,
    game_params: &[(&str, &Value)],
    task_params: &[(&str, &Value)],
) -> Result<Variables, ParamError> {
    let mut vars = info.default_variables();
    for (key, value) in game_params.iter().chain(task_params.iter()) {
        let Some(idx) = info
            .variables
            .iter()
            .position(|v| v.name == *key || v.bare_name() == *key)
        else {
            continue;
        };
        let spec = &info.variables[idx];
        match coerce(spec.ty, value) {
            Some(v) => vars.entries[idx].1 = v,
            None => {
                return Err(ParamError {
                    key: (*key).to_string(),
                    expected: spec.ty,
                    message: format!(
                        "Parameter \"{}\" must be {} for strategy {}, got {}.",
                        key,
                        spec.ty.with_article(),
                        info.id,
                        shown(value)
                    ),
                });
            }
        }
    }
    Ok(vars)
}

/// `base` (variables already resolved for `info`) with `overrides` applied on a copy: GAME's
/// `set_variables` on a copy of the parent instance, used by DSL_EXTEND's `parent_variables`.
/// Keys are full or bare variable names; a value must fit the variable's type ([`coerce`]);
/// keys naming no variable are ignored, like GAME (the DSL validator rejects them up front).
pub fn override_variables(
    info: &StrategyInfo,
    base: &Variables,
    overrides: &[(&str, &Value)],
) -> Result<Variables, ParamError> {
    let mut vars = base.clone();
    for (key, value) in overrides {
        let Some(idx) = info
            .variables
            .iter()
            .position(|v| v.name == *key || v.bare_name() == *key)
        else {
            continue;
        };
        let spec = &info.variables[idx];
        match (coerce(spec.ty, value), vars.entries.get_mut(idx)) {
            (Some(v), Some(slot)) if slot.0 == spec.name => slot.1 = v,
            (Some(_), _) => {
                return Err(ParamError {
                    key: (*key).to_string(),
                    expected: spec.ty,
                    message: format!(
                        "Variables resolved for strategy {} cannot take overrides for {}.",
                        base.strategy, info.id
                    ),
                });
            }
            (None, _) => {
                return Err(ParamError {
                    key: (*key).to_string(),
                    expected: spec.ty,
                    message: format!(
                        "Variable \"{}\" must be {} for strategy {}, got {}.",
                        key,
                        spec.ty.with_article(),
                        info.id,
                        shown(value)
                    ),
                });
            }
        }
    }
    Ok(vars)
}

/// The value as compact JSON, cut to a readable length for error messages.
fn shown(value: &Value) -> String {
    let s = value.to_string();
    if s.chars().count() > 80 {
        let cut: String = s.chars().take(77).collect();
        format!("{cut}...")
    } else {
        s
    }
}

/// Convert a param value to a variable's type, or `None` if it does not fit.
///
/// The rule (documented in docs/strategies.md, "Variables"):
/// * `int`: a JSON integer in the i64 range, or a string that Python's `int()` accepts
///   (surrounding whitespace, optional sign, ASCII digits with single `_` between digits).
///   Floats (`5.0`, `"5.0"`), booleans and other strings do not fit.
/// * `float`: a finite JSON number (integers widen), or a string that Python's `float()`
///   accepts and that is finite (`"0.25"`, `" 1e-3 "`, `"5"`). `nan`/`inf` are rejected.
/// * `bool`: a JSON boolean. `str`: a JSON string.
/// * `dict` / `list`: a JSON object / array, or a string holding one as JSON
///   (GAME stores params as strings).
pub fn coerce(ty: VarType, value: &Value) -> Option<Value> {
    match ty {
        VarType::Int => match value {
            Value::Number(n) => n.as_i64().map(Value::from),
            Value::String(s) => parse_python_int(s).map(Value::from),
            _ => None,
        },
        VarType::Float => {
            let f = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => parse_python_float(s),
                _ => None,
            }?;
            if f.is_finite() {
                serde_json::Number::from_f64(f).map(Value::Number)
            } else {
                None
            }
        }
        VarType::Bool => value.is_boolean().then(|| value.clone()),
        VarType::Str => value.is_string().then(|| value.clone()),
        VarType::Dict => match value {
            Value::Object(_) => Some(value.clone()),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_object),
            _ => None,
        },
        VarType::List => match value {
            Value::Array(_) => Some(value.clone()),
            Value::String(s) => serde_json::from_str::<Value>(s)
                .ok()
                .filter(Value::is_array),
            _ => None,
        },
    }
}

/// Python whitespace accepted around numbers by `int()`/`float()` (ASCII subset).
fn trim_py(s: &str) -> &str {
    s.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c'))
}

/// Digits with single underscores between them (Python's numeric literal rule).
fn digits_ok(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'_')
}

/// Python `int(str)` for base 10, limited to the i64 range.
pub(crate) fn parse_python_int(s: &str) -> Option<i64> {
    let t = trim_py(s);
    let (neg, body) = match t.as_bytes().first()? {
        b'+' => (false, &t[1..]),
        b'-' => (true, &t[1..]),
        _ => (false, t),
    };
    if !digits_ok(body) {
        return None;
    }
    let digits: String = body.chars().filter(|c| *c != '_').collect();
    let magnitude: i128 = digits.parse().ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// Python `float(str)` (decimal forms, exponent, underscores, `inf`/`nan` spellings).
pub(crate) fn parse_python_float(s: &str) -> Option<f64> {
    let t = trim_py(s);
    let (sign, body) = match t.as_bytes().first()? {
        b'+' => (1.0, &t[1..]),
        b'-' => (-1.0, &t[1..]),
        _ => (1.0, t),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Some(sign * f64::INFINITY);
    }
    if lower == "nan" {
        return Some(f64::NAN);
    }
    // mantissa [e exponent]; each digit run may hold single underscores between digits.
    let (mant, exp) = match lower.find('e') {
        Some(i) => (&lower[..i], Some(&lower[i + 1..])),
        None => (&lower[..], None),
    };
    let (int_part, frac_part) = match mant.find('.') {
        Some(i) => (&mant[..i], Some(&mant[i + 1..])),
        None => (mant, None),
    };
    let int_ok = int_part.is_empty() || digits_ok(int_part);
    let frac_ok = match frac_part {
        None => true,
        Some(f) => f.is_empty() || digits_ok(f),
    };
    let has_digits = !int_part.is_empty() || frac_part.is_some_and(|f| !f.is_empty());
    if !(int_ok && frac_ok && has_digits) {
        return None;
    }
    if let Some(e) = exp {
        let e_body = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !digits_ok(e_body) {
            return None;
        }
    }
    let cleaned: String = lower.chars().filter(|c| *c != '_').collect();
    cleaned.parse::<f64>().ok().map(|f| sign * f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_order_and_ids_are_games() {
        let ids: Vec<&str> = strategies().iter().map(|s| s.id).collect();
        assert_eq!(
            ids,
            [
                "default",
                "socio_bee",
                "constantEffortStrategy",
                "greengageStrategy",
                "greencrowdStrategy",
                "getis_ord_gi_star"
            ]
        );
        assert!(strategy("Default").is_none());
        assert_eq!(strategy("socio_bee").map(|s| s.name), Some("SOCIO_BEE"));
    }

    #[test]
    fn hash_version_is_stable_and_distinct() {
        let a = strategy("default").unwrap().hash_version();
        assert_eq!(a, strategy("default").unwrap().hash_version());
        assert_eq!(a.len(), 64);
        let b = strategy("socio_bee").unwrap().hash_version();
        assert_ne!(a, b, "different ids must hash differently");
        let mut changed = strategy("default").unwrap().clone();
        changed.variables[0].default = json!(2);
        assert_ne!(a, changed.hash_version());
        let mut reordered = strategy("default").unwrap().clone();
        reordered.variables.reverse();
        assert_eq!(
            a,
            reordered.hash_version(),
            "the set is canonical, not ordered"
        );
    }

    #[test]
    fn task_params_override_game_params_and_bare_names_work() {
        let info = strategy("default").unwrap();
        let five = json!(5);
        let seven = json!("7");
        let other = json!("whatever");
        let v = resolve_variables(
            info,
            &[("variable_bonus_points", &five), ("unrelated", &other)],
            &[("bonus_points", &seven)],
        )
        .unwrap();
        assert_eq!(v.get("variable_bonus_points"), Some(&json!(7)));
        assert_eq!(v.get("basic_points"), Some(&json!(1)));
        let names: Vec<&str> = v.iter().map(|(n, _)| n).collect();
        assert_eq!(names[0], "variable_basic_points");
        assert_eq!(names.len(), 6);
    }

    #[test]
    fn ill_typed_param_is_rejected_with_a_sentence() {
        let info = strategy("default").unwrap();
        let bad = json!("abc");
        let err = resolve_variables(info, &[], &[("variable_bonus_points", &bad)]).unwrap_err();
        assert_eq!(err.key, "variable_bonus_points");
        assert_eq!(err.expected, VarType::Int);
        assert_eq!(
            err.message,
            "Parameter \"variable_bonus_points\" must be an int for strategy default, got \"abc\"."
        );
    }

    #[test]
    fn int_coercion_follows_python_int() {
        for (s, want) in [
            ("5", Some(5)),
            (" -12 ", Some(-12)),
            ("+3", Some(3)),
            ("1_000", Some(1000)),
            ("1__0", None),
            ("_1", None),
            ("5.0", None),
            ("", None),
            ("abc", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(parse_python_int(s), want, "{s:?}");
        }
        assert_eq!(coerce(VarType::Int, &json!(5.0)), None);
        assert_eq!(coerce(VarType::Int, &json!(true)), None);
        assert_eq!(coerce(VarType::Int, &json!(-4)), Some(json!(-4)));
    }

    #[test]
    fn float_coercion_follows_python_float_but_finite() {
        assert_eq!(coerce(VarType::Float, &json!("0.25")), Some(json!(0.25)));
        assert_eq!(coerce(VarType::Float, &json!(" 1e-1 ")), Some(json!(0.1)));
        assert_eq!(coerce(VarType::Float, &json!("5")), Some(json!(5.0)));
        assert_eq!(coerce(VarType::Float, &json!(".5")), Some(json!(0.5)));
        assert_eq!(coerce(VarType::Float, &json!(2)), Some(json!(2.0)));
        assert_eq!(coerce(VarType::Float, &json!("inf")), None);
        assert_eq!(coerce(VarType::Float, &json!("nan")), None);
        assert_eq!(coerce(VarType::Float, &json!(".")), None);
        assert_eq!(coerce(VarType::Float, &json!("1e")), None);
        assert_eq!(coerce(VarType::Float, &json!(false)), None);
    }

    #[test]
    fn dict_and_list_accept_json_text() {
        assert_eq!(
            coerce(VarType::Dict, &json!("{\"a\": 1}")),
            Some(json!({"a": 1}))
        );
        assert_eq!(coerce(VarType::Dict, &json!("[1]")), None);
        assert_eq!(coerce(VarType::List, &json!("[1]")), Some(json!([1])));
        assert_eq!(coerce(VarType::List, &json!({})), None);
    }

    #[test]
    fn game_variables_and_defaults() {
        let gc = strategy("greencrowdStrategy").unwrap();
        let d = gc.default_variables().to_json();
        assert_eq!(
            d,
            json!({"variable_basic_points": 10, "variable_bonus_points": 1,
                   "variable_lbe_multiplier": 0.5, "variable_simulation_valid_until": 15})
        );
        let gg = strategy("greengageStrategy").unwrap();
        assert!(gg.variable("basic_points").is_none());
        assert_eq!(gg.variable("default_points").unwrap().default, json!(10));
    }
}
