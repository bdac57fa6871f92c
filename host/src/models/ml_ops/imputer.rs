//! `Imputer` (SimpleImputer): replaces one value (NaN by default in
//! scikit-learn's export) with a per-column value. Float or int64 input,
//! same type out.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, ints, per_column};
use super::{FactShape, Kernel, Values, check_per_column, expand_kernel};

#[derive(Debug)]
struct Imputer {
    imputed_floats: Vec<f32>,
    replaced_float: f32,
    imputed_ints: Vec<i64>,
    replaced_int: i64,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let imputed_floats = floats(node, "imputed_value_floats")?.unwrap_or_default();
    let imputed_ints = ints(node, "imputed_value_int64s")?.unwrap_or_default();
    ensure!(
        imputed_floats.is_empty() != imputed_ints.is_empty(),
        "{}: exactly one of imputed_value_floats and imputed_value_int64s must be set",
        context(node)
    );
    expand_kernel(Imputer {
        imputed_floats,
        replaced_float: node.get_attr_opt("replaced_value_float")?.unwrap_or(0.0),
        imputed_ints,
        replaced_int: node.get_attr_opt("replaced_value_int64")?.unwrap_or(0),
    })
}

impl Imputer {
    fn impute_floats(&self, input: &TValue) -> TractResult<TValue> {
        ensure!(
            !self.imputed_floats.is_empty(),
            "Imputer: float input but only integer imputed values"
        );
        let mut values = Values::of(input, self.name())?;
        let columns = values.columns();
        let replace_nan = self.replaced_float.is_nan();
        for (i, x) in values.data.iter_mut().enumerate() {
            if (replace_nan && x.is_nan()) || *x == self.replaced_float {
                *x = per_column(&self.imputed_floats, i % columns);
            }
        }
        values.into_tvalue()
    }

    fn impute_ints(&self, input: &TValue) -> TractResult<TValue> {
        ensure!(
            !self.imputed_ints.is_empty(),
            "Imputer: int64 input but only float imputed values"
        );
        let columns = input.shape().last().copied().unwrap_or(1);
        let table = self.imputed_ints.len();
        let mut data = input.try_as_plain_ram()?.as_slice::<i64>()?.to_vec();
        for (i, x) in data.iter_mut().enumerate() {
            if *x == self.replaced_int {
                *x = self.imputed_ints[if table == 1 { 0 } else { i % columns }];
            }
        }
        Ok(Tensor::from_shape(input.shape(), &data)?.into_tvalue())
    }
}

impl Kernel for Imputer {
    fn name(&self) -> &'static str {
        "Imputer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let (datum_type, shape) = &inputs[0];
        let out = if *datum_type == i64::datum_type() {
            i64::datum_type()
        } else {
            f32::datum_type()
        };
        Ok(tvec!((out, shape.clone())))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        // Only the table the input's type uses matters; the other is empty.
        if !self.imputed_floats.is_empty() {
            check_per_column(
                self.name(),
                "imputed_value_floats",
                self.imputed_floats.len(),
                columns,
            )?;
        }
        if !self.imputed_ints.is_empty() {
            let table = self.imputed_ints.len();
            check_per_column(self.name(), "imputed_value_int64s", table, columns)?;
        }
        Ok(())
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let out = if input.datum_type() == i64::datum_type() {
            self.impute_ints(input)?
        } else {
            self.impute_floats(input)?
        };
        Ok(tvec!(out))
    }
}
