//! Each guest behaviour, in process: the real host library with real guests
//! built for wasm32-wasip2, no Runtime API in between.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wasm_lambda_host::runtime::invocation::{Invocation, InvocationError};
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_host::wasm_host::init::{InitReport, OriginCounts};
use wasm_lambda_tests::GuestFolder;

fn settings(folder: &GuestFolder) -> Settings {
    Settings::new(folder.guests(), folder.models(), folder.cache())
}

fn start(folder: &GuestFolder) -> (WasmHost, InitReport) {
    WasmHost::init(settings(folder)).expect("init")
}

fn invocation(seconds: u64) -> Invocation {
    Invocation {
        request_id: "req-1".into(),
        deadline: SystemTime::now() + Duration::from_secs(seconds),
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:test".into(),
        caller: Default::default(),
    }
}

fn call(host: &WasmHost, event: Value) -> Result<Value, InvocationError> {
    host.dispatch(event.to_string().as_bytes(), &invocation(30))
        .map(|r| serde_json::from_slice(&r.body).expect("answers are JSON"))
}

fn to(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

#[test]
fn hello_greets_with_event_and_context() {
    let folder = GuestFolder::new("hello").with_guest("hello", "hello");
    let (host, _) = start(&folder);
    let answer = call(&host, to("hello", json!({"name": "Ana"}))).unwrap();
    assert_eq!(
        answer,
        json!({"message": "Hello, Ana!", "guest": "hello", "request_id": "req-1", "cold": true})
    );
    let answer = call(&host, to("hello", json!({}))).unwrap();
    assert_eq!(answer["message"], "Hello, world!");
    assert_eq!(
        answer["cold"], false,
        "second event on the same instance is warm"
    );
}

#[test]
fn counter_keeps_state_and_warm_hook_is_separate() {
    let folder = GuestFolder::new("counter").with_guest("counter", "counter");
    let (host, _) = start(&folder);
    for n in 1..=5 {
        assert_eq!(call(&host, to("counter", json!({}))).unwrap()["count"], n);
    }
    let ping = call(&host, json!({"warmer": true})).unwrap();
    assert_eq!(
        ping["guests"]["counter"]["answer"],
        json!({"count": 5, "warmed": 1})
    );
    let after = call(&host, to("counter", json!({}))).unwrap();
    assert_eq!(after, json!({"count": 6, "warmed": 1, "cold": false}));
}

#[test]
fn http_router_answers_by_path() {
    let folder = GuestFolder::new("http").with_guest("http-router", "http-router");
    let (host, _) = start(&folder);
    let request = |method: &str, path: &str| {
        json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "name=Bo",
               "queryStringParameters": {"name": "Bo"}, "headers": {}, "isBase64Encoded": false,
               "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"}})
    };
    let ok = call(&host, request("GET", "/http-router/hello")).unwrap();
    assert_eq!(ok["statusCode"], 200);
    assert_eq!(
        serde_json::from_str::<Value>(ok["body"].as_str().unwrap()).unwrap(),
        json!({"message": "Hello, Bo!"})
    );
    assert_eq!(
        call(&host, request("GET", "/http-router/nothing")).unwrap()["statusCode"],
        404
    );
    assert_eq!(
        call(&host, request("DELETE", "/http-router/health")).unwrap()["statusCode"],
        405
    );
}

#[test]
fn config_reaches_the_guest_and_environment_does_not() {
    let folder = GuestFolder::new("config")
        .with_guest("misbehave", "misbehave")
        .with_file(
            "guests.toml",
            "[guests.misbehave.config]\ngreeting = \"olá\"\nretries = 3\n",
        );
    // SAFETY of the assertion: the test process certainly has variables.
    assert!(std::env::vars().count() > 0);
    let (host, _) = start(&folder);
    let answer = call(&host, to("misbehave", json!({"mode": "config"}))).unwrap();
    assert_eq!(answer["greeting"], "olá");
    assert_eq!(answer["missing"], Value::Null);
    assert_eq!(
        answer["entries"],
        json!([["greeting", "olá"], ["retries", "3"]])
    );
    let env = call(&host, to("misbehave", json!({"mode": "env"}))).unwrap();
    assert_eq!(
        env["vars"],
        json!([]),
        "guests must not see the function's environment"
    );
}

