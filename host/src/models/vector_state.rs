//! Clears the upper halves of the vector registers before our own ops run.
//!
//! tract's matrix-multiply kernels are hand-written AVX/AVX-512 assembly
//! that returns with the upper halves of the vector registers dirty (no
//! `vzeroupper`). The host is compiled for the x86-64 baseline, so our ops'
//! loops are legacy-encoded SSE code, calling libm's AVX-encoded `expf`:
//! while the upper state is dirty, the processor pays for every such
//! instruction (a merge with the upper half, or a state transition at each
//! switch, depending on the model). On this project's Xeon the 3-class MLP's
//! softmax over 1,024 rows took 375 µs of a 500 µs run, ~120 ns per `expf`
//! (BENCHMARKS.md, "Models against onnxruntime", and its history,
//! where the measurements are). Compilers insert `vzeroupper` after their own AVX
//! code for this reason; the assembly kernels leave it to the caller.

/// Marks the upper halves of the vector registers clean (`vzeroupper`), so
/// the legacy-encoded code that follows runs at full speed. Call it at the
/// start of an op's `eval`: the op before it may have been a tract kernel.
/// Does nothing on CPUs without AVX and on other architectures.
#[inline]
pub fn clear_upper_vector_state() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: `zero_upper` needs AVX, which this CPU has (checked above).
        unsafe { zero_upper() }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
fn zero_upper() {
    std::arch::x86_64::_mm256_zeroupper();
}
