//! A small HTTP/1.1 keep-alive server on loopback for outbound tests: it
//! counts the TCP connections it accepts and the requests it answers, so
//! tests can see whether the host reused a connection.
//!
//! Paths: `/hello` answers `hello`; `/slow` waits 5 s before answering;
//! `/huge` streams 64 MiB (chunked, no length); `/huge-declared` declares
//! a 64 MiB `Content-Length`; `/headers` answers the request's header
//! names, one per line; `/close` answers `closed` and closes the
//! connection (every call opens a new one). Anything else is 404.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// A running server; it lives until the test process ends.
pub struct HttpServer {
    port: u16,
    connections: Arc<AtomicU32>,
    requests: Arc<AtomicU32>,
}

impl HttpServer {
    /// Starts a server on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicU32::new(0));
        let requests = Arc::new(AtomicU32::new(0));
        let (accepted, answered) = (connections.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                accepted.fetch_add(1, Ordering::SeqCst);
                let answered = answered.clone();
                std::thread::spawn(move || serve(stream, &answered));
            }
        });
        Self {
            port,
            connections,
            requests,
        }
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Requests read so far.
    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Answers requests on one connection until the client closes it.
fn serve(stream: TcpStream, answered: &AtomicU32) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(120)));
    let _ = stream.set_nodelay(true);
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let path = request_line
            .split_whitespace()
            .nth(1)
            .unwrap_or("/")
            .to_owned();
        let mut header_names = Vec::new();
        let mut content_length = 0usize;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                let name = name.trim().to_ascii_lowercase();
                if name == "content-length" {
                    content_length = value.trim().parse().unwrap_or(0);
                }
                header_names.push(name);
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        answered.fetch_add(1, Ordering::SeqCst);
        let written = match path.as_str() {
            "/hello" => respond(&mut writer, 200, b"hello"),
            "/slow" => {
                std::thread::sleep(Duration::from_secs(5));
                respond(&mut writer, 200, b"slow")
            }
            "/headers" => respond(&mut writer, 200, header_names.join("\n").as_bytes()),
            "/huge" => stream_huge(&mut writer),
            "/close" => {
                let _ = writer.write_all(
                    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 6\r\n\r\nclosed",
                );
                return;
            }
            "/huge-declared" => {
                writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n")
            }
            _ => respond(&mut writer, 404, b"not found"),
        };
        if written.is_err() {
            return;
        }
    }
}

fn respond(writer: &mut TcpStream, status: u16, body: &[u8]) -> std::io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n",
        if status == 200 { "OK" } else { "Not Found" },
        body.len()
    );
    // One write, as real servers answer small requests: two would meet
    // Nagle and the client's delayed ACK (40 ms per answer).
    let mut answer = head.into_bytes();
    answer.extend_from_slice(body);
    writer.write_all(&answer)
}

/// 64 chunks of 1 MiB; stops when the client hangs up.
fn stream_huge(writer: &mut TcpStream) -> std::io::Result<()> {
    writer.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")?;
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..64 {
        writer.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
        writer.write_all(&chunk)?;
        writer.write_all(b"\r\n")?;
    }
    writer.write_all(b"0\r\n\r\n")
}
