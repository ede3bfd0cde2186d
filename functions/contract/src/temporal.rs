//! `date`, `time`, `datetime` and `year` cells: the spec's default forms (XML Schema's
//! `date`, `time`, `dateTime`, `gYear` as 4 digits) read by hand, and `<PATTERN>` formats
//! (strptime directives) translated once into a regex with named groups, which is what
//! strptime itself is.

use regex::Regex;
use std::cmp::Ordering;

/// A point or time of day: `days` since 0000-03-01 (0 for a time), seconds in the day,
/// nanoseconds, and the UTC offset in seconds when the value has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Moment {
    pub date: Option<(i32, u8, u8)>,
    pub seconds: u32,
    pub nanos: u32,
    pub offset: Option<i32>,
    /// How many fraction digits the value had (kept in the canonical text).
    pub fraction_digits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Date,
    Time,
    DateTime,
}

impl Moment {
    fn days(&self) -> i64 {
        self.date.map_or(0, |(y, m, d)| days_from_civil(y, m, d))
    }

    /// Orders as Python's datetime does: by UTC instant when both carry an offset,
    /// by wall-clock value otherwise.
    pub(crate) fn compare(&self, other: &Moment) -> Ordering {
        let instant = |m: &Moment, apply: bool| {
            let shift = if apply { i64::from(m.offset.unwrap_or(0)) } else { 0 };
            (m.days() * 86_400 + i64::from(m.seconds) - shift, m.nanos)
        };
        let apply = self.offset.is_some() && other.offset.is_some();
        instant(self, apply).cmp(&instant(other, apply))
    }

    /// The key for `unique`/`primaryKey`: equal instants are the same value. Big-endian,
    /// the sign bit flipped, so that later instants have greater keys byte for byte: a
    /// file in time order then keeps the key set's sorted run (one comparison a key) instead
    /// of a binary search and a hash table for each (the weather file: 6.4x a bare parse
    /// before, 5.2x after).
    pub(crate) fn key(&self, out: &mut Vec<u8>) {
        let shift = i64::from(self.offset.unwrap_or(0));
        let instant = self.days() * 86_400 + i64::from(self.seconds) - shift;
        out.push(u8::from(self.offset.is_some()));
        out.extend_from_slice(&((instant as u64) ^ (1 << 63)).to_be_bytes());
        out.extend_from_slice(&self.nanos.to_be_bytes());
    }

    /// The spec's default form of the value (`2024-01-26`, `15:00:00.5+01:00`, `…T…Z`),
    /// written digit by digit: `format!` costs more than the parse, on every cell.
    pub(crate) fn write(&self, kind: Kind, out: &mut String) {
        if let Some((y, m, d)) = self.date.filter(|_| kind != Kind::Time) {
            if y < 0 {
                out.push('-');
            }
            push_padded(out, y.unsigned_abs(), 4);
            out.push('-');
            push_padded(out, u32::from(m), 2);
            out.push('-');
            push_padded(out, u32::from(d), 2);
        }
        if kind == Kind::Date {
            return;
        }
        if kind == Kind::DateTime {
            out.push('T');
        }
        let s = self.seconds;
        push_padded(out, s / 3600, 2);
        out.push(':');
        push_padded(out, s / 60 % 60, 2);
        out.push(':');
        push_padded(out, s % 60, 2);
        if self.fraction_digits > 0 {
            let n = u32::from(self.fraction_digits.min(9));
            out.push('.');
            push_padded(out, self.nanos / 10u32.pow(9 - n), n as usize);
        }
        match self.offset {
            None => {}
            Some(0) => out.push('Z'),
            Some(o) => {
                out.push(if o < 0 { '-' } else { '+' });
                let o = o.unsigned_abs();
                push_padded(out, o / 3600, 2);
                out.push(':');
                push_padded(out, o / 60 % 60, 2);
            }
        }
    }
}

