//! Untrusted descriptors and cells: whatever arrives is loaded or refused, validated or
//! reported, and never panics.

use proptest::prelude::*;
use serde_json::{Value, json};
use zipster_contract::{Contract, Record, Validator};

fn every_type() -> Contract {
    let descriptor = json!({
        "missingValues": ["", "NA"],
        "primaryKey": ["i", "s"],
        "fields": [
            {"name": "s", "type": "string", "constraints": {"pattern": "[a-zé]{1,3}", "minLength": 1, "maxLength": 3, "unique": true}},
            {"name": "e", "type": "string", "format": "email"},
            {"name": "u", "type": "string", "format": "uri"},
            {"name": "id", "type": "string", "format": "uuid"},
            {"name": "i", "type": "integer", "groupChar": ",", "bareNumber": false, "constraints": {"minimum": -5, "unique": true}},
            {"name": "n", "type": "number", "decimalChar": ",", "groupChar": ".", "constraints": {"exclusiveMaximum": "1e10", "enum": [1, "2,5"]}},
            {"name": "b", "type": "boolean", "constraints": {"enum": [true]}},
            {"name": "d", "type": "date", "constraints": {"minimum": "2000-01-01", "unique": true}},
            {"name": "dp", "type": "date", "format": "%d %B %y"},
            {"name": "t", "type": "time", "constraints": {"maximum": "12:00:00Z"}},
            {"name": "tp", "type": "time", "format": "%I:%M:%S.%f %p %z"},
            {"name": "dt", "type": "datetime", "constraints": {"unique": true}},
            {"name": "y", "type": "year", "constraints": {"enum": [2024]}},
            {"name": "a"}
        ]
    });
    Contract::from_value(&descriptor).unwrap_or_else(|e| panic!("{e}"))
}

/// Text near the formats the types read, so that the fuzzing reaches deep into parsers.
fn cell() -> impl Strategy<Value = String> {
    prop_oneof![
        "[-+0-9.,eE:TZ% aAnNiIfF/é日]{0,24}",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,12})?([+-][0-9]{2}:?[0-9]{0,2}|Z)?)?",
        any::<String>(),
    ]
}

/// A JSON value of a few levels, with the spec's words as keys.
fn json_value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("name".to_owned()),
        Just("type".to_owned()),
        Just("format".to_owned()),
        Just("constraints".to_owned()),
        Just("minimum".to_owned()),
        Just("pattern".to_owned()),
        Just("enum".to_owned()),
        Just("missingValues".to_owned()),
        Just("groupChar".to_owned()),
        Just("decimalChar".to_owned()),
        Just("trueValues".to_owned()),
        "[a-zA-Z$]{1,8}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just("integer".to_owned()),
            Just("date".to_owned()),
            Just("%Y-%m-%d %H:%M%z".to_owned()),
            Just("(a|".to_owned()),
            any::<String>(),
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn any_cells_are_validated_without_panic(rows in prop::collection::vec(prop::collection::vec(cell(), 0..16), 1..8)) {
        let contract = every_type();
        let labels: Vec<&str> = contract.fields().iter().map(|f| f.name()).collect();
        let header = contract.header(&labels);
        let mut validator = Validator::new(&contract, header);
        let mut record = Record::default();
        for (line, row) in rows.iter().enumerate() {
            let cells: Vec<&str> = row.iter().map(String::as_str).collect();
            validator.validate(line as u64 + 2, &cells, &mut record);
        }
    }

    #[test]
    fn normalized_values_read_back_as_themselves(row in prop::collection::vec(cell(), 8)) {
        // Default formats only: a normalized value is in the default form, so reading it
        // again must give the same value (the staged file is a fixed point of the contract).
        let contract = Contract::from_value(&json!({"fields": [
            {"name": "s", "type": "string"}, {"name": "i", "type": "integer"}, {"name": "n", "type": "number"},
            {"name": "b", "type": "boolean"}, {"name": "d", "type": "date"}, {"name": "t", "type": "time"},
            {"name": "dt", "type": "datetime"}, {"name": "y", "type": "year"}
        ]})).unwrap_or_else(|e| panic!("{e}"));
        let labels: Vec<&str> = contract.fields().iter().map(|f| f.name()).collect();
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let mut first = Record::default();
        Validator::new(&contract, contract.header(&labels)).validate(2, &cells, &mut first);
        let normalized: Vec<String> = (0..8).map(|f| first.value(f).unwrap_or_default().to_owned()).collect();
        let again: Vec<&str> = normalized.iter().map(String::as_str).collect();
        let mut second = Record::default();
        Validator::new(&contract, contract.header(&labels)).validate(2, &again, &mut second);
        for f in 0..8 {
            if let Some(v) = first.value(f) {
                prop_assert_eq!(second.value(f), Some(v), "field {}", contract.fields()[f].name());
            }
        }
    }

    #[test]
    fn any_descriptor_is_loaded_or_refused_in_one_line(fields in prop::collection::vec(json_value(), 1..4), root in json_value()) {
        let mut descriptor = match root { Value::Object(o) => o, _ => serde_json::Map::new() };
        descriptor.insert("fields".to_owned(), Value::Array(fields));
        if let Err(e) = Contract::from_value(&Value::Object(descriptor)) {
            prop_assert!(!e.to_string().contains('\n'), "{}", e);
        }
    }

    #[test]
    fn any_date_pattern_is_compiled_or_refused(format in "[%YymdHIMSfpbBzjZ :/.-]{0,12}", value in "[0-9A-Za-z :/.+-]{0,20}") {
        let descriptor = json!({"fields": [{"name": "d", "type": "datetime", "format": format}]});
        if let Ok(contract) = Contract::from_value(&descriptor) {
            let mut validator = Validator::new(&contract, contract.header(&["d"]));
            let mut record = Record::default();
            validator.validate(2, &[value.as_str()], &mut record);
        }
    }
}
