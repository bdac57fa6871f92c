//! Guests' outbound HTTP: the standard `wasi:http/outgoing-handler`, with
//! every request checked, bounded, pooled and (for granted AWS services)
//! signed by the host.
//!
//! - Deny by default: a guest reaches only its `outbound` list and its
//!   `aws` grants' endpoints ([`allow_list`], [`aws_grants`]); the Runtime
//!   API and metadata addresses never, checked on the resolved address
//!   right before connecting ([`address_guard`], [`connector`]).
//! - Connections kept warm: one pool per guest, shared by its instances,
//!   reused across warm invocations (HTTP/1.1 keep-alive, HTTP/2 over TLS).
//! - Bounded: the call's deadline, a connect timeout, a response byte cap
//!   and a cap on requests in flight per guest ([`guest_client`]).
//! - Observable: a log line per call and per-invocation totals ([`call_log`]).

pub mod address_guard;
pub mod allow_list;
pub mod aws_grants;
pub mod call_log;
pub mod connector;
pub mod guest_client;
pub mod hooks;
pub mod response_body;

pub use address_guard::AddressGuard;
pub use call_log::OutboundSummary;
pub use guest_client::{GuestClient, OutboundSettings};
pub use hooks::OutboundHooks;
