//! `TfIdfVectorizer` (ONNX opset 9): counts, per row, the n-grams of a
//! pool (strings or int64s) among a row's tokens, including skip-grams,
//! and weighs them (`TF`, `IDF`, `TFIDF`), as onnxruntime does: the pool
//! as a trie walked from each start position at each skip distance,
//! unigrams counted once, each n-gram's weight the one at its place in the
//! pool.
//!
//! Why our own: tract 0.23 has no `TfIdfVectorizer`.

use std::collections::HashMap;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use crate::models::ml_ops::attributes::{context, floats, ints};
use crate::models::ml_ops::{FactShape, Kernel, expand_kernel};

/// Output columns a model may ask for: every row allocates them.
const MAX_OUTPUT: usize = 1 << 22;

/// How counts become the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Counts.
    Tf,
    /// The weight (or 1) for each n-gram present.
    Idf,
    /// Counts times the weight.
    TfIdf,
}

/// A trie node: the n-gram ending here (1-based id, 0: none) and longer
/// ones. Keyed by the token itself (strings or int64s), so a row's tokens
/// are looked up where they lie, never copied.
#[derive(Debug)]
struct Gram<K> {
    id: usize,
    next: HashMap<K, Gram<K>>,
}

impl<K> Default for Gram<K> {
    fn default() -> Self {
        Self {
            id: 0,
            next: HashMap::new(),
        }
    }
}

/// The pool, by token type.
#[derive(Debug)]
enum Pool {
    Strings(Gram<String>),
    Ints(Gram<i64>),
}

#[derive(Debug)]
struct TfIdfVectorizer {
    mode: Mode,
    min_gram: usize,
    max_gram: usize,
    max_skip: usize,
    pool: Pool,
    /// Output column of each pool n-gram (id - 1).
    columns: Vec<usize>,
    /// Weight of each pool n-gram (id - 1).
    weights: Option<Vec<f32>>,
    width: usize,
}

pub fn from_node(
    _ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let what = context(node);
    let mode = match node.get_attr_opt::<&str>("mode")?.unwrap_or("") {
        "TF" => Mode::Tf,
        "IDF" => Mode::Idf,
        "TFIDF" => Mode::TfIdf,
        other => bail!("{what}: mode {other:?} is not TF, IDF or TFIDF"),
    };
    let int = |name: &str| -> TractResult<i64> {
        node.get_attr_opt::<i64>(name)?
            .ok_or_else(|| anyhow!("{what}: attribute {name} is missing"))
    };
    let (min_gram, max_gram, max_skip) = (
        int("min_gram_length")?,
        int("max_gram_length")?,
        int("max_skip_count")?,
    );
    let counts = ints(node, "ngram_counts")?.unwrap_or_default();
    ensure!(!counts.is_empty(), "{what}: ngram_counts is empty");
    ensure!(
        min_gram >= 1 && max_gram >= min_gram && max_gram as usize <= counts.len(),
        "{what}: gram lengths {min_gram}..={max_gram} must be within 1..={}",
        counts.len()
    );
    ensure!(
        (0..=1 << 16).contains(&max_skip),
        "{what}: max_skip_count must be in 0..=65536, got {max_skip}"
    );
    let indexes = ints(node, "ngram_indexes")?.unwrap_or_default();
    ensure!(!indexes.is_empty(), "{what}: ngram_indexes is empty");
    let columns = indexes
        .iter()
        .map(|&i| usize::try_from(i).ok().filter(|&i| i < MAX_OUTPUT))
        .collect::<Option<Vec<usize>>>()
        .ok_or_else(|| anyhow!("{what}: ngram_indexes must be in 0..{MAX_OUTPUT}"))?;
    let width = columns.iter().max().map_or(0, |m| m + 1);
    let weights = floats(node, "weights")?;
    if let Some(weights) = &weights {
        ensure!(
            weights.len() == columns.len(),
            "{what}: {} weights for {} n-gram indexes",
            weights.len(),
            columns.len()
        );
    }
    let lengths = (min_gram as usize, max_gram as usize);
    let (pool, n_grams) = match node.get_attr_opt_vec::<String>("pool_strings")? {
        Some(strings) => {
            ensure!(!strings.is_empty(), "{what}: pool_strings is empty");
            let (trie, n) = build_pool(&what, &strings, &counts, lengths)?;
            (Pool::Strings(trie), n)
        }
        None => {
            let ints = ints(node, "pool_int64s")?.unwrap_or_default();
            ensure!(
                !ints.is_empty(),
                "{what}: pool_strings and pool_int64s are empty"
            );
            let (trie, n) = build_pool(&what, &ints, &counts, lengths)?;
            (Pool::Ints(trie), n)
        }
    };
    ensure!(
        n_grams <= columns.len(),
        "{what}: the pool has {n_grams} n-grams, ngram_indexes {}",
        columns.len()
    );
    expand_kernel(TfIdfVectorizer {
        mode,
        min_gram: min_gram as usize,
        max_gram: max_gram as usize,
        max_skip: max_skip as usize,
        pool,
        columns,
        weights,
        width,
    })
}

