//! [`Request::send`] over `wasi:http/outgoing-handler`.

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingBody, Method, OutgoingBody, OutgoingRequest, RequestOptions, Scheme,
};
use wasip2::io::streams::StreamError;

use super::url::split;
use super::{HttpError, HttpErrorKind, Request, Response};

/// Bytes per write: the most `blocking-write-and-flush` takes at once.
const WRITE_CHUNK: usize = 4096;
/// Bytes asked for per read.
const READ_CHUNK: u64 = 64 * 1024;

pub fn send(request: Request) -> Result<Response, HttpError> {
    let url = request.url.clone();
    let parts = split(&url)?;
    let invalid = |what: String| HttpError::new(HttpErrorKind::InvalidRequest, what);

    let mut fields: Vec<(String, Vec<u8>)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value.as_bytes().to_vec()))
        .collect();
    // A known length, so the body goes out with `content-length` rather
    // than chunked (which some servers, and every signed AWS call, prefer).
    if !request.body.is_empty() && !fields.iter().any(|(name, _)| name == "content-length") {
        fields.push((
            "content-length".into(),
            request.body.len().to_string().into_bytes(),
        ));
    }
    let headers = Fields::from_list(&fields).map_err(|e| {
        invalid(format!(
            "a header of the request to {url} is invalid or forbidden: {e:?}"
        ))
    })?;
    let outgoing = OutgoingRequest::new(headers);
    outgoing
        .set_method(&method(&request.method))
        .map_err(|()| invalid(format!("`{}` is not a valid method", request.method)))?;
    let scheme = if parts.https {
        Scheme::Https
    } else {
        Scheme::Http
    };
    outgoing
        .set_scheme(Some(&scheme))
        .and_then(|()| outgoing.set_authority(Some(parts.authority)))
        .and_then(|()| outgoing.set_path_with_query(Some(&parts.path_with_query)))
        .map_err(|()| invalid(format!("`{url}` is not a valid URL")))?;
    // Without a body the request is sent without one (no chunked empty
    // body, which costs an extra segment and confuses simple servers).
    let body = if request.body.is_empty() {
        None
    } else {
        Some(
            outgoing
                .body()
                .map_err(|()| invalid("the request body was already taken".into()))?,
        )
    };

    let options = request.timeout.map(|timeout| {
        let options = RequestOptions::new();
        let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        // A host may not support a timeout; the deadline still bounds the call.
        let _ = options.set_first_byte_timeout(Some(nanos));
        let _ = options.set_between_bytes_timeout(Some(nanos));
        options
    });
    // Send first, then write the body: the host reads it while it is
    // written, so bodies larger than its buffer never block.
    let future =
        outgoing_handler::handle(outgoing, options).map_err(|code| from_code(code, &url))?;
    if let Some(body) = body {
        {
            let stream = body
                .write()
                .map_err(|()| invalid("the request body stream was already taken".into()))?;
            for chunk in request.body.chunks(WRITE_CHUNK) {
                stream
                    .blocking_write_and_flush(chunk)
                    .map_err(|e| stream_error(e, &url, "sending the body"))?;
            }
        }
        OutgoingBody::finish(body, None).map_err(|code| from_code(code, &url))?;
    }

    let response = loop {
        match future.get() {
            Some(result) => break result,
            None => future.subscribe().block(),
        }
    };
    let response = response
        .map_err(|()| HttpError::new(HttpErrorKind::Other, "the response was already taken"))?
        .map_err(|code| from_code(code, &url))?;
    let status = response.status();
    let headers = response
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let incoming = response.consume().map_err(|()| {
        HttpError::new(HttpErrorKind::Other, "the response body was already taken")
    })?;
    let mut bytes = Vec::new();
    {
        let stream = incoming.stream().map_err(|()| {
            HttpError::new(HttpErrorKind::Other, "the response body was already taken")
        })?;
        loop {
            match stream.blocking_read(READ_CHUNK) {
                Ok(chunk) => bytes.extend_from_slice(&chunk),
                Err(StreamError::Closed) => break,
                Err(error) => return Err(stream_error(error, &url, "reading the response")),
            }
        }
    }
    drop(IncomingBody::finish(incoming));
    Ok(Response {
        status,
        headers,
        body: bytes,
    })
}

