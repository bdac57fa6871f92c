//! Release signatures: Ed25519 (ed25519-dalek) over the release manifest's
//! exact bytes. The manifest pins every object by sha256, so one signature
//! covers the whole release; write access to the bucket alone cannot make
//! a host that trusts only some keys run anything. Pointers are signed
//! with the same keys (`pointer_signature.rs`).
//!
//! Key files are one line of base64: `NAME.key` the 32-byte secret seed,
//! `NAME.pub` the 32-byte public key. A signature object is JSON:
//! `{"key": PUBLIC_KEY, "signature": BASE64}`.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

/// A stored signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    /// The signer's public key, base64.
    pub key: String,
    /// The Ed25519 signature of the manifest bytes, base64.
    pub signature: String,
}

/// Writes a new key pair `NAME.key` (readable by the owner only) and
/// `NAME.pub`; returns their paths.
///
/// # Errors
/// Either file exists already, or cannot be written.
pub fn keygen(name: &Path) -> Result<(PathBuf, PathBuf)> {
    let secret_path = with_suffix(name, "key");
    let public_path = with_suffix(name, "pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            bail!("{} exists already; not overwriting a key", path.display());
        }
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness from the OS: {e}"))?;
    let key = SigningKey::from_bytes(&seed);
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut secret = options
        .open(&secret_path)
        .with_context(|| format!("creating {}", secret_path.display()))?;
    writeln!(secret, "{}", BASE64.encode(seed))
        .with_context(|| format!("writing {}", secret_path.display()))?;
    fs::write(
        &public_path,
        format!("{}\n", public_key_text(&key.verifying_key())),
    )
    .with_context(|| format!("writing {}", public_path.display()))?;
    Ok((secret_path, public_path))
}

fn with_suffix(name: &Path, suffix: &str) -> PathBuf {
    let mut text = name.as_os_str().to_owned();
    text.push(".");
    text.push(suffix);
    PathBuf::from(text)
}

/// A public key as written in `.pub` files and `WASM_LAMBDA_TRUSTED_KEYS`.
pub fn public_key_text(key: &VerifyingKey) -> String {
    BASE64.encode(key.as_bytes())
}

/// Parses a public key as written in `.pub` files.
///
/// # Errors
/// Not base64 of a 32-byte Ed25519 public key.
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    BASE64
        .decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| anyhow!("`{text}` is not an Ed25519 public key (a .pub file's line)"))
}

/// Reads a `NAME.key` file.
///
/// # Errors
/// Unreadable, or not a key written by `keygen`.
pub fn read_signing_key(path: &Path) -> Result<SigningKey> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let seed: [u8; 32] = BASE64
        .decode(text.trim())
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| anyhow!("{} is not a key written by `keygen`", path.display()))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// Signs a manifest's bytes.
pub fn sign(key: &SigningKey, manifest: &[u8]) -> SignatureFile {
    SignatureFile {
        key: public_key_text(&key.verifying_key()),
        signature: BASE64.encode(key.sign(manifest).to_bytes()),
    }
}

/// The keys `WASM_LAMBDA_TRUSTED_KEYS` names.
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    keys: Vec<VerifyingKey>,
}

impl TrustedKeys {
    /// Trusts one key only.
    pub fn only(key: VerifyingKey) -> Self {
        Self { keys: vec![key] }
    }

    /// Adds `other`'s keys.
    pub fn extend(&mut self, other: &Self) {
        self.keys.extend(other.keys.iter().copied());
    }

    /// Parses the setting: public keys separated by commas (or newlines),
    /// or the path of a file of them.
    ///
    /// # Errors
    /// A key that is not a 32-byte Ed25519 public key, an unreadable file,
    /// or no keys at all.
    pub fn parse(setting: &str) -> Result<Self> {
        let setting = setting.trim();
        let text = if Path::new(setting).is_file() {
            fs::read_to_string(setting).with_context(|| format!("reading {setting}"))?
        } else {
            setting.to_owned()
        };
        let keys = text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|k| !k.is_empty() && !k.starts_with('#'))
            .map(parse_public_key)
            .collect::<Result<Vec<_>>>()
            .context("WASM_LAMBDA_TRUSTED_KEYS")?;
        if keys.is_empty() {
            bail!("WASM_LAMBDA_TRUSTED_KEYS names no keys");
        }
        Ok(Self { keys })
    }

    /// Checks the signature of `what` (`release`, `pointer`) over `bytes`;
    /// returns the signer's key.
    ///
    /// # Errors
    /// No signature, one by a key not trusted here, a malformed one, or one
    /// that does not match the bytes.
    pub fn verify_as(
        &self,
        what: &str,
        bytes: &[u8],
        signature: Option<&SignatureFile>,
    ) -> Result<String, String> {
        let Some(file) = signature else {
            return Err(format!(
                "the {what} is not signed, and WASM_LAMBDA_TRUSTED_KEYS is set"
            ));
        };
        let key = self
            .keys
            .iter()
            .find(|k| public_key_text(k) == file.key)
            .ok_or_else(|| {
                format!(
                    "the {what} is signed by {}, which is not in WASM_LAMBDA_TRUSTED_KEYS",
                    file.key
                )
            })?;
        let signature_bytes: [u8; 64] = BASE64
            .decode(&file.signature)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| format!("the {what} signature is malformed"))?;
        key.verify(bytes, &Signature::from_bytes(&signature_bytes))
            .map_err(|_| {
                format!(
                    "the {what} signature by {} does not match what it signs",
                    file.key
                )
            })?;
        Ok(file.key.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_by_a_trusted_key_passes_everything_else_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (secret, public) = keygen(&dir.path().join("team")).unwrap();
        assert!(keygen(&dir.path().join("team")).is_err(), "overwrote a key");
        let key = read_signing_key(&secret).unwrap();
        let trusted = TrustedKeys::parse(public.to_str().unwrap()).unwrap();
        let signature = sign(&key, b"manifest");
        let verify = |bytes: &[u8], signature: Option<&SignatureFile>| {
            trusted.verify_as("release", bytes, signature)
        };
        assert!(verify(b"manifest", Some(&signature)).is_ok());
        let tampered = verify(b"manifest!", Some(&signature)).unwrap_err();
        assert!(tampered.contains("does not match"), "{tampered}");
        assert!(
            verify(b"manifest", None)
                .unwrap_err()
                .contains("not signed")
        );
        let (other, _) = keygen(&dir.path().join("other")).unwrap();
        let foreign = sign(&read_signing_key(&other).unwrap(), b"manifest");
        let refused = verify(b"manifest", Some(&foreign)).unwrap_err();
        assert!(
            refused.contains("not in WASM_LAMBDA_TRUSTED_KEYS"),
            "{refused}"
        );
        // Inline, comma-separated.
        let inline = fs::read_to_string(&public).unwrap();
        assert!(TrustedKeys::parse(&format!("{},{}", inline.trim(), inline.trim())).is_ok());
        assert!(TrustedKeys::parse("not-a-key").is_err());
        assert!(TrustedKeys::parse(" ").is_err());
    }
}
