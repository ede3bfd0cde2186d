//! Conformance with the reference implementation: every case of the corpus below (a
//! descriptor and a small CSV file) is validated by `frictionless validate --json` (pinned
//! in xtask/requirements.txt, installed into the project venv on first use) and by this
//! crate, and the sets of (row, field, error type) must be equal, except for the listed
//! deviations, where frictionless departs from the written standard (feeds/README.md
//! cites the spec for each). A listed deviation that no longer happens fails too.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use zipster_contract::{Contract, Record, Validator};

/// Who reports an error the other does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// frictionless reports it; the standard says the value is fine.
    Theirs,
    /// We report it; frictionless accepts what the standard refuses.
    Ours,
}

struct Deviation {
    /// The section of feeds/README.md that explains and cites it.
    readme: &'static str,
    row: u64,
    field: &'static str,
    kind: &'static str,
    side: Side,
}

struct Case {
    name: &'static str,
    schema: Value,
    csv: &'static str,
    deviations: Vec<Deviation>,
}

fn case(name: &'static str, schema: Value, csv: &'static str) -> Case {
    Case { name, schema, csv, deviations: Vec::new() }
}

impl Case {
    fn deviates(mut self, readme: &'static str, row: u64, field: &'static str, kind: &'static str, side: Side) -> Case {
        self.deviations.push(Deviation { readme, row, field, kind, side });
        self
    }
}

type Found = BTreeSet<(u64, String, String)>;

