//! The adversarial suite: each case asserts the exact error and that the
//! next normal event succeeds. Real guests, in process.

use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wasm_lambda_host::runtime::invocation::{Invocation, InvocationError};
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::{GuestFolder, guest_wasm, wat_components};

fn settings(folder: &GuestFolder) -> Settings {
    Settings::new(folder.guests(), folder.models(), folder.cache())
}

fn start(folder: &GuestFolder) -> WasmHost {
    WasmHost::init(settings(folder))
        .map(|(host, _)| host)
        .expect("init")
}

fn invocation() -> Invocation {
    Invocation {
        request_id: "adversarial".into(),
        deadline: SystemTime::now() + Duration::from_secs(30),
        invoked_function_arn: String::new(),
        caller: Default::default(),
    }
}

fn call(host: &WasmHost, guest: &str, event: Value) -> Result<Value, InvocationError> {
    let event = json!({ "guest": guest, "event": event }).to_string();
    host.dispatch(event.as_bytes(), &invocation())
        .map(|r| serde_json::from_slice(&r.body).expect("JSON answer"))
}

/// A warmer ping's answer.
fn ping(host: &WasmHost) -> Result<Value, InvocationError> {
    host.dispatch(br#"{"warmer": true}"#, &invocation())
        .map(|r| serde_json::from_slice(&r.body).expect("JSON answer"))
}

/// The bad event fails with `error_type`, then a normal event succeeds.
fn fails_then_recovers(
    host: &WasmHost,
    guest: &str,
    bad: Value,
    error_type: &str,
) -> InvocationError {
    let error = call(host, guest, bad.clone()).expect_err(&format!("{bad} succeeded"));
    assert_eq!(error.error_type(), error_type, "{bad}: {error}");
    assert!(
        error.to_string().contains(guest),
        "error names the guest: {error}"
    );
    let next = call(host, guest, json!({})).unwrap_or_else(|e| panic!("after {bad}: {e}"));
    assert_eq!(next["count"], 1, "after {bad} a fresh instance serves");
    error
}

fn misbehave(manifest: &str) -> (GuestFolder, WasmHost) {
    let folder = GuestFolder::new("adv")
        .with_guest("misbehave", "misbehave")
        .with_file("guests.toml", manifest);
    let host = start(&folder);
    (folder, host)
}

#[test]
fn infinite_loop_times_out_close_to_its_budget() {
    let (_f, host) = misbehave("[guests.misbehave]\ntimeout_ms = 300\n");
    let started = Instant::now();
    let error = fails_then_recovers(&host, "misbehave", json!({"mode": "loop"}), "GuestTimeout");
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(300 + 200),
        "overshoot too large: {elapsed:?} ({error})"
    );
}

#[test]
fn loop_of_huge_memory_copies_times_out() {
    let (_f, host) = misbehave("[guests.misbehave]\ntimeout_ms = 300\n");
    fails_then_recovers(&host, "misbehave", json!({"mode": "copy"}), "GuestTimeout");
}

#[test]
fn memory_grow_bomb_hits_the_limit() {
    let (_f, host) = misbehave("[guests.misbehave]\nmemory_limit_mb = 32\n");
    let error = fails_then_recovers(
        &host,
        "misbehave",
        json!({"mode": "grow"}),
        "GuestMemoryLimit",
    );
    assert_eq!(
        error,
        InvocationError::GuestMemoryLimit {
            guest: "misbehave".into(),
            limit_mb: 32
        }
    );
}

#[test]
fn deep_recursion_traps() {
    let (_f, host) = misbehave("");
    let error = fails_then_recovers(
        &host,
        "misbehave",
        json!({"mode": "recurse"}),
        "GuestTrapped",
    );
    assert!(
        error.to_string().contains("call stack exhausted"),
        "{error}"
    );
}

#[test]
fn trap_in_handle() {
    let (_f, host) = misbehave("");
    let error = fails_then_recovers(&host, "misbehave", json!({"mode": "trap"}), "GuestTrapped");
    assert!(error.to_string().contains("unreachable"), "{error}");
}

