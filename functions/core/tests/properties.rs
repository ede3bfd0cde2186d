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
        let _ = transform(&input[..], Vec::new(), Vec::new(), &limits);
    }

    #[test]
    fn every_data_line_is_counted_once(lines in proptest::collection::vec(line(), 1..60), crlf in any::<bool>()) {
        let end = if crlf { "\r\n" } else { "\n" };
        let input = format!("{}{}{end}", HEADER.trim_end(), end) + &lines.join(end);
        let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
        let summary = match transform(input.as_bytes(), &mut accepted, &mut rejects, &Limits::default()) {
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
