//! The function's AWS identity from its environment: region, credentials
//! (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, which
//! Lambda sets from the execution role) and endpoint overrides.

use aws_credential_types::Credentials;

/// Region when neither `AWS_REGION` nor `AWS_DEFAULT_REGION` is set
/// (local runs against an emulator).
pub const DEFAULT_REGION: &str = "us-east-1";

/// Region and credentials read from environment variables.
#[derive(Debug, Clone)]
pub struct AwsEnvironment {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION` (`None`: neither set).
    pub region: Option<String>,
    /// The function's credentials (`None`: not set, e.g. against an emulator).
    pub credentials: Option<Credentials>,
}

impl AwsEnvironment {
    /// Reads the variables through `var` (empty values count as unset).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Self {
        let set = |key: &str| var(key).filter(|v| !v.is_empty());
        let region = set("AWS_REGION").or_else(|| set("AWS_DEFAULT_REGION"));
        let credentials = match (set("AWS_ACCESS_KEY_ID"), set("AWS_SECRET_ACCESS_KEY")) {
            (Some(key), Some(secret)) => Some(Credentials::new(
                key,
                secret,
                set("AWS_SESSION_TOKEN"),
                None,
                "environment",
            )),
            _ => None,
        };
        Self {
            region,
            credentials,
        }
    }

    /// The process's environment, read now.
    pub fn current() -> Self {
        Self::from_env(|key| std::env::var(key).ok())
    }

    /// The region to sign for: the configured one, else [`DEFAULT_REGION`].
    pub fn signing_region(&self) -> &str {
        self.region.as_deref().unwrap_or(DEFAULT_REGION)
    }
}

/// The service's part of its endpoint variable: `dynamodb` →
/// `DYNAMODB`, `secrets-manager` → `SECRETS_MANAGER` (the SDKs' rule:
/// upper case, separators as underscores).
pub fn env_service_id(service: &str) -> String {
    service
        .chars()
        .map(|c| match c {
            '-' | ' ' | '.' => '_',
            other => other.to_ascii_uppercase(),
        })
        .collect()
}

/// The endpoint configured for `service`: `AWS_ENDPOINT_URL_<SERVICE>`,
/// else `AWS_ENDPOINT_URL`, without a trailing slash.
pub fn endpoint_override(service: &str, var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |key: &str| var(key).filter(|v| !v.is_empty());
    set(&format!("AWS_ENDPOINT_URL_{}", env_service_id(service)))
        .or_else(|| set("AWS_ENDPOINT_URL"))
        .map(|url| url.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_service_variable_wins_over_the_global_one() {
        let vars = env(&[
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:1/"),
            ("AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:2"),
        ]);
        assert_eq!(
            endpoint_override("dynamodb", &vars).as_deref(),
            Some("http://127.0.0.1:2")
        );
        assert_eq!(
            endpoint_override("sqs", &vars).as_deref(),
            Some("http://127.0.0.1:1")
        );
        assert_eq!(endpoint_override("sqs", env(&[])), None);
        assert_eq!(env_service_id("secrets-manager"), "SECRETS_MANAGER");
    }

    #[test]
    fn credentials_need_both_halves() {
        let aws = AwsEnvironment::from_env(env(&[("AWS_ACCESS_KEY_ID", "AKID")]));
        assert!(aws.credentials.is_none());
        assert_eq!(aws.signing_region(), DEFAULT_REGION);
        let aws = AwsEnvironment::from_env(env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_DEFAULT_REGION", "eu-west-1"),
        ]));
        assert!(aws.credentials.is_some());
        assert_eq!(aws.signing_region(), "eu-west-1");
    }
}
