//! An HTTPS server on loopback for outbound tests: a fresh self-signed
//! certificate for `localhost` (which tests give the host as its only
//! trusted root, through `SSL_CERT_FILE`), HTTP/2 and HTTP/1.1 offered by
//! ALPN. It counts TCP connections and records each request's HTTP version.

use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};

/// A running server; it lives until the test process ends.
pub struct TlsServer {
    port: u16,
    ca_file: PathBuf,
    connections: Arc<AtomicU32>,
    versions: Arc<Mutex<Vec<String>>>,
}

impl TlsServer {
    /// Starts a server; its certificate is written to `dir/ca.pem`.
    pub fn start(dir: &Path) -> Self {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let ca_file = dir.join("ca.pem");
        std::fs::write(&ca_file, certified.cert.pem()).unwrap();
        let key = PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = TlsAcceptor::from(Arc::new(config));

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicU32::new(0));
        let versions = Arc::new(Mutex::new(Vec::new()));
        let (accepted, seen) = (connections.clone(), versions.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    let (acceptor, seen) = (acceptor.clone(), seen.clone());
                    tokio::spawn(async move {
                        let Ok(tls) = acceptor.accept(stream).await else {
                            return;
                        };
                        let service =
                            service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                                seen.lock()
                                    .unwrap()
                                    .push(format!("{:?}", request.version()));
                                async {
                                    Ok::<_, Infallible>(hyper::Response::new(Full::new(
                                        Bytes::from_static(b"hello over tls"),
                                    )))
                                }
                            });
                        let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), service)
                            .await;
                    });
                }
            });
        });
        Self {
            port,
            ca_file,
            connections,
            versions,
        }
    }

    /// `https://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    /// The certificate to trust (PEM).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> u32 {
        self.connections.load(Ordering::SeqCst)
    }

    /// The HTTP version of every request so far (`HTTP/2.0`, `HTTP/1.1`).
    pub fn versions(&self) -> Vec<String> {
        self.versions.lock().unwrap().clone()
    }
}
