//! CloudWatch metrics in the Embedded Metric Format: one line at init and
//! one per invocation, on stdout, which Lambda sends to CloudWatch Logs,
//! where the `_aws` key turns the line into metrics with no API call.
//! See <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>.
//!
//! A small module rather than `metrics_cloudwatch_embedded`: that crate
//! aggregates a process-wide `metrics` recorder and flushes it per Lambda
//! invocation, which merges the values of invocations running at once on
//! Lambda Managed Instances; here each line carries exactly one
//! invocation's values, with its guest as a dimension.
//!
//! Namespace `WASM_LAMBDA_METRICS_NAMESPACE` (default `WasmLambda`);
//! `WASM_LAMBDA_METRICS=off` turns the lines off.

use std::io::Write as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::{SerializeMap as _, Serializer};

use crate::wasm_host::dispatch::EventReport;
use crate::wasm_host::init::InitReport;

/// Namespace when `WASM_LAMBDA_METRICS_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "WasmLambda";

/// One metric value and its CloudWatch unit.
#[derive(Debug, Clone, Copy)]
struct Metric {
    name: &'static str,
    value: f64,
    unit: &'static str,
}

/// How `_aws` declares a metric.
#[derive(Serialize)]
struct Declared {
    #[serde(rename = "Name")]
    name: &'static str,
    #[serde(rename = "Unit")]
    unit: &'static str,
}

const fn metric(name: &'static str, value: f64, unit: &'static str) -> Metric {
    Metric { name, value, unit }
}

/// Metrics declared under one set of dimensions.
struct Directive {
    dimensions: &'static [&'static str],
    metrics: Vec<Metric>,
}

/// Where and whether metric lines are written.
#[derive(Debug, Clone)]
pub struct Metrics {
    namespace: String,
    function: String,
    enabled: bool,
}

impl Metrics {
    /// From the environment, for `function`.
    pub fn from_env(function: &str) -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            namespace: var("WASM_LAMBDA_METRICS_NAMESPACE")
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            function: function.to_owned(),
            enabled: !var("WASM_LAMBDA_METRICS")
                .is_some_and(|v| matches!(v.trim(), "off" | "0" | "false" | "no")),
        }
    }

    /// Writes the init line.
    pub fn init(&self, report: &InitReport) {
        if self.enabled {
            emit(self.init_text(report));
        }
    }

    /// Writes one invocation's line.
    pub fn invocation(&self, request_id: &str, report: &EventReport, error_type: Option<&str>) {
        if self.enabled {
            emit(self.invocation_text(request_id, report, error_type));
        }
    }

    /// The init line: how long init took and what loaded.
    fn init_text(&self, report: &InitReport) -> String {
        let loaded = |ok: usize, all: usize| (ok as f64, (all - ok) as f64);
        let guests_ok = report.guests.iter().filter(|g| g.outcome.is_ok()).count();
        let models_ok = report.models.iter().filter(|m| m.outcome.is_ok()).count();
        let (guests_loaded, guests_failed) = loaded(guests_ok, report.guests.len());
        let (models_loaded, models_failed) = loaded(models_ok, report.models.len());
        let metrics = vec![
            metric("InitDuration", ms(report.elapsed), "Milliseconds"),
            metric("GuestsLoaded", guests_loaded, "Count"),
            metric("GuestsFailed", guests_failed, "Count"),
            metric("ModelsLoaded", models_loaded, "Count"),
            metric("ModelsFailed", models_failed, "Count"),
        ];
        self.line(
            &[("function", &self.function)],
            &[Directive {
                dimensions: &["function"],
                metrics,
            }],
        )
    }

    /// One invocation's line: duration, cold start, model time, guest
    /// output, warmer pings, and errors (also by `errorType`).
    fn invocation_text(
        &self,
        request_id: &str,
        report: &EventReport,
        error_type: Option<&str>,
    ) -> String {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let mut fields: Vec<(&str, &str)> = Vec::with_capacity(5);
        fields.push(("function", &self.function));
        fields.push(("requestId", request_id));
        if let Some(trace_id) = &report.trace_id {
            // A property, not a dimension: CloudWatch links it to X-Ray.
            fields.push(("traceId", trace_id));
        }
        let common = [
            metric("Duration", ms(report.duration), "Milliseconds"),
            metric("ColdStart", flag(report.cold_start), "Count"),
            metric("Errors", flag(error_type.is_some()), "Count"),
        ];
        let mut directives = Vec::new();
        if let Some(guest) = &report.guest {
            fields.push(("guest", guest));
            let mut metrics = common.to_vec();
            metrics.extend([
                metric("InstanceColdStart", flag(report.cold_instance), "Count"),
                metric("ModelTime", ms(report.model_time), "Milliseconds"),
                metric("GuestOutputBytes", report.output.printed as f64, "Bytes"),
                metric(
                    "GuestOutputDropped",
                    report.output.dropped_bytes as f64,
                    "Bytes",
                ),
            ]);
            if report.outbound.calls > 0 {
                // Only for guests that called out: most never do.
                metrics.extend([
                    metric("OutboundCalls", report.outbound.calls as f64, "Count"),
                    metric("OutboundFailed", report.outbound.failed as f64, "Count"),
                    metric(
                        "OutboundNewConnections",
                        report.outbound.new_connections as f64,
                        "Count",
                    ),
                    metric("OutboundTime", ms(report.outbound.time), "Milliseconds"),
                ]);
            }
            directives.push(Directive {
                dimensions: &["function", "guest"],
                metrics,
            });
        } else {
            let mut metrics = common.to_vec();
            metrics.push(metric("WarmerPings", flag(report.warmer), "Count"));
            if let Some(fanout) = &report.fanout {
                // Per ping: how many environments the fan-out reached, and
                // how many of them were cold (seed 003 counted log streams).
                metrics.push(metric(
                    "WarmedEnvironments",
                    fanout.environments as f64,
                    "Count",
                ));
                metrics.push(metric("ColdEnvironments", fanout.cold as f64, "Count"));
            }
            directives.push(Directive {
                dimensions: &["function"],
                metrics,
            });
        }
        if let Some(error_type) = error_type {
            fields.push(("errorType", error_type));
            directives.push(Directive {
                dimensions: &["function", "errorType"],
                metrics: vec![metric("Errors", 1.0, "Count")],
            });
        }
        self.line(&fields, &directives)
    }

    /// An EMF object as one line of text: `fields` (dimension values and
    /// properties), each directive's metric values, and the `_aws` metadata
    /// naming them. Serialized straight from these borrowed parts: building
    /// a `serde_json::Value` first was ~8% of the host's CPU per invocation
    /// (a profile through the emulator, BENCHMARKS.md "Serving path").
    fn line(&self, fields: &[(&str, &str)], directives: &[Directive]) -> String {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let line = Line {
            fields,
            directives,
            namespace: &self.namespace,
            timestamp,
        };
        // Fails only if a Serialize impl does, and these cannot.
        let mut text = serde_json::to_string(&line).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// The parts of one EMF line, serialized as one JSON object.
struct Line<'a> {
    fields: &'a [(&'a str, &'a str)],
    directives: &'a [Directive],
    namespace: &'a str,
    timestamp: u64,
}

