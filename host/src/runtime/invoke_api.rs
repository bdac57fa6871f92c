//! Lambda's Invoke API (`POST /2015-03-31/functions/NAME/invocations`),
//! for the warmer fan-out and the `warm` command.
//!
//! reqwest (already in the build for S3) carries the requests and the
//! official `aws-sigv4` crate signs them with the function's credentials
//! from the environment, as Lambda provides them; aws-sdk-lambda would
//! bring a second HTTP stack and its own start-up for one API call. The
//! endpoint is `AWS_ENDPOINT_URL_LAMBDA`, else `AWS_ENDPOINT_URL`, else
//! Lambda's regional endpoint.

use std::sync::OnceLock;
use std::time::Duration;

use aws_credential_types::Credentials;
use serde_json::Value;

use crate::aws::{AwsEnvironment, endpoint_override, error_chain, sign_request};

/// Longest wait for a TCP (and TLS) connection to the Invoke API.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A function to invoke: its name (or ARN) and an optional qualifier
/// (version or alias).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionRef {
    /// The function's name.
    pub name: String,
    /// Version or alias, if any.
    pub qualifier: Option<String>,
}

impl FunctionRef {
    /// Parses `NAME`, `NAME:QUALIFIER` or a function ARN
    /// (`arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`).
    ///
    /// # Errors
    /// Empty, or characters Lambda does not allow in names.
    pub fn parse(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let (name, qualifier) = match parts.as_slice() {
            ["arn", _, "lambda", _, _, "function", name] => (*name, None),
            ["arn", _, "lambda", _, _, "function", name, qualifier] => (*name, Some(*qualifier)),
            [name] => (*name, None),
            [name, qualifier] => (*name, Some(*qualifier)),
            _ => {
                return Err(format!(
                    "`{text}` is not a function name, NAME:QUALIFIER or function ARN"
                ));
            }
        };
        let valid = |s: &str| {
            !s.is_empty()
                && s.len() <= 140
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '$')
        };
        if !valid(name) || qualifier.is_some_and(|q| !valid(q)) {
            return Err(format!(
                "`{text}` is not a valid function name or qualifier"
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            qualifier: qualifier.map(str::to_owned),
        })
    }

    /// This function, as it was invoked: the invoked ARN names the alias or
    /// version; without a usable ARN (emulators), the function's name and
    /// version from Lambda's environment.
    pub fn this_function(invoked_arn: &str, name: &str, version: &str) -> Option<Self> {
        if let Ok(function) = Self::parse(invoked_arn)
            && invoked_arn.starts_with("arn:")
        {
            return Some(function);
        }
        let qualifier = (version != "$LATEST" && !version.is_empty()).then(|| version.to_owned());
        Self::parse(name).ok().map(|f| Self { qualifier, ..f })
    }
}

impl std::fmt::Display for FunctionRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.qualifier {
            Some(q) => write!(f, "{}:{q}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// Why an invocation gave no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// No connection, or the request failed on the way.
    #[error("could not reach the Invoke API at {endpoint}: {detail}")]
    Unreachable {
        /// The endpoint tried.
        endpoint: String,
        /// What went wrong.
        detail: String,
    },
    /// No answer before the deadline.
    #[error("no answer within {0} ms")]
    Timeout(u64),
    /// The API refused the call (throttled, not found, not authorised...).
    #[error("the Invoke API answered {status}: {body}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its body, cut short.
        body: String,
    },
    /// The function ran and failed.
    #[error("the function failed ({error_type}): {message}")]
    FunctionError {
        /// Lambda's `errorType`.
        error_type: String,
        /// Lambda's `errorMessage`.
        message: String,
    },
    /// The answer is not JSON.
    #[error("the answer is not JSON: {0}")]
    NotJson(String),
}

/// A client for the Invoke API, configured from the environment.
#[derive(Debug)]
pub struct InvokeClient {
    http: reqwest::Client,
    endpoint: String,
    region: String,
    credentials: Option<Credentials>,
}

