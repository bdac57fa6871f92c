//! An HTTP guest's response as the answer Lambda expects for the event's
//! kind: status, headers (repeated ones as `multiValueHeaders` for REST
//! and multi-value ALB, `cookies` for HTTP API and Function URLs) and the
//! body, UTF-8 text as is and anything else base64.

use base64::Engine as _;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::{Map, Value, json};

use crate::http_guests::request::EventKind;

/// What the guest responded, body read whole.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers, repeated ones repeated.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// The answer for an event of `kind`, as JSON bytes.
pub fn encode(kind: EventKind, response: &HttpResponse) -> Vec<u8> {
    let mut answer = Map::new();
    answer.insert("statusCode".into(), json!(response.status.as_u16()));
    match kind {
        EventKind::HttpV2 => {
            let mut cookies = Vec::new();
            let mut headers = Map::new();
            for name in response.headers.keys() {
                let values = texts(&response.headers, name);
                if name == http::header::SET_COOKIE {
                    cookies.extend(values);
                } else {
                    headers.insert(name.as_str().to_owned(), json!(values.join(",")));
                }
            }
            answer.insert("headers".into(), Value::Object(headers));
            if !cookies.is_empty() {
                answer.insert("cookies".into(), json!(cookies));
            }
        }
        EventKind::RestV1 => {
            let (mut single, mut multi) = (Map::new(), Map::new());
            for name in response.headers.keys() {
                let mut values = texts(&response.headers, name);
                if values.len() == 1 {
                    single.insert(name.as_str().to_owned(), json!(values.remove(0)));
                } else {
                    multi.insert(name.as_str().to_owned(), json!(values));
                }
            }
            answer.insert("headers".into(), Value::Object(single));
            if !multi.is_empty() {
                answer.insert("multiValueHeaders".into(), Value::Object(multi));
            }
        }
        EventKind::Alb { multi_value } => {
            let reason = response.status.canonical_reason().unwrap_or("");
            answer.insert(
                "statusDescription".into(),
                json!(format!("{} {reason}", response.status.as_u16()).trim_end()),
            );
            let mut headers = Map::new();
            for name in response.headers.keys() {
                let values = texts(&response.headers, name);
                let value = if multi_value {
                    json!(values)
                } else if name == http::header::SET_COOKIE {
                    // Without multi-value headers an ALB takes one value
                    // per name, and cookies cannot be joined: the last wins.
                    json!(values.last())
                } else {
                    json!(values.join(","))
                };
                headers.insert(name.as_str().to_owned(), value);
            }
            let field = if multi_value {
                "multiValueHeaders"
            } else {
                "headers"
            };
            answer.insert(field.into(), Value::Object(headers));
        }
    }
    let (body, base64) = match std::str::from_utf8(&response.body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (
            base64::engine::general_purpose::STANDARD.encode(&response.body),
            true,
        ),
    };
    answer.insert("body".into(), json!(body));
    answer.insert("isBase64Encoded".into(), json!(base64));
    Value::Object(answer).to_string().into_bytes()
}

/// A header's values as text (bytes HTTP allows but UTF-8 does not, such
/// as Latin-1, are replaced).
fn texts(headers: &HeaderMap, name: &http::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(body: &[u8]) -> HttpResponse {
        let mut headers = HeaderMap::new();
        headers.append("content-type", "text/plain".parse().unwrap());
        headers.append("x-multi", "a".parse().unwrap());
        headers.append("x-multi", "b".parse().unwrap());
        headers.append("set-cookie", "s=1; Path=/".parse().unwrap());
        headers.append("set-cookie", "t=2".parse().unwrap());
        HttpResponse {
            status: StatusCode::CREATED,
            headers,
            body: Bytes::copy_from_slice(body),
        }
    }

    fn answer(kind: EventKind, body: &[u8]) -> Value {
        serde_json::from_slice(&encode(kind, &response(body))).unwrap()
    }

    #[test]
    fn v2_answers_cookies_apart_and_joins_repeated_headers() {
        let a = answer(EventKind::HttpV2, b"hello");
        assert_eq!(a["statusCode"], 201);
        assert_eq!(a["cookies"], json!(["s=1; Path=/", "t=2"]));
        assert_eq!(a["headers"]["x-multi"], "a,b");
        assert_eq!(a["headers"].get("set-cookie"), None);
        assert_eq!(
            (a["body"].as_str(), &a["isBase64Encoded"]),
            (Some("hello"), &json!(false))
        );
    }

    #[test]
    fn v1_answers_repeated_headers_as_multi_value() {
        let a = answer(EventKind::RestV1, b"");
        assert_eq!(a["headers"], json!({"content-type": "text/plain"}));
        assert_eq!(
            a["multiValueHeaders"],
            json!({"x-multi": ["a", "b"], "set-cookie": ["s=1; Path=/", "t=2"]})
        );
    }

    #[test]
    fn alb_answers_in_the_target_groups_header_mode() {
        let multi = answer(EventKind::Alb { multi_value: true }, b"x");
        assert_eq!(multi["statusDescription"], "201 Created");
        assert_eq!(multi["multiValueHeaders"]["x-multi"], json!(["a", "b"]));
        assert_eq!(multi.get("headers"), None);
        let single = answer(EventKind::Alb { multi_value: false }, b"x");
        assert_eq!(single["headers"]["x-multi"], "a,b");
        assert_eq!(single["headers"]["set-cookie"], "t=2");
    }

    #[test]
    fn a_body_that_is_not_utf8_goes_base64() {
        let bytes: Vec<u8> = (0..=255).collect();
        let a = answer(EventKind::HttpV2, &bytes);
        assert_eq!(a["isBase64Encoded"], true);
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(a["body"].as_str().unwrap())
            .unwrap();
        assert_eq!(decoded, bytes);
    }
}
