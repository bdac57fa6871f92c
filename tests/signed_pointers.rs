//! Signed pointers against rollback and freeze: the real commands write to
//! moto's S3, the real host binary reads under cargo-lambda's emulator. A
//! bucket writer replays an older signed pointer, writes an unsigned one,
//! damages one; a cold start meets an old pointer and a publisher whose
//! clock runs ahead.

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wasm_lambda_host::releases::manifest::Pointer;
use wasm_lambda_host::releases::pointer_signature;
use wasm_lambda_host::releases::signing;
use wasm_lambda_tests::{GuestFolder, S3Server, S3Tap};

use super::releases::{
    BUCKET, LOCATION, Lambda, failed_init, host_command, host_env, publish, s3, two_guests,
};

const POINTER: &str = "team/current";

/// A key pair made by `keygen`: (secret key path, public key text).
fn keygen(s3: &S3Server, keys: &GuestFolder, name: &str) -> (String, String) {
    let base = keys.root().join(name);
    let (ok, text) = host_command(s3, &["keygen", base.to_str().unwrap()]);
    assert!(ok, "{text}");
    let public = std::fs::read_to_string(keys.root().join(format!("{name}.pub"))).unwrap();
    let secret = keys.root().join(format!("{name}.key"));
    (
        secret.to_str().unwrap().to_owned(),
        public.trim().to_owned(),
    )
}

fn pointer(s3: &S3Server) -> Vec<u8> {
    s3.get(BUCKET, POINTER).expect("a pointer")
}

fn pointer_json(s3: &S3Server) -> Value {
    serde_json::from_slice(&pointer(s3)).unwrap()
}

/// Writes a pointer to the current release signed with `key` at `at` with
/// `sequence`, as `publish` would have (with its copy under `pointers/`).
fn sign_current_at(s3: &S3Server, key: &str, sequence: u64, at: SystemTime) {
    let mut current = Pointer::parse(&pointer(s3)).unwrap();
    let key = signing::read_signing_key(std::path::Path::new(key)).unwrap();
    pointer_signature::sign(&mut current, &key, sequence, at);
    let history = format!("team/pointers/{sequence:020}.json");
    s3.put(BUCKET, &history, &current.to_bytes());
    s3.put(BUCKET, POINTER, &current.to_bytes());
}

fn check_of(ping: &Value) -> (&str, &str) {
    let check = &ping["release"]["check"];
    (
        check["outcome"].as_str().unwrap_or("-"),
        check["error"].as_str().unwrap_or(""),
    )
}

