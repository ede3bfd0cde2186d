//! What every function's handler does the same way: the Lambda loop with the error's
//! kind as `errorType`, the fan-out over the objects an event names, the summary
//! publish that must not fail an invocation, and a result turned into JSON.

use std::fmt;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde::Serialize;
use serde_json::Value;
use zipster_core::event::ObjectRef;

use crate::Notify;

pub use zipster_core::ErrorKind;

/// Lambda's error record for `error`: its kind as `errorType`, its one line as
/// `errorMessage`.
pub fn diagnostic<E: ErrorKind>(error: E) -> Diagnostic {
    Diagnostic { error_type: error.error_type().to_owned(), error_message: error.to_string() }
}

/// Runs the Lambda loop: each event's payload goes to `handler`, whose error is
/// reported as its [`diagnostic`]. What `handler` borrows is built once, by `main`.
pub async fn run<H, E>(handler: H) -> Result<(), lambda_runtime::Error>
where
    H: AsyncFn(Value) -> Result<Value, E>,
    E: ErrorKind,
{
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Boxed: inlined, a handler's future nests deep enough inside the runtime's to
        // overflow rustc's layout depth limit.
        Box::pin(handler(event.payload)).await.map_err(diagnostic)
    }))
    .await
}

/// More than one object in an event, and some failed: the count, and the first
/// failure, whose kind is the whole event's kind.
#[derive(Debug)]
pub struct SeveralObjects<E> {
    pub failed: usize,
    pub total: usize,
    pub first: Box<E>,
}

impl<E: fmt::Display> fmt::Display for SeveralObjects<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} of {} objects failed; first: {}", self.failed, self.total, self.first)
    }
}

impl<E: fmt::Debug + fmt::Display> std::error::Error for SeveralObjects<E> {}

impl<E: ErrorKind> ErrorKind for SeveralObjects<E> {
    fn error_type(&self) -> &'static str {
        self.first.error_type()
    }
}

/// Processes every object in turn, the later ones even after a failure (each is its
/// own file: one bad file must not hold back the others). With no failure, every
/// result in order; with one object, its own error; otherwise [`SeveralObjects`], so
/// that Lambda retries the event (objects already done are "already done" then).
/// `process` reports its own failures (log, alert): only it knows what to say.
pub async fn for_each_object<T, E>(
    objects: &[ObjectRef],
    mut process: impl AsyncFnMut(&ObjectRef) -> Result<T, E>,
) -> Result<Vec<T>, E>
where
    E: From<SeveralObjects<E>>,
{
    let total = objects.len();
    let mut results = Vec::with_capacity(total);
    let mut failures = Vec::new();
    for object in objects {
        match process(object).await {
            Ok(result) => results.push(result),
            Err(error) => failures.push(error),
        }
    }
    let mut failures = failures.into_iter();
    match (failures.next(), failures.len()) {
        (None, _) => Ok(results),
        (Some(only), 0) if total == 1 => Err(only),
        (Some(first), more) => Err(SeveralObjects { failed: more + 1, total, first: Box::new(first) }.into()),
    }
}

/// Publishes a summary. Once outputs or rows are durable, a summary that cannot be
/// published must not fail the invocation (its retry would redo nothing useful): the
/// failure is logged with `counter` = [`zipster_core::PUBLISH_FAILURES_COUNTER`],
/// which each function's log metric filter counts. `feed`: as [`Notify::publish`].
pub async fn publish_summary<N: Notify>(notify: &N, topic: &str, subject: &str, message: &str, feed: Option<&str>) {
    if let Err(error) = notify.publish(topic, subject, message, feed).await {
        tracing::warn!(%error, counter = zipster_core::PUBLISH_FAILURES_COUNTER, "summary not published");
    }
}

/// A result that could not be turned into JSON: a bug of ours, not bad input.
#[derive(Debug, thiserror::Error)]
#[error("serializing the {what}: {source}")]
pub struct ResultError {
    pub what: &'static str,
    #[source]
    pub source: serde_json::Error,
}

impl ErrorKind for ResultError {
    fn error_type(&self) -> &'static str {
        "ResultError"
    }
}

/// `value` as JSON (`what` names it in the error).
pub fn to_json<T: Serialize>(what: &'static str, value: &T) -> Result<Value, ResultError> {
    serde_json::to_value(value).map_err(|source| ResultError { what, source })
}

