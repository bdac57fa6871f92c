//! Decides where an event goes. First match wins:
//!
//! 1. warmer ping → the host itself;
//! 2. envelope `{"guest": NAME, "event": ...}` → NAME gets the inner event;
//! 3. HTTP event → a manifest `http` route, else the guest named by the
//!    first path segment, unless that guest declares routes (then only its
//!    routes and envelopes reach it);
//! 4. record / EventBridge event → a manifest route on ARN, bucket or source;
//! 5. `WASM_LAMBDA_DEFAULT_GUEST`;
//! 6. otherwise a `NoRoute` error naming the guests that exist.
//!
//! Within one event source the most specific pattern wins (literal before
//! wildcard, then the longest).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::guests::manifest::RouteRule;
use crate::routing::event_shape::{EventShape, classify};
use crate::routing::pattern::Pattern;
use crate::routing::warmer::{self, WarmerPing};

/// Where an event goes.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The host answers the ping itself.
    Warmer(WarmerPing),
    /// A guest handles it.
    Guest {
        /// The guest's name.
        guest: String,
        /// What the guest receives.
        payload: Payload,
    },
}

/// What part of the event a guest receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// The whole event, as it arrived.
    Whole,
    /// The `event` field of an envelope, byte for byte.
    EnvelopeEvent,
}

/// Why an event could not be routed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No rule matches; the message lists the guests.
    NoRoute(String),
    /// The event claims a shape it does not have.
    BadEvent(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Http,
    Sqs,
    Sns,
    S3,
    Dynamodb,
    Kinesis,
    EventBridge,
}

/// The routing table, built once at init.
#[derive(Debug, Clone, Default)]
pub struct Router {
    rules: Vec<(Source, Pattern, String)>,
    guests: BTreeSet<String>,
    /// Guests without routes: an HTTP path's first segment may name them.
    by_segment: BTreeSet<String>,
    default_guest: Option<String>,
}