#[test]
fn a_warm_environment_never_goes_back_to_a_lower_sequence() {
    let s3 = s3();
    let keys = GuestFolder::new("ptr-keys");
    let (team, public) = keygen(&s3, &keys, "team");
    let source = two_guests("ptr-source");
    let first = publish(&s3, &source, &["--sign", &team]);
    let first_pointer = pointer(&s3);
    let written = pointer_json(&s3);
    assert_eq!(written["sequence"], 1, "{written}");
    assert!(
        written["signed_at"].is_string() && written["pointer_signature"]["key"] == public.as_str(),
        "{written}"
    );
    assert_eq!(
        s3.get(BUCKET, "team/pointers/00000000000000000001.json"),
        Some(first_pointer.clone()),
        "publish keeps a copy of each signed pointer"
    );
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\nconfig = { greeting = \"hi\" }\n",
    )
    .unwrap();
    let second = publish(&s3, &source, &["--sign", &team]);
    assert_eq!(pointer_json(&s3)["sequence"], 2);

    let cache = GuestFolder::new("ptr-warm");
    let lambda = Lambda::start(
        &s3,
        &cache,
        &[
            ("WASM_LAMBDA_TRUSTED_KEYS", public.as_str()),
            ("WASM_LAMBDA_REFRESH_S", "0"),
        ],
    );
    assert!(
        lambda.host.log().contains("sequence=2"),
        "{}",
        lambda.host.log()
    );
    assert_eq!(lambda.guest("counter", json!({}))["count"], 1);
    assert_eq!(lambda.ping()["release"]["pointer"]["sequence"], 2);

    // A bucket writer puts the first (validly signed) pointer back.
    s3.put(BUCKET, POINTER, &first_pointer);
    let ping = lambda.ping();
    let (outcome, error) = check_of(&ping);
    assert_eq!(outcome, "refused", "{ping}");
    assert!(
        error.contains("rollback refused")
            && error.contains(&format!("release {first} at sequence 1"))
            && error.contains("lower than the sequence 2"),
        "{ping}"
    );
    assert_eq!(ping["release"]["guests"], second.as_str());
    assert_eq!(lambda.guest("counter", json!({}))["count"], 2);
    assert!(lambda.host.log().contains("rollback refused"));
    // A scheduled refresh does not sign over the replayed pointer.
    let (ok, text) = host_command(&s3, &["refresh", "--sign", &team, LOCATION]);
    assert!(
        !ok && text.contains("not refreshing") && text.contains("older pointer was put back"),
        "{text}"
    );

    // An unsigned rollback: written (with a warning), refused by the host.
    let (ok, text) = host_command(&s3, &["rollback", LOCATION, &first]);
    assert!(
        ok && text.contains("hosts with WASM_LAMBDA_TRUSTED_KEYS will refuse it"),
        "{text}"
    );
    let ping = lambda.ping();
    let (outcome, error) = check_of(&ping);
    assert!(
        outcome == "refused" && error.contains("is not signed"),
        "{ping}"
    );
    assert_eq!(lambda.guest("counter", json!({}))["count"], 3);

    // A signed rollback: the next sequence, followed.
    let (ok, text) = host_command(&s3, &["rollback", "--sign", &team, LOCATION, &first]);
    assert!(ok && text.contains("pointer sequence 3"), "{text}");
    let ping = lambda.ping();
    assert_eq!(check_of(&ping).0, "switched", "{ping}");
    assert_eq!(ping["release"]["check"]["to"], first.as_str());
    assert_eq!(ping["release"]["pointer"]["sequence"], 3);
    assert_eq!(
        lambda.guest("counter", json!({}))["count"],
        4,
        "counter kept"
    );
    assert_eq!(
        lambda.guest("hello", json!({}))["cold"],
        true,
        "hello reloaded"
    );

    // A refresh: the next sequence, the same release, nothing reloaded.
    let (ok, text) = host_command(&s3, &["refresh", "--sign", &team, LOCATION]);
    assert!(ok && text.contains("pointer sequence 4"), "{text}");
    let ping = lambda.ping();
    assert_eq!(check_of(&ping).0, "unchanged", "{ping}");
    assert_eq!(ping["release"]["pointer"]["sequence"], 4);
    assert_eq!(lambda.guest("counter", json!({}))["count"], 5);
    assert_eq!(
        lambda.guest("hello", json!({}))["cold"],
        false,
        "hello's instance kept"
    );

    // A pointer whose sequence was raised after signing, then a truncated
    // one: refused, the release in use serves.
    let mut raised = pointer_json(&s3);
    raised["sequence"] = json!(99);
    s3.put(BUCKET, POINTER, raised.to_string().as_bytes());
    let ping = lambda.ping();
    let (outcome, error) = check_of(&ping);
    assert!(
        outcome == "refused"
            && error.contains("pointer signature")
            && error.contains("does not match"),
        "{ping}"
    );
    let whole = pointer(&s3);
    s3.put(BUCKET, POINTER, &whole[..whole.len() / 2]);
    let ping = lambda.ping();
    let (outcome, error) = check_of(&ping);
    assert!(outcome == "failed" && error.contains("not valid"), "{ping}");
    assert_eq!(ping["release"]["guests"], first.as_str());
    assert_eq!(lambda.guest("counter", json!({}))["count"], 6);

    // A signed rollback puts a damaged pointer right and counts on from
    // the copies (sequence 5, though `current` said nothing readable).
    let (ok, text) = host_command(&s3, &["rollback", "--sign", &team, LOCATION, &second]);
    assert!(
        ok && text.contains("is damaged") && text.contains("pointer sequence 5"),
        "{text}"
    );
    let ping = lambda.ping();
    assert_eq!(ping["release"]["check"]["to"], second.as_str(), "{ping}");
}

