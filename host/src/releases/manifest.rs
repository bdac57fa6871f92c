//! The release manifest (`releases/ID.json`) and the pointer (`current`).
//!
//! The manifest pins every object of a release by sha256 and size; the
//! pointer names the current release and pins its manifest. A host checks
//! each pin before using the bytes, so an object changed in the bucket is
//! refused, never run.

use std::collections::BTreeMap;
use std::time::SystemTime;

use anyhow::{Context as _, Result, bail};
use serde::{Deserialize, Serialize};

use super::signing::SignatureFile;
use crate::sources::names::{validate_file_name, validate_name};
use crate::sources::pin::{self, is_pin};

/// The manifest format this host writes and reads.
pub const FORMAT: u32 = 1;

/// One stored object: its sha256 (lowercase hex) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectRef {
    /// sha256 of the bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

impl ObjectRef {
    /// The reference of some bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self {
            sha256: pin::hex(&pin::digest(bytes)),
            size: bytes.len() as u64,
        }
    }
}

/// A guest in a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseGuest {
    /// Deployed name.
    pub name: String,
    /// File name in the guests folder (what `guests.toml` refers to).
    pub file: String,
    /// The `.wasm`.
    pub wasm: ObjectRef,
    /// Precompiled code by Lambda architecture (`x86_64`, `aarch64`).
    pub cwasm: BTreeMap<String, ObjectRef>,
}

/// A model in a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseModel {
    /// Deployed name.
    pub name: String,
    /// File name in the models folder.
    pub file: String,
    /// The `.onnx`.
    pub onnx: ObjectRef,
}

/// What a release contains; two releases with equal contents are the same
/// deployment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseContents {
    /// `guests.toml`, if the folder had one.
    pub guests_manifest: Option<ObjectRef>,
    /// The guests, by name.
    pub guests: Vec<ReleaseGuest>,
    /// `models.toml`, if the models folder had one.
    pub models_manifest: Option<ObjectRef>,
    /// The models, by name.
    pub models: Vec<ReleaseModel>,
}

impl ReleaseContents {
    /// A digest of the contents (not of when or by whom they were published).
    pub fn digest(&self) -> String {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        pin::hex(&pin::digest(&bytes))
    }

    /// A digest of the models part only: guests keep their instances across
    /// a switch only if this did not change.
    pub fn models_digest(&self) -> String {
        let bytes = serde_json::to_vec(&(&self.models_manifest, &self.models)).unwrap_or_default();
        pin::hex(&pin::digest(&bytes))
    }

    /// Every object the release pins, once each.
    pub fn objects(&self) -> Vec<&ObjectRef> {
        let mut all: Vec<&ObjectRef> = Vec::new();
        all.extend(self.guests_manifest.iter());
        all.extend(self.models_manifest.iter());
        for guest in &self.guests {
            all.push(&guest.wasm);
            all.extend(guest.cwasm.values());
        }
        all.extend(self.models.iter().map(|m| &m.onnx));
        let mut seen = std::collections::HashSet::new();
        all.retain(|o| seen.insert(o.sha256.as_str()));
        all
    }
}

/// A release manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseManifest {
    /// [`FORMAT`].
    pub format: u32,
    /// Release id: UTC time of publishing, then the start of the contents'
    /// digest (`20261123T170512Z-1a2b3c4d`), so ids sort by time.
    pub id: String,
    /// RFC 3339 time of publishing.
    pub created: String,
    /// The host version that published it.
    pub host_version: String,
    /// The release that was current when this one was published.
    pub previous: Option<String>,
    /// What it contains.
    #[serde(flatten)]
    pub contents: ReleaseContents,
}

impl ReleaseManifest {
    /// A new release of `contents`, published now.
    pub fn new(contents: ReleaseContents, previous: Option<String>) -> Self {
        let created = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
        let stamp: String = created
            .chars()
            .filter(|c| !matches!(c, '-' | ':'))
            .collect();
        let id = format!("{stamp}-{}", &contents.digest()[..8]);
        Self {
            format: FORMAT,
            id,
            created,
            host_version: env!("CARGO_PKG_VERSION").to_owned(),
            previous,
            contents,
        }
    }

