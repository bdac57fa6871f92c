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
//! | `copy` | spins on large `memory.copy`s |
//! | `huge` | answers more than 6 MB |
//! | `files` | tries to read files |
//! | `connect` | tries to open a TCP connection to the event's `address` |
//! | `stash` / `peek` | writes / reads a value kept in instance state |
//! | `sleep` | sleeps `ms` in WASI's clock (a host call), counts, answers `tag` |
//! | `sleep-trap` | sleeps `ms`, then panics |
//! | `clock` | busy-waits `ms` on WASI's monotonic clock |
//! | `work` | `rounds` million rounds of integer arithmetic (pure CPU) |
//! | `print` | prints `lines` lines of `width` bytes (stdout, the last to stderr) |
//!
//! Config `init` (`trap`, `error`, `loop`) and `warm` (`trap`, `loop`,
//! `huge`) make those hooks misbehave too.

use serde::Deserialize;
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, LogLevel, WarmInfo, export_function, log};

#[derive(Default)]
struct Misbehave {
    count: u64,
    stash: Option<String>,
}

#[derive(Deserialize)]
struct Order {
    #[serde(default)]
    mode: String,
    #[serde(default)]
    address: String,
    #[serde(default)]
    ms: u64,
    #[serde(default)]
    lines: u64,
    #[serde(default)]
    width: usize,
    #[serde(default)]
    tag: Value,
    #[serde(default)]
    rounds: u64,
}

impl Function for Misbehave {
    type Event = Order;
    type Output = Value;

    fn init(&mut self) -> Result<(), Error> {
        match wasm_lambda_sdk::config("init").as_deref() {
            Some("trap") => panic!("asked to trap in init"),
            Some("error") => Err(Error::new("InitRefused", "asked to fail in init")),
            Some("loop") => loop {
                self.count = std::hint::black_box(self.count.wrapping_add(1));
            },
            _ => Ok(()),
        }
    }

    fn handle(&mut self, order: Order, ctx: &Context) -> Result<Value, Error> {
        match order.mode.as_str() {
            "" | "count" => {
                self.count += 1;
                Ok(
                    json!({ "count": self.count, "events_handled": ctx.events_handled(), "cold": ctx.is_cold() }),
                )
            }
            "context" => Ok(json!({
                "request_id": ctx.request_id(),
                "trace_id": ctx.trace_id(),
                "client_context": ctx.client_context(),
                "cognito_identity": ctx.cognito_identity(),
                "tenant_id": ctx.tenant_id(),
                "log_group_name": ctx.log_group_name(),
                "log_stream_name": ctx.log_stream_name(),
                "region": ctx.region(),
            })),
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
                for level in [
                    LogLevel::Trace,
                    LogLevel::Debug,
                    LogLevel::Info,
                    LogLevel::Warn,
                    LogLevel::Error,
                ] {
                    log(level, &format!("misbehave says {level:?}"));
                }
                Ok(json!({ "logged": true, "request_id": ctx.request_id() }))
            }
            "copy" => {
                let mut buffer = vec![0u8; 32 << 20];
                loop {
                    // One memory.copy instruction per iteration, 16 MB each.
                    buffer.copy_within(0..16 << 20, 16 << 20);
                    std::hint::black_box(&mut buffer);
                }
            }
            "huge" => Ok(json!({ "padding": "x".repeat(7 << 20) })),
            "files" => Ok(json!({
                "passwd": std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string()),
                "root": std::fs::read_dir("/").map(|d| d.count()).map_err(|e| e.to_string()),
                "cwd": std::env::current_dir().map(|d| d.display().to_string()).map_err(|e| e.to_string()),
            })),
            "connect" => Ok(json!({
                "connect": std::net::TcpStream::connect(order.address.as_str())
                    .map(|_| "connected")
                    .map_err(|e| format!("{:?}: {e}", e.kind())),
            })),
            "stash" => {
                self.stash = Some(format!("secret-{}", ctx.request_id()));
                Ok(json!({ "stashed": self.stash }))
            }
            "peek" => Ok(json!({ "stash": self.stash })),
            "sleep" => {
                std::thread::sleep(std::time::Duration::from_millis(order.ms));
                self.count += 1;
                Ok(json!({
                    "slept_ms": order.ms, "tag": order.tag, "count": self.count,
                    "request_id": ctx.request_id(),
                }))
            }
            "sleep-trap" => {
                std::thread::sleep(std::time::Duration::from_millis(order.ms));
                panic!("asked to trap after sleeping")
            }
            "clock" => {
                let started = std::time::Instant::now();
                let mut reads = 0u64;
                while started.elapsed() < std::time::Duration::from_millis(order.ms) {
                    reads += 1;
                }
                Ok(json!({ "clock_reads": reads }))
            }
            "work" => {
                let mut x = std::hint::black_box(0x9e37_79b9_7f4a_7c15u64);
                for _ in 0..order.rounds * 1_000_000 {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                }
                Ok(json!({ "result": x }))
            }
            "print" => {
                let line = "p".repeat(order.width);
                for i in 0..order.lines {
                    if i + 1 == order.lines {
                        eprintln!("{line}");
                    } else {
                        println!("{line}");
                    }
                }
                Ok(json!({ "printed": order.lines }))
            }
            other => Err(Error::new("UnknownMode", format!("no mode `{other}`"))),
        }
    }

    fn warm(&mut self, _info: &WarmInfo) -> Result<Value, Error> {
        match wasm_lambda_sdk::config("warm").as_deref() {
            Some("trap") => panic!("asked to trap in warm"),
            Some("loop") => loop {
                self.count = std::hint::black_box(self.count.wrapping_add(1));
            },
            Some("huge") => return Ok(json!({ "padding": "x".repeat(7 << 20) })),
            _ => {}
        }
        Ok(json!({ "count": self.count }))
    }
}

#[allow(unconditional_recursion)] // the point: it ends in a stack-overflow trap
fn recurse(depth: u64) -> u64 {
    // black_box keeps the compiler from turning this into a loop.
    1 + recurse(std::hint::black_box(depth + 1))
}

export_function!(Misbehave);
