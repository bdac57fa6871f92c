//! The client context and Cognito identity of each invocation, as Lambda
//! sent them.
//!
//! Why a layer of our own: `lambda_runtime` hands the handler these two
//! headers only parsed into its own structs, which keep a fixed set of
//! fields (the mobile SDK's `env` and any non-string custom value are
//! lost). Guests get them as received, so this layer, which sees each
//! invocation's raw headers before the handler runs, keeps them for the
//! length of that invocation's handling (a tokio task-local: concurrent
//! invocations each see their own).
//!
//! Lambda sends the client context as JSON (as the AWS runtimes read it);
//! cargo-lambda's emulator sends it base64-encoded, as the Invoke API takes
//! it. Base64 of JSON is decoded, so guests see JSON either way.

use std::task::{Context, Poll};

use lambda_runtime::{LambdaInvocation, Service};

tokio::task_local! {
    static CURRENT: RawCallerHeaders;
}

/// The raw values of the invocation being handled.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawCallerHeaders {
    /// `Lambda-Runtime-Client-Context`.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`.
    pub cognito_identity: Option<String>,
}

impl RawCallerHeaders {
    fn from_headers(headers: &http::HeaderMap) -> Self {
        let text = |name: &str| {
            headers
                .get(name)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .filter(|value| !value.is_empty())
        };
        Self {
            client_context: text("lambda-runtime-client-context").map(json_if_base64),
            cognito_identity: text("lambda-runtime-cognito-identity"),
        }
    }

    /// The values of the invocation this task is handling (none outside
    /// [`KeepCallerHeaders`]).
    pub fn current() -> Self {
        CURRENT.try_with(Clone::clone).unwrap_or_default()
    }
}

/// `value` as is if it is JSON (or nothing else it could be); the JSON it
/// encodes if it is base64 of JSON.
fn json_if_base64(value: String) -> String {
    use base64::Engine as _;
    if serde_json::from_str::<serde::de::IgnoredAny>(&value).is_ok() {
        return value;
    }
    base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|text| serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok())
        .unwrap_or(value)
}

/// Wraps `lambda_runtime`'s service: each invocation is handled with its
/// raw caller headers at hand ([`RawCallerHeaders::current`]).
#[derive(Clone)]
pub struct KeepCallerHeaders<S>(pub S);

impl<S> Service<LambdaInvocation> for KeepCallerHeaders<S>
where
    S: Service<LambdaInvocation>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = tokio::task::futures::TaskLocalFuture<RawCallerHeaders, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let raw = RawCallerHeaders::from_headers(&invocation.parts.headers);
        CURRENT.scope(raw, self.0.call(invocation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_kept_as_sent_and_empty_ones_are_absent() {
        let mut headers = http::HeaderMap::new();
        let sent = r#"{"client":{"installation_id":"i-1"},"custom":{"n":1},"env":{"locale":"de"}}"#;
        headers.insert("lambda-runtime-client-context", sent.parse().unwrap());
        headers.insert("lambda-runtime-cognito-identity", "".parse().unwrap());
        let raw = RawCallerHeaders::from_headers(&headers);
        assert_eq!(raw.client_context.as_deref(), Some(sent));
        assert_eq!(raw.cognito_identity, None);
        // Base64 of JSON (cargo-lambda's emulator) reads as the JSON; other
        // text stays as sent.
        let mut encoded = http::HeaderMap::new();
        encoded.insert(
            "lambda-runtime-client-context",
            "eyJjdXN0b20iOnsiY2FydCI6IjcifX0=".parse().unwrap(),
        );
        assert_eq!(
            RawCallerHeaders::from_headers(&encoded)
                .client_context
                .as_deref(),
            Some(r#"{"custom":{"cart":"7"}}"#)
        );
        assert_eq!(json_if_base64("not json".into()), "not json");
        // Outside an invocation there is nothing.
        assert_eq!(RawCallerHeaders::current(), RawCallerHeaders::default());
    }
}
