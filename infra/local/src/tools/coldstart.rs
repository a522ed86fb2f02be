//! Cold-start harness: runs each release `bootstrap` against a minimal fake Lambda Runtime API
//! and reports the time from exec to its first `GET /runtime/invocation/next` (everything the
//! function does before it can take a request: runtime set-up, AWS SDK configuration, the
//! AppContext) and its resident memory at that moment.
//!
//!   game-coldstart <lambda dir with <binary>/bootstrap> [runs per binary, default 5]
//!   make coldstart     (builds the x86_64 release, starts the local stack, creates the secret)
//!
//! Functions that authenticate read the deployment secret during init, so their time includes
//! one Secrets Manager round trip (here to moto on loopback; in Lambda to the regional service).
//!
//! Prints a Markdown table (median and worst init, RSS). Only binaries of the host's
//! architecture can run, so CI measures the x86_64 build; the arm64 ones are the same code.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const NEXT: &str = "GET /2018-06-01/runtime/invocation/next";

struct Sample {
    init: Duration,
    rss_kib: u64,
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

fn measure(name: &str, bootstrap: &Path) -> Result<Sample, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let started = Instant::now();
    // The environment Lambda gives a function, and nothing from ours but the deployment secret's
    // name and the local Secrets Manager: init reads the secret, as it does in Lambda.
    let passthrough = ["GAME_SECRET_ARN", "AWS_ENDPOINT_URL_SECRETS_MANAGER"]
        .into_iter()
        .filter_map(|name| Some((name, std::env::var(name).ok()?)));
    let mut child = Command::new(bootstrap)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/coldstart")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "coldstart")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "coldstart")
        .env("AWS_SECRET_ACCESS_KEY", "coldstart")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("GAME_TABLE_NAME", "coldstart")
        .env("GAME_LOG_LEVEL", "warn")
        .envs(passthrough)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", bootstrap.display()))?;
    let result = loop {
        match listener.accept() {
            Ok((mut stream, _)) => {
                let init = started.elapsed();
                let rss = rss_kib(child.id());
                stream.set_nonblocking(false).ok();
                stream.set_read_timeout(Some(Duration::from_secs(2))).ok();
                let mut head = [0u8; 256];
                let read = stream.read(&mut head).unwrap_or(0);
                let text = String::from_utf8_lossy(&head[..read]);
                let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\n\r\n");
                break if text.starts_with(NEXT) {
                    Ok(Sample { init, rss_kib: rss })
                } else {
                    Err(format!("{name}: first request was not next: {text:?}"))
                };
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if let Ok(Some(status)) = child.try_wait() {
                    break Err(format!("{name}: exited during init ({status})"));
                }
                if started.elapsed() > Duration::from_secs(10) {
                    break Err(format!("{name}: no Runtime API call within 10 s"));
                }
                std::thread::sleep(Duration::from_micros(100));
            }
            Err(e) => break Err(e.to_string()),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    result
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: game-coldstart <lambda dir> [runs per binary]");
        std::process::exit(2);
    };
    let runs: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(5);
    let mut binaries: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let bootstrap = path.join("bootstrap");
            let name = path.file_name()?.to_str()?.to_owned();
            bootstrap.is_file().then_some((name, bootstrap))
        })
        .collect();
    binaries.sort();
    if binaries.is_empty() {
        eprintln!("no <binary>/bootstrap under {}", dir.display());
        std::process::exit(1);
    }
    println!("| Function | init median (ms) | init max (ms) | RSS at first `next` (MB) |");
    println!("|---|---:|---:|---:|");
    let mut failed = false;
    for (name, bootstrap) in binaries {
        let mut samples = Vec::new();
        for _ in 0..runs {
            match measure(&name, &bootstrap) {
                Ok(sample) => samples.push(sample),
                Err(message) => {
                    eprintln!("game-coldstart: {message}");
                    failed = true;
                    break;
                }
            }
        }
        if samples.is_empty() {
            continue;
        }
        samples.sort_by_key(|s| s.init);
        let median = samples[samples.len() / 2].init.as_secs_f64() * 1000.0;
        let max = samples[samples.len() - 1].init.as_secs_f64() * 1000.0;
        let rss = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0) as f64 / 1024.0;
        println!("| {name} | {median:.1} | {max:.1} | {rss:.1} |");
    }
    if failed {
        std::process::exit(1);
    }
}
