//! `host-bench fanout`: the warmer fan-out with N real host processes
//! polling one cargo-lambda emulator (N environments), for N = 2, 4, 8:
//! environments reported / requested by delay, the smallest delay that
//! reaches N, and the ping's elapsed time.

use std::path::Path;

use anyhow::Result;
use serde_json::json;
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess};

use crate::beside_this_binary;
use crate::summary::{Line, Target};

const DELAYS_MS: [u64; 7] = [0, 25, 50, 100, 200, 400, 800];
/// Pings per delay: the smallest delay must reach N on every one.
const TRIES: usize = 3;

pub fn bench() -> Result<()> {
    let host = beside_this_binary("wasm-lambda-host")?;
    println!(
        "## warmer fan-out: N host processes on one emulator, concurrency N, {TRIES} pings per delay\n"
    );
    println!("| N | delay ms | environments reported (each ping) | elapsed ms (each ping) |");
    println!("| --- | --- | --- | --- |");
    let mut smallest = Vec::new();
    for n in [2usize, 4, 8] {
        let folder =
            GuestFolder::new(&format!("bench-fanout-{n}")).with_guest("counter", "counter");
        let emulator = Emulator::start();
        let endpoint = emulator.endpoint();
        let env = [
            ("AWS_LAMBDA_FUNCTION_NAME", "_"),
            ("AWS_ENDPOINT_URL_LAMBDA", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("RUST_LOG", "warn"),
        ];
        let hosts: Vec<HostProcess> = (0..n)
            .map(|_| HostProcess::start(Path::new(&host), &emulator.runtime_api(), &folder, &env))
            .collect();
        for host in &hosts {
            // RUST_LOG=warn: the EMF init line says init is done.
            host.wait_for_log("InitDuration");
        }
        let mut reached = None;
        for delay in DELAYS_MS {
            let mut counts = Vec::new();
            let mut elapsed = Vec::new();
            for _ in 0..TRIES {
                let answer = emulator
                    .invoke(&json!({"warmer": true, "concurrency": n, "delay": delay}))
                    .answer();
                counts.push(answer["fanout"]["environments"].as_u64().unwrap_or(0));
                elapsed.push(answer["fanout"]["elapsed_ms"].as_u64().unwrap_or(0));
            }
            println!("| {n} | {delay} | {} | {} |", join(&counts), join(&elapsed));
            if reached.is_none() && counts.iter().all(|&c| c == n as u64) {
                reached = Some((delay, elapsed.iter().sum::<u64>() / TRIES as u64));
            }
        }
        smallest.push((n, reached));
        drop(hosts);
    }
    println!("\n| N | smallest delay reaching N on every ping | mean elapsed ms at that delay |");
    println!("| --- | --- | --- |");
    let mut lines = Vec::new();
    for (n, reached) in smallest {
        match reached {
            Some((delay, elapsed)) => {
                println!("| {n} | {delay} ms | {elapsed} |");
                lines.push(Line::alone(
                    format!("warmer ping reaching {n} environments: elapsed at the smallest delay ({delay} ms)"),
                    elapsed as f64,
                    "ms",
                    Target::None,
                ));
            }
            None => {
                println!(
                    "| {n} | not reached up to {} ms | - |",
                    DELAYS_MS[DELAYS_MS.len() - 1]
                );
                lines.push(Line::alone(
                    format!(
                        "warmer ping reaching {n} environments: not reached (largest delay, ms)"
                    ),
                    DELAYS_MS[DELAYS_MS.len() - 1] as f64,
                    "ms",
                    Target::None,
                ));
            }
        }
    }
    println!();
    crate::summary::record("fanout", &lines)
}

fn join(values: &[u64]) -> String {
    values
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
