//! A standard `wasi:http/proxy` component (no wasm-lambda SDK) that shows
//! the tests what reached it and misbehaves on request. By the path's last
//! segment (so `/proxy-probe/echo` and `/echo` are the same):
//!
//! - `/echo…`: 200 with JSON: method, path with query, scheme, authority,
//!   headers in order, and the body's bytes;
//! - `/count`: a static counter, counted up per request (kept instances);
//! - `/binary`: all 256 byte values (not UTF-8);
//! - `/cookies`: two `set-cookie` and two `x-multi` headers;
//! - `/status?N`: an empty answer with status N;
//! - `/big?N`: N bytes of `x`, written 64 KiB at a time;
//! - `/sleep?MS`: answers `{"count": N}` after MS milliseconds;
//! - `/grow?MB`: allocates MB megabytes (past `memory_limit_mb`, a limit hit);
//! - `/print?TEXT`: prints TEXT to stdout and stderr, then answers;
//! - `/fetch?http://HOST:PORT/PATH`: a GET through wasi:http's outgoing
//!   handler; answers `STATUS BODY`, or 502 with the error;
//! - `/trap`: panics; `/no-response`: returns without setting a response;
//! - `/error-code`: sets an error code instead of a response.

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use wasip2::http::outgoing_handler;
use wasip2::http::types::{
    ErrorCode, Fields, IncomingRequest, Method, OutgoingBody, OutgoingRequest, OutgoingResponse,
    ResponseOutparam, Scheme,
};

wasip2::http::proxy::export!(Probe);

struct Probe;

static REQUESTS: AtomicU64 = AtomicU64::new(0);

impl wasip2::exports::http::incoming_handler::Guest for Probe {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let count = REQUESTS.fetch_add(1, Ordering::Relaxed) + 1;
        let target = request.path_with_query().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let command = path.rsplit('/').next().unwrap_or_default();
        match command {
            "count" => respond(
                out,
                200,
                &[("content-type", "application/json")],
                format!(r#"{{"count":{count}}}"#).as_bytes(),
            ),
            "binary" => {
                let bytes: Vec<u8> = (0..=255).collect();
                respond(
                    out,
                    200,
                    &[("content-type", "application/octet-stream")],
                    &bytes,
                );
            }
            "cookies" => respond(
                out,
                200,
                &[
                    ("set-cookie", "a=1; Path=/"),
                    ("set-cookie", "b=2"),
                    ("x-multi", "one"),
                    ("x-multi", "two"),
                ],
                b"cookies set",
            ),
            "status" => respond(out, query.parse().unwrap_or(500), &[], b""),
            "big" => {
                let size: usize = query.parse().unwrap_or(0);
                let response = OutgoingResponse::new(Fields::new());
                let body = response.body().unwrap();
                ResponseOutparam::set(out, Ok(response));
                let mut stream = body.write().unwrap();
                let chunk = vec![b'x'; 64 * 1024];
                let mut left = size;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if stream.write_all(&chunk[..n]).is_err() {
                        return;
                    }
                    left -= n;
                }
                let _ = stream.flush();
                drop(stream);
                let _ = OutgoingBody::finish(body, None);
            }
            "sleep" => {
                let millis: u64 = query.parse().unwrap_or(0);
                wasip2::clocks::monotonic_clock::subscribe_duration(millis * 1_000_000).block();
                respond(
                    out,
                    200,
                    &[("content-type", "application/json")],
                    format!(r#"{{"count":{count}}}"#).as_bytes(),
                );
            }
            "grow" => {
                let megabytes: usize = query.parse().unwrap_or(0);
                let block = vec![1u8; megabytes * 1024 * 1024];
                let sum: u64 = block.iter().step_by(4096).map(|b| u64::from(*b)).sum();
                respond(out, 200, &[], format!("touched {sum} pages").as_bytes());
            }
            "print" => {
                println!("probe says {query} on stdout");
                eprintln!("probe says {query} on stderr");
                respond(out, 200, &[], b"printed");
            }
            "fetch" => match get(query) {
                Ok((status, body)) => respond(out, 200, &[], format!("{status} {body}").as_bytes()),
                Err(error) => respond(out, 502, &[], error.as_bytes()),
            },
            "trap" => panic!("the probe was asked to trap"),
            "no-response" => drop(out),
            "error-code" => ResponseOutparam::set(
                out,
                Err(ErrorCode::InternalError(Some("asked for an error".into()))),
            ),
            "echo" => echo(&request, out),
            _ => respond(out, 404, &[], b"no such probe"),
        }
    }
}

/// A GET of a plain-HTTP URL through `wasi:http/outgoing-handler`.
fn get(url: &str) -> Result<(u16, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("the probe fetches http:// URLs")?;
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, format!("/{path}")),
        None => (rest, "/".to_owned()),
    };
    let request = OutgoingRequest::new(Fields::new());
    request
        .set_scheme(Some(&Scheme::Http))
        .map_err(|()| "scheme")?;
    request
        .set_authority(Some(authority))
        .map_err(|()| "authority")?;
    request
        .set_path_with_query(Some(&path))
        .map_err(|()| "path")?;
    let pending = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    pending.subscribe().block();
    let response = pending
        .get()
        .ok_or("no response")?
        .map_err(|()| "response taken")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let body = response.consume().map_err(|()| "body")?;
    let mut bytes = Vec::new();
    {
        let mut stream = body.stream().map_err(|()| "stream")?;
        stream.read_to_end(&mut bytes).map_err(|e| e.to_string())?;
    }
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

fn echo(request: &IncomingRequest, out: ResponseOutparam) {
    let method = match request.method() {
        Method::Get => "GET".to_owned(),
        Method::Head => "HEAD".to_owned(),
        Method::Post => "POST".to_owned(),
        Method::Put => "PUT".to_owned(),
        Method::Delete => "DELETE".to_owned(),
        Method::Patch => "PATCH".to_owned(),
        Method::Options => "OPTIONS".to_owned(),
        Method::Connect => "CONNECT".to_owned(),
        Method::Trace => "TRACE".to_owned(),
        Method::Other(other) => other,
    };
    let scheme = match request.scheme() {
        Some(Scheme::Http) => "http".to_owned(),
        Some(Scheme::Https) => "https".to_owned(),
        Some(Scheme::Other(other)) => other,
        None => String::new(),
    };
    let headers: Vec<(String, String)> = request
        .headers()
        .entries()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect();
    let mut body = Vec::new();
    if let Ok(incoming) = request.consume() {
        if let Ok(mut stream) = incoming.stream() {
            let _ = stream.read_to_end(&mut body);
        }
    }
    let answer = serde_json::json!({
        "method": method,
        "path_with_query": request.path_with_query(),
        "scheme": scheme,
        "authority": request.authority(),
        "headers": headers,
        "body": body,
    });
    respond(
        out,
        200,
        &[("content-type", "application/json")],
        answer.to_string().as_bytes(),
    );
}

fn respond(out: ResponseOutparam, status: u16, headers: &[(&str, &str)], body: &[u8]) {
    let fields = Fields::new();
    for (name, value) in headers {
        let _ = fields.append(name, value.as_bytes());
    }
    let response = OutgoingResponse::new(fields);
    let _ = response.set_status_code(status);
    let outgoing = response.body().unwrap();
    ResponseOutparam::set(out, Ok(response));
    let mut stream = outgoing.write().unwrap();
    let _ = stream.write_all(body);
    let _ = stream.flush();
    drop(stream);
    let _ = OutgoingBody::finish(outgoing, None);
}
