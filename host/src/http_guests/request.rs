//! An HTTP event (API Gateway REST v1, HTTP API v2, Function URL, ALB)
//! read as the request the client sent, for an HTTP guest's
//! `wasi:http/incoming-handler`.
//!
//! Read with typed structs rather than a `serde_json::Value`: the host's
//! `Value` sorts object keys, and the order of repeated query parameters
//! and headers is part of the request.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Deserialize;

use crate::runtime::invocation::Invocation;

/// Which kind of HTTP event it was: the answer takes the same kind's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// API Gateway REST API (payload format 1.0).
    RestV1,
    /// API Gateway HTTP API or a Lambda Function URL (payload format 2.0).
    HttpV2,
    /// An Application Load Balancer target group; `multi_value` when the
    /// group has multi-value headers on (the event then carries
    /// `multiValueHeaders`, and the answer must too).
    Alb {
        /// Multi-value headers are on.
        multi_value: bool,
    },
}

impl EventKind {
    /// A name for logs and errors.
    pub fn describe(self) -> &'static str {
        match self {
            EventKind::RestV1 => "an API Gateway REST (v1) event",
            EventKind::HttpV2 => "an HTTP API (v2) or Function URL event",
            EventKind::Alb { .. } => "an ALB event",
        }
    }
}

/// The request an HTTP event carries.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The event's kind, for the answer's shape.
    pub kind: EventKind,
    /// The method.
    pub method: Method,
    /// `https`, unless `x-forwarded-proto` says `http`.
    pub https: bool,
    /// The `host` header, else the request context's domain name.
    pub authority: String,
    /// Path and query as the client sent them.
    pub path_and_query: String,
    /// Every header, repeated ones repeated, cookies included.
    pub headers: HeaderMap,
    /// The body, base64-decoded when the event says so.
    pub body: Bytes,
}

/// The header that carries the invocation's Lambda context to an HTTP
/// guest, named and shaped as the AWS Lambda Web Adapter does.
pub const LAMBDA_CONTEXT_HEADER: &str = "x-amzn-lambda-context";

impl HttpRequest {
    /// Sets [`LAMBDA_CONTEXT_HEADER`] to the invocation's request id,
    /// deadline, function ARN and trace id (JSON), replacing any the client
    /// sent: a guest can trust it came from Lambda.
    pub fn set_lambda_context(&mut self, invocation: &Invocation) {
        let context = serde_json::json!({
            "request_id": invocation.request_id,
            "deadline": invocation.deadline_ms(),
            "invoked_function_arn": invocation.invoked_function_arn,
            "xray_trace_id": invocation.caller.trace_id,
        });
        if let Ok(value) = HeaderValue::from_str(&context.to_string()) {
            self.headers.insert(LAMBDA_CONTEXT_HEADER, value);
        } else {
            self.headers.remove(LAMBDA_CONTEXT_HEADER);
        }
    }

    /// The request as hyper has it (what wasmtime-wasi-http takes).
    ///
    /// # Errors
    /// The path or authority cannot make a URI (already checked when read,
    /// so only for requests built by hand).
    pub fn to_hyper(&self) -> Result<http::Request<http_body_util::Full<Bytes>>, String> {
        let scheme = if self.https { "https" } else { "http" };
        let uri = http::Uri::builder()
            .scheme(scheme)
            .authority(self.authority.as_str())
            .path_and_query(self.path_and_query.as_str())
            .build()
            .map_err(|e| format!("request URI: {e}"))?;
        let mut request = http::Request::new(http_body_util::Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = self.headers.clone();
        Ok(request)
    }
}

/// A JSON object read in its order, keys repeated as they came.
#[derive(Debug, Default)]
struct Ordered<T>(Vec<(String, T)>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Ordered<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visit<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Visit<T> {
            type Value = Ordered<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Ordered<T>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Ordered(entries))
            }
        }
        deserializer.deserialize_map(Visit(std::marker::PhantomData))
    }
}

