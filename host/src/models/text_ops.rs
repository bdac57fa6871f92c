//! Text operators tract 0.23 does not have, registered beside our
//! ai.onnx.ml operators and computed as onnxruntime computes them: what
//! scikit-learn's text vectorizers export (skl2onnx: `StringNormalizer`,
//! onnxruntime's `Tokenizer`, `TfIdfVectorizer`), and a `Flatten` that
//! takes their data-dependent shapes.

pub(crate) mod flatten;
pub(crate) mod string_normalizer;
pub(crate) mod tfidf_vectorizer;
pub(crate) mod tokenizer;
