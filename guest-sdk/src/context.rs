//! What a guest knows about the invocation (and the warmer ping) it handles.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::bindings::wasm_lambda::guest::{host, types};

/// The invocation a [`Function::handle`](crate::Function::handle) call serves.
///
/// ```
/// use wasm_lambda_sdk::Context;
///
/// fn describe(ctx: &Context) -> String {
///     format!(
///         "{} on {} ({} events before, {} ms left)",
///         ctx.request_id(),
///         ctx.guest_name(),
///         ctx.events_handled(),
///         ctx.remaining().as_millis(),
///     )
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Context {
    inner: types::Context,
}

impl Context {
    pub(crate) fn from_wit(inner: types::Context) -> Self {
        Self { inner }
    }

    /// The Lambda request id.
    pub fn request_id(&self) -> &str {
        &self.inner.request_id
    }

    /// When Lambda stops the invocation.
    pub fn deadline(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.inner.deadline_ms)
    }

    /// Time left before [`deadline`](Context::deadline) (zero once past it).
    pub fn remaining(&self) -> Duration {
        self.deadline()
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }

    /// The Lambda function's name.
    pub fn function_name(&self) -> &str {
        &self.inner.function_name
    }

    /// The Lambda function's version.
    pub fn function_version(&self) -> &str {
        &self.inner.function_version
    }

    /// The ARN the function was invoked with.
    pub fn invoked_function_arn(&self) -> &str {
        &self.inner.invoked_function_arn
    }

    /// The function's configured memory, in MB.
    pub fn memory_limit_mb(&self) -> u32 {
        self.inner.memory_limit_mb
    }

    /// The name this guest is deployed under.
    pub fn guest_name(&self) -> &str {
        &self.inner.guest_name
    }

    /// True when this is the instance's first event.
    pub fn is_cold(&self) -> bool {
        self.inner.cold
    }

    /// How many events this instance handled before this one.
    pub fn events_handled(&self) -> u64 {
        self.inner.events_handled
    }

    /// The X-Ray trace header as Lambda sent it
    /// (`Root=1-...;Parent=...;Sampled=1`), to pass on to downstream calls.
    pub fn trace_id(&self) -> Option<&str> {
        self.inner.trace_id.as_deref()
    }

    /// The client context (JSON, as the caller sent it; the AWS mobile
    /// SDKs send one), if the invocation carried one.
    ///
    /// ```
    /// use wasm_lambda_sdk::Context;
    /// use wasm_lambda_sdk::serde_json::Value;
    ///
    /// fn app_title(ctx: &Context) -> Option<String> {
    ///     let context: Value = wasm_lambda_sdk::serde_json::from_str(ctx.client_context()?).ok()?;
    ///     Some(context["client"]["app_title"].as_str()?.to_owned())
    /// }
    /// ```
    pub fn client_context(&self) -> Option<&str> {
        self.inner.client_context.as_deref()
    }

    /// The Cognito identity (JSON, as Lambda sent it), if the caller used
    /// Cognito identity pool credentials.
    pub fn cognito_identity(&self) -> Option<&str> {
        self.inner.cognito_identity.as_deref()
    }

    /// The tenant id, for a function in tenant isolation mode.
    pub fn tenant_id(&self) -> Option<&str> {
        self.inner.tenant_id.as_deref()
    }

    /// The function's CloudWatch log group (empty outside Lambda).
    pub fn log_group_name(&self) -> &str {
        &lambda_environment().log_group_name
    }

    /// This environment's CloudWatch log stream (empty outside Lambda).
    pub fn log_stream_name(&self) -> &str {
        &lambda_environment().log_stream_name
    }

    /// The AWS region the function runs in (empty outside Lambda).
    pub fn region(&self) -> &str {
        &lambda_environment().region
    }
}

/// The environment's log group, log stream and region: the same for the
/// life of the instance, so asked of the host once (not copied into every
/// call's context).
fn lambda_environment() -> &'static host::LambdaEnvironment {
    static ENVIRONMENT: OnceLock<host::LambdaEnvironment> = OnceLock::new();
    ENVIRONMENT.get_or_init(host::environment)
}

/// A warmer ping, as [`Function::warm`](crate::Function::warm) sees it.
#[derive(Debug, Clone)]
pub struct WarmInfo {
    inner: types::WarmInfo,
}

impl WarmInfo {
    pub(crate) fn from_wit(inner: types::WarmInfo) -> Self {
        Self { inner }
    }

    /// The id of the Lambda environment, stable for the life of the process.
    pub fn environment(&self) -> &str {
        &self.inner.environment
    }

    /// The warmer's correlation id, if it sent one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.inner.correlation_id.as_deref()
    }

    /// How many environments the warmer asked to keep warm.
    pub fn concurrency(&self) -> u32 {
        self.inner.concurrency
    }

    /// True when the ping is the environment's first event.
    pub fn is_cold(&self) -> bool {
        self.inner.cold
    }
}
