//! The contract versions this host serves, and a guest of any of them:
//! its template ([`GuestPre`]) and its instance ([`GuestInstance`]), which
//! the rest of the host calls with the newest version's types.
//!
//! A version, once released, is served for good (docs/contract.md): a new
//! version adds a bindings module, an adapter for the one before it, and a
//! variant here.
//!
//! An HTTP guest (a standard `wasi:http/proxy` component) is a guest of no
//! version: its template and instance are variants here too, called
//! through `http_guests::call`.

use wasmtime::Store;
use wasmtime::component::InstancePre;
use wasmtime_wasi_http::p2::bindings::{Proxy, ProxyPre};

use crate::guests::bindings::{types, v0_1, v0_2};
use crate::guests::contract_v0_1 as adapt_v0_1;
use crate::guests::state::GuestState;

/// The WIT package guests are built against.
pub const WIT_PACKAGE: &str = "wasm-lambda:guest";

/// A version of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContractVersion {
    /// `wasm-lambda:guest@0.1.0`.
    V0_1,
    /// `wasm-lambda:guest@0.2.0`.
    V0_2,
}

impl ContractVersion {
    /// Every version this host serves, oldest first.
    pub const SERVED: [ContractVersion; 2] = [ContractVersion::V0_1, ContractVersion::V0_2];

    /// The version new guests are built for (the SDKs' default).
    pub const NEWEST: ContractVersion = ContractVersion::V0_2;

    /// `0.1.0`, `0.2.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractVersion::V0_1 => "0.1.0",
            ContractVersion::V0_2 => "0.2.0",
        }
    }

    /// The version named `text`, if this host serves it.
    pub fn parse(text: &str) -> Option<ContractVersion> {
        Self::SERVED.into_iter().find(|v| v.as_str() == text)
    }

    /// `wasm-lambda:guest@0.1.0 and wasm-lambda:guest@0.2.0`.
    pub fn served_list() -> String {
        Self::SERVED
            .iter()
            .map(|v| format!("{WIT_PACKAGE}@{}", v.as_str()))
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

impl std::fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{WIT_PACKAGE}@{}", self.as_str())
    }
}

/// A checked guest, ready to instantiate: its version's template.
#[derive(Clone)]
pub enum GuestPre {
    /// Built for 0.1.0.
    V0_1(v0_1::GuestPre<GuestState>),
    /// Built for 0.2.0.
    V0_2(v0_2::GuestPre<GuestState>),
    /// An HTTP guest: a standard `wasi:http/proxy` component, no contract.
    Http {
        /// The template.
        pre: ProxyPre<GuestState>,
        /// The guest says each instance may serve one request only.
        one_request_per_instance: bool,
    },
}

/// The export by which an HTTP guest says each instance serves one request
/// (the JS SDK's fetch-event guests: StarlingMonkey's one `FetchEvent`
/// stays answered after the first).
pub const ONE_REQUEST_PER_INSTANCE_EXPORT: &str = "wasm-lambda:js-http-guest/instances@0.2.0";

impl GuestPre {
    /// The template of `pre`, a component built for `version`.
    ///
    /// # Errors
    /// The component's exports do not match that version's.
    pub fn new(
        version: ContractVersion,
        pre: InstancePre<GuestState>,
    ) -> wasmtime::Result<GuestPre> {
        Ok(match version {
            ContractVersion::V0_1 => GuestPre::V0_1(v0_1::GuestPre::new(pre)?),
            ContractVersion::V0_2 => GuestPre::V0_2(v0_2::GuestPre::new(pre)?),
        })
    }

    /// The template of `pre`, a component exporting
    /// `wasi:http/incoming-handler` (and, if `one_request_per_instance`,
    /// [`ONE_REQUEST_PER_INSTANCE_EXPORT`]).
    ///
    /// # Errors
    /// The export's type is not the one this host serves.
    pub fn http(
        pre: InstancePre<GuestState>,
        one_request_per_instance: bool,
    ) -> wasmtime::Result<GuestPre> {
        Ok(GuestPre::Http {
            pre: ProxyPre::new(pre)?,
            one_request_per_instance,
        })
    }

    /// Whether each instance may serve one event only (then the guest gets
    /// a fresh instance per event, whatever `guests.toml` says).
    pub fn one_event_per_instance(&self) -> bool {
        matches!(
            self,
            GuestPre::Http {
                one_request_per_instance: true,
                ..
            }
        )
    }