impl InvokeClient {
    /// The process's client, made once (connections are kept between pings).
    ///
    /// # Errors
    /// No region and no endpoint override, or an HTTP client that cannot be built.
    pub fn shared() -> Result<&'static Self, String> {
        static CLIENT: OnceLock<Result<InvokeClient, String>> = OnceLock::new();
        CLIENT
            .get_or_init(|| Self::from_env(|key| std::env::var(key).ok()))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// A client from variables read through `var`.
    ///
    /// # Errors
    /// As [`InvokeClient::shared`].
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let aws = AwsEnvironment::from_env(&var);
        let endpoint = match endpoint_override("lambda", &var) {
            Some(endpoint) => endpoint,
            None => match &aws.region {
                Some(region) => format!("https://lambda.{region}.amazonaws.com"),
                None => {
                    return Err("no Invoke API endpoint: set AWS_REGION (Lambda sets it) or AWS_ENDPOINT_URL_LAMBDA".to_owned());
                }
            },
        };
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| format!("building the HTTP client: {e}"))?;
        Ok(Self {
            http,
            endpoint,
            region: aws.signing_region().to_owned(),
            credentials: aws.credentials,
        })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Invokes `function` synchronously (`RequestResponse`) with `payload`
    /// and returns its JSON answer, waiting at most `timeout`.
    ///
    /// # Errors
    /// See [`InvokeError`].
    pub async fn invoke(
        &self,
        function: &FunctionRef,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Value, InvokeError> {
        let mut url = format!(
            "{}/2015-03-31/functions/{}/invocations",
            self.endpoint, function.name
        );
        if let Some(qualifier) = &function.qualifier {
            url.push_str("?Qualifier=");
            url.push_str(qualifier);
        }
        let mut request = self
            .http
            .post(&url)
            .timeout(timeout)
            .header("content-type", "application/json")
            .header("x-amz-invocation-type", "RequestResponse");
        for (name, value) in self.signature(&url, payload)? {
            request = request.header(name, value);
        }
        let unreachable = |e: reqwest::Error| {
            if e.is_timeout() {
                InvokeError::Timeout(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX))
            } else {
                InvokeError::Unreachable {
                    endpoint: self.endpoint.clone(),
                    detail: error_chain(&e),
                }
            }
        };
        let response = request
            .body(payload.to_vec())
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() && !function_error {
            let text = String::from_utf8_lossy(&body);
            return Err(InvokeError::Refused {
                status: status.as_u16(),
                body: text.chars().take(300).collect(),
            });
        }
        let answer: Value = serde_json::from_slice(&body).map_err(|e| {
            InvokeError::NotJson(format!(
                "{e}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(200)
                    .collect::<String>()
            ))
        })?;
        if function_error || !status.is_success() {
            let field = |key: &str| {
                answer
                    .get(key)
                    .and_then(Value::as_str)
                    .unwrap_or("unknown")
                    .to_owned()
            };
            return Err(InvokeError::FunctionError {
                error_type: field("errorType"),
                message: field("errorMessage"),
            });
        }
        Ok(answer)
    }

    /// SigV4 headers for a POST of `payload` to `url`; none without
    /// credentials (an emulator).
    fn signature(&self, url: &str, payload: &[u8]) -> Result<Vec<(String, String)>, InvokeError> {
        let Some(credentials) = &self.credentials else {
            return Ok(Vec::new());
        };
        let failed = |detail: String| InvokeError::Unreachable {
            endpoint: self.endpoint.clone(),
            detail: format!("signing the request: {detail}"),
        };
        let headers = [
            ("content-type", "application/json"),
            ("x-amz-invocation-type", "RequestResponse"),
        ];
        sign_request(
            credentials,
            &self.region,
            "lambda",
            "POST",
            url,
            headers.into_iter(),
            payload,
        )
        .map_err(failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_parse_from_names_qualifiers_and_arns() {
        let f = FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:orders:live")
            .unwrap();
        assert_eq!(
            (f.name.as_str(), f.qualifier.as_deref()),
            ("orders", Some("live"))
        );
        let f =
            FunctionRef::parse("arn:aws:lambda:eu-west-1:123456789012:function:orders").unwrap();
        assert_eq!((f.name.as_str(), f.qualifier), ("orders", None));
        assert_eq!(
            FunctionRef::parse("orders:7").unwrap().to_string(),
            "orders:7"
        );
        for bad in ["", "a b", "x:y:z", "orders/../x", "arn:aws:s3:::bucket"] {
            assert!(FunctionRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn this_function_prefers_the_invoked_arn() {
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders:prod";
        let f = FunctionRef::this_function(arn, "orders", "3").unwrap();
        assert_eq!(
            f.qualifier.as_deref(),
            Some("prod"),
            "an alias warms that alias"
        );
        // Emulators send no real ARN: the environment's name and version.
        let f = FunctionRef::this_function("function-arn", "orders", "3").unwrap();
        assert_eq!(
            (f.name.as_str(), f.qualifier.as_deref()),
            ("orders", Some("3"))
        );
        let f = FunctionRef::this_function("", "orders", "$LATEST").unwrap();
        assert_eq!(f.qualifier, None);
    }

    #[test]
    fn the_endpoint_comes_from_the_standard_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let client = InvokeClient::from_env(env(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(client.endpoint(), "https://lambda.eu-west-1.amazonaws.com");
        let client = InvokeClient::from_env(env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/"),
            ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:2"),
        ]))
        .unwrap();
        assert_eq!(client.endpoint(), "http://127.0.0.1:2");
        let error = InvokeClient::from_env(env(&[])).unwrap_err();
        assert!(error.contains("AWS_REGION"), "{error}");
    }

    #[test]
    fn requests_with_credentials_are_signed() {
        let client = InvokeClient::from_env(|key| {
            match key {
                "AWS_REGION" => Some("us-east-1"),
                "AWS_ACCESS_KEY_ID" => Some("AKIDEXAMPLE"),
                "AWS_SECRET_ACCESS_KEY" => Some("secret"),
                "AWS_SESSION_TOKEN" => Some("token"),
                _ => None,
            }
            .map(str::to_owned)
        })
        .unwrap();
        let headers = client
            .signature(
                "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions/f/invocations",
                b"{}",
            )
            .unwrap();
        let names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
        assert!(
            names.contains(&"authorization") && names.contains(&"x-amz-date"),
            "{names:?}"
        );
        assert!(names.contains(&"x-amz-security-token"), "{names:?}");
        let authorization = &headers
            .iter()
            .find(|(n, _)| n == "authorization")
            .unwrap()
            .1;
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
                && authorization.contains("/us-east-1/lambda/aws4_request"),
            "{authorization}"
        );
    }
}