#[test]
fn trap_error_and_loop_in_init() {
    for (mode, error_type) in [
        ("trap", "GuestInitFailed"),
        ("error", "GuestInitFailed"),
        ("loop", "GuestTimeout"),
    ] {
        let manifest = format!(
            "[guests.misbehave]\ntimeout_ms = 300\n[guests.misbehave.config]\ninit = \"{mode}\"\n"
        );
        let folder = GuestFolder::new("adv-init")
            .with_guest("misbehave", "misbehave")
            .with_guest("hello", "hello")
            .with_file("guests.toml", manifest);
        let (host, report) =
            WasmHost::init(settings(&folder)).expect("other guests keep init alive");
        let failed = report
            .guests
            .iter()
            .find(|g| g.name == "misbehave")
            .unwrap();
        assert!(failed.outcome.is_err(), "init {mode} reported: {failed:?}");
        let error = call(&host, "misbehave", json!({})).unwrap_err();
        assert_eq!(error.error_type(), error_type, "init {mode}: {error}");
        assert_eq!(
            call(&host, "hello", json!({})).unwrap()["message"],
            "Hello, world!"
        );
    }
}

#[test]
fn trap_in_warm_is_reported_in_the_warmer_answer() {
    let folder = GuestFolder::new("adv-warm")
        .with_guest("misbehave", "misbehave")
        .with_guest("counter", "counter")
        .with_file(
            "guests.toml",
            "[guests.misbehave.config]\nwarm = \"trap\"\n",
        );
    let host = start(&folder);
    let ping = ping(&host).unwrap();
    assert_eq!(ping["guests"]["misbehave"]["errorType"], "GuestTrapped");
    assert_eq!(ping["guests"]["counter"]["ok"], true);
    assert_eq!(call(&host, "misbehave", json!({})).unwrap()["count"], 1);
}

#[test]
fn answers_that_are_not_json() {
    let folder = GuestFolder::new("adv-raw").with_guest("raw", "raw-answer");
    let host = start(&folder);
    for bad in ["utf8", "json"] {
        let error = call(&host, "raw", json!(bad)).unwrap_err();
        assert_eq!(error.error_type(), "InvalidAnswer", "{bad}: {error}");
        assert!(error.to_string().contains("guest `raw`"), "{error}");
    }
    assert_eq!(
        call(&host, "raw", json!({"fine": true})).unwrap(),
        json!({"fine": true})
    );
    let ping = ping(&host).unwrap();
    assert_eq!(ping["guests"]["raw"]["errorType"], "InvalidAnswer");
}

#[test]
fn oversized_answer_and_event() {
    let (_f, host) = misbehave("");
    let error = call(&host, "misbehave", json!({"mode": "huge"})).unwrap_err();
    assert_eq!(error.error_type(), "PayloadTooLarge", "{error}");
    let huge =
        json!({"guest": "misbehave", "event": {"pad": "x".repeat(6 * 1024 * 1024)}}).to_string();
    let error = host.dispatch(huge.as_bytes(), &invocation()).unwrap_err();
    assert_eq!(error.error_type(), "PayloadTooLarge");
    assert_eq!(call(&host, "misbehave", json!({})).unwrap()["count"], 1);
}

#[test]
fn no_environment_files_or_sockets() {
    let (_f, host) = misbehave("");
    assert_eq!(
        call(&host, "misbehave", json!({"mode": "env"})).unwrap()["vars"],
        json!([])
    );
    let files = call(&host, "misbehave", json!({"mode": "files"})).unwrap();
    assert!(
        files["passwd"]["Err"].is_string(),
        "read /etc/passwd: {files}"
    );
    assert!(files["root"]["Err"].is_string(), "listed /: {files}");
    // A real listener the guest could reach if the host let it: the
    // refusal must come from the host (access denied), not the network.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let sockets = call(
        &host,
        "misbehave",
        json!({"mode": "connect", "address": address}),
    )
    .unwrap();
    let refusal = sockets["connect"]["Err"].as_str().unwrap_or_default();
    assert!(
        refusal.starts_with("PermissionDenied"),
        "the guest's connect to {address} was not refused by the host: {sockets}"
    );
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the listener saw a connection"
    );
}

#[test]
fn fresh_instances_share_nothing() {
    let (_f, host) = misbehave("[guests.misbehave]\ninstance = \"fresh\"\n");
    let stashed = call(&host, "misbehave", json!({"mode": "stash"})).unwrap();
    assert_eq!(stashed["stashed"], "secret-adversarial");
    assert_eq!(
        call(&host, "misbehave", json!({"mode": "peek"})).unwrap(),
        json!({"stash": null})
    );
    // A reused instance does keep it (the control).
    let (_g, reuse) = misbehave("");
    call(&reuse, "misbehave", json!({"mode": "stash"})).unwrap();
    assert_eq!(
        call(&reuse, "misbehave", json!({"mode": "peek"})).unwrap()["stash"],
        "secret-adversarial"
    );
}

