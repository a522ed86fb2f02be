//! `game-load` (the library behind the binary): GAME's k6 load scenario (its `tests/load/game_api_loadtest.js`) against any
//! base URL and API key: the dev API (`make load`), `sam local`, or a deployed stack.
//!
//! Setup creates a game, two tasks and a user pool; then three groups of virtual users run
//! GAME's mix (70 % A reads, 25 % B writes, 5 % C aggregates by default), each group ramping
//! up over the warm-up, holding, and ramping down; teardown deletes the game. Retries as
//! GAME's script (3 attempts, 120 ms × 2^(n−1)) on 408/429/502/503/504 and transport errors;
//! every write carries an idempotency key, so a retried award is never a second award.
//! At the end: a report per request class, GAME's SLO verdict, a JSON summary and a PNG.
//!
//! Scheduling is tokio tasks rather than goose: goose parses the process's command line and
//! owns the report, while this tool needs its raw samples (per-second percentiles for the chart,
//! CPU per request) and GAME's exact stage shape; what remains is a few dozen lines.

pub mod chart;
pub mod cpu;
pub mod report;

use indicatif::{ProgressBar, ProgressStyle};
use report::{Class, Sample};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

#[derive(Debug, clap::Parser)]
#[command(about = "GAME's k6 load scenario against a GAME-rs API")]
pub struct Args {
    /// The API's base URL (without /api/v1).
    #[arg(long, env = "GAME_BASE_URL", default_value = "http://127.0.0.1:3000")]
    base_url: String,
    /// An admin API key of the tenant to load (sent as X-API-Key).
    #[arg(long, env = "GAME_API_KEY", hide_env_values = true)]
    api_key: String,
    /// Virtual users at the hold, split by --mix.
    #[arg(long, default_value_t = 10)]
    vus: usize,
    /// Percent of the VUs in A (reads) / B (writes) / C (aggregates).
    #[arg(long, default_value = "70/25/5")]
    mix: String,
    /// Seconds over which each group ramps up to its VUs.
    #[arg(long, default_value_t = 30)]
    warm_up: u64,
    /// Seconds at full load.
    #[arg(long, default_value_t = 120)]
    hold: u64,
    /// Seconds over which each group ramps down.
    #[arg(long, default_value_t = 30)]
    ramp_down: u64,
    /// Seconds a VU may finish its iteration after its stage ends (k6's gracefulRampDown).
    #[arg(long, default_value_t = 15)]
    graceful: u64,
    /// Stop starting requests after this many.
    #[arg(long, default_value_t = 1_000_000)]
    max_requests: u64,
    /// Seconds before one HTTP request times out.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    /// The user pool's size (GAME's USER_POOL_SIZE).
    #[arg(long, default_value_t = 200)]
    users: usize,
    /// Where load-summary.json and load.png go.
    #[arg(long, default_value = "target/load")]
    out: PathBuf,
    /// The API process to measure CPU of (e.g. the dev API's pid).
    #[arg(long)]
    api_pid: Option<u32>,
    /// DynamoDB Local's pid, measured separately.
    #[arg(long)]
    dynamodb_pid: Option<u32>,
    /// Keep the game after the run (default: delete it).
    #[arg(long)]
    keep_game: bool,
    /// No progress bar (e.g. in CI logs).
    #[arg(long)]
    no_progress: bool,
    /// Exit 1 when GAME's SLO is missed (k6's thresholds).
    #[arg(long)]
    enforce_slo: bool,
}

impl Args {
    /// Options from a command line (the first item is the program's name).
    pub fn from_args<I, T>(args: I) -> Result<Args, String>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        <Args as clap::Parser>::try_parse_from(args).map_err(|e| e.to_string())
    }
}

/// GAME's retries: 3 attempts, 120 ms × 2^(n−1) between them.
const MAX_ATTEMPTS: u32 = 3;
const BACKOFF_MS: u64 = 120;
/// Never wait longer than this for a Retry-After.
const MAX_RETRY_AFTER_MS: u64 = 2000;

fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429 | 502 | 503 | 504)
}

struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
    started: Instant,
    samples: Mutex<Vec<Sample>>,
    requests: AtomicU64,
    errors: AtomicU64,
    max_requests: u64,
}

struct Call<'a> {
    class: Class,
    method: reqwest::Method,
    path: String,
    body: Option<Value>,
    headers: Vec<(&'a str, String)>,
    auth: bool,
}

