//! A classifier's head over its few classes (a short last axis): softmax
//! and argmax computed row after row in one pass over the batch.
//!
//! tract's Softmax treats each row with kernels built for long rows (32
//! lanes, thread-local scratch, a parallel split of the rows), and its
//! ArgMax walks each row through an `ndarray` view: right for a
//! transformer's vocabulary, costly for three classes. On a 1,024-row batch
//! of the 3-class MLP the softmax was about half the run, and then the
//! argmax a third of the rest (BENCHMARKS.md, "Models against
//! onnxruntime", and its history). After optimization, each float Softmax and ArgMax whose only axis
//! is the last, fixed and at most [`SHORT_ROW`] long is swapped for the ops
//! here; anything else (a strided input) still goes to tract's own.
//!
//! Softmax: `exp(x - max) / sum` per row, as onnxruntime computes it.
//! ArgMax: tract's own rule (first or last index of the largest value).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, Softmax, SoftmaxKind};
use tract_onnx::tract_hir::internal::*;

use super::vector_state::clear_upper_vector_state;

/// Longest last axis handled here.
pub const SHORT_ROW: usize = 16;

/// Softmax over the last axis, `row_len` long.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ShortRowSoftmax {
    row_len: usize,
    /// tract's op, for inputs that are not one contiguous buffer.
    general: Softmax,
}

impl Op for ShortRowSoftmax {
    fn name(&self) -> StaticName {
        "ShortRowSoftmax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ShortRowSoftmax {
    op_out_of_plan!();

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        if !is_contiguous(&inputs) {
            return self.general.eval(ctx, inputs);
        }
        clear_upper_vector_state();
        let mut tensor = args_1!(inputs).into_tensor();
        let mut plain = tensor.try_as_plain_ram_mut()?;
        for row in plain.as_slice_mut::<f32>()?.chunks_exact_mut(self.row_len) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut sum = 0.0f32;
            for value in row.iter_mut() {
                *value = (*value - max).exp();
                sum += *value;
            }
            for value in row.iter_mut() {
                *value /= sum;
            }
        }
        Ok(tvec!(tensor.into_tvalue()))
    }
}

impl TypedOp for ShortRowSoftmax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}

/// ArgMax over the last axis, `row_len` long: one `i64` per row.
#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ShortRowArgMax {
    row_len: usize,
    /// Take the last index of the largest value (ONNX `select_last_index`).
    last: bool,
    /// tract's op, for inputs that are not one contiguous buffer.
    general: Reduce,
}

impl Op for ShortRowArgMax {
    fn name(&self) -> StaticName {
        "ShortRowArgMax".into()
    }

    op_as_typed_op!();
}

impl EvalOp for ShortRowArgMax {
    op_out_of_plan!();

    fn eval(&self, ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        if !is_contiguous(&inputs) {
            return self.general.eval(ctx, inputs);
        }
        clear_upper_vector_state();
        let input = args_1!(inputs);
        let mut shape: TVec<usize> = input.shape().into();
        if let Some(axis) = shape.last_mut() {
            *axis = 1;
        }
        let plain = input.try_as_plain_ram()?;
        // tract's fold, to give the same index: starts from the lowest
        // finite value, so NaN never wins and an all-NaN row answers 0.
        let indexes: Vec<i64> = plain
            .as_slice::<f32>()?
            .chunks_exact(self.row_len)
            .map(|row| {
                let (index, _) =
                    row.iter()
                        .copied()
                        .enumerate()
                        .fold((0usize, f32::MIN), |best, candidate| {
                            if candidate.1 > best.1 || (self.last && candidate.1 == best.1) {
                                candidate
                            } else {
                                best
                            }
                        });
                index as i64
            })
            .collect();
        Ok(tvec!(Tensor::from_shape(&shape, &indexes)?.into_tvalue()))
    }
}

impl TypedOp for ShortRowArgMax {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let mut shape: TVec<TDim> = inputs[0].shape.to_tvec();
        if let Some(axis) = shape.last_mut() {
            *axis = 1.to_dim();
        }
        Ok(tvec!(i64::fact(shape)))
    }

    as_op!();
}

/// Whether the first input is one row-major buffer (the ops here read it
/// as rows; anything else goes to tract's own op).
fn is_contiguous(inputs: &TVec<TValue>) -> bool {
    inputs
        .first()
        .is_some_and(|input| input.strides() == &*Tensor::natural_strides(input.shape()))
}

