//! `logs`: the functions' CloudWatch log lines (FilterLogEvents on each function's
//! group), interleaved by time, one line each; Lambda's JSON lines rendered readably
//! unless `--json`; `--follow` asks again every second until Ctrl-C.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use anyhow::Result;
use serde_json::Value;

use crate::{DeployedFunction, Stage, clock, epoch_millis};

/// One log event of one function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// The function's name in the table (`load`).
    pub function: &'static str,
    /// Epoch milliseconds.
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
    pub event_id: String,
}

impl LogLine {
    /// The line as JSON, if the function wrote JSON (`LogFormat: JSON`).
    pub fn json(&self) -> Option<Value> {
        let message = self.message.trim();
        message.starts_with('{').then(|| serde_json::from_str(message).ok()).flatten()
    }

    /// `2026-01-31 12:34:56.789 load | INFO load done bucket=… key=…`.
    pub fn render(&self) -> String {
        format!("{} {:>9} | {}", clock(self.timestamp), self.function, render_message(&self.message))
    }
}

/// A log message for a person: a JSON line (the functions' tracing output, or one
/// of Lambda's platform records) becomes `LEVEL message key=value…`; text stays.
pub fn render_message(message: &str) -> String {
    let message = message.trim_end();
    let Some(json) = message.starts_with('{').then(|| serde_json::from_str::<Value>(message).ok()).flatten() else {
        return message.to_owned();
    };
    let text = |value: &Value| value.as_str().map_or_else(|| value.to_string(), str::to_owned);
    let mut out = Vec::new();
    if let Some(level) = json.get("level").and_then(Value::as_str) {
        out.push(level.to_owned());
    }
    if let Some(kind) = json.get("type").and_then(Value::as_str) {
        out.push(kind.to_owned());
    }
    let fields = json.get("fields").and_then(Value::as_object);
    if let Some(text_message) = fields.and_then(|f| f.get("message")).or_else(|| json.get("message")) {
        out.push(text(text_message));
    }
    let pairs = fields.into_iter().flatten().filter(|(k, _)| k.as_str() != "message");
    let record = json.get("record").and_then(Value::as_object).into_iter().flatten();
    out.extend(pairs.chain(record).map(|(k, v)| format!("{k}={}", text(v))));
    if out.is_empty() { message.to_owned() } else { out.join(" ") }
}

/// What to read.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    pub functions: Vec<&'a DeployedFunction>,
    /// Epoch milliseconds, inclusive.
    pub start: i64,
    /// Only lines containing this text (CloudWatch's quoted-term pattern: exact, case-sensitive).
    pub contains: Option<String>,
}

impl<'a> Query<'a> {
    /// Every function of the stage (or only `function`), from `since` ago.
    pub fn new(stage: &'a Stage, function: Option<&str>, since: Duration) -> Result<Self> {
        let functions = match function {
            Some(name) => vec![stage.function(name)?],
            None => stage.functions.iter().collect(),
        };
        let start = epoch_millis(SystemTime::now().checked_sub(since).unwrap_or(SystemTime::UNIX_EPOCH));
        Ok(Self { functions, start, contains: None })
    }
}

/// The filter pattern for lines that contain `text`: a quoted term, its quotes and
/// backslashes escaped.
pub fn pattern_for(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Every line of the query's functions from its start, in time order.
pub async fn fetch(stage: &Stage, query: &Query<'_>) -> Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    for function in &query.functions {
        lines.extend(fetch_group(stage, function, query).await?);
    }
    // Stable: lines of the same millisecond keep each group's own order.
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}

async fn fetch_group(stage: &Stage, function: &DeployedFunction, query: &Query<'_>) -> Result<Vec<LogLine>> {
    let group = function.log_group();
    let mut lines = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let answer = stage
            .logs
            .filter_log_events()
            .log_group_name(&group)
            .start_time(query.start)
            .set_filter_pattern(query.contains.as_deref().map(pattern_for))
            .set_next_token(next.take())
            .send()
            .await;
        let page = match answer {
            Ok(page) => page,
            // A function that never ran may have no group yet (the local stage creates
            // it with the first line): no lines.
            Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception()) => {
                return Ok(lines);
            }
            Err(error) => return Err(stage.clients.error("FilterLogEvents", &group)(error)),
        };
        for event in page.events() {
            lines.push(LogLine {
                function: function.def.name,
                timestamp: event.timestamp().unwrap_or_default(),
                stream: event.log_stream_name().unwrap_or_default().to_owned(),
                message: event.message().unwrap_or_default().to_owned(),
                event_id: event.event_id().unwrap_or_default().to_owned(),
            });
        }
        match page.next_token() {
            // The service may page with a token but no events; a repeated token ends it.
            Some(token) if !token.is_empty() && !page.events().is_empty() => next = Some(token.to_owned()),
            _ => return Ok(lines),
        }
    }
}

/// Prints the query's lines, then (with `follow`) new ones as they come until Ctrl-C.
pub async fn print(stage: &Stage, mut query: Query<'_>, json: bool, follow: bool) -> Result<usize> {
    let mut seen = HashSet::new();
    let mut printed = 0;
    loop {
        let lines = fetch(stage, &query).await?;
        for line in lines {
            if !seen.insert(line.event_id.clone()) {
                continue;
            }
            if json {
                let value = line.json().unwrap_or_else(|| Value::String(line.message.clone()));
                let record = serde_json::json!({
                    "function": line.function, "timestamp": line.timestamp, "stream": line.stream, "message": value,
                });
                println!("{record}");
            } else {
                println!("{}", line.render());
            }
            // The next query starts at the newest line: lines of that millisecond
            // come again and are skipped by their id.
            query.start = query.start.max(line.timestamp);
            printed += 1;
        }
        if !follow {
            return Ok(printed);
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = tokio::signal::ctrl_c() => return Ok(printed),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_read_as_one_line_and_text_stays() {
        let tracing = r#"{"timestamp":"2026-01-01T00:00:00Z","level":"INFO","fields":{"message":"load done","bucket":"b","key":"k.csv","outcome":"loaded 3 rows: 3 inserted, 0 updated, 0 unchanged"},"target":"load"}"#;
        assert_eq!(
            render_message(tracing),
            "INFO load done bucket=b key=k.csv outcome=loaded 3 rows: 3 inserted, 0 updated, 0 unchanged"
        );
        let platform = r#"{"time":"2026-01-01T00:00:00Z","type":"platform.start","record":{"requestId":"r1","version":"$LATEST"}}"#;
        assert_eq!(render_message(platform), "platform.start requestId=r1 version=$LATEST");
        assert_eq!(render_message("plain text\n"), "plain text");
        assert_eq!(render_message("{not json"), "{not json");
        assert_eq!(pattern_for(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }
}