#[test]
fn a_trap_drops_the_instance_and_the_next_event_gets_a_fresh_one() {
    let folder = GuestFolder::new("trap")
        .with_guest("misbehave", "misbehave")
        .with_guest("counter", "counter");
    let (host, _) = start(&folder);
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 1);
    assert_eq!(call(&host, to("counter", json!({}))).unwrap()["count"], 1);
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 2);
    let error = call(&host, to("misbehave", json!({"mode": "trap"}))).unwrap_err();
    assert_eq!(error.error_type(), "GuestTrapped");
    assert!(
        error.to_string().contains("guest `misbehave` trapped"),
        "{error}"
    );
    let fresh = call(&host, to("misbehave", json!({}))).unwrap();
    assert_eq!(
        (fresh["count"].clone(), fresh["cold"].clone()),
        (json!(1), json!(true))
    );
    // Other guests keep their instance.
    assert_eq!(call(&host, to("counter", json!({}))).unwrap()["count"], 2);
}

#[test]
fn a_returned_error_keeps_the_instance() {
    let folder = GuestFolder::new("error").with_guest("misbehave", "misbehave");
    let (host, _) = start(&folder);
    call(&host, to("misbehave", json!({}))).unwrap();
    let error = call(&host, to("misbehave", json!({"mode": "error"}))).unwrap_err();
    assert_eq!(
        error,
        InvocationError::GuestError {
            guest: "misbehave".into(),
            kind: "Refused".into(),
            message: "asked to fail".into()
        }
    );
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 2);
    // An event the guest's type cannot read is the guest's InvalidEvent error.
    let error = call(&host, to("misbehave", json!({"mode": 5}))).unwrap_err();
    assert!(
        matches!(&error, InvocationError::GuestError { kind, .. } if kind == "InvalidEvent"),
        "{error:?}"
    );
}

#[test]
fn fresh_guests_get_a_new_instance_per_event() {
    let folder = GuestFolder::new("fresh")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", "[guests.misbehave]\ninstance = \"fresh\"\n");
    let (host, _) = start(&folder);
    for _ in 0..3 {
        let answer = call(&host, to("misbehave", json!({}))).unwrap();
        assert_eq!(
            (answer["count"].clone(), answer["cold"].clone()),
            (json!(1), json!(true))
        );
    }
}

#[test]
fn an_infinite_loop_times_out_and_the_guest_recovers() {
    let folder = GuestFolder::new("loop")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", "[guests.misbehave]\ntimeout_ms = 200\n");
    let (host, _) = start(&folder);
    let error = call(&host, to("misbehave", json!({"mode": "loop"}))).unwrap_err();
    assert_eq!(error.error_type(), "GuestTimeout", "{error}");
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 1);
}

#[test]
fn lambda_deadline_bounds_guests_without_their_own_timeout() {
    let folder = GuestFolder::new("deadline").with_guest("misbehave", "misbehave");
    let (host, _) = start(&folder);
    let event = to("misbehave", json!({"mode": "loop"})).to_string();
    let error = host.dispatch(event.as_bytes(), &invocation(1)).unwrap_err();
    assert_eq!(error.error_type(), "GuestTimeout", "{error}");
}

#[test]
fn memory_limit_is_enforced() {
    let folder = GuestFolder::new("grow")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", "[guests.misbehave]\nmemory_limit_mb = 16\n");
    let (host, _) = start(&folder);
    let error = call(&host, to("misbehave", json!({"mode": "grow"}))).unwrap_err();
    assert_eq!(
        error,
        InvocationError::GuestMemoryLimit {
            guest: "misbehave".into(),
            limit_mb: 16
        }
    );
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 1);
}

