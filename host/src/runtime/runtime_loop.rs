//! The Lambda loop: check the environment, init once, then hand the host to
//! AWS's `lambda_runtime`, which polls `/next`, calls the host and posts
//! each answer, with `AWS_LAMBDA_MAX_CONCURRENCY` loops side by side on
//! Lambda Managed Instances (one loop otherwise).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use anyhow::{Result, anyhow, bail};
use futures::FutureExt as _;
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn, tower};
use serde_json::value::RawValue;

use crate::runtime::caller_headers::{KeepCallerHeaders, RawCallerHeaders};
use crate::runtime::executor::executor;
use crate::runtime::invocation::{Caller, Invocation, InvocationError, panic_message};
use crate::runtime::metrics::Metrics;
use crate::runtime::runtime_api::{RuntimeApi, deadline_from_header};
use crate::runtime::settings::Settings;
use crate::wasm_host::WasmHost;

/// Variables `lambda_runtime` reads (and panics without). Lambda always
/// sets them; an emulator may not.
const REQUIRED_VARIABLES: [&str; 3] = [
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
];

/// Runs init, reports it (or its failure) and serves events until the
/// Runtime API goes away.
///
/// # Errors
/// The environment lacks Lambda's variables or init failed (both reported
/// to the Runtime API first), or every loop of `lambda_runtime` ended.
pub fn run(api: RuntimeApi, settings: Settings) -> Result<()> {
    if let Err(message) = check_environment() {
        tracing::error!(error_type = "Runtime.InvalidEnvironment", "{message}");
        report_init_error(&api, "Runtime.InvalidEnvironment", &message);
        bail!("{message}");
    }
    let metrics = Arc::new(Metrics::from_env(&settings.function.name));
    let concurrency = settings.max_concurrency;
    let host = match WasmHost::init(settings) {
        Ok((host, report)) => {
            report.log();
            metrics.init(&report);
            Arc::new(host)
        }
        Err(error) => {
            let message = error.to_string();
            tracing::error!(error_type = error.error_type(), "init failed: {message}");
            report_init_error(&api, error.error_type(), &message);
            bail!("init failed ({}): {message}", error.error_type());
        }
    };
    let service = service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let host = Arc::clone(&host);
        let metrics = Arc::clone(&metrics);
        async move { serve(&host, &metrics, event).await }
    });
    let run = lambda_runtime::Runtime::new(service)
        .layer(tower::layer::layer_fn(KeepCallerHeaders))
        .run_concurrent();
    let ended = if concurrency <= 1 {
        // One invocation at a time: everything on this thread. Measured
        // through the emulator, the multi-thread runtime here had a p90 of
        // 44 ms against 4 ms (40 ms TCP delayed-ACK stalls on the answers;
        // BENCHMARKS.md, "Serving path").
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(run)
    } else {
        executor().block_on(run)
    };
    ended.map_err(|e| anyhow!("the Lambda loop ended: {e}"))
}

/// One invocation: the host's answer, or its error as Lambda reports it.
async fn serve(
    host: &Arc<WasmHost>,
    metrics: &Metrics,
    event: LambdaEvent<Box<RawValue>>,
) -> Result<Box<RawValue>, Diagnostic> {
    let context = event.context;
    let trace_id = context.xray_trace_id.clone();
    let raw = RawCallerHeaders::current();
    let invocation = Invocation {
        deadline: deadline_from_header(Some(context.deadline)),
        request_id: context.request_id,
        invoked_function_arn: context.invoked_function_arn,
        caller: Caller {
            trace_id: context.xray_trace_id,
            client_context: raw.client_context,
            cognito_identity: raw.cognito_identity,
            tenant_id: context.tenant_id,
        },
    };
    let payload = event.payload.get().as_bytes();
    let handled = AssertUnwindSafe(host.handle_event(payload, &invocation))
        .catch_unwind()
        .await;
    let (result, mut report) = handled.unwrap_or_else(|panic| {
        (
            Err(InvocationError::HostPanic(panic_message(&panic))),
            Default::default(),
        )
    });
    let answer = result.and_then(|response| {
        let hold = response.hold;
        let body = String::from_utf8(response.body)
            .ok()
            .and_then(|text| RawValue::from_string(text).ok())
            .ok_or_else(|| InvocationError::HostPanic("an answer was not JSON text".into()))?;
        Ok((body, hold))
    });
    report.trace_id = trace_id;
    metrics.invocation(
        &invocation.request_id,
        &report,
        answer.as_ref().err().map(InvocationError::error_type),
    );
    // After the answer is ready: nobody waits for a timed release check.
    if host.release_check_due() {
        let host = Arc::clone(host);
        tokio::task::spawn_blocking(move || host.check_release_if_due());
    }
    match answer {
        Ok((body, hold)) => {
            // Holding keeps this environment busy, so a warmer's concurrent
            // pings land on other environments.
            if !hold.is_zero() {
                tokio::time::sleep(hold).await;
            }
            Ok(body)
        }
        Err(error) => {
            tracing::warn!(requestId = %invocation.request_id, error_type = error.error_type(), "{error}");
            Err(Diagnostic {
                error_type: error.error_type().to_owned(),
                error_message: error.to_string(),
            })
        }
    }
}

/// `Err` with a message naming every missing or unusable variable.
fn check_environment() -> Result<(), String> {
    let mut problems = Vec::new();
    for name in REQUIRED_VARIABLES {
        match std::env::var(name) {
            Err(_) => problems.push(format!("{name} is not set")),
            Ok(value) if name.ends_with("MEMORY_SIZE") && value.parse::<i32>().is_err() => {
                problems.push(format!("{name} is `{value}`, not a number of MB"));
            }
            Ok(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}: Lambda sets these in every environment; under a Runtime API emulator set them yourself (e.g. AWS_LAMBDA_FUNCTION_NAME=my-fn AWS_LAMBDA_FUNCTION_VERSION='$LATEST' AWS_LAMBDA_FUNCTION_MEMORY_SIZE=128)",
            problems.join("; ")
        ))
    }
}

fn report_init_error(api: &RuntimeApi, error_type: &str, message: &str) {
    if let Err(report_error) = executor().block_on(api.report_init_error(error_type, message)) {
        tracing::error!("could not report the init error: {report_error:#}");
    }
}
