//! The dashboard (GAME's `/dashboard/summary`): the query's range and grouping, the shard a
//! counter write goes to, and the answer assembled from per-day counters. Pure: the store
//! reads the day items, this module buckets them.

use crate::error::{ApiError, ApiResult};
use crate::store::dashboard::DayCounts;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use time::{Date, Duration};

/// The longest range a summary covers (one page per shard: 16 requests). Each shard holds one item per day, so up to this many
/// days fit in one Query page (~200 bytes each, far under 1 MB): the read stays 16 requests.
pub const MAX_RANGE_DAYS: i64 = 731;

/// The range used when the query names none: the last 30 days, today included.
pub const DEFAULT_RANGE_DAYS: i64 = 30;

/// The UTC day (`YYYY-MM-DD`) of a time in microseconds since the epoch.
pub fn day_of_micros(us: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(us) * 1000)
        .map(|t| t.date())
        .unwrap_or(Date::MIN)
        .to_string()
}

/// How `GET /dashboard/summary` buckets days (GAME's `group_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    /// GAME's weeks of a month: days 1–7, 8–14, 15–21, 22–28 and 29 onwards.
    Week,
    Month,
}

impl GroupBy {
    pub fn parse(text: Option<&str>) -> ApiResult<GroupBy> {
        match text {
            Some("day") => Ok(GroupBy::Day),
            Some("week") => Ok(GroupBy::Week),
            Some("month") => Ok(GroupBy::Month),
            // GAME answers 400 for a missing group_by too.
            Some(other) => Err(ApiError::bad_request(
                "invalid_group_by",
                format!("group_by must be day, week or month, not \"{other}\"."),
            )),
            None => Err(ApiError::bad_request(
                "invalid_group_by",
                "group_by is required: day, week or month.",
            )),
        }
    }

    /// The label of the bucket a day falls in. GAME's labels carry no year (`05`,
    /// `week_1_05`), which merges May of two years; ours carry it (docs/compatibility.md).
    pub fn label(self, day: Date) -> String {
        let month = u8::from(day.month());
        match self {
            GroupBy::Day => day.to_string(),
            GroupBy::Week => {
                let week = (u32::from(day.day()) - 1) / 7 + 1;
                format!("week_{}_{}-{month:02}", week.min(5), day.year())
            }
            GroupBy::Month => format!("{}-{month:02}", day.year()),
        }
    }
}

/// A date of the query (`start_date`, `end_date`): ISO 8601 as GAME's `fromisoformat`, a date
/// or a date-time; the counters are per UTC day, so a time of day is dropped.
pub fn parse_date(name: &str, text: &str) -> ApiResult<Date> {
    use time::format_description::well_known::{Iso8601, Rfc3339};
    let invalid = || {
        ApiError::bad_request(
            "invalid_date",
            format!("{name} must be an ISO 8601 date (2026-05-01) or date-time, not \"{text}\"."),
        )
    };
    if text.len() == 10 {
        return Date::parse(text, &Iso8601::DATE).map_err(|_| invalid());
    }
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Ok(at.to_offset(time::UtcOffset::UTC).date());
    }
    time::PrimitiveDateTime::parse(text, &Iso8601::DEFAULT)
        .map(|at| at.date())
        .map_err(|_| invalid())
}

/// The days a summary covers, first to last, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub first: Date,
    pub last: Date,
}

impl Range {
    /// From the query's dates (either may be absent) and today.
    pub fn resolve(start: Option<&str>, end: Option<&str>, today: Date) -> ApiResult<Range> {
        let last = match end {
            Some(text) => parse_date("end_date", text)?,
            None => today,
        };
        let first = match start {
            Some(text) => parse_date("start_date", text)?,
            None => last - Duration::days(DEFAULT_RANGE_DAYS - 1),
        };
        if first > last {
            return Err(ApiError::bad_request(
                "invalid_date_range",
                format!("start_date ({first}) is after end_date ({last})."),
            ));
        }
        let days = (last - first).whole_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(ApiError::bad_request(
                "invalid_date_range",
                format!("The range covers {days} days; a summary covers at most {MAX_RANGE_DAYS}."),
            ));
        }
        Ok(Range { first, last })
    }

    pub fn days(self) -> impl Iterator<Item = Date> {
        let mut next = Some(self.first);
        std::iter::from_fn(move || {
            let day = next?;
            next = day.next_day().filter(|d| *d <= self.last);
            Some(day)
        })
    }
}

/// A bucket's label and value (GAME's `{label, count}`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket<T> {
    pub label: String,
    pub count: T,
}

/// The summary's series, bucket by bucket, in date order; every bucket of the range is
/// present (zero when nothing happened), so a chart needs no gap filling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub new_users: Vec<Bucket<u64>>,
    pub games_opened: Vec<Bucket<u64>>,
    pub points_earned: Vec<Bucket<Decimal>>,
    pub actions_performed: Vec<Bucket<u64>>,
    pub awards: Vec<Bucket<u64>>,
}

/// Sums shards per day and days per bucket. `rows` are (day, counts) of any shard.
pub fn summarize(range: Range, group_by: GroupBy, rows: &[(Date, DayCounts)]) -> Summary {
    let mut per_day: BTreeMap<Date, DayCounts> = BTreeMap::new();
    for (day, counts) in rows {
        if *day >= range.first && *day <= range.last {
            per_day.entry(*day).or_default().add(counts);
        }
    }
    let mut buckets: Vec<(String, DayCounts)> = Vec::new();
    for day in range.days() {
        let label = group_by.label(day);
        let counts = per_day.remove(&day).unwrap_or_default();
        match buckets.last_mut() {
            Some((last, sum)) if *last == label => sum.add(&counts),
            _ => buckets.push((label, counts)),
        }
    }
    let series = |f: &dyn Fn(&DayCounts) -> u64| {
        buckets
            .iter()
            .map(|(label, c)| Bucket {
                label: label.clone(),
                count: f(c),
            })
            .collect()
    };
    Summary {
        new_users: series(&|c| c.new_users),
        games_opened: series(&|c| c.games_opened),
        actions_performed: series(&|c| c.actions),
        awards: series(&|c| c.awards),
        points_earned: buckets
            .iter()
            .map(|(label, c)| Bucket {
                label: label.clone(),
                count: c.points,
            })
            .collect(),
    }
}

