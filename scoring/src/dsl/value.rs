//! Runtime values with Python's semantics, because GAME's interpreter is Python and a program
//! must score the same here: int/float with true division, `bool` as an int (`true + 1 == 2`),
//! exact int/float comparison, `str + str`, `str * int`, list concatenation, `==` that never
//! fails and ordering that fails across incompatible types.
//!
//! Two bounds Python does not have, so that a hostile program cannot exhaust memory or wrap
//! silently: ints are i64 (overflow is [`DslCode::ArithOverflow`], where Python would grow a
//! big int) and a computed string or list is at most [`MAX_SEQ_LEN`] long
//! ([`DslCode::ValueTooLarge`]).

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::ast::Scalar;
use super::error::DslCode;

/// Longest string (bytes) or list (elements) an operation may build.
pub const MAX_SEQ_LEN: usize = 4096;

/// A runtime value. Strings and containers are shared, so copying a value into the trace or a
/// field slot is a reference-count increment.
#[derive(Debug, Clone)]
pub enum Val {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Arc<str>),
    List(Arc<[Val]>),
    Dict(Arc<BTreeMap<String, Val>>),
}

/// Why an operation failed; the interpreter attaches the node and the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpError {
    /// Python's TypeError.
    Type,
    /// ZeroDivisionError.
    DivByZero,
    /// i64 overflow or a float too large for an int.
    Overflow,
    /// A string/list longer than [`MAX_SEQ_LEN`].
    TooLarge,
    /// Python's ValueError (`int("x")`, `int(nan)`).
    Value,
}

impl OpError {
    pub fn code(self, type_code: DslCode) -> DslCode {
        match self {
            OpError::Type | OpError::Value => type_code,
            OpError::DivByZero => DslCode::ArithDivByZero,
            OpError::Overflow => DslCode::ArithOverflow,
            OpError::TooLarge => DslCode::ValueTooLarge,
        }
    }
}

type R = Result<Val, OpError>;

impl Val {
    pub fn from_scalar(s: &Scalar) -> Val {
        match s {
            Scalar::Null => Val::None,
            Scalar::Bool(b) => Val::Bool(*b),
            Scalar::Int(i) => Val::Int(*i),
            Scalar::Float(f) => Val::Float(*f),
            Scalar::Str(s) => Val::Str(Arc::from(s.as_str())),
        }
    }

    /// JSON → value. Integers beyond i64 become floats.
    pub fn from_json(v: &Value) -> Val {
        match v {
            Value::Null => Val::None,
            Value::Bool(b) => Val::Bool(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Val::Int(i),
                None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => Val::Str(Arc::from(s.as_str())),
            Value::Array(a) => Val::List(a.iter().map(Val::from_json).collect()),
            Value::Object(m) => Val::Dict(Arc::new(
                m.iter()
                    .map(|(k, v)| (k.clone(), Val::from_json(v)))
                    .collect(),
            )),
        }
    }

    /// Value → JSON. A non-finite float has no JSON form and becomes `null`.
    pub fn to_json(&self) -> Value {
        match self {
            Val::None => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(i) => Value::from(*i),
            Val::Float(f) => serde_json::Number::from_f64(*f)
                .map(Value::Number)
                .unwrap_or(Value::Null),
            Val::Str(s) => Value::String(s.to_string()),
            Val::List(l) => Value::Array(l.iter().map(Val::to_json).collect()),
            Val::Dict(d) => {
                Value::Object(d.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
            }
        }
    }

    /// Python's `type(x).__name__`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Val::None => "NoneType",
            Val::Bool(_) => "bool",
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Str(_) => "str",
            Val::List(_) => "list",
            Val::Dict(_) => "dict",
        }
    }

    /// Python's `bool(x)`.
    pub fn truthy(&self) -> bool {
        match self {
            Val::None => false,
            Val::Bool(b) => *b,
            Val::Int(i) => *i != 0,
            Val::Float(f) => *f != 0.0,
            Val::Str(s) => !s.is_empty(),
            Val::List(l) => !l.is_empty(),
            Val::Dict(d) => !d.is_empty(),
        }
    }

