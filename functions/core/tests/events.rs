//! Event parsing on the sample events in `testdata/events`.

use std::path::Path;

use serde_json::{Value, json};
use zipster_core::event::{
    EventError, ObjectRef, Overrides, decode_key, object_refs, overrides, reprocess_event, sequencer_cmp,
};

fn sample(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/events").join(name);
    serde_json::from_slice(&std::fs::read(path).expect("sample event")).expect("JSON")
}

#[test]
fn direct_s3_event_with_encoded_key() {
    let refs = object_refs(&sample("s3-put.json")).expect("parsed");
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].bucket, "zipster-dev-input");
    assert_eq!(refs[0].key, "incoming/zip codes été+1.csv");
    assert_eq!(refs[0].version_id.as_deref(), Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"));
    assert_eq!(refs[0].etag.as_deref(), Some("0123456789abcdef0123456789abcdef"));
    assert_eq!(refs[0].size, Some(1024));
}

#[test]
fn sns_wrapped_events_with_several_records_and_a_test_event() {
    let refs = object_refs(&sample("sns-wrapped.json")).expect("parsed");
    let keys: Vec<_> = refs.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(keys, ["a.csv", "b.csv", "dir/c d.csv"]);
}

#[test]
fn other_event_kinds_are_ignored_and_garbage_is_an_error() {
    let mut removed = sample("s3-put.json");
    removed["Records"][0]["eventName"] = json!("ObjectRemoved:Delete");
    assert_eq!(object_refs(&removed), Ok(vec![]));
    assert_eq!(object_refs(&json!({"Records": []})), Ok(vec![]));
    assert!(matches!(object_refs(&json!({"hello": "world"})), Err(EventError::Unrecognized(_))));
    assert!(matches!(object_refs(&json!("text")), Err(EventError::Unrecognized(_))));
    let mut no_key = sample("s3-put.json");
    no_key["Records"][0]["s3"]["object"]["key"] = json!("");
    assert!(matches!(object_refs(&no_key), Err(EventError::BadRecord { index: 0, .. })));
    let bad_sns = json!({"Records": [{"Sns": {"Message": "not json"}}]});
    assert!(object_refs(&bad_sns).is_err());
}

#[test]
fn keys_are_form_decoded() {
    assert_eq!(
        decode_key("a+b%2Bc%20d"),
        Ok("a+b%2Bc%20d".replace("a+b", "a b").replace("%2B", "+").replace("%20", " "))
    );
    assert!(decode_key("%FF").is_err());
}

#[test]
fn sequencers_order_writes_of_a_key() {
    use std::cmp::Ordering::*;
    assert_eq!(sequencer_cmp("0055AED6DCD90281E5", "0055AED6DCD90281E6"), Less);
    assert_eq!(sequencer_cmp("0055AED6DCD90281E5", "0055AED6DCD90281E5"), Equal);
    assert_eq!(sequencer_cmp("0055AED6DCD90281E5", "0055aed6dcd90281e5"), Equal);
    assert_eq!(sequencer_cmp("0055AED6DCD90281E5", "0055AED6DCD90281E500"), Equal);
    assert_eq!(sequencer_cmp("0055AED6DCD90281F", "0055AED6DCD90281E5"), Greater);
}

#[test]
fn a_reprocess_event_names_its_objects_as_s3_would_and_carries_its_overrides() {
    let objects: Vec<ObjectRef> = ["zipcodes/2026/12/01 export (1).csv", "cities/ümlaut+plus%.csv", "a"]
        .into_iter()
        .map(|key| ObjectRef {
            bucket: "zipster-dev-input".into(),
            key: key.into(),
            version_id: Some("v1".into()),
            etag: Some("e1".into()),
            sequencer: None,
            size: Some(7),
        })
        .collect();
    let event = reprocess_event(&objects, Overrides { allow_shrink: true });
    assert_eq!(object_refs(&event).expect("parsed"), objects, "every key survives the encoding S3 uses");
    assert_eq!(overrides(&event).expect("read"), Overrides { allow_shrink: true });
    assert_eq!(overrides(&reprocess_event(&objects, Overrides::default())).expect("read"), Overrides::default());
    assert_eq!(overrides(&sample("s3-put.json")).expect("read"), Overrides::default(), "S3 sends none");
    let mistyped = json!({"Records": [], "zipster": {"allowShrinking": true}});
    assert!(
        overrides(&mistyped).expect_err("refused").to_string().contains("allowShrinking"),
        "never read as no override"
    );
}
