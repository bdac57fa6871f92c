//! Softmax over a short last axis (a classifier's few classes), computed
//! row after row in one pass over the batch.
//!
//! tract's Softmax treats each row with kernels built for long rows (32
//! lanes, thread-local scratch, a parallel split of the rows): right for a
//! transformer's vocabulary, costly for three classes. On a 1,024-row batch
//! of the 3-class MLP it was about half the run (BENCHMARKS.md, "where the
//! MLP batch time goes"). After optimization, each float Softmax whose only
//! axis is the last and at most [`SHORT_ROW`] long is swapped for this op;
//! anything else (a strided input) still goes to tract's own.
//!
//! Same arithmetic as onnxruntime's: `exp(x - max) / sum`, per row.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Softmax, SoftmaxKind};
use tract_onnx::tract_hir::internal::*;

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
        let contiguous = inputs
            .first()
            .is_some_and(|input| input.strides() == &*Tensor::natural_strides(input.shape()));
        if !contiguous {
            return self.general.eval(ctx, inputs);
        }
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

/// Swaps every float Softmax over a short, fixed last axis in `model` for
/// [`ShortRowSoftmax`]; returns how many.
///
/// # Errors
/// Only if the model's facts are inconsistent (tract checked them already).
pub fn use_short_row_softmax(model: &mut TypedModel) -> TractResult<usize> {
    let mut swapped = 0;
    for id in 0..model.nodes.len() {
        let Some(softmax) = model.nodes[id].op_as::<Softmax>() else {
            continue;
        };
        if softmax.kind != SoftmaxKind::Softmax
            || softmax.quant_output_dt.is_some()
            || softmax.axes.len() != 1
        {
            continue;
        }
        let general = softmax.clone();
        let fact = model.outlet_fact(model.nodes[id].inputs[0])?;
        let rank = fact.rank();
        let last = rank.checked_sub(1);
        let row_len = last.and_then(|axis| fact.shape[axis].as_i64());
        match (row_len, last) {
            (Some(row_len), Some(axis))
                if fact.datum_type == f32::datum_type()
                    && general.axes[0] == axis
                    && (1..=SHORT_ROW as i64).contains(&row_len) =>
            {
                model.nodes[id].op = Box::new(ShortRowSoftmax {
                    row_len: usize::try_from(row_len)?,
                    general,
                });
                swapped += 1;
            }
            _ => {}
        }
    }
    Ok(swapped)
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
            assert_eq!(use_short_row_softmax(&mut swapped).unwrap(), 1);
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
    fn long_rows_keep_tracts_softmax() {
        let mut model = softmax_model(SHORT_ROW + 1);
        assert_eq!(use_short_row_softmax(&mut model).unwrap(), 0);
    }
}