/// The fields of all four kinds that the request is made from (any may be
/// missing or `null`; which must be there depends on the kind).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawEvent {
    version: Option<String>,
    request_context: Option<RequestContext>,
    raw_path: Option<String>,
    raw_query_string: Option<String>,
    cookies: Option<Vec<String>>,
    http_method: Option<String>,
    path: Option<String>,
    query_string_parameters: Option<Ordered<Option<String>>>,
    multi_value_query_string_parameters: Option<Ordered<Option<Vec<String>>>>,
    headers: Option<Ordered<Option<String>>>,
    multi_value_headers: Option<Ordered<Option<Vec<String>>>>,
    body: Option<String>,
    is_base64_encoded: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestContext {
    http: Option<HttpContext>,
    elb: Option<serde::de::IgnoredAny>,
    domain_name: Option<String>,
}

#[derive(Deserialize)]
struct HttpContext {
    method: Option<String>,
}

/// Characters a path or query from an event may hold that a URI may not
/// (API Gateway hands some over decoded): encoded, everything else kept
/// exactly as sent.
const NOT_IN_URI: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'<')
    .add(b'>')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'|')
    .add(b'\\')
    .add(b'^')
    .add(b'#');

/// What a decoded query parameter (REST v1) must have encoded to be one
/// again: also the query's own separators.
const QUERY_COMPONENT: &AsciiSet = &NOT_IN_URI.add(b'&').add(b'=').add(b'+').add(b'%');

/// Reads an HTTP event as its request.
///
/// # Errors
/// The event is not an HTTP event of a known kind, or lacks what its kind
/// needs (method, path), or holds a header or body that cannot be sent:
/// the message says which.
pub fn from_event(event: &[u8]) -> Result<HttpRequest, String> {
    let raw: RawEvent =
        serde_json::from_slice(event).map_err(|e| format!("not an HTTP event: {e}"))?;
    let context = raw.request_context.as_ref();
    let is_v2 = context.is_some_and(|c| c.http.is_some()) || raw.version.as_deref() == Some("2.0");
    let is_alb = context.is_some_and(|c| c.elb.is_some());
    if is_v2 {
        from_v2(raw)
    } else if raw.http_method.is_some() {
        let kind = if is_alb {
            EventKind::Alb {
                multi_value: raw.multi_value_headers.is_some(),
            }
        } else {
            EventKind::RestV1
        };
        from_v1_or_alb(raw, kind)
    } else {
        Err("not an HTTP event: an API Gateway (REST or HTTP API), Function URL or ALB event has `requestContext` with `http` (v2) or `httpMethod` (v1, ALB)".to_owned())
    }
}

fn from_v2(raw: RawEvent) -> Result<HttpRequest, String> {
    let method = raw
        .request_context
        .as_ref()
        .and_then(|c| c.http.as_ref())
        .and_then(|h| h.method.as_deref())
        .ok_or("HTTP API (v2) event without `requestContext.http.method`")?;
    let path = raw
        .raw_path
        .as_deref()
        .ok_or("HTTP API (v2) event without a string `rawPath`")?;
    let query = raw.raw_query_string.as_deref().unwrap_or("");
    let mut headers = HeaderMap::new();
    for (name, value) in raw.headers.iter().flat_map(|h| &h.0) {
        if let Some(value) = value {
            append(&mut headers, name, value)?;
        }
    }
    // HTTP API and Function URLs take the `cookie` header apart into
    // `cookies`; the guest gets one header again, as the client sent it.
    if let Some(cookies) = raw.cookies.as_ref().filter(|c| !c.is_empty()) {
        append(&mut headers, "cookie", &cookies.join("; "))?;
    }
    finish(
        EventKind::HttpV2,
        method,
        path,
        query,
        headers,
        &raw,
        raw.body.as_deref(),
    )
}

