//! Test support for wasm-lambda: the guests built by this crate's build
//! script, folders to deploy them in, the real Runtime API emulator
//! (cargo-lambda), a real S3 and DynamoDB API (moto), a keep-alive HTTP
//! server, and the real host binary.

pub mod dynamodb;
pub mod emulator;
pub mod guests;
pub mod host_process;
pub mod http_server;
pub mod iam;
pub mod lambda;
pub mod link_order;
pub mod s3;
pub mod tls_server;
pub mod wat_components;

pub use emulator::{Emulator, Invoked};
pub use guests::{GuestFolder, guest_wasm, model_file, model_reference};
pub use host_process::HostProcess;
pub use http_server::HttpServer;
pub use lambda::Lambda;
pub use s3::{S3Server, S3Tap, ThrottlingS3};
pub use tls_server::TlsServer;

/// The workspace root.
pub fn workspace_root() -> std::path::PathBuf {
    env!("WASM_LAMBDA_WORKSPACE").into()
}

/// An HTTP client that returns error statuses as answers, for test calls.
pub fn plain_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}
