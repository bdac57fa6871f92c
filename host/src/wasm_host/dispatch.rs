//! The per-event path: parse the event once, route it, serve it (a guest's
//! `handle`, or the warmer), and check the answer like Lambda would.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use super::WasmHost;
use super::guest_set::GuestSet;
use super::switch::{CheckOutcome, Trigger};
use crate::routing::router::{Decision, Payload, RouteError};
use crate::routing::warmer;
use crate::runtime::invocation::{Invocation, InvocationError, MAX_PAYLOAD_BYTES};

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

impl WasmHost {
    /// Serves one invocation: routes the event and returns the answer.
    ///
    /// # Errors
    /// See [`InvocationError`].
    pub fn dispatch(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let event = parse_event(payload)?;
        // One set for the whole event, routing included: a switch meanwhile
        // does not change which release serves it.
        let set = self.current_set();
        let decision = set.router.route(&event).map_err(|e| match e {
            RouteError::NoRoute(message) => InvocationError::NoRoute(message),
            RouteError::BadEvent(message) => InvocationError::BadEvent(message),
        })?;
        self.serve(&set, decision, payload, invocation)
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
        self.serve(&self.current_set(), decision, payload, invocation)
    }

    fn serve(
        &self,
        set: &Arc<GuestSet>,
        decision: Decision,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<Response, InvocationError> {
        let invocations = self.environment.record_invocation();
        let deadline = Instant::now() + invocation.remaining().saturating_sub(DEADLINE_MARGIN);
        match decision {
            Decision::Warmer(ping) => {
                // Every ping checks for a new release first, so the hooks
                // warm (and the answer reports) what will serve next.
                let check = self.check_release(Trigger::Ping);
                let set = match &check {
                    Some(CheckOutcome::Switched { .. }) => self.current_set(),
                    _ => Arc::clone(set),
                };
                let (mut answer, hold) = warmer::serve_ping(
                    &ping,
                    set.guests.values().map(AsRef::as_ref),
                    &self.environment,
                    invocations,
                    &invocation.request_id,
                    deadline,
                );
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
                let event = match part {
                    Payload::Whole => payload,
                    Payload::EnvelopeEvent => envelope_event(payload)?,
                };
                let answer = slot.handle(event, invocation, &self.settings.function, deadline)?;
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
            detail: e.to_string(),
        }
    })?;
    Ok(())
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
