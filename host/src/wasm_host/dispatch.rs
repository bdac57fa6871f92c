//! The per-event path: parse the event once, route it, serve it (a guest's
//! `handle`, or the warmer), and check the answer like Lambda would.
//!
//! Serving is async (guest calls are, see `guests::slot`). The Lambda loop
//! awaits [`WasmHost::handle_event`]; tools and tests call the blocking
//! [`WasmHost::dispatch`], which runs the same path on the host's executor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::WasmHost;
use super::guest_set::GuestSet;
use super::switch::{CheckOutcome, Trigger};
use crate::guests::output::OutputTotals;
use crate::guests::slot::CallStats;
use crate::outbound::OutboundSummary;
use crate::routing::fanout::{self, FanoutPlan, FanoutSummary};
use crate::routing::router::{Decision, Payload, RouteError};
use crate::routing::warmer;
use crate::runtime::executor::executor;
use crate::runtime::invocation::{Invocation, InvocationError, MAX_PAYLOAD_BYTES};
use crate::runtime::invoke_api::{FunctionRef, InvokeClient};

/// Time kept back from Lambda's deadline so the host can still send an
/// answer (or an error) after stopping a guest.
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(150);

/// What the host answers an invocation with.
#[derive(Debug)]
pub struct Response {
    /// JSON bytes.
    pub body: Vec<u8>,
    /// How long to hold the answer (a warmer ping's `delay`).
    pub hold: Duration,
}

/// What serving one invocation did, for its log line and metrics.
#[derive(Debug, Default, Clone)]
pub struct EventReport {
    /// The guest the event went to (none for pings and unrouted events).
    pub guest: Option<String>,
    /// The event was a warmer ping.
    pub warmer: bool,
    /// The environment's first invocation (Lambda's cold start).
    pub cold_start: bool,
    /// The guest's instance served its first event.
    pub cold_instance: bool,
    /// Time in model runs.
    pub model_time: Duration,
    /// The guest's output.
    pub output: OutputTotals,
    /// The guest's outbound HTTP calls.
    pub outbound: OutboundSummary,
    /// Time from the event's arrival to its answer (or error).
    pub duration: Duration,
    /// The invocation's X-Ray trace id, when Lambda sent one.
    pub trace_id: Option<String>,
    /// What a warmer ping's fan-out warmed.
    pub fanout: Option<FanoutSummary>,
}

/// An event, routed against one guest set.
struct Routed {
    set: Arc<GuestSet>,
    decision: Decision,
}

impl WasmHost {
    /// Serves one invocation (the Lambda loop): routes the event, checks
    /// for a new release first if it is a warmer ping (off the async
    /// threads), and returns the answer with what serving it did.
    pub async fn handle_event(
        self: &Arc<Self>,
        payload: &[u8],
        invocation: &Invocation,
    ) -> (Result<Response, InvocationError>, EventReport) {
        let started = Instant::now();
        let mut report = EventReport::default();
        let result = match self.route(payload) {
            Ok(routed) => {
                let check = if matches!(routed.decision, Decision::Warmer(_))
                    && self.serves_releases()
                {
                    let host = Arc::clone(self);
                    tokio::task::spawn_blocking(move || host.check_release(Trigger::Ping))
                        .await
                        .unwrap_or_else(|panic| {
                            tracing::error!("the release check failed inside the host: {panic}");
                            None
                        })
                } else {
                    None
                };
                self.serve(routed, check, payload, invocation, &mut report)
                    .await
            }
            Err(error) => Err(error),
        };
        report.duration = started.elapsed();
        (result, report)
    }

    /// Serves one invocation and waits for it (tools, tests, benchmarks).
    ///
    /// # Errors
    /// See [`InvocationError`].
    ///
    /// # Panics
    /// Called from inside an async task (use [`handle_event`](Self::handle_event)).
    pub fn dispatch(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let routed = self.route(payload)?;
        self.serve_blocking(routed, payload, invocation)
    }

