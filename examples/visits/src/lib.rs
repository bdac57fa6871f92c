//! `visits`: counts visits per path in DynamoDB, answering API Gateway HTTP
//! API (v2) events.
//!
//! The guest holds no credentials: `aws = ["dynamodb"]` in `guests.toml`
//! lets the host sign its DynamoDB requests with the function's role, and
//! keeps the connection to DynamoDB open between warm invocations. The
//! table and endpoint are read once, in `init`, like a client created
//! outside a Lambda handler.
//!
//! ```toml
//! [guests.visits]
//! aws = ["dynamodb"]
//! routes = [{ http = "/visits/*" }]
//! [guests.visits.config]
//! table = "visits"           # partition key `path` (string)
//! region = "eu-west-1"       # or endpoint = "http://127.0.0.1:8000"
//! ```

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use wasm_lambda_sdk::http::Request;
use wasm_lambda_sdk::serde_json::{Value, json};
use wasm_lambda_sdk::{Context, Error, Function, config, export_function};

/// What `init` reads from the guest's configuration.
#[derive(Default)]
struct Visits {
    table: String,
    endpoint: String,
}

impl Function for Visits {
    type Event = ApiGatewayV2httpRequest;
    type Output = ApiGatewayV2httpResponse;

    fn init(&mut self) -> Result<(), Error> {
        self.table = config("table")
            .ok_or_else(|| Error::new("ConfigError", "set `table` in the guest's config"))?;
        self.endpoint = match (config("endpoint"), config("region")) {
            (Some(endpoint), _) => endpoint.trim_end_matches('/').to_owned(),
            (None, Some(region)) => format!("https://dynamodb.{region}.amazonaws.com"),
            (None, None) => {
                return Err(Error::new(
                    "ConfigError",
                    "set `region` (or `endpoint`) in the guest's config",
                ));
            }
        };
        Ok(())
    }

    fn handle(
        &mut self,
        request: ApiGatewayV2httpRequest,
        _ctx: &Context,
    ) -> Result<Self::Output, Error> {
        let path = request.raw_path.as_deref().unwrap_or("/").to_owned();
        let visits = self.count_visit(&path)?;
        Ok(respond(200, json!({ "path": path, "visits": visits })))
    }
}

impl Visits {
    /// Adds one to the path's counter and returns the new count.
    fn count_visit(&self, path: &str) -> Result<u64, Error> {
        let update = json!({
            "TableName": self.table,
            "Key": { "path": { "S": path } },
            "UpdateExpression": "ADD visits :one",
            "ExpressionAttributeValues": { ":one": { "N": "1" } },
            "ReturnValues": "UPDATED_NEW",
        });
        // DynamoDB's JSON protocol has its own content type, so the body
        // is set as bytes rather than with `Request::json`.
        let response = Request::post(format!("{}/", self.endpoint))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", "DynamoDB_20120810.UpdateItem")
            .body(update.to_string())
            .send()
            .map_err(|e| e.into_error())?;
        if !response.is_success() {
            // DynamoDB's errors are JSON with `__type` and `message`; a
            // proxy's or emulator's may not be.
            let answer: Value = response.json().unwrap_or(Value::Null);
            let kind = answer["__type"].as_str().unwrap_or("DynamoDBError");
            let kind = kind.rsplit('#').next().unwrap_or(kind).to_owned();
            let message = answer["message"]
                .as_str()
                .or(answer["Message"].as_str())
                .unwrap_or("DynamoDB refused the update");
            return Err(Error::new(
                kind,
                format!("{message} (status {})", response.status()),
            ));
        }
        let answer: Value = response.json().map_err(|e| e.into_error())?;
        answer["Attributes"]["visits"]["N"]
            .as_str()
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| Error::new("DynamoDBError", format!("no count in {answer}")))
    }
}

fn respond(status: i64, body: Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

export_function!(Visits);