impl Router {
    /// Builds the table from every guest's routes.
    pub fn new<'a>(
        guests: impl IntoIterator<Item = (&'a str, &'a [RouteRule])>,
        default_guest: Option<String>,
    ) -> Self {
        let mut router = Router {
            default_guest,
            ..Router::default()
        };
        for (guest, rules) in guests {
            router.guests.insert(guest.to_owned());
            if rules.is_empty() {
                router.by_segment.insert(guest.to_owned());
            }
            for rule in rules {
                let (source, text) = match rule {
                    RouteRule::Http(p) => (Source::Http, p),
                    RouteRule::Sqs(p) => (Source::Sqs, p),
                    RouteRule::Sns(p) => (Source::Sns, p),
                    RouteRule::S3(p) => (Source::S3, p),
                    RouteRule::Dynamodb(p) => (Source::Dynamodb, p),
                    RouteRule::Kinesis(p) => (Source::Kinesis, p),
                    RouteRule::Eventbridge(p) => (Source::EventBridge, p),
                };
                router
                    .rules
                    .push((source, Pattern::new(text), guest.to_owned()));
            }
        }
        // Stable sort: equal specificity keeps guest-name order.
        router
            .rules
            .sort_by_key(|rule| std::cmp::Reverse(rule.1.specificity()));
        router
    }

    /// Routes one event.
    ///
    /// # Errors
    /// [`RouteError::BadEvent`] for malformed events, [`RouteError::NoRoute`]
    /// when nothing matches.
    pub fn route(&self, event: &Value) -> Result<Decision, RouteError> {
        if let Some(ping) = warmer::detect(event) {
            return Ok(Decision::Warmer(ping));
        }
        if let Some(decision) = self.envelope(event)? {
            return Ok(decision);
        }
        let shape = classify(event).map_err(RouteError::BadEvent)?;
        if let Some(guest) = self
            .by_rule(&shape)
            .or_else(|| self.by_path_segment(&shape))
        {
            return Ok(whole(guest));
        }
        if let Some(guest) = &self.default_guest {
            return Ok(whole(guest));
        }
        Err(RouteError::NoRoute(format!(
            "no guest routes {}; guests: {}. Route it with guests.toml, an envelope {{\"guest\": NAME, \"event\": ...}}, or WASM_LAMBDA_DEFAULT_GUEST",
            shape.describe(),
            self.guest_list(),
        )))
    }

    fn envelope(&self, event: &Value) -> Result<Option<Decision>, RouteError> {
        let Some(object) = event.as_object() else {
            return Ok(None);
        };
        let (Some(guest), true, 2) = (
            object.get("guest"),
            object.contains_key("event"),
            object.len(),
        ) else {
            return Ok(None);
        };
        let guest = guest
            .as_str()
            .ok_or_else(|| RouteError::BadEvent("envelope `guest` must be a string".into()))?;
        if !self.guests.contains(guest) {
            return Err(RouteError::NoRoute(format!(
                "envelope names guest `{guest}`, which does not exist; guests: {}",
                self.guest_list()
            )));
        }
        Ok(Some(Decision::Guest {
            guest: guest.to_owned(),
            payload: Payload::EnvelopeEvent,
        }))
    }

    fn by_rule(&self, shape: &EventShape<'_>) -> Option<&str> {
        let matches = |source: Source, key: &str| {
            self.rules
                .iter()
                .find(|(s, p, _)| *s == source && p.matches(key))
                .map(|(_, _, g)| g.as_str())
        };
        match shape {
            EventShape::Http { path } => matches(Source::Http, path),
            EventShape::Sqs(arn) => matches(Source::Sqs, arn),
            EventShape::Sns(arn) => matches(Source::Sns, arn),
            EventShape::S3(bucket) => matches(Source::S3, bucket),
            EventShape::Dynamodb(arn) => matches(Source::Dynamodb, arn),
            EventShape::Kinesis(arn) => matches(Source::Kinesis, arn),
            EventShape::EventBridge { source, resources } => matches(Source::EventBridge, source)
                .or_else(|| {
                    resources
                        .iter()
                        .find_map(|arn| matches(Source::EventBridge, arn))
                }),
            EventShape::Other => None,
        }
    }

    fn by_path_segment(&self, shape: &EventShape<'_>) -> Option<&str> {
        let EventShape::Http { path } = shape else {
            return None;
        };
        let segment = path.trim_start_matches('/').split('/').next()?;
        self.by_segment.get(segment).map(String::as_str)
    }

    fn guest_list(&self) -> String {
        if self.guests.is_empty() {
            "(none loaded)".to_owned()
        } else {
            self.guests
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        }
    }
}

