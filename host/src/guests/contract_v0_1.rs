//! `wasm-lambda:guest@0.1.0` served by the 0.2.0 implementation: each 0.1
//! host function converts its arguments, calls the newest version's
//! implementation (`services.rs`) and converts the answer back; the export
//! calls in `contract.rs` convert the context and errors the same way.
//!
//! Everything 0.1.0 has, 0.2.0 has with the same meaning (0.2.0 only
//! adds), so the conversions are total except one: a model output of
//! strings, which 0.1.0 has no way to carry; the call fails saying so.

use crate::guests::bindings::v0_1::wasm_lambda::guest::{
    host as host_v0_1, models as models_v0_1, types as types_v0_1,
};
use crate::guests::bindings::{host, models, types};
use crate::guests::state::GuestState;

/// A 0.2 context as 0.1 has it (the fields 0.2 added are left out).
pub fn context(context: &types::Context) -> types_v0_1::Context {
    types_v0_1::Context {
        request_id: context.request_id.clone(),
        deadline_ms: context.deadline_ms,
        function_name: context.function_name.clone(),
        function_version: context.function_version.clone(),
        invoked_function_arn: context.invoked_function_arn.clone(),
        memory_limit_mb: context.memory_limit_mb,
        guest_name: context.guest_name.clone(),
        cold: context.cold,
        events_handled: context.events_handled,
    }
}

/// A warmer ping as 0.1 has it (the same fields).
pub fn warm_info(info: &types::WarmInfo) -> types_v0_1::WarmInfo {
    types_v0_1::WarmInfo {
        environment: info.environment.clone(),
        correlation_id: info.correlation_id.clone(),
        concurrency: info.concurrency,
        cold: info.cold,
    }
}

/// A 0.1 guest's error as the host handles it.
pub fn guest_error(error: types_v0_1::GuestError) -> types::GuestError {
    types::GuestError {
        kind: error.kind,
        message: error.message,
    }
}

impl types_v0_1::Host for GuestState {}

impl host_v0_1::Host for GuestState {
    async fn log(&mut self, level: host_v0_1::LogLevel, message: String) {
        let level = match level {
            host_v0_1::LogLevel::Trace => host::LogLevel::Trace,
            host_v0_1::LogLevel::Debug => host::LogLevel::Debug,
            host_v0_1::LogLevel::Info => host::LogLevel::Info,
            host_v0_1::LogLevel::Warn => host::LogLevel::Warn,
            host_v0_1::LogLevel::Error => host::LogLevel::Error,
        };
        host::Host::log(self, level, message).await;
    }

    async fn config(&mut self, key: String) -> Option<String> {
        host::Host::config(self, key).await
    }

    async fn config_entries(&mut self) -> Vec<(String, String)> {
        host::Host::config_entries(self).await
    }
}

impl models_v0_1::Host for GuestState {
    async fn infer(
        &mut self,
        model: String,
        inputs: Vec<models_v0_1::Tensor>,
    ) -> wasmtime::Result<Result<Vec<models_v0_1::Tensor>, models_v0_1::ModelError>> {
        let inputs = inputs.into_iter().map(tensor_to_current).collect();
        let outputs = match models::Host::infer(self, model.clone(), inputs).await? {
            Ok(outputs) => outputs,
            Err(error) => return Ok(Err(model_error(error))),
        };
        Ok(outputs
            .into_iter()
            .map(|tensor| tensor_to_v0_1(&model, tensor))
            .collect())
    }
}

fn tensor_to_current(tensor: models_v0_1::Tensor) -> models::Tensor {
    use models::TensorData as Now;
    use models_v0_1::TensorData as Then;
    models::Tensor {
        name: tensor.name,
        shape: tensor.shape,
        data: match tensor.data {
            Then::Float32(v) => Now::Float32(v),
            Then::Float64(v) => Now::Float64(v),
            Then::Int32(v) => Now::Int32(v),
            Then::Int64(v) => Now::Int64(v),
            Then::Uint8(v) => Now::Uint8(v),
            Then::Boolean(v) => Now::Boolean(v),
        },
    }
}

fn tensor_to_v0_1(
    model: &str,
    tensor: models::Tensor,
) -> Result<models_v0_1::Tensor, models_v0_1::ModelError> {
    use models::TensorData as Now;
    use models_v0_1::TensorData as Then;
    let data = match tensor.data {
        Now::Float32(v) => Then::Float32(v),
        Now::Float64(v) => Then::Float64(v),
        Now::Int32(v) => Then::Int32(v),
        Now::Int64(v) => Then::Int64(v),
        Now::Uint8(v) => Then::Uint8(v),
        Now::Boolean(v) => Then::Boolean(v),
        Now::String(_) => {
            return Err(models_v0_1::ModelError::Failed(format!(
                "model `{model}`: output `{}` holds strings, which guests built for wasm-lambda:guest@0.1.0 cannot receive; rebuild the guest with the current SDK (0.2.0)",
                tensor.name
            )));
        }
    };
    Ok(models_v0_1::Tensor {
        name: tensor.name,
        shape: tensor.shape,
        data,
    })
}

fn model_error(error: models::ModelError) -> models_v0_1::ModelError {
    use models::ModelError as Now;
    use models_v0_1::ModelError as Then;
    match error {
        Now::UnknownModel(m) => Then::UnknownModel(m),
        Now::NotAllowed(m) => Then::NotAllowed(m),
        Now::InvalidInput(m) => Then::InvalidInput(m),
        Now::Failed(m) => Then::Failed(m),
    }
}
