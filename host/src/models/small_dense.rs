//! Small dense layers (a scikit-learn MLP's, a small network's `Gemm`s):
//! the whole chain of `x·W + b` layers, each with or without a ReLU, run as
//! one op, row after row, with plain loops over weights that stay in L1.
//!
//! Why our own: tract plans every layer as a packing op plus a matrix
//! multiply built for large matrices (packed panels, scratch space, tiles
//! 16 to 64 lanes wide, an `ndarray` index walk per call). For the 3-class
//! MLP (8 → 16 → 8 → 3, 280 multiply-adds a row) a single row spent ~4.5 of
//! its ~6 µs in that set-up, and the arithmetic was 6.5 % of the run
//! (BENCHMARKS.md, "Models against onnxruntime", and its history). Here a
//! row costs its multiply-adds and one output allocation per call.
//!
//! Rows go four at a time, so their chains of multiply-adds overlap: the op
//! keeps up with tract's kernels on large batches too (1,024 rows: 51 µs,
//! tract's plan for that size 59 µs), so a model made only of such layers
//! needs no plan per batch size; a model with a larger layer gets plans
//! ([`super::batch_plans::BatchPlans`]), in which its small layers are
//! fused too.
//!
//! The rewrite runs on the decluttered graph, before tract's optimizer. A
//! layer is an `EinSum` of the chain's value (`[rows, k]`, f32) with a
//! constant `[k, n]` (`mk,kn->mn`) or `[n, k]` (`mk,nk->mn`, as `Gemm` with
//! `transB` declutters) matrix, then optionally an `Add` of a constant
//! `[1, n]` bias and a `Max` with a constant 0 (ReLU), each the only
//! consumer of the value before it. Layers of at most
//! [`MAX_LAYER_WEIGHTS`] weights are fused; anything else stays tract's
//! (so does a batch fixed at one row in `models.toml`: tract then drops
//! the row axis, and the layers no longer have this shape).

use std::collections::HashSet;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::{BinMiniOp, TypedBinOp};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::{Add, Max};
use tract_onnx::tract_hir::internal::*;

use super::vector_state::clear_upper_vector_state;

/// The largest layer fused, in weights (64 KiB of f32): beyond it a batch
/// is better served by tract's blocked kernels.
pub const MAX_LAYER_WEIGHTS: usize = 16 * 1024;

/// Outputs are computed this many at a time, in registers (one AVX
/// register, two SSE ones); layers are padded to a multiple of it.
const LANES: usize = 8;

/// Rows computed together: independent chains of multiply-adds.
const ROWS: usize = 4;

/// One fused layer: `out = max(x·W + b, 0 if relu)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Layer {
    inputs: usize,
    outputs: usize,
    /// `outputs` rounded up to [`LANES`].
    padded: usize,
    /// `[inputs, padded]`, row-major, zeros past `outputs`: input `k`'s
    /// weights for a block of outputs are contiguous.
    weights: Arc<Tensor>,
    /// `[padded]` (zeros without a bias, and past `outputs`).
    bias: Arc<Tensor>,
    relu: bool,
}

/// A chain of small dense layers over `[rows, k]` f32 rows.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SmallDenseLayers {
    layers: Vec<Layer>,
}

impl SmallDenseLayers {
    /// Each layer's weights and bias as slices.
    fn parameters(&self) -> TractResult<Vec<(&[f32], &[f32])>> {
        self.layers
            .iter()
            .map(|l| {
                Ok((
                    l.weights.try_as_plain_ram()?.as_slice::<f32>()?,
                    l.bias.try_as_plain_ram()?.as_slice::<f32>()?,
                ))
            })
            .collect()
    }

    /// Scratch for [`run_rows`]: two blocks of [`ROWS`] rows of the widest
    /// layer.
    fn scratch(&self) -> Vec<f32> {
        let widest = self.layers.iter().map(|l| l.padded).max().unwrap_or(0);
        vec![0f32; 2 * ROWS * widest]
    }
}