    /// The manifest's bytes as stored (and signed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Parses and validates stored bytes.
    ///
    /// # Errors
    /// Not JSON of this shape, another format, or a name, file name or
    /// pin that is not valid.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let manifest: Self =
            serde_json::from_slice(bytes).context("the release manifest is not valid")?;
        if manifest.format != FORMAT {
            bail!(
                "release format {} is not the format {FORMAT} this host reads",
                manifest.format
            );
        }
        if !is_release_id(&manifest.id) {
            bail!("`{}` is not a release id", manifest.id);
        }
        let contents = &manifest.contents;
        for object in contents.objects() {
            if !is_pin(&object.sha256) {
                bail!("`{}` is not a sha256", object.sha256);
            }
        }
        for guest in &contents.guests {
            validate_name(&guest.name).context("release guest")?;
            validate_file_name(&guest.file).context("release guest file")?;
        }
        for model in &contents.models {
            validate_name(&model.name).context("release model")?;
            validate_file_name(&model.file).context("release model file")?;
        }
        Ok(manifest)
    }
}

/// Whether `text` can be a release id (it becomes an S3 key and a folder name).
pub fn is_release_id(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The pointer to the current release. It carries the release manifest's
/// exact bytes (and signature), so a host reads a whole release in one
/// round trip; `releases/ID.json` and `.sig` hold the same bytes for
/// listing and rollback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pointer {
    /// The release id.
    pub release: String,
    /// sha256 of its manifest's bytes.
    pub sha256: String,
    /// The manifest's bytes, as text.
    pub manifest: String,
    /// Its signature, if it was signed.
    #[serde(default)]
    pub signature: Option<SignatureFile>,
    /// With a signed pointer (`--sign`): a number one higher than the
    /// previous signed pointer's (see `pointer_signature.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    /// With a signed pointer: when it was signed (RFC 3339, UTC, seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<String>,
    /// With a signed pointer: the signature over the release id, the
    /// manifest's sha256, the sequence and the signing time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer_signature: Option<SignatureFile>,
}

impl Pointer {
    /// An unsigned pointer to the release with these manifest bytes (and
    /// the release's signature, if it has one).
    pub fn to(id: &str, manifest: &[u8], signature: Option<SignatureFile>) -> Self {
        Self {
            release: id.to_owned(),
            sha256: ObjectRef::of(manifest).sha256,
            manifest: String::from_utf8_lossy(manifest).into_owned(),
            signature,
            sequence: None,
            signed_at: None,
            pointer_signature: None,
        }
    }

    /// Parses the pointer's bytes and checks the manifest against its pin.
    ///
    /// # Errors
    /// Not a pointer, or the manifest does not match its sha256.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let pointer: Self = serde_json::from_slice(bytes).context("the pointer is not valid")?;
        if !is_release_id(&pointer.release) || !is_pin(&pointer.sha256) {
            bail!("the pointer names no valid release");
        }
        if ObjectRef::of(pointer.manifest.as_bytes()).sha256 != pointer.sha256 {
            bail!("the pointer's manifest does not match its sha256 (damaged)");
        }
        Ok(pointer)
    }

    /// The pointer's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// What changed from `old` to `new`, one line per change, for `publish`.
pub fn changes(old: Option<&ReleaseContents>, new: &ReleaseContents) -> Vec<String> {
    let empty = ReleaseContents::default();
    let old = old.unwrap_or(&empty);
    let mut lines = Vec::new();
    let guests = |c: &ReleaseContents| -> BTreeMap<String, ReleaseGuest> {
        c.guests
            .iter()
            .map(|g| (g.name.clone(), g.clone()))
            .collect()
    };
    let models = |c: &ReleaseContents| -> BTreeMap<String, ReleaseModel> {
        c.models
            .iter()
            .map(|m| (m.name.clone(), m.clone()))
            .collect()
    };
    diff_named(
        "guest",
        &guests(old),
        &guests(new),
        |a, b| a.wasm == b.wasm && a.file == b.file,
        &mut lines,
    );
    diff_named(
        "model",
        &models(old),
        &models(new),
        |a, b| a.onnx == b.onnx && a.file == b.file,
        &mut lines,
    );
    if old.guests_manifest != new.guests_manifest {
        lines.push("guests.toml changed".to_owned());
    }
    if old.models_manifest != new.models_manifest {
        lines.push("models.toml changed".to_owned());
    }
    lines
}

