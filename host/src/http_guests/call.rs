//! One request through an HTTP guest's `wasi:http/incoming-handler`: the
//! request handed in, the guest's `handle` run, and its response (set
//! through `response-outparam`) and body read whole, up to Lambda's payload
//! limit.
//!
//! The guest usually sets the response and then writes the body, which
//! flows through a bounded pipe: the body is read while `handle` runs (as
//! `wasmtime serve` does), or a large body would block the guest.

use std::future::Future as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use http_body_util::BodyExt as _;
use wasmtime::Store;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::Proxy;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use crate::guests::state::GuestState;
use crate::http_guests::answer::HttpResponse;
use crate::http_guests::request::HttpRequest;

/// Why a request got no response the host can answer with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `handle` returned without calling `response-outparam.set`.
    NoResponse,
    /// The guest set an error code instead of a response.
    ErrorCode(String),
    /// The body ended in an error (the guest dropped it unfinished).
    BodyFailed(String),
    /// The body passed `limit` bytes; the call was abandoned there.
    BodyTooLarge {
        /// The limit it passed.
        limit: usize,
    },
}

impl Failure {
    /// Whether the instance may serve again: not after a call abandoned
    /// midway.
    pub fn instance_usable(&self) -> bool {
        !matches!(self, Failure::BodyTooLarge { .. })
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::NoResponse => f.write_str(
                "the guest's handler returned without setting a response (`response-outparam.set` was never called)",
            ),
            Failure::ErrorCode(code) => write!(f, "the guest set an error instead of a response: {code}"),
            Failure::BodyFailed(why) => write!(f, "the response body did not end cleanly: {why}"),
            Failure::BodyTooLarge { limit } => write!(
                f,
                "the response body passed {limit} bytes, Lambda's payload limit; nothing was answered"
            ),
        }
    }
}

/// Runs `request` through the guest's handler.
///
/// # Errors
/// The outer error is a trap (or a host failure making the request's
/// resources): the instance cannot be used again.
pub async fn serve(
    proxy: &Proxy,
    store: &mut Store<GuestState>,
    request: &HttpRequest,
    body_limit: usize,
) -> wasmtime::Result<Result<HttpResponse, Failure>> {
    let hyper_request = request
        .to_hyper()
        .map_err(wasmtime::Error::msg)?
        .map(|body| body.map_err(|never| -> wasmtime_wasi_http::Error { match never {} }));
    let scheme = if request.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let set = Arc::new(AtomicBool::new(false));
    let (incoming, outparam) = {
        let mut http = store.data_mut().http();
        let incoming = http.new_incoming_request(scheme, hyper_request)?;
        let set = set.clone();
        let outparam = http.new_response_outparam_from_callback(move |response| {
            set.store(true, Ordering::Release);
            // The receiver is gone only if the call was abandoned.
            let _ = sender.send(response);
        })?;
        (incoming, outparam)
    };

    let handler = proxy.wasi_http_incoming_handler();
    let call = handler.call_handle(&mut *store, incoming, outparam);
    let response = read_response(receiver, body_limit);
    let mut call = std::pin::pin!(call);
    let mut response = std::pin::pin!(response);

    // Both at once until `handle` returns, or until the body is too large
    // (then the call is abandoned where it is).
    let mut answered = None;
    let ended = std::future::poll_fn(|cx| {
        if answered.is_none()
            && let Poll::Ready(outcome) = response.as_mut().poll(cx)
        {
            if let Err(failure @ Failure::BodyTooLarge { .. }) = outcome {
                return Poll::Ready(Ended::Abandoned(failure));
            }
            answered = Some(outcome);
        }
        call.as_mut().poll(cx).map(Ended::Returned)
    })
    .await;
    match ended {
        Ended::Abandoned(failure) => return Ok(Err(failure)),
        Ended::Returned(result) => result?,
    }
    Ok(match answered {
        Some(outcome) => outcome,
        // Never set (the guest kept the outparam): nothing will come.
        None if !set.load(Ordering::Acquire) => Err(Failure::NoResponse),
        // Set, and the body's end is still in the pipe.
        None => response.await,
    })
}

/// How the first phase of a call ended.
enum Ended {
    /// `handle` returned (or trapped).
    Returned(wasmtime::Result<()>),
    /// The body passed the limit while `handle` ran.
    Abandoned(Failure),
}

type ResponseResult = Result<hyper::Response<HyperOutgoingBody>, ErrorCode>;

/// The response once set, with its body read whole (at most `limit` bytes).
async fn read_response(
    receiver: tokio::sync::oneshot::Receiver<ResponseResult>,
    limit: usize,
) -> Result<HttpResponse, Failure> {
    let response = match receiver.await {
        Ok(Ok(response)) => response,
        Ok(Err(code)) => return Err(Failure::ErrorCode(format!("{code:?}"))),
        // The outparam was dropped unset.
        Err(_) => return Err(Failure::NoResponse),
    };
    let (parts, mut body) = response.into_parts();
    let mut bytes = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| Failure::BodyFailed(format!("{e}")))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > limit {
                return Err(Failure::BodyTooLarge { limit });
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(HttpResponse {
        status: parts.status,
        headers: parts.headers,
        body: Bytes::from(bytes),
    })
}