    /// An int or a float, not a bool (what `assign_points` / `set_points` accept).
    pub fn is_number(&self) -> bool {
        matches!(self, Val::Int(_) | Val::Float(_))
    }
}

/// A numeric operand: bool counts as int.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

fn num(v: &Val) -> Option<Num> {
    match v {
        Val::Bool(b) => Some(Num::I(i64::from(*b))),
        Val::Int(i) => Some(Num::I(*i)),
        Val::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn as_f(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::F(f) => f,
    }
}

/// Python's exact comparison of an int with a float (no rounding of the int).
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    // 2^63 as f64 is exact.
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if f >= TWO_63 {
        return Some(Ordering::Less);
    }
    if f < -TWO_63 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    // |t| < 2^63 here, so the cast is exact.
    let ti = t as i64;
    match i.cmp(&ti) {
        Ordering::Equal => 0.0f64.partial_cmp(&(f - t)),
        o => Some(o),
    }
}

fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Python's `a == b` (never fails).
pub fn py_eq(a: &Val, b: &Val) -> bool {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return cmp_num(x, y) == Some(Ordering::Equal);
    }
    match (a, b) {
        (Val::None, Val::None) => true,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::List(x), Val::List(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| py_eq(p, q))
        }
        (Val::Dict(x), Val::Dict(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| py_eq(v, w)))
        }
        _ => false,
    }
}

/// Python's ordering operators (`<`, `<=`, `>`, `>=`): numbers with numbers, str with str
/// (code point order), list with list (lexicographic); anything else is a TypeError.
/// `None` for an unordered pair of numbers (NaN), where every ordering operator is false.
fn py_order(a: &Val, b: &Val) -> Result<Option<Ordering>, OpError> {
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return Ok(cmp_num(x, y));
    }
    match (a, b) {
        (Val::Str(x), Val::Str(y)) => Ok(Some(x.as_bytes().cmp(y.as_bytes()))),
        (Val::List(x), Val::List(y)) => {
            // Python: the first index where the items differ (by ==) decides, with the
            // operator applied to those two items; otherwise the lengths.
            for (p, q) in x.iter().zip(y.iter()) {
                if !py_eq(p, q) {
                    return py_order(p, q);
                }
            }
            Ok(Some(x.len().cmp(&y.len())))
        }
        _ => Err(OpError::Type),
    }
}

/// `a < b`.
pub fn py_lt(a: &Val, b: &Val) -> Result<bool, OpError> {
    Ok(py_order(a, b)? == Some(Ordering::Less))
}

/// `a > b`.
pub fn py_gt(a: &Val, b: &Val) -> Result<bool, OpError> {
    Ok(py_order(a, b)? == Some(Ordering::Greater))
}

pub fn py_le(a: &Val, b: &Val) -> Result<bool, OpError> {
    Ok(matches!(
        py_order(a, b)?,
        Some(Ordering::Less | Ordering::Equal)
    ))
}

pub fn py_ge(a: &Val, b: &Val) -> Result<bool, OpError> {
    Ok(matches!(
        py_order(a, b)?,
        Some(Ordering::Greater | Ordering::Equal)
    ))
}

fn int_result(r: Option<i64>) -> R {
    r.map(Val::Int).ok_or(OpError::Overflow)
}

pub fn add(a: &Val, b: &Val) -> R {
    match (num(a), num(b)) {
        (Some(Num::I(x)), Some(Num::I(y))) => int_result(x.checked_add(y)),
        (Some(x), Some(y)) => Ok(Val::Float(as_f(x) + as_f(y))),
        _ => match (a, b) {
            (Val::Str(x), Val::Str(y)) => {
                if x.len() + y.len() > MAX_SEQ_LEN {
                    return Err(OpError::TooLarge);
                }
                let mut s = String::with_capacity(x.len() + y.len());
                s.push_str(x);
                s.push_str(y);
                Ok(Val::Str(Arc::from(s)))
            }
            (Val::List(x), Val::List(y)) => {
                if x.len() + y.len() > MAX_SEQ_LEN {
                    return Err(OpError::TooLarge);
                }
                Ok(Val::List(x.iter().chain(y.iter()).cloned().collect()))
            }
            _ => Err(OpError::Type),
        },
    }
}

