//! `host-bench serving`: the serving path through cargo-lambda's Runtime
//! API emulator, with its anchor (a plain `lambda_runtime` echo binary)
//! measured in the same run.
//!
//! 1. Latency of one invocation through the emulator, `hello` with a ~1 KB
//!    event vs the echo binary echoing it: p50, p90, p99 of 2,000 calls.
//! 2. Throughput with `AWS_LAMBDA_MAX_CONCURRENCY` = 1, 2, 4, 8 and as many
//!    client threads: a CPU-bound guest (~20 ms of integer arithmetic)
//!    and a guest that sleeps 50 ms.
//! 3. Time from the deadline to the `GuestTimeout` answer, in process, for
//!    a guest blocked in a host call (sleep), p50 / p99 of 200 calls.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context as _, Result, ensure};
use serde_json::{Value, json};
use wasm_lambda_host::runtime::invocation::{Invocation, InvocationError};
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess};

use crate::summary::{Line, Target};

const LATENCY_CALLS: usize = 2_000;

/// Runs every part and prints markdown tables.
pub fn bench() -> Result<()> {
    let (host, echo) = super::host_and_echo()?;
    let mut lines = latency(&host, &echo)?;
    throughput(&host)?;
    lines.push(deadline_to_answer()?);
    crate::summary::record("serving", &lines)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

/// Invokes `event` on each emulator in turn, `calls` rounds after 200
/// warm-up rounds, so drift in the machine's load hits both alike; sorted
/// µs per emulator.
fn interleaved_latencies(
    emulators: &[&Emulator],
    event: &Value,
    calls: usize,
) -> Result<Vec<Vec<f64>>> {
    let mut samples = vec![Vec::with_capacity(calls); emulators.len()];
    for round in 0..calls + 200 {
        for (emulator, samples) in emulators.iter().zip(&mut samples) {
            let started = Instant::now();
            let answer = emulator.invoke(event);
            let micros = started.elapsed().as_secs_f64() * 1e6;
            ensure!(answer.status == 200, "{:?}", answer.body);
            if round >= 200 {
                samples.push(micros);
            }
        }
    }
    for samples in &mut samples {
        samples.sort_by(f64::total_cmp);
    }
    Ok(samples)
}

fn latency(host: &Path, echo: &Path) -> Result<Vec<Line>> {
    let folder = GuestFolder::new("bench-serving").with_guest("hello", "hello");
    let event = json!({"name": "bench", "padding": "x".repeat(960)});
    println!(
        "## one invocation through cargo-lambda's emulator: {} byte event, {LATENCY_CALLS} calls each, alternating\n",
        event.to_string().len()
    );
    let echo_emulator = Emulator::start();
    let echo_process = HostProcess::start(echo, &echo_emulator.runtime_api(), &folder, &[]);
    let host_emulator = Emulator::start();
    let host_process = HostProcess::start(
        host,
        &host_emulator.runtime_api(),
        &folder,
        &[("WASM_LAMBDA_DEFAULT_GUEST", "hello"), ("RUST_LOG", "warn")],
    );
    // Both answer once before the CPU clocks are read: init is not counted.
    for emulator in [&echo_emulator, &host_emulator] {
        ensure!(emulator.invoke(&event).status == 200, "no first answer");
    }
    let cpu_before = [echo_process.cpu_time(), host_process.cpu_time()];
    let samples = interleaved_latencies(&[&echo_emulator, &host_emulator], &event, LATENCY_CALLS)?;
    // CPU per invocation, warm-up rounds included (the clock has 10 ms
    // ticks: over ~2,200 invocations that is a few percent).
    let invocations = (LATENCY_CALLS + 200) as f64;
    let cpu_us = |process: &HostProcess, before: Duration| {
        (process.cpu_time() - before).as_secs_f64() * 1e6 / invocations
    };
    let cpu = [
        cpu_us(&echo_process, cpu_before[0]),
        cpu_us(&host_process, cpu_before[1]),
    ];
    println!("| binary | p50 us | p90 us | p99 us | CPU us per invocation |");
    println!("| --- | --- | --- | --- | --- |");
    for ((label, samples), cpu) in ["lambda_runtime echo (anchor)", "wasm-lambda-host, hello"]
        .iter()
        .zip(&samples)
        .zip(cpu)
    {
        println!(
            "| {label} | {:.0} | {:.0} | {:.0} | {cpu:.0} |",
            percentile(samples, 0.5),
            percentile(samples, 0.9),
            percentile(samples, 0.99)
        );
    }
    let (echo_p50, host_p50) = (percentile(&samples[0], 0.5), percentile(&samples[1], 0.5));
    println!(
        "\nhost p50 / echo p50: {:.2}x (target <= 1.10x)\n",
        host_p50 / echo_p50
    );
    Ok(vec![
        Line::against(
            "invocation through the emulator p50 (`hello`, 1 KB event)",
            host_p50,
            "us",
            "lambda_runtime echo",
            echo_p50,
            Target::RatioAtMost(1.10),
        ),
        Line::against(
            "CPU per invocation through the emulator (`hello`, 1 KB event)",
            cpu[1],
            "us",
            "lambda_runtime echo",
            cpu[0],
            Target::None,
        ),
    ])
}

fn throughput(host: &Path) -> Result<()> {
    let folder = GuestFolder::new("bench-throughput").with_guest("misbehave", "misbehave");
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "## throughput by AWS_LAMBDA_MAX_CONCURRENCY ({cores} cores; as many client threads as the concurrency)\n"
    );
    println!(
        "| guest | concurrency | invocations | seconds | per second | vs concurrency 1 | ideal |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let guests = [
        (
            "CPU-bound (20 M rounds of xorshift, ~20 ms)",
            json!({"guest": "misbehave", "event": {"mode": "work", "rounds": 20}}),
            true,
        ),
        (
            "sleeps 50 ms",
            json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 50}}),
            false,
        ),
    ];
    for (label, event, cpu_bound) in guests {
        let mut base = 0.0;
        for concurrency in [1usize, 2, 4, 8] {
            let emulator = Emulator::start();
            let value = concurrency.to_string();
            let process = HostProcess::start(
                host,
                &emulator.runtime_api(),
                &folder,
                &[
                    ("AWS_LAMBDA_MAX_CONCURRENCY", value.as_str()),
                    ("RUST_LOG", "warn"),
                    ("WASM_LAMBDA_METRICS", "off"),
                ],
            );
            // Warm every instance of the pool first.
            run_clients(&emulator, &event, concurrency, 2)?;
            let per_client = 160 / concurrency.max(1);
            let started = Instant::now();
            run_clients(&emulator, &event, concurrency, per_client)?;
            let seconds = started.elapsed().as_secs_f64();
            let total = per_client * concurrency;
            let rate = total as f64 / seconds;
            if concurrency == 1 {
                base = rate;
            }
            let ideal = if cpu_bound {
                concurrency.min(cores)
            } else {
                concurrency
            };
            println!(
                "| {label} | {concurrency} | {total} | {seconds:.2} | {rate:.1} | {:.2}x | {ideal}x |",
                rate / base
            );
            drop(process);
        }
    }
    println!();
    Ok(())
}

