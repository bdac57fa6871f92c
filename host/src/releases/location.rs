//! `s3://BUCKET/PREFIX/` and the keys of a release layout under it.

use std::fmt;

use anyhow::{Result, bail};

/// Where releases live: a bucket and a key prefix (empty, or ending in `/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// Bucket name.
    pub bucket: String,
    /// Key prefix, `""` or ending in `/`.
    pub prefix: String,
}

impl S3Location {
    /// Parses `s3://bucket/prefix/` (the trailing slash is optional).
    ///
    /// # Errors
    /// Not an `s3://` address, or no bucket.
    pub fn parse(text: &str) -> Result<Self> {
        let Some(rest) = text.trim().strip_prefix("s3://") else {
            bail!("`{text}` is not an s3://BUCKET/PREFIX/ address");
        };
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            bail!("`{text}` names no bucket (expected s3://BUCKET/PREFIX/)");
        }
        let prefix = prefix.trim_matches('/');
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        Ok(Self {
            bucket: bucket.to_owned(),
            prefix,
        })
    }

    /// The pointer to the current release.
    pub fn pointer_key(&self) -> String {
        format!("{}current", self.prefix)
    }

    /// Where copies of signed pointers live.
    pub fn pointer_history_prefix(&self) -> String {
        format!("{}pointers/", self.prefix)
    }

    /// The copy of the signed pointer with this sequence (zero-padded, so
    /// names sort as sequences do).
    pub fn pointer_history_key(&self, sequence: u64) -> String {
        format!("{}pointers/{sequence:020}.json", self.prefix)
    }

    /// Where release manifests live.
    pub fn releases_prefix(&self) -> String {
        format!("{}releases/", self.prefix)
    }

    /// A release's manifest.
    pub fn release_key(&self, id: &str) -> String {
        format!("{}releases/{id}.json", self.prefix)
    }

    /// A release's signature.
    pub fn signature_key(&self, id: &str) -> String {
        format!("{}releases/{id}.sig", self.prefix)
    }

    /// A content-addressed object.
    pub fn object_key(&self, sha256: &str) -> String {
        format!("{}objects/sha256/{sha256}", self.prefix)
    }

    /// `s3://bucket/key`, for messages.
    pub fn url_of(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_with_or_without_prefix_and_slash() {
        let l = S3Location::parse("s3://b/team/guests").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("b", "team/guests/")
        );
        assert_eq!(l.pointer_key(), "team/guests/current");
        assert_eq!(
            l.pointer_history_key(7),
            "team/guests/pointers/00000000000000000007.json"
        );
        assert_eq!(l.to_string(), "s3://b/team/guests/");
        let l = S3Location::parse("s3://b/").unwrap();
        assert_eq!(
            (l.prefix.as_str(), l.pointer_key()),
            ("", "current".to_owned())
        );
        assert_eq!(S3Location::parse("s3://b").unwrap().prefix, "");
        for bad in ["/opt/guests", "s3:///x", "http://b/x"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
    }
}
