//! The zip-code feed: its columns and the rule for each field.
//!
//! Rules work on bytes (no allocation for a valid row) because they run for every
//! row of every file; a field's bytes are valid only if they are ASCII, so a
//! non-ASCII or invalid UTF-8 value fails its rule like any other wrong character.

use std::fmt;

/// The nine fields of a row, in output order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    Zipcode,
    ZipcodeType,
    City,
    State,
    LocationType,
    Latitude,
    Longitude,
    Location,
    Decommissioned,
}

impl Field {
    pub const ALL: [Field; 9] = [
        Field::Zipcode,
        Field::ZipcodeType,
        Field::City,
        Field::State,
        Field::LocationType,
        Field::Latitude,
        Field::Longitude,
        Field::Location,
        Field::Decommissioned,
    ];

    /// The name in the normalized output and in reject reports.
    pub const fn name(self) -> &'static str {
        match self {
            Field::Zipcode => "zipcode",
            Field::ZipcodeType => "zipcode_type",
            Field::City => "city",
            Field::State => "state",
            Field::LocationType => "location_type",
            Field::Latitude => "latitude",
            Field::Longitude => "longitude",
            Field::Location => "location",
            Field::Decommissioned => "decommissioned",
        }
    }

    /// Header names that mean this field, lower-case: the export's own (with its
    /// misspelling), the correct spelling, and the normalized name, so that a
    /// normalized file can be fed through again.
    const fn header_names(self) -> &'static [&'static str] {
        match self {
            Field::Zipcode => &["zipcode"],
            Field::ZipcodeType => &["zipcodetype", "zipcode_type"],
            Field::City => &["city"],
            Field::State => &["state"],
            Field::LocationType => &["locationtype", "location_type"],
            Field::Latitude => &["lat", "latitude"],
            Field::Longitude => &["long", "longitude"],
            Field::Location => &["location"],
            Field::Decommissioned => &["decommisioned", "decommissioned"],
        }
    }

    /// The header name the export uses, for error messages.
    pub const fn export_name(self) -> &'static str {
        match self {
            Field::Zipcode => "Zipcode",
            Field::ZipcodeType => "ZipCodeType",
            Field::City => "City",
            Field::State => "State",
            Field::LocationType => "LocationType",
            Field::Latitude => "Lat",
            Field::Longitude => "Long",
            Field::Location => "Location",
            Field::Decommissioned => "Decommisioned",
        }
    }

    /// Which field a header cell names, if any (case-insensitive, surrounding spaces ignored).
    pub fn from_header(cell: &str) -> Option<Field> {
        let cell = cell.trim();
        Field::ALL.into_iter().find(|f| f.header_names().iter().any(|name| name.eq_ignore_ascii_case(cell)))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The normalized CSV's header line (without the line end).
pub const OUTPUT_HEADER: &str =
    "zipcode,zipcode_type,city,state,location_type,latitude,longitude,location,decommissioned";

/// Longest city and location the database columns hold (VARCHAR(64)).
pub const MAX_TEXT_LEN: usize = 64;

pub const ZIPCODE_TYPES: [&str; 4] = ["STANDARD", "PO BOX", "UNIQUE", "MILITARY"];
pub const LOCATION_TYPES: [&str; 3] = ["PRIMARY", "ACCEPTABLE", "NOT ACCEPTABLE"];

/// The 50 states, DC, the territories and the military "states".
pub const STATES: [&str; 62] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME",
    "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA",
    "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "PR", "VI", "GU", "AS", "MP", "FM",
    "MH", "PW", "AA", "AE", "AP",
];

/// Why a field's value is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    NotUtf8,
    Zipcode,
    ZipcodeType,
    City,
    State,
    LocationType,
    CoordinateFormat,
    LatitudeRange,
    LongitudeRange,
    UnknownOnlyForMilitary,
    Location,
    Decommissioned,
}

