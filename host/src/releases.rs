//! Releases: guests and models published to S3 by `publish`, read by the
//! host at init and switched live in warm environments.
//!
//! Layout under `s3://BUCKET/PREFIX/` (every object but `current` is
//! written once and never changed):
//! - `objects/sha256/HEX`: content-addressed `.wasm`, `.cwasm`, `.onnx` and
//!   manifest files;
//! - `releases/ID.json`: a release manifest pinning each object by sha256;
//! - `releases/ID.sig`: its Ed25519 signature (with `publish --sign`);
//! - `pointers/SEQUENCE.json`: with `--sign`, each signed pointer as it was
//!   written, so the next one counts on from the highest even if `current`
//!   was replaced by an older one;
//! - `current`: the pointer, the release id and its manifest's sha256
//!   (signed, with a sequence and signing time, with `--sign`), written
//!   last so a reader sees the old release or the whole new one.

pub(crate) mod client;
pub(crate) mod download;
pub(crate) mod location;
pub mod manifest;
pub mod pointer_signature;
pub(crate) mod reuse;
pub mod signing;
pub(crate) mod source;
