//! `warm FUNCTION [--concurrency N] [--delay MS] [--qualifier Q]`: sends the
//! warmer ping through Lambda's Invoke API (from a laptop, or a CI step
//! right after a deploy) and prints the function's report.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Result, anyhow};
use serde_json::{Value, json};

use crate::runtime::invoke_api::{FunctionRef, InvokeClient};

/// How long `warm` waits for the ping's answer (Lambda's maximum timeout).
const WARM_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// What to send.
#[derive(Debug, Clone)]
pub struct WarmRequest<'a> {
    /// Function name, NAME:QUALIFIER or ARN.
    pub function: &'a str,
    /// Overrides the qualifier in `function`.
    pub qualifier: Option<&'a str>,
    /// Environments to keep warm.
    pub concurrency: u32,
    /// How long each copy holds, in ms.
    pub delay_ms: u64,
}

/// Sends the ping, prints the answer (JSON) and a one-line summary.
///
/// Returns whether the function answered the ping.
///
/// # Errors
/// A bad function name, or no Invoke API endpoint configured.
pub fn warm(request: &WarmRequest<'_>) -> Result<bool> {
    let mut function = FunctionRef::parse(request.function).map_err(|e| anyhow!(e))?;
    if let Some(qualifier) = request.qualifier {
        function.qualifier = Some(qualifier.to_owned());
    }
    let client = InvokeClient::shared().map_err(|e| anyhow!(e))?;
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let ping = json!({
        "warmer": true,
        "concurrency": request.concurrency.max(1),
        "delay": request.delay_ms,
        "correlation_id": format!("warm-{stamp}"),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let answer =
        runtime.block_on(client.invoke(&function, ping.to_string().as_bytes(), WARM_TIMEOUT));
    match answer {
        Ok(answer) => {
            println!("{}", serde_json::to_string_pretty(&answer)?);
            eprintln!("{}", summary(&function, &answer));
            Ok(true)
        }
        Err(error) => {
            eprintln!("error: warming {function}: {error}");
            Ok(false)
        }
    }
}

/// One line on what the ping warmed.
fn summary(function: &FunctionRef, answer: &Value) -> String {
    let Some(fanout) = answer.get("fanout") else {
        return format!(
            "{function}: warmed 1 environment ({})",
            if answer["cold"] == Value::Bool(true) {
                "cold"
            } else {
                "warm"
            }
        );
    };
    let mut line = format!(
        "{function}: warmed {} of {} environments ({} cold, {} failed) in {} ms",
        fanout["environments"],
        fanout["requested"],
        fanout["cold"],
        fanout["failed"]["count"],
        fanout["elapsed_ms"]
    );
    if let Some(note) = fanout.get("note").and_then(Value::as_str) {
        line.push_str("; ");
        line.push_str(note);
    }
    line
}
