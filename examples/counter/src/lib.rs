//! `counter`: state kept across warm invocations, and a `warm` hook.
//!
//! The count lives in the instance, like a global outside a Lambda handler:
//! it is 1 on the instance's first event, then 2, 3, ... Warmer pings do not
//! count as events; the `warm` hook records them separately.

use serde::Serialize;
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, WarmInfo, export_function};

#[derive(Default)]
struct Counter {
    count: u64,
    warmed: u64,
}

#[derive(Serialize)]
struct Count {
    count: u64,
    warmed: u64,
    cold: bool,
}

impl Function for Counter {
    type Event = Value;
    type Output = Count;

    fn handle(&mut self, _event: Value, ctx: &Context) -> Result<Count, Error> {
        self.count += 1;
        Ok(Count {
            count: self.count,
            warmed: self.warmed,
            cold: ctx.is_cold(),
        })
    }

    fn warm(&mut self, _info: &WarmInfo) -> Result<Value, Error> {
        self.warmed += 1;
        Ok(json!({ "count": self.count, "warmed": self.warmed }))
    }
}

export_function!(Counter);
