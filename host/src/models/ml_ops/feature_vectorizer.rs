//! `FeatureVectorizer`: concatenates its inputs' columns into one float
//! row, each input cut or zero-padded to its `inputdimensions` entry.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, ints};
use super::{FactShape, Kernel, Values, expand_kernel, rows_dim};

#[derive(Debug)]
struct FeatureVectorizer {
    widths: Vec<usize>,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let dims = ints(node, "inputdimensions")?.unwrap_or_default();
    ensure!(
        dims.len() == node.input.len()
            && dims.iter().all(|d| (0..=1 << 24).contains(d))
            && dims.iter().sum::<i64>() <= 1 << 24,
        "{}: inputdimensions must give one width per input, 16777216 at most in all",
        context(node)
    );
    expand_kernel(FeatureVectorizer {
        widths: dims.into_iter().map(|d| d as usize).collect(),
    })
}

impl Kernel for FeatureVectorizer {
    fn name(&self) -> &'static str {
        "FeatureVectorizer"
    }

    fn n_inputs(&self) -> Option<usize> {
        Some(self.widths.len())
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let rows = rows_dim(&inputs[0].1);
        let width: usize = self.widths.iter().sum();
        Ok(tvec!((f32::datum_type(), tvec![rows, width.to_dim()])))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let parts = inputs
            .iter()
            .map(|input| Values::of(input, self.name()))
            .collect::<TractResult<Vec<_>>>()?;
        let n_rows = match parts[0].shape.len() {
            1 => 1,
            _ => parts[0].shape[0],
        };
        for part in &parts {
            let rows = if part.shape.len() == 1 {
                1
            } else {
                part.shape[0]
            };
            ensure!(
                rows == n_rows,
                "FeatureVectorizer: inputs have {n_rows} and {rows} rows"
            );
        }
        let width: usize = self.widths.iter().sum();
        let mut out = vec![0f32; n_rows * width];
        for (row, target) in out.chunks_mut(width.max(1)).enumerate() {
            let mut at = 0;
            for (part, &part_width) in parts.iter().zip(&self.widths) {
                let stride = part.data.len() / n_rows.max(1);
                let source = &part.data[row * stride..(row + 1) * stride];
                let copied = stride.min(part_width);
                target[at..at + copied].copy_from_slice(&source[..copied]);
                at += part_width;
            }
        }
        Ok(tvec!(
            Tensor::from_shape(&[n_rows, width], &out)?.into_tvalue()
        ))
    }
}
