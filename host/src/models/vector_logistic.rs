//! The logistic function (and the softmax) over a whole batch of scores, in
//! code the compiler turns into vector instructions.
//!
//! A LOGISTIC post-transform (scikit-learn's logistic regression, boosted
//! binary classifiers) called libm's scalar `expf` once per score: on a
//! 1,024-row batch of the binary logistic regression that was 31% of the
//! run (BENCHMARKS.md, "Models against onnxruntime", and
//! its history). Here `exp` is computed the way Cephes' `expf` does (a
//! power of two times a degree-6 polynomial on `[-ln 2 / 2, ln 2 / 2]`),
//! with no branch and no call, so a loop over a slice runs four (SSE2)
//! lanes at a time. std has no vector `exp`, and a SIMD math crate for one function
//! would add more than it saves.

/// `1 / (1 + e^-x)` for every value, in place, within 1e-6 relative of the
/// exact value (stable for large `|x|`).
///
/// On x86-64 CPUs with AVX2 (every Lambda x86 CPU) the same loop runs eight
/// lanes at a time instead of the baseline's four: compiled twice, chosen
/// at run time. The operations are the same (no fused multiply-add), so the
/// values are bit for bit those of the baseline loop.
pub fn logistic_in_place(values: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the loop needs AVX2, which this CPU has (checked above).
        unsafe { logistic_in_place_avx2(values) };
        return;
    }
    logistic_loop(values);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn logistic_in_place_avx2(values: &mut [f32]) {
    logistic_loop(values);
}

#[inline(always)]
fn logistic_loop(values: &mut [f32]) {
    for value in values {
        *value = logistic(*value);
    }
}

