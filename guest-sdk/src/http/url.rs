//! Splitting a URL into what `wasi:http` asks for: scheme, authority and
//! path with query. Hand-written (a dozen lines) rather than the `url`
//! crate, which would add its IDNA tables to every guest that makes a
//! request; the host checks the destination anyway.

use super::{HttpError, HttpErrorKind};

/// The parts of an absolute `http` or `https` URL.
#[derive(Debug, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// `http` or `https`, lower case.
    pub https: bool,
    /// `host[:port]`.
    pub authority: &'a str,
    /// `/path?query` (at least `/`), without the fragment.
    pub path_with_query: String,
}

/// Splits `url`.
pub fn split(url: &str) -> Result<UrlParts<'_>, HttpError> {
    let invalid =
        |why: &str| HttpError::new(HttpErrorKind::InvalidRequest, format!("`{url}`: {why}"));
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("not an absolute URL (write http:// or https://)"))?;
    let https = if scheme.eq_ignore_ascii_case("https") {
        true
    } else if scheme.eq_ignore_ascii_case("http") {
        false
    } else {
        return Err(invalid("only http and https URLs"));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if authority.is_empty() || authority.contains('@') {
        return Err(invalid("no host, or a user name in it"));
    }
    let tail = tail.split('#').next().unwrap_or("");
    let path_with_query = if tail.starts_with('/') {
        tail.to_owned()
    } else {
        format!("/{tail}")
    };
    Ok(UrlParts {
        https,
        authority,
        path_with_query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_wasi_parts() {
        let parts = split("https://api.example.com:8443/a/b?x=1#frag").unwrap();
        assert_eq!(
            parts,
            UrlParts {
                https: true,
                authority: "api.example.com:8443",
                path_with_query: "/a/b?x=1".into()
            }
        );
        assert_eq!(split("http://h").unwrap().path_with_query, "/");
        assert_eq!(split("HTTP://h?q").unwrap().path_with_query, "/?q");
        assert_eq!(split("http://[::1]:80/").unwrap().authority, "[::1]:80");
        for bad in ["h/x", "ftp://h", "http:///x", "http://u@h/"] {
            assert_eq!(
                split(bad).unwrap_err().kind(),
                HttpErrorKind::InvalidRequest,
                "{bad}"
            );
        }
    }
}