    /// Serves one invocation addressed to `guest` (the `invoke` command):
    /// warmer pings still go to the host; anything else goes to `guest`.
    ///
    /// # Errors
    /// See [`InvocationError`].
    pub fn dispatch_to(
        &self,
        guest: &str,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let event = parse_event(payload)?;
        let decision = match warmer::detect(&event) {
            Some(ping) => Decision::Warmer(ping),
            None => Decision::Guest {
                guest: guest.to_owned(),
                payload: Payload::Whole,
            },
        };
        let routed = Routed {
            set: self.current_set(),
            decision,
        };
        self.serve_blocking(routed, payload, invocation)
    }

    fn serve_blocking(
        &self,
        routed: Routed,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let check = match routed.decision {
            Decision::Warmer(_) => self.check_release(Trigger::Ping),
            Decision::Guest { .. } => None,
        };
        let mut report = EventReport::default();
        executor().block_on(self.serve(routed, check, payload, invocation, &mut report))
    }

    /// Parses and routes an event against the live set. One set for the
    /// whole event, routing included: a switch meanwhile does not change
    /// which release serves it.
    fn route(&self, payload: &[u8]) -> Result<Routed, InvocationError> {
        let event = parse_event(payload)?;
        let set = self.current_set();
        let decision = set.router.route(&event).map_err(|e| match e {
            RouteError::NoRoute(message) => InvocationError::NoRoute(message),
            RouteError::BadEvent(message) => InvocationError::BadEvent(message),
        })?;
        Ok(Routed { set, decision })
    }

    async fn serve(
        &self,
        routed: Routed,
        check: Option<CheckOutcome>,
        payload: &[u8],
        invocation: &Invocation,
        report: &mut EventReport,
    ) -> Result<Response, InvocationError> {
        let invocations = self.environment.record_invocation();
        report.cold_start = invocations == 1;
        let deadline = Instant::now() + invocation.remaining().saturating_sub(DEADLINE_MARGIN);
        let Routed { set, decision } = routed;
        match decision {
            Decision::Warmer(ping) => {
                report.warmer = true;
                // The ping checked for a new release first, so the hooks
                // warm (and the answer reports) what will serve next.
                let set = match &check {
                    Some(CheckOutcome::Switched { .. }) => self.current_set(),
                    _ => set,
                };
                let started = Instant::now();
                let plan = FanoutPlan::for_ping(
                    &ping,
                    FunctionRef::this_function(
                        &invocation.invoked_function_arn,
                        &self.settings.function.name,
                        &self.settings.function.version,
                    ),
                    &invocation.request_id,
                );
                // The copies go out while this environment warms its own
                // guests; it answers once they are all back.
                let ((mut answer, hold), fanout) = tokio::join!(
                    warmer::serve_ping(
                        &ping,
                        set.guests.values().map(AsRef::as_ref),
                        &self.environment,
                        invocations,
                        &invocation.request_id,
                        deadline,
                    ),
                    fan_out(plan, deadline)
                );
                // While its copies held their delay, so did this
                // environment: it holds only what is left.
                let hold = if fanout.is_some() {
                    hold.saturating_sub(started.elapsed())
                } else {
                    hold
                };
                if let Some(outcomes) = fanout
                    && let Some(fields) = answer.as_object_mut()
                {
                    let value = match outcomes {
                        Ok((plan, outcomes)) => {
                            let (value, summary) = fanout::report(
                                &plan,
                                (self.environment.id(), report.cold_start),
                                &outcomes,
                                ping.concurrency,
                                started.elapsed(),
                            );
                            report.fanout = Some(summary);
                            value
                        }
                        Err(reason) => fanout::not_possible(ping.concurrency, &reason),
                    };
                    fields.insert("fanout".to_owned(), value);
                }
                if self.serves_releases()
                    && let Some(fields) = answer.as_object_mut()
                {
                    fields.insert("release".to_owned(), self.release_json(check.as_ref()));
                }
                let body = answer.to_string().into_bytes();
                check_size("the warmer's answer", &body)?;
                Ok(Response { body, hold })
            }
            Decision::Guest {
                guest,
                payload: part,
            } => {
                let slot = set.guests.get(&guest).ok_or_else(|| {
                    InvocationError::NoRoute(format!(
                        "guest `{guest}` does not exist; guests: {}",
                        set.guest_names().collect::<Vec<_>>().join(", ")
                    ))
                })?;
                report.guest = Some(guest.clone());
                let event = match part {
                    Payload::Whole => payload,
                    Payload::EnvelopeEvent => envelope_event(payload)?,
                };
                let mut stats = CallStats::default();
                let answer = slot
                    .handle(
                        event,
                        invocation,
                        &self.settings.function,
                        deadline,
                        &mut stats,
                    )
                    .await;
                report.cold_instance = stats.cold;
                report.model_time = stats.model_time;
                report.output = stats.output;
                report.outbound = stats.outbound;
                let answer = answer?;
                check_answer(&guest, &answer)?;
                Ok(Response {
                    body: answer,
                    hold: Duration::ZERO,
                })
            }
        }
    }
}

