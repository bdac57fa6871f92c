//! `TreeEnsemble` (ai.onnx.ml opset 5), the operator newer exporters write
//! in place of `TreeEnsembleClassifier`/`TreeEnsembleRegressor`: read and
//! checked here, then turned into the opset-3 layout our fast [`Forest`]
//! runs, as onnxruntime turns it into its own opset-3 layout
//! (`TreeEnsembleAttributesV5::convert_to_v3`), so both compute alike.
//!
//! What changes on the way: opset 5 keeps leaves apart from branches
//! (`nodes_trueleafs`/`nodes_falseleafs` say which array a child index
//! points into) and gives each tree a root index; the trees become
//! numbered nodes of one list. A set-membership branch (`BRANCH_MEMBER`,
//! its set a NaN-ended run of `membership_values`) becomes a chain of
//! `BRANCH_EQ` nodes, one per member, each sending a match to the true
//! subtree and anything else on down the chain to the false subtree: the
//! same answers, NaN included (NaN equals no member; with
//! `nodes_missing_value_tracks_true` every link sends it true).
//!
//! Thresholds and weights are compared and summed in `f32`, as for the
//! opset-3 operators (whose attributes are `f32`); a `double` model's
//! output is `double` (cast at the end), and a value within `f32` rounding
//! of a `double` threshold may go the other way than onnxruntime's `double`
//! comparison (docs/models.md says so).

use std::sync::Arc;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::forest::{Aggregate, BranchMode, Forest, PostTransform, TreeAttributes};
use super::tree_ops::{Kind, OutputType, TreeEnsembleOp, tensor_attr_as_f32};

/// `nodes_modes` value of a set-membership branch.
const MEMBER: u8 = 6;

/// Reads a `TreeEnsemble` node into our tree ensemble operator.
pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let fail = |e: anyhow::Error| anyhow!("{} (TreeEnsemble): {e:#}", node.name);
    let n_targets: i64 = node
        .get_attr_opt("n_targets")?
        .ok_or_else(|| anyhow!("{}: attribute n_targets is missing", node.name))?;
    // Bounded: every row allocates n_targets scores.
    ensure!(
        (1..=1 << 16).contains(&n_targets),
        "{}: n_targets must be in 1..=65536, got {n_targets}",
        node.name
    );
    let v5 = V5Attributes::read(node)?;
    let aggregate = match node.get_attr_opt::<i64>("aggregate_function")?.unwrap_or(1) {
        0 => Aggregate::Average,
        1 => Aggregate::Sum,
        2 => Aggregate::Min,
        3 => Aggregate::Max,
        other => bail!("{}: unknown aggregate_function {other}", node.name),
    };
    let post_transform = match node.get_attr_opt::<i64>("post_transform")?.unwrap_or(0) {
        0 => PostTransform::None,
        1 => PostTransform::Softmax,
        2 => PostTransform::Logistic,
        3 => PostTransform::SoftmaxZero,
        4 => PostTransform::Probit,
        other => bail!("{}: unknown post_transform {other}", node.name),
    };
    let attributes = v5.to_opset3().map_err(fail)?;
    let forest = Forest::build(&attributes, n_targets as usize, aggregate).map_err(fail)?;
    let op = TreeEnsembleOp {
        forest: Arc::new(forest),
        base_values: Arc::new(Vec::new()),
        post_transform,
        kind: Kind::Regressor,
        output: OutputType::SameAsInput,
        name: "TreeEnsemble",
    };
    Ok((expand(op), vec![]))
}

/// The opset-5 attributes, as the node carries them.
struct V5Attributes {
    featureids: Vec<i64>,
    modes: Vec<u8>,
    splits: Vec<f32>,
    truenodeids: Vec<i64>,
    trueleafs: Vec<i64>,
    falsenodeids: Vec<i64>,
    falseleafs: Vec<i64>,
    missing_tracks_true: Vec<bool>,
    leaf_targetids: Vec<i64>,
    leaf_weights: Vec<f32>,
    tree_roots: Vec<i64>,
    /// One set per `BRANCH_MEMBER` node, in node order.
    member_sets: Vec<Vec<f32>>,
}

/// A child reference: a branch or a leaf, by index into its array.
#[derive(Debug, Clone, Copy)]
enum Child {
    Branch(usize),
    Leaf(usize),
}

