//! Test guest: does what the event's `mode` says, good or bad.
//!
//! | mode | does |
//! | --- | --- |
//! | `count` (default) | counts events in instance state, answers `{"count": N}` |
//! | `trap` | panics (a wasm trap) |
//! | `error` | returns a guest error of kind `Refused` |
//! | `loop` | spins forever |
//! | `grow` | allocates until memory runs out |
//! | `recurse` | recurses without end |
//! | `config` | answers its config entries |
//! | `env` | answers the environment variables it can see |
//! | `log` | logs a line at each level |

use serde::Deserialize;
use wasm_lambda_sdk::serde_json::{json, Value};
use wasm_lambda_sdk::{export_function, log, Context, Error, Function, LogLevel, WarmInfo};

#[derive(Default)]
struct Misbehave {
    count: u64,
}

#[derive(Deserialize)]
struct Order {
    #[serde(default)]
    mode: String,
}

impl Function for Misbehave {
    type Event = Order;
    type Output = Value;

    fn handle(&mut self, order: Order, ctx: &Context) -> Result<Value, Error> {
        match order.mode.as_str() {
            "" | "count" => {
                self.count += 1;
                Ok(json!({ "count": self.count, "events_handled": ctx.events_handled(), "cold": ctx.is_cold() }))
            }
            "trap" => panic!("asked to trap"),
            "error" => Err(Error::new("Refused", "asked to fail")),
            "loop" => loop {
                self.count = std::hint::black_box(self.count.wrapping_add(1));
            },
            "grow" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "recurse" => Ok(json!({ "depth": recurse(std::hint::black_box(1)) })),
            "config" => Ok(json!({
                "entries": wasm_lambda_sdk::config_entries(),
                "greeting": wasm_lambda_sdk::config("greeting"),
                "missing": wasm_lambda_sdk::config("missing"),
            })),
            "env" => Ok(json!({ "vars": std::env::vars().map(|(k, _)| k).collect::<Vec<_>>() })),
            "log" => {
                for level in [LogLevel::Trace, LogLevel::Debug, LogLevel::Info, LogLevel::Warn, LogLevel::Error] {
                    log(level, &format!("misbehave says {level:?}"));
                }
                Ok(json!({ "logged": true }))
            }
            other => Err(Error::new("UnknownMode", format!("no mode `{other}`"))),
        }
    }

    fn warm(&mut self, _info: &WarmInfo) -> Result<Value, Error> {
        Ok(json!({ "count": self.count }))
    }
}

fn recurse(depth: u64) -> u64 {
    // black_box keeps the compiler from turning this into a loop.
    1 + recurse(std::hint::black_box(depth + 1))
}

export_function!(Misbehave);
