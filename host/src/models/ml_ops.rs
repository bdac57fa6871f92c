//! The ai.onnx.ml operators scikit-learn exports (through skl2onnx) that
//! tract does not run, or runs differently from onnxruntime: each one a
//! small [`Kernel`] (attributes parsed once at load, a plain loop at run
//! time, onnxruntime's arithmetic), wrapped into a tract operator by
//! [`KernelOp`] and registered in tract's ONNX op registry beside our tree
//! ensembles.
//!
//! Why our own: tract 0.23 has no `Scaler`, `Imputer`, `Binarizer`,
//! `OneHotEncoder`, `LabelEncoder`, `FeatureVectorizer`, `SVMClassifier`,
//! `SVMRegressor` or `ZipMap`, its `ArrayFeatureExtractor` drops an axis
//! onnxruntime keeps, its `LinearClassifier` lays out binary scores
//! differently and lacks two post transforms, its `LinearRegressor` becomes
//! a matrix product its optimiser cannot always fold, and its `Normalizer`
//! divides by the largest absolute value where onnxruntime divides by the
//! largest; no other crate offers them as tract operators.

mod array_feature_extractor;
mod binarizer;
mod feature_vectorizer;
mod imputer;
mod label_encoder;
mod linear_classifier;
mod linear_regressor;
mod linear_scores;
mod normalizer;
mod one_hot_encoder;
mod scaler;
mod svm;
mod zipmap;

use std::fmt::Debug;
use std::sync::Arc;

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use super::tree_ops::register_tree_ensembles;

/// Every ai.onnx.ml operator a model may use, for the message that refuses
/// a model using another one. tract's own: `CategoryMapper`.
pub const SUPPORTED_ML_OPERATORS: &[&str] = &[
    "ArrayFeatureExtractor",
    "Binarizer",
    "CategoryMapper",
    "FeatureVectorizer",
    "Imputer",
    "LabelEncoder",
    "LinearClassifier",
    "LinearRegressor",
    "Normalizer",
    "OneHotEncoder",
    "SVMClassifier",
    "SVMRegressor",
    "Scaler",
    "TreeEnsemble",
    "TreeEnsembleClassifier",
    "TreeEnsembleRegressor",
    "ZipMap",
];

/// Puts our ai.onnx.ml operators into `register` (replacing tract's where
/// it has one).
pub fn register_ml_ops(register: &mut OnnxOpRegister) {
    register_tree_ensembles(register);
    register.insert("ArrayFeatureExtractor", array_feature_extractor::from_node);
    register.insert("LinearClassifier", linear_classifier::from_node);
    register.insert("LinearRegressor", linear_regressor::from_node);
    register.insert("Normalizer", normalizer::from_node);
    register.insert("Scaler", scaler::from_node);
    register.insert("Imputer", imputer::from_node);
    register.insert("Binarizer", binarizer::from_node);
    register.insert("OneHotEncoder", one_hot_encoder::from_node);
    register.insert("LabelEncoder", label_encoder::from_node);
    register.insert("FeatureVectorizer", feature_vectorizer::from_node);
    register.insert("SVMClassifier", svm::classifier_from_node);
    register.insert("SVMRegressor", svm::regressor_from_node);
    register.insert("ZipMap", zipmap::from_node);
    register.insert(
        "TfIdfVectorizer",
        super::text_ops::tfidf_vectorizer::from_node,
    );
    register.insert(
        "StringNormalizer",
        super::text_ops::string_normalizer::from_node,
    );
    register.insert("Tokenizer", super::text_ops::tokenizer::from_node);
    register.insert("Flatten", super::text_ops::flatten::from_node);
}

/// The element type and shape of one input or output.
pub(crate) type FactShape = (DatumType, TVec<TDim>);

/// One operator's computation: what it answers for given inputs, and the
/// element types and shapes of its outputs.
pub(crate) trait Kernel: Debug + Send + Sync + 'static {
    /// The ONNX operator name.
    fn name(&self) -> &'static str;
    /// `None` for any number of inputs.
    fn n_inputs(&self) -> Option<usize> {
        Some(1)
    }
    fn n_outputs(&self) -> usize {
        1
    }
    /// Output types and shapes from the inputs' (shapes may be symbolic).
    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>>;
    /// Checks the attributes against the first input's column count (its
    /// last axis): at load when the model fixes that axis, so a damaged
    /// table is refused there, and again on every run.
    fn check_columns(&self, _columns: usize) -> TractResult<()> {
        Ok(())
    }
    /// Checks the inputs as the model wires them (constants included), at
    /// load.
    fn check_wiring(&self, _inputs: &[&TypedFact]) -> TractResult<()> {
        Ok(())
    }
    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>>;
}

/// A [`Kernel`] as a tract operator (inference rules, typed op, evaluation).
#[derive(Debug, Clone)]
pub(crate) struct KernelOp(Arc<dyn Kernel>);

impl KernelOp {
    /// Output facts, after checking the columns when the shape fixes them.
    fn facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        if let Some(columns) = inputs
            .first()
            .and_then(|(_, shape)| shape.last())
            .and_then(|last| last.to_usize().ok())
        {
            self.0.check_columns(columns)?;
        }
        self.0.output_facts(inputs)
    }
}

/// The op builder's answer for `kernel`.
pub(crate) fn expand_kernel(
    kernel: impl Kernel,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((expand(KernelOp(Arc::new(kernel))), vec![]))
}

// Operators must be comparable; two are the same only if they share their
// parsed attributes (comparing float tables would be wasted work).
impl PartialEq for KernelOp {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
impl Eq for KernelOp {}

impl Op for KernelOp {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    op_as_typed_op!();
}

impl EvalOp for KernelOp {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        super::vector_state::clear_upper_vector_state();
        if let Some(columns) = inputs.first().and_then(|input| input.shape().last()) {
            self.0.check_columns(*columns)?;
        }
        self.0.eval(inputs)
    }
}

