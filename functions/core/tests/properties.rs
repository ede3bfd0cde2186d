//! Arbitrary input never panics, and every data line is accounted for exactly once.

use proptest::prelude::*;
use zipster_core::{Limits, transform};

const HEADER: &str = "Zipcode,ZipCodeType,City,State,LocationType,Lat,Long,Location,Decommisioned\n";

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("06883,STANDARD,WESTON,CT,PRIMARY,41.2,-73.38,NA-US-CT-WESTON,FALSE".to_owned()),
        Just("9351,MILITARY,APO,AE,PRIMARY,NA,NA,EU-IT-NAPLES,TRUE".to_owned()),
        "[0-9A-Za-z ,.+-]{0,80}",
        proptest::collection::vec(
            prop_oneof!["[0-9]{1,6}", "[A-Z ]{0,10}", "-?[0-9]{1,3}(\\.[0-9]{0,3})?", Just("NA".to_owned())],
            9
        )
        .prop_map(|f| f.join(",")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048), with_header in any::<bool>()) {
        let mut input = if with_header { HEADER.as_bytes().to_vec() } else { Vec::new() };
        input.extend_from_slice(&bytes);
        let limits = Limits { max_line_bytes: 256, ..Limits::default() };
        let _ = transform(zipcodes(), &input[..], Vec::new(), Vec::new(), &limits);
    }

    #[test]
    fn every_data_line_is_counted_once(lines in proptest::collection::vec(line(), 1..60), crlf in any::<bool>()) {
        let end = if crlf { "\r\n" } else { "\n" };
        let input = format!("{}{}{end}", HEADER.trim_end(), end) + &lines.join(end);
        let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
        let summary = match transform(zipcodes(), input.as_bytes(), &mut accepted, &mut rejects, &Limits::default()) {
            Ok(s) => s,
            Err(failure) => {
                // Only a file of nothing but an empty last line has no rows.
                prop_assert!(lines.len() == 1 && lines[0].is_empty(), "{failure}");
                return Ok(());
            }
        };
        let data_lines = summary.lines_read - 1;
        prop_assert_eq!(summary.accepted + summary.rejected + summary.blank, data_lines);
        prop_assert_eq!(accepted.iter().filter(|b| **b == b'\n').count() as u64, summary.accepted + 1);
        prop_assert_eq!(rejects.iter().filter(|b| **b == b'\n').count() as u64, summary.rejected + summary.blank);
    }
}

/// Hostile files from the reliability issue: each gets a clear per-file outcome.
mod hostile {
    use super::zipcodes;
    use zipster_core::{FileError, Limits, transform};

    const HEADER: &str = super::HEADER;

    #[test]
    fn a_ten_megabyte_single_line_is_refused_with_its_line_number() {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend(std::iter::repeat_n(b'A', 10 * 1024 * 1024));
        let failure =
            transform(zipcodes(), &input[..], Vec::new(), Vec::new(), &Limits::default()).expect_err("refused");
        assert!(matches!(failure.error, FileError::LineTooLong { line: 2, limit: 65536 }), "{}", failure.error);
        assert_eq!(failure.to_string(), "line 2 is longer than 65536 bytes (the limit for one line)");
    }

    #[test]
    fn a_million_blank_lines_are_counted_not_crashed_on() {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend(std::iter::repeat_n(b'\n', 1_000_000));
        input.extend_from_slice(b"06883,STANDARD,WESTON,CT,PRIMARY,41.2,-73.38,NA-US-CT-WESTON,FALSE\n");
        let mut rejects = Vec::new();
        let summary =
            transform(zipcodes(), &input[..], Vec::new(), &mut rejects, &Limits::default()).expect("accepted");
        assert_eq!(summary.blank, 1_000_000);
        assert_eq!(summary.accepted, 1);
        assert_eq!(rejects.iter().filter(|b| **b == b'\n').count(), 1_000_000);
    }

    #[test]
    fn an_unclosed_quote_does_not_swallow_the_file() {
        let mut input = HEADER.as_bytes().to_vec();
        input.extend_from_slice(b"06883,\"STANDARD,WESTON\n");
        for _ in 0..100_000 {
            input.extend_from_slice(b"06883,STANDARD,WESTON,CT,PRIMARY,41.2,-73.38,NA-US-CT-WESTON,FALSE\n");
        }
        let failure =
            transform(zipcodes(), &input[..], Vec::new(), Vec::new(), &Limits::default()).expect_err("refused");
        assert!(matches!(failure.error, FileError::UnclosedQuote { line: 2 }), "{}", failure.error);
    }

    #[test]
    fn sql_injection_attempts_are_rejected_by_the_rules() {
        let attempts = ["'; DROP TABLE ZIPCODES; --", "\\' OR 1=1 --", "A\0B", "06883\"", "1); DELETE FROM X"];
        for attempt in attempts {
            for field in 0..9 {
                let mut fields: Vec<String> = "06883,STANDARD,WESTON,CT,PRIMARY,41.2,-73.38,NA-US-CT-WESTON,FALSE"
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                fields[field] = format!("\"{}\"", attempt.replace('"', "\"\""));
                let input = format!("{HEADER}{}\n", fields.join(","));
                let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
                let summary = transform(zipcodes(), input.as_bytes(), &mut accepted, &mut rejects, &Limits::default())
                    .expect("file accepted");
                // City and location allow `'` and `-`, so some attempts are valid text there:
                // those are stored verbatim through parameterized statements (db tests).
                assert_eq!(summary.accepted + summary.rejected, 1);
                let report = String::from_utf8(rejects).expect("UTF-8");
                if summary.rejected == 1 {
                    assert!(report.contains("\"errors\""), "{report}");
                }
            }
        }
    }
}

/// The zip code feed's contract, as the functions have it compiled in.
fn zipcodes() -> &'static zipster_contract::Contract {
    &zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed").contract
}

/// Cells that are not UTF-8, under a contract that would read anything.
mod not_text {
    use zipster_contract::Contract;
    use zipster_core::{Limits, transform};

    fn run(descriptor: &str, input: &[u8]) -> (String, zipster_core::Summary) {
        let contract = Contract::from_json(descriptor).expect("a contract");
        let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
        let summary = transform(&contract, input, &mut accepted, &mut rejects, &Limits::default()).expect("read");
        (String::from_utf8(rejects).expect("UTF-8 report"), summary)
    }

    #[test]
    fn a_cell_that_is_not_text_is_rejected_even_where_any_value_is_valid() {
        let (rejects, summary) =
            run(r#"{"fields": [{"name": "a"}, {"name": "b", "type": "string"}]}"#, b"a,b\nok,\xffx\n");
        assert_eq!((summary.accepted, summary.rejected), (0, 1));
        assert!(
            rejects.contains(r#"{"field":"b","type":"type-error","value":"�x","reason":"not valid UTF-8"}"#),
            "{rejects}"
        );
    }

    #[test]
    fn a_short_record_that_is_not_text_names_its_missing_cells_and_does_not_crash() {
        // Found by the descriptor fuzz target: a missing cell's column is beyond the record.
        let (rejects, summary) = run(r#"{"fields": [{"name": "a"}, {"name": "b"}]}"#, b"a,b\n\xff\n");
        assert_eq!(summary.rejected, 1);
        assert!(rejects.contains(r#""field":"a","type":"type-error""#), "{rejects}");
        assert!(rejects.contains(r#""field":"b","type":"missing-cell""#), "{rejects}");
    }
}
