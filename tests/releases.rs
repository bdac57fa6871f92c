//! Releases end to end: the real `publish` command writes to a real S3 API
//! (moto's server on loopback), the real host binary reads it at init under
//! cargo-lambda's Runtime API emulator and switches releases while warm.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasm_lambda_tests::{Emulator, GuestFolder, HostProcess, S3Server, ThrottlingS3, TlsServer};

pub(crate) const HOST: &str = env!("CARGO_BIN_EXE_wasm-lambda-host");
pub(crate) const BUCKET: &str = "guests";
pub(crate) const LOCATION: &str = "s3://guests/team/";

/// moto with the bucket made.
pub(crate) fn s3() -> S3Server {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET);
    s3
}

/// Runs a host command (`publish`, `rollback`, ...) with `s3`'s variables;
/// returns (succeeded, stdout + stderr).
pub(crate) fn host_command(s3: &S3Server, args: &[&str]) -> (bool, String) {
    let output = Command::new(HOST)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(s3.env())
        .output()
        .expect("running wasm-lambda-host");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// Publishes `folder`'s guests (and models); returns the new release id.
pub(crate) fn publish(s3: &S3Server, folder: &GuestFolder, extra: &[&str]) -> String {
    let guests = folder.guests();
    let models = folder.models();
    let mut args = vec![
        "publish",
        guests.to_str().unwrap(),
        LOCATION,
        "--models",
        models.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, text) = host_command(s3, &args);
    assert!(ok, "publish failed:\n{text}");
    text.lines()
        .find_map(|l| {
            l.strip_prefix("release ")?
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("publish named no release:\n{text}"))
}

/// The release manifest the pointer names.
fn current_manifest(s3: &S3Server) -> Value {
    let pointer: Value = serde_json::from_slice(&s3.get(BUCKET, "team/current").unwrap()).unwrap();
    let key = format!(
        "team/releases/{}.json",
        pointer["release"].as_str().unwrap()
    );
    serde_json::from_slice(&s3.get(BUCKET, &key).unwrap()).unwrap()
}

/// The object key of a guest's `.wasm` (or `.cwasm` for `arch`) in the
/// current release.
fn object_of(s3: &S3Server, guest: &str, arch: Option<&str>) -> String {
    let manifest = current_manifest(s3);
    let entry = manifest["guests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == guest)
        .unwrap()
        .clone();
    let object = match arch {
        None => &entry["wasm"],
        Some(arch) => &entry["cwasm"][arch],
    };
    format!("team/objects/sha256/{}", object["sha256"].as_str().unwrap())
}

/// A host reading releases from `s3`, under its own emulator. `cache` is
/// a deployment whose cache folder is its `/tmp`.
pub(crate) struct Lambda {
    pub(crate) emulator: Emulator,
    pub(crate) host: HostProcess,
}

pub(crate) fn host_env(s3: &S3Server, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = s3.release_env(LOCATION);
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    env
}

impl Lambda {
    pub(crate) fn start(s3: &S3Server, cache: &GuestFolder, extra: &[(&str, &str)]) -> Self {
        let emulator = Emulator::start();
        let env = host_env(s3, extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let host = HostProcess::start(Path::new(HOST), &emulator.runtime_api(), cache, &env);
        host.wait_for_log("init complete");
        Self { emulator, host }
    }

    pub(crate) fn guest(&self, guest: &str, event: Value) -> Value {
        self.emulator
            .invoke(&json!({"guest": guest, "event": event}))
            .answer()
    }

    /// Asserts that `guest` answers `GuestLoadFailed` because one of its
    /// objects was tampered with.
    fn assert_refused_as_tampered(&self, guest: &str) {
        let refused = self.emulator.invoke(&json!({"guest": guest, "event": {}}));
        assert_eq!(
            refused.error_type(),
            "GuestLoadFailed",
            "{:?}",
            refused.body
        );
        assert!(
            refused.error_message().contains("tampered"),
            "{:?}",
            refused.body
        );
    }

    pub(crate) fn ping(&self) -> Value {
        self.emulator.invoke(&json!({"warmer": true})).answer()
    }
}

/// Starts a host that must fail init; returns its log.
pub(crate) fn failed_init(s3_env: Vec<(String, String)>, cache: &GuestFolder) -> String {
    let emulator = Emulator::start();
    let env: Vec<(&str, &str)> = s3_env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut host = HostProcess::start(Path::new(HOST), &emulator.runtime_api(), cache, &env);
    assert_eq!(
        host.wait_exit(Duration::from_secs(60)),
        Some(1),
        "init must fail:\n{}",
        host.log()
    );
    host.log()
}

pub(crate) fn two_guests(label: &str) -> GuestFolder {
    GuestFolder::new(label)
        .with_guest("counter", "counter")
        .with_guest("hello", "hello")
}

#[test]
fn publish_cold_start_live_switch_and_rollback() {
    let s3 = s3();
    let source = two_guests("rel-source").with_model("seed_forest", "seed_forest");
    let first = publish(&s3, &source, &[]);

    // Re-publishing unchanged files uploads nothing.
    let (ok, text) = host_command(
        &s3,
        &[
            "publish",
            source.guests().to_str().unwrap(),
            LOCATION,
            "--models",
            source.models().to_str().unwrap(),
        ],
    );
    assert!(
        ok && text.contains(&format!("nothing changed: release {first} stays current")),
        "{text}"
    );

    let cache = GuestFolder::new("rel-cache");
    let lambda = Lambda::start(&s3, &cache, &[("WASM_LAMBDA_REFRESH_S", "0")]);
    let log = lambda.host.log();
    assert!(log.contains(&format!("release=\"{first}\"")), "{log}");
    assert!(
        log.contains("precompiled=2"),
        "the release's .cwasm for this architecture was used:\n{log}"
    );
    assert!(log.contains("not signature-checked"), "{log}");
    for n in 1..=3 {
        assert_eq!(lambda.guest("counter", json!({}))["count"], n);
    }
    assert_eq!(
        lambda.guest("hello", json!({"name": "S3"}))["message"],
        "Hello, S3!"
    );

    // Second release: hello's settings change, counter's do not.
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\nconfig = { greeting = \"hi\" }\n",
    )
    .unwrap();
    let second = publish(&s3, &source, &[]);
    assert_ne!(first, second);
    // Nothing reaches the warm environment until it checks (timer off).
    assert_eq!(lambda.guest("counter", json!({}))["count"], 4);

    let ping = lambda.ping();
    let check = &ping["release"]["check"];
    assert_eq!(check["outcome"], "switched", "{ping}");
    assert_eq!(
        (check["from"].as_str(), check["to"].as_str()),
        (Some(first.as_str()), Some(second.as_str()))
    );
    assert_eq!(check["kept"], json!(["counter"]), "{ping}");
    assert_eq!(check["loaded"], json!(["hello"]), "{ping}");
    assert_eq!(ping["release"]["guests"], second.as_str());
    let releases_dir = cache.cache().join("releases");
    assert!(releases_dir.join(&second).is_dir());
    assert!(
        !releases_dir.join(&first).exists(),
        "the old release's folder is removed after the switch"
    );
    assert_eq!(
        lambda.guest("counter", json!({}))["count"],
        5,
        "counter's state survived the switch"
    );
    assert_eq!(
        lambda.guest("hello", json!({}))["cold"],
        true,
        "hello was rebuilt"
    );
    assert_eq!(lambda.ping()["release"]["check"]["outcome"], "unchanged");

    // `releases` lists both, the second current; rollback points back.
    let (ok, listing) = host_command(&s3, &["releases", LOCATION]);
    assert!(ok, "{listing}");
    assert!(
        listing.contains(&format!("* {second}")) && listing.contains(&format!("  {first}")),
        "{listing}"
    );
    let (ok, text) = host_command(&s3, &["rollback", LOCATION, &first]);
    assert!(
        ok && text.contains(&format!("{first} (was {second})")),
        "{text}"
    );
    let ping = lambda.ping();
    assert_eq!(ping["release"]["check"]["to"], first.as_str(), "{ping}");
    assert_eq!(lambda.guest("counter", json!({}))["count"], 6);
    let (ok, text) = host_command(&s3, &["rollback", LOCATION, "20990101T000000Z-00000000"]);
    assert!(
        !ok && text.contains("no release 20990101T000000Z-00000000"),
        "{text}"
    );

    // A second cold start with the same /tmp downloads nothing.
    drop(lambda);
    let again = Lambda::start(&s3, &cache, &[]);
    let log = again.host.log();
    assert!(
        log.contains("downloaded=0 ") && log.contains("reused="),
        "{log}"
    );
    assert!(!log.contains("reused=0 "), "{log}");
    assert_eq!(again.guest("counter", json!({}))["count"], 1);
}

#[test]
fn one_guest_failing_its_checks_refuses_the_whole_release() {
    let s3 = s3();
    let source = GuestFolder::new("rel-refused")
        .with_guest("counter", "counter")
        .with_file("broken.wasm", b"not a component");
    let guests = source.guests();
    let (ok, text) = host_command(&s3, &["publish", guests.to_str().unwrap(), LOCATION]);
    assert!(!ok, "{text}");
    assert!(
        text.contains("guest broken: not a valid component"),
        "{text}"
    );
    assert!(
        text.contains("release refused: 1 failed their checks; nothing was uploaded"),
        "{text}"
    );
    assert_eq!(
        s3.get(BUCKET, "team/current"),
        None,
        "no pointer was written"
    );
}

#[test]
fn models_come_from_the_same_release() {
    let s3 = s3();
    // With an HTTP guest beside it: published (checked, precompiled for
    // both architectures) and served from the release like any guest.
    let source = GuestFolder::new("rel-models")
        .with_guest("classifier", "classifier")
        .with_guest("http-proxy", "http-proxy")
        .with_model("seed_forest", "seed_forest");
    publish(&s3, &source, &[]);
    let cache = GuestFolder::new("rel-models-cache");
    let lambda = Lambda::start(&s3, &cache, &[]);
    assert!(
        lambda.host.log().contains("precompiled=2"),
        "{}",
        lambda.host.log()
    );
    let answer = lambda.guest("classifier", json!({"data": [0, 0, 0, 0]}));
    assert_eq!(answer["statusCode"], 200, "{answer}");
    let request = json!({
        "version": "2.0", "rawPath": "/http-proxy/hello", "rawQueryString": "name=S3",
        "headers": {}, "requestContext": {"http": {"method": "GET"}}
    });
    let answer = lambda.guest("http-proxy", request);
    assert_eq!(answer["body"], r#"{"message":"Hello, S3!"}"#, "{answer}");
}

#[test]
fn models_can_come_from_another_location() {
    let s3 = s3();
    // The models' team publishes (with a guest of theirs) to its own prefix.
    let models_team = GuestFolder::new("rel-models-team")
        .with_guest("hello", "hello")
        .with_model("seed_forest", "seed_forest");
    let (ok, text) = host_command(
        &s3,
        &[
            "publish",
            models_team.guests().to_str().unwrap(),
            "s3://guests/models-team/",
            "--models",
            models_team.models().to_str().unwrap(),
        ],
    );
    assert!(ok, "{text}");
    let guests_only = GuestFolder::new("rel-guests-only").with_guest("classifier", "classifier");
    publish(&s3, &guests_only, &[]);
    let cache = GuestFolder::new("rel-models-elsewhere");
    let lambda = Lambda::start(
        &s3,
        &cache,
        &[("WASM_LAMBDA_MODELS", "s3://guests/models-team/")],
    );
    let log = lambda.host.log();
    assert!(
        log.contains("models from s3://guests/models-team/"),
        "{log}"
    );
    let answer = lambda.guest("classifier", json!({"data": [0, 0, 0, 0]}));
    assert_eq!(answer["statusCode"], 200, "{answer}");
}

#[test]
fn a_tampered_object_never_runs_and_other_guests_serve() {
    let s3 = s3();
    let source = two_guests("rel-tamper-source");
    publish(&s3, &source, &[]);
    let hello = object_of(&s3, "hello", None);
    s3.put(BUCKET, &hello, b"\0asm evil bytes");
    // With its .cwasm intact, hello would run from it and never fetch the
    // .wasm (see the next test): damage both.
    let hello_code = object_of(&s3, "hello", Some("x86_64"));
    s3.put(BUCKET, &hello_code, b"not machine code either");
    let counter_code = object_of(&s3, "counter", Some("x86_64"));
    s3.put(BUCKET, &counter_code, b"not machine code");

    let cache = GuestFolder::new("rel-tamper");
    let lambda = Lambda::start(&s3, &cache, &[]);
    let log = lambda.host.log();
    assert!(log.contains("was tampered with or damaged"), "{log}");
    assert!(
        log.contains(&format!("s3://{BUCKET}/{hello}")),
        "the message names the key:\n{log}"
    );
    assert!(
        log.contains("not using the release's precompiled code"),
        "{log}"
    );
    assert_eq!(
        lambda.guest("counter", json!({}))["count"],
        1,
        "counter compiled from its .wasm"
    );
    lambda.assert_refused_as_tampered("hello");

    // Strict mode: the same release fails init.
    let strict = GuestFolder::new("rel-tamper-strict");
    let log = failed_init(host_env(&s3, &[("WASM_LAMBDA_STRICT", "1")]), &strict);
    assert!(log.contains("InitError.GuestsUnavailable"), "{log}");

    // A missing object is a per-guest error naming the key too.
    s3.delete(BUCKET, &hello);
    let missing = GuestFolder::new("rel-missing");
    let lambda = Lambda::start(&s3, &missing, &[]);
    let refused = lambda
        .emulator
        .invoke(&json!({"guest": "hello", "event": {}}));
    assert!(
        refused
            .error_message()
            .contains(&format!("s3://{BUCKET}/{hello}: no such object")),
        "{:?}",
        refused.body
    );
}

/// A guest whose release pins a `.cwasm` for this architecture runs from
/// it without its `.wasm` being downloaded (the `.cwasm`'s trailer names
/// the `.wasm`'s sha256, which the release pins); a pinned `.cwasm` the
/// loader refuses (here: one made from another guest) sends the host to
/// the `.wasm`, checked against its pin like any object.
#[test]
fn a_pinned_cwasm_runs_without_its_wasm_and_a_refused_one_falls_back_to_it() {
    let s3 = s3();
    let source = two_guests("rel-code-only-source");
    publish(&s3, &source, &[]);
    let hello_wasm = object_of(&s3, "hello", None);
    let good_wasm = s3.get(BUCKET, &hello_wasm).unwrap();
    s3.put(BUCKET, &hello_wasm, b"\0asm never fetched");

    let cache = GuestFolder::new("rel-code-only");
    let lambda = Lambda::start(&s3, &cache, &[]);
    let log = lambda.host.log();
    assert!(log.contains("precompiled=2"), "{log}");
    assert_eq!(
        lambda.guest("hello", json!({"name": "cwasm"}))["message"],
        "Hello, cwasm!"
    );
    let sha = |key: &str| key.rsplit('/').next().unwrap().to_owned();
    let objects = cache.cache().join("objects");
    assert!(
        objects
            .join(sha(&object_of(&s3, "hello", Some("x86_64"))))
            .exists(),
        "the .cwasm was downloaded"
    );
    assert!(
        !objects.join(sha(&hello_wasm)).exists(),
        "the .wasm was not downloaded"
    );
    drop(lambda);

    // The release now pins counter's .cwasm as hello's: its bytes match
    // the pin, but its trailer names counter's .wasm.
    let mut pointer: Value =
        serde_json::from_slice(&s3.get(BUCKET, "team/current").unwrap()).unwrap();
    let mut manifest: Value = serde_json::from_str(pointer["manifest"].as_str().unwrap()).unwrap();
    let guests = manifest["guests"].as_array_mut().unwrap();
    let counter_code = guests.iter().find(|g| g["name"] == "counter").unwrap()["cwasm"].clone();
    guests.iter_mut().find(|g| g["name"] == "hello").unwrap()["cwasm"] = counter_code;
    let manifest = manifest.to_string();
    let digest = <sha2::Sha256 as sha2::Digest>::digest(manifest.as_bytes());
    pointer["sha256"] = Value::String(digest.iter().map(|b| format!("{b:02x}")).collect());
    pointer["manifest"] = Value::String(manifest);
    s3.put(BUCKET, "team/current", pointer.to_string().as_bytes());

    // The fallback reaches the .wasm, whose damage is caught.
    let cache = GuestFolder::new("rel-code-refused-tampered");
    let lambda = Lambda::start(&s3, &cache, &[]);
    let log = lambda.host.log();
    assert!(
        log.contains("not using the release's precompiled code"),
        "{log}"
    );
    lambda.assert_refused_as_tampered("hello");
    drop(lambda);

    // With the .wasm restored, hello is compiled from it and serves.
    s3.put(BUCKET, &hello_wasm, &good_wasm);
    let cache = GuestFolder::new("rel-code-refused");
    let lambda = Lambda::start(&s3, &cache, &[]);
    let log = lambda.host.log();
    assert!(
        log.contains("compiled=1") && log.contains("precompiled=1"),
        "{log}"
    );
    assert_eq!(
        lambda.guest("hello", json!({"name": "wasm"}))["message"],
        "Hello, wasm!"
    );
    assert_eq!(lambda.guest("counter", json!({}))["count"], 1);
}

#[test]
fn a_release_that_fails_to_load_is_not_switched_to() {
    let s3 = s3();
    let source = two_guests("rel-bad-source");
    let first = publish(&s3, &source, &[]);
    let cache = GuestFolder::new("rel-bad");
    let lambda = Lambda::start(&s3, &cache, &[("WASM_LAMBDA_REFRESH_S", "0")]);
    assert_eq!(lambda.guest("counter", json!({}))["count"], 1);

    // A new release whose hello object is then damaged in the bucket.
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\ntimeout_ms = 500\n",
    )
    .unwrap();
    let second = publish(&s3, &source, &[]);
    std::fs::copy(
        wasm_lambda_tests::guest_wasm("raw-answer"),
        source.guests().join("hello.wasm"),
    )
    .unwrap();
    let third = publish(&s3, &source, &[]);
    let hello = object_of(&s3, "hello", None);
    s3.put(BUCKET, &hello, b"damaged");
    // Its .cwasm too, or hello would run from it without the .wasm.
    s3.put(BUCKET, &object_of(&s3, "hello", Some("x86_64")), b"damaged");
    let ping = lambda.ping();
    let check = &ping["release"]["check"];
    assert_eq!(check["outcome"], "refused", "{ping}");
    assert_eq!(check["release"], third.as_str());
    assert!(
        check["error"].as_str().unwrap().contains("tampered"),
        "{ping}"
    );
    assert_eq!(
        ping["release"]["guests"],
        first.as_str(),
        "the old release still serves"
    );
    assert_eq!(lambda.guest("counter", json!({}))["count"], 2);
    assert_eq!(
        lambda.guest("hello", json!({"name": "old"}))["message"],
        "Hello, old!"
    );

    // Still refused at the next ping; once the object is repaired in the
    // bucket, the same release loads (a failed download is not remembered).
    assert_eq!(lambda.ping()["release"]["check"]["outcome"], "refused");
    let original = std::fs::read(source.guests().join("hello.wasm")).unwrap();
    s3.put(BUCKET, &hello, &original);
    let ping = lambda.ping();
    assert_eq!(ping["release"]["check"]["outcome"], "switched", "{ping}");
    assert_eq!(ping["release"]["guests"], third.as_str());

    // Rolling back to another release switches too.
    host_command(&s3, &["rollback", LOCATION, &second]);
    let ping = lambda.ping();
    assert_eq!(ping["release"]["check"]["outcome"], "switched", "{ping}");
    assert_eq!(ping["release"]["guests"], second.as_str());
}

#[test]
fn timed_checks_switch_between_events() {
    let s3 = s3();
    let source = two_guests("rel-timer-source");
    publish(&s3, &source, &[]);
    let cache = GuestFolder::new("rel-timer");
    let lambda = Lambda::start(&s3, &cache, &[("WASM_LAMBDA_REFRESH_S", "1")]);
    assert_eq!(lambda.guest("counter", json!({}))["count"], 1);
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\ntimeout_ms = 900\n",
    )
    .unwrap();
    let second = publish(&s3, &source, &[]);
    let started = Instant::now();
    loop {
        lambda.guest("counter", json!({}));
        if lambda.host.log().contains(&format!("to=\"{second}\""))
            || lambda.host.log().contains(&format!("to={second}"))
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no timed switch:\n{}",
            lambda.host.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(lambda.guest("hello", json!({}))["cold"], true);
}

#[test]
fn signed_releases_only_with_trusted_keys() {
    let s3 = s3();
    let keys = GuestFolder::new("rel-keys");
    let team = keys.root().join("team");
    let (ok, text) = host_command(&s3, &["keygen", team.to_str().unwrap()]);
    assert!(ok, "{text}");
    let public = std::fs::read_to_string(keys.root().join("team.pub")).unwrap();
    let public = public.trim();
    let (ok, _) = host_command(
        &s3,
        &["keygen", keys.root().join("other").to_str().unwrap()],
    );
    assert!(ok);

    let source = two_guests("rel-signed-source");
    let team_key = keys.root().join("team.key");
    let signed = publish(&s3, &source, &["--sign", team_key.to_str().unwrap()]);
    let cache = GuestFolder::new("rel-signed");
    let lambda = Lambda::start(
        &s3,
        &cache,
        &[
            ("WASM_LAMBDA_TRUSTED_KEYS", public),
            ("WASM_LAMBDA_REFRESH_S", "0"),
        ],
    );
    assert!(
        lambda
            .host
            .log()
            .contains(&format!("signed_by=\"{public}\"")),
        "{}",
        lambda.host.log()
    );
    assert_eq!(lambda.guest("counter", json!({}))["count"], 1);

    // An unsigned release, then one signed by another key: never switched to.
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\ntimeout_ms = 800\n",
    )
    .unwrap();
    publish(&s3, &source, &[]);
    let ping = lambda.ping();
    assert_eq!(ping["release"]["check"]["outcome"], "refused", "{ping}");
    assert!(
        ping["release"]["check"]["error"]
            .as_str()
            .unwrap()
            .contains("not signed"),
        "{ping}"
    );
    std::fs::write(
        source.guests().join("guests.toml"),
        "[guests.hello]\ntimeout_ms = 700\n",
    )
    .unwrap();
    let other_key = keys.root().join("other.key");
    publish(&s3, &source, &["--sign", other_key.to_str().unwrap()]);
    let ping = lambda.ping();
    assert!(
        ping["release"]["check"]["error"]
            .as_str()
            .unwrap()
            .contains("not in WASM_LAMBDA_TRUSTED_KEYS"),
        "{ping}"
    );
    assert_eq!(ping["release"]["guests"], signed.as_str());
    assert_eq!(lambda.guest("counter", json!({}))["count"], 2);

    // At init, the foreign-signed release is refused.
    let fresh = GuestFolder::new("rel-untrusted");
    let log = failed_init(
        host_env(&s3, &[("WASM_LAMBDA_TRUSTED_KEYS", public)]),
        &fresh,
    );
    assert!(log.contains("InitError.ReleaseUntrusted"), "{log}");
}

#[test]
fn init_failures_have_documented_error_types() {
    let s3 = s3();
    let cache = GuestFolder::new("rel-failures");
    // Nothing published.
    let log = failed_init(host_env(&s3, &[]), &cache);
    assert!(
        log.contains("InitError.NoRelease") && log.contains("s3://guests/team/current"),
        "{log}"
    );
    // Unknown bucket.
    let log = failed_init(
        host_env(&s3, &[("WASM_LAMBDA_GUESTS", "s3://no-such-bucket/x/")]),
        &cache,
    );
    assert!(
        log.contains("InitError.S3BucketNotFound") && log.contains("no-such-bucket"),
        "{log}"
    );
    // No credentials.
    let env: Vec<(String, String)> = host_env(&s3, &[])
        .into_iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"))
        .collect();
    let log = failed_init(env, &cache);
    assert!(log.contains("InitError.S3Credentials"), "{log}");
    // A malformed address.
    let log = failed_init(
        host_env(&s3, &[("WASM_LAMBDA_GUESTS", "s3:///nobucket")]),
        &cache,
    );
    assert!(log.contains("InitError.ReleaseSettings"), "{log}");
    // A damaged pointer.
    s3.put(BUCKET, "team/current", b"{\"release\": 1}");
    let log = failed_init(host_env(&s3, &[]), &cache);
    assert!(
        log.contains("InitError.ReleaseInvalid") && log.contains("s3://guests/team/current"),
        "{log}"
    );
}

/// Starts a host whose S3 endpoint is `endpoint` (a broken S3); asserts
/// init fails with `InitError.S3Unavailable` naming the pointer, inside
/// Lambda's 10 s init limit.
fn init_fails_against_unavailable_s3(endpoint: &str, label: &str) {
    let cache = GuestFolder::new(label);
    let env: Vec<(String, String)> = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL_S3", endpoint),
        ("WASM_LAMBDA_GUESTS", LOCATION),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let started = Instant::now();
    let log = failed_init(env, &cache);
    let took = started.elapsed();
    assert!(
        log.contains("InitError.S3Unavailable") && log.contains("s3://guests/team/current"),
        "{log}"
    );
    assert!(
        took < Duration::from_secs(10),
        "inside Lambda's init limit: {took:?}"
    );
}

#[test]
fn a_throttling_s3_fails_init_within_the_bounded_retries() {
    let throttling = ThrottlingS3::start();
    init_fails_against_unavailable_s3(&throttling.endpoint(), "rel-throttle");
    let requests = throttling.requests();
    assert!(
        (2..=4).contains(&requests),
        "one request and at most 3 retries, got {requests}"
    );
}

#[test]
fn a_silent_s3_fails_init_at_the_request_timeout() {
    let silent = ThrottlingS3::silent();
    init_fails_against_unavailable_s3(&silent.endpoint(), "rel-silent");
    assert_eq!(
        silent.requests(),
        1,
        "no retry once the retry window has passed"
    );
}

/// The S3 client's trust (compiled-in roots in place of the system's
/// default store): an HTTPS endpoint whose certificate only the test's own
/// CA vouches for is refused during the handshake, and `SSL_CERT_FILE`
/// still names a store of the user's choice (the endpoint is then reached,
/// and refused as not S3).
#[test]
fn the_s3_client_trusts_compiled_in_roots_or_the_users_ssl_cert_file() {
    let cache = GuestFolder::new("rel-roots");
    let server = TlsServer::start(cache.root());
    let env = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_S3", server.url().as_str()),
            ("WASM_LAMBDA_GUESTS", LOCATION),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    };

    let log = failed_init(env(&[]), &cache);
    assert!(log.contains("InitError.S3Unavailable"), "{log}");
    assert!(
        server.versions().is_empty(),
        "no request may pass an untrusted handshake: {:?}\n{log}",
        server.versions()
    );
    assert!(server.connections() > 0, "the host did try: {log}");

    let ca = server.ca_file().display().to_string();
    let log = failed_init(env(&[("SSL_CERT_FILE", ca.as_str())]), &cache);
    assert!(
        !server.versions().is_empty(),
        "with SSL_CERT_FILE the pointer request gets through\n{log}"
    );
    assert!(!log.contains("InitError.S3Unavailable"), "{log}");
}

/// `publish`'s line saying where a guest's compiled code came from.
fn code_line<'a>(text: &'a str, guest: &str) -> &'a str {
    let prefix = format!("code of guest {guest}: ");
    text.lines()
        .find_map(|line| line.trim().strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("publish said nothing of {guest}'s code:\n{text}"))
}