fn method(name: &str) -> Method {
    match name.to_ascii_uppercase().as_str() {
        "GET" => Method::Get,
        "HEAD" => Method::Head,
        "POST" => Method::Post,
        "PUT" => Method::Put,
        "DELETE" => Method::Delete,
        "CONNECT" => Method::Connect,
        "OPTIONS" => Method::Options,
        "TRACE" => Method::Trace,
        "PATCH" => Method::Patch,
        _ => Method::Other(name.to_owned()),
    }
}

fn stream_error(error: StreamError, url: &str, doing: &str) -> HttpError {
    match error {
        StreamError::Closed => HttpError::new(
            HttpErrorKind::Connect,
            format!("{doing} for {url}: the connection closed"),
        ),
        StreamError::LastOperationFailed(io) => match wasip2::http::types::http_error_code(&io) {
            Some(code) => from_code(code, url),
            None => from_text(&io.to_debug_string(), url, doing),
        },
    }
}

/// A body-stream error the host gave as text only. wasmtime-wasi-http 48
/// hands body errors to guests as plain I/O errors, so `http-error-code`
/// finds no code in them; its wording is stable, and the two a guest can
/// act on (the size cap, the deadline) are recognised by it.
fn from_text(text: &str, url: &str, doing: &str) -> HttpError {
    if let Some(rest) = text.split("response body size exceeds limit").nth(1) {
        let limit = rest
            .trim_start_matches(':')
            .split_whitespace()
            .next()
            .and_then(|n| n.parse::<u64>().ok());
        return from_code(ErrorCode::HttpResponseBodySize(limit), url);
    }
    if text.contains("read timeout") {
        return from_code(ErrorCode::ConnectionReadTimeout, url);
    }
    HttpError::new(HttpErrorKind::Other, format!("{doing} for {url}: {text}"))
}

/// The host's error code as an error a person can act on.
fn from_code(code: ErrorCode, url: &str) -> HttpError {
    use HttpErrorKind as Kind;
    let (kind, message) = match code {
        ErrorCode::HttpRequestDenied => (
            Kind::Refused,
            format!(
                "the host refused the request to {url}: it is not on this guest's `outbound` list in guests.toml, nor an endpoint of a service in its `aws` list (the host's log says why)"
            ),
        ),
        ErrorCode::DestinationIpProhibited => (
            Kind::Refused,
            format!(
                "the host refused the request to {url}: it reaches an address guests may never call (the Lambda Runtime API, link-local or instance-metadata addresses)"
            ),
        ),
        ErrorCode::HttpResponseBodySize(limit) => (
            Kind::TooLarge,
            match limit {
                Some(limit) => format!(
                    "the response from {url} is larger than this guest's cap of {limit} bytes (outbound_response_limit_mb in guests.toml)"
                ),
                None => format!(
                    "the response from {url} is larger than this guest's cap (outbound_response_limit_mb in guests.toml)"
                ),
            },
        ),
        ErrorCode::ConnectionTimeout
        | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout
        | ErrorCode::HttpResponseTimeout => (
            Kind::Timeout,
            format!(
                "no answer from {url} in time (the request's timeout or the invocation's deadline)"
            ),
        ),
        ErrorCode::ConnectionLimitReached => (
            Kind::Timeout,
            format!(
                "no free request slot for {url} in time: this guest has outbound_concurrency requests in flight"
            ),
        ),
        ErrorCode::DnsError(payload) => (
            Kind::Connect,
            format!(
                "{url}: {}",
                payload
                    .rcode
                    .unwrap_or_else(|| "the name did not resolve".into())
            ),
        ),
        ErrorCode::ConnectionRefused
        | ErrorCode::DestinationNotFound
        | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpUnroutable
        | ErrorCode::ConnectionTerminated => (
            Kind::Connect,
            format!("{url}: could not connect ({code:?})"),
        ),
        ErrorCode::TlsProtocolError
        | ErrorCode::TlsCertificateError
        | ErrorCode::TlsAlertReceived(_) => {
            (Kind::Connect, format!("{url}: TLS failed ({code:?})"))
        }
        ErrorCode::HttpRequestUriInvalid | ErrorCode::HttpRequestMethodInvalid => {
            (Kind::InvalidRequest, format!("{url}: {code:?}"))
        }
        ErrorCode::InternalError(Some(text)) => (Kind::Other, format!("{url}: {text}")),
        other => (Kind::Other, format!("{url}: {other:?}")),
    };
    HttpError::new(kind, message)
}
