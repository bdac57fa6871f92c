//! Names and file names that come from users: guest and model names become
//! file names and path segments, so nothing that could climb out of a
//! folder gets through.

use anyhow::{Result, bail};

/// Guest and model names: letters, digits, `-` and `_`, at most 64, not
/// starting with `-`.
///
/// # Errors
/// The name breaks those rules.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        bail!("invalid name `{name}`: use 1-64 letters, digits, `-` or `_`");
    }
    Ok(())
}

/// A file name a manifest gives: a plain name inside the folder (no
/// separators, no `..`, not hidden).
///
/// # Errors
/// The file name breaks those rules.
pub fn validate_file_name(file: &str) -> Result<()> {
    if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
        bail!("`{file}` must be a plain file name inside the folder");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_tricks_are_refused() {
        for name in ["../x", "a/b", "", "-rf", "a b", "é", &"x".repeat(65)] {
            assert!(validate_name(name).is_err(), "{name:?} accepted");
        }
        for name in ["hello", "http-router", "v2_orders", "A1"] {
            assert!(validate_name(name).is_ok(), "{name:?} refused");
        }
        for file in [
            "../x.wasm",
            "a/b.wasm",
            "..",
            ".",
            ".hidden",
            "/etc/passwd",
            "a\\b",
            "",
        ] {
            assert!(validate_file_name(file).is_err(), "{file:?} accepted");
        }
        assert!(validate_file_name("orders-v2.wasm").is_ok());
    }
}
