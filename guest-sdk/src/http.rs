//! Outbound HTTP: call APIs, AWS services and other functions from a guest.
//!
//! A small blocking client over the standard `wasi:http/outgoing-handler`
//! (any other wasi:http client works too). The host decides what a guest
//! may reach: the destinations in its `outbound` list in `guests.toml`,
//! and the endpoints of the AWS services in its `aws` list, whose requests
//! the host signs with the function's credentials (the guest never sees
//! one). Everything else is refused with [`HttpErrorKind::Refused`].
//!
//! Connections are pooled by the host and kept across warm invocations, so
//! the second call to an API costs no new TCP or TLS handshake: like a
//! client created outside a Lambda handler. Every request ends at the
//! invocation's deadline at the latest.
//!
//! ```no_run
//! use wasm_lambda_sdk::http::{self, Request};
//! use serde::Deserialize;
//!
//! #[derive(Deserialize)]
//! struct Rate { eur: f64 }
//!
//! # fn main() -> Result<(), http::HttpError> {
//! let rate: Rate = http::get("https://api.example.com/rates/usd")?
//!     .error_for_status()?
//!     .json()?;
//! let saved = Request::post("https://api.example.com/orders")
//!     .header("x-idempotency-key", "order-17")
//!     .json(&serde_json::json!({"id": 17, "rate": rate.eur}))?
//!     .timeout(std::time::Duration::from_secs(2))
//!     .send()?;
//! println!("{}", saved.status());
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

mod url;
mod wasi_client;

/// Sends a `GET` request to `url`.
///
/// # Errors
/// See [`HttpError`].
pub fn get(url: &str) -> Result<Response, HttpError> {
    Request::get(url).send()
}

/// An HTTP request to send with [`Request::send`].
///
/// ```
/// use wasm_lambda_sdk::http::Request;
///
/// let request = Request::put("https://api.example.com/items/1")
///     .header("content-type", "text/plain")
///     .body("hello");
/// assert_eq!(request.method(), "PUT");
/// assert_eq!(request.url(), "https://api.example.com/items/1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    timeout: Option<Duration>,
}

impl Request {
    /// A request with any method (`GET`, `PATCH`, ...).
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            url: url.into(),
            headers: Vec::new(),
            body: Vec::new(),
            timeout: None,
        }
    }

    /// A `GET` request.
    pub fn get(url: impl Into<String>) -> Self {
        Self::new("GET", url)
    }

    /// A `POST` request.
    pub fn post(url: impl Into<String>) -> Self {
        Self::new("POST", url)
    }

    /// A `PUT` request.
    pub fn put(url: impl Into<String>) -> Self {
        Self::new("PUT", url)
    }

    /// A `DELETE` request.
    pub fn delete(url: impl Into<String>) -> Self {
        Self::new("DELETE", url)
    }

    /// Adds a header (names are case-insensitive; repeat for several values).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body and `content-type: application/json`.
    ///
    /// # Errors
    /// `value` cannot be serialized ([`HttpErrorKind::Json`]).
    pub fn json<T: Serialize + ?Sized>(self, value: &T) -> Result<Self, HttpError> {
        let body = serde_json::to_vec(value).map_err(|e| {
            HttpError::new(HttpErrorKind::Json, format!("serializing the body: {e}"))
        })?;
        Ok(self.header("content-type", "application/json").body(body))
    }

    /// Waits at most `timeout` for the response to start, and between its
    /// chunks; the invocation's deadline bounds the request anyway.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The method.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends the request and reads the whole response.
    ///
    /// A response with an error status is still a response: see
    /// [`Response::error_for_status`].
    ///
    /// # Errors
    /// See [`HttpError`].
    pub fn send(self) -> Result<Response, HttpError> {
        wasi_client::send(self)
    }
}

