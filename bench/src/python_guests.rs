//! `host-bench python`: Python guests (the Python SDK's `classifier-py`,
//! seed 004's `app.py` ported) against the approach seed 004 describes, in
//! the same run.
//!
//! 1. Cold start to the first answer of seed 004's request, as whole
//!    processes, alternating: `wasm-lambda-host invoke classifier-py` with
//!    the guest precompiled vs a Python process that imports scikit-learn
//!    and joblib, loads the model and predicts one row (`seed004_app.py`).
//!    Wall time and peak RSS (wait4) of each.
//! 2. Warm call, in process, through the Lambda loop's path: `classifier-py`
//!    vs the Rust `classifier` on the same host and request.
//! 3. Sizes: component, `.cwasm`, precompile time.
//! 4. Resident memory of the host after init, waiting for its first event.

use std::io::Read as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use wasm_lambda_tests::{GuestFolder, guest_wasm, workspace_root};

use crate::summary::{Line, Target};
use crate::warm_samples::{WARM_CALLS, warm_samples};
use crate::{beside_this_binary, median, precompile, print_row, rss_waiting_for_first_event};

const COLD_RUNS: usize = 11;
const SEED_REQUEST: &str = r#"{"data": [0, 0, 0, 0]}"#;

pub fn bench() -> Result<()> {
    let host = beside_this_binary("wasm-lambda-host")?;
    let python = workspace_root().join(".venv").join("bin").join("python");
    ensure!(python.exists(), "run scripts/setup.sh first (.venv)");
    let folder = GuestFolder::new("bench-python")
        .with_guest("classifier-py", "classifier-py")
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");
    let started = Instant::now();
    precompile(&host, &folder)?;
    let precompile_s = started.elapsed().as_secs_f64();
    let event = folder.root().join("event.json");
    std::fs::write(&event, SEED_REQUEST)?;
    let seed = folder.root().join("seed004");
    std::fs::create_dir_all(&seed)?;
    let script = workspace_root().join("bench").join("seed004_app.py");
    let trained = Command::new(&python)
        .arg(&script)
        .arg("train")
        .arg(&seed)
        .status()?;
    ensure!(trained.success(), "training seed 004's model failed");

    let mut lines = cold_starts(&host, &python, &script, &folder, &seed, &event)?;
    lines.push(warm_calls(&folder)?);
    sizes(&folder, precompile_s)?;
    resident_after_init(&host, &folder)?;
    crate::summary::record("python", &lines)
}

/// One whole process: wall time, peak RSS and what it printed.
pub(crate) struct Run {
    pub(crate) ms: f64,
    pub(crate) peak_rss_mb: f64,
    pub(crate) stdout: String,
}

/// `wasm-lambda-host invoke GUEST EVENT` on `folder`'s deployment, with
/// nothing from this process's environment: a whole cold start.
pub(crate) fn invoke_command(
    host: &Path,
    folder: &GuestFolder,
    guest: &str,
    event: &Path,
) -> Command {
    let mut command = Command::new(host);
    command
        .args(["invoke", guest])
        .arg(event)
        .env_clear()
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("RUST_LOG", "warn");
    command
}

/// Runs `command` twice: once as it is, for the wall time (spawn to exit)
/// and what it printed, and once under GNU time (`/usr/bin/time -f %M`) for
/// its peak RSS. The process's own figure from `wait4` is not it: at
/// `exec` Linux carries the spawning process's peak RSS into the child's,
/// so a child of this benchmark would report the benchmark's peak. Nor is
/// the wrapped run's wall time: GNU time adds ~1.3 ms of its own.
pub(crate) fn run(command: &mut Command) -> Result<Run> {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout)?;
    }
    let status = child.wait()?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    ensure!(status.success(), "process failed: {stdout}");
    Ok(Run {
        ms,
        peak_rss_mb: peak_rss_kb(command)? / 1024.0,
        stdout,
    })
}

