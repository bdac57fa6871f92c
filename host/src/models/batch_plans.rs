//! Plans for one batch size: a model with dense layers, re-optimized with
//! its batch dimension fixed, for the batch sizes a function keeps using.
//!
//! tract picks a matrix-multiply kernel per layer when it optimizes. With the
//! batch dimension a symbol it cannot weigh the shape, so it takes its widest
//! kernel, whose 64-row tile mostly runs empty on a small MLP's 16-, 8- and
//! 3-wide layers; with the batch known it picks by shape. On the 8→16→8→3
//! MLP a 1,024-row batch ran 2.6× faster (152 → 59 µs), a 64-row one 1.8×
//! (BENCHMARKS.md, "Models against onnxruntime", and its history,
//! where the measurements are), before its layers became ours; on `mlp_wide`
//! (8→256→128→3), whose 256×128 layer stays tract's, a 1,024-row batch
//! runs 1.6× faster (1,477 → 924 µs). Tree ensembles, the other ai.onnx.ml operators
//! and small dense layers (see [`super::small_dense`]) are ours and do not
//! depend on the batch size, so only models with a matrix multiply left to
//! tract get plans (in which the small layers are ours too).
//!
//! A plan holds its own packed copy of the weights, so only models whose
//! constants total at most [`MAX_WEIGHT_BYTES`] get plans: layers narrow
//! enough for the wide kernel to waste much, and a few copies cost little.
//! A larger model keeps its one general plan (and its memory).
//!
//! Making a plan costs about what loading the model did (~1 ms for the MLP),
//! so it is made on the second run of a batch size, not the first (a size
//! seen once keeps the general plan), for at most [`MAX_PLANS`] sizes of at
//! least [`MIN_ROWS`] rows (a single row gains nothing). Runs of any other
//! size, and every run while a plan is being made, use the general plan.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::konst::Const;

use super::onnx_model::{cast_integer_outputs_to_i64, cast_kernel_inputs_to_i64};
use super::short_rows::use_short_row_ops;
use super::small_dense::{is_small_dense_layer, use_small_dense_layers};

/// Most batch sizes a model keeps plans for.
pub const MAX_PLANS: usize = 4;
/// Smallest batch a plan is made for.
pub const MIN_ROWS: usize = 4;
/// Largest total of a model's constants (its weights) that gets plans.
pub const MAX_WEIGHT_BYTES: usize = 4 << 20;
/// How many distinct sizes seen once are remembered (a size seen again among
/// them gets its plan).
const SEEN_SIZES: usize = 16;

/// The optimizer's input, kept to make plans from, and the plans made.
pub struct BatchPlans {
    /// The model after decluttering, batch still the symbol `batch`.
    decluttered: TypedModel,
    batch: Symbol,
    cache: Mutex<Cache>,
}

#[derive(Default)]
struct Cache {
    plans: Vec<(usize, Arc<TypedRunnableModel>)>,
    /// Sizes run once, most recent last.
    seen: Vec<usize>,
    /// Sizes whose plan is being made, or failed: not tried again.
    claimed: Vec<usize>,
}

impl BatchPlans {
    /// Plans for `decluttered` (the model before optimization, which is
    /// copied) when it has a matrix multiply larger than a small dense
    /// layer, the batch symbol is an input dimension and the weights are
    /// small; `None` otherwise, without a copy.
    pub fn for_model(decluttered: &TypedModel, batch_symbol: &str) -> Option<Self> {
        let has_matmul = decluttered
            .nodes
            .iter()
            .any(|n| n.op_is::<EinSum>() && !is_small_dense_layer(decluttered, n.id));
        let batch = decluttered.symbols.get(batch_symbol)?;
        let batched_input = decluttered.inputs.iter().any(|input| {
            decluttered
                .outlet_fact(*input)
                .is_ok_and(|fact| fact.shape.iter().any(|d| d.symbols().contains(&batch)))
        });
        let weight_bytes: usize = decluttered
            .nodes
            .iter()
            .filter_map(|n| n.op_as::<Const>())
            .map(|c| c.val().len() * c.val().datum_type().size_of())
            .sum();
        (has_matmul && batched_input && weight_bytes <= MAX_WEIGHT_BYTES).then(|| Self {
            decluttered: decluttered.clone(),
            batch,
            cache: Mutex::new(Cache::default()),
        })
    }

