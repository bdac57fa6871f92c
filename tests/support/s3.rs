//! moto's S3 server (`moto_server` from the workspace venv), started for
//! real on loopback; plain HTTP calls reach it the way an admin with
//! write access to the bucket would. They name the test credentials in an
//! `Authorization` header: moto refuses anonymous reads of private objects
//! but does not check signatures.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Longest a server may live, even if a test dies without dropping it.
const MAX_LIFETIME_SECS: u32 = 600;

/// Names the test credentials (see the module's comment).
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A running moto S3 server; killed when dropped.
pub struct S3Server {
    child: Child,
    port: u16,
    agent: ureq::Agent,
}

impl S3Server {
    /// Starts moto's server on a free loopback port and waits for it.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts moto's server checking every request's SigV4 signature and
    /// IAM permissions after the first `free_actions` actions (which set
    /// up users and keys; see [`crate::iam`]).
    pub fn start_checking_signatures(free_actions: u32) -> Self {
        Self::start_with(&[("INITIAL_NO_AUTH_ACTION_COUNT", &free_actions.to_string())])
    }

    fn start_with(env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("moto-{port}.log"));
        let log = std::fs::File::create(log).unwrap();
        let child = crate::host_process::own_group(
            Command::new("timeout")
                .args(["-s", "KILL", &MAX_LIFETIME_SECS.to_string()])
                .arg(moto_server())
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        )
        .spawn()
        .expect("starting moto_server");
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let server = Self { child, port, agent };
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not start listening on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The AWS variables a host or `publish` needs to reach this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL_S3", self.endpoint()),
        ]
    }

    /// The variables of a host whose guests (and models) come from the
    /// releases at `location` on this server.
    pub fn release_env(&self, location: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = self
            .env()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        env.push(("WASM_LAMBDA_GUESTS".into(), location.into()));
        // Empty means unset: models come from the guests' release.
        env.push(("WASM_LAMBDA_MODELS".into(), String::new()));
        env
    }

    /// Runs `host publish` of `folder`'s guests and models to `location`
    /// against this server; returns (stdout, stderr), failing the test if
    /// publishing failed.
    pub fn publish(
        &self,
        host: &std::path::Path,
        folder: &crate::GuestFolder,
        location: &str,
    ) -> (String, String) {
        let output = std::process::Command::new(host)
            .arg("publish")
            .arg(folder.guests())
            .arg(location)
            .arg("--models")
            .arg(folder.models())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(self.env())
            .output()
            .expect("running wasm-lambda-host publish");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        assert!(output.status.success(), "publish failed:\n{stdout}{stderr}");
        (stdout, stderr)
    }

    /// Creates a bucket.
    pub fn create_bucket(&self, bucket: &str) {
        let status = self
            .agent
            .put(&format!("{}/{bucket}", self.endpoint()))
            .header("Authorization", AUTHORIZATION)
            .send_empty()
            .unwrap()
            .status();
        assert!(status.is_success(), "creating bucket {bucket}: {status}");
    }

    /// Reads an object, or `None` if there is none.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let mut response = self
            .agent
            .get(&format!("{}/{bucket}/{key}", self.endpoint()))
            .header("Authorization", AUTHORIZATION)
            .call()
            .unwrap();
        if response.status() == 404 {
            return None;
        }
        assert!(
            response.status().is_success(),
            "GET {key}: {}",
            response.status()
        );
        Some(response.body_mut().read_to_vec().unwrap())
    }

    /// Overwrites (or creates) an object.
    pub fn put(&self, bucket: &str, key: &str, bytes: &[u8]) {
        put_object(&self.agent, &self.endpoint(), bucket, key, bytes);
    }

    /// Deletes an object.
    pub fn delete(&self, bucket: &str, key: &str) {
        let status = self
            .agent
            .delete(&format!("{}/{bucket}/{key}", self.endpoint()))
            .header("Authorization", AUTHORIZATION)
            .call()
            .unwrap()
            .status();
        assert!(status.is_success(), "DELETE {key}: {status}");
    }
}

fn put_object(agent: &ureq::Agent, endpoint: &str, bucket: &str, key: &str, bytes: &[u8]) {
    let status = agent
        .put(&format!("{endpoint}/{bucket}/{key}"))
        .header("Authorization", AUTHORIZATION)
        .send(bytes)
        .unwrap()
        .status();
    assert!(status.is_success(), "PUT {key}: {status}");
}

