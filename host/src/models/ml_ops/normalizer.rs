//! `Normalizer` (scikit-learn's Normalizer): each row divided by its
//! largest value (`MAX`, signed, as onnxruntime and the ONNX spec say; tract
//! divides by the largest absolute value), by its L1 norm, or by its L2
//! norm. A row whose divisor is 0 is left as it is.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::context;
use super::{FactShape, Kernel, Values, expand_kernel};

#[derive(Debug, Clone, Copy)]
enum Norm {
    Max,
    L1,
    L2,
}

#[derive(Debug)]
struct Normalizer {
    norm: Norm,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let norm = match node
        .get_attr_opt::<String>("norm")?
        .as_deref()
        .unwrap_or("MAX")
    {
        "MAX" => Norm::Max,
        "L1" => Norm::L1,
        "L2" => Norm::L2,
        other => bail!("{}: unknown norm {other}", context(node)),
    };
    expand_kernel(Normalizer { norm })
}

impl Kernel for Normalizer {
    fn name(&self) -> &'static str {
        "Normalizer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        ensure!(
            (1..=2).contains(&inputs[0].1.len()),
            "Normalizer: the input must be [features] or [rows, features]"
        );
        Ok(tvec!((f32::datum_type(), inputs[0].1.clone())))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let mut values = Values::of(&inputs[0], self.name())?;
        let columns = values.columns().max(1);
        for row in values.data.chunks_mut(columns) {
            let divisor = match self.norm {
                Norm::Max => row.iter().copied().fold(f32::MIN, f32::max),
                Norm::L1 => row.iter().map(|x| x.abs()).sum(),
                Norm::L2 => row.iter().map(|x| x * x).sum::<f32>().sqrt(),
            };
            if divisor != 0.0 {
                row.iter_mut().for_each(|x| *x /= divisor);
            }
        }
        Ok(tvec!(values.into_tvalue()?))
    }
}