/// Publishes `folder` (no models), returning the output.
fn publish_output(s3: &S3Server, folder: &GuestFolder, extra: &[&str]) -> String {
    let guests = folder.guests();
    let mut args = vec!["publish", guests.to_str().unwrap(), LOCATION];
    args.extend_from_slice(extra);
    let (ok, text) = host_command(s3, &args);
    assert!(ok, "publish failed:\n{text}");
    text
}

/// Publishes `folder` with a `guests.toml` giving hello another
/// `timeout_ms` (a new release whose guests' code is unchanged).
fn publish_with_hello_timeout(
    s3: &S3Server,
    folder: &GuestFolder,
    timeout_ms: u32,
    extra: &[&str],
) -> String {
    std::fs::write(
        folder.guests().join("guests.toml"),
        format!("[guests.hello]\ntimeout_ms = {timeout_ms}\n"),
    )
    .unwrap();
    publish_output(s3, folder, extra)
}

/// Makes the current release one whose `guest` code for `arch` was made
/// under another engine configuration, as another host build would have
/// made it: the object's trailer carries another engine fingerprint (a new
/// object, under its own sha256), pinned by a new release and pointer.
fn current_code_from_another_engine(s3: &S3Server, guest: &str, arch: &str) -> String {
    use wasm_lambda_host::releases::manifest::{ObjectRef, Pointer, ReleaseManifest};
    let pointer: Pointer =
        serde_json::from_slice(&s3.get(BUCKET, "team/current").unwrap()).unwrap();
    let current = ReleaseManifest::parse(pointer.manifest.as_bytes()).unwrap();
    let mut code = s3.get(BUCKET, &object_of(s3, guest, Some(arch))).unwrap();
    // Trailer, from the end: magic (8), source stamp (16), host version
    // (15), architecture (1), then the engine fingerprint (8).
    let fingerprint_at = code.len() - (8 + 16 + 15 + 1 + 8);
    for byte in &mut code[fingerprint_at..fingerprint_at + 8] {
        *byte ^= 0x5a;
    }
    let object = ObjectRef::of(&code);
    s3.put(
        BUCKET,
        &format!("team/objects/sha256/{}", object.sha256),
        &code,
    );
    let mut contents = current.contents.clone();
    let entry = contents
        .guests
        .iter_mut()
        .find(|g| g.name == guest)
        .unwrap();
    entry.cwasm.insert(arch.to_owned(), object);
    let release = ReleaseManifest::new(contents, Some(current.id.clone()));
    let bytes = release.to_bytes();
    s3.put(
        BUCKET,
        &format!("team/releases/{}.json", release.id),
        &bytes,
    );
    s3.put(
        BUCKET,
        "team/current",
        &Pointer::to(&release.id, &bytes, None).to_bytes(),
    );
    release.id
}

