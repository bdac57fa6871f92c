//! Writing the `current` pointer, for `publish`, `rollback` and `refresh`:
//! unsigned as before, or (with `--sign`) signed with the next sequence
//! number and the time, after a copy under `pointers/` that claims that
//! sequence.
//!
//! The next sequence is one more than the highest the bucket shows: the
//! current pointer's and the highest copy's under `pointers/`. So a
//! `current` replaced by an older pointer cannot make the next sequence one
//! that warm environments have passed. The copy is created only if it does
//! not exist (S3's conditional write), and `current` is replaced only if it
//! is still what the command read: of two writers at once, one fails and
//! says to run again; neither overwrites the other unseen.

use std::time::SystemTime;

use anyhow::{Context as _, Result, anyhow, bail};
use ed25519_dalek::SigningKey;

use crate::releases::client::{Expected, S3, S3ErrorKind};
use crate::releases::manifest::Pointer;
use crate::releases::pointer_signature;
use crate::releases::signing::{SignatureFile, TrustedKeys};

/// `current` as a command read it: the pointer, and what a write must
/// find there to replace it (so a pointer someone wrote meanwhile is never
/// overwritten unseen).
pub(crate) struct CurrentPointer {
    /// The pointer, if there is a readable one.
    pub pointer: Option<Pointer>,
    /// `None` when S3 gave no ETag (the write is then unconditional).
    expected: Option<Expected>,
}

impl CurrentPointer {
    /// Reads `current`. With `replace_damaged`, a damaged pointer is
    /// reported and read as none (for `rollback`, which puts it right);
    /// otherwise it is an error.
    ///
    /// # Errors
    /// S3 failed, or (without `replace_damaged`) the pointer is malformed.
    pub async fn read(s3: &S3, replace_damaged: bool) -> Result<Self> {
        let key = s3.location.pointer_key();
        let (bytes, etag) = match s3.get(&key).await {
            Ok(read) => read,
            Err(e) if e.kind == S3ErrorKind::NotFound => {
                return Ok(Self {
                    pointer: None,
                    expected: Some(Expected::Absent),
                });
            }
            Err(e) => return Err(e.into()),
        };
        let expected = etag.map(Expected::ETag);
        match Pointer::parse(&bytes) {
            Ok(pointer) => Ok(Self {
                pointer: Some(pointer),
                expected,
            }),
            Err(error) if replace_damaged => {
                eprintln!(
                    "warning: {} is damaged ({error:#}); replacing it",
                    s3.location.url_of(&key)
                );
                Ok(Self {
                    pointer: None,
                    expected,
                })
            }
            Err(error) => Err(error.context(s3.location.url_of(&key))),
        }
    }
}

/// The keys a refresh trusts: `key` and `WASM_LAMBDA_TRUSTED_KEYS` (when
/// the command's environment has it).
fn refresh_keys(key: &SigningKey) -> Result<TrustedKeys> {
    let mut keys = TrustedKeys::only(key.verifying_key());
    if let Some(setting) = std::env::var("WASM_LAMBDA_TRUSTED_KEYS")
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        keys.extend(&TrustedKeys::parse(&setting)?);
    }
    Ok(keys)
}

/// The highest sequence among the copies under `pointers/` (their names),
/// with the copy's key.
async fn highest_copy(s3: &S3) -> Result<Option<(u64, String)>> {
    let prefix = s3.location.pointer_history_prefix();
    let names = s3.list(&prefix).await?;
    Ok(names
        .into_iter()
        .filter_map(|name| {
            let sequence = name
                .strip_prefix(&prefix)?
                .strip_suffix(".json")?
                .parse::<u64>()
                .ok()?;
            Some((sequence, name))
        })
        .max())
}

