//! The S3 client: object_store's, configured from the standard AWS
//! environment variables (as Lambda sets them), with bounded retries so a
//! slow or throttling S3 fails inside Lambda's 10 s init limit, and errors
//! sorted into the kinds the host reports.

use std::time::Duration;

use bytes::Bytes;
use object_store::aws::{AmazonS3, AmazonS3Builder, Checksum};
use object_store::path::Path as KeyPath;
use object_store::{
    BackoffConfig, Certificate, ClientOptions, GetOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use super::location::S3Location;

/// Longest wait for a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Longest one request may take (body included). With [`RETRY_WINDOW`]
/// shorter than it, a hung S3 costs one timeout, not several: init fails
/// well inside Lambda's 10 s.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
/// Retries of a failed request (throttling, 5xx, network), and the time
/// after the first attempt past which none is made.
pub const MAX_RETRIES: usize = 3;
/// See [`MAX_RETRIES`].
pub const RETRY_WINDOW: Duration = Duration::from_secs(3);

/// What a conditional write expects to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// No object.
    Absent,
    /// The object with this ETag.
    ETag(String),
}

/// Why an S3 call failed, as far as the host's reports are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3ErrorKind {
    /// No credentials in the environment.
    Credentials,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The object does not exist.
    NotFound,
    /// Credentials refused, or not allowed to read this key.
    Denied,
    /// Network, throttling or server errors, after the bounded retries.
    Unavailable,
}

/// An S3 call's failure, with the bucket and key in the message.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct S3Error {
    /// What kind of failure.
    pub kind: S3ErrorKind,
    /// For people: what, where, why.
    pub message: String,
}

/// The certificates the S3 client trusts: Mozilla's roots as compiled into
/// `webpki-root-certs` (the set Amazon's S3 chains to, and the set the
/// Lambda base image's own bundle is made from), unless `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` names a store of the user's choice (a private CA in
/// front of an S3-compatible endpoint), which is then read as before.
///
/// Why not the system's store always: reading it is a bundle plus a
/// directory of ~150 hashed links to parse, ~8 ms on every cold start
/// before the first S3 request can go out (BENCHMARKS.md, "Releases on S3").
fn with_trusted_roots(options: ClientOptions) -> ClientOptions {
    let user_store = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    with_roots_for(options, user_store)
}

/// [`with_trusted_roots`] once the environment is read.
fn with_roots_for(options: ClientOptions, user_store: bool) -> ClientOptions {
    if user_store {
        return options;
    }
    webpki_root_certs::TLS_SERVER_ROOT_CERTS
        .iter()
        .filter_map(|der| Certificate::from_der(der).ok())
        .fold(
            options.with_no_system_certificates(true),
            |options, root| options.with_root_certificate(root),
        )
}

/// An S3 bucket, addressed by [`S3Location`].
#[derive(Debug, Clone)]
pub struct S3 {
    store: AmazonS3,
    /// Where the releases live.
    pub location: S3Location,
}

impl S3 {
    /// A client for `location` from the environment.
    ///
    /// # Errors
    /// No credentials (fails at once rather than waiting for an instance
    /// metadata service a Lambda function does not use), or a setting that
    /// object_store refuses.
    pub fn from_env(location: &S3Location) -> Result<Self, S3Error> {
        let has = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let credentials = has("AWS_ACCESS_KEY_ID")
            || has("AWS_CONTAINER_CREDENTIALS_FULL_URI")
            || has("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || has("AWS_WEB_IDENTITY_TOKEN_FILE")
            || std::env::var("AWS_SKIP_SIGNATURE").is_ok_and(|v| v == "true");
        if !credentials {
            return Err(S3Error {
                kind: S3ErrorKind::Credentials,
                message: format!(
                    "no AWS credentials for {location}: set AWS_ACCESS_KEY_ID and \
                     AWS_SECRET_ACCESS_KEY (Lambda sets them from the function's role)"
                ),
            });
        }
        // An http:// endpoint (a local S3 such as moto or MinIO) is the
        // user's explicit choice; allow it rather than ask for a second flag.
        let plain_http = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL", "AWS_ENDPOINT"]
            .iter()
            .any(|name| std::env::var(name).is_ok_and(|v| v.starts_with("http://")));
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: MAX_RETRIES,
            retry_timeout: RETRY_WINDOW,
        };
        let options = with_trusted_roots(
            ClientOptions::new()
                .with_connect_timeout(CONNECT_TIMEOUT)
                .with_timeout(REQUEST_TIMEOUT)
                .with_allow_http(plain_http),
        );
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(&location.bucket)
            .with_retry(retry)
            .with_client_options(options)
            // S3 checks every upload's sha256 before storing it.
            .with_checksum_algorithm(Checksum::SHA256)
            .build()
            .map_err(|e| S3Error {
                kind: S3ErrorKind::Credentials,
                message: format!("S3 settings for {location}: {e}"),
            })?;
        Ok(Self {
            store,
            location: location.clone(),
        })
    }

    /// Reads an object whole; with its ETag.
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn get(&self, key: &str) -> Result<(Bytes, Option<String>), S3Error> {
        self.get_if_changed(key, None).await?.ok_or_else(|| {
            self.error(
                key,
                object_store::Error::NotImplemented {
                    operation: "unconditional GET answered 304".into(),
                    implementer: "S3".into(),
                },
            )
        })
    }

