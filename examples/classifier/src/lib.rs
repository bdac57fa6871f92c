//! `classifier`: the model of seed 004 (a scikit-learn RandomForest deployed
//! in a Lambda container), served by the host instead of loaded per call.
//!
//! Request, as in the seed: `{"data": [0, 0, 0, 0]}`. Answer, as the seed's
//! `app.py` gives it, plus the class probabilities:
//! `{"statusCode": 200, "body": 1, "probabilities": [0.26, 0.74]}`.
//! Several rows at once: `{"data": [[...], [...]]}` answers a list in `body`.
//!
//! The model name comes from the guest's config key `model`
//! (default `seed_forest`).

use serde::{Deserialize, Serialize};
use wasm_lambda_sdk::models::{Model, ModelError};
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, config, export_function};

struct Classifier {
    model: Model,
}

impl Default for Classifier {
    fn default() -> Self {
        Self {
            model: Model::new(config("model").unwrap_or_else(|| "seed_forest".into())),
        }
    }
}

/// One row of features, or several.
#[derive(Deserialize)]
#[serde(untagged)]
enum Data {
    Row(Vec<f32>),
    Rows(Vec<Vec<f32>>),
}

#[derive(Deserialize)]
struct Request {
    data: Data,
}

#[derive(Serialize)]
struct Answer {
    #[serde(rename = "statusCode")]
    status_code: u16,
    body: Value,
    probabilities: Value,
}

impl Function for Classifier {
    type Event = Request;
    type Output = Answer;

    fn handle(&mut self, request: Request, _ctx: &Context) -> Result<Answer, Error> {
        let (rows, single) = match request.data {
            Data::Row(row) => (vec![row], true),
            Data::Rows(rows) => (rows, false),
        };
        let answer = self.model.classify(&rows).map_err(|error| match error {
            ModelError::InvalidInput(message) => Error::new("ValidationError", message),
            other => Error::new("ModelError", other.to_string()),
        })?;
        Ok(if single {
            Answer {
                status_code: 200,
                body: json!(answer.labels[0]),
                probabilities: json!(answer.probabilities[0]),
            }
        } else {
            Answer {
                status_code: 200,
                body: json!(answer.labels),
                probabilities: json!(answer.probabilities),
            }
        })
    }
}

export_function!(Classifier);
