//! The host's configuration, read once from the environment.

use std::path::PathBuf;
use std::time::Duration;

use crate::wasm_host::eager::EagerBudget;

/// Default of `WASM_LAMBDA_REFRESH_S`.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(60);

/// Where things are and what the Lambda environment says about itself.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `WASM_LAMBDA_GUESTS`: folder of guests (unused with `guests_s3`).
    pub guests_dir: PathBuf,
    /// `WASM_LAMBDA_GUESTS=s3://…`: the releases guests come from.
    pub guests_s3: Option<String>,
    /// `WASM_LAMBDA_MODELS`: folder of ONNX models (unused with `models_s3`).
    pub models_dir: PathBuf,
    /// `WASM_LAMBDA_MODELS=s3://…` (or, with guests from S3 and no
    /// `WASM_LAMBDA_MODELS`, the guests' location): the release whose
    /// models are loaded.
    pub models_s3: Option<String>,
    /// `WASM_LAMBDA_TRUSTED_KEYS`: keys whose signed releases may run.
    pub trusted_keys: Option<String>,
    /// `WASM_LAMBDA_RELEASE_MAX_AGE`: the oldest signed pointer a host
    /// takes (`90s`, `12h`, `7d`; parsed where releases are opened, so a
    /// malformed value fails init rather than being ignored).
    pub release_max_age: Option<String>,
    /// `WASM_LAMBDA_REFRESH_S`: how often a warm environment checks for a
    /// new release between events (zero: only on warmer pings).
    pub refresh: Duration,
    /// `WASM_LAMBDA_CACHE`: compiled-artifact cache.
    pub cache_dir: PathBuf,
    /// `WASM_LAMBDA_DEFAULT_GUEST`: where unrouted events go.
    pub default_guest: Option<String>,
    /// `WASM_LAMBDA_STRICT=1`: any guest that fails to load fails init.
    pub strict: bool,
    /// What guests learn about the function through their context.
    pub function: FunctionInfo,
    /// `AWS_LAMBDA_MAX_CONCURRENCY` (Lambda Managed Instances): invocations
    /// this environment serves at once, so instances a `reuse` guest may
    /// keep. 1 when unset.
    pub max_concurrency: u32,
    /// Resident memory init may fill with instances of guests not marked
    /// `eager`: half of `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`; unlimited when
    /// that is unset (tools run outside Lambda) and in [`Settings::new`].
    pub eager_budget: EagerBudget,
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
    /// `AWS_LAMBDA_LOG_GROUP_NAME` (guests read this and the next two
    /// through `host.environment`).
    pub log_group_name: String,
    /// `AWS_LAMBDA_LOG_STREAM_NAME`.
    pub log_stream_name: String,
    /// `AWS_REGION` (else `AWS_DEFAULT_REGION`).
    pub region: String,
}

impl Settings {
    /// Settings for these folders, with every other value at its default
    /// (no default guest, not strict, a function named `wasm-lambda`):
    /// what tests and tools build, independent of the machine's variables.
    pub fn new(guests_dir: PathBuf, models_dir: PathBuf, cache_dir: PathBuf) -> Self {
        Self {
            guests_dir,
            guests_s3: None,
            models_dir,
            models_s3: None,
            trusted_keys: None,
            release_max_age: None,
            refresh: DEFAULT_REFRESH,
            cache_dir,
            default_guest: None,
            strict: false,
            function: FunctionInfo::default(),
            max_concurrency: 1,
            eager_budget: EagerBudget::UNLIMITED,
        }
    }

    /// Reads the environment. Missing or unparsable values get defaults:
    /// start-up never fails (or panics) over a variable.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let guests = var("WASM_LAMBDA_GUESTS").unwrap_or_else(|| "/opt/guests".into());
        let models = var("WASM_LAMBDA_MODELS");
        let is_s3 = |v: &str| v.trim().starts_with("s3://");
        let guests_s3 = is_s3(&guests).then(|| guests.clone());
        let models_s3 = match &models {
            Some(m) if is_s3(m) => Some(m.clone()),
            Some(_) => None,
            None => guests_s3.clone(),
        };
        let function = FunctionInfo {
            name: var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|| "wasm-lambda".into()),
            version: var("AWS_LAMBDA_FUNCTION_VERSION").unwrap_or_else(|| "$LATEST".into()),
            memory_mb: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .and_then(|v| v.parse().ok())
                .unwrap_or(128),
            log_group_name: var("AWS_LAMBDA_LOG_GROUP_NAME").unwrap_or_default(),
            log_stream_name: var("AWS_LAMBDA_LOG_STREAM_NAME").unwrap_or_default(),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_default(),
        };
        Self {
            guests_dir: guests.into(),
            guests_s3,
            models_dir: models.unwrap_or_else(|| "/opt/models".into()).into(),
            models_s3,
            trusted_keys: var("WASM_LAMBDA_TRUSTED_KEYS"),
            release_max_age: var("WASM_LAMBDA_RELEASE_MAX_AGE"),
            refresh: var("WASM_LAMBDA_REFRESH_S")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map_or(DEFAULT_REFRESH, Duration::from_secs),
            cache_dir: var("WASM_LAMBDA_CACHE")
                .unwrap_or_else(|| "/tmp/wasm-lambda-cache".into())
                .into(),
            default_guest: var("WASM_LAMBDA_DEFAULT_GUEST"),
            strict: var("WASM_LAMBDA_STRICT")
                .is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes")),
            // Lambda always sets the memory size; without it (tools such
            // as `invoke`, run outside Lambda) nothing bounds init.
            eager_budget: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
                .map_or(EagerBudget::UNLIMITED, |_| {
                    EagerBudget::for_function_memory(function.memory_mb)
                }),
            function,
            max_concurrency: max_concurrency_from_env(),
        }
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`, as lambda_runtime reads it: a positive
/// number, else 1.
pub fn max_concurrency_from_env() -> u32 {
    std::env::var("AWS_LAMBDA_MAX_CONCURRENCY")
        .ok()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

impl Default for FunctionInfo {
    fn default() -> Self {
        Self {
            name: "wasm-lambda".into(),
            version: "$LATEST".into(),
            memory_mb: 128,
            log_group_name: String::new(),
            log_stream_name: String::new(),
            region: String::new(),
        }
    }
}