/// `[logistic(-s), logistic(s)]` for each score `s`, into `out` (twice as
/// long): one `exp` for both, each value bit for bit what [`logistic`]
/// gives for it. A binary linear classifier's two columns (its score rows
/// are one another's negation).
pub fn logistic_pairs(scores: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the loop needs AVX2, which this CPU has (checked above).
        unsafe { logistic_pairs_avx2(scores, out) };
        return;
    }
    logistic_pairs_loop(scores, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn logistic_pairs_avx2(scores: &[f32], out: &mut [f32]) {
    logistic_pairs_loop(scores, out);
}

#[inline(always)]
fn logistic_pairs_loop(scores: &[f32], out: &mut [f32]) {
    for (pair, &s) in out.chunks_exact_mut(2).zip(scores) {
        // `logistic` of s and of -s share |s|, so e and v.
        let e = exp_non_positive(-s.abs());
        let v = 1.0 / (1.0 + e);
        pair[0] = if -s < 0.0 { e * v } else { v };
        pair[1] = if s < 0.0 { e * v } else { v };
    }
}

/// Softmax of each row of `width` scores of `scores`, in place: each row's
/// maximum subtracted, then `exp` over the whole batch at once (what
/// vectorizes), then each row divided by its sum.
pub fn softmax_rows(scores: &mut [f32], width: usize) {
    if width == 0 {
        return;
    }
    for row in scores.chunks_mut(width) {
        let max = row.iter().copied().fold(f32::MIN, f32::max);
        row.iter_mut().for_each(|s| *s -= max);
    }
    for value in scores.iter_mut() {
        *value = exp_non_positive(*value);
    }
    for row in scores.chunks_mut(width) {
        let sum: f32 = row.iter().sum();
        row.iter_mut().for_each(|s| *s /= sum);
    }
}

/// The logistic of one value, inlined into loops that vectorize.
#[inline(always)]
pub fn logistic(x: f32) -> f32 {
    let e = exp_non_positive(-x.abs());
    let v = 1.0 / (1.0 + e);
    // For x < 0, `e / (1 + e)`: the same value as `1 - v` without the
    // cancellation that costs `1 - v` its low bits when it is small.
    if x < 0.0 { e * v } else { v }
}

/// `e^t` for `t <= 0` (NaN stays NaN); 0 below -87.3, where `e^t` leaves
/// the normal floats (so the logistic of a large `|x|` is exactly 1 or 0,
/// as the scalar formula answers).
#[inline(always)]
fn exp_non_positive(t: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    // ln 2 in two parts, so `t - n ln 2` keeps its low bits.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
    // (plain SSE2; `f32::round` is a call there).
    const ROUND: f32 = 12_582_912.0;
    // Comparisons, not `f32::max`, so a NaN stays NaN.
    let underflows = t < -87.3;
    let t = if underflows { -87.3 } else { t };
    let n = (t * LOG2_E + ROUND) - ROUND;
    let r = t - n * LN2_HIGH - n * LN2_LOW;
    let r2 = r * r;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 1.666_666_5e-1)
        * r
        + 0.5;
    let e_r = p * r2 + r + 1.0;
    // 2^n from its exponent bits: n is in [-126, 0] after the clamp.
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    if underflows { 0.0 } else { e_r * scale }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_the_logistic_of_minus_s_and_s_bit_for_bit() {
        let scores: Vec<f32> = (-2000..2000)
            .map(|i| i as f32 * 0.05)
            .chain([
                0.0,
                -0.0,
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                1e-40,
                -1e-40,
            ])
            .collect();
        let mut pairs = vec![0f32; scores.len() * 2];
        logistic_pairs(&scores, &mut pairs);
        let mut alone = scores.clone();
        logistic_in_place(&mut alone);
        for ((pair, &s), p) in pairs.chunks_exact(2).zip(&scores).zip(&alone) {
            assert_eq!(pair[0].to_bits(), logistic(-s).to_bits(), "logistic(-{s})");
            assert_eq!(pair[1].to_bits(), p.to_bits(), "logistic({s})");
        }
    }

    #[test]
    fn agrees_with_the_exact_logistic_across_the_range() {
        let mut compared = 0;
        let mut x = -87.0f32;
        while x <= 100.0 {
            let fast = f64::from(logistic(x));
            let exact = 1.0 / (1.0 + (-f64::from(x)).exp());
            assert!(
                (fast - exact).abs() <= 1e-6 * exact,
                "logistic({x}): {fast} vs {exact}"
            );
            compared += 1;
            x += 0.001_3;
        }
        assert!(compared > 100_000);
    }

    #[test]
    fn exp_matches_std_to_a_few_ulps() {
        let mut t = -87.0f32;
        while t <= 0.0 {
            let fast = exp_non_positive(t);
            let exact = t.exp();
            assert!(
                (fast - exact).abs() <= 4.0 * f32::EPSILON * exact,
                "exp({t}): {fast} vs {exact}"
            );
            t += 0.000_7;
        }
    }

    #[test]
    fn softmax_rows_match_the_per_row_formula() {
        let scores = [1.0f32, -2.0, 0.5, 40.0, 39.0, -80.0, 0.0, 0.0, 0.0];
        let mut batched = scores;
        softmax_rows(&mut batched, 3);
        for (row, got) in scores.chunks(3).zip(batched.chunks(3)) {
            let max = row.iter().copied().fold(f32::MIN, f32::max);
            let exps: Vec<f64> = row.iter().map(|s| f64::from(s - max).exp()).collect();
            let sum: f64 = exps.iter().sum();
            for (e, g) in exps.iter().zip(got) {
                let expected = e / sum;
                assert!(
                    (f64::from(*g) - expected).abs() <= 1e-6 * expected + 1e-30,
                    "{row:?}: {got:?}"
                );
            }
        }
    }

    #[test]
    fn extremes_and_nan() {
        assert_eq!(logistic(0.0), 0.5);
        assert_eq!(logistic(1e6), 1.0);
        assert_eq!(logistic(-1e6), 0.0);
        assert_eq!(logistic(f32::INFINITY), 1.0);
        assert_eq!(logistic(f32::NEG_INFINITY), 0.0);
        assert!(logistic(f32::NAN).is_nan());
        let mut values = [-3.0, 0.0, 3.0];
        logistic_in_place(&mut values);
        assert_eq!(values[1], 0.5);
        assert!((values[0] + values[2] - 1.0).abs() < 1e-7);
    }
}
