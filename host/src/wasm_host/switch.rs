//! Live release switches: a warm environment reads the pointer again on
//! every warmer ping and, between events, at most every
//! `WASM_LAMBDA_REFRESH_S`. A new release is loaded whole (unchanged
//! guests carried over with their instances) before one pointer swap puts
//! it live; one that fails to load, or is not trusted, is never switched
//! to, and the old one keeps serving.

use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::WasmHost;
use super::guest_set::Builder;
use super::init::plan_and_build;
use super::live_release::Current;

/// Why a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// A warmer ping (always checks).
    Ping,
    /// `WASM_LAMBDA_REFRESH_S` passed since the last check.
    Timer,
}

/// How a check ended.
#[derive(Debug, Clone)]
pub enum CheckOutcome {
    /// The same release is current.
    Unchanged {
        /// Time the check took.
        elapsed: Duration,
    },
    /// A new release is live.
    Switched {
        /// The guests' release before.
        from: Option<String>,
        /// The guests' release now.
        to: Option<String>,
        /// Guests that kept their instances.
        kept: Vec<String>,
        /// Guests loaded anew.
        loaded: Vec<String>,
        /// Time from the check's start to the new release serving.
        elapsed: Duration,
    },
    /// A new release was found but not switched to; the old one serves.
    Refused {
        /// The release refused.
        release: Option<String>,
        /// Why.
        reason: String,
        /// Time the attempt took.
        elapsed: Duration,
    },
    /// The pointer could not be read; the old release serves.
    Failed {
        /// Why.
        reason: String,
        /// Time the attempt took.
        elapsed: Duration,
    },
}

impl CheckOutcome {
    /// The outcome for a warmer answer.
    pub fn to_json(&self) -> Value {
        let ms = |d: &Duration| d.as_secs_f64() * 1e3;
        match self {
            Self::Unchanged { elapsed } => {
                json!({"outcome": "unchanged", "elapsed_ms": ms(elapsed)})
            }
            Self::Switched {
                from,
                to,
                kept,
                loaded,
                elapsed,
            } => json!({
                "outcome": "switched", "from": from, "to": to,
                "kept": kept, "loaded": loaded, "elapsed_ms": ms(elapsed),
            }),
            Self::Refused {
                release,
                reason,
                elapsed,
            } => json!({
                "outcome": "refused", "release": release, "error": reason, "elapsed_ms": ms(elapsed),
            }),
            Self::Failed { reason, elapsed } => json!({
                "outcome": "failed", "error": reason, "elapsed_ms": ms(elapsed),
            }),
        }
    }
}

/// The releases in use and when they were last checked.
pub struct CheckState {
    pub(super) current: Current,
    last_check: Instant,
}

impl CheckState {
    /// State right after init loaded `current`.
    pub fn new(current: Current) -> Self {
        Self {
            current,
            last_check: Instant::now(),
        }
    }
}

impl WasmHost {
    /// Whether guests or models come from S3 releases.
    pub fn serves_releases(&self) -> bool {
        self.releases.is_some()
    }

    /// Checks for a new release now (a warmer ping); `None` without S3.
    pub fn check_release(&self, trigger: Trigger) -> Option<CheckOutcome> {
        self.releases.as_ref()?;
        let mut state = self.checks.lock().unwrap_or_else(PoisonError::into_inner);
        self.check_locked(&mut state, trigger)
    }