impl Invalid {
    pub const fn reason(self) -> &'static str {
        match self {
            Invalid::NotUtf8 => "not valid UTF-8",
            Invalid::Zipcode => "must be 1 to 5 digits",
            Invalid::ZipcodeType => "must be one of STANDARD, PO BOX, UNIQUE, MILITARY",
            Invalid::City => "must be 1 to 64 upper-case letters and spaces, with - / ' . allowed inside the name",
            Invalid::State => "must be a US state, DC, a territory (PR VI GU AS MP FM MH PW) or AA/AE/AP",
            Invalid::LocationType => "must be one of PRIMARY, ACCEPTABLE, NOT ACCEPTABLE",
            Invalid::CoordinateFormat => {
                "must be an optional '-', 1 to 3 digits, then optionally '.' and up to 2 digits"
            }
            Invalid::LatitudeRange => "must lie between -90 and 90",
            Invalid::LongitudeRange => "must lie between -180 and 180",
            Invalid::UnknownOnlyForMilitary => "NA (unknown) is accepted only for MILITARY zip codes",
            Invalid::Location => "must be 1 to 64 characters of upper-case letters, digits, spaces and - . / , ( ) '",
            Invalid::Decommissioned => "must be TRUE or FALSE",
        }
    }
}

/// `6883` → `06883`.
pub fn zipcode(value: &[u8]) -> Result<[u8; 5], Invalid> {
    if value.is_empty() || value.len() > 5 || !value.iter().all(u8::is_ascii_digit) {
        return Err(Invalid::Zipcode);
    }
    let mut padded = *b"00000";
    padded[5 - value.len()..].copy_from_slice(value);
    Ok(padded)
}

pub fn zipcode_type(value: &[u8]) -> Result<(), Invalid> {
    one_of(value, &ZIPCODE_TYPES, Invalid::ZipcodeType)
}

pub fn location_type(value: &[u8]) -> Result<(), Invalid> {
    one_of(value, &LOCATION_TYPES, Invalid::LocationType)
}

pub fn state(value: &[u8]) -> Result<(), Invalid> {
    match value {
        [a @ b'A'..=b'Z', b @ b'A'..=b'Z'] if STATE_TABLE[state_slot(*a, *b)] => Ok(()),
        _ => Err(Invalid::State),
    }
}

/// Every row checks its state, so membership is one table lookup rather than a
/// scan of 62 strings.
static STATE_TABLE: [bool; 26 * 26] = {
    let mut table = [false; 26 * 26];
    let mut i = 0;
    while i < STATES.len() {
        let code = STATES[i].as_bytes();
        table[state_slot(code[0], code[1])] = true;
        i += 1;
    }
    table
};

const fn state_slot(a: u8, b: u8) -> usize {
    (a - b'A') as usize * 26 + (b - b'A') as usize
}

fn one_of(value: &[u8], allowed: &[&str], err: Invalid) -> Result<(), Invalid> {
    if allowed.iter().any(|a| a.as_bytes() == value) { Ok(()) } else { Err(err) }
}

/// Upper-case letters and spaces, with `- / ' .` only between letters or spaces
/// (`WINSTON-SALEM`, `ST. LOUIS`), never first or last.
pub fn city(value: &[u8]) -> Result<(), Invalid> {
    let (Some(first), Some(last)) = (value.first(), value.last()) else {
        return Err(Invalid::City);
    };
    let inner_ok = value.iter().all(|b| matches!(b, b'A'..=b'Z' | b' ' | b'-' | b'/' | b'\'' | b'.'));
    if value.len() <= MAX_TEXT_LEN
        && inner_ok
        && first.is_ascii_uppercase()
        && (last.is_ascii_uppercase() || *last == b'.')
    {
        Ok(())
    } else {
        Err(Invalid::City)
    }
}

pub fn location(value: &[u8]) -> Result<(), Invalid> {
    let ok = !value.is_empty()
        && value.len() <= MAX_TEXT_LEN
        && value
            .iter()
            .all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b' ' | b'-' | b'.' | b'/' | b',' | b'(' | b')' | b'\''));
    if ok { Ok(()) } else { Err(Invalid::Location) }
}