#[test]
fn broken_files_and_names() {
    let hello = std::fs::read(guest_wasm("hello")).unwrap();
    let outside = GuestFolder::new("adv-outside").with_file("escape.wasm", &hello);
    let folder = GuestFolder::new("adv-files")
        .with_guest("hello", "hello")
        .with_file("truncated.wasm", &hello[..hello.len() / 2])
        .with_file("oldwit.wasm", wat_components::wrong_wit_version())
        .with_file("bad name.wasm", &hello)
        .with_file("pinned.wasm", &hello)
        .with_file(
            "guests.toml",
            format!("[guests.pinned]\nsha256 = \"{}\"\n", "ab".repeat(32)),
        );
    std::os::unix::fs::symlink(
        outside.guests().join("escape.wasm"),
        folder.guests().join("escape.wasm"),
    )
    .unwrap();
    // A corrupt .cwasm beside a good .wasm: ignored, the .wasm is compiled.
    std::fs::write(
        folder.guests().join("hello.cwasm"),
        b"garbage that is not an artifact",
    )
    .unwrap();

    let (host, report) = WasmHost::init(settings(&folder)).unwrap();
    let names: Vec<&str> = report.guests.iter().map(|g| g.name.as_str()).collect();
    assert!(
        !names.contains(&"bad name"),
        "invalid names are skipped: {names:?}"
    );
    for (guest, needle) in [
        ("truncated", "not a valid component"),
        ("oldwit", "wrong WIT version"),
        ("pinned", "sha256 mismatch"),
        ("escape", "outside the folder"),
    ] {
        let error = call(&host, guest, json!({})).unwrap_err();
        assert_eq!(error.error_type(), "GuestLoadFailed", "{guest}: {error}");
        assert!(error.to_string().contains(needle), "{guest}: {error}");
    }
    assert_eq!(
        call(&host, "hello", json!({})).unwrap()["message"],
        "Hello, world!"
    );
    let hello_report = report.guests.iter().find(|g| g.name == "hello").unwrap();
    assert_eq!(
        hello_report.outcome.as_ref().map(|o| o.as_str()),
        Ok("compiled")
    );
}

#[test]
fn strict_mode_covers_fresh_guests_whose_init_fails() {
    let folder = GuestFolder::new("adv-strict-fresh")
        .with_guest("misbehave", "misbehave")
        .with_guest("hello", "hello")
        .with_file(
            "guests.toml",
            "[guests.misbehave]\ninstance = \"fresh\"\n[guests.misbehave.config]\ninit = \"error\"\n",
        );
    let (_, report) = WasmHost::init(settings(&folder)).expect("not strict: others serve");
    let misbehave = report
        .guests
        .iter()
        .find(|g| g.name == "misbehave")
        .unwrap();
    assert!(
        misbehave
            .outcome
            .as_ref()
            .is_err_and(|e| e.contains("InitRefused")),
        "a fresh guest's failing init shows at init: {misbehave:?}"
    );
    let mut strict = settings(&folder);
    strict.strict = true;
    let error = WasmHost::init(strict).err().expect("strict init fails");
    assert_eq!(error.error_type(), "InitError.GuestsUnavailable");
    assert!(error.to_string().contains("misbehave"), "{error}");
}

#[test]
fn a_looping_init_is_retried_with_back_off_not_on_every_event() {
    let folder = GuestFolder::new("adv-backoff")
        .with_guest("misbehave", "misbehave")
        .with_guest("hello", "hello")
        .with_file(
            "guests.toml",
            "[guests.misbehave]\ntimeout_ms = 300\n[guests.misbehave.config]\ninit = \"loop\"\n",
        );
    let host = start(&folder);
    // Without back-off each event would rerun the 300 ms init: 1.2 s for
    // four. With it, at most one of them (the back-off starts at 100 ms and
    // doubles) runs `init` again.
    let started = Instant::now();
    for _ in 0..4 {
        let error = call(&host, "misbehave", json!({})).unwrap_err();
        assert_eq!(error.error_type(), "GuestTimeout", "{error}");
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(900),
        "four events took {elapsed:?}: init reran on each"
    );
    assert_eq!(
        call(&host, "hello", json!({})).unwrap()["message"],
        "Hello, world!"
    );

    // A guest whose init returns an error says when it will try again.
    let folder = GuestFolder::new("adv-backoff-error")
        .with_guest("misbehave", "misbehave")
        .with_guest("hello", "hello")
        .with_file(
            "guests.toml",
            "[guests.misbehave.config]\ninit = \"error\"\n",
        );
    let host = start(&folder);
    let error = call(&host, "misbehave", json!({})).unwrap_err();
    assert_eq!(error.error_type(), "GuestInitFailed");
    assert!(
        error.to_string().contains("asked to fail in init"),
        "{error}"
    );
}

