//! `Scaler`: `(x - offset) * scale` per column (StandardScaler, RobustScaler,
//! MinMaxScaler, MaxAbsScaler), any numeric input, float output.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, per_column};
use super::{FactShape, Kernel, check_per_column, expand_kernel, f32_in_place};

#[derive(Debug)]
struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let offset = floats(node, "offset")?.unwrap_or_else(|| vec![0.0]);
    let scale = floats(node, "scale")?.unwrap_or_else(|| vec![1.0]);
    ensure!(
        !offset.is_empty() && !scale.is_empty(),
        "{}: offset and scale must not be empty",
        context(node)
    );
    expand_kernel(Scaler { offset, scale })
}

impl Kernel for Scaler {
    fn name(&self) -> &'static str {
        "Scaler"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        Ok(tvec!((f32::datum_type(), inputs[0].1.clone())))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        check_per_column(self.name(), "offset", self.offset.len(), columns)?;
        check_per_column(self.name(), "scale", self.scale.len(), columns)
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let scaled = f32_in_place(args_1!(inputs), self.name(), |data, columns| {
            for (i, x) in data.iter_mut().enumerate() {
                let column = i % columns.max(1);
                *x = (*x - per_column(&self.offset, column)) * per_column(&self.scale, column);
            }
            Ok(())
        })?;
        Ok(tvec!(scaled))
    }
}
