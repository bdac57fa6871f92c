//! Log set-up: `RUST_LOG` filter (default `info`), plain lines on stderr.
//!
//! Lambda sends both stdout and stderr to CloudWatch; stderr keeps stdout
//! free for the answers `invoke` prints.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (once; later calls do nothing).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}
