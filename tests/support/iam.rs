//! IAM on moto's server: a user allowed some actions, and its access key,
//! so requests signed with that key pass moto's signature and permission
//! checks (see [`crate::S3Server::start_checking_signatures`]).

const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0";

/// Creates user `name` allowed `action` (e.g. `dynamodb:*`) on every
/// resource, and returns its access key id and secret. Three actions.
pub fn user_with_key(endpoint: &str, name: &str, action: &str) -> (String, String) {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"*"}}]}}"#
    );
    call(endpoint, &format!("Action=CreateUser&UserName={name}"));
    call(
        endpoint,
        &format!(
            "Action=PutUserPolicy&UserName={name}&PolicyName=allow&PolicyDocument={}",
            form_encode(&policy)
        ),
    );
    let answer = call(endpoint, &format!("Action=CreateAccessKey&UserName={name}"));
    (
        between(&answer, "<AccessKeyId>", "</AccessKeyId>"),
        between(&answer, "<SecretAccessKey>", "</SecretAccessKey>"),
    )
}

fn call(endpoint: &str, form: &str) -> String {
    let mut response = crate::plain_agent()
        .post(&format!("{endpoint}/"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", AUTHORIZATION)
        .send(format!("{form}&Version=2010-05-08").as_bytes())
        .unwrap();
    let status = response.status();
    let text = response.body_mut().read_to_string().unwrap();
    assert!(status.is_success(), "IAM {form}: {status} {text}");
    text
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text
        .find(start)
        .map(|i| i + start.len())
        .unwrap_or_else(|| panic!("no {start} in {text}"));
    let to = text[from..]
        .find(end)
        .map(|i| i + from)
        .unwrap_or_else(|| panic!("no {end} in {text}"));
    text[from..to].to_owned()
}

fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}
