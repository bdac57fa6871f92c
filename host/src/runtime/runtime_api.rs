//! The Lambda Runtime API, as a client for what `lambda_runtime` does not
//! offer: the init error (and answers, for tools). Polling is
//! `lambda_runtime`'s (see `runtime_loop`).
//! See <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, Result, anyhow, bail};
use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{Client, build_request};

use crate::runtime::invocation;

/// A Runtime API client.
pub struct RuntimeApi {
    client: Client,
}

impl RuntimeApi {
    /// Connects to the endpoint in `AWS_LAMBDA_RUNTIME_API` form: `host:port`
    /// on Lambda, or a full URL such as `http://127.0.0.1:9000/.rt` (cargo-lambda).
    ///
    /// # Errors
    /// The value is not a usable address.
    pub fn new(endpoint: &str) -> Result<Self> {
        let url = if endpoint.contains("://") {
            endpoint.to_owned()
        } else {
            format!("http://{endpoint}")
        };
        let uri: Uri = url
            .parse()
            .with_context(|| format!("AWS_LAMBDA_RUNTIME_API `{endpoint}` is not an address"))?;
        if uri.authority().is_none() {
            bail!("AWS_LAMBDA_RUNTIME_API `{endpoint}` has no host");
        }
        let client = Client::builder()
            .with_endpoint(uri)
            .build()
            .map_err(|e| anyhow!("Runtime API client: {e}"))?;
        Ok(Self { client })
    }

    /// Sends an invocation's answer.
    ///
    /// # Errors
    /// The Runtime API refused it or is unreachable.
    pub async fn respond(&self, request_id: &str, body: Vec<u8>) -> Result<()> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/response");
        self.post(&path, body.into(), None).await
    }

    /// Reports an invocation's failure.
    ///
    /// # Errors
    /// The Runtime API refused it or is unreachable.
    pub async fn report_error(
        &self,
        request_id: &str,
        error_type: &str,
        message: &str,
    ) -> Result<()> {
        let path = format!("/2018-06-01/runtime/invocation/{request_id}/error");
        self.post(&path, error_body(error_type, message), Some(error_type))
            .await
    }

    /// Reports that init failed; Lambda then ends the environment.
    ///
    /// # Errors
    /// The Runtime API refused it or is unreachable.
    pub async fn report_init_error(&self, error_type: &str, message: &str) -> Result<()> {
        self.post(
            "/2018-06-01/runtime/init/error",
            error_body(error_type, message),
            Some(error_type),
        )
        .await
    }

    async fn post(&self, path: &str, body: Bytes, error_type: Option<&str>) -> Result<()> {
        let (status, _, answer) = self.call_with(Method::POST, path, body, error_type).await?;
        if !status.is_success() {
            bail!(
                "Runtime API answered {status} to {path}: {}",
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(())
    }

    async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Bytes,
        error_type: Option<&str>,
    ) -> Result<(http::StatusCode, http::HeaderMap, Bytes)> {
        let mut request = build_request().method(method).uri(path);
        if let Some(error_type) = error_type {
            request = request.header("Lambda-Runtime-Function-Error-Type", error_type);
        }
        let request: Request<Body> = request
            .body(Body::new(http_body_util::Full::new(body)))
            .with_context(|| format!("building request for {path}"))?;
        let response = self
            .client
            .call(request)
            .await
            .map_err(|e| anyhow!("Runtime API {path}: {e}"))?;
        let (parts, body) = response.into_parts();
        let bytes = body
            .collect()
            .await
            .with_context(|| format!("reading Runtime API answer for {path}"))?
            .to_bytes();
        Ok((parts.status, parts.headers, bytes))
    }
}

fn error_body(error_type: &str, message: &str) -> Bytes {
    invocation::error_body(error_type, message)
        .to_string()
        .into()
}

/// Lambda sends the deadline as milliseconds since the Unix epoch. Some
/// emulators (cargo-lambda) send the function timeout instead; a value too
/// small to be a date since 2001 is taken as milliseconds from now. With no
/// header at all, Lambda's default 3 s timeout applies.
pub fn deadline_from_header(value: Option<u64>) -> SystemTime {
    const YEAR_2001_MS: u64 = 978_307_200_000;
    match value {
        Some(ms) if ms >= YEAR_2001_MS => UNIX_EPOCH + Duration::from_millis(ms),
        Some(ms) => SystemTime::now() + Duration::from_millis(ms),
        None => SystemTime::now() + Duration::from_secs(3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_absolute_relative_and_missing() {
        let absolute = deadline_from_header(Some(1_795_386_421_631));
        assert_eq!(
            absolute,
            UNIX_EPOCH + Duration::from_millis(1_795_386_421_631)
        );
        let relative = deadline_from_header(Some(600_000))
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(
            relative > Duration::from_secs(590) && relative <= Duration::from_secs(600),
            "{relative:?}"
        );
        let default = deadline_from_header(None)
            .duration_since(SystemTime::now())
            .unwrap();
        assert!(
            default > Duration::from_secs(2) && default <= Duration::from_secs(3),
            "{default:?}"
        );
    }

    #[test]
    fn endpoints_with_and_without_scheme() {
        assert!(RuntimeApi::new("127.0.0.1:9001").is_ok());
        assert!(RuntimeApi::new("http://127.0.0.1:9000/.rt").is_ok());
        assert!(RuntimeApi::new("").is_err());
        assert!(RuntimeApi::new("http://").is_err());
    }
}
