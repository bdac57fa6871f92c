//! sha256 pins: a manifest may fix the exact bytes of a guest or model.

use anyhow::{Result, bail};
use sha2::{Digest, Sha256};

/// sha256 of some bytes.
pub type Sha256Digest = [u8; 32];

/// Hashes bytes.
pub fn digest(bytes: &[u8]) -> Sha256Digest {
    Sha256::digest(bytes).into()
}

/// Lowercase hex of a digest, as used in manifests and cache file names.
pub fn hex(digest: &Sha256Digest) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The digest a pin spells (64 hex digits, either case), if it is one.
pub fn from_hex(text: &str) -> Option<Sha256Digest> {
    if !is_pin(text) {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(text.as_bytes().chunks(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(digest)
}

/// Whether `text` has the form of a pin: 64 hex digits.
pub fn is_pin(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Checks a file's digest against the manifest's pin, if there is one.
///
/// # Errors
/// The pin does not match; the message names the file, the manifest and both digests.
pub fn check(
    pin: Option<&str>,
    digest: &Sha256Digest,
    file: &std::path::Path,
    manifest: &str,
) -> Result<()> {
    let Some(pin) = pin else { return Ok(()) };
    let actual = hex(digest);
    if !actual.eq_ignore_ascii_case(pin) {
        bail!(
            "sha256 mismatch for {}: {manifest} pins {pin}, file has {actual}",
            file.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_match_case_insensitively_and_mismatches_say_both() {
        let d = digest(b"abc");
        let h = hex(&d);
        assert!(is_pin(&h));
        assert!(!is_pin("abc"));
        assert_eq!(from_hex(&h), Some(d));
        assert_eq!(from_hex(&h.to_uppercase()), Some(d));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex(&"g".repeat(64)), None);
        let path = std::path::Path::new("x.wasm");
        assert!(check(None, &d, path, "guests.toml").is_ok());
        assert!(check(Some(&h.to_uppercase()), &d, path, "guests.toml").is_ok());
        let wrong = "0".repeat(64);
        let message = format!(
            "{:#}",
            check(Some(&wrong), &d, path, "guests.toml").unwrap_err()
        );
        assert!(
            message.contains(&wrong) && message.contains(&h),
            "{message}"
        );
    }
}
