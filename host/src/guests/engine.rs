//! The wasmtime `Engine`: the one the process runs guests with, the ones
//! `precompile` compiles for each Lambda architecture, and the clock that
//! bounds guest calls.
//!
//! Code is compiled for a fixed CPU baseline per architecture, never for
//! the build machine: x86_64 = x86-64-v3 (what Lambda documents: AVX2),
//! aarch64 = Graviton2 (Neoverse N1: ARMv8.2 with LSE). So a `.cwasm` made
//! on any machine loads on every Lambda host of its architecture. A host
//! whose CPU lacks part of the baseline falls back to its own features (and
//! compiles its guests at init), saying so once.

use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::OnceLock;
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use wasmtime::{Config, Engine, OptLevel};

/// How often the epoch advances. A running guest checks its deadline (and
/// yields to other invocations) once per tick, so it is stopped at most
/// about one tick late.
pub const EPOCH_TICK: Duration = Duration::from_millis(5);

/// A Lambda architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arch {
    /// `x86_64`.
    X86_64,
    /// `arm64` in Lambda's words, `aarch64` in the compiler's.
    Aarch64,
}

impl Arch {
    /// The architecture this host runs on, if Lambda has it.
    pub fn host() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    /// The compiler's name: `x86_64` or `aarch64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    /// The CPU level code for this architecture is compiled for.
    pub fn baseline_name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86-64-v3",
            Arch::Aarch64 => "Graviton2 (Neoverse N1, ARMv8.2 + LSE)",
        }
    }

    /// Cranelift's flags for the baseline's CPU features.
    fn baseline_flags(self) -> &'static [&'static str] {
        match self {
            Arch::X86_64 => &[
                "has_sse3",
                "has_ssse3",
                "has_cmpxchg16b",
                "has_sse41",
                "has_sse42",
                "has_popcnt",
                "has_avx",
                "has_avx2",
                "has_fma",
                "has_bmi1",
                "has_bmi2",
                "has_lzcnt",
            ],
            Arch::Aarch64 => &["has_lse"],
        }
    }

    /// The target triple: this host's, with the architecture swapped in, so
    /// artifacts for either architecture name the same OS and ABI.
    fn triple(self) -> String {
        let mut triple = target_lexicon::HOST;
        triple.architecture = match self {
            Arch::X86_64 => target_lexicon::Architecture::X86_64,
            Arch::Aarch64 => {
                target_lexicon::Architecture::Aarch64(target_lexicon::Aarch64Architecture::Aarch64)
            }
        };
        triple.to_string()
    }
}

impl FromStr for Arch {
    type Err = anyhow::Error;

    fn from_str(text: &str) -> Result<Self> {
        match text {
            "x86_64" | "x86-64" | "amd64" => Ok(Arch::X86_64),
            "aarch64" | "arm64" => Ok(Arch::Aarch64),
            other => Err(anyhow!(
                "unknown architecture `{other}`: use x86_64 or aarch64 (arm64)"
            )),
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an engine's machine code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeTarget {
    /// The portable baseline of a Lambda architecture.
    Baseline(Arch),
    /// This machine's own CPU features (a CPU below the baseline).
    Native,
}

impl CodeTarget {
    /// The architecture the code runs on (`None`: this host's, unknown to Lambda).
    pub fn arch(self) -> Option<Arch> {
        match self {
            CodeTarget::Baseline(arch) => Some(arch),
            CodeTarget::Native => Arch::host(),
        }
    }
}

/// The baseline CPU features this machine lacks (empty when it has them
/// all, or when it is not a Lambda architecture).
pub fn missing_baseline_features() -> Vec<&'static str> {
    #[cfg(target_arch = "x86_64")]
    {
        let checks: [(&str, bool); 12] = [
            ("sse3", std::arch::is_x86_feature_detected!("sse3")),
            ("ssse3", std::arch::is_x86_feature_detected!("ssse3")),
            (
                "cmpxchg16b",
                std::arch::is_x86_feature_detected!("cmpxchg16b"),
            ),
            ("sse4.1", std::arch::is_x86_feature_detected!("sse4.1")),
            ("sse4.2", std::arch::is_x86_feature_detected!("sse4.2")),
            ("popcnt", std::arch::is_x86_feature_detected!("popcnt")),
            ("avx", std::arch::is_x86_feature_detected!("avx")),
            ("avx2", std::arch::is_x86_feature_detected!("avx2")),
            ("fma", std::arch::is_x86_feature_detected!("fma")),
            ("bmi1", std::arch::is_x86_feature_detected!("bmi1")),
            ("bmi2", std::arch::is_x86_feature_detected!("bmi2")),
            ("lzcnt", std::arch::is_x86_feature_detected!("lzcnt")),
        ];
        checks
            .iter()
            .filter(|(_, present)| !present)
            .map(|(name, _)| *name)
            .collect()
    }
    #[cfg(target_arch = "aarch64")]
    {
        if std::arch::is_aarch64_feature_detected!("lse") {
            Vec::new()
        } else {
            vec!["lse"]
        }
    }
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        Vec::new()
    }
}

