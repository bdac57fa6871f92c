//! Guests' outbound HTTP through the real host under cargo-lambda's Runtime
//! API emulator, against servers on loopback: a keep-alive HTTP server
//! that counts its connections, and moto's DynamoDB for host-signed calls.

use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use serde_json::{Value, json};
use wasm_lambda_host::outbound::call_log::{CallRecord, OutboundTotals};
use wasm_lambda_host::outbound::{AddressGuard, GuestClient, OutboundSettings};
use wasm_lambda_tests::{GuestFolder, HttpServer, Lambda, S3Server, TlsServer, dynamodb, iam};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

fn envelope(guest: &str, event: Value) -> Value {
    json!({ "guest": guest, "event": event })
}

/// The fetcher's results for one request to `url`.
fn fetch(lambda: &Lambda, guest: &str, url: &str) -> Value {
    fetch_with(lambda, guest, json!({ "url": url }))
}

fn fetch_with(lambda: &Lambda, guest: &str, event: Value) -> Value {
    let answer = lambda.emulator.invoke(&envelope(guest, event)).answer();
    answer["results"][0].clone()
}

fn assert_refused(result: &Value, url: &str) {
    assert_eq!(result["error"], "Refused", "{url}: {result}");
    assert!(
        result["message"]
            .as_str()
            .unwrap_or_default()
            .contains("refused"),
        "{url}: {result}"
    );
}

#[test]
fn warm_fetches_reuse_one_connection_and_are_logged() {
    let server = HttpServer::start();
    let folder = GuestFolder::new("outbound-pool")
        .with_guest("fetcher", "fetcher")
        .with_file(
            "guests.toml",
            format!("[guests.fetcher]\noutbound = [\"{}\"]\n", server.url()),
        );
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    for _ in 0..5 {
        let result = fetch(&lambda, "fetcher", &format!("{}/hello", server.url()));
        assert_eq!(result["status"], 200, "{result}");
        assert_eq!(result["body"], "hello");
    }
    assert_eq!(server.requests(), 5);
    assert_eq!(
        server.connections(),
        1,
        "five warm calls to one host must share one pooled connection"
    );
    let log = lambda.host.log();
    assert_eq!(log.matches("outbound call").count(), 5, "{log}");
    assert_eq!(log.matches("connection=\"new\"").count(), 1, "{log}");
    assert_eq!(log.matches("connection=\"reused\"").count(), 4, "{log}");
    assert!(log.contains("\"OutboundCalls\":1.0"), "{log}");
}

#[test]
fn https_calls_share_one_http2_connection() {
    let folder = GuestFolder::new("outbound-tls").with_guest("fetcher", "fetcher");
    let server = TlsServer::start(folder.root());
    std::fs::write(
        folder.guests().join("guests.toml"),
        format!("[guests.fetcher]\noutbound = [\"{}\"]\n", server.url()),
    )
    .unwrap();
    // The test's certificate is the host's only trusted root.
    let ca = server.ca_file().to_str().unwrap().to_owned();
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[("SSL_CERT_FILE", &ca)]);
    for _ in 0..5 {
        let result = fetch(&lambda, "fetcher", &format!("{}/hello", server.url()));
        assert_eq!(result["status"], 200, "{result}");
        assert_eq!(result["body"], "hello over tls");
    }
    assert_eq!(server.connections(), 1);
    assert_eq!(server.versions(), vec!["HTTP/2.0"; 5]);
}

