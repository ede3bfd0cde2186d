//! One caller for AWS's Query API (form-encoded POST, XML answer), for the few calls
//! the project makes to services whose SDK crate it does not compile: EC2's snapshot
//! calls (`destroy`, [`crate::ec2`]) and CloudWatch's `DescribeAlarms` (`status`).
//!
//! Not aws-sdk-ec2 nor aws-sdk-cloudwatch: the first is one of the largest crates there
//! is, and either would be compiled on every cold build for one to three calls.
//! Everything used here is already compiled for the other clients: the SdkConfig's
//! credentials chain and endpoint settings, aws-sigv4 for the signature, the SDK's own
//! HTTPS connector (aws-smithy-http-client: rustls, the configured connect timeout),
//! and the SDK's XML reader (aws-smithy-xml). Errors are one line, as every SDK error
//! is (`crate::error`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::Result;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningParams, SigningSettings, sign};
use aws_sigv4::sign::v4;
use aws_smithy_http_client::Connector;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{HttpConnector, HttpConnectorSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::byte_stream::ByteStream;
use aws_smithy_xml::decode::try_data;
pub use aws_smithy_xml::decode::{Document, ScopedDecoder};
use aws_types::SdkConfig;
use aws_types::service_config::ServiceConfigKey;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{self, ServiceAnswer};

/// A Query API service: how it is named, signed, configured and versioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// IAM's prefix, which error lines use (`ec2:DeleteSnapshot`, `cloudwatch:DescribeAlarms`).
    pub iam: &'static str,
    /// SigV4's service name, also the public endpoint's first label.
    pub signing_name: &'static str,
    /// The SDK's service id, which names its endpoint setting (`AWS_ENDPOINT_URL_EC2`,
    /// `AWS_ENDPOINT_URL_CLOUDWATCH`, a profile's `services` section).
    pub service_id: &'static str,
    /// The API version every request names.
    pub version: &'static str,
}

/// EC2 (the current API version since 2016).
pub const EC2: Service = Service { iam: "ec2", signing_name: "ec2", service_id: "EC2", version: "2016-11-15" };
/// CloudWatch (metrics and alarms), whose endpoint is `monitoring.<region>`.
pub const CLOUDWATCH: Service =
    Service { iam: "cloudwatch", signing_name: "monitoring", service_id: "CloudWatch", version: "2010-08-01" };

const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// One attempt, from connecting to the last byte of the answer: no call waits longer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Throttling and 5xx are retried after 0.5 s, 1 s, 2 s: request limits are per
/// account, and a snapshot purge makes one call per snapshot.
const ATTEMPTS: u32 = 4;
/// Credentials closer than this to their expiry are fetched again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// What the Query API encodes: all but the unreserved characters of RFC 3986.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A Query API client for one service and region, from the same configuration as the
/// SDK clients.
#[derive(Clone, Debug)]
pub struct QueryClient {
    service: Service,
    connector: Arc<Connector>,
    credentials: Option<SharedCredentialsProvider>,
    cached: Arc<Mutex<Option<Credentials>>>,
    region: String,
    /// Without a trailing slash: `https://ec2.eu-west-1.amazonaws.com`, or moto's.
    endpoint: String,
}

impl QueryClient {
    pub fn from_config(config: &SdkConfig, region: &str, service: Service) -> Self {
        let connect = config.timeout_config().and_then(|t| t.connect_timeout()).unwrap_or(Duration::from_millis(3100));
        let settings = HttpConnectorSettings::builder().connect_timeout(connect).build();
        let mut builder = Connector::builder().connector_settings(settings);
        // The connector enforces its connect timeout with the SDK's sleep (tokio's).
        builder.set_sleep_impl(config.sleep_impl());
        let connector = builder.tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build();
        Self {
            service,
            connector: Arc::new(connector),
            credentials: config.credentials_provider(),
            cached: Arc::default(),
            region: region.to_owned(),
            endpoint: endpoint(config, region, &service),
        }
    }

    /// `action` with `params`, its answer's text; a failure is one line naming the
    /// action and `resource` (what the call is about, for a person).
    pub async fn call(&self, action: &'static str, resource: &str, params: Vec<(String, String)>) -> Result<String> {
        self.attempts(action, params).await.map_err(|failure| self.failure(action, resource, failure))
    }