#[test]
fn a_cold_start_refuses_an_old_pointer_until_it_is_refreshed() {
    let s3 = s3();
    let keys = GuestFolder::new("age-keys");
    let (team, public) = keygen(&s3, &keys, "team");
    let source = two_guests("age-source");
    let release = publish(&s3, &source, &["--sign", &team]);
    let cache = GuestFolder::new("age-cache");
    let trusted_within = |age: &'static str| {
        host_env(
            &s3,
            &[
                ("WASM_LAMBDA_TRUSTED_KEYS", public.as_str()),
                ("WASM_LAMBDA_RELEASE_MAX_AGE", age),
            ],
        )
    };
    // The sequence a host with trusted keys and `age` started on.
    let started_within = |age: &'static str| -> Value {
        let env = trusted_within(age);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let lambda = Lambda::start(&s3, &cache, &env);
        assert!(
            lambda
                .host
                .log()
                .contains(&format!("release=\"{release}\"")),
            "{}",
            lambda.host.log()
        );
        lambda.ping()["release"]["pointer"]["sequence"].clone()
    };
    let refused_within = |age: &'static str| failed_init(trusted_within(age), &cache);
    let unchecked_counts = || {
        let lambda = Lambda::start(&s3, &cache, &[]);
        lambda.guest("counter", json!({}))["count"].clone()
    };

    // A bucket as a host before signed pointers left it: a signed release,
    // its pointer unsigned, no copies.
    let mut old_format = pointer_json(&s3);
    for field in ["sequence", "signed_at", "pointer_signature"] {
        old_format.as_object_mut().unwrap().remove(field);
    }
    s3.put(BUCKET, POINTER, old_format.to_string().as_bytes());
    s3.delete(BUCKET, "team/pointers/00000000000000000001.json");
    let log = refused_within("1h");
    assert!(
        log.contains("InitError.ReleaseUntrusted")
            && log.contains("is not signed")
            && log.contains("refresh --sign KEY"),
        "{log}"
    );
    // Hosts without trusted keys read it, and signed pointers, as before.
    assert_eq!(unchecked_counts(), 1);
    let (ok, text) = host_command(&s3, &["refresh", "--sign", &team, LOCATION]);
    assert!(ok && text.contains("pointer sequence 1"), "{text}");
    assert_eq!(started_within("1h"), 1);
    assert_eq!(unchecked_counts(), 1);

    // The pointer was last signed two hours ago.
    let now = SystemTime::now();
    sign_current_at(&s3, &team, 2, now - Duration::from_secs(7200));
    let log = refused_within("1h");
    assert!(
        log.contains("InitError.ReleaseExpired")
            && log.contains("signed 2h")
            && log.contains("WASM_LAMBDA_RELEASE_MAX_AGE=1h"),
        "{log}"
    );
    // A longer limit takes it; without one, the log says what is open.
    assert_eq!(started_within("3h"), 2);
    let open = Lambda::start(
        &s3,
        &cache,
        &[("WASM_LAMBDA_TRUSTED_KEYS", public.as_str())],
    );
    assert!(
        open.host
            .log()
            .contains("WASM_LAMBDA_RELEASE_MAX_AGE is not set"),
        "{}",
        open.host.log()
    );
    drop(open);
    let (ok, text) = host_command(&s3, &["refresh", "--sign", &team, LOCATION]);
    assert!(ok && text.contains("pointer sequence 3"), "{text}");
    assert_eq!(started_within("1h"), 3);

    // A warm environment refuses to switch to an old pointer too, even
    // one with a higher sequence, and keeps serving.
    let env = trusted_within("1h");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let warm = Lambda::start(&s3, &cache, &env);
    assert_eq!(warm.guest("counter", json!({}))["count"], 1);
    sign_current_at(&s3, &team, 4, SystemTime::now() - Duration::from_secs(7200));
    let ping = warm.ping();
    let (outcome, error) = check_of(&ping);
    assert!(
        outcome == "refused" && error.contains("signed 2h") && error.contains("MAX_AGE=1h"),
        "{ping}"
    );
    assert_eq!(ping["release"]["pointer"]["sequence"], 3);
    assert_eq!(warm.guest("counter", json!({}))["count"], 2);
    drop(warm);
    let (ok, text) = host_command(&s3, &["refresh", "--sign", &team, LOCATION]);
    assert!(ok && text.contains("pointer sequence 5"), "{text}");

    // The publisher's clock a few seconds ahead: taken. Ten minutes ahead
    // (more than the five tolerated): refused.
    sign_current_at(&s3, &team, 6, SystemTime::now() + Duration::from_secs(3));
    assert_eq!(started_within("1h"), 6);
    sign_current_at(&s3, &team, 7, SystemTime::now() + Duration::from_secs(600));
    let log = refused_within("1h");
    assert!(
        log.contains("InitError.ReleaseUntrusted")
            && log.contains("in the future")
            && log.contains("5m tolerated"),
        "{log}"
    );

    // A malformed limit, or one without trusted keys, fails init.
    let log = refused_within("soon");
    assert!(
        log.contains("InitError.ReleaseSettings") && log.contains("soon"),
        "{log}"
    );
    let log = failed_init(
        host_env(&s3, &[("WASM_LAMBDA_RELEASE_MAX_AGE", "1h")]),
        &cache,
    );
    assert!(
        log.contains("InitError.ReleaseSettings") && log.contains("needs WASM_LAMBDA_TRUSTED_KEYS"),
        "{log}"
    );
}