#[test]
fn publish_reuses_the_current_releases_compiled_code() {
    let s3 = s3();
    let keys = GuestFolder::new("rel-reuse-keys");
    for name in ["team", "other"] {
        let (ok, text) = host_command(&s3, &["keygen", keys.root().join(name).to_str().unwrap()]);
        assert!(ok, "{text}");
    }
    let team = keys.root().join("team.key");
    let other = keys.root().join("other.key");
    let source = two_guests("rel-reuse-source");
    let both = "x86_64, aarch64";

    // The first release compiles everything.
    let text = publish_output(&s3, &source, &[]);
    for guest in ["counter", "hello"] {
        assert_eq!(
            code_line(&text, guest),
            format!("compiled for {both} (new .wasm)")
        );
    }
    let first = current_manifest(&s3)["id"].as_str().unwrap().to_owned();
    let hello_x86 = object_of(&s3, "hello", Some("x86_64"));

    // Unchanged: every guest's code is reused, nothing compiled or uploaded.
    let text = publish_output(&s3, &source, &[]);
    assert!(text.contains("nothing changed"), "{text}");
    for guest in ["counter", "hello"] {
        assert_eq!(
            code_line(&text, guest),
            format!("reused from release {first} ({both})")
        );
    }
    assert!(!text.contains("compiled for"), "{text}");

    // One guest changed: only it is compiled; hello keeps its objects.
    std::fs::copy(
        wasm_lambda_tests::guest_wasm("http-router"),
        source.guests().join("counter.wasm"),
    )
    .unwrap();
    let text = publish_output(&s3, &source, &[]);
    assert_eq!(
        code_line(&text, "counter"),
        format!("compiled for {both} (new .wasm)")
    );
    assert_eq!(
        code_line(&text, "hello"),
        format!("reused from release {first} ({both})")
    );
    assert_eq!(object_of(&s3, "hello", Some("x86_64")), hello_x86);

    // Code made under another engine configuration is compiled again; the
    // other architecture's code is still reused.
    let patched_release = current_code_from_another_engine(&s3, "hello", "x86_64");
    let patched = object_of(&s3, "hello", Some("x86_64"));
    let text = publish_with_hello_timeout(&s3, &source, 900, &[]);
    let hello = code_line(&text, "hello");
    assert!(
        hello.starts_with(&format!(
            "reused from release {patched_release} (aarch64); compiled for x86_64 ("
        )) && hello.contains("another engine configuration"),
        "{text}"
    );
    assert_eq!(
        code_line(&text, "counter"),
        format!("reused from release {patched_release} ({both})")
    );
    let recompiled = object_of(&s3, "hello", Some("x86_64"));
    assert_ne!(recompiled, patched);

    // Signed: code is reused only from a release signed by the same key.
    let text = publish_with_hello_timeout(&s3, &source, 800, &["--sign", team.to_str().unwrap()]);
    for guest in ["counter", "hello"] {
        assert_eq!(
            code_line(&text, guest),
            format!("compiled for {both} (the current release is not signed)")
        );
    }
    let signed = current_manifest(&s3)["id"].as_str().unwrap().to_owned();
    let text = publish_with_hello_timeout(&s3, &source, 700, &["--sign", team.to_str().unwrap()]);
    assert_eq!(
        code_line(&text, "hello"),
        format!("reused from release {signed} ({both})")
    );
    let text = publish_with_hello_timeout(&s3, &source, 600, &["--sign", other.to_str().unwrap()]);
    assert_eq!(
        code_line(&text, "hello"),
        format!("compiled for {both} (the current release is signed by another key)")
    );

    // What was reused serves: a host starts from the last release.
    let cache = GuestFolder::new("rel-reuse-cache");
    let lambda = Lambda::start(&s3, &cache, &[]);
    assert_eq!(
        lambda.guest("hello", json!({"name": "reuse"}))["message"],
        "Hello, reuse!"
    );
}
