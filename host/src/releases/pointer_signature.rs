//! Signed pointers: what stops a bucket writer from rolling environments
//! back to an older trusted release, or freezing them on one (the attacks
//! The Update Framework calls rollback and freeze).
//!
//! A signed pointer carries a sequence number that only grows and the time
//! it was signed; the Ed25519 signature covers both with the release id and
//! its manifest's sha256. A warm environment never follows a pointer whose
//! sequence is lower than the one it runs ([`Stamp::may_follow`]); a cold
//! start has no memory of sequences, so `WASM_LAMBDA_RELEASE_MAX_AGE`
//! bounds how old a pointer it accepts ([`Stamp::check_age`]), and a
//! scheduled `refresh --sign` keeps the pointer younger than that.

use std::time::{Duration, SystemTime};

use ed25519_dalek::SigningKey;
use serde::Serialize;

use super::manifest::Pointer;
use super::signing::{self, TrustedKeys};

/// Signed bytes start with this, so a pointer signature can never pass for
/// a manifest signature (manifests are JSON, starting with `{`) or the
/// other way round.
const DOMAIN: &[u8] = b"wasm-lambda pointer 1\n";

/// How far in the future a pointer's signing time may be (the publisher's
/// clock ahead of the host's) before a host with a maximum age refuses it.
/// Lambda's clocks follow Amazon Time Sync; a CI runner's NTP keeps within
/// a second: five minutes tolerates any working clock, while a pointer
/// dated further ahead would stay "fresh" longer than the limit says.
pub const CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What the pointer signature covers, serialised in this field order.
#[derive(Serialize)]
struct Statement<'a> {
    release: &'a str,
    sha256: &'a str,
    sequence: u64,
    signed_at: &'a str,
}

fn signed_bytes(release: &str, sha256: &str, sequence: u64, signed_at: &str) -> Vec<u8> {
    let statement = Statement {
        release,
        sha256,
        sequence,
        signed_at,
    };
    let mut bytes = DOMAIN.to_vec();
    // Serialising four plain fields cannot fail.
    bytes.extend(serde_json::to_vec(&statement).unwrap_or_default());
    bytes
}

/// A verified pointer's sequence, signing time and signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    /// The sequence number.
    pub sequence: u64,
    /// When it was signed, as written (RFC 3339, seconds).
    pub signed_at: String,
    /// The signer's public key.
    pub signer: String,
    /// The release it names.
    pub release: String,
}

/// Signs `pointer` in place with `sequence` and the time `now`.
pub fn sign(pointer: &mut Pointer, key: &SigningKey, sequence: u64, now: SystemTime) {
    let signed_at = humantime::format_rfc3339_seconds(now).to_string();
    let bytes = signed_bytes(&pointer.release, &pointer.sha256, sequence, &signed_at);
    pointer.sequence = Some(sequence);
    pointer.signed_at = Some(signed_at);
    pointer.pointer_signature = Some(signing::sign(key, &bytes));
}

/// Checks a pointer's own signature; returns its stamp.
///
/// # Errors
/// Unsigned (say, published before pointers were signed), signed by a key
/// not trusted here, or damaged (fields changed after signing).
pub fn verify(pointer: &Pointer, trusted: &TrustedKeys) -> Result<Stamp, String> {
    let (Some(sequence), Some(signed_at), Some(signature)) = (
        pointer.sequence,
        pointer.signed_at.as_deref(),
        pointer.pointer_signature.as_ref(),
    ) else {
        return Err(format!(
            "the pointer to release {} is not signed (it was written without --sign, or \
             before pointers were signed), and WASM_LAMBDA_TRUSTED_KEYS is set: \
             run `wasm-lambda-host refresh --sign KEY s3://…` once, or publish with --sign",
            pointer.release
        ));
    };
    let bytes = signed_bytes(&pointer.release, &pointer.sha256, sequence, signed_at);
    let signer = trusted.verify_as("pointer", &bytes, Some(signature))?;
    Ok(Stamp {
        sequence,
        signed_at: signed_at.to_owned(),
        signer,
        release: pointer.release.clone(),
    })
}

