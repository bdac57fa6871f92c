//! The guest contract's versions side by side, and what 0.2.0 adds, through
//! the real host under cargo-lambda's emulator: guests built for 0.1.0
//! before 0.2.0 existed (committed fixtures) beside guests built now, from
//! a folder (compiled at init and precompiled) and from an S3 release; the
//! invocation's trace id, client context and Cognito identity; string
//! tensors against onnxruntime's outputs; model descriptions; outbound HTTP
//! from Python guests.

use std::process::Command;

use serde_json::{Value, json};
use wasm_lambda_tests::guests::guest_wasm_v0_1;
use wasm_lambda_tests::{
    Emulator, GuestFolder, HostProcess, HttpServer, Lambda, S3Server, model_reference,
};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn envelope(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

fn answer(lambda: &Lambda, guest: &str, event: Value) -> Value {
    lambda.emulator.invoke(&envelope(guest, event)).answer()
}

/// Rust guests built for 0.1.0 (`-v01`) beside the same sources built now.
fn mixed_folder(label: &str) -> GuestFolder {
    let fixture = |name: &str| std::fs::read(guest_wasm_v0_1(name)).unwrap();
    GuestFolder::new(label)
        .with_guest("hello", "hello")
        .with_file("hello-v01.wasm", fixture("hello"))
        .with_guest("probe", "model-probe")
        .with_file("probe-v01.wasm", fixture("model_probe"))
        .with_guest("classifier", "classifier")
        .with_file("classifier-v01.wasm", fixture("classifier"))
        .with_model("seed_forest", "seed_forest")
        .with_model("churn", "churn")
}

/// seed_forest's reference rows as model-probe's event.
fn seed_forest_event() -> (Value, Value) {
    let reference = model_reference("seed_forest");
    let rows = reference["inputs"]["input"].as_array().unwrap().clone();
    let flat: Vec<Value> = rows
        .iter()
        .flat_map(|r| r.as_array().unwrap().clone())
        .collect();
    let event = json!({"model": "seed_forest", "inputs": [
        {"name": "input", "shape": [rows.len(), 4], "type": "float32", "data": flat}
    ]});
    (event, reference["outputs"].clone())
}

/// Each 0.1.0 guest answers as the same source built for 0.2.0 does, and
/// as the model's reference says.
fn assert_versions_answer_alike(lambda: &Lambda) {
    let old = answer(lambda, "hello-v01", json!({"name": "v01"}));
    let new = answer(lambda, "hello", json!({"name": "v01"}));
    assert_eq!(old["message"], "Hello, v01!", "{old}");
    assert_eq!(old["message"], new["message"]);
    assert_eq!(old["guest"], "hello-v01");
    assert_eq!((&old["cold"], &new["cold"]), (&json!(true), &json!(true)));
    let warm = answer(lambda, "hello-v01", json!({}));
    assert_eq!(warm["cold"], false, "the 0.1.0 instance is kept: {warm}");

    let (event, reference) = seed_forest_event();
    let old = answer(lambda, "probe-v01", event.clone());
    let new = answer(lambda, "probe", event);
    assert_eq!(old["outputs"], new["outputs"]);
    let label = old["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "label")
        .unwrap_or_else(|| panic!("{old}"));
    assert_eq!(label["data"], reference["label"], "{old}");
    // The typed call and a model error, through the 0.1.0 adapter.
    let classify = json!({"model": "seed_forest", "task": "classify", "rows": [[0, 0, 0, 0]]});
    assert_eq!(
        answer(lambda, "probe-v01", classify.clone()),
        answer(lambda, "probe", classify)
    );
    let unknown = answer(lambda, "probe-v01", json!({"model": "nope", "inputs": []}));
    assert_eq!(unknown["error"], "UnknownModel", "{unknown}");

    let seed = json!({"data": [0, 0, 0, 0]});
    let old = answer(lambda, "classifier-v01", seed.clone());
    assert_eq!(old, answer(lambda, "classifier", seed));
    assert_eq!(old["statusCode"], 200, "{old}");
}

#[test]
fn guests_built_for_0_1_answer_as_before_beside_0_2_guests_compiled_at_init() {
    let folder = mixed_folder("versions-compiled");
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    assert!(
        lambda.host.log().contains("compiled=6"),
        "{}",
        lambda.host.log()
    );
    assert_versions_answer_alike(&lambda);
}

#[test]
fn guests_built_for_0_1_answer_as_before_beside_0_2_guests_precompiled() {
    let folder = mixed_folder("versions-precompiled");
    let output = Command::new(HOST)
        .arg("precompile")
        .arg(folder.guests())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    let log = lambda.host.log();
    assert!(log.contains("precompiled=6"), "{log}");
    assert_versions_answer_alike(&lambda);
}

#[test]
fn guests_built_for_0_1_answer_as_before_from_an_s3_release() {
    let s3 = S3Server::start();
    s3.create_bucket("versions");
    let folder = mixed_folder("versions-release");
    s3.publish(HOST.as_ref(), &folder, "s3://versions/team/");
    // A host with nothing of its own: guests and models from the release.
    let empty = GuestFolder::new("versions-release-host");
    let emulator = Emulator::start();
    let env = s3.release_env("s3://versions/team/");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let host = HostProcess::start(HOST.as_ref(), &emulator.runtime_api(), &empty, &env);
    host.wait_for_log("init complete");
    let lambda = Lambda { emulator, host };
    assert!(
        lambda.host.log().contains("precompiled=6"),
        "{}",
        lambda.host.log()
    );
    assert_versions_answer_alike(&lambda);
}

#[test]
fn trace_id_client_context_and_identity_reach_rust_and_python_guests() {
    let folder = GuestFolder::new("versions-context")
        .with_guest("misbehave", "misbehave")
        .with_precompiled_guest("py", "py-probe", HOST.as_ref())
        .with_file(
            "hello-v01.wasm",
            std::fs::read(guest_wasm_v0_1("hello")).unwrap(),
        );
    let lambda = Lambda::start(
        HOST.as_ref(),
        &folder,
        &[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/wasm-lambda-test"),
        ],
    );
    // A client context as the AWS mobile SDKs send it, with a number in
    // `custom` (which lambda_runtime's own struct cannot hold). cargo-lambda
    // passes it on base64-encoded, as the Invoke API takes it; the host
    // decodes it, so guests get the JSON as Lambda itself sends it.
    let client_context = r#"{"client":{"installation_id":"inst-1","app_title":"shop"},"custom":{"cart":"7","items":3},"env":{"locale":"de-DE"}}"#;
    let identity =
        r#"{"cognitoIdentityId":"eu-west-1:id-7","cognitoIdentityPoolId":"eu-west-1:pool"}"#;
    let headers = [
        ("lambda-runtime-client-context", client_context),
        ("lambda-runtime-cognito-identity", identity),
    ];
    let invoke = |guest: &str| {
        let event = envelope(guest, json!({"mode": "context"}));
        lambda
            .emulator
            .invoke_with_headers(event.to_string().as_bytes(), &headers)
            .answer()
    };

    let rust = invoke("misbehave");
    let trace = rust["trace_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{rust}"));
    assert!(trace.starts_with("Root=1-"), "{rust}");
    // The same trace id the host's metrics line carries for the request.
    let log = lambda.host.log();
    assert!(log.contains(&format!("\"traceId\":\"{trace}\"")), "{log}");
    let sent: Value = serde_json::from_str(client_context).unwrap();
    let received: Value = serde_json::from_str(rust["client_context"].as_str().unwrap()).unwrap();
    assert_eq!(received, sent, "{rust}");
    assert_eq!(rust["cognito_identity"], identity);
    assert_eq!(rust["region"], "eu-west-1");
    assert_eq!(rust["log_group_name"], "/aws/lambda/wasm-lambda-test");
    assert_eq!(rust["tenant_id"], Value::Null);

    let python = invoke("py");
    assert!(
        python["trace_id"]
            .as_str()
            .is_some_and(|t| t.starts_with("Root=1-") && t != trace),
        "each invocation has its own trace: {python}"
    );
    let cc = &python["client_context"];
    assert_eq!(cc["installation_id"], "inst-1", "{python}");
    assert_eq!(cc["custom"], json!({"cart": "7", "items": 3}));
    assert_eq!(cc["env"], json!({"locale": "de-DE"}));
    assert_eq!(
        python["identity"],
        json!({"id": "eu-west-1:id-7", "pool": "eu-west-1:pool"})
    );
    assert_eq!(python["region"], "eu-west-1");

    // Without them: none, and an identity whose ids are None (as Lambda's
    // Python runtime has it).
    let bare = answer(&lambda, "py", json!({"mode": "context"}));
    assert_eq!(bare["client_context"], Value::Null, "{bare}");
    assert_eq!(bare["identity"], json!({"id": null, "pool": null}));
    // A client context that is not JSON, an identity that is not either:
    // the guest sees what came (the client context as cargo-lambda passed
    // it on, base64 of "not json at all"), and the environment keeps serving.
    let odd = lambda
        .emulator
        .invoke_with_headers(
            envelope("misbehave", json!({"mode": "context"}))
                .to_string()
                .as_bytes(),
            &[
                ("lambda-runtime-client-context", "not json at all"),
                ("lambda-runtime-cognito-identity", "garbage"),
            ],
        )
        .answer();
    assert_eq!(odd["client_context"], "bm90IGpzb24gYXQgYWxs", "{odd}");
    assert_eq!(odd["cognito_identity"], "garbage");
    // A 0.1.0 guest in the same host is served its own (smaller) context.
    let old = answer(&lambda, "hello-v01", json!({"name": "ctx"}));
    assert_eq!(old["message"], "Hello, ctx!");
}

/// churn's reference inputs as model-probe tensors (`[N, 1]` each).
fn churn_inputs(reference: &Value, plan_as: &str) -> Value {
    let column = |name: &str| -> Vec<Value> {
        reference["inputs"][name]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row[0].clone())
            .collect()
    };
    let rows = column("plan").len();
    let tensor = |name: &str, element: &str, data: Vec<Value>| json!({"name": name, "shape": [rows, 1], "type": element, "data": data});
    let plan = if plan_as == "string" {
        column("plan")
    } else {
        vec![json!(1.0); rows]
    };
    json!([
        tensor("plan", plan_as, plan),
        tensor("city", "string", column("city")),
        tensor("tenure_months", "float32", column("tenure_months")),
        tensor("monthly_spend", "float32", column("monthly_spend")),
    ])
}

