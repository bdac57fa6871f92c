//! `invoke GUEST [EVENT_FILE|-]`: one event through the full host path
//! (init, route, guest), answer printed as JSON.

use std::io::Read as _;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result, bail};

use crate::runtime::invocation::Invocation;
use crate::runtime::settings::Settings;
use crate::wasm_host::WasmHost;

/// The deadline `invoke` gives an event (Lambda's maximum timeout).
const INVOKE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Runs one event and prints the answer, or the Lambda error, as JSON.
///
/// Returns whether the invocation succeeded.
///
/// # Errors
/// Init failed or the event file cannot be read.
pub fn invoke(settings: Settings, guest: &str, event_source: Option<&str>) -> Result<bool> {
    let payload = match event_source {
        None => b"{}".to_vec(),
        Some("-") => {
            let mut buffer = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buffer)
                .context("reading the event from stdin")?;
            buffer
        }
        Some(file) => std::fs::read(file).with_context(|| format!("reading event file {file}"))?,
    };
    let (host, report) = WasmHost::init(settings)
        .map_err(|e| anyhow::anyhow!("init failed ({}): {e}", e.error_type()))?;
    report.log();
    if !host.guest_names().iter().any(|name| name == guest) {
        bail!(
            "no guest `{guest}`; guests: {}",
            host.guest_names().join(", ")
        );
    }
    let invocation = Invocation {
        request_id: format!("invoke-{}", std::process::id()),
        deadline: SystemTime::now() + INVOKE_TIMEOUT,
        invoked_function_arn: String::new(),
        caller: Default::default(),
    };
    match host.dispatch_to(guest, &payload, &invocation) {
        Ok(response) => {
            std::thread::sleep(response.hold);
            println!("{}", String::from_utf8_lossy(&response.body));
            Ok(true)
        }
        Err(error) => {
            println!("{}", error.to_json());
            Ok(false)
        }
    }
}
