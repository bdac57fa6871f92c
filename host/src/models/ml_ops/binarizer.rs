//! `Binarizer`: 1 where `x > threshold`, else 0. Float output. A NaN input
//! is an error, as in onnxruntime (impute before binarizing).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{FactShape, Kernel, expand_kernel, f32_in_place};

#[derive(Debug)]
struct Binarizer {
    threshold: f32,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    expand_kernel(Binarizer {
        threshold: node.get_attr_opt("threshold")?.unwrap_or(0.0),
    })
}

impl Kernel for Binarizer {
    fn name(&self) -> &'static str {
        "Binarizer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        Ok(tvec!((f32::datum_type(), inputs[0].1.clone())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let binarized = f32_in_place(args_1!(inputs), self.name(), |data, _| {
            for (index, x) in data.iter_mut().enumerate() {
                ensure!(
                    !x.is_nan(),
                    "Binarizer: the input value at index {index} is NaN"
                );
                *x = if *x > self.threshold { 1.0 } else { 0.0 };
            }
            Ok(())
        })?;
        Ok(tvec!(binarized))
    }
}