/// `clients` threads, each invoking `event` `calls` times in a row.
fn run_clients(emulator: &Emulator, event: &Value, clients: usize, calls: usize) -> Result<()> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| -> Result<()> {
                    for _ in 0..calls {
                        let answer = emulator.invoke(event);
                        ensure!(answer.status == 200, "{:?}", answer.body);
                    }
                    Ok(())
                })
            })
            .collect();
        handles
            .into_iter()
            .try_for_each(|h| h.join().map_err(|_| anyhow::anyhow!("client panicked"))?)
    })
}

fn deadline_to_answer() -> Result<Line> {
    let folder = GuestFolder::new("bench-deadline")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", "[guests.misbehave]\ntimeout_ms = 50\n");
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    let (host, _) = WasmHost::init(settings)?;
    let event =
        json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 3_600_000}}).to_string();
    let invocation = Invocation {
        request_id: "bench".into(),
        deadline: SystemTime::now() + Duration::from_secs(3600),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    };
    let mut past = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        let error = host
            .dispatch(event.as_bytes(), &invocation)
            .err()
            .context("the sleeping guest answered")?;
        let wall = started.elapsed();
        let InvocationError::GuestTimeout { budget_ms, .. } = error else {
            anyhow::bail!("expected GuestTimeout: {error}");
        };
        // From this call's deadline (its start + budget) to the answer.
        past.push(wall.as_secs_f64() * 1e3 - budget_ms as f64);
    }
    past.sort_by(f64::total_cmp);
    println!(
        "## deadline -> GuestTimeout answer, guest blocked in a host call (sleep 1 h, timeout_ms = 50), 200 calls\n"
    );
    println!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms after the deadline (target p99 < 50 ms; includes rebuilding the dropped instance)\n",
        percentile(&past, 0.5),
        percentile(&past, 0.99),
        past[past.len() - 1]
    );
    Ok(Line::alone(
        "deadline -> GuestTimeout p99, guest blocked in a host call",
        percentile(&past, 0.99),
        "ms",
        Target::AtMost(50.0),
    ))
}
