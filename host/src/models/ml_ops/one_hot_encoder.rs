//! `OneHotEncoder`: each value becomes a row of `categories` floats with a
//! 1 at its category. Numeric inputs are truncated to integers (as
//! onnxruntime does); string categories work when the input is a string
//! tensor made inside the model. An unknown value is all zeros when
//! `zeros` is 1 (scikit-learn's `handle_unknown="ignore"`), else an error.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, ints};
use super::{FactShape, Kernel, expand_kernel};

#[derive(Debug)]
enum Categories {
    /// Sorted by value, for a binary search (a row's lookups are the hot
    /// loop; hashing each value cost more than the search).
    Ints(Vec<(i64, usize)>),
    Strings(HashMap<String, usize>),
}

#[derive(Debug)]
struct OneHotEncoder {
    categories: Categories,
    count: usize,
    zeros_for_unknown: bool,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let (categories, count) = match (
        ints(node, "cats_int64s")?,
        node.get_attr_opt_vec::<String>("cats_strings")?,
    ) {
        (Some(cats), None) if !cats.is_empty() => {
            let mut sorted: Vec<(i64, usize)> = first_positions(&cats).into_iter().collect();
            sorted.sort_unstable();
            (Categories::Ints(sorted), cats.len())
        }
        (None, Some(cats)) if !cats.is_empty() => {
            (Categories::Strings(first_positions(&cats)), cats.len())
        }
        _ => bail!(
            "{}: exactly one of cats_int64s and cats_strings must be set and not empty",
            context(node)
        ),
    };
    let zeros: i64 = node.get_attr_opt("zeros")?.unwrap_or(1);
    expand_kernel(OneHotEncoder {
        categories,
        count,
        zeros_for_unknown: zeros != 0,
    })
}

/// Category → position; the first position wins for a repeated category.
fn first_positions<K: Clone + Eq + std::hash::Hash>(categories: &[K]) -> HashMap<K, usize> {
    let mut table = HashMap::new();
    for (position, category) in categories.iter().enumerate() {
        table.entry(category.clone()).or_insert(position);
    }
    table
}

impl OneHotEncoder {
    fn position_of_int(&self, value: i64) -> Option<usize> {
        match &self.categories {
            Categories::Ints(sorted) => sorted
                .binary_search_by_key(&value, |(category, _)| *category)
                .ok()
                .map(|at| sorted[at].1),
            Categories::Strings(_) => None,
        }
    }

    /// Calls `each(row, position)` for every value of `input`, read in
    /// place (strings, f32, f64, i64) or cast once (other numbers).
    fn for_each_position(
        &self,
        input: &TValue,
        mut each: impl FnMut(usize, Option<usize>) -> TractResult<()>,
    ) -> TractResult<()> {
        if input.datum_type() == String::datum_type() {
            let Categories::Strings(table) = &self.categories else {
                bail!("OneHotEncoder: string input but integer categories");
            };
            let strings = input.try_as_plain_ram()?;
            for (row, s) in strings.as_slice::<String>()?.iter().enumerate() {
                each(row, table.get(s).copied())?;
            }
            return Ok(());
        }
        ensure!(
            matches!(self.categories, Categories::Ints(_)),
            "OneHotEncoder: numeric input but string categories"
        );
        // Floats truncate toward zero, as onnxruntime's static_cast.
        let view = input.try_as_plain_ram()?;
        match input.datum_type() {
            DatumType::F32 => {
                for (row, &x) in view.as_slice::<f32>()?.iter().enumerate() {
                    each(row, self.position_of_int(x as i64))?;
                }
            }
            DatumType::F64 => {
                for (row, &x) in view.as_slice::<f64>()?.iter().enumerate() {
                    each(row, self.position_of_int(x as i64))?;
                }
            }
            DatumType::I64 => {
                for (row, &v) in view.as_slice::<i64>()?.iter().enumerate() {
                    each(row, self.position_of_int(v))?;
                }
            }
            other if other.is_float() => {
                let floats = input.cast_to::<f64>()?;
                let floats = floats.try_as_plain_ram()?;
                for (row, &x) in floats.as_slice::<f64>()?.iter().enumerate() {
                    each(row, self.position_of_int(x as i64))?;
                }
            }
            _ => {
                let ints = input.cast_to::<i64>()?;
                let ints = ints.try_as_plain_ram()?;
                for (row, &v) in ints.as_slice::<i64>()?.iter().enumerate() {
                    each(row, self.position_of_int(v))?;
                }
            }
        }
        Ok(())
    }
}

impl Kernel for OneHotEncoder {
    fn name(&self) -> &'static str {
        "OneHotEncoder"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let mut shape = inputs[0].1.clone();
        shape.push(self.count.to_dim());
        Ok(tvec!((f32::datum_type(), shape)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // Each value's ones written straight into the output, which the
        // tensor then takes without a copy.
        let input = &inputs[0];
        let count = self.count;
        let mut encoded = vec![0f32; input.len() * count];
        self.for_each_position(input, |row, position| {
            match position {
                Some(p) => encoded[row * count + p] = 1.0,
                None if self.zeros_for_unknown => {}
                None => bail!("OneHotEncoder: a value is not a known category (and zeros = 0)"),
            }
            Ok(())
        })?;
        let mut shape = input.shape().to_vec();
        shape.push(count);
        let encoded = tract_ndarray::ArrayD::from_shape_vec(shape, encoded)?;
        Ok(tvec!(encoded.into_tensor().into_tvalue()))
    }
}
