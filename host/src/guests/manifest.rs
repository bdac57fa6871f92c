//! `guests.toml`: per-guest settings and routes.
//!
//! ```toml
//! [guests.orders]
//! file = "orders-v2.wasm"        # default: NAME.wasm
//! sha256 = "9f86d0..."           # optional pin, checked before compiling
//! instance = "fresh"             # "reuse" (default) or "fresh"
//! eager = true                   # instantiate at init whatever the memory budget (unset: within it)
//! memory_limit_mb = 64           # linear memory limit (default 128)
//! timeout_ms = 3000              # per-call limit, on top of Lambda's deadline
//! model_memory_mb = 64           # inputs, and outputs, of one model call (default 64)
//! log_limit_kb = 1024            # output printed per invocation (default 1024)
//! models = ["forest"]            # models this guest may use (default: all)
//! outbound = ["https://api.example.com", "http://127.0.0.1:8080"]  # HTTP destinations (default: none)
//! aws = ["dynamodb"]             # AWS services the host signs requests to (default: none)
//! outbound_response_limit_mb = 16  # response bytes per outbound request (default 16)
//! outbound_concurrency = 16      # outbound requests in flight at once (default 16)
//! routes = [{ http = "/api/orders/*" }, { sqs = "arn:aws:sqs:*:*:orders" }]
//!
//! [guests.orders.config]
//! table = "orders"
//! ```

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::outbound::OutboundSettings;
use crate::outbound::allow_list::AllowRule;
use crate::outbound::aws_grants::AwsGrants;
use crate::sources::names::{validate_file_name, validate_name};
use crate::sources::pin::is_pin;

/// The parsed manifest.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Guests by name.
    #[serde(default)]
    pub guests: BTreeMap<String, GuestSpec>,
}

/// One guest's settings.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuestSpec {
    /// The `.wasm` file in the guests folder (default `NAME.wasm`).
    pub file: Option<String>,
    /// Expected sha256 of the `.wasm`, lowercase hex.
    pub sha256: Option<String>,
    /// Keep one instance across events, or make one per event.
    #[serde(default)]
    pub instance: InstanceMode,
    /// Instantiated (and `init` run) at init: `true` always, `false`
    /// never (on its first event instead), unset while the init memory
    /// budget lasts (see [`crate::wasm_host::eager`]).
    pub eager: Option<bool>,
    /// Linear-memory limit in MB.
    pub memory_limit_mb: Option<u64>,
    /// Per-call time limit in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Host memory one model call may use, in MB: its inputs' bytes, and
    /// its outputs' bytes, are each checked against it.
    pub model_memory_mb: Option<u64>,
    /// What the guest may print (stdout, stderr, `log`) per invocation, in KiB.
    pub log_limit_kb: Option<u64>,
    /// Models the guest may use; `None` means every model.
    pub models: Option<Vec<String>>,
    /// Destinations the guest may send HTTP requests to
    /// (`scheme://host[:port]`, see [`crate::outbound::allow_list`]).
    #[serde(default)]
    pub outbound: Vec<String>,
    /// AWS services whose requests the host signs for the guest.
    #[serde(default)]
    pub aws: Vec<String>,
    /// Response bytes one outbound request may bring in, in MB.
    pub outbound_response_limit_mb: Option<u64>,
    /// Outbound requests the guest may have in flight at once.
    pub outbound_concurrency: Option<u32>,
    /// Events this guest receives.
    #[serde(default)]
    pub routes: Vec<RouteRule>,
    /// Key/values the guest reads with `config(key)`.
    #[serde(default)]
    pub config: BTreeMap<String, toml::Value>,
}

/// Whether a guest's instance lives across events.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceMode {
    /// One instance, kept warm across events (like a Lambda environment).
    #[default]
    Reuse,
    /// A new instance for every event, from the pre-instantiated template.
    Fresh,
}

/// One routing rule: which events of one source reach the guest. Patterns
/// may use `*` for any run of characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum RouteRule {
    /// HTTP path (API Gateway v1/v2, Function URL, ALB), e.g. `/api/orders/*`.
    Http(String),
    /// SQS queue ARN.
    Sqs(String),
    /// SNS topic ARN.
    Sns(String),
    /// S3 bucket name.
    S3(String),
    /// DynamoDB stream ARN.
    Dynamodb(String),
    /// Kinesis stream ARN.
    Kinesis(String),
    /// EventBridge `source`, or a rule ARN in `resources` (scheduled events).
    Eventbridge(String),
}

impl Manifest {
    /// Parses and validates manifest text.
    ///
    /// # Errors
    /// TOML errors, unknown keys, bad guest names or file names, malformed
    /// sha256 pins.
    pub fn parse(text: &str) -> Result<Self> {
        let manifest: Manifest =
            toml::from_str(text).context("guests.toml is not a valid manifest")?;
        for (name, spec) in &manifest.guests {
            validate_name(name).with_context(|| format!("guests.toml: guest `{name}`"))?;
            if let Some(file) = &spec.file {
                validate_file_name(file)
                    .with_context(|| format!("guests.toml: guest `{name}`: file"))?;
            }
            if let Some(pin) = &spec.sha256
                && !is_pin(pin)
            {
                bail!("guests.toml: guest `{name}`: sha256 must be 64 hex digits");
            }
            if [
                spec.memory_limit_mb,
                spec.timeout_ms,
                spec.model_memory_mb,
                spec.outbound_response_limit_mb,
                spec.outbound_concurrency.map(u64::from),
            ]
            .contains(&Some(0))
            {
                bail!("guests.toml: guest `{name}`: limits must be positive");
            }
            for entry in &spec.outbound {
                AllowRule::parse(entry)
                    .with_context(|| format!("guests.toml: guest `{name}`: outbound"))?;
            }
            AwsGrants::validate(&spec.aws)
                .with_context(|| format!("guests.toml: guest `{name}`: aws"))?;
        }
        Ok(manifest)
    }
}

