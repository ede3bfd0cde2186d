//! The three EC2 calls `destroy` makes for the data volume's snapshots
//! (DescribeSnapshots, DeleteSnapshot, CreateTags), as EC2 Query API requests.
//!
//! Not aws-sdk-ec2: it is one of the largest crates there is and would be compiled on
//! every cold build for three calls. Everything used here is already compiled for the
//! other clients: the SdkConfig's credentials chain and endpoint settings, aws-sigv4 for
//! the signature, the SDK's own HTTPS connector (aws-smithy-http-client: rustls, the
//! configured connect timeout), and the SDK's XML reader (aws-smithy-xml). Errors are
//! one line, as every SDK error is (`crate::error`).

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
use aws_smithy_xml::decode::{Document, ScopedDecoder, try_data};
use aws_types::SdkConfig;
use aws_types::service_config::ServiceConfigKey;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{self, ServiceAnswer};

/// The EC2 Query API's version, which every request names (the current one since 2016).
const API_VERSION: &str = "2016-11-15";
const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
/// The most DescribeSnapshots returns per page (it also accepts no more).
const PAGE_SIZE: &str = "1000";
/// EC2 takes at most 200 values per filter.
const FILTER_VALUES: usize = 200;
/// One attempt, from connecting to the last byte of the answer: no call waits longer.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Throttling and 5xx are retried after 0.5 s, 1 s, 2 s: EC2's request limits are per
/// account, and a purge makes one call per snapshot.
const ATTEMPTS: u32 = 4;
/// Credentials closer than this to their expiry are fetched again.
const REFRESH_BEFORE: Duration = Duration::from_secs(300);

/// What the Query API encodes: all but the unreserved characters of RFC 3986.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// One EBS snapshot, as DescribeSnapshots describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub id: String,
    pub volume_id: String,
    /// `pending`, `completed`, `error`, …
    pub state: String,
    pub start_time: String,
    pub tags: Vec<(String, String)>,
}

impl Snapshot {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// An EC2 client for one region, from the same configuration as the SDK clients.
#[derive(Clone, Debug)]
pub struct Ec2 {
    connector: Arc<Connector>,
    credentials: Option<SharedCredentialsProvider>,
    cached: Arc<Mutex<Option<Credentials>>>,
    region: String,
    /// Without a trailing slash: `https://ec2.eu-west-1.amazonaws.com`, or moto's.
    endpoint: String,
}

impl Ec2 {
    pub fn from_config(config: &SdkConfig, region: &str) -> Self {
        let connect = config.timeout_config().and_then(|t| t.connect_timeout()).unwrap_or(Duration::from_millis(3100));
        let settings = HttpConnectorSettings::builder().connect_timeout(connect).build();
        let mut builder = Connector::builder().connector_settings(settings);
        // The connector enforces its connect timeout with the SDK's sleep (tokio's).
        builder.set_sleep_impl(config.sleep_impl());
        let connector = builder.tls_provider(Provider::Rustls(CryptoMode::AwsLc)).build();
        Self {
            connector: Arc::new(connector),
            credentials: config.credentials_provider(),
            cached: Arc::default(),
            region: region.to_owned(),
            endpoint: endpoint(config, region),
        }
    }

    /// Every snapshot this account owns whose `filter` (`volume-id`,
    /// `tag:zipster-database`, …) is one of `values`, all pages.
    pub async fn snapshots(&self, filter: &str, values: &[String]) -> Result<Vec<Snapshot>> {
        let mut snapshots = Vec::new();
        for chunk in values.chunks(FILTER_VALUES) {
            let mut next: Option<String> = None;
            loop {
                let mut params = vec![
                    ("Owner.1".to_owned(), "self".to_owned()),
                    ("Filter.1.Name".to_owned(), filter.to_owned()),
                    ("MaxResults".to_owned(), PAGE_SIZE.to_owned()),
                ];
                for (n, value) in chunk.iter().enumerate() {
                    params.push((format!("Filter.1.Value.{}", n + 1), value.clone()));
                }
                if let Some(token) = next.take() {
                    params.push(("NextToken".to_owned(), token));
                }
                let resource = format!("{filter}={}", chunk.join(","));
                let body = self.call("DescribeSnapshots", &resource, params).await?;
                let page = parse_snapshots(&body).map_err(|cause| {
                    anyhow::anyhow!(error::unreadable(
                        &head("DescribeSnapshots", &resource),
                        &self.endpoint,
                        200,
                        &cause
                    ))
                })?;
                snapshots.extend(page.snapshots);
                match page.next_token {
                    Some(token) => next = Some(token),
                    None => break,
                }
            }
        }
        Ok(snapshots)
    }