impl Moment {
    /// The value as a MySQL `DATE`, `TIME` or `DATETIME` column takes it. Those columns
    /// keep no zone, and MariaDB refuses a literal that has one (`…Z`, `…+01:00`:
    /// "Incorrect datetime value"), so a value with an offset is written as its UTC instant
    /// (a time as its UTC time of day), one without as it reads. At most six fraction
    /// digits, the columns' precision, cut rather than rounded, so that no value moves
    /// into the next second (or day).
    pub(crate) fn write_for_database(&self, kind: Kind, out: &mut String) {
        let mut utc = Moment { offset: None, fraction_digits: self.fraction_digits.min(6), ..*self };
        utc.nanos -= utc.nanos % 1_000;
        if let Some(offset) = self.offset {
            let instant = self.days() * 86_400 + i64::from(self.seconds) - i64::from(offset);
            // The remainder of a division by 86 400 fits a u32.
            utc.seconds = u32::try_from(instant.rem_euclid(86_400)).unwrap_or_default();
            if kind != Kind::Time {
                utc.date = Some(civil_from_days(instant.div_euclid(86_400)));
            }
        }
        utc.write(kind, out);
    }
}

/// `value` in decimal, zero-padded on the left to `width` digits (more if it needs them).
fn push_padded(out: &mut String, value: u32, width: usize) {
    // The usual parts (a month, an hour, a year of four digits) digit by digit: the general
    // way below, through a buffer and a UTF-8 check, was a tenth of the weather's pass.
    let digit = |v: u32| char::from(b'0' + (v % 10) as u8);
    if width == 2 && value < 100 {
        out.push(digit(value / 10));
        out.push(digit(value));
        return;
    }
    if width == 4 && value < 10_000 {
        out.extend([digit(value / 1000), digit(value / 100), digit(value / 10), digit(value)]);
        return;
    }
    let mut buf = [b'0'; 10];
    let mut v = value;
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    let start = i.min(buf.len().saturating_sub(width));
    // ASCII digits, so always UTF-8.
    out.push_str(std::str::from_utf8(&buf[start..]).unwrap_or_default());
}

/// Days from 0000-03-01 in the proleptic Gregorian calendar (Howard Hinnant's algorithm).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe
}

/// The date `days` after 0000-03-01: the inverse of [`days_from_civil`] (Hinnant's
/// `civil_from_days`, counted from the same day).
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let era = days.div_euclid(146_097);
    let doe = days - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Day and month are 1–31 and 1–12; the year is that of a parsed date, ± one day.
    (i32::try_from(y).unwrap_or(i32::MAX), m as u8, d as u8)
}

fn valid_date(y: i32, m: u8, d: u8) -> bool {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let len = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=len).contains(&d)
}

fn next_day((y, m, d): (i32, u8, u8)) -> (i32, u8, u8) {
    if valid_date(y, m, d + 1) {
        (y, m, d + 1)
    } else if m < 12 {
        (y, m + 1, 1)
    } else {
        (y + 1, 1, 1)
    }
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0u32, |acc, b| acc.saturating_mul(10).saturating_add(u32::from(b - b'0'))))
}

fn parse_date(s: &[u8]) -> Option<(i32, u8, u8)> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..])?);
    let (y, m, d) = (i32::try_from(y).ok()?, u8::try_from(m).ok()?, u8::try_from(d).ok()?);
    valid_date(y, m, d).then_some((y, m, d))
}

