//! `table-bomb`: an ordinary guest whose function table is enormous (see
//! build.rs); the host must refuse to instantiate it, with a clear error.

use wasm_lambda_sdk::serde_json::Value;
use wasm_lambda_sdk::{Context, Error, Function, export_function};

#[derive(Default)]
struct TableBomb;

impl Function for TableBomb {
    type Event = Value;
    type Output = Value;

    fn handle(&mut self, event: Value, _ctx: &Context) -> Result<Value, Error> {
        // Dynamic dispatch keeps function pointers in the table.
        let describe: &dyn Fn(&Value) -> String = &|v| v.to_string();
        Ok(Value::String(describe(&event)))
    }
}

export_function!(TableBomb);
