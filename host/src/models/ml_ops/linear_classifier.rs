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
use crate::models::vector_logistic::{logistic_in_place, logistic_pairs};

#[derive(Debug)]
struct LinearClassifier {
    /// `[targets, features]`, row-major.
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    targets: usize,
    features: usize,
    labels: Arc<Tensor>,
    post_transform: PostTransform,
    /// Two score rows, the second the exact negation of the first (how
    /// skl2onnx writes a binary logistic regression): the second is
    /// computed, the first is its negation, bit for bit.
    negated_pair: bool,
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
    let features = coefficients.len() / targets;
    let negated_pair = targets == 2
        && intercepts[0].to_bits() == (-intercepts[1]).to_bits()
        && coefficients[..features]
            .iter()
            .zip(&coefficients[features..])
            .all(|(a, b)| a.to_bits() == (-*b).to_bits());
    expand_kernel(LinearClassifier {
        negated_pair,
        features,
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

    /// The label position for one row's raw scores (a one-row model: the
    /// second label when the score is positive).
    fn position(&self, scores: &[f32]) -> usize {
        if self.targets == 1 {
            return usize::from(scores[0] > 0.0);
        }
        let mut best = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
            }
        }
        best
    }

    /// Every row's label, `[rows]`, from the raw `[rows, targets]` scores:
    /// written straight into the output (no per-row choices kept).
    fn labels_of(&self, raw: &[f32]) -> TractResult<Tensor> {
        let width = self.targets.max(1);
        if self.targets == 1 && self.labels.len() != 2 {
            // onnxruntime answers 0/1 rather than a label here.
            let values: Vec<i64> = raw.iter().map(|&s| i64::from(s > 0.0)).collect();
            return Ok(tract_ndarray::Array1::from_vec(values).into_tensor());
        }
        let view = self.labels.try_as_plain_ram()?;
        if self.labels.datum_type() == i64::datum_type() {
            let all = view.as_slice::<i64>()?;
            let values: Vec<i64> = raw
                .chunks_exact(width)
                .map(|scores| all[self.position(scores)])
                .collect();
            Ok(tract_ndarray::Array1::from_vec(values).into_tensor())
        } else {
            let all = view.as_slice::<String>()?;
            let values: Vec<String> = raw
                .chunks_exact(width)
                .map(|scores| all[self.position(scores)].clone())
                .collect();
            Ok(tract_ndarray::Array1::from_vec(values).into_tensor())
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
        match (post, self.adds_second_class()) {
            // onnxruntime leaves the second column unwritten here.
            (PostTransform::Probit, true) => two_columns(&raw, probit, |_| 0.0),
            (PostTransform::Probit, false) => {
                raw.iter_mut().for_each(|s| *s = probit(*s));
                raw
            }
            // onnxruntime applies only the logistic to a single score, then
            // writes [1 - p, p].
            (PostTransform::Logistic, second) => {
                logistic_in_place(&mut raw);
                if second {
                    two_columns(&raw, |p| 1.0 - p, |p| p)
                } else {
                    raw
                }
            }
            (_, true) => two_columns(&raw, |s| 1.0 - s, |s| s),
            (_, false) => raw,
        }
    }
}

impl LinearClassifier {
    /// A binary logistic regression written as a negated pair of score
    /// rows: one dot product per row (the second row's score `s`; the first
    /// is `-s` exactly, as negation commutes with IEEE rounding), the label
    /// by `s > -s` (the argmax of the pair), and both probabilities from one
    /// `exp`. Every output bit for bit the general path's.
    fn eval_negated_pair(&self, input: &TValue) -> TractResult<TVec<TValue>> {
        let features = self.features;
        let (rows, positive) = scores_of_input(
            self.name(),
            input,
            features,
            &self.coefficients[features..],
            &self.intercepts[1..],
        )?;
        let view = self.labels.try_as_plain_ram()?;
        let labels = if self.labels.datum_type() == i64::datum_type() {
            let all = view.as_slice::<i64>()?;
            let values: Vec<i64> = positive.iter().map(|&s| all[usize::from(s > -s)]).collect();
            tract_ndarray::Array1::from_vec(values).into_tensor()
        } else {
            let all = view.as_slice::<String>()?;
            let values: Vec<String> = positive
                .iter()
                .map(|&s| all[usize::from(s > -s)].clone())
                .collect();
            tract_ndarray::Array1::from_vec(values).into_tensor()
        };
        let mut probabilities = vec![0f32; rows * 2];
        logistic_pairs(&positive, &mut probabilities);
        let scores = tract_ndarray::Array2::from_shape_vec((rows, 2), probabilities)?;
        Ok(tvec!(
            labels.into_tvalue(),
            scores.into_tensor().into_tvalue()
        ))
    }
}

/// `[first(s), second(s)]` for each score, into one buffer sized once.
fn two_columns(
    scores: &[f32],
    first: impl Fn(f32) -> f32,
    second: impl Fn(f32) -> f32,
) -> Vec<f32> {
    let mut out = vec![0.0f32; scores.len() * 2];
    for (pair, &s) in out.chunks_exact_mut(2).zip(scores) {
        pair[0] = first(s);
        pair[1] = second(s);
    }
    out
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
        if self.negated_pair && self.post_transform == PostTransform::Logistic {
            return self.eval_negated_pair(&inputs[0]);
        }
        // Raw scores of every row first, then labels and the transform
        // over them all; both outputs take their buffers without a copy.
        let (_, raw) = scores_of_input(
            self.name(),
            &inputs[0],
            self.features,
            &self.coefficients,
            &self.intercepts,
        )?;
        let rows = raw.len() / self.targets.max(1);
        let labels = self.labels_of(&raw)?;
        let scores =
            tract_ndarray::Array2::from_shape_vec((rows, self.width()), self.transform(raw))?;
        Ok(tvec!(
            labels.into_tvalue(),
            scores.into_tensor().into_tvalue()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A binary model with negated score rows, read either way.
    fn model(negated_pair: bool, labels: Arc<Tensor>) -> LinearClassifier {
        let w = [0.5f32, -1.25, 3.0, 0.0];
        let mut coefficients: Vec<f32> = w.iter().map(|v| -v).collect();
        coefficients.extend(w);
        LinearClassifier {
            coefficients,
            intercepts: vec![0.5, -0.5],
            targets: 2,
            features: 4,
            labels,
            post_transform: PostTransform::Logistic,
            negated_pair,
        }
    }

    #[test]
    fn the_negated_pair_path_answers_the_general_paths_bits() {
        // Rows whose score is positive, negative, exactly zero (the
        // intercept cancels the sum) and NaN.
        let rows: Vec<f32> = vec![
            1.0,
            2.0,
            3.0,
            4.0, //
            -1.0,
            0.5,
            -2.0,
            7.0, //
            1.0,
            0.0,
            0.0,
            0.0, //
            0.0,
            0.0,
            0.0,
            0.0, //
            f32::NAN,
            0.0,
            0.0,
            0.0, //
            100.0,
            -100.0,
            50.0,
            1.0,
        ];
        let input = tract_ndarray::Array2::from_shape_vec((6, 4), rows)
            .unwrap()
            .into_tensor()
            .into_tvalue();
        for labels in [
            rctensor1(&[3i64, 7]),
            rctensor1(&["no".to_owned(), "yes".to_owned()]),
        ] {
            let fast = model(true, labels.clone())
                .eval(tvec!(input.clone()))
                .unwrap();
            let general = model(false, labels).eval(tvec!(input.clone())).unwrap();
            assert_eq!(fast[0], general[0], "labels");
            let bits = |t: &TValue| -> Vec<u32> {
                let view = t.try_as_plain_ram().unwrap();
                view.as_slice::<f32>()
                    .unwrap()
                    .iter()
                    .map(|v| v.to_bits())
                    .collect()
            };
            assert_eq!(bits(&fast[1]), bits(&general[1]), "probabilities");
        }
    }
}
