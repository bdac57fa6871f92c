//! `host-bench releases`: what S3 releases cost, against the same guests
//! from a local folder in the same run.
//!
//! 1. Cold start (process start → first next-event request) with 10
//!    precompiled guests: from a local folder with `.cwasm` (the anchor),
//!    from S3 (moto on loopback) with an empty `/tmp`, and from S3 with the
//!    download cache of an earlier start.
//!    Then what checking a signed pointer adds (starts alternating with
//!    and without trusted keys and a maximum age).
//! 2. A release switch in a warm environment (cargo-lambda's emulator): the
//!    warmer ping's round trip that loads and switches to a new release
//!    (one guest changed, nine kept), and the check's own time.
//! 3. Timed checks (`WASM_LAMBDA_REFRESH_S=1`): the round trip of an event
//!    sent right after the one whose answer triggered a check, against the
//!    same with timed checks off.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use serde_json::{Value, json};
use wasm_lambda_tests::{Emulator, HostProcess, S3Server};

use super::{beside_this_binary, deploy, init_times, init_times_with, median, row};
use crate::summary::{Line, Target};

const LOCATION: &str = "s3://bench/team/";
/// The same guests published with `--sign`.
const SIGNED_LOCATION: &str = "s3://bench/signed/";

pub fn bench() -> Result<()> {
    let host = beside_this_binary("wasm-lambda-host")?;
    let s3 = S3Server::start();
    s3.create_bucket("bench");
    let folder = deploy(10);
    let publish = |folder: &wasm_lambda_tests::GuestFolder| -> Result<()> {
        let output = Command::new(&host)
            .arg("publish")
            .arg(folder.guests())
            .arg(LOCATION)
            .envs(s3.env())
            .stderr(Stdio::null())
            .output()?;
        ensure!(
            output.status.success(),
            "publish failed: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        Ok(())
    };
    publish(&folder)?;
    crate::precompile(&host, &folder)?;

    println!(
        "## cold start with 10 precompiled guests, process start -> first next-event request (median of {} runs)\n",
        super::RUNS
    );
    println!("| binary | guests | code from | median ms | min ms |");
    println!("| --- | --- | --- | --- | --- |");
    let local = init_times(&host, Some(&folder), &[("fresh-cache", "1")])?;
    row(
        "wasm-lambda-host",
        "10",
        "local folder, .cwasm (anchor)",
        &local,
    );
    let s3_env = |cache: String| {
        let mut env: Vec<(String, String)> = s3
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("WASM_LAMBDA_GUESTS".into(), LOCATION.into()));
        env.push(("WASM_LAMBDA_CACHE".into(), cache));
        env
    };
    let root = folder.root().to_path_buf();
    let cold = init_times_with(&host, |run| {
        s3_env(root.join(format!("s3-cache-{run}")).display().to_string())
    })?;
    row("wasm-lambda-host", "10", "S3 release, empty /tmp", &cold);
    let warm_cache = root.join("s3-cache-0").display().to_string();
    let cached = init_times_with(&host, |_| s3_env(warm_cache.clone()))?;
    row(
        "wasm-lambda-host",
        "10",
        "S3 release, /tmp of an earlier start",
        &cached,
    );
    let (checked, unchecked) = signed_pointer_cost(&host, &s3, &folder)?;
    row(
        "wasm-lambda-host",
        "10",
        "S3 release, signed pointer not checked, /tmp of an earlier start (alternating)",
        &unchecked,
    );
    row(
        "wasm-lambda-host",
        "10",
        "S3 release, signed pointer checked (trusted keys, max age), /tmp of an earlier start (alternating)",
        &checked,
    );
    println!(
        "\nS3 (empty /tmp) / local folder: {:.2}x (target <= 1.5x); with the download cache: {:.2}x; \
         checking the signed pointer: {:+.2} ms\n",
        median(&cold) / median(&local),
        median(&cached) / median(&local),
        median(&checked) - median(&unchecked)
    );
    let anchor = "local folder, .cwasm";
    crate::summary::record(
        "releases",
        &[
            Line::against(
                "init, 10 guests from an S3 release, empty /tmp",
                median(&cold),
                "ms",
                anchor,
                median(&local),
                Target::RatioAtMost(1.5),
            ),
            Line::against(
                "init, 10 guests from an S3 release, /tmp of an earlier start",
                median(&cached),
                "ms",
                anchor,
                median(&local),
                Target::None,
            ),
        ],
    )?;

    switch(&host, &s3, &folder, &publish)?;
    timed_checks(&host, &s3)?;
    Ok(())
}

