//! SDK errors as one line a person can act on (used through [`crate::StageClients::error`]).
//!
//! `cloudformation:DeleteStack zipster-dev: HTTP 403 AccessDenied: User … is not
//! authorized … (request id 7f3c…); the credentials in use lack
//! cloudformation:DeleteStack on zipster-dev: grant it, or use a role that has it`.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::RequestId;

/// The service an operation error belongs to, from its crate (`aws_sdk_cloudformation::…`).
pub fn service_of<E>() -> &'static str {
    let name = std::any::type_name::<E>();
    name.strip_prefix("aws_sdk_").and_then(|rest| rest.split("::").next()).unwrap_or("aws")
}

/// Where the SDK sends a service's requests when no endpoint is configured.
pub fn default_endpoint(service: &str, region: &str) -> String {
    // The one client whose crate is not named after its endpoint.
    let service = if service == "cloudwatchlogs" { "logs" } else { service };
    format!("https://{service}.{region}.amazonaws.com")
}

pub fn describe<E>(
    operation: &str,
    resource: &str,
    service: &str,
    endpoint: &str,
    error: &SdkError<E, HttpResponse>,
) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let head = format!("{service}:{operation} {resource}");
    match error {
        SdkError::ServiceError(context) => {
            let service_error = context.err();
            let answer = ServiceAnswer {
                status: context.raw().status().as_u16(),
                code: service_error.code().unwrap_or(""),
                message: service_error.message().unwrap_or(""),
                request_id: error.request_id().or_else(|| service_error.meta().request_id()),
            };
            service_answer(operation, resource, service, &answer)
        }
        SdkError::DispatchFailure(failure) => {
            let cause = causes(error);
            if failure.is_timeout() {
                unreachable(&head, endpoint, true, &cause)
            } else if failure.is_user() || looks_like_missing_credentials(&cause) {
                format!("{head}: {}", missing_credentials())
            } else {
                unreachable(&head, endpoint, false, &cause)
            }
        }
        SdkError::TimeoutError(_) => unreachable(&head, endpoint, true, ""),
        SdkError::ResponseError(context) => {
            unreadable(&head, endpoint, context.raw().status().as_u16(), &causes(error))
        }
        SdkError::ConstructionFailure(_) => {
            let cause = causes(error);
            if looks_like_missing_credentials(&cause) {
                format!("{head}: {}", missing_credentials())
            } else {
                format!("{head}: the request could not be built ({cause})")
            }
        }
        _ => format!("{head}: {}", causes(error)),
    }
}

/// What a service answered with an error status, read by the SDK or by [`crate::ec2`].
pub(crate) struct ServiceAnswer<'a> {
    pub status: u16,
    pub code: &'a str,
    pub message: &'a str,
    pub request_id: Option<&'a str>,
}

/// `service:Operation resource: HTTP status Code: message (request id …); hint`.
pub(crate) fn service_answer(operation: &str, resource: &str, service: &str, answer: &ServiceAnswer<'_>) -> String {
    let ServiceAnswer { status, code, message, request_id } = *answer;
    let mut line = format!("{service}:{operation} {resource}: HTTP {status}");
    if !code.is_empty() {
        line.push_str(&format!(" {code}"));
    }
    if !message.is_empty() {
        line.push_str(&format!(": {}", one_line(message)));
    }
    if code.is_empty() && message.is_empty() {
        line.push_str(" with no error code or message");
    }
    if let Some(id) = request_id {
        line.push_str(&format!(" (request id {id})"));
    }
    if let Some(hint) = hint(code, status, service, operation, resource) {
        line.push_str("; ");
        line.push_str(&hint);
    }
    line
}

/// The endpoint did not answer (in time, or at all); `cause` may be empty.
pub(crate) fn unreachable(head: &str, endpoint: &str, timeout: bool, cause: &str) -> String {
    let cause = if cause.is_empty() { String::new() } else { format!(" ({cause})") };
    if timeout {
        format!("{head}: {endpoint} did not answer in time{cause}; check the network, or AWS_ENDPOINT_URL")
    } else {
        format!("{head}: could not reach {endpoint}{cause}; check the network, or AWS_ENDPOINT_URL")
    }
}

