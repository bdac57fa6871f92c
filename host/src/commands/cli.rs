//! The command line: with no arguments the Lambda runtime loop; otherwise
//! one of the tools. Parsed with clap, so every command has `--help`, the
//! environment variables show in help, and usage errors exit with 2.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::guests::engine::Arch;

const ENVIRONMENT: &str = "\
Environment:
  WASM_LAMBDA_GUESTS         guests folder (default /opt/guests)
  WASM_LAMBDA_MODELS         models folder (default /opt/models)
  WASM_LAMBDA_CACHE          compiled-artifact cache (default /tmp/wasm-lambda-cache)
  WASM_LAMBDA_DEFAULT_GUEST  guest for events no rule routes
  WASM_LAMBDA_STRICT         1: any guest or model that fails to load fails init
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
        ] {
            let error = Cli::try_parse_from(args).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{args:?}");
        }
    }
}