#[test]
fn each_warm_hook_has_its_own_budget() {
    // `a-stuck` sorts (and warms) first and loops forever in `warm`.
    let folder = GuestFolder::new("adv-warm-budget")
        .with_guest("a-stuck", "misbehave")
        .with_guest("counter", "counter")
        .with_file("guests.toml", "[guests.a-stuck.config]\nwarm = \"loop\"\n");
    let host = start(&folder);
    let ping = ping(&host).unwrap();
    assert_eq!(
        ping["guests"]["a-stuck"]["errorType"], "GuestTimeout",
        "{ping}"
    );
    assert_eq!(
        ping["guests"]["counter"],
        json!({"ok": true, "answer": {"count": 0, "warmed": 1}}),
        "the guest after a stuck one is still warmed: {ping}"
    );
}

#[test]
fn fresh_guests_are_not_instantiated_by_warmer_pings() {
    // Its warm hook would trap: a ping must not build an instance to run it.
    let folder = GuestFolder::new("adv-warm-fresh")
        .with_guest("misbehave", "misbehave")
        .with_file(
            "guests.toml",
            "[guests.misbehave]\ninstance = \"fresh\"\n[guests.misbehave.config]\nwarm = \"trap\"\n",
        );
    let host = start(&folder);
    let ping = ping(&host).unwrap();
    let entry = &ping["guests"]["misbehave"];
    assert_eq!(entry["ok"], true, "{ping}");
    assert!(
        entry["skipped"]
            .as_str()
            .unwrap_or_default()
            .contains("fresh"),
        "{ping}"
    );
}

#[test]
fn an_oversized_warmer_answer_is_refused_like_any_answer() {
    let folder = GuestFolder::new("adv-warm-huge")
        .with_guest("misbehave", "misbehave")
        .with_file(
            "guests.toml",
            "[guests.misbehave.config]\nwarm = \"huge\"\n",
        );
    let host = start(&folder);
    let error = ping(&host).unwrap_err();
    assert_eq!(error.error_type(), "PayloadTooLarge", "{error}");
    assert!(error.to_string().contains("warmer"), "{error}");
    assert_eq!(call(&host, "misbehave", json!({})).unwrap()["count"], 1);
}

#[test]
fn a_cwasm_symlinked_out_of_the_folder_is_not_loaded() {
    let outside = GuestFolder::new("adv-cwasm-outside").with_guest("hello", "hello");
    wasm_lambda_host::commands::precompile::precompile(&outside.guests(), None).unwrap();
    let folder = GuestFolder::new("adv-cwasm-link").with_guest("hello", "hello");
    std::os::unix::fs::symlink(
        outside.guests().join("hello.cwasm"),
        folder.guests().join("hello.cwasm"),
    )
    .unwrap();
    let (host, report) = WasmHost::init(settings(&folder)).expect("init");
    let counts = report.counts();
    assert_eq!((counts.precompiled, counts.compiled), (0, 1), "{report:?}");
    assert_eq!(
        call(&host, "hello", json!({})).unwrap()["message"],
        "Hello, world!"
    );
    // The control: the same artifact inside the folder is used.
    std::fs::remove_file(folder.guests().join("hello.cwasm")).unwrap();
    std::fs::copy(
        outside.guests().join("hello.cwasm"),
        folder.guests().join("hello.cwasm"),
    )
    .unwrap();
    let (_, report) = WasmHost::init(settings(&folder)).expect("init");
    assert_eq!(report.counts().precompiled, 1, "{report:?}");
}

