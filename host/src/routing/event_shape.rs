//! Recognises which AWS service produced an event, and the key a route
//! matches on (path, ARN, bucket, source).

use serde_json::Value;

/// What kind of event this is, with its routing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventShape<'e> {
    /// API Gateway REST (v1), HTTP API (v2), Function URL or ALB request.
    Http {
        /// Request path without any API Gateway stage prefix.
        path: &'e str,
    },
    /// SQS batch, keyed by queue ARN.
    Sqs(&'e str),
    /// SNS notification, keyed by topic ARN.
    Sns(&'e str),
    /// S3 notification, keyed by bucket name.
    S3(&'e str),
    /// DynamoDB stream batch, keyed by stream ARN.
    Dynamodb(&'e str),
    /// Kinesis batch, keyed by stream ARN.
    Kinesis(&'e str),
    /// EventBridge event (scheduled or custom).
    EventBridge {
        /// The event's `source`.
        source: &'e str,
        /// ARNs in `resources` (the rule, for scheduled events).
        resources: Vec<&'e str>,
    },
    /// Anything else: a plain business event.
    Other,
}

impl EventShape<'_> {
    /// A short description for error messages.
    pub fn describe(&self) -> String {
        match self {
            Self::Http { path } => format!("an HTTP event for {path}"),
            Self::Sqs(arn) => format!("an SQS event from {arn}"),
            Self::Sns(arn) => format!("an SNS event from {arn}"),
            Self::S3(bucket) => format!("an S3 event from bucket {bucket}"),
            Self::Dynamodb(arn) => format!("a DynamoDB stream event from {arn}"),
            Self::Kinesis(arn) => format!("a Kinesis event from {arn}"),
            Self::EventBridge { source, .. } => {
                format!("an EventBridge event from source {source}")
            }
            Self::Other => "an event of no known AWS shape".to_owned(),
        }
    }
}

/// Classifies an event.
///
/// # Errors
/// An event that clearly claims a shape (an HTTP request context, a
/// `Records` list, EventBridge's `detail-type`) but lacks what that shape
/// needs is malformed: the message says what is missing.
pub fn classify(event: &Value) -> Result<EventShape<'_>, String> {
    let Some(object) = event.as_object() else {
        return Ok(EventShape::Other);
    };

    if let Some(context) = object.get("requestContext") {
        if context.get("http").is_some()
            || object.get("version").and_then(Value::as_str) == Some("2.0")
        {
            let raw_path = object
                .get("rawPath")
                .and_then(Value::as_str)
                .ok_or("HTTP API (v2) event without a string `rawPath`")?;
            let stage = context
                .get("stage")
                .and_then(Value::as_str)
                .unwrap_or("$default");
            return Ok(EventShape::Http {
                path: strip_stage(raw_path, stage),
            });
        }
        if object.contains_key("httpMethod") || context.get("elb").is_some() {
            let path = object
                .get("path")
                .and_then(Value::as_str)
                .ok_or("REST API (v1) or ALB event without a string `path`")?;
            return Ok(EventShape::Http { path });
        }
    }

    if let Some(records) = object.get("Records") {
        let first = records
            .as_array()
            .ok_or("`Records` is not a list")?
            .first()
            .ok_or("`Records` is empty")?;
        return classify_record(first);
    }

    if object.contains_key("detail-type") {
        let source = object
            .get("source")
            .and_then(Value::as_str)
            .ok_or("EventBridge event without a string `source`")?;
        let resources = object
            .get("resources")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        return Ok(EventShape::EventBridge { source, resources });
    }

    Ok(EventShape::Other)
}

fn classify_record<'e>(record: &'e Value) -> Result<EventShape<'e>, String> {
    let field = |name: &str| record.get(name).and_then(Value::as_str);
    let source = field("eventSource")
        .or_else(|| field("EventSource"))
        .ok_or("record without `eventSource`")?;
    let required = |value: Option<&'e str>, what: &str| {
        value.ok_or_else(|| format!("{source} record without {what}"))
    };
    match source {
        "aws:sqs" => Ok(EventShape::Sqs(required(
            field("eventSourceARN"),
            "`eventSourceARN`",
        )?)),
        "aws:sns" => {
            let topic = record
                .get("Sns")
                .and_then(|s| s.get("TopicArn"))
                .and_then(Value::as_str);
            Ok(EventShape::Sns(required(topic, "`Sns.TopicArn`")?))
        }
        "aws:s3" => {
            let bucket = record.pointer("/s3/bucket/name").and_then(Value::as_str);
            Ok(EventShape::S3(required(bucket, "`s3.bucket.name`")?))
        }
        "aws:dynamodb" => Ok(EventShape::Dynamodb(required(
            field("eventSourceARN"),
            "`eventSourceARN`",
        )?)),
        "aws:kinesis" => Ok(EventShape::Kinesis(required(
            field("eventSourceARN"),
            "`eventSourceARN`",
        )?)),
        _ => Ok(EventShape::Other),
    }
}

/// HTTP API v2 puts a non-default stage in front of `rawPath`.
fn strip_stage<'p>(raw_path: &'p str, stage: &str) -> &'p str {
    if stage == "$default" {
        return raw_path;
    }
    match raw_path
        .strip_prefix('/')
        .and_then(|p| p.strip_prefix(stage))
    {
        Some("") => "/",
        Some(rest) if rest.starts_with('/') => rest,
        _ => raw_path,
    }
}
