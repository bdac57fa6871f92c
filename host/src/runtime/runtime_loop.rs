//! The Lambda runtime loop: init once, then next event → host → answer, forever.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use anyhow::Result;

use crate::runtime::invocation::{InvocationError, panic_message};
use crate::runtime::runtime_api::RuntimeApi;
use crate::runtime::settings::Settings;
use crate::wasm_host::WasmHost;

/// How long to wait before asking again after the Runtime API failed.
const RETRY_PAUSE: Duration = Duration::from_millis(100);
/// Consecutive Runtime API failures after which the process gives up.
const MAX_API_FAILURES: u32 = 50;

/// Runs init, reports it (or its failure) and serves events until the
/// Runtime API goes away.
///
/// Talking to the Runtime API is async (on `runtime`); guests run outside
/// it, on this thread, because wasmtime-wasi's synchronous bindings start
/// their own runtime and must not be nested in ours.
///
/// # Errors
/// Init failed (after reporting it to the Runtime API), or the Runtime API
/// stayed unreachable.
pub fn run(runtime: &tokio::runtime::Runtime, api: RuntimeApi, settings: Settings) -> Result<()> {
    let host = match WasmHost::init(settings) {
        Ok((host, report)) => {
            report.log();
            host
        }
        Err(error) => {
            let message = error.to_string();
            tracing::error!(error_type = error.error_type(), "init failed: {message}");
            if let Err(report_error) =
                runtime.block_on(api.report_init_error(error.error_type(), &message))
            {
                tracing::error!("could not report the init error: {report_error:#}");
            }
            return Err(anyhow::anyhow!(
                "init failed ({}): {message}",
                error.error_type()
            ));
        }
    };

    let mut failures = 0;
    loop {
        let next = match runtime.block_on(api.next_event()) {
            Ok(next) => {
                failures = 0;
                next
            }
            Err(error) => {
                failures += 1;
                tracing::error!("next event: {error:#}");
                if failures >= MAX_API_FAILURES {
                    return Err(error.context("the Runtime API keeps failing"));
                }
                std::thread::sleep(RETRY_PAUSE);
                continue;
            }
        };
        let invocation = next.invocation;
        let outcome = catch_unwind(AssertUnwindSafe(|| host.dispatch(&next.body, &invocation)))
            .unwrap_or_else(|panic| Err(InvocationError::HostPanic(panic_message(&panic))));
        let sent = match outcome {
            Ok(response) => {
                runtime.block_on(async {
                    // Holding keeps this environment busy, so a warmer's
                    // concurrent pings land on other environments. (Even a
                    // zero sleep waits for tokio's next 1 ms tick: skip it.)
                    if !response.hold.is_zero() {
                        tokio::time::sleep(response.hold).await;
                    }
                    api.respond(&invocation.request_id, response.body).await
                })
            }
            Err(error) => {
                tracing::warn!(request_id = %invocation.request_id, error_type = error.error_type(), "{error}");
                runtime.block_on(api.report_error(
                    &invocation.request_id,
                    error.error_type(),
                    &error.to_string(),
                ))
            }
        };
        if let Err(error) = sent {
            tracing::error!(request_id = %invocation.request_id, "sending the answer: {error:#}");
        }
        // After the answer, before the next event: the caller does not
        // wait for this check.
        let _ = catch_unwind(AssertUnwindSafe(|| host.check_release_if_due()));
    }
}