/// The pool as a trie of the gram lengths in `lengths`; returns it and how
/// many n-gram ids the pool has (every length counts, loaded or not, as
/// onnxruntime numbers them).
fn build_pool<K: Clone + Eq + std::hash::Hash>(
    what: &str,
    pool: &[K],
    counts: &[i64],
    (min_gram, max_gram): (usize, usize),
) -> TractResult<(Gram<K>, usize)> {
    let mut root = Gram::default();
    let mut next_id = 1usize;
    for (i, &start) in counts.iter().enumerate() {
        let n = i + 1;
        let end = counts.get(i + 1).copied().unwrap_or(pool.len() as i64);
        let range = usize::try_from(start)
            .ok()
            .zip(usize::try_from(end).ok())
            .filter(|(s, e)| s <= e && *e <= pool.len())
            .ok_or_else(|| {
                anyhow!("{what}: ngram_counts puts {n}-grams at {start}..{end}, outside the pool")
            })?;
        let items = &pool[range.0..range.1];
        ensure!(
            items.len().is_multiple_of(n),
            "{what}: {} pool items do not make whole {n}-grams",
            items.len()
        );
        if !(min_gram..=max_gram).contains(&n) {
            next_id += items.len() / n;
            continue;
        }
        for gram in items.chunks_exact(n) {
            let mut node = &mut root;
            for token in gram {
                node = node.next.entry(token.clone()).or_default();
            }
            ensure!(node.id == 0, "{what}: a {n}-gram appears twice in the pool");
            node.id = next_id;
            next_id += 1;
        }
    }
    Ok((root, next_id - 1))
}

impl TfIdfVectorizer {
    /// Adds one row's n-grams to `out`.
    fn row<K: Eq + std::hash::Hash>(&self, pool: &Gram<K>, tokens: &[K], out: &mut [f32]) {
        let mut start_gram = self.min_gram;
        for distance in 1..=self.max_skip + 1 {
            for start in 0..tokens.len() {
                if start + distance * (start_gram - 1) >= tokens.len() {
                    break;
                }
                let mut node = pool;
                let mut at = start;
                for n in 1..=self.max_gram {
                    let Some(hit) = tokens.get(at).and_then(|t| node.next.get(t)) else {
                        break;
                    };
                    if n >= start_gram && hit.id != 0 {
                        self.weigh(hit.id - 1, out);
                    }
                    node = hit;
                    at += distance;
                }
            }
            // Unigrams do not depend on the skip distance: counted once.
            if start_gram == 1 {
                start_gram = 2;
                if start_gram > self.max_gram {
                    break;
                }
            }
        }
    }

    /// Every row of `tokens` (rows of `row_len`) into `out`.
    fn rows<K: Eq + std::hash::Hash>(
        &self,
        pool: &Gram<K>,
        tokens: &[K],
        row_len: usize,
        out: &mut [f32],
    ) {
        if row_len == 0 || self.width == 0 {
            return;
        }
        for (row, out) in tokens.chunks(row_len).zip(out.chunks_mut(self.width)) {
            self.row(pool, row, out);
        }
    }

    /// Counts the pool's n-gram `index` (0-based) in its output column.
    fn weigh(&self, index: usize, out: &mut [f32]) {
        let column = self.columns[index];
        let weight = self.weights.as_ref().map_or(1.0, |w| w[index]);
        match self.mode {
            Mode::Tf => out[column] += 1.0,
            Mode::Idf => out[column] = weight,
            Mode::TfIdf => out[column] += weight,
        }
    }
}

impl Kernel for TfIdfVectorizer {
    fn name(&self) -> &'static str {
        "TfIdfVectorizer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let (datum_type, shape) = &inputs[0];
        let (accepted, holds) = match self.pool {
            Pool::Strings(_) => (*datum_type == String::datum_type(), "strings"),
            Pool::Ints(_) => (
                *datum_type == i64::datum_type() || *datum_type == i32::datum_type(),
                "int64s",
            ),
        };
        ensure!(
            accepted,
            "TfIdfVectorizer: input is {datum_type:?}, the pool holds {holds}"
        );
        let out = match shape.len() {
            0 | 1 => tvec![self.width.to_dim()],
            2 => tvec![shape[0].clone(), self.width.to_dim()],
            rank => bail!("TfIdfVectorizer: input must be [C] or [B, C], got rank {rank}"),
        };
        Ok(tvec!((f32::datum_type(), out)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let shape = input.shape();
        let (rows, row_len) = match shape.len() {
            0 => (1, 1),
            1 => (1, shape[0]),
            2 => (shape[0], shape[1]),
            rank => bail!("TfIdfVectorizer: input must be [C] or [B, C], got rank {rank}"),
        };
        let out_shape: Vec<usize> = if shape.len() == 2 {
            vec![rows, self.width]
        } else {
            vec![self.width]
        };
        // Counted into the output tensor itself: a 1,024-row batch of a
        // 473-gram pool is 1.9 MB, not worth a second copy.
        let mut counts = Tensor::zero::<f32>(&out_shape)?;
        {
            let mut plain = counts.try_as_plain_ram_mut()?;
            let out = plain.as_slice_mut::<f32>()?;
            match &self.pool {
                Pool::Strings(pool) => {
                    let view = input.try_as_plain_ram()?;
                    self.rows(pool, view.as_slice::<String>()?, row_len, out);
                }
                Pool::Ints(pool) => {
                    let wide = input.cast_to::<i64>()?;
                    let view = wide.try_as_plain_ram()?;
                    self.rows(pool, view.as_slice::<i64>()?, row_len, out);
                }
            }
        }
        Ok(tvec!(counts.into_tvalue()))
    }
}
