//! The command-line tools beside the runtime loop: [`cli`] parses the
//! arguments; [`precompile`], [`invoke`], [`check`] and [`models`]
//! (`models`, `infer`) do the work.

pub mod check;
pub mod cli;
pub mod invoke;
pub mod models;
pub mod precompile;
