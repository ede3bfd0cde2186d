//! Records through a contract: normalized values, every error's type, field, value and
//! reason, and the lines duplicates name.

use zipster_contract::{Contract, ErrorType, Record, Validator};

fn contract(descriptor: serde_json::Value) -> Contract {
    Contract::from_value(&descriptor).unwrap_or_else(|e| panic!("{e}"))
}

/// A row's normalized values, and its errors as (type, field, value, reason).
type Outcome = (Vec<Option<String>>, Vec<(ErrorType, String, String, String)>);

/// Validates `rows` after `labels`; returns, per row, its values and its errors as
/// (type, field, value, reason).
fn run(contract: &Contract, labels: &[&str], rows: &[&[&str]]) -> Vec<Outcome> {
    let header = contract.header(labels);
    assert!(header.errors().is_empty(), "{:?}", header.errors());
    let mut validator = Validator::new(contract, header);
    let mut record = Record::default();
    rows.iter()
        .enumerate()
        .map(|(i, cells)| {
            validator.validate(i as u64 + 2, cells, &mut record);
            let values = (0..contract.fields().len()).map(|f| record.value(f).map(str::to_owned)).collect();
            let errors =
                record.errors().iter().map(|e| (e.kind, e.field.clone(), e.value.clone(), e.reason.clone())).collect();
            (values, errors)
        })
        .collect()
}

fn values(contract: &Contract, cells: &[&str]) -> Vec<Option<String>> {
    let labels: Vec<&str> = contract.fields().iter().map(|f| f.name()).collect();
    let out = run(contract, &labels, &[cells]);
    assert!(out[0].1.is_empty(), "{:?}", out[0].1);
    out[0].0.clone()
}

fn some(s: &str) -> Option<String> {
    Some(s.to_owned())
}

#[test]
fn values_are_normalized_to_the_spec_default_forms() {
    let c = contract(serde_json::json!({"fields": [
        {"name": "s", "type": "string"},
        {"name": "i", "type": "integer", "groupChar": ","},
        {"name": "n", "type": "number", "decimalChar": ",", "groupChar": "."},
        {"name": "b", "type": "boolean", "trueValues": ["ja"], "falseValues": ["nein"]},
        {"name": "d", "type": "date", "format": "%d.%m.%Y"},
        {"name": "t", "type": "time"},
        {"name": "dt", "type": "datetime", "format": "%Y%m%d %H%M%z"},
        {"name": "y", "type": "year"},
        {"name": "a"}
    ]}));
    assert_eq!(
        values(
            &c,
            &[
                " Zürich ",
                "+1,000",
                "1.234,50",
                "ja",
                "5.1.2024",
                "23:59:59.5+00:00",
                "20240126 0930+0100",
                "0999",
                " x"
            ]
        ),
        [
            some(" Zürich "),
            some("1000"),
            some("1234.5"),
            some("true"),
            some("2024-01-05"),
            some("23:59:59.5Z"),
            some("2024-01-26T09:30:00+01:00"),
            some("0999"),
            some(" x")
        ]
    );
    assert_eq!(
        values(&c, &["", "", "", "", "", "", "", "", "v"])[..8],
        [None, None, None, None, None, None, None, None]
    );
}

#[test]
fn each_constraint_names_itself_and_the_value() {
    let c = contract(serde_json::json!({"fields": [
        {"name": "code", "type": "string", "constraints": {"required": true, "minLength": 3, "maxLength": 4, "pattern": "[A-Z]+", "enum": ["ABC", "ABCD", "ab"]}},
        {"name": "qty", "type": "integer", "constraints": {"minimum": 1, "maximum": 9, "exclusiveMinimum": 0, "exclusiveMaximum": 9}},
        {"name": "when", "type": "date", "constraints": {"minimum": "2024-01-01"}}
    ]}));
    let out = run(
        &c,
        &["code", "qty", "when"],
        &[&["ABC", "5", "2024-06-01"], &["ab", "9", "2023-12-31"], &["", "0", "x"], &["ABCDE", "1.5", ""]],
    );
    assert!(out[0].1.is_empty());
    let kinds = |row: usize| out[row].1.iter().map(|e| (e.0, e.1.as_str(), e.3.as_str())).collect::<Vec<_>>();
    assert_eq!(
        kinds(1),
        [
            (ErrorType::ConstraintError, "code", "2 characters, fewer than 3 (constraint \"minLength\")"),
            (ErrorType::ConstraintError, "code", "does not match [A-Z]+ (constraint \"pattern\")"),
            (ErrorType::ConstraintError, "qty", "not below the exclusive maximum 9 (constraint \"exclusiveMaximum\")"),
            (ErrorType::ConstraintError, "when", "below the minimum \"2024-01-01\" (constraint \"minimum\")"),
        ]
    );
    assert_eq!(
        kinds(2),
        [
            (ErrorType::ConstraintError, "code", "a value is required (constraint \"required\")"),
            (ErrorType::ConstraintError, "qty", "below the minimum 1 (constraint \"minimum\")"),
            (ErrorType::ConstraintError, "qty", "not above the exclusive minimum 0 (constraint \"exclusiveMinimum\")"),
            (ErrorType::TypeError, "when", "not a date"),
        ]
    );
    assert_eq!(
        kinds(3),
        [
            (ErrorType::ConstraintError, "code", "5 characters, more than 4 (constraint \"maxLength\")"),
            (ErrorType::ConstraintError, "code", "not one of [\"ABC\",\"ABCD\",\"ab\"] (constraint \"enum\")"),
            (ErrorType::TypeError, "qty", "not an integer"),
        ]
    );
    assert_eq!(out[3].1[2].2, "1.5", "the error carries the cell as written");
}