#[test]
fn deep_recursion_is_a_trap() {
    let folder = GuestFolder::new("recurse").with_guest("misbehave", "misbehave");
    let (host, _) = start(&folder);
    let error = call(&host, to("misbehave", json!({"mode": "recurse"}))).unwrap_err();
    assert_eq!(error.error_type(), "GuestTrapped", "{error}");
    assert!(
        error
            .to_string()
            .contains("trapped: wasm trap: call stack exhausted"),
        "{error}"
    );
    assert_eq!(call(&host, to("misbehave", json!({}))).unwrap()["count"], 1);
}

#[test]
fn a_failing_init_is_reported_and_others_serve() {
    let folder = GuestFolder::new("initfail")
        .with_guest("init-fails", "init-fails")
        .with_guest("hello", "hello");
    let (host, report) = start(&folder);
    let failed = report
        .guests
        .iter()
        .find(|g| g.name == "init-fails")
        .unwrap();
    assert!(
        failed
            .outcome
            .as_ref()
            .unwrap_err()
            .contains("ConfigMissing"),
        "{failed:?}"
    );
    let error = call(&host, to("init-fails", json!({}))).unwrap_err();
    assert_eq!(error.error_type(), "GuestInitFailed");
    assert!(
        error
            .to_string()
            .contains("the table name is not configured"),
        "{error}"
    );
    assert_eq!(
        call(&host, to("hello", json!({}))).unwrap()["message"],
        "Hello, world!"
    );
}

#[test]
fn broken_guests_do_not_take_the_others_down() {
    let hello = std::fs::read(wasm_lambda_tests::guest_wasm("hello")).unwrap();
    let folder = GuestFolder::new("broken")
        .with_guest("hello", "hello")
        .with_file("corrupt.wasm", b"\0asm this is not a component")
        .with_file(
            "noexport.wasm",
            wasm_lambda_tests::wat_components::no_exports(),
        )
        .with_file("pinned.wasm", &hello)
        .with_file(
            "guests.toml",
            format!("[guests.pinned]\nsha256 = \"{}\"\n", "0".repeat(64)),
        );
    let (host, report) = start(&folder);
    assert_eq!(report.counts().failed, 3, "{report:?}");
    for (guest, needle) in [
        ("corrupt", "not a valid component"),
        ("noexport", "missing export"),
        ("pinned", "sha256 mismatch"),
    ] {
        let error = call(&host, to(guest, json!({}))).unwrap_err();
        assert_eq!(error.error_type(), "GuestLoadFailed", "{guest}: {error}");
        assert!(error.to_string().contains(needle), "{guest}: {error}");
    }
    assert_eq!(
        call(&host, to("hello", json!({}))).unwrap()["message"],
        "Hello, world!"
    );
}

#[test]
fn a_broken_manifest_is_an_init_error() {
    let folder = GuestFolder::new("badmanifest")
        .with_guest("hello", "hello")
        .with_file("guests.toml", "[guests.hello]\ntimeout = 1\n");
    let error = WasmHost::init(settings(&folder))
        .err()
        .expect("init must fail");
    assert!(
        format!("{error:#}").contains("unknown field `timeout`"),
        "{error:#}"
    );
}

#[test]
fn manifest_routes_and_default_guest() {
    let folder = GuestFolder::new("routes")
        .with_guest("orders", "counter")
        .with_guest("hello", "hello")
        .with_file(
            "guests.toml",
            "[guests.orders]\nroutes = [{ sqs = \"arn:aws:sqs:*:*:orders\" }]\n",
        );
    let sqs = json!({"Records": [{"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:orders", "body": "{}"}]});
    let (host, _) = start(&folder);
    assert_eq!(call(&host, sqs.clone()).unwrap()["count"], 1);
    assert_eq!(
        call(&host, json!({"any": 1})).unwrap_err().error_type(),
        "NoRoute"
    );

    let mut with_default = settings(&folder);
    with_default.default_guest = Some("hello".into());
    let (host, _) = WasmHost::init(with_default).unwrap();
    assert_eq!(call(&host, json!({"any": 1})).unwrap()["guest"], "hello");
    assert_eq!(call(&host, sqs).unwrap()["count"], 1);
}

