//! The execution log of custom strategies (GAME §1.8, §4.5): what one run did, which runs are
//! kept, and the metrics over kept runs. Pure: `store::custom` writes and reads the rows.

use crate::wire::custom::{
    CaseCount, CodeCount, DurationBucket, DurationStats, MetricsDelta, PointsBucket, RunMetrics,
    StatusBreakdown,
};
use serde::Serialize;
use serde_json::Value;

/// Trace entries kept per logged run (GAME's DSL_EXECUTION_LOG_TRACE_LIMIT).
pub const LOG_TRACE_LIMIT: usize = 200;
/// Days a logged run is kept (DynamoDB TTL reaps it after).
pub const LOG_TTL_DAYS: i64 = 30;
/// Share of successful runs logged unless `GAME_CUSTOM_LOG_SAMPLE_RATE` says otherwise
/// (GAME's DSL_EXECUTION_LOG_SAMPLE_RATE); failures are always logged.
pub const DEFAULT_LOG_SAMPLE_RATE: f64 = 0.05;

/// What one run of a custom strategy did, for the execution log.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    /// `ok | error | timeout | limit`.
    pub status: &'static str,
    pub error_code: Option<String>,
    pub points: Option<rust_decimal::Decimal>,
    pub case_name: Option<String>,
    pub nodes: usize,
    /// The trace, at most [`LOG_TRACE_LIMIT`] entries.
    pub trace: Value,
    /// Entries before truncation.
    pub trace_len: usize,
}

/// Bytes of trace JSON a logged run keeps (values may be long strings).
const LOG_TRACE_BYTES: usize = 64_000;

fn truncated_trace<T: Serialize>(trace: &[T]) -> Value {
    let mut n = trace.len().min(LOG_TRACE_LIMIT);
    loop {
        let value = serde_json::to_value(&trace[..n]).unwrap_or(Value::Null);
        if n == 0 || value.to_string().len() <= LOG_TRACE_BYTES {
            return value;
        }
        n /= 2;
    }
}

impl RunReport {
    pub fn ok<T: Serialize>(
        points: rust_decimal::Decimal,
        case_name: &str,
        nodes: usize,
        trace: &[T],
    ) -> Self {
        RunReport {
            status: "ok",
            error_code: None,
            points: Some(points),
            case_name: Some(case_name.to_owned()),
            nodes,
            trace: truncated_trace(trace),
            trace_len: trace.len(),
        }
    }

    pub fn failed<T: Serialize>(
        status: &'static str,
        code: &str,
        nodes: usize,
        trace: &[T],
    ) -> Self {
        RunReport {
            status,
            error_code: Some(code.to_owned()),
            points: None,
            case_name: None,
            nodes,
            trace: truncated_trace(trace),
            trace_len: trace.len(),
        }
    }

    /// All failures; successes with probability `rate` (`draw` uniform in [0, 1)).
    pub fn sampled(&self, rate: f64, draw: f64) -> bool {
        self.status != "ok" || draw < rate
    }
}

/// One logged run as the metrics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedRun {
    pub status: String,
    pub error_code: Option<String>,
    pub case_name: Option<String>,
    pub points: Option<f64>,
    pub duration_ms: f64,
    pub nodes: u64,
}

/// Percentile by linear interpolation (`k = (n-1)·p`) over sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let k = (sorted.len() - 1) as f64 * p;
    let lo = k.floor() as usize;
    let hi = k.ceil() as usize;
    sorted[lo] + (sorted[hi] - sorted[lo]) * (k - lo as f64)
}

const DURATION_BUCKETS: [f64; 12] = [
    5.0, 10.0, 25.0, 50.0, 100.0, 150.0, 200.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0,
];
/// Logged rows a metrics read aggregates at most (the newest of the window; GAME's maximum
/// sample).
pub const METRICS_MAX_ROWS: usize = 5000;
/// Durations that percentiles are computed over (the newest).
const PERCENTILE_SAMPLE: usize = 1000;
const TOP_LIMIT: usize = 10;