    /// Deletes one snapshot. One already gone is no error: deleted meanwhile by someone
    /// else, or by this call's own first attempt when only its answer was lost.
    pub async fn delete_snapshot(&self, id: &str) -> Result<()> {
        let params = vec![("SnapshotId".to_owned(), id.to_owned())];
        match self.attempts("DeleteSnapshot", params).await {
            Ok(_) => Ok(()),
            Err(Failure::Service { code, .. }) if code == "InvalidSnapshot.NotFound" => Ok(()),
            Err(failure) => Err(self.failure("DeleteSnapshot", id, failure)),
        }
    }

    /// Puts the tag `key=value` on the resources `ids`.
    pub async fn tag(&self, ids: &[String], key: &str, value: &str) -> Result<()> {
        let mut params: Vec<(String, String)> =
            ids.iter().enumerate().map(|(n, id)| (format!("ResourceId.{}", n + 1), id.clone())).collect();
        params.push(("Tag.1.Key".to_owned(), key.to_owned()));
        params.push(("Tag.1.Value".to_owned(), value.to_owned()));
        self.call("CreateTags", &ids.join(","), params).await.map(drop)
    }

    async fn call(&self, action: &'static str, resource: &str, params: Vec<(String, String)>) -> Result<String> {
        self.attempts(action, params).await.map_err(|failure| self.failure(action, resource, failure))
    }

    /// The call, retried on throttling, 5xx and lost connections (all three calls are
    /// safe to repeat: a repeated delete answers NotFound, which is success).
    async fn attempts(&self, action: &'static str, params: Vec<(String, String)>) -> Result<String, Failure> {
        let mut body = vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), API_VERSION.to_owned())];
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
        let request = signed(&self.endpoint, &self.region, body, credentials, SystemTime::now())?;
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
            None => Err(Failure::Unreadable { status, cause: "not an EC2 error document".to_owned() }),
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

    fn failure(&self, operation: &str, resource: &str, failure: Failure) -> anyhow::Error {
        let head = head(operation, resource);
        anyhow::anyhow!(match failure {
            Failure::Service { status, code, message, request_id } => {
                let answer =
                    ServiceAnswer { status, code: &code, message: &message, request_id: request_id.as_deref() };
                error::service_answer(operation, resource, "ec2", &answer)
            }
            Failure::Unreachable { timeout, cause } => error::unreachable(&head, &self.endpoint, timeout, &cause),
            Failure::Unreadable { status, cause } => error::unreadable(&head, &self.endpoint, status, &cause),
            Failure::NoCredentials(cause) =>
                format!("{head}: {} (the chain said: {cause})", error::missing_credentials()),
            Failure::Request(cause) => format!("{head}: the request could not be built ({cause})"),
        })
    }
}

fn head(operation: &str, resource: &str) -> String {
    format!("ec2:{operation} {resource}")
}

