//! `LinearRegressor` (LinearRegression, Ridge, Lasso, ElasticNet,
//! SGDRegressor, LinearSVR): `y = x · coefficientsᵀ + intercepts`, one
//! column per target, then the post transform. Ours rather than tract's:
//! tract expands it into a matrix product that its optimiser cannot fold
//! when the input is built by `Concat` (PolynomialFeatures exports), and
//! the models are small enough that a plain loop is as fast.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats};
use super::linear_scores::scores_of_input;
use super::{FactShape, Kernel, check_features, expand_kernel, rows_dim};
use crate::models::forest::{PostTransform, apply_post_transform};

#[derive(Debug)]
struct LinearRegressor {
    /// `[targets, features]`, row-major.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    targets: usize,
    features: usize,
    post_transform: PostTransform,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = context(node);
    let targets: i64 = node.get_attr_opt("targets")?.unwrap_or(1);
    ensure!(
        (1..=1 << 16).contains(&targets),
        "{at}: targets must be in 1..=65536, got {targets}"
    );
    let targets = targets as usize;
    let coefficients = floats(node, "coefficients")?.unwrap_or_default();
    ensure!(
        !coefficients.is_empty() && coefficients.len() % targets == 0,
        "{at}: {} coefficients for {targets} targets",
        coefficients.len()
    );
    let intercepts = match floats(node, "intercepts")? {
        Some(intercepts) if !intercepts.is_empty() => intercepts,
        _ => vec![0.0; targets],
    };
    ensure!(
        intercepts.len() == targets,
        "{at}: {} intercepts for {targets} targets",
        intercepts.len()
    );
    expand_kernel(LinearRegressor {
        features: coefficients.len() / targets,
        coefficients,
        intercepts,
        targets,
        post_transform: PostTransform::parse(
            node.get_attr_opt("post_transform")?.unwrap_or("NONE"),
        )?,
    })
}

impl Kernel for LinearRegressor {
    fn name(&self) -> &'static str {
        "LinearRegressor"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let rows = rows_dim(&inputs[0].1);
        Ok(tvec!((
            f32::datum_type(),
            tvec![rows, self.targets.to_dim()]
        )))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        check_features(self.name(), columns, self.features)
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (rows, mut out) = scores_of_input(
            self.name(),
            &inputs[0],
            self.features,
            &self.coefficients,
            &self.intercepts,
        )?;
        for scores in out.chunks_exact_mut(self.targets) {
            apply_post_transform(scores, self.post_transform);
        }
        let out = tract_ndarray::Array2::from_shape_vec((rows, self.targets), out)?;
        Ok(tvec!(out.into_tensor().into_tvalue()))
    }
}
