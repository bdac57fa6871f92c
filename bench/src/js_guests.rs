//! `host-bench js`: JavaScript guests (the JS SDK's `classifier-js`, seed
//! 004's `app.py` ported to TypeScript) against the Node.js way, in the
//! same run, and the two JavaScript engines against each other.
//!
//! 1. Build: `wasm-lambda build` of the example (esbuild + componentize-js),
//!    and `precompile` of it.
//! 2. Cold start to the first answer of seed 004's request, whole
//!    processes, alternating: `wasm-lambda-host invoke classifier-js` (its
//!    `.cwasm`), the Rust `classifier`, and a Node process that imports
//!    onnxruntime-node, creates a session for the same ONNX file and
//!    predicts (`bench/node-anchor/seed004.mjs`, what a Node Lambda
//!    handler does at cold start). Goal: >= 20x faster than Node.
//! 3. Warm call p50 in process (the Lambda loop's path): the JS, Python
//!    and Rust guests on the same host and request.
//! 4. Engines: `bench/js-engines/seed004.js` (the bare contract, no SDK)
//!    built by StarlingMonkey (componentize-js) and by QuickJS (jco's
//!    quickjs backend): size, build time, cold start, warm p50.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use wasm_lambda_tests::{GuestFolder, model_file, workspace_root};

use crate::python_guests::{Run, invoke_command, run};
use crate::summary::{Line, Target};
use crate::warm_samples::{WARM_CALLS, warm_samples};
use crate::{beside_this_binary, median, precompile, print_row};

const COLD_RUNS: usize = 11;
const SEED_REQUEST: &str = r#"{"data": [0, 0, 0, 0]}"#;

pub fn bench() -> Result<()> {
    let host = beside_this_binary("wasm-lambda-host")?;
    let root = workspace_root();
    let sdk_modules = root.join("guest-sdk/js/node_modules");
    let anchor = root.join("bench/node-anchor");
    ensure!(
        sdk_modules.exists() && anchor.join("node_modules").exists(),
        "run scripts/setup.sh and `npm ci --ignore-scripts` in bench/node-anchor (scripts/bench.sh does)"
    );
    let folder = GuestFolder::new("bench-js")
        .with_guest("classifier-py", "classifier-py")
        .with_guest("classifier", "classifier")
        .with_model("seed_forest", "seed_forest");

    // 1. Build and precompile.
    let started = Instant::now();
    let built = Command::new("node")
        .arg(root.join("guest-sdk/js/bin/wasm-lambda.js"))
        .args(["build", "app.ts", "--quiet", "-o"])
        .arg(folder.guests().join("classifier-js.wasm"))
        .current_dir(root.join("examples/classifier-js"))
        .status()?;
    ensure!(built.success(), "wasm-lambda build failed");
    let build_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    precompile(&host, &folder)?;
    let precompile_s = started.elapsed().as_secs_f64();
    let size = |file: &str| -> Result<f64> {
        Ok(std::fs::metadata(folder.guests().join(file))
            .with_context(|| file.to_owned())?
            .len() as f64
            / 1e6)
    };
    println!("## building `examples/classifier-js`\n");
    println!("| step | s | output MB |");
    println!("| --- | --- | --- |");
    println!(
        "| `wasm-lambda build app.ts` (esbuild + componentize-js) | {build_s:.1} | {:.1} |",
        size("classifier-js.wasm")?
    );
    println!(
        "| `precompile` of the three guests (x86_64) | {precompile_s:.1} | {:.1} (JS `.cwasm`) |\n",
        size("classifier-js.cwasm")?
    );

    let event = folder.root().join("event.json");
    std::fs::write(&event, SEED_REQUEST)?;
    let mut lines = cold_starts(&host, &folder, &anchor, &event)?;
    lines.push(warm_calls(&folder)?);
    engines(&host, &root, &event)?;
    crate::summary::record("js", &lines)
}

/// Median wall time and peak RSS of `runs`, checked to answer class 1.
fn summarise(runs: &[Run]) -> Result<(f64, f64, f64)> {
    for r in runs {
        let answer: serde_json::Value = serde_json::from_str(r.stdout.trim())
            .with_context(|| format!("unexpected answer: {}", r.stdout))?;
        ensure!(
            answer["statusCode"] == 200 && answer["body"] == 1,
            "unexpected answer: {}",
            r.stdout
        );
    }
    let ms: Vec<f64> = runs.iter().map(|r| r.ms).collect();
    let rss: Vec<f64> = runs.iter().map(|r| r.peak_rss_mb).collect();
    let min = ms.iter().copied().fold(f64::INFINITY, f64::min);
    Ok((median(&ms), min, median(&rss)))
}

