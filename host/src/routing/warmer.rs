//! Warmer pings: recognising them, and the answer that tells the warmer what
//! it warmed.
//!
//! Recognised forms (anything else is a business event):
//! - `{"warmer": true, "concurrency": N, "delay": MS, "correlationId": ID,
//!   "target": FUNCTION}` (seed 003 and jeremydaly/lambda-warmer's trigger
//!   event; N > 1 or a target makes this environment fan out, see `fanout`);
//! - lambda-warmer's fan-out pings, which carry `__WARMER_INVOCATION__`,
//!   `__WARMER_CONCURRENCY__` and `__WARMER_CORRELATIONID__` (numbers, and a
//!   string id) whatever its flag is called;
//! - `{"source": "serverless-plugin-warmup"}`.
//!
//! Serving a ping runs each guest's `warm` hook (never `handle`), each with
//! a budget of its own, and answers what was warmed.

use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::guests::bindings::types;
use crate::guests::slot::GuestSlot;
use crate::runtime::environment::Environment;
use crate::runtime::invocation::InvocationError;

/// The longest one guest's `warm` hook may run (less if its `timeout_ms`
/// is less, or if its fair share of the ping's time is).
pub const WARM_HOOK_BUDGET: Duration = Duration::from_secs(2);

/// The longest a ping may hold its answer, whatever it asks for.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// A recognised warmer ping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarmerPing {
    /// How many environments the warmer wants warm.
    pub concurrency: u32,
    /// How long to hold the answer so concurrent pings land on distinct
    /// environments.
    pub delay: Duration,
    /// The warmer's correlation id.
    pub correlation_id: Option<String>,
    /// Which fan-out invocation this is (lambda-warmer), if any: a child,
    /// which never fans out again.
    pub invocation: Option<u64>,
    /// Another function (running the host) to warm instead of this one.
    pub target: Option<String>,
}

/// Returns the ping if `event` is one.
pub fn detect(event: &Value) -> Option<WarmerPing> {
    let object = event.as_object()?;
    let flagged = object.get("warmer") == Some(&Value::Bool(true));
    let fan_out = object
        .get("__WARMER_INVOCATION__")
        .is_some_and(Value::is_u64)
        && object
            .get("__WARMER_CONCURRENCY__")
            .is_some_and(Value::is_u64);
    let plugin = object.get("source").and_then(Value::as_str) == Some("serverless-plugin-warmup");
    if !(flagged || fan_out || plugin) {
        return None;
    }
    let number = |key: &str| object.get(key).and_then(Value::as_u64);
    let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
    let concurrency = number("__WARMER_CONCURRENCY__")
        .or_else(|| number("concurrency"))
        .unwrap_or(1);
    let delay_ms = number("delay").unwrap_or(0);
    Some(WarmerPing {
        concurrency: u32::try_from(concurrency).unwrap_or(u32::MAX).max(1),
        delay: Duration::from_millis(delay_ms).min(MAX_DELAY),
        correlation_id: text("__WARMER_CORRELATIONID__")
            .or_else(|| text("correlationId"))
            .or_else(|| text("correlation_id")),
        invocation: number("__WARMER_INVOCATION__"),
        target: text("target"),
    })
}

/// What the environment reports about itself in a warmer answer.
#[derive(Debug, Clone)]
pub struct EnvironmentReport {
    /// Stable id of this environment (process).
    pub environment: String,
    /// Whether this ping was the environment's first event.
    pub cold: bool,
    /// Events this environment handled, this ping included.
    pub invocations: u64,
    /// Time since the process started.
    pub uptime: Duration,
}

/// The outcome of one guest's `warm` hook, for the answer.
#[derive(Debug, Clone)]
pub enum WarmOutcome {
    /// The hook ran; its JSON answer.
    Warmed(Value),
    /// The hook was not run, and why (a `fresh` guest keeps no instance).
    Skipped(String),
    /// The hook (or the guest's instance) failed.
    Failed {
        /// Same vocabulary as invocation errors.
        error_type: String,
        /// Why.
        error_message: String,
    },
}