fn top(counts: std::collections::HashMap<String, u64>) -> Vec<(String, u64)> {
    let mut list: Vec<(String, u64)> = counts.into_iter().collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list.truncate(TOP_LIMIT);
    list
}

/// GAME's metrics over the logged runs (oldest first).
pub fn aggregate(runs: &[LoggedRun]) -> RunMetrics {
    let total = runs.len() as u64;
    let count = |s: &str| runs.iter().filter(|r| r.status == s).count() as u64;
    let (ok, error, timeout, limit) = (
        count("ok"),
        count("error"),
        count("timeout"),
        count("limit"),
    );
    let other = total - ok - error - timeout - limit;
    let rate = |n: u64| {
        if total == 0 {
            0.0
        } else {
            n as f64 / total as f64
        }
    };
    let start = runs.len().saturating_sub(PERCENTILE_SAMPLE);
    let mut durations: Vec<f64> = runs[start..].iter().map(|r| r.duration_ms).collect();
    durations.sort_by(f64::total_cmp);
    let avg = if durations.is_empty() {
        0.0
    } else {
        durations.iter().sum::<f64>() / durations.len() as f64
    };
    let mut histogram: Vec<DurationBucket> = Vec::new();
    let mut lower = f64::NEG_INFINITY;
    for upper in DURATION_BUCKETS {
        let c = runs
            .iter()
            .filter(|r| r.duration_ms > lower && r.duration_ms <= upper)
            .count();
        histogram.push(DurationBucket {
            label: format!("<={upper}ms"),
            upper_bound: Some(upper),
            count: c,
        });
        lower = upper;
    }
    let over = runs.iter().filter(|r| r.duration_ms > lower).count();
    histogram.push(DurationBucket {
        label: format!(">{lower}ms"),
        upper_bound: None,
        count: over,
    });

    let mut errors = std::collections::HashMap::new();
    let mut cases = std::collections::HashMap::new();
    for r in runs {
        if let Some(code) = &r.error_code {
            *errors.entry(code.clone()).or_insert(0u64) += 1;
        }
        if let Some(case) = &r.case_name {
            *cases.entry(case.clone()).or_insert(0u64) += 1;
        }
    }
    let points: Vec<f64> = runs.iter().filter_map(|r| r.points).collect();
    let points_sum: f64 = points.iter().sum();
    let points_histogram = match (
        points.iter().copied().reduce(f64::min),
        points.iter().copied().reduce(f64::max),
    ) {
        (Some(min), Some(max)) => {
            let width = (max - min) / 10.0;
            (0..10)
                .map(|i| {
                    let lo = min + width * i as f64;
                    let hi = if i == 9 {
                        max
                    } else {
                        min + width * (i + 1) as f64
                    };
                    let c = points
                        .iter()
                        .filter(|p| {
                            let bucket = if width > 0.0 {
                                (((*p - min) / width) as usize).min(9)
                            } else {
                                0
                            };
                            bucket == i
                        })
                        .count();
                    PointsBucket {
                        lower: lo,
                        upper: hi,
                        count: c,
                    }
                })
                .collect()
        }
        _ => Vec::new(),
    };
    let nodes_max = runs.iter().map(|r| r.nodes).max().unwrap_or(0);
    let nodes_avg = if total == 0 {
        0.0
    } else {
        runs.iter().map(|r| r.nodes as f64).sum::<f64>() / total as f64
    };
    RunMetrics {
        status_breakdown: StatusBreakdown {
            ok,
            error,
            timeout,
            limit,
            other,
            total,
        },
        success_rate: rate(ok),
        error_rate: rate(error + timeout + limit),
        duration: DurationStats {
            avg_ms: avg,
            p50_ms: percentile(&durations, 0.50),
            p95_ms: percentile(&durations, 0.95),
            p99_ms: percentile(&durations, 0.99),
            max_ms: durations.last().copied().unwrap_or(0.0),
            sample_size: durations.len(),
        },
        duration_histogram: histogram,
        top_errors: top(errors)
            .into_iter()
            .map(|(code, count)| CodeCount { code, count })
            .collect(),
        top_cases: top(cases)
            .into_iter()
            .map(|(case_name, count)| CaseCount { case_name, count })
            .collect(),
        points_histogram,
        points_sum,
        nodes_avg,
        nodes_max,
    }
}

