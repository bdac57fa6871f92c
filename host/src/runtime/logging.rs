//! Log set-up, following Lambda's log controls.
//!
//! - `AWS_LAMBDA_LOG_FORMAT=JSON`: every line is a JSON object with
//!   `timestamp` (RFC 3339), `level`, `message`, and the event's fields at
//!   the top level: `requestId` and `guest` where they apply (guest output
//!   carries both, and `stream` for its stdout/stderr). Text otherwise.
//! - `AWS_LAMBDA_LOG_LEVEL` (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)
//!   filters; without it `RUST_LOG` does; without either, `info`.
//!
//! Lines go to stderr: Lambda sends both streams to CloudWatch, and stdout
//! stays free for the answers `invoke` prints and for metrics (EMF).

use tracing_subscriber::EnvFilter;

/// Log format from `AWS_LAMBDA_LOG_FORMAT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Plain lines (Lambda's default).
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// The format the environment asks for.
    pub fn from_env() -> Self {
        match std::env::var("AWS_LAMBDA_LOG_FORMAT") {
            Ok(v) if v.trim().eq_ignore_ascii_case("json") => LogFormat::Json,
            _ => LogFormat::Text,
        }
    }
}

/// The filter: `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, else `info`.
fn filter() -> EnvFilter {
    let lambda_level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .ok()
        .and_then(|level| match level.trim().to_ascii_uppercase().as_str() {
            "TRACE" => Some("trace"),
            "DEBUG" => Some("debug"),
            "INFO" => Some("info"),
            "WARN" => Some("warn"),
            // Lambda's FATAL has no tracing level of its own.
            "ERROR" | "FATAL" => Some("error"),
            _ => None,
        });
    let filter = match lambda_level {
        Some(level) => EnvFilter::new(level),
        None => EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
    };
    // lambda_runtime logs every error a handler returns; the host already
    // logged each one with its guest, request id and errorType.
    match "lambda_runtime::layers::panic=off".parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Installs the global subscriber (once; later calls do nothing).
pub fn init() {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let _ = match LogFormat::from_env() {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}
