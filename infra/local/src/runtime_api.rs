//! The Lambda Runtime API (`/2018-06-01/runtime/...`) that one function's bootstrap
//! process talks to: the bootstrap long-polls `/invocation/next`, then answers with
//! `/response` or `/error`; `/init/error` reports a failed start.
//!
//! One server per function, as each Lambda sandbox has its own endpoint, and at most
//! one invocation in flight, as a sandbox handles one event at a time.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;

const PREFIX: &str = "/2018-06-01/runtime";

/// What the bootstrap said about one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Response(Bytes),
    /// The body of `/error`: `{"errorType": ..., "errorMessage": ...}`.
    Error(Bytes),
}

/// An event waiting for the bootstrap's next `/next`.
struct Pending {
    id: String,
    payload: Bytes,
    deadline: SystemTime,
    reply: oneshot::Sender<Reply>,
}

#[derive(Default)]
struct Slots {
    pending: Option<Pending>,
    in_flight: HashMap<String, oneshot::Sender<Reply>>,
}

struct Shared {
    function_arn: String,
    /// Which process is current: a long-poll left behind by a dead process (hyper
    /// does not notice the closed connection while the handler waits) must not
    /// take the next process's event.
    generation: AtomicU64,
    slots: Mutex<Slots>,
    arrived: Notify,
    /// When the bootstrap last asked for an event, to measure cold starts.
    last_next: watch::Sender<Option<Instant>>,
    init_error: watch::Sender<Option<Bytes>>,
}

impl Shared {
    fn slots(&self) -> std::sync::MutexGuard<'_, Slots> {
        // A panic elsewhere cannot leave the slots half-written: each write is one assignment.
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Runtime API server on a loopback port.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl RuntimeApi {
    pub async fn start(function_arn: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            function_arn: function_arn.to_owned(),
            generation: AtomicU64::new(0),
            slots: Mutex::default(),
            arrived: Notify::new(),
            last_next: watch::channel(None).0,
            init_error: watch::channel(None).0,
        });
        let server = tokio::spawn(serve(listener, Arc::clone(&shared)));
        Ok(Self { addr, shared, server })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn endpoint(&self) -> String {
        self.addr.to_string()
    }

    /// Offers `payload` to the bootstrap; the receiver resolves when it answers.
    pub fn submit(&self, id: &str, payload: Bytes, deadline: SystemTime) -> oneshot::Receiver<Reply> {
        let (reply, answer) = oneshot::channel();
        self.shared.slots().pending = Some(Pending { id: id.to_owned(), payload, deadline, reply });
        self.shared.arrived.notify_waiters();
        answer
    }

    /// Forgets any event not yet answered, so that a restarted process does not
    /// receive an invocation that was already given up on.
    pub fn abandon(&self) {
        let mut slots = self.shared.slots();
        slots.pending = None;
        slots.in_flight.clear();
    }

    /// Resets the per-process observations before a new process starts.
    pub fn reset_process(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        self.shared.arrived.notify_waiters();
        self.shared.last_next.send_replace(None);
        self.shared.init_error.send_replace(None);
    }

    /// Changes when the bootstrap asks for an event.
    pub fn next_requests(&self) -> watch::Receiver<Option<Instant>> {
        self.shared.last_next.subscribe()
    }

    /// Changes when the bootstrap reports an init error.
    pub fn init_errors(&self) -> watch::Receiver<Option<Bytes>> {
        self.shared.init_error.subscribe()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| route(request, Arc::clone(&shared)));
            // A bootstrap killed mid-request drops its connection; nothing to report.
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

type Reply200 = Result<Response<Full<Bytes>>, Infallible>;

async fn route(request: Request<Incoming>, shared: Arc<Shared>) -> Reply200 {
    let path = request.uri().path().strip_prefix(PREFIX).unwrap_or_default().to_owned();
    let method = request.method().clone();
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["invocation", "next"]) => Ok(next(&shared).await),
        (Method::POST, ["invocation", id, kind @ ("response" | "error")]) => {
            let body = read_body(request).await;
            let reply = if *kind == "response" { Reply::Response(body) } else { Reply::Error(body) };
            Ok(answer(&shared, id, reply))
        }
        (Method::POST, ["init", "error"]) => {
            let body = read_body(request).await;
            shared.init_error.send_replace(Some(body));
            Ok(status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
        }
        _ => Ok(status(StatusCode::NOT_FOUND, r#"{"errorMessage":"unknown runtime API route"}"#)),
    }
}

/// Long-polls until an event is offered, then hands it over with Lambda's headers.
async fn next(shared: &Shared) -> Response<Full<Bytes>> {
    let generation = shared.generation.load(Ordering::SeqCst);
    shared.last_next.send_replace(Some(Instant::now()));
    let pending = loop {
        let arrived = shared.arrived.notified();
        tokio::pin!(arrived);
        arrived.as_mut().enable();
        if shared.generation.load(Ordering::SeqCst) != generation {
            return status(StatusCode::GONE, r#"{"errorMessage":"this runtime's process was replaced"}"#);
        }
        if let Some(pending) = shared.slots().pending.take() {
            break pending;
        }
        arrived.await;
    };
    let Pending { id, payload, deadline, reply } = pending;
    shared.slots().in_flight.insert(id.clone(), reply);
    let deadline_ms = deadline.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut response = Response::new(Full::new(payload));
    let headers = response.headers_mut();
    let mut put = |name: &'static str, value: String| {
        if let Ok(value) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    put("lambda-runtime-aws-request-id", id.clone());
    put("lambda-runtime-deadline-ms", deadline_ms.to_string());
    put("lambda-runtime-invoked-function-arn", shared.function_arn.clone());
    put("lambda-runtime-trace-id", format!("Root=1-00000000-{};Sampled=0", id.replace('-', "")));
    put("content-type", "application/json".to_owned());
    response
}

fn answer(shared: &Shared, id: &str, reply: Reply) -> Response<Full<Bytes>> {
    match shared.slots().in_flight.remove(id) {
        Some(sender) => {
            // The invoker may have given up (deadline): the answer is simply late.
            let _ = sender.send(reply);
            status(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
        }
        None => status(StatusCode::BAD_REQUEST, r#"{"errorMessage":"no such invocation in flight"}"#),
    }
}

async fn read_body(request: Request<Incoming>) -> Bytes {
    request.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default()
}

fn status(code: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = code;
    response
}