impl Op for SmallDenseLayers {
    fn name(&self) -> StaticName {
        "SmallDenseLayers".into()
    }

    op_as_typed_op!();
}

impl EvalOp for SmallDenseLayers {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        clear_upper_vector_state();
        let input = args_1!(inputs);
        let (Some(first), Some(last)) = (self.layers.first(), self.layers.last()) else {
            bail!("SmallDenseLayers without layers");
        };
        ensure!(
            input.rank() == 2 && input.shape()[1] == first.inputs,
            "SmallDenseLayers: input of shape {:?}, expected [rows, {}]",
            input.shape(),
            first.inputs
        );
        let rows = input.shape()[0];
        // A tract tensor is one dense row-major buffer: its plain slice is
        // the rows in order.
        let plain = input.try_as_plain_ram()?;
        let x = plain.as_slice::<f32>()?;
        let parameters = self.parameters()?;
        let mut output = Tensor::zero::<f32>(&[rows, last.outputs])?;
        run_rows(
            &self.layers,
            &parameters,
            x,
            output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?,
            &mut self.scratch(),
        );
        Ok(tvec!(output.into_tvalue()))
    }
}

/// Runs every row through the layers. With AVX2 and FMA (every x86 CPU
/// Lambda runs on) each block of outputs is one 8-lane register and each
/// step one fused multiply-add; the portable loops are for other CPUs (the
/// host is built for the x86-64 baseline: 4-lane SSE, separate multiplies
/// and adds).
fn run_rows(
    layers: &[Layer],
    parameters: &[(&[f32], &[f32])],
    x: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU has AVX2 and FMA (checked above).
        return unsafe { avx2::run_rows(layers, parameters, x, out, scratch) };
    }
    run_rows_with(
        layers,
        parameters,
        x,
        out,
        scratch,
        (dense_portable::<ROWS>, dense_portable::<1>),
    );
}

/// The signature of one layer's kernel over `R` rows (see
/// [`dense_portable`]).
type DenseKernel<const R: usize> = fn((&[f32], usize), &Layer, &[f32], &[f32], (&mut [f32], usize));

/// Rows go through the layers [`ROWS`] at a time (the rest one by one) in
/// two scratch blocks, each layer reading one and writing the other; the
/// last one's outputs are the output rows.
#[inline(always)]
fn run_rows_with(
    layers: &[Layer],
    parameters: &[(&[f32], &[f32])],
    x: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    kernels: (DenseKernel<ROWS>, DenseKernel<1>),
) {
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return;
    };
    let grouped = x.len() / first.inputs / ROWS * ROWS;
    let (x_grouped, x_rest) = x.split_at(grouped * first.inputs);
    let (out_grouped, out_rest) = out.split_at_mut(grouped * last.outputs);
    for (rows, out_rows) in x_grouped
        .chunks_exact(first.inputs * ROWS)
        .zip(out_grouped.chunks_exact_mut(last.outputs * ROWS))
    {
        run_group::<ROWS>(layers, parameters, rows, out_rows, scratch, kernels.0);
    }
    for (row, out_row) in x_rest
        .chunks_exact(first.inputs)
        .zip(out_rest.chunks_exact_mut(last.outputs))
    {
        run_group::<1>(layers, parameters, row, out_row, scratch, kernels.1);
    }
}

/// `R` rows (`x`, row-major) through every layer into `out` (row-major).
#[inline(always)]
fn run_group<const R: usize>(
    layers: &[Layer],
    parameters: &[(&[f32], &[f32])],
    x: &[f32],
    out: &mut [f32],
    scratch: &mut [f32],
    dense: DenseKernel<R>,
) {
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return;
    };
    // Each scratch half holds R rows of the widest (padded) layer.
    let stride = scratch.len() / 2 / ROWS;
    let (even, odd) = scratch.split_at_mut(scratch.len() / 2);
    for (index, (layer, (weights, bias))) in layers.iter().zip(parameters).enumerate() {
        let (source, source_stride, target): (&[f32], usize, &mut [f32]) = match index {
            0 => (x, first.inputs, &mut *even),
            _ if index % 2 == 1 => (&*even, stride, &mut *odd),
            _ => (&*odd, stride, &mut *even),
        };
        dense(
            (source, source_stride),
            layer,
            weights,
            bias,
            (target, stride),
        );
    }
    let result = if layers.len() % 2 == 1 { &*even } else { &*odd };
    for (r, out_row) in out.chunks_exact_mut(last.outputs).enumerate() {
        out_row.copy_from_slice(&result[r * stride..r * stride + last.outputs]);
    }
}

