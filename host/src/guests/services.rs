//! The host services every guest imports (`host`: logs and configuration;
//! `models`: inference and descriptions), written once against the newest
//! contract's types. Guests of older versions reach them through their
//! adapter (`contract_v0_1.rs`).

use std::sync::Arc;
use std::time::Instant;

use crate::guests::bindings::{host, models, types};
use crate::guests::model_calls::{allowed_models, describe_model, run_model};
use crate::guests::output::Level;
use crate::guests::state::GuestState;

impl types::Host for GuestState {}

impl host::Host for GuestState {
    async fn log(&mut self, level: host::LogLevel, message: String) {
        let level = match level {
            host::LogLevel::Trace => Level::Trace,
            host::LogLevel::Debug => Level::Debug,
            host::LogLevel::Info => Level::Info,
            host::LogLevel::Warn => Level::Warn,
            host::LogLevel::Error => Level::Error,
        };
        self.output.log(level, &message);
    }

    async fn config(&mut self, key: String) -> Option<String> {
        self.identity().config.get(&key).cloned()
    }

    async fn config_entries(&mut self) -> Vec<(String, String)> {
        self.identity()
            .config
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    async fn environment(&mut self) -> types::LambdaEnvironment {
        self.identity().environment.clone()
    }
}

impl models::Host for GuestState {
    async fn infer(
        &mut self,
        model: String,
        inputs: Vec<models::Tensor>,
    ) -> wasmtime::Result<Result<Vec<models::Tensor>, models::ModelError>> {
        let Some(deadline) = self.deadline else {
            return Ok(Err(models::ModelError::Failed(
                "models are not available outside a call".to_owned(),
            )));
        };
        if Instant::now() >= deadline {
            // The same trap an epoch deadline raises: reported as GuestTimeout.
            return Err(wasmtime::Error::new(wasmtime::Trap::Interrupt));
        }
        let started = Instant::now();
        let result = run_model(Arc::clone(self.identity()), model, inputs, deadline).await;
        self.model_time += started.elapsed();
        Ok(result)
    }

    async fn describe(&mut self, model: String) -> Result<models::ModelInfo, models::ModelError> {
        describe_model(self.identity(), &model)
    }

    async fn list(&mut self) -> Vec<String> {
        allowed_models(self.identity())
    }
}
