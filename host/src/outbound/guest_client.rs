//! One guest's outbound client: its allow-list and AWS grants, its own
//! connection pool (no guest ever shares a connection, or a response, with
//! another), its limits, and the one function that sends a request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpInfo;
use hyper_util::rt::TokioExecutor;
use tokio::sync::Semaphore;
use wasmtime_wasi_http::{Error, WasiBody};

use super::address_guard::AddressGuard;
use super::allow_list::{AllowRule, Scheme};
use super::aws_grants::AwsGrants;
use super::call_log::{CallRecord, ConnectionUse};
use super::connector::{ConnectError, GuardedConnector, NewConnections};
use super::response_body::GuardedBody;
use crate::aws::{AwsEnvironment, error_chain, sign_request};

/// Response bytes one request may bring in when `guests.toml` sets no
/// `outbound_response_limit_mb`.
pub const DEFAULT_RESPONSE_LIMIT_MB: u64 = 16;
/// Requests of one guest in flight at once when `guests.toml` sets no
/// `outbound_concurrency`; more wait for a slot (within the deadline).
pub const DEFAULT_CONCURRENCY: u32 = 16;
/// Longest wait for one TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest request body the host signs (it must hold the body to hash it).
pub const MAX_SIGNED_BODY_BYTES: usize = 32 * 1024 * 1024;
/// How long an idle pooled connection is kept.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a request may take when it starts outside a guest call.
const NO_DEADLINE_BUDGET: Duration = Duration::from_secs(30);

/// Headers a guest may not set on a request the host signs.
const SIGNING_HEADERS: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
];

/// What `guests.toml` says about a guest's outbound requests.
#[derive(Debug, Clone, Default)]
pub struct OutboundSettings {
    /// `outbound`: allowed destinations.
    pub allow: Vec<String>,
    /// `aws`: services signed for the guest.
    pub aws: Vec<String>,
    /// `outbound_response_limit_mb`.
    pub response_limit_mb: Option<u64>,
    /// `outbound_concurrency`.
    pub concurrency: Option<u32>,
}

type Pool = Client<HttpsConnector<GuardedConnector>, WasiBody>;

/// A guest's client, shared by all its instances.
pub struct GuestClient {
    guest: String,
    allow: Vec<AllowRule>,
    grants: AwsGrants,
    pool: Pool,
    new_connections: Arc<NewConnections>,
    slots: Arc<Semaphore>,
    response_limit: u64,
}

impl std::fmt::Debug for GuestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GuestClient")
            .field("guest", &self.guest)
            .field("allow", &self.allow)
            .finish_non_exhaustive()
    }
}

/// A request the host refused to send, and why (for the log).
pub struct Refused {
    /// What the guest sees.
    pub code: Error,
    /// Why, in words.
    pub reason: String,
}

impl GuestClient {
    /// The client for `guest`, or `None` when it may reach nothing.
    ///
    /// # Errors
    /// A malformed `outbound` entry or `aws` service, or a TLS set-up failure.
    pub fn new(
        guest: &str,
        settings: &OutboundSettings,
        guard: Arc<AddressGuard>,
    ) -> anyhow::Result<Option<Self>> {
        if settings.allow.is_empty() && settings.aws.is_empty() {
            return Ok(None);
        }
        let allow = settings
            .allow
            .iter()
            .map(|entry| AllowRule::parse(entry))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let aws = AwsEnvironment::current();
        let grants = AwsGrants::new(&settings.aws, aws.signing_region(), |key| {
            std::env::var(key).ok()
        })?;
        let new_connections = Arc::new(NewConnections::default());
        let connector = GuardedConnector::new(guard, CONNECT_TIMEOUT, new_connections.clone());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .try_with_platform_verifier()
            .map_err(|e| anyhow::anyhow!("loading the system's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(connector);
        let pool = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .build(https);
        let concurrency = settings.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1);
        Ok(Some(Self {
            guest: guest.to_owned(),
            allow,
            grants,
            pool,
            new_connections,
            slots: Arc::new(Semaphore::new(
                usize::try_from(concurrency).unwrap_or(usize::MAX),
            )),
            response_limit: settings
                .response_limit_mb
                .unwrap_or(DEFAULT_RESPONSE_LIMIT_MB)
                .saturating_mul(1024 * 1024),
        }))
    }

    /// The guest's name.
    pub fn guest(&self) -> &str {
        &self.guest
    }

    /// Sends `request` if the guest may, within `deadline` and
    /// `first_byte_timeout`; fills `record` for the call's log line.
    pub async fn send(
        &self,
        request: Request<WasiBody>,
        deadline: Option<Instant>,
        first_byte_timeout: Option<Duration>,
        record: &mut CallRecord,
    ) -> Result<Response<WasiBody>, Refused> {
        let deadline = deadline.unwrap_or_else(|| Instant::now() + NO_DEADLINE_BUDGET);
        let (scheme, host, port) = destination(&request)?;
        record.host = format!("{host}:{port}");
        let service = self
            .grants
            .service_for(scheme, &host, port, request.headers())
            .map_err(|reason| Refused {
                code: Error::HttpRequestDenied,
                reason,
            })?;
        if service.is_none() && !self.allow.iter().any(|r| r.allows(scheme, &host, port)) {
            return Err(Refused {
                code: Error::HttpRequestDenied,
                reason: format!(
                    "{} is not on the guest's `outbound` list{}",
                    destination_text(scheme, &host, port),
                    if self.grants.is_empty() {
                        String::new()
                    } else {
                        " nor a granted AWS service's endpoint".to_owned()
                    }
                ),
            });
        }
        record.signed_for = service.map(str::to_owned);

        let permit = tokio::time::timeout_at(deadline.into(), self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Refused {
                code: Error::ConnectionLimitReached,
                reason: "no request slot freed before the deadline (outbound_concurrency)".into(),
            })?
            .map_err(|_| Refused {
                code: Error::InternalError(Some("the guest's client is closed".into())),
                reason: "closed".into(),
            })?;

        let request = match service {
            Some(service) => sign(request, service, deadline).await?,
            None => request,
        };

        let until_headers = match first_byte_timeout {
            Some(limit) => deadline.min(Instant::now() + limit),
            None => deadline,
        };
        let response = tokio::time::timeout_at(until_headers.into(), self.pool.request(request))
            .await
            .map_err(|_| Refused {
                code: Error::ConnectionReadTimeout,
                reason: "no response before the deadline".into(),
            })?
            .map_err(|error| client_error(&error))?;

        record.status = Some(response.status().as_u16());
        record.connection = match response.extensions().get::<HttpInfo>() {
            Some(info) if self.new_connections.first_use(info.local_addr()) => ConnectionUse::New,
            Some(_) => ConnectionUse::Reused,
            None => ConnectionUse::Unknown,
        };
        let declared = response
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|length| length > self.response_limit) {
            return Err(Refused {
                code: Error::HttpResponseBodySize(Some(self.response_limit)),
                reason: format!(
                    "the response declares {} bytes, over the guest's cap of {} (outbound_response_limit_mb)",
                    declared.unwrap_or_default(),
                    self.response_limit
                ),
            });
        }
        let limit = self.response_limit;
        let caller = (record.guest.clone(), record.request_id.clone());
        Ok(response
            .map(|body| GuardedBody::new(body, limit, deadline, permit, caller).boxed_unsync()))
    }
}