/// The handlers' result for the objects of one event: `{"objects": [...]}`.
pub fn objects_result<T: Serialize>(objects: &[T]) -> Result<Value, ResultError> {
    #[derive(Serialize)]
    struct Objects<'a, T> {
        objects: &'a [T],
    }
    to_json("result", &Objects { objects })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum TestError {
        #[error("object {0} failed")]
        One(String),
        #[error(transparent)]
        Several(#[from] SeveralObjects<TestError>),
    }

    impl ErrorKind for TestError {
        fn error_type(&self) -> &'static str {
            match self {
                Self::One(key) if key == "a" => "AError",
                Self::One(_) => "OtherError",
                Self::Several(several) => several.error_type(),
            }
        }
    }

    fn objects(keys: &[&str]) -> Vec<ObjectRef> {
        keys.iter()
            .map(|key| ObjectRef {
                bucket: "b".into(),
                key: (*key).into(),
                version_id: None,
                etag: None,
                sequencer: None,
                size: None,
            })
            .collect()
    }

    async fn fail_on(objects: &[ObjectRef], bad: &[&str]) -> Result<Vec<String>, TestError> {
        for_each_object(objects, async |object| {
            if bad.contains(&object.key.as_str()) {
                Err(TestError::One(object.key.clone()))
            } else {
                Ok(object.key.clone())
            }
        })
        .await
    }

    #[tokio::test]
    async fn every_object_is_processed_and_the_first_failure_names_the_kind() {
        let three = objects(&["a", "b", "c"]);
        assert_eq!(fail_on(&three, &[]).await.ok(), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(fail_on(&[], &[]).await.ok(), Some(vec![]));

        let one = fail_on(&three[1..2], &["b"]).await.expect_err("one object, its own error");
        assert_eq!((one.to_string().as_str(), one.error_type()), ("object b failed", "OtherError"));

        let several = fail_on(&three, &["c", "a"]).await.expect_err("two of three");
        assert_eq!(several.to_string(), "2 of 3 objects failed; first: object a failed");
        assert_eq!(several.error_type(), "AError");
        let one_of_two = fail_on(&three[1..], &["c"]).await.expect_err("one of two");
        assert_eq!(one_of_two.to_string(), "1 of 2 objects failed; first: object c failed");
        assert_eq!(diagnostic(one_of_two).error_type, "OtherError");
    }

    /// A log line as the functions write it in AWS (`AWS_LAMBDA_LOG_FORMAT=JSON`), where
    /// each function's metric filter matches `$.fields.counter`.
    #[test]
    fn a_summary_that_cannot_be_published_is_a_counted_log_line() {
        use lambda_runtime::tracing::subscriber;
        use std::sync::{Arc, Mutex};

        #[derive(Clone, Default)]
        struct Lines(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Lines {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }

        let lines = Lines::default();
        let writer = lines.clone();
        let json = subscriber::fmt().json().with_target(false).with_writer(move || writer.clone()).finish();
        let notify = crate::memory::MemoryNotify::default();
        notify.set_failing(true);
        let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        tracing::subscriber::with_default(json, || {
            runtime.block_on(publish_summary(&notify, "arn:topic", "subject", "message", None));
        });

        let text = String::from_utf8(lines.0.lock().unwrap_or_else(|e| e.into_inner()).clone()).expect("UTF-8");
        let line: Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["level"], "WARN", "{line}");
        assert_eq!(line["fields"]["counter"], zipster_core::PUBLISH_FAILURES_COUNTER, "{line}");
        assert_eq!(line["fields"]["message"], "summary not published", "{line}");
        assert!(line["fields"]["error"].as_str().is_some_and(|e| e.contains("arn:topic")), "{line}");
    }

    #[test]
    fn results_are_objects_and_a_failure_to_serialize_is_its_own_kind() {
        assert_eq!(objects_result(&[1, 2]).ok(), Some(serde_json::json!({"objects": [1, 2]})));
        let map = std::collections::BTreeMap::from([((1, 2), "a key JSON cannot have")]);
        let error = to_json("result", &map).expect_err("tuple keys");
        assert_eq!(error.error_type(), "ResultError");
        assert!(error.to_string().starts_with("serializing the result: "), "{error}");
    }
}