/// The one parse of an event's JSON (for routing).
fn parse_event(payload: &[u8]) -> Result<Value, InvocationError> {
    if payload.len() > MAX_PAYLOAD_BYTES {
        return Err(InvocationError::PayloadTooLarge(format!(
            "event of {} bytes exceeds Lambda's {MAX_PAYLOAD_BYTES}-byte payload limit",
            payload.len()
        )));
    }
    serde_json::from_slice(payload)
        .map_err(|e| InvocationError::BadEvent(format!("event is not JSON: {e}")))
}

/// The bytes of an envelope's `event`, exactly as they arrived: a
/// borrowing scan, so key order, duplicate keys and numbers of any size
/// reach the guest untouched.
fn envelope_event(payload: &[u8]) -> Result<&[u8], InvocationError> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        event: &'a RawValue,
    }
    serde_json::from_slice::<Envelope<'_>>(payload)
        .map(|envelope| envelope.event.get().as_bytes())
        .map_err(|e| InvocationError::BadEvent(format!("envelope: {e}")))
}

/// An answer must fit in a Lambda response.
fn check_size(what: &str, answer: &[u8]) -> Result<(), InvocationError> {
    if answer.len() > MAX_PAYLOAD_BYTES {
        return Err(InvocationError::PayloadTooLarge(format!(
            "{what} is {} bytes, over Lambda's {MAX_PAYLOAD_BYTES}-byte payload limit",
            answer.len()
        )));
    }
    Ok(())
}

/// A guest's answer must be JSON and fit in a Lambda response.
fn check_answer(guest: &str, answer: &[u8]) -> Result<(), InvocationError> {
    check_size(&format!("guest `{guest}`'s answer"), answer)?;
    serde_json::from_slice::<serde::de::IgnoredAny>(answer).map_err(|e| {
        InvocationError::InvalidAnswer {
            guest: guest.to_owned(),
            detail: format!("not JSON: {e}"),
        }
    })?;
    Ok(())
}

/// Runs a ping's fan-out, if it has one: the plan and each copy's outcome,
/// or why it could not fan out.
async fn fan_out(
    plan: Option<Result<FanoutPlan, String>>,
    deadline: Instant,
) -> Option<Result<(FanoutPlan, Vec<fanout::ChildOutcome>), String>> {
    let plan = match plan? {
        Ok(plan) => plan,
        Err(reason) => return Some(Err(reason)),
    };
    let client = match InvokeClient::shared() {
        Ok(client) => client,
        Err(reason) => return Some(Err(reason)),
    };
    let outcomes = fanout::run(client, &plan, deadline).await;
    Some(Ok((plan, outcomes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_event_is_the_exact_bytes() {
        let payload = br#"{"guest": "g", "event": {"b": 1, "a": 2, "a": 3, "big": 123456789012345678901234567890}}"#;
        assert_eq!(
            envelope_event(payload).unwrap(),
            br#"{"b": 1, "a": 2, "a": 3, "big": 123456789012345678901234567890}"#
        );
    }
}
