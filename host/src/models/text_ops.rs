//! Text operators tract 0.23 does not have, registered beside our
//! ai.onnx.ml operators and computed as onnxruntime computes them.

pub(crate) mod tfidf_vectorizer;
