//! HTTP guests: standard `wasi:http/proxy` components (no wasm-lambda SDK)
//! served by the real host binary under cargo-lambda's Runtime API
//! emulator. API Gateway REST (v1), HTTP API (v2), Function URL and ALB
//! events become wasi:http requests; responses become each kind's answer.
//! `proxy-probe` (tests/guests) shows what reached it and misbehaves on
//! request; `http-proxy` (Rust) and `http-fetch-js` (a JS fetch-event app)
//! are the examples.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use serde_json::{Value, json};
use wasm_lambda_tests::{GuestFolder, HttpServer, Invoked, Lambda, guest_wasm, wat_components};

const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");

/// An HTTP API (v2) event; a Function URL sends the same shape.
fn v2(method: &str, raw_path: &str, raw_query: &str, extra: Value) -> Value {
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {"host": "api.example.com", "x-custom": "yes"},
        "requestContext": {
            "http": {"method": method, "path": raw_path},
            "domainName": "api.example.com",
            "stage": "$default"
        },
        "isBase64Encoded": false
    });
    merge(&mut event, extra);
    event
}

/// An API Gateway REST (v1) event.
fn v1(method: &str, path: &str, extra: Value) -> Value {
    let mut event = json!({
        "resource": "/{proxy+}",
        "httpMethod": method,
        "path": path,
        "headers": {"Host": "rest.example.com"},
        "multiValueHeaders": {"Host": ["rest.example.com"]},
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "requestContext": {"stage": "prod", "resourcePath": "/{proxy+}"},
        "body": null,
        "isBase64Encoded": false
    });
    merge(&mut event, extra);
    event
}

/// An ALB event; `multi_value` as the target group has it.
fn alb(method: &str, path: &str, multi_value: bool) -> Value {
    let mut event = json!({
        "httpMethod": method,
        "path": path,
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/tg/abc"}},
        "body": "",
        "isBase64Encoded": false
    });
    let headers = json!({"host": "lb.example.com", "x-forwarded-proto": "http"});
    if multi_value {
        event["multiValueHeaders"] = json!({"host": ["lb.example.com"], "x-forwarded-proto": ["http"], "x-twice": ["1", "2"]});
        event["multiValueQueryStringParameters"] = json!({"q": ["a%20b", "c"]});
    } else {
        event["headers"] = headers;
        event["queryStringParameters"] = json!({"q": "a%20b"});
    }
    event
}

fn merge(event: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(fields)) = (event.as_object_mut(), extra) {
        target.extend(fields);
    }
}

/// The echo's body, parsed (the probe answers JSON text).
fn echoed(answer: &Value) -> Value {
    assert_eq!(answer["statusCode"], 200, "{answer}");
    assert_eq!(answer["isBase64Encoded"], false, "{answer}");
    serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
}