/// `TRUE`/`FALSE` → `true`/`false`.
pub fn decommissioned(value: &[u8]) -> Result<bool, Invalid> {
    match value {
        b"TRUE" => Ok(true),
        b"FALSE" => Ok(false),
        _ => Err(Invalid::Decommissioned),
    }
}

/// A coordinate in hundredths of a degree, so that normalizing never rounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hundredths(pub i32);

impl Hundredths {
    /// Exactly two decimals: `41.3` → `41.30`, `-0.5` → `-0.50`, `-0` → `0.00`.
    /// Returns the buffer and the length used.
    pub fn format(self) -> ([u8; 8], usize) {
        let mut out = [0u8; 8];
        let mut len = 0;
        let abs = self.0.unsigned_abs();
        if self.0 < 0 {
            out[0] = b'-';
            len = 1;
        }
        let whole = abs / 100;
        let mut digits = [0u8; 3];
        let mut n = whole;
        let mut count = 0;
        loop {
            digits[count] = b'0' + (n % 10) as u8;
            count += 1;
            n /= 10;
            if n == 0 || count == digits.len() {
                break;
            }
        }
        for d in digits[..count].iter().rev() {
            out[len] = *d;
            len += 1;
        }
        let frac = abs % 100;
        out[len] = b'.';
        out[len + 1] = b'0' + (frac / 10) as u8;
        out[len + 2] = b'0' + (frac % 10) as u8;
        (out, len + 3)
    }
}

/// The coordinate grammar: `-?\d{1,3}(\.\d{0,2})?`, in hundredths.
pub fn coordinate(value: &[u8]) -> Result<Hundredths, Invalid> {
    let (negative, rest) = match value.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, value),
    };
    let (whole, frac) = match rest.iter().position(|b| *b == b'.') {
        Some(dot) => (&rest[..dot], Some(&rest[dot + 1..])),
        None => (rest, None),
    };
    let digits_ok = |d: &[u8]| d.iter().all(u8::is_ascii_digit);
    if whole.is_empty() || whole.len() > 3 || !digits_ok(whole) {
        return Err(Invalid::CoordinateFormat);
    }
    let frac = frac.unwrap_or(b"");
    if frac.len() > 2 || !digits_ok(frac) {
        return Err(Invalid::CoordinateFormat);
    }
    let number = |d: &[u8]| d.iter().fold(0i32, |n, b| n * 10 + i32::from(b - b'0'));
    let mut hundredths = number(whole) * 100 + number(frac) * if frac.len() == 1 { 10 } else { 1 };
    if negative {
        hundredths = -hundredths;
    }
    Ok(Hundredths(hundredths))
}

pub fn latitude(value: &[u8]) -> Result<Hundredths, Invalid> {
    let c = coordinate(value)?;
    if c.0.abs() <= 9_000 { Ok(c) } else { Err(Invalid::LatitudeRange) }
}

pub fn longitude(value: &[u8]) -> Result<Hundredths, Invalid> {
    let c = coordinate(value)?;
    if c.0.abs() <= 18_000 { Ok(c) } else { Err(Invalid::LongitudeRange) }
}

