//! Property tests (proptest) over the host's input entry points: event
//! routing, manifest parsing, route patterns, the whole dispatch path, and
//! model loading (mutated and truncated ONNX files, `models.toml`).
//! They stand in for cargo-fuzz (which needs nightly); `PROPTEST_CASES`
//! raises the number of cases for a longer run (docs/development.md).

use std::time::{Duration, SystemTime};

use proptest::prelude::*;
use serde_json::Value;
use wasm_lambda_host::guests::manifest::{Manifest, RouteRule};
use wasm_lambda_host::models::manifest::ModelManifest;
use wasm_lambda_host::models::onnx_model::OnnxModel;
use wasm_lambda_host::routing::pattern::Pattern;
use wasm_lambda_host::routing::router::{Decision, RouteError, Router};
use wasm_lambda_host::routing::warmer;
use wasm_lambda_host::runtime::invocation::Invocation;
use wasm_lambda_host::runtime::settings::Settings;
use wasm_lambda_host::tract_prelude::{DatumType, Tensor};
use wasm_lambda_host::wasm_host::WasmHost;
use wasm_lambda_tests::{GuestFolder, model_file};

/// `PROPTEST_CASES` when set (a longer run), else the property's own count.
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Arbitrary JSON, biased toward the keys the router looks at.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("warmer".to_owned()),
        Just("guest".to_owned()),
        Just("event".to_owned()),
        Just("source".to_owned()),
        Just("Records".to_owned()),
        Just("eventSource".to_owned()),
        Just("eventSourceARN".to_owned()),
        Just("requestContext".to_owned()),
        Just("http".to_owned()),
        Just("rawPath".to_owned()),
        Just("httpMethod".to_owned()),
        Just("path".to_owned()),
        Just("version".to_owned()),
        Just("detail-type".to_owned()),
        Just("__WARMER_INVOCATION__".to_owned()),
        Just("__WARMER_CONCURRENCY__".to_owned()),
        "[a-zA-Z_]{0,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("2.0".to_owned()),
            Just("aws:sqs".to_owned()),
            Just("/hello/x".to_owned()),
            ".{0,12}"
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn router() -> Router {
    let rules = [
        RouteRule::Http("/api/*".into()),
        RouteRule::Sqs("arn:aws:sqs:*".into()),
    ];
    let none: [RouteRule; 0] = [];
    Router::new([("api", &rules[..]), ("hello", &none[..])], None)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(2_000)))]

    #[test]
    fn routing_never_panics_and_is_consistent(event in json_value()) {
        let router = router();
        match router.route(&event) {
            Ok(Decision::Warmer(_)) => prop_assert!(warmer::detect(&event).is_some()),
            Ok(Decision::Guest { guest, .. }) => {
                prop_assert!(warmer::detect(&event).is_none());
                prop_assert!(guest == "api" || guest == "hello");
            }
            Err(RouteError::NoRoute(message)) => prop_assert!(message.contains("api, hello")),
            Err(RouteError::BadEvent(message)) => prop_assert!(!message.is_empty()),
        }
    }

    #[test]
    fn manifest_parsing_never_panics(text in "(\\[guests(\\.[a-z./-]{0,6})?\\]\n|[a-z_]{1,16} = (\"[^\"\n]{0,10}\"|[0-9]{1,4}|\\[\\]|\\{ http = \"/x\" \\})\n|.{0,20}\n){0,8}") {
        if let Ok(manifest) = Manifest::parse(&text) {
            for name in manifest.guests.keys() {
                prop_assert!(wasm_lambda_host::sources::names::validate_name(name).is_ok());
            }
        }
    }

    #[test]
    fn literal_and_prefix_patterns(literal in "[^*]{0,16}", rest in ".{0,16}") {
        prop_assert!(Pattern::new(&literal).matches(&literal));
        let with_rest = format!("{literal}{rest}");
        let prefix = Pattern::new(&(literal.clone() + "*"));
        prop_assert!(prefix.matches(&with_rest));
        prop_assert_eq!(Pattern::new(&literal).matches(&with_rest), rest.is_empty());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(300)))]

    /// The whole path, with a real guest: arbitrary bytes and arbitrary JSON
    /// get an answer or a documented error, never a panic.
    #[test]
    fn dispatch_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64), event in json_value()) {
        let host = shared_host();
        let invocation = Invocation {
            request_id: "prop".into(),
            deadline: SystemTime::now() + Duration::from_secs(30),
            invoked_function_arn: String::new(),
            caller: Default::default(),
        };
        for payload in [bytes, event.to_string().into_bytes()] {
            if let Err(error) = host.dispatch(&payload, &invocation) {
                prop_assert!(
                    ["BadEvent", "NoRoute", "GuestError"].contains(&error.error_type()),
                    "unexpected {}: {}", error.error_type(), error
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases(200)))]

    /// A damaged model file (bytes flipped, cut short, or with junk spliced
    /// in) is refused with an error or loads and runs; never a panic that
    /// escapes, never an abort.
    #[test]
    fn damaged_onnx_files_never_take_the_host_down(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
        junk in prop::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut bytes = seed_model_bytes().to_vec();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        let at = cut.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes.splice(at..at, junk);
        }
        if let Ok(model) = OnnxModel::load(&bytes, &Default::default()) {
            let inputs: Vec<(String, Tensor)> = model
                .inputs
                .iter()
                .filter(|s| s.datum_type == DatumType::F32)
                .map(|s| (s.name.clone(), Tensor::from_shape(&[1, 4], &[0f32, 1.0, -1.0, 0.5]).unwrap()))
                .collect();
            let _ = model.run(inputs);
        }
    }

    #[test]
    fn models_toml_parsing_never_panics(text in "(\\[models(\\.[a-z./-]{0,6})?(\\.inputs)?\\]\n|[a-z_]{1,10} = (\"[^\"\n]{0,10}\"|[0-9]{1,4}|\\[\"N\", 4\\]|\\[\\])\n|.{0,20}\n){0,8}") {
        let _ = ModelManifest::parse(&text);
    }
}

fn seed_model_bytes() -> &'static [u8] {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BYTES.get_or_init(|| std::fs::read(model_file("seed_forest")).unwrap())
}

fn shared_host() -> &'static WasmHost {
    static HOST: std::sync::OnceLock<(WasmHost, GuestFolder)> = std::sync::OnceLock::new();
    &HOST
        .get_or_init(|| {
            let folder = GuestFolder::new("props")
                .with_guest("hello", "hello")
                .with_guest("api", "counter");
            let settings = Settings::new(folder.guests(), folder.models(), folder.cache());
            let (host, _) = WasmHost::init(settings).expect("init");
            (host, folder)
        })
        .0
}