/// Builds the warmer answer.
pub fn answer(
    ping: &WarmerPing,
    report: &EnvironmentReport,
    guests: Vec<(String, WarmOutcome)>,
) -> Value {
    let mut by_guest = Map::new();
    for (name, outcome) in guests {
        let entry = match outcome {
            WarmOutcome::Warmed(answer) => json!({ "ok": true, "answer": answer }),
            WarmOutcome::Skipped(reason) => json!({ "ok": true, "skipped": reason }),
            WarmOutcome::Failed {
                error_type,
                error_message,
            } => {
                json!({ "ok": false, "errorType": error_type, "errorMessage": error_message })
            }
        };
        by_guest.insert(name, entry);
    }
    json!({
        "warmed": true,
        "environment": report.environment,
        "cold": report.cold,
        "invocations": report.invocations,
        "uptime_ms": u64::try_from(report.uptime.as_millis()).unwrap_or(u64::MAX),
        "concurrency": ping.concurrency,
        "invocation": ping.invocation,
        "delay_ms": u64::try_from(ping.delay.as_millis()).unwrap_or(u64::MAX),
        "correlation_id": ping.correlation_id,
        "guests": by_guest,
    })
}

/// Serves a ping: every guest's `warm` hook, then the answer and how long
/// to hold it (the ping's `delay`, never past `deadline`).
pub async fn serve_ping<'a>(
    ping: &WarmerPing,
    guests: impl ExactSizeIterator<Item = &'a GuestSlot>,
    environment: &Environment,
    invocations: u64,
    request_id: &str,
    deadline: Instant,
) -> (Value, Duration) {
    let cold = invocations == 1;
    let info = types::WarmInfo {
        environment: environment.id().to_owned(),
        correlation_id: ping.correlation_id.clone(),
        concurrency: ping.concurrency,
        cold,
    };
    let outcomes = warm_guests(guests, &info, request_id, deadline).await;
    let report = EnvironmentReport {
        environment: environment.id().to_owned(),
        cold,
        invocations,
        uptime: environment.uptime(),
    };
    let hold = ping
        .delay
        .min(deadline.saturating_duration_since(Instant::now()));
    (answer(ping, &report, outcomes), hold)
}

