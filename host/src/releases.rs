//! Releases: guests and models published to S3 by `publish`, read by the
//! host at init and switched live in warm environments.
//!
//! Layout under `s3://BUCKET/PREFIX/` (every object but `current` is
//! written once and never changed):
//! - `objects/sha256/HEX`: content-addressed `.wasm`, `.cwasm`, `.onnx` and
//!   manifest files;
//! - `releases/ID.json`: a release manifest pinning each object by sha256;
//! - `releases/ID.sig`: its Ed25519 signature (with `publish --sign`);
//! - `current`: the pointer, the release id and its manifest's sha256,
//!   written last so a reader sees the old release or the whole new one.

pub(crate) mod client;
pub(crate) mod download;
pub(crate) mod location;
pub mod manifest;
pub(crate) mod reuse;
pub(crate) mod signing;
pub(crate) mod source;