/// `out = max(x·w + bias, 0 if relu)` for `R` rows at once (`x` and `out`
/// given with their row strides): each block of [`LANES`] outputs
/// accumulates in registers over the inputs, and the `R` rows' chains of
/// multiply-adds are independent, so they overlap instead of each waiting
/// on the one before (a single row is bound by the multiply-add latency).
fn dense_portable<const R: usize>(
    (x, x_stride): (&[f32], usize),
    layer: &Layer,
    w: &[f32],
    bias: &[f32],
    (out, out_stride): (&mut [f32], usize),
) {
    let width = layer.padded;
    for offset in (0..width).step_by(LANES) {
        let mut acc = [[0f32; LANES]; R];
        for row in &mut acc {
            row.copy_from_slice(&bias[offset..offset + LANES]);
        }
        for (k, wk) in w.chunks_exact(width).enumerate().take(layer.inputs) {
            let wk = &wk[offset..offset + LANES];
            for (r, row) in acc.iter_mut().enumerate() {
                let xk = x[r * x_stride + k];
                for lane in 0..LANES {
                    row[lane] += xk * wk[lane];
                }
            }
        }
        for (r, row) in acc.iter_mut().enumerate() {
            if layer.relu {
                // ONNX's ReLU: a NaN stays NaN.
                for value in row.iter_mut() {
                    if *value < 0.0 {
                        *value = 0.0;
                    }
                }
            }
            out[r * out_stride + offset..r * out_stride + offset + LANES].copy_from_slice(row);
        }
    }
}

/// The same kernel with AVX2 and FMA intrinsics: one register per row
/// for each block of [`LANES`] outputs.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::{
        __m256, _mm256_fmadd_ps, _mm256_loadu_ps, _mm256_max_ps, _mm256_set1_ps, _mm256_setzero_ps,
        _mm256_storeu_ps,
    };

    use super::{DenseKernel, LANES, Layer, ROWS, run_rows_with};

    /// [`super::run_rows`] with this module's kernel.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn run_rows(
        layers: &[Layer],
        parameters: &[(&[f32], &[f32])],
        x: &[f32],
        out: &mut [f32],
        scratch: &mut [f32],
    ) {
        // Closures inherit this function's target features, so they may
        // call `dense`, which needs them.
        let rows: DenseKernel<ROWS> =
            |x, layer, w, bias, out| dense::<ROWS>(x, layer, w, bias, out);
        let row: DenseKernel<1> = |x, layer, w, bias, out| dense::<1>(x, layer, w, bias, out);
        run_rows_with(layers, parameters, x, out, scratch, (rows, row));
    }

    /// Loads a block of [`LANES`] floats.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn load(block: &[f32; LANES]) -> __m256 {
        // SAFETY: `block` is LANES floats; unaligned loads are allowed.
        unsafe { _mm256_loadu_ps(block.as_ptr()) }
    }

    /// Stores a block of [`LANES`] floats.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    fn store(block: &mut [f32; LANES], values: __m256) {
        // SAFETY: `block` is LANES floats; unaligned stores are allowed.
        unsafe { _mm256_storeu_ps(block.as_mut_ptr(), values) }
    }

    /// The block of [`LANES`] floats at `offset` (a slice of that length
    /// always converts: the `Err` arm is unreachable).
    #[inline(always)]
    fn block(values: &[f32], offset: usize) -> &[f32; LANES] {
        values[offset..offset + LANES]
            .try_into()
            .unwrap_or(&[0.0; LANES])
    }

    /// [`super::dense_portable`] in AVX2 and FMA instructions.
    #[target_feature(enable = "avx2,fma")]
    fn dense<const R: usize>(
        (x, x_stride): (&[f32], usize),
        layer: &Layer,
        w: &[f32],
        bias: &[f32],
        (out, out_stride): (&mut [f32], usize),
    ) {
        let width = layer.padded;
        for offset in (0..width).step_by(LANES) {
            let mut acc = [load(block(bias, offset)); R];
            for (k, wk) in w.chunks_exact(width).enumerate().take(layer.inputs) {
                let wk = load(block(wk, offset));
                for (r, row) in acc.iter_mut().enumerate() {
                    *row = _mm256_fmadd_ps(_mm256_set1_ps(x[r * x_stride + k]), wk, *row);
                }
            }
            for (r, row) in acc.iter().enumerate() {
                let row = if layer.relu {
                    // maxps answers its second operand when one is NaN: a
                    // NaN stays NaN, as in ONNX's ReLU.
                    _mm256_max_ps(_mm256_setzero_ps(), *row)
                } else {
                    *row
                };
                let start = r * out_stride + offset;
                if let Ok(target) = (&mut out[start..start + LANES]).try_into() {
                    store(target, row);
                }
            }
        }
    }
}

