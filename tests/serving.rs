//! The serving path: every guest call ends at its deadline, even inside a
//! host call; concurrent invocations for Lambda Managed Instances; guest
//! output capped. Real guests, in process and as the real binary under
//! cargo-lambda's Runtime API emulator.

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wasm_lambda_host::runtime::invocation::{Invocation, InvocationError};
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess, Lambda};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn start(folder: &GuestFolder) -> WasmHost {
    let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
    WasmHost::init(settings)
        .map(|(host, _)| host)
        .expect("init")
}

fn call(host: &WasmHost, guest: &str, event: Value) -> Result<Value, InvocationError> {
    let invocation = Invocation {
        request_id: "serving".into(),
        deadline: SystemTime::now() + Duration::from_secs(30),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    };
    let event = json!({ "guest": guest, "event": event }).to_string();
    host.dispatch(event.as_bytes(), &invocation)
        .map(|r| serde_json::from_slice(&r.body).expect("JSON answer"))
}

/// The host's own report of a timeout: (elapsed, budget) in ms.
fn timeout_report(error: &InvocationError) -> (u64, u64) {
    match error {
        InvocationError::GuestTimeout {
            elapsed_ms,
            budget_ms,
            ..
        } => (*elapsed_ms, *budget_ms),
        other => panic!("expected GuestTimeout, got {other}"),
    }
}

fn misbehave(timeout_ms: u64) -> (GuestFolder, WasmHost) {
    let folder = GuestFolder::new("serving")
        .with_guest("misbehave", "misbehave")
        .with_file(
            "guests.toml",
            format!("[guests.misbehave]\ntimeout_ms = {timeout_ms}\n"),
        );
    let host = start(&folder);
    (folder, host)
}

#[test]
fn a_sleep_in_a_host_call_ends_at_the_deadline() {
    let (_folder, host) = misbehave(300);
    let started = Instant::now();
    let error = call(
        &host,
        "misbehave",
        json!({"mode": "sleep", "ms": 3_600_000}),
    )
    .unwrap_err();
    let wall = started.elapsed();
    let (elapsed_ms, budget_ms) = timeout_report(&error);
    assert!(budget_ms <= 300, "{error}");
    // The hour-long sleep ends with the budget, not with the sleep.
    assert!(
        (295..800).contains(&elapsed_ms),
        "host reports {elapsed_ms} ms: {error}"
    );
    assert!(wall < Duration::from_secs(2), "answered after {wall:?}");
    // The instance was dropped: a new one counts from 1.
    let next = call(&host, "misbehave", json!({})).unwrap();
    assert_eq!(next["count"], 1);
    // A sleep inside the budget just works, on the same instance.
    let short = call(&host, "misbehave", json!({"mode": "sleep", "ms": 20})).unwrap();
    assert_eq!(short["count"], 2);
}

#[test]
fn a_busy_wait_on_the_clock_ends_at_the_deadline() {
    let (_folder, host) = misbehave(200);
    let error = call(&host, "misbehave", json!({"mode": "clock", "ms": 60_000})).unwrap_err();
    let (elapsed_ms, _) = timeout_report(&error);
    assert!(
        (195..700).contains(&elapsed_ms),
        "host reports {elapsed_ms} ms: {error}"
    );
    let done = call(&host, "misbehave", json!({"mode": "clock", "ms": 5})).unwrap();
    assert!(done["clock_reads"].as_u64().unwrap() > 0);
    assert_eq!(call(&host, "misbehave", json!({})).unwrap()["count"], 1);
}

/// `model-probe` calling `large_forest` on `batch` copies of one row.
fn forest_batch(batch: u64) -> Value {
    json!({"model": "large_forest", "batch": batch,
           "inputs": [{"name": "input", "shape": [1, 20], "type": "float32", "data": vec![0.5f32; 20]}]})
}

