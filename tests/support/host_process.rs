//! The real `wasm-lambda-host` binary, started as Lambda would start it.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a host may live, even if a test dies without dropping it.
const MAX_LIFETIME_SECS: u32 = 600;

/// A running host; killed when dropped. Its log (stderr) goes to a file.
pub struct HostProcess {
    child: Child,
    log: PathBuf,
}

impl HostProcess {
    /// Starts `binary` against a Runtime API with the given guests and
    /// cache folders and extra environment variables.
    pub fn start(
        binary: &Path,
        runtime_api: &str,
        folder: &crate::GuestFolder,
        env: &[(&str, &str)],
    ) -> Self {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let log = folder.root().join(format!("host-{n}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new("timeout");
        command
            .args(["-s", "KILL", &MAX_LIFETIME_SECS.to_string()])
            .arg(binary)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "wasm-lambda-test")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("WASM_LAMBDA_GUESTS", folder.guests())
            .env("WASM_LAMBDA_CACHE", folder.cache())
            .env("WASM_LAMBDA_MODELS", folder.models())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        for (key, value) in env {
            command.env(key, value);
        }
        let child = own_group(&mut command)
            .spawn()
            .expect("starting wasm-lambda-host");
        Self { child, log }
    }

    /// Everything the host logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle` (init done, say).
    pub fn wait_for_log(&self, needle: &str) -> String {
        let started = Instant::now();
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "host never logged {needle:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The host's resident memory in kB (`VmRSS`), read from /proc. The
    /// spawned process is `timeout`; the host is its only child.
    pub fn resident_kb(&self) -> u64 {
        let pid = self.host_pid();
        let status =
            std::fs::read_to_string(format!("/proc/{pid}/status")).expect("host /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS in /proc status")
    }

    /// CPU time the host's threads have used so far: the scheduler's
    /// nanosecond count (`/proc/PID/task/*/schedstat`), where `stat`'s
    /// 10 ms ticks miss most of a process that runs in short bursts.
    pub fn cpu_time(&self) -> Duration {
        let tasks = format!("/proc/{}/task", self.host_pid());
        let nanos: u64 = std::fs::read_dir(&tasks)
            .expect("host /proc tasks")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
            .filter_map(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            .sum();
        Duration::from_nanos(nanos)
    }

    /// The host's process id: `timeout`'s only child.
    fn host_pid(&self) -> String {
        let children =
            std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.child.id()))
                .unwrap_or_default();
        children
            .split_whitespace()
            .next()
            .expect("the host process is running")
            .to_owned()
    }

    /// Waits for the process to exit, up to `limit`; returns its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for HostProcess {
    fn drop(&mut self) {
        kill_group(&mut self.child);
    }
}

/// Puts the child in its own process group, so killing the group also ends
/// what `timeout` started.
pub fn own_group(command: &mut Command) -> &mut Command {
    command.process_group(0)
}

/// Kills a child's whole process group and reaps the child.
pub fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .status();
    let _ = child.kill();
    let _ = child.wait();
}
