//! `keygen NAME`: an Ed25519 key pair for `publish --sign`.

use std::path::Path;

use anyhow::Result;

use crate::releases::signing;

/// Writes `NAME.key` and `NAME.pub` and says what to do with each.
///
/// # Errors
/// A key file exists already or cannot be written.
pub fn keygen(name: &Path) -> Result<()> {
    let (secret, public) = signing::keygen(name)?;
    let key = std::fs::read_to_string(&public)?;
    println!(
        "secret key: {} (keep it out of the bucket and the image)",
        secret.display()
    );
    println!("public key: {} = {}", public.display(), key.trim());
    println!(
        "sign releases with `wasm-lambda-host publish --sign {} ...`, and set \
         WASM_LAMBDA_TRUSTED_KEYS={} on the function",
        secret.display(),
        key.trim()
    );
    Ok(())
}
