//! `host-bench guests`: what each added guest costs at init, for 1, 10,
//! 100 and 1,000 guests, with the `lambda_runtime` echo binary measured in
//! the same run as the anchor.
//!
//! Each deployment holds N distinct files: copies of `hello` and its
//! `.cwasm` under N names (the `.wasm` copies keep the original's
//! modification time, so the stamp `precompile` recorded still vouches for
//! them). The host starts in Lambda mode against a loopback listener with
//! `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` = 1024; the figures are the time from
//! process start to its first `GET …/next`, its resident memory then, and
//! its peak resident memory (from `wait4`, after it is stopped). The copies
//! are read back from disk by an untimed start first, as a new environment
//! reads its image, not left in the page cache as the copying wrote them.

use std::fs;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context as _, Result, ensure};
use serde_json::json;
use wasm_lambda_tests::GuestFolder;

use super::{host_and_echo, lambda_command, median, spawn_until_first_request};
use crate::summary::{self, Line, Target};

/// The function memory the deployments run under.
const FUNCTION_MEMORY_MB: &str = "1024";

/// One start of a binary: init time, RSS waiting for the first event, peak RSS.
#[derive(Debug, Clone, Copy)]
struct Start {
    init_ms: f64,
    rss_kb: u64,
    peak_kb: u64,
}

