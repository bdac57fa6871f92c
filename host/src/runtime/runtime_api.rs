//! The Lambda Runtime API, as a client for what `lambda_runtime` does not
//! offer: reporting an init error. Polling and answering are
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

    /// Reports that init failed; Lambda then ends the environment.
    ///
    /// # Errors
    /// The Runtime API refused it or is unreachable.
    pub async fn report_init_error(&self, error_type: &str, message: &str) -> Result<()> {
        const PATH: &str = "/2018-06-01/runtime/init/error";
        let request: Request<Body> = build_request()
            .method(Method::POST)
            .uri(PATH)
            .header("Lambda-Runtime-Function-Error-Type", error_type)
            .body(Body::new(http_body_util::Full::new(error_body(
                error_type, message,
            ))))
            .context("building the init error request")?;
        let response = self
            .client
            .call(request)
            .await
            .map_err(|e| anyhow!("Runtime API {PATH}: {e}"))?;
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            let answer = body
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            bail!(
                "Runtime API answered {} to {PATH}: {}",
                parts.status,
                String::from_utf8_lossy(&answer)
            );
        }
        Ok(())
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