#[test]
fn a_model_call_over_the_memory_cap_is_refused_as_a_value() {
    let folder = GuestFolder::new("serving-model-cap")
        .with_guest("probe", "model-probe")
        .with_model("large_forest", "large_forest")
        .with_file(
            "guests.toml",
            "[guests.probe]\nmodel_memory_mb = 8\nmemory_limit_mb = 256\n",
        );
    let host = start(&folder);
    // 200,000 rows of 20 floats: 16 MB of input against an 8 MB cap.
    let started = Instant::now();
    let refused = call(&host, "probe", forest_batch(200_000)).unwrap();
    assert_eq!(refused["error"], "InvalidInput", "{refused}");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("16000000 bytes") && message.contains("model_memory_mb"),
        "{message}"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // Under the cap the same guest gets its answer.
    let answered = call(&host, "probe", forest_batch(1000)).unwrap();
    assert!(answered["outputs"].is_array(), "{answered}");
}

#[test]
fn a_model_run_past_the_deadline_answers_guest_timeout_at_the_deadline() {
    let folder = GuestFolder::new("serving-model-slow")
        .with_guest("probe", "model-probe")
        .with_model("large_forest", "large_forest")
        .with_file(
            "guests.toml",
            "[guests.probe]\ntimeout_ms = 100\nmemory_limit_mb = 512\nmodel_memory_mb = 200\n",
        );
    let host = start(&folder);
    // Short one-row runs first: small runs of this model may now go on the
    // calling thread, a big one still goes where it can be abandoned.
    for _ in 0..12 {
        call(&host, "probe", forest_batch(1)).unwrap();
    }
    // One run of 2,000,000 rows: far longer than the 100 ms budget.
    let error = call(&host, "probe", forest_batch(2_000_000)).unwrap_err();
    let (elapsed_ms, budget_ms) = timeout_report(&error);
    assert!(budget_ms <= 100, "{error}");
    assert!(elapsed_ms < 600, "host reports {elapsed_ms} ms: {error}");
    let again = call(&host, "probe", forest_batch(1)).unwrap();
    assert!(
        again["outputs"].is_array(),
        "the guest serves again: {again}"
    );
}

/// The real binary under the emulator, initialised.
fn start_lambda(folder: &GuestFolder, env: &[(&str, &str)]) -> Lambda {
    Lambda::start(Path::new(HOST), folder, env)
}

#[test]
fn four_invocations_run_side_by_side_with_max_concurrency_4() {
    let folder = GuestFolder::new("serving-concurrent").with_guest("misbehave", "misbehave");
    let mut lambda = start_lambda(&folder, &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")]);
    let events = [
        json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 1500, "tag": "a"}}),
        json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 1500, "tag": "b"}}),
        json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 1500, "tag": "c"}}),
        json!({"guest": "misbehave", "event": {"mode": "sleep-trap", "ms": 300}}),
    ];
    let started = Instant::now();
    let answers: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = events
            .iter()
            .map(|event| scope.spawn(|| lambda.emulator.invoke(event)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let wall = started.elapsed();
    let mut request_ids = Vec::new();
    for (answer, tag) in answers[..3].iter().zip(["a", "b", "c"]) {
        let body = answer.body.clone();
        assert_eq!(
            body["tag"], tag,
            "each answer reaches its own request: {body}"
        );
        // Three instances at once, each with its own state: every count is 1
        // (one shared or sequential instance would count 1, 2, 3).
        assert_eq!(body["count"], 1, "{body}");
        request_ids.push(body["request_id"].as_str().unwrap().to_owned());
    }
    request_ids.sort();
    request_ids.dedup();
    assert_eq!(request_ids.len(), 3, "three distinct requests");
    assert_eq!(
        answers[3].error_type(),
        "GuestTrapped",
        "{:?}",
        answers[3].body
    );
    // (In sequence, one pooled instance would have counted 1, 2 and then,
    // after the trap dropped it, 1 again: the counts prove the overlap.)
    eprintln!("four concurrent invocations answered in {wall:?}");
    let log = lambda.host.log();
    assert!(!log.contains("HostPanic"), "{log}");
    // The pool keeps its instances warm for the next events.
    let next = lambda
        .emulator
        .invoke(&json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 1}}));
    assert_eq!(next.answer()["count"], 2);
    assert!(lambda.host.is_running());
}

