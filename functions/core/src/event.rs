//! S3 `ObjectCreated` notifications, delivered directly or wrapped in SNS, reduced to
//! the objects they name.

use aws_lambda_events::event::s3::S3Event;
use aws_lambda_events::event::sns::SnsEvent;
use serde_json::Value;

/// One object an event asks us to process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectRef {
    pub bucket: String,
    /// Already URL-decoded (`+` is a space).
    pub key: String,
    pub version_id: Option<String>,
    pub etag: Option<String>,
    /// S3's per-key event order; a greater sequencer is a later write of the key.
    pub sequencer: Option<String>,
    pub size: Option<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("event is neither an S3 notification nor an SNS-wrapped one: {0}")]
    Unrecognized(String),
    #[error("record {index}: {reason}")]
    BadRecord { index: usize, reason: String },
}

/// The objects named by `event`, in delivery order.
///
/// Accepts an S3 event, an SNS event whose messages are S3 events, and S3's
/// `s3:TestEvent` (sent when a notification is configured), which names no object.
/// Records for anything but `ObjectCreated:*` are ignored.
pub fn object_refs(event: &Value) -> Result<Vec<ObjectRef>, EventError> {
    let records =
        event.get("Records").and_then(Value::as_array).ok_or_else(|| EventError::Unrecognized(describe(event)))?;
    if records.is_empty() {
        return Ok(Vec::new());
    }
    if records[0].get("Sns").is_some() {
        let sns: SnsEvent =
            serde_json::from_value(event.clone()).map_err(|e| EventError::Unrecognized(format!("SNS event: {e}")))?;
        let mut refs = Vec::new();
        for (index, record) in sns.records.iter().enumerate() {
            let inner: Value = serde_json::from_str(&record.sns.message)
                .map_err(|e| EventError::BadRecord { index, reason: format!("SNS message is not JSON: {e}") })?;
            if is_test_event(&inner) {
                continue;
            }
            refs.extend(s3_refs(&inner)?);
        }
        return Ok(refs);
    }
    s3_refs(event)
}

fn is_test_event(v: &Value) -> bool {
    v.get("Event").and_then(Value::as_str) == Some("s3:TestEvent")
}

fn s3_refs(event: &Value) -> Result<Vec<ObjectRef>, EventError> {
    let s3: S3Event =
        serde_json::from_value(event.clone()).map_err(|e| EventError::Unrecognized(format!("S3 event: {e}")))?;
    let mut refs = Vec::with_capacity(s3.records.len());
    for (index, record) in s3.records.into_iter().enumerate() {
        let created = record
            .event_name
            .as_deref()
            .is_some_and(|n| n.starts_with("ObjectCreated:") || n.starts_with("s3:ObjectCreated:"));
        if !created {
            continue;
        }
        let bad = |reason: &str| EventError::BadRecord { index, reason: reason.to_owned() };
        let bucket = record.s3.bucket.name.filter(|b| !b.is_empty()).ok_or_else(|| bad("no bucket name"))?;
        let raw_key = record.s3.object.key.filter(|k| !k.is_empty()).ok_or_else(|| bad("no object key"))?;
        let key = decode_key(&raw_key).map_err(|reason| bad(&reason))?;
        refs.push(ObjectRef {
            bucket,
            key,
            version_id: record.s3.object.version_id.filter(|v| !v.is_empty() && v != "null"),
            etag: record.s3.object.e_tag.map(|e| e.trim_matches('"').to_owned()).filter(|e| !e.is_empty()),
            sequencer: record.s3.object.sequencer.filter(|s| !s.is_empty()),
            size: record.s3.object.size.and_then(|s| u64::try_from(s).ok()),
        });
    }
    Ok(refs)
}

/// Beside `Records`, what `cargo xtask reprocess` says in the event it sends the
/// transform directly. S3 and SNS never send it, so no upload carries an override; only
/// someone allowed to invoke the function can.
pub const OVERRIDES: &str = "zipster";

/// What an operator allows one file's load beyond its contract.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Overrides {
    /// A replace may delete more than the contract's share of the table.
    #[serde(default)]
    pub allow_shrink: bool,
}

/// The event's overrides (none in an event S3 or SNS sent); a malformed one is refused
/// rather than read as none, so a mistyped override never passes unnoticed.
pub fn overrides(event: &Value) -> Result<Overrides, EventError> {
    match event.get(OVERRIDES) {
        None => Ok(Overrides::default()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| EventError::Unrecognized(format!("\"{OVERRIDES}\" overrides: {e}"))),
    }
}

/// The S3 event for objects as S3 would send it (keys form-encoded), with `overrides`:
/// what `reprocess` sends the transform for input objects already in the bucket.
pub fn reprocess_event(objects: &[ObjectRef], overrides: Overrides) -> Value {
    let records: Vec<Value> = objects
        .iter()
        .map(|o| {
            let key: String = percent_encoding::utf8_percent_encode(&o.key, KEY_ENCODE).to_string().replace("%20", "+");
            // Every field S3 sends that the event type requires; who asked is the operator.
            serde_json::json!({
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "eventName": "ObjectCreated:Put",
                "eventTime": zipster_report::rfc3339_utc(std::time::SystemTime::now()),
                "userIdentity": {"principalId": "zipster-reprocess"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "zipster-reprocess",
                    "bucket": {"name": o.bucket, "ownerIdentity": {"principalId": "zipster-reprocess"}, "arn": format!("arn:aws:s3:::{}", o.bucket)},
                    "object": {"key": key, "versionId": o.version_id, "eTag": o.etag, "size": o.size, "sequencer": o.sequencer},
                },
            })
        })
        .collect();
    serde_json::json!({ "Records": records, OVERRIDES: overrides })
}

/// What S3 escapes in an event's key: everything but letters, digits and `-_.~/*`.
const KEY_ENCODE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/').remove(b'*');

/// S3 event keys are form-encoded: `+` is a space, everything else is `%XX`.
pub fn decode_key(raw: &str) -> Result<String, String> {
    let plus_decoded = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&plus_decoded)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| format!("object key {raw:?} is not UTF-8 after URL decoding"))
}

/// Orders two S3 sequencers of the same key: a later write has the greater value.
/// S3 documents comparing them as hex strings after right-padding the shorter with zeros.
pub fn sequencer_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let width = a.len().max(b.len());
    let pad = |s: &str| format!("{:0<width$}", s.to_ascii_uppercase());
    pad(a).cmp(&pad(b))
}

fn describe(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}