fn assert_close(got: &Value, want: &Value, what: &str) {
    let (got, want) = (got.as_array().unwrap(), want.as_array().unwrap());
    assert_eq!(got.len(), want.len(), "{what}");
    for (g, w) in got.iter().zip(want) {
        if let (Some(g), Some(w)) = (g.as_array(), w.as_array()) {
            for (a, b) in g.iter().zip(w) {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                assert!((a - b).abs() < 1e-5, "{what}: {a} vs onnxruntime's {b}");
            }
        } else {
            assert_eq!(g, w, "{what}");
        }
    }
}

#[test]
fn string_features_from_rust_and_python_guests_match_onnxruntime() {
    let folder = GuestFolder::new("versions-strings")
        .with_guest("probe", "model-probe")
        .with_precompiled_guest("py", "py-probe", HOST.as_ref())
        .with_precompiled_guest("churn-py", "churn-py", HOST.as_ref())
        .with_model("churn", "churn")
        .with_model("seed_forest", "seed_forest");
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    let reference = model_reference("churn");
    let want = &reference["outputs"];

    // Rust: named tensors, strings for plan and city.
    let rust = answer(
        &lambda,
        "probe",
        json!({"model": "churn", "inputs": churn_inputs(&reference, "string")}),
    );
    let outputs = rust["outputs"]
        .as_array()
        .unwrap_or_else(|| panic!("{rust}"));
    let output = |name: &str| {
        outputs
            .iter()
            .find(|o| o["name"] == name)
            .unwrap_or_else(|| panic!("{rust}"))
    };
    assert_eq!(output("label")["data"], want["label"], "labels are strings");
    let probabilities = output("probabilities");
    let width = probabilities["shape"][1].as_u64().unwrap() as usize;
    let rows: Vec<Value> = probabilities["data"]
        .as_array()
        .unwrap()
        .chunks(width)
        .map(|row| json!(row))
        .collect();
    assert_close(&json!(rows), &want["probabilities"], "Rust probabilities");
    // A wrong element type names the input.
    let wrong = answer(
        &lambda,
        "probe",
        json!({"model": "churn", "inputs": churn_inputs(&reference, "float32")}),
    );
    assert_eq!(wrong["error"], "InvalidInput", "{wrong}");
    assert!(
        wrong["message"].as_str().unwrap().contains("plan"),
        "{wrong}"
    );
    // What the model takes, and which models the guest may use.
    let described = answer(
        &lambda,
        "probe",
        json!({"model": "churn", "task": "describe"}),
    );
    let inputs = described["inputs"]
        .as_array()
        .unwrap_or_else(|| panic!("{described}"));
    let names: Vec<&str> = inputs.iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["plan", "city", "tenure_months", "monthly_spend"]);
    assert_eq!(inputs[0]["type"], "string");
    assert_eq!(inputs[2]["type"], "float32");
    assert!(
        inputs[0]["shape"][0].is_string(),
        "batch unknown: {described}"
    );
    assert_eq!(inputs[0]["shape"][1], 1);
    assert_eq!(described["outputs"][0]["type"], "string", "{described}");
    let listed = answer(&lambda, "probe", json!({"model": "", "task": "list"}));
    assert_eq!(listed["models"], json!(["churn", "seed_forest"]));

    // Python: the columns by name, through classify and infer.
    let columns: Value = reference["inputs"].clone();
    let python = answer(&lambda, "py", json!({"mode": "churn", "inputs": columns}));
    assert_eq!(python["labels"], want["label"], "{python}");
    assert_close(
        &python["probabilities"],
        &want["probabilities"],
        "Python classify",
    );
    assert_close(
        &python["infer"]["probabilities"],
        &want["probabilities"],
        "Python infer",
    );
    let wrong = answer(
        &lambda,
        "py",
        json!({"mode": "churn-wrong-type", "inputs": reference["inputs"].clone()}),
    );
    assert_eq!(wrong["caught"], "InvalidInput", "{wrong}");
    assert!(
        wrong["message"].as_str().unwrap().contains("plan"),
        "{wrong}"
    );
    let described = answer(&lambda, "py", json!({"mode": "describe", "model": "churn"}));
    assert_eq!(described["inputs"][0][0], "plan", "{described}");
    assert_eq!(described["inputs"][0][1], "string");
    assert_eq!(described["inputs"][3][1], "float32");
    assert_eq!(described["models"], json!(["churn", "seed_forest"]));
    assert_eq!(described["unknown"]["caught"], "UnknownModel");

    // The example: one customer (the reference's last row: a city the
    // model never saw), then several, then one with a field missing.
    let last = want["label"].as_array().unwrap().len() - 1;
    let customer = |i: usize| {
        let field = |name: &str| reference["inputs"][name][i][0].clone();
        json!({"plan": field("plan"), "city": field("city"),
               "tenure_months": field("tenure_months"), "monthly_spend": field("monthly_spend")})
    };
    let one = answer(&lambda, "churn-py", customer(last));
    assert_eq!(one["statusCode"], 200, "{one}");
    assert_eq!(
        one["body"]["churns"],
        want["label"][last] == "churns",
        "{one}"
    );
    let p = want["probabilities"][last][0].as_f64().unwrap();
    assert!(
        (one["body"]["probability"].as_f64().unwrap() - p).abs() < 1e-4,
        "{one} vs {p}"
    );
    let several = answer(
        &lambda,
        "churn-py",
        json!({"customers": [customer(0), customer(1), customer(2)]}),
    );
    for (i, got) in several["body"].as_array().unwrap().iter().enumerate() {
        assert_eq!(got["churns"], want["label"][i] == "churns", "{several}");
    }
    let mut missing = customer(0);
    missing.as_object_mut().unwrap().remove("city");
    let refused = lambda.emulator.invoke(&envelope("churn-py", missing));
    assert_eq!(refused.error_type(), "GuestError");
    assert!(
        refused.error_message().contains("missing field `city`"),
        "{}",
        refused.body
    );
}

