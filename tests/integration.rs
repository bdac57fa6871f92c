//! Every integration test of the host, one module per concern, in one test
//! binary: each test binary links the whole host (wasmtime, Cranelift,
//! tract, the AWS and HTTP clients), so one binary instead of fourteen
//! saves thirteen links of it and their codegen (docs/development.md,
//! "Tests"). Run one concern with `cargo test --release --test integration
//! -- MODULE::`.

mod adversarial;
mod check_command;
mod conformance;
mod contract_versions;
mod end_to_end;
mod guest_behaviour;
mod http_guests;
mod js_guests;
mod link_order;
mod ml_operators;
mod models;
mod outbound;
mod portable_artifacts;
mod properties;
mod python_guests;
mod releases;
mod serving;
mod signed_pointers;
mod text_models_in_guests;
mod warmer_fanout;