/// The engine every part of the host shares: one per process, built on
/// first use for the baseline of this architecture (or, on a CPU below it,
/// for this CPU), with its epoch ticker running.
///
/// # Errors
/// Fails only if wasmtime rejects the configuration.
pub fn shared_engine() -> Result<Engine> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    let engine = ENGINE
        .get_or_init(|| build_engine(runtime_target()).map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)?;
    start_epoch_ticker(&engine);
    Ok(engine)
}

/// What the shared engine compiles for on this machine. Decided once; on a
/// CPU below the baseline this logs the one warning line.
pub fn runtime_target() -> CodeTarget {
    static TARGET: OnceLock<CodeTarget> = OnceLock::new();
    *TARGET.get_or_init(|| {
        let Some(arch) = Arch::host() else {
            return CodeTarget::Native;
        };
        let missing = missing_baseline_features();
        if missing.is_empty() {
            CodeTarget::Baseline(arch)
        } else {
            tracing::warn!(
                "this CPU lacks {} of the {} baseline ({}): precompiled guests cannot run here, so every guest is compiled at init for this CPU",
                missing.len(),
                arch.baseline_name(),
                missing.join(", ")
            );
            CodeTarget::Native
        }
    })
}

/// An engine that compiles (never runs) code for `arch`'s baseline: what
/// `precompile` and `publish` use, on any machine.
///
/// # Errors
/// wasmtime rejects the configuration.
pub fn compile_engine(arch: Arch) -> Result<Engine> {
    build_engine(CodeTarget::Baseline(arch))
}

fn build_engine(target: CodeTarget) -> Result<Engine> {
    let mut config = Config::new();
    config
        .cranelift_opt_level(OptLevel::Speed)
        .parallel_compilation(true)
        // Deadlines: guest code checks the epoch at loop headers and
        // function entries, so an infinite loop is interrupted.
        .epoch_interruption(true)
        // Deep recursion traps instead of aborting the process.
        .max_wasm_stack(1 << 20)
        // No .eh_frame for guest code: wasmtime walks guest frames by
        // frame pointer (traps and backtraces keep working), and loading
        // a guest then skips registering every function with the system
        // unwinder (measured in BENCHMARKS.md, "cost per guest").
        .native_unwind_info(false);
    if let CodeTarget::Baseline(arch) = target {
        // An explicit target stops Cranelift from detecting (and using)
        // the build machine's extra features, e.g. AVX-512.
        config.target(&arch.triple())?;
        for flag in arch.baseline_flags() {
            // SAFETY: these flags only describe CPU features. For `arch` ==
            // this host they are enabled only after `runtime_target` found
            // every one of them on this CPU; for other targets the code is
            // compiled, never run here.
            unsafe {
                config.cranelift_flag_enable(flag);
            }
        }
    }
    Engine::new(&config)
        .map_err(anyhow::Error::from)
        .with_context(|| match target.arch() {
            Some(arch) => format!("configuring the wasmtime engine for {arch}"),
            None => "configuring the wasmtime engine".to_owned(),
        })
}

/// A number that changes whenever compiled artifacts stop being compatible
/// with an engine: another wasmtime version, engine configuration or target.
pub fn engine_fingerprint(engine: &Engine) -> u64 {
    // DefaultHasher::new() uses fixed keys, so the value is stable for a
    // given host binary; that is all a cache in /tmp or an image needs.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    hasher.finish()
}

/// Starts (once per process) the thread that advances the engine's epoch.
fn start_epoch_ticker(engine: &Engine) {
    static STARTED: OnceLock<()> = OnceLock::new();
    STARTED.get_or_init(|| {
        let engine = engine.clone();
        let spawned = std::thread::Builder::new()
            .name("epoch-ticker".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(EPOCH_TICK);
                    engine.increment_epoch();
                }
            });
        if let Err(error) = spawned {
            // Without the ticker deadlines never fire; everything else works.
            tracing::error!(%error, "could not start the epoch ticker: guest timeouts are disabled");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_parse_by_either_name() {
        assert_eq!("arm64".parse::<Arch>().unwrap(), Arch::Aarch64);
        assert_eq!("aarch64".parse::<Arch>().unwrap(), Arch::Aarch64);
        assert_eq!("x86_64".parse::<Arch>().unwrap(), Arch::X86_64);
        assert!("riscv64".parse::<Arch>().is_err());
    }

    #[test]
    fn both_lambda_architectures_compile_here() {
        // Cross-compiling needs Cranelift's backend for each.
        // wasmtime's artifacts are ELF files: e_machine names the CPU.
        for (arch, elf_machine) in [(Arch::X86_64, 62), (Arch::Aarch64, 183)] {
            let engine = compile_engine(arch).unwrap();
            let wasm =
                wat::parse_str("(module (func (export \"f\") (result i32) i32.const 7))").unwrap();
            let code = engine.precompile_module(&wasm).unwrap();
            let machine = u16::from_le_bytes([code[18], code[19]]);
            assert_eq!(machine, elf_machine, "{arch}");
        }
        assert_ne!(
            engine_fingerprint(&compile_engine(Arch::X86_64).unwrap()),
            engine_fingerprint(&compile_engine(Arch::Aarch64).unwrap())
        );
    }
}