/// Runs the guests' `warm` hooks one after another. Each gets its own
/// budget: at most [`WARM_HOOK_BUDGET`] and at most an even share of the
/// time left, so a slow or stuck hook cannot starve the guests after it.
async fn warm_guests<'a>(
    guests: impl ExactSizeIterator<Item = &'a GuestSlot>,
    info: &types::WarmInfo,
    request_id: &str,
    deadline: Instant,
) -> Vec<(String, WarmOutcome)> {
    let total = guests.len();
    let mut outcomes = Vec::with_capacity(total);
    for (index, slot) in guests.enumerate() {
        if slot.is_fresh() {
            let reason = "instance = \"fresh\": no instance is kept between events, so there is nothing to warm".to_owned();
            outcomes.push((slot.name().to_owned(), WarmOutcome::Skipped(reason)));
            continue;
        }
        if slot.is_http() {
            let reason = "an HTTP guest (wasi:http/incoming-handler) has no warm hook: its instance stays loaded, and no request is made up to run its handler".to_owned();
            outcomes.push((slot.name().to_owned(), WarmOutcome::Skipped(reason)));
            continue;
        }
        if slot.is_deferred() {
            let reason = "not instantiated at init (eager = false, or past the init memory budget): its first event instantiates it, a warmer ping does not".to_owned();
            outcomes.push((slot.name().to_owned(), WarmOutcome::Skipped(reason)));
            continue;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let share = left / u32::try_from(total - index).unwrap_or(u32::MAX).max(1);
        let hook_deadline = Instant::now() + share.min(WARM_HOOK_BUDGET);
        let outcome = slot
            .warm(info, request_id, hook_deadline.min(deadline))
            .await
            .and_then(|bytes| {
                serde_json::from_slice::<Value>(&bytes).map_err(|e| {
                    InvocationError::InvalidAnswer {
                        guest: slot.name().to_owned(),
                        detail: format!("not JSON: {e}"),
                    }
                })
            });
        let outcome = match outcome {
            Ok(answer) => WarmOutcome::Warmed(answer),
            Err(error) => WarmOutcome::Failed {
                error_type: error.error_type().to_owned(),
                error_message: error.to_string(),
            },
        };
        outcomes.push((slot.name().to_owned(), outcome));
    }
    outcomes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_003_ping() {
        let ping = detect(&json!({"warmer": true, "delay": 250, "concurrency": 5})).unwrap();
        assert_eq!(ping.concurrency, 5);
        assert_eq!(ping.delay, Duration::from_millis(250));
        assert_eq!(ping.correlation_id, None);
    }

    #[test]
    fn lambda_warmer_fan_out_ping() {
        let ping = detect(&json!({
            "warmer": true,
            "__WARMER_INVOCATION__": 2,
            "__WARMER_CONCURRENCY__": 3,
            "__WARMER_CORRELATIONID__": "abc-123"
        }))
        .unwrap();
        assert_eq!((ping.concurrency, ping.invocation), (3, Some(2)));
        assert_eq!(ping.correlation_id.as_deref(), Some("abc-123"));
        // lambda-warmer with a custom flag name still sends the fan-out fields.
        assert!(
            detect(
                &json!({"keepwarm": true, "__WARMER_INVOCATION__": 1, "__WARMER_CONCURRENCY__": 2})
            )
            .is_some()
        );
    }

    #[test]
    fn serverless_plugin_warmup_ping() {
        let ping = detect(&json!({"source": "serverless-plugin-warmup"})).unwrap();
        assert_eq!(ping.concurrency, 1);
        assert_eq!(ping.delay, Duration::ZERO);
    }

    #[test]
    fn near_misses_are_business_events() {
        for event in [
            json!({"warmer": false}),
            json!({"warmer": "true"}),
            json!({"warmer": 1}),
            json!({"Warmer": true}),
            json!({"data": {"warmer": true}}),
            json!([{"warmer": true}]),
            json!("warmer"),
            json!(null),
            json!({"source": "serverless-plugin-warmup-2"}),
            json!({"source": "aws.events", "detail-type": "Scheduled Event"}),
            json!({"__WARMER_INVOCATION__": "1", "__WARMER_CONCURRENCY__": 2}),
            json!({"__WARMER_INVOCATION__": 1}),
        ] {
            assert_eq!(detect(&event), None, "{event} taken for a warmer ping");
        }
    }

    #[test]
    fn silly_values_are_clamped() {
        let ping = detect(&json!({"warmer": true, "delay": 3_600_000, "concurrency": 0})).unwrap();
        assert_eq!(ping.delay, MAX_DELAY);
        assert_eq!(ping.concurrency, 1);
        let ping = detect(&json!({"warmer": true, "delay": -5, "concurrency": "lots"})).unwrap();
        assert_eq!((ping.delay, ping.concurrency), (Duration::ZERO, 1));
    }

    #[test]
    fn answer_has_the_documented_fields() {
        let ping = detect(&json!({"warmer": true, "correlationId": "c1"})).unwrap();
        let report = EnvironmentReport {
            environment: "env-1".into(),
            cold: true,
            invocations: 1,
            uptime: Duration::from_millis(42),
        };
        let a = answer(
            &ping,
            &report,
            vec![
                ("counter".into(), WarmOutcome::Warmed(json!({"warmed": 1}))),
                (
                    "broken".into(),
                    WarmOutcome::Failed {
                        error_type: "GuestTrapped".into(),
                        error_message: "boom".into(),
                    },
                ),
            ],
        );
        assert_eq!(a["warmed"], true);
        assert_eq!(a["environment"], "env-1");
        assert_eq!(a["cold"], true);
        assert_eq!(a["invocations"], 1);
        assert_eq!(a["uptime_ms"], 42);
        assert_eq!(a["correlation_id"], "c1");
        assert_eq!(
            a["guests"]["counter"],
            json!({"ok": true, "answer": {"warmed": 1}})
        );
        assert_eq!(a["guests"]["broken"]["errorType"], "GuestTrapped");
    }
}
