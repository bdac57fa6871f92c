//! The command line: with no arguments the Lambda runtime loop; otherwise
//! one of the tools. Parsed with clap, so every command has `--help`, the
//! environment variables show in help, and usage errors exit with 2.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::guests::engine::Arch;

const ENVIRONMENT: &str = "\
Environment:
  WASM_LAMBDA_GUESTS         guests folder (default /opt/guests), or s3://BUCKET/PREFIX/
  WASM_LAMBDA_MODELS         models folder (default /opt/models), or s3://…
                             (default with guests from S3: the same release's models)
  WASM_LAMBDA_CACHE          compiled-artifact and download cache (default /tmp/wasm-lambda-cache)
  WASM_LAMBDA_DEFAULT_GUEST  guest for events no rule routes
  WASM_LAMBDA_STRICT         1: any guest or model that fails to load fails init
  WASM_LAMBDA_TRUSTED_KEYS   Ed25519 public keys (comma-separated, or a file): only
                             releases signed by one of them, with pointers signed by one
                             of them, run; a warm environment never goes to a lower sequence
  WASM_LAMBDA_RELEASE_MAX_AGE  with trusted keys: refuse a pointer signed longer ago
                             (90s, 12h, 7d; unset: no limit); keep it fresh with `refresh`
  WASM_LAMBDA_REFRESH_S      seconds between release checks in a warm environment (default 60; 0: pings only)
  AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION,
  AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL   S3 access, as Lambda sets it
  AWS_LAMBDA_RUNTIME_API     the Runtime API (set by Lambda) for the runtime loop
  RUST_LOG                   log filter (default info)";

/// Run WebAssembly guests on AWS Lambda. With no command: the Lambda
/// runtime loop (needs AWS_LAMBDA_RUNTIME_API).
#[derive(Debug, Parser)]
#[command(name = "wasm-lambda-host", version, after_help = ENVIRONMENT)]
pub struct Cli {
    /// The tool to run; none runs the Lambda runtime loop.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The tools.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile the guests in DIR to .cwasm beside them, for the portable
    /// baseline CPU of a Lambda architecture (x86_64: x86-64-v3; aarch64:
    /// Graviton2).
    #[command(after_help = ENVIRONMENT)]
    Precompile {
        /// Architecture to compile for (x86_64, or aarch64 / arm64);
        /// default: this host's.
        #[arg(long, value_name = "ARCH")]
        target: Option<Arch>,
        /// Guests folder.
        dir: PathBuf,
    },
    /// Run one event through init and the host path; print the answer (or
    /// the error as JSON, exit 1).
    #[command(after_help = ENVIRONMENT)]
    Invoke {
        /// Guest that gets the event (warmer pings still go to the host).
        guest: String,
        /// Event file, or - for stdin (default: {}).
        event: Option<String>,
    },
    /// Check every guest (and model), precompile each guest for both Lambda
    /// architectures, upload what the bucket lacks, and make the result the
    /// current release.
    #[command(after_help = ENVIRONMENT)]
    Publish {
        /// Sign the release with this secret key (from `keygen`).
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
        /// Models folder (default: keep the current release's models).
        #[arg(long, value_name = "DIR")]
        models: Option<PathBuf>,
        /// Guests folder.
        dir: PathBuf,
        /// s3://BUCKET/PREFIX/
        to: String,
    },
    /// List the releases at s3://BUCKET/PREFIX/ (* marks the current one).
    #[command(after_help = ENVIRONMENT)]
    Releases {
        /// s3://BUCKET/PREFIX/
        location: String,
    },
    /// Make an earlier release current again.
    #[command(after_help = ENVIRONMENT)]
    Rollback {
        /// Sign the new pointer with this secret key (from `keygen`): hosts
        /// with WASM_LAMBDA_TRUSTED_KEYS follow only a signed rollback.
        #[arg(long, value_name = "KEY")]
        sign: Option<PathBuf>,
        /// s3://BUCKET/PREFIX/
        location: String,
        /// Release id (from `releases`).
        release: String,
    },
    /// Sign the current pointer again (same release, the time now, the
    /// next sequence), so hosts with WASM_LAMBDA_RELEASE_MAX_AGE keep
    /// taking it; run on a schedule shorter than that limit.
    #[command(after_help = ENVIRONMENT)]
    Refresh {
        /// The secret key to sign with (from `keygen`).
        #[arg(long, value_name = "KEY")]
        sign: PathBuf,
        /// s3://BUCKET/PREFIX/
        location: String,
    },
    /// Send the warmer ping to FUNCTION through Lambda's Invoke API and print
    /// what it warmed (AWS_REGION / AWS_ENDPOINT_URL_LAMBDA and the usual
    /// AWS credential variables).
    Warm {
        /// Function name, NAME:QUALIFIER or ARN.
        function: String,
        /// Environments to keep warm.
        #[arg(long, default_value_t = 1)]
        concurrency: u32,
        /// How long each copy holds, so copies land on distinct
        /// environments (grow it with the concurrency).
        #[arg(long, value_name = "MS", default_value_t = 100)]
        delay: u64,
        /// Version or alias to warm.
        #[arg(long)]
        qualifier: Option<String>,
    },
    /// Write an Ed25519 key pair NAME.key / NAME.pub for `publish --sign`.
    Keygen {
        /// Path and name of the pair, without extension.
        name: PathBuf,
    },
    /// Say whether the host can run a guest and, if not, why.
    Check {
        /// The guest's .wasm.
        file: PathBuf,
    },
    /// Load every model in DIR as init does; list inputs and outputs.
    Models {
        /// Models folder.
        dir: PathBuf,
    },
    /// Run a model once: {"input name": nested arrays} in, outputs out.
    Infer {
        /// The .onnx file.
        model: PathBuf,
        /// Inputs: inline JSON, a file, or - for stdin (default: zeros).
        input: Option<String>,
        /// Also time N more runs of the same inputs; prints the median run
        /// time to stderr (`median 12.3 us over N runs`).
        #[arg(long, value_name = "N")]
        repeat: Option<u32>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_and_misuse_is_a_usage_error() {
        let cli = Cli::try_parse_from(["wasm-lambda-host"]).unwrap();
        assert!(cli.command.is_none());
        let cli = Cli::try_parse_from(["wasm-lambda-host", "precompile", "--target", "arm64", "g"])
            .unwrap();
        assert!(matches!(
            cli.command,
            Some(Command::Precompile {
                target: Some(Arch::Aarch64),
                ..
            })
        ));
        for args in [
            &["wasm-lambda-host", "precompile", "--target", "mips", "g"][..],
            &["wasm-lambda-host", "precompile"],
            &["wasm-lambda-host", "frobnicate"],
            &["wasm-lambda-host", "check", "a", "b"],
            &["wasm-lambda-host", "publish", "guests"],
            &["wasm-lambda-host", "rollback", "s3://b/p/"],
        ] {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }
}
