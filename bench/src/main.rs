//! `host-bench`: the figures the core host issue asks for, with the anchor
//! measured in the same run.
//!
//! 1. Init time, process start → first `GET /runtime/invocation/next`, for
//!    the host with 1 and 10 guests (compiled at init vs `.cwasm`) and for a
//!    plain `lambda_runtime` echo binary. A minimal Runtime API listener on
//!    loopback timestamps the request; nothing else is in the way.
//! 2. In-process warm invocation overhead for `hello` with a ~1 KB event
//!    (route + guest call + JSON in and out), p50/p90/p99.
//! 3. Resident memory after init with 10 guests.
//!
//! `host-bench releases` measures S3 releases instead (see `releases.rs`),
//! `host-bench serving` the serving path under the emulator (`serving.rs`),
//! `host-bench python` Python guests against seed 004 (`python_guests.rs`),
//! `host-bench fanout` the warmer fan-out over N host processes (`fanout.rs`),
//! `host-bench guests` init time and memory for 1 to 1,000 guests (`guest_count.rs`),
//! `host-bench outbound` a guest's HTTP request vs native Rust (`outbound.rs`),
//! `host-bench http` HTTP guests vs the SDK's HTTP guest (`http_guests.rs`),
//! `host-bench link-order` how much of the start-order list the build has (`link_order.rs`),
//! `host-bench cold-page-cache [HOST BINARY...]` starts with the page cache
//! dropped first, as in a new Lambda environment (root; not in `scripts/bench.sh`).
//!
//! Run with `scripts/bench.sh` (release build, guests built first).

use std::io::Read as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use wasm_lambda_host::runtime::invocation::Invocation;
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::GuestFolder;

use crate::summary::{Line, Target};

mod fanout;
mod guest_count;
mod http_guests;
mod js_guests;
mod link_order;
mod outbound;
mod process;
mod python_guests;
mod releases;
mod report;
mod serving;
mod summary;
mod warm_samples;

const RUNS: usize = 15;

fn main() -> Result<()> {
    match std::env::args().nth(1).as_deref() {
        Some("memory-bomb") => return memory_bomb_peak(),
        Some("python") => return python_guests::bench(),
        Some("js") => return js_guests::bench(),
        Some("http") => return http_guests::bench(),
        Some("fanout") => return fanout::bench(),
        Some("guests") => return guest_count::bench(),
        Some("link-order") => return link_order::bench(),
        Some("cold-page-cache") => {
            let binaries: Vec<PathBuf> = std::env::args_os().skip(2).map(PathBuf::from).collect();
            return guest_count::cold_page_cache(&binaries);
        }
        Some("outbound") => return outbound::bench(),
        Some("resident") => {
            return resident_memory(&beside_this_binary("wasm-lambda-host")?).map(drop);
        }
        Some("releases") => return releases::bench(),
        Some("serving") => return serving::bench(),
        Some("summary") => return summary::print(),
        Some("warm") => return warm_overhead().map(drop),
        _ => {}
    }
    let host = beside_this_binary("wasm-lambda-host")?;
    let echo = beside_this_binary("lambda-echo")?;
    anyhow::ensure!(
        host.exists(),
        "build the host first: cargo build --release -p wasm-lambda-host"
    );

    println!("## init time: process start -> first next-event request (median of {RUNS} runs)\n");
    println!("| binary | guests | code from | median ms | min ms |");
    println!("| --- | --- | --- | --- | --- |");
    let echo_ms = init_times(&echo, None, &[])?;
    row("lambda_runtime echo (anchor)", "-", "-", &echo_ms);
    let mut lines = Vec::new();
    for count in [1usize, 10] {
        let folder = deploy(count);
        // Compiled at init: a fresh, empty cache every run.
        let compiled = init_times(&host, Some(&folder), &[("fresh-cache", "1")])?;
        row(
            "wasm-lambda-host",
            &count.to_string(),
            "compiled at init",
            &compiled,
        );
        lines.push(Line::against(
            format!("init, {} compiled at init", summary::guests(count)),
            median(&compiled),
            "ms",
            "lambda_runtime echo",
            median(&echo_ms),
            Target::None,
        ));
        precompile(&host, &folder)?;
        let precompiled = init_times(&host, Some(&folder), &[("fresh-cache", "1")])?;
        row(
            "wasm-lambda-host",
            &count.to_string(),
            ".cwasm",
            &precompiled,
        );
        let ratio = median(&precompiled) / median(&echo_ms);
        if count == 10 {
            println!(
                "\n10 guests from .cwasm / echo anchor: {ratio:.2}x (target <= 2.0x, goal 1.5x)\n"
            );
        }
        lines.push(Line::against(
            format!("init, {} from .cwasm", summary::guests(count)),
            median(&precompiled),
            "ms",
            "lambda_runtime echo",
            median(&echo_ms),
            // Issue 15's target is for 10 guests.
            if count == 10 {
                Target::RatioAtMost(2.0)
            } else {
                Target::None
            },
        ));
    }

    lines.push(warm_overhead()?);
    lines.push(resident_memory(&host)?);
    lines.extend(timeout_overshoot()?);
    summary::record("host", &lines)?;
    // In a process of its own, so "before" is one host's init, not this
    // process's earlier runs.
    let status = Command::new(std::env::current_exe()?)
        .arg("memory-bomb")
        .status()?;
    anyhow::ensure!(status.success(), "memory bomb run failed");
    Ok(())
}