impl Stamp {
    /// When it was signed.
    ///
    /// # Errors
    /// The time is not RFC 3339 (the signature held, so the signer wrote it).
    pub fn signed_time(&self) -> Result<SystemTime, String> {
        humantime::parse_rfc3339(&self.signed_at).map_err(|e| {
            format!(
                "the pointer's signing time `{}` is not a time: {e}",
                self.signed_at
            )
        })
    }

    /// Refuses a pointer signed longer than `max_age` before `now`, or
    /// dated further ahead of `now` than [`CLOCK_SKEW`].
    ///
    /// # Errors
    /// Why, naming the age and the limit.
    pub fn check_age(&self, max_age: Duration, now: SystemTime) -> Result<(), AgeRefusal> {
        let signed = self.signed_time().map_err(AgeRefusal::Ahead)?;
        match now.duration_since(signed) {
            Ok(age) if age > max_age => Err(AgeRefusal::TooOld(format!(
                "the pointer to release {} (sequence {}) was signed {} ago ({}), longer ago \
                 than WASM_LAMBDA_RELEASE_MAX_AGE={} allows: run `wasm-lambda-host refresh \
                 --sign KEY s3://…` (on a schedule shorter than the limit)",
                self.release,
                self.sequence,
                round(age),
                self.signed_at,
                humantime::format_duration(max_age)
            ))),
            Ok(_) => Ok(()),
            Err(ahead) if ahead.duration() > CLOCK_SKEW => Err(AgeRefusal::Ahead(format!(
                "the pointer to release {} (sequence {}) is signed {} in the future ({}): the \
                 publisher's clock is ahead of this host's by more than the {} tolerated",
                self.release,
                self.sequence,
                round(ahead.duration()),
                self.signed_at,
                humantime::format_duration(CLOCK_SKEW)
            ))),
            Err(_) => Ok(()),
        }
    }

    /// Whether a warm environment running `self` may follow `next`: only
    /// to a higher sequence, or to the very pointer it runs.
    ///
    /// # Errors
    /// A rollback or a replay, saying which sequences and releases.
    pub fn may_follow(&self, next: &Stamp) -> Result<(), String> {
        if next.sequence > self.sequence || next == self {
            return Ok(());
        }
        if next.sequence < self.sequence {
            return Err(format!(
                "rollback refused: the pointer names release {} at sequence {}, lower than the \
                 sequence {} this environment runs (release {}): an older pointer replayed. \
                 A rollback is made with `wasm-lambda-host rollback --sign KEY`, which writes \
                 the next sequence",
                next.release, next.sequence, self.sequence, self.release
            ));
        }
        Err(format!(
            "replay refused: the pointer has sequence {}, which this environment runs with \
             release {} signed at {}, but now names release {} signed at {}: two pointers \
             with one sequence (a replay, or two publishes at once); publish or refresh again",
            next.sequence, self.release, self.signed_at, next.release, next.signed_at
        ))
    }
}

/// Why a pointer's age is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgeRefusal {
    /// Signed longer ago than the limit.
    TooOld(String),
    /// Dated too far in the future.
    Ahead(String),
}

impl AgeRefusal {
    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::TooOld(m) | Self::Ahead(m) => m,
        }
    }
}

/// A duration to the second, for messages.
fn round(duration: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(Duration::from_secs(duration.as_secs()))
}