    /// The line for an answer that came with a success status but could not be read.
    pub fn unreadable(&self, action: &str, resource: &str, cause: &str) -> anyhow::Error {
        anyhow::anyhow!(error::unreadable(&self.head(action, resource), &self.endpoint, 200, cause))
    }

    /// The call, retried on throttling, 5xx and lost connections: only calls that are
    /// safe to repeat go through here (reads, tags, and deletes whose repetition
    /// answers NotFound, which their caller takes as success).
    pub(crate) async fn attempts(
        &self,
        action: &'static str,
        params: Vec<(String, String)>,
    ) -> Result<String, Failure> {
        let mut body =
            vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), self.service.version.to_owned())];
        body.extend(params);
        let body = form(&body);
        let mut attempt = 1;
        loop {
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.attempt(&body)).await {
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(failure)) if attempt < ATTEMPTS && failure.is_transient() => {}
                Ok(Err(failure)) => return Err(failure),
                Err(_) if attempt < ATTEMPTS => {}
                Err(_) => return Err(Failure::Unreachable { timeout: true, cause: String::new() }),
            }
            tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, body: &str) -> Result<String, Failure> {
        let credentials = self.credentials().await?;
        let request =
            signed(&self.endpoint, &self.region, self.service.signing_name, body, credentials, SystemTime::now())?;
        let response = self
            .connector
            .call(request)
            .await
            .map_err(|e| Failure::Unreachable { timeout: e.is_timeout(), cause: error::causes(&e) })?;
        let status = response.status().as_u16();
        let header_request_id = response.headers().get("x-amzn-requestid").map(str::to_owned);
        let bytes = ByteStream::new(response.into_body())
            .collect()
            .await
            .map_err(|e| Failure::Unreadable { status, cause: error::causes(&e) })?
            .to_vec();
        let text = String::from_utf8_lossy(&bytes);
        if (200..300).contains(&status) {
            return Ok(text.into_owned());
        }
        match parse_error(&text) {
            Some(mut answer) => {
                answer.request_id = answer.request_id.or(header_request_id);
                Err(Failure::Service {
                    status,
                    code: answer.code,
                    message: answer.message,
                    request_id: answer.request_id,
                })
            }
            None if text.trim().is_empty() => Err(Failure::Service {
                status,
                code: String::new(),
                message: String::new(),
                request_id: header_request_id,
            }),
            None => Err(Failure::Unreadable { status, cause: "not a Query API error document".to_owned() }),
        }
    }

    /// The chain's credentials, fetched once and again only near their expiry, as the
    /// SDK clients' identity cache does (an SSO or assume-role chain would otherwise be
    /// asked on every call).
    async fn credentials(&self) -> Result<Credentials, Failure> {
        let fresh = |c: &Credentials| c.expiry().is_none_or(|expiry| expiry > SystemTime::now() + REFRESH_BEFORE);
        if let Ok(cached) = self.cached.lock()
            && let Some(credentials) = cached.as_ref().filter(|c| fresh(c))
        {
            return Ok(credentials.clone());
        }
        let Some(provider) = &self.credentials else {
            return Err(Failure::NoCredentials("no credentials provider configured".to_owned()));
        };
        let credentials =
            provider.provide_credentials().await.map_err(|e| Failure::NoCredentials(error::causes(&e)))?;
        if let Ok(mut cached) = self.cached.lock() {
            *cached = Some(credentials.clone());
        }
        Ok(credentials)
    }

    pub(crate) fn failure(&self, operation: &str, resource: &str, failure: Failure) -> anyhow::Error {
        let head = self.head(operation, resource);
        anyhow::anyhow!(match failure {
            Failure::Service { status, code, message, request_id } => {
                let answer =
                    ServiceAnswer { status, code: &code, message: &message, request_id: request_id.as_deref() };
                error::service_answer(operation, resource, self.service.iam, &answer)
            }
            Failure::Unreachable { timeout, cause } => error::unreachable(&head, &self.endpoint, timeout, &cause),
            Failure::Unreadable { status, cause } => error::unreadable(&head, &self.endpoint, status, &cause),
            Failure::NoCredentials(cause) =>
                format!("{head}: {} (the chain said: {cause})", error::missing_credentials()),
            Failure::Request(cause) => format!("{head}: the request could not be built ({cause})"),
        })
    }

    fn head(&self, operation: &str, resource: &str) -> String {
        format!("{}:{operation} {resource}", self.service.iam)
    }
}

