//! The `wasi:http` hooks of one guest instance: every request the guest
//! sends goes through [`GuestClient::send`] with the current call's
//! deadline, and gets its log line.

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use super::call_log::{CallRecord, OutboundSummary, OutboundTotals};
use super::guest_client::GuestClient;

type SendResult = Result<
    (
        http::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), Error>> + Send>,
    ),
    Error,
>;

/// An instance's outbound state: its guest's client (`None`: it may reach
/// nothing) and the current call's deadline, request id and totals.
pub struct OutboundHooks {
    client: Option<Arc<GuestClient>>,
    guest: Arc<str>,
    request_id: Arc<str>,
    /// The current call's deadline (copied from the store before each use).
    pub deadline: Option<Instant>,
    totals: Arc<OutboundTotals>,
}

impl OutboundHooks {
    /// Hooks for an instance of `guest`.
    pub fn new(guest: &str, client: Option<Arc<GuestClient>>) -> Self {
        Self {
            client,
            guest: Arc::from(guest),
            request_id: Arc::from(""),
            deadline: None,
            totals: Arc::default(),
        }
    }

    /// Starts a call's totals, for `request_id`.
    pub fn begin(&mut self, request_id: &str) {
        self.request_id = Arc::from(request_id);
        self.totals = Arc::default();
    }

    /// The current call's totals.
    pub fn summary(&self) -> OutboundSummary {
        self.totals.summary()
    }
}

/// wasi:http's default forbidden headers (`host`, `connection`, ...) stay:
/// a guest cannot set `Host` to something other than the URL it was allowed.
impl WasiHttpHooks for OutboundHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _response_errors: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = SendResult> + Send> {
        let mut record = CallRecord::start(
            self.guest.clone(),
            self.request_id.clone(),
            request.method().as_str(),
        );
        let totals = self.totals.clone();
        let client = self.client.clone();
        let deadline = self.deadline;
        Box::new(async move {
            let Some(client) = client else {
                record.host = request
                    .uri()
                    .authority()
                    .map(ToString::to_string)
                    .unwrap_or_default();
                record.finish(
                    &totals,
                    Some("the guest has no `outbound` or `aws` grants in guests.toml"),
                );
                return Err(Error::HttpRequestDenied);
            };
            let first_byte = options.and_then(|o| o.first_byte_timeout);
            match client
                .send(request, deadline, first_byte, &mut record)
                .await
            {
                Ok(response) => {
                    record.finish(&totals, None);
                    Ok((
                        response,
                        Box::new(async { Ok(()) }) as Box<dyn Future<Output = _> + Send>,
                    ))
                }
                Err(refused) => {
                    record.finish(&totals, Some(&refused.reason));
                    Err(refused.code)
                }
            }
        })
    }
}