impl TypedOp for SmallDenseLayers {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let outputs = self.layers.last().map_or(0, |l| l.outputs);
        Ok(tvec!(f32::fact([
            inputs[0].shape[0].clone(),
            outputs.to_dim()
        ])))
    }

    as_op!();
}

/// Replaces every chain of small dense layers in a decluttered `model` by
/// one [`SmallDenseLayers`]; returns how many chains.
///
/// # Errors
/// Only if the model's facts are inconsistent (tract checked them already).
pub fn use_small_dense_layers(model: &mut TypedModel) -> TractResult<usize> {
    let mut fused = 0;
    // The `EinSum`s of layers already in a chain (left in the graph, unused,
    // until `compact`): only an `EinSum` starts a layer.
    let mut swallowed = HashSet::new();
    for id in model.eval_order()? {
        if swallowed.contains(&id) {
            continue;
        }
        let Some((first, mut end)) = layer_at(model, id)? else {
            continue;
        };
        let input = model.node(id).inputs[0];
        let mut layers = vec![first];
        let mut next = sole_consumer(model, end);
        while let Some(next_id) = next
            && model.node(next_id).inputs.first() == Some(&end)
            && let Some((layer, next_end)) = layer_at(model, next_id)?
            && layers.last().is_some_and(|l| l.outputs == layer.inputs)
        {
            layers.push(layer);
            swallowed.insert(next_id);
            end = next_end;
            next = sole_consumer(model, end);
        }
        let mut patch = TypedModelPatch::new("small dense layers");
        let tap = patch.tap_model(model, input)?;
        let name = model.node(id).name.clone();
        let wire = patch.wire_node(name, SmallDenseLayers { layers }, &[tap])?;
        patch.shunt_outside(model, end, wire[0])?;
        patch.apply(model)?;
        fused += 1;
    }
    if fused > 0 {
        model.compact()?;
    }
    Ok(fused)
}

/// Whether node `id` of a decluttered `model` starts a layer
/// [`use_small_dense_layers`] fuses.
pub fn is_small_dense_layer(model: &TypedModel, id: usize) -> bool {
    layer_at(model, id).is_ok_and(|layer| layer.is_some())
}

/// The one node reading `outlet`, if it is not a model output.
fn sole_consumer(model: &TypedModel, outlet: OutletId) -> Option<usize> {
    let successors = &model.node(outlet.node).outputs.get(outlet.slot)?.successors;
    (successors.len() == 1 && !model.outputs.contains(&outlet)).then(|| successors[0].node)
}

