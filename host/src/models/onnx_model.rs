//! One ONNX model: parsed with tract (our ai.onnx.ml operators registered), free
//! input dimensions given symbols, optimized into a runnable plan; and run
//! with inputs checked against its signature first, so a wrong input is an
//! answer, not a tract error deep in a kernel.

use std::collections::{BTreeMap, HashMap};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, OnceLock};

use anyhow::{Context as _, Result, anyhow, bail};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_hir::infer::Factoid as _;

use super::batch_plans::BatchPlans;
use super::manifest::DimSpec;
use super::ml_ops::attributes::node_label;
use super::ml_ops::{KernelOp, SUPPORTED_ML_OPERATORS, register_ml_ops};
use super::short_rows::use_short_row_ops;
use super::small_dense::use_small_dense_layers;
use super::tensor_json::element_type_name;

/// The symbol a free leading dimension gets: the batch, shared by inputs.
const BATCH_SYMBOL: &str = "N";

/// A model input or output: name, element type, shape (dimensions may be
/// symbols such as `N`).
#[derive(Debug, Clone)]
pub struct TensorSignature {
    pub name: String,
    pub datum_type: DatumType,
    pub shape: Vec<Dim>,
}

/// One dimension of a signature. Kept as text, not tract's `TDim`: a
/// symbol's name lives in the model's symbol scope, and reports outlive it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(usize),
    /// A symbol, or an expression of symbols, known only at run time.
    Symbolic(String),
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(n) => write!(f, "{n}"),
            Self::Symbolic(s) => f.write_str(s),
        }
    }
}

impl From<&TDim> for Dim {
    fn from(dim: &TDim) -> Self {
        match dim.to_i64() {
            Ok(n) if n >= 0 => Self::Fixed(n as usize),
            _ => Self::Symbolic(dim.to_string()),
        }
    }
}

impl TensorSignature {
    /// `float32`, `int64`, ...
    pub fn element_type(&self) -> String {
        element_type_name(self.datum_type)
    }

    /// `[N, 4]`.
    pub fn shape_text(&self) -> String {
        format!(
            "[{}]",
            self.shape
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }

    /// `input: float32[N, 4]`.
    pub fn describe(&self) -> String {
        format!(
            "{}: {}{}",
            self.name,
            self.element_type(),
            self.shape_text()
        )
    }
}

/// Why a run did not happen or failed.
#[derive(Debug)]
pub enum RunError {
    /// Wrong input names, element types or shapes.
    InvalidInput(String),
    /// The model failed while running.
    Failed(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidInput(m) | Self::Failed(m) => f.write_str(m),
        }
    }
}

/// A loaded, optimized model.
pub struct OnnxModel {
    /// The plan for any batch size.
    plan: Arc<TypedRunnableModel>,
    /// Plans for the batch sizes a function keeps using (dense models only).
    batch_plans: Option<BatchPlans>,
    pub inputs: Vec<TensorSignature>,
    pub outputs: Vec<TensorSignature>,
    /// How many small-input runs in a row were short (see
    /// `guests::model_calls`, which decides where a guest's run goes).
    pub short_small_runs: AtomicU32,
}

/// tract's ONNX parser with our ai.onnx.ml operators, built once.
fn onnx_parser() -> &'static tract_onnx::Onnx {
    static PARSER: OnceLock<tract_onnx::Onnx> = OnceLock::new();
    PARSER.get_or_init(|| {
        let mut onnx = tract_onnx::onnx();
        register_ml_ops(&mut onnx.op_register);
        onnx
    })
}

impl OnnxModel {
    /// Parses and optimizes a model. `fixed` replaces input shapes (from
    /// `models.toml`); other inputs keep the file's shape with every unknown
    /// dimension made a symbol.
    ///
    /// # Errors
    /// Not an ONNX model, an operator tract cannot run, inconsistent shapes.
    /// A panic inside the parser is turned into an error too: a garbage file
    /// must not take the host down.
    pub fn load(bytes: &[u8], fixed: &BTreeMap<String, Vec<DimSpec>>) -> Result<Self> {
        catch_unwind(AssertUnwindSafe(|| Self::load_unguarded(bytes, fixed))).unwrap_or_else(
            |panic| {
                Err(anyhow!(
                    "the ONNX parser panicked: {}",
                    crate::runtime::invocation::panic_message(&panic)
                ))
            },
        )
    }

