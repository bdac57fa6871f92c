//! A response body as a guest reads it: cut with an error at the guest's
//! byte cap, ended with an error at its deadline, and holding the guest's
//! concurrent-request permit until it is finished or dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Sleep;
use wasmtime_wasi_http::Error;

/// The body of one outbound response.
pub struct GuardedBody {
    inner: Incoming,
    limit: u64,
    received: u64,
    deadline: Pin<Box<Sleep>>,
    /// Dropped (freeing a request slot) at the end of the body.
    permit: Option<OwnedSemaphorePermit>,
    failed: bool,
    /// Guest and request id, for the log line when the body is cut: the
    /// guest's own error may say less (a JS engine's says only "IO error").
    guest: Arc<str>,
    request_id: Arc<str>,
}

impl GuardedBody {
    /// Wraps `inner`: at most `limit` bytes, until `deadline`; `guest` and
    /// `request_id` name the call in the log if it is cut.
    pub fn new(
        inner: Incoming,
        limit: u64,
        deadline: Instant,
        permit: OwnedSemaphorePermit,
        (guest, request_id): (Arc<str>, Arc<str>),
    ) -> Self {
        Self {
            inner,
            limit,
            received: 0,
            deadline: Box::pin(tokio::time::sleep_until(deadline.into())),
            permit: Some(permit),
            failed: false,
            guest,
            request_id,
        }
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        self.failed = true;
        self.permit = None;
        Poll::Ready(Some(Err(error)))
    }
}

impl Body for GuardedBody {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.received = self.received.saturating_add(data.len() as u64);
                    if self.received > self.limit {
                        let limit = self.limit;
                        tracing::warn!(
                            guest = %self.guest,
                            requestId = %self.request_id,
                            "outbound response cut at {limit} bytes: over the guest's cap (outbound_response_limit_mb)"
                        );
                        return self.fail(Error::HttpResponseBodySize(Some(limit)));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(error))) => self.fail(Error::from(error)),
            Poll::Ready(None) => {
                self.permit = None;
                Poll::Ready(None)
            }
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready() {
                    tracing::warn!(
                        guest = %self.guest,
                        requestId = %self.request_id,
                        "outbound response ended: its body was still arriving at the guest's deadline"
                    );
                    return self.fail(Error::ConnectionReadTimeout);
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