/// Why one attempt failed, kept apart until it becomes a line: some service errors
/// are success to their caller (EC2's NotFound after a delete), and only some
/// failures are worth another attempt.
#[derive(Debug)]
pub(crate) enum Failure {
    Service {
        status: u16,
        code: String,
        message: String,
        request_id: Option<String>,
    },
    Unreachable {
        timeout: bool,
        cause: String,
    },
    Unreadable {
        status: u16,
        cause: String,
    },
    /// What the credentials chain said.
    NoCredentials(String),
    Request(String),
}

impl Failure {
    fn is_transient(&self) -> bool {
        match self {
            Failure::Service { status, code, .. } => {
                *status >= 500 || matches!(code.as_str(), "RequestLimitExceeded" | "Throttling" | "ThrottlingException")
            }
            Failure::Unreachable { .. } => true,
            Failure::Unreadable { .. } | Failure::NoCredentials(_) | Failure::Request(_) => false,
        }
    }
}

/// Where the service's calls go: an endpoint set in code (moto) wins, then
/// `AWS_ENDPOINT_URL_<SERVICE>` or the profile's `services` section, then
/// `AWS_ENDPOINT_URL`, as the SDK clients decide theirs; else the region's public endpoint.
fn endpoint(config: &SdkConfig, region: &str, service: &Service) -> String {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        config.endpoint_url().map(str::to_owned)
    } else {
        let key = ServiceConfigKey::builder()
            .service_id(service.service_id)
            .env("AWS_ENDPOINT_URL")
            .profile("endpoint_url")
            .build();
        key.ok()
            .and_then(|key| config.service_config().and_then(|c| c.load_config(key)))
            .or_else(|| config.endpoint_url().map(str::to_owned))
    };
    configured
        .map_or_else(|| error::default_endpoint(service.signing_name, region), |e| e.trim_end_matches('/').to_owned())
}

/// `application/x-www-form-urlencoded`, as the Query API reads it.
fn form(params: &[(String, String)]) -> String {
    let pairs =
        params.iter().map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)));
    pairs.collect::<Vec<_>>().join("&")
}

/// A POST of `body` to `endpoint`, signed with SigV4 for `service` in `region`.
fn signed(
    endpoint: &str,
    region: &str,
    service: &str,
    body: &str,
    credentials: Credentials,
    now: SystemTime,
) -> Result<HttpRequest, Failure> {
    let identity: Identity = credentials.into();
    let uri = format!("{endpoint}/");
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| Failure::Request(e.to_string()))?
        .into();
    let signable = SignableRequest::new(
        "POST",
        &uri,
        [("content-type", CONTENT_TYPE)].into_iter(),
        SignableBody::Bytes(body.as_bytes()),
    )
    .map_err(|e| Failure::Request(e.to_string()))?;
    let (instructions, _signature) = sign(signable, &params).map_err(|e| Failure::Request(e.to_string()))?.into_parts();
    let mut request = HttpRequest::new(SdkBody::from(body.to_owned()));
    request.set_method("POST").map_err(|e| Failure::Request(e.to_string()))?;
    request.set_uri(uri.as_str()).map_err(|e| Failure::Request(e.to_string()))?;
    let headers = request.headers_mut();
    let mut insert = |name: &str, value: &str| {
        headers.try_insert(name.to_owned(), value.to_owned()).map(drop).map_err(|e| Failure::Request(e.to_string()))
    };
    insert("content-type", CONTENT_TYPE)?;
    for (name, value) in instructions.headers() {
        insert(name, value)?;
    }
    Ok(request)
}

