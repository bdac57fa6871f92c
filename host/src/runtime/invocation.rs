//! One invocation's identity, and every way it can fail.
//!
//! Each failure maps to a Lambda function error: `errorType` says what failed
//! (the table in docs/errors.md), `errorMessage` names the guest and the cause.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Lambda's limit for synchronous request and response payloads.
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;

/// The invocation being served, as the Runtime API described it.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub request_id: String,
    /// `Lambda-Runtime-Deadline-Ms`, as a time.
    pub deadline: SystemTime,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub invoked_function_arn: String,
    /// Who called, and the trace it belongs to, as Lambda passed them on.
    pub caller: Caller,
}

/// What Lambda says about an invocation's caller: each value as received
/// from the Runtime API (absent when the header was), passed to guests
/// unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    /// `Lambda-Runtime-Trace-Id`: the X-Ray trace header.
    pub trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`: JSON.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`: JSON.
    pub cognito_identity: Option<String>,
    /// `Lambda-Runtime-Aws-Tenant-Id`.
    pub tenant_id: Option<String>,
}

impl Invocation {
    /// The deadline in milliseconds since the Unix epoch.
    pub fn deadline_ms(&self) -> u64 {
        let since_epoch = self.deadline.duration_since(UNIX_EPOCH).unwrap_or_default();
        u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
    }

    /// Time left before Lambda's deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline
            .duration_since(SystemTime::now())
            .unwrap_or_default()
    }
}

/// Why an invocation has no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    /// No rule routes the event.
    #[error("{0}")]
    NoRoute(String),
    /// The event is not JSON, or is a malformed instance of a known shape.
    #[error("bad event: {0}")]
    BadEvent(String),
    /// The event or the answer exceeds Lambda's 6 MB payload limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The guest could not be loaded at init.
    #[error("guest `{guest}` failed to load: {reason}")]
    GuestLoadFailed {
        /// Guest name.
        guest: String,
        /// Why loading failed.
        reason: String,
    },
    /// Instantiating the guest or its `init` hook failed.
    #[error("guest `{guest}` failed to initialize: {reason}")]
    GuestInitFailed {
        /// Guest name.
        guest: String,
        /// What went wrong.
        reason: String,
    },
    /// The guest trapped (panic, unreachable, stack overflow, ...).
    #[error("guest `{guest}` trapped: {detail}")]
    GuestTrapped {
        /// Guest name.
        guest: String,
        /// The trap and its wasm backtrace.
        detail: String,
    },
    /// The guest ran past its time budget.
    #[error("guest `{guest}` timed out after {elapsed_ms} ms (budget {budget_ms} ms)")]
    GuestTimeout {
        /// Guest name.
        guest: String,
        /// How long it ran.
        elapsed_ms: u64,
        /// What it was allowed.
        budget_ms: u64,
    },
    /// The guest tried to grow its memory past its limit.
    #[error("guest `{guest}` hit its memory limit of {limit_mb} MB")]
    GuestMemoryLimit {
        /// Guest name.
        guest: String,
        /// The limit.
        limit_mb: u64,
    },
    /// The guest returned an error on purpose.
    #[error("guest `{guest}` returned an error ({kind}): {message}")]
    GuestError {
        /// Guest name.
        guest: String,
        /// The guest's error kind.
        kind: String,
        /// The guest's message.
        message: String,
    },
    /// The guest answered with something the host cannot send: bytes
    /// that are not JSON, or an HTTP guest's missing or broken response.
    #[error("guest `{guest}` gave an answer the host cannot send: {detail}")]
    InvalidAnswer {
        /// Guest name.
        guest: String,
        /// What is wrong with it.
        detail: String,
    },
    /// A bug in the host; caught so the environment keeps serving.
    #[error("host panic: {0}")]
    HostPanic(String),
}

impl InvocationError {
    /// The Lambda `errorType`.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::NoRoute(_) => "NoRoute",
            Self::BadEvent(_) => "BadEvent",
            Self::PayloadTooLarge(_) => "PayloadTooLarge",
            Self::GuestLoadFailed { .. } => "GuestLoadFailed",
            Self::GuestInitFailed { .. } => "GuestInitFailed",
            Self::GuestTrapped { .. } => "GuestTrapped",
            Self::GuestTimeout { .. } => "GuestTimeout",
            Self::GuestMemoryLimit { .. } => "GuestMemoryLimit",
            Self::GuestError { .. } => "GuestError",
            Self::InvalidAnswer { .. } => "InvalidAnswer",
            Self::HostPanic(_) => "HostPanic",
        }
    }

    /// The Runtime API's error body.
    pub fn to_json(&self) -> serde_json::Value {
        error_body(self.error_type(), &self.to_string())
    }
}

/// A Lambda error body, as the Runtime API's error endpoints take it and
/// as `invoke` prints it.
pub fn error_body(error_type: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "errorType": error_type, "errorMessage": message, "stackTrace": [] })
}

/// The text of a caught panic (a host bug, reported and survived).
pub fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned())
}
