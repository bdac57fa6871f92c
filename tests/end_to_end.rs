//! End to end: the real `wasm-lambda-host` binary under cargo-lambda's
//! Lambda Runtime API emulator, invoked over HTTP like `aws lambda invoke`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess, Lambda};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// The real binary under the emulator, initialised.
fn start_lambda(folder: &GuestFolder, env: &[(&str, &str)]) -> Lambda {
    Lambda::start(Path::new(HOST), folder, env)
}

fn envelope(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

fn http_v2(path: &str) -> Value {
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": {},
           "isBase64Encoded": false, "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}})
}

#[test]
fn hello_answers_through_the_runtime_api() {
    let folder = GuestFolder::new("e2e-hello").with_guest("hello", "hello");
    let lambda = start_lambda(&folder, &[("WASM_LAMBDA_DEFAULT_GUEST", "hello")]);
    let answer = lambda.emulator.invoke(&json!({"name": "Lambda"})).answer();
    assert_eq!(answer["message"], "Hello, Lambda!");
    assert_eq!(answer["guest"], "hello");
    assert_eq!(answer["cold"], true);
    let request_id = answer["request_id"].as_str().unwrap();
    assert!(
        request_id.len() >= 32,
        "the emulator's request id reaches the guest: {request_id}"
    );
    assert_eq!(lambda.emulator.invoke(&json!({})).answer()["cold"], false);
}

#[test]
fn guest_logs_land_in_the_host_log_with_guest_and_request_id() {
    let folder = GuestFolder::new("e2e-log").with_guest("misbehave", "misbehave");
    let lambda = start_lambda(&folder, &[]);
    let answer = lambda
        .emulator
        .invoke(&envelope("misbehave", json!({"mode": "log"})))
        .answer();
    assert_eq!(answer["logged"], true);
    let request_id = answer["request_id"].as_str().unwrap().to_owned();
    let line = lambda.host.wait_for_log("misbehave says Warn");
    let line = line
        .lines()
        .find(|l| l.contains("misbehave says Warn"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        line.contains("WARN") && line.contains(r#"guest="misbehave""#),
        "{line}"
    );
    assert!(
        line.contains(&request_id),
        "no request id {request_id}: {line}"
    );
    let log = lambda.host.log();
    assert!(log.contains("misbehave says Error"), "{log}");
    // RUST_LOG's default (info) keeps the guest's debug and trace lines out.
    assert!(!log.contains("misbehave says Debug"), "{log}");
}

#[test]
fn classifier_answers_the_seed_004_request_through_the_runtime_api() {
    let folder = GuestFolder::new("e2e-classifier")
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");
    let lambda = start_lambda(&folder, &[("WASM_LAMBDA_DEFAULT_GUEST", "classifier")]);
    let log = lambda.host.log();
    assert!(log.contains("model ready: seed_forest: input: float32[N, 4] -> label: int64[N], probabilities: float32[N, 2]"), "{log}");
    // The seed's curl body, as is: `{"data": [0, 0, 0, 0]}`.
    let answer = lambda
        .emulator
        .invoke(&json!({"data": [0, 0, 0, 0]}))
        .answer();
    assert_eq!(answer["statusCode"], 200);
    assert_eq!(answer["body"], 1);
    let expected =
        &wasm_lambda_tests::model_reference("seed_forest")["outputs"]["probabilities"][0];
    for (got, want) in answer["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .zip(expected.as_array().unwrap())
    {
        let (got, want) = (got.as_f64().unwrap(), want.as_f64().unwrap());
        assert!(
            (got - want).abs() <= 1e-5 * want.abs(),
            "{got} vs onnxruntime {want}"
        );
    }
    let bad = lambda.emulator.invoke(&json!({"data": [0, 0]}));
    assert_eq!(bad.error_type(), "GuestError");
    assert_eq!(
        lambda
            .emulator
            .invoke(&json!({"data": [0, 0, 0, 0]}))
            .answer()["body"],
        1
    );
}

#[test]
fn two_guests_routed_by_envelope_and_by_http_path() {
    let folder = GuestFolder::new("e2e-routes")
        .with_guest("hello", "hello")
        .with_guest("counter", "counter")
        .with_guest("http-router", "http-router");
    let lambda = start_lambda(&folder, &[]);
    let hello = lambda
        .emulator
        .invoke(&envelope("hello", json!({"name": "Env"})))
        .answer();
    assert_eq!(hello["message"], "Hello, Env!");
    let count = lambda
        .emulator
        .invoke(&envelope("counter", json!({})))
        .answer();
    assert_eq!(count["count"], 1);
    let http = lambda
        .emulator
        .invoke(&http_v2("/http-router/health"))
        .answer();
    assert_eq!(http["statusCode"], 200);
    assert_eq!(http["body"], r#"{"ok":true}"#);
    let http = lambda.emulator.invoke(&http_v2("/hello/anything")).answer();
    assert_eq!(
        http["message"], "Hello, world!",
        "first path segment names the guest"
    );
}

#[test]
fn counter_state_persists_over_100_invocations() {
    let folder = GuestFolder::new("e2e-counter").with_guest("counter", "counter");
    let lambda = start_lambda(&folder, &[("WASM_LAMBDA_DEFAULT_GUEST", "counter")]);
    for n in 1..=100 {
        let answer = lambda.emulator.invoke(&json!({"n": n})).answer();
        assert_eq!(answer["count"], n, "invocation {n}");
        assert_eq!(answer["cold"], n == 1);
    }
}

#[test]
fn warmer_ping_is_answered_without_calling_handle() {
    let folder = GuestFolder::new("e2e-warmer").with_guest("counter", "counter");
    let lambda = start_lambda(&folder, &[("WASM_LAMBDA_DEFAULT_GUEST", "counter")]);
    let started = Instant::now();
    let ping = lambda
        .emulator
        .invoke(&json!({"warmer": true, "concurrency": 2, "delay": 300}))
        .answer();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "the delay holds the answer"
    );
    assert_eq!(ping["warmed"], true);
    assert_eq!(ping["cold"], true);
    assert_eq!(ping["invocations"], 1);
    assert_eq!(ping["concurrency"], 2);
    assert!(ping["environment"].as_str().unwrap().starts_with("env-"));
    assert_eq!(
        ping["guests"]["counter"]["answer"],
        json!({"count": 0, "warmed": 1}),
        "handle never ran"
    );
    let plugin = lambda
        .emulator
        .invoke(&json!({"source": "serverless-plugin-warmup"}))
        .answer();
    assert_eq!(plugin["environment"], ping["environment"]);
    assert_eq!(
        plugin["guests"]["counter"]["answer"],
        json!({"count": 0, "warmed": 2})
    );
    let business = lambda
        .emulator
        .invoke(&json!({"warmer": "not a boolean"}))
        .answer();
    assert_eq!(
        business,
        json!({"count": 1, "warmed": 2, "cold": true}),
        "a near miss is a business event"
    );
}

#[test]
fn a_trapping_guest_is_rebuilt_and_serves_the_next_event() {
    let folder = GuestFolder::new("e2e-trap")
        .with_guest("misbehave", "misbehave")
        .with_guest("counter", "counter");
    let mut lambda = start_lambda(&folder, &[]);
    assert_eq!(
        lambda
            .emulator
            .invoke(&envelope("misbehave", json!({})))
            .answer()["count"],
        1
    );
    assert_eq!(
        lambda
            .emulator
            .invoke(&envelope("counter", json!({})))
            .answer()["count"],
        1
    );
    let trapped = lambda
        .emulator
        .invoke(&envelope("misbehave", json!({"mode": "trap"})));
    assert_eq!(trapped.error_type(), "GuestTrapped");
    assert!(
        trapped.error_message().contains("misbehave"),
        "{}",
        trapped.body
    );
    let next = lambda
        .emulator
        .invoke(&envelope("misbehave", json!({})))
        .answer();
    assert_eq!(
        (next["count"].clone(), next["cold"].clone()),
        (json!(1), json!(true)),
        "a fresh instance"
    );
    assert_eq!(
        lambda
            .emulator
            .invoke(&envelope("counter", json!({})))
            .answer()["count"],
        2,
        "others untouched"
    );
    assert!(lambda.host.is_running());
}

#[test]
fn unknown_routes_and_bad_events_get_documented_errors() {
    let folder = GuestFolder::new("e2e-noroute")
        .with_guest("hello", "hello")
        .with_guest("counter", "counter");
    let mut lambda = start_lambda(&folder, &[]);
    let unrouted = lambda.emulator.invoke(&json!({"data": [0, 0, 0, 0]}));
    assert_eq!(unrouted.error_type(), "NoRoute");
    assert!(
        unrouted.error_message().contains("guests: counter, hello"),
        "{}",
        unrouted.body
    );
    let unknown = lambda.emulator.invoke(&envelope("nope", json!({})));
    assert_eq!(unknown.error_type(), "NoRoute");
    assert!(
        unknown.error_message().contains("`nope`"),
        "{}",
        unknown.body
    );
    let malformed = lambda
        .emulator
        .invoke(&json!({"Records": [{"eventSource": "aws:sqs"}]}));
    assert_eq!(malformed.error_type(), "BadEvent");
    assert_eq!(
        lambda
            .emulator
            .invoke(&envelope("hello", json!({})))
            .answer()["message"],
        "Hello, world!"
    );
    assert!(lambda.host.is_running());
}

#[test]
fn second_cold_start_with_a_warm_cache_compiles_nothing() {
    let folder = GuestFolder::new("e2e-cache")
        .with_guest("hello", "hello")
        .with_guest("counter", "counter");
    let first = start_lambda(&folder, &[]);
    let log = first.host.wait_for_log("init complete");
    assert!(
        log.contains("compiled=2 cached=0"),
        "first cold start compiles both:\n{log}"
    );
    drop(first);

    let second = start_lambda(&folder, &[]);
    let log = second.host.wait_for_log("init complete");
    assert!(
        log.contains("compiled=0 cached=2"),
        "second cold start compiles nothing:\n{log}"
    );
    assert_eq!(
        second
            .emulator
            .invoke(&envelope("counter", json!({})))
            .answer()["count"],
        1
    );
}

/// `wasm-lambda-host precompile` on the folder's guests.
fn precompile(folder: &GuestFolder) {
    let status = std::process::Command::new(HOST)
        .arg("precompile")
        .arg(folder.guests())
        .status()
        .unwrap();
    assert!(status.success());
}

#[test]
fn precompiled_guests_load_without_compiling() {
    let folder = GuestFolder::new("e2e-cwasm")
        .with_guest("hello", "hello")
        .with_guest("counter", "counter");
    precompile(&folder);
    assert!(folder.guests().join("hello.cwasm").exists());
    let lambda = start_lambda(&folder, &[]);
    let log = lambda.host.wait_for_log("init complete");
    assert!(log.contains("compiled=0 cached=0 precompiled=2"), "{log}");
    assert_eq!(
        lambda
            .emulator
            .invoke(&envelope("hello", json!({})))
            .answer()["message"],
        "Hello, world!"
    );
}

/// `wasm-lambda-host invoke hello` on `folder` with debug logs: (stdout, log).
fn invoke_with_debug_log(folder: &GuestFolder) -> (String, String) {
    let output = std::process::Command::new(HOST)
        .args(["invoke", "hello"])
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .env("RUST_LOG", "wasm_lambda_host=debug")
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn an_unchanged_wasm_is_not_rehashed_and_a_changed_one_is_checked() {
    let folder = GuestFolder::new("e2e-stamp").with_guest("hello", "hello");
    precompile(&folder);
    const SKIPPED: &str = "unchanged since precompile";

    // The very file precompile read: its size and mtime vouch for it.
    let (answer, log) = invoke_with_debug_log(&folder);
    assert!(answer.contains("Hello, world!"), "{answer}{log}");
    assert!(
        log.contains(SKIPPED) && log.contains("wasm_read_and_hashed=false"),
        "{log}"
    );
    assert!(log.contains(r#"origin="precompiled""#), "{log}");

    // Same bytes, written again (a new mtime): hashed, and the digest still
    // matches, so the artifact is used.
    let wasm = folder.guests().join("hello.wasm");
    let bytes = std::fs::read(&wasm).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&wasm, &bytes).unwrap();
    let (_, log) = invoke_with_debug_log(&folder);
    assert!(
        !log.contains(SKIPPED) && log.contains("wasm_read_and_hashed=true"),
        "{log}"
    );
    assert!(log.contains(r#"origin="precompiled""#), "{log}");

    // Another guest under the old name: the stale artifact is refused.
    std::fs::copy(wasm_lambda_tests::guest_wasm("counter"), &wasm).unwrap();
    let output = std::process::Command::new(HOST)
        .args(["invoke", "hello"])
        .env("WASM_LAMBDA_GUESTS", folder.guests())
        .env("WASM_LAMBDA_CACHE", folder.cache())
        .env("WASM_LAMBDA_MODELS", folder.models())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&output.stderr);
    assert!(
        log.contains("it was compiled from a different .wasm")
            && log.contains(r#"origin="compiled""#),
        "{log}"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("count"),
        "{output:?}"
    );
}

#[test]
fn init_errors_go_to_the_runtime_api_init_error_endpoint() {
    let folder = GuestFolder::new("e2e-initerror").with_file("broken.wasm", b"not a component");
    let emulator = Emulator::start();
    let mut host = HostProcess::start(Path::new(HOST), &emulator.runtime_api(), &folder, &[]);
    assert_eq!(
        host.wait_exit(Duration::from_secs(60)),
        Some(1),
        "init failure ends the process"
    );
    let log = host.log();
    assert!(
        log.contains("error_type=\"InitError.GuestsUnavailable\""),
        "{log}"
    );
    assert!(
        log.contains("every guest failed to load: `broken`"),
        "{log}"
    );
    // The emulator accepted the report (a refusal or an unreachable API is logged).
    assert!(!log.contains("could not report the init error"), "{log}");
}

#[test]
fn soak_of_10000_mixed_events_keeps_answers_right_and_memory_flat() {
    let folder = GuestFolder::new("e2e-soak")
        .with_guest("counter", "counter")
        .with_guest("misbehave", "misbehave")
        .with_guest("hello", "hello");
    let lambda = start_lambda(
        &folder,
        &[("RUST_LOG", "error,wasm_lambda_host::wasm_host=info")],
    );
    let mut expected_count = 0;
    let mut rss_at_1k = 0;
    for i in 1..=10_000u32 {
        match i % 10 {
            3 => {
                let trapped = lambda
                    .emulator
                    .invoke(&envelope("misbehave", json!({"mode": "trap"})));
                assert_eq!(trapped.error_type(), "GuestTrapped", "event {i}");
            }
            6 => {
                let bad = lambda
                    .emulator
                    .invoke(&json!({"Records": [{"eventSource": "aws:sqs"}]}));
                assert_eq!(bad.error_type(), "BadEvent", "event {i}");
            }
            8 => {
                let error = lambda
                    .emulator
                    .invoke(&envelope("misbehave", json!({"mode": "error"})));
                assert_eq!(error.error_type(), "GuestError", "event {i}");
            }
            9 => {
                let name = format!("n{i}");
                let answer = lambda
                    .emulator
                    .invoke(&envelope("hello", json!({"name": name})))
                    .answer();
                assert_eq!(answer["message"], format!("Hello, {name}!"), "event {i}");
            }
            _ => {
                expected_count += 1;
                let answer = lambda
                    .emulator
                    .invoke(&envelope("counter", json!({})))
                    .answer();
                assert_eq!(answer["count"], expected_count, "event {i}");
            }
        }
        if i == 1_000 {
            rss_at_1k = lambda.host.resident_kb();
        }
    }
    let rss_at_10k = lambda.host.resident_kb();
    eprintln!(
        "soak resident memory: {rss_at_1k} kB after 1,000 events, {rss_at_10k} kB after 10,000"
    );
    assert!(
        rss_at_10k <= rss_at_1k + 4 * 1024,
        "memory grew: {rss_at_1k} kB -> {rss_at_10k} kB"
    );
}

#[test]
fn guests_past_the_init_memory_budget_are_instantiated_on_their_first_event() {
    // An 8 MB function: its init budget (4 MB resident) is spent before the
    // first guest, so only `eager = true` is instantiated at init. `counter`
    // has a .cwasm: it is not even loaded until its first event.
    let folder = GuestFolder::new("e2e-eager")
        .with_guest("hello", "hello")
        .with_precompiled_guest("counter", "counter", Path::new(HOST))
        .with_guest("misbehave", "misbehave")
        .with_file(
            "guests.toml",
            "[guests.hello]\neager = true\n\
             [guests.misbehave]\neager = false\n[guests.misbehave.config]\ninit = \"error\"\n",
        );
    let lambda = start_lambda(&folder, &[("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "8")]);
    let log = lambda.host.wait_for_log("init complete");
    assert!(
        log.contains(
            "2 guests will be instantiated on their first event: 1 marked eager = false, \
             1 past the init memory budget (4 MB resident)"
        ) && log.contains("marked_not_eager=misbehave")
            && log.contains("over_budget=counter"),
        "{log}"
    );
    let line = |guest: &str| {
        log.lines()
            .find(|l| {
                l.ends_with(&format!(" guest={guest}")) || l.contains(&format!(" guest={guest} "))
            })
            .unwrap_or_default()
            .to_owned()
    };
    assert!(line("hello").contains("guest ready"), "{log}");
    assert!(
        line("counter").contains("guest left for its first event, which loads its .cwasm"),
        "{log}"
    );
    assert!(
        line("misbehave").contains("instantiated on its first event"),
        "no .cwasm: compiled at init, instantiated later; {log}"
    );
    // misbehave's failing `init` has not run yet: init reports no failure.
    assert!(
        log.contains("failed=0") && log.contains("deferred=2") && log.contains("on_first_use=1"),
        "{log}"
    );

    // A warmer ping warms what init instantiated and leaves the rest.
    let ping = lambda.emulator.invoke(&json!({"warmer": true})).answer();
    assert!(
        ping["guests"]["hello"]["ok"] == true && ping["guests"]["hello"].get("skipped").is_none(),
        "{ping}"
    );
    assert!(
        ping["guests"]["counter"]["skipped"]
            .as_str()
            .is_some_and(|r| r.contains("its first event instantiates it")),
        "{ping}"
    );

    // The first event instantiates, running `init` before the handler.
    let first = lambda
        .emulator
        .invoke(&envelope("counter", json!({})))
        .answer();
    assert_eq!(first["count"], 1);
    assert_eq!(first["cold"], true);
    let refused = lambda
        .emulator
        .invoke(&envelope("misbehave", json!({"mode": "count"})));
    assert!(
        refused.error_type() == "GuestInitFailed"
            && refused.error_message().contains("InitRefused"),
        "the deferred guest's init ran before its first event: {}",
        refused.body
    );
    // Once instantiated, a guest is warmed like any other.
    let ping = lambda.emulator.invoke(&json!({"warmer": true})).answer();
    assert!(ping["guests"]["counter"]["answer"].is_object(), "{ping}");
}