fn corpus() -> Vec<Case> {
    use Side::{Ours, Theirs};
    vec![
        case(
            "string-constraints",
            json!({"fields": [
                {"name": "id", "type": "integer"},
                {"name": "word", "type": "string", "constraints": {"minLength": 2, "maxLength": 5, "pattern": "[a-zé]+"}},
                {"name": "tag", "type": "string", "constraints": {"enum": ["red", "grün", "日本"]}}
            ]}),
            "id,word,tag\n1,abc,red\n2,a,grün\n3,abcdef,日本\n4,ABC,blue\n5,\"a,b\",red\n6,café,\"日本\"\n7,éé,Red\n",
        ),
        case(
            "string-pattern-anchors",
            json!({"fields": [{"name": "code", "type": "string", "constraints": {"pattern": "^a.*$"}}, {"name": "alt", "type": "string", "constraints": {"pattern": "a|b"}}]}),
            "code,alt\napple,a\norange,b\na,ab\nab,ba\n\"abc\n\",\"a\n\"\n",
        )
        .deviates("pattern-whole-value", 4, "alt", "constraint-error", Ours)
        .deviates("pattern-whole-value", 6, "code", "constraint-error", Ours)
        .deviates("pattern-whole-value", 6, "alt", "constraint-error", Ours),
        case(
            "string-formats",
            json!({"fields": [
                {"name": "email", "type": "string", "format": "email"},
                {"name": "uri", "type": "string", "format": "uri"},
                {"name": "uuid", "type": "string", "format": "uuid"}
            ]}),
            "email,uri,uuid\n\
             a@example.com,https://example.com/a?b=c#d,2bc1c94f-0deb-43e9-92a1-4775189ec9f8\n\
             first.last+tag@sub.example.org,mailto:a@example.com,2BC1C94F-0DEB-43E9-92A1-4775189EC9F8\n\
             no-at-sign,example.com/path,2bc1c94f-0deb-43e9-92a1\n\
             a@b@example.com,urn:isbn:0451450523,not-a-uuid\n\
             a@localhost,http://exa mple.com,2bc1c94f0deb43e992a14775189ec9f8\n\
             .a@example.com,ftp://ftp.example.com/file.txt,{2bc1c94f-0deb-43e9-92a1-4775189ec9f8}\n",
        )
        .deviates("uri-characters", 6, "uri", "type-error", Ours)
        .deviates("uuid-form", 6, "uuid", "type-error", Ours)
        .deviates("uuid-form", 7, "uuid", "type-error", Ours),
        case(
            "integer",
            json!({"fields": [
                {"name": "n", "type": "integer", "constraints": {"minimum": -5, "maximum": "100"}},
                {"name": "x", "type": "integer", "constraints": {"exclusiveMinimum": 0, "exclusiveMaximum": 10}},
                {"name": "e", "type": "integer", "constraints": {"enum": [1, "2", 30]}}
            ]}),
            "n,x,e\n1,1,1\n+5, 9 ,2\n-6,0,3\n101,10,30\n1.0,5,1\nabc,5,1\n-0,5,02\n123456789012345678901234567890,5,1\n1_0,5,1\n",
        )
        .deviates("integer-lexical", 10, "n", "type-error", Ours),
        case(
            "integer-group-bare",
            json!({"fields": [
                {"name": "grouped", "type": "integer", "groupChar": ","},
                {"name": "money", "type": "integer", "bareNumber": false, "constraints": {"minimum": 10}}
            ]}),
            "grouped,money\n1000,€95\n\"1,000\",95%\n\"1,000,000\",EUR 5\n12,-3 USD\n",
        )
        .deviates("integer-group-char", 3, "grouped", "type-error", Theirs)
        .deviates("integer-group-char", 4, "grouped", "type-error", Theirs),
        case(
            "number",
            json!({"fields": [
                {"name": "plain", "type": "number", "constraints": {"minimum": 0, "maximum": 1e3}},
                {"name": "euro", "type": "number", "decimalChar": ",", "groupChar": "."},
                {"name": "bare", "type": "number", "bareNumber": false},
                {"name": "bounded", "type": "number", "constraints": {"exclusiveMinimum": "1.5", "exclusiveMaximum": 2, "enum": [1.75, "1.8", 1.9]}}
            ]}),
            "plain,euro,bare,bounded\n\
             1.5,\"1.234,5\",95%,1.75\n\
             1e3,\"1,5\",€1.5,1.80\n\
             1E4,1.5,$ -2,1.5\n\
             -0.001,\"1.000.000\",12 apples,2\n\
             NaN,\"2,5\",x,1.9\n\
             INF,\"3\",1,1.7\n\
             -inf,\"4\",1,1.9\n\
             .5,\"5,\",1,1.9\n\
             abc,\"6\",1,1.9\n\
             Infinity,\"7\",1,1.9\n\
             1_0,\"8\",1,1.9\n",
        )
        .deviates("number-lexical", 11, "plain", "type-error", Ours)
        .deviates("number-lexical", 11, "plain", "constraint-error", Theirs)
        .deviates("number-lexical", 12, "plain", "type-error", Ours),
        case(
            "boolean",
            json!({"fields": [
                {"name": "default", "type": "boolean"},
                {"name": "custom", "type": "boolean", "trueValues": ["yes", "Y"], "falseValues": ["no"], "constraints": {"enum": [true]}}
            ]}),
            "default,custom\ntrue,yes\nFALSE,Y\n1,no\nyes,maybe\nTrue,\"yes \"\n0,yes\n",
        ),
        case(
            "date",
            json!({"fields": [
                {"name": "iso", "type": "date", "constraints": {"minimum": "2000-01-01", "exclusiveMaximum": "2030-01-01"}},
                {"name": "eu", "type": "date", "format": "%d/%m/%Y", "constraints": {"enum": ["01/02/2024", "29/02/2024"]}}
            ]}),
            "iso,eu\n2024-01-26,01/02/2024\n1999-12-31,29/02/2024\n2030-01-01,30/02/2024\n2024-02-30,1/2/2024\n2024-1-5,01/03/2024\n26/01/2024,2024-02-01\n",
        )
        .deviates("date-default", 6, "iso", "type-error", Ours),
        case(
            "time",
            json!({"fields": [
                {"name": "t", "type": "time", "constraints": {"minimum": "08:00:00", "maximum": "18:00:00"}},
                {"name": "p", "type": "time", "format": "%H:%M"}
            ]}),
            "t,p\n09:30:00,09:30\n07:59:59,9:05\n18:00:01,24:00\n12:00:00.250,12:60\n9:30:00,12:30:00\n15:00,23:59\n25:00:00,00:00\n",
        ),
        case(
            "datetime",
            json!({"fields": [
                {"name": "iso", "type": "datetime", "constraints": {"minimum": "2024-01-01T00:00:00"}},
                {"name": "us", "type": "datetime", "format": "%m/%d/%Y %I:%M %p"}
            ]}),
            "iso,us\n2024-01-26T15:00:00,01/26/2024 03:00 PM\n2024-01-26T15:00:00.300,1/26/2024 3:00 am\n2023-12-31T23:59:59,13/26/2024 03:00 PM\n2024-01-26,01/26/2024 15:00 PM\n2024-01-26 15:00:00,01/26/2024 03:00\n2024-02-30T10:00:00,02/30/2024 03:00 PM\n",
        )
        .deviates("datetime-separator", 6, "iso", "type-error", Ours),
        case(
            "year",
            json!({"fields": [{"name": "y", "type": "year", "constraints": {"minimum": 1900, "maximum": "2100", "unique": true}}]}),
            "y\n2024\n1899\n2101\n99\nabcd\n2024\n0000\n",
        ),
        case(
            "any-and-untyped",
            json!({"fields": [
                {"name": "a", "type": "any", "constraints": {"required": true, "enum": ["1", "x"]}},
                {"name": "b"}
            ]}),
            "a,b\n1,anything\nx,\n2,z\n,z\n",
        ),
        case(
            "missing-values",
            json!({
                "missingValues": ["", "NA", "-"],
                "fields": [
                    {"name": "n", "type": "integer", "constraints": {"required": true}},
                    {"name": "s", "type": "string"},
                    {"name": "own", "type": "number", "missingValues": ["n/a"]}
                ]
            }),
            "n,s,own\n1,NA,n/a\nNA,x,1\n-,-,NA\n3,,\n4,na,n/a\n",
        ),
        case(
            "missing-values-objects",
            json!({
                "missingValues": [{"value": "", "label": "omitted"}, {"value": "-99", "label": "refused"}],
                "fields": [{"name": "age", "type": "integer", "constraints": {"required": true, "minimum": 0}}, {"name": "note", "type": "string"}]
            }),
            "age,note\n30,a\n-99,b\n-98,c\n,d\n",
        ),
        case(
            "missing-values-none",
            json!({"missingValues": [], "fields": [{"name": "n", "type": "integer"}, {"name": "s", "type": "string", "constraints": {"required": true, "minLength": 1}}]}),
            "n,s\n1,a\n,b\n2,\n",
        ),
        case(
            "unique-and-primary-key",
            json!({
                "fields": [
                    {"name": "a", "type": "integer"},
                    {"name": "b", "type": "string"},
                    {"name": "c", "type": "number", "constraints": {"unique": true}}
                ],
                "primaryKey": ["a", "b"]
            }),
            "a,b,c\n1,x,1.0\n1,y,1\n01,x,2\n2,x,2.00\n3,,3\n,,4\n,,\n2,y,\n2,y,5\n",
        )
        .deviates("primary-key-required", 6, "b", "constraint-error", Ours)
        .deviates("primary-key-required", 6, "", "primary-key", Ours)
        .deviates("primary-key-required", 7, "a", "constraint-error", Ours)
        .deviates("primary-key-required", 7, "b", "constraint-error", Ours),
        case(
            "primary-key-single",
            json!({"fields": [{"name": "id", "type": "string"}, {"name": "v", "type": "integer", "constraints": {"unique": true}}], "primaryKey": "id"}),
            "id,v\nk1,1\nk2,2\nk1,3\n,4\nk3,2\nk4,x\nk5,\nk6,\n",
        )
        .deviates("primary-key-required", 5, "id", "constraint-error", Ours),
        case(
            "cells-and-rows",
            json!({"fields": [{"name": "a", "type": "string", "constraints": {"required": true}}, {"name": "b", "type": "integer"}, {"name": "c", "type": "string"}]}),
            "a,b,c\nx,1,y\n\n,,\nx,1\nx\nx,1,y,z\nx,1,y,z,w\n\"multi\nline\",2,\"quoted \"\"q\"\"\"\n,,,extra\nü,3,ß\r\nx,notint,\r\n",
        ),
        case(
            "header-exact",
            json!({"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "d"}]}),
            "a,B,,a,e\n1,2,3,4,5\n",
        ),
        case("header-exact-missing", json!({"fields": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}), "a\n1\n1,2\n"),
        case(
            "fields-match-equal",
            json!({"fieldsMatch": "equal", "fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "string"}, {"name": "c"}]}),
            "b,a,extra\nx,1,z\ny,nope,z\n",
        ),
        case(
            "fields-match-subset",
            json!({"fieldsMatch": "subset", "fields": [{"name": "id", "type": "integer", "constraints": {"required": true}}, {"name": "name", "type": "string"}, {"name": "gone", "type": "string"}]}),
            "other,name,id,more\nq,ann,1,r\nq,bob,,r\nq,cid,x,r\n,,,\n",
        ),
        case(
            "fields-match-superset",
            json!({"fieldsMatch": "superset", "fields": [
                {"name": "id", "type": "integer", "constraints": {"required": true}},
                {"name": "opt", "type": "string"},
                {"name": "key", "type": "string"},
                {"name": "must", "type": "string", "constraints": {"required": true}}
            ], "primaryKey": ["key"]}),
            "id,surplus\n1,x\n2,y\n",
        ),
        case(
            "fields-match-superset-ok",
            json!({"fieldsMatch": "superset", "fields": [{"name": "id", "type": "integer"}, {"name": "opt", "type": "string"}], "primaryKey": ["id"]}),
            "id\n1\n2\n1\n",
        ),
        case(
            "fields-match-partial",
            json!({"fieldsMatch": "partial", "fields": [{"name": "x", "type": "integer"}, {"name": "y", "type": "integer"}]}),
            "y,z\n1,2\nfoo,3\n",
        ),
        case(
            "unique-by-type",
            json!({"fields": [
                {"name": "s", "type": "string", "constraints": {"unique": true}},
                {"name": "d", "type": "date", "format": "%d/%m/%Y", "constraints": {"unique": true}},
                {"name": "b", "type": "boolean", "constraints": {"unique": true}},
                {"name": "dt", "type": "datetime", "constraints": {"unique": true}},
                {"name": "t", "type": "time", "constraints": {"unique": true}}
            ]}),
            "s,d,b,dt,t\n\
             é,01/02/2024,true,2024-01-26T10:00:00+01:00,10:00:00\n\
             e,1/2/2024,1,2024-01-26T09:00:00Z,10:00:00.000\n\
             É,02/02/2024,0,2024-01-26T10:00:00,11:00:00\n\
             é,03/02/2024,false,2024-01-26T10:00:00.0,10:00:01\n\
             x,bad,maybe,bad,bad\n\
             y,bad,maybe,bad,bad\n",
        ),
        case(
            "enum-by-type",
            json!({"fields": [
                {"name": "y", "type": "year", "constraints": {"enum": [2020, "2024"]}},
                {"name": "t", "type": "time", "constraints": {"enum": ["10:00:00", "12:30:00"]}},
                {"name": "dt", "type": "datetime", "constraints": {"enum": ["2024-01-26T10:00:00Z"]}},
                {"name": "b", "type": "boolean", "constraints": {"enum": [false]}},
                {"name": "n", "type": "number", "constraints": {"enum": [1.5, "2e1"]}}
            ]}),
            "y,t,dt,b,n\n2020,10:00:00,2024-01-26T10:00:00Z,false,1.50\n2024,12:30:00,2024-01-26T11:00:00+01:00,0,20\n2021,12:30:01,2024-01-26T10:00:01Z,true,NaN\n",
        ),
        case(
            "temporal-bounds",
            json!({"fields": [
                {"name": "t", "type": "time", "format": "%I:%M %p", "constraints": {"minimum": "09:00 AM", "exclusiveMaximum": "05:00 PM"}},
                {"name": "dt", "type": "datetime", "constraints": {"exclusiveMinimum": "2024-01-01T00:00:00Z", "maximum": "2024-12-31T23:59:59Z"}},
                {"name": "z", "type": "time", "constraints": {"maximum": "12:00:00Z"}}
            ]}),
            "t,dt,z\n09:00 AM,2024-01-01T00:00:01Z,11:00:00Z\n08:59 am,2024-01-01T00:00:00Z,12:00:00Z\n05:00 PM,2024-01-01T01:00:00+01:00,13:00:00+02:00\n04:59 PM,2025-01-01T00:59:59+01:00,12:00:01Z\n13:00 PM,2024-06-01T12:00:00.123456Z,12:00:00+00:00\n",
        ),
        case(
            "numbers-more",
            json!({"fields": [
                {"name": "comma", "type": "number", "decimalChar": ","},
                {"name": "bare", "type": "number", "bareNumber": false, "groupChar": ","},
                {"name": "ibare", "type": "integer", "bareNumber": false},
                {"name": "lead", "type": "integer", "constraints": {"minimum": 5}},
                {"name": "big", "type": "number", "constraints": {"maximum": 1e300}}
            ]}),
            "comma,bare,ibare,lead,big\n\
             \"1,5\",\"$1,234.5\",-5 kg,007,1e299\n\
             2,\"USD 1,000\",about 3,+5,1e301\n\
             \"3,\",x,,5.0,-1e400\n\
             \"1.5\",12,3%,-0,1E300\n\
             \",5\",\"1,,2\",- 4,00,-0.0\n",
        ),
        case(
            "missing-values-and-constraints",
            json!({"missingValues": ["-99", "", "null"], "fields": [
                {"name": "n", "type": "integer", "constraints": {"minimum": 0, "required": true}},
                {"name": "s", "type": "string", "constraints": {"minLength": 3, "pattern": "[a-z ]+"}},
                {"name": "e", "type": "string", "constraints": {"enum": ["a", "b"]}}
            ]}),
            "n,s,e\n-99,null,\n-98,\" ab\",c\n1,\"\",null\n2, a ,\"\"\n3,NULL,A\n",
        ),
        case(
            "labels-spacing",
            json!({"fields": [{"name": "a"}, {"name": "b"}, {"name": "c d"}]}),
            " a,b ,\"c\nd\"\n1,2,3\n , ,\n",
        ),
        case(
            "fields-match-equal-case",
            json!({"fieldsMatch": "equal", "fields": [{"name": "Id", "type": "integer"}, {"name": "name"}]}),
            "id,name\n1,a\n",
        ),
        case(
            "composite-key-dates",
            json!({"fields": [{"name": "day", "type": "date"}, {"name": "n", "type": "integer"}, {"name": "v"}], "primaryKey": ["day", "n"]}),
            "day,n,v\n2024-01-01,1,a\n2024-01-01,2,b\n2024-01-01,01,c\n2024-01-02,1,d\nbad,1,e\n2024-01-02,1,f\n",
        )
        .deviates("primary-key-required", 6, "", "primary-key", Ours),
        case(
            "temporal-edges",
            json!({"fields": [
                {"name": "dt", "type": "datetime"},
                {"name": "t", "type": "time"},
                {"name": "p", "type": "date", "format": "%b %d, %Y"},
                {"name": "q", "type": "time", "format": "%H:%M:%S.%f"},
                {"name": "r", "type": "date", "format": "%Y%m%d"}
            ]}),
            "dt,t,p,q,r\n\
             2024-01-26T15:00:00Z,15:00:00Z,\"Jan 26, 2024\",15:00:00.123,20240126\n\
             2024-01-26T15:00:00+0100,15:00:00+0100,\"jan 6, 2024\",15:00:00.1234567,2024126\n\
             2024-01-26T15:00:00.123456789,15:00:00.123456789,\"January 26, 2024\",15:00:00,20241301\n\
             2024-01-26T15:00:00+01,15:00:00+01,\"Feb 30, 2024\",15:00:00.,2024-01-26\n\
             2024-01-26T24:00:00,24:00:00,\"Jan 26 2024\",25:00:00.1,20240229\n",
        )
        .deviates("temporal-offsets", 3, "dt", "type-error", Ours)
        .deviates("temporal-offsets", 3, "t", "type-error", Ours)
        .deviates("temporal-offsets", 5, "dt", "type-error", Ours)
        .deviates("temporal-offsets", 5, "t", "type-error", Ours),
        case(
            "strings-edges",
            json!({"fields": [
                {"name": "email", "type": "string", "format": "email"},
                {"name": "uri", "type": "string", "format": "uri"},
                {"name": "b", "type": "boolean"},
                {"name": "n", "type": "number"}
            ]}),
            "email,uri,b,n\n\
             First.Last@Example.COM,http://例え.jp/パス,true,+.5\n\
             user@ex_ample.com,HTTP://EXAMPLE.COM,\" true\",-.5e-3\n\
             user@example.c0m,http://example.com/%zz,yes,1.e5\n\
             josé@example.com,a:b,TRUE,\"1 000\"\n\
             \"a b@example.com\",//example.com,False,0x1A\n",
        )
        .deviates("uri-characters", 2, "uri", "type-error", Ours)
        .deviates("uri-characters", 4, "uri", "type-error", Ours),
        case(
            "typical-feed",
            json!({
                "missingValues": ["", "n/a"],
                "primaryKey": "id",
                "fields": [
                    {"name": "id", "type": "integer", "constraints": {"minimum": 1}},
                    {"name": "when", "type": "datetime", "format": "%Y-%m-%d %H:%M:%S"},
                    {"name": "local", "type": "datetime", "format": "%Y-%m-%dT%H:%M:%S%z"},
                    {"name": "day", "type": "date", "format": "%d.%m.%Y"},
                    {"name": "title", "type": "string", "constraints": {"maxLength": 12, "required": true}},
                    {"name": "share", "type": "number", "bareNumber": false, "constraints": {"maximum": 100}},
                    {"name": "lang", "type": "string", "constraints": {"enum": ["de", "fr", "çà"]}},
                    {"name": "ok", "type": "boolean", "trueValues": ["yes"], "falseValues": ["no"]}
                ]
            }),
            "id,when,local,day,title,share,lang,ok\n\
             1,2024-01-26 15:00:00,2024-01-26T15:00:00+0100,26.01.2024,\"Hello, \"\"world\"\"\",12.5%,de,yes\n\
             2,2024-01-26 15:00,2024-01-26T15:00:00Z,1.1.2024,Überlänge über zwölf,101%,çà,no\n\
             3,n/a,2024-01-26T15:00:00,31.04.2024,\"multi\nline\",n/a,en,n/a\n\
             0,2024-01-26 25:00:00,2024-01-26T15:00:00+01:00,,日本語テキスト,100 %,,Yes\n\
             3,2024-02-29 00:00:00,2024-01-26T15:00:00-05:30,29.02.2023,,x,fr,no\n",
        ),
        case(
            "superset-rows",
            json!({"fieldsMatch": "superset", "fields": [
                {"name": "a", "type": "integer", "constraints": {"required": true}},
                {"name": "b", "type": "integer"},
                {"name": "c", "type": "string", "constraints": {"unique": true}}
            ]}),
            "c,a\nx,1\nx,\ny,z\n,\n\n",
        ),
        case(
            "short-rows-with-unread-columns",
            json!({"fieldsMatch": "subset", "fields": [{"name": "a", "type": "integer"}, {"name": "b"}]}),
            "a,x,b\n1\n1,2\n,,\n1,,2,3\n",
        ),
        case(
            "short-rows-beyond-the-fields",
            json!({"fields": [{"name": "a", "type": "integer"}, {"name": "b"}]}),
            "a,b,x\n1,2\n1\n1,2,3,4\n",
        ),
        case(
            "year-and-digit-forms",
            json!({"fields": [{"name": "y", "type": "year"}, {"name": "i", "type": "integer"}]}),
            "y,i\n2024,١٢٣\n+123,12\n\" 202\",12\n-202,12\n",
        )
        .deviates("integer-lexical", 2, "i", "type-error", Ours)
        .deviates("year-lexical", 3, "y", "type-error", Ours)
        .deviates("year-lexical", 4, "y", "type-error", Ours),
        case(
            "fields-match-partial-none",
            json!({"fieldsMatch": "partial", "fields": [{"name": "x", "type": "integer"}]}),
            "p,q\n1,2\n",
        ),
    ]
}

/// RFC 4180 records as Python's csv module reads them: quotes, doubled quotes, CRLF, and
/// an empty line as a record with no cells (frictionless counts it as a row).
fn records(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while chars.peek().is_some() {
        let mut record: Vec<String> = Vec::new();
        let mut cell = String::new();
        let mut started = false;
        loop {
            match chars.next() {
                None => break,
                Some('"') if cell.is_empty() => {
                    started = true;
                    while let Some(c) = chars.next() {
                        if c == '"' {
                            if chars.peek() == Some(&'"') {
                                chars.next();
                                cell.push('"');
                            } else {
                                break;
                            }
                        } else {
                            cell.push(c);
                        }
                    }
                }
                Some(',') => {
                    record.push(std::mem::take(&mut cell));
                    started = true;
                }
                Some('\r') if chars.peek() == Some(&'\n') => {}
                Some('\n') => break,
                Some(c) => {
                    started = true;
                    cell.push(c);
                }
            }
        }
        if started || !cell.is_empty() {
            record.push(cell);
        }
        out.push(record);
    }
    out
}

fn ours(case: &Case) -> Found {
    let contract = Contract::from_value(&case.schema).unwrap_or_else(|e| panic!("{}: {e}", case.name));
    let rows = records(case.csv);
    let mut found = Found::new();
    let Some((labels, body)) = rows.split_first() else { return found };
    let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
    let header = contract.header(&labels);
    for e in header.errors() {
        found.insert((1, e.field.clone(), e.kind.as_str().to_owned()));
    }
    let mut validator = Validator::new(&contract, header);
    let mut record = Record::default();
    for (i, row) in body.iter().enumerate() {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        let line = i as u64 + 2;
        validator.validate(line, &cells, &mut record);
        for e in record.errors() {
            found.insert((line, e.field.clone(), e.kind.as_str().to_owned()));
        }
    }
    found
}

/// Runs frictionless once over a data package holding every case as a resource.
fn theirs(cases: &[Case], dir: &Path) -> Vec<Found> {
    let mut resources = Vec::new();
    for case in cases {
        // Declared v2, as a feed's contract is: frictionless gates v2 additions
        // (exclusive bounds, object missing values) on the declared version.
        let mut schema = case.schema.clone();
        if let Some(o) = schema.as_object_mut() {
            o.insert("$schema".into(), json!("https://datapackage.org/profiles/2.0/tableschema.json"));
        }
        let file = format!("{}.csv", case.name);
        std::fs::write(dir.join(&file), case.csv).expect("writing a case");
        resources.push(json!({
            "name": case.name,
            "path": file,
            "format": "csv",
            "encoding": "utf-8",
            "dialect": {"delimiter": ",", "quoteChar": "\""},
            "schema": schema,
        }));
    }
    let package = json!({
        "$schema": "https://datapackage.org/profiles/2.0/datapackage.json",
        "name": "conformance",
        "resources": resources,
    });
    std::fs::write(dir.join("datapackage.json"), package.to_string()).expect("writing the package");
    let frictionless = zipster_tools::venv::tool("frictionless").expect("installing frictionless into the venv");
    let started = std::time::Instant::now();
    let output = Command::new(frictionless)
        .args(["validate", "--json", "datapackage.json"])
        .current_dir(dir)
        .output()
        .expect("running frictionless");
    eprintln!("frictionless validated {} cases in {:.1?}", cases.len(), started.elapsed());
    let report: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("frictionless printed no JSON ({e}): {}", String::from_utf8_lossy(&output.stderr)));
    let tasks = report["tasks"].as_array().expect("a report with tasks");
    cases
        .iter()
        .map(|case| {
            let task = tasks
                .iter()
                .find(|t| t["name"] == case.name)
                .unwrap_or_else(|| panic!("no task for {}: {report}", case.name));
            let errors = task["errors"].as_array().expect("errors");
            errors
                .iter()
                .map(|e| {
                    let kind = e["type"].as_str().unwrap_or_default().to_owned();
                    assert!(
                        !["schema-error", "resource-error", "general-error", "source-error"].contains(&kind.as_str()),
                        "{}: frictionless could not validate: {e}",
                        case.name
                    );
                    let row = e["rowNumber"].as_u64().unwrap_or(1);
                    (row, e["fieldName"].as_str().unwrap_or_default().to_owned(), kind)
                })
                .collect()
        })
        .collect()
}

#[test]
fn errors_equal_frictionless_except_cited_deviations() {
    let cases = corpus();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let reference = theirs(&cases, dir.path());
    let readme =
        std::fs::read_to_string(zipster_tools::project_root().join("feeds/README.md")).expect("feeds/README.md");
    let mut failures = Vec::new();
    let mut total = 0;
    for (case, mut expected) in cases.iter().zip(reference) {
        total += expected.len();
        for d in &case.deviations {
            assert!(readme.contains(&format!("{{#{}}}", d.readme)), "feeds/README.md has no section {{#{}}}", d.readme);
            let key = (d.row, d.field.to_owned(), d.kind.to_owned());
            match d.side {
                Side::Theirs => {
                    if !expected.remove(&key) {
                        failures.push(format!("{}: deviation {key:?} (theirs) no longer happens", case.name));
                    }
                }
                Side::Ours => {
                    if !expected.insert(key.clone()) {
                        failures
                            .push(format!("{}: deviation {key:?} (ours) is reported by frictionless too", case.name));
                    }
                }
            }
        }
        let got = ours(case);
        if got != expected {
            let missing: Vec<_> = expected.difference(&got).collect();
            let extra: Vec<_> = got.difference(&expected).collect();
            failures.push(format!("{}: frictionless only {missing:?}; zipster only {extra:?}", case.name));
        }
    }
    eprintln!("{} cases, {total} frictionless errors compared", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