/// `wasm-lambda-host precompile` on the folder's guests.
fn precompile(host: &Path, folder: &GuestFolder) -> Result<()> {
    let status = Command::new(host)
        .arg("precompile")
        .arg(folder.guests())
        .stdout(Stdio::null())
        .status()?;
    ensure!(status.success(), "precompile failed");
    Ok(())
}

/// `binary` started as Lambda starts a runtime, against a Runtime API on
/// loopback `port`: only Lambda's variables (a function of `memory_mb`),
/// warnings-only logs, output discarded.
fn lambda_command(binary: &Path, port: u16, memory_mb: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", memory_mb)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// A started binary that has asked for its first event.
struct FirstRequest {
    child: std::process::Child,
    /// Spawn → the request's first bytes.
    elapsed: Duration,
    /// The request's first bytes.
    head: String,
    /// The request's connection, held open so the binary keeps waiting for
    /// its event (a closed connection makes it exit).
    _connection: std::net::TcpStream,
}

/// Spawns `command` and waits for its first request on `listener`.
fn spawn_until_first_request(
    command: &mut Command,
    listener: &TcpListener,
) -> Result<FirstRequest> {
    let started = Instant::now();
    let child = command.spawn()?;
    let (mut stream, _) = listener.accept()?;
    // The request line arrives with the connection's first bytes.
    let mut buffer = [0u8; 64];
    let n = stream.read(&mut buffer)?;
    let elapsed = started.elapsed();
    Ok(FirstRequest {
        child,
        elapsed,
        head: String::from_utf8_lossy(&buffer[..n]).into_owned(),
        _connection: stream,
    })
}

/// The host binary and the echo anchor, built beside this one.
fn host_and_echo() -> Result<(PathBuf, PathBuf)> {
    let host = beside_this_binary("wasm-lambda-host")?;
    let echo = beside_this_binary("lambda-echo")?;
    ensure!(
        host.exists() && echo.exists(),
        "build first: cargo build --release -p wasm-lambda-host -p wasm-lambda-bench"
    );
    Ok((host, echo))
}

/// A binary built into the same folder as this one (`target/release`).
fn beside_this_binary(name: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    Ok(exe.parent().context("exe dir")?.join(name))
}

/// How far past its budget a runaway guest runs before the host stops it;
/// the p99 of each mode, for the summary.
fn timeout_overshoot() -> Result<Vec<Line>> {
    println!("\n## timeout overshoot: misbehave runs away, timeout_ms = 50, 100 runs per mode\n");
    println!("| mode | p50 ms past budget | p99 ms past budget | max ms |");
    println!("| --- | --- | --- | --- |");
    let folder = GuestFolder::new("bench-timeout")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", "[guests.misbehave]\ntimeout_ms = 50\n");
    let host = host_for(&folder)?;
    let mut lines = Vec::new();
    // loop / copy: guest code; sleep: blocked in a host call (WASI poll);
    // clock: busy-waiting on WASI's clock (a host call per iteration).
    for mode in ["loop", "copy", "sleep", "clock"] {
        let event =
            json!({"guest": "misbehave", "event": {"mode": mode, "ms": 3_600_000}}).to_string();
        let mut overshoot = Vec::new();
        for _ in 0..100 {
            let started = Instant::now();
            let error = host
                .dispatch(event.as_bytes(), &invocation())
                .err()
                .context("runaway guest answered")?;
            anyhow::ensure!(error.error_type() == "GuestTimeout", "{error}");
            overshoot.push(started.elapsed().as_secs_f64() * 1e3 - 50.0);
        }
        overshoot.sort_by(f64::total_cmp);
        println!(
            "| {mode} | {:.1} | {:.1} | {:.1} |",
            overshoot[50], overshoot[98], overshoot[99]
        );
        lines.push(Line::alone(
            format!("timeout overshoot p99, guest `{mode}`"),
            overshoot[98],
            "ms",
            Target::AtMost(50.0),
        ));
    }
    println!(
        "\n(includes rebuilding the dropped instance at the start of each next call; target p99 < 50 ms)"
    );
    Ok(lines)
}

/// Peak resident memory of this process while a guest grows memory until
/// its (default, 128 MB) limit stops it.
fn memory_bomb_peak() -> Result<()> {
    let folder = GuestFolder::new("bench-bomb").with_guest("misbehave", "misbehave");
    let host = host_for(&folder)?;
    let before = proc_status_kb("VmHWM")?;
    let event = json!({"guest": "misbehave", "event": {"mode": "grow"}}).to_string();
    let error = host
        .dispatch(event.as_bytes(), &invocation())
        .err()
        .context("memory bomb answered")?;
    anyhow::ensure!(error.error_type() == "GuestMemoryLimit", "{error}");
    let after = proc_status_kb("VmHWM")?;
    println!("\n## memory bomb (default 128 MB guest limit)\n");
    println!(
        "peak resident memory of a fresh process (host init, one guest): {before} kB before, {after} kB after ({error})"
    );
    summary::record(
        "memory-bomb",
        &[Line::alone(
            "memory bomb: peak RSS growth (guest limit 128 MB)",
            (after as f64 - before as f64) / 1024.0,
            "MB",
            // The guest's limit, plus what the host allocates around it.
            Target::AtMost(136.0),
        )],
    )
}

fn host_for(folder: &GuestFolder) -> Result<WasmHost> {
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    Ok(WasmHost::init(settings)?.0)
}

fn invocation() -> Invocation {
    Invocation {
        request_id: "bench".into(),
        deadline: SystemTime::now() + Duration::from_secs(600),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    }
}

fn proc_status_kb(field: &str) -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .with_context(|| format!("{field} in /proc/self/status"))
}

