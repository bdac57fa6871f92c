//! The one table of every figure against its anchor (`host-bench summary`).
//!
//! Each part of the benchmark records its headline figures, each with the
//! anchor it measured in the same run and the target the issues set, to
//! `target/bench/summary-PART.json`; the model benchmark's figures come
//! from `target/bench/models.json`. `host-bench summary`, the last step of
//! `scripts/bench.sh`, prints them as one markdown table, which
//! BENCHMARKS.md reproduces. `scripts/bench.sh` clears `target/bench`
//! first, so a part that did not run shows as missing, never as a stale
//! figure.

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use wasm_lambda_tests::workspace_root;

/// The parts, in the order the table lists them (and `scripts/bench.sh`
/// runs them).
const PARTS: [&str; 11] = [
    "host",
    "link-order",
    "memory-bomb",
    "guests",
    "releases",
    "serving",
    "python",
    "js",
    "fanout",
    "outbound",
    "http",
];

/// What a figure has to meet.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Nothing set: reported for the record.
    None,
    /// `ours <= value` (same unit as the figure).
    AtMost(f64),
    /// `ours >= value` (same unit as the figure).
    AtLeast(f64),
    /// `ours / anchor <= value` (times, memory: lower is better).
    RatioAtMost(f64),
    /// `ours / anchor >= value` (throughput, speed-ups: higher is better).
    RatioAtLeast(f64),
}

impl Target {
    fn to_json(self) -> Value {
        match self {
            Target::None => Value::Null,
            Target::AtMost(v) => json!({"at_most": v}),
            Target::AtLeast(v) => json!({"at_least": v}),
            Target::RatioAtMost(v) => json!({"ratio_at_most": v}),
            Target::RatioAtLeast(v) => json!({"ratio_at_least": v}),
        }
    }

