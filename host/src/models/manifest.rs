//! `models.toml`: optional per-model settings in the models folder.
//!
//! ```toml
//! [models.forest]
//! file = "forest-v3.onnx"        # default: NAME.onnx
//! sha256 = "9f86d0..."           # optional pin, checked before parsing
//! guests = ["classifier"]        # guests that may use it (default: all)
//!
//! [models.forest.inputs]         # fix input shapes (default: from the file,
//! input = [1, 4]                 # free dimensions become symbols); a string
//!                                # dimension is a symbol, e.g. ["N", 4]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;

use crate::sources::folder::read_manifest;
use crate::sources::names::{validate_file_name, validate_name};
use crate::sources::pin::is_pin;

/// The parsed `models.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelManifest {
    /// Models by name.
    #[serde(default)]
    pub models: BTreeMap<String, ModelSpec>,
}

/// One model's settings.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// File in the models folder (default `NAME.onnx`).
    pub file: Option<String>,
    /// Expected sha256 of the file, hex.
    pub sha256: Option<String>,
    /// Guests allowed to call the model; `None` means every guest.
    pub guests: Option<Vec<String>>,
    /// Input shapes that replace the file's.
    #[serde(default)]
    pub inputs: BTreeMap<String, Vec<DimSpec>>,
}

/// One dimension of a fixed input shape.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum DimSpec {
    /// A fixed size.
    Fixed(u64),
    /// A symbol (a size known only when the model runs).
    Symbol(String),
}

impl ModelManifest {
    /// Parses and checks a manifest.
    ///
    /// # Errors
    /// Invalid TOML, unknown keys, invalid names, files outside the folder.
    pub fn parse(text: &str) -> Result<Self> {
        let manifest: Self = toml::from_str(text).context("models.toml is invalid")?;
        for (name, spec) in &manifest.models {
            validate_name(name).with_context(|| format!("models.toml: model `{name}`"))?;
            if let Some(file) = &spec.file {
                validate_file_name(file)
                    .with_context(|| format!("models.toml: model `{name}`: file"))?;
            }
            if let Some(pin) = &spec.sha256
                && !is_pin(pin)
            {
                bail!("models.toml: model `{name}`: sha256 must be 64 hex digits");
            }
            for guest in spec.guests.iter().flatten() {
                validate_name(guest)
                    .with_context(|| format!("models.toml: model `{name}`, guests"))?;
            }
            for (input, dims) in &spec.inputs {
                for dim in dims {
                    if let DimSpec::Symbol(symbol) = dim
                        && !is_symbol(symbol)
                    {
                        bail!(
                            "models.toml: model `{name}`, input `{input}`: `{symbol}` is not a dimension symbol (letters, digits, `_`)"
                        );
                    }
                }
            }
        }
        Ok(manifest)
    }

    /// Reads `models.toml` from `dir`; none means defaults.
    ///
    /// # Errors
    /// The file exists but cannot be read or is invalid.
    pub fn read(dir: &Path) -> Result<Self> {
        read_manifest(dir, "models.toml", Self::parse)
    }
}

fn is_symbol(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_manifest_parses() {
        let m = ModelManifest::parse(
            r#"
            [models.forest]
            file = "forest-v3.onnx"
            guests = ["classifier"]
            [models.forest.inputs]
            input = ["N", 4]
            "#,
        )
        .unwrap();
        let forest = &m.models["forest"];
        assert_eq!(
            forest.inputs["input"],
            [DimSpec::Symbol("N".into()), DimSpec::Fixed(4)]
        );
        assert_eq!(
            forest.guests.as_deref(),
            Some(&["classifier".to_string()][..])
        );
    }

    #[test]
    fn path_tricks_and_bad_symbols_are_refused() {
        for text in [
            "[models.\"../x\"]",
            "[models.a]\nfile = \"../x.onnx\"",
            "[models.a]\nfile = \"sub/x.onnx\"",
            "[models.a]\nguests = [\"a/b\"]",
            "[models.a.inputs]\ninput = [\"1+N\", 4]",
            "[models.a]\nunknown = 1",
        ] {
            assert!(ModelManifest::parse(text).is_err(), "{text}");
        }
    }
}