/// The layer starting at `id` (an `EinSum`), and the outlet where it ends
/// (after its bias and ReLU, when they are there).
fn layer_at(model: &TypedModel, id: usize) -> TractResult<Option<(Layer, OutletId)>> {
    let node = model.node(id);
    let Some(einsum) = node.op_as::<EinSum>() else {
        return Ok(None);
    };
    if einsum.operating_dt != f32::datum_type()
        || einsum.q_params.is_some()
        || node.inputs.len() != 2
    {
        return Ok(None);
    }
    let Some(transposed) = matrix_product_layout(&einsum.axes) else {
        return Ok(None);
    };
    let x = model.outlet_fact(node.inputs[0])?;
    let w = model.outlet_fact(node.inputs[1])?;
    let Some(matrix) = &w.konst else {
        return Ok(None);
    };
    if x.datum_type != f32::datum_type()
        || matrix.datum_type() != f32::datum_type()
        || x.rank() != 2
        || matrix.rank() != 2
        || matrix.len() > MAX_LAYER_WEIGHTS
    {
        return Ok(None);
    }
    let weights = if transposed {
        matrix.as_ref().clone().permute_axes(&[1, 0])?
    } else {
        matrix.as_ref().clone()
    };
    let (inputs, outputs) = (weights.shape()[0], weights.shape()[1]);
    // An empty matrix is left to tract (rows of no inputs cannot be
    // walked in chunks).
    if inputs == 0 || outputs == 0 || x.shape[1] != inputs.to_dim() {
        return Ok(None);
    }
    let mut end = OutletId::new(id, 0);
    let mut bias = Tensor::zero::<f32>(&[outputs])?;
    if let Some(add) = sole_consumer(model, end)
        && let Some(constant) = constant_operand::<Add>(model, add, end)?
        && let Some(values) = per_output(&constant, outputs)
    {
        bias = values;
        end = OutletId::new(add, 0);
    }
    let mut relu = false;
    if let Some(max) = sole_consumer(model, end)
        && let Some(constant) = constant_operand::<Max>(model, max, end)?
        && constant.len() == 1
        && constant.cast_to_scalar::<f32>()? == 0.0
    {
        relu = true;
        end = OutletId::new(max, 0);
    }
    let padded = outputs.div_ceil(LANES) * LANES;
    let layer = Layer {
        inputs,
        outputs,
        padded,
        weights: Arc::new(pad_last_axis(&weights, padded)?),
        bias: Arc::new(pad_last_axis(&bias, padded)?),
        relu,
    };
    Ok(Some((layer, end)))
}

/// For `x[m, k] · w` as an `EinSum`'s axes: `Some(false)` when `w` is
/// `[k, n]` (`mk,kn->mn`), `Some(true)` when it is `[n, k]` (`mk,nk->mn`),
/// `None` for any other product (whatever letters name the axes).
fn matrix_product_layout(axes: &AxesMapping) -> Option<bool> {
    let ranks = [
        axes.rank(InOut::In(0)),
        axes.rank(InOut::In(1)),
        axes.rank(InOut::Out(0)),
    ];
    if axes.input_count() != 2 || axes.output_count() != 1 || ranks != [2, 2, 2] {
        return None;
    }
    let at = |io: InOut, position: usize| axes.axis((io, position)).ok();
    let (m, k) = (at(InOut::In(0), 0)?, at(InOut::In(0), 1)?);
    let k_in_w = match (
        k.inputs[0].as_slice(),
        k.inputs[1].as_slice(),
        k.outputs[0].as_slice(),
    ) {
        ([1], [position], []) => *position,
        _ => return None,
    };
    let n = at(InOut::In(1), 1 - k_in_w)?;
    let rows_through = *m.inputs[0] == [0] && m.inputs[1].is_empty() && *m.outputs[0] == [0];
    let columns_through =
        n.inputs[0].is_empty() && *n.inputs[1] == [1 - k_in_w] && *n.outputs[0] == [1];
    (rows_through && columns_through).then_some(k_in_w == 1)
}