#[test]
fn bad_and_oversized_events() {
    let folder = GuestFolder::new("badevent").with_guest("hello", "hello");
    let (host, _) = start(&folder);
    let error = host.dispatch(b"{not json", &invocation(30)).unwrap_err();
    assert_eq!(error.error_type(), "BadEvent");
    let error = call(&host, json!({"Records": []})).unwrap_err();
    assert_eq!(error.error_type(), "BadEvent");
    let huge = to("hello", json!({"name": "x".repeat(7 * 1024 * 1024)})).to_string();
    let error = host.dispatch(huge.as_bytes(), &invocation(30)).unwrap_err();
    assert_eq!(error.error_type(), "PayloadTooLarge");
    assert_eq!(
        call(&host, to("hello", json!({}))).unwrap()["message"],
        "Hello, world!"
    );
}

#[test]
fn warmer_answer_reports_the_environment() {
    let folder = GuestFolder::new("warmer")
        .with_guest("counter", "counter")
        .with_guest("init-fails", "init-fails");
    let (host, _) = start(&folder);
    let first = call(
        &host,
        json!({"warmer": true, "concurrency": 3, "correlationId": "c-9"}),
    )
    .unwrap();
    assert_eq!(first["warmed"], true);
    assert_eq!(first["cold"], true);
    assert_eq!(first["invocations"], 1);
    assert_eq!(first["concurrency"], 3);
    assert_eq!(first["correlation_id"], "c-9");
    assert!(first["uptime_ms"].is_u64());
    assert_eq!(
        first["guests"]["counter"],
        json!({"ok": true, "answer": {"count": 0, "warmed": 1}})
    );
    assert_eq!(
        first["guests"]["init-fails"]["errorType"],
        "GuestInitFailed"
    );
    let second = call(&host, json!({"source": "serverless-plugin-warmup"})).unwrap();
    assert_eq!(second["environment"], first["environment"]);
    assert_eq!(
        (second["cold"].clone(), second["invocations"].clone()),
        (json!(false), json!(2))
    );
    let delayed = host
        .dispatch(br#"{"warmer": true, "delay": 250}"#, &invocation(30))
        .unwrap();
    assert_eq!(delayed.hold, Duration::from_millis(250));
}

fn origins(compiled: usize, cached: usize, precompiled: usize) -> OriginCounts {
    OriginCounts {
        compiled,
        cached,
        precompiled,
        kept: 0,
        on_first_use: 0,
        failed: 0,
    }
}

#[test]
fn precompiled_and_cached_artifacts_are_verified() {
    let folder = GuestFolder::new("artifacts").with_guest("hello", "hello");
    let (_, report) = start(&folder);
    assert_eq!(report.counts(), origins(1, 0, 0), "first start compiles");
    let (_, report) = start(&folder);
    assert_eq!(
        report.counts(),
        origins(0, 1, 0),
        "second start uses the cache"
    );

    // A corrupt cache entry is ignored and replaced.
    for entry in std::fs::read_dir(folder.cache()).unwrap() {
        std::fs::write(entry.unwrap().path(), b"WLCWASM1 garbage").unwrap();
    }
    let (host, report) = start(&folder);
    assert_eq!(
        report.counts(),
        origins(1, 0, 0),
        "corrupt cache falls back to compiling"
    );
    assert_eq!(
        call(&host, to("hello", json!({}))).unwrap()["message"],
        "Hello, world!"
    );

    // A .cwasm made from another .wasm is never loaded for this one.
    let counter = wasm_lambda_tests::guest_wasm("counter");
    let other = GuestFolder::new("other").with_file("hello.wasm", std::fs::read(counter).unwrap());
    wasm_lambda_host::commands::precompile::precompile(&other.guests(), None).unwrap();
    std::fs::copy(
        other.guests().join("hello.cwasm"),
        folder.guests().join("hello.cwasm"),
    )
    .unwrap();
    let (host, report) = start(&folder);
    assert_eq!(
        report.counts(),
        origins(0, 1, 0),
        "stale .cwasm is ignored, cache used"
    );
    assert_eq!(
        call(&host, to("hello", json!({}))).unwrap()["message"],
        "Hello, world!"
    );
}
