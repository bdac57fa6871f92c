//! The warmer fan-out: one ping warms N environments, and says how many.
//!
//! The environment that receives `{"warmer": true, "concurrency": N}` is the
//! parent: it invokes its own function (the qualifier it was invoked with)
//! N−1 times concurrently through Lambda's Invoke API, each child carrying
//! lambda-warmer's fields (`__WARMER_INVOCATION__`, `__WARMER_CONCURRENCY__`,
//! `__WARMER_CORRELATIONID__`) and the delay, while it holds its own delay.
//! Children never fan out again. Lambda gives a concurrent invocation to a
//! free environment, so while every copy holds its delay each lands on a
//! distinct one; the children's answers carry their environment ids, and
//! the parent counts the distinct ones. With `target`, the N copies go to
//! another function running the host and the parent counts only those.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::warmer::WarmerPing;
use crate::runtime::invoke_api::{FunctionRef, InvokeClient, InvokeError};

/// Most copies one ping sends. Lambda's concurrency limits apply on top:
/// copies beyond the function's reserved or the account's concurrency are
/// throttled and counted in `failed`.
pub const MAX_FANOUT: u32 = 100;

/// Errors quoted in the answer (the rest are only counted).
const QUOTED_ERRORS: usize = 3;

/// Whom a ping fans out to, and how many copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutPlan {
    /// The function the copies go to.
    pub function: FunctionRef,
    /// Environments asked for.
    pub requested: u32,
    /// Whether the parent counts as one of them (it does, unless `target`).
    pub parent_counts: bool,
    /// The `__WARMER_INVOCATION__` of each copy.
    pub invocations: Vec<u64>,
    /// The correlation id every copy carries.
    pub correlation_id: String,
    /// Each copy's hold.
    pub delay: Duration,
}

impl FanoutPlan {
    /// The plan for `ping`, or `None` when it does not fan out (a child, a
    /// ping for one environment). `this_function` is how this environment
    /// was invoked; `request_id` becomes the correlation id if the ping has
    /// none.
    ///
    /// # Errors
    /// A `target` that is not a function name, or no way to name this
    /// function: the answer reports it.
    pub fn for_ping(
        ping: &WarmerPing,
        this_function: Option<FunctionRef>,
        request_id: &str,
    ) -> Option<Result<Self, String>> {
        if ping.invocation.is_some() {
            return None;
        }
        let (function, parent_counts) = match &ping.target {
            Some(target) => match FunctionRef::parse(target) {
                Ok(function) => (function, false),
                Err(error) => return Some(Err(format!("target: {error}"))),
            },
            None if ping.concurrency > 1 => match this_function {
                Some(function) => (function, true),
                None => {
                    return Some(Err(
                        "cannot name this function (no invoked ARN, no AWS_LAMBDA_FUNCTION_NAME)"
                            .to_owned(),
                    ));
                }
            },
            None => return None,
        };
        let requested = ping.concurrency.min(MAX_FANOUT + u32::from(parent_counts));
        let first = if parent_counts { 2 } else { 1 };
        Some(Ok(Self {
            function,
            requested,
            parent_counts,
            invocations: (first..=u64::from(requested)).collect(),
            correlation_id: ping
                .correlation_id
                .clone()
                .unwrap_or_else(|| request_id.to_owned()),
            delay: ping.delay,
        }))
    }

    /// The event copy `invocation` gets.
    pub fn child_event(&self, invocation: u64) -> Value {
        json!({
            "__WARMER_INVOCATION__": invocation,
            "__WARMER_CONCURRENCY__": self.requested,
            "__WARMER_CORRELATIONID__": self.correlation_id,
            "delay": u64::try_from(self.delay.as_millis()).unwrap_or(u64::MAX),
        })
    }
}

/// What one copy came back with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildOutcome {
    /// A warmer answer from the environment `environment`.
    Warmed {
        /// Its environment id.
        environment: String,
        /// Whether the copy was that environment's first event.
        cold: bool,
        /// Its guests' warm-hook outcomes, as its answer gave them.
        guests: Value,
    },
    /// No usable answer, and why.
    Failed(String),
}

