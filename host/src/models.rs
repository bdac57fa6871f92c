//! ONNX models: loaded and optimized with tract at init, served to guests
//! through the `models` host import and to the `models`/`infer` commands.
//!
//! [`forest`] and [`tree_ops`] replace tract's tree ensemble operators with
//! fast, complete ones (their logistic, and the linear models', over whole
//! batches: [`vector_logistic`]); [`ml_ops`] adds the other ai.onnx.ml operators
//! scikit-learn exports; [`short_rows`] runs a classifier's softmax and
//! argmax; [`small_dense`] runs chains of small dense layers (an MLP's);
//! [`onnx_model`] loads and runs one model, with [`batch_plans`] for the
//! batch sizes a model with larger dense layers keeps running;
//! [`store`] holds them all; [`tensor_json`] and [`tensor_wit`]
//! convert tensors for the command line and for guests.

pub mod batch_plans;
pub(crate) mod forest;
pub mod manifest;
pub mod ml_ops;
pub mod onnx_model;
pub mod short_rows;
pub mod small_dense;
pub(crate) mod store;
pub mod tensor_json;
pub(crate) mod tensor_wit;
pub(crate) mod text_ops;
pub(crate) mod tree_ensemble_v5;
pub(crate) mod tree_ops;
pub(crate) mod vector_logistic;
pub(crate) mod vector_state;