/// A deployment of `guest` alone (its `.wasm` from `folder`, precompiled
/// there: a copied `.cwasm` would not match the copy's mtime, and init
/// would read and hash the `.wasm` to trust it) with seed 004's model: what
/// a function serving only it would hold.
fn alone(host: &Path, folder: &GuestFolder, guest: &str) -> Result<GuestFolder> {
    let single = GuestFolder::new(&format!("bench-js-alone-{guest}"))
        .with_model("seed_forest", "seed_forest");
    let file = format!("{guest}.wasm");
    std::fs::copy(folder.guests().join(&file), single.guests().join(&file))
        .with_context(|| file.clone())?;
    precompile(host, &single)?;
    Ok(single)
}

fn cold_starts(
    host: &Path,
    folder: &GuestFolder,
    anchor: &Path,
    event: &Path,
) -> Result<Vec<Line>> {
    let node = || {
        let mut command = Command::new("node");
        command
            .arg(anchor.join("seed004.mjs"))
            .arg(model_file("seed_forest"))
            .arg(event);
        command
    };
    // Each guest deployed alone, as the Node function holds only its code.
    let js_folder = alone(host, folder, "classifier-js")?;
    let rust_folder = alone(host, folder, "classifier")?;
    let (mut js, mut rust, mut nodes) = (Vec::new(), Vec::new(), Vec::new());
    // One untimed run each fills the page cache, as a warm disk would.
    run(&mut invoke_command(
        host,
        &js_folder,
        "classifier-js",
        event,
    ))?;
    run(&mut invoke_command(host, &rust_folder, "classifier", event))?;
    run(&mut node())?;
    for _ in 0..COLD_RUNS {
        js.push(run(&mut invoke_command(
            host,
            &js_folder,
            "classifier-js",
            event,
        ))?);
        rust.push(run(&mut invoke_command(
            host,
            &rust_folder,
            "classifier",
            event,
        ))?);
        nodes.push(run(&mut node())?);
    }
    println!(
        "## cold start to the first answer of seed 004's request, whole processes, each guest deployed alone (median of {COLD_RUNS}, alternating)\n"
    );
    println!("| process | median ms | min ms | peak RSS MB |");
    println!("| --- | --- | --- | --- |");
    let rows = [
        (
            "`wasm-lambda-host invoke classifier-js` (TypeScript guest, .cwasm)",
            summarise(&js)?,
        ),
        (
            "`wasm-lambda-host invoke classifier` (Rust guest, .cwasm)",
            summarise(&rust)?,
        ),
        (
            "Node.js: import onnxruntime-node, create the session, predict",
            summarise(&nodes)?,
        ),
    ];
    for (label, (ms, min, rss)) in &rows {
        println!("| {label} | {ms:.1} | {min:.1} | {rss:.1} |");
    }
    let (js_ms, _, js_rss) = rows[0].1;
    let (node_ms, _, node_rss) = rows[2].1;
    println!(
        "\nNode.js / TypeScript guest: {:.1}x faster, {:.1}x less memory (goal >= 20x faster)\n",
        node_ms / js_ms,
        node_rss / js_rss
    );
    crate::report::save(
        "js-cold",
        &json!(rows.iter().map(|(label, (ms, _, rss))| json!({"process": label, "median_ms": ms, "peak_rss_mb": rss})).collect::<Vec<_>>()),
    )?;
    Ok(vec![
        Line::against(
            "cold start to seed 004's answer, TypeScript guest",
            js_ms,
            "ms",
            "Node.js with onnxruntime-node",
            node_ms,
            Target::RatioAtMost(1.0 / 20.0),
        ),
        Line::against(
            "peak RSS of that cold start, TypeScript guest",
            js_rss,
            "MB",
            "Node.js with onnxruntime-node",
            node_rss,
            Target::None,
        ),
    ])
}