#[test]
fn envelope_events_reach_the_guest_byte_for_byte() {
    let folder = GuestFolder::new("adv-envelope").with_guest("raw", "raw-answer");
    let host = start(&folder);
    let inner = r#"{"z": 1, "a": {"y": [1, 2.50, -0]}, "a": "duplicate", "big": 340282366920938463463374607431768211457}"#;
    let payload = format!(r#"{{"guest": "raw", "event": {inner}}}"#);
    let answer = host.dispatch(payload.as_bytes(), &invocation()).unwrap();
    assert_eq!(String::from_utf8(answer.body).unwrap(), inner);
}

#[test]
fn init_errors_for_useless_environments() {
    let empty = GuestFolder::new("adv-empty");
    assert_eq!(
        WasmHost::init(settings(&empty)).err().unwrap().error_type(),
        "InitError.NoGuests"
    );

    let all_bad = GuestFolder::new("adv-allbad")
        .with_file("a.wasm", b"nope")
        .with_file("b.wasm", b"nope");
    let error = WasmHost::init(settings(&all_bad)).err().unwrap();
    assert_eq!(error.error_type(), "InitError.GuestsUnavailable");
    assert!(
        error.to_string().contains("`a`") && error.to_string().contains("`b`"),
        "{error}"
    );

    let manifest = GuestFolder::new("adv-manifest")
        .with_guest("hello", "hello")
        .with_file("guests.toml", "[guests");
    assert_eq!(
        WasmHost::init(settings(&manifest))
            .err()
            .unwrap()
            .error_type(),
        "InitError.ManifestInvalid"
    );

    let mut missing = settings(&empty);
    missing.guests_dir = empty.root().join("does-not-exist");
    assert_eq!(
        WasmHost::init(missing).err().unwrap().error_type(),
        "InitError.GuestsFolderUnreadable"
    );

    let one_bad = GuestFolder::new("adv-strict")
        .with_guest("hello", "hello")
        .with_file("bad.wasm", b"nope");
    assert!(
        WasmHost::init(settings(&one_bad)).is_ok(),
        "one bad guest is fine by default"
    );
    let mut strict = settings(&one_bad);
    strict.strict = true;
    let error = WasmHost::init(strict).err().unwrap();
    assert_eq!(error.error_type(), "InitError.GuestsUnavailable");
    assert!(error.to_string().contains("WASM_LAMBDA_STRICT"), "{error}");
}

#[test]
fn malformed_events_of_every_routed_shape() {
    let folder = GuestFolder::new("adv-events").with_guest("hello", "hello");
    let mut with_default = settings(&folder);
    with_default.default_guest = Some("hello".into());
    let (host, _) = WasmHost::init(with_default).unwrap();
    for bad in [
        &b"not json"[..],
        b"{\"unterminated\": ",
        b"",
        br#"{"version": "2.0", "requestContext": {"http": {}}}"#,
        br#"{"httpMethod": "GET", "requestContext": {}}"#,
        br#"{"Records": []}"#,
        br#"{"Records": [{"eventSource": "aws:sqs"}]}"#,
        br#"{"Records": [{"EventSource": "aws:sns", "Sns": {}}]}"#,
        br#"{"Records": [{"eventSource": "aws:s3"}]}"#,
        br#"{"detail-type": "x", "source": 5}"#,
        br#"{"guest": 1, "event": {}}"#,
    ] {
        let error = host.dispatch(bad, &invocation()).unwrap_err();
        assert_eq!(
            error.error_type(),
            "BadEvent",
            "{}: {error}",
            String::from_utf8_lossy(bad)
        );
        let ok = host.dispatch(b"{}", &invocation()).unwrap();
        assert!(String::from_utf8_lossy(&ok.body).contains("Hello, world!"));
    }
}

#[test]
fn table_bomb_is_refused_at_instantiation_and_others_serve() {
    // `table-bomb` declares a function table of over 4 million elements
    // (its build script moves the table base); the host allows 1 million.
    let folder = GuestFolder::new("adv-table")
        .with_guest("bomb", "table-bomb")
        .with_guest("hello", "hello");
    let (host, report) = WasmHost::init(settings(&folder)).expect("init");
    let bomb = report.guests.iter().find(|g| g.name == "bomb").unwrap();
    let reason = bomb.outcome.as_ref().unwrap_err();
    assert!(reason.contains("exceeds table limits"), "{reason}");
    assert!(
        !reason.contains("Stack backtrace"),
        "no host backtrace in user-facing errors: {reason}"
    );
    for _ in 0..2 {
        let error = call(&host, "bomb", json!({})).unwrap_err();
        assert_eq!(error.error_type(), "GuestInitFailed", "{error}");
        assert!(
            error.to_string().contains("exceeds table limits"),
            "{error}"
        );
    }
    assert_eq!(
        call(&host, "hello", json!({})).unwrap()["message"],
        "Hello, world!"
    );
}
