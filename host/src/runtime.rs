//! Talking to Lambda: the [`runtime_api`] client, the [`invoke_api`] client
//! (warmer fan-out, `warm`), the [`runtime_loop`], the
//! [`settings`] read from the environment, this [`environment`]'s identity,
//! one [`invocation`] and its errors, [`logging`], CloudWatch [`metrics`], and the tokio
//! [`executor`] guests run on.

pub(crate) mod caller_headers;
pub(crate) mod environment;
pub mod executor;
pub mod invocation;
pub mod invoke_api;
pub mod logging;
pub mod metrics;
pub mod runtime_api;
pub mod runtime_loop;
pub mod settings;
