//! `LinearClassifier` (LogisticRegression, SGDClassifier, RidgeClassifier,
//! LinearSVC, Perceptron): `scores = x · coefficientsᵀ + intercepts`, as
//! onnxruntime computes and lays them out. tract's own differs from
//! onnxruntime on a one-row binary model (`[-s, s]` where onnxruntime
//! writes `[1 - s, s]`) and refuses the PROBIT and SOFTMAX_ZERO transforms.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, ints};
use super::linear_scores::scores_of_input;
use super::{FactShape, Kernel, check_features, expand_kernel, rows_dim};
use crate::models::forest::{PostTransform, apply_post_transform_rows, probit};
use crate::models::vector_logistic::logistic_in_place;

#[derive(Debug)]
struct LinearClassifier {
    /// `[targets, features]`, row-major.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    targets: usize,
    features: usize,
    labels: Arc<Tensor>,
    post_transform: PostTransform,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = context(node);
    let labels: Arc<Tensor> = match (
        ints(node, "classlabels_ints")?,
        node.get_attr_opt_vec::<String>("classlabels_strings")?,
    ) {
        (Some(ints), None) if !ints.is_empty() => rctensor1(&ints),
        (None, Some(strings)) if !strings.is_empty() => rctensor1(&strings),
        _ => bail!("{at}: exactly one of classlabels_ints and classlabels_strings must be set"),
    };
    let coefficients = floats(node, "coefficients")?.unwrap_or_default();
    ensure!(!coefficients.is_empty(), "{at}: coefficients are empty");
    // onnxruntime counts the score rows by the intercepts; without them,
    // one row per label (or one for two labels, the binary layout).
    let intercepts = match floats(node, "intercepts")? {
        Some(intercepts) if !intercepts.is_empty() => intercepts,
        _ => {
            let rows = if labels.len() == 2 && coefficients.len() % 2 == 1 {
                1
            } else {
                labels.len()
            };
            vec![0.0; rows]
        }
    };
    let targets = intercepts.len();
    ensure!(
        coefficients.len() % targets == 0,
        "{at}: {} coefficients for {targets} intercepts",
        coefficients.len()
    );
    ensure!(
        targets == 1 || targets == labels.len(),
        "{at}: {targets} score rows for {} class labels",
        labels.len()
    );
    expand_kernel(LinearClassifier {
        features: coefficients.len() / targets,
        coefficients,
        intercepts,
        targets,
        labels,
        post_transform: PostTransform::parse(
            node.get_attr_opt("post_transform")?.unwrap_or("NONE"),
        )?,
    })
}

impl LinearClassifier {
    /// A one-row binary model answers two columns.
    fn adds_second_class(&self) -> bool {
        self.targets == 1 && self.labels.len() == 2
    }

    fn width(&self) -> usize {
        if self.adds_second_class() {
            2
        } else {
            self.targets
        }
    }

    /// The label index for one row's raw scores.
    fn choose(&self, scores: &[f32]) -> Choice {
        if self.targets == 1 {
            let positive = scores[0] > 0.0;
            if self.labels.len() == 2 {
                Choice::Label(usize::from(positive))
            } else {
                Choice::Raw(i64::from(positive))
            }
        } else {
            let mut best = 0;
            for (i, s) in scores.iter().enumerate() {
                if *s > scores[best] {
                    best = i;
                }
            }
            Choice::Label(best)
        }
    }

    /// Every row's transformed scores, `[rows, width]`, from the raw
    /// `[rows, targets]`: the logistic and the softmax run over the whole
    /// batch at once (see `vector_logistic`).
    fn transform(&self, mut raw: Vec<f32>) -> Vec<f32> {
        let post = self.post_transform;
        if self.targets > 1 {
            apply_post_transform_rows(&mut raw, self.targets, post);
            return raw;
        }
        let two_columns = |scores: Vec<f32>, first: fn(f32) -> f32| -> Vec<f32> {
            scores.iter().flat_map(|&s| [first(s), s]).collect()
        };
        match (post, self.adds_second_class()) {
            // onnxruntime leaves the second column unwritten here.
            (PostTransform::Probit, true) => raw.iter().flat_map(|&s| [probit(s), 0.0]).collect(),
            (PostTransform::Probit, false) => raw.iter().map(|&s| probit(s)).collect(),
            // onnxruntime applies only the logistic to a single score, then
            // writes [1 - p, p].
            (PostTransform::Logistic, second) => {
                logistic_in_place(&mut raw);
                if second {
                    two_columns(raw, |p| 1.0 - p)
                } else {
                    raw
                }
            }
            (_, true) => two_columns(raw, |s| 1.0 - s),
            (_, false) => raw,
        }
    }
}

/// A label position, or (a one-row model with other than two labels) the
/// 0/1 onnxruntime answers.
enum Choice {
    Label(usize),
    Raw(i64),
}

impl Kernel for LinearClassifier {
    fn name(&self) -> &'static str {
        "LinearClassifier"
    }

    fn n_outputs(&self) -> usize {
        2
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let rows = rows_dim(&inputs[0].1);
        let label_type = if self.targets == 1 && self.labels.len() != 2 {
            i64::datum_type()
        } else {
            self.labels.datum_type()
        };
        Ok(tvec!(
            (label_type, tvec![rows.clone()]),
            (f32::datum_type(), tvec![rows, self.width().to_dim()])
        ))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        check_features(self.name(), columns, self.features)
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // Raw scores of every row first, then the transform over them all.
        let (_, raw) = scores_of_input(
            self.name(),
            &inputs[0],
            self.features,
            &self.coefficients,
            &self.intercepts,
        )?;
        let chosen: Vec<Choice> = raw
            .chunks(self.targets.max(1))
            .map(|scores| self.choose(scores))
            .collect();
        let all_scores = self.transform(raw);
        let n = chosen.len();
        let labels = if self.targets == 1 && self.labels.len() != 2 {
            let raw: Vec<i64> = chosen
                .iter()
                .map(|c| match c {
                    Choice::Raw(v) => *v,
                    Choice::Label(i) => *i as i64,
                })
                .collect();
            tensor1(&raw)
        } else {
            let positions: Vec<usize> = chosen
                .iter()
                .map(|c| match c {
                    Choice::Label(i) => *i,
                    Choice::Raw(v) => *v as usize,
                })
                .collect();
            super::svm::pick_labels(&self.labels, &positions)?
        };
        let scores = Tensor::from_shape(&[n, self.width()], &all_scores)?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}