/// For a float binary op `Op` at `id` with `value` on one side and a
/// constant on the other: the constant.
fn constant_operand<Mini: BinMiniOp>(
    model: &TypedModel,
    id: usize,
    value: OutletId,
) -> TractResult<Option<Arc<Tensor>>> {
    let node = model.node(id);
    let Some(bin) = node.op_as::<TypedBinOp>() else {
        return Ok(None);
    };
    if !bin.0.is::<Mini>() || bin.1.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let other = if node.inputs[0] == value {
        node.inputs[1]
    } else {
        node.inputs[0]
    };
    let fact = model.outlet_fact(other)?;
    let output = model.outlet_fact(OutletId::new(id, 0))?;
    let input = model.outlet_fact(value)?;
    // The op must not broadcast the chain's value to a larger shape.
    if output.shape != input.shape || fact.datum_type != f32::datum_type() {
        return Ok(None);
    }
    Ok(fact.konst.clone())
}

/// `tensor` (f32, last axis `n` long) with its last axis zero-padded to
/// `padded`.
fn pad_last_axis(tensor: &Tensor, padded: usize) -> TractResult<Tensor> {
    let n = *tensor.shape().last().context("a scalar")?;
    let plain = tensor.try_as_plain_ram()?;
    let mut values = Vec::with_capacity(tensor.len() / n.max(1) * padded);
    for row in plain.as_slice::<f32>()?.chunks_exact(n.max(1)) {
        values.extend_from_slice(row);
        values.resize(values.len() + padded - n, 0.0);
    }
    let mut shape: TVec<usize> = tensor.shape().into();
    if let Some(last) = shape.last_mut() {
        *last = padded;
    }
    Tensor::from_shape(&shape, &values)
}

