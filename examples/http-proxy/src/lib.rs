//! `http-proxy`: a standard `wasi:http/proxy` component, no wasm-lambda
//! SDK. The host turns API Gateway, Function URL and ALB events into
//! wasi:http requests and the response back into Lambda's answer, so this
//! same file also runs under `wasmtime serve`, Spin or wasmCloud.
//!
//! The routes are `http-router`'s (the SDK's HTTP example), under
//! `/http-proxy/...` (the host routes by the first path segment), plus a
//! count of the requests this instance served, which lives as long as the
//! instance (`instance = "reuse"`, the default).

use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Value, json};
use wasip2::http::types::{
    Fields, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasip2::http::proxy::export!(HttpProxy);

struct HttpProxy;

/// Requests this instance served.
static SERVED: AtomicU64 = AtomicU64::new(0);

impl wasip2::exports::http::incoming_handler::Guest for HttpProxy {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let target = request.path_with_query().unwrap_or_else(|| "/".to_owned());
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let route = path.strip_prefix("/http-proxy").unwrap_or(path);
        let (status, body) = match (request.method(), route) {
            (Method::Get, "/hello") => {
                let name = query
                    .split('&')
                    .find_map(|pair| pair.strip_prefix("name="))
                    .unwrap_or("world");
                (200, json!({ "message": format!("Hello, {name}!") }))
            }
            (Method::Get, "/health") => (200, json!({ "ok": true, "served": served })),
            (Method::Post, "/echo") => (200, json!({ "echo": read_body(request) })),
            (_, "/hello" | "/health" | "/echo") => (405, json!({ "error": "method not allowed" })),
            _ => (404, json!({ "error": format!("no route for {route}") })),
        };
        respond(out, status, &body);
    }
}

/// The request body as text (lossy: this example echoes text).
fn read_body(request: IncomingRequest) -> String {
    let mut bytes = Vec::new();
    if let Ok(body) = request.consume()
        && let Ok(mut stream) = body.stream()
    {
        let _ = stream.read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Sets a JSON response and writes its body.
fn respond(out: ResponseOutparam, status: u16, body: &Value) {
    let headers = Fields::new();
    let _ = headers.append("content-type", b"application/json");
    let response = OutgoingResponse::new(headers);
    let _ = response.set_status_code(status);
    let Ok(outgoing) = response.body() else {
        return;
    };
    ResponseOutparam::set(out, Ok(response));
    if let Ok(mut stream) = outgoing.write() {
        let _ = stream.write_all(body.to_string().as_bytes());
        let _ = stream.flush();
    }
    let _ = OutgoingBody::finish(outgoing, None);
}
