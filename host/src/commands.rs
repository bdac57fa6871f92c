//! The command-line tools beside the runtime loop: [`cli`] parses the
//! arguments; [`precompile`], [`invoke`], [`check`], [`models`] (`models`,
//! `infer`), [`publish`], [`releases`] (`releases`, `rollback`, `refresh`) and
//! [`keygen`] and [`warm`] do the work.

pub mod check;
pub mod cli;
pub mod invoke;
pub mod keygen;
pub mod models;
pub(crate) mod pointer_writer;
pub mod precompile;
pub(crate) mod progress;
pub mod publish;
pub mod releases;
pub mod warm;