    /// The contract version the guest was built for (`None`: an HTTP guest).
    pub fn version(&self) -> Option<ContractVersion> {
        match self {
            GuestPre::V0_1(_) => Some(ContractVersion::V0_1),
            GuestPre::V0_2(_) => Some(ContractVersion::V0_2),
            GuestPre::Http { .. } => None,
        }
    }

    /// Whether it is an HTTP guest (`wasi:http/incoming-handler`).
    pub fn is_http(&self) -> bool {
        matches!(self, GuestPre::Http { .. })
    }

    /// A new instance in `store`.
    ///
    /// # Errors
    /// Instantiation failed (a start function trapped, a limit was hit).
    pub async fn instantiate(
        &self,
        store: &mut Store<GuestState>,
    ) -> wasmtime::Result<GuestInstance> {
        Ok(match self {
            GuestPre::V0_1(pre) => GuestInstance::V0_1(pre.instantiate_async(store).await?),
            GuestPre::V0_2(pre) => GuestInstance::V0_2(pre.instantiate_async(store).await?),
            GuestPre::Http { pre, .. } => GuestInstance::Http(pre.instantiate_async(store).await?),
        })
    }
}

/// A live guest instance of any version.
pub enum GuestInstance {
    /// Built for 0.1.0.
    V0_1(v0_1::Guest),
    /// Built for 0.2.0.
    V0_2(v0_2::Guest),
    /// An HTTP guest.
    Http(Proxy),
}

/// What an export answered: bytes or the guest's own error; the outer
/// `Err` is a trap.
pub type ExportResult<T> = wasmtime::Result<Result<T, types::GuestError>>;

impl GuestInstance {
    /// The HTTP guest's handler (`None`: an SDK guest).
    pub fn http(&self) -> Option<&Proxy> {
        match self {
            GuestInstance::Http(proxy) => Some(proxy),
            _ => None,
        }
    }

    /// Calls `init` (an HTTP guest has none: nothing to call).
    ///
    /// # Errors
    /// The guest trapped.
    pub async fn call_init(&self, store: &mut Store<GuestState>) -> ExportResult<()> {
        Ok(match self {
            GuestInstance::V0_1(guest) => guest
                .wasm_lambda_guest_function()
                .call_init(store)
                .await?
                .map_err(adapt_v0_1::guest_error),
            GuestInstance::V0_2(guest) => {
                guest.wasm_lambda_guest_function().call_init(store).await?
            }
            GuestInstance::Http(_) => Ok(()),
        })
    }

    /// Calls `handle` with the event and its context.
    ///
    /// # Errors
    /// The guest trapped.
    pub async fn call_handle(
        &self,
        store: &mut Store<GuestState>,
        event: &[u8],
        context: &types::Context,
    ) -> ExportResult<Vec<u8>> {
        Ok(match self {
            GuestInstance::V0_1(guest) => guest
                .wasm_lambda_guest_function()
                .call_handle(store, event, &adapt_v0_1::context(context))
                .await?
                .map_err(adapt_v0_1::guest_error),
            GuestInstance::V0_2(guest) => {
                guest
                    .wasm_lambda_guest_function()
                    .call_handle(store, event, context)
                    .await?
            }
            GuestInstance::Http(_) => Err(not_for_http("handle")),
        })
    }

    /// Calls `warm` for a warmer ping.
    ///
    /// # Errors
    /// The guest trapped.
    pub async fn call_warm(
        &self,
        store: &mut Store<GuestState>,
        info: &types::WarmInfo,
    ) -> ExportResult<Vec<u8>> {
        Ok(match self {
            GuestInstance::V0_1(guest) => guest
                .wasm_lambda_guest_function()
                .call_warm(store, &adapt_v0_1::warm_info(info))
                .await?
                .map_err(adapt_v0_1::guest_error),
            GuestInstance::V0_2(guest) => {
                guest
                    .wasm_lambda_guest_function()
                    .call_warm(store, info)
                    .await?
            }
            GuestInstance::Http(_) => Err(not_for_http("warm")),
        })
    }
}

/// An HTTP guest has no contract exports: its slot calls it through
/// `http_guests::call` and skips it for warmer pings, so this answers
/// only a host bug, as the guest's error rather than a panic.
fn not_for_http(export: &str) -> types::GuestError {
    types::GuestError {
        kind: "not-an-sdk-guest".to_owned(),
        message: format!("an HTTP guest has no `{export}` export"),
    }
}