impl Api {
    /// One logical request with GAME's retries; its sample is recorded. Returns the last
    /// status and body (None after transport errors only).
    async fn send(&self, call: Call<'_>) -> Option<(u16, Value)> {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let at = self.started.elapsed();
        let mut retries = 0;
        let mut outcome = None;
        for attempt in 1..=MAX_ATTEMPTS {
            let mut request = self
                .http
                .request(call.method.clone(), format!("{}{}", self.base, call.path));
            if call.auth {
                request = request.header("X-API-Key", &self.key);
            }
            for (name, value) in &call.headers {
                request = request.header(*name, value);
            }
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let mut wait = Duration::from_millis(BACKOFF_MS << (attempt - 1));
            match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    if let Some(seconds) = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                    {
                        wait = wait.max(Duration::from_millis(
                            (seconds * 1000).min(MAX_RETRY_AFTER_MS),
                        ));
                    }
                    let body = response.json::<Value>().await.unwrap_or(Value::Null);
                    outcome = Some((status, body));
                    if !retryable(status) {
                        break;
                    }
                }
                Err(_) => outcome = None,
            }
            if attempt < MAX_ATTEMPTS {
                retries += 1;
                tokio::time::sleep(wait).await;
            }
        }
        let ok = outcome
            .as_ref()
            .is_some_and(|(status, _)| (200..300).contains(status));
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
        let sample = Sample {
            at_ms: at.as_millis() as u64,
            class: call.class,
            latency_us: (self.started.elapsed() - at).as_micros() as u64,
            ok,
            retries,
            status: outcome.as_ref().map_or(0, |(status, _)| *status),
        };
        if let Ok(mut samples) = self.samples.lock() {
            samples.push(sample);
        }
        outcome
    }

    fn exhausted(&self) -> bool {
        self.requests.load(Ordering::Relaxed) >= self.max_requests
    }
}

fn get(class: Class, path: String, auth: bool) -> Call<'static> {
    Call {
        class,
        method: reqwest::Method::GET,
        path,
        body: None,
        headers: Vec::new(),
        auth,
    }
}

/// What the scenario set up: the game, its two tasks and the user pool.
struct Fixture {
    run_id: String,
    game_id: String,
    tasks: [String; 2],
    users: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    A,
    B,
    C,
}