/// Peak RSS (kB) of `command` run under GNU time, with the environment
/// variables it sets (the commands here clear the rest or need none).
fn peak_rss_kb(command: &Command) -> Result<f64> {
    ensure!(
        Path::new("/usr/bin/time").exists(),
        "GNU time is missing (apt-get install time; scripts/bench.sh does)"
    );
    let file = std::env::temp_dir().join(format!("host-bench-rss-{}", std::process::id()));
    let mut wrapped = Command::new("/usr/bin/time");
    wrapped
        .args(["-f", "%M", "-o"])
        .arg(&file)
        .arg(command.get_program())
        .args(command.get_args())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    ensure!(
        wrapped.status()?.success(),
        "the process failed under GNU time"
    );
    let kb = std::fs::read_to_string(&file)?
        .trim()
        .parse()
        .with_context(|| format!("GNU time's output in {}", file.display()))?;
    let _ = std::fs::remove_file(&file);
    Ok(kb)
}

fn cold_starts(
    host: &Path,
    python: &Path,
    script: &Path,
    folder: &GuestFolder,
    seed: &Path,
    event: &Path,
) -> Result<Vec<Line>> {
    let ours = |guest: &str| invoke_command(host, folder, guest, event);
    let theirs = || {
        let mut command = Command::new(python);
        command.arg(script).arg(seed).arg(event);
        command
    };
    let (mut python_guest_runs, mut rust_guest_runs, mut python_runs) =
        (Vec::new(), Vec::new(), Vec::new());
    // One untimed run each fills the page cache, as a warm disk would.
    run(&mut ours("classifier-py"))?;
    run(&mut ours("classifier"))?;
    run(&mut theirs())?;
    for _ in 0..COLD_RUNS {
        python_guest_runs.push(run(&mut ours("classifier-py"))?);
        rust_guest_runs.push(run(&mut ours("classifier"))?);
        python_runs.push(run(&mut theirs())?);
    }
    // All three answer seed 004's request with class 1 (the Rust
    // classifier adds the probabilities).
    for r in python_guest_runs
        .iter()
        .chain(&rust_guest_runs)
        .chain(&python_runs)
    {
        let answer: serde_json::Value = serde_json::from_str(r.stdout.trim())
            .with_context(|| format!("unexpected answer: {}", r.stdout))?;
        ensure!(
            answer["statusCode"] == 200 && answer["body"] == 1,
            "unexpected answer: {}",
            r.stdout
        );
    }
    println!(
        "## cold start to the first answer of seed 004's request, whole processes (median of {COLD_RUNS}, alternating)\n"
    );
    println!("| process | median ms | min ms | peak RSS MB |");
    println!("| --- | --- | --- | --- |");
    let rows = [
        (
            "`wasm-lambda-host invoke classifier-py` (Python guest, .cwasm)",
            &python_guest_runs,
        ),
        (
            "`wasm-lambda-host invoke classifier` (Rust guest, .cwasm)",
            &rust_guest_runs,
        ),
        (
            "seed 004: python, import sklearn + joblib, load, predict",
            &python_runs,
        ),
    ];
    let mut saved = Vec::new();
    for (label, runs) in rows {
        let ms: Vec<f64> = runs.iter().map(|r| r.ms).collect();
        let rss: Vec<f64> = runs.iter().map(|r| r.peak_rss_mb).collect();
        let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "| {label} | {:.1} | {min:.1} | {:.1} |",
            median(&ms),
            median(&rss)
        );
        saved
            .push(json!({"process": label, "median_ms": median(&ms), "peak_rss_mb": median(&rss)}));
    }
    // Row `of`'s figure; row 2 is seed 004's.
    let figure = |of: usize, field: &str| saved[of][field].as_f64().unwrap_or(f64::NAN);
    let ratio = |field: &str, of: usize| figure(2, field) / figure(of, field);
    println!(
        "\nseed 004 / ours: Python guest {:.1}x faster, {:.1}x less memory; Rust guest {:.1}x faster, \
         {:.1}x less memory (floor 26x, goal 60x)\n",
        ratio("median_ms", 0),
        ratio("peak_rss_mb", 0),
        ratio("median_ms", 1),
        ratio("peak_rss_mb", 1)
    );
    crate::report::save("seed004-cold", &json!(saved))?;
    let seed004 = "seed 004's Python";
    let mut lines = Vec::new();
    for (of, guest) in [(0, "Python"), (1, "Rust")] {
        lines.push(Line::against(
            format!("cold start to seed 004's answer, {guest} guest"),
            figure(of, "median_ms"),
            "ms",
            seed004,
            figure(2, "median_ms"),
            // The floor: 26x faster.
            Target::RatioAtMost(1.0 / 26.0),
        ));
        lines.push(Line::against(
            format!("peak RSS of that cold start, {guest} guest"),
            figure(of, "peak_rss_mb"),
            "MB",
            seed004,
            figure(2, "peak_rss_mb"),
            Target::None,
        ));
    }
    Ok(lines)
}