/// Swaps every float Softmax and ArgMax over a short, fixed last axis in
/// `model` for [`ShortRowSoftmax`] and [`ShortRowArgMax`]; returns how many.
///
/// # Errors
/// Only if the model's facts are inconsistent (tract checked them already).
pub fn use_short_row_ops(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes.len() {
        let fact = model.outlet_fact(
            model.nodes[id]
                .inputs
                .first()
                .copied()
                .unwrap_or(OutletId::new(id, 0)),
        )?;
        let Some(row_len) = short_last_axis(fact) else {
            continue;
        };
        let last_axis = fact.rank() - 1;
        let node = &model.nodes[id];
        let replacement: Option<Box<dyn TypedOp>> = if let Some(softmax) = node.op_as::<Softmax>() {
            (softmax.kind == SoftmaxKind::Softmax
                && softmax.quant_output_dt.is_none()
                && *softmax.axes == [last_axis])
            .then(|| {
                Box::new(ShortRowSoftmax {
                    row_len,
                    general: softmax.clone(),
                }) as Box<dyn TypedOp>
            })
        } else if let Some(reduce) = node.op_as::<Reduce>() {
            match reduce.reducer {
                Reducer::ArgMax(last) if *reduce.axes == [last_axis] => {
                    Some(Box::new(ShortRowArgMax {
                        row_len,
                        last,
                        general: reduce.clone(),
                    }))
                }
                _ => None,
            }
        } else {
            None
        };
        if let Some(op) = replacement {
            model.nodes[id].op = op;
            swapped += 1;
        }
    }
    Ok(swapped)
}

/// The last axis's length, for a float32 input whose last axis is fixed and
/// 1 to [`SHORT_ROW`] long.
fn short_last_axis(fact: &TypedFact) -> Option<usize> {
    if fact.datum_type != f32::datum_type() {
        return None;
    }
    let length = fact.shape.iter().last()?.as_i64()?;
    usize::try_from(length)
        .ok()
        .filter(|length| (1..=SHORT_ROW).contains(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A model of one Softmax over the last axis of a `[rows, classes]` input.
    fn softmax_model(classes: usize) -> TypedModel {
        let mut model = TypedModel::default();
        let input = model.add_source("x", f32::fact([7, classes])).unwrap();
        let output = model
            .wire_node(
                "softmax",
                Softmax::new(tvec!(1), None, SoftmaxKind::Softmax),
                &[input],
            )
            .unwrap();
        model.select_output_outlets(&output).unwrap();
        model
    }

    fn run(model: TypedModel, input: &Tensor) -> Vec<f32> {
        let plan = model.into_runnable().unwrap();
        let outputs = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
        outputs[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec()
    }

    #[test]
    fn short_rows_match_tracts_softmax() {
        for classes in [1usize, 2, 3, 5, 16] {
            let values: Vec<f32> = (0..7 * classes)
                .map(|i| ((i * 37 % 11) as f32 - 5.0) * if i % 4 == 0 { 30.0 } else { 1.3 })
                .collect();
            let input = Tensor::from_shape(&[7, classes], &values).unwrap();
            let expected = run(softmax_model(classes), &input);
            let mut swapped = softmax_model(classes);
            assert_eq!(use_short_row_ops(&mut swapped).unwrap(), 1);
            let got = run(swapped, &input);
            for (g, e) in got.iter().zip(&expected) {
                assert!(
                    (g - e).abs() <= 1e-6 * e.abs().max(1e-30) + 1e-7,
                    "{classes}: {g} vs {e}"
                );
            }
        }
    }

    #[test]
    fn short_rows_argmax_like_tract_ties_and_nan_included() {
        for last in [false, true] {
            let model = || {
                let mut model = TypedModel::default();
                let input = model.add_source("x", f32::fact([5, 3])).unwrap();
                let output = model
                    .wire_node(
                        "argmax",
                        Reduce::new(tvec!(1), Reducer::ArgMax(last)),
                        &[input],
                    )
                    .unwrap();
                model.select_output_outlets(&output).unwrap();
                model
            };
            let values = [
                0.1,
                0.7,
                0.2, // plain
                0.5,
                0.5,
                0.1, // tie
                f32::NAN,
                0.3,
                0.3, // NaN and a tie
                f32::NAN,
                f32::NAN,
                f32::NAN, // all NaN
                -1.0,
                f32::NEG_INFINITY,
                -3.0,
            ];
            let input = Tensor::from_shape(&[5, 3], &values).unwrap();
            let indexes = |model: TypedModel| -> Vec<i64> {
                let plan = model.into_runnable().unwrap();
                let outputs = plan.run(tvec!(input.clone().into_tvalue())).unwrap();
                assert_eq!(outputs[0].shape(), &[5, 1]);
                outputs[0]
                    .try_as_plain_ram()
                    .unwrap()
                    .as_slice::<i64>()
                    .unwrap()
                    .to_vec()
            };
            let expected = indexes(model());
            let mut swapped = model();
            assert_eq!(use_short_row_ops(&mut swapped).unwrap(), 1);
            assert_eq!(indexes(swapped), expected, "select_last_index {last}");
        }
    }

    #[test]
    fn long_rows_keep_tracts_softmax() {
        let mut model = softmax_model(SHORT_ROW + 1);
        assert_eq!(use_short_row_ops(&mut model).unwrap(), 0);
    }
}