/// What checking a signed pointer (trusted keys, a maximum age) costs a
/// cold start: `folder` published with `--sign` to [`SIGNED_LOCATION`],
/// then starts (download cache of an earlier start) alternating between a
/// host that checks the release's and the pointer's signatures and the
/// pointer's age and one that does not (the same bytes read, the same
/// cached objects). Returns (checked, unchecked) start times.
fn signed_pointer_cost(
    host: &Path,
    s3: &S3Server,
    folder: &wasm_lambda_tests::GuestFolder,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let key = folder.root().join("bench-key");
    let run = |args: &[&std::ffi::OsStr]| -> Result<()> {
        let output = Command::new(host).args(args).envs(s3.env()).output()?;
        ensure!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Ok(())
    };
    run(&["keygen".as_ref(), key.as_os_str()])?;
    run(&[
        "publish".as_ref(),
        "--sign".as_ref(),
        key.with_extension("key").as_os_str(),
        folder.guests().as_os_str(),
        SIGNED_LOCATION.as_ref(),
    ])?;
    let public = std::fs::read_to_string(key.with_extension("pub"))?;
    let cache = folder.root().join("signed-cache").display().to_string();
    let env = |checks: bool| {
        let mut env: Vec<(String, String)> = s3
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("WASM_LAMBDA_GUESTS".into(), SIGNED_LOCATION.into()));
        env.push(("WASM_LAMBDA_CACHE".into(), cache.clone()));
        if checks {
            env.push(("WASM_LAMBDA_TRUSTED_KEYS".into(), public.trim().to_owned()));
            env.push(("WASM_LAMBDA_RELEASE_MAX_AGE".into(), "1h".into()));
        }
        env
    };
    // The first starts fill the download cache.
    init_times_with(host, |_| env(false))?;
    let (mut checked, mut unchecked) = (Vec::new(), Vec::new());
    for offset in 0..2 {
        let checks = |run: usize| (run + offset) % 2 == 1;
        let times = init_times_with(host, |run| env(checks(run)))?;
        for (run, time) in times.into_iter().enumerate() {
            if checks(run) {
                checked.push(time);
            } else {
                unchecked.push(time);
            }
        }
    }
    Ok((checked, unchecked))
}

fn start(
    host: &Path,
    s3: &S3Server,
    cache: &wasm_lambda_tests::GuestFolder,
    refresh: &str,
) -> (Emulator, HostProcess) {
    let emulator = Emulator::start();
    let mut env: Vec<(String, String)> = s3
        .env()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    env.push(("WASM_LAMBDA_GUESTS".into(), LOCATION.into()));
    env.push(("WASM_LAMBDA_MODELS".into(), String::new()));
    env.push(("WASM_LAMBDA_REFRESH_S".into(), refresh.into()));
    env.push(("RUST_LOG".into(), "warn".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let process = HostProcess::start(host, &emulator.runtime_api(), cache, &env);
    // Ready once it answers.
    emulator
        .invoke(&json!({"guest": "hello", "event": {}}))
        .answer();
    (emulator, process)
}

fn switch(
    host: &Path,
    s3: &S3Server,
    folder: &wasm_lambda_tests::GuestFolder,
    publish: &dyn Fn(&wasm_lambda_tests::GuestFolder) -> Result<()>,
) -> Result<()> {
    let cache = wasm_lambda_tests::GuestFolder::new("switch-bench");
    let (emulator, _process) = start(host, s3, &cache, "0");
    let mut round_trips = Vec::new();
    let mut checks = Vec::new();
    let mut unchanged = Vec::new();
    for round in 0..7 {
        // One guest's settings change each round; nine guests carry over.
        std::fs::write(
            folder.guests().join("guests.toml"),
            format!("[guests.hello]\ntimeout_ms = {}\n", 1000 + round),
        )?;
        publish(folder)?;
        let started = Instant::now();
        let answer: Value = emulator.invoke(&json!({"warmer": true})).answer();
        round_trips.push(started.elapsed().as_secs_f64() * 1e3);
        let check = &answer["release"]["check"];
        ensure!(check["outcome"] == "switched", "no switch: {answer}");
        checks.push(check["elapsed_ms"].as_f64().unwrap_or_default());
        let again: Value = emulator.invoke(&json!({"warmer": true})).answer();
        unchanged.push(
            again["release"]["check"]["elapsed_ms"]
                .as_f64()
                .unwrap_or_default(),
        );
    }
    println!("## release switch in a warm environment (10 guests, 1 changed; median of 7)\n");
    println!("| what | median ms | min ms |");
    println!("| --- | --- | --- |");
    for (what, times) in [
        (
            "warmer ping round trip that switches (ping -> new release serving)",
            &round_trips,
        ),
        (
            "the switch inside the host (pointer, manifest, load, swap)",
            &checks,
        ),
        (
            "a check that finds the pointer unchanged (conditional GET)",
            &unchanged,
        ),
    ] {
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!("| {what} | {:.1} | {min:.1} |", median(times));
    }
    println!();
    Ok(())
}

fn timed_checks(host: &Path, s3: &S3Server) -> Result<()> {
    println!(
        "## timed checks: round trip of the event right after one that triggered a check (median of 15)\n"
    );
    println!("| WASM_LAMBDA_REFRESH_S | event after a check, median ms | min ms |");
    println!("| --- | --- | --- |");
    for refresh in ["0", "1"] {
        let cache = wasm_lambda_tests::GuestFolder::new("timer-bench");
        let (emulator, _process) = start(host, s3, &cache, refresh);
        let mut times = Vec::new();
        for _ in 0..15 {
            std::thread::sleep(Duration::from_millis(1050));
            // This event's answer is sent first, then (refresh 1) the check runs.
            emulator
                .invoke(&json!({"guest": "hello", "event": {}}))
                .answer();
            let started = Instant::now();
            emulator
                .invoke(&json!({"guest": "hello", "event": {}}))
                .answer();
            times.push(started.elapsed().as_secs_f64() * 1e3);
        }
        let min = times.iter().copied().fold(f64::INFINITY, f64::min);
        println!("| {refresh} | {:.1} | {min:.1} |", median(&times));
    }
    println!();
    Ok(())
}