    fn load_unguarded(bytes: &[u8], fixed: &BTreeMap<String, Vec<DimSpec>>) -> Result<Self> {
        let proto = onnx_parser()
            .proto_model_for_read(&mut &bytes[..])
            .map_err(|e| anyhow!("{e:#}"))
            .context("not a loadable ONNX model")?;
        refuse_unsupported_operators(&proto)?;
        let mut model = onnx_parser()
            .model_for_proto_model(&proto)
            .map_err(|e| anyhow!("{e:#}"))
            .context("not a loadable ONNX model")?;
        let mut unused: Vec<&String> = fixed.keys().collect();
        for ix in 0..model.inputs.len() {
            let name = model.node(model.inputs[ix].node).name.clone();
            unused.retain(|n| **n != name);
            let fact = model.input_fact(ix).map_err(|e| anyhow!("{e:#}"))?.clone();
            let datum_type = fact
                .datum_type
                .concretize()
                .with_context(|| format!("input `{name}` has no element type"))?;
            let dims = match fixed.get(&name) {
                Some(spec) => fixed_dims(&model.symbols, spec),
                None => free_dims_as_symbols(&model.symbols, &name, &fact)?,
            };
            model
                .set_input_fact(ix, InferenceFact::dt_shape(datum_type, dims))
                .map_err(|e| anyhow!("{e:#}"))?;
        }
        if let Some(name) = unused.first() {
            bail!("models.toml fixes the shape of input `{name}`, which the model does not have");
        }
        let output_names: Vec<String> = model
            .outputs
            .iter()
            .map(|outlet| {
                model
                    .outlet_label(*outlet)
                    .map(str::to_owned)
                    .unwrap_or_else(|| model.node(outlet.node).name.clone())
            })
            .collect();
        let input_names: Vec<String> = model
            .inputs
            .iter()
            .map(|o| model.node(o.node).name.clone())
            .collect();
        let decluttered = model
            .into_typed()
            .and_then(TypedModel::into_decluttered)
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot optimize the model")?;
        let batch_plans = BatchPlans::for_model(&decluttered, BATCH_SYMBOL);
        let mut optimized = decluttered;
        use_small_dense_layers(&mut optimized)
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot optimize the model")?;
        optimized
            .optimize()
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot optimize the model")?;
        use_short_row_ops(&mut optimized)
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot optimize the model")?;
        cast_integer_outputs_to_i64(&mut optimized);
        cast_kernel_inputs_to_i64(&mut optimized);
        let signature = |names: &[String], facts: Vec<&TypedFact>| -> Vec<TensorSignature> {
            names
                .iter()
                .zip(facts)
                .map(|(name, fact)| TensorSignature {
                    name: name.clone(),
                    datum_type: answered_type(fact.datum_type),
                    shape: fact.shape.iter().map(Dim::from).collect(),
                })
                .collect()
        };
        let input_facts = (0..input_names.len())
            .map(|i| optimized.input_fact(i))
            .collect::<TractResult<Vec<_>>>()?;
        let output_facts = (0..output_names.len())
            .map(|i| optimized.output_fact(i))
            .collect::<TractResult<Vec<_>>>()?;
        let inputs = signature(&input_names, input_facts);
        let outputs = signature(&output_names, output_facts);
        let plan = optimized
            .into_runnable()
            .map_err(|e| anyhow!("{e:#}"))
            .context("cannot plan the model")?;
        Ok(Self {
            plan,
            batch_plans,
            inputs,
            outputs,
            short_small_runs: AtomicU32::new(0),
        })
    }

    /// The batch sizes this model has a plan of their own for (see
    /// [`BatchPlans`]); empty for models without dense layers.
    pub fn batch_plan_sizes(&self) -> Vec<usize> {
        self.batch_plans
            .as_ref()
            .map(BatchPlans::sizes)
            .unwrap_or_default()
    }

    /// The same model without plans per batch size: every run on the
    /// general plan (to measure what the plans gain: `batch-sizes` in the
    /// bench crate).
    #[must_use]
    pub fn without_batch_plans(mut self) -> Self {
        self.batch_plans = None;
        self
    }