#[test]
fn duplicates_name_the_line_the_value_was_first_seen_on() {
    let c = contract(serde_json::json!({
        "fields": [{"name": "k", "type": "integer"}, {"name": "u", "type": "number", "constraints": {"unique": true}}],
        "primaryKey": ["k"]
    }));
    let out = run(&c, &["k", "u"], &[&["1", "1.0"], &["2", "2"], &["01", "1"], &["1", "3"], &["3", ""], &["4", ""]]);
    let errors = |row: usize| out[row].1.iter().map(|e| (e.0, e.3.as_str())).collect::<Vec<_>>();
    assert!(errors(0).is_empty() && errors(1).is_empty());
    assert_eq!(
        errors(2),
        [
            (ErrorType::UniqueError, "\"1\" is already on line 2; field \"u\" is unique"),
            (ErrorType::PrimaryKey, "primary key (k) = (1) is already on line 2"),
        ]
    );
    assert_eq!(errors(3), [(ErrorType::PrimaryKey, "primary key (k) = (1) is already on line 2")]);
    assert!(errors(4).is_empty() && errors(5).is_empty(), "nulls are not duplicates");
}

#[test]
fn rows_of_the_wrong_shape() {
    let c = contract(serde_json::json!({"fields": [{"name": "a", "constraints": {"required": true}}, {"name": "b"}]}));
    let out = run(&c, &["a", "b"], &[&[], &["", ""], &["x"], &["x", "y", "z"], &["", "", "z"]]);
    let kinds = |row: usize| out[row].1.iter().map(|e| (e.0, e.1.as_str())).collect::<Vec<_>>();
    assert_eq!(kinds(0), [(ErrorType::BlankRow, "")]);
    assert_eq!(kinds(1), [(ErrorType::BlankRow, "")]);
    assert_eq!(kinds(2), [(ErrorType::MissingCell, "b")]);
    assert_eq!(kinds(3), [(ErrorType::ExtraCell, "")]);
    assert_eq!(kinds(4), [(ErrorType::BlankRow, "")], "a row of missing values is blank whatever follows");
}

#[test]
fn headers_by_fields_match() {
    let fields = serde_json::json!([{"name": "a"}, {"name": "b", "constraints": {"required": true}}, {"name": "c"}]);
    let header = |mode: &str, labels: &[&str]| {
        let c = contract(serde_json::json!({"fieldsMatch": mode, "fields": fields}));
        c.header(labels)
            .errors()
            .iter()
            .map(|e| (e.kind.as_str(), e.field.clone(), e.value.clone()))
            .collect::<Vec<_>>()
    };
    let s = |k: &'static str, f: &str, v: &str| (k, f.to_owned(), v.to_owned());
    assert_eq!(header("exact", &["a", "b", "c"]), []);
    assert_eq!(header("exact", &["b", "a", "c"]), [s("incorrect-label", "a", "b"), s("incorrect-label", "b", "a")]);
    assert_eq!(header("equal", &["c", "a", "b"]), []);
    assert_eq!(header("equal", &["c", "a", "x"]), [s("extra-label", "", "x"), s("missing-label", "b", "")]);
    assert_eq!(header("subset", &["x", "c", "b", "a"]), []);
    assert_eq!(header("subset", &["x", "b"]), [s("missing-label", "a", ""), s("missing-label", "c", "")]);
    assert_eq!(header("superset", &["b"]), []);
    assert_eq!(header("superset", &["a", "x"]), [s("extra-label", "", "x"), s("missing-label", "b", "")]);
    assert_eq!(header("partial", &["x", "c"]), [s("missing-label", "b", "")]);
    assert_eq!(header("partial", &["x", "y"]), [s("unmatched-header", "", "x,y"), s("missing-label", "b", "")]);
    assert_eq!(header("equal", &["a", "b", "c", "a"]), [s("duplicate-label", "a", "a")]);
    assert_eq!(header("exact", &[]), [s("blank-header", "", "")]);
    assert!(ErrorType::MissingLabel.refuses_file() && !ErrorType::TypeError.refuses_file());
}

#[test]
fn columns_matched_by_name_land_in_field_order() {
    let c = contract(
        serde_json::json!({"fieldsMatch": "subset", "fields": [{"name": "id", "type": "integer"}, {"name": "name"}, {"name": "absent"}]}),
    );
    let header = c.header(&["Extra", "name", "id"]);
    let mut validator = Validator::new(&c, header);
    let mut record = Record::default();
    validator.validate(2, &["ignored", "Ann", "007"], &mut record);
    assert!(record.is_valid(), "{:?}", record.errors());
    assert_eq!((record.value(0), record.value(1), record.value(2)), (Some("7"), Some("Ann"), None));
}

#[test]
fn errors_name_the_source_column() {
    let c = contract(
        serde_json::json!({"fieldsMatch": "equal", "fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "integer", "constraints": {"unique": true}}]}),
    );
    let header = c.header(&["b", "a", "x"]);
    assert_eq!(
        header.errors().iter().map(|e| (e.kind, e.column)).collect::<Vec<_>>(),
        [(ErrorType::ExtraLabel, Some(3))]
    );
    let mut validator = Validator::new(&c, header);
    let mut record = Record::default();
    validator.validate(2, &["1", "x", "", "extra"], &mut record);
    let columns = |r: &Record| r.errors().iter().map(|e| (e.kind, e.column)).collect::<Vec<_>>();
    assert_eq!(columns(&record), [(ErrorType::TypeError, Some(2)), (ErrorType::ExtraCell, Some(4))]);
    validator.validate(3, &["1", "2"], &mut record);
    assert_eq!(columns(&record), [(ErrorType::MissingCell, Some(3)), (ErrorType::UniqueError, Some(1))]);
    assert_eq!(record.errors()[0].field, "x", "an unread column is named by its label");
}
