//! DynamoDB on moto's server (the same `moto_server` as [`crate::S3Server`]):
//! creating a table and reading items, with plain HTTP calls in DynamoDB's
//! JSON protocol. The `Authorization` header only names the region (moto
//! does not check signatures).

use serde_json::{Value, json};

const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0";

/// Calls DynamoDB `action` at `endpoint` with `body`; returns status and answer.
pub fn call(endpoint: &str, action: &str, body: &Value) -> (u16, Value) {
    let mut response = crate::plain_agent()
        .post(&format!("{endpoint}/"))
        .header("Content-Type", "application/x-amz-json-1.0")
        .header("X-Amz-Target", &format!("DynamoDB_20120810.{action}"))
        .header("Authorization", AUTHORIZATION)
        .send(body.to_string().as_bytes())
        .unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Creates a table whose partition key is the string `key`.
pub fn create_table(endpoint: &str, table: &str, key: &str) {
    let (status, answer) = call(
        endpoint,
        "CreateTable",
        &json!({
            "TableName": table,
            "KeySchema": [{"AttributeName": key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    );
    assert_eq!(status, 200, "CreateTable {table}: {answer}");
}

/// The item whose `key` is the string `value`, if any.
pub fn get_item(endpoint: &str, table: &str, key: &str, value: &str) -> Option<Value> {
    let (status, answer) = call(
        endpoint,
        "GetItem",
        &json!({"TableName": table, "Key": {key: {"S": value}}}),
    );
    assert_eq!(status, 200, "GetItem {table}: {answer}");
    answer.get("Item").cloned()
}
