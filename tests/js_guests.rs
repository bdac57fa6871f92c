//! JavaScript and TypeScript guests, built with the JS SDK
//! (`guest-sdk/js`, `wasm-lambda build`) by the build step, precompiled by
//! the real host binary, and run by it under cargo-lambda's Runtime API
//! emulator: the `classifier-js` example (seed 004's `app.py`, ported to
//! TypeScript) and `js-probe`, which exercises every service of the SDK.

use std::path::Path;

use serde_json::{Value, json};
use wasm_lambda_tests::{
    GuestFolder, HttpServer, Lambda, S3Server, dynamodb, iam, model_reference,
};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn envelope(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

/// A deployment with the probe (config `greeting = "hola"`) and the models
/// it calls, plus `extra` lines for its guests.toml entry.
fn probe_folder(label: &str, extra: &str) -> GuestFolder {
    GuestFolder::new(label)
        .with_precompiled_guest("js-probe", "js-probe", Path::new(HOST))
        .with_file(
            "guests.toml",
            format!("[guests.js-probe]\n{extra}\n[guests.js-probe.config]\ngreeting = \"hola\"\n"),
        )
        .with_model("seed_forest", "seed_forest")
        .with_model("forest_regressor", "forest_regressor")
        .with_model("churn", "churn")
}

fn probe(lambda: &Lambda, event: Value) -> Value {
    lambda
        .emulator
        .invoke(&envelope("js-probe", event))
        .answer()
}

#[test]
fn the_typescript_example_answers_seed_004s_request_beside_rust_and_python() {
    let folder = GuestFolder::new("js-example")
        .with_precompiled_guest("classifier-js", "classifier-js", Path::new(HOST))
        .with_precompiled_guest("classifier-py", "classifier-py", Path::new(HOST))
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    assert!(
        lambda
            .host
            .log()
            .contains(r#"guest=classifier-js origin="precompiled""#),
        "the JS guest loads from its .cwasm: {}",
        lambda.host.log()
    );
    let invoke = |guest: &str, event: Value| lambda.emulator.invoke(&envelope(guest, event));

    assert_eq!(
        invoke("classifier-js", json!({"data": [0, 0, 0, 0]})).answer(),
        json!({"statusCode": 200, "body": 1})
    );
    let rows = json!([
        [0, 0, 0, 0],
        [2.5, -1, 0.3, 4],
        [-3, 2, 1, -0.5],
        [0.1, 0.2, -2, 1]
    ]);
    let js = invoke("classifier-js", json!({"data": rows})).answer();
    let rust = invoke("classifier", json!({"data": rows})).answer();
    let python = invoke("classifier-py", json!({"data": rows})).answer();
    assert_eq!(js["body"], rust["body"], "{js} vs {rust}");
    assert_eq!(js["body"], python["body"], "{js} vs {python}");
    assert_eq!(js["body"].as_array().map(Vec::len), Some(4));

    // A bad request is the guest's own error, and the next one works.
    let bad = invoke("classifier-js", json!({"data": [0, 0, 0]}));
    assert_eq!(bad.error_type(), "GuestError");
    assert!(
        bad.error_message().contains("(ValidationError)")
            && bad.error_message().contains("shape [N, 4]"),
        "{}",
        bad.error_message()
    );
    let missing = invoke("classifier-js", json!({"rows": 1}));
    assert!(
        missing
            .error_message()
            .contains(r#"expected {"data": [feature, ...]}"#),
        "{}",
        missing.error_message()
    );
    assert_eq!(
        invoke("classifier-js", json!({"data": [0, 0, 0, 0]})).answer()["body"],
        1
    );
    // A warmer ping runs its warm hook.
    let ping = lambda
        .emulator
        .invoke(&json!({"warmer": true, "concurrency": 1}))
        .answer();
    assert_eq!(
        ping["guests"]["classifier-js"]["answer"],
        json!({"model": "seed_forest"}),
        "{ping}"
    );
}

#[test]
fn module_state_persists_across_warm_invocations_and_the_context_is_complete() {
    let folder = probe_folder("js-state", "");
    let lambda = Lambda::start(
        Path::new(HOST),
        &folder,
        &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wasm-lambda-test"),
        ],
    );
    let mut request_ids = Vec::new();
    for n in 1..=5u64 {
        let answer = probe(&lambda, json!({"mode": "count"}));
        assert_eq!(answer["handled"], n, "{answer}");
        assert_eq!(
            answer["initialized"], 1,
            "init runs once per instance: {answer}"
        );
        let ctx = &answer["context"];
        assert_eq!(ctx["cold"], n == 1, "{ctx}");
        assert_eq!(ctx["eventsHandled"], n - 1, "{ctx}");
        assert_eq!(ctx["guestName"], "js-probe");
        assert_eq!(ctx["functionName"], "wasm-lambda-test");
        assert_eq!(ctx["functionVersion"], "1");
        assert_eq!(
            ctx["memoryLimitInMB"], "128",
            "a string, as Node's runtime has it"
        );
        let remaining = ctx["remainingMs"].as_u64().unwrap_or_default();
        assert!(remaining > 0 && remaining <= 900_000, "{ctx}");
        request_ids.push(ctx["awsRequestId"].as_str().unwrap_or_default().to_owned());
    }
    request_ids.sort();
    request_ids.dedup();
    assert_eq!(
        request_ids.len(),
        5,
        "each invocation has its own request id"
    );

    // Trace id, client context and Cognito identity as the caller sent them.
    let client_context = r#"{"client":{"installation_id":"inst-1"},"custom":{"cart":"7","items":3},"env":{"locale":"de-DE"}}"#;
    let identity =
        r#"{"cognitoIdentityId":"eu-west-1:id-7","cognitoIdentityPoolId":"eu-west-1:pool"}"#;
    let answer = lambda
        .emulator
        .invoke_with_headers(
            envelope("js-probe", json!({"mode": "context"}))
                .to_string()
                .as_bytes(),
            &[
                ("lambda-runtime-client-context", client_context),
                ("lambda-runtime-cognito-identity", identity),
            ],
        )
        .answer();
    let trace = answer["traceId"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(trace.starts_with("Root=1-"), "{answer}");
    assert!(
        lambda
            .host
            .log()
            .contains(&format!("\"traceId\":\"{trace}\"")),
        "the trace id the host's metrics line carries"
    );
    let sent: Value = serde_json::from_str(client_context).unwrap();
    assert_eq!(answer["clientContext"], sent, "{answer}");
    assert_eq!(answer["identity"]["cognitoIdentityId"], "eu-west-1:id-7");
    assert_eq!(answer["region"], "eu-west-1");
    assert_eq!(answer["logGroupName"], "/aws/lambda/wasm-lambda-test");
    assert_eq!(answer["tenantId"], Value::Null);
    let bare = probe(&lambda, json!({"mode": "context"}));
    assert_eq!(
        (&bare["clientContext"], &bare["identity"]),
        (&Value::Null, &Value::Null),
        "{bare}"
    );
}

#[test]
fn thrown_errors_answer_clearly_and_the_instance_lives_on() {
    let folder = probe_folder("js-errors", "timeout_ms = 1500");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 1);
    let invoke = |mode: &str| {
        lambda
            .emulator
            .invoke(&envelope("js-probe", json!({"mode": mode})))
    };

    let raised = invoke("guest-error");
    assert_eq!(raised.error_type(), "GuestError");
    assert_eq!(
        raised.error_message(),
        "guest `js-probe` returned an error (ValidationError): quantity must be positive"
    );
    let later = invoke("async-guest-error");
    assert_eq!(
        later.error_message(),
        "guest `js-probe` returned an error (Conflict): order already shipped"
    );

    let crashed = invoke("crash");
    assert_eq!(crashed.error_type(), "GuestError");
    assert!(
        crashed.error_message().contains("(TypeError)")
            && crashed
                .error_message()
                .contains("event.missing is undefined")
            && crashed.error_message().contains("uncaught in handle"),
        "{}",
        crashed.error_message()
    );
    // The error and the app's part of its stack (not the SDK's frames), one
    // log record tagged with the guest.
    let log = lambda.host.wait_for_log("uncaught TypeError in handle");
    let record: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.contains("uncaught TypeError in handle"))
        .scan(false, |done, l| {
            let take = !*done;
            *done = l.contains("requestId=");
            take.then_some(l)
        })
        .collect();
    let record = record.join("\n");
    assert!(
        record.contains("ERROR")
            && record.contains("handle@app.js:")
            && record.contains(r#"guest="js-probe""#)
            && !record.contains("guestExports"),
        "{log}"
    );

    let rejected = invoke("async-error");
    assert!(
        rejected
            .error_message()
            .contains("(RangeError): too far, after a wait"),
        "{}",
        rejected.error_message()
    );
    let string = invoke("throw-string");
    assert!(
        string
            .error_message()
            .contains("(Error): a thrown string: just a string"),
        "{}",
        string.error_message()
    );
    let output = invoke("not-json");
    assert!(
        output.error_message().contains("(InvalidOutput)"),
        "{}",
        output.error_message()
    );
    assert_eq!(probe(&lambda, json!({"mode": "undefined"})), Value::Null);
    // A wait on a timer resolves within the call.
    assert_eq!(
        probe(&lambda, json!({"mode": "wait", "ms": 30}))["waited"],
        30
    );

    // None of that was a trap: the same instance, its state intact.
    let answer = probe(&lambda, json!({"mode": "count"}));
    assert_eq!(answer["handled"], 10, "{answer}");
    assert_eq!(answer["initialized"], 1, "{answer}");

    // A promise nothing settles ends the engine's event loop (a trap), a
    // busy loop runs into the guest's timeout: both answer errors, the
    // instance is rebuilt, and the environment serves the next event.
    let never = invoke("never");
    assert_eq!(never.error_type(), "GuestTrapped", "{}", never.body);
    assert!(
        lambda
            .host
            .log()
            .contains("event loop error, but no exception is pending"),
        "the engine says why in the log"
    );
    let spin = invoke("spin");
    assert_eq!(spin.error_type(), "GuestTimeout", "{}", spin.body);
    let fresh = probe(&lambda, json!({"mode": "count"}));
    assert_eq!(
        (
            fresh["handled"].as_u64(),
            fresh["context"]["cold"].as_bool()
        ),
        (Some(1), Some(true)),
        "a new instance: {fresh}"
    );
}

#[test]
fn a_warmer_ping_runs_the_warm_hook_and_never_handle() {
    let folder = probe_folder("js-warm", "");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 1);
    for ping in 1..=2u64 {
        let answer = lambda
            .emulator
            .invoke(&json!({"warmer": true, "concurrency": 3, "correlation_id": "js-check"}))
            .answer();
        let warm = &answer["guests"]["js-probe"];
        assert_eq!(warm["ok"], true, "{answer}");
        assert_eq!(warm["answer"]["pings"], ping, "{answer}");
        assert_eq!(warm["answer"]["handled"], 1, "handle never ran: {answer}");
        assert_eq!(warm["answer"]["correlationId"], "js-check");
        assert_eq!(warm["answer"]["concurrency"], 3);
        assert_eq!(warm["answer"]["environment"], answer["environment"]);
    }
    let answer = probe(&lambda, json!({"mode": "count"}));
    assert_eq!(
        (answer["handled"].as_u64(), answer["pings"].as_u64()),
        (Some(2), Some(2))
    );
}

#[test]
fn logs_console_config_and_bundled_packages_work() {
    let folder = probe_folder("js-services", "");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[("RUST_LOG", "debug")]);
    let answer = probe(&lambda, json!({"mode": "log"}));
    let request_id = answer["requestId"].as_str().unwrap_or_default().to_owned();
    assert!(!request_id.is_empty(), "{answer}");
    let log = lambda.host.wait_for_log("probe debug");
    let line = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_default()
            .to_owned()
    };
    let tagged = |l: &str| {
        l.contains(r#"guest="js-probe""#) && l.contains(&format!(r#"requestId="{request_id}""#))
    };
    let info = line("probe info for");
    assert!(
        info.contains("INFO")
            && info.contains(&format!("probe info for {request_id}"))
            && tagged(&info),
        "{log}"
    );
    let warning = line("probe warning through console");
    assert!(
        warning.contains("WARN") && tagged(&warning),
        "console.warn lands as WARN: {log}"
    );
    let printed = line("probe console.log");
    assert!(
        printed.contains("INFO") && printed.contains(r#"{"n":1}"#) && !printed.contains("stream="),
        "console.log goes through the host log, not stdout: {log}"
    );
    assert!(line("probe debug").contains("DEBUG"), "{log}");

    let config = probe(&lambda, json!({"mode": "config"}));
    assert_eq!(
        config,
        json!({"greeting": "hola", "missing": "fallback", "entries": [["greeting", "hola"]]})
    );
    // A local module and an npm package (CommonJS), bundled at build time.
    let deps = probe(&lambda, json!({"mode": "deps"}));
    assert_eq!(
        deps,
        json!({"helper": "HI!", "ms": "1m", "parsed": 7_200_000})
    );
}

#[test]
fn models_answer_like_onnxruntime_and_their_errors_are_catchable() {
    let folder = probe_folder("js-models", "");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);

    // The regressor against onnxruntime's reference outputs.
    let reference = model_reference("forest_regressor");
    let rows = reference["inputs"]
        .as_object()
        .and_then(|m| m.values().next())
        .cloned()
        .unwrap_or_default();
    let expected: Vec<f64> = reference["outputs"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|row| {
            row.get(0)
                .and_then(Value::as_f64)
                .or_else(|| row.as_f64())
                .unwrap_or(f64::NAN)
        })
        .collect();
    let answer = probe(
        &lambda,
        json!({"mode": "predict", "model": "forest_regressor", "rows": rows}),
    );
    let values = answer["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(values.len(), expected.len(), "{answer}");
    for (got, want) in values.iter().zip(&expected) {
        let got = got[0].as_f64().unwrap_or(f64::NAN);
        assert!(
            (got - want).abs() <= 1e-4 * want.abs().max(1.0),
            "{got} vs onnxruntime's {want}"
        );
    }

    // Nested arrays, typed arrays, a Tensor and an unnamed input agree
    // with classify; probabilities sum to one.
    let rows = json!([[0, 0, 0, 0], [1.5, -2, 0.5, 3]]);
    let classified = probe(&lambda, json!({"mode": "classify", "rows": rows}));
    let inferred = probe(&lambda, json!({"mode": "infer", "rows": rows}));
    for way in ["nested", "typed", "tensor", "unnamed"] {
        assert_eq!(
            inferred[way]["label"], classified["labels"],
            "{way}: {inferred}"
        );
        assert_eq!(
            inferred[way]["probabilities"], classified["probabilities"],
            "{way}: {inferred}"
        );
    }
    for row in classified["probabilities"].as_array().into_iter().flatten() {
        let sum: f64 = row
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_f64)
            .sum();
        assert!((sum - 1.0).abs() < 1e-5, "{classified}");
    }

    // String features: churn's reference rows by column, labels are strings.
    let churn = model_reference("churn");
    let answer = probe(&lambda, json!({"mode": "churn", "inputs": churn["inputs"]}));
    assert_eq!(answer["labels"], churn["outputs"]["label"], "{answer}");
    assert_eq!(answer["infer"]["label"], churn["outputs"]["label"]);
    let want = churn["outputs"]["probabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let got = answer["probabilities"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(got.len(), want.len());
    for (g, w) in got
        .iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .zip(
            want.iter()
                .flat_map(|r| r.as_array().cloned().unwrap_or_default()),
        )
    {
        let (g, w) = (
            g.as_f64().unwrap_or(f64::NAN),
            w.as_f64().unwrap_or(f64::NAN),
        );
        assert!((g - w).abs() < 1e-5, "{g} vs onnxruntime's {w}");
    }

    // What a model takes, and which models the guest may use.
    let described = probe(&lambda, json!({"mode": "describe", "model": "churn"}));
    assert_eq!(
        described["info"]["inputs"][0],
        json!({"name": "plan", "type": "string", "shape": ["N", 1]}),
        "{described}"
    );
    assert_eq!(
        described["models"],
        json!(["churn", "forest_regressor", "seed_forest"])
    );
    assert_eq!(described["unknown"]["caught"], "UnknownModel");

    // Every model failure is an exception the guest catches.
    let errors = probe(&lambda, json!({"mode": "model-errors"}));
    assert_eq!(errors["unknown"]["caught"], "UnknownModel", "{errors}");
    for case in ["width", "ragged", "name", "dtype", "strings"] {
        assert_eq!(errors[case]["caught"], "InvalidInput", "{case}: {errors}");
        assert_eq!(errors[case]["isModelError"], true, "{case}: {errors}");
    }
    assert!(
        errors["width"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("shape [N, 4]")),
        "{errors}"
    );
    assert!(
        errors["dtype"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("float32")),
        "{errors}"
    );
    assert_eq!(errors["isUnknown"], true);
    assert_eq!(probe(&lambda, json!({"mode": "count"}))["handled"], 7);
}

#[test]
fn fetch_uses_the_hosts_outbound_rules_pool_and_caps() {
    let server = HttpServer::start();
    let unlisted = HttpServer::start();
    let folder = probe_folder(
        "js-fetch",
        &format!(
            "outbound_response_limit_mb = 1\noutbound = [\"{}\"]",
            server.url()
        ),
    );
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    let call = |event: Value| probe(&lambda, event);
    for _ in 0..3 {
        let got = call(json!({"mode": "http", "url": format!("{}/hello", server.url())}));
        assert_eq!(
            (&got["status"], &got["body"]),
            (&json!(200), &json!("hello")),
            "{got}"
        );
    }
    assert_eq!(
        server.connections(),
        1,
        "warm calls share one pooled connection"
    );
    let log = lambda.host.log();
    assert_eq!(log.matches("connection=\"reused\"").count(), 2, "{log}");
    // A JSON body goes out with its content type and length.
    let posted =
        call(json!({"mode": "http", "url": format!("{}/headers", server.url()), "json": {"a": 1}}));
    let headers = posted["body"]
        .as_str()
        .unwrap_or_else(|| panic!("{posted}"));
    assert!(
        headers.contains("content-type") && headers.contains("content-length"),
        "{posted}"
    );

    // Not on the list: refused, never connected to; the error says where
    // the reason is, and the host's log has it.
    let refused = call(json!({"mode": "http", "url": format!("{}/hello", unlisted.url())}));
    assert_eq!(refused["error"], "TypeError", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains(&unlisted.url())
                && m.contains("the host's log line for this request says why")),
        "{refused}"
    );
    assert_eq!(unlisted.connections(), 0);
    assert!(
        lambda
            .host
            .log()
            .contains("is not on the guest's `outbound` list")
    );
    // The cap on responses: a streamed body is cut (the host logs it), a
    // declared length over the cap is refused before the body.
    let huge = call(json!({"mode": "http", "url": format!("{}/huge", server.url())}));
    assert_eq!(huge["error"], "TypeError", "{huge}");
    assert!(
        huge["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("reading the response body of")),
        "{huge}"
    );
    let log = lambda.host.log();
    assert!(
        log.contains("outbound response cut at 1048576 bytes")
            && log.contains("outbound_response_limit_mb"),
        "{log}"
    );
    let declared = call(json!({"mode": "http", "url": format!("{}/huge-declared", server.url())}));
    assert_eq!(declared["error"], "TypeError", "{declared}");
    assert!(
        lambda
            .host
            .log()
            .contains("the response declares 67108864 bytes")
    );
    let again = call(json!({"mode": "http", "url": format!("{}/hello", server.url())}));
    assert_eq!(again["status"], 200, "{again}");
}

#[test]
fn fetch_to_dynamodb_is_signed_by_the_host() {
    // moto checks every request's signature and the user's IAM policy
    // after the four set-up actions (user, policy, key, table).
    let moto = S3Server::start_checking_signatures(4);
    let endpoint = moto.endpoint();
    let (key_id, secret) = iam::user_with_key(&endpoint, "function-role", "dynamodb:*");
    dynamodb::create_table(&endpoint, "visits", "path");
    let folder = GuestFolder::new("js-dynamodb")
        .with_precompiled_guest("js-probe", "js-probe", Path::new(HOST))
        .with_precompiled_guest("unsigned", "js-probe", Path::new(HOST))
        .with_file(
            "guests.toml",
            format!(
                "[guests.js-probe]\naws = [\"dynamodb\"]\n[guests.js-probe.config]\ntable = \"visits\"\nendpoint = \"{endpoint}\"\n\
                 [guests.unsigned]\noutbound = [\"{endpoint}\"]\n[guests.unsigned.config]\ntable = \"visits\"\nendpoint = \"{endpoint}\"\n"
            ),
        );
    let env = [
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
    ];
    let lambda = Lambda::start(Path::new(HOST), &folder, &env);
    for expected in 1..=2 {
        let answer = probe(&lambda, json!({"mode": "dynamodb", "path": "/home"}));
        assert_eq!(answer["visits"], expected, "{answer}");
    }
    assert_eq!(lambda.host.log().matches("signed=\"dynamodb\"").count(), 2);
    // The same code, allowed to reach the endpoint but not granted
    // signing: DynamoDB (moto, checking) refuses the unsigned request.
    let unsigned = lambda.emulator.invoke(&envelope(
        "unsigned",
        json!({"mode": "dynamodb", "path": "/home"}),
    ));
    assert_eq!(unsigned.error_type(), "GuestError", "{}", unsigned.body);
    assert!(
        unsigned.error_message().contains("(DynamoDBError)"),
        "{}",
        unsigned.error_message()
    );
    // The refused call counted nothing.
    let answer = probe(&lambda, json!({"mode": "dynamodb", "path": "/home"}));
    assert_eq!(answer["visits"], 3, "{answer}");
}

#[test]
fn a_published_js_guest_serves_from_s3() {
    let s3 = S3Server::start();
    s3.create_bucket("js-releases");
    let folder = GuestFolder::new("js-publish")
        .with_guest("classifier-js", "classifier-js")
        .with_model("seed_forest", "seed_forest");
    let check = std::process::Command::new(HOST)
        .arg("check")
        .arg(folder.guests().join("classifier-js.wasm"))
        .output()
        .unwrap();
    assert!(
        check.status.success()
            && String::from_utf8_lossy(&check.stdout).contains("contract: wasm-lambda:guest@0.2.0"),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    s3.publish(HOST.as_ref(), &folder, "s3://js-releases/guests/");
    let empty = GuestFolder::new("js-from-s3");
    let env: Vec<(String, String)> = s3.release_env("s3://js-releases/guests/");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let lambda = Lambda::start(Path::new(HOST), &empty, &env);
    let log = lambda.host.log();
    assert!(
        log.contains("precompiled=1") && log.contains(" compiled=0"),
        "the release's .cwasm is used, nothing compiled at init: {log}"
    );
    let answer = lambda
        .emulator
        .invoke(&envelope("classifier-js", json!({"data": [0, 0, 0, 0]})))
        .answer();
    assert_eq!(answer, json!({"statusCode": 200, "body": 1}));
}

#[test]
fn a_plain_javascript_app_builds_and_answers() {
    let folder = GuestFolder::new("js-plain")
        .with_precompiled_guest("js-plain", "js-plain", Path::new(HOST))
        .with_file(
            "guests.toml",
            "[guests.js-plain.config]\ngreeting = \"Hola\"\n",
        );
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    for greeted in 1..=2 {
        let answer = lambda
            .emulator
            .invoke(&envelope("js-plain", json!({"name": "Ana"})))
            .answer();
        assert_eq!(
            answer,
            json!({"message": "Hola, Ana!", "greeted": greeted, "guest": "js-plain"})
        );
    }
    let log = lambda.host.wait_for_log("greeting Ana");
    assert!(
        log.lines().any(|l| l.contains("INFO")
            && l.contains("greeting Ana")
            && l.contains(r#"guest="js-plain""#)),
        "{log}"
    );
}