#[test]
fn without_max_concurrency_one_instance_serves_every_event() {
    let folder = GuestFolder::new("serving-sequential").with_guest("misbehave", "misbehave");
    let lambda = start_lambda(&folder, &[]);
    let answers: Vec<Value> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    lambda
                        .emulator
                        .invoke(
                            &json!({"guest": "misbehave", "event": {"mode": "sleep", "ms": 200}}),
                        )
                        .answer()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut counts: Vec<u64> = answers
        .iter()
        .map(|a| a["count"].as_u64().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, [1, 2, 3], "one instance, one event at a time");
}

#[test]
fn lambda_variables_missing_is_a_clear_init_error() {
    let folder = GuestFolder::new("serving-env").with_guest("hello", "hello");
    let emulator = Emulator::start();
    let mut host = HostProcess::start(
        Path::new(HOST),
        &emulator.runtime_api(),
        &folder,
        &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "lots")],
    );
    assert_eq!(host.wait_exit(Duration::from_secs(20)), Some(1));
    let log = host.log();
    assert!(
        log.contains("AWS_LAMBDA_FUNCTION_MEMORY_SIZE is `lots`, not a number of MB"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}

/// Every line of the host's output, as JSON objects (panics on any other line).
fn json_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            assert!(value.is_object(), "{line}");
            value
        })
        .collect()
}

fn is_rfc3339_utc(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() >= 20
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes[10] == b'T'
        && bytes[13] == b':'
        && bytes[16] == b':'
        && text.ends_with('Z')
}

