//! `host-bench outbound`: a guest's HTTP request to a loopback keep-alive
//! server (`fetcher`, through the SDK, wasi:http and the host's pooled
//! client), against the same request from native Rust (hyper-util's pooled
//! client) in the same run, interleaved call by call.
//!
//! 1. Warm request over a pooled connection: guest invocation vs native
//!    request, p50 / p90 / p99, and the guest without a request (`hello`)
//!    for the invocation's own share.
//! 2. New connection vs pooled: the server closes after each answer
//!    (`/close`), so every call connects, guest and native alike.

use std::time::{Duration, Instant, SystemTime};

use anyhow::{Result, ensure};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use wasm_lambda_host::runtime::invocation::Invocation;
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::{GuestFolder, HttpServer};

use crate::summary::{Line, Target};

const CALLS: usize = 2_000;
const WARM_UP: usize = 200;

/// Runs both parts and prints markdown tables.
pub fn bench() -> Result<()> {
    let server = HttpServer::start();
    let folder = GuestFolder::new("bench-outbound")
        .with_guest("fetcher", "fetcher")
        .with_guest("hello", "hello")
        .with_file(
            "guests.toml",
            format!("[guests.fetcher]\noutbound = [\"{}\"]\n", server.url()),
        );
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    let (host, _) = WasmHost::init(settings)?;
    let host = std::sync::Arc::new(host);
    let invocation = Invocation {
        request_id: "8f5f8a53-4b4e-4b8a-9a43-1f0c2f1e6f3a".into(),
        deadline: SystemTime::now() + Duration::from_secs(3600),
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:bench".into(),
        caller: Default::default(),
    };
    // What the Lambda loop does with one invocation at a time: one
    // current-thread runtime for the loop, the guest's requests and the
    // pool's connections; the native client gets the same.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let native: Client<HttpConnector, Empty<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());

    let guest_call = |guest: &str, event: serde_json::Value| -> Result<f64> {
        let payload = json!({ "guest": guest, "event": event }).to_string();
        let started = Instant::now();
        let (answer, _) = runtime.block_on(host.handle_event(payload.as_bytes(), &invocation));
        let micros = started.elapsed().as_secs_f64() * 1e6;
        let answer: serde_json::Value = serde_json::from_slice(&answer?.body)?;
        if guest == "fetcher" {
            ensure!(answer["results"][0]["status"] == 200, "{answer}");
        }
        Ok(micros)
    };
    let native_call = |url: &str| -> Result<f64> {
        let uri: http::Uri = url.parse()?;
        let started = Instant::now();
        let status = runtime.block_on(async {
            let response = native.get(uri).await?;
            let status = response.status();
            response.into_body().collect().await?;
            anyhow::Ok(status)
        })?;
        let micros = started.elapsed().as_secs_f64() * 1e6;
        ensure!(status == 200, "native status {status}");
        Ok(micros)
    };

    let mut lines = Vec::new();
    for (title, path) in [
        ("pooled connection (keep-alive)", "/hello"),
        ("new connection every call (the server closes)", "/close"),
    ] {
        let url = format!("{}{path}", server.url());
        let connections_before = server.connections();
        let (mut guest, mut plain, mut bare) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..CALLS + WARM_UP {
            let g = guest_call("fetcher", json!({ "url": url }))?;
            let n = native_call(&url)?;
            let h = guest_call("hello", json!({ "name": "bench" }))?;
            if round >= WARM_UP {
                guest.push(g);
                plain.push(n);
                bare.push(h);
            }
        }
        let opened = server.connections() - connections_before;
        println!(
            "## outbound GET {path}, {title}: {CALLS} calls each, interleaved ({opened} TCP connections opened in all)\n"
        );
        println!("| path | p50 us | p90 us | p99 us |");
        println!("| --- | --- | --- | --- |");
        let guest_p50 = row(
            "guest `fetcher` invocation (SDK -> wasi:http -> host pool)",
            guest,
        );
        let native_p50 = row("native Rust, hyper-util pooled client (anchor)", plain);
        let bare_p50 = row("guest `hello` invocation, no request", bare);
        println!(
            "\nguest / native p50: {:.2}x; request share of the guest call: {:.1} us over native\n",
            guest_p50 / native_p50,
            guest_p50 - bare_p50 - native_p50
        );
        lines.push(Line::against(
            format!("guest HTTP GET p50, {title}"),
            guest_p50,
            "us",
            "native Rust, hyper-util",
            native_p50,
            Target::None,
        ));
    }
    crate::summary::record("outbound", &lines)
}

/// Prints a row; returns the p50.
fn row(label: &str, mut samples: Vec<f64>) -> f64 {
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