/// What an error document says. EC2 writes `<Response><Errors><Error><Code>…`; the
/// other Query services (CloudWatch, SQS's and SNS's Query forms, IAM) write
/// `<ErrorResponse><Error><Type/><Code>…</Error><RequestId>…`.
#[derive(Debug, PartialEq)]
struct ErrorAnswer {
    code: String,
    message: String,
    request_id: Option<String>,
}

fn parse_error(xml: &str) -> Option<ErrorAnswer> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().ok()?;
    if !(root.start_el().matches("Response") || root.start_el().matches("ErrorResponse")) {
        return None;
    }
    let mut answer = ErrorAnswer { code: String::new(), message: String::new(), request_id: None };
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            // The first error is the one to tell; the services send one.
            "Errors" => {
                if let Some(mut first) = tag.next_tag() {
                    read_error(&mut first, &mut answer)?;
                }
            }
            "Error" => read_error(&mut tag, &mut answer)?,
            "RequestID" | "RequestId" => answer.request_id = Some(text(&mut tag).ok()?),
            _ => {}
        }
    }
    (!answer.code.is_empty()).then_some(answer)
}

fn read_error(error: &mut ScopedDecoder<'_, '_>, answer: &mut ErrorAnswer) -> Option<()> {
    while let Some(mut field) = error.next_tag() {
        match field.start_el().local() {
            "Code" => answer.code = text(&mut field).ok()?,
            "Message" => answer.message = text(&mut field).ok()?,
            _ => {}
        }
    }
    Some(())
}

