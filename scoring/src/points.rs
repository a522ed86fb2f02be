//! Exact points.
//!
//! GAME strategies return Python ints and floats; greengage's bonuses are fractional
//! (`DPTE + DPTE/2`, `DPTE + DPTE/4`, `DP/2`, e.g. 187.5). An f64 would be exact for those
//! values only below 2^50 and silently inexact above; a small decimal keeps every result the
//! crate produces exact, and says so in its type. How fractional points are persisted is the
//! caller's business: [`Points::as_i64`] tells whether a value is integral.

use std::cmp::Ordering;
use std::fmt;

/// A decimal number of points: `units × 10^-scale`, kept normalised (no trailing zero in
/// `units` when `scale > 0`) so that equal values have equal representations.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Points {
    units: i128,
    scale: u8,
}

impl Points {
    pub const ZERO: Points = Points { units: 0, scale: 0 };

    /// An integral number of points.
    pub const fn from_int(v: i64) -> Points {
        Points {
            units: v as i128,
            scale: 0,
        }
    }

    /// `units × 10^-scale`, normalised. `None` if `scale` is absurd (> 30).
    pub fn from_decimal(units: i128, scale: u8) -> Option<Points> {
        (scale <= 30).then(|| Points { units, scale }.normalised())
    }

    fn normalised(mut self) -> Points {
        while self.scale > 0 && self.units % 10 == 0 {
            self.units /= 10;
            self.scale -= 1;
        }
        self
    }

    /// The decimal mantissa (`187.5` → 1875).
    pub fn units(self) -> i128 {
        self.units
    }

    /// Digits after the decimal point (`187.5` → 1).
    pub fn scale(self) -> u8 {
        self.scale
    }

    pub fn is_integer(self) -> bool {
        self.scale == 0
    }

    /// The value as an i64 when it is integral and in range.
    pub fn as_i64(self) -> Option<i64> {
        if self.scale == 0 {
            i64::try_from(self.units).ok()
        } else {
            None
        }
    }

    /// Nearest f64 (exact for every integral value below 2^53 and for halves/quarters below 2^50).
    pub fn to_f64(self) -> f64 {
        if self.scale == 0 {
            return self.units as f64;
        }
        // Go through the decimal text so the result is the correctly rounded f64.
        self.to_string().parse().unwrap_or(f64::NAN)
    }

    pub(crate) fn checked_add(self, other: Points) -> Option<Points> {
        let scale = self.scale.max(other.scale);
        let a = rescale(self.units, scale - self.scale)?;
        let b = rescale(other.units, scale - other.scale)?;
        Some(
            Points {
                units: a.checked_add(b)?,
                scale,
            }
            .normalised(),
        )
    }

    /// Exact division by 2 (`x/2 = 5x/10`).
    pub(crate) fn checked_half(self) -> Option<Points> {
        Some(
            Points {
                units: self.units.checked_mul(5)?,
                scale: self.scale.checked_add(1)?,
            }
            .normalised(),
        )
    }

    /// Exact division by 4 (`x/4 = 25x/100`).
    pub(crate) fn checked_quarter(self) -> Option<Points> {
        Some(
            Points {
                units: self.units.checked_mul(25)?,
                scale: self.scale.checked_add(2)?,
            }
            .normalised(),
        )
    }
}

fn rescale(units: i128, extra: u8) -> Option<i128> {
    10i128
        .checked_pow(u32::from(extra))
        .and_then(|p| units.checked_mul(p))
}

impl From<i64> for Points {
    fn from(v: i64) -> Points {
        Points::from_int(v)
    }
}

impl PartialOrd for Points {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Points {
    fn cmp(&self, other: &Self) -> Ordering {
        let scale = self.scale.max(other.scale);
        match (
            rescale(self.units, scale - self.scale),
            rescale(other.units, scale - other.scale),
        ) {
            (Some(a), Some(b)) => a.cmp(&b),
            // Only reachable for magnitudes beyond 10^8 × i64::MAX; f64 orders those correctly
            // unless they differ in the 16th digit.
            _ => self.to_f64().total_cmp(&other.to_f64()),
        }
    }
}

/// Exact decimal text: `187.5`, `-3`, `0.25`.
impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.scale == 0 {
            return write!(f, "{}", self.units);
        }
        let neg = self.units < 0;
        let digits = self.units.unsigned_abs().to_string();
        let scale = usize::from(self.scale);
        let (int_part, frac_part) = if digits.len() > scale {
            let (i, fr) = digits.split_at(digits.len() - scale);
            (i.to_string(), fr.to_string())
        } else {
            ("0".to_string(), format!("{digits:0>scale$}"))
        };
        write!(
            f,
            "{}{}.{}",
            if neg { "-" } else { "" },
            int_part,
            frac_part
        )
    }
}

impl fmt::Debug for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Points({self})")
    }
}

/// As a JSON number: an integer when integral (and within i64), else the nearest f64, which is
/// exact for every fractional value the built-in strategies produce below 2^50.
impl serde::Serialize for Points {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.as_i64() {
            Some(i) => s.serialize_i64(i),
            None => s.serialize_f64(self.to_f64()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_and_quarters_are_exact() {
        let p = Points::from_int(150).checked_quarter().unwrap();
        assert_eq!(p.to_string(), "37.5");
        let bp = Points::from_int(150).checked_add(p).unwrap();
        assert_eq!(bp.to_string(), "187.5");
        assert_eq!(bp.units(), 1875);
        assert_eq!(bp.scale(), 1);
        assert_eq!(bp.to_f64(), 187.5);
        assert_eq!(bp.as_i64(), None);
        let q = Points::from_int(-3).checked_quarter().unwrap();
        assert_eq!(q.to_string(), "-0.75");
        let h = Points::from_int(10).checked_half().unwrap();
        assert_eq!(h, Points::from_int(5));
        assert_eq!(h.as_i64(), Some(5));
    }

    #[test]
    fn large_values_stay_exact() {
        let big = Points::from_int(i64::MAX);
        let half = big.checked_half().unwrap();
        assert_eq!(half.to_string(), "4611686018427387903.5");
        assert!(half < big);
        assert!(Points::from_int(-1) < Points::ZERO);
    }

    #[test]
    fn serialises_as_json_number() {
        let p = Points::from_decimal(1875, 1).unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "187.5");
        assert_eq!(
            serde_json::to_string(&Points::from_decimal(500, 2).unwrap()).unwrap(),
            "5"
        );
        assert_eq!(Points::from_decimal(5, 3).unwrap().to_string(), "0.005");
    }
}
