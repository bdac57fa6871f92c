//! `ZipMap`: skl2onnx's default last step for classifiers turns the
//! probability tensor into a list of {label: probability} maps, a type our
//! guest contract does not carry. We serve the probabilities as they are: a
//! float tensor [rows, classes] in label order (the order of
//! `classlabels_*`, which is the order of the `label` output's values).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::{FactShape, Kernel, expand_kernel};

#[derive(Debug)]
struct ZipMap;

pub fn from_node(
    _ctx: &ParsingContext,
    _node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    expand_kernel(ZipMap)
}

impl Kernel for ZipMap {
    fn name(&self) -> &'static str {
        "ZipMap"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        ensure!(
            inputs[0].0 == f32::datum_type() && inputs[0].1.len() == 2,
            "ZipMap: the input must be float probabilities [rows, classes]"
        );
        Ok(tvec!(inputs[0].clone()))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        Ok(inputs)
    }
}
