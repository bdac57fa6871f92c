//! `Tokenizer` (onnxruntime's `com.microsoft` domain), which skl2onnx's
//! text vectorizers emit: splits each string into tokens, by a token
//! expression (`tokenexp`, each match a token), by separators (each a
//! regular expression, applied one after the other, the pieces between
//! matches the tokens), or into characters (`tokenexp` `.`, or one empty
//! separator); drops tokens shorter than `mincharnum` characters;
//! optionally marks each row's start and end (`\x02`, `\x03`); pads rows to
//! the longest with `pad_value`. Input `[C]` or `[N, C]`, output one axis
//! more.
//!
//! onnxruntime matches with RE2 set to leftmost-longest; the `regex` crate
//! (RE2's syntax) matches leftmost-first. The two agree on the expressions
//! skl2onnx writes (a character class repeated, `[a-zA-Z0-9_]+`, and
//! single-character separators); an alternation whose earlier branch is a
//! prefix of a later one would match less here.
//!
//! Why our own: tract 0.23 has no `Tokenizer`.

use regex::Regex;
use tract_onnx::model::ParsingContext;
use tract_onnx::pb::NodeProto;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::internal::*;

use crate::models::ml_ops::attributes::context;
use crate::models::ml_ops::{FactShape, Kernel, expand_kernel};

/// Marks a row's start and end with `mark`.
const START_TEXT: &str = "\u{2}";
const END_TEXT: &str = "\u{3}";

/// How strings are split.
#[derive(Debug)]
enum Split {
    /// Every character a token.
    Characters,
    /// Every match a token.
    Expression(Regex),
    /// The pieces between matches, each separator in turn.
    Separators(Vec<Regex>),
}

#[derive(Debug)]
struct Tokenizer {
    split: Split,
    mark: bool,
    pad: String,
    min_chars: usize,
    /// The longest row's tokens: known only when the model runs.
    tokens: Symbol,
}

pub fn from_node(
    ctx: &ParsingContext,
    node: &NodeProto,
) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let what = context(node);
    let required = |name: &str| anyhow!("{what}: attribute {name} is missing");
    let mark = node
        .get_attr_opt::<i64>("mark")?
        .ok_or_else(|| required("mark"))?
        != 0;
    let pad = node
        .get_attr_opt::<String>("pad_value")?
        .ok_or_else(|| required("pad_value"))?;
    let min_chars = node
        .get_attr_opt::<i64>("mincharnum")?
        .ok_or_else(|| required("mincharnum"))?;
    ensure!(
        min_chars > 0,
        "{what}: mincharnum must be positive, got {min_chars}"
    );
    let compile = |pattern: &str, name: &str| {
        Regex::new(pattern)
            .map_err(|e| anyhow!("{what}: {name} `{pattern}` is not a regular expression: {e}"))
    };
    let split = match (
        node.get_attr_opt_vec::<String>("separators")?,
        node.get_attr_opt::<String>("tokenexp")?,
    ) {
        (Some(separators), _) if separators.len() == 1 && separators[0].is_empty() => {
            Split::Characters
        }
        (Some(separators), _) => {
            ensure!(!separators.is_empty(), "{what}: separators is empty");
            Split::Separators(
                separators
                    .iter()
                    .map(|s| compile(s, "separator"))
                    .collect::<TractResult<_>>()?,
            )
        }
        (None, Some(expression)) if expression == "." => Split::Characters,
        (None, Some(expression)) => {
            ensure!(!expression.is_empty(), "{what}: tokenexp is empty");
            Split::Expression(compile(&expression, "tokenexp")?)
        }
        (None, None) => bail!("{what}: one of separators and tokenexp must be set"),
    };
    ensure!(
        !matches!(split, Split::Characters) || min_chars < 2,
        "{what}: mincharnum {min_chars} is too big for character tokens"
    );
    expand_kernel(Tokenizer {
        split,
        mark,
        pad,
        min_chars: min_chars as usize,
        tokens: ctx.template.symbols.new_with_prefix("tokens"),
    })
}

impl Tokenizer {
    fn long_enough(&self, token: &str) -> bool {
        token.chars().count() >= self.min_chars
    }

    /// One string's tokens.
    fn tokens<'t>(&self, text: &'t str) -> Vec<&'t str> {
        match &self.split {
            Split::Characters => text
                .char_indices()
                .map(|(at, c)| &text[at..at + c.len_utf8()])
                .collect(),
            Split::Expression(expression) => expression
                .find_iter(text)
                .map(|m| m.as_str())
                .filter(|token| !token.is_empty() && self.long_enough(token))
                .collect(),
            Split::Separators(separators) => {
                let mut pieces = vec![text];
                for separator in separators {
                    let mut next = Vec::new();
                    for piece in pieces {
                        let mut start = 0;
                        for m in separator.find_iter(piece) {
                            let token = &piece[start..m.start()];
                            if self.long_enough(token) {
                                next.push(token);
                            }
                            start = m.end();
                        }
                        let trailing = &piece[start..];
                        if self.long_enough(trailing) {
                            next.push(trailing);
                        }
                    }
                    pieces = next;
                }
                pieces
            }
        }
    }
}

impl Kernel for Tokenizer {
    fn name(&self) -> &'static str {
        "Tokenizer"
    }

    fn output_facts(&self, inputs: &[FactShape]) -> TractResult<TVec<FactShape>> {
        let (datum_type, shape) = &inputs[0];
        ensure!(
            *datum_type == String::datum_type(),
            "Tokenizer: input is {datum_type:?}, not strings"
        );
        ensure!(
            matches!(shape.len(), 1 | 2),
            "Tokenizer: input must be [C] or [N, C], got {shape:?}"
        );
        let mut out = shape.clone();
        out.push(self.tokens.to_dim());
        Ok(tvec!((String::datum_type(), out)))
    }

    fn eval(&self, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let shape = input.shape().to_vec();
        ensure!(
            matches!(shape.len(), 1 | 2),
            "Tokenizer: input must be [C] or [N, C], got {shape:?}"
        );
        let view = input.try_as_plain_ram()?;
        let rows: Vec<Vec<&str>> = view
            .as_slice::<String>()?
            .iter()
            .map(|text| self.tokens(text))
            .collect();
        let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
        // No tokens anywhere: an empty last axis (no marks), as onnxruntime.
        let width = if longest == 0 {
            0
        } else {
            longest + 2 * usize::from(self.mark)
        };
        let mut out = Vec::with_capacity(rows.len() * width);
        if width > 0 {
            for row in &rows {
                if self.mark {
                    out.push(START_TEXT.to_owned());
                }
                out.extend(row.iter().map(|token| (*token).to_owned()));
                if self.mark {
                    out.push(END_TEXT.to_owned());
                }
                out.extend(std::iter::repeat_n(self.pad.clone(), longest - row.len()));
            }
        }
        let mut out_shape = shape;
        out_shape.push(width);
        let tensor = tract_ndarray::ArrayD::from_shape_vec(out_shape, out)?.into_tensor();
        Ok(tvec!(tensor.into_tvalue()))
    }
}