/// Runs the guest-count table.
pub fn bench() -> Result<()> {
    let (host, echo) = host_and_echo()?;
    let template = GuestFolder::new("bench-count-template").with_guest("hello", "hello");
    crate::precompile(&host, &template)?;

    println!(
        "## cost per guest: N copies of hello from .cwasm, {FUNCTION_MEMORY_MB} MB function \
         (median of the runs)\n"
    );
    println!("| binary | guests | runs | init ms | RSS at first GET MB | peak RSS MB |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let echo_starts = starts(&echo, None, FUNCTION_MEMORY_MB, 15)?;
    let echo_row = summarise(&echo_starts);
    print_row(
        "lambda_runtime echo (anchor)",
        "-",
        echo_starts.len(),
        echo_row,
    );

    let mut rows = Vec::new();
    let mut budgeted = None;
    for count in [1usize, 10, 100, 1000] {
        let folder = copies(&template, count)?;
        // Untimed: reads the copies back from disk (see `out_of_page_cache`).
        start_once(&host, Some(&folder), FUNCTION_MEMORY_MB)?;
        let runs = if count >= 1000 { 7 } else { 15 };
        let all = summarise(&starts(&host, Some(&folder), FUNCTION_MEMORY_MB, runs)?);
        print_row("wasm-lambda-host", &count.to_string(), runs, all);
        rows.push((count, all));
        if count == 1000 {
            // The init memory budget at work: half of 128 MB.
            let small = summarise(&starts(&host, Some(&folder), "128", runs)?);
            print_row(
                "wasm-lambda-host, 128 MB function (budget 64 MB)",
                "1000",
                runs,
                small,
            );
            budgeted = Some(small);
        }
    }
    let (_, one) = rows[0];
    println!("\n| guests | init ms per added guest | RSS MB per added guest | init / echo |");
    println!("| --- | --- | --- | --- |");
    for (count, row) in &rows[1..] {
        let added = (*count - 1) as f64;
        println!(
            "| {count} | {:.3} | {:.3} | {:.2}x |",
            (row.init_ms - one.init_ms) / added,
            (row.rss_kb as f64 - one.rss_kb as f64) / 1024.0 / added,
            row.init_ms / echo_row.init_ms
        );
    }
    println!(
        "\n(targets: 100 guests init <= 15 ms and RSS <= 48 MB; 1,000 guests fit \
         {FUNCTION_MEMORY_MB} MB with init <= 150 ms)\n"
    );
    summary::record("guests", &summary_lines(echo_row, &rows, budgeted))?;
    let figures = |row: Start| {
        json!({"init_ms": row.init_ms, "rss_mb": row.rss_kb as f64 / 1024.0,
               "peak_rss_mb": row.peak_kb as f64 / 1024.0})
    };
    crate::report::save(
        "guest-count",
        &json!({
            "echo": figures(echo_row),
            "host": rows.iter().map(|(count, row)| {
                let mut entry = figures(*row);
                entry["guests"] = json!(count);
                entry
            }).collect::<Vec<_>>(),
            "host_1000_at_128_mb": budgeted.map(figures),
        }),
    )
}

/// Issue 15's targets: 100 guests init <= 15 ms and RSS <= 48 MB; 1,000
/// fit a 1,024 MB function (and, with the budget, a 128 MB one) with init
/// <= 150 ms.
fn summary_lines(echo: Start, rows: &[(usize, Start)], budgeted: Option<Start>) -> Vec<Line> {
    let mut lines = Vec::new();
    let mb = |kb: u64| kb as f64 / 1024.0;
    for &(count, row) in rows {
        let (init_target, rss_target) = match count {
            100 => (Target::AtMost(15.0), Target::AtMost(48.0)),
            1000 => (Target::AtMost(150.0), Target::AtMost(1024.0)),
            _ => (Target::None, Target::None),
        };
        lines.push(Line::against(
            format!("init, {}", summary::guests(count)),
            row.init_ms,
            "ms",
            "lambda_runtime echo",
            echo.init_ms,
            init_target,
        ));
        lines.push(Line::against(
            format!("RSS at first GET, {}", summary::guests(count)),
            mb(row.rss_kb),
            "MB",
            "lambda_runtime echo",
            mb(echo.rss_kb),
            rss_target,
        ));
    }
    if let Some(row) = budgeted {
        lines.push(Line::alone(
            "init, 1000 guests in a 128 MB function",
            row.init_ms,
            "ms",
            Target::AtMost(150.0),
        ));
        lines.push(Line::alone(
            "peak RSS, 1000 guests in a 128 MB function",
            mb(row.peak_kb),
            "MB",
            Target::AtMost(128.0),
        ));
    }
    lines
}

/// A deployment of `count` copies of the template's `hello`.
fn copies(template: &GuestFolder, count: usize) -> Result<GuestFolder> {
    let wasm = template.guests().join("hello.wasm");
    let cwasm = template.guests().join("hello.cwasm");
    let modified = fs::metadata(&wasm)?.modified()?;
    let folder = GuestFolder::new(&format!("bench-count-{count}"));
    for i in 0..count {
        let name = format!("hello-{i:04}");
        let copy = folder.guests().join(format!("{name}.wasm"));
        fs::copy(&wasm, &copy)?;
        fs::File::options()
            .write(true)
            .open(&copy)?
            .set_modified(modified)?;
        fs::copy(&cwasm, folder.guests().join(format!("{name}.cwasm")))?;
    }
    out_of_page_cache(&folder.guests())?;
    Ok(folder)
}

/// Writes the folder's files back and drops them from the page cache, so
/// that the next start reads them from disk as a new Lambda environment
/// reads its image. Left as the copies wrote them, the page cache holds
/// them in the write path's folios, and the kernel maps a fault's
/// neighbours by folio: the same `.cwasm` copied fresh was seen ~4 MB more
/// resident at 100 guests (BENCHMARKS.md, "A guest's own build profile").
fn out_of_page_cache(dir: &Path) -> Result<()> {
    use std::os::fd::AsRawFd;
    for entry in fs::read_dir(dir)? {
        let file = fs::File::open(entry?.path())?;
        file.sync_all()?;
        // SAFETY: a valid open descriptor; the call only advises the kernel.
        let advised =
            unsafe { libc::posix_fadvise(file.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        ensure!(advised == 0, "posix_fadvise failed: {advised}");
    }
    Ok(())
}

fn summarise(starts: &[Start]) -> Start {
    let pick = |f: fn(&Start) -> f64| median(&starts.iter().map(f).collect::<Vec<_>>());
    Start {
        init_ms: pick(|s| s.init_ms),
        rss_kb: pick(|s| s.rss_kb as f64) as u64,
        peak_kb: pick(|s| s.peak_kb as f64) as u64,
    }
}

fn print_row(binary: &str, guests: &str, runs: usize, row: Start) {
    println!(
        "| {binary} | {guests} | {runs} | {:.1} | {:.1} | {:.1} |",
        row.init_ms,
        row.rss_kb as f64 / 1024.0,
        row.peak_kb as f64 / 1024.0
    );
}

/// Starts `binary` `runs` times against a loopback listener, as a function
/// of `memory_mb`.
fn starts(
    binary: &Path,
    folder: Option<&GuestFolder>,
    memory_mb: &str,
    runs: usize,
) -> Result<Vec<Start>> {
    (0..runs)
        .map(|_| start_once(binary, folder, memory_mb))
        .collect()
}

fn start_once(binary: &Path, folder: Option<&GuestFolder>, memory_mb: &str) -> Result<Start> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let mut command = lambda_command(binary, port, memory_mb);
    command.env("WASM_LAMBDA_METRICS", "off");
    if let Some(folder) = folder {
        command
            .env("WASM_LAMBDA_GUESTS", folder.guests())
            .env("WASM_LAMBDA_MODELS", folder.models())
            .env("WASM_LAMBDA_CACHE", folder.cache());
    }
    let started = spawn_until_first_request(&mut command, &listener)
        .with_context(|| format!("starting {}", binary.display()))?;
    let mut child = started.child;
    let first = started.head;
    let init_ms = started.elapsed.as_secs_f64() * 1e3;
    // Init is over: what it left resident, once threads have settled.
    std::thread::sleep(Duration::from_millis(50));
    let status = fs::read_to_string(format!("/proc/{}/status", child.id()));
    let _ = child.kill();
    let peak_kb = peak_rss_kb(&mut child)?;
    ensure!(
        first.starts_with("GET"),
        "{} did not ask for an event (init failed?): {first}",
        binary.display()
    );
    let rss_kb = status?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .context("no VmRSS")?;
    Ok(Start {
        init_ms,
        rss_kb,
        peak_kb,
    })
}

/// Reaps `child` and returns its peak resident memory (`ru_maxrss`).
fn peak_rss_kb(child: &mut std::process::Child) -> Result<u64> {
    let (_, usage) = crate::process::wait_with_usage(child)?;
    Ok(u64::try_from(usage.ru_maxrss)?)
}

/// `host-bench cold-page-cache [BINARY...]`: starts with 10 guests from
/// `.cwasm` as a new Lambda environment has them, nothing of the binary or
/// the guests in the page cache (dropped before every start: needs root,
/// and slows the whole machine for a moment). The binaries (default: the
/// host and the echo beside this one) take turns, so drift hits all alike.
pub fn cold_page_cache(binaries: &[std::path::PathBuf]) -> Result<()> {
    const ROUNDS: usize = 11;
    let binaries = if binaries.is_empty() {
        let (host, echo) = host_and_echo()?;
        vec![host, echo]
    } else {
        binaries.to_vec()
    };
    let template = GuestFolder::new("bench-cold-template").with_guest("hello", "hello");
    crate::precompile(&binaries[0], &template)?;
    let folder = copies(&template, 10)?;
    let mut starts_by_binary = vec![Vec::new(); binaries.len()];
    for _ in 0..ROUNDS {
        for (binary, starts) in binaries.iter().zip(&mut starts_by_binary) {
            drop_page_cache()?;
            starts.push(start_once(binary, Some(&folder), FUNCTION_MEMORY_MB)?);
        }
    }
    println!(
        "## 10 guests from .cwasm, page cache dropped before each start (median of {ROUNDS})\n"
    );
    println!("| binary | init ms | RSS at first GET MB |");
    println!("| --- | --- | --- |");
    for (binary, starts) in binaries.iter().zip(&starts_by_binary) {
        let row = summarise(starts);
        println!(
            "| {} | {:.1} | {:.1} |",
            binary.display(),
            row.init_ms,
            row.rss_kb as f64 / 1024.0
        );
    }
    Ok(())
}

/// Writes back dirty pages, then empties the page cache.
fn drop_page_cache() -> Result<()> {
    ensure!(Command::new("sync").status()?.success(), "sync failed");
    fs::write("/proc/sys/vm/drop_caches", "3")
        .context("dropping the page cache (/proc/sys/vm/drop_caches) needs root")
}
