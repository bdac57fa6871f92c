//! cargo-lambda's Lambda Runtime API emulator, started for real on loopback.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Longest an emulator may live, even if a test dies without dropping it.
const MAX_LIFETIME_SECS: u32 = 600;

/// A running emulator; killed when dropped.
pub struct Emulator {
    child: Child,
    port: u16,
    agent: ureq::Agent,
    _project: crate::GuestFolder,
}

/// An invocation's outcome as the emulator reports it.
#[derive(Debug)]
pub struct Invoked {
    /// HTTP status (200 answer, 500 function error).
    pub status: u16,
    /// The JSON body: the answer or `{"errorType", "errorMessage"}`.
    pub body: Value,
}

impl Invoked {
    /// The answer, failing the test on a function error.
    pub fn answer(self) -> Value {
        assert_eq!(self.status, 200, "invocation failed: {}", self.body);
        self.body
    }

    /// The `errorType`, failing the test if the invocation succeeded.
    pub fn error_type(&self) -> &str {
        assert_ne!(
            self.status, 200,
            "invocation unexpectedly succeeded: {}",
            self.body
        );
        self.body["errorType"].as_str().unwrap_or_default()
    }

    /// The `errorMessage`.
    pub fn error_message(&self) -> &str {
        self.body["errorMessage"].as_str().unwrap_or_default()
    }
}

impl Emulator {
    /// Starts `cargo-lambda lambda watch --only-lambda-apis` on a free
    /// loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        // cargo-lambda reads a Cargo.toml from its working directory.
        let project = crate::GuestFolder::new("emulator");
        std::fs::write(
            project.root().join("Cargo.toml"),
            "[package]\nname = \"emulator\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
        )
        .unwrap();
        std::fs::create_dir_all(project.root().join("src")).unwrap();
        std::fs::write(project.root().join("src/main.rs"), "fn main() {}\n").unwrap();
        let log = std::fs::File::create(project.root().join("emulator.log")).unwrap();

        let child = crate::host_process::own_group(
            Command::new("timeout")
                .args(["-s", "KILL", &MAX_LIFETIME_SECS.to_string()])
                .arg(cargo_lambda())
                .args([
                    "lambda",
                    "watch",
                    "--only-lambda-apis",
                    "-A",
                    "127.0.0.1",
                    "-P",
                    &port.to_string(),
                ])
                .current_dir(project.root())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        )
        .spawn()
        .expect("starting cargo-lambda");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let emulator = Self {
            child,
            port,
            agent,
            _project: project,
        };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "cargo-lambda did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        emulator
    }

    /// The emulator's base URL: its Invoke API, for `AWS_ENDPOINT_URL_LAMBDA`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The Runtime API address a host polls (`AWS_LAMBDA_RUNTIME_API`).
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }

    /// Invokes the function synchronously, as `aws lambda invoke` would.
    pub fn invoke(&self, event: &Value) -> Invoked {
        self.invoke_raw(event.to_string().as_bytes())
    }

    /// Invokes with raw bytes (which need not be JSON).
    pub fn invoke_raw(&self, payload: &[u8]) -> Invoked {
        self.invoke_with_headers(payload, &[])
    }

    /// Invokes with extra request headers: cargo-lambda passes
    /// `lambda-runtime-client-context` (base64-encoded, as the Invoke API
    /// takes it) and `lambda-runtime-cognito-identity` on to the function.
    pub fn invoke_with_headers(&self, payload: &[u8], headers: &[(&str, &str)]) -> Invoked {
        let url = format!(
            "http://127.0.0.1:{}/2015-03-31/functions/_/invocations",
            self.port
        );
        let mut request = self.agent.post(&url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut response = request
            .send(payload)
            .expect("invoking through the emulator");
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .expect("reading the invocation answer");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Invoked { status, body }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        crate::host_process::kill_group(&mut self.child);
    }
}

/// cargo-lambda: `$CARGO_LAMBDA`, the workspace venv (`.ci/run` installs it
/// there), or `PATH`.
fn cargo_lambda() -> PathBuf {
    if let Ok(path) = std::env::var("CARGO_LAMBDA") {
        return path.into();
    }
    let venv = crate::workspace_root().join(".venv/bin/cargo-lambda");
    if venv.exists() {
        return venv;
    }
    "cargo-lambda".into()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
