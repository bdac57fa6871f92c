//! Test guest whose `init` refuses to start.

use wasm_lambda_sdk::serde_json::Value;
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Default)]
struct InitFails;

impl Function for InitFails {
    type Event = Value;
    type Output = Value;

    fn init(&mut self) -> Result<(), Error> {
        Err(Error::new(
            "ConfigMissing",
            "the table name is not configured",
        ))
    }

    fn handle(&mut self, event: Value, _ctx: &Context) -> Result<Value, Error> {
        Ok(event)
    }
}

export_function!(InitFails);
