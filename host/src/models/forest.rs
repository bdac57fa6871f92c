//! A tree ensemble laid out for fast evaluation: the data and arithmetic of
//! ONNX-ML's `TreeEnsembleClassifier` and `TreeEnsembleRegressor` (ai.onnx.ml
//! opset 1–3), with onnxruntime's rules for aggregation, base values, binary
//! classifiers and post transforms, so results agree with onnxruntime.
//!
//! This file knows nothing of tract; `tree_ops.rs` wires it into tract's
//! ONNX op registry.
//!
//! `!(x <= t)` (not `x > t`) is deliberate throughout: it sends NaN to the
//! false side, as onnxruntime does for nodes that do not track missing values.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use std::ops::Range;

use anyhow::{Context, bail, ensure};

use super::vector_logistic::{self, logistic};

/// Marks a leaf in [`Node::feature`].
const LEAF: u32 = u32::MAX;

/// Tree walks interleaved by [`Forest::leaves_leq`].
const LANES: usize = 4;

/// How a branch node compares its feature to its threshold; `true` takes the
/// node's true branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchMode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
}

impl BranchMode {
    #[inline]
    fn holds(self, x: f32, threshold: f32) -> bool {
        match self {
            Self::Leq => x <= threshold,
            Self::Lt => x < threshold,
            Self::Gte => x >= threshold,
            Self::Gt => x > threshold,
            Self::Eq => x == threshold,
            Self::Neq => x != threshold,
        }
    }
}

/// A node's mode as ONNX spells it: a branch, or `LEAF`. Bytes, as the
/// protobuf holds them: a large forest has hundreds of thousands of nodes,
/// and making a `String` of each was a tenth of its load time.
pub fn parse_node_mode(mode: &[u8]) -> anyhow::Result<Option<BranchMode>> {
    Ok(Some(match mode {
        b"BRANCH_LEQ" => BranchMode::Leq,
        b"BRANCH_LT" => BranchMode::Lt,
        b"BRANCH_GTE" => BranchMode::Gte,
        b"BRANCH_GT" => BranchMode::Gt,
        b"BRANCH_EQ" => BranchMode::Eq,
        b"BRANCH_NEQ" => BranchMode::Neq,
        b"LEAF" => return Ok(None),
        other => bail!("unknown node mode {:?}", String::from_utf8_lossy(other)),
    }))
}

/// How the leaves reached in every tree combine into one score per target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

impl Aggregate {
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "SUM" => Self::Sum,
            "AVERAGE" => Self::Average,
            "MIN" => Self::Min,
            "MAX" => Self::Max,
            other => bail!("unknown aggregate_function {other:?}"),
        })
    }
}

/// What is applied to the aggregated scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostTransform {
    None,
    Softmax,
    Logistic,
    SoftmaxZero,
    Probit,
}

impl PostTransform {
    pub fn parse(name: &str) -> anyhow::Result<Self> {
        Ok(match name {
            "NONE" => Self::None,
            "SOFTMAX" => Self::Softmax,
            "LOGISTIC" => Self::Logistic,
            "SOFTMAX_ZERO" => Self::SoftmaxZero,
            "PROBIT" => Self::Probit,
            other => bail!("unknown post_transform {other:?}"),
        })
    }
}

/// The operator's attributes, one entry per node and one per leaf weight, as
/// the ONNX node carries them.
#[derive(Debug, Default, Clone)]
pub struct TreeAttributes {
    pub node_tree_ids: Vec<i64>,
    pub node_ids: Vec<i64>,
    pub node_feature_ids: Vec<i64>,
    /// `None` for a leaf.
    pub node_modes: Vec<Option<BranchMode>>,
    pub node_thresholds: Vec<f32>,
    pub node_true_ids: Vec<i64>,
    pub node_false_ids: Vec<i64>,
    /// Empty when the attribute is absent (no node sends missing values true).
    pub node_missing_tracks_true: Vec<bool>,
    pub weight_tree_ids: Vec<i64>,
    pub weight_node_ids: Vec<i64>,
    /// Class (classifier) or target (regressor) index of each weight.
    pub weight_targets: Vec<i64>,
    pub weights: Vec<f32>,
}

/// One node, 16 bytes. A branch goes to `children[0]` when its comparison
/// holds (or the value is missing and the node tracks missing values to the
/// true side), else `children[1]`. A leaf has `feature == LEAF` and its
/// weights in `leaf_targets/leaf_weights[children[0]..children[1]]`.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
struct Node {
    threshold: f32,
    feature: u32,
    children: [u32; 2],
}

