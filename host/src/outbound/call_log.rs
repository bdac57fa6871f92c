//! One log line per outbound call (guest, request id, method, host, status,
//! milliseconds, new or reused connection, the AWS service it was signed
//! for) and the per-invocation totals that become EMF metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Whether a call opened a connection or reused a pooled one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConnectionUse {
    /// No response, so no connection to speak of.
    #[default]
    Unknown,
    /// Opened for this call.
    New,
    /// Kept from an earlier call.
    Reused,
}

impl ConnectionUse {
    fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "none",
            Self::New => "new",
            Self::Reused => "reused",
        }
    }
}

/// What one call did, filled in as it goes.
#[derive(Debug)]
pub struct CallRecord {
    /// The guest's name.
    pub guest: Arc<str>,
    /// The invocation's request id ("" during `init`).
    pub request_id: Arc<str>,
    /// HTTP method.
    pub method: String,
    /// `host:port`.
    pub host: String,
    /// The response status, if one came.
    pub status: Option<u16>,
    /// New or reused connection.
    pub connection: ConnectionUse,
    /// The AWS service the host signed the request for.
    pub signed_for: Option<String>,
    started: Instant,
}

impl CallRecord {
    /// A record starting now.
    pub fn start(guest: Arc<str>, request_id: Arc<str>, method: &str) -> Self {
        Self {
            guest,
            request_id,
            method: method.to_owned(),
            host: String::new(),
            status: None,
            connection: ConnectionUse::Unknown,
            signed_for: None,
            started: Instant::now(),
        }
    }

    /// Writes the call's line and adds it to `totals`; `failure` is why
    /// it got no response, if it did not.
    pub fn finish(self, totals: &OutboundTotals, failure: Option<&str>) {
        let elapsed = self.started.elapsed();
        totals.add(&self, elapsed, failure.is_some());
        let ms = elapsed.as_secs_f64() * 1e3;
        let signed = self.signed_for.as_deref().unwrap_or("");
        match failure {
            None => tracing::info!(
                guest = %self.guest,
                requestId = %self.request_id,
                method = %self.method,
                host = %self.host,
                status = self.status.unwrap_or(0),
                ms,
                connection = self.connection.as_str(),
                signed,
                "outbound call"
            ),
            Some(reason) => tracing::warn!(
                guest = %self.guest,
                requestId = %self.request_id,
                method = %self.method,
                host = %self.host,
                ms,
                signed,
                "outbound call failed: {reason}"
            ),
        }
    }
}

/// One invocation's outbound totals, shared with the calls it started.
#[derive(Debug, Default)]
pub struct OutboundTotals {
    calls: AtomicU64,
    failed: AtomicU64,
    new_connections: AtomicU64,
    micros: AtomicU64,
}

/// A snapshot of [`OutboundTotals`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboundSummary {
    /// Calls made.
    pub calls: u64,
    /// Calls refused or failed before a response.
    pub failed: u64,
    /// Calls that opened a connection.
    pub new_connections: u64,
    /// Time from send to response headers, summed.
    pub time: Duration,
}

impl OutboundTotals {
    fn add(&self, record: &CallRecord, elapsed: Duration, failed: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
        if record.connection == ConnectionUse::New {
            self.new_connections.fetch_add(1, Ordering::Relaxed);
        }
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// The totals so far.
    pub fn summary(&self) -> OutboundSummary {
        OutboundSummary {
            calls: self.calls.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            new_connections: self.new_connections.load(Ordering::Relaxed),
            time: Duration::from_micros(self.micros.load(Ordering::Relaxed)),
        }
    }
}