impl TypedOp for KernelOp {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let inputs: Vec<FactShape> = inputs
            .iter()
            .map(|fact| (fact.datum_type, fact.shape.to_tvec()))
            .collect();
        Ok(self
            .facts(&inputs)?
            .into_iter()
            .map(|(datum_type, shape)| TypedFact::dt_shape(datum_type, shape))
            .collect())
    }

    as_op!();
}

impl Expansion for KernelOp {
    fn name(&self) -> StaticName {
        self.0.name().into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.0.n_outputs())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        if let Some(arity) = self.0.n_inputs() {
            check_input_arity(inputs, arity)?;
        }
        check_output_arity(outputs, self.0.n_outputs())?;
        s.given_all(inputs.iter().map(|i| &i.datum_type), move |s, types| {
            s.given_all(inputs.iter().map(|i| &i.shape), move |s, shapes| {
                let facts: Vec<FactShape> = types.iter().copied().zip(shapes).collect();
                for (output, (datum_type, shape)) in outputs.iter().zip(self.facts(&facts)?) {
                    s.equals(&output.datum_type, datum_type)?;
                    s.equals(&output.shape, ShapeFactoid::from(shape))?;
                }
                Ok(())
            })
        })
    }

    fn wire(
        &self,
        prefix: &str,
        model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        let facts = inputs
            .iter()
            .map(|outlet| model.outlet_fact(*outlet))
            .collect::<TractResult<Vec<_>>>()?;
        self.0.check_wiring(&facts)?;
        model.wire_node(prefix, self.clone(), inputs)
    }
}

/// Attribute helpers shared by the kernels.
pub(crate) mod attributes {
    use super::*;

    pub fn floats(node: &NodeProto, name: &str) -> TractResult<Option<Vec<f32>>> {
        node.get_attr_opt_vec::<f32>(name)
    }

    pub fn ints(node: &NodeProto, name: &str) -> TractResult<Option<Vec<i64>>> {
        node.get_attr_opt_vec::<i64>(name)
    }

    /// The node's name, or its first output's for an unnamed node.
    pub fn node_label(node: &NodeProto) -> &str {
        if node.name.is_empty() {
            node.output.first().map_or("(unnamed)", String::as_str)
        } else {
            &node.name
        }
    }

    /// `OpType `name``, for attribute errors.
    pub fn context(node: &NodeProto) -> String {
        format!("{} `{}`", node.op_type, node_label(node))
    }

    /// A per-column table (one value for every column, or one per column)
    /// checked against the last axis at run time.
    pub fn per_column(values: &[f32], column: usize) -> f32 {
        if values.len() == 1 {
            values[0]
        } else {
            values[column]
        }
    }
}

/// An input's values as f32 (any numeric type), with its shape.
pub(crate) struct Values {
    pub data: Vec<f32>,
    pub shape: Vec<usize>,
}

impl Values {
    pub fn of(input: &TValue, op: &str) -> TractResult<Self> {
        ensure!(
            input.rank() >= 1,
            "{op}: the input must have at least one axis"
        );
        let floats = input.cast_to::<f32>()?;
        let data = floats.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        Ok(Self {
            data,
            shape: input.shape().to_vec(),
        })
    }

    /// The length of the last axis.
    pub fn columns(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Rows as slices of the last axis.
    pub fn rows(&self) -> impl Iterator<Item = &[f32]> {
        self.data.chunks(self.columns().max(1))
    }

    pub fn into_tvalue(self) -> TractResult<TValue> {
        Ok(Tensor::from_shape(&self.shape, &self.data)?.into_tvalue())
    }
}

/// Runs `change` on the input's values as f32 (`[N, F]` or `[F]`, any
/// numeric type), given the length of the last axis, and returns them.
///
/// Why not `Values`: an f32 input that no other node reads is changed in its
/// own buffer, where `Values` copies it in and out (for a 1,024-row batch of
/// TF-IDF features, two copies of 1.9 MB and their page faults).
pub(crate) fn f32_in_place(
    input: TValue,
    op: &str,
    change: impl FnOnce(&mut [f32], usize) -> TractResult<()>,
) -> TractResult<TValue> {
    ensure!(
        input.rank() >= 1,
        "{op}: the input must have at least one axis"
    );
    let mut tensor = if input.datum_type() == f32::datum_type() {
        input.into_tensor()
    } else {
        input.cast_to::<f32>()?.into_owned()
    };
    let columns = tensor.shape().last().copied().unwrap_or(1);
    change(
        tensor.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
        columns,
    )?;
    Ok(tensor.into_tvalue())
}

/// The rows of a `[N, F]` input, or 1 for a lone `[F]` row.
pub(crate) fn rows_dim(shape: &[TDim]) -> TDim {
    if shape.len() == 1 {
        1.to_dim()
    } else {
        shape[0].clone()
    }
}

/// Checks the input's column count against the model's feature count.
pub(crate) fn check_features(op: &str, columns: usize, features: usize) -> TractResult<()> {
    ensure!(
        columns == features,
        "{op}: the input has {columns} features, the model {features}"
    );
    Ok(())
}

/// Checks a per-column table's length against the input's column count.
pub(crate) fn check_per_column(
    op: &str,
    what: &str,
    table: usize,
    columns: usize,
) -> TractResult<()> {
    ensure!(
        table == 1 || table == columns,
        "{op}: {what} has {table} values for {columns} columns (must be 1 or {columns})"
    );
    Ok(())
}