/// Parses `WASM_LAMBDA_RELEASE_MAX_AGE`: `90s`, `30m`, `12h`, `7d`.
///
/// # Errors
/// Not a duration, or zero.
pub fn parse_max_age(text: &str) -> Result<Duration, String> {
    let age = humantime::parse_duration(text.trim()).map_err(|e| {
        format!(
            "WASM_LAMBDA_RELEASE_MAX_AGE=`{text}` is not a duration such as 90s, 12h or 7d: {e}"
        )
    })?;
    if age.is_zero() {
        return Err("WASM_LAMBDA_RELEASE_MAX_AGE must be longer than zero".to_owned());
    }
    Ok(age)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::releases::manifest::tests::a_manifest;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    /// The stamp of a pointer signed by key 1 or 2.
    fn verify_self_consistent(pointer: &Pointer) -> Option<Stamp> {
        let mut keys = TrustedKeys::only(key(1).verifying_key());
        keys.extend(&TrustedKeys::only(key(2).verifying_key()));
        verify(pointer, &keys).ok()
    }

    fn signed(seed: u8, sequence: u64, at: SystemTime) -> Pointer {
        let manifest = a_manifest();
        let mut pointer = Pointer::to(&manifest.id, &manifest.to_bytes(), None);
        sign(&mut pointer, &key(seed), sequence, at);
        pointer
    }

    #[test]
    fn a_signed_pointer_verifies_and_any_change_or_other_key_is_refused() {
        let now = SystemTime::now();
        let trusted = TrustedKeys::only(key(1).verifying_key());
        let pointer = signed(1, 7, now);
        let stamp = verify(&pointer, &trusted).unwrap();
        assert_eq!(stamp.sequence, 7);
        // Every covered field is covered.
        let mut raised = pointer.clone();
        raised.sequence = Some(8);
        let mut redated = pointer.clone();
        redated.signed_at =
            Some(humantime::format_rfc3339_seconds(now + Duration::from_secs(60)).to_string());
        let mut renamed = pointer.clone();
        renamed.release = "20990101T000000Z-00000000".to_owned();
        for damaged in [raised, redated, renamed] {
            let refused = verify(&damaged, &trusted).unwrap_err();
            assert!(refused.contains("does not match"), "{refused}");
        }
        let foreign = verify(&signed(2, 7, now), &trusted).unwrap_err();
        assert!(
            foreign.contains("not in WASM_LAMBDA_TRUSTED_KEYS"),
            "{foreign}"
        );
        let mut unsigned = pointer.clone();
        unsigned.pointer_signature = None;
        let refused = verify(&unsigned, &trusted).unwrap_err();
        assert!(
            refused.contains("is not signed") && refused.contains("refresh --sign"),
            "{refused}"
        );
        // A manifest signature is not a pointer signature.
        let mut swapped = pointer.clone();
        swapped.pointer_signature = Some(signing::sign(&key(1), pointer.manifest.as_bytes()));
        assert!(verify(&swapped, &trusted).is_err());
        assert!(verify_self_consistent(&signed(2, 3, now)).is_some());
    }

    #[test]
    fn sequences_only_grow_and_one_sequence_names_one_pointer() {
        let now = SystemTime::now();
        let stamp = |p: &Pointer| verify_self_consistent(p).unwrap();
        let running = stamp(&signed(1, 7, now));
        assert!(running.may_follow(&stamp(&signed(1, 8, now))).is_ok());
        assert!(running.may_follow(&running.clone()).is_ok());
        let back = running.may_follow(&stamp(&signed(1, 6, now))).unwrap_err();
        assert!(
            back.contains("rollback refused") && back.contains("lower than the sequence 7"),
            "{back}"
        );
        let later = stamp(&signed(1, 7, now + Duration::from_secs(5)));
        let replay = running.may_follow(&later).unwrap_err();
        assert!(replay.contains("replay refused"), "{replay}");
    }

    #[test]
    fn ages_are_bounded_with_a_few_minutes_of_clock_skew() {
        let now = SystemTime::now();
        let hour = Duration::from_secs(3600);
        let stamp = |at: SystemTime| verify_self_consistent(&signed(1, 1, at)).unwrap();
        assert!(
            stamp(now - Duration::from_secs(3590))
                .check_age(hour, now)
                .is_ok()
        );
        let old = stamp(now - 2 * hour).check_age(hour, now).unwrap_err();
        assert!(matches!(old, AgeRefusal::TooOld(_)), "{old:?}");
        assert!(
            old.message().contains("signed 2h ago") && old.message().contains("MAX_AGE=1h"),
            "{old:?}"
        );
        assert!(
            stamp(now + Duration::from_secs(3))
                .check_age(hour, now)
                .is_ok()
        );
        assert!(
            stamp(now + CLOCK_SKEW - Duration::from_secs(1))
                .check_age(hour, now)
                .is_ok()
        );
        let ahead = stamp(now + Duration::from_secs(600))
            .check_age(hour, now)
            .unwrap_err();
        assert!(matches!(ahead, AgeRefusal::Ahead(_)), "{ahead:?}");
        assert_eq!(parse_max_age("7d").unwrap(), 7 * 24 * hour);
        assert_eq!(parse_max_age(" 90s ").unwrap(), Duration::from_secs(90));
        assert!(parse_max_age("0s").is_err() && parse_max_age("soon").is_err());
    }
}