#[test]
fn json_logs_capped_guest_output_and_metrics_per_invocation() {
    let folder = GuestFolder::new("serving-json").with_guest("misbehave", "misbehave");
    let lambda = start_lambda(&folder, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")]);
    let logged = lambda
        .emulator
        .invoke(&json!({"guest": "misbehave", "event": {"mode": "log"}}))
        .answer();
    let log_request = logged["request_id"].as_str().unwrap().to_owned();
    // 2,000 lines of 64 KB: 131 MB if nothing stopped it.
    let printed = lambda.emulator.invoke(
        &json!({"guest": "misbehave", "event": {"mode": "print", "lines": 2000, "width": 65536}}),
    );
    assert_eq!(printed.body["printed"], 2000, "{:?}", printed.body);
    let trapped = lambda
        .emulator
        .invoke(&json!({"guest": "misbehave", "event": {"mode": "trap"}}));
    assert_eq!(trapped.error_type(), "GuestTrapped");
    let ping = lambda.emulator.invoke(&json!({"warmer": true})).answer();
    assert_eq!(ping["warmed"], true);
    lambda.host.wait_for_log("\"WarmerPings\":1.0");

    let log = lambda.host.log();
    assert!(
        log.len() < 3 << 20,
        "the whole log stays small: {} bytes",
        log.len()
    );
    let lines = json_lines(&log);
    let (metrics, logs): (Vec<&Value>, Vec<&Value>) =
        lines.iter().partition(|l| l.get("_aws").is_some());
    for line in &logs {
        assert!(
            is_rfc3339_utc(line["timestamp"].as_str().unwrap_or_default()),
            "{line}"
        );
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]
                .contains(&line["level"].as_str().unwrap_or_default()),
            "{line}"
        );
        assert!(line["message"].is_string(), "{line}");
    }
    // The SDK's log: level, guest and request id as fields.
    let warn = logs
        .iter()
        .find(|l| l["message"] == "misbehave says Warn")
        .expect("the guest's warn line");
    assert_eq!(warn["level"], "WARN");
    assert_eq!(warn["guest"], "misbehave");
    assert_eq!(warn["requestId"], log_request.as_str());
    // stdout lines: cut at 16 KiB, capped at 1 MiB per invocation, then one
    // line saying what was dropped.
    let stdout: Vec<&&Value> = logs.iter().filter(|l| l["stream"] == "stdout").collect();
    let request = stdout[0]["requestId"].as_str().unwrap();
    let kept: usize = stdout
        .iter()
        .map(|l| {
            assert_eq!(l["requestId"], request);
            l["message"]
                .as_str()
                .unwrap()
                .trim_end_matches(|c| c != 'p')
                .len()
        })
        .sum();
    assert!((1_000_000..=1 << 20).contains(&kept), "{kept} bytes kept");
    let capped = logs
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("guest output capped"))
        })
        .expect("a line saying output was dropped");
    assert_eq!(capped["requestId"], request);
    assert_eq!(capped["guest"], "misbehave");
    let dropped = capped["dropped_bytes"].as_u64().unwrap();
    assert!(dropped > 129_000_000, "{capped}");
    // The trap is logged with its errorType and request.
    assert!(
        logs.iter()
            .any(|l| l["error_type"] == "GuestTrapped" && l["requestId"].is_string()),
        "{log}"
    );

    // Metrics: one init line, one line per invocation.
    let init = metrics
        .iter()
        .find(|m| m.get("InitDuration").is_some())
        .expect("the init metrics");
    assert_eq!(init["GuestsLoaded"], 1.0);
    assert_eq!(init["GuestsFailed"], 0.0);
    assert_eq!(init["function"], "wasm-lambda-test");
    let invocations: Vec<&&Value> = metrics
        .iter()
        .filter(|m| m.get("requestId").is_some())
        .collect();
    assert_eq!(invocations.len(), 4, "{metrics:?}");
    let first = invocations[0];
    assert_eq!(first["requestId"], log_request.as_str());
    assert_eq!(first["guest"], "misbehave");
    assert_eq!(first["ColdStart"], 1.0);
    // The emulator sends an X-Ray trace id, as Lambda does.
    assert!(
        first["traceId"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=1-")),
        "{first}"
    );
    assert_eq!(first["Errors"], 0.0);
    assert!(first["Duration"].as_f64().unwrap() > 0.0);
    assert_eq!(
        first["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["function", "guest"]])
    );
    assert!(invocations[1]["GuestOutputDropped"].as_f64().unwrap() > 129e6);
    assert_eq!(invocations[1]["ColdStart"], 0.0);
    assert_eq!(invocations[2]["errorType"], "GuestTrapped");
    assert_eq!(invocations[2]["Errors"], 1.0);
    assert_eq!(invocations[3]["WarmerPings"], 1.0);
    for line in invocations {
        for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            assert_eq!(directive["Namespace"], "WasmLambda");
            for metric in directive["Metrics"].as_array().unwrap() {
                let name = metric["Name"].as_str().unwrap();
                assert!(line[name].is_number(), "{name} in {line}");
            }
            for dimension in directive["Dimensions"][0].as_array().unwrap() {
                assert!(line[dimension.as_str().unwrap()].is_string(), "{line}");
            }
        }
    }
}

#[test]
fn lambda_log_level_filters_before_rust_log() {
    let folder = GuestFolder::new("serving-level").with_guest("misbehave", "misbehave");
    // Not `Lambda::start`: its "init complete" line is INFO, filtered out.
    let emulator = Emulator::start();
    let host = HostProcess::start(
        Path::new(HOST),
        &emulator.runtime_api(),
        &folder,
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "json"),
            ("AWS_LAMBDA_LOG_LEVEL", "WARN"),
            ("RUST_LOG", "trace"),
            ("WASM_LAMBDA_METRICS", "off"),
        ],
    );
    emulator
        .invoke(&json!({"guest": "misbehave", "event": {"mode": "log"}}))
        .answer();
    host.wait_for_log("misbehave says Error");
    let lines = json_lines(&host.log());
    let messages: Vec<&str> = lines.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(messages.contains(&"misbehave says Warn"), "{messages:?}");
    assert!(!messages.contains(&"misbehave says Info"), "{messages:?}");
    assert!(
        lines
            .iter()
            .all(|l| l["level"] == "WARN" || l["level"] == "ERROR"),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| l.get("_aws").is_none()),
        "metrics are off"
    );
}