/// A deployment of `count` guests, cycling through the example guests.
fn deploy(count: usize) -> GuestFolder {
    let packages = ["hello", "counter", "http-router", "misbehave"];
    let mut folder = GuestFolder::new(&format!("bench{count}"));
    for i in 0..count {
        let package = packages[i % packages.len()];
        let name = if i == 0 {
            "hello".to_owned()
        } else {
            format!("{package}-{i}")
        };
        folder = folder.with_guest(&name, package);
    }
    folder
}

/// Starts `binary` RUNS times against a loopback listener and returns how
/// long each took to ask for its first event, in ms.
fn init_times(
    binary: &Path,
    folder: Option<&GuestFolder>,
    options: &[(&str, &str)],
) -> Result<Vec<f64>> {
    let fresh_cache = options.iter().any(|(k, _)| *k == "fresh-cache");
    init_times_with(binary, |run| {
        let Some(folder) = folder else {
            return Vec::new();
        };
        let cache: PathBuf = folder.root().join(format!("cache-{run}"));
        vec![
            (
                "WASM_LAMBDA_GUESTS".to_owned(),
                folder.guests().display().to_string(),
            ),
            (
                "WASM_LAMBDA_CACHE".to_owned(),
                if fresh_cache { cache } else { folder.cache() }
                    .display()
                    .to_string(),
            ),
        ]
    })
}

/// Like [`init_times`], with the environment of each run (by run number)
/// on top of the Lambda variables.
fn init_times_with(
    binary: &Path,
    env: impl Fn(usize) -> Vec<(String, String)>,
) -> Result<Vec<f64>> {
    let mut times = Vec::new();
    for run in 0..RUNS {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mut command = lambda_command(binary, port, "128");
        command.envs(env(run));
        let mut started = spawn_until_first_request(&mut command, &listener)
            .with_context(|| format!("starting {}", binary.display()))?;
        anyhow::ensure!(
            started.head.starts_with("GET"),
            "unexpected first request from {}",
            binary.display()
        );
        times.push(started.elapsed.as_secs_f64() * 1e3);
        let _ = started.child.kill();
        let _ = started.child.wait();
    }
    Ok(times)
}

