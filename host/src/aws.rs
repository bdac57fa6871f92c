//! What the host needs of AWS itself, shared by every caller of an AWS API
//! (the Invoke API for warmer fan-out, guests' granted calls): the
//! function's credentials and region as Lambda puts them in the
//! environment, service endpoints with the standard `AWS_ENDPOINT_URL_*`
//! overrides, and SigV4 signing through the official `aws-sigv4` crate.

pub mod environment;
pub mod sigv4;

pub use environment::{AwsEnvironment, endpoint_override, env_service_id};
pub use sigv4::sign_request;

/// An error and its causes on one line (what AWS and HTTP clients' nested
/// errors need to say what actually went wrong).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