fn from_v1_or_alb(raw: RawEvent, kind: EventKind) -> Result<HttpRequest, String> {
    let what = kind.describe();
    let method = raw
        .http_method
        .as_deref()
        .ok_or_else(|| format!("{what} without `httpMethod`"))?;
    let path = raw
        .path
        .as_deref()
        .ok_or_else(|| format!("{what} without a string `path`"))?;
    // REST APIs hand over query parameters decoded; an ALB as the client
    // sent them.
    let encode = |text: &str| match kind {
        EventKind::Alb { .. } => text.to_owned(),
        _ => utf8_percent_encode(text, QUERY_COMPONENT).to_string(),
    };
    let mut query = Vec::new();
    if let Some(multi) = &raw.multi_value_query_string_parameters {
        for (name, values) in &multi.0 {
            for value in values.iter().flatten() {
                query.push(format!("{}={}", encode(name), encode(value)));
            }
        }
    } else if let Some(single) = &raw.query_string_parameters {
        for (name, value) in &single.0 {
            if let Some(value) = value {
                query.push(format!("{}={}", encode(name), encode(value)));
            }
        }
    }
    let mut headers = HeaderMap::new();
    if let Some(multi) = &raw.multi_value_headers {
        for (name, values) in &multi.0 {
            for value in values.iter().flatten() {
                append(&mut headers, name, value)?;
            }
        }
    } else if let Some(single) = &raw.headers {
        for (name, value) in &single.0 {
            if let Some(value) = value {
                append(&mut headers, name, value)?;
            }
        }
    }
    finish(
        kind,
        method,
        path,
        &query.join("&"),
        headers,
        &raw,
        raw.body.as_deref(),
    )
}

fn append(headers: &mut HeaderMap, name: &str, value: &str) -> Result<(), String> {
    let header = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("header name `{name}` is not a valid HTTP header name"))?;
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("header `{name}` has a value that HTTP cannot carry"))?;
    headers.append(header, value);
    Ok(())
}