/// Why one attempt failed, kept apart until it becomes a line: DeleteSnapshot's
/// NotFound is success, and only some failures are worth another attempt.
#[derive(Debug)]
enum Failure {
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

/// Where EC2 calls go: an endpoint set in code (moto) wins, then `AWS_ENDPOINT_URL_EC2`
/// or the profile's `services` section, then `AWS_ENDPOINT_URL`, as the SDK clients
/// decide theirs; else the region's public endpoint.
fn endpoint(config: &SdkConfig, region: &str) -> String {
    let configured = if config.get_origin("endpoint_url").is_client_config() {
        config.endpoint_url().map(str::to_owned)
    } else {
        let key = ServiceConfigKey::builder().service_id("EC2").env("AWS_ENDPOINT_URL").profile("endpoint_url").build();
        key.ok()
            .and_then(|key| config.service_config().and_then(|c| c.load_config(key)))
            .or_else(|| config.endpoint_url().map(str::to_owned))
    };
    configured.map_or_else(|| error::default_endpoint("ec2", region), |e| e.trim_end_matches('/').to_owned())
}

/// `application/x-www-form-urlencoded`, as the Query API reads it.
fn form(params: &[(String, String)]) -> String {
    let pairs =
        params.iter().map(|(k, v)| format!("{}={}", utf8_percent_encode(k, QUERY), utf8_percent_encode(v, QUERY)));
    pairs.collect::<Vec<_>>().join("&")
}

/// A POST of `body` to `endpoint`, signed with SigV4 for EC2 in `region`.
fn signed(
    endpoint: &str,
    region: &str,
    body: &str,
    credentials: Credentials,
    now: SystemTime,
) -> Result<HttpRequest, Failure> {
    let identity: Identity = credentials.into();
    let uri = format!("{endpoint}/");
    let params: SigningParams<'_> = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("ec2")
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

/// One page of a DescribeSnapshots answer.
#[derive(Debug, PartialEq)]
struct Page {
    snapshots: Vec<Snapshot>,
    next_token: Option<String>,
}

fn parse_snapshots(xml: &str) -> Result<Page, String> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().map_err(|e| e.to_string())?;
    if !root.start_el().matches("DescribeSnapshotsResponse") {
        return Err(format!("expected DescribeSnapshotsResponse, found {}", root.start_el().local()));
    }
    let mut page = Page { snapshots: Vec::new(), next_token: None };
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            "snapshotSet" => {
                while let Some(mut item) = tag.next_tag() {
                    page.snapshots.push(parse_snapshot(&mut item)?);
                }
            }
            "nextToken" => page.next_token = Some(text(&mut tag)?).filter(|t| !t.is_empty()),
            _ => {}
        }
    }
    Ok(page)
}

fn parse_snapshot(item: &mut ScopedDecoder<'_, '_>) -> Result<Snapshot, String> {
    let (mut id, mut volume_id, mut state, mut start_time, mut tags) =
        (String::new(), String::new(), String::new(), String::new(), Vec::new());
    while let Some(mut field) = item.next_tag() {
        match field.start_el().local() {
            "snapshotId" => id = text(&mut field)?,
            "volumeId" => volume_id = text(&mut field)?,
            "status" => state = text(&mut field)?,
            "startTime" => start_time = text(&mut field)?,
            "tagSet" => {
                while let Some(mut tag) = field.next_tag() {
                    let (mut key, mut value) = (String::new(), String::new());
                    while let Some(mut part) = tag.next_tag() {
                        match part.start_el().local() {
                            "key" => key = text(&mut part)?,
                            "value" => value = text(&mut part)?,
                            _ => {}
                        }
                    }
                    tags.push((key, value));
                }
            }
            _ => {}
        }
    }
    if id.is_empty() {
        return Err("a snapshot without a snapshotId".to_owned());
    }
    Ok(Snapshot { id, volume_id, state, start_time, tags })
}

/// What an EC2 error document says: `<Response><Errors><Error><Code>…`.
#[derive(Debug, PartialEq)]
struct ErrorAnswer {
    code: String,
    message: String,
    request_id: Option<String>,
}

fn parse_error(xml: &str) -> Option<ErrorAnswer> {
    let mut document = Document::new(xml);
    let mut root = document.root_element().ok()?;
    if !root.start_el().matches("Response") {
        return None;
    }
    let mut answer = ErrorAnswer { code: String::new(), message: String::new(), request_id: None };
    while let Some(mut tag) = root.next_tag() {
        match tag.start_el().local() {
            "Errors" => {
                // The first error is the one to tell; EC2 sends one.
                if let Some(mut first) = tag.next_tag() {
                    while let Some(mut field) = first.next_tag() {
                        match field.start_el().local() {
                            "Code" => answer.code = text(&mut field).ok()?,
                            "Message" => answer.message = text(&mut field).ok()?,
                            _ => {}
                        }
                    }
                }
            }
            "RequestID" | "RequestId" => answer.request_id = Some(text(&mut tag).ok()?),
            _ => {}
        }
    }
    (!answer.code.is_empty()).then_some(answer)
}