/// An element's text, trimmed and unescaped.
pub fn text(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, String> {
    try_data(tag).map(|t| t.trim().to_owned()).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn an_ec2_error_document_gives_its_code_message_and_request_id() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this
 operation. User: arn:aws:sts::123456789012:assumed-role/ci/x is not authorized</Message></Error></Errors><RequestID>ea966190-f9aa-478e-9ede-example</RequestID></Response>"#;
        let answer = parse_error(xml).unwrap();
        assert_eq!(answer.code, "UnauthorizedOperation");
        assert!(answer.message.starts_with("You are not authorized"));
        assert_eq!(answer.request_id.as_deref(), Some("ea966190-f9aa-478e-9ede-example"));
        assert_eq!(parse_error("<html>502 Bad Gateway</html>"), None);
        assert_eq!(parse_error(""), None);
    }

    /// CloudWatch's error document, as it answers a role without cloudwatch:DescribeAlarms.
    #[test]
    fn a_cloudwatch_error_document_gives_its_code_message_and_request_id() {
        let xml = r#"<ErrorResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/">
  <Error>
    <Type>Sender</Type>
    <Code>AccessDenied</Code>
    <Message>User: arn:aws:sts::123456789012:assumed-role/ops/x is not authorized to perform: cloudwatch:DescribeAlarms</Message>
  </Error>
  <RequestId>3e8b1c2a-example</RequestId>
</ErrorResponse>"#;
        let answer = parse_error(xml).unwrap();
        assert_eq!(answer.code, "AccessDenied");
        assert!(answer.message.ends_with("cloudwatch:DescribeAlarms"), "{}", answer.message);
        assert_eq!(answer.request_id.as_deref(), Some("3e8b1c2a-example"));
    }

    fn client(endpoint: &str, service: Service) -> QueryClient {
        let config = SdkConfig::builder().endpoint_url(endpoint).build();
        QueryClient::from_config(&config, "eu-west-1", service)
    }

    #[test]
    fn the_failures_become_one_line_with_the_services_iam_name_code_request_id_and_hint() {
        let ec2 = client("http://127.0.0.1:5000", EC2);
        let denied = Failure::Service {
            status: 403,
            code: "UnauthorizedOperation".to_owned(),
            message: "You are not\n authorized".to_owned(),
            request_id: Some("ea96".to_owned()),
        };
        let line = ec2.failure("DeleteSnapshot", "snap-1", denied).to_string();
        assert_eq!(
            line,
            "ec2:DeleteSnapshot snap-1: HTTP 403 UnauthorizedOperation: You are not authorized (request id ea96); \
             the credentials in use lack ec2:DeleteSnapshot on snap-1: grant it, or use a role that has it"
        );
        let down = Failure::Unreachable { timeout: false, cause: "Connection refused".to_owned() };
        let line = ec2.failure("DescribeSnapshots", "volume-id=vol-1", down).to_string();
        assert!(
            line.starts_with("ec2:DescribeSnapshots volume-id=vol-1: could not reach http://127.0.0.1:5000"),
            "{line}"
        );
        let none = ec2.failure("CreateTags", "snap-1", Failure::NoCredentials("no providers in chain".to_owned()));
        assert!(none.to_string().starts_with("ec2:CreateTags snap-1: no AWS credentials found"), "{none}");
        let cloudwatch = client("http://127.0.0.1:5000", CLOUDWATCH);
        let denied = Failure::Service {
            status: 403,
            code: "AccessDenied".to_owned(),
            message: "not authorized".to_owned(),
            request_id: None,
        };
        let line = cloudwatch.failure("DescribeAlarms", "zipster-dev-*", denied).to_string();
        assert!(line.starts_with("cloudwatch:DescribeAlarms zipster-dev-*: HTTP 403 AccessDenied"), "{line}");
        assert!(line.contains("lack cloudwatch:DescribeAlarms on zipster-dev-*"), "{line}");
    }

    #[test]
    fn throttling_and_server_errors_are_retried_refusals_are_not() {
        let service = |status, code: &str| Failure::Service {
            status,
            code: code.to_owned(),
            message: String::new(),
            request_id: None,
        };
        assert!(service(503, "RequestLimitExceeded").is_transient());
        assert!(service(400, "Throttling").is_transient());
        assert!(service(500, "InternalError").is_transient());
        assert!(!service(403, "UnauthorizedOperation").is_transient());
        assert!(!service(400, "InvalidSnapshot.InUse").is_transient());
    }

    #[test]
    fn a_request_is_a_form_post_signed_for_its_service() {
        let body = form(&[
            ("Action".to_owned(), "DescribeSnapshots".to_owned()),
            ("Filter.1.Name".to_owned(), "tag:zipster-database".to_owned()),
            ("NextToken".to_owned(), "a+b/c=".to_owned()),
        ]);
        assert_eq!(body, "Action=DescribeSnapshots&Filter.1.Name=tag%3Azipster-database&NextToken=a%2Bb%2Fc%3D");
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("session".to_owned()), None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_583_200); // 2025-12-01T10:00:00Z
        let request = signed("http://127.0.0.1:5000", "us-east-1", "ec2", &body, credentials.clone(), now).unwrap();
        assert_eq!(request.method(), "POST");
        assert_eq!(request.uri(), "http://127.0.0.1:5000/");
        let headers = request.headers();
        assert_eq!(headers.get("content-type"), Some(CONTENT_TYPE));
        assert_eq!(headers.get("x-amz-date"), Some("20251201T100000Z"));
        assert_eq!(headers.get("x-amz-security-token"), Some("session"));
        let authorization = headers.get("authorization").unwrap();
        assert!(
            authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251201/us-east-1/ec2/aws4_request, "),
            "{authorization}"
        );
        assert!(
            authorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"),
            "{authorization}"
        );
        assert_eq!(request.body().bytes(), Some(body.as_bytes()));
        let monitoring = signed("http://127.0.0.1:5000", "us-east-1", "monitoring", &body, credentials, now).unwrap();
        let authorization = monitoring.headers().get("authorization").unwrap();
        assert!(authorization.contains("/20251201/us-east-1/monitoring/aws4_request, "), "{authorization}");
    }

    #[test]
    fn the_endpoint_is_the_configured_one_or_the_regions() {
        let moto = SdkConfig::builder().endpoint_url("http://127.0.0.1:5000/").build();
        assert_eq!(endpoint(&moto, "us-east-1", &EC2), "http://127.0.0.1:5000");
        assert_eq!(endpoint(&moto, "us-east-1", &CLOUDWATCH), "http://127.0.0.1:5000");
        let aws = SdkConfig::builder().build();
        assert_eq!(endpoint(&aws, "eu-west-1", &EC2), "https://ec2.eu-west-1.amazonaws.com");
        assert_eq!(endpoint(&aws, "eu-west-1", &CLOUDWATCH), "https://monitoring.eu-west-1.amazonaws.com");
    }
}
