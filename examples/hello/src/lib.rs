//! `hello`: answers with a greeting built from the event and the context.

use serde::Serialize;
use wasm_lambda_sdk::serde_json::Value;
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Default)]
struct Hello;

#[derive(Serialize)]
struct Greeting {
    message: String,
    guest: String,
    request_id: String,
    cold: bool,
}

impl Function for Hello {
    type Event = Value;
    type Output = Greeting;

    fn handle(&mut self, event: Value, ctx: &Context) -> Result<Greeting, Error> {
        let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
        Ok(Greeting {
            message: format!("Hello, {name}!"),
            guest: ctx.guest_name().to_owned(),
            request_id: ctx.request_id().to_owned(),
            cold: ctx.is_cold(),
        })
    }
}

export_function!(Hello);