/// A validated, flattened tree ensemble.
#[derive(Debug, Clone)]
pub struct Forest {
    nodes: Vec<Node>,
    /// Per node: mode and missing-value side; only read off the fast path.
    branch_modes: Vec<BranchMode>,
    missing_true: Vec<bool>,
    roots: Vec<u32>,
    leaf_targets: Vec<u32>,
    leaf_weights: Vec<f32>,
    /// Every branch is `BRANCH_LEQ` and sends missing values false, which is
    /// what scikit-learn exports: one comparison per node, nothing else.
    all_leq: bool,
    n_features: usize,
    n_targets: usize,
    aggregate: Aggregate,
    /// Classifier only: every weight belongs to one class.
    single_weight_class: bool,
    weights_all_positive: bool,
}

impl Forest {
    /// Builds and checks the ensemble: node references stay inside their
    /// tree, trees are acyclic, feature and target indexes are in range.
    pub fn build(
        attributes: &TreeAttributes,
        n_targets: usize,
        aggregate: Aggregate,
    ) -> anyhow::Result<Self> {
        let a = attributes;
        let n = a.node_ids.len();
        ensure!(n > 0, "the ensemble has no nodes");
        for (name, len) in [
            ("nodes_treeids", a.node_tree_ids.len()),
            ("nodes_featureids", a.node_feature_ids.len()),
            ("nodes_modes", a.node_modes.len()),
            ("nodes_values", a.node_thresholds.len()),
            ("nodes_truenodeids", a.node_true_ids.len()),
            ("nodes_falsenodeids", a.node_false_ids.len()),
        ] {
            ensure!(len == n, "{name} has {len} entries, nodes_nodeids has {n}");
        }
        ensure!(
            a.node_missing_tracks_true.is_empty() || a.node_missing_tracks_true.len() == n,
            "nodes_missing_value_tracks_true has {} entries, expected {n}",
            a.node_missing_tracks_true.len()
        );
        let w = a.weights.len();
        for (name, len) in [
            ("weight tree ids", a.weight_tree_ids.len()),
            ("weight node ids", a.weight_node_ids.len()),
            ("weight class/target ids", a.weight_targets.len()),
        ] {
            ensure!(len == w, "{name} has {len} entries, weights has {w}");
        }
        ensure!(n_targets > 0, "the ensemble has no classes or targets");

        // Nodes sorted by (tree, node id): each tree becomes one contiguous
        // run, and a node's children are found by position in its tree's run
        // (no hash map: at 200,000 nodes hashing was half the load time).
        let order = sorted_order(n, |i| (a.node_tree_ids[i], a.node_ids[i]));
        let keys: Vec<(i64, i64)> = order
            .iter()
            .map(|&i| (a.node_tree_ids[i], a.node_ids[i]))
            .collect();
        if let Some(pair) = keys.windows(2).find(|pair| pair[0] == pair[1]) {
            bail!("node {} of tree {} is defined twice", pair[0].1, pair[0].0);
        }

        // Leaf weights grouped by leaf, in the order the attributes list them.
        let weight_order = sorted_order(w, |i| (a.weight_tree_ids[i], a.weight_node_ids[i]));
        let mut leaf_targets = Vec::with_capacity(w);
        let mut leaf_weights = Vec::with_capacity(w);
        let mut weight_keys = Vec::with_capacity(w);
        for &i in &weight_order {
            let target = a.weight_targets[i];
            ensure!(
                (0..n_targets as i64).contains(&target),
                "leaf weight for class/target {target}, the ensemble has {n_targets}"
            );
            leaf_targets.push(target as u32);
            leaf_weights.push(a.weights[i]);
            weight_keys.push((a.weight_tree_ids[i], a.weight_node_ids[i]));
        }
        // Both lists are sorted by (tree, node): one cursor walks the weights
        // alongside the nodes.
        let mut next_weight = 0usize;

        let mut nodes = Vec::with_capacity(n);
        let mut branch_modes = Vec::with_capacity(n);
        let mut missing_true = Vec::with_capacity(n);
        let mut roots = Vec::new();
        let mut n_features = 0usize;
        let mut tree_run = 0..0;
        for (flat, &i) in order.iter().enumerate() {
            let (tree, id) = keys[flat];
            if flat == tree_run.end {
                let length = keys[flat..].partition_point(|key| key.0 == tree);
                tree_run = flat..flat + length;
                roots.push(flat as u32);
            }
            let tracks_true = a.node_missing_tracks_true.get(i).copied().unwrap_or(false);
            match a.node_modes[i] {
                Some(mode) => {
                    let feature = a.node_feature_ids[i];
                    ensure!(
                        (0..u32::MAX as i64).contains(&feature),
                        "node {id} of tree {tree} reads feature {feature}"
                    );
                    n_features = n_features.max(feature as usize + 1);
                    let child = |child: i64| {
                        position_in_tree(&keys, tree_run.clone(), child).with_context(|| {
                            format!("node {id} of tree {tree} points to missing node {child}")
                        })
                    };
                    nodes.push(Node {
                        threshold: a.node_thresholds[i],
                        feature: feature as u32,
                        children: [child(a.node_true_ids[i])?, child(a.node_false_ids[i])?],
                    });
                    branch_modes.push(mode);
                }
                None => {
                    // A leaf with no weights contributes nothing (onnxruntime
                    // agrees); weights of branches or of no node are skipped.
                    while weight_keys
                        .get(next_weight)
                        .is_some_and(|k| *k < (tree, id))
                    {
                        next_weight += 1;
                    }
                    let start = next_weight;
                    while weight_keys.get(next_weight) == Some(&(tree, id)) {
                        next_weight += 1;
                    }
                    let (start, end) = if start == next_weight {
                        (0, 0)
                    } else {
                        (start as u32, next_weight as u32)
                    };
                    nodes.push(Node {
                        threshold: 0.0,
                        feature: LEAF,
                        children: [start, end],
                    });
                    branch_modes.push(BranchMode::Leq);
                }
            }
            missing_true.push(tracks_true);
        }

        let mut forest = Self {
            all_leq: branch_modes
                .iter()
                .zip(&nodes)
                .zip(&missing_true)
                .all(|((m, node), t)| node.feature == LEAF || (*m == BranchMode::Leq && !t)),
            nodes,
            branch_modes,
            missing_true,
            roots,
            single_weight_class: {
                let first = a.weight_targets.first();
                a.weight_targets.iter().all(|t| Some(t) == first)
            },
            weights_all_positive: a.weights.iter().all(|w| *w >= 0.0),
            leaf_targets,
            leaf_weights,
            n_features,
            n_targets,
            aggregate,
        };
        forest.check_acyclic()?;
        forest.leaf_targets.shrink_to_fit();
        Ok(forest)
    }