/// A bias given as `[1, n]`, or one value (`[1, 1]`) for every output, as
/// `n` values (typed binary ops keep both operands' rank: 2 here).
fn per_output(constant: &Tensor, outputs: usize) -> Option<Tensor> {
    let values = constant.try_as_plain_ram().ok()?.as_slice::<f32>().ok()?;
    match constant.shape() {
        [1, 1] => Some(tensor1(&vec![values[0]; outputs])),
        [1, n] if *n == outputs => Some(tensor1(values)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic values in [-1, 1).
    fn values(count: usize, seed: usize) -> Vec<f32> {
        (0..count)
            .map(|i| ((i * 7919 + seed * 104_729) % 2000) as f32 / 1000.0 - 1.0)
            .collect()
    }

    /// `input[N, 5]` → 11 (ReLU) → 3 (its weights `[3, 11]`, as `Gemm`
    /// with `transB` declutters) → a `[N, 3]` output, decluttered.
    fn two_layers(first_weights: usize) -> TypedModel {
        let mut model = TypedModel::default();
        let batch = model.symbols.sym("N");
        let input = model
            .add_source("input", f32::fact(&[TDim::from(batch), 5.into()]))
            .unwrap();
        let konst = |model: &mut TypedModel, name: &str, shape: &[usize], seed| {
            let count = shape.iter().product();
            model
                .add_const(
                    name,
                    Tensor::from_shape(shape, &values(count, seed)).unwrap(),
                )
                .unwrap()
        };
        let w1 = konst(&mut model, "w1", &[5, first_weights], 1);
        let b1 = konst(&mut model, "b1", &[1, first_weights], 2);
        let zero = model.add_const("zero", tensor2(&[[0f32]])).unwrap();
        let w2 = konst(&mut model, "w2", &[3, first_weights], 3);
        let b2 = konst(&mut model, "b2", &[1, 3], 4);
        let product = |axes: &str| EinSum::new(axes.parse().unwrap(), f32::datum_type());
        let mut wire = |name: &str, op: Box<dyn TypedOp>, inputs: &[OutletId]| {
            model.wire_node(name, op, inputs).unwrap()[0]
        };
        let h = wire("mm1", Box::new(product("ak,kb->ab")), &[input, w1]);
        let h = wire("add1", Box::new(TypedBinOp(Box::new(Add), None)), &[h, b1]);
        let h = wire(
            "relu",
            Box::new(TypedBinOp(Box::new(Max), None)),
            &[zero, h],
        );
        let h = wire("mm2", Box::new(product("mk,nk->mn")), &[h, w2]);
        let out = wire("add2", Box::new(TypedBinOp(Box::new(Add), None)), &[h, b2]);
        model.select_output_outlets(&[out]).unwrap();
        model.into_decluttered().unwrap()
    }

    fn run(model: TypedModel, rows: usize, input: &[f32]) -> Vec<f32> {
        let plan = model.into_runnable().unwrap();
        let input = Tensor::from_shape(&[rows, 5], input).unwrap();
        let output = plan.run(tvec!(input.into_tvalue())).unwrap();
        assert_eq!(output[0].shape(), [rows, 3]);
        output[0]
            .try_as_plain_ram()
            .unwrap()
            .as_slice::<f32>()
            .unwrap()
            .to_vec()
    }

    fn assert_close(got: &[f32], expected: &[f32]) {
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(expected) {
            assert!(
                (g - e).abs() <= 1e-5 * e.abs().max(1.0),
                "{got:?} vs {expected:?}"
            );
        }
    }

    #[test]
    fn a_chain_of_small_layers_becomes_one_op_answering_what_tract_answers() {
        let original = two_layers(11);
        let mut fused = original.clone();
        assert_eq!(use_small_dense_layers(&mut fused).unwrap(), 1);
        assert!(fused.nodes.iter().any(|n| n.op_is::<SmallDenseLayers>()));
        assert!(!fused.nodes.iter().any(|n| n.op_is::<EinSum>()));
        // One row, fewer than a group, a group, a group and some, many.
        for rows in [1, 3, ROWS, ROWS + 1, 2 * ROWS + 3, 64] {
            let input = values(rows * 5, rows);
            assert_close(
                &run(fused.clone().into_optimized().unwrap(), rows, &input),
                &run(original.clone().into_optimized().unwrap(), rows, &input),
            );
        }
    }

    #[test]
    fn a_layer_too_large_stays_tracts_and_the_chain_stops_there() {
        // 5 × 4,000 weights: over MAX_LAYER_WEIGHTS; the second layer
        // (3 × 4,000) alone is fused.
        let mut model = two_layers(4_000);
        const { assert!(5 * 4_000 > MAX_LAYER_WEIGHTS && 3 * 4_000 <= MAX_LAYER_WEIGHTS) };
        let original = model.clone();
        assert_eq!(use_small_dense_layers(&mut model).unwrap(), 1);
        assert_eq!(
            model.nodes.iter().filter(|n| n.op_is::<EinSum>()).count(),
            1
        );
        let input = values(7 * 5, 9);
        assert_close(
            &run(model.into_optimized().unwrap(), 7, &input),
            &run(original.into_optimized().unwrap(), 7, &input),
        );
    }

    #[test]
    fn the_portable_kernel_answers_what_the_vector_kernel_answers() {
        let mut model = two_layers(11);
        use_small_dense_layers(&mut model).unwrap();
        let op = model
            .nodes
            .iter()
            .find_map(|n| n.op_as::<SmallDenseLayers>())
            .unwrap()
            .clone();
        let parameters = op.parameters().unwrap();
        let rows = 2 * ROWS + 1;
        let input = values(rows * 5, 5);
        let (mut portable, mut dispatched) = (vec![0f32; rows * 3], vec![0f32; rows * 3]);
        run_rows_with(
            &op.layers,
            &parameters,
            &input,
            &mut portable,
            &mut op.scratch(),
            (dense_portable::<ROWS>, dense_portable::<1>),
        );
        run_rows(
            &op.layers,
            &parameters,
            &input,
            &mut dispatched,
            &mut op.scratch(),
        );
        assert_close(&portable, &dispatched);
    }

    #[test]
    fn relu_keeps_nan_as_onnxruntime_does() {
        let mut model = two_layers(11);
        use_small_dense_layers(&mut model).unwrap();
        let mut input = values(5, 1);
        input[0] = f32::NAN;
        let output = run(model.into_optimized().unwrap(), 1, &input);
        assert!(output.iter().all(|v| v.is_nan()), "{output:?}");
    }
}
