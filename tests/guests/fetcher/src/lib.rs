//! Test guest: makes the outbound requests its event describes, through the
//! SDK's client, and answers with what each one returned or why it failed.
//!
//! Event: `{"url": "...", "method": "GET", "headers": {"k": "v"},
//! "body": "...", "times": 1, "timeout_ms": null, "propagate": false}`.
//! With `propagate`, the first failure is the invocation's error.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use wasm_lambda_sdk::http::Request;
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Deserialize)]
struct Fetch {
    url: String,
    #[serde(default = "get")]
    method: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    #[serde(default)]
    body: String,
    #[serde(default = "one")]
    times: u32,
    timeout_ms: Option<u64>,
    #[serde(default)]
    propagate: bool,
}

fn get() -> String {
    "GET".into()
}

fn one() -> u32 {
    1
}

#[derive(Default)]
struct Fetcher;

impl Function for Fetcher {
    type Event = Fetch;
    type Output = Value;

    fn handle(&mut self, fetch: Fetch, _ctx: &Context) -> Result<Value, Error> {
        let mut results = Vec::new();
        for _ in 0..fetch.times {
            let mut request = Request::new(fetch.method.clone(), fetch.url.clone());
            for (name, value) in &fetch.headers {
                request = request.header(name.clone(), value.clone());
            }
            if !fetch.body.is_empty() {
                request = request.body(fetch.body.clone());
            }
            if let Some(ms) = fetch.timeout_ms {
                request = request.timeout(Duration::from_millis(ms));
            }
            match request.send() {
                Ok(response) => {
                    let text = String::from_utf8_lossy(response.body());
                    results.push(json!({
                        "status": response.status(),
                        "length": response.body().len(),
                        "body": text.chars().take(300).collect::<String>(),
                    }));
                }
                Err(error) if fetch.propagate => return Err(error.into_error()),
                Err(error) => results.push(json!({
                    "error": format!("{:?}", error.kind()),
                    "message": error.message(),
                })),
            }
        }
        Ok(json!({ "results": results }))
    }
}

export_function!(Fetcher);
