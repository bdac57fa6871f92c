//! Warm calls in process, for the benchmarks of guests in other languages
//! (`host-bench python`, `host-bench js`): several guests of one host,
//! called in alternating blocks so that drift hits them alike.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::GuestFolder;

use crate::invocation;

/// Calls per guest that are recorded.
pub const WARM_CALLS: usize = 5_000;

/// Each guest's warm-call times (us), in process through the Lambda loop's
/// path (`handle_event`), seed 004's request: blocks of 500 calls per guest
/// in turn, after 500 unrecorded calls each.
pub fn warm_samples(folder: &GuestFolder, guests: &[&str]) -> Result<Vec<Vec<f64>>> {
    let events: Vec<Vec<u8>> = guests
        .iter()
        .map(|guest| {
            json!({"guest": guest, "event": {"data": [0, 0, 0, 0]}})
                .to_string()
                .into_bytes()
        })
        .collect();
    warm_samples_of_events(folder, &events)
}

/// Each event's warm-call times (us), as [`warm_samples`] times them.
pub fn warm_samples_of_events(folder: &GuestFolder, events: &[Vec<u8>]) -> Result<Vec<Vec<f64>>> {
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    let (host, _) = WasmHost::init(settings)?;
    let host = Arc::new(host);
    let invocation = invocation();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut samples = vec![Vec::new(); events.len()];
    runtime.block_on(async {
        // Alternating blocks of 500, after 500 unrecorded calls each.
        for block in 0..(WARM_CALLS / 500 + 1) {
            for (event, samples) in events.iter().zip(samples.iter_mut()) {
                for _ in 0..500 {
                    let started = Instant::now();
                    let (answer, _) = host.handle_event(event, &invocation).await;
                    let micros = started.elapsed().as_secs_f64() * 1e6;
                    answer?;
                    if block > 0 {
                        samples.push(micros);
                    }
                }
            }
        }
        anyhow::Ok(())
    })?;
    Ok(samples)
}