/// An answer that is not the service's (a proxy's page, a truncated body).
pub(crate) fn unreadable(head: &str, endpoint: &str, status: u16, cause: &str) -> String {
    format!(
        "{head}: HTTP {status} from {endpoint}, and the answer could not be read ({cause}); is this endpoint the AWS service?"
    )
}

/// What usually causes this error code, and what to do.
fn hint(code: &str, status: u16, service: &str, operation: &str, resource: &str) -> Option<String> {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "AuthorizationErrorException" => Some(format!(
            "the credentials in use lack {} on {resource}: grant it, or use a role that has it",
            iam_action(service, operation)
        )),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => {
            Some(format!("the session has expired: {}", refresh_credentials()))
        }
        "InvalidClientTokenId"
        | "AuthFailure"
        | "InvalidAccessKeyId"
        | "UnrecognizedClientException"
        | "SignatureDoesNotMatch"
        | "IncompleteSignature" => Some(format!("AWS does not accept these credentials: {}", refresh_credentials())),
        "InvalidSnapshot.InUse" => Some(format!(
            "an image (AMI) is registered from {resource}: deregister it (aws ec2 deregister-image), then run this again"
        )),
        "" if status == 403 => Some(format!(
            "access denied without a reason: check that the credentials may call {} on {resource}",
            iam_action(service, operation)
        )),
        _ => None,
    }
}

/// The IAM action an operation needs, where it is not `service:Operation`.
fn iam_action(service: &str, operation: &str) -> String {
    let action = match (service, operation) {
        ("s3", "HeadBucket" | "ListObjectsV2") => "ListBucket",
        ("s3", "HeadObject") => "GetObject",
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "DeleteObjects") => "DeleteObjectVersion",
        ("s3", "PutPublicAccessBlock") => "PutBucketPublicAccessBlock",
        ("s3", "PutBucketEncryption") => "PutEncryptionConfiguration",
        ("s3", "PutBucketNotificationConfiguration") => "PutBucketNotification",
        ("lambda", "Invoke") => "InvokeFunction",
        _ => operation,
    };
    format!("{service}:{action}")
}

const CREDENTIAL_CHAIN: &str = "the SDK looks for AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, then AWS_PROFILE (or \
     the default profile) in ~/.aws/config and ~/.aws/credentials, then SSO, then an instance or container role";

fn refresh_credentials() -> String {
    format!("refresh them (`aws sso login` for an SSO profile) or set others; {CREDENTIAL_CHAIN}")
}

pub(crate) fn missing_credentials() -> String {
    format!(
        "no AWS credentials found: {CREDENTIAL_CHAIN}; set one of those (after `aws sso login` if it is an SSO profile)"
    )
}

fn looks_like_missing_credentials(detail: &str) -> bool {
    detail.contains("no credentials")
        || detail.contains("CredentialsNotLoaded")
        || detail.contains("credentials provider")
}

/// The error and its sources, each by its `Display`, in one line. Not the SDK's
/// `DisplayErrorContext`: it ends with the whole error's `Debug` dump.
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        let text = one_line(&current.to_string());
        // Wrappers often repeat their source's text; say each thing once.
        if !text.is_empty() && !parts.last().is_some_and(|last| last.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

/// Service messages sometimes span lines; a message for a person is one.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_comes_from_the_error_type_and_the_action_from_the_operation() {
        assert_eq!(service_of::<aws_sdk_cloudformation::operation::delete_stack::DeleteStackError>(), "cloudformation");
        assert_eq!(service_of::<aws_sdk_s3::operation::head_bucket::HeadBucketError>(), "s3");
        assert_eq!(iam_action("s3", "HeadBucket"), "s3:ListBucket");
        assert_eq!(iam_action("cloudformation", "DeleteStack"), "cloudformation:DeleteStack");
        assert_eq!(default_endpoint("s3", "eu-west-1"), "https://s3.eu-west-1.amazonaws.com");
        assert_eq!(one_line("User: x\n  is not authorized"), "User: x is not authorized");
    }
}