/// The warm in-process path; the awaited p50, for the summary.
fn warm_overhead() -> Result<Line> {
    let folder = deploy(1);
    let mut settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    settings.default_guest = Some("hello".into());
    let (host, _) = WasmHost::init(settings)?;
    let host = std::sync::Arc::new(host);
    let event = json!({"name": "bench", "padding": "x".repeat(960)}).to_string();
    // (default_guest routes the plain event to hello)
    let invocation = Invocation {
        request_id: "8f5f8a53-4b4e-4b8a-9a43-1f0c2f1e6f3a".into(),
        deadline: SystemTime::now() + Duration::from_secs(600),
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:bench".into(),
        caller: Default::default(),
    };
    println!(
        "## warm invocation in process: hello, {} byte event, 20,000 calls\n",
        event.len()
    );
    println!("| path | p50 us | p90 us | p99 us |");
    println!("| --- | --- | --- | --- |");
    // What the Lambda loop does (AWS_LAMBDA_MAX_CONCURRENCY unset): await
    // the host on a current-thread runtime.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let awaited = runtime.block_on(async {
        let mut samples = Vec::with_capacity(20_000);
        for i in 0..22_000 {
            let started = Instant::now();
            let (answer, _) = host.handle_event(event.as_bytes(), &invocation).await;
            let micros = started.elapsed().as_secs_f64() * 1e6;
            answer?;
            if i >= 2_000 {
                samples.push(micros);
            }
        }
        anyhow::Ok(samples)
    })?;
    let awaited_p50 = print_row("`handle_event` awaited (the Lambda loop)", awaited);
    // What tools and tests do: the blocking wrapper.
    let mut blocking = Vec::with_capacity(20_000);
    for i in 0..22_000 {
        let started = Instant::now();
        let answer = host.dispatch(event.as_bytes(), &invocation)?;
        let micros = started.elapsed().as_secs_f64() * 1e6;
        std::hint::black_box(answer);
        if i >= 2_000 {
            blocking.push(micros);
        }
    }
    print_row("`dispatch` (blocking, tools and tests)", blocking);
    println!("\n(target p50 <= 5 us)\n");
    Ok(Line::alone(
        "warm in-process call p50 (`hello`, 1 KB event)",
        awaited_p50,
        "us",
        Target::AtMost(5.0),
    ))
}

/// Prints p50, p90 and p99; returns the p50.
fn print_row(label: &str, mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let pct = |p: f64| samples[((samples.len() - 1) as f64 * p) as usize];
    println!(
        "| {label} | {:.1} | {:.1} | {:.1} |",
        pct(0.5),
        pct(0.9),
        pct(0.99)
    );
    pct(0.5)
}

/// RSS after init with 10 guests, for the summary.
fn resident_memory(host: &Path) -> Result<Line> {
    let folder = deploy(10);
    precompile(host, &folder)?;
    let kb = rss_waiting_for_first_event(host, &folder)?;
    println!("## resident memory after init, 10 guests from .cwasm, waiting for its first event\n");
    println!("{kb} kB (target <= 48 MB)");
    Ok(Line::alone(
        "RSS after init, 10 guests from .cwasm",
        kb as f64 / 1024.0,
        "MB",
        Target::AtMost(48.0),
    ))
}

/// Starts `host` in Lambda mode against a loopback listener, waits for its
/// first `GET …/next` (init done) and reads its VmRSS.
fn rss_waiting_for_first_event(host: &Path, folder: &GuestFolder) -> Result<u64> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut child = lambda_command(host, port, "128")
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("WASM_LAMBDA_METRICS", "off")
        .spawn()?;
    let (mut stream, _) = listener.accept()?;
    let mut buffer = [0u8; 64];
    let n = stream.read(&mut buffer)?;
    let first = String::from_utf8_lossy(&buffer[..n]).into_owned();
    std::thread::sleep(Duration::from_millis(100));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let _ = child.wait();
    ensure!(
        first.starts_with("GET"),
        "the host did not ask for an event (init failed?): {first}"
    );
    let status = status?;
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(kb)
}

fn row(binary: &str, guests: &str, origin: &str, times: &[f64]) {
    let min = times.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "| {binary} | {guests} | {origin} | {:.1} | {min:.1} |",
        median(times)
    );
}

fn median(times: &[f64]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
