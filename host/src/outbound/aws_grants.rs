//! `aws = ["dynamodb", "s3", "sqs"]` in `guests.toml`: AWS services whose
//! requests the host signs for the guest with the function's credentials.
//!
//! A grant also allows the service's endpoints, so they need not be in
//! `outbound`: the regional one (`https://SERVICE.REGION.amazonaws.com`,
//! any subdomain of it such as an S3 bucket's, and the global
//! `https://SERVICE.amazonaws.com`), and the endpoint set by
//! `AWS_ENDPOINT_URL_<SERVICE>` or else `AWS_ENDPOINT_URL`, as the AWS SDKs
//! read them (LocalStack, moto, VPC endpoints).

use anyhow::{Result, bail};
use http::HeaderMap;

use super::allow_list::{AllowRule, Scheme, normalize_host};
use crate::aws::endpoint_override;

/// Services some AWS APIs name in `X-Amz-Target`, used only when one
/// endpoint (`AWS_ENDPOINT_URL`) serves several granted services.
const TARGET_PREFIXES: &[(&str, &str)] = &[
    ("DynamoDB_", "dynamodb"),
    ("DynamoDBStreams_", "dynamodb"),
    ("AmazonSQS.", "sqs"),
    ("Kinesis_", "kinesis"),
    ("AWSEvents.", "events"),
    ("secretsmanager.", "secretsmanager"),
    ("AmazonSSM.", "ssm"),
    ("AWSStepFunctions.", "states"),
];

/// One granted service and where its endpoints are.
#[derive(Debug, Clone)]
struct Grant {
    service: String,
    /// `SERVICE.REGION.amazonaws.com`.
    regional: String,
    /// `SERVICE.amazonaws.com`.
    global: String,
    /// The override endpoint, as an allow rule (scheme, host, port).
    overridden: Option<AllowRule>,
}

/// A guest's grants, with the endpoints resolved from the environment once.
#[derive(Debug, Clone, Default)]
pub struct AwsGrants {
    grants: Vec<Grant>,
}

impl AwsGrants {
    /// Validates service names (lower case letters, digits, `-`).
    ///
    /// # Errors
    /// A name that cannot be an AWS service's.
    pub fn validate(services: &[String]) -> Result<()> {
        for service in services {
            let valid = !service.is_empty()
                && service
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !valid {
                bail!(
                    "`{service}` is not an AWS service name (write it as in its endpoint, e.g. dynamodb, s3, sqs)"
                );
            }
        }
        Ok(())
    }

    /// Grants for `services` in `region`, endpoint overrides read through `var`.
    ///
    /// # Errors
    /// An invalid service name, or an override endpoint that is not a URL.
    pub fn new(
        services: &[String],
        region: &str,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        Self::validate(services)?;
        let mut grants = Vec::new();
        for service in services {
            let overridden =
                match endpoint_override(service, &var) {
                    Some(url) => Some(AllowRule::parse(&url).map_err(|e| {
                        anyhow::anyhow!("the endpoint override for {service}: {e:#}")
                    })?),
                    None => None,
                };
            grants.push(Grant {
                service: service.clone(),
                regional: format!("{service}.{region}.amazonaws.com"),
                global: format!("{service}.amazonaws.com"),
                overridden,
            });
        }
        Ok(Self { grants })
    }

    /// True when no service is granted.
    pub fn is_empty(&self) -> bool {
        self.grants.is_empty()
    }

    /// The granted service a request to `scheme://host:port` is for
    /// (`None`: not a granted service's endpoint).
    ///
    /// # Errors
    /// The endpoint serves several granted services and the request does
    /// not say which (no known `X-Amz-Target`).
    pub fn service_for(
        &self,
        scheme: Scheme,
        host: &str,
        port: u16,
        headers: &HeaderMap,
    ) -> Result<Option<&str>, String> {
        let host = normalize_host(host);
        let matching: Vec<&Grant> = self
            .grants
            .iter()
            .filter(|grant| grant.serves(scheme, &host, port))
            .collect();
        match matching.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(&one.service)),
            several => {
                let named = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|target| {
                        TARGET_PREFIXES
                            .iter()
                            .find(|(prefix, _)| target.starts_with(prefix))
                    })
                    .and_then(|(_, service)| several.iter().find(|g| g.service == *service));
                match named {
                    Some(grant) => Ok(Some(&grant.service)),
                    None => Err(format!(
                        "{host}:{port} is the endpoint of several granted services ({}); set AWS_ENDPOINT_URL_<SERVICE> for each",
                        several
                            .iter()
                            .map(|g| g.service.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                }
            }
        }
    }
}

impl Grant {
    fn serves(&self, scheme: Scheme, host: &str, port: u16) -> bool {
        if let Some(rule) = &self.overridden
            && rule.allows(scheme, host, port)
        {
            return true;
        }
        let aws_endpoint = host == self.regional
            || host == self.global
            || host
                .strip_suffix(&self.regional)
                .is_some_and(|prefix| prefix.ends_with('.'));
        aws_endpoint && scheme == Scheme::Https && port == 443
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(services: &[&str], vars: &'static [(&'static str, &'static str)]) -> AwsGrants {
        let services: Vec<String> = services.iter().map(|s| (*s).to_owned()).collect();
        AwsGrants::new(&services, "eu-west-1", |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap()
    }

    #[test]
    fn regional_endpoints_and_subdomains_match() {
        let g = grants(&["dynamodb", "s3"], &[]);
        let none = HeaderMap::new();
        let at = |host: &str| g.service_for(Scheme::Https, host, 443, &none).unwrap();
        assert_eq!(at("dynamodb.eu-west-1.amazonaws.com"), Some("dynamodb"));
        assert_eq!(at("bucket.s3.eu-west-1.amazonaws.com"), Some("s3"));
        assert_eq!(at("s3.amazonaws.com"), Some("s3"));
        assert_eq!(at("dynamodb.us-east-1.amazonaws.com"), None);
        assert_eq!(at("sqs.eu-west-1.amazonaws.com"), None);
        assert_eq!(at("xdynamodb.eu-west-1.amazonaws.com"), None);
        assert_eq!(
            g.service_for(Scheme::Http, "dynamodb.eu-west-1.amazonaws.com", 80, &none)
                .unwrap(),
            None
        );
    }

    #[test]
    fn overrides_match_and_a_shared_endpoint_needs_a_target() {
        let g = grants(
            &["dynamodb", "sqs"],
            &[("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")],
        );
        let mut headers = HeaderMap::new();
        let error = g
            .service_for(Scheme::Http, "127.0.0.1", 4566, &headers)
            .unwrap_err();
        assert!(error.contains("dynamodb, sqs"), "{error}");
        headers.insert("x-amz-target", "AmazonSQS.SendMessage".parse().unwrap());
        assert_eq!(
            g.service_for(Scheme::Http, "127.0.0.1", 4566, &headers)
                .unwrap(),
            Some("sqs")
        );
        let g = grants(
            &["dynamodb"],
            &[("AWS_ENDPOINT_URL_DYNAMODB", "http://localhost:8000/")],
        );
        assert_eq!(
            g.service_for(Scheme::Http, "localhost", 8000, &HeaderMap::new())
                .unwrap(),
            Some("dynamodb")
        );
    }

    #[test]
    fn service_names_are_checked() {
        assert!(AwsGrants::validate(&["dynamodb".into(), "secrets-manager".into()]).is_ok());
        assert!(AwsGrants::validate(&["DynamoDB".into()]).is_err());
        assert!(AwsGrants::validate(&["".into()]).is_err());
    }
}
