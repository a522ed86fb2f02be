//! What a run measured: per request class the latency percentiles and the error rate, GAME's
//! SLO verdict, per-second series for the chart, and the JSON summary.

use serde::Serialize;
use std::collections::BTreeMap;

/// One logical request: when it started (ms since the run began), its class, how long it took
/// in all (retries and their back-off included: what a client waits) and whether it succeeded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at_ms: u64,
    pub class: Class,
    pub latency_us: u64,
    pub ok: bool,
    pub retries: u32,
    /// The final answer's status; 0 when no answer came (transport error or time-out).
    pub status: u16,
}

/// The requests of GAME's k6 mix, by scenario: A reads, B writes, C aggregates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    StrategiesPublic,
    Strategies,
    GamesList,
    TaskAction,
    TaskPoints,
    GamePointsDetails,
}

impl Class {
    pub const ALL: [Class; 6] = [
        Class::StrategiesPublic,
        Class::Strategies,
        Class::GamesList,
        Class::TaskAction,
        Class::TaskPoints,
        Class::GamePointsDetails,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Class::StrategiesPublic => "strategies_public",
            Class::Strategies => "strategies",
            Class::GamesList => "games_list",
            Class::TaskAction => "task_action",
            Class::TaskPoints => "task_points",
            Class::GamePointsDetails => "game_points_details",
        }
    }
}

/// GAME's thresholds (its k6 script): p95 < 800 ms, p99 < 1.5 s, errors < 1 %.
pub const SLO_P95_MS: f64 = 800.0;
pub const SLO_P99_MS: f64 = 1500.0;
pub const SLO_ERROR_RATE: f64 = 0.01;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stats {
    pub requests: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub retries: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// How many requests ended with each status (`0`: no answer), to tell a 429 from a 503.
    pub statuses: BTreeMap<u16, u64>,
    /// Within GAME's SLO (p95, p99 and error rate).
    pub slo_met: bool,
}

/// The nearest-rank percentile `p` (0–100) of sorted values; 0 for none.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(us: u64) -> f64 {
    (us as f64 / 1000.0 * 100.0).round() / 100.0
}

pub fn stats<'s>(samples: impl Iterator<Item = &'s Sample>) -> Stats {
    let mut latencies = Vec::new();
    let (mut errors, mut retries) = (0u64, 0u64);
    let mut statuses = BTreeMap::new();
    for sample in samples {
        latencies.push(sample.latency_us);
        *statuses.entry(sample.status).or_insert(0) += 1;
        errors += u64::from(!sample.ok);
        retries += u64::from(sample.retries);
    }
    latencies.sort_unstable();
    let requests = latencies.len() as u64;
    let error_rate = if requests == 0 {
        0.0
    } else {
        errors as f64 / requests as f64
    };
    let (p50, p95, p99) = (
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 95.0)),
        ms(percentile(&latencies, 99.0)),
    );
    Stats {
        requests,
        errors,
        error_rate,
        retries,
        p50_ms: p50,
        p95_ms: p95,
        p99_ms: p99,
        max_ms: ms(latencies.last().copied().unwrap_or(0)),
        statuses,
        slo_met: requests > 0
            && p95 < SLO_P95_MS
            && p99 < SLO_P99_MS
            && error_rate < SLO_ERROR_RATE,
    }
}

/// One bucket of the time series: the latency percentiles of the requests started in it and
/// how many completed per second.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bucket {
    pub start_s: f64,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

/// Buckets of `width_s` seconds over the run (all classes together).
pub fn series(samples: &[Sample], width_s: u64) -> Vec<Bucket> {
    let width_ms = width_s.max(1) * 1000;
    let mut buckets: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for sample in samples {
        buckets
            .entry(sample.at_ms / width_ms)
            .or_default()
            .push(sample.latency_us);
    }
    let last = buckets.keys().next_back().copied().unwrap_or(0);
    (0..=last)
        .map(|i| {
            let mut latencies = buckets.remove(&i).unwrap_or_default();
            latencies.sort_unstable();
            Bucket {
                start_s: (i * width_ms) as f64 / 1000.0,
                requests_per_s: latencies.len() as f64 / width_s.max(1) as f64,
                p50_ms: ms(percentile(&latencies, 50.0)),
                p95_ms: ms(percentile(&latencies, 95.0)),
                p99_ms: ms(percentile(&latencies, 99.0)),
            }
        })
        .collect()
}

/// CPU a process spent during the run, from /proc/<pid>/stat.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cpu {
    pub pid: u32,
    pub cpu_seconds: f64,
    /// Mean cores busy over the run.
    pub cores: f64,
    pub cpu_seconds_per_1000_requests: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub base_url: String,
    pub run_id: String,
    pub vus: BTreeMap<&'static str, usize>,
    pub stages_s: [u64; 3],
    pub duration_s: f64,
    pub requests_per_s: f64,
    pub overall: Stats,
    pub classes: BTreeMap<&'static str, Stats>,
    /// GAME's verdict: every class and the whole run within p95 < 800 ms, p99 < 1.5 s and
    /// errors < 1 %.
    pub slo_pass: bool,
    pub api_cpu: Option<Cpu>,
    pub dynamodb_cpu: Option<Cpu>,
    pub series: Vec<Bucket>,
}