pub fn sub(a: &Val, b: &Val) -> R {
    match (num(a), num(b)) {
        (Some(Num::I(x)), Some(Num::I(y))) => int_result(x.checked_sub(y)),
        (Some(x), Some(y)) => Ok(Val::Float(as_f(x) - as_f(y))),
        _ => Err(OpError::Type),
    }
}

/// `seq * n` for a str or list and an int-like `n` (Python: n ≤ 0 gives an empty sequence).
fn repeat(seq: &Val, n: i64) -> R {
    let times = usize::try_from(n.max(0)).unwrap_or(usize::MAX);
    match seq {
        Val::Str(s) => {
            if times != 0 && s.len().saturating_mul(times) > MAX_SEQ_LEN {
                return Err(OpError::TooLarge);
            }
            Ok(Val::Str(Arc::from(s.repeat(times))))
        }
        Val::List(l) => {
            if times != 0 && l.len().saturating_mul(times) > MAX_SEQ_LEN {
                return Err(OpError::TooLarge);
            }
            let mut out = Vec::with_capacity(l.len() * times);
            for _ in 0..times {
                out.extend(l.iter().cloned());
            }
            Ok(Val::List(out.into()))
        }
        _ => Err(OpError::Type),
    }
}

pub fn mul(a: &Val, b: &Val) -> R {
    match (num(a), num(b)) {
        (Some(Num::I(x)), Some(Num::I(y))) => int_result(x.checked_mul(y)),
        (Some(x), Some(y)) => Ok(Val::Float(as_f(x) * as_f(y))),
        (None, Some(Num::I(n))) => repeat(a, n),
        (Some(Num::I(n)), None) => repeat(b, n),
        _ => Err(OpError::Type),
    }
}

/// True division: always a float; a zero divisor (0, 0.0, false) fails as in Python.
pub fn div(a: &Val, b: &Val) -> R {
    let (Some(x), Some(y)) = (num(a), num(b)) else {
        return Err(OpError::Type);
    };
    let d = as_f(y);
    if d == 0.0 {
        return Err(OpError::DivByZero);
    }
    // For |ints| ≤ 2^53 both conversions are exact and IEEE division is correctly rounded,
    // which is Python's int/int result; beyond that the result may differ in the last ulp.
    Ok(Val::Float(as_f(x) / d))
}

/// Python's `min(a, b)`: `b` if `b < a`, else `a`.
pub fn min(a: &Val, b: &Val) -> R {
    Ok(if py_lt(b, a)? { b.clone() } else { a.clone() })
}

/// Python's `max(a, b)`: `b` if `b > a`, else `a`.
pub fn max(a: &Val, b: &Val) -> R {
    Ok(if py_gt(b, a)? { b.clone() } else { a.clone() })
}

/// Python's `int(x)`: truncation toward zero for floats, int literal parsing for strings.
pub fn to_int(v: &Val) -> R {
    match v {
        Val::Bool(b) => Ok(Val::Int(i64::from(*b))),
        Val::Int(i) => Ok(Val::Int(*i)),
        Val::Float(f) => {
            if f.is_nan() {
                return Err(OpError::Value);
            }
            let t = f.trunc();
            // The range check keeps the cast exact (Python would build a big int).
            if !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&t) {
                return Err(OpError::Overflow);
            }
            Ok(Val::Int(t as i64))
        }
        Val::Str(s) => crate::catalog::parse_python_int(s)
            .map(Val::Int)
            .ok_or(OpError::Value),
        _ => Err(OpError::Type),
    }
}

