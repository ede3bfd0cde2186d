//! An HTTP proxy in front of moto that injects S3 faults: the functions' SDK is pointed
//! at it (`AWS_ENDPOINT_URL`), every request passes through to moto unchanged, except
//! those matching a rule, which get an S3 error or no answer at all (the client's
//! timeout then cuts the attempt). Test support only: the product never sees it.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

type Body = BoxBody<Bytes, hyper::Error>;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// S3's `InternalError`, which the SDK retries.
    Error,
    /// The request is read and never answered.
    Stall,
    /// moto's answer is passed on, its body cut off halfway and never finished.
    StallBody,
}

struct Rule {
    method: Method,
    /// `/bucket/key`: S3 requests are path-style on a local endpoint.
    path: String,
    fault: Fault,
    remaining: usize,
}

#[derive(Default)]
struct Shared {
    rules: Vec<Rule>,
    /// `GET /bucket/key -> Error`, one line per injected fault.
    injected: Vec<String>,
}

pub struct FaultProxy {
    pub endpoint: String,
    shared: Arc<Mutex<Shared>>,
    server: JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(upstream: &str) -> Self {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binding the fault proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("the proxy's address"));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let server = tokio::spawn({
            let shared = Arc::clone(&shared);
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let (shared, upstream) = (Arc::clone(&shared), upstream.clone());
                    tokio::spawn(async move {
                        let service = hyper::service::service_fn(move |request| {
                            handle(request, Arc::clone(&shared), upstream.clone())
                        });
                        // A client that gives up on a stalled request closes the connection.
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    });
                }
            }
        });
        Self { endpoint, shared, server }
    }

    /// The next `times` requests `method /bucket/key` get `fault`.
    pub fn inject(&self, method: Method, bucket: &str, key: &str, fault: Fault, times: usize) {
        let rule = Rule { method, path: format!("/{bucket}/{key}"), fault, remaining: times };
        self.lock().rules.push(rule);
    }

    /// What was injected so far.
    pub fn injected(&self) -> Vec<String> {
        self.lock().injected.clone()
    }

    /// Faults not yet injected.
    pub fn pending(&self) -> usize {
        self.lock().rules.iter().map(|r| r.remaining).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn fault_for(shared: &Mutex<Shared>, method: &Method, path: &str) -> Option<Fault> {
    let mut shared = shared.lock().unwrap_or_else(PoisonError::into_inner);
    let rule = shared.rules.iter_mut().find(|r| r.remaining > 0 && r.method == method && r.path == path)?;
    rule.remaining -= 1;
    let fault = rule.fault;
    shared.injected.push(format!("{method} {path} -> {fault:?}"));
    Some(fault)
}

async fn handle(
    mut request: Request<Incoming>,
    shared: Arc<Mutex<Shared>>,
    upstream: String,
) -> Result<Response<Body>, Infallible> {
    // Rules name keys as sent: plain ASCII keys need no decoding.
    let fault = fault_for(&shared, request.method(), request.uri().path());
    if let Some(Fault::Error | Fault::Stall) = fault {
        // Read the whole upload first, as S3 does: answering early would make the
        // client fail on a broken pipe instead of on the fault under test.
        let _ = request.body_mut().collect().await;
    }
    let response = match fault {
        None => forward(request, &upstream).await,
        Some(Fault::StallBody) => stall_body(request, &upstream).await,
        Some(Fault::Error) => Ok(s3_error()),
        // Until the client gives up and the connection, or the test's runtime, ends.
        Some(Fault::Stall) => match std::future::pending::<Infallible>().await {},
    };
    Ok(response.unwrap_or_else(|error| bad_gateway(&error)))
}

async fn forward(mut request: Request<Incoming>, upstream: &str) -> Result<Response<Body>, String> {
    // hyper's server already answered any `Expect: 100-continue`; moto must not wait for it.
    request.headers_mut().remove(hyper::header::EXPECT);
    let stream = TcpStream::connect(upstream).await.map_err(|e| format!("connecting to moto: {e}"))?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    let response = sender.send_request(request).await.map_err(|e| format!("forwarding to moto: {e}"))?;
    Ok(response.map(BodyExt::boxed))
}

async fn stall_body(request: Request<Incoming>, upstream: &str) -> Result<Response<Body>, String> {
    let (parts, body) = forward(request, upstream).await?.into_parts();
    let bytes = body.collect().await.map_err(|e| format!("reading moto's answer: {e}"))?.to_bytes();
    let half = bytes.slice(..bytes.len() / 2);
    // The headers (Content-Length included) promise the whole body; half of it comes.
    Ok(Response::from_parts(parts, Stalling { first: Some(half) }.boxed()))
}

/// A body that yields its first chunk, then nothing, ever.
struct Stalling {
    first: Option<Bytes>,
}

impl hyper::body::Body for Stalling {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        match self.first.take() {
            Some(chunk) => std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk)))),
            None => std::task::Poll::Pending,
        }
    }
}

fn full(status: StatusCode, content_type: &str, body: String) -> Response<Body> {
    let body = Full::new(Bytes::from(body)).map_err(|never| match never {}).boxed();
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response.headers_mut().insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn s3_error() -> Response<Body> {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code>\
               <Message>injected by the test's fault proxy</Message><RequestId>fault-proxy</RequestId></Error>";
    full(StatusCode::INTERNAL_SERVER_ERROR, "application/xml", xml.to_owned())
}

fn bad_gateway(error: &str) -> Response<Body> {
    full(StatusCode::BAD_GATEWAY, "text/plain", error.to_owned())
}