/// `hh:mm:ss`, optional fraction, optional `Z` or `±hh:mm`.
fn parse_time(s: &[u8]) -> Option<Moment> {
    if s.len() < 8 || s[2] != b':' || s[5] != b':' {
        return None;
    }
    let (h, m, sec) = (digits(&s[..2])?, digits(&s[3..5])?, digits(&s[6..8])?);
    // XML Schema 1.0 allows `24:00:00`, the end of a day (checked with the fraction below).
    if h > 24 || m > 59 || sec > 59 || (h == 24 && (m, sec) != (0, 0)) {
        return None;
    }
    let mut rest = &s[8..];
    let (mut nanos, mut fraction_digits) = (0, 0u8);
    if let Some(after) = rest.strip_prefix(b".") {
        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 || n > 9 {
            return None;
        }
        nanos = digits(&after[..n])? * 10u32.pow(9 - n as u32);
        fraction_digits = n as u8;
        rest = &after[n..];
    }
    if h == 24 && nanos != 0 {
        return None;
    }
    let offset = match rest {
        [] => None,
        [b'Z'] => Some(0),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let (oh, om) = (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?);
            if oh > 14 || om > 59 {
                return None;
            }
            let o = (oh * 3600 + om * 60) as i32;
            Some(if *sign == b'-' { -o } else { o })
        }
        _ => return None,
    };
    Some(Moment { date: None, seconds: h * 3600 + m * 60 + sec, nanos, offset, fraction_digits })
}

/// Reads a cell in the spec's default form of `kind`.
pub(crate) fn parse_default(kind: Kind, s: &str) -> Option<Moment> {
    let b = s.as_bytes();
    match kind {
        Kind::Date => {
            let date = parse_date(b)?;
            Some(Moment { date: Some(date), seconds: 0, nanos: 0, offset: None, fraction_digits: 0 })
        }
        Kind::Time => {
            let time = parse_time(b)?;
            Some(Moment { seconds: time.seconds % 86_400, ..time })
        }
        Kind::DateTime => {
            if b.len() < 19 || b[10] != b'T' {
                return None;
            }
            let mut date = parse_date(&b[..10])?;
            let mut time = parse_time(&b[11..])?;
            if time.seconds == 86_400 {
                // `24:00:00` is the next day's midnight.
                time.seconds = 0;
                date = next_day(date);
            }
            Some(Moment { date: Some(date), ..time })
        }
    }
}

/// A `year` cell: four digits (gYear's usual form).
pub(crate) fn parse_year(s: &str) -> Option<u32> {
    if s.len() != 4 {
        return None;
    }
    digits(s.as_bytes())
}