fn warm_calls(folder: &GuestFolder) -> Result<Line> {
    let guests = ["classifier-js", "classifier-py", "classifier"];
    let samples = warm_samples(folder, &guests)?;
    println!(
        "## warm call in process (the Lambda loop's path), seed 004's request, {WARM_CALLS} calls each\n"
    );
    println!("| guest | p50 us | p90 us | p99 us |");
    println!("| --- | --- | --- | --- |");
    let labels = [
        "`classifier-js` (JS SDK)",
        "`classifier-py` (Python SDK)",
        "`classifier` (Rust SDK)",
    ];
    let p50s: Vec<f64> = labels
        .iter()
        .zip(samples)
        .map(|(label, samples)| print_row(label, samples))
        .collect();
    println!();
    Ok(Line::against(
        "warm call p50, TypeScript guest (seed 004's request)",
        p50s[0],
        "us",
        "the same guest in Rust",
        p50s[2],
        Target::None,
    ))
}

/// One engine's build of `bench/js-engines/seed004.js`.
struct Engine {
    name: &'static str,
    guest: &'static str,
    build: Vec<String>,
}

fn engines(host: &Path, root: &Path, event: &Path) -> Result<()> {
    let bin = root.join("guest-sdk/js/node_modules/.bin");
    let source = root.join("bench/js-engines/seed004.js");
    let wit = root.join("guest-sdk/js/wit");
    let folder = GuestFolder::new("bench-js-engines").with_model("seed_forest", "seed_forest");
    let out = |guest: &str| folder.guests().join(format!("{guest}.wasm"));
    let path = |p: &PathBuf| p.display().to_string();
    let engines = [
        Engine {
            name: "StarlingMonkey (componentize-js 0.23.0)",
            guest: "starlingmonkey",
            build: vec![
                path(&bin.join("componentize-js")),
                path(&source),
                "--wit".into(),
                path(&wit),
                "-n".into(),
                "js-guest".into(),
                "-d".into(),
                "http".into(),
                "fetch-event".into(),
                "-o".into(),
                path(&out("starlingmonkey")),
            ],
        },
        Engine {
            name: "QuickJS (jco 1.35.0 --backend quickjs)",
            guest: "quickjs",
            build: vec![
                path(&bin.join("jco")),
                "componentize".into(),
                path(&source),
                "--wit".into(),
                path(&wit),
                "-n".into(),
                "js-guest".into(),
                "--backend".into(),
                "quickjs".into(),
                // The async build needs the component model's async ABI,
                // which this host (wasmtime 48, default features) refuses.
                "--backend-qjs-disable-async".into(),
                "-o".into(),
                path(&out("quickjs")),
            ],
        },
    ];
    let mut build_s = Vec::new();
    for engine in &engines {
        let started = Instant::now();
        let status = Command::new(&engine.build[0])
            .args(&engine.build[1..])
            .stdout(std::process::Stdio::null())
            .status()?;
        ensure!(status.success(), "building with {} failed", engine.name);
        build_s.push(started.elapsed().as_secs_f64());
    }
    precompile(host, &folder)?;
    // Cold starts with each deployed alone; warm calls side by side.
    let (sm_alone, qjs_alone) = (
        alone(host, &folder, "starlingmonkey")?,
        alone(host, &folder, "quickjs")?,
    );
    let (mut sm, mut qjs) = (Vec::new(), Vec::new());
    run(&mut invoke_command(
        host,
        &sm_alone,
        "starlingmonkey",
        event,
    ))?;
    run(&mut invoke_command(host, &qjs_alone, "quickjs", event))?;
    for _ in 0..COLD_RUNS {
        sm.push(run(&mut invoke_command(
            host,
            &sm_alone,
            "starlingmonkey",
            event,
        ))?);
        qjs.push(run(&mut invoke_command(
            host, &qjs_alone, "quickjs", event,
        ))?);
    }
    let cold = [summarise(&sm)?, summarise(&qjs)?];
    let warm = warm_samples(&folder, &["starlingmonkey", "quickjs"])?;
    let size = |file: String| -> Result<f64> {
        Ok(std::fs::metadata(folder.guests().join(&file))
            .with_context(|| file)?
            .len() as f64
            / 1e6)
    };
    println!(
        "## JavaScript engines: `bench/js-engines/seed004.js` (bare contract, one model call), same host\n"
    );
    println!(
        "| engine | component MB | .cwasm MB | build s | cold start ms (median) | peak RSS MB | warm p50 us |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (i, engine) in engines.iter().enumerate() {
        let mut samples = warm[i].clone();
        samples.sort_by(f64::total_cmp);
        println!(
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            engine.name,
            size(format!("{}.wasm", engine.guest))?,
            size(format!("{}.cwasm", engine.guest))?,
            build_s[i],
            cold[i].0,
            cold[i].2,
            median(&samples),
        );
    }
    println!();
    Ok(())
}