fn finish(
    kind: EventKind,
    method: &str,
    path: &str,
    query: &str,
    headers: HeaderMap,
    raw: &RawEvent,
    body: Option<&str>,
) -> Result<HttpRequest, String> {
    let method = Method::from_bytes(method.as_bytes())
        .map_err(|_| format!("`{method}` is not an HTTP method"))?;
    let mut path_and_query = utf8_percent_encode(path, NOT_IN_URI).to_string();
    if !path_and_query.starts_with('/') {
        path_and_query.insert(0, '/');
    }
    if !query.is_empty() {
        path_and_query.push('?');
        path_and_query.push_str(&utf8_percent_encode(query, NOT_IN_URI).to_string());
    }
    http::uri::PathAndQuery::try_from(path_and_query.as_str())
        .map_err(|e| format!("path `{path}` cannot be a request path: {e}"))?;
    let https = headers
        .get("x-forwarded-proto")
        .is_none_or(|proto| !proto.as_bytes().eq_ignore_ascii_case(b"http"));
    let authority = headers
        .get(http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .or_else(|| {
            raw.request_context
                .as_ref()
                .and_then(|c| c.domain_name.as_deref())
        })
        .filter(|a| http::uri::Authority::try_from(*a).is_ok())
        .unwrap_or("localhost")
        .to_owned();
    let body = match body {
        None => Bytes::new(),
        Some(text) if raw.is_base64_encoded == Some(true) => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map_err(|e| format!("`body` is marked base64 but is not: {e}"))?,
        ),
        Some(text) => Bytes::copy_from_slice(text.as_bytes()),
    };
    Ok(HttpRequest {
        kind,
        method,
        https,
        authority,
        path_and_query,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(event: serde_json::Value) -> HttpRequest {
        from_event(event.to_string().as_bytes()).unwrap()
    }

    fn values(request: &HttpRequest, name: &str) -> Vec<String> {
        request
            .headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn http_api_v2_keeps_the_raw_query_and_puts_cookies_back() {
        let request = read(json!({
            "version": "2.0",
            "rawPath": "/orders/42",
            "rawQueryString": "b=2&a=1&a=%20x",
            "cookies": ["s=1", "t=2"],
            "headers": {"host": "api.example.com", "x-multi": "a,b"},
            "requestContext": {"http": {"method": "GET"}, "domainName": "other.example.com"},
            "isBase64Encoded": false
        }));
        assert_eq!(request.kind, EventKind::HttpV2);
        assert_eq!(request.method, Method::GET);
        assert_eq!(request.path_and_query, "/orders/42?b=2&a=1&a=%20x");
        assert_eq!(request.authority, "api.example.com");
        assert!(request.https);
        assert_eq!(values(&request, "cookie"), ["s=1; t=2"]);
        assert_eq!(values(&request, "x-multi"), ["a,b"]);
        assert!(request.body.is_empty());
    }

    #[test]
    fn rest_v1_encodes_its_decoded_query_in_the_order_sent() {
        // Raw text: `json!` would sort the keys.
        let event = r#"{
            "httpMethod": "PUT",
            "path": "/items/a b",
            "multiValueQueryStringParameters": {"z": ["1", "2"], "q": ["x&y=z"]},
            "queryStringParameters": {"z": "2", "q": "x&y=z"},
            "multiValueHeaders": {"Accept": ["text/plain", "application/json"], "Host": ["h.example"]},
            "headers": {"Accept": "application/json", "Host": "h.example"},
            "requestContext": {"stage": "prod"},
            "body": "aGk=",
            "isBase64Encoded": true
        }"#;
        let request = from_event(event.as_bytes()).unwrap();
        assert_eq!(request.kind, EventKind::RestV1);
        assert_eq!(request.path_and_query, "/items/a%20b?z=1&z=2&q=x%26y%3Dz");
        assert_eq!(
            values(&request, "accept"),
            ["text/plain", "application/json"]
        );
        assert_eq!(&request.body[..], b"hi");
    }

    #[test]
    fn alb_passes_its_query_as_sent_and_says_whether_multi_value() {
        let request = read(json!({
            "httpMethod": "POST",
            "path": "/lb",
            "queryStringParameters": {"q": "a%20b"},
            "headers": {"host": "lb.example", "x-forwarded-proto": "http"},
            "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:…"}},
            "body": "plain",
            "isBase64Encoded": false
        }));
        assert_eq!(request.kind, EventKind::Alb { multi_value: false });
        assert_eq!(request.path_and_query, "/lb?q=a%20b");
        assert!(!request.https);
        assert_eq!(&request.body[..], b"plain");
        let multi = read(json!({
            "httpMethod": "GET", "path": "/", "multiValueHeaders": {"x": ["1", "2"]},
            "requestContext": {"elb": {}}
        }));
        assert_eq!(multi.kind, EventKind::Alb { multi_value: true });
        assert_eq!(values(&multi, "x"), ["1", "2"]);
        assert_eq!(multi.authority, "localhost");
    }

    #[test]
    fn what_is_not_an_http_request_says_why() {
        for (event, says) in [
            (json!({"name": "x"}), "not an HTTP event"),
            (json!({"Records": []}), "not an HTTP event"),
            (
                json!({"version": "2.0", "rawPath": "/", "requestContext": {"http": {}}}),
                "requestContext.http.method",
            ),
            (
                json!({"httpMethod": "GET", "requestContext": {}}),
                "without a string `path`",
            ),
            (
                json!({"httpMethod": "G E T", "path": "/", "requestContext": {}}),
                "not an HTTP method",
            ),
            (
                json!({"httpMethod": "GET", "path": "/", "headers": {"bad name": "1"}}),
                "header name",
            ),
            (
                json!({"httpMethod": "GET", "path": "/", "body": "!!", "isBase64Encoded": true}),
                "marked base64",
            ),
            (json!([1, 2]), "not an HTTP event"),
        ] {
            let error = from_event(event.to_string().as_bytes()).unwrap_err();
            assert!(error.contains(says), "{event}: {error}");
        }
    }

    #[test]
    fn a_request_becomes_a_hyper_request_with_its_uri() {
        let request = read(json!({
            "version": "2.0", "rawPath": "/p", "rawQueryString": "a=1",
            "headers": {"host": "h.example:8443"},
            "requestContext": {"http": {"method": "DELETE"}}
        }));
        let hyper = request.to_hyper().unwrap();
        assert_eq!(hyper.uri().to_string(), "https://h.example:8443/p?a=1");
        assert_eq!(hyper.method(), Method::DELETE);
    }
}
