//! What a guest prints: its stdout, its stderr and the SDK's `log` become
//! host log lines (plain text, or JSON with `AWS_LAMBDA_LOG_FORMAT=JSON`),
//! tagged with the guest and the request, and capped per invocation.
//!
//! CloudWatch bills ingestion by the byte, and a guest printing in a loop
//! could otherwise put hundreds of megabytes into one event's log. So each
//! invocation may print at most the guest's `log_limit_kb` (default
//! [`DEFAULT_LOG_LIMIT_BYTES`]), every line is cut at [`MAX_LINE_BYTES`],
//! and what was dropped is reported in one line at the end of the call.
//!
//! WASI streams are hand-written here (rather than wasmtime-wasi's pipes)
//! because the output must be split into lines, tagged and counted as it
//! is written; nothing in wasmtime-wasi does that.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// Guest output allowed per invocation when `guests.toml` sets no `log_limit_kb`.
pub const DEFAULT_LOG_LIMIT_BYTES: u64 = 1024 * 1024;
/// Longest line kept; the rest of a longer line is dropped (and counted).
pub const MAX_LINE_BYTES: usize = 16 * 1024;

/// Where a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// The guest's stdout.
    Stdout,
    /// The guest's stderr.
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

/// Severity of a line from the SDK's `log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `trace`.
    Trace,
    /// `debug`.
    Debug,
    /// `info`.
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
}

/// One instance's output: shared by its stdout and stderr streams and its
/// `log` import. Cheap to clone.
#[derive(Clone)]
pub struct GuestOutput {
    inner: Arc<Mutex<OutputState>>,
}

struct OutputState {
    guest: Arc<str>,
    request_id: String,
    limit: u64,
    /// Bytes printed during the current call.
    printed: u64,
    dropped_bytes: u64,
    dropped_lines: u64,
    stdout: PartialLine,
    stderr: PartialLine,
}

/// The start of a line not yet ended by a newline.
#[derive(Default)]
struct PartialLine {
    bytes: Vec<u8>,
    /// Bytes of this line past [`MAX_LINE_BYTES`], not kept.
    cut: u64,
}

/// What one call's output cost, for the closing line and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct OutputTotals {
    /// Bytes that reached the log.
    pub printed: u64,
    /// Bytes dropped over the limit or cut from long lines.
    pub dropped_bytes: u64,
    /// Lines dropped whole over the limit.
    pub dropped_lines: u64,
}