fn whole(guest: &str) -> Decision {
    Decision::Guest {
        guest: guest.to_owned(),
        payload: Payload::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn router(default: Option<&str>) -> Router {
        let orders = [
            RouteRule::Http("/api/orders/*".into()),
            RouteRule::Sqs("arn:aws:sqs:*:*:orders".into()),
            RouteRule::Sns("arn:aws:sns:eu-west-1:123456789012:orders".into()),
            RouteRule::S3("uploads-*".into()),
            RouteRule::Dynamodb("arn:aws:dynamodb:*:*:table/orders/stream/*".into()),
            RouteRule::Kinesis("arn:aws:kinesis:*:*:stream/clicks".into()),
            RouteRule::Eventbridge("com.shop.orders".into()),
            RouteRule::Eventbridge("arn:aws:events:*:*:rule/nightly".into()),
        ];
        let api = [RouteRule::Http("/api/*".into())];
        let none: [RouteRule; 0] = [];
        Router::new(
            [
                ("orders", &orders[..]),
                ("api", &api[..]),
                ("hello", &none[..]),
                ("classifier", &none[..]),
            ],
            default.map(str::to_owned),
        )
    }

    fn guest_of(router: &Router, event: &Value) -> String {
        match router.route(event) {
            Ok(Decision::Guest { guest, .. }) => guest,
            other => panic!("{event} routed to {other:?}"),
        }
    }

    #[test]
    fn warmer_pings_go_to_the_host() {
        let r = router(Some("hello"));
        for event in [
            json!({"warmer": true}),
            json!({"source": "serverless-plugin-warmup"}),
        ] {
            assert!(
                matches!(r.route(&event), Ok(Decision::Warmer(_))),
                "{event}"
            );
        }
        // Near misses are business events: they fall to the default guest.
        for event in [
            json!({"warmer": "yes"}),
            json!({"warmer": false, "x": 1}),
            json!({"source": "serverless"}),
        ] {
            assert_eq!(guest_of(&r, &event), "hello", "{event}");
        }
    }

    #[test]
    fn envelope_delivers_the_inner_event() {
        let r = router(None);
        let event = json!({"guest": "classifier", "event": {"data": [0, 0, 0, 0]}});
        assert_eq!(
            r.route(&event),
            Ok(Decision::Guest {
                guest: "classifier".into(),
                payload: Payload::EnvelopeEvent
            })
        );
        // A warmer ping inside an envelope is the guest's business.
        let event = json!({"guest": "hello", "event": {"warmer": true}});
        assert!(matches!(
            r.route(&event),
            Ok(Decision::Guest {
                payload: Payload::EnvelopeEvent,
                ..
            })
        ));
    }

    #[test]
    fn envelope_errors() {
        let r = router(Some("hello"));
        let err = r.route(&json!({"guest": "nope", "event": {}})).unwrap_err();
        let RouteError::NoRoute(message) = err else {
            panic!()
        };
        assert!(
            message.contains("`nope`") && message.contains("classifier, hello, orders"),
            "{message}"
        );
        assert!(matches!(
            r.route(&json!({"guest": 7, "event": {}})),
            Err(RouteError::BadEvent(_))
        ));
        // Extra keys: not an envelope, a business event.
        assert_eq!(
            guest_of(&r, &json!({"guest": "orders", "event": {}, "extra": 1})),
            "hello"
        );
    }

    #[test]
    fn http_api_v2_and_function_urls() {
        let r = router(None);
        let v2 = |path: &str, stage: &str| {
            json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
                   "requestContext": {"http": {"method": "GET", "path": path}, "stage": stage}})
        };
        assert_eq!(guest_of(&r, &v2("/api/orders/42", "$default")), "orders");
        assert_eq!(guest_of(&r, &v2("/api/other", "$default")), "api");
        assert_eq!(
            guest_of(&r, &v2("/classifier/predict", "$default")),
            "classifier"
        );
        assert_eq!(
            guest_of(&r, &v2("/prod/classifier/predict", "prod")),
            "classifier"
        );
        assert!(matches!(
            r.route(&v2("/unknown/x", "$default")),
            Err(RouteError::NoRoute(_))
        ));
    }

    #[test]
    fn guests_with_routes_are_not_reached_by_path_segment() {
        let r = router(None);
        let v2 = |path: &str| {
            json!({"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
                   "requestContext": {"http": {"method": "GET", "path": path}, "stage": "$default"}})
        };
        // `orders` declares routes (SQS, HTTP under /api/orders/...): a
        // public request to /orders/... must not reach it.
        assert!(matches!(
            r.route(&v2("/orders/anything")),
            Err(RouteError::NoRoute(_))
        ));
        // Its own routes and envelopes still do.
        assert_eq!(guest_of(&r, &v2("/api/orders/1")), "orders");
        assert_eq!(
            guest_of(&r, &json!({"guest": "orders", "event": {}})),
            "orders"
        );
        // Guests without routes keep the first-segment rule.
        assert_eq!(guest_of(&r, &v2("/hello/x")), "hello");
    }

    #[test]
    fn rest_api_v1_and_alb() {
        let r = router(None);
        let v1 = json!({"resource": "/{proxy+}", "path": "/hello/there", "httpMethod": "POST",
                        "requestContext": {"stage": "prod", "resourcePath": "/{proxy+}"}});
        assert_eq!(guest_of(&r, &v1), "hello");
        let alb = json!({"requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:..."}},
                         "httpMethod": "GET", "path": "/api/orders/1"});
        assert_eq!(guest_of(&r, &alb), "orders");
    }

    #[test]
    fn records_route_by_source() {
        let r = router(None);
        let sqs = json!({"Records": [{"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:orders", "body": "{}"}]});
        let sns = json!({"Records": [{"EventSource": "aws:sns", "Sns": {"TopicArn": "arn:aws:sns:eu-west-1:123456789012:orders"}}]});
        let s3 = json!({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {"name": "uploads-eu"}, "object": {"key": "a"}}}]});
        let ddb = json!({"Records": [{"eventSource": "aws:dynamodb", "eventSourceARN": "arn:aws:dynamodb:eu-west-1:1:table/orders/stream/2024"}]});
        let kinesis = json!({"Records": [{"eventSource": "aws:kinesis", "eventSourceARN": "arn:aws:kinesis:eu-west-1:1:stream/clicks"}]});
        for event in [sqs, sns, s3, ddb, kinesis] {
            assert_eq!(guest_of(&r, &event), "orders", "{event}");
        }
        let other_queue = json!({"Records": [{"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:eu-west-1:1:orders-dlq"}]});
        assert!(
            matches!(r.route(&other_queue), Err(RouteError::NoRoute(m)) if m.contains("orders-dlq"))
        );
    }

    #[test]
    fn eventbridge_by_source_or_rule() {
        let r = router(None);
        let custom =
            json!({"source": "com.shop.orders", "detail-type": "OrderPlaced", "detail": {}});
        assert_eq!(guest_of(&r, &custom), "orders");
        let scheduled = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {},
                               "resources": ["arn:aws:events:eu-west-1:1:rule/nightly"]});
        assert_eq!(guest_of(&r, &scheduled), "orders");
        let unrouted =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "resources": []});
        assert!(matches!(r.route(&unrouted), Err(RouteError::NoRoute(_))));
    }

    #[test]
    fn default_guest_then_no_route() {
        let event = json!({"data": [0, 0, 0, 0]});
        assert_eq!(guest_of(&router(Some("classifier")), &event), "classifier");
        let Err(RouteError::NoRoute(message)) = router(None).route(&event) else {
            panic!()
        };
        assert!(
            message.contains("guests: api, classifier, hello, orders"),
            "{message}"
        );
        assert!(message.contains("WASM_LAMBDA_DEFAULT_GUEST"), "{message}");
        let Err(RouteError::NoRoute(message)) = Router::new([], None).route(&event) else {
            panic!()
        };
        assert!(message.contains("(none loaded)"), "{message}");
    }

    #[test]
    fn malformed_events_of_every_shape_are_bad_events() {
        let r = router(Some("hello"));
        for event in [
            json!({"version": "2.0", "requestContext": {"http": {}}}),
            json!({"version": "2.0", "rawPath": 7, "requestContext": {"http": {}}}),
            json!({"httpMethod": "GET", "requestContext": {}}),
            json!({"requestContext": {"elb": {}}, "path": null}),
            json!({"Records": "nope"}),
            json!({"Records": []}),
            json!({"Records": [{"body": "no source"}]}),
            json!({"Records": [{"eventSource": "aws:sqs"}]}),
            json!({"Records": [{"EventSource": "aws:sns", "Sns": {}}]}),
            json!({"Records": [{"eventSource": "aws:s3", "s3": {"bucket": {}}}]}),
            json!({"Records": [{"eventSource": "aws:dynamodb"}]}),
            json!({"Records": [{"eventSource": "aws:kinesis", "eventSourceARN": 5}]}),
            json!({"detail-type": "X", "source": 1}),
        ] {
            assert!(
                matches!(r.route(&event), Err(RouteError::BadEvent(_))),
                "{event} not refused"
            );
        }
    }

    #[test]
    fn plain_values_are_business_events() {
        let r = router(Some("hello"));
        for event in [
            json!(null),
            json!(42),
            json!("text"),
            json!([1, 2]),
            json!({}),
        ] {
            assert_eq!(guest_of(&r, &event), "hello", "{event}");
        }
    }
}