fn diff_named<T>(
    kind: &str,
    old: &BTreeMap<String, T>,
    new: &BTreeMap<String, T>,
    same: impl Fn(&T, &T) -> bool,
    lines: &mut Vec<String>,
) {
    for (name, item) in new {
        match old.get(name) {
            None => lines.push(format!("{kind} {name}: added")),
            Some(before) if !same(before, item) => lines.push(format!("{kind} {name}: changed")),
            Some(_) => {}
        }
    }
    for name in old.keys().filter(|n| !new.contains_key(*n)) {
        lines.push(format!("{kind} {name}: removed"));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn object(byte: u8) -> ObjectRef {
        ObjectRef::of(&[byte])
    }

    fn contents() -> ReleaseContents {
        ReleaseContents {
            guests_manifest: None,
            guests: vec![ReleaseGuest {
                name: "hello".into(),
                file: "hello.wasm".into(),
                wasm: object(1),
                cwasm: BTreeMap::from([("x86_64".into(), object(2))]),
            }],
            models_manifest: None,
            models: vec![],
        }
    }

    /// A small valid manifest.
    pub(crate) fn a_manifest() -> ReleaseManifest {
        ReleaseManifest::new(contents(), None)
    }

    #[test]
    fn manifest_round_trips_and_ids_sort_by_time() {
        let manifest = ReleaseManifest::new(contents(), None);
        assert!(is_release_id(&manifest.id), "{}", manifest.id);
        assert!(manifest.id.starts_with("20"), "{}", manifest.id);
        assert_eq!(
            ReleaseManifest::parse(&manifest.to_bytes()).unwrap(),
            manifest
        );
    }

    #[test]
    fn bad_manifests_are_refused_with_the_reason() {
        let mut manifest = ReleaseManifest::new(contents(), None);
        manifest.contents.guests[0].file = "../etc/passwd".into();
        assert!(ReleaseManifest::parse(&manifest.to_bytes()).is_err());
        let mut manifest = ReleaseManifest::new(contents(), None);
        manifest.contents.guests[0].wasm.sha256 = "nope".into();
        let error = ReleaseManifest::parse(&manifest.to_bytes()).unwrap_err();
        assert!(format!("{error:#}").contains("not a sha256"), "{error:#}");
        let mut manifest = ReleaseManifest::new(contents(), None);
        manifest.format = 99;
        assert!(ReleaseManifest::parse(&manifest.to_bytes()).is_err());
        assert!(ReleaseManifest::parse(b"{}").is_err());
    }

    #[test]
    fn a_pointer_carries_its_manifest_and_refuses_a_damaged_one() {
        let manifest = ReleaseManifest::new(contents(), None);
        let pointer = Pointer::to(&manifest.id, &manifest.to_bytes(), None);
        let read = Pointer::parse(&pointer.to_bytes()).unwrap();
        assert_eq!(
            ReleaseManifest::parse(read.manifest.as_bytes()).unwrap(),
            manifest
        );
        let mut damaged = pointer.clone();
        damaged.manifest = damaged.manifest.replace("hello", "hellp");
        let error = Pointer::parse(&damaged.to_bytes()).unwrap_err();
        assert!(format!("{error:#}").contains("does not match"), "{error:#}");
    }

    #[test]
    fn changes_name_what_was_added_changed_and_removed() {
        let old = contents();
        let mut new = contents();
        new.guests[0].wasm = object(9);
        new.guests.push(ReleaseGuest {
            name: "extra".into(),
            ..new.guests[0].clone()
        });
        new.guests_manifest = Some(object(3));
        assert_eq!(
            changes(Some(&old), &new),
            [
                "guest extra: added",
                "guest hello: changed",
                "guests.toml changed"
            ]
        );
        assert_eq!(changes(Some(&new), &old).len(), 3);
        assert!(changes(Some(&old), &old).is_empty());
        assert_eq!(old.digest(), contents().digest());
        assert_ne!(old.digest(), new.digest());
    }
}
