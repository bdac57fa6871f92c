//! `StringNormalizer` (ONNX opset 10): drops stopwords and changes case,
//! as onnxruntime does: stopwords compared as written, or (the default)
//! with both sides lower-cased; the case change applied character by
//! character; a `[C]` or `[1, C]` input; everything dropped leaves one
//! empty string.
//!
//! Case is changed one character to one character, as onnxruntime's C++
//! locale does: a character whose Unicode mapping is longer (`ß` upper-cased
//! is `SS`, `İ` lower-cased is `i̇`) stays as it is. The `locale` attribute
//! is not read: Unicode's mappings are the same in every locale but
//! Turkish and Lithuanian, which onnxruntime's `en_US.UTF-8` default does
//! not follow either.
//!
//! Why our own: tract 0.23 has no `StringNormalizer`.

use std::collections::HashSet;

use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use crate::models::ml_ops::attributes::context;
use crate::models::ml_ops::{FactShape, Kernel, expand_kernel};

/// The case change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    None,
    Lower,
    Upper,
}

#[derive(Debug)]
struct StringNormalizer {
    case: Case,
    case_sensitive: bool,
    /// As written, or lower-cased when comparisons ignore case.
    stopwords: HashSet<String>,
    /// The kept strings' count when stopwords are dropped.
    kept: Symbol,
}

pub fn from_node(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let case = match node
        .get_attr_opt::<&str>("case_change_action")?
        .unwrap_or("NONE")
    {
        "NONE" => Case::None,
        "LOWER" => Case::Lower,
        "UPPER" => Case::Upper,
        other => bail!(
            "{}: case_change_action {other:?} is not NONE, LOWER or UPPER",
            context(node)
        ),
    };
    let case_sensitive = node.get_attr_opt::<i64>("is_case_sensitive")?.unwrap_or(0) != 0;
    let stopwords = node
        .get_attr_opt_vec::<String>("stopwords")?
        .unwrap_or_default()
        .into_iter()
        .map(|word| {
            if case_sensitive {
                word
            } else {
                change_case(&word, Case::Lower)
            }
        })
        .collect();
    expand_kernel(StringNormalizer {
        case,
        case_sensitive,
        stopwords,
        kept: ctx.template.symbols.new_with_prefix("kept"),
    })
}

/// One character to one character (see the module's comment).
fn change_case(text: &str, case: Case) -> String {
    // ASCII (most text) maps byte for byte, the same answer, no decoding.
    if text.is_ascii() {
        return match case {
            Case::None => text.to_owned(),
            Case::Lower => text.to_ascii_lowercase(),
            Case::Upper => text.to_ascii_uppercase(),
        };
    }
    let one = |mapped: &mut dyn Iterator<Item = char>, original: char| match (
        mapped.next(),
        mapped.next(),
    ) {
        (Some(c), None) => c,
        _ => original,
    };
    text.chars()
        .map(|c| match case {
            Case::None => c,
            Case::Lower => one(&mut c.to_lowercase(), c),
            Case::Upper => one(&mut c.to_uppercase(), c),
        })
        .collect()
}

impl StringNormalizer {
    fn is_stopword(&self, text: &str) -> bool {
        if self.case_sensitive {
            self.stopwords.contains(text)
        } else {
            self.stopwords.contains(&change_case(text, Case::Lower))
        }
    }
}

impl Kernel for StringNormalizer {
    fn name(&self) -> &'static str {
        "StringNormalizer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let (datum_type, shape) = &inputs[0];
        ensure!(
            *datum_type == String::datum_type(),
            "StringNormalizer: input is {datum_type:?}, not strings"
        );
        ensure!(
            shape.len() == 1 || (shape.len() == 2 && shape[0] == 1.to_dim()),
            "StringNormalizer: input must be [C] or [1, C], got {shape:?}"
        );
        let mut out = shape.clone();
        if !self.stopwords.is_empty() {
            *out.last_mut().unwrap_or(&mut 1.to_dim()) = self.kept.to_dim();
        }
        Ok(tvec!((String::datum_type(), out)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let shape = input.shape();
        ensure!(
            shape.len() == 1 || (shape.len() == 2 && shape[0] == 1),
            "StringNormalizer: input must be [C] or [1, C], got {shape:?}"
        );
        let view = input.try_as_plain_ram()?;
        let mut kept: Vec<String> = view
            .as_slice::<String>()?
            .iter()
            .filter(|text| !self.is_stopword(text))
            .map(|text| change_case(text, self.case))
            .collect();
        // Everything dropped: one empty string, as onnxruntime answers.
        if kept.is_empty() {
            kept.push(String::new());
        }
        let out_shape: Vec<usize> = if shape.len() == 2 {
            vec![1, kept.len()]
        } else {
            vec![kept.len()]
        };
        let tensor = tract_ndarray::ArrayD::from_shape_vec(out_shape, kept)?.into_tensor();
        Ok(tvec!(tensor.into_tvalue()))
    }
}