#[test]
fn python_guests_call_out_over_http_with_the_hosts_rules() {
    let server = HttpServer::start();
    let unlisted = HttpServer::start();
    let folder = GuestFolder::new("versions-py-http")
        .with_precompiled_guest("py", "py-probe", HOST.as_ref())
        .with_file(
            "guests.toml",
            format!(
                "[guests.py]\noutbound_response_limit_mb = 1\noutbound = [\"{}\"]\n",
                server.url()
            ),
        );
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    let call = |event: Value| answer(&lambda, "py", event);

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
    let log = lambda.host.log();
    assert!(log.matches("outbound call").count() >= 4, "{log}");

    // Not on the list: refused, never connected to.
    let refused = call(json!({"mode": "http", "url": format!("{}/hello", unlisted.url())}));
    assert_eq!(
        (&refused["error"], &refused["class"]),
        (&json!("Refused"), &json!("Refused")),
        "{refused}"
    );
    assert_eq!(unlisted.connections(), 0);
    // Its own timeout, then the cap on responses.
    let slow =
        call(json!({"mode": "http", "url": format!("{}/slow", server.url()), "timeout": 0.3}));
    assert_eq!(slow["error"], "Timeout", "{slow}");
    for path in ["/huge", "/huge-declared"] {
        let huge = call(json!({"mode": "http", "url": format!("{}{path}", server.url())}));
        assert_eq!(huge["error"], "TooLarge", "{path}: {huge}");
        assert!(
            huge["message"]
                .as_str()
                .unwrap()
                .contains("outbound_response_limit_mb"),
            "{huge}"
        );
    }
    // The instance lives on.
    let again = call(json!({"mode": "http", "url": format!("{}/hello", server.url())}));
    assert_eq!(again["status"], 200, "{again}");
}