/// The echoed headers as (name, value) pairs.
fn headers(echo: &Value) -> Vec<(String, String)> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pair| {
            (
                pair[0].as_str().unwrap().to_owned(),
                pair[1].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn header_values(echo: &Value, name: &str) -> Vec<String> {
    headers(echo)
        .into_iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v)
        .collect()
}

/// The probe's request count, asked at `/{prefix}/count`.
fn count(lambda: &Lambda, prefix: &str) -> u64 {
    let answer = lambda
        .emulator
        .invoke(&v2("GET", &format!("/{prefix}/count"), "", json!({})))
        .answer();
    echoed(&answer)["count"].as_u64().unwrap()
}

/// The probe deployed with `entries` as guests.toml; the folder lives as
/// long as the environment (it holds the host's log).
fn probe_lambda(label: &str, entries: &str, env: &[(&str, &str)]) -> (GuestFolder, Lambda) {
    let folder = GuestFolder::new(label)
        .with_precompiled_guest("proxy-probe", "proxy-probe", Path::new(HOST))
        .with_file("guests.toml", entries);
    let lambda = Lambda::start(Path::new(HOST), &folder, env);
    (folder, lambda)
}

#[test]
fn every_http_event_kind_reaches_the_guest_as_the_client_sent_it() {
    let (_folder, lambda) = probe_lambda("http-kinds", "", &[]);
    assert!(
        lambda
            .host
            .log()
            .contains(r#"guest=proxy-probe origin="precompiled""#),
        "{}",
        lambda.host.log()
    );
    let invoke = |event: Value| lambda.emulator.invoke(&event);

    // HTTP API (v2), routed by the first path segment: the query exactly
    // as sent (order, repeats, encoding), headers, cookies back in one header.
    let echo = echoed(
        &invoke(v2(
            "GET",
            "/proxy-probe/echo",
            "b=2&a=1&a=x%20y",
            json!({"cookies": ["session=abc", "theme=dark"]}),
        ))
        .answer(),
    );
    assert_eq!(echo["method"], "GET");
    assert_eq!(echo["path_with_query"], "/proxy-probe/echo?b=2&a=1&a=x%20y");
    assert_eq!(
        (echo["scheme"].as_str(), echo["authority"].as_str()),
        (Some("https"), Some("api.example.com"))
    );
    assert_eq!(header_values(&echo, "x-custom"), ["yes"]);
    assert_eq!(header_values(&echo, "cookie"), ["session=abc; theme=dark"]);
    assert_eq!(echo["body"], json!([]));
    // The invocation's Lambda context, as the Lambda Web Adapter sends it.
    let context: Value =
        serde_json::from_str(&header_values(&echo, "x-amzn-lambda-context")[0]).unwrap();
    assert!(
        context["request_id"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{context}"
    );
    assert!(context["deadline"].as_u64().is_some(), "{context}");

    // A Function URL event (payload 2.0 too), authority from its domain.
    let mut url_event = v2("GET", "/proxy-probe/echo", "", json!({}));
    url_event["headers"] = json!({"x-forwarded-proto": "https", "accept": "*/*"});
    url_event["requestContext"]["domainName"] = json!("abcdefg.lambda-url.eu-west-1.on.aws");
    let echo = echoed(&invoke(url_event).answer());
    assert_eq!(echo["authority"], "abcdefg.lambda-url.eu-west-1.on.aws");
    assert_eq!(header_values(&echo, "accept"), ["*/*"]);

    // POST with a binary body, base64 in the event: every byte arrives.
    let all_bytes: Vec<u8> = (0..=255).collect();
    let body = base64::engine::general_purpose::STANDARD.encode(&all_bytes);
    let echo = echoed(
        &invoke(v2(
            "POST",
            "/proxy-probe/echo",
            "",
            json!({"body": body, "isBase64Encoded": true}),
        ))
        .answer(),
    );
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["body"], json!(all_bytes));

    // REST (v1) PUT: multi-value headers repeated in order, decoded query
    // parameters encoded again, a text body.
    let echo = echoed(
        &invoke(v1(
            "PUT",
            "/proxy-probe/echo",
            json!({
                "multiValueHeaders": {"Host": ["rest.example.com"], "X-Multi": ["first", "second"], "X-Forwarded-Proto": ["https"]},
                "multiValueQueryStringParameters": {"tag": ["a b", "c&d"], "page": ["2"]},
                "queryStringParameters": {"tag": "c&d", "page": "2"},
                "body": "{\"name\": \"Ana\"}"
            }),
        ))
        .answer(),
    );
    assert_eq!(echo["method"], "PUT");
    // (`json!` sorts keys, so `page` was sent first; the order within one
    // name's list, and the order as sent, is the host's unit tests' concern.)
    assert_eq!(
        echo["path_with_query"],
        "/proxy-probe/echo?page=2&tag=a%20b&tag=c%26d"
    );
    assert_eq!(header_values(&echo, "x-multi"), ["first", "second"]);
    assert_eq!(echo["authority"], "rest.example.com");
    assert_eq!(echo["body"], json!(b"{\"name\": \"Ana\"}".to_vec()));

    // ALB: the query as the client sent it (an ALB does not decode), the
    // scheme from x-forwarded-proto; the answer has a status description.
    let answer = invoke(alb("GET", "/proxy-probe/echo", false)).answer();
    assert_eq!(answer["statusDescription"], "200 OK");
    let echo = echoed(&answer);
    assert_eq!(echo["path_with_query"], "/proxy-probe/echo?q=a%20b");
    assert_eq!(
        (echo["scheme"].as_str(), echo["authority"].as_str()),
        (Some("http"), Some("lb.example.com"))
    );
    let echo = echoed(&invoke(alb("GET", "/proxy-probe/echo", true)).answer());
    assert_eq!(echo["path_with_query"], "/proxy-probe/echo?q=a%20b&q=c");
    assert_eq!(header_values(&echo, "x-twice"), ["1", "2"]);

    // The envelope carries an HTTP event too.
    let echo = echoed(
        &invoke(json!({"guest": "proxy-probe", "event": v2("DELETE", "/anything/echo", "x=1", json!({}))}))
            .answer(),
    );
    assert_eq!(
        (echo["method"].as_str(), echo["path_with_query"].as_str()),
        (Some("DELETE"), Some("/anything/echo?x=1"))
    );
    // Anything else is not for an HTTP guest.
    let bad = invoke(json!({"guest": "proxy-probe", "event": {"name": "Ana"}}));
    assert_eq!(bad.error_type(), "BadEvent");
    assert!(
        bad.error_message().contains("serves HTTP only"),
        "{}",
        bad.error_message()
    );
    let bad = invoke(
        json!({"guest": "proxy-probe", "event": {"version": "2.0", "rawPath": "/x", "requestContext": {"http": {}}}}),
    );
    assert!(
        bad.error_message().contains("requestContext.http.method"),
        "{}",
        bad.error_message()
    );
}

#[test]
fn responses_become_each_event_kinds_answer() {
    let (_folder, lambda) = probe_lambda("http-answers", "", &[]);
    let invoke = |event: Value| lambda.emulator.invoke(&event).answer();

    // Repeated headers and cookies: v2 answers `cookies` and joined headers.
    let answer = invoke(v2("GET", "/proxy-probe/cookies", "", json!({})));
    assert_eq!(answer["cookies"], json!(["a=1; Path=/", "b=2"]), "{answer}");
    assert_eq!(answer["headers"]["x-multi"], "one,two");
    assert_eq!(answer["headers"].get("set-cookie"), None);
    assert_eq!(answer["body"], "cookies set");
    // REST (v1): repeated ones as multiValueHeaders.
    let answer = invoke(v1("GET", "/proxy-probe/cookies", json!({})));
    assert_eq!(
        answer["multiValueHeaders"],
        json!({"set-cookie": ["a=1; Path=/", "b=2"], "x-multi": ["one", "two"]}),
        "{answer}"
    );
    // ALB with multi-value headers: every header as a list.
    let answer = invoke(alb("GET", "/proxy-probe/cookies", true));
    assert_eq!(
        answer["multiValueHeaders"]["set-cookie"],
        json!(["a=1; Path=/", "b=2"])
    );
    assert_eq!(answer.get("headers"), None, "{answer}");

    // A body that is not UTF-8 goes base64, byte for byte.
    let answer = invoke(v2("GET", "/proxy-probe/binary", "", json!({})));
    assert_eq!(answer["isBase64Encoded"], true);
    assert_eq!(
        answer["headers"]["content-type"],
        "application/octet-stream"
    );
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(answer["body"].as_str().unwrap())
        .unwrap();
    assert_eq!(bytes, (0..=255).collect::<Vec<u8>>());

    // The status, whatever it is.
    let answer = invoke(v1(
        "GET",
        "/proxy-probe/status",
        json!({"queryStringParameters": null, "multiValueQueryStringParameters": null}),
    ));
    assert_eq!(answer["statusCode"], 500);
    let answer = invoke(alb("GET", "/proxy-probe/nowhere", false));
    assert_eq!(
        (
            answer["statusCode"].as_u64(),
            answer["statusDescription"].as_str()
        ),
        (Some(404), Some("404 Not Found"))
    );

    // A body written in many 64 KiB pieces arrives whole; one past Lambda's
    // 6 MB is PayloadTooLarge (not a cut body), and the guest serves on.
    let answer = invoke(v2("GET", "/proxy-probe/big", "3000000", json!({})));
    assert_eq!(answer["body"].as_str().map(str::len), Some(3_000_000));
    let too_large = lambda
        .emulator
        .invoke(&v2("GET", "/proxy-probe/big", "7000000", json!({})));
    assert_eq!(
        too_large.error_type(),
        "PayloadTooLarge",
        "{}",
        too_large.error_message()
    );
    assert!(
        too_large.error_message().contains("response body passed"),
        "{}",
        too_large.error_message()
    );
    assert_eq!(
        invoke(v2("GET", "/proxy-probe/status", "204", json!({})))["statusCode"],
        204
    );
}

#[test]
fn instances_are_kept_rebuilt_after_failures_and_skipped_by_warmer_pings() {
    let server = HttpServer::start();
    let (_folder, lambda) = probe_lambda(
        "http-instances",
        &format!(
            "[guests.proxy-probe]\ntimeout_ms = 1500\nmemory_limit_mb = 32\noutbound = [\"{}\"]\n",
            server.url()
        ),
        &[],
    );
    // Kept across warm calls: the guest's static counter counts up.
    let first = count(&lambda, "proxy-probe");
    assert_eq!(count(&lambda, "proxy-probe"), first + 1);

    // A warmer ping runs none of its code, and says why.
    let ping = lambda
        .emulator
        .invoke(&json!({"warmer": true, "concurrency": 1}))
        .answer();
    let entry = &ping["guests"]["proxy-probe"];
    assert!(
        entry["skipped"]
            .as_str()
            .is_some_and(|why| why.contains("HTTP guest")),
        "{ping}"
    );
    assert_eq!(
        count(&lambda, "proxy-probe"),
        first + 2,
        "the ping made no request"
    );

    // A trap, a call past its deadline or its memory limit, a missing
    // response and an error code each get an SDK guest's error type; the
    // next request is served.
    let failures: [(&str, &str, &str, bool); 5] = [
        ("trap", "", "GuestTrapped", true),
        ("sleep", "5000", "GuestTimeout", true),
        ("grow", "64", "GuestMemoryLimit", true),
        ("no-response", "", "InvalidAnswer", false),
        ("error-code", "", "GuestError", false),
    ];
    for (command, query, error_type, rebuilt) in failures {
        let before = count(&lambda, "proxy-probe");
        let failed: Invoked = lambda.emulator.invoke(&v2(
            "GET",
            &format!("/proxy-probe/{command}"),
            query,
            json!({}),
        ));
        assert_eq!(
            failed.error_type(),
            error_type,
            "{command}: {}",
            failed.error_message()
        );
        let after = count(&lambda, "proxy-probe");
        if rebuilt {
            // The instance was dropped; a new one counts from 1.
            assert_eq!(after, 1, "{command}");
        } else {
            // It returned normally: the same instance serves on.
            assert_eq!(after, before + 2, "{command}");
        }
    }
    // Outbound HTTP through the same allow-list as SDK guests.
    let fetched = lambda
        .emulator
        .invoke(&v2(
            "GET",
            "/proxy-probe/fetch",
            &format!("{}/hello", server.url()),
            json!({}),
        ))
        .answer();
    assert_eq!(fetched["body"], "200 hello", "{fetched}");
    let other = HttpServer::start();
    let refused = lambda
        .emulator
        .invoke(&v2(
            "GET",
            "/proxy-probe/fetch",
            &format!("{}/hello", other.url()),
            json!({}),
        ))
        .answer();
    assert_eq!(refused["statusCode"], 502, "{refused}");
    assert_eq!(other.requests(), 0, "an unlisted host is never reached");

    // Its output is logged as any guest's, tagged with guest and request,
    // and each invocation has its metrics line.
    let printed = lambda
        .emulator
        .invoke(&v2("GET", "/proxy-probe/print", "hello-log", json!({})))
        .answer();
    assert_eq!(printed["body"], "printed");
    let log = lambda.host.wait_for_log("probe says hello-log on stderr");
    let line = log
        .lines()
        .find(|l| l.contains("probe says hello-log on stdout"))
        .unwrap_or_default();
    assert!(
        line.contains(r#"guest="proxy-probe""#) && line.contains("requestId="),
        "{log}"
    );
    assert!(log.contains(r#""guest":"proxy-probe","Duration""#), "{log}");
    assert!(
        log.contains("response-outparam.set` was never called"),
        "{log}"
    );
}

#[test]
fn fresh_instances_and_concurrent_requests() {
    let (_folder, lambda) = probe_lambda(
        "http-fresh",
        "[guests.proxy-probe]\ninstance = \"fresh\"\nroutes = [{ http = \"/api/*\" }]\n",
        &[],
    );
    // A new instance per request, as `wasmtime serve` and Spin run them;
    // reached through its `http` route.
    for _ in 0..3 {
        assert_eq!(count(&lambda, "api"), 1);
    }
    // With routes, the first path segment no longer reaches it.
    let unrouted = lambda
        .emulator
        .invoke(&v2("GET", "/proxy-probe/count", "", json!({})));
    assert_eq!(
        unrouted.error_type(),
        "NoRoute",
        "{}",
        unrouted.error_message()
    );
    drop(lambda);

    // On Lambda Managed Instances, requests at once get instances of their
    // own from the pool: three sleeps side by side each count 1.
    let (_folder, lambda) = probe_lambda(
        "http-concurrent",
        "",
        &[("AWS_LAMBDA_MAX_CONCURRENCY", "4")],
    );
    let counts: BTreeSet<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                scope.spawn(|| {
                    let answer = lambda
                        .emulator
                        .invoke(&v2("GET", "/proxy-probe/sleep", "700", json!({})))
                        .answer();
                    echoed(&answer)["count"].as_u64().unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        counts,
        BTreeSet::from([1]),
        "three instances, one request each"
    );
}

#[test]
fn the_rust_and_javascript_examples_serve_what_the_sdk_router_serves() {
    let folder = GuestFolder::new("http-examples")
        .with_precompiled_guest("http-proxy", "http-proxy", Path::new(HOST))
        .with_precompiled_guest("http-fetch-js", "http-fetch-js", Path::new(HOST))
        .with_guest("http-router", "http-router");
    let lambda = Lambda::start(Path::new(HOST), &folder, &[]);
    let invoke = |event: Value| {
        let invoked = lambda.emulator.invoke(&event);
        assert_eq!(
            invoked.status,
            200,
            "{}\n{}",
            invoked.body,
            lambda.host.log()
        );
        invoked.body
    };
    let body = |answer: &Value| -> Value {
        serde_json::from_str(answer["body"].as_str().unwrap()).unwrap()
    };

    let sdk = invoke(v2(
        "GET",
        "/http-router/hello",
        "name=Ana",
        json!({"queryStringParameters": {"name": "Ana"}}),
    ));
    for guest in ["http-proxy", "http-fetch-js"] {
        let answer = invoke(v2("GET", &format!("/{guest}/hello"), "name=Ana", json!({})));
        assert_eq!(answer["statusCode"], 200, "{guest}: {answer}");
        assert_eq!(body(&answer), body(&sdk), "{guest}");
        assert_eq!(answer["headers"]["content-type"], "application/json");
        // The Rust guest's instance is kept (`served` counts up); the JS
        // engine answers one request per instance, and says so, so each
        // request gets a fresh one (and every one is answered).
        let first = body(&invoke(v2(
            "GET",
            &format!("/{guest}/health"),
            "",
            json!({}),
        )))["served"]
            .as_u64()
            .unwrap();
        let second = body(&invoke(v2(
            "GET",
            &format!("/{guest}/health"),
            "",
            json!({}),
        )))["served"]
            .as_u64()
            .unwrap();
        if guest == "http-proxy" {
            assert_eq!(second, first + 1, "{guest}");
        } else {
            assert_eq!((first, second), (1, 1), "{guest}");
        }
        let missing = invoke(v1("GET", &format!("/{guest}/nowhere"), json!({})));
        assert_eq!(missing["statusCode"], 404, "{guest}: {missing}");
        let wrong = invoke(v2("DELETE", &format!("/{guest}/hello"), "", json!({})));
        assert_eq!(wrong["statusCode"], 405, "{guest}: {wrong}");
    }
    // The JS fetch-event app: binary bytes in and out through Request and
    // Response, and two cookies.
    let all_bytes: Vec<u8> = (0..=255).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&all_bytes);
    let answer = invoke(v2(
        "POST",
        "/http-fetch-js/echo",
        "",
        json!({"body": encoded, "isBase64Encoded": true, "headers": {"content-type": "application/octet-stream"}}),
    ));
    assert_eq!(
        (answer["isBase64Encoded"].as_bool(), answer["body"].as_str()),
        (Some(true), Some(encoded.as_str())),
        "{answer}"
    );
    let answer = invoke(v2("GET", "/http-fetch-js/cookies", "", json!({})));
    assert_eq!(
        answer["cookies"],
        json!(["theme=dark; Path=/", "seen=1"]),
        "{answer}"
    );
    // The Rust example echoes text.
    let answer = invoke(v1("POST", "/http-proxy/echo", json!({"body": "hi there"})));
    assert_eq!(body(&answer), json!({"echo": "hi there"}));
}

#[test]
fn check_names_what_an_http_guest_is_and_what_it_imports_that_no_host_gives() {
    let run = |wasm: &Path| {
        let output = Command::new(HOST).arg("check").arg(wasm).output().unwrap();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        )
    };
    for guest in ["proxy-probe", "http-proxy", "http-fetch-js"] {
        let (ok, said) = run(&guest_wasm(guest));
        assert!(ok, "{guest}: {said}");
        assert!(
            said.contains("an HTTP guest")
                && said.contains("kind: http (wasi:http/incoming-handler@0.2."),
            "{said}"
        );
        assert!(
            said.contains("imports: ") && said.contains("wasi:http/types@0.2."),
            "{said}"
        );
        assert_eq!(
            said.contains("instances: one request per instance"),
            guest == "http-fetch-js",
            "{said}"
        );
    }
    let folder = GuestFolder::new("http-spin")
        .with_file("spin_app.wasm", wat_components::spin_only_http_guest());
    let (ok, said) = run(&folder.guests().join("spin_app.wasm"));
    assert!(!ok, "{said}");
    assert!(
        said.contains("unknown import `fermyon:spin/key-value@2.0.0`")
            && said.contains("HTTP guest"),
        "{said}"
    );
}