/// A `<PATTERN>` format compiled once.
#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    regex: Regex,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl Pattern {
    /// Translates strptime directives into a regex; an unsupported directive is refused.
    pub(crate) fn compile(format: &str) -> Result<Pattern, String> {
        let month_alternatives = |full: bool| {
            let mut names: Vec<String> =
                MONTHS.iter().map(|m| if full { (*m).to_owned() } else { m[..3].to_owned() }).collect();
            // Longest first, as strptime orders them, so `june` is not read as `jun`.
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            names.join("|")
        };
        let mut re = String::from("(?i)^(?:");
        let mut chars = format.chars().peekable();
        let mut seen = std::collections::HashSet::new();
        while let Some(c) = chars.next() {
            if c.is_whitespace() {
                while chars.peek().is_some_and(|c| c.is_whitespace()) {
                    chars.next();
                }
                re.push_str(r"\s+");
                continue;
            }
            if c != '%' {
                re.push_str(&regex::escape(c.encode_utf8(&mut [0; 4])));
                continue;
            }
            let Some(d) = chars.next() else {
                return Err("ends with a lone %".to_owned());
            };
            let piece = match d {
                'Y' => "(?P<Y>[0-9]{4})".to_owned(),
                'y' => "(?P<y>[0-9]{2})".to_owned(),
                'm' => "(?P<m>1[0-2]|0[1-9]|[1-9])".to_owned(),
                'd' => "(?P<d>3[01]|[12][0-9]|0[1-9]|[1-9]| [1-9])".to_owned(),
                'H' => "(?P<H>2[0-3]|[01][0-9]|[0-9])".to_owned(),
                'I' => "(?P<I>1[0-2]|0[1-9]|[1-9])".to_owned(),
                'M' => "(?P<M>[0-5][0-9]|[0-9])".to_owned(),
                'S' => "(?P<S>6[01]|[0-5][0-9]|[0-9])".to_owned(),
                'f' => "(?P<f>[0-9]{1,6})".to_owned(),
                'p' => "(?P<p>am|pm)".to_owned(),
                'b' => format!("(?P<b>{})", month_alternatives(false)),
                'B' => format!("(?P<B>{})", month_alternatives(true)),
                'z' => r"(?P<z>[+-][0-9]{2}:?[0-5][0-9](?::?[0-5][0-9](?:\.[0-9]{1,6})?)?|(?-i:Z))".to_owned(),
                '%' => "%".to_owned(),
                other => return Err(format!("strptime directive %{other} is not supported")),
            };
            if d != '%' && !seen.insert(d) {
                return Err(format!("strptime directive %{d} appears twice"));
            }
            re.push_str(&piece);
        }
        re.push(')');
        let regex = Regex::new(&re).map_err(|e| format!("cannot be compiled: {e}"))?;
        Ok(Pattern { regex })
    }

    /// Reads `s` as strptime would (the whole text must be consumed), then keeps the
    /// parts `kind` has.
    pub(crate) fn parse(&self, kind: Kind, s: &str) -> Option<Moment> {
        let caps = self.regex.captures(s)?;
        if caps.get(0)?.end() != s.len() {
            return None;
        }
        let num = |name: &str| caps.name(name).and_then(|m| digits(m.as_str().trim_start().as_bytes()));
        let year = match (num("Y"), num("y")) {
            (Some(y), _) => y as i32,
            (None, Some(y)) if y < 69 => 2000 + y as i32,
            (None, Some(y)) => 1900 + y as i32,
            (None, None) => 1900,
        };
        let month_name = caps.name("B").or_else(|| caps.name("b")).map(|m| m.as_str().to_ascii_lowercase());
        let month = match month_name {
            Some(name) => MONTHS.iter().position(|m| m.starts_with(&name))? as u8 + 1,
            None => num("m").unwrap_or(1) as u8,
        };
        let day = num("d").unwrap_or(1) as u8;
        let hour = match (num("H"), num("I")) {
            (Some(h), _) => h,
            (None, Some(h)) => {
                let pm = caps.name("p").is_some_and(|p| p.as_str().eq_ignore_ascii_case("pm"));
                match (h, pm) {
                    (12, false) => 0,
                    (12, true) => 12,
                    (h, true) => h + 12,
                    (h, false) => h,
                }
            }
            (None, None) => 0,
        };
        let (minute, second) = (num("M").unwrap_or(0), num("S").unwrap_or(0));
        if second > 59 || !valid_date(year, month, day) {
            return None;
        }
        let (nanos, fraction_digits) = match caps.name("f") {
            Some(f) => {
                let n = f.as_str().len();
                // strptime reads %f as microseconds, padding on the right.
                (digits(f.as_str().as_bytes())? * 10u32.pow(9 - n as u32), n as u8)
            }
            None => (0, 0),
        };
        let offset = match caps.name("z") {
            Some(z) => Some(parse_offset(z.as_str())?),
            None => None,
        };
        let date = (kind != Kind::Time).then_some((year, month, day));
        let (seconds, nanos, offset, fraction_digits) = if kind == Kind::Date {
            (0, 0, None, 0)
        } else {
            (hour * 3600 + minute * 60 + second, nanos, offset, fraction_digits)
        };
        Some(Moment { date, seconds, nanos, offset, fraction_digits })
    }
}

