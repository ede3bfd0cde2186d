//! One function's bootstrap as a real process behind its own [`RuntimeApi`]: started
//! on first use, given each event with a deadline, killed when it overruns, and
//! started again after a crash, as a Lambda sandbox would be replaced.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use bytes::Bytes;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use crate::cloudwatch::LogShipper;
use crate::runtime_api::{Reply, RuntimeApi};

/// Everything needed to run one function locally.
#[derive(Debug, Clone)]
pub struct FunctionSpec {
    /// The deployed name, e.g. `zipster-local-transform`.
    pub name: String,
    /// A short name for log prefixes, e.g. `transform`.
    pub label: String,
    pub arn: String,
    pub bootstrap: PathBuf,
    pub memory_mb: u32,
    pub timeout: Duration,
    /// The template's variables (resolved) plus the local overrides.
    pub env: BTreeMap<String, String>,
}

/// Where function log lines go; each line arrives already prefixed.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Log lines to the terminal (stderr), as `cargo lambda watch` does; a JSON line
/// (`LogFormat: JSON`, as the template sets) read as `LEVEL message key=value…`.
pub fn terminal_logs() -> LogSink {
    Arc::new(|line| match line.split_once(" | ") {
        Some((prefix, message)) => eprintln!("{prefix} | {}", zipster_operate::logs::render_message(message)),
        None => eprintln!("{line}"),
    })
}

/// How one invocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success(Bytes),
    /// The handler returned an error through `/error`.
    HandlerError(Bytes),
    /// Still running at the deadline; the process was killed.
    Timeout(Duration),
    /// The process exited while handling the event.
    Crashed(String),
    /// The process could not start: it reported `/init/error` or exited before asking for an event.
    InitError(String),
}

impl Outcome {
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Success(_))
    }

    /// `Function error type` as Lambda reports it, for the destination record.
    pub fn function_error(&self) -> Option<&'static str> {
        match self {
            Self::Success(_) => None,
            Self::HandlerError(_) => Some("Unhandled"),
            Self::Timeout(_) => Some("Sandbox.Timedout"),
            Self::Crashed(_) => Some("Runtime.ExitError"),
            Self::InitError(_) => Some("Runtime.InitError"),
        }
    }

    /// The payload Lambda would put in `responsePayload`.
    pub fn payload(&self) -> serde_json::Value {
        let text = |bytes: &Bytes| String::from_utf8_lossy(bytes).into_owned();
        let error = |kind: &str, message: String| serde_json::json!({ "errorType": kind, "errorMessage": message });
        match self {
            Self::Success(body) | Self::HandlerError(body) => {
                serde_json::from_slice(body).unwrap_or_else(|_| serde_json::Value::String(text(body)))
            }
            Self::Timeout(limit) => {
                error("Sandbox.Timedout", format!("Task timed out after {:.2} seconds", limit.as_secs_f64()))
            }
            Self::Crashed(reason) => error("Runtime.ExitError", reason.clone()),
            Self::InitError(reason) => error("Runtime.InitError", reason.clone()),
        }
    }
}

struct Process {
    child: Child,
    started: Instant,
    readers: Vec<JoinHandle<()>>,
}

/// The last lines a process wrote (stdout and stderr), to explain why it died.
type Tail = Arc<Mutex<VecDeque<String>>>;
const TAIL_LINES: usize = 20;

pub struct Function {
    spec: FunctionSpec,
    api: RuntimeApi,
    logs: LogSink,
    process: Option<Process>,
    tail: Tail,
    /// Where its output also goes: its CloudWatch log group, a stream per process.
    cloudwatch: Option<LogShipper>,
}

impl Function {
    pub async fn new(spec: FunctionSpec, logs: LogSink) -> Result<Self> {
        let api = RuntimeApi::start(&spec.arn).await.context("starting the local Lambda Runtime API")?;
        Ok(Self { spec, api, logs, process: None, tail: Tail::default(), cloudwatch: None })
    }

    /// Also writes every process's output to CloudWatch Logs, as Lambda does.
    pub fn with_cloudwatch(mut self, shipper: LogShipper) -> Self {
        self.cloudwatch = Some(shipper);
        self
    }

    pub fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    /// The running process's id, starting one if needed.
    pub async fn ensure_running(&mut self) -> Result<u32> {
        match self.running_pid() {
            Some(pid) => Ok(pid),
            None => self.spawn(),
        }
    }

    /// The process's id while it runs; `None` once it has exited or before it starts.
    pub fn running_pid(&mut self) -> Option<u32> {
        let process = self.process.as_mut()?;
        matches!(process.child.try_wait(), Ok(None)).then(|| process.child.id()).flatten()
    }

    /// Starts a fresh process and measures the time until it first asks for an
    /// event: the cold start that the process itself costs.
    pub async fn cold_start(&mut self) -> Result<Duration> {
        self.stop().await;
        let mut next = self.api.next_requests();
        self.spawn()?;
        let started = self.process.as_ref().map_or_else(Instant::now, |p| p.started);
        let asked = tokio::time::timeout(Duration::from_secs(30), next.wait_for(Option::is_some))
            .await
            .context("the bootstrap did not ask for an event within 30 s")?
            .context("runtime API stopped")?;
        Ok(asked.map_or(Duration::ZERO, |at| at.saturating_duration_since(started)))
    }