/// `clamp(v, lo, hi) = max(lo, min(v, hi))`.
pub fn clamp(v: &Val, lo: &Val, hi: &Val) -> R {
    let m = min(v, hi)?;
    max(lo, &m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Val {
        Val::Str(Arc::from(x))
    }

    #[test]
    fn python_numbers() {
        assert!(matches!(
            add(&Val::Bool(true), &Val::Int(1)),
            Ok(Val::Int(2))
        ));
        assert!(matches!(div(&Val::Int(7), &Val::Int(2)), Ok(Val::Float(f)) if f == 3.5));
        assert!(matches!(div(&Val::Int(4), &Val::Int(2)), Ok(Val::Float(f)) if f == 2.0));
        assert_eq!(
            div(&Val::Int(1), &Val::Bool(false)).unwrap_err(),
            OpError::DivByZero
        );
        assert_eq!(
            div(&Val::Float(1.0), &Val::Float(0.0)).unwrap_err(),
            OpError::DivByZero
        );
        assert_eq!(
            add(&Val::Int(i64::MAX), &Val::Int(1)).unwrap_err(),
            OpError::Overflow
        );
        assert!(matches!(to_int(&Val::Float(-2.7)), Ok(Val::Int(-2))));
        assert!(matches!(to_int(&s(" 42 ")), Ok(Val::Int(42))));
        assert_eq!(to_int(&s("2.5")).unwrap_err(), OpError::Value);
        assert_eq!(
            to_int(&Val::Float(f64::INFINITY)).unwrap_err(),
            OpError::Overflow
        );
        assert_eq!(to_int(&Val::None).unwrap_err(), OpError::Type);
    }

    #[test]
    fn exact_int_float_comparison() {
        // 2^53 + 1 is not equal to the float 2^53 in Python, though `as f64` would round it.
        let big = Val::Int((1 << 53) + 1);
        let f = Val::Float((1u64 << 53) as f64);
        assert!(!py_eq(&big, &f));
        assert!(py_gt(&big, &f).unwrap());
        assert!(py_eq(&Val::Int(1), &Val::Float(1.0)));
        assert!(py_eq(&Val::Bool(true), &Val::Int(1)));
        assert!(!py_lt(&Val::Float(f64::NAN), &Val::Int(1)).unwrap());
        assert!(!py_eq(&Val::Float(f64::NAN), &Val::Float(f64::NAN)));
    }

    #[test]
    fn strings_and_lists() {
        assert!(matches!(add(&s("ab"), &s("c")), Ok(Val::Str(x)) if &*x == "abc"));
        assert!(matches!(mul(&s("ab"), &Val::Int(3)), Ok(Val::Str(x)) if &*x == "ababab"));
        assert!(matches!(mul(&Val::Int(-1), &s("ab")), Ok(Val::Str(x)) if x.is_empty()));
        assert_eq!(
            mul(&s("ab"), &Val::Int(1 << 40)).unwrap_err(),
            OpError::TooLarge
        );
        assert_eq!(add(&s("a"), &Val::Int(1)).unwrap_err(), OpError::Type);
        assert!(py_lt(&s("a"), &s("b")).unwrap());
        assert_eq!(py_lt(&s("a"), &Val::Int(1)).unwrap_err(), OpError::Type);
        assert_eq!(py_lt(&Val::None, &Val::Int(1)).unwrap_err(), OpError::Type);
        assert!(!py_eq(&Val::None, &Val::Int(0)));
        let l1 = Val::List(vec![Val::Int(1), Val::Int(2)].into());
        let l2 = Val::List(vec![Val::Int(1), Val::Int(3)].into());
        assert!(py_lt(&l1, &l2).unwrap());
        assert!(matches!(
            min(&Val::Int(3), &Val::Float(3.0)),
            Ok(Val::Int(3))
        ));
        assert!(matches!(
            max(&Val::Int(3), &Val::Float(3.0)),
            Ok(Val::Int(3))
        ));
    }
}
