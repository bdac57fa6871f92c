//! `Flatten`, in place of tract's, which refuses any input with two
//! dimensions unknown at load ("square of symbols"): skl2onnx's text
//! pipelines flatten the tokenizer's `[rows, tokens]`, both known only when
//! the model runs. Ours computes the same two dimensions, as products of
//! the symbols where they are unknown, and wires the same reshapes; with a
//! rank-2 input and axis 1 (the text pipelines' case) it is no op at all.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Flatten {
    axis: i64,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axis: i64 = node.get_attr_opt("axis")?.unwrap_or(1);
    Ok((expand(Flatten { axis }), vec![]))
}

impl Flatten {
    fn output_shape(&self, shape: &[TDim]) -> TractResult<[TDim; 2]> {
        let rank = shape.len() as i64;
        let axis = if self.axis >= 0 {
            self.axis
        } else {
            self.axis + rank
        };
        ensure!(
            (0..=rank).contains(&axis),
            "Flatten: axis {} is outside rank {rank}",
            self.axis
        );
        let (before, after) = shape.split_at(axis as usize);
        Ok([
            before.iter().cloned().product(),
            after.iter().cloned().product(),
        ])
    }
}

impl Expansion for Flatten {
    fn name(&self) -> StaticName {
        "Flatten".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given(&inputs[0].shape, move |s, shape| {
            let [before, after] = self.output_shape(&shape)?;
            s.equals(&outputs[0].shape, ShapeFactoid::from(vec![before, after]))
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let input_shape = model.outlet_fact(inputs[0])?.shape.to_tvec();
        let output_shape = self.output_shape(&input_shape)?;
        if input_shape.as_slice() == output_shape.as_slice() {
            return Ok(tvec!(inputs[0]));
        }
        let mut wire = tvec!(inputs[0]);
        let ops = tract_onnx::tract_core::ops::change_axes::to_axis_ops_with_tf_rules(
            &input_shape,
            &output_shape,
        )?;
        for (ix, op) in ops.into_iter().enumerate() {
            wire = model.wire_node(format!("{prefix}.{ix}"), op, &wire)?;
        }
        Ok(wire)
    }
}