impl GuestOutput {
    /// Output for one instance of `guest`, allowed `limit` bytes per call.
    pub fn new(guest: &str, limit: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new(OutputState {
                guest: Arc::from(guest),
                request_id: String::new(),
                limit,
                printed: 0,
                dropped_bytes: 0,
                dropped_lines: 0,
                stdout: PartialLine::default(),
                stderr: PartialLine::default(),
            })),
        }
    }

    /// Starts a call for `request_id`: the whole limit is available again.
    pub fn begin(&self, request_id: &str) {
        let mut state = self.lock();
        state.request_id.clear();
        state.request_id.push_str(request_id);
        state.printed = 0;
        state.dropped_bytes = 0;
        state.dropped_lines = 0;
    }

    /// Ends a call: prints unfinished lines, then one line saying what was
    /// dropped, if anything was.
    pub fn finish(&self) -> OutputTotals {
        let mut state = self.lock();
        for stream in [Stream::Stdout, Stream::Stderr] {
            let partial = std::mem::take(state.partial(stream));
            if !partial.bytes.is_empty() || partial.cut > 0 {
                state.emit_line(stream, &partial.bytes, partial.cut);
            }
        }
        let totals = OutputTotals {
            printed: state.printed,
            dropped_bytes: state.dropped_bytes,
            dropped_lines: state.dropped_lines,
        };
        if totals.dropped_bytes > 0 {
            tracing::warn!(
                target: "guest",
                guest = &*state.guest,
                requestId = state.request_id.as_str(),
                dropped_bytes = totals.dropped_bytes,
                dropped_lines = totals.dropped_lines,
                limit_bytes = state.limit,
                "guest output capped: {} bytes dropped ({} whole lines over the {}-byte limit per invocation, long lines cut at {MAX_LINE_BYTES} bytes)",
                totals.dropped_bytes,
                totals.dropped_lines,
                state.limit
            );
        }
        totals
    }

    /// A line from the SDK's `log`.
    pub fn log(&self, level: Level, message: &str) {
        let mut state = self.lock();
        let (kept, cut) = cut_line(message.as_bytes());
        let Some(text) = state.admit(kept, cut) else {
            return;
        };
        let guest = &*state.guest;
        let request_id = state.request_id.as_str();
        match level {
            Level::Trace => {
                tracing::trace!(target: "guest", guest, requestId = request_id, "{text}")
            }
            Level::Debug => {
                tracing::debug!(target: "guest", guest, requestId = request_id, "{text}")
            }
            Level::Info => tracing::info!(target: "guest", guest, requestId = request_id, "{text}"),
            Level::Warn => tracing::warn!(target: "guest", guest, requestId = request_id, "{text}"),
            Level::Error => {
                tracing::error!(target: "guest", guest, requestId = request_id, "{text}")
            }
        }
    }

    /// A WASI stream writing into this output.
    pub fn stream(&self, stream: Stream) -> GuestStream {
        GuestStream {
            output: self.clone(),
            stream,
        }
    }

    fn write(&self, stream: Stream, mut bytes: &[u8]) {
        let mut state = self.lock();
        while !bytes.is_empty() {
            let end = bytes.iter().position(|&b| b == b'\n');
            let (piece, rest) = match end {
                Some(newline) => (&bytes[..newline], &bytes[newline + 1..]),
                None => (bytes, &[][..]),
            };
            let partial = state.partial(stream);
            let room = MAX_LINE_BYTES.saturating_sub(partial.bytes.len());
            let keep = piece.len().min(room);
            partial.bytes.extend_from_slice(&piece[..keep]);
            partial.cut += (piece.len() - keep) as u64;
            if end.is_some() {
                let line = std::mem::take(partial);
                state.emit_line(stream, &line.bytes, line.cut);
            }
            bytes = rest;
        }
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        // Only counters and buffers live here; a panic elsewhere cannot
        // leave them inconsistent enough to matter.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl OutputState {
    fn partial(&mut self, stream: Stream) -> &mut PartialLine {
        match stream {
            Stream::Stdout => &mut self.stdout,
            Stream::Stderr => &mut self.stderr,
        }
    }

    /// Counts a line against the limit: its text if it may be printed.
    fn admit(&mut self, kept: &[u8], cut: u64) -> Option<String> {
        let size = kept.len() as u64;
        if self.printed + size > self.limit {
            self.dropped_bytes += size + cut;
            self.dropped_lines += 1;
            return None;
        }
        self.printed += size;
        self.dropped_bytes += cut;
        let mut text = String::from_utf8_lossy(kept).into_owned();
        if cut > 0 {
            text.push_str(&format!(" [... {cut} bytes cut]"));
        }
        Some(text)
    }

    fn emit_line(&mut self, stream: Stream, line: &[u8], mut cut: u64) {
        let mut line = line.strip_suffix(b"\r").unwrap_or(line);
        if cut > 0
            && let Err(error) = std::str::from_utf8(line)
            && error.error_len().is_none()
        {
            // The cut split a character: drop its first bytes too.
            cut += (line.len() - error.valid_up_to()) as u64;
            line = &line[..error.valid_up_to()];
        }
        let Some(text) = self.admit(line, cut) else {
            return;
        };
        tracing::info!(
            target: "guest",
            guest = &*self.guest,
            requestId = self.request_id.as_str(),
            stream = stream.as_str(),
            "{text}"
        );
    }
}

/// A line cut at [`MAX_LINE_BYTES`] (on a character boundary) and how much was cut.
fn cut_line(line: &[u8]) -> (&[u8], u64) {
    if line.len() <= MAX_LINE_BYTES {
        return (line, 0);
    }
    let mut end = MAX_LINE_BYTES;
    while end > 0 && (line[end] & 0b1100_0000) == 0b1000_0000 {
        end -= 1;
    }
    (&line[..end], (line.len() - end) as u64)
}

/// A guest's stdout or stderr.
pub struct GuestStream {
    output: GuestOutput,
    stream: Stream,
}

impl IsTerminal for GuestStream {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestStream {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.output.stream(self.stream))
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.output.stream(self.stream))
    }
}

#[wasmtime_wasi::async_trait]
impl OutputStream for GuestStream {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.output.write(self.stream, &bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        // Never blocks: what is over the limit is dropped, not waited for.
        Ok(64 * 1024)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for GuestStream {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for GuestStream {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.output.write(self.stream, buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_over_the_limit_are_dropped_and_counted() {
        let output = GuestOutput::new("g", 10);
        output.begin("r1");
        output.write(Stream::Stdout, b"12345\n123");
        output.write(Stream::Stdout, b"45\nabcdef\n");
        let totals = output.finish();
        assert_eq!(totals.printed, 10);
        assert_eq!((totals.dropped_bytes, totals.dropped_lines), (6, 1));
        // The next call has the whole limit again.
        output.begin("r2");
        output.write(Stream::Stderr, b"abcdef");
        assert_eq!(output.finish().printed, 6);
    }

    #[test]
    fn long_lines_are_cut_on_a_character_boundary() {
        let output = GuestOutput::new("g", u64::MAX);
        output.begin("r");
        let mut long = vec![b'a'; MAX_LINE_BYTES - 1];
        long.extend_from_slice("é and more".as_bytes());
        long.push(b'\n');
        output.write(Stream::Stdout, &long);
        let totals = output.finish();
        assert_eq!(totals.printed, (MAX_LINE_BYTES - 1) as u64);
        assert_eq!(totals.dropped_bytes, "é and more".len() as u64);
        let (kept, cut) = cut_line(&long[..long.len() - 1]);
        assert_eq!((kept.len(), cut), (MAX_LINE_BYTES - 1, 11));
    }
}