    /// Runs one event to its end: an answer, the deadline, or the process's death.
    pub async fn invoke(&mut self, id: &str, payload: Bytes) -> Outcome {
        if let Err(error) = self.ensure_running().await {
            return Outcome::InitError(format!("cannot start {}: {error:#}", self.spec.bootstrap.display()));
        }
        let timeout = self.spec.timeout;
        let answer = self.api.submit(id, payload, SystemTime::now() + timeout);
        let mut init_errors = self.api.init_errors();
        let asked_before = self.api.next_requests().borrow().is_some();
        let Some(process) = self.process.as_mut() else {
            return Outcome::InitError("the process is gone".to_owned());
        };
        let outcome = tokio::select! {
            reply = answer => match reply {
                Ok(Reply::Response(body)) => Outcome::Success(body),
                Ok(Reply::Error(body)) => Outcome::HandlerError(body),
                Err(_) => Outcome::Crashed("the runtime API dropped the invocation".to_owned()),
            },
            () = tokio::time::sleep(timeout) => Outcome::Timeout(timeout),
            status = process.child.wait() => {
                let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
                let asked = asked_before || self.api.next_requests().borrow().is_some();
                (if asked { Outcome::Crashed } else { Outcome::InitError })(format!("process exited ({status})"))
            }
            Ok(body) = async { init_errors.wait_for(Option::is_some).await.map(|b| b.clone().unwrap_or_default()) } => {
                Outcome::InitError(String::from_utf8_lossy(&body).into_owned())
            }
        };
        if !outcome.is_success() && !matches!(outcome, Outcome::HandlerError(_)) {
            self.stop().await;
            return self.explained(outcome);
        }
        outcome
    }

    /// Adds the process's last stderr lines to a crash or init failure.
    fn explained(&self, outcome: Outcome) -> Outcome {
        let tail =
            self.tail.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect::<Vec<_>>().join("\n");
        match outcome {
            Outcome::Crashed(reason) if !tail.is_empty() => Outcome::Crashed(format!("{reason}; last output:\n{tail}")),
            Outcome::InitError(reason) if !tail.is_empty() => {
                Outcome::InitError(format!("{reason}; last output:\n{tail}"))
            }
            other => other,
        }
    }

    /// Changes one environment variable; the next event starts a new process with it.
    pub async fn set_env(&mut self, name: &str, value: &str) {
        self.stop().await;
        self.spec.env.insert(name.to_owned(), value.to_owned());
    }

    /// Kills the process (if any) and forgets any unanswered event.
    pub async fn stop(&mut self) {
        self.api.abandon();
        if let Some(mut process) = self.process.take() {
            // Already exited is fine: the goal is only that it is not running.
            let _ = process.child.start_kill();
            let _ = process.child.wait().await;
            for reader in process.readers {
                // Its pipe closed with the process; this only lets the last lines print.
                let _ = tokio::time::timeout(Duration::from_secs(1), reader).await;
            }
        }
        if let Some(shipper) = &self.cloudwatch {
            shipper.flush().await;
        }
    }

    fn spawn(&mut self) -> Result<u32> {
        self.api.reset_process();
        self.tail.lock().unwrap_or_else(PoisonError::into_inner).clear();
        let spec = &self.spec;
        let mut command = Command::new(&spec.bootstrap);
        // A sandbox's own stream, as Lambda gives each.
        let stream = crate::cloudwatch::stream_name();
        // Only what Lambda gives a function: nothing from this shell (no AWS_PROFILE,
        // no real credentials) reaches the process.
        command
            .env_clear()
            .envs(lambda_environment(spec, &self.api.endpoint()))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", &stream)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().with_context(|| format!("starting {}", spec.bootstrap.display()))?;
        let pid = child.id().context("the new process has no id")?;
        let mut readers = Vec::new();
        let prefix = format!("{:>9} |", spec.label);
        let output = Output {
            prefix,
            logs: Arc::clone(&self.logs),
            tail: Arc::clone(&self.tail),
            cloudwatch: self.cloudwatch.clone().map(|shipper| (shipper, stream)),
        };
        if let Some(stdout) = child.stdout.take() {
            readers.push(forward(stdout, output.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(forward(stderr, output));
        }
        self.process = Some(Process { child, started, readers });
        Ok(pid)
    }
}

/// The variables a `provided.al2023` function sees, then the function's own.
pub fn lambda_environment(spec: &FunctionSpec, runtime_api: &str) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", spec.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", spec.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]local".to_owned()),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    env.extend(spec.env.clone());
    env
}

/// Where one process's lines go.
#[derive(Clone)]
struct Output {
    prefix: String,
    logs: LogSink,
    tail: Tail,
    /// The function's log group writer and this process's stream.
    cloudwatch: Option<(LogShipper, String)>,
}

fn forward(stream: impl AsyncRead + Unpin + Send + 'static, output: Output) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            (output.logs)(&format!("{} {line}", output.prefix));
            if let Some((shipper, stream)) = &output.cloudwatch {
                shipper.line(stream, &line);
            }
            let mut tail = output.tail.lock().unwrap_or_else(PoisonError::into_inner);
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    })
}
