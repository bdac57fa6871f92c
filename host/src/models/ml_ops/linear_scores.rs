//! The scores of a linear model for a batch of rows: for each row and
//! target, the dot product of the row with the target's coefficients plus
//! its intercept (`LinearRegressor`, `LinearClassifier`).
//!
//! Why not one row at a time: a row's dot product is a chain of dependent
//! additions (each waits ~4 cycles for the one before), so a row at a time
//! left the floating-point units idle most of the time (a 1,024-row batch of
//! 6 features took ~9 µs, the C API ~5). Eight rows go at once here, their
//! chains overlapping; each still sums its products in feature order from
//! -0.0, as `Iterator::sum` does, so every score is bit for bit what the
//! plain loop gives, whatever the batch.

use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

/// Rows at once.
const BLOCK: usize = 8;

/// The scores of every row of `input` (`[N, features]`, or one `[features]`
/// row; any numeric type, read in place when it is already f32); returns
/// the row count and the `rows × targets` scores. `op` names the operator
/// in errors.
///
/// # Errors
/// An input without an axis, or not numeric.
pub(crate) fn scores_of_input(
    op: &str,
    input: &TValue,
    features: usize,
    coefficients: &[f32],
    intercepts: &[f32],
) -> TractResult<(usize, Vec<f32>)> {
    ensure!(
        input.rank() >= 1,
        "{op}: the input must have at least one axis"
    );
    let floats = input.cast_to::<f32>()?;
    let x = floats.try_as_plain_ram()?;
    let x = x.as_slice::<f32>()?;
    let rows = x.len() / features.max(1);
    Ok((
        rows,
        linear_scores(x, rows, features, coefficients, intercepts),
    ))
}

/// `rows × targets` scores, row-major. `x` holds `rows` rows of `features`
/// values; `coefficients` one run of `features` per target.
///
/// Compiled twice, as `vector_logistic` is: for x86-64 CPUs with AVX2 the
/// eight rows of a block are one register, not two (same operations, same
/// bits).
pub(crate) fn linear_scores(
    x: &[f32],
    rows: usize,
    features: usize,
    coefficients: &[f32],
    intercepts: &[f32],
) -> Vec<f32> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the loop needs AVX2, which this CPU has (checked above).
        return unsafe { linear_scores_avx2(x, rows, features, coefficients, intercepts) };
    }
    linear_scores_loop(x, rows, features, coefficients, intercepts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn linear_scores_avx2(
    x: &[f32],
    rows: usize,
    features: usize,
    coefficients: &[f32],
    intercepts: &[f32],
) -> Vec<f32> {
    linear_scores_loop(x, rows, features, coefficients, intercepts)
}

#[inline(always)]
fn linear_scores_loop(
    x: &[f32],
    rows: usize,
    features: usize,
    coefficients: &[f32],
    intercepts: &[f32],
) -> Vec<f32> {
    let targets = intercepts.len();
    let mut out = vec![0f32; rows * targets];
    if features == 0 {
        for scores in out.chunks_exact_mut(targets.max(1)) {
            scores.copy_from_slice(intercepts);
        }
        return out;
    }
    let weights = || coefficients.chunks_exact(features).zip(intercepts);
    let full = rows / BLOCK * BLOCK;
    for start in (0..full).step_by(BLOCK) {
        let block = &x[start * features..(start + BLOCK) * features];
        for (t, (w, b)) in weights().enumerate() {
            let mut sums = [-0.0f32; BLOCK];
            for (f, w) in w.iter().enumerate() {
                for (k, sum) in sums.iter_mut().enumerate() {
                    *sum += block[k * features + f] * w;
                }
            }
            for (k, sum) in sums.iter().enumerate() {
                out[(start + k) * targets + t] = sum + b;
            }
        }
    }
    for r in full..rows {
        let row = &x[r * features..(r + 1) * features];
        for (t, (w, b)) in weights().enumerate() {
            out[r * targets + t] = row.iter().zip(w).map(|(x, w)| x * w).sum::<f32>() + b;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_give_the_plain_loops_scores_bit_for_bit() {
        let features = 6;
        let coefficients: Vec<f32> = (0..2 * features).map(|i| (i as f32 * 0.37).sin()).collect();
        let intercepts = [0.25, -1.5];
        for rows in [0, 1, 7, 8, 9, 17, 1024] {
            let x: Vec<f32> = (0..rows * features)
                .map(|i| (i as f32 * 1.3).cos() * 3.0)
                .collect();
            let got = linear_scores(&x, rows, features, &coefficients, &intercepts);
            let plain: Vec<f32> = x
                .chunks(features)
                .flat_map(|row| {
                    coefficients
                        .chunks(features)
                        .zip(&intercepts)
                        .map(|(w, b)| row.iter().zip(w).map(|(x, w)| x * w).sum::<f32>() + b)
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_eq!(
                got.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                plain.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                "{rows} rows"
            );
        }
        assert_eq!(linear_scores(&[], 3, 0, &[], &[0.5]), [0.5, 0.5, 0.5]);
        // And the baseline loop (what a CPU without AVX2 runs) agrees.
        let x: Vec<f32> = (0..40 * features).map(|i| (i as f32 * 0.7).sin()).collect();
        assert_eq!(
            linear_scores(&x, 40, features, &coefficients, &intercepts),
            linear_scores_loop(&x, 40, features, &coefficients, &intercepts)
        );
    }
}