    /// Runs the model on named inputs; answers every output, by name. A lone
    /// input with an empty name goes to a single-input model's input.
    ///
    /// # Errors
    /// [`RunError::InvalidInput`] for missing, unknown, mistyped or
    /// misshapen inputs; [`RunError::Failed`] if tract fails (or panics).
    pub fn run(&self, mut named: Vec<(String, Tensor)>) -> Result<Vec<(String, Tensor)>, RunError> {
        // One unnamed tensor goes to a single-input model's input (the SDK's
        // row APIs do not know the input's name).
        if let ([(name, _)], [only]) = (named.as_mut_slice(), self.inputs.as_slice())
            && name.is_empty()
        {
            name.clone_from(&only.name);
        }
        let mut ordered = TVec::new();
        let mut bound: HashMap<String, usize> = HashMap::new();
        for signature in &self.inputs {
            let position = named
                .iter()
                .position(|(name, _)| *name == signature.name)
                .ok_or_else(|| {
                    RunError::InvalidInput(format!(
                        "missing input `{}` ({})",
                        signature.name,
                        signature.describe()
                    ))
                })?;
            let (_, tensor) = named.swap_remove(position);
            check_input(signature, &tensor, &mut bound).map_err(RunError::InvalidInput)?;
            ordered.push(tensor.into_tvalue());
        }
        if let Some((name, _)) = named.first() {
            let expected: Vec<&str> = self.inputs.iter().map(|s| s.name.as_str()).collect();
            return Err(RunError::InvalidInput(format!(
                "unknown input `{name}`; the model takes {expected:?}"
            )));
        }
        let batch_plan = self
            .batch_plans
            .as_ref()
            .zip(bound.get(BATCH_SYMBOL))
            .and_then(|(plans, rows)| plans.plan_for(*rows));
        let plan = batch_plan.as_ref().unwrap_or(&self.plan);
        let outputs = catch_unwind(AssertUnwindSafe(|| plan.run(ordered)))
            .map_err(|panic| {
                RunError::Failed(format!(
                    "the model panicked: {}",
                    crate::runtime::invocation::panic_message(&panic)
                ))
            })?
            .map_err(|e| RunError::Failed(format!("{e:#}")))?;
        self.outputs
            .iter()
            .zip(outputs)
            .map(|(signature, value)| {
                let tensor = value.into_tensor();
                if tensor.datum_type() == DatumType::TDim {
                    let ints = tensor
                        .cast_to::<i64>()
                        .map_err(|e| RunError::Failed(format!("{e:#}")))?;
                    return Ok((signature.name.clone(), ints.into_owned()));
                }
                Ok((signature.name.clone(), tensor))
            })
            .collect()
    }
}

/// Names the first node whose operator we do not run, before tract would
/// fail later with a less helpful message (or a stub operator).
fn refuse_unsupported_operators(proto: &tract_onnx::pb::ModelProto) -> Result<()> {
    let Some(graph) = &proto.graph else {
        return Ok(()); // tract says so in its own words
    };
    let register = &onnx_parser().op_register.0;
    for node in &graph.node {
        let name = node_label(node);
        match node.domain.as_str() {
            "ai.onnx.ml" if !SUPPORTED_ML_OPERATORS.contains(&node.op_type.as_str()) => bail!(
                "node `{name}` uses the ai.onnx.ml operator `{}`, which the host does not run; \
                 supported ai.onnx.ml operators: {}",
                node.op_type,
                SUPPORTED_ML_OPERATORS.join(", ")
            ),
            "ai.onnx.ml" => {}
            "" | "ai.onnx" if !register.contains_key(&node.op_type) => bail!(
                "node `{name}` uses the ONNX operator `{}`, which the host's runtime \
                 (tract 0.23) does not run",
                node.op_type
            ),
            "" | "ai.onnx" => {}
            // onnxruntime's tokenizer, which skl2onnx's text vectorizers emit.
            "com.microsoft" if node.op_type == "Tokenizer" => {}
            domain => bail!(
                "node `{name}` uses the operator `{}` of the custom domain `{domain}`, which \
                 the host does not run (only the standard ONNX and ai.onnx.ml operators, and \
                 com.microsoft's Tokenizer)",
                node.op_type
            ),
        }
    }
    Ok(())
}

/// tract computes some integer outputs (an `ArgMax` feeding a label lookup)
/// as symbolic dimensions; they are answered as `int64`, as ONNX declares.
fn answered_type(datum_type: DatumType) -> DatumType {
    if datum_type == DatumType::TDim {
        DatumType::I64
    } else {
        datum_type
    }
}