impl ChildOutcome {
    fn from_answer(answer: Result<Value, InvokeError>) -> Self {
        match answer {
            Ok(answer) => match (
                answer.get("environment").and_then(Value::as_str),
                answer.get("cold").and_then(Value::as_bool),
            ) {
                (Some(environment), Some(cold))
                    if answer.get("warmed") == Some(&Value::Bool(true)) =>
                {
                    Self::Warmed {
                        environment: environment.to_owned(),
                        cold,
                        guests: answer.get("guests").cloned().unwrap_or(Value::Null),
                    }
                }
                _ => Self::Failed(format!(
                    "the answer is not a wasm-lambda warmer answer: {}",
                    answer.to_string().chars().take(200).collect::<String>()
                )),
            },
            Err(error) => Self::Failed(error.to_string()),
        }
    }
}

/// Sends every copy of `plan` at once and waits for all of them, each
/// bounded by `deadline`.
pub async fn run(client: &InvokeClient, plan: &FanoutPlan, deadline: Instant) -> Vec<ChildOutcome> {
    let copies = plan.invocations.iter().map(|&invocation| async move {
        let timeout = deadline.saturating_duration_since(Instant::now());
        if timeout.is_zero() {
            return ChildOutcome::Failed("no time left before the ping's deadline".to_owned());
        }
        let event = plan.child_event(invocation).to_string();
        ChildOutcome::from_answer(
            client
                .invoke(&plan.function, event.as_bytes(), timeout)
                .await,
        )
    });
    futures::future::join_all(copies).await
}

/// Counts of a fan-out, for the answer and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutSummary {
    /// Distinct environments that answered (the parent included when it counts).
    pub environments: u64,
    /// How many of those were cold.
    pub cold: u64,
}

/// The answer's `fanout` object and its counts. `parent` is this
/// environment's id and coldness; `outcomes` the copies', in order.
pub fn report(
    plan: &FanoutPlan,
    parent: (&str, bool),
    outcomes: &[ChildOutcome],
    asked: u32,
    elapsed: Duration,
) -> (Value, FanoutSummary) {
    let mut environments = BTreeSet::new();
    let mut cold_environments = BTreeSet::new();
    if plan.parent_counts {
        environments.insert(parent.0.to_owned());
        if parent.1 {
            cold_environments.insert(parent.0.to_owned());
        }
    }
    let mut copies = Vec::new();
    let mut errors = Vec::new();
    for (invocation, outcome) in plan.invocations.iter().zip(outcomes) {
        match outcome {
            ChildOutcome::Warmed {
                environment,
                cold,
                guests,
            } => {
                environments.insert(environment.clone());
                if *cold {
                    cold_environments.insert(environment.clone());
                }
                copies.push(json!({
                    "invocation": invocation,
                    "environment": environment,
                    "cold": cold,
                    "guests": guests,
                }));
            }
            ChildOutcome::Failed(error) => errors.push(format!("copy {invocation}: {error}")),
        }
    }
    let answered = copies.len();
    let summary = FanoutSummary {
        environments: environments.len() as u64,
        cold: cold_environments.len() as u64,
    };
    let mut fanout = json!({
        "function": plan.function.to_string(),
        "requested": plan.requested,
        "invoked": outcomes.len(),
        "answered": answered,
        "environments": summary.environments,
        "cold": summary.cold,
        "failed": {
            "count": errors.len(),
            "errors": errors.iter().take(QUOTED_ERRORS).collect::<Vec<_>>(),
        },
        "correlation_id": plan.correlation_id,
        "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        "copies": copies,
    });
    if let Some(fields) = fanout.as_object_mut() {
        let mut notes = Vec::new();
        if asked > plan.requested {
            notes.push(format!(
                "asked for {asked} environments; one ping warms at most {} (send several pings for more)",
                plan.requested
            ));
        }
        if summary.environments < u64::from(plan.requested) {
            notes.push(format!(
                "only {} of {} environments answered: {}",
                summary.environments,
                plan.requested,
                if errors.is_empty() {
                    format!(
                        "some copies were served by the same environment, which finished its delay ({} ms) before they arrived; raise `delay` (it must grow with the concurrency)",
                        plan.delay.as_millis()
                    )
                } else {
                    "see `failed`".to_owned()
                }
            ));
        }
        if !notes.is_empty() {
            fields.insert("note".to_owned(), json!(notes.join("; ")));
        }
    }
    (fanout, summary)
}

