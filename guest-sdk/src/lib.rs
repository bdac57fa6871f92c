//! Write WebAssembly guests for the **wasm-lambda** host.
//!
//! A guest is a Rust library crate (`crate-type = ["cdylib"]`) built with
//! `cargo build --target wasm32-wasip2 --release`. It implements [`Function`]
//! and exports it with [`export_function!`]; the host keeps the instance
//! alive across warm invocations, so state built in [`Function::init`] (or
//! kept in `self`) is reused exactly like code outside a Lambda handler.
//!
//! ```
//! use wasm_lambda_sdk::{export_function, Context, Error, Function};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize)]
//! struct Order { id: String, quantity: u32 }
//!
//! #[derive(Serialize)]
//! struct Receipt { id: String, accepted: bool, request_id: String }
//!
//! #[derive(Default)]
//! struct Orders { seen: u64 }
//!
//! impl Function for Orders {
//!     type Event = Order;
//!     type Output = Receipt;
//!
//!     fn handle(&mut self, order: Order, ctx: &Context) -> Result<Receipt, Error> {
//!         if order.quantity == 0 {
//!             return Err(Error::new("ValidationError", "quantity must be positive"));
//!         }
//!         self.seen += 1;
//!         Ok(Receipt { id: order.id, accepted: true, request_id: ctx.request_id().to_owned() })
//!     }
//! }
//!
//! export_function!(Orders);
//! # fn main() {}
//! ```
#![warn(missing_docs)]

// Lets the generated bindings name this crate by its public path, which is
// also how they are reached from a guest crate through `export_function!`.
extern crate self as wasm_lambda_sdk;

mod context;
mod error;
mod export;
mod host;
pub mod http;
pub mod models;

pub use context::{Context, WarmInfo};
pub use error::Error;
pub use host::{LogLevel, config, config_entries, log};

/// Re-exported so guests need not depend on `serde_json` to use [`Value`](serde_json::Value).
pub use serde_json;

/// The bindings generated from the host's WIT contract. Not part of the API:
/// use [`Function`] and [`export_function!`] instead.
#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "guest",
        path: "wit/0.2.0",
        pub_export_macro: true,
        export_macro_name: "__export_guest_world",
        default_bindings_module: "::wasm_lambda_sdk::bindings",
        runtime_path: "::wasm_lambda_sdk::__private::wit_bindgen::rt",
    });
}

/// Items the [`export_function!`] macro expands to. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::export::{run_handle, run_init, run_warm};
    pub use wit_bindgen;
}

/// The WIT package version this SDK builds guests for
/// (`wasm-lambda:guest@0.2.0`; hosts serve every released version).
pub const WIT_VERSION: &str = "0.2.0";

/// A Lambda function written as a wasm-lambda guest.
///
/// The host creates one instance per guest at init, calls [`init`](Function::init)
/// once, then [`handle`](Function::handle) for every event routed to the guest
/// and [`warm`](Function::warm) for every warmer ping. `init` and `warm` are
/// optional.
///
/// An instance handles one event at a time. When the function runs on
/// Lambda Managed Instances with `AWS_LAMBDA_MAX_CONCURRENCY` above 1, the
/// host keeps several instances of a guest (one per invocation running at
/// once), each with its own `self` and `init`: state is per instance, as it
/// is per environment on classic Lambda. Whatever you print (stdout,
/// stderr, [`log`]) lands in the function's log, tagged with the guest and
/// the request id, up to `log_limit_kb` (1 MiB) per invocation.
///
/// The event type is anything serde can deserialize: [`serde_json::Value`],
/// your own structs, or the `aws_lambda_events` types.
///
/// ```
/// use aws_lambda_events::sqs::SqsEvent;
/// use wasm_lambda_sdk::{Context, Error, Function};
///
/// #[derive(Default)]
/// struct CountMessages;
///
/// impl Function for CountMessages {
///     type Event = SqsEvent;
///     type Output = usize;
///
///     fn handle(&mut self, event: SqsEvent, _ctx: &Context) -> Result<usize, Error> {
///         Ok(event.records.len())
///     }
/// }
/// ```
pub trait Function: Default + 'static {
    /// What events are deserialized into.
    type Event: serde::de::DeserializeOwned;
    /// What answers are serialized from.
    type Output: serde::Serialize;

    /// Runs once per instance, before its first event or warmer ping: parse
    /// configuration, build lookup tables, open connections here.
    ///
    /// # Errors
    /// An error marks the instance as failed; every event routed to the guest
    /// gets a `GuestInitFailed` error until an `init` succeeds.
    fn init(&mut self) -> Result<(), Error> {
        Ok(())
    }

    /// Handles one event.
    ///
    /// # Errors
    /// Returned errors reach the caller as a Lambda function error of type
    /// `GuestError` whose message carries [`Error::kind`] and the message.
    fn handle(&mut self, event: Self::Event, ctx: &Context) -> Result<Self::Output, Error>;

    /// Runs on a warmer ping instead of [`handle`](Function::handle); its
    /// answer is reported back to the warmer. Never run business logic here:
    /// touch what should stay warm (caches, connections) and return.
    ///
    /// # Errors
    /// An error is reported in the warmer's answer; the ping itself succeeds.
    fn warm(&mut self, info: &WarmInfo) -> Result<serde_json::Value, Error> {
        let _ = info;
        Ok(serde_json::Value::Null)
    }
}

/// Exports a [`Function`] implementation as this component's guest.
///
/// Use it once per guest crate, at the crate root:
///
/// ```
/// use wasm_lambda_sdk::{export_function, Context, Error, Function};
/// use wasm_lambda_sdk::serde_json::Value;
///
/// #[derive(Default)]
/// struct Echo;
///
/// impl Function for Echo {
///     type Event = Value;
///     type Output = Value;
///     fn handle(&mut self, event: Value, _ctx: &Context) -> Result<Value, Error> {
///         Ok(event)
///     }
/// }
///
/// export_function!(Echo);
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! export_function {
    ($function:ty) => {
        const _: () = {
            ::std::thread_local! {
                static __WASM_LAMBDA_STATE: ::std::cell::RefCell<::std::option::Option<$function>> =
                    const { ::std::cell::RefCell::new(::std::option::Option::None) };
            }

            struct __WasmLambdaExport;

            impl $crate::bindings::exports::wasm_lambda::guest::function::Guest for __WasmLambdaExport {
                fn init() -> ::std::result::Result<(), $crate::bindings::wasm_lambda::guest::types::GuestError> {
                    __WASM_LAMBDA_STATE.with(|state| $crate::__private::run_init::<$function>(state))
                }

                fn handle(
                    event: ::std::vec::Vec<u8>,
                    context: $crate::bindings::wasm_lambda::guest::types::Context,
                ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::bindings::wasm_lambda::guest::types::GuestError> {
                    __WASM_LAMBDA_STATE.with(|state| $crate::__private::run_handle::<$function>(state, event, context))
                }

                fn warm(
                    info: $crate::bindings::wasm_lambda::guest::types::WarmInfo,
                ) -> ::std::result::Result<::std::vec::Vec<u8>, $crate::bindings::wasm_lambda::guest::types::GuestError> {
                    __WASM_LAMBDA_STATE.with(|state| $crate::__private::run_warm::<$function>(state, info))
                }
            }

            $crate::bindings::__export_guest_world!(__WasmLambdaExport with_types_in $crate::bindings);
        };
    };
}
