//! The warmer fan-out with real parts: several real host processes poll one
//! cargo-lambda emulator (several Lambda environments of one function), and
//! reach its Invoke API through `AWS_ENDPOINT_URL_LAMBDA`, as a parent
//! environment reaches Lambda's.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// One function with `count` environments: an emulator and `count` hosts
/// polling it, each initialised, all able to invoke the function.
struct Function {
    emulator: Emulator,
    hosts: Vec<HostProcess>,
    _folder: GuestFolder,
}

impl Function {
    fn start(label: &str, count: usize, invoke_endpoint: Option<&str>) -> Self {
        let folder = GuestFolder::new(label).with_guest("counter", "counter");
        let emulator = Emulator::start();
        let endpoint = invoke_endpoint.map_or_else(|| emulator.endpoint(), str::to_owned);
        // The emulator knows the function as `_`; it sends no real ARN, so
        // the host names itself from these variables.
        let env = [
            ("AWS_LAMBDA_FUNCTION_NAME", "_"),
            ("AWS_ENDPOINT_URL_LAMBDA", endpoint.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("WASM_LAMBDA_DEFAULT_GUEST", "counter"),
        ];
        let hosts: Vec<HostProcess> = (0..count)
            .map(|_| HostProcess::start(Path::new(HOST), &emulator.runtime_api(), &folder, &env))
            .collect();
        for host in &hosts {
            host.wait_for_log("init complete");
        }
        Self {
            emulator,
            hosts,
            _folder: folder,
        }
    }

    fn ping(&self, ping: Value) -> Value {
        self.emulator.invoke(&ping).answer()
    }
}

/// Every environment id in a fan-out answer: the parent's and the copies'.
fn environments(answer: &Value) -> Vec<String> {
    let mut ids: Vec<String> = std::iter::once(&answer["environment"])
        .chain(
            answer["fanout"]["copies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|copy| &copy["environment"]),
        )
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn one_ping_warms_four_environments_and_counts_them() {
    let function = Function::start("fanout-4", 4, None);
    let ping =
        json!({"warmer": true, "concurrency": 4, "delay": 400, "correlation_id": "deploy-7"});

    let first = function.ping(ping.clone());
    let fanout = &first["fanout"];
    assert_eq!(fanout["requested"], 4, "{first:#}");
    assert_eq!(fanout["invoked"], 3, "the parent is the fourth: {first:#}");
    assert_eq!(fanout["answered"], 3, "{first:#}");
    assert_eq!(fanout["environments"], 4, "{first:#}");
    assert_eq!(
        fanout["cold"], 4,
        "every environment's first event: {first:#}"
    );
    assert_eq!(fanout["failed"]["count"], 0, "{first:#}");
    assert_eq!(fanout["correlation_id"], "deploy-7");
    assert!(fanout.get("note").is_none(), "{first:#}");
    assert_eq!(environments(&first).len(), 4, "{first:#}");
    let elapsed = fanout["elapsed_ms"].as_u64().unwrap_or_default();
    assert!(
        (400..5_000).contains(&elapsed),
        "copies held their delay: {elapsed} ms"
    );

    let second = function.ping(ping);
    let fanout = &second["fanout"];
    assert_eq!(
        (fanout["environments"].as_u64(), fanout["cold"].as_u64()),
        (Some(4), Some(0)),
        "{second:#}"
    );
    assert_eq!(
        environments(&second),
        environments(&first),
        "the same four stay warm"
    );

    // Every environment ran the guest's warm hook on both pings and its
    // handle never: counter's warm answer reports both counts.
    let mut hooks: Vec<&Value> = vec![&second["guests"]["counter"]];
    hooks.extend(
        second["fanout"]["copies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|copy| &copy["guests"]["counter"]),
    );
    assert_eq!(hooks.len(), 4);
    for hook in hooks {
        assert_eq!(hook["ok"], true, "{second:#}");
        assert_eq!(
            hook["answer"],
            json!({"count": 0, "warmed": 2}),
            "{second:#}"
        );
    }
    // One EMF line per ping (on whichever environment was the parent)
    // says how many environments it warmed and how many were cold.
    let logs: String = function.hosts.iter().map(HostProcess::log).collect();
    let emf: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("WarmedEnvironments").is_some())
        .collect();
    let counts: Vec<(f64, f64)> = emf
        .iter()
        .map(|l| {
            (
                l["WarmedEnvironments"].as_f64().unwrap_or(-1.0),
                l["ColdEnvironments"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(counts.len(), 2, "{logs}");
    assert!(
        counts.contains(&(4.0, 4.0)) && counts.contains(&(4.0, 0.0)),
        "{counts:?}"
    );
}

#[test]
fn too_few_environments_are_reported_with_the_reason() {
    let function = Function::start("fanout-2", 2, None);
    let answer = function.ping(json!({"warmer": true, "concurrency": 4, "delay": 150}));
    let fanout = &answer["fanout"];
    assert_eq!(fanout["requested"], 4, "{answer:#}");
    assert_eq!(
        fanout["answered"], 3,
        "every copy was served, some by a reused environment: {answer:#}"
    );
    assert_eq!(fanout["environments"], 2, "{answer:#}");
    let note = fanout["note"].as_str().unwrap_or_default();
    assert!(
        note.contains("only 2 of 4") && note.contains("raise `delay`"),
        "{answer:#}"
    );
}

#[test]
fn copies_that_fail_are_counted_and_the_ping_still_answers() {
    // The Invoke API is unreachable: nothing listens on that port.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let function = Function::start("fanout-fail", 1, Some(&closed));
    let started = Instant::now();
    let answer = function.ping(json!({"warmer": true, "concurrency": 3}));
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(answer["warmed"], true, "{answer:#}");
    assert_eq!(answer["guests"]["counter"]["ok"], true, "{answer:#}");
    let fanout = &answer["fanout"];
    assert_eq!(
        (fanout["invoked"].as_u64(), fanout["answered"].as_u64()),
        (Some(2), Some(0)),
        "{answer:#}"
    );
    assert_eq!(fanout["environments"], 1, "the parent alone: {answer:#}");
    assert_eq!(fanout["failed"]["count"], 2, "{answer:#}");
    let error = fanout["failed"]["errors"][0].as_str().unwrap_or_default();
    assert!(error.contains("could not reach the Invoke API"), "{error}");

    // A target that is not a function name is reported, not fatal.
    let answer = function.ping(json!({"warmer": true, "target": "not a function"}));
    assert!(
        answer["fanout"]["note"]
            .as_str()
            .is_some_and(|n| n.contains("not a valid function name")),
        "{answer:#}"
    );
    // Near misses stay business events: counter's handle gets them.
    let answer = function.ping(json!({"warmer": "true", "concurrency": 3}));
    assert_eq!(answer["count"], 1, "{answer:#}");
    assert!(answer.get("fanout").is_none(), "{answer:#}");
}

#[test]
fn a_target_function_is_warmed_and_counted_alone() {
    // Two functions: "warmer" (one environment) pings "_" (three).
    let target = Function::start("fanout-target", 3, None);
    let warmer = Function::start("fanout-warmer", 1, Some(&target.emulator.endpoint()));
    let answer =
        warmer.ping(json!({"warmer": true, "concurrency": 3, "delay": 300, "target": "_"}));
    let fanout = &answer["fanout"];
    assert_eq!(
        (
            fanout["invoked"].as_u64(),
            fanout["answered"].as_u64(),
            fanout["environments"].as_u64()
        ),
        (Some(3), Some(3), Some(3)),
        "{answer:#}"
    );
    let warmer_env = answer["environment"].as_str().unwrap_or_default();
    assert!(
        !environments(&answer)[..].is_empty()
            && fanout["copies"]
                .as_array()
                .into_iter()
                .flatten()
                .all(|c| c["environment"] != warmer_env),
        "the warmer itself is not counted: {answer:#}"
    );
}

#[test]
fn the_warm_command_sends_the_ping_and_prints_the_report() {
    let function = Function::start("fanout-cli", 2, None);
    let output = std::process::Command::new(HOST)
        .args(["warm", "_", "--concurrency", "2", "--delay", "300"])
        .env("AWS_ENDPOINT_URL_LAMBDA", function.emulator.endpoint())
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["fanout"]["environments"], 2, "{report:#}");
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(
        summary.contains("warmed 2 of 2 environments (2 cold, 0 failed)"),
        "{summary}"
    );

    let unreachable = std::process::Command::new(HOST)
        .args(["warm", "_"])
        .env("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:9")
        .output()
        .unwrap();
    assert!(!unreachable.status.success());
    assert!(
        String::from_utf8_lossy(&unreachable.stderr).contains("could not reach the Invoke API"),
        "{unreachable:?}"
    );
}