/// `Z`, `±hhmm`, `±hh:mm`, optionally with seconds (strptime's `%z`).
fn parse_offset(z: &str) -> Option<i32> {
    if z == "Z" {
        return Some(0);
    }
    let sign = if z.starts_with('-') { -1 } else { 1 };
    let body: Vec<u8> = z.bytes().skip(1).filter(u8::is_ascii_digit).collect();
    let part = |r: std::ops::Range<usize>| body.get(r).and_then(digits).map(|v| v as i32);
    let (h, m) = (part(0..2)?, part(2..4)?);
    let s = part(4..6).unwrap_or(0);
    Some(sign * (h * 3600 + m * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_is_padded_to_its_width_in_every_way_it_is_written() {
        for (value, width) in
            [(0, 2), (7, 2), (42, 2), (100, 2), (5, 4), (2013, 4), (99_999, 4), (3, 1), (123_456, 6), (7, 9)]
        {
            let mut out = String::new();
            push_padded(&mut out, value, width);
            assert_eq!(out, format!("{value:0width$}"), "{value} {width}");
        }
    }

    fn text(kind: Kind, m: Option<Moment>) -> Option<String> {
        let mut out = String::new();
        m?.write(kind, &mut out);
        Some(out)
    }

    #[test]
    fn default_forms_are_xml_schema_forms() {
        assert_eq!(text(Kind::Date, parse_default(Kind::Date, "2024-02-29")).as_deref(), Some("2024-02-29"));
        for bad in ["2023-02-29", "2024-1-05", "24-01-05", "2024-01-05 ", "2024/01/05", "2024-13-01"] {
            assert_eq!(parse_default(Kind::Date, bad), None, "{bad}");
        }
        assert_eq!(
            text(Kind::Time, parse_default(Kind::Time, "15:00:00.50+01:30")).as_deref(),
            Some("15:00:00.50+01:30")
        );
        assert_eq!(text(Kind::Time, parse_default(Kind::Time, "00:00:00Z")).as_deref(), Some("00:00:00Z"));
        assert_eq!(text(Kind::Time, parse_default(Kind::Time, "24:00:00")).as_deref(), Some("00:00:00"));
        assert_eq!(
            text(Kind::DateTime, parse_default(Kind::DateTime, "2024-12-31T24:00:00Z")).as_deref(),
            Some("2025-01-01T00:00:00Z")
        );
        for bad in
            ["24:00:01", "24:00:00.5", "15:00", "15:60:00", "15:00:00.", "1:00:00", "15:00:00+1", "15:00:00+0100"]
        {
            assert_eq!(parse_default(Kind::Time, bad), None, "{bad}");
        }
        assert_eq!(
            text(Kind::DateTime, parse_default(Kind::DateTime, "2024-01-26T15:00:00.300-05:00")).as_deref(),
            Some("2024-01-26T15:00:00.300-05:00")
        );
        assert_eq!(parse_default(Kind::DateTime, "2024-01-26 15:00:00"), None);
        assert_eq!(parse_year("2024"), Some(2024));
        assert_eq!(parse_year("202"), None);
        assert_eq!(parse_year("２０２４"), None);
    }

    #[test]
    fn patterns_read_as_strptime() {
        let p = Pattern::compile("%d/%m/%Y %H:%M:%S").expect("compiles");
        assert_eq!(
            text(Kind::DateTime, p.parse(Kind::DateTime, "12/11/2018 09:15:32")).as_deref(),
            Some("2018-11-12T09:15:32")
        );
        assert_eq!(
            text(Kind::DateTime, p.parse(Kind::DateTime, "1/2/2018   9:05:03")).as_deref(),
            Some("2018-02-01T09:05:03")
        );
        assert_eq!(p.parse(Kind::DateTime, "31/02/2018 09:15:32"), None);
        assert_eq!(p.parse(Kind::DateTime, "12/11/2018 09:15:32x"), None);
        let p = Pattern::compile("%d %B %y").expect("compiles");
        assert_eq!(text(Kind::Date, p.parse(Kind::Date, "5 june 99")).as_deref(), Some("1999-06-05"));
        assert_eq!(text(Kind::Date, p.parse(Kind::Date, "5 JUNE 01")).as_deref(), Some("2001-06-05"));
        let p = Pattern::compile("%I:%M %p").expect("compiles");
        assert_eq!(text(Kind::Time, p.parse(Kind::Time, "12:30 am")).as_deref(), Some("00:30:00"));
        assert_eq!(text(Kind::Time, p.parse(Kind::Time, "1:30 PM")).as_deref(), Some("13:30:00"));
        let p = Pattern::compile("%Y%m%dT%H%M%S.%f%z").expect("compiles");
        assert_eq!(
            text(Kind::DateTime, p.parse(Kind::DateTime, "20240126T150000.5-0130")).as_deref(),
            Some("2024-01-26T15:00:00.5-01:30")
        );
        assert_eq!(Pattern::compile("%d %j").err().as_deref(), Some("strptime directive %j is not supported"));
        assert_eq!(Pattern::compile("%d %d").err().as_deref(), Some("strptime directive %d appears twice"));
        assert_eq!(Pattern::compile("%Y %").err().as_deref(), Some("ends with a lone %"));
    }

    #[test]
    fn values_reach_the_database_as_their_utc_wall_clock() {
        let db = |kind, s| {
            let mut out = String::new();
            parse_default(kind, s).expect("a value").write_for_database(kind, &mut out);
            out
        };
        assert_eq!(db(Kind::DateTime, "2013-01-01T06:00:00Z"), "2013-01-01T06:00:00");
        assert_eq!(db(Kind::DateTime, "2013-01-01T01:00:00-05:00"), "2013-01-01T06:00:00");
        assert_eq!(db(Kind::DateTime, "2013-01-01T02:30:00+05:30"), "2012-12-31T21:00:00", "back a day, a year");
        assert_eq!(db(Kind::DateTime, "2024-02-28T22:00:00-03:00"), "2024-02-29T01:00:00", "a leap day");
        assert_eq!(db(Kind::DateTime, "2023-02-28T22:00:00-03:00"), "2023-03-01T01:00:00");
        assert_eq!(
            db(Kind::DateTime, "2013-01-01T09:00:00.1234567Z"),
            "2013-01-01T09:00:00.123456",
            "cut, not rounded"
        );
        assert_eq!(db(Kind::DateTime, "2013-01-01T09:00:00.999999999Z"), "2013-01-01T09:00:00.999999");
        assert_eq!(db(Kind::DateTime, "2013-01-01T09:00:00.25"), "2013-01-01T09:00:00.25", "no zone: as it reads");
        assert_eq!(db(Kind::Time, "23:30:00-01:00"), "00:30:00");
        assert_eq!(db(Kind::Time, "00:30:00+01:00"), "23:30:00");
        assert_eq!(db(Kind::Date, "2024-01-26"), "2024-01-26");
        for days in [-800_000, -1, 0, 59, 60, 730_000, 738_000, 2_000_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}: {y}-{m}-{d}");
        }
    }

    #[test]
    fn keys_of_later_instants_are_greater_byte_for_byte() {
        let key = |s| {
            let mut out = Vec::new();
            parse_default(Kind::DateTime, s).expect("a datetime").key(&mut out);
            out
        };
        let ordered =
            ["0001-01-01T00:00:00Z", "2013-01-01T05:59:59.9Z", "2013-01-01T06:00:00Z", "2013-01-01T06:00:01Z"];
        for pair in ordered.windows(2) {
            assert!(key(pair[0]) < key(pair[1]), "{pair:?}");
        }
        assert_eq!(key("2013-01-01T01:00:00-05:00"), key("2013-01-01T06:00:00Z"), "one instant, one key");
        assert_ne!(key("2013-01-01T06:00:00"), key("2013-01-01T06:00:00Z"), "a wall clock is not an instant");
    }

    #[test]
    fn moments_compare_by_instant_when_zoned() {
        let t = |s| parse_default(Kind::Time, s).expect("a time");
        assert_eq!(t("10:00:00+01:00").compare(&t("09:00:00Z")), Ordering::Equal);
        assert_eq!(t("10:00:00").compare(&t("09:59:59.9")), Ordering::Greater);
        let d = |s| parse_default(Kind::Date, s).expect("a date");
        assert_eq!(d("2000-03-01").compare(&d("2000-02-29")), Ordering::Greater);
        assert_eq!(d("1999-12-31").compare(&d("2000-01-01")), Ordering::Less);
    }
}