pub fn summarize(
    samples: &[Sample],
    duration_s: f64,
    head: (String, String, BTreeMap<&'static str, usize>, [u64; 3]),
    cpu: (Option<Cpu>, Option<Cpu>),
) -> Summary {
    let (base_url, run_id, vus, stages_s) = head;
    let overall = stats(samples.iter());
    let mut classes = BTreeMap::new();
    for class in Class::ALL {
        let of_class: Vec<&Sample> = samples.iter().filter(|s| s.class == class).collect();
        if !of_class.is_empty() {
            classes.insert(class.name(), stats(of_class.into_iter()));
        }
    }
    let slo_pass = overall.slo_met && classes.values().all(|s| s.slo_met);
    let width = if duration_s > 600.0 { 10 } else { 1 };
    Summary {
        base_url,
        run_id,
        vus,
        stages_s,
        duration_s,
        requests_per_s: if duration_s > 0.0 {
            overall.requests as f64 / duration_s
        } else {
            0.0
        },
        overall,
        classes,
        slo_pass,
        api_cpu: cpu.0,
        dynamodb_cpu: cpu.1,
        series: series(samples, width),
    }
}

/// The report printed at the end of a run.
pub fn text(summary: &Summary) -> String {
    let mut out = format!(
        "{} requests in {:.1} s ({:.1}/s) against {}\n\n{:<20} {:>8} {:>7} {:>8} {:>9} {:>9} {:>9} {:>9}  SLO    statuses\n",
        summary.overall.requests,
        summary.duration_s,
        summary.requests_per_s,
        summary.base_url,
        "class",
        "requests",
        "errors",
        "retries",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms"
    );
    let line = |name: &str, s: &Stats| {
        let statuses: Vec<String> = s.statuses.iter().map(|(c, n)| format!("{c}×{n}")).collect();
        format!(
            "{name:<20} {:>8} {:>6.2}% {:>8} {:>9.1} {:>9.1} {:>9.1} {:>9.1}  {:<6} {}\n",
            s.requests,
            s.error_rate * 100.0,
            s.retries,
            s.p50_ms,
            s.p95_ms,
            s.p99_ms,
            s.max_ms,
            if s.slo_met { "ok" } else { "MISSED" },
            statuses.join(" ")
        )
    };
    for (name, s) in &summary.classes {
        out.push_str(&line(name, s));
    }
    out.push_str(&line("all", &summary.overall));
    for (label, cpu) in [
        ("API process", &summary.api_cpu),
        ("DynamoDB Local", &summary.dynamodb_cpu),
    ] {
        if let Some(cpu) = cpu {
            out.push_str(&format!(
                "\n{label} (pid {}): {:.2} CPU s, {:.3} cores, {:.3} CPU s per 1,000 requests",
                cpu.pid, cpu.cpu_seconds, cpu.cores, cpu.cpu_seconds_per_1000_requests
            ));
        }
    }
    out.push_str(&format!(
        "\n\nGAME's SLO (p95 < {SLO_P95_MS} ms, p99 < {SLO_P99_MS} ms, errors < {} %): {}\n",
        SLO_ERROR_RATE * 100.0,
        if summary.slo_pass { "PASS" } else { "FAIL" }
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ms: u64, class: Class, latency_ms: u64, ok: bool) -> Sample {
        Sample {
            at_ms,
            class,
            latency_us: latency_ms * 1000,
            ok,
            retries: u32::from(!ok),
            status: if ok { 200 } else { 503 },
        }
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 95.0), 95);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }

    #[test]
    fn the_slo_verdict_is_games_thresholds_per_class_and_overall() {
        let mut samples: Vec<Sample> = (0..200)
            .map(|i| sample(i * 10, Class::TaskPoints, 10 + i % 5, true))
            .collect();
        samples.extend((0..200).map(|i| sample(i * 10, Class::GamesList, 5, true)));
        let head = || {
            (
                "http://x".to_owned(),
                "r".to_owned(),
                BTreeMap::new(),
                [1, 1, 1],
            )
        };
        let summary = summarize(&samples, 2.0, head(), (None, None));
        assert!(summary.slo_pass);
        assert_eq!(summary.classes["task_points"].p50_ms, 12.0);
        assert_eq!(summary.requests_per_s, 200.0);
        // 1 % errors in one class fails the verdict (the threshold is "< 1 %").
        for failed in &mut samples[..2] {
            failed.ok = false;
            failed.status = 503;
        }
        let summary = summarize(&samples, 2.0, head(), (None, None));
        assert_eq!(summary.classes["task_points"].error_rate, 0.01);
        assert!(!summary.classes["task_points"].slo_met);
        assert!(!summary.slo_pass);
        assert!(text(&summary).contains("MISSED"));
        assert_eq!(summary.classes["task_points"].statuses[&503], 2);
        assert!(text(&summary).contains("200×198 503×2"));
        // A slow tail (p99 ≥ 1.5 s) fails too.
        let mut slow: Vec<Sample> = (0..100)
            .map(|i| sample(i, Class::Strategies, 1, true))
            .collect();
        slow[99].latency_us = 1_600_000;
        slow[98].latency_us = 1_600_000;
        assert!(!stats(slow.iter()).slo_met);
    }

    #[test]
    fn series_buckets_by_start_time_with_empty_seconds_kept() {
        let samples = [
            sample(100, Class::Strategies, 10, true),
            sample(900, Class::Strategies, 30, true),
            sample(2500, Class::Strategies, 20, true),
        ];
        let buckets = series(&samples, 1);
        assert_eq!(buckets.len(), 3);
        assert_eq!(buckets[0].requests_per_s, 2.0);
        assert_eq!(buckets[0].p99_ms, 30.0);
        assert_eq!(buckets[1].requests_per_s, 0.0);
        assert_eq!(buckets[2].p50_ms, 20.0);
    }
}
