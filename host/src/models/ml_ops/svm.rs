//! `SVMClassifier` and `SVMRegressor` (SVC, NuSVC, SVR, NuSVR, OneClassSVM;
//! linear, poly, rbf and sigmoid kernels), computed the way onnxruntime
//! computes them: one-vs-one votes choose the label, probabilities come
//! from Platt scaling of each pair and libsvm's pairwise coupling, and the
//! binary cases write their second score column as onnxruntime does.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::attributes::{context, floats, ints};
use super::{FactShape, Kernel, Values, check_features, expand_kernel, rows_dim};
use crate::models::forest::{PostTransform, apply_post_transform, probit};
use crate::models::vector_logistic::logistic;

/// The kernel function between an input row and a support vector.
#[derive(Debug, Clone, Copy, PartialEq)]
enum KernelFunction {
    Linear,
    Poly { gamma: f32, coef0: f32, degree: f32 },
    Rbf { gamma: f32 },
    Sigmoid { gamma: f32, coef0: f32 },
}

impl KernelFunction {
    fn parse(node: &NodeProto) -> TractResult<Self> {
        let params = floats(node, "kernel_params")?.unwrap_or_default();
        let param = |i: usize| params.get(i).copied().unwrap_or(0.0);
        let (gamma, coef0, degree) = (param(0), param(1), param(2));
        Ok(
            match node
                .get_attr_opt::<String>("kernel_type")?
                .as_deref()
                .unwrap_or("LINEAR")
            {
                "LINEAR" => Self::Linear,
                "POLY" => Self::Poly {
                    gamma,
                    coef0,
                    degree,
                },
                "RBF" => Self::Rbf { gamma },
                "SIGMOID" => Self::Sigmoid { gamma, coef0 },
                other => bail!("{}: unknown kernel_type {other}", context(node)),
            },
        )
    }

    fn apply(self, x: &[f32], v: &[f32]) -> f32 {
        let dot = || x.iter().zip(v).map(|(a, b)| a * b).sum::<f32>();
        match self {
            Self::Linear => dot(),
            Self::Poly {
                gamma,
                coef0,
                degree,
            } => {
                let base = gamma * dot() + coef0;
                match degree {
                    2.0 => base * base,
                    3.0 => base * base * base,
                    _ => base.powf(degree),
                }
            }
            Self::Rbf { gamma } => {
                let distance: f32 = x.iter().zip(v).map(|(a, b)| (a - b) * (a - b)).sum();
                (-gamma * distance).exp()
            }
            Self::Sigmoid { gamma, coef0 } => (gamma * dot() + coef0).tanh(),
        }
    }
}

/// Platt scaling of one pair's decision value (libsvm's sigmoid_predict).
fn pair_probability(score: f32, a: f32, b: f32) -> f32 {
    1.0 - logistic(score * a + b)
}