    /// The plan for `rows`, if there is one; on the second run of a size
    /// that can have one, makes it first.
    pub fn plan_for(&self, rows: usize) -> Option<Arc<TypedRunnableModel>> {
        if rows < MIN_ROWS {
            return None;
        }
        {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((_, plan)) = cache.plans.iter().find(|(size, _)| *size == rows) {
                return Some(plan.clone());
            }
            if cache.claimed.contains(&rows) || cache.claimed.len() >= MAX_PLANS {
                return None;
            }
            match cache.seen.iter().position(|size| *size == rows) {
                Some(at) => {
                    cache.seen.remove(at);
                    cache.claimed.push(rows);
                }
                None => {
                    if cache.seen.len() == SEEN_SIZES {
                        cache.seen.remove(0);
                    }
                    cache.seen.push(rows);
                    return None;
                }
            }
        }
        // Made outside the lock: runs of other sizes go on meanwhile. A
        // panic in tract's optimizer only costs this size its plan, as an
        // error would (the model loaded, so the general plan is sound).
        let made = catch_unwind(AssertUnwindSafe(|| self.make(rows)))
            .unwrap_or_else(|_| Err(anyhow::anyhow!("tract's optimizer panicked")));
        match made {
            Ok(plan) => {
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                cache.plans.push((rows, plan.clone()));
                Some(plan)
            }
            Err(error) => {
                // The size stays claimed: the general plan serves it.
                tracing::debug!(rows, "no plan for this batch size: {error:#}");
                None
            }
        }
    }

    /// The batch sizes that have a plan.
    pub fn sizes(&self) -> Vec<usize> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache.plans.iter().map(|(size, _)| *size).collect()
    }

    fn make(&self, rows: usize) -> TractResult<Arc<TypedRunnableModel>> {
        let rows = i64::try_from(rows)?;
        let subs = HashMap::from([(self.batch.clone(), TDim::Val(rows))]);
        let mut model = self.decluttered.set_symbols(&subs)?;
        use_small_dense_layers(&mut model)?;
        let mut model = model.into_optimized()?;
        use_short_row_ops(&mut model)?;
        cast_integer_outputs_to_i64(&mut model);
        cast_kernel_inputs_to_i64(&mut model);
        model.into_runnable()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `input[N, k] · weights[k, m]`, decluttered.
    fn dense(k: usize, m: usize) -> TypedModel {
        let mut model = TypedModel::default();
        let batch = model.symbols.sym("N");
        let input = model
            .add_source("input", f32::fact(&[TDim::from(batch), k.into()]))
            .unwrap();
        let weights = model
            .add_const("weights", Tensor::zero::<f32>(&[k, m]).unwrap())
            .unwrap();
        let product = model
            .wire_node(
                "dense",
                EinSum::new("nk,km->nm".parse().unwrap(), f32::datum_type()),
                &[input, weights],
            )
            .unwrap();
        model.select_output_outlets(&product).unwrap();
        model.into_decluttered().unwrap()
    }

    #[test]
    fn only_models_with_small_weights_get_plans() {
        // 200 × 100 weights: more than a small dense layer.
        let plans = BatchPlans::for_model(&dense(200, 100), "N").unwrap();
        assert!(plans.plan_for(64).is_none(), "first run of a size");
        assert!(plans.plan_for(64).is_some(), "second run");
        assert_eq!(plans.sizes(), [64]);

        // 1,024 × 1,000 floats: just under MAX_WEIGHT_BYTES (4 MiB); × 1,025: over.
        assert!(BatchPlans::for_model(&dense(1024, 1000), "N").is_some());
        assert!(BatchPlans::for_model(&dense(1024, 1025), "N").is_none());
    }

    #[test]
    fn a_model_without_the_batch_symbol_gets_none() {
        assert!(BatchPlans::for_model(&dense(200, 100), "B").is_none());
    }

    #[test]
    fn a_model_of_small_dense_layers_only_gets_none() {
        // Our SmallDenseLayers run it whatever the batch size.
        assert!(BatchPlans::for_model(&dense(8, 16), "N").is_none());
    }
}