    /// A cycle would make evaluation loop forever: reject it at load.
    fn check_acyclic(&self) -> anyhow::Result<()> {
        const UNSEEN: u8 = 0;
        const ON_PATH: u8 = 1;
        const DONE: u8 = 2;
        let mut state = vec![UNSEEN; self.nodes.len()];
        for &root in &self.roots {
            // Iterative depth-first search; (node, next child to visit).
            let mut stack = vec![(root as usize, 0usize)];
            if state[root as usize] != UNSEEN {
                continue;
            }
            state[root as usize] = ON_PATH;
            while let Some((node, next)) = stack.pop() {
                let is_leaf = self.nodes[node].feature == LEAF;
                if is_leaf || next == 2 {
                    state[node] = DONE;
                    continue;
                }
                stack.push((node, next + 1));
                let child = self.nodes[node].children[next] as usize;
                match state[child] {
                    ON_PATH => bail!("the trees contain a cycle through node index {child}"),
                    UNSEEN => {
                        state[child] = ON_PATH;
                        stack.push((child, 0));
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Features a row must have.
    pub fn n_features(&self) -> usize {
        self.n_features
    }

    /// Classes (classifier) or targets (regressor).
    pub fn n_targets(&self) -> usize {
        self.n_targets
    }

    pub fn n_trees(&self) -> usize {
        self.roots.len()
    }

    /// The leaf `row` reaches from `root`.
    #[inline(always)]
    fn leaf(&self, root: u32, row: &[f32]) -> &Node {
        let mut node = &self.nodes[root as usize];
        if self.all_leq {
            while node.feature != LEAF {
                let x = row[node.feature as usize];
                // `!(x <= t)` sends NaN to the false side, as onnxruntime does
                // for nodes that do not track missing values.
                node = &self.nodes[node.children[usize::from(!(x <= node.threshold))] as usize];
            }
        } else {
            let mut index = root as usize;
            while node.feature != LEAF {
                let x = row[node.feature as usize];
                let go_true = self.branch_modes[index].holds(x, node.threshold)
                    || (x.is_nan() && self.missing_true[index]);
                index = node.children[usize::from(!go_true)] as usize;
                node = &self.nodes[index];
            }
        }
        node
    }

    /// Aggregates every tree's leaf for every row into `scores`/`has_score`
    /// (`n_targets` per row), before base values and post transforms.
    ///
    /// Rows go in blocks, trees outermost within a block: a large forest
    /// does not fit in cache, so each tree is walked for a whole block of
    /// rows while it is hot. Each row still sums its trees in tree order,
    /// as onnxruntime does, so results are the same for any batch size.
    fn accumulate(
        &self,
        rows: &[f32],
        n_columns: usize,
        scores: &mut [f32],
        has_score: &mut [bool],
    ) {
        const BLOCK_ROWS: usize = 64;
        let t = self.n_targets;
        scores.fill(0.0);
        has_score.fill(false);
        let blocks = rows.chunks(BLOCK_ROWS * n_columns).zip(
            scores
                .chunks_mut(BLOCK_ROWS * t)
                .zip(has_score.chunks_mut(BLOCK_ROWS * t)),
        );
        for (block, (block_scores, block_has)) in blocks {
            let n_rows = block.len() / n_columns;
            if self.all_leq && n_rows < LANES {
                // Few rows: walk LANES trees at once for each row.
                for (r, row) in block.chunks_exact(n_columns).enumerate() {
                    let (row_scores, row_has) = (
                        &mut block_scores[r * t..][..t],
                        &mut block_has[r * t..][..t],
                    );
                    let mut trees = self.roots.chunks_exact(LANES);
                    for roots in &mut trees {
                        let roots: [u32; LANES] = std::array::from_fn(|k| roots[k]);
                        for leaf in self.leaves_leq(roots, [row; LANES]) {
                            self.add_leaf(&self.nodes[leaf as usize], row_scores, row_has);
                        }
                    }
                    for &root in trees.remainder() {
                        self.add_leaf(self.leaf(root, row), row_scores, row_has);
                    }
                }
                continue;
            }
            for &root in &self.roots {
                let mut r = 0;
                if self.all_leq {
                    // Many rows: walk LANES rows at once down each tree.
                    while r + LANES <= n_rows {
                        let rows: [&[f32]; LANES] =
                            std::array::from_fn(|k| &block[(r + k) * n_columns..][..n_columns]);
                        for (k, leaf) in
                            self.leaves_leq([root; LANES], rows).into_iter().enumerate()
                        {
                            let at = (r + k) * t;
                            self.add_leaf(
                                &self.nodes[leaf as usize],
                                &mut block_scores[at..at + t],
                                &mut block_has[at..at + t],
                            );
                        }
                        r += LANES;
                    }
                }
                for r in r..n_rows {
                    let row = &block[r * n_columns..][..n_columns];
                    let at = r * t;
                    self.add_leaf(
                        self.leaf(root, row),
                        &mut block_scores[at..at + t],
                        &mut block_has[at..at + t],
                    );
                }
            }
        }
    }

    /// `LANES` independent walks (trees and/or rows) advanced together, so
    /// the processor overlaps their memory loads instead of waiting on one
    /// chain of dependent loads at a time. Only for all-`BRANCH_LEQ` forests.
    #[inline(always)]
    fn leaves_leq(&self, roots: [u32; LANES], rows: [&[f32]; LANES]) -> [u32; LANES] {
        let mut at = roots;
        loop {
            let mut moving = false;
            for k in 0..LANES {
                let node = &self.nodes[at[k] as usize];
                if node.feature != LEAF {
                    let x = rows[k][node.feature as usize];
                    at[k] = node.children[usize::from(!(x <= node.threshold))];
                    moving = true;
                }
            }
            if !moving {
                return at;
            }
        }
    }

    #[inline(always)]
    fn add_leaf(&self, leaf: &Node, scores: &mut [f32], has_score: &mut [bool]) {
        let (start, end) = (leaf.children[0] as usize, leaf.children[1] as usize);
        for (target, weight) in self.leaf_targets[start..end]
            .iter()
            .zip(&self.leaf_weights[start..end])
        {
            let t = *target as usize;
            let (score, has) = (&mut scores[t], &mut has_score[t]);
            match self.aggregate {
                Aggregate::Sum | Aggregate::Average => *score += weight,
                Aggregate::Min => {
                    if !*has || *weight < *score {
                        *score = *weight;
                    }
                }
                Aggregate::Max => {
                    if !*has || *weight > *score {
                        *score = *weight;
                    }
                }
            }
            *has = true;
        }
    }

    fn check_rows(&self, rows: &[f32], n_columns: usize) -> anyhow::Result<usize> {
        ensure!(
            n_columns >= self.n_features,
            "the model reads feature {} but rows have {n_columns} columns",
            self.n_features.saturating_sub(1)
        );
        ensure!(n_columns > 0, "rows have no columns");
        Ok(rows.len() / n_columns)
    }

    /// Regression: one row of `n_targets` values per input row.
    pub fn regress(
        &self,
        rows: &[f32],
        n_columns: usize,
        base_values: &[f32],
        post: PostTransform,
    ) -> anyhow::Result<Vec<f32>> {
        let n_rows = self.check_rows(rows, n_columns)?;
        let t = self.n_targets;
        let mut out = vec![0f32; n_rows * t];
        let mut has_all = vec![false; n_rows * t];
        self.accumulate(rows, n_columns, &mut out, &mut has_all);
        let n_trees = self.roots.len() as f32;
        let use_base = base_values.len() == t;
        for (scores, has) in out.chunks_exact_mut(t).zip(has_all.chunks_exact(t)) {
            if t == 1 {
                // onnxruntime's single-target path: a lone base value is the
                // origin and only PROBIT applies.
                let origin = if base_values.len() == 1 {
                    base_values[0]
                } else {
                    0.0
                };
                let score = match self.aggregate {
                    Aggregate::Sum => scores[0] + origin,
                    Aggregate::Average => scores[0] / n_trees + origin,
                    Aggregate::Min | Aggregate::Max => {
                        if has[0] {
                            scores[0] + origin
                        } else {
                            origin
                        }
                    }
                };
                scores[0] = if post == PostTransform::Probit {
                    probit(score)
                } else {
                    score
                };
                continue;
            }
            for (k, score) in scores.iter_mut().enumerate() {
                let base = if use_base { base_values[k] } else { 0.0 };
                *score = match self.aggregate {
                    Aggregate::Sum => *score + base,
                    Aggregate::Average => *score / n_trees + base,
                    Aggregate::Min | Aggregate::Max => base + if has[k] { *score } else { 0.0 },
                };
            }
        }
        if t > 1 {
            apply_post_transform_rows(&mut out, t, post);
        }
        Ok(out)
    }

    /// Classification: per row, the index into the class labels (or, in
    /// onnxruntime's non-binary two-class rule, a raw label 0/1, see
    /// [`ClassChoice`]) and `n_targets` scores.
    pub fn classify(
        &self,
        rows: &[f32],
        n_columns: usize,
        base_values: &[f32],
        post: PostTransform,
    ) -> anyhow::Result<(Vec<ClassChoice>, Vec<f32>)> {
        let n_rows = self.check_rows(rows, n_columns)?;
        let c = self.n_targets;
        let mut scores = vec![0f32; n_rows * c];
        let mut choices = Vec::with_capacity(n_rows);
        let mut has_all = vec![false; n_rows * c];
        self.accumulate(rows, n_columns, &mut scores, &mut has_all);
        for (out, has) in scores.chunks_exact_mut(c).zip(has_all.chunks_exact_mut(c)) {
            choices.push(if c > 2 {
                self.finish_multiclass(out, has, base_values)
            } else {
                self.finish_two_classes(out, has, base_values, post)
            });
        }
        if c > 2 {
            apply_post_transform_rows(&mut scores, c, post);
        }
        Ok((choices, scores))
    }

    /// One row's base values and class choice; the post-transform runs
    /// afterwards, over the whole batch.
    fn finish_multiclass(
        &self,
        scores: &mut [f32],
        has: &mut [bool],
        base_values: &[f32],
    ) -> ClassChoice {
        for (k, base) in base_values.iter().enumerate().take(scores.len()) {
            if has[k] {
                scores[k] += base;
            } else {
                scores[k] = *base;
                has[k] = true;
            }
        }
        let mut best: Option<usize> = None;
        for k in 0..scores.len() {
            if has[k] && best.is_none_or(|b| scores[k] > scores[b]) {
                best = Some(k);
            }
        }
        ClassChoice::Label(best.unwrap_or(0))
    }

    /// onnxruntime's two-class rules, including models (scikit-learn's
    /// binary exports) that carry weights for one class only.
    fn finish_two_classes(
        &self,
        scores: &mut [f32],
        has: &mut [bool],
        base_values: &[f32],
        post: PostTransform,
    ) -> ClassChoice {
        if scores.len() < 2 {
            apply_post_transform(scores, post);
            return ClassChoice::Label(0);
        }
        let mut second_class = SecondClass::None;
        let mut one_score = false;
        match base_values.len() {
            2 if has[1] => {
                scores[1] = base_values[1] + scores[0];
                scores[0] = -scores[1];
            }
            2 => {
                scores[1] += base_values[1];
                scores[0] += base_values[0];
            }
            1 => {
                scores[0] += base_values[0];
                one_score = !has[1];
            }
            0 => {
                second_class = SecondClass::Negated;
                one_score = !has[1];
            }
            _ => {}
        }
        let positive = if !one_score && has[1] {
            scores[1]
        } else if has[0] {
            scores[0]
        } else {
            0.0
        };
        let binary = self.single_weight_class;
        let choice = match (binary, self.weights_all_positive) {
            (true, true) => {
                second_class = SecondClass::Complement;
                ClassChoice::Label(usize::from(positive > 0.5))
            }
            (true, false) => {
                second_class = SecondClass::Negated;
                ClassChoice::Label(usize::from(positive > 0.0))
            }
            (false, _) => ClassChoice::Raw(i64::from(positive > 0.0)),
        };
        if !one_score {
            apply_post_transform(scores, post);
            return choice;
        }
        let s = scores[0];
        match (post, second_class) {
            (PostTransform::Probit, _) => {
                scores[0] = probit(s);
                scores[1] = 0.0;
            }
            (_, SecondClass::Complement) => {
                scores[0] = 1.0 - s;
                scores[1] = s;
            }
            (PostTransform::Logistic, SecondClass::Negated) => {
                scores[0] = logistic(-s);
                scores[1] = logistic(s);
            }
            (_, SecondClass::Negated) => {
                scores[0] = -s;
                scores[1] = s;
            }
            (_, SecondClass::None) => scores[1] = 0.0,
        }
        choice
    }
}

/// How a one-score binary classifier fills its second column.
#[derive(Clone, Copy)]
enum SecondClass {
    None,
    /// `[1 - s, s]` (weights are probabilities).
    Complement,
    /// `[-s, s]`, or `[logistic(-s), logistic(s)]` under LOGISTIC.
    Negated,
}

/// The class a classifier picked for one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassChoice {
    /// Index into the class labels.
    Label(usize),
    /// A literal label value: onnxruntime answers 1/0 for two-class models
    /// with weights on both classes and no binary layout.
    Raw(i64),
}

pub(crate) fn apply_post_transform(scores: &mut [f32], post: PostTransform) {
    match post {
        PostTransform::None => {}
        PostTransform::Logistic => vector_logistic::logistic_in_place(scores),
        PostTransform::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
        PostTransform::Softmax => vector_logistic::softmax_rows(scores, scores.len()),
        PostTransform::SoftmaxZero => softmax_zero(scores),
    }
}

/// [`apply_post_transform`] on every row of `width` scores of a batch, with
/// the logistic and the softmax run over the whole batch at once.
pub(crate) fn apply_post_transform_rows(scores: &mut [f32], width: usize, post: PostTransform) {
    match post {
        PostTransform::None | PostTransform::Logistic | PostTransform::Probit => {
            apply_post_transform(scores, post);
        }
        PostTransform::Softmax => vector_logistic::softmax_rows(scores, width),
        PostTransform::SoftmaxZero => scores.chunks_mut(width.max(1)).for_each(softmax_zero),
    }
}

/// `sqrt(2) * erfinv(2x - 1)` with the same erfinv approximation as
/// onnxruntime (Winitzki, a = 0.147).
pub fn probit(x: f32) -> f32 {
    std::f32::consts::SQRT_2 * erf_inv(2.0 * x - 1.0)
}

fn erf_inv(x: f32) -> f32 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let ln = ((1.0 - x) * (1.0 + x)).ln();
    let v = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * ln;
    let v2 = ln / 0.147;
    sign * ((v * v - v2).sqrt() - v).sqrt()
}

/// Softmax that leaves zero scores (absent classes) near zero.
fn softmax_zero(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::MIN, f32::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        if s.abs() > 1e-7 {
            *s = (*s - max).exp();
            sum += *s;
        } else {
            *s *= exp_neg_max;
        }
    }
    scores.iter_mut().for_each(|s| *s /= sum);
}

/// Indices `0..n` ordered by `key`, stably. Exporters write nodes and
/// weights already in (tree, node) order, so that case skips the sort.
fn sorted_order(n: usize, key: impl Fn(usize) -> (i64, i64)) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    if !order.is_sorted_by_key(|&i| key(i)) {
        order.sort_by_key(|&i| key(i));
    }
    order
}

/// Where node `id` sits among the sorted `keys[tree_run]` (one tree's
/// nodes). Node ids usually count up from the tree's first id without gaps,
/// so the offset is tried first; otherwise a binary search.
fn position_in_tree(keys: &[(i64, i64)], tree_run: Range<usize>, id: i64) -> Option<u32> {
    let tree = &keys[tree_run.clone()];
    let first = tree.first()?.1;
    let guess = id
        .checked_sub(first)
        .and_then(|offset| usize::try_from(offset).ok());
    let offset = match guess {
        Some(offset) if tree.get(offset).is_some_and(|key| key.1 == id) => offset,
        _ => tree.binary_search_by_key(&id, |key| key.1).ok()?,
    };
    u32::try_from(tree_run.start + offset).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One stump per tree: feature 0 <= 0.5 → leaf 1, else leaf 2.
    fn stumps(n_trees: i64, mode: BranchMode, weights: [(i64, f32); 2]) -> TreeAttributes {
        let mut a = TreeAttributes::default();
        for tree in 0..n_trees {
            for (node, m) in [(0, Some(mode)), (1, None), (2, None)] {
                a.node_tree_ids.push(tree);
                a.node_ids.push(node);
                a.node_feature_ids.push(0);
                a.node_modes.push(m);
                a.node_thresholds.push(0.5);
                a.node_true_ids.push(1);
                a.node_false_ids.push(2);
            }
            for (leaf, (target, weight)) in [(1, weights[0]), (2, weights[1])] {
                a.weight_tree_ids.push(tree);
                a.weight_node_ids.push(leaf);
                a.weight_targets.push(target);
                a.weights.push(weight);
            }
        }
        a
    }

    #[test]
    fn sums_and_averages_leaves_over_trees() {
        let a = stumps(4, BranchMode::Leq, [(0, 1.0), (0, 3.0)]);
        let sum = Forest::build(&a, 1, Aggregate::Sum).unwrap();
        assert_eq!(
            sum.regress(&[0.0, 1.0], 1, &[], PostTransform::None)
                .unwrap(),
            [4.0, 12.0]
        );
        let avg = Forest::build(&a, 1, Aggregate::Average).unwrap();
        assert_eq!(
            avg.regress(&[0.0, 1.0], 1, &[10.0], PostTransform::None)
                .unwrap(),
            [11.0, 13.0]
        );
    }

    #[test]
    fn every_branch_mode_and_missing_values_follow_the_spec() {
        for (mode, x, expect_true) in [
            (BranchMode::Lt, 0.5, false),
            (BranchMode::Gte, 0.5, true),
            (BranchMode::Gt, 0.5, false),
            (BranchMode::Eq, 0.5, true),
            (BranchMode::Neq, 0.5, false),
        ] {
            let a = stumps(1, mode, [(0, 1.0), (0, 2.0)]);
            let f = Forest::build(&a, 1, Aggregate::Sum).unwrap();
            let got = f.regress(&[x], 1, &[], PostTransform::None).unwrap()[0];
            assert_eq!(got, if expect_true { 1.0 } else { 2.0 }, "{mode:?}");
        }
        let mut a = stumps(1, BranchMode::Leq, [(0, 1.0), (0, 2.0)]);
        let plain = Forest::build(&a, 1, Aggregate::Sum).unwrap();
        assert_eq!(
            plain
                .regress(&[f32::NAN], 1, &[], PostTransform::None)
                .unwrap(),
            [2.0]
        );
        a.node_missing_tracks_true = vec![true, false, false];
        let tracking = Forest::build(&a, 1, Aggregate::Sum).unwrap();
        assert_eq!(
            tracking
                .regress(&[f32::NAN], 1, &[], PostTransform::None)
                .unwrap(),
            [1.0]
        );
    }

    #[test]
    fn binary_probability_forest_writes_complement_and_thresholds_at_one_half() {
        let a = stumps(2, BranchMode::Leq, [(0, 0.1), (0, 0.4)]);
        let f = Forest::build(&a, 2, Aggregate::Sum).unwrap();
        let (labels, scores) = f
            .classify(&[0.0, 1.0], 1, &[], PostTransform::None)
            .unwrap();
        assert_eq!(labels, [ClassChoice::Label(0), ClassChoice::Label(1)]);
        assert!((scores[0] - 0.8).abs() < 1e-6 && (scores[1] - 0.2).abs() < 1e-6);
        assert!((scores[3] - 0.8).abs() < 1e-6);
    }

    #[test]
    fn multiclass_adds_base_values_and_softmaxes() {
        let a = stumps(1, BranchMode::Leq, [(2, 1.0), (0, 1.0)]);
        let f = Forest::build(&a, 3, Aggregate::Sum).unwrap();
        let (labels, scores) = f
            .classify(&[0.0], 1, &[0.0, 0.5, 0.0], PostTransform::Softmax)
            .unwrap();
        assert_eq!(labels, [ClassChoice::Label(2)]);
        assert!((scores.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(scores[2] > scores[1] && scores[1] > scores[0]);
    }

    #[test]
    fn dangling_children_and_cycles_are_refused() {
        let mut a = stumps(1, BranchMode::Leq, [(0, 1.0), (0, 2.0)]);
        a.node_false_ids[0] = 7;
        assert!(
            Forest::build(&a, 1, Aggregate::Sum)
                .unwrap_err()
                .to_string()
                .contains("missing node 7")
        );
        let mut a = stumps(1, BranchMode::Leq, [(0, 1.0), (0, 2.0)]);
        a.node_modes[1] = Some(BranchMode::Leq);
        a.node_true_ids[1] = 0;
        assert!(
            Forest::build(&a, 1, Aggregate::Sum)
                .unwrap_err()
                .to_string()
                .contains("cycle")
        );
        let mut a = stumps(1, BranchMode::Leq, [(0, 1.0), (0, 2.0)]);
        a.weight_targets[0] = 3;
        assert!(Forest::build(&a, 1, Aggregate::Sum).is_err());
    }

    #[test]
    fn post_transforms_match_onnxruntime_formulas() {
        assert!((logistic(0.0) - 0.5).abs() < 1e-7);
        assert!((logistic(-3.0) - (1.0 - logistic(3.0))).abs() < 1e-7);
        // probit(0.975) is the 97.5th percentile of the normal, 1.96; the
        // approximation is good to about 2e-3.
        assert!((probit(0.975) - 1.96).abs() < 5e-3, "{}", probit(0.975));
        let mut s = [0.0, 2.0, 0.0];
        softmax_zero(&mut s);
        assert!(s[0] < 1e-3 && (s[1] - 1.0).abs() < 1e-3);
    }

    /// `a` with its nodes and weights listed in reverse, and node ids made
    /// sparse (id * 10 + 3), as a hand-written or merged model may have them.
    fn reversed_and_sparse(a: &TreeAttributes) -> TreeAttributes {
        let sparse = |ids: &[i64]| -> Vec<i64> { ids.iter().rev().map(|id| id * 10 + 3).collect() };
        let reversed = |v: &[i64]| -> Vec<i64> { v.iter().rev().copied().collect() };
        TreeAttributes {
            node_tree_ids: reversed(&a.node_tree_ids),
            node_ids: sparse(&a.node_ids),
            node_feature_ids: reversed(&a.node_feature_ids),
            node_modes: a.node_modes.iter().rev().copied().collect(),
            node_thresholds: a.node_thresholds.iter().rev().copied().collect(),
            node_true_ids: sparse(&a.node_true_ids),
            node_false_ids: sparse(&a.node_false_ids),
            node_missing_tracks_true: a.node_missing_tracks_true.iter().rev().copied().collect(),
            weight_tree_ids: reversed(&a.weight_tree_ids),
            weight_node_ids: sparse(&a.weight_node_ids),
            weight_targets: reversed(&a.weight_targets),
            weights: a.weights.iter().rev().copied().collect(),
        }
    }

    #[test]
    fn node_order_and_id_gaps_do_not_change_answers() {
        let mut a = stumps(3, BranchMode::Leq, [(0, 1.0), (1, 3.0)]);
        // Trees that differ, so a wrong tree lookup would show.
        a.node_thresholds[3] = -1.0;
        a.weights[4] = 5.0;
        // Two weights on one leaf, and one on a branch (ignored).
        for (node, target, weight) in [(2, 0, 0.25), (0, 1, 100.0)] {
            a.weight_tree_ids.push(2);
            a.weight_node_ids.push(node);
            a.weight_targets.push(target);
            a.weights.push(weight);
        }
        let rows = [0.0, 1.0, f32::NAN];
        let answer = |a: &TreeAttributes| {
            Forest::build(a, 2, Aggregate::Sum)
                .unwrap()
                .classify(&rows, 1, &[], PostTransform::None)
                .unwrap()
                .1
        };
        let in_order = answer(&a);
        assert_eq!(in_order[..2], [1.0 + 5.0, 3.0]);
        assert_eq!(in_order[2..4], [0.25, 3.0 + 3.0 + 3.0]);
        assert_eq!(answer(&reversed_and_sparse(&a)), in_order);

        let mut twice = a.clone();
        twice.node_ids[4] = 0;
        let error = Forest::build(&twice, 2, Aggregate::Sum).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("node 0 of tree 1 is defined twice"),
            "{error}"
        );
    }

    #[test]
    fn rows_narrower_than_the_features_read_are_refused() {
        let mut a = stumps(1, BranchMode::Leq, [(0, 1.0), (0, 2.0)]);
        a.node_feature_ids[0] = 3;
        let f = Forest::build(&a, 1, Aggregate::Sum).unwrap();
        assert!(f.regress(&[0.0, 0.0], 2, &[], PostTransform::None).is_err());
    }
}