/// One more than the highest sequence the bucket shows (1 for the first).
///
/// # Errors
/// S3 failed, or the sequence is at its end.
async fn next_sequence(s3: &S3, current: Option<&Pointer>) -> Result<u64> {
    let highest = highest_copy(s3)
        .await?
        .map(|(sequence, _)| sequence)
        .into_iter()
        .chain(current.and_then(|p| p.sequence))
        .max()
        .unwrap_or(0);
    highest
        .checked_add(1)
        .ok_or_else(|| anyhow!("the pointer's sequence is at its end ({highest})"))
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

/// Writes `current` at `s3` to name `target`, only if it still holds what
/// `previous` read: with `key`, signed with the next sequence, claimed by
/// creating its copy under `pointers/` (two writers cannot both claim
/// one); without, unsigned, with a warning when the pointer it replaces
/// was signed (hosts with trusted keys will refuse it). Returns the pointer
/// written.
///
/// # Errors
/// S3 failed, no next sequence, or another writer claimed the sequence or
/// changed `current` meanwhile (nothing is made current; run again).
pub(crate) async fn write_pointer(
    s3: &S3,
    target: PointerTarget<'_>,
    key: Option<&SigningKey>,
    previous: &CurrentPointer,
) -> Result<Pointer> {
    let location = &s3.location;
    let mut pointer = Pointer::to(target.release, target.manifest, target.signature);
    match key {
        Some(key) => {
            let sequence = next_sequence(s3, previous.pointer.as_ref()).await?;
            pointer_signature::sign(&mut pointer, key, sequence, SystemTime::now());
            let copy = location.pointer_history_key(sequence);
            let claimed = s3
                .put_if(&copy, pointer.to_bytes(), &Expected::Absent)
                .await
                .context("keeping a copy of the signed pointer")?;
            if !claimed {
                bail!(
                    "sequence {sequence} was taken meanwhile ({} exists: another publish, \
                     rollback or refresh?): nothing was made current; run the command again",
                    location.url_of(&copy)
                );
            }
        }
        None => {
            if previous
                .pointer
                .as_ref()
                .is_some_and(|p| p.pointer_signature.is_some())
            {
                eprintln!(
                    "warning: the pointer this replaces was signed; this one is not (no --sign), \
                     so hosts with WASM_LAMBDA_TRUSTED_KEYS will refuse it and keep their release"
                );
            }
        }
    }
    let key = location.pointer_key();
    let written = match &previous.expected {
        Some(expected) => s3.put_if(&key, pointer.to_bytes(), expected).await?,
        None => s3.put(&key, pointer.to_bytes()).await.map(|()| true)?,
    };
    if !written {
        bail!(
            "{} changed while this command ran (another publish, rollback or refresh?): \
             nothing was made current; run the command again",
            location.url_of(&key)
        );
    }
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

/// Refuses to re-sign a `current` that is not the newest signed pointer
/// (the copy with the highest sequence, signed by `key` or a key in
/// `WASM_LAMBDA_TRUSTED_KEYS`): a scheduled refresh must not sign over an
/// older pointer someone put back (that would turn their rollback into
/// ours). With no copies at all (pointers never signed here) it signs what
/// is current.
///
/// # Errors
/// Why, and what to do; S3 failed.
pub(crate) async fn check_refreshable(s3: &S3, current: &Pointer, key: &SigningKey) -> Result<()> {
    let Some((sequence, name)) = highest_copy(s3).await? else {
        return Ok(());
    };
    let (bytes, _) = s3.get(&name).await?;
    let keys = refresh_keys(key)?;
    if let Err(reason) = is_current_copy(&bytes, sequence, current, &keys) {
        bail!(
            "not refreshing: the newest signed pointer ({}) {reason}. Choose the release \
             deliberately with `rollback --sign KEY`, or publish",
            s3.location.url_of(&name)
        );
    }
    Ok(())
}

/// Whether `bytes`, the copy named `sequence`, is a pointer signed by one
/// of `keys` with that sequence, and `current` is that very pointer.
fn is_current_copy(
    bytes: &[u8],
    sequence: u64,
    current: &Pointer,
    keys: &TrustedKeys,
) -> Result<(), String> {
    let copy = Pointer::parse(bytes).map_err(|e| format!("is not a pointer: {e:#}"))?;
    let stamp =
        pointer_signature::verify(&copy, keys).map_err(|e| format!("does not verify: {e}"))?;
    if stamp.sequence != sequence {
        return Err(format!("holds sequence {}", stamp.sequence));
    }
    if &copy != current {
        return Err(format!(
            "names release {} at sequence {}, but the current pointer names release {} ({}): \
             an older pointer was put back",
            stamp.release,
            stamp.sequence,
            current.release,
            describe(current)
        ));
    }
    Ok(())
}