fn text(tag: &mut ScopedDecoder<'_, '_>) -> Result<String, String> {
    try_data(tag).map(|t| t.trim().to_owned()).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// DescribeSnapshots as EC2 documents it: one DLM snapshot with its copied tags, a
    /// final one without tags, and a next page.
    const PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <snapshotSet>
        <item>
            <snapshotId>snap-1234567890abcdef0</snapshotId>
            <volumeId>vol-0aaaaaaaaaaaaaaaa</volumeId>
            <status>completed</status>
            <startTime>2026-11-30T02:00:12.000Z</startTime>
            <progress>100%</progress>
            <ownerId>123456789012</ownerId>
            <volumeSize>20</volumeSize>
            <description>Created for policy: policy-0123 schedule: daily &amp; kept</description>
            <encrypted>true</encrypted>
            <tagSet>
                <item><key>zipster-database</key><value>dev</value></item>
                <item><key>zipster-snapshot</key><value>daily</value></item>
                <item><key>dlm:managed</key><value>true</value></item>
            </tagSet>
        </item>
        <item>
            <snapshotId>snap-0fedcba9876543210</snapshotId>
            <volumeId>vol-0aaaaaaaaaaaaaaaa</volumeId>
            <status>pending</status>
            <startTime>2026-12-01T10:15:00.000Z</startTime>
            <progress>5%</progress>
            <ownerId>123456789012</ownerId>
            <volumeSize>20</volumeSize>
            <description></description>
            <encrypted>true</encrypted>
        </item>
    </snapshotSet>
    <nextToken>eyJ2IjoiMiIsImMiOiJ+a2V5In0=</nextToken>
</DescribeSnapshotsResponse>"#;

    #[test]
    fn a_describe_snapshots_page_is_read_with_tags_and_the_next_token() {
        let page = parse_snapshots(PAGE).unwrap();
        assert_eq!(page.next_token.as_deref(), Some("eyJ2IjoiMiIsImMiOiJ+a2V5In0="));
        assert_eq!(page.snapshots.len(), 2);
        let daily = &page.snapshots[0];
        assert_eq!(daily.id, "snap-1234567890abcdef0");
        assert_eq!(daily.volume_id, "vol-0aaaaaaaaaaaaaaaa");
        assert_eq!(daily.state, "completed");
        assert_eq!(daily.start_time, "2026-11-30T02:00:12.000Z");
        assert_eq!(daily.tag("zipster-database"), Some("dev"));
        assert_eq!(daily.tag("zipster-snapshot"), Some("daily"));
        let last = &page.snapshots[1];
        assert_eq!((last.id.as_str(), last.state.as_str()), ("snap-0fedcba9876543210", "pending"));
        assert!(last.tags.is_empty());
    }

    #[test]
    fn the_last_page_has_no_token_and_an_empty_set_is_no_snapshot() {
        let last = r#"<DescribeSnapshotsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
            <requestId>r</requestId><snapshotSet/></DescribeSnapshotsResponse>"#;
        assert_eq!(parse_snapshots(last).unwrap(), Page { snapshots: Vec::new(), next_token: None });
        assert!(parse_snapshots("<html>gateway timeout</html>").is_err());
        assert!(parse_snapshots("not xml at all").is_err());
    }

    #[test]
    fn an_error_document_gives_its_code_message_and_request_id() {
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

    fn client(endpoint: &str) -> Ec2 {
        let config = SdkConfig::builder().endpoint_url(endpoint).build();
        Ec2::from_config(&config, "eu-west-1")
    }

    #[test]
    fn the_failures_become_one_line_with_code_request_id_and_hint() {
        let ec2 = client("http://127.0.0.1:5000");
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
        assert!(service(500, "InternalError").is_transient());
        assert!(!service(403, "UnauthorizedOperation").is_transient());
        assert!(!service(400, "InvalidSnapshot.InUse").is_transient());
    }

    #[test]
    fn a_request_is_a_signed_form_post_to_the_configured_endpoint() {
        let body = form(&[
            ("Action".to_owned(), "DescribeSnapshots".to_owned()),
            ("Filter.1.Name".to_owned(), "tag:zipster-database".to_owned()),
            ("NextToken".to_owned(), "a+b/c=".to_owned()),
        ]);
        assert_eq!(body, "Action=DescribeSnapshots&Filter.1.Name=tag%3Azipster-database&NextToken=a%2Bb%2Fc%3D");
        let credentials = Credentials::new("AKIDEXAMPLE", "secret", Some("session".to_owned()), None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_764_583_200); // 2025-12-01T10:00:00Z
        let request = signed("http://127.0.0.1:5000", "us-east-1", &body, credentials, now).unwrap();
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
    }

    #[test]
    fn the_endpoint_is_the_configured_one_or_the_regions() {
        let moto = SdkConfig::builder().endpoint_url("http://127.0.0.1:5000/").build();
        assert_eq!(endpoint(&moto, "us-east-1"), "http://127.0.0.1:5000");
        assert_eq!(endpoint(&SdkConfig::builder().build(), "eu-west-1"), "https://ec2.eu-west-1.amazonaws.com");
    }
}
