//! `http-router`: API Gateway HTTP API (v2) events in, HTTP responses out.
//!
//! The host routes `/http-router/...` here (first path segment), so routes
//! are matched on the rest of the path.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use wasm_lambda_sdk::serde_json::json;
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Default)]
struct HttpRouter;

impl Function for HttpRouter {
    type Event = ApiGatewayV2httpRequest;
    type Output = ApiGatewayV2httpResponse;

    fn handle(
        &mut self,
        request: ApiGatewayV2httpRequest,
        ctx: &Context,
    ) -> Result<Self::Output, Error> {
        let path = request.raw_path.as_deref().unwrap_or("/");
        let route = strip_guest_prefix(path, ctx.guest_name());
        let method = request.request_context.http.method.as_str();
        let response = match (method, route) {
            ("GET", "/hello") => {
                let name = request
                    .query_string_parameters
                    .first("name")
                    .unwrap_or("world");
                respond(200, json!({ "message": format!("Hello, {name}!") }))
            }
            ("GET", "/health") => respond(200, json!({ "ok": true })),
            ("POST", "/echo") => respond(200, json!({ "echo": request.body.unwrap_or_default() })),
            (_, "/hello" | "/health" | "/echo") => {
                respond(405, json!({ "error": "method not allowed" }))
            }
            _ => respond(
                404,
                json!({ "error": format!("no route for {method} {route}") }),
            ),
        };
        Ok(response)
    }
}

/// `/http-router/hello` → `/hello`; paths without the prefix stay as they are.
fn strip_guest_prefix<'a>(path: &'a str, guest: &str) -> &'a str {
    match path.strip_prefix('/').and_then(|p| p.strip_prefix(guest)) {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => path,
    }
}

fn respond(status: i64, body: wasm_lambda_sdk::serde_json::Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    // The response type is non-exhaustive: start from its default.
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

export_function!(HttpRouter);
