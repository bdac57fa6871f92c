//! Writing the `current` pointer, for `publish`, `rollback` and `refresh`:
//! unsigned as before, or (with `--sign`) signed with the next sequence
//! number and the time, after a copy under `pointers/` that the next
//! writer counts on from.
//!
//! The next sequence is one more than the highest of the current pointer's
//! and the newest in `pointers/`, counting only pointers whose signature
//! holds under the signing key or a key in `WASM_LAMBDA_TRUSTED_KEYS` (when
//! the command has it): a replayed older `current` cannot make the next
//! pointer's sequence one a warm environment has already passed, and a
//! pointer signed by an outsider's key cannot push the count to its end.

use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow, bail};
use ed25519_dalek::SigningKey;

use crate::releases::client::S3;
use crate::releases::manifest::Pointer;
use crate::releases::pointer_signature::{self, Stamp};
use crate::releases::signing::{SignatureFile, TrustedKeys};

/// The keys whose pointers count: `key` and `WASM_LAMBDA_TRUSTED_KEYS`.
fn counting_keys(key: &SigningKey) -> Result<TrustedKeys> {
    let mut keys = TrustedKeys::only(key.verifying_key());
    if let Some(setting) = std::env::var("WASM_LAMBDA_TRUSTED_KEYS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        keys.extend(&TrustedKeys::parse(&setting)?);
    }
    Ok(keys)
}

/// The newest signed pointer in `pointers/` whose signature holds under
/// `keys`, if any (objects that do not verify are passed over).
async fn newest_in_history(s3: &S3, keys: &TrustedKeys) -> Result<Option<Stamp>> {
    let mut names = s3.list(&s3.location.pointer_history_prefix()).await?;
    // Zero-padded sequence numbers: the newest sorts last.
    names.sort_unstable();
    for name in names.iter().rev() {
        let Ok((bytes, _)) = s3.get(name).await else {
            continue;
        };
        let verified = Pointer::parse(&bytes)
            .ok()
            .and_then(|pointer| pointer_signature::verify(&pointer, keys).ok());
        if let Some(stamp) = verified {
            return Ok(Some(stamp));
        }
    }
    Ok(None)
}

/// The signed pointers a new one follows: the current pointer's stamp (if
/// its signature holds under `keys`) and the newest in the history.
pub(crate) struct Predecessors {
    /// The current pointer's, when it is signed by a counted key.
    pub current: Option<Stamp>,
    /// The newest in `pointers/`.
    pub newest: Option<Stamp>,
}

impl Predecessors {
    /// Reads them.
    ///
    /// # Errors
    /// S3 failed, or `WASM_LAMBDA_TRUSTED_KEYS` is malformed.
    pub async fn read(s3: &S3, current: Option<&Pointer>, key: &SigningKey) -> Result<Self> {
        let keys = counting_keys(key)?;
        let current = current.and_then(|p| pointer_signature::verify(p, &keys).ok());
        let newest = newest_in_history(s3, &keys).await?;
        Ok(Self { current, newest })
    }

    /// One more than the highest sequence either has (1 for the first).
    ///
    /// # Errors
    /// The sequence is at its end (only a pointer signed by a counted key
    /// could have put it there).
    pub fn next_sequence(&self) -> Result<u64> {
        let highest = [&self.current, &self.newest]
            .into_iter()
            .flatten()
            .map(|s| s.sequence)
            .max()
            .unwrap_or(0);
        highest
            .checked_add(1)
            .ok_or_else(|| anyhow!("the pointer's sequence is at its end ({highest})"))
    }
}

/// What a new pointer names: the release and its manifest's bytes and
/// signature.
pub(crate) struct PointerTarget<'a> {
    /// Release id.
    pub release: &'a str,
    /// The manifest's exact bytes.
    pub manifest: &'a [u8],
    /// The release's signature, if it has one.
    pub signature: Option<SignatureFile>,
}

/// Writes `current` at `s3` to name `target`: with `key`, signed with the
/// next sequence (after a copy under `pointers/`); without, unsigned, with
/// a warning when the pointer it replaces was signed (hosts with trusted
/// keys will refuse it). Returns the pointer written.
///
/// # Errors
/// S3 failed, or no next sequence.
pub(crate) async fn write_pointer(
    s3: &S3,
    target: PointerTarget<'_>,
    key: Option<&SigningKey>,
    previous: Option<&Pointer>,
) -> Result<Pointer> {
    let location = &s3.location;
    let mut pointer = Pointer::to(target.release, target.manifest, target.signature);
    match key {
        Some(key) => {
            let sequence = Predecessors::read(s3, previous, key)
                .await?
                .next_sequence()?;
            pointer_signature::sign(&mut pointer, key, sequence, SystemTime::now());
            s3.put(&location.pointer_history_key(sequence), pointer.to_bytes())
                .await
                .context("keeping a copy of the signed pointer")?;
        }
        None => {
            if previous.is_some_and(|p| p.pointer_signature.is_some()) {
                eprintln!(
                    "warning: the pointer this replaces was signed; this one is not (no --sign), \
                     so hosts with WASM_LAMBDA_TRUSTED_KEYS will refuse it and keep their release"
                );
            }
        }
    }
    s3.put(&location.pointer_key(), pointer.to_bytes()).await?;
    Ok(pointer)
}

/// `, pointer sequence N signed at T` (or `, pointer not signed`), for the
/// commands' output.
pub(crate) fn describe(pointer: &Pointer) -> String {
    match (pointer.sequence, pointer.signed_at.as_deref()) {
        (Some(sequence), Some(at)) if pointer.pointer_signature.is_some() => {
            format!("pointer sequence {sequence}, signed at {at}")
        }
        _ => "pointer not signed".to_owned(),
    }
}

/// Refuses to re-sign a `current` that is not the newest signed pointer:
/// a scheduled refresh must not sign over an older pointer someone put
/// back (that would turn their rollback into ours).
///
/// # Errors
/// Why, and what to do.
pub(crate) fn check_refreshable(current: &Pointer, before: &Predecessors) -> Result<()> {
    let Some(newest) = &before.newest else {
        // No signed pointer was ever written here: the first refresh signs
        // whatever is current (moving a bucket to signed pointers).
        return Ok(());
    };
    match &before.current {
        Some(stamp) if stamp == newest => Ok(()),
        Some(stamp) => bail!(
            "not refreshing: the current pointer (release {}, sequence {}) is not the newest \
             signed one (release {}, sequence {} in pointers/): an older pointer was put back. \
             Choose the release deliberately with `rollback --sign KEY`, or publish",
            stamp.release,
            stamp.sequence,
            newest.release,
            newest.sequence
        ),
        None => bail!(
            "not refreshing: the current pointer (release {}) is {}, but signed pointers were \
             written here before (newest: release {}, sequence {}): someone replaced it. \
             Choose the release deliberately with `rollback --sign KEY`, or publish",
            current.release,
            if current.pointer_signature.is_some() {
                "signed by a key not counted here (not the signing key, not in \
                 WASM_LAMBDA_TRUSTED_KEYS), or damaged"
            } else {
                "not signed"
            },
            newest.release,
            newest.sequence
        ),
    }
}