/// The spelling of an unknown coordinate in the export.
pub const UNKNOWN: &[u8] = b"NA";

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(h: Hundredths) -> String {
        let (buf, len) = h.format();
        String::from_utf8_lossy(&buf[..len]).into_owned()
    }

    #[test]
    fn zipcode_pads_and_rejects() {
        assert_eq!(zipcode(b"6883"), Ok(*b"06883"));
        assert_eq!(zipcode(b"1"), Ok(*b"00001"));
        assert_eq!(zipcode(b"90210"), Ok(*b"90210"));
        for bad in [&b""[..], b"123456", b"12a45", b" 1234", b"-1234", b"1.23"] {
            assert_eq!(zipcode(bad), Err(Invalid::Zipcode), "{bad:?}");
        }
    }

    #[test]
    fn enumerations_are_exact() {
        assert!(zipcode_type(b"PO BOX").is_ok());
        assert!(zipcode_type(b"po box").is_err());
        assert!(zipcode_type(b"POBOX").is_err());
        assert!(location_type(b"NOT ACCEPTABLE").is_ok());
        assert!(location_type(b"NOT_ACCEPTABLE").is_err());
        assert_eq!(decommissioned(b"TRUE"), Ok(true));
        assert_eq!(decommissioned(b"FALSE"), Ok(false));
        assert!(decommissioned(b"true").is_err());
        assert!(decommissioned(b"1").is_err());
    }

    #[test]
    fn states_include_dc_territories_and_military() {
        for ok in ["CT", "DC", "PR", "VI", "GU", "AS", "MP", "FM", "MH", "PW", "AA", "AE", "AP", "WY"] {
            assert!(state(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in ["ct", "XX", "C", "CTT", ""] {
            assert!(state(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(STATES.len(), 62);
    }

    #[test]
    fn city_rules() {
        for ok in ["WESTON", "WINSTON-SALEM", "ST. LOUIS", "O'FALLON", "APO/FPO", "A", "ST."] {
            assert!(city(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in ["", "Weston", "-WESTON", "WESTON-", " WESTON", "WESTON ", "WEST0N", "WESTON_", "ÉVRY"] {
            assert!(city(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(city("A".repeat(65).as_bytes()).is_err());
    }

    #[test]
    fn location_rules() {
        for ok in ["NA-US-CT-WESTON", "EU-IT-U.S. NAVAL HOSPITAL", "NA-US-DC-WASHINGTON (NAVY), D.C.", "A'B/C"] {
            assert!(location(ok.as_bytes()).is_ok(), "{ok}");
        }
        for bad in ["", "NA-US-CT-Weston", "A+B", "A_B", "A;B", "A\"B"] {
            assert!(location(bad.as_bytes()).is_err(), "{bad}");
        }
        assert!(location("A".repeat(64).as_bytes()).is_ok());
        assert!(location("A".repeat(65).as_bytes()).is_err());
    }

    #[test]
    fn coordinates_follow_the_grammar() {
        for (input, normalized) in [
            ("41", "41.00"),
            ("41.", "41.00"),
            ("41.3", "41.30"),
            ("-73.37", "-73.37"),
            ("0", "0.00"),
            ("-0", "0.00"),
            ("-0.5", "-0.50"),
            ("123.45", "123.45"),
            ("007.1", "7.10"),
        ] {
            assert_eq!(coordinate(input.as_bytes()).map(fmt), Ok(normalized.to_owned()), "{input}");
        }
        for bad in ["+41", ".22", "-.22", "41.123", "1234", "4a", "NA", "", "-", "41..2", "41.2.", " 41"] {
            assert_eq!(coordinate(bad.as_bytes()), Err(Invalid::CoordinateFormat), "{bad}");
        }
    }

    #[test]
    fn coordinate_ranges() {
        assert!(latitude(b"90").is_ok());
        assert!(latitude(b"-90.00").is_ok());
        assert_eq!(latitude(b"90.01"), Err(Invalid::LatitudeRange));
        assert_eq!(latitude(b"-91"), Err(Invalid::LatitudeRange));
        assert!(longitude(b"-180").is_ok());
        assert_eq!(longitude(b"180.5"), Err(Invalid::LongitudeRange));
        assert_eq!(longitude(b"999"), Err(Invalid::LongitudeRange));
    }

    #[test]
    fn header_names_are_case_insensitive_and_include_aliases() {
        assert_eq!(Field::from_header("ZIPCODE"), Some(Field::Zipcode));
        assert_eq!(Field::from_header(" Lat "), Some(Field::Latitude));
        assert_eq!(Field::from_header("decommissioned"), Some(Field::Decommissioned));
        assert_eq!(Field::from_header("location_type"), Some(Field::LocationType));
        assert_eq!(Field::from_header("TotalWages"), None);
    }
}