    fn from_json(value: &Value) -> Target {
        let get = |key: &str| value.get(key).and_then(Value::as_f64);
        if let Some(v) = get("at_most") {
            Target::AtMost(v)
        } else if let Some(v) = get("at_least") {
            Target::AtLeast(v)
        } else if let Some(v) = get("ratio_at_most") {
            Target::RatioAtMost(v)
        } else if let Some(v) = get("ratio_at_least") {
            Target::RatioAtLeast(v)
        } else {
            Target::None
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Line {
    /// What was measured.
    pub figure: String,
    /// Ours.
    pub ours: f64,
    /// The unit of `ours` and of the anchor.
    pub unit: String,
    /// The anchor measured in the same run: what it is, and its value.
    pub anchor: Option<(String, f64)>,
    /// What `ours` has to meet.
    pub target: Target,
}

impl Line {
    /// A figure with its anchor.
    pub fn against(
        figure: impl Into<String>,
        ours: f64,
        unit: &str,
        anchor: impl Into<String>,
        anchor_value: f64,
        target: Target,
    ) -> Line {
        Line {
            figure: figure.into(),
            ours,
            unit: unit.to_owned(),
            anchor: Some((anchor.into(), anchor_value)),
            target,
        }
    }

    /// A figure with no anchor (an absolute target, or none).
    pub fn alone(figure: impl Into<String>, ours: f64, unit: &str, target: Target) -> Line {
        Line {
            figure: figure.into(),
            ours,
            unit: unit.to_owned(),
            anchor: None,
            target,
        }
    }

    fn ratio(&self) -> Option<f64> {
        self.anchor
            .as_ref()
            .filter(|(_, anchor)| *anchor != 0.0)
            .map(|(_, anchor)| self.ours / anchor)
    }

    /// Whether the target is met (`None`: no target, or no anchor to
    /// compare with).
    fn met(&self) -> Option<bool> {
        match self.target {
            Target::None => None,
            Target::AtMost(v) => Some(self.ours <= v),
            Target::AtLeast(v) => Some(self.ours >= v),
            Target::RatioAtMost(v) => self.ratio().map(|r| r <= v),
            Target::RatioAtLeast(v) => self.ratio().map(|r| r >= v),
        }
    }

    fn to_json(&self) -> Value {
        json!({
            "figure": self.figure,
            "ours": self.ours,
            "unit": self.unit,
            "anchor": self.anchor.as_ref().map(|(name, value)| json!({"name": name, "value": value})),
            "target": self.target.to_json(),
        })
    }

    fn from_json(value: &Value) -> Option<Line> {
        Some(Line {
            figure: value.get("figure")?.as_str()?.to_owned(),
            ours: value.get("ours")?.as_f64()?,
            unit: value.get("unit")?.as_str()?.to_owned(),
            anchor: value.get("anchor").and_then(|anchor| {
                Some((
                    anchor.get("name")?.as_str()?.to_owned(),
                    anchor.get("value")?.as_f64()?,
                ))
            }),
            target: Target::from_json(value.get("target").unwrap_or(&Value::Null)),
        })
    }
}

/// "1 guest", "10 guests".
pub fn guests(count: usize) -> String {
    if count == 1 {
        "1 guest".to_owned()
    } else {
        format!("{count} guests")
    }
}

/// Saves a part's lines for the table.
///
/// # Errors
/// `target/bench` cannot be written.
pub fn record(part: &str, lines: &[Line]) -> Result<()> {
    debug_assert!(PARTS.contains(&part), "unknown part {part}");
    crate::report::save(
        &format!("summary-{part}"),
        &Value::Array(lines.iter().map(Line::to_json).collect()),
    )
}

/// Prints the table from what the parts recorded.
///
/// # Errors
/// A recorded file is unreadable or not what `record` wrote.
pub fn print() -> Result<()> {
    let dir = workspace_root().join("target").join("bench");
    println!("## Summary: every figure against its anchor, one run\n");
    println!("| part | figure | ours | anchor (same run) | ours / anchor | target | met |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    let mut missing = Vec::new();
    let (mut met, mut missed) = (0, 0);
    let mut print_part = |part: &str, lines: Vec<Line>| {
        for line in lines {
            match line.met() {
                Some(true) => met += 1,
                Some(false) => missed += 1,
                None => {}
            }
            print_line(part, &line);
        }
    };
    for part in PARTS {
        let path = dir.join(format!("summary-{part}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            missing.push(part.to_owned());
            continue;
        };
        let values: Vec<Value> =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        let lines = values
            .iter()
            .map(|v| Line::from_json(v).with_context(|| format!("a line of {}", path.display())))
            .collect::<Result<Vec<_>>>()?;
        print_part(part, lines);
    }
    match std::fs::read_to_string(dir.join("models.json")) {
        Ok(text) => print_part("models", model_lines(&serde_json::from_str(&text)?)?),
        Err(_) => missing.push("models".to_owned()),
    }
    println!("\n{met} targets met, {missed} missed.");
    if !missing.is_empty() {
        println!("Not run (no figures saved): {}.", missing.join(", "));
    }
    Ok(())
}

fn print_line(part: &str, line: &Line) {
    let value = |v: f64| format_value(v, &line.unit);
    let anchor = line.anchor.as_ref().map_or("-".to_owned(), |(name, v)| {
        format!("{} ({name})", value(*v))
    });
    let ratio = line.ratio().map_or("-".to_owned(), |r| format!("{r:.2}x"));
    let target = match line.target {
        Target::None => "-".to_owned(),
        Target::AtMost(v) => format!("<= {}", value(v)),
        Target::AtLeast(v) => format!(">= {}", value(v)),
        Target::RatioAtMost(v) => format!("<= {v:.2}x"),
        Target::RatioAtLeast(v) => format!(">= {v:.2}x"),
    };
    let met = match line.met() {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "-",
    };
    println!(
        "| {part} | {} | {} | {anchor} | {ratio} | {target} | {met} |",
        line.figure,
        value(line.ours)
    );
}

fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "rows/s" => format!("{value:.0} rows/s"),
        "x" => format!("{value:.1}x"),
        _ if value.abs() >= 100.0 => format!("{value:.0} {unit}"),
        _ => format!("{value:.2} {unit}"),
    }
}

/// Tree ensembles: the targets against onnxruntime's C API.
const TREE_MODELS: [&str; 4] = [
    "seed_forest",
    "large_forest",
    "forest_regressor",
    "boosting_multiclass",
];

/// The model table's lines: load, one row and a 1,024-row batch of each
/// model, ours against onnxruntime's C API (the Python binding's figures
/// stay in the model table, where the C API is the anchor that counts).
fn model_lines(models: &Value) -> Result<Vec<Line>> {
    let ours = models
        .get("ours")
        .and_then(Value::as_object)
        .context("models.json: no \"ours\"")?;
    let anchor = models
        .get("onnxruntime C API")
        .context("models.json: no \"onnxruntime C API\"")?;
    let mut lines = Vec::new();
    for (name, figures) in ours {
        let (load, one_row, batch) = if TREE_MODELS.contains(&name.as_str()) {
            (
                Target::RatioAtMost(1.0),
                Target::RatioAtMost(1.0),
                Target::RatioAtLeast(1.0),
            )
        } else if name == "mlp" {
            (
                Target::None,
                Target::RatioAtMost(1.0),
                Target::RatioAtLeast(0.5),
            )
        } else {
            (Target::None, Target::None, Target::None)
        };
        for (figure, key, unit, target) in [
            ("load", "load_ms", "ms", load),
            ("1 row p50", "single_row_p50_us", "us", one_row),
            ("1,024-row batch", "batch_rows_per_s", "rows/s", batch),
        ] {
            let value = |set: &Value| {
                set.get(key)
                    .and_then(Value::as_f64)
                    .with_context(|| format!("models.json: no {key} for {name}"))
            };
            lines.push(Line::against(
                format!("{name}: {figure}"),
                value(figures)?,
                unit,
                "onnxruntime C API",
                value(anchor.get(name).unwrap_or(&Value::Null))?,
                target,
            ));
        }
    }
    Ok(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_survive_the_file_and_judge_their_target() {
        let line = Line::against("init", 6.0, "ms", "echo", 2.0, Target::RatioAtMost(2.0));
        let back = Line::from_json(&line.to_json()).unwrap();
        assert_eq!(back.met(), Some(false));
        assert_eq!(back.ratio(), Some(3.0));
        let throughput = Line::against(
            "batch",
            600.0,
            "rows/s",
            "C",
            1000.0,
            Target::RatioAtLeast(0.5),
        );
        assert_eq!(
            Line::from_json(&throughput.to_json()).unwrap().met(),
            Some(true)
        );
        let absolute = Line::alone("p99", 9.0, "ms", Target::AtMost(50.0));
        assert_eq!(
            Line::from_json(&absolute.to_json()).unwrap().met(),
            Some(true)
        );
        assert_eq!(Line::alone("peak", 9.0, "MB", Target::None).met(), None);
    }
}