    /// Reads an object unless its ETag is still `etag` (`None`: unchanged).
    /// An unchanged object costs one small round trip.
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn get_if_changed(
        &self,
        key: &str,
        etag: Option<&str>,
    ) -> Result<Option<(Bytes, Option<String>)>, S3Error> {
        let options = GetOptions::new().with_if_none_match(etag.map(str::to_owned));
        let result = match self.store.get_opts(&KeyPath::from(key), options).await {
            Ok(result) => result,
            Err(object_store::Error::NotModified { .. }) => return Ok(None),
            Err(error) => return Err(self.error(key, error)),
        };
        let etag = result.meta.e_tag.clone();
        let bytes = result.bytes().await.map_err(|e| self.error(key, e))?;
        Ok(Some((bytes, etag)))
    }

    /// Reads the bytes `range` of an object (an artifact's trailer, without
    /// its tens of megabytes of code).
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn get_range(
        &self,
        key: &str,
        range: std::ops::Range<u64>,
    ) -> Result<Bytes, S3Error> {
        self.store
            .get_range(&KeyPath::from(key), range)
            .await
            .map_err(|e| self.error(key, e))
    }

    /// The size of an object, or `None` if there is none.
    ///
    /// # Errors
    /// See [`S3ErrorKind`] (a missing object is `Ok(None)`).
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>, S3Error> {
        match self.store.head(&KeyPath::from(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(error) => Err(self.error(key, error)),
        }
    }

    /// Writes an object (S3 verifies its sha256 on arrival).
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), S3Error> {
        self.store
            .put(&KeyPath::from(key), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| self.error(key, e))
    }

    /// Writes an object only if it is still as `expected` (S3's conditional
    /// writes: `If-None-Match: *` / `If-Match: ETAG`); `Ok(false)`, nothing
    /// written, if someone else wrote it meanwhile.
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn put_if(
        &self,
        key: &str,
        bytes: Vec<u8>,
        expected: &Expected,
    ) -> Result<bool, S3Error> {
        let mode = match expected {
            Expected::Absent => PutMode::Create,
            Expected::ETag(etag) => PutMode::Update(UpdateVersion {
                e_tag: Some(etag.clone()),
                version: None,
            }),
        };
        let options = PutOptions {
            mode,
            ..PutOptions::default()
        };
        match self
            .store
            .put_opts(&KeyPath::from(key), PutPayload::from(bytes), options)
            .await
        {
            Ok(_) => Ok(true),
            Err(
                object_store::Error::AlreadyExists { .. }
                | object_store::Error::Precondition { .. },
            ) => Ok(false),
            Err(error) => Err(self.error(key, error)),
        }
    }

    /// The keys directly under `prefix` (one level).
    ///
    /// # Errors
    /// See [`S3ErrorKind`].
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, S3Error> {
        let path = KeyPath::from(prefix.trim_end_matches('/'));
        let listing = self
            .store
            .list_with_delimiter(Some(&path))
            .await
            .map_err(|e| self.error(prefix, e))?;
        Ok(listing
            .objects
            .into_iter()
            .map(|o| o.location.to_string())
            .collect())
    }

    fn error(&self, key: &str, error: object_store::Error) -> S3Error {
        let url = self.location.url_of(key);
        let text = error.to_string();
        let kind = match &error {
            _ if text.contains("NoSuchBucket") => S3ErrorKind::NoSuchBucket,
            object_store::Error::NotFound { .. } => S3ErrorKind::NotFound,
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => S3ErrorKind::Denied,
            _ => S3ErrorKind::Unavailable,
        };
        let message = match kind {
            S3ErrorKind::NoSuchBucket => {
                format!("{url}: bucket `{}` does not exist", self.location.bucket)
            }
            S3ErrorKind::NotFound => format!("{url}: no such object"),
            S3ErrorKind::Denied => format!("{url}: access denied: {text}"),
            S3ErrorKind::Credentials => format!("{url}: {text}"),
            S3ErrorKind::Unavailable => format!(
                "{url}: S3 did not answer in time or kept failing \
                 ({MAX_RETRIES} retries within {} s): {text}",
                RETRY_WINDOW.as_secs()
            ),
        };
        S3Error { kind, message }
    }
}

#[cfg(test)]
mod tests {
    use object_store::ClientConfigKey;

    use super::*;

    #[test]
    fn compiled_in_roots_replace_the_system_store_unless_the_user_names_one() {
        let no_system = |options: &ClientOptions| {
            options.get_config_value(&ClientConfigKey::NoSystemCertificates)
        };
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        // Every compiled-in root is accepted (none dropped by from_der).
        assert!(
            webpki_root_certs::TLS_SERVER_ROOT_CERTS
                .iter()
                .all(|der| Certificate::from_der(der).is_ok())
        );
        let ours = with_roots_for(ClientOptions::new(), false);
        assert_eq!(no_system(&ours).as_deref(), Some("true"));
        let users = with_roots_for(ClientOptions::new(), true);
        assert_eq!(no_system(&users).as_deref(), Some("false"));
    }
}
