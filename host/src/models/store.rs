//! Every model of the models folder, loaded once at init (several at a
//! time), and the rules for who may call which.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};

use rayon::prelude::*;

use super::manifest::{ModelManifest, ModelSpec};
use super::onnx_model::{OnnxModel, TensorSignature};
use crate::sources::folder::{self, Found, read_inside};
use crate::sources::pin;

/// A model found in the models folder.
pub type ModelSource = Found<ModelSpec>;

/// How loading one model went, for the init log and `models DIR`.
#[derive(Debug, Clone)]
pub struct ModelReport {
    pub name: String,
    /// Inputs and outputs, or why the model did not load.
    pub outcome: Result<(Vec<TensorSignature>, Vec<TensorSignature>), String>,
    pub elapsed: Duration,
}

impl ModelReport {
    /// One line: `forest: input: float32[N, 4] -> label: int64[N], ...`.
    pub fn summary(&self) -> String {
        match &self.outcome {
            Ok((inputs, outputs)) => format!(
                "{}: {} -> {} ({:.1} ms)",
                self.name,
                inputs
                    .iter()
                    .map(TensorSignature::describe)
                    .collect::<Vec<_>>()
                    .join(", "),
                outputs
                    .iter()
                    .map(TensorSignature::describe)
                    .collect::<Vec<_>>()
                    .join(", "),
                self.elapsed.as_secs_f64() * 1e3
            ),
            Err(reason) => format!("{}: failed to load: {reason}", self.name),
        }
    }
}

enum Entry {
    Ready {
        model: Arc<OnnxModel>,
        guests: Option<Vec<String>>,
    },
    Failed(String),
}

/// Why a guest's call to a model cannot run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessError {
    Unknown(String),
    NotAllowed(String),
    /// The model exists but failed to load.
    Unavailable(String),
}

/// Why the models folder as a whole cannot be used.
#[derive(Debug, Clone)]
pub enum ModelsDirError {
    /// `models.toml` is unreadable or invalid.
    ManifestInvalid(String),
    /// The folder exists but cannot be listed.
    Unreadable(String),
}

/// The loaded models.
#[derive(Default)]
pub struct ModelStore {
    entries: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for ModelStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.entries.keys()).finish()
    }
}

impl ModelStore {
    /// Loads every model of `dir`. A missing folder means no models; a model
    /// that fails is recorded (its callers get the reason), not fatal.
    ///
    /// # Errors
    /// `models.toml` is invalid, or the folder exists but cannot be read.
    pub fn load_dir(dir: &Path) -> Result<(Self, Vec<ModelReport>), ModelsDirError> {
        if !dir.exists() {
            return Ok((Self::default(), Vec::new()));
        }
        let manifest = ModelManifest::read(dir)
            .map_err(|e| ModelsDirError::ManifestInvalid(format!("{e:#}")))?;
        let sources =
            discover(dir, &manifest).map_err(|e| ModelsDirError::Unreadable(format!("{e:#}")))?;
        let results: Vec<_> = sources
            .par_iter()
            .map(|source| {
                let started = Instant::now();
                let result = load_one(dir, source);
                (result, started.elapsed())
            })
            .collect();
        let mut store = Self::default();
        let mut reports = Vec::new();
        for (source, (result, elapsed)) in sources.into_iter().zip(results) {
            let (entry, outcome) = match result {
                Ok(model) => {
                    let outcome = Ok((model.inputs.clone(), model.outputs.clone()));
                    (
                        Entry::Ready {
                            model: Arc::new(model),
                            guests: source.spec.guests.clone(),
                        },
                        outcome,
                    )
                }
                Err(error) => {
                    let reason = format!("{error:#}");
                    (Entry::Failed(reason.clone()), Err(reason))
                }
            };
            store.entries.insert(source.name.clone(), entry);
            reports.push(ModelReport {
                name: source.name,
                outcome,
                elapsed,
            });
        }
        Ok((store, reports))
    }

    /// Records a model that could not even be read (its release object
    /// was missing or damaged): its callers get `reason`.
    pub fn record_failure(&mut self, name: &str, reason: String) -> ModelReport {
        self.entries
            .insert(name.to_owned(), Entry::Failed(reason.clone()));
        ModelReport {
            name: name.to_owned(),
            outcome: Err(reason),
            elapsed: std::time::Duration::ZERO,
        }
    }

    /// Names of all models, loaded or not.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// The model `name` if `guest` may call it. Both the model's `guests`
    /// (models.toml) and the guest's `models` (guests.toml) must allow it.
    ///
    /// # Errors
    /// Unknown, failed to load, or not allowed for this guest.
    pub fn for_guest(
        &self,
        name: &str,
        guest: &str,
        guest_allows: Option<&[String]>,
    ) -> Result<&Arc<OnnxModel>, AccessError> {
        let entry = self.entries.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.names().collect();
            AccessError::Unknown(format!(
                "no model `{name}`; models: {}",
                list_or_none(&known)
            ))
        })?;
        let (model, model_allows) = match entry {
            Entry::Ready { model, guests } => (model, guests),
            Entry::Failed(reason) => {
                return Err(AccessError::Unavailable(format!(
                    "model `{name}` failed to load: {reason}"
                )));
            }
        };
        if guest_allows.is_some_and(|allowed| !allowed.iter().any(|m| m == name)) {
            return Err(AccessError::NotAllowed(format!(
                "guest `{guest}` may not use model `{name}` (its `models` in guests.toml leave it out)"
            )));
        }
        if model_allows
            .as_ref()
            .is_some_and(|allowed| !allowed.iter().any(|g| g == guest))
        {
            return Err(AccessError::NotAllowed(format!(
                "guest `{guest}` may not use model `{name}` (the model's `guests` in models.toml leave it out)"
            )));
        }
        Ok(model)
    }
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// Lists the models of a folder: every `*.onnx`, plus the manifest's entries.
///
/// # Errors
/// An unreadable folder. Files with invalid names are skipped with a warning.
pub fn discover(dir: &Path, manifest: &ModelManifest) -> Result<Vec<ModelSource>> {
    folder::discover(dir, "onnx", &manifest.models, |spec| spec.file.as_deref())
}

/// Reads (inside the folder only), checks the pin, parses and optimizes.
fn load_one(dir: &Path, source: &ModelSource) -> Result<OnnxModel> {
    let bytes = read_inside(dir, &source.path)?;
    pin::check(
        source.spec.sha256.as_deref(),
        &pin::digest(&bytes),
        &source.path,
        "models.toml",
    )?;
    OnnxModel::load(&bytes, &source.spec.inputs)
        .with_context(|| format!("{}", source.path.display()))
}