/// Scheme, host and port of a request's URL.
fn destination<B>(request: &Request<B>) -> Result<(Scheme, String, u16), Refused> {
    let uri = request.uri();
    let invalid = |reason: &str| Refused {
        code: Error::HttpRequestUriInvalid,
        reason: format!("{uri}: {reason}"),
    };
    let scheme = uri
        .scheme_str()
        .and_then(Scheme::parse)
        .ok_or_else(|| invalid("only http and https URLs"))?;
    let host = uri.host().ok_or_else(|| invalid("no host"))?.to_owned();
    let port = uri.port_u16().unwrap_or(scheme.default_port());
    Ok((scheme, host, port))
}

fn destination_text(scheme: Scheme, host: &str, port: u16) -> String {
    let scheme = match scheme {
        Scheme::Http => "http",
        Scheme::Https => "https",
    };
    format!("{scheme}://{host}:{port}")
}

/// Signs `request` for `service` with the function's credentials: the body
/// is read (up to [`MAX_SIGNED_BODY_BYTES`]) to hash it, and any
/// credential-like header the guest set is replaced.
async fn sign(
    request: Request<WasiBody>,
    service: &str,
    deadline: Instant,
) -> Result<Request<WasiBody>, Refused> {
    let aws = AwsEnvironment::current();
    let Some(credentials) = &aws.credentials else {
        return Err(Refused {
            code: Error::InternalError(Some(format!(
                "the host has no AWS credentials to sign this {service} request with"
            ))),
            reason: "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not set".into(),
        });
    };
    let (mut parts, body) = request.into_parts();
    let collected = tokio::time::timeout_at(
        deadline.into(),
        Limited::new(body, MAX_SIGNED_BODY_BYTES).collect(),
    )
    .await
    .map_err(|_| Refused {
        code: Error::ConnectionWriteTimeout,
        reason: "the request body was not complete before the deadline".into(),
    })?
    .map_err(|error| Refused {
        code: Error::HttpRequestBodySize(None),
        reason: format!(
            "reading the body to sign it (at most {MAX_SIGNED_BODY_BYTES} bytes): {error}"
        ),
    })?;
    let body: Bytes = collected.to_bytes();
    for name in SIGNING_HEADERS {
        parts.headers.remove(*name);
    }
    let url = parts.uri.to_string();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let signature = sign_request(
        credentials,
        aws.signing_region(),
        service,
        parts.method.as_str(),
        &url,
        headers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
        &body,
    )
    .map_err(|reason| Refused {
        code: Error::InternalError(Some(format!("signing the {service} request: {reason}"))),
        reason,
    })?;
    for (name, value) in signature {
        let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) else {
            continue;
        };
        parts.headers.insert(name, value);
    }
    let body = Full::new(body)
        .map_err(|never| match never {})
        .boxed_unsync();
    Ok(Request::from_parts(parts, body))
}

/// What the guest sees for a failed send, and the reason for the log.
fn client_error(error: &hyper_util::client::legacy::Error) -> Refused {
    let chain = error_chain(error);
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(connect) = current.downcast_ref::<ConnectError>() {
            let code = match connect {
                ConnectError::Refused(_) => Error::DestinationIpProhibited,
                ConnectError::Timeout(_) => Error::ConnectionTimeout,
                ConnectError::Resolve { .. } => Error::DnsError {
                    rcode: Some(connect.to_string()),
                    info_code: None,
                },
                ConnectError::Connect { .. } => Error::ConnectionRefused,
                ConnectError::NoHost => Error::HttpRequestUriInvalid,
            };
            return Refused {
                code,
                reason: connect.to_string(),
            };
        }
        source = current.source();
    }
    let code = if chain.contains("certificate") || chain.contains("Certificate") {
        Error::TlsCertificateError
    } else if chain.contains("tls") || chain.contains("TLS") {
        Error::TlsProtocolError
    } else {
        Error::InternalError(Some(chain.clone()))
    };
    Refused {
        code,
        reason: chain,
    }
}
