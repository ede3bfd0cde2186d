//! The real data set: the prototype's false rejections are gone, and exactly the
//! three rows with lower-case letters in `location` are rejected.

use std::collections::BTreeSet;
use std::path::Path;

use zipster_core::{Limits, transform};

#[derive(serde::Deserialize)]
struct Reject {
    line: u64,
    raw: String,
    errors: Vec<serde_json::Value>,
}

#[test]
fn real_data_rejects_exactly_three_rows() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db/seed/zipcodes.csv");
    let input = std::fs::read(path).expect("db/seed/zipcodes.csv");
    let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
    let summary =
        transform(zipcodes(), &input[..], &mut accepted, &mut rejects, &Limits::default()).expect("file accepted");

    assert_eq!(summary.lines_read, 42_523);
    assert_eq!(summary.accepted, 42_519);
    assert_eq!(summary.rejected, 3);
    assert_eq!(summary.blank, 0);
    assert_eq!(summary.errors_by_field.get("location"), Some(&3));
    assert_eq!(summary.errors_by_field.len(), 1);

    let rejects: Vec<Reject> = std::str::from_utf8(&rejects)
        .expect("UTF-8 report")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    let zips: BTreeSet<&str> = rejects.iter().map(|r| &r.raw[..5]).collect();
    assert_eq!(zips, BTreeSet::from(["09351", "09389", "34002"]));
    for r in &rejects {
        assert!(r.line > 1);
        assert_eq!(r.errors.len(), 1);
        assert_eq!(r.errors[0]["field"], "location");
    }

    let accepted = String::from_utf8(accepted).expect("UTF-8 output");
    let mut rows = csv::Reader::from_reader(accepted.as_bytes());
    let mut states = BTreeSet::new();
    let (mut military_unknown, mut whole_numbers) = (0, 0);
    for row in rows.records() {
        let row = row.expect("valid CSV");
        assert_eq!(row.len(), 9);
        states.insert(row[3].to_owned());
        if &row[1] == "MILITARY" && row[5].is_empty() {
            military_unknown += 1;
        }
        if row[5].ends_with(".00") || row[6].ends_with(".00") {
            whole_numbers += 1;
        }
        for coordinate in [&row[5], &row[6]] {
            assert!(coordinate.is_empty() || coordinate.split_once('.').is_some_and(|(_, d)| d.len() == 2));
        }
    }
    for s in ["DC", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP"] {
        assert!(states.contains(s), "{s} accepted");
    }
    assert!(military_unknown > 600, "MILITARY rows with NA coordinates accepted: {military_unknown}");
    assert!(whole_numbers > 800, "whole-number coordinates accepted: {whole_numbers}");
}

/// The zip code feed's contract, as the functions have it compiled in.
fn zipcodes() -> &'static zipster_contract::Contract {
    &zipster_core::feeds::builtin(zipster_core::feeds::ZIPCODES).expect("the zip code feed").contract
}

#[test]
fn every_city_of_the_real_cities_data_is_accepted_and_normalized() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/cities/cities15000.csv");
    let input = std::fs::read(path).expect("testdata/cities/cities15000.csv");
    let contract = &zipster_core::feeds::builtin("cities").expect("the cities feed").contract;
    let mut accepted = Vec::new();
    let summary =
        transform(contract, &input[..], &mut accepted, std::io::sink(), &Limits::default()).expect("accepted");
    assert_eq!((summary.lines_read, summary.accepted, summary.rejected, summary.blank), (34_007, 34_006, 0, 0));
    let mut rows = csv::Reader::from_reader(&accepted[..]);
    let (mut non_ascii, mut no_admin) = (0, 0);
    for row in rows.records() {
        let row = row.expect("valid CSV");
        assert_eq!(row.len(), 9);
        non_ascii += usize::from(!row[1].is_ascii());
        no_admin += usize::from(row[7].is_empty());
    }
    assert_eq!(no_admin, 25, "optional fields stay empty");
    assert!(non_ascii > 7_000, "names in every script pass through: {non_ascii}");
}

#[test]
fn every_hour_of_the_real_weather_data_but_one_impossible_wind_is_accepted() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/weather/weather.csv");
    let input = std::fs::read(path).expect("testdata/weather/weather.csv");
    let contract = &zipster_core::feeds::builtin("weather").expect("the weather feed").contract;
    let (mut accepted, mut rejects) = (Vec::new(), Vec::new());
    let summary = transform(contract, &input[..], &mut accepted, &mut rejects, &Limits::default()).expect("staged");
    assert_eq!((summary.lines_read, summary.accepted, summary.rejected, summary.blank), (26_116, 26_114, 1, 0));
    let reject: serde_json::Value = serde_json::from_slice(&rejects).expect("one JSON line");
    assert_eq!(reject["line"], 1011);
    assert_eq!(reject["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (&reject["errors"][0]["field"], &reject["errors"][0]["type"], &reject["errors"][0]["value"]),
        (&"wind_speed".into(), &"constraint-error".into(), &"1048.36058".into())
    );
    let mut rows = csv::Reader::from_reader(&accepted[..]);
    let (mut no_gust, mut repeated_hour) = (0, 0);
    for row in rows.records() {
        let row = row.expect("valid CSV");
        assert_eq!(row.len(), 15);
        assert!(row[14].ends_with('Z') && row[14].len() == 20, "a UTC datetime in the default form: {:?}", &row[14]);
        no_gust += usize::from(row[10].is_empty());
        repeated_hour += usize::from(&row[1] == "2013" && &row[2] == "11" && &row[3] == "3" && &row[4] == "1");
    }
    assert_eq!(no_gust, 20_778 - 1, "NA is a missing value, an empty cell staged (the rejected hour had none)");
    assert_eq!(repeated_hour, 6, "the hour daylight saving time repeats, twice at each airport");
}
