//! Descriptors: what loads, and every refusal, as the one line a person reads.

use zipster_contract::{Contract, FieldsMatch};

fn refused(descriptor: &str) -> String {
    match Contract::from_json(descriptor) {
        Ok(_) => panic!("accepted: {descriptor}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_plain_v2_descriptor_loads() {
    let contract = Contract::from_json(
        r#"{
            "$schema": "https://datapackage.org/profiles/2.0/tableschema.json",
            "title": "Zip codes", "description": "documentation only",
            "fieldsMatch": "subset",
            "missingValues": ["", {"value": "NA", "label": "not available"}],
            "primaryKey": "zip",
            "fields": [
                {"name": "zip", "type": "string", "title": "Zip", "example": "00501", "rdfType": "https://schema.org/postalCode",
                 "constraints": {"pattern": "[0-9]{5}", "minLength": 5, "maxLength": 5}},
                {"name": "lat", "type": "number", "decimalChar": ".", "groupChar": ",", "bareNumber": true,
                 "constraints": {"minimum": -90, "maximum": "90", "exclusiveMinimum": -91, "exclusiveMaximum": 91}},
                {"name": "pop", "type": "integer", "groupChar": " ", "bareNumber": false, "constraints": {"enum": [1, "2"]}},
                {"name": "ok", "type": "boolean", "trueValues": ["Y"], "falseValues": ["N"], "constraints": {"enum": [true, "N"]}},
                {"name": "d", "type": "date", "format": "fmt:%d/%m/%Y", "constraints": {"minimum": "01/01/2000"}},
                {"name": "t", "type": "time", "constraints": {"maximum": "12:00:00Z"}},
                {"name": "dt", "type": "datetime", "constraints": {"enum": ["2024-01-01T00:00:00"]}},
                {"name": "y", "type": "year", "constraints": {"minimum": 1900, "maximum": "2100", "unique": true}},
                {"name": "e", "type": "string", "format": "email", "missingValues": []},
                {"name": "u", "type": "string", "format": "uri"},
                {"name": "id", "type": "string", "format": "uuid", "constraints": {"required": true}},
                {"name": "free"}
            ]
        }"#,
    )
    .expect("loads");
    assert_eq!(contract.fields().len(), 12);
    assert_eq!(contract.fields_match(), FieldsMatch::Subset);
    assert_eq!(contract.primary_key().collect::<Vec<_>>(), ["zip"]);
    assert!(contract.fields()[0].required(), "a primary key field is required");
    assert!(!contract.fields()[1].required());
}

#[test]
fn every_refusal_names_its_path() {
    let cases = [
        ("", "$: not JSON: EOF while parsing a value at line 1 column 0"),
        ("[]", "$: a Table Schema must be a JSON object"),
        ("{}", "fields: required"),
        (r#"{"fields": {}}"#, "fields: must be an array of field descriptors"),
        (r#"{"fields": []}"#, "fields: must declare at least one field"),
        (r#"{"fields": [1]}"#, "fields[0]: a field must be a JSON object"),
        (r#"{"fields": [{}]}"#, "fields[0].name: required"),
        (r#"{"fields": [{"name": ""}]}"#, "fields[0].name: must be a non-empty string"),
        (r#"{"fields": [{"name": "a"}, {"name": "a"}]}"#, "fields[1].name: \"a\" is declared twice"),
        (r#"{"fields": [{"name": "a", "type": "geopoint"}]}"#, "fields[0].type: \"geopoint\" is not supported"),
        (r#"{"fields": [{"name": "a", "type": 3}]}"#, "fields[0].type: must be a string"),
        (
            r#"{"fields": [{"name": "a", "type": "string", "format": "binary"}]}"#,
            "fields[0].format: \"binary\" is not supported",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "format": "ipv4"}]}"#,
            "fields[0].format: \"ipv4\" is not a string format",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "format": "x"}]}"#,
            "fields[0].format: \"x\" is not a format of integer",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "date", "format": "any"}]}"#,
            "fields[0].format: \"any\" is not supported (the spec does not recommend it)",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "date", "format": "%d %j"}]}"#,
            "fields[0].format: strptime directive %j is not supported",
        ),
        (
            r#"{"fields": [{"name": "a", "foo": 1}]}"#,
            "fields[0].foo: unsupported (an unknown property may change what is valid)",
        ),
        (r#"{"fields": [{"name": "a", "categories": ["x"]}]}"#, "fields[0].categories: unsupported"),
        (
            r#"{"fields": [{"name": "a", "type": "string", "groupChar": ","}]}"#,
            "fields[0].groupChar: does not apply to type \"string\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "decimalChar": ","}]}"#,
            "fields[0].decimalChar: does not apply to type \"integer\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "number", "groupChar": ".", "decimalChar": "."}]}"#,
            "fields[0].groupChar: is the same as decimalChar",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "number", "decimalChar": ""}]}"#,
            "fields[0].decimalChar: must be a non-empty string",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "number", "decimalChar": "0"}]}"#,
            "fields[0].decimalChar: must not contain digits",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "groupChar": "1"}]}"#,
            "fields[0].groupChar: must not contain digits",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "number", "bareNumber": "no"}]}"#,
            "fields[0].bareNumber: must be true or false",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "boolean", "trueValues": "y"}]}"#,
            "fields[0].trueValues: must be an array of strings",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "boolean", "trueValues": ["y"], "falseValues": ["y"]}]}"#,
            "fields[0].falseValues: \"y\" is also a true value",
        ),
        (r#"{"fields": [{"name": "a", "constraints": []}]}"#, "fields[0].constraints: must be a JSON object"),
        (r#"{"fields": [{"name": "a", "constraints": {"foo": 1}}]}"#, "fields[0].constraints.foo: unsupported"),
        (
            r#"{"fields": [{"name": "a", "type": "object", "constraints": {"jsonSchema": {}}}]}"#,
            "fields[0].type: \"object\" is not supported",
        ),
        (
            r#"{"fields": [{"name": "a", "constraints": {"jsonSchema": {}}}]}"#,
            "fields[0].constraints.jsonSchema: unsupported",
        ),
        (
            r#"{"fields": [{"name": "a", "constraints": {"required": "yes"}}]}"#,
            "fields[0].constraints.required: must be true or false",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "constraints": {"minLength": 1}}]}"#,
            "fields[0].constraints.minLength: does not apply to type \"integer\"",
        ),
        (
            r#"{"fields": [{"name": "a", "constraints": {"pattern": "x"}}]}"#,
            "fields[0].constraints.pattern: does not apply to type \"any\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"maxLength": -1}}]}"#,
            "fields[0].constraints.maxLength: must be a non-negative integer",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"minimum": 1}}]}"#,
            "fields[0].constraints.minimum: does not apply to type \"string\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "boolean", "constraints": {"maximum": 1}}]}"#,
            "fields[0].constraints.maximum: does not apply to type \"boolean\"",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": 1.5}}]}"#,
            "fields[0].constraints.minimum: 1.5 is not a valid integer",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "date", "constraints": {"minimum": "2024-13-01"}}]}"#,
            "fields[0].constraints.minimum: \"2024-13-01\" is not a valid date",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "year", "constraints": {"exclusiveMaximum": 12345}}]}"#,
            "fields[0].constraints.exclusiveMaximum: 12345 is not a valid year",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"pattern": "("}}]}"#,
            "fields[0].constraints.pattern: not a regular expression: regex parse error: \\A(?:()\\z ^ error: unclosed group",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"pattern": 5}}]}"#,
            "fields[0].constraints.pattern: must be a string",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"enum": "x"}}]}"#,
            "fields[0].constraints.enum: must be an array",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "string", "constraints": {"enum": [1]}}]}"#,
            "fields[0].constraints.enum[0]: must be a string (CSV cells are text)",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "boolean", "constraints": {"enum": ["maybe"]}}]}"#,
            "fields[0].constraints.enum[0]: \"maybe\" is not a boolean of this field",
        ),
        (
            r#"{"fields": [{"name": "a", "type": "number", "constraints": {"enum": [1, "x"]}}]}"#,
            "fields[0].constraints.enum[1]: \"x\" is not a valid number",
        ),
        (
            r#"{"fields": [{"name": "a"}], "missingValues": "NA"}"#,
            "missingValues: must be an array of strings or of {value, label} objects",
        ),
        (r#"{"fields": [{"name": "a"}], "missingValues": ["NA", "NA"]}"#, "missingValues[1]: \"NA\" is listed twice"),
        (
            r#"{"fields": [{"name": "a"}], "missingValues": [1]}"#,
            "missingValues[0]: must be a string or a {value, label} object",
        ),
        (
            r#"{"fields": [{"name": "a"}], "missingValues": [{"label": "x"}]}"#,
            "missingValues[0].value: required, a string",
        ),
        (
            r#"{"fields": [{"name": "a"}], "missingValues": [{"value": "", "note": "x"}]}"#,
            "missingValues[0].note: unsupported",
        ),
        (
            r#"{"fields": [{"name": "a"}], "missingValues": [{"value": "", "label": "x"}, {"value": "-", "label": "x"}]}"#,
            "missingValues[1].label: \"x\" is not unique",
        ),
        (
            r#"{"fields": [{"name": "a", "missingValues": ["", ""]}]}"#,
            "fields[0].missingValues[1]: \"\" is listed twice",
        ),
        (r#"{"fields": [{"name": "a"}], "primaryKey": "b"}"#, "primaryKey: \"b\" is not a field"),
        (r#"{"fields": [{"name": "a"}], "primaryKey": ["a", "a"]}"#, "primaryKey[1]: \"a\" is listed twice"),
        (r#"{"fields": [{"name": "a"}], "primaryKey": [1]}"#, "primaryKey[0]: must be a field name"),
        (r#"{"fields": [{"name": "a"}], "primaryKey": 1}"#, "primaryKey: must be a field name or an array of them"),
        (r#"{"fields": [{"name": "a"}], "foreignKeys": []}"#, "foreignKeys: unsupported"),
        (r#"{"fields": [{"name": "a"}], "uniqueKeys": [["a"]]}"#, "uniqueKeys: unsupported"),
        (
            r#"{"fields": [{"name": "a"}], "fieldsMatch": "loose"}"#,
            "fieldsMatch: \"loose\" is not one of exact, equal, subset, superset, partial",
        ),
        (r#"{"fields": [{"name": "a"}], "fieldsMatch": true}"#, "fieldsMatch: must be a string"),
        (r#"{"fields": [{"name": "a"}], "$schema": 2}"#, "$schema: must be a string"),
        (
            r#"{"fields": [{"name": "a"}], "dialect": {}}"#,
            "dialect: unsupported (an unknown property may change what is valid)",
        ),
    ];
    for (descriptor, message) in cases {
        assert_eq!(refused(descriptor), message, "{descriptor}");
    }
}

#[test]
fn hostile_descriptors_are_refused_not_crashed_on() {
    for descriptor in [
        r#"{"fields": [{"name": "a", "type": "number", "constraints": {"minimum": "1e999999999999999999"}}]}"#,
        r#"{"fields": [{"name": "a", "type": "date", "format": "%"}]}"#,
        r#"{"fields": [{"name": "a", "type": "string", "constraints": {"pattern": "(a{1000}){1000}"}}]}"#,
        r#"{"fields": [{"name": "a", "type": "time", "format": "%H%H"}]}"#,
        r#"{"fields": [{"name": "é", "type": "string", "constraints": {"maxLength": 18446744073709551615}}]}"#,
    ] {
        // Loaded or refused with a message, either way without a panic and in one line.
        if let Err(e) = Contract::from_json(descriptor) {
            assert!(!e.to_string().contains('\n'), "{e}");
        }
    }
}