impl V5Attributes {
    fn read(node: &NodeProto) -> TractResult<Self> {
        let ints = |name: &str| -> TractResult<Vec<i64>> {
            node.get_attr_opt_vec::<i64>(name)?
                .ok_or_else(|| anyhow!("{}: attribute {name} is missing", node.name))
        };
        let floats = |name: &str| -> TractResult<Vec<f32>> {
            tensor_attr_as_f32(node, name)?
                .ok_or_else(|| anyhow!("{}: attribute {name} is missing", node.name))
        };
        let modes = tensor_attr_as_f32(node, "nodes_modes")?
            .ok_or_else(|| anyhow!("{}: attribute nodes_modes is missing", node.name))?
            .into_iter()
            .map(|mode| {
                ensure!(
                    mode.fract() == 0.0 && (0.0..=f32::from(MEMBER)).contains(&mode),
                    "{}: unknown node mode {mode} in nodes_modes",
                    node.name
                );
                Ok(mode as u8)
            })
            .collect::<TractResult<Vec<u8>>>()?;
        let members = tensor_attr_as_f32(node, "membership_values")?.unwrap_or_default();
        // Each member node, in node order, takes the values up to the next
        // NaN (as onnxruntime reads them); none may go without.
        let mut runs = members.split(|v| v.is_nan());
        let mut member_sets = Vec::new();
        for (index, _) in modes.iter().enumerate().filter(|(_, m)| **m == MEMBER) {
            let set = runs.next().map(<[f32]>::to_vec).unwrap_or_default();
            ensure!(
                !set.is_empty(),
                "{}: BRANCH_MEMBER node {index} has no set in membership_values",
                node.name
            );
            member_sets.push(set);
        }
        Ok(Self {
            featureids: ints("nodes_featureids")?,
            splits: floats("nodes_splits")?,
            truenodeids: ints("nodes_truenodeids")?,
            trueleafs: ints("nodes_trueleafs")?,
            falsenodeids: ints("nodes_falsenodeids")?,
            falseleafs: ints("nodes_falseleafs")?,
            missing_tracks_true: node
                .get_attr_opt_vec::<i64>("nodes_missing_value_tracks_true")?
                .unwrap_or_default()
                .into_iter()
                .map(|v| v != 0)
                .collect(),
            leaf_targetids: ints("leaf_targetids")?,
            leaf_weights: floats("leaf_weights")?,
            tree_roots: ints("tree_roots")?,
            modes,
            member_sets,
        })
    }