/// An output that tract computes as symbolic dimensions (`TDim`) by a final
/// `Cast` (skl2onnx's label: `ArgMax`, a lookup, then `Cast` to int64) is
/// cast to `i64` instead, as ONNX declares it: one cast instead of a `TDim`
/// tensor cast again per run (see [`answered_type`]).
pub(crate) fn cast_integer_outputs_to_i64(model: &mut TypedModel) {
    for outlet in model.outputs.clone() {
        let node = &mut model.nodes[outlet.node];
        let is_cast = node.op_is::<Cast>();
        let Some(output) = node.outputs.get_mut(outlet.slot) else {
            continue;
        };
        if is_cast && output.fact.datum_type == DatumType::TDim && output.successors.is_empty() {
            output.fact.datum_type = DatumType::I64;
            node.op = Box::new(Cast { to: DatumType::I64 });
        }
    }
}

/// A `Cast` to int64 that only feeds our own operators casts to `i64`, not
/// to the symbolic dimensions (`TDim`) tract's ONNX `Cast` makes of int64
/// (for shape arithmetic): building one `TDim` per value, and our operator
/// turning them back into numbers, was a quarter of a 1,024-row run of
/// skl2onnx's one-hot pipeline (Cast → OneHotEncoder, twice). Our operators
/// read any numeric input, so nothing else changes.
pub(crate) fn cast_kernel_inputs_to_i64(model: &mut TypedModel) {
    let feeds_only_kernels = |model: &TypedModel, node: usize| {
        let successors = &model.nodes[node].outputs[0].successors;
        !successors.is_empty()
            && successors
                .iter()
                .all(|inlet| model.nodes[inlet.node].op_is::<KernelOp>())
    };
    for id in 0..model.nodes.len() {
        let node = &model.nodes[id];
        let to_dims = node
            .op_as::<Cast>()
            .is_some_and(|cast| cast.to == DatumType::TDim)
            && node.outputs.len() == 1
            && !model.outputs.iter().any(|outlet| outlet.node == id);
        if to_dims && feeds_only_kernels(model, id) {
            let node = &mut model.nodes[id];
            node.op = Box::new(Cast { to: DatumType::I64 });
            node.outputs[0].fact.datum_type = DatumType::I64;
        }
    }
}

/// Checks element type and shape; symbols must take one value per run.
fn check_input(
    signature: &TensorSignature,
    tensor: &Tensor,
    bound: &mut HashMap<String, usize>,
) -> Result<(), String> {
    if tensor.datum_type() != signature.datum_type {
        return Err(format!(
            "input `{}` must be {}, got {}",
            signature.name,
            signature.element_type(),
            element_type_name(tensor.datum_type())
        ));
    }
    let wrong_shape = || {
        format!(
            "input `{}` must have shape {}, got {:?}",
            signature.name,
            signature.shape_text(),
            tensor.shape()
        )
    };
    if tensor.rank() != signature.shape.len() {
        return Err(wrong_shape());
    }
    for (dim, actual) in signature.shape.iter().zip(tensor.shape()) {
        match dim {
            Dim::Fixed(fixed) if fixed != actual => return Err(wrong_shape()),
            Dim::Fixed(_) => {}
            Dim::Symbolic(symbol) => {
                let previous = *bound.entry(symbol.clone()).or_insert(*actual);
                if previous != *actual {
                    return Err(format!(
                        "{}: `{symbol}` is {previous} elsewhere",
                        wrong_shape()
                    ));
                }
            }
        }
    }
    Ok(())
}

fn fixed_dims(symbols: &SymbolScope, spec: &[DimSpec]) -> TVec<TDim> {
    spec.iter()
        .map(|d| match d {
            DimSpec::Fixed(n) => TDim::Val(*n as i64),
            DimSpec::Symbol(s) => symbols.sym(s).to_dim(),
        })
        .collect()
}

/// skl2onnx writes `[None, n]`; stock tract refuses such an input ("Source
/// node without a determined fact"). A free leading dimension becomes the
/// batch symbol `N`, any other a symbol of its own.
fn free_dims_as_symbols(
    symbols: &SymbolScope,
    input: &str,
    fact: &InferenceFact,
) -> Result<TVec<TDim>> {
    if fact.shape.is_open() {
        bail!("input `{input}` has no known rank; fix its shape in models.toml");
    }
    Ok(fact
        .shape
        .dims()
        .enumerate()
        .map(|(axis, dim)| match dim.concretize() {
            Some(known) => known,
            None if axis == 0 => symbols.sym(BATCH_SYMBOL).to_dim(),
            None => symbols.sym(&format!("{}_{axis}", sanitize(input))).to_dim(),
        })
        .collect())
}

fn sanitize(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if cleaned.starts_with(|c: char| c.is_ascii_digit()) {
        format!("d{cleaned}")
    } else {
        cleaned
    }
}
