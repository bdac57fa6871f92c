//! HTTP guests: standard `wasi:http/proxy` components (what Spin,
//! wasmCloud and `wasmtime serve` run), served on Lambda unchanged. An
//! HTTP event becomes the [`request`] the client sent, the guest's
//! `incoming-handler` is [`call`]ed with it, and its response becomes the
//! [`answer`] shaped for the event's kind.

pub mod answer;
pub mod call;
pub mod request;
