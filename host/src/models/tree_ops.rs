//! `TreeEnsembleClassifier` and `TreeEnsembleRegressor` as tract operators,
//! registered in tract's ONNX op registry in place of tract's own (which
//! allocates an error per leaf and has no regressor), so the rest of tract
//! stays as it is; opset 5's `TreeEnsemble` too (read in
//! `tree_ensemble_v5.rs`).

use std::sync::Arc;

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::forest::{
    Aggregate, ClassChoice, Forest, PostTransform, TreeAttributes, parse_node_mode,
};

/// Puts our tree ensemble operators into `register`.
pub fn register_tree_ensembles(register: &mut OnnxOpRegister) {
    register.insert("TreeEnsembleClassifier", classifier_from_node);
    register.insert("TreeEnsembleRegressor", regressor_from_node);
    register.insert("TreeEnsemble", super::tree_ensemble_v5::from_node);
}

/// What the op answers besides scores.
#[derive(Debug, Clone)]
pub(super) enum Kind {
    /// Labels tensor (i64 or String, rank 1) and the scores.
    Classifier { labels: Arc<Tensor> },
    /// Only values.
    Regressor,
}

/// The scores' element type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OutputType {
    /// `float`, whatever the input (the opset-1–3 operators).
    F32,
    /// The input's (opset 5's `TreeEnsemble`: float, double or float16).
    SameAsInput,
}

#[derive(Debug, Clone)]
pub struct TreeEnsembleOp {
    pub(super) forest: Arc<Forest>,
    pub(super) base_values: Arc<Vec<f32>>,
    pub(super) post_transform: PostTransform,
    pub(super) kind: Kind,
    pub(super) output: OutputType,
    /// The ONNX operator's name.
    pub(super) name: &'static str,
}

// Operators must be comparable; two ops are the same only if they share the
// forest (it holds floats, and comparing whole forests would be wasted work).
impl PartialEq for TreeEnsembleOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.forest, &other.forest)
            && Arc::ptr_eq(&self.base_values, &other.base_values)
            && self.post_transform == other.post_transform
    }
}
impl Eq for TreeEnsembleOp {}

fn classifier_from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels: Arc<Tensor> = match (
        node.get_attr_opt_vec::<i64>("classlabels_int64s")?,
        node.get_attr_opt_vec::<String>("classlabels_strings")?,
    ) {
        (Some(ints), None) => rctensor1(&ints),
        (None, Some(strings)) => rctensor1(&strings),
        _ => bail!(
            "{}: exactly one of classlabels_int64s and classlabels_strings must be set",
            node.name
        ),
    };
    let n_classes = labels.len();
    let attributes = read_attributes(node, "class")?;
    let forest = Forest::build(&attributes, n_classes, Aggregate::Sum)
        .map_err(|e| anyhow!("{} ({}): {e:#}", node.name, node.op_type))?;
    let op = TreeEnsembleOp {
        forest: Arc::new(forest),
        base_values: Arc::new(read_base_values(node)?),
        post_transform: read_post_transform(node)?,
        kind: Kind::Classifier { labels },
        output: OutputType::F32,
        name: "TreeEnsembleClassifier",
    };
    Ok((expand(op), vec![]))
}

fn regressor_from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let n_targets: i64 = node.get_attr_opt("n_targets")?.unwrap_or(1);
    // Bounded: every row allocates n_targets scores.
    ensure!(
        (1..=1 << 16).contains(&n_targets),
        "{}: n_targets must be in 1..=65536, got {n_targets}",
        node.name
    );
    let aggregate = Aggregate::parse(node.get_attr_opt("aggregate_function")?.unwrap_or("SUM"))?;
    let attributes = read_attributes(node, "target")?;
    let forest = Forest::build(&attributes, n_targets as usize, aggregate)
        .map_err(|e| anyhow!("{} ({}): {e:#}", node.name, node.op_type))?;
    let op = TreeEnsembleOp {
        forest: Arc::new(forest),
        base_values: Arc::new(read_base_values(node)?),
        post_transform: read_post_transform(node)?,
        kind: Kind::Regressor,
        output: OutputType::F32,
        name: "TreeEnsembleRegressor",
    };
    Ok((expand(op), vec![]))
}