/// The `fanout` object when the ping could not fan out at all.
pub fn not_possible(requested: u32, reason: &str) -> Value {
    json!({
        "requested": requested,
        "invoked": 0,
        "answered": 0,
        "environments": 0,
        "cold": 0,
        "failed": {"count": 0, "errors": []},
        "note": format!("no fan-out: {reason}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::routing::warmer::detect;

    fn this() -> Option<FunctionRef> {
        FunctionRef::parse("orders:live").ok()
    }

    #[test]
    fn only_parents_with_work_to_share_fan_out() {
        let plan = |event: Value| FanoutPlan::for_ping(&detect(&event).unwrap(), this(), "req-1");
        assert_eq!(plan(json!({"warmer": true})), None);
        assert_eq!(plan(json!({"warmer": true, "concurrency": 1})), None);
        assert_eq!(
            plan(json!({"__WARMER_INVOCATION__": 2, "__WARMER_CONCURRENCY__": 4})),
            None,
            "children never fan out"
        );
        let parent = plan(json!({"warmer": true, "concurrency": 4, "delay": 75}))
            .unwrap()
            .unwrap();
        assert_eq!(parent.invocations, vec![2, 3, 4]);
        assert!(parent.parent_counts);
        assert_eq!(parent.correlation_id, "req-1");
        assert_eq!(parent.function.to_string(), "orders:live");
        assert_eq!(
            parent.child_event(3),
            json!({"__WARMER_INVOCATION__": 3, "__WARMER_CONCURRENCY__": 4, "__WARMER_CORRELATIONID__": "req-1", "delay": 75})
        );
        let child = detect(&parent.child_event(3)).unwrap();
        assert_eq!((child.invocation, child.concurrency), (Some(3), 4));
        assert_eq!(child.delay, Duration::from_millis(75));

        let target = plan(json!({"warmer": true, "concurrency": 2, "target": "billing"}))
            .unwrap()
            .unwrap();
        assert_eq!(
            (target.invocations, target.parent_counts),
            (vec![1, 2], false)
        );
        assert!(
            plan(json!({"warmer": true, "target": "no good"}))
                .unwrap()
                .is_err()
        );
        let huge = plan(json!({"warmer": true, "concurrency": 100_000}))
            .unwrap()
            .unwrap();
        assert_eq!(huge.invocations.len(), MAX_FANOUT as usize);
    }

    #[test]
    fn distinct_environments_are_counted_and_shortfalls_explained() {
        let ping = detect(&json!({"warmer": true, "concurrency": 4, "delay": 50})).unwrap();
        let plan = FanoutPlan::for_ping(&ping, this(), "r").unwrap().unwrap();
        let warmed = |env: &str, cold| ChildOutcome::Warmed {
            environment: env.to_owned(),
            cold,
            guests: json!({}),
        };
        let (all, summary) = report(
            &plan,
            ("p", true),
            &[warmed("a", true), warmed("b", false), warmed("c", true)],
            4,
            Duration::from_millis(60),
        );
        assert_eq!(
            summary,
            FanoutSummary {
                environments: 4,
                cold: 3
            }
        );
        assert_eq!((all["answered"].as_u64(), all.get("note")), (Some(3), None));

        let (short, summary) = report(
            &plan,
            ("p", false),
            &[
                warmed("a", false),
                warmed("a", false),
                ChildOutcome::Failed("throttled".into()),
            ],
            4,
            Duration::from_millis(60),
        );
        assert_eq!(
            summary,
            FanoutSummary {
                environments: 2,
                cold: 0
            }
        );
        assert_eq!(short["failed"]["count"], 1);
        assert_eq!(short["failed"]["errors"][0], "copy 4: throttled");
        assert!(
            short["note"].as_str().unwrap().contains("only 2 of 4"),
            "{short}"
        );
    }

    #[test]
    fn answers_that_are_not_warmer_answers_are_failures() {
        let outcome = ChildOutcome::from_answer(Ok(json!({"statusCode": 200})));
        assert!(
            matches!(outcome, ChildOutcome::Failed(m) if m.contains("not a wasm-lambda warmer answer"))
        );
        let outcome = ChildOutcome::from_answer(Ok(
            json!({"warmed": true, "environment": "e", "cold": false, "guests": {"g": {"ok": true}}}),
        ));
        assert_eq!(
            outcome,
            ChildOutcome::Warmed {
                environment: "e".into(),
                cold: false,
                guests: json!({"g": {"ok": true}}),
            }
        );
    }
}