/// `b − a` of the compared figures (pointsAvg = pointsSum / total).
pub fn delta(a: &RunMetrics, b: &RunMetrics) -> MetricsDelta {
    let points_avg = |m: &RunMetrics| {
        let total = m.status_breakdown.total as f64;
        if total == 0.0 {
            0.0
        } else {
            m.points_sum / total
        }
    };
    MetricsDelta {
        success_rate: b.success_rate - a.success_rate,
        error_rate: b.error_rate - a.error_rate,
        p95_ms: b.duration.p95_ms - a.duration.p95_ms,
        avg_ms: b.duration.avg_ms - a.duration.avg_ms,
        points_avg: points_avg(b) - points_avg(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(status: &str, ms: f64, points: Option<f64>, case: Option<&str>) -> LoggedRun {
        LoggedRun {
            status: status.into(),
            error_code: (status != "ok").then(|| "DSL_X".to_owned()),
            case_name: case.map(str::to_owned),
            points,
            duration_ms: ms,
            nodes: 4,
        }
    }

    #[test]
    fn metrics_aggregate_like_game() {
        let runs = vec![
            run("ok", 1.0, Some(1.0), Some("A")),
            run("ok", 2.0, Some(3.0), Some("A")),
            run("ok", 3.0, Some(5.0), Some("B")),
            run("error", 4.0, None, None),
            run("timeout", 600.0, None, None),
        ];
        let metrics = aggregate(&runs);
        let m = serde_json::to_value(&metrics).unwrap();
        assert_eq!(m["statusBreakdown"]["total"], 5);
        assert_eq!(m["statusBreakdown"]["ok"], 3);
        assert_eq!(m["successRate"], 0.6);
        assert_eq!(m["errorRate"], 0.4);
        // sorted 1,2,3,4,600: p50 = 3; p95: k = 3.8 → 4 + 0.8·596
        assert_eq!(m["duration"]["p50Ms"], 3.0);
        let p95 = m["duration"]["p95Ms"].as_f64().unwrap();
        assert!((p95 - (4.0 + 0.8 * 596.0)).abs() < 1e-9);
        assert_eq!(m["duration"]["maxMs"], 600.0);
        assert_eq!(m["durationHistogram"][0]["count"], 4, "<= 5 ms");
        assert_eq!(m["durationHistogram"][9]["count"], 1, "<= 1000 ms");
        assert_eq!(m["topCases"][0], json!({"caseName": "A", "count": 2}));
        assert_eq!(m["topErrors"][0], json!({"code": "DSL_X", "count": 2}));
        assert_eq!(m["pointsSum"], 9.0);
        let buckets: u64 = m["pointsHistogram"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["count"].as_u64().unwrap())
            .sum();
        assert_eq!(buckets, 3);
        let empty = aggregate(&[]);
        assert_eq!(empty.success_rate, 0.0);
        let d = serde_json::to_value(delta(&empty, &metrics)).unwrap();
        assert_eq!(d["pointsAvg"], 9.0 / 5.0);
        assert_eq!(d["successRate"], 0.6);
    }

    #[test]
    fn failures_are_always_sampled_successes_by_rate() {
        let ok = RunReport::ok(rust_decimal::Decimal::ONE, "A", 1, &[0u8; 0]);
        let bad = RunReport::failed("error", "DSL_X", 1, &[0u8; 0]);
        assert!(bad.sampled(0.0, 0.99));
        assert!(!ok.sampled(0.0, 0.0));
        assert!(ok.sampled(0.05, 0.01));
        assert!(!ok.sampled(0.05, 0.5));
        let long: Vec<u32> = (0..500).collect();
        let r = RunReport::failed("limit", "DSL_LIMIT_EXCEEDED", 500, &long);
        assert_eq!(r.trace.as_array().unwrap().len(), LOG_TRACE_LIMIT);
        assert_eq!(r.trace_len, 500);
    }
}