#[test]
fn destinations_off_the_list_and_forbidden_addresses_are_refused() {
    let server = HttpServer::start();
    let unlisted = HttpServer::start();
    let folder = GuestFolder::new("outbound-refusals")
        .with_guest("fetcher", "fetcher")
        .with_guest("nogrant", "fetcher");
    // The Runtime API's port is known once the emulator runs, so the
    // manifest is written after; the host reads it at init.
    let lambda_folder = folder;
    let emulator = wasm_lambda_tests::Emulator::start();
    let runtime_api_url = emulator.runtime_api();
    // `http://127.0.0.1:PORT/.rt` → `127.0.0.1:PORT`.
    let runtime_api = runtime_api_url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_owned();
    let api_port = runtime_api.rsplit(':').next().unwrap().to_owned();
    std::fs::write(
        lambda_folder.guests().join("guests.toml"),
        format!(
            "[guests.fetcher]\noutbound = [\"{}\", \"http://{runtime_api}\", \"http://localhost:{api_port}\", \"http://169.254.169.254\", \"http://[fd00:ec2::254]\"]\n",
            server.url()
        ),
    )
    .unwrap();
    let host =
        wasm_lambda_tests::HostProcess::start(HOST.as_ref(), &runtime_api_url, &lambda_folder, &[]);
    host.wait_for_log("init complete");
    let lambda = Lambda { emulator, host };

    // Not on the list: never connected to.
    let url = format!("{}/hello", unlisted.url());
    assert_refused(&fetch(&lambda, "fetcher", &url), &url);
    assert_eq!(unlisted.connections(), 0);
    // A name that resolves to a listed address is still another name.
    let url = format!("http://localhost:{}/hello", server.port());
    assert_refused(&fetch(&lambda, "fetcher", &url), &url);
    assert_eq!(server.connections(), 0);
    // The Runtime API, listed by address and by a name resolving to it.
    for url in [
        format!("http://{runtime_api}/2018-06-01/runtime/invocation/next"),
        format!("http://localhost:{api_port}/2018-06-01/runtime/invocation/next"),
    ] {
        let result = fetch(&lambda, "fetcher", &url);
        assert_refused(&result, &url);
        assert!(
            result["message"].as_str().unwrap().contains("Runtime API"),
            "{result}"
        );
    }
    // Metadata addresses, listed or not.
    for url in [
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
    ] {
        assert_refused(&fetch(&lambda, "fetcher", url), url);
    }
    // A guest with no grants reaches nothing, not even the fetcher's server.
    let url = format!("{}/hello", server.url());
    assert_refused(&fetch(&lambda, "nogrant", &url), &url);
    assert_eq!(server.connections(), 0);
    let log = lambda.host.log();
    assert!(
        log.contains("is not on the guest's `outbound` list"),
        "{log}"
    );
    assert!(log.contains("is the Lambda Runtime API"), "{log}");
    assert!(log.contains("link-local or instance-metadata"), "{log}");
    assert!(log.contains("no `outbound` or `aws` grants"), "{log}");

    // A guest cannot point an allowed URL at another host through `Host`.
    let result = fetch_with(
        &lambda,
        "fetcher",
        json!({ "url": url, "headers": { "host": "169.254.169.254" } }),
    );
    assert_eq!(result["error"], "InvalidRequest", "{result}");
    assert_eq!(server.connections(), 0);

    // The environment still serves, and the allowed destination works.
    let result = fetch(&lambda, "fetcher", &url);
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(server.connections(), 1);
}

#[test]
fn a_slow_server_meets_the_deadline_and_the_next_event_works() {
    let server = HttpServer::start();
    let folder = GuestFolder::new("outbound-deadline")
        .with_guest("fetcher", "fetcher")
        .with_file(
            "guests.toml",
            format!(
                "[guests.fetcher]\ntimeout_ms = 1500\noutbound = [\"{}\"]\n",
                server.url()
            ),
        );
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    let slow = format!("{}/slow", server.url());

    // The guest's own timeout: an error value it handles.
    let result = fetch_with(&lambda, "fetcher", json!({"url": slow, "timeout_ms": 200}));
    assert_eq!(result["error"], "Timeout", "{result}");

    // No timeout of its own: the call ends at the guest's deadline.
    let started = std::time::Instant::now();
    let invoked = lambda
        .emulator
        .invoke(&envelope("fetcher", json!({ "url": slow })));
    assert_eq!(invoked.error_type(), "GuestTimeout", "{}", invoked.body);
    assert!(
        started.elapsed() < std::time::Duration::from_millis(4500),
        "the call waited for the server ({:?}) instead of ending at its deadline",
        started.elapsed()
    );

    let result = fetch(&lambda, "fetcher", &format!("{}/hello", server.url()));
    assert_eq!(result["status"], 200, "{result}");
}

#[test]
fn a_huge_response_is_cut_at_the_cap() {
    let server = HttpServer::start();
    let folder = GuestFolder::new("outbound-cap")
        .with_guest("fetcher", "fetcher")
        .with_file(
            "guests.toml",
            format!(
                "[guests.fetcher]\noutbound_response_limit_mb = 1\noutbound = [\"{}\"]\n",
                server.url()
            ),
        );
    let lambda = Lambda::start(HOST.as_ref(), &folder, &[]);
    for path in ["/huge", "/huge-declared"] {
        let result = fetch(&lambda, "fetcher", &format!("{}{path}", server.url()));
        assert_eq!(result["error"], "TooLarge", "{path}: {result}");
        let message = result["message"].as_str().unwrap();
        assert!(
            message.contains("1048576 bytes") && message.contains("outbound_response_limit_mb"),
            "{message}"
        );
    }
    let result = fetch(&lambda, "fetcher", &format!("{}/hello", server.url()));
    assert_eq!(result["status"], 200, "{result}");
}

fn http_v2(path: &str) -> Value {
    json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "", "headers": {},
           "isBase64Encoded": false, "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}})
}