impl Serialize for Line<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_map(None)?;
        for (name, value) in self.fields {
            object.serialize_entry(name, value)?;
        }
        // A metric in two directives (`Errors`) has one value.
        let mut written: Vec<&str> = Vec::with_capacity(16);
        for metric in self.directives.iter().flat_map(|d| &d.metrics) {
            if !written.contains(&metric.name) {
                written.push(metric.name);
                object.serialize_entry(metric.name, &metric.value)?;
            }
        }
        object.serialize_entry("_aws", &Aws(self))?;
        object.end()
    }
}

/// `_aws`: the timestamp and each directive's declaration.
struct Aws<'a>(&'a Line<'a>);

impl Serialize for Aws<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let line = self.0;
        let mut object = serializer.serialize_map(Some(2))?;
        object.serialize_entry("Timestamp", &line.timestamp)?;
        let declared: Vec<_> = line
            .directives
            .iter()
            .map(|directive| Declaration {
                namespace: line.namespace,
                dimensions: [directive.dimensions],
                metrics: directive
                    .metrics
                    .iter()
                    .map(|m| Declared {
                        name: m.name,
                        unit: m.unit,
                    })
                    .collect(),
            })
            .collect();
        object.serialize_entry("CloudWatchMetrics", &declared)?;
        object.end()
    }
}

/// One directive as `_aws.CloudWatchMetrics` lists it.
#[derive(Serialize)]
struct Declaration<'a> {
    #[serde(rename = "Namespace")]
    namespace: &'a str,
    #[serde(rename = "Dimensions")]
    dimensions: [&'static [&'static str]; 1],
    #[serde(rename = "Metrics")]
    metrics: Vec<Declared>,
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// One line, in one write, so lines from concurrent invocations never mix.
fn emit(text: String) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn metrics(function: &str) -> Metrics {
        Metrics {
            namespace: "N".into(),
            function: function.into(),
            enabled: true,
        }
    }

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn an_error_adds_an_error_type_directive() {
        let metrics = metrics("f");
        let report = EventReport {
            guest: Some("g".into()),
            duration: Duration::from_millis(3),
            ..EventReport::default()
        };
        let text = metrics.invocation_text("r", &report, Some("GuestTimeout"));
        let line = parsed(&text);
        assert_eq!(line["guest"], "g");
        assert_eq!(line["Errors"], 1.0);
        assert_eq!(line["Duration"], 3.0);
        let declared = line["_aws"]["CloudWatchMetrics"].as_array().unwrap();
        assert_eq!(declared.len(), 2);
        assert_eq!(declared[0]["Dimensions"], json!([["function", "guest"]]));
        assert_eq!(
            declared[1]["Dimensions"],
            json!([["function", "errorType"]])
        );
        // Every declared metric has its value at the top level.
        for directive in declared {
            for metric in directive["Metrics"].as_array().unwrap() {
                assert!(line[metric["Name"].as_str().unwrap()].is_number());
            }
        }
        // One line, and a metric in two directives has one value in it.
        assert_eq!(text.lines().count(), 1, "{text}");
        assert!(text.ends_with('\n'));
        assert_eq!(text.matches("\"Errors\":").count(), 1, "{text}");
    }

    #[test]
    fn an_init_line_declares_what_it_carries() {
        let metrics = metrics("f \"quoted\"");
        let report = InitReport {
            guests: Vec::new(),
            models: Vec::new(),
            elapsed: Duration::from_millis(7),
            release: None,
            deferred: Default::default(),
            eager_budget: crate::wasm_host::eager::EagerBudget::UNLIMITED,
            phases: Default::default(),
        };
        let line = parsed(&metrics.init_text(&report));
        assert_eq!(line["InitDuration"], 7.0);
        assert_eq!(line["function"], "f \"quoted\"");
        assert_eq!(line["GuestsLoaded"], 0.0);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "N");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0],
            json!({"Name": "InitDuration", "Unit": "Milliseconds"})
        );
        assert!(line["_aws"]["Timestamp"].as_u64().unwrap() > 1_700_000_000_000);
    }
}