    /// The trees as opset-3 attributes (see the module's comment).
    fn to_opset3(&self) -> anyhow::Result<TreeAttributes> {
        let n = self.featureids.len();
        for (name, len) in [
            ("nodes_modes", self.modes.len()),
            ("nodes_splits", self.splits.len()),
            ("nodes_truenodeids", self.truenodeids.len()),
            ("nodes_trueleafs", self.trueleafs.len()),
            ("nodes_falsenodeids", self.falsenodeids.len()),
            ("nodes_falseleafs", self.falseleafs.len()),
        ] {
            anyhow::ensure!(
                len == n,
                "{name} has {len} entries, nodes_featureids has {n}"
            );
        }
        anyhow::ensure!(
            self.missing_tracks_true.is_empty() || self.missing_tracks_true.len() == n,
            "nodes_missing_value_tracks_true has {} entries, expected {n}",
            self.missing_tracks_true.len()
        );
        let n_leaves = self.leaf_weights.len();
        anyhow::ensure!(
            self.leaf_targetids.len() == n_leaves,
            "leaf_targetids has {} entries, leaf_weights has {n_leaves}",
            self.leaf_targetids.len()
        );
        anyhow::ensure!(!self.tree_roots.is_empty(), "tree_roots is empty");
        // Which set each member node has.
        let mut member_of = vec![usize::MAX; n];
        for (set, node) in (0..n).filter(|&i| self.modes[i] == MEMBER).enumerate() {
            member_of[node] = set;
        }
        // A proper set of trees emits each node and leaf once (plus one node
        // per extra set member); references that loop, or share subtrees
        // without end, stop here instead of growing without bound.
        let members: usize = self.member_sets.iter().map(Vec::len).sum();
        let limit = 4 * (n + n_leaves + members) + 16;
        let mut out = TreeAttributes::default();
        for (tree, &root) in self.tree_roots.iter().enumerate() {
            let tree = tree as i64;
            let root = self.child(root, false, "tree_roots")?;
            // A tree that is a leaf: a root whose both sides name one leaf.
            let root = match root {
                Child::Branch(i)
                    if self.trueleafs[i] != 0
                        && self.falseleafs[i] != 0
                        && self.truenodeids[i] == self.falsenodeids[i] =>
                {
                    self.child(self.truenodeids[i], true, "nodes_truenodeids")?
                }
                other => other,
            };
            let mut next_id = 1i64;
            let mut stack = vec![(root, 0i64)];
            while let Some((child, id)) = stack.pop() {
                anyhow::ensure!(
                    out.node_ids.len() < limit,
                    "the trees' node references loop, or share subtrees more than \
                     {limit} nodes' worth"
                );
                match child {
                    Child::Leaf(j) => {
                        push_node(&mut out, tree, id, 0, None, 0.0, (0, 0), false);
                        out.weight_tree_ids.push(tree);
                        out.weight_node_ids.push(id);
                        out.weight_targets.push(self.leaf_targetids[j]);
                        out.weights.push(self.leaf_weights[j]);
                    }
                    Child::Branch(i) => {
                        let on_true = self.child(
                            self.truenodeids[i],
                            self.trueleafs[i] != 0,
                            "nodes_truenodeids",
                        )?;
                        let on_false = self.child(
                            self.falsenodeids[i],
                            self.falseleafs[i] != 0,
                            "nodes_falsenodeids",
                        )?;
                        let tracks = self.missing_tracks_true.get(i).copied().unwrap_or(false);
                        let (true_id, false_id) = (next_id, next_id + 1);
                        next_id += 2;
                        if self.modes[i] == MEMBER {
                            // A chain of equality tests; an empty set is one
                            // test nothing passes (NaN) but missing values
                            // that track true.
                            let set = &self.member_sets[member_of[i]];
                            let values: &[f32] = if set.is_empty() { &[f32::NAN] } else { set };
                            let mut link = id;
                            for (k, &value) in values.iter().enumerate() {
                                let last = k + 1 == values.len();
                                let next = if last { false_id } else { next_id };
                                if !last {
                                    next_id += 1;
                                }
                                let links = (true_id, next);
                                let mode = Some(BranchMode::Eq);
                                let feature = self.featureids[i];
                                push_node(
                                    &mut out, tree, link, feature, mode, value, links, tracks,
                                );
                                link = next;
                            }
                        } else {
                            let mode = Some(match self.modes[i] {
                                0 => BranchMode::Leq,
                                1 => BranchMode::Lt,
                                2 => BranchMode::Gte,
                                3 => BranchMode::Gt,
                                4 => BranchMode::Eq,
                                _ => BranchMode::Neq,
                            });
                            let links = (true_id, false_id);
                            let (feature, split) = (self.featureids[i], self.splits[i]);
                            push_node(&mut out, tree, id, feature, mode, split, links, tracks);
                        }
                        stack.push((on_false, false_id));
                        stack.push((on_true, true_id));
                    }
                }
            }
        }
        Ok(out)
    }

    /// Resolves a child index (`is_leaf`: into the leaves), checking range.
    fn child(&self, index: i64, is_leaf: bool, what: &str) -> anyhow::Result<Child> {
        let (len, kind) = if is_leaf {
            (self.leaf_weights.len(), "leaf")
        } else {
            (self.featureids.len(), "node")
        };
        let i = usize::try_from(index)
            .ok()
            .filter(|&i| i < len)
            .ok_or_else(|| anyhow::anyhow!("{what} names {kind} {index}; there are {len}"))?;
        Ok(if is_leaf {
            Child::Leaf(i)
        } else {
            Child::Branch(i)
        })
    }
}

/// Appends one opset-3 node (a leaf when `mode` is `None`).
#[allow(clippy::too_many_arguments)]
fn push_node(
    out: &mut TreeAttributes,
    tree: i64,
    id: i64,
    feature: i64,
    mode: Option<BranchMode>,
    threshold: f32,
    (on_true, on_false): (i64, i64),
    missing_tracks_true: bool,
) {
    out.node_tree_ids.push(tree);
    out.node_ids.push(id);
    out.node_feature_ids.push(feature);
    out.node_modes.push(mode);
    out.node_thresholds.push(threshold);
    out.node_true_ids.push(on_true);
    out.node_false_ids.push(on_false);
    out.node_missing_tracks_true.push(missing_tracks_true);
}