impl Drop for S3Server {
    fn drop(&mut self) {
        crate::host_process::kill_group(&mut self.child);
    }
}

/// `moto_server`: `$MOTO_SERVER`, the workspace venv (set-up installs it
/// there), or `PATH`.
fn moto_server() -> PathBuf {
    if let Ok(path) = std::env::var("MOTO_SERVER") {
        return path.into();
    }
    let venv = crate::workspace_root().join(".venv/bin/moto_server");
    if venv.exists() {
        return venv;
    }
    "moto_server".into()
}

/// A loopback S3 that always answers `503 SlowDown` (a throttling S3), or
/// never answers at all (a hung one), and counts the requests it got.
pub struct ThrottlingS3 {
    port: u16,
    requests: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl ThrottlingS3 {
    /// Starts a throttling S3 on a free port; it lives until the test
    /// process ends.
    pub fn start() -> Self {
        Self::serve(true)
    }

    /// Starts an S3 that reads requests and never answers.
    pub fn silent() -> Self {
        Self::serve(false)
    }

    fn serve(answer: bool) -> Self {
        use std::io::{Read as _, Write as _};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let counter = counter.clone();
                std::thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut buffer = [0u8; 8192];
                    let mut seen = Vec::new();
                    while let Ok(n) = stream.read(&mut buffer) {
                        if n == 0 {
                            break;
                        }
                        seen.extend_from_slice(&buffer[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if !answer {
                                continue;
                            }
                            let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                            let reply = format!(
                                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if stream.write_all(reply.as_bytes()).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        Self { port, requests }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests answered so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// A byte-for-byte TCP relay in front of an [`S3Server`] that, just before
/// forwarding the first `PUT` request whose request line contains
/// `marker`, writes an object itself: a command between its read and its
/// write meets "someone else wrote meanwhile" at that exact point, every
/// time. Lives until the test process ends.
pub struct S3Tap {
    port: u16,
}

/// What the tap writes: bucket, key, bytes.
type TapWrite = (String, String, Vec<u8>);

impl S3Tap {
    /// Starts the relay to `upstream`; `write` is put once, before the
    /// first `PUT` whose request line contains `marker` is forwarded.
    pub fn start(upstream: &S3Server, marker: &str, write: (&str, &str, &[u8])) -> Self {
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream_port = upstream.port;
        let (agent, endpoint) = (upstream.agent.clone(), upstream.endpoint());
        let marker = marker.to_owned();
        let pending: Arc<Mutex<Option<TapWrite>>> = Arc::new(Mutex::new(Some((
            write.0.to_owned(),
            write.1.to_owned(),
            write.2.to_vec(),
        ))));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                let (mut from_server, mut to_client) =
                    (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || std::io::copy(&mut from_server, &mut to_client));
                let (pending, marker) = (pending.clone(), marker.clone());
                let (agent, endpoint) = (agent.clone(), endpoint.clone());
                std::thread::spawn(move || {
                    relay_requests(client, server, |line| {
                        if !(line.starts_with("PUT ") && line.contains(&marker)) {
                            return;
                        }
                        if let Some((bucket, key, bytes)) = pending.lock().unwrap().take() {
                            put_object(&agent, &endpoint, &bucket, &key, &bytes);
                        }
                    })
                });
            }
        });
        Self { port }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Copies `client`'s bytes to `server`, calling `on_line` with each line
/// (request lines among them) before forwarding the bytes that hold it.
fn relay_requests(mut client: TcpStream, mut server: TcpStream, mut on_line: impl FnMut(&str)) {
    use std::io::{Read as _, Write as _};
    let _ = client.set_read_timeout(Some(Duration::from_secs(60)));
    let mut buffer = [0u8; 16384];
    let mut line = Vec::new();
    while let Ok(n) = client.read(&mut buffer) {
        if n == 0 {
            break;
        }
        for &byte in &buffer[..n] {
            if byte == b'\n' {
                on_line(String::from_utf8_lossy(&line).trim_end());
                line.clear();
            } else if line.len() < 4096 {
                line.push(byte);
            }
        }
        if server.write_all(&buffer[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Write);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}