/// GAME's `/dashboard/summary/logs` levels, from what we record (docs/api.md, "Dashboard"):
/// `success` = awards committed, `info` = the other recorded writes (games opened, users
/// created, actions logged), `error` = award requests answered with an error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Levels {
    pub info: u64,
    pub success: u64,
    pub error: u64,
}

pub fn levels(range: Range, rows: &[(Date, DayCounts)]) -> Levels {
    let mut total = DayCounts::default();
    for (day, counts) in rows {
        if *day >= range.first && *day <= range.last {
            total.add(counts);
        }
    }
    Levels {
        info: total.games_opened + total.new_users + total.actions,
        success: total.awards,
        error: total.award_errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dashboard::{SHARDS, shard_of};
    use time::macros::date;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("ana"), shard_of("ana"));
        let used: std::collections::HashSet<u32> =
            (0..400).map(|i| shard_of(&format!("user-{i}"))).collect();
        assert_eq!(used.len(), SHARDS as usize, "400 users reach every shard");
    }

    #[test]
    fn dates_parse_as_game_and_bad_ones_are_400() {
        assert_eq!(
            parse_date("d", "2026-05-01").unwrap(),
            date!(2026 - 05 - 01)
        );
        assert_eq!(
            parse_date("d", "2026-05-01T23:30:00").unwrap(),
            date!(2026 - 05 - 01)
        );
        assert_eq!(
            parse_date("d", "2026-05-01T23:30:00-02:00").unwrap(),
            date!(2026 - 05 - 02),
            "an offset is turned into the UTC day"
        );
        for bad in ["2026-13-01", "yesterday", "2026-02-30", "", "01/05/2026"] {
            let error = parse_date("start_date", bad).unwrap_err();
            assert_eq!(error.code, "invalid_date", "{bad}");
            assert_eq!(error.status.as_u16(), 400);
        }
    }

    #[test]
    fn ranges_are_checked() {
        let today = date!(2026 - 12 - 02);
        let default = Range::resolve(None, None, today).unwrap();
        assert_eq!(default.days().count(), 30);
        assert_eq!(default.last, today);
        let reversed = Range::resolve(Some("2026-05-02"), Some("2026-05-01"), today);
        assert_eq!(reversed.unwrap_err().code, "invalid_date_range");
        let long = Range::resolve(Some("2020-01-01"), Some("2026-01-01"), today);
        assert_eq!(long.unwrap_err().code, "invalid_date_range");
        assert_eq!(
            GroupBy::parse(Some("year")).unwrap_err().code,
            "invalid_group_by"
        );
        assert_eq!(GroupBy::parse(None).unwrap_err().code, "invalid_group_by");
    }

    #[test]
    fn labels_follow_game_with_the_year() {
        assert_eq!(GroupBy::Day.label(date!(2026 - 05 - 09)), "2026-05-09");
        assert_eq!(GroupBy::Week.label(date!(2026 - 05 - 07)), "week_1_2026-05");
        assert_eq!(GroupBy::Week.label(date!(2026 - 05 - 08)), "week_2_2026-05");
        assert_eq!(GroupBy::Week.label(date!(2026 - 05 - 29)), "week_5_2026-05");
        assert_eq!(GroupBy::Week.label(date!(2026 - 05 - 31)), "week_5_2026-05");
        assert_eq!(GroupBy::Month.label(date!(2026 - 05 - 31)), "2026-05");
    }

    #[test]
    fn shards_and_days_sum_into_zero_filled_buckets() {
        let range = Range {
            first: date!(2026 - 04 - 28),
            last: date!(2026 - 05 - 09),
        };
        let one = |awards, points: i64| DayCounts {
            awards,
            points: Decimal::from(points),
            ..DayCounts::default()
        };
        let rows = vec![
            (date!(2026 - 04 - 30), one(2, 5)),
            (date!(2026 - 04 - 30), one(1, 1)), // another shard, same day
            (date!(2026 - 05 - 08), one(4, 10)),
            (date!(2026 - 05 - 10), one(100, 100)), // outside the range
        ];
        let by_day = summarize(range, GroupBy::Day, &rows);
        assert_eq!(by_day.awards.len(), 12);
        assert_eq!(by_day.awards[2].label, "2026-04-30");
        assert_eq!(by_day.awards[2].count, 3);
        assert_eq!(by_day.points_earned[2].count, Decimal::from(6));
        assert_eq!(by_day.awards[0].count, 0);
        let by_month = summarize(range, GroupBy::Month, &rows);
        let labels: Vec<&str> = by_month.awards.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(labels, ["2026-04", "2026-05"]);
        assert_eq!(by_month.awards[1].count, 4);
        let by_week = summarize(range, GroupBy::Week, &rows);
        let labels: Vec<&str> = by_week.awards.iter().map(|b| b.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "week_4_2026-04",
                "week_5_2026-04",
                "week_1_2026-05",
                "week_2_2026-05"
            ]
        );
        assert_eq!(levels(range, &rows).success, 7);
    }
}