fn read_post_transform(node: &NodeProto) -> TractResult<PostTransform> {
    PostTransform::parse(node.get_attr_opt("post_transform")?.unwrap_or("NONE"))
}

/// `base_values`, or the opset-3 `base_values_as_tensor` (doubles).
fn read_base_values(node: &NodeProto) -> TractResult<Vec<f32>> {
    if let Some(values) = node.get_attr_opt_vec::<f32>("base_values")? {
        return Ok(values);
    }
    tensor_attr_as_f32(node, "base_values_as_tensor").map(Option::unwrap_or_default)
}

/// A tensor attribute (the `*_as_tensor` forms, opset 5's attributes) as
/// a list of `f32`.
pub(super) fn tensor_attr_as_f32(node: &NodeProto, name: &str) -> TractResult<Option<Vec<f32>>> {
    let Some(proto) = node.get_attr_opt::<&tract_onnx::pb::TensorProto>(name)? else {
        return Ok(None);
    };
    let tensor =
        tract_onnx::tensor::load_tensor(&tract_onnx::data_resolver::MmapDataResolver, proto, None)?;
    let floats = tensor.cast_to::<f32>()?;
    Ok(Some(floats.try_as_plain_ram()?.as_slice::<f32>()?.to_vec()))
}

fn ints(node: &NodeProto, name: &str) -> TractResult<Vec<i64>> {
    node.get_attr_opt_vec::<i64>(name)?
        .ok_or_else(|| anyhow!("{}: attribute {name} is missing", node.name))
}

/// Reads the node and leaf attributes; `prefix` is `class` or `target`.
fn read_attributes(node: &NodeProto, prefix: &str) -> TractResult<TreeAttributes> {
    let node_modes = node
        .get_attr_opt_slice::<Vec<u8>>("nodes_modes")?
        .ok_or_else(|| anyhow!("{}: attribute nodes_modes is missing", node.name))?
        .iter()
        .map(|mode| parse_node_mode(mode))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let node_thresholds = match node.get_attr_opt_vec::<f32>("nodes_values")? {
        Some(values) => values,
        None => tensor_attr_as_f32(node, "nodes_values_as_tensor")?.unwrap_or_default(),
    };
    let weights = match node.get_attr_opt_vec::<f32>(&format!("{prefix}_weights"))? {
        Some(values) => values,
        None => tensor_attr_as_f32(node, &format!("{prefix}_weights_as_tensor"))?
            .ok_or_else(|| anyhow!("{}: attribute {prefix}_weights is missing", node.name))?,
    };
    let missing = node
        .get_attr_opt_vec::<i64>("nodes_missing_value_tracks_true")?
        .unwrap_or_default()
        .into_iter()
        .map(|v| v != 0)
        .collect();
    Ok(TreeAttributes {
        node_tree_ids: ints(node, "nodes_treeids")?,
        node_ids: ints(node, "nodes_nodeids")?,
        node_feature_ids: ints(node, "nodes_featureids")?,
        node_modes,
        node_thresholds,
        node_true_ids: ints(node, "nodes_truenodeids")?,
        node_false_ids: ints(node, "nodes_falsenodeids")?,
        node_missing_tracks_true: missing,
        weight_tree_ids: ints(node, &format!("{prefix}_treeids"))?,
        weight_node_ids: ints(node, &format!("{prefix}_nodeids"))?,
        weight_targets: ints(node, &format!("{prefix}_ids"))?,
        weights,
    })
}

impl TreeEnsembleOp {
    fn n_outputs(&self) -> usize {
        match self.kind {
            Kind::Classifier { .. } => 2,
            Kind::Regressor => 1,
        }
    }

