//! The host's configuration, read once from the environment.

use std::path::PathBuf;

/// Where things are and what the Lambda environment says about itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `WASM_LAMBDA_GUESTS`: folder of guests.
    pub guests_dir: PathBuf,
    /// `WASM_LAMBDA_MODELS`: folder of ONNX models.
    pub models_dir: PathBuf,
    /// `WASM_LAMBDA_CACHE`: compiled-artifact cache.
    pub cache_dir: PathBuf,
    /// `WASM_LAMBDA_DEFAULT_GUEST`: where unrouted events go.
    pub default_guest: Option<String>,
    /// `WASM_LAMBDA_STRICT=1`: any guest that fails to load fails init.
    pub strict: bool,
    /// What guests learn about the function through their context.
    pub function: FunctionInfo,
}

/// The Lambda function this environment runs, from Lambda's variables.
#[derive(Debug, Clone)]
pub struct FunctionInfo {
    /// `AWS_LAMBDA_FUNCTION_NAME`.
    pub name: String,
    /// `AWS_LAMBDA_FUNCTION_VERSION`.
    pub version: String,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, in MB.
    pub memory_mb: u32,
}

impl Settings {
    /// Settings for these folders, with every other value at its default
    /// (no default guest, not strict, a function named `wasm-lambda`):
    /// what tests and tools build, independent of the machine's variables.
    pub fn new(guests_dir: PathBuf, models_dir: PathBuf, cache_dir: PathBuf) -> Self {
        Self {
            guests_dir,
            models_dir,
            cache_dir,
            default_guest: None,
            strict: false,
            function: FunctionInfo::default(),
        }
    }

    /// Reads the environment. Missing or unparsable values get defaults:
    /// start-up never fails (or panics) over a variable.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        Self {
            guests_dir: var("WASM_LAMBDA_GUESTS")
                .unwrap_or_else(|| "/opt/guests".into())
                .into(),
            models_dir: var("WASM_LAMBDA_MODELS")
                .unwrap_or_else(|| "/opt/models".into())
                .into(),
            cache_dir: var("WASM_LAMBDA_CACHE")
                .unwrap_or_else(|| "/tmp/wasm-lambda-cache".into())
                .into(),
            default_guest: var("WASM_LAMBDA_DEFAULT_GUEST"),
            strict: var("WASM_LAMBDA_STRICT")
                .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            function: FunctionInfo {
                name: var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "wasm-lambda".into()),
                version: var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "$LATEST".into()),
                memory_mb: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(128),
            },
        }
    }
}

impl Default for FunctionInfo {
    fn default() -> Self {
        Self {
            name: "wasm-lambda".into(),
            version: "$LATEST".into(),
            memory_mb: 128,
        }
    }
}
