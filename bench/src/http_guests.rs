//! `host-bench http`: HTTP guests (standard `wasi:http/proxy` components)
//! against the SDK's HTTP guest, in the same run.
//!
//! 1. Latency of one invocation through cargo-lambda's emulator: the same
//!    `GET …/hello?name=Ana` HTTP API (v2) event to `http-router` (SDK
//!    guest, the anchor), `http-proxy` (the Rust HTTP guest, same routes)
//!    and `http-fetch-js` (the JS fetch-event guest, a fresh instance per
//!    request), one host process, alternating: p50, p90, p99.
//! 2. In process: what the translation adds per request (event → wasi:http
//!    request, response → answer), timed alone, beside the whole warm call
//!    of each guest through the Lambda loop's path (`warm_samples`).

use std::path::Path;
use std::time::Instant;

use anyhow::{Result, ensure};
use bytes::Bytes;
use serde_json::{Value, json};
use wasm_lambda_host::http_guests::answer::{self, HttpResponse};
use wasm_lambda_host::http_guests::request;
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess};

use crate::summary::{Line, Target};
use crate::warm_samples::warm_samples_of_events;
use crate::{beside_this_binary, precompile};

const CALLS: usize = 2_000;
const IN_PROCESS_CALLS: usize = 20_000;
const GUESTS: [&str; 3] = ["http-router", "http-proxy", "http-fetch-js"];

/// The event each guest gets: its own first path segment.
fn event(guest: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": format!("/{guest}/hello"),
        "rawQueryString": "name=Ana",
        "queryStringParameters": {"name": "Ana"},
        "headers": {"host": "api.example.com", "accept": "application/json", "user-agent": "bench"},
        "requestContext": {
            "http": {"method": "GET", "path": format!("/{guest}/hello")},
            "domainName": "api.example.com",
            "stage": "$default"
        },
        "isBase64Encoded": false
    })
}

pub fn bench() -> Result<()> {
    let host = beside_this_binary("wasm-lambda-host")?;
    let folder = GuestFolder::new("bench-http")
        .with_guest("http-router", "http-router")
        .with_guest("http-proxy", "http-proxy")
        .with_guest("http-fetch-js", "http-fetch-js");
    precompile(&host, &folder)?;
    let mut lines = through_emulator(&host, &folder)?;
    lines.extend(in_process(&folder)?);
    crate::summary::record("http", &lines)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p) as usize]
}

fn through_emulator(host: &Path, folder: &GuestFolder) -> Result<Vec<Line>> {
    let emulator = Emulator::start();
    let _process = HostProcess::start(
        host,
        &emulator.runtime_api(),
        folder,
        &[("RUST_LOG", "warn")],
    );
    let events: Vec<Value> = GUESTS.iter().map(|g| event(g)).collect();
    let mut samples = vec![Vec::with_capacity(CALLS); GUESTS.len()];
    for round in 0..CALLS + 200 {
        for (event, samples) in events.iter().zip(&mut samples) {
            let started = Instant::now();
            let answer = emulator.invoke(event);
            let micros = started.elapsed().as_secs_f64() * 1e6;
            ensure!(
                answer.status == 200 && answer.body["statusCode"] == 200,
                "{:?}",
                answer.body
            );
            if round >= 200 {
                samples.push(micros);
            }
        }
    }
    for samples in &mut samples {
        samples.sort_by(f64::total_cmp);
    }
    println!(
        "## one HTTP API (v2) request through cargo-lambda's emulator, {CALLS} calls each, alternating\n"
    );
    println!("| guest | kind | p50 us | p90 us | p99 us |");
    println!("| --- | --- | --- | --- | --- |");
    let kinds = [
        "SDK guest (anchor)",
        "HTTP guest, Rust",
        "HTTP guest, JS (fresh instance)",
    ];
    for ((guest, kind), samples) in GUESTS.iter().zip(kinds).zip(&samples) {
        println!(
            "| `{guest}` | {kind} | {:.0} | {:.0} | {:.0} |",
            percentile(samples, 0.5),
            percentile(samples, 0.9),
            percentile(samples, 0.99)
        );
    }
    let p50: Vec<f64> = samples.iter().map(|s| percentile(s, 0.5)).collect();
    println!(
        "\n`http-proxy` p50 / `http-router` p50: {:.2}x\n",
        p50[1] / p50[0]
    );
    Ok(vec![
        Line::against(
            "HTTP guest (Rust) through the emulator p50",
            p50[1],
            "us",
            "SDK HTTP guest (http-router)",
            p50[0],
            Target::None,
        ),
        Line::against(
            "HTTP guest (JS fetch-event, fresh instance) through the emulator p50",
            p50[2],
            "us",
            "SDK HTTP guest (http-router)",
            p50[0],
            Target::None,
        ),
    ])
}

fn in_process(folder: &GuestFolder) -> Result<Vec<Line>> {
    // The translation alone: the event read as a request, the request as
    // hyper's, and a response like the guest's written as the answer.
    let bytes = event("http-proxy").to_string().into_bytes();
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "content-type",
        http::HeaderValue::from_static("application/json"),
    );
    let response = HttpResponse {
        status: http::StatusCode::OK,
        headers,
        body: Bytes::from_static(br#"{"message":"Hello, Ana!"}"#),
    };
    let mut translation = Vec::with_capacity(IN_PROCESS_CALLS);
    for round in 0..IN_PROCESS_CALLS + 1_000 {
        let started = Instant::now();
        let request = request::from_event(&bytes).map_err(anyhow::Error::msg)?;
        let hyper = request.to_hyper().map_err(anyhow::Error::msg)?;
        let answer = answer::encode(request.kind, &response);
        std::hint::black_box((hyper, answer));
        if round >= 1_000 {
            translation.push(started.elapsed().as_secs_f64() * 1e6);
        }
    }
    translation.sort_by(f64::total_cmp);

    // The whole warm call of each guest, through the Lambda loop's path.
    let events: Vec<Vec<u8>> = GUESTS
        .iter()
        .map(|g| event(g).to_string().into_bytes())
        .collect();
    let mut calls = warm_samples_of_events(folder, &events)?;
    for samples in &mut calls {
        samples.sort_by(f64::total_cmp);
    }
    let translation_p50 = percentile(&translation, 0.5);
    println!("## in process: the translation alone, and each guest's whole warm call (p50 us)\n");
    println!("| what | p50 us | p99 us |");
    println!("| --- | --- | --- |");
    println!(
        "| translation: event → request → hyper request, response → answer ({IN_PROCESS_CALLS} times) | {translation_p50:.2} | {:.2} |",
        percentile(&translation, 0.99)
    );
    for (guest, samples) in GUESTS.iter().zip(&calls) {
        println!(
            "| warm call of `{guest}` (`handle_event`, {} calls) | {:.1} | {:.1} |",
            samples.len(),
            percentile(samples, 0.5),
            percentile(samples, 0.99)
        );
    }
    println!();
    Ok(vec![
        Line::against(
            "HTTP guest translation per request, in process",
            translation_p50,
            "us",
            "whole warm call of http-proxy",
            percentile(&calls[1], 0.5),
            Target::None,
        ),
        Line::against(
            "HTTP guest (Rust) warm call in process p50",
            percentile(&calls[1], 0.5),
            "us",
            "SDK HTTP guest (http-router)",
            percentile(&calls[0], 0.5),
            Target::None,
        ),
    ])
}