/// A whole response: status, headers and body.
///
/// ```
/// use wasm_lambda_sdk::http::Response;
///
/// let response = Response::new(200, vec![("Content-Type".into(), "application/json".into())], br#"{"n":1}"#.to_vec());
/// assert_eq!(response.header("content-type"), Some("application/json"));
/// let value: serde_json::Value = response.json().unwrap();
/// assert_eq!(value["n"], 1);
/// assert!(Response::new(404, vec![], vec![]).error_for_status().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    /// A response from its parts (for tests of code that takes responses).
    pub fn new(status: u16, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        Self {
            status,
            headers,
            body,
        }
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// True for 2xx statuses.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in the order received.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The body's bytes.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body, taken.
    pub fn into_body(self) -> Vec<u8> {
        self.body
    }

    /// The body as UTF-8 text.
    ///
    /// # Errors
    /// The body is not UTF-8 ([`HttpErrorKind::Json`]).
    pub fn text(&self) -> Result<&str, HttpError> {
        std::str::from_utf8(&self.body)
            .map_err(|e| HttpError::new(HttpErrorKind::Json, format!("the body is not UTF-8: {e}")))
    }

    /// The body parsed as JSON into `T`.
    ///
    /// # Errors
    /// The body is not JSON of that shape ([`HttpErrorKind::Json`]).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, HttpError> {
        serde_json::from_slice(&self.body).map_err(|e| {
            HttpError::new(
                HttpErrorKind::Json,
                format!(
                    "the body (status {}) is not the JSON expected: {e}",
                    self.status
                ),
            )
        })
    }

    /// The response if its status is 2xx, else an [`HttpErrorKind::Status`]
    /// error quoting the start of the body.
    ///
    /// # Errors
    /// A status outside 200-299.
    pub fn error_for_status(self) -> Result<Self, HttpError> {
        if self.is_success() {
            return Ok(self);
        }
        let body: String = String::from_utf8_lossy(&self.body)
            .chars()
            .take(200)
            .collect();
        Err(HttpError::new(
            HttpErrorKind::Status(self.status),
            format!("status {}: {body}", self.status),
        ))
    }
}

/// What kind of failure an [`HttpError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpErrorKind {
    /// The host refused the destination: not on the guest's `outbound`
    /// list nor a granted AWS service, or an address guests may never
    /// reach (the Lambda Runtime API, link-local and metadata addresses).
    Refused,
    /// No answer in time: the request's timeout or the invocation's deadline.
    Timeout,
    /// The response was larger than the guest's cap (`outbound_response_limit_mb`).
    TooLarge,
    /// The destination could not be reached (DNS, refused or reset connection, TLS).
    Connect,
    /// The URL, method or a header is not valid.
    InvalidRequest,
    /// The response's status is not 2xx (from [`Response::error_for_status`]).
    Status(u16),
    /// A body is not the JSON (or text) expected.
    Json,
    /// Any other failure.
    Other,
}

/// Why a request failed.
///
/// `?` turns it into a [`crate::Error`] of kind `Error`; [`HttpError::into_error`]
/// gives one of kind `OutboundRefused`, `OutboundTimeout` or `OutboundError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError {
    kind: HttpErrorKind,
    message: String,
}

impl HttpError {
    pub(crate) fn new(kind: HttpErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> HttpErrorKind {
        self.kind
    }

    /// What happened, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for HttpError {}

impl HttpError {
    /// A guest error whose kind says what failed: `OutboundRefused`,
    /// `OutboundTimeout` or `OutboundError`.
    ///
    /// ```no_run
    /// use wasm_lambda_sdk::{http, Error};
    ///
    /// fn status() -> Result<u16, Error> {
    ///     let response = http::get("https://api.example.com/health").map_err(|e| e.into_error())?;
    ///     Ok(response.status())
    /// }
    /// ```
    pub fn into_error(self) -> crate::Error {
        let kind = match self.kind {
            HttpErrorKind::Refused => "OutboundRefused",
            HttpErrorKind::Timeout => "OutboundTimeout",
            _ => "OutboundError",
        };
        crate::Error::new(kind, self.message)
    }
}