    /// A check, with the check state held (so checks never overlap).
    fn check_locked(&self, state: &mut CheckState, trigger: Trigger) -> Option<CheckOutcome> {
        let releases = self.releases.as_ref()?;
        let started = Instant::now();
        state.last_check = started;
        let next = match releases.read(&state.current) {
            Ok(Some(next)) => next,
            Ok(None) => {
                return Some(CheckOutcome::Unchanged {
                    elapsed: started.elapsed(),
                });
            }
            Err(error) => {
                tracing::error!(
                    ?trigger,
                    release = error.release.as_deref().unwrap_or("-"),
                    "checking for a new release: {error}; the current release keeps serving"
                );
                // A release that was read but is not acceptable is refused;
                // a pointer that could not be read is a failed check.
                return Some(match error.release {
                    Some(release) => CheckOutcome::Refused {
                        release: Some(release),
                        reason: error.message,
                        elapsed: started.elapsed(),
                    },
                    None => CheckOutcome::Failed {
                        reason: error.message,
                        elapsed: started.elapsed(),
                    },
                });
            }
        };
        let to = next.tag().guests;
        releases.prefetch(&next, self.arch);
        let previous = self.current_set();
        let builder = Builder {
            engine: &self.engine,
            arch: self.arch,
            linker: &self.linker,
            settings: &self.settings,
        };
        let built =
            plan_and_build(&builder, Some(releases), &next, Some(&previous)).and_then(|built| {
                let failures: Vec<String> = built
                    .guests
                    .iter()
                    .filter_map(|g| {
                        g.outcome
                            .as_ref()
                            .err()
                            .map(|e| format!("guest `{}`: {e}", g.name))
                    })
                    .chain(
                        built
                            .models
                            .iter()
                            .filter(|m| m.outcome.is_err())
                            .map(|m| format!("model {}", m.summary())),
                    )
                    .collect();
                if failures.is_empty() {
                    Ok(built)
                } else {
                    Err(super::init::InitError::GuestsUnavailable(
                        failures.join("; "),
                    ))
                }
            });
        let built = match built {
            Ok(built) => built,
            Err(error) => {
                releases.forget();
                let reason = format!("{} ({})", error, error.error_type());
                tracing::error!(
                    release = to.as_deref().unwrap_or("-"),
                    "new release not switched to: {reason}; the current release keeps serving"
                );
                return Some(CheckOutcome::Refused {
                    release: to,
                    reason,
                    elapsed: started.elapsed(),
                });
            }
        };
        let (mut kept, mut loaded) = (Vec::new(), Vec::new());
        for guest in &built.guests {
            match guest.outcome {
                Ok(crate::guests::loader::LoadOrigin::Kept) => kept.push(guest.name.clone()),
                _ => loaded.push(guest.name.clone()),
            }
        }
        self.live.store(Arc::new(built.set));
        built.deferred.log(self.settings.eager_budget);
        releases.adopt(&next);
        releases.prune(&next, self.arch);
        let from = std::mem::replace(&mut state.current, next).tag().guests;
        let elapsed = started.elapsed();
        tracing::info!(
            from = from.as_deref().unwrap_or("-"),
            to = to.as_deref().unwrap_or("-"),
            kept = kept.join(","),
            loaded = loaded.join(","),
            "switched to a new release in {:.1} ms",
            elapsed.as_secs_f64() * 1e3
        );
        Some(CheckOutcome::Switched {
            from,
            to,
            kept,
            loaded,
            elapsed,
        })
    }

    /// Whether a timed check is due: `WASM_LAMBDA_REFRESH_S` passed since
    /// the last check (never with `0`), and no check is running. Never
    /// waits, so an event can ask it.
    pub fn release_check_due(&self) -> bool {
        if !self.timed_checks() {
            return false;
        }
        match self.checks.try_lock() {
            Ok(state) => state.last_check.elapsed() >= self.settings.refresh,
            Err(_) => false,
        }
    }

    /// A timed check, if one is due (see [`release_check_due`](Self::release_check_due)).
    pub fn check_release_if_due(&self) -> Option<CheckOutcome> {
        if !self.timed_checks() {
            return None;
        }
        let mut state = self.checks.lock().unwrap_or_else(PoisonError::into_inner);
        if state.last_check.elapsed() < self.settings.refresh {
            // Another event's check ran meanwhile.
            return None;
        }
        self.check_locked(&mut state, Trigger::Timer)
    }

    /// Whether releases are checked between events at all (S3 releases,
    /// and `WASM_LAMBDA_REFRESH_S` not 0).
    fn timed_checks(&self) -> bool {
        self.releases.is_some() && !self.settings.refresh.is_zero()
    }

    /// The `release` part of a warmer answer.
    pub(super) fn release_json(&self, check: Option<&CheckOutcome>) -> Value {
        let tag = &self.current_set().release;
        // The pointer in use: its sequence grows with each signed pointer
        // (a refresh too), which does not change the release.
        let pointer = self
            .releases
            .as_ref()
            .and_then(|r| r.pointer_stamp())
            .map(|stamp| {
                json!({
                    "sequence": stamp.sequence,
                    "signed_at": stamp.signed_at,
                    "signed_by": stamp.signer,
                })
            });
        json!({
            "guests": tag.guests,
            "models": tag.models,
            "signed_by": tag.signer,
            "pointer": pointer,
            "check": check.map(CheckOutcome::to_json),
        })
    }
}
