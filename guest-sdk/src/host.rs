//! Services the host gives every guest: logging and configuration.

use crate::bindings::wasm_lambda::guest::host as wit;

/// Severity of a [`log`] line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Very detailed tracing.
    Trace,
    /// Debugging detail.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the guest handled.
    Warn,
    /// Something failed.
    Error,
}

/// Writes a log line through the host: it reaches CloudWatch tagged with the
/// guest's name and the request id, filtered by the host's `RUST_LOG`.
///
/// ```no_run
/// use wasm_lambda_sdk::{log, LogLevel};
/// log(LogLevel::Info, "loaded 42 rules");
/// ```
pub fn log(level: LogLevel, message: &str) {
    let level = match level {
        LogLevel::Trace => wit::LogLevel::Trace,
        LogLevel::Debug => wit::LogLevel::Debug,
        LogLevel::Info => wit::LogLevel::Info,
        LogLevel::Warn => wit::LogLevel::Warn,
        LogLevel::Error => wit::LogLevel::Error,
    };
    wit::log(level, message);
}

/// One value of this guest's configuration (the `config` table of its entry
/// in `guests.toml`), or `None`.
///
/// ```no_run
/// let table = wasm_lambda_sdk::config("table").unwrap_or_else(|| "orders".to_owned());
/// ```
pub fn config(key: &str) -> Option<String> {
    wit::config(key)
}

/// All of this guest's configuration, sorted by key.
///
/// ```no_run
/// for (key, value) in wasm_lambda_sdk::config_entries() {
///     wasm_lambda_sdk::log(wasm_lambda_sdk::LogLevel::Debug, &format!("{key}={value}"));
/// }
/// ```
pub fn config_entries() -> Vec<(String, String)> {
    wit::config_entries()
}