impl GuestSpec {
    /// The outbound part of the settings.
    pub fn outbound_settings(&self) -> OutboundSettings {
        OutboundSettings {
            allow: self.outbound.clone(),
            aws: self.aws.clone(),
            response_limit_mb: self.outbound_response_limit_mb,
            concurrency: self.outbound_concurrency,
        }
    }

    /// The config table as strings (non-string TOML values in TOML syntax).
    pub fn config_strings(&self) -> BTreeMap<String, String> {
        self.config
            .iter()
            .map(|(k, v)| {
                let value = match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest_parses() {
        let m = Manifest::parse(
            r#"
            [guests.orders]
            file = "orders-v2.wasm"
            sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
            instance = "fresh"
            memory_limit_mb = 64
            timeout_ms = 3000
            models = ["forest"]
            routes = [{ http = "/api/orders/*" }, { sqs = "arn:aws:sqs:*:*:orders" }, { eventbridge = "com.shop" }]
            [guests.orders.config]
            table = "orders"
            retries = 3
            [guests.hello]
            "#,
        )
        .unwrap();
        let orders = &m.guests["orders"];
        assert_eq!(orders.file.as_deref(), Some("orders-v2.wasm"));
        assert_eq!(orders.instance, InstanceMode::Fresh);
        assert_eq!(orders.memory_limit_mb, Some(64));
        assert_eq!(orders.timeout_ms, Some(3000));
        assert_eq!(orders.models.as_deref(), Some(&["forest".to_string()][..]));
        assert_eq!(
            orders.routes,
            vec![
                RouteRule::Http("/api/orders/*".into()),
                RouteRule::Sqs("arn:aws:sqs:*:*:orders".into()),
                RouteRule::Eventbridge("com.shop".into())
            ]
        );
        let config = orders.config_strings();
        assert_eq!(config["table"], "orders");
        assert_eq!(config["retries"], "3");
        assert_eq!(m.guests["hello"].instance, InstanceMode::Reuse);
        assert!(m.guests["hello"].routes.is_empty());
    }

    #[test]
    fn outbound_entries_are_checked_at_parse() {
        let ok = Manifest::parse(
            "[guests.a]\noutbound = [\"https://*.example.com\", \"http://127.0.0.1:8080\"]\naws = [\"dynamodb\"]\noutbound_concurrency = 4\n",
        )
        .unwrap();
        assert_eq!(ok.guests["a"].outbound_settings().concurrency, Some(4));
        let error = Manifest::parse("[guests.a]\noutbound = [\"example.com\"]\n").unwrap_err();
        assert!(
            format!("{error:#}").contains("guest `a`: outbound"),
            "{error:#}"
        );
        let error = Manifest::parse("[guests.a]\naws = [\"DynamoDB\"]\n").unwrap_err();
        assert!(
            format!("{error:#}").contains("not an AWS service name"),
            "{error:#}"
        );
        assert!(Manifest::parse("[guests.a]\noutbound_concurrency = 0\n").is_err());
    }

    #[test]
    fn empty_manifest_is_fine() {
        assert!(Manifest::parse("").unwrap().guests.is_empty());
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = Manifest::parse("[guests.a]\ntimeout = 3\n").unwrap_err();
        assert!(
            format!("{err:#}").contains("unknown field `timeout`"),
            "{err:#}"
        );
        assert!(Manifest::parse("[guest.a]\n").is_err());
        assert!(Manifest::parse("[guests.a]\nroutes = [{ ftp = \"x\" }]\n").is_err());
    }

    #[test]
    fn bad_values_are_rejected() {
        assert!(Manifest::parse("[guests.a]\ninstance = \"sometimes\"\n").is_err());
        assert!(Manifest::parse("[guests.a]\nsha256 = \"abc\"\n").is_err());
        assert!(Manifest::parse("[guests.a]\nmemory_limit_mb = 0\n").is_err());
        assert!(
            Manifest::parse("[guests.a]\nroutes = [{ http = \"/a\", sqs = \"b\" }]\n").is_err()
        );
        assert!(Manifest::parse("not toml at all [").is_err());
    }

    #[test]
    fn path_tricks_are_rejected() {
        for file in ["../x.wasm", "a/b.wasm", "..", ".hidden.wasm", "/etc/passwd"] {
            let text = format!("[guests.a]\nfile = {file:?}\n");
            assert!(Manifest::parse(&text).is_err(), "{file:?} accepted");
        }
        assert!(Manifest::parse("[guests.\"../up\"]\n").is_err());
    }
}