/// One iteration of a VU of `group` (GAME's scenario functions, with their sleeps).
async fn iteration(api: &Api, fx: &Fixture, group: Group, vu: usize, iter: u64) {
    match group {
        Group::A => {
            api.send(get(
                Class::StrategiesPublic,
                "/api/v1/strategies".into(),
                false,
            ))
            .await;
            api.send(get(Class::Strategies, "/api/v1/strategies".into(), true))
                .await;
            api.send(get(
                Class::GamesList,
                "/api/v1/games?page=1&page_size=10".into(),
                true,
            ))
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Group::B => {
            let user = &fx.users[(vu * 131 + iter as usize * 17) % fx.users.len()];
            let task = &fx.tasks[iter as usize % 2];
            let forwarded = format!("10.{}.{}.{}", vu / 65536 % 256, vu / 256 % 256, vu % 256);
            let action_key = format!("load-{}-action-vu{vu}-iter{iter}", fx.run_id);
            api.send(Call {
                class: Class::TaskAction,
                method: reqwest::Method::POST,
                path: format!("/api/v1/games/{}/tasks/{task}/action", fx.game_id),
                body: Some(json!({
                    "typeAction": "TASK_COMPLETED",
                    "data": {"source": "load", "iteration": iter},
                    "description": "load test",
                    "externalUserId": user,
                })),
                headers: vec![
                    ("X-Correlation-ID", action_key.clone()),
                    ("Idempotency-Key", action_key),
                    ("X-Forwarded-For", forwarded.clone()),
                    ("X-Real-IP", forwarded.clone()),
                ],
                auth: true,
            })
            .await;
            let key = format!("load-{}-points-vu{vu}-iter{iter}", fx.run_id);
            api.send(Call {
                class: Class::TaskPoints,
                method: reqwest::Method::POST,
                path: format!("/api/v1/games/{}/tasks/{task}/points", fx.game_id),
                body: Some(json!({"externalUserId": user, "data": {"eventId": key}})),
                headers: vec![
                    ("X-Correlation-ID", key.clone()),
                    ("Idempotency-Key", key),
                    ("X-Forwarded-For", forwarded.clone()),
                    ("X-Real-IP", forwarded),
                ],
                auth: true,
            })
            .await;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Group::C => {
            api.send(get(
                Class::GamePointsDetails,
                format!("/api/v1/games/{}/points/details", fx.game_id),
                true,
            ))
            .await;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// VUs per group: C and B rounded (at least one each when their share is above 0), A the rest.
fn split(vus: usize, mix: &str) -> Result<[usize; 3], String> {
    let parts: Vec<f64> = mix
        .split('/')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("--mix must be A/B/C percentages, got {mix:?}"))?;
    let [a, b, c] = parts[..] else {
        return Err(format!(
            "--mix must be three percentages A/B/C, got {mix:?}"
        ));
    };
    if a < 0.0 || b < 0.0 || c < 0.0 || (a + b + c - 100.0).abs() > 0.01 {
        return Err(format!(
            "--mix must be three shares adding up to 100, got {mix:?}"
        ));
    }
    let share = |pct: f64| {
        if pct > 0.0 {
            ((vus as f64 * pct / 100.0).round() as usize).max(1)
        } else {
            0
        }
    };
    let (vb, vc) = (share(b), share(c));
    let va = vus.saturating_sub(vb + vc);
    if va + vb + vc != vus || (a > 0.0 && va == 0) {
        return Err(format!("{vus} VUs are too few for the mix {mix}"));
    }
    Ok([va, vb, vc])
}

/// When VU `k` of `n` in a group runs: ramping up over the warm-up, down over the ramp-down
/// (the last to start is the first to stop), as k6's ramping-vus.
fn window(k: usize, n: usize, stages: [u64; 3]) -> (Duration, Duration) {
    let [warm, hold, down] = stages.map(|s| s as f64);
    let (k, n) = (k as f64, n.max(1) as f64);
    let start = warm * k / n;
    let stop = warm + hold + down * (n - k) / n;
    (
        Duration::from_secs_f64(start),
        Duration::from_secs_f64(stop),
    )
}

async fn setup(api: &Api, users: usize) -> Result<Fixture, String> {
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let created = api
        .send(Call {
            class: Class::GamesList,
            method: reqwest::Method::POST,
            path: "/api/v1/games".into(),
            body: Some(json!({
                "externalGameId": format!("load-game-{run_id}"),
                "platform": "load",
                "strategyId": "default",
            })),
            headers: vec![("Idempotency-Key", format!("load-{run_id}-game"))],
            auth: true,
        })
        .await;
    let game_id = match created {
        // Any 2xx, as GAME's k6 script accepts: GAME answers 200 where we answer 201.
        Some((200..=299, body)) => body["gameId"].as_str().unwrap_or_default().to_owned(),
        Some((status, body)) => return Err(format!("creating the game: {status} {body}")),
        None => return Err(format!("creating the game: no answer from {}", api.base)),
    };
    let tasks = [1, 2].map(|i| format!("load-task-{run_id}-{i}"));
    for task in &tasks {
        match api
            .send(Call {
                class: Class::GamesList,
                method: reqwest::Method::POST,
                path: format!("/api/v1/games/{game_id}/tasks"),
                body: Some(json!({"externalTaskId": task, "strategyId": "default"})),
                headers: vec![("Idempotency-Key", format!("load-{run_id}-{task}"))],
                auth: true,
            })
            .await
        {
            Some((200..=299, _)) => {}
            other => return Err(format!("creating task {task}: {other:?}")),
        }
    }
    let users = (0..users).map(|i| format!("load-user-{i:04}")).collect();
    Ok(Fixture {
        run_id,
        game_id,
        tasks,
        users,
    })
}

/// Runs the scenario: Ok(false) when `--enforce-slo` is set and GAME's SLO was missed.
pub async fn run(args: Args) -> Result<bool, String> {
    let groups = split(args.vus, &args.mix)?;
    if args.users == 0 {
        return Err("--users must be at least 1".into());
    }
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(args.timeout))
        .pool_max_idle_per_host(args.vus.max(1))
        .build()
        .map_err(|e| e.to_string())?;
    let mut api = Api {
        http,
        base: args.base_url.trim_end_matches('/').to_owned(),
        key: args.api_key.clone(),
        started: Instant::now(),
        samples: Mutex::new(Vec::new()),
        requests: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        max_requests: args.max_requests,
    };
    let fixture = setup(&api, args.users).await?;
    // Setup's requests are not part of the run.
    api.samples = Mutex::new(Vec::new());
    api.requests = AtomicU64::new(0);
    api.errors = AtomicU64::new(0);
    api.started = Instant::now();
    let api = Arc::new(api);
    let fixture = Arc::new(fixture);

    let stages = [args.warm_up, args.hold, args.ramp_down];
    let end = Duration::from_secs(stages.iter().sum());
    let hard_stop = api.started + end + Duration::from_secs(args.graceful);
    let cpu_before = (
        args.api_pid.and_then(cpu::cpu_seconds),
        args.dynamodb_pid.and_then(cpu::cpu_seconds),
    );
    let active = Arc::new(AtomicUsize::new(0));
    let mut vus = tokio::task::JoinSet::new();
    let mut vu_number = 0;
    for (group, n) in [Group::A, Group::B, Group::C].into_iter().zip(groups) {
        for k in 0..n {
            vu_number += 1;
            let (start, stop) = window(k, n, stages);
            let (api, fx, active) = (api.clone(), fixture.clone(), active.clone());
            let vu = vu_number;
            vus.spawn(async move {
                tokio::time::sleep_until(api.started + start).await;
                active.fetch_add(1, Ordering::Relaxed);
                let work = async {
                    let mut iter = 0u64;
                    while api.started.elapsed() < stop && !api.exhausted() {
                        iteration(&api, &fx, group, vu, iter).await;
                        iter += 1;
                    }
                };
                let _ = tokio::time::timeout_at(hard_stop, work).await;
                active.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }

    let bar = if args.no_progress {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(end.as_secs().max(1))
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{wide_bar}] {pos}/{len} s  {msg}")
            .map_err(|e| e.to_string())?,
    );
    let ticker = {
        let (api, active, bar) = (api.clone(), active.clone(), bar.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let elapsed = api.started.elapsed().as_secs_f64();
                let requests = api.requests.load(Ordering::Relaxed);
                bar.set_position(elapsed as u64);
                bar.set_message(format!(
                    "VUs {:>4}  requests {requests:>7}  errors {:>5}  {:>7.1} req/s",
                    active.load(Ordering::Relaxed),
                    api.errors.load(Ordering::Relaxed),
                    requests as f64 / elapsed.max(0.001)
                ));
            }
        })
    };
    while vus.join_next().await.is_some() {}
    ticker.abort();
    let duration = api.started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    let cpu_after = (
        args.api_pid.and_then(cpu::cpu_seconds),
        args.dynamodb_pid.and_then(cpu::cpu_seconds),
    );

    let samples = api.samples.lock().map(|s| s.clone()).unwrap_or_default();
    let requests = samples.len() as f64;
    let cpu_of = |pid: Option<u32>, before: Option<f64>, after: Option<f64>| {
        let (pid, before, after) = (pid?, before?, after?);
        let seconds = after - before;
        Some(report::Cpu {
            pid,
            cpu_seconds: seconds,
            cores: seconds / duration.max(0.001),
            cpu_seconds_per_1000_requests: if requests > 0.0 {
                seconds / requests * 1000.0
            } else {
                0.0
            },
        })
    };
    let cpu = (
        cpu_of(args.api_pid, cpu_before.0, cpu_after.0),
        cpu_of(args.dynamodb_pid, cpu_before.1, cpu_after.1),
    );
    let vus_by_group = BTreeMap::from([("a", groups[0]), ("b", groups[1]), ("c", groups[2])]);
    let summary = report::summarize(
        &samples,
        duration,
        (
            api.base.clone(),
            fixture.run_id.clone(),
            vus_by_group,
            stages,
        ),
        cpu,
    );
    std::fs::create_dir_all(&args.out)
        .map_err(|e| format!("creating {}: {e}", args.out.display()))?;
    let json_path = args.out.join("load-summary.json");
    let png_path = args.out.join("load.png");
    let text = serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())?;
    std::fs::write(&json_path, text).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let title = format!(
        "GAME k6 mix, {} VUs ({}/{}/{}), {} requests, {:.0} req/s",
        args.vus, groups[0], groups[1], groups[2], summary.overall.requests, summary.requests_per_s
    );
    chart::draw(&png_path, &summary.series, &title)?;
    if !args.keep_game {
        api.send(Call {
            class: Class::GamesList,
            method: reqwest::Method::DELETE,
            path: format!("/api/v1/games/{}", fixture.game_id),
            body: None,
            headers: Vec::new(),
            auth: true,
        })
        .await;
    }
    print!("{}", report::text(&summary));
    println!(
        "summary: {}\nchart:   {}",
        json_path.display(),
        png_path.display()
    );
    Ok(summary.slo_pass || !args.enforce_slo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_splits_vus_as_games_script() {
        assert_eq!(split(100, "70/25/5").unwrap(), [70, 25, 5]);
        assert_eq!(split(10, "70/25/5").unwrap(), [6, 3, 1]);
        assert_eq!(split(4, "0/100/0").unwrap(), [0, 4, 0]);
        assert!(split(1, "70/25/5").is_err());
        assert!(split(10, "70/20/5").is_err());
        assert!(split(10, "a/b").is_err());
    }

    #[test]
    fn vus_ramp_up_then_down_last_in_first_out() {
        let stages = [30, 120, 30];
        assert_eq!(
            window(0, 3, stages),
            (Duration::ZERO, Duration::from_secs(180))
        );
        assert_eq!(
            window(2, 3, stages),
            (Duration::from_secs(20), Duration::from_secs(160))
        );
    }

    #[test]
    fn retries_are_games_statuses_and_429() {
        for status in [408, 429, 502, 503, 504] {
            assert!(retryable(status));
        }
        for status in [200, 400, 409, 422, 500] {
            assert!(!retryable(status));
        }
    }
}
