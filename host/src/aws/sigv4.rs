//! SigV4 through the official `aws-sigv4` crate: never a hand-written signer.

use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;

/// The headers that sign a request (`authorization`, `x-amz-date`, and
/// `x-amz-security-token` with temporary credentials), to add to it.
///
/// `headers` are the ones the request is sent with that the signature
/// should cover (at least `host` comes from `url`).
///
/// # Errors
/// A URL, header or signing parameter `aws-sigv4` refuses, as text.
pub fn sign_request<'a>(
    credentials: &Credentials,
    region: &str,
    service: &str,
    method: &'a str,
    url: &'a str,
    headers: impl Iterator<Item = (&'a str, &'a str)>,
    body: &'a [u8],
) -> Result<Vec<(String, String)>, String> {
    let identity: Identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings_for(service))
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signable = SignableRequest::new(method, url, headers, SignableBody::Bytes(body))
        .map_err(|e| e.to_string())?;
    let (instructions, _signature) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect())
}

/// S3 signs differently from every other service: it wants the payload's
/// hash in `x-amz-content-sha256`, and paths neither normalized nor
/// encoded twice (object keys may contain `//` and `%`).
fn settings_for(service: &str) -> SigningSettings {
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    }
    settings
}