#[test]
fn visits_counts_in_dynamodb_with_requests_the_host_signs() {
    // moto checks every request's signature and the user's IAM policy
    // after the four set-up actions (user, policy, key, table).
    let moto = S3Server::start_checking_signatures(4);
    let endpoint = moto.endpoint();
    let (key_id, secret) = iam::user_with_key(&endpoint, "function-role", "dynamodb:*");
    dynamodb::create_table(&endpoint, "visits", "path");
    let manifest = format!(
        r#"
[guests.visits]
aws = ["dynamodb"]
routes = [{{ http = "/visits/*" }}]
[guests.visits.config]
table = "visits"
endpoint = "{endpoint}"

# The same code, allowed to reach the endpoint but not granted signing.
[guests.unsigned]
file = "visits.wasm"
outbound = ["{endpoint}"]
routes = [{{ http = "/unsigned/*" }}]
[guests.unsigned.config]
table = "visits"
endpoint = "{endpoint}"

# The same code with neither.
[guests.stranger]
file = "visits.wasm"
routes = [{{ http = "/stranger/*" }}]
[guests.stranger.config]
table = "visits"
endpoint = "{endpoint}"
"#
    );
    let folder = GuestFolder::new("outbound-visits")
        .with_guest("visits", "visits")
        .with_file("guests.toml", manifest);
    let env = [
        ("AWS_ACCESS_KEY_ID", key_id.as_str()),
        ("AWS_SECRET_ACCESS_KEY", secret.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint.as_str()),
    ];
    let lambda = Lambda::start(HOST.as_ref(), &folder, &env);

    // Each count is DynamoDB's own answer to a signed UpdateItem.
    for expected in 1..=3 {
        let answer = lambda.emulator.invoke(&http_v2("/visits/home")).answer();
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["visits"], expected, "{answer}");
        assert_eq!(body["path"], "/visits/home");
    }
    let answer = lambda.emulator.invoke(&http_v2("/visits/about")).answer();
    assert!(
        answer["body"].as_str().unwrap().contains(r#""visits":1"#),
        "{answer}"
    );
    let log = lambda.host.log();
    // (moto's server closes each connection; reuse is tested above.)
    assert_eq!(log.matches("signed=\"dynamodb\"").count(), 4, "{log}");

    // Allowed to reach DynamoDB but not granted: sent unsigned, and
    // DynamoDB (moto, checking) refuses it.
    let invoked = lambda.emulator.invoke(&http_v2("/unsigned/home"));
    assert_eq!(invoked.error_type(), "GuestError", "{}", invoked.body);
    let message = invoked.error_message();
    assert!(
        !message.contains("OutboundRefused") && message.contains("(status "),
        "{}",
        invoked.body
    );
    // Neither: refused by the host before it leaves.
    let invoked = lambda.emulator.invoke(&http_v2("/stranger/home"));
    assert_eq!(invoked.error_type(), "GuestError", "{}", invoked.body);
    assert!(
        invoked.error_message().contains("OutboundRefused"),
        "{}",
        invoked.body
    );

    // The signed guest's count is untouched by the refused calls.
    let answer = lambda.emulator.invoke(&http_v2("/visits/home")).answer();
    assert!(
        answer["body"].as_str().unwrap().contains(r#""visits":4"#),
        "{answer}"
    );
}

/// A GET of `url` through `client`, ending at `deadline`: the status, or
/// the error code the guest would see.
async fn send(client: &GuestClient, url: &str, deadline: Instant) -> Result<u16, String> {
    let body = Empty::new().map_err(|never| match never {}).boxed_unsync();
    let request = http::Request::get(url).body(body).unwrap();
    let mut record = CallRecord::start(Arc::from("g"), Arc::from("r"), "GET");
    let outcome = client
        .send(request, Some(deadline), None, &mut record)
        .await;
    record.finish(&OutboundTotals::default(), None);
    match outcome {
        Ok(response) => {
            let status = response.status().as_u16();
            response
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("{e:?}"))?;
            Ok(status)
        }
        Err(refused) => Err(format!("{:?}", refused.code)),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn requests_beyond_the_concurrency_cap_wait_for_a_slot() {
    let server = HttpServer::start();
    let settings = OutboundSettings {
        allow: vec![server.url()],
        concurrency: Some(1),
        ..OutboundSettings::default()
    };
    let client = GuestClient::new("capped", &settings, Arc::new(AddressGuard::new(None)))
        .unwrap()
        .unwrap();
    let slow = format!("{}/slow", server.url());
    let hello = format!("{}/hello", server.url());
    let far = Instant::now() + Duration::from_secs(30);
    // The slow request holds the only slot; a second one cannot start
    // before its deadline, and one after the slot frees goes through.
    let holder = send(&client, &slow, far);
    let waiter = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        send(&client, &hello, Instant::now() + Duration::from_millis(300)).await
    };
    let (held, waited) = tokio::join!(holder, waiter);
    assert_eq!(held, Ok(200));
    assert_eq!(waited, Err("ConnectionLimitReached".to_owned()));
    assert_eq!(send(&client, &hello, far).await, Ok(200));
    assert_eq!(
        server.requests(),
        2,
        "the refused request never left the host"
    );
}