    fn labels_tensor(labels: &Tensor, choices: &[ClassChoice]) -> TractResult<Tensor> {
        let pick = |choice: &ClassChoice| match *choice {
            ClassChoice::Label(index) => index.min(labels.len().saturating_sub(1)),
            ClassChoice::Raw(value) => value as usize,
        };
        let view = labels.try_as_plain_ram()?;
        if labels.datum_type() == i64::datum_type() {
            let all = view.as_slice::<i64>()?;
            let picked: Vec<i64> = choices
                .iter()
                .map(|c| match *c {
                    ClassChoice::Label(_) => all.get(pick(c)).copied().unwrap_or_default(),
                    ClassChoice::Raw(value) => value,
                })
                .collect();
            Ok(tensor1(&picked))
        } else {
            let all = view.as_slice::<String>()?;
            let picked: Vec<String> = choices
                .iter()
                .map(|c| all.get(pick(c)).cloned().unwrap_or_default())
                .collect();
            Ok(tensor1(&picked))
        }
    }
}

impl Op for TreeEnsembleOp {
    fn name(&self) -> StaticName {
        self.name.into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!(
            "{} trees, {} features, {} classes/targets, {:?}",
            self.forest.n_trees(),
            self.forest.n_features(),
            self.forest.n_targets(),
            self.post_transform
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for TreeEnsembleOp {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::vector_state::clear_upper_vector_state();
        let input = args_1!(inputs);
        ensure!(
            input.rank() == 2,
            "{}: input must be [rows, features], got {:?}",
            Op::name(self),
            input.shape()
        );
        let (n_rows, n_columns) = (input.shape()[0], input.shape()[1]);
        let output_type = match self.output {
            OutputType::F32 => f32::datum_type(),
            OutputType::SameAsInput => input.datum_type(),
        };
        let rows = input.cast_to::<f32>()?;
        let rows = rows.try_as_plain_ram()?;
        let rows = rows.as_slice::<f32>()?;
        let width = self.forest.n_targets();
        match &self.kind {
            Kind::Regressor => {
                let values =
                    self.forest
                        .regress(rows, n_columns, &self.base_values, self.post_transform)?;
                let values = Tensor::from_shape(&[n_rows, width], &values)?;
                Ok(tvec!(
                    values.cast_to_dt(output_type)?.into_owned().into_tvalue()
                ))
            }
            Kind::Classifier { labels } => {
                let (choices, scores) = self.forest.classify(
                    rows,
                    n_columns,
                    &self.base_values,
                    self.post_transform,
                )?;
                let labels = Self::labels_tensor(labels, &choices)?;
                let scores = Tensor::from_shape(&[n_rows, width], &scores)?;
                Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
            }
        }
    }
}

impl TypedOp for TreeEnsembleOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(
            inputs[0].rank() == 2,
            "{}: input must be [rows, features]",
            Op::name(self)
        );
        let n = inputs[0].shape[0].clone();
        let scores_type = match self.output {
            OutputType::F32 => f32::datum_type(),
            OutputType::SameAsInput => inputs[0].datum_type,
        };
        let scores =
            TypedFact::dt_shape(scores_type, [n.clone(), self.forest.n_targets().to_dim()]);
        Ok(match &self.kind {
            Kind::Regressor => tvec!(scores),
            Kind::Classifier { labels } => {
                tvec!(TypedFact::dt_shape(labels.datum_type(), [n]), scores)
            }
        })
    }

    as_op!();
}

impl Expansion for TreeEnsembleOp {
    fn name(&self) -> StaticName {
        Op::name(self)
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.n_outputs())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, self.n_outputs())?;
        s.equals(&inputs[0].rank, 2)?;
        let scores = outputs.len() - 1;
        match self.output {
            OutputType::F32 => s.equals(&outputs[scores].datum_type, DatumType::F32)?,
            OutputType::SameAsInput => {
                s.equals(&outputs[scores].datum_type, &inputs[0].datum_type)?
            }
        }
        s.equals(&outputs[scores].rank, 2)?;
        s.equals(&outputs[scores].shape[0], &inputs[0].shape[0])?;
        s.equals(&outputs[scores].shape[1], self.forest.n_targets().to_dim())?;
        if let Kind::Classifier { labels } = &self.kind {
            s.equals(&outputs[0].datum_type, labels.datum_type())?;
            s.equals(&outputs[0].rank, 1)?;
            s.equals(&outputs[0].shape[0], &inputs[0].shape[0])?;
        }
        Ok(())
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}
