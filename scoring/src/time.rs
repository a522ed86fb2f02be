//! UTC calendar arithmetic on microsecond timestamps, without a clock or a date crate.
//!
//! Timestamps in this crate are `i64` microseconds since the Unix epoch, UTC (GAME's
//! PostgreSQL `timestamptz` has microsecond resolution).

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// Days since 1970-01-01 of the UTC date containing `us`.
pub fn day_of(us: i64) -> i64 {
    us.div_euclid(MICROS_PER_DAY)
}

/// UTC hour of day (0..24) of `us`.
pub fn hour_of(us: i64) -> u32 {
    (us.rem_euclid(MICROS_PER_DAY) / (3600 * MICROS_PER_SECOND)) as u32
}

/// (year, month, day) of a day number (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day number of a (year, month, day) (Howard Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// GAME's `str(datetime)` of an aware UTC datetime, always with microseconds:
/// `2026-02-10 12:00:59.000000+00:00`. (Python omits `.ffffff` when it is zero, which its own
/// `strptime("%Y-%m-%d %H:%M:%S.%f%z")` then fails to parse; we always write it.)
/// Years outside 0..=9999 are clamped to that range: Python's datetime cannot represent them.
pub fn format_game_datetime(us: i64) -> String {
    let min = days_from_civil(0, 1, 1) * MICROS_PER_DAY;
    let max = (days_from_civil(10_000, 1, 1)) * MICROS_PER_DAY - 1;
    let us = us.clamp(min, max);
    let (y, mo, d) = civil_from_days(day_of(us));
    let rem = us.rem_euclid(MICROS_PER_DAY);
    let secs = rem / MICROS_PER_SECOND;
    let micros = rem % MICROS_PER_SECOND;
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}+00:00",
        y,
        mo,
        d,
        secs / 3600,
        (secs / 60) % 60,
        secs % 60,
        micros
    )
}

/// Parse `YYYY-MM-DD HH:MM:SS[.f{1,6}]±HH:MM` (also `T` as separator and `Z`) to microseconds.
pub fn parse_game_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        if !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(part).ok()?.parse().ok()
    };
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[10] != b' ' && b[10] != b'T' {
        return None;
    }
    let (y, mo, d) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (h, mi, se) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&mo) || d < 1 || h > 23 || mi > 59 || se > 59 {
        return None;
    }
    let dim = days_in_month(y, mo as u32);
    if d > i64::from(dim) {
        return None;
    }
    let mut i = 19;
    let mut micros = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        let digits = i - start;
        if digits == 0 || digits > 6 {
            return None;
        }
        micros = num(start, digits)? * 10i64.pow((6 - digits) as u32);
    }
    let offset_secs = match b.get(i..)? {
        b"Z" => 0,
        rest if rest.len() == 6 && (rest[0] == b'+' || rest[0] == b'-') && rest[3] == b':' => {
            let oh = num(i + 1, 2)?;
            let om = num(i + 4, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let sign = if rest[0] == b'-' { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset_secs;
    Some(secs * MICROS_PER_SECOND + micros)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for z in [-800_000i64, -1, 0, 1, 19_000, 20_494, 2_932_896] {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), z);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(days_from_civil(2026, 2, 10), 20_494);
    }

    #[test]
    fn formats_and_parses_games_datetime() {
        // 2026-02-10T12:00:59Z
        let us = (20_494 * 86_400 + 12 * 3600 + 59) * MICROS_PER_SECOND + 123_456;
        let s = format_game_datetime(us);
        assert_eq!(s, "2026-02-10 12:00:59.123456+00:00");
        assert_eq!(parse_game_datetime(&s), Some(us));
        assert_eq!(
            parse_game_datetime("2026-02-10 12:00:59+00:00"),
            Some(us - 123_456)
        );
        assert_eq!(
            parse_game_datetime("2026-02-10T14:00:59.5+02:00"),
            Some(us - 123_456 + 500_000)
        );
        assert_eq!(parse_game_datetime("2026-02-30 12:00:59+00:00"), None);
        assert_eq!(parse_game_datetime("2026-02-10 12:00:59"), None);
        assert_eq!(parse_game_datetime("garbage"), None);
        assert_eq!(hour_of(us), 12);
        assert_eq!(day_of(-1), -1);
    }
}