/// libsvm's pairwise coupling (Wu, Lin and Weng 2004, method 2) as
/// onnxruntime runs it in f32: `r[i][j]` is P(i | i or j), answered are the
/// class probabilities.
fn couple(classes: usize, r: &[f32]) -> Vec<f32> {
    let k = classes;
    let mut q = vec![0f32; k * k];
    let mut qp = vec![0f32; k];
    let mut p = vec![1.0 / k as f32; k];
    let eps = 0.005 / k as f32;
    for i in 0..k {
        for j in 0..i {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = q[j * k + i];
        }
        for j in i + 1..k {
            q[i * k + i] += r[j * k + i] * r[j * k + i];
            q[i * k + j] = -r[j * k + i] * r[i * k + j];
        }
    }
    for _ in 0..100 {
        let mut pqp = 0f32;
        for i in 0..k {
            qp[i] = (0..k).map(|j| q[i * k + j] * p[j]).sum();
            pqp += p[i] * qp[i];
        }
        let max_error = qp.iter().map(|v| (v - pqp).abs()).fold(0f32, f32::max);
        if max_error < eps {
            break;
        }
        for i in 0..k {
            let diff = (-qp[i] + pqp) / q[i * k + i];
            p[i] += diff;
            pqp = (pqp + diff * (diff * q[i * k + i] + 2.0 * qp[i])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[i * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
    p
}

/// Index of the first largest value.
fn first_max<T: PartialOrd + Copy>(values: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}

/// The support vectors of a kernel SVM, row-major.
#[derive(Debug)]
struct SupportVectors {
    vectors: Vec<f32>,
    count: usize,
}

impl SupportVectors {
    fn kernels(&self, kernel: KernelFunction, row: &[f32]) -> Vec<f32> {
        self.vectors
            .chunks(row.len().max(1))
            .take(self.count)
            .map(|v| kernel.apply(row, v))
            .collect()
    }
}

/// How the classifier scores a row.
#[derive(Debug)]
enum ClassifierMode {
    /// liblinear: one coefficient row per class, `rho[0]` added to each.
    Linear { coefficients: Vec<f32> },
    /// libsvm: one-vs-one over support vectors grouped by class.
    Svc {
        support: SupportVectors,
        starts: Vec<usize>,
        per_class: Vec<usize>,
        /// Platt scaling per pair, if the model gives probabilities.
        probabilities: Option<(Vec<f32>, Vec<f32>)>,
    },
}

#[derive(Debug)]
struct SvmClassifier {
    kernel: KernelFunction,
    mode: ClassifierMode,
    /// `[classes - 1, support vectors]` for SVC.
    coefficients: Vec<f32>,
    rho: Vec<f32>,
    labels: Arc<Tensor>,
    classes: usize,
    features: usize,
    weights_are_all_positive: bool,
    post_transform: PostTransform,
}

fn labels(node: &NodeProto) -> TractResult<Arc<Tensor>> {
    match (
        ints(node, "classlabels_ints")?,
        node.get_attr_opt_vec::<String>("classlabels_strings")?,
    ) {
        (Some(ints), None) => Ok(rctensor1(&ints)),
        (None, Some(strings)) => Ok(rctensor1(&strings)),
        _ => bail!(
            "{}: exactly one of classlabels_ints and classlabels_strings must be set",
            context(node)
        ),
    }
}

fn post_transform(node: &NodeProto) -> TractResult<PostTransform> {
    PostTransform::parse(node.get_attr_opt("post_transform")?.unwrap_or("NONE"))
}

/// The support vectors, `count` rows of equal length.
fn support_vectors(node: &NodeProto, count: usize) -> TractResult<Vec<f32>> {
    let vectors = floats(node, "support_vectors")?.unwrap_or_default();
    ensure!(
        !vectors.is_empty() && vectors.len() % count == 0,
        "{}: {} support vector values for {count} support vectors",
        context(node),
        vectors.len()
    );
    Ok(vectors)
}

/// Support vector counts must be non-negative and bounded (they size
/// every row's work).
fn count(node: &NodeProto, value: i64, what: &str) -> TractResult<usize> {
    ensure!(
        (0..=1 << 24).contains(&value),
        "{}: {what} must be in 0..=16777216, got {value}",
        context(node)
    );
    Ok(value as usize)
}

pub fn classifier_from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let labels = labels(node)?;
    let classes = labels.len();
    let at = context(node);
    ensure!(
        (2..65536).contains(&classes),
        "{at}: needs 2 to 65535 class labels, got {classes}"
    );
    let coefficients = floats(node, "coefficients")?.unwrap_or_default();
    let rho = floats(node, "rho")?.unwrap_or_default();
    ensure!(!coefficients.is_empty(), "{at}: coefficients are empty");
    ensure!(!rho.is_empty(), "{at}: rho is empty");
    let per_class = ints(node, "vectors_per_class")?
        .unwrap_or_default()
        .into_iter()
        .map(|n| count(node, n, "vectors_per_class"))
        .collect::<TractResult<Vec<_>>>()?;
    let vector_count: usize = per_class.iter().sum();
    let prob_a = floats(node, "prob_a")?.unwrap_or_default();
    let prob_b = floats(node, "prob_b")?.unwrap_or_default();
    ensure!(
        prob_a.len() == prob_b.len(),
        "{at}: prob_a and prob_b differ in length"
    );
    let pairs = classes * (classes - 1) / 2;
    let (kernel, mode, features) = if vector_count > 0 {
        ensure!(
            per_class.len() == classes,
            "{at}: vectors_per_class has {} entries for {classes} classes",
            per_class.len()
        );
        let vectors = support_vectors(node, vector_count)?;
        ensure!(
            coefficients.len() >= (classes - 1) * vector_count,
            "{at}: {} coefficients, expected {}",
            coefficients.len(),
            (classes - 1) * vector_count
        );
        ensure!(
            rho.len() >= pairs,
            "{at}: rho has {} values for {pairs} class pairs",
            rho.len()
        );
        ensure!(
            prob_a.is_empty() || prob_a.len() >= pairs,
            "{at}: prob_a has {} values for {pairs} class pairs",
            prob_a.len()
        );
        let features = vectors.len() / vector_count;
        let starts = per_class
            .iter()
            .scan(0, |start, n| {
                let this = *start;
                *start += n;
                Some(this)
            })
            .collect();
        let mode = ClassifierMode::Svc {
            support: SupportVectors {
                vectors,
                count: vector_count,
            },
            starts,
            per_class,
            probabilities: (!prob_a.is_empty()).then_some((prob_a, prob_b)),
        };
        (KernelFunction::parse(node)?, mode, features)
    } else {
        ensure!(
            coefficients.len() % classes == 0,
            "{at}: {} coefficients for {classes} classes",
            coefficients.len()
        );
        let features = coefficients.len() / classes;
        let mode = ClassifierMode::Linear {
            coefficients: coefficients.clone(),
        };
        (KernelFunction::Linear, mode, features)
    };
    expand_kernel(SvmClassifier {
        kernel,
        mode,
        weights_are_all_positive: coefficients.iter().all(|c| *c >= 0.0),
        coefficients,
        rho,
        labels,
        classes,
        features,
        post_transform: post_transform(node)?,
    })
}

impl SvmClassifier {
    fn scores_per_row(&self) -> usize {
        match &self.mode {
            ClassifierMode::Svc {
                probabilities: None,
                ..
            } if self.classes > 2 => self.classes * (self.classes - 1) / 2,
            ClassifierMode::Svc {
                probabilities: None,
                ..
            } => 2,
            _ => self.classes,
        }
    }

    /// One row: the chosen label's index and the row's scores (before the
    /// post transform).
    fn score_row(&self, row: &[f32]) -> (usize, Vec<f32>) {
        match &self.mode {
            ClassifierMode::Linear { coefficients } => {
                let scores: Vec<f32> = coefficients
                    .chunks(self.features.max(1))
                    .map(|c| KernelFunction::Linear.apply(row, c) + self.rho[0])
                    .collect();
                let best = first_max(&scores);
                let label = if self.classes == 2 {
                    let max_weight = scores[best];
                    if (self.weights_are_all_positive && max_weight >= 0.5)
                        || (max_weight > 0.0 && !self.weights_are_all_positive)
                    {
                        1
                    } else {
                        best
                    }
                } else {
                    best
                };
                (label, scores)
            }
            ClassifierMode::Svc {
                support,
                starts,
                per_class,
                probabilities,
            } => {
                let kernels = support.kernels(self.kernel, row);
                let vectors = support.count;
                let mut votes = vec![0u32; self.classes];
                let mut pair_scores = Vec::with_capacity(self.classes * (self.classes - 1) / 2);
                for i in 0..self.classes - 1 {
                    for j in i + 1..self.classes {
                        let side = |class: usize, coefficient_row: usize| -> f64 {
                            let from = coefficient_row * vectors + starts[class];
                            let coefficients = &self.coefficients[from..from + per_class[class]];
                            let kernels = &kernels[starts[class]..starts[class] + per_class[class]];
                            coefficients
                                .iter()
                                .zip(kernels)
                                .map(|(c, k)| f64::from(*c * *k))
                                .sum()
                        };
                        let pair = pair_scores.len();
                        let sum = side(i, j - 1) + side(j, i) + f64::from(self.rho[pair]);
                        votes[if sum > 0.0 { i } else { j }] += 1;
                        pair_scores.push(sum as f32);
                    }
                }
                let label = first_max(&votes);
                let scores = match probabilities {
                    None => pair_scores,
                    Some((a, b)) => {
                        let k = self.classes;
                        let mut pairwise = vec![0f32; k * k];
                        let mut pair = 0;
                        for i in 0..k - 1 {
                            for j in i + 1..k {
                                let p = pair_probability(pair_scores[pair], a[pair], b[pair])
                                    .clamp(1e-7, 1.0 - 1e-7);
                                pairwise[i * k + j] = p;
                                pairwise[j * k + i] = 1.0 - p;
                                pair += 1;
                            }
                        }
                        couple(k, &pairwise)
                    }
                };
                (label, scores)
            }
        }
    }

    /// onnxruntime's post transform, including its binary second column.
    fn finish_scores(&self, mut scores: Vec<f32>) -> Vec<f32> {
        if scores.len() == 1 {
            let s = scores[0];
            return match self.post_transform {
                PostTransform::Probit => vec![probit(s), 0.0],
                PostTransform::None => vec![-s, s],
                PostTransform::Logistic => {
                    let p = logistic(s);
                    vec![1.0 - p, p]
                }
                _ => vec![1.0 - s, s],
            };
        }
        apply_post_transform(&mut scores, self.post_transform);
        scores
    }
}

impl Kernel for SvmClassifier {
    fn name(&self) -> &'static str {
        "SVMClassifier"
    }

    fn n_outputs(&self) -> usize {
        2
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let rows = rows_dim(&inputs[0].1);
        Ok(tvec!(
            (self.labels.datum_type(), tvec![rows.clone()]),
            (
                f32::datum_type(),
                tvec![rows, self.scores_per_row().to_dim()]
            )
        ))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        check_features(self.name(), columns, self.features)
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let values = Values::of(&inputs[0], self.name())?;
        let width = self.scores_per_row();
        let mut chosen = Vec::new();
        let mut all_scores = Vec::new();
        for row in values.rows() {
            let (label, scores) = self.score_row(row);
            let scores = self.finish_scores(scores);
            debug_assert_eq!(scores.len(), width);
            chosen.push(label);
            all_scores.extend(scores);
        }
        let n = chosen.len();
        let labels = pick_labels(&self.labels, &chosen)?;
        let scores = Tensor::from_shape(&[n, width], &all_scores)?;
        Ok(tvec!(labels.into_tvalue(), scores.into_tvalue()))
    }
}

pub(super) fn pick_labels(labels: &Tensor, chosen: &[usize]) -> TractResult<Tensor> {
    let view = labels.try_as_plain_ram()?;
    if labels.datum_type() == i64::datum_type() {
        let all = view.as_slice::<i64>()?;
        Ok(tensor1(&chosen.iter().map(|&i| all[i]).collect::<Vec<_>>()))
    } else {
        let all = view.as_slice::<String>()?;
        Ok(tensor1(
            &chosen.iter().map(|&i| all[i].clone()).collect::<Vec<_>>(),
        ))
    }
}

#[derive(Debug)]
struct SvmRegressor {
    kernel: KernelFunction,
    /// `None`: linear mode, `coefficients` are one weight per feature.
    support: Option<SupportVectors>,
    coefficients: Vec<f32>,
    rho: f32,
    features: usize,
    one_class: bool,
}

pub fn regressor_from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let at = context(node);
    let coefficients = floats(node, "coefficients")?.unwrap_or_default();
    let rho = floats(node, "rho")?.unwrap_or_default();
    ensure!(!coefficients.is_empty(), "{at}: coefficients are empty");
    ensure!(!rho.is_empty(), "{at}: rho is empty");
    let vector_count = count(
        node,
        node.get_attr_opt("n_supports")?.unwrap_or(0),
        "n_supports",
    )?;
    let one_class = node.get_attr_opt::<i64>("one_class")?.unwrap_or(0) != 0;
    let (kernel, support, features) = if vector_count > 0 {
        let vectors = support_vectors(node, vector_count)?;
        ensure!(
            coefficients.len() >= vector_count,
            "{at}: {} coefficients for {vector_count} support vectors",
            coefficients.len()
        );
        let features = vectors.len() / vector_count;
        let support = SupportVectors {
            vectors,
            count: vector_count,
        };
        (KernelFunction::parse(node)?, Some(support), features)
    } else {
        (KernelFunction::Linear, None, coefficients.len())
    };
    expand_kernel(SvmRegressor {
        kernel,
        support,
        coefficients,
        rho: rho[0],
        features,
        one_class,
    })
}

impl Kernel for SvmRegressor {
    fn name(&self) -> &'static str {
        "SVMRegressor"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        Ok(tvec!((
            f32::datum_type(),
            tvec![rows_dim(&inputs[0].1), 1.to_dim()]
        )))
    }

    fn check_columns(&self, columns: usize) -> TractResult<()> {
        check_features(self.name(), columns, self.features)
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let values = Values::of(&inputs[0], self.name())?;
        let predictions: Vec<f32> = values
            .rows()
            .map(|row| {
                let raw = match &self.support {
                    Some(support) => {
                        let kernels = support.kernels(self.kernel, row);
                        kernels
                            .iter()
                            .zip(&self.coefficients)
                            .map(|(k, c)| k * c)
                            .sum::<f32>()
                            + self.rho
                    }
                    None => KernelFunction::Linear.apply(row, &self.coefficients) + self.rho,
                };
                match (self.one_class, raw > 0.0) {
                    (false, _) => raw,
                    (true, true) => 1.0,
                    (true, false) => -1.0,
                }
            })
            .collect();
        let n = predictions.len();
        Ok(tvec!(
            Tensor::from_shape(&[n, 1], &predictions)?.into_tvalue()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coupling_two_classes_answers_the_pair_probability() {
        let p = couple(2, &[0.0, 0.8, 0.2, 0.0]);
        assert!(
            (p[0] - 0.8).abs() < 1e-3 && (p[1] - 0.2).abs() < 1e-3,
            "{p:?}"
        );
    }

    #[test]
    fn coupling_sums_to_one() {
        let r = [0.0, 0.7, 0.6, 0.3, 0.0, 0.4, 0.4, 0.6, 0.0];
        let p = couple(3, &r);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-4, "{p:?}");
        assert!(p[0] > p[1] && p[0] > p[2], "{p:?}");
    }

    #[test]
    fn kernels_match_their_formulas() {
        let (x, v) = ([1.0, 2.0], [3.0, -1.0]);
        assert_eq!(KernelFunction::Linear.apply(&x, &v), 1.0);
        let rbf = KernelFunction::Rbf { gamma: 0.5 };
        assert!((rbf.apply(&x, &v) - (-0.5f32 * 13.0).exp()).abs() < 1e-9);
        let poly = KernelFunction::Poly {
            gamma: 2.0,
            coef0: 1.0,
            degree: 3.0,
        };
        assert_eq!(poly.apply(&x, &v), 27.0);
        let sigmoid = KernelFunction::Sigmoid {
            gamma: 1.0,
            coef0: 0.0,
        };
        assert!((sigmoid.apply(&x, &v) - 1f32.tanh()).abs() < 1e-7);
    }
}