fn warm_calls(folder: &GuestFolder) -> Result<Line> {
    let mut samples = warm_samples(folder, &["classifier-py", "classifier"])?.into_iter();
    let (python, rust) = (
        samples.next().unwrap_or_default(),
        samples.next().unwrap_or_default(),
    );
    println!(
        "## warm call in process (the Lambda loop's path), seed 004's request, {WARM_CALLS} calls each\n"
    );
    println!("| guest | p50 us | p90 us | p99 us |");
    println!("| --- | --- | --- | --- |");
    let (python_p50, rust_p50) = (median(&python), median(&rust));
    let overhead = python_p50 - rust_p50;
    print_row("`classifier-py` (Python SDK)", python);
    print_row("`classifier` (Rust SDK)", rust);
    println!("\nPython guest overhead at p50: {overhead:.1} us per call\n");
    Ok(Line::against(
        "warm call p50, Python guest (seed 004's request)",
        python_p50,
        "us",
        "the same guest in Rust",
        rust_p50,
        Target::None,
    ))
}

fn sizes(folder: &GuestFolder, precompile_s: f64) -> Result<()> {
    let size = |file: &str| -> Result<f64> {
        Ok(std::fs::metadata(folder.guests().join(file))
            .with_context(|| file.to_owned())?
            .len() as f64
            / 1e6)
    };
    println!("## sizes\n");
    println!("| guest | component MB | .cwasm MB |");
    println!("| --- | --- | --- |");
    for guest in ["classifier-py", "classifier"] {
        println!(
            "| `{guest}` | {:.2} | {:.2} |",
            size(&format!("{guest}.wasm"))?,
            size(&format!("{guest}.cwasm"))?
        );
    }
    println!("\n`precompile` of both (x86_64): {precompile_s:.1} s\n");
    Ok(())
}

/// VmRSS of a host in Lambda mode, initialised and waiting for its first
/// event, with only `guest` deployed.
fn resident_after_init(host: &Path, folder: &GuestFolder) -> Result<()> {
    println!("## resident memory after init, waiting for the first event\n");
    println!("| guest deployed | VmRSS MB |");
    println!("| --- | --- |");
    for (guest, package) in [
        ("classifier-py", "classifier-py"),
        ("classifier", "classifier"),
    ] {
        let alone = GuestFolder::new(&format!("bench-rss-{guest}"))
            .with_model("seed_forest", "seed_forest");
        let wasm = alone.guests().join(format!("{guest}.wasm"));
        std::fs::copy(guest_wasm(package), &wasm)?;
        std::fs::copy(
            folder.guests().join(format!("{guest}.cwasm")),
            alone.guests().join(format!("{guest}.cwasm")),
        )?;
        let kb = rss_waiting_for_first_event(host, &alone)?;
        println!("| `{guest}` | {:.1} |", kb as f64 / 1024.0);
    }
    println!();
    Ok(())
}
