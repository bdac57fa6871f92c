//! The TCP connector behind a guest's connection pool: resolves the name,
//! checks every address with the [`AddressGuard`], connects (within the
//! connect timeout) only to an address that passed, and remembers each new
//! connection's local address so the call that first uses it can be
//! logged as a new connection, and every later one as reused.
//!
//! Hand-written rather than hyper-util's `HttpConnector` with a custom
//! resolver: a resolver sees the name but not the port, and the Runtime
//! API check needs both; IP-literal URLs skip the resolver altogether.

use std::collections::HashSet;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use http::Uri;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::address_guard::{AddressGuard, AddressRefusal};
use super::allow_list::{Scheme, normalize_host};

/// Why no connection was made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Every address the name resolves to is forbidden.
    #[error("refused: {0}")]
    Refused(AddressRefusal),
    /// The name did not resolve.
    #[error("could not resolve {host}: {source}")]
    Resolve {
        /// The name.
        host: String,
        /// Why.
        source: std::io::Error,
    },
    /// No address answered within the connect timeout.
    #[error("no connection to {0} within the connect timeout")]
    Timeout(String),
    /// Every address refused the connection (or failed otherwise).
    #[error("could not connect to {host}: {source}")]
    Connect {
        /// The name.
        host: String,
        /// The last address's error.
        source: std::io::Error,
    },
    /// A URL without a host.
    #[error("the URL has no host")]
    NoHost,
}

/// Connections opened and not yet used by a request, by local address.
#[derive(Debug, Default)]
pub struct NewConnections {
    unused: Mutex<HashSet<SocketAddr>>,
}

/// Unused connections remembered at most; past it the memory is cleared
/// (a connection whose TLS handshake failed is never used, and must not
/// stay here forever). Only the new/reused label of a log line can suffer.
const MAX_REMEMBERED: usize = 1024;

impl NewConnections {
    fn opened(&self, local: SocketAddr) {
        let mut unused = self.unused.lock().unwrap_or_else(PoisonError::into_inner);
        if unused.len() >= MAX_REMEMBERED {
            unused.clear();
        }
        unused.insert(local);
    }

    /// True the first time a response arrives on the connection whose
    /// local address is `local` (it was opened for this request, or while
    /// it waited), false on every later use.
    pub fn first_use(&self, local: SocketAddr) -> bool {
        self.unused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&local)
    }
}

/// A connector that only reaches addresses the guard allows.
#[derive(Debug, Clone)]
pub struct GuardedConnector {
    guard: Arc<AddressGuard>,
    connect_timeout: Duration,
    new_connections: Arc<NewConnections>,
}

impl GuardedConnector {
    /// A connector with `guard`, giving up on each address after `connect_timeout`.
    pub fn new(
        guard: Arc<AddressGuard>,
        connect_timeout: Duration,
        new_connections: Arc<NewConnections>,
    ) -> Self {
        Self {
            guard,
            connect_timeout,
            new_connections,
        }
    }

    async fn connect(self, uri: Uri) -> Result<TokioIo<TcpStream>, ConnectError> {
        let host = uri.host().ok_or(ConnectError::NoHost)?;
        let host = normalize_host(host);
        let port = uri.port_u16().unwrap_or_else(|| {
            uri.scheme_str()
                .and_then(Scheme::parse)
                .map_or(80, Scheme::default_port)
        });
        let candidates: Vec<SocketAddr> = match host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|source| ConnectError::Resolve {
                    host: host.clone(),
                    source,
                })?
                .collect(),
        };
        let mut refusal = None;
        let mut last_error = None;
        for address in candidates {
            if let Err(reason) = self.guard.check(address) {
                refusal.get_or_insert(reason);
                continue;
            }
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    // Small requests and answers: do not wait to fill a segment.
                    let _ = stream.set_nodelay(true);
                    if let Ok(local) = stream.local_addr() {
                        self.new_connections.opened(local);
                    }
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(error)) => {
                    last_error = Some(ConnectError::Connect {
                        host: host.clone(),
                        source: error,
                    })
                }
                Err(_) => last_error = Some(ConnectError::Timeout(format!("{host}:{port}"))),
            }
        }
        Err(match (last_error, refusal) {
            (Some(error), _) => error,
            (None, Some(reason)) => ConnectError::Refused(reason),
            (None, None) => ConnectError::Resolve {
                host,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no addresses"),
            },
        })
    }
}

impl tower_service::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, ConnectError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}