#[test]
fn a_pointer_written_meanwhile_is_never_overwritten_unseen() {
    let s3 = s3();
    let keys = GuestFolder::new("race-keys");
    let (team, _) = keygen(&s3, &keys, "team");
    let source = two_guests("race-source");
    let first = publish(&s3, &source, &["--sign", &team]);
    let first_pointer = pointer(&s3);
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\ntimeout_ms = 900\n",
    )
    .unwrap();
    publish(&s3, &source, &["--sign", &team]);
    let current = pointer(&s3);

    // Another writer claims sequence 3 (creates its copy) after this
    // command counted and before its own claim: the claim fails, nothing
    // is made current.
    let taken = "team/pointers/00000000000000000003.json";
    let tap = S3Tap::start(
        &s3,
        "team/pointers/",
        (BUCKET, taken, b"another writer's copy"),
    );
    let (ok, text) = command_through(&s3, &tap, &["rollback", "--sign", &team, LOCATION, &first]);
    assert!(
        !ok && text.contains("sequence 3 was taken meanwhile"),
        "{text}"
    );
    assert_eq!(pointer(&s3), current);

    // Another writer replaces `current` after this command read it (just
    // before its claim of sequence 4): refused, and the other writer's
    // pointer stands.
    let tap = S3Tap::start(&s3, "team/pointers/", (BUCKET, POINTER, &first_pointer));
    let (ok, text) = command_through(&s3, &tap, &["rollback", "--sign", &team, LOCATION, &first]);
    assert!(
        !ok && text.contains("changed while this command ran"),
        "{text}"
    );
    assert_eq!(pointer(&s3), first_pointer);
}

/// Runs a host command whose S3 requests pass through `tap`.
fn command_through(s3: &S3Server, tap: &S3Tap, args: &[&str]) -> (bool, String) {
    let output = std::process::Command::new(super::releases::HOST)
        .args(args)
        .env_clear()
        .envs(s3.env())
        .env("AWS_ENDPOINT_URL_S3", tap.endpoint())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
