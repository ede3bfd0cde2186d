//! Numbers as exact decimals: `integer` and `number` cells, constraint values, and their
//! canonical text. Python's `Decimal` (what frictionless compares with) is exact, so a
//! float here would make `unique`, `enum` and the bounds disagree on long values.

use std::cmp::Ordering;

/// How a field's text is read as a number (Table Schema `groupChar`, `decimalChar`,
/// `bareNumber`).
#[derive(Debug, Clone)]
pub(crate) struct NumberFormat {
    pub integer: bool,
    pub group_char: Option<String>,
    pub decimal_char: String,
    pub bare: bool,
}

impl NumberFormat {
    pub(crate) fn plain(integer: bool) -> Self {
        NumberFormat { integer, group_char: None, decimal_char: ".".to_owned(), bare: true }
    }

    /// Whether a cell's digits, point and sign are all there is to its text (no group
    /// character, the decimal point `.`): a cell of that shape may be its own normal form.
    pub(crate) fn is_plain(&self) -> bool {
        self.group_char.as_deref().is_none_or(str::is_empty) && self.decimal_char == "."
    }
}

/// A finite value is `±0.d1d2…dn × 10^exp` with `digits` = d1…dn as ASCII, no leading
/// or trailing zero (zero: no digits). Digits live in a buffer the caller reuses, so a cell costs no
/// allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Head {
    NaN,
    Inf { negative: bool },
    Finite { negative: bool, exp: i64 },
}

/// An owned number: constraint values, parsed once at load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Decimal {
    pub head: Head,
    pub digits: Vec<u8>,
}

/// Whitespace XML Schema's `collapse` facet removes around a decimal.
fn xml_trim(s: &str) -> &str {
    let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let b = s.as_bytes();
    if !b.first().is_some_and(space) && !b.last().is_some_and(space) {
        // Nearly every cell: no scan at all.
        return s;
    }
    s.trim_matches([' ', '\t', '\n', '\r'])
}

/// `bareNumber: false`: leading characters up to the first digit or minus sign, and
/// trailing characters after the last digit, are not part of the number.
fn strip_non_numeric(s: &str) -> &str {
    let start = s.find(|c: char| c.is_ascii_digit() || c == '-').unwrap_or(s.len());
    let s = &s[start..];
    let end = s.rfind(|c: char| c.is_ascii_digit()).map_or(0, |i| i + 1);
    &s[..end]
}

/// Parses `text` as the format says, leaving the significant digits in `digits`.
pub(crate) fn parse(text: &str, format: &NumberFormat, digits: &mut Vec<u8>) -> Option<Head> {
    parse_cell(text, format, digits).map(|(head, _)| head)
}

/// How a cell was written, as its reading saw it: enough to tell whether the cell is
/// already its canonical or fixed-decimals text, so that it is copied as it is (most
/// are) instead of rewritten digit by digit, with no second look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, a sign only on a value below zero, in a plain
    /// format (decimal point `.`, no group character).
    tidy: bool,
    /// How many digits follow the point, if there is one.
    fraction: Option<usize>,
    /// Whether the last of those is a zero.
    trailing_zero: bool,
}

impl Written {
    const UNTIDY: Written = Written { tidy: false, fraction: None, trailing_zero: false };

    /// Whether the cell is what [`write_canonical`] writes for `head`.
    pub(crate) fn is_canonical(self, head: Head) -> bool {
        // Plain notation, and no trailing zero after the point.
        matches!(head, Head::Finite { exp, .. } if (-6..=21).contains(&exp)) && self.tidy && !self.trailing_zero
    }

    /// Whether the cell is what [`write_fixed`] writes for `head` with `decimals`.
    pub(crate) fn is_fixed(self, head: Head, decimals: u32) -> bool {
        matches!(head, Head::Finite { .. })
            && self.tidy
            && match self.fraction {
                Some(n) => decimals > 0 && n == decimals as usize,
                None => decimals == 0,
            }
    }
}

/// [`parse`], also saying how the cell was written.
#[inline]
pub(crate) fn parse_cell(text: &str, format: &NumberFormat, digits: &mut Vec<u8>) -> Option<(Head, Written)> {
    digits.clear();
    if format.is_plain()
        && let Some(read) = parse_plain(text.as_bytes(), format.integer, digits)
    {
        return Some(read);
    }
    digits.clear();
    parse_general(text, format, digits).map(|head| (head, Written::UNTIDY))
}

/// The common cell, `-?[0-9]*(\.[0-9]*)?` with a digit, in one pass over its bytes;
/// `None` for anything else (then read by [`parse_general`], which says what it is).
#[inline]
fn parse_plain(bytes: &[u8], integer: bool, digits: &mut Vec<u8>) -> Option<(Head, Written)> {
    let plain = scan_plain(bytes, integer)?;
    plain.digits(digits);
    Some((plain.head, plain.written))
}

/// A cell of the common shape, `-?[0-9]*(\.[0-9]*)?` with a digit, as one pass over its
/// bytes saw it: its value and how it was written, its significant digits left in the
/// cell until they are asked for ([`Plain::digits`]: a key, a value written anew, a
/// bound too long for a [`Small`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Plain<'a> {
    /// The integer part without its leading zeros, and the fraction.
    int: &'a [u8],
    frac: &'a [u8],
    pub head: Head,
    pub written: Written,
    /// The value, when its integer part (without leading zeros) and fraction have at most
    /// 18 digits.
    pub small: Option<Small>,
}

/// Reads a cell of the common shape ([`Plain`]); `None` for anything else.
#[inline(always)]
pub(crate) fn scan_plain(bytes: &[u8], integer: bool) -> Option<Plain<'_>> {
    let (negative, body) = match bytes.split_first() {
        Some((b'-', body)) => (true, body),
        _ => (false, bytes),
    };
    // The digits' value as they are read (leading zeros add nothing); it wraps only past
    // 18 significant digits, and is then not used.
    let mut value = 0u64;
    let mut at = 0;
    while let Some(&b) = body.get(at)
        && b.is_ascii_digit()
    {
        value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
        at += 1;
    }
    let (int, rest) = body.split_at(at);
    let (frac, point) = match rest.split_first() {
        None => (&[][..], false),
        Some((b'.', frac)) if !integer => {
            for &b in frac {
                if !b.is_ascii_digit() {
                    return None;
                }
                value = value.wrapping_mul(10).wrapping_add(u64::from(b - b'0'));
            }
            (frac, true)
        }
        _ => return None,
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut written = Written {
        tidy: (int == b"0" || int.first().is_some_and(|&b| b != b'0')) && (!point || !frac.is_empty()),
        fraction: point.then_some(frac.len()),
        trailing_zero: frac.last() == Some(&b'0'),
    };
    let int = &int[int.iter().position(|&b| b != b'0').unwrap_or(int.len())..];
    let head = if !int.is_empty() {
        Head::Finite { negative, exp: int.len() as i64 }
    } else {
        let zeros = frac.iter().position(|&b| b != b'0').unwrap_or(frac.len());
        if zeros == frac.len() {
            // Zero is written without a sign.
            written.tidy &= !negative;
            Head::Finite { negative: false, exp: 0 }
        } else {
            Head::Finite { negative, exp: -(zeros as i64) }
        }
    };
    let small = (int.len() + frac.len() <= 18).then(|| {
        let value = value as i64;
        Small { value: if negative { -value } else { value }, scale: frac.len() as u32 }
    });
    Some(Plain { int, frac, head, written, small })
}

impl Plain<'_> {
    /// Leaves the value's significant digits in `digits`, as [`parse`] does.
    pub(crate) fn digits(&self, digits: &mut Vec<u8>) {
        digits.clear();
        if self.int.is_empty() {
            let zeros = self.frac.iter().position(|&b| b != b'0').unwrap_or(self.frac.len());
            digits.extend_from_slice(&self.frac[zeros..]);
        } else {
            digits.extend_from_slice(self.int);
            digits.extend_from_slice(self.frac);
        }
        while digits.last() == Some(&b'0') {
            digits.pop();
        }
    }
}

/// A finite number of at most 18 significant digits as `value / 10^scale` (`scale` at
/// most 18): the common cell and the usual bound, compared with a multiplication each in
/// 128 bits, exactly, with no digit buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Small {
    value: i64,
    scale: u32,
}

/// 10^0 to 10^18, every scale a [`Small`] has.
const POW10: [u64; 19] = {
    let mut table = [1u64; 19];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

impl Small {
    /// `d` as a `Small`, when it is finite and fits.
    pub(crate) fn of(d: &Decimal) -> Option<Small> {
        let Head::Finite { negative, exp } = d.head else { return None };
        if d.digits.len() > 18 {
            return None;
        }
        let mut value = d.digits.iter().fold(0i64, |acc, &b| acc * 10 + i64::from(b - b'0'));
        let mut scale = d.digits.len() as i64 - exp;
        if scale < 0 {
            value = value.checked_mul(10i64.checked_pow(u32::try_from(-scale).ok()?)?)?;
            scale = 0;
        }
        let scale = u32::try_from(scale).ok().filter(|s| *s <= 18)?;
        Some(Small { value: if negative { -value } else { value }, scale })
    }

    #[inline]
    pub(crate) fn compare(self, other: Small) -> Ordering {
        let scale = self.scale.max(other.scale);
        let widen = |x: Small| i128::from(x.value) * i128::from(POW10[(scale - x.scale) as usize % POW10.len()]);
        widen(self).cmp(&widen(other))
    }
}

/// A bound a [`Small`] is compared with, laid out at every scale a cell may have: a cell
/// at or above the bound's own scale is compared with one load and one comparison (a
/// multiplication in 128 bits per bound was a twentieth of the cities' transform).
#[derive(Debug, Clone)]
pub(crate) struct SmallBound {
    small: Small,
    /// The bound times 10^(s - its scale), for each scale s from its own up to 18, held
    /// at the ends of `i64` where it is beyond them: a cell's value (under 10^18 either
    /// way) then compares with it as with the bound itself.
    at_scale: [i64; 19],
}

impl SmallBound {
    pub(crate) fn of(d: &Decimal) -> Option<SmallBound> {
        let small = Small::of(d)?;
        let mut at_scale = [0i64; 19];
        for (s, slot) in at_scale.iter_mut().enumerate().skip(small.scale as usize) {
            *slot = small.value.saturating_mul(POW10[s - small.scale as usize] as i64);
        }
        Some(SmallBound { small, at_scale })
    }

    /// How `cell` compares with the bound.
    #[inline(always)]
    pub(crate) fn compare(&self, cell: Small) -> Ordering {
        match self.at_scale.get(cell.scale as usize) {
            Some(bound) if cell.scale >= self.small.scale => cell.value.cmp(bound),
            _ => cell.compare(self.small),
        }
    }
}

/// [`parse`] for any format and text: whitespace, group characters, exponents, specials.
fn parse_general(text: &str, format: &NumberFormat, digits: &mut Vec<u8>) -> Option<Head> {
    let mut s = xml_trim(text);
    if !format.bare {
        s = strip_non_numeric(s);
    }
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if !format.integer {
        // The spec's special values, "case need not be respected": NaN, INF, -INF.
        if rest.eq_ignore_ascii_case("inf") {
            return Some(Head::Inf { negative });
        }
        if s.eq_ignore_ascii_case("nan") {
            return Some(Head::NaN);
        }
    }
    let group = format.group_char.as_deref().filter(|g| !g.is_empty()).map(str::as_bytes);
    let decimal = format.decimal_char.as_bytes();
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut int_digits: i64 = 0; // digits before the point, leading zeros excluded
    let mut any_digit = false;
    let mut seen_point = false;
    let mut leading_frac_zeros: i64 = 0;
    // Bytes, not chars: every step is over an ASCII digit or a whole group/decimal
    // string, so `i` stays on a char boundary. Digits come first: group and decimal
    // strings hold none (refused at load), so the common byte costs one comparison.
    while let Some(&b) = bytes.get(i) {
        if b.is_ascii_digit() {
            any_digit = true;
            if seen_point {
                if digits.is_empty() && b == b'0' {
                    leading_frac_zeros += 1;
                } else {
                    digits.push(b);
                }
            } else if !(digits.is_empty() && b == b'0') {
                digits.push(b);
                int_digits += 1;
            }
            i += 1;
        } else if let Some(g) = group
            && g.first() == Some(&b)
            && bytes[i..].starts_with(g)
        {
            i += g.len();
        } else if !format.integer && !seen_point && decimal.first() == Some(&b) && bytes[i..].starts_with(decimal) {
            seen_point = true;
            i += decimal.len();
        } else {
            break;
        }
    }
    let rest = &rest[i..];
    if !any_digit {
        return None;
    }
    let mut exp: i64 = if int_digits > 0 { int_digits } else { -leading_frac_zeros };
    if !rest.is_empty() {
        // An exponent: E, an optional sign, one or more digits.
        if format.integer || !(rest.starts_with('e') || rest.starts_with('E')) {
            return None;
        }
        let e = &rest[1..];
        let (e_negative, e_digits) = match e.as_bytes().first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if e_digits.is_empty() || !e_digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let value = e_digits.bytes().fold(0i64, |acc, b| acc.saturating_mul(10).saturating_add(i64::from(b - b'0')));
        exp = if e_negative { exp.saturating_sub(value) } else { exp.saturating_add(value) };
    }
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return Some(Head::Finite { negative: false, exp: 0 });
    }
    Some(Head::Finite { negative, exp })
}

impl Decimal {
    pub(crate) fn parse(text: &str, format: &NumberFormat) -> Option<Decimal> {
        let mut digits = Vec::new();
        let head = parse(text, format, &mut digits)?;
        Some(Decimal { head, digits })
    }
}

/// Orders two numbers; `None` when either is NaN (NaN satisfies no bound and equals nothing).
#[inline]
pub(crate) fn compare(a: Head, a_digits: &[u8], b: &Decimal) -> Option<Ordering> {
    let rank = |h: Head, digits: &[u8]| -> Option<i8> {
        match h {
            Head::NaN => None,
            Head::Inf { negative: true } => Some(-2),
            Head::Inf { negative: false } => Some(2),
            Head::Finite { .. } if digits.is_empty() => Some(0),
            Head::Finite { negative, .. } => Some(if negative { -1 } else { 1 }),
        }
    };
    let (ra, rb) = (rank(a, a_digits)?, rank(b.head, &b.digits)?);
    if ra != rb || ra.abs() != 1 {
        return Some(ra.cmp(&rb));
    }
    let (Head::Finite { exp: ea, negative }, Head::Finite { exp: eb, .. }) = (a, b.head) else {
        return Some(Ordering::Equal);
    };
    // The first digits nearly always decide (a coordinate against its bound): one byte
    // comparison instead of a `memcmp` call; both have digits (neither is zero here).
    let magnitude = ea.cmp(&eb).then_with(|| match (a_digits.first(), b.digits.first()) {
        (Some(x), Some(y)) if x != y => x.cmp(y),
        _ => a_digits.cmp(&b.digits),
    });
    Some(if negative { magnitude.reverse() } else { magnitude })
}

/// Writes the canonical text: plain notation (`-12.5`, `0.001`, `1200`) for exponents a
/// spreadsheet shows as is, scientific (`1.5E+40`) beyond.
pub(crate) fn write_canonical(head: Head, digits: &[u8], out: &mut String) {
    match head {
        Head::NaN => out.push_str("NaN"),
        Head::Inf { negative } => out.push_str(if negative { "-INF" } else { "INF" }),
        Head::Finite { .. } if digits.is_empty() => out.push('0'),
        Head::Finite { negative, exp } => {
            if negative {
                out.push('-');
            }
            let n = digits.len() as i64;
            // The digits are ASCII, so they are always UTF-8.
            let push = |out: &mut String, ds: &[u8]| out.push_str(std::str::from_utf8(ds).unwrap_or_default());
            if (-6..=21).contains(&exp) {
                if exp <= 0 {
                    out.push_str("0.");
                    out.extend(std::iter::repeat_n('0', exp.unsigned_abs() as usize));
                    push(out, digits);
                } else if exp >= n {
                    push(out, digits);
                    out.extend(std::iter::repeat_n('0', (exp - n) as usize));
                } else {
                    let (int, frac) = digits.split_at(exp as usize);
                    push(out, int);
                    out.push('.');
                    push(out, frac);
                }
            } else {
                push(out, &digits[..1]);
                if n > 1 {
                    out.push('.');
                    push(out, &digits[1..]);
                }
                let e = exp - 1;
                out.push('E');
                out.push(if e < 0 { '-' } else { '+' });
                out.push_str(&e.unsigned_abs().to_string());
            }
        }
    }
}

/// Writes a finite value with exactly `decimals` digits after the point (`41.3` →
/// `41.30`, `-0` → `0.00`); `false`, writing nothing, when it is not finite or needs more
/// decimals (a value is never rounded).
pub(crate) fn write_fixed(head: Head, digits: &[u8], decimals: u32, out: &mut String) -> bool {
    let Head::Finite { negative, exp } = head else { return false };
    let n = digits.len() as i64;
    let decimals = i64::from(decimals);
    if n - exp > decimals {
        return false;
    }
    // Digits are ASCII: pushing them as chars keeps `out` valid UTF-8.
    let digit = |k: i64| if (0..n).contains(&k) { char::from(digits[k as usize]) } else { '0' };
    if negative && n > 0 {
        out.push('-');
    }
    if exp <= 0 {
        out.push('0');
    } else {
        (0..exp).for_each(|k| out.push(digit(k)));
    }
    if decimals > 0 {
        out.push('.');
        (exp..exp + decimals).for_each(|k| out.push(digit(k)));
    }
    true
}

/// The bytes that identify a value for `unique` and `primaryKey` (1.0 and 1 are the same):
/// kept for every distinct key of a file, so short (the exponent zigzag-varint coded, one
/// byte for any plausible number; it is prefix-free, so the digits after it stay exact).
pub(crate) fn key(head: Head, digits: &[u8], out: &mut Vec<u8>) {
    match head {
        Head::NaN => out.push(b'n'),
        Head::Inf { negative } => out.push(if negative { b'-' } else { b'+' }),
        Head::Finite { negative, exp } => {
            out.push(if negative { b'f' } else { b'F' });
            crate::keys::put_varint(out, ((exp << 1) ^ (exp >> 63)) as u64);
            out.extend_from_slice(digits);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(text: &str, format: &NumberFormat) -> Option<String> {
        let mut digits = Vec::new();
        let head = parse(text, format, &mut digits)?;
        let mut out = String::new();
        write_canonical(head, &digits, &mut out);
        Some(out)
    }

    #[test]
    fn numbers_follow_the_xml_schema_decimal_with_exponent_and_specials() {
        let f = NumberFormat::plain(false);
        for (text, want) in [
            ("-1.23", "-1.23"),
            ("+100000.00", "100000"),
            ("210", "210"),
            (".5", "0.5"),
            ("5.", "5"),
            ("000.0100", "0.01"),
            ("-0", "0"),
            ("1.5e3", "1500"),
            ("1E-7", "0.0000001"),
            ("1E-8", "1E-8"),
            ("12e40", "1.2E+41"),
            (" 7 ", "7"),
            ("nan", "NaN"),
            ("-inf", "-INF"),
            ("INF", "INF"),
        ] {
            assert_eq!(canonical(text, &f).as_deref(), Some(want), "{text}");
        }
        for text in ["", "-", ".", "1e", "1e+", "1_000", "Infinity", "1,000", "0x10", "1.2.3", "+nan"] {
            assert_eq!(canonical(text, &f), None, "{text}");
        }
    }

    #[test]
    fn group_and_decimal_chars_and_bare_number() {
        let f = NumberFormat { integer: false, group_char: Some(" ".into()), decimal_char: ",".into(), bare: true };
        assert_eq!(canonical("1 234,5", &f).as_deref(), Some("1234.5"));
        assert_eq!(canonical("1.5", &f), None, "a point is not the decimal char");
        let f = NumberFormat { integer: false, group_char: None, decimal_char: ".".into(), bare: false };
        assert_eq!(canonical("€95.50", &f).as_deref(), Some("95.5"));
        assert_eq!(canonical("95%", &f).as_deref(), Some("95"));
        assert_eq!(canonical("EUR -3", &f).as_deref(), Some("-3"));
        let i = NumberFormat { integer: true, group_char: Some(",".into()), decimal_char: ".".into(), bare: true };
        assert_eq!(canonical("1,000,000", &i).as_deref(), Some("1000000"));
        assert_eq!(canonical("1.5", &i), None);
        assert_eq!(canonical("1e3", &i), None);
        assert_eq!(canonical("inf", &i), None);
    }

    #[test]
    fn fixed_decimals_pad_and_never_round() {
        let f = NumberFormat::plain(false);
        let fixed = |text: &str, decimals| {
            let mut digits = Vec::new();
            let head = parse(text, &f, &mut digits).expect("a number");
            let mut out = String::new();
            write_fixed(head, &digits, decimals, &mut out).then_some(out)
        };
        for (text, want) in [
            ("41", "41.00"),
            ("41.", "41.00"),
            ("41.3", "41.30"),
            ("-73.37", "-73.37"),
            ("-0", "0.00"),
            ("-0.5", "-0.50"),
            ("007.1", "7.10"),
            ("0.05", "0.05"),
            ("1200", "1200.00"),
            ("1.5e2", "150.00"),
        ] {
            assert_eq!(fixed(text, 2).as_deref(), Some(want), "{text}");
        }
        assert_eq!(fixed("7", 0).as_deref(), Some("7"));
        assert_eq!(fixed("41.123", 2), None);
        assert_eq!(fixed("0.001", 2), None);
        assert_eq!(fixed("INF", 2), None);
        assert_eq!(fixed("NaN", 2), None);
    }

    proptest::proptest! {
        #[test]
        fn the_plain_reader_agrees_with_the_general_one(cell in "[-+]?[0-9]{0,6}(\\.[0-9]{0,6})?[e ]?", integer: bool) {
            let f = NumberFormat::plain(integer);
            let (mut a, mut b) = (Vec::new(), Vec::new());
            let plain = parse_plain(cell.as_bytes(), integer, &mut a);
            if plain.is_some() {
                proptest::prop_assert_eq!(plain.map(|(head, _)| head), parse_general(&cell, &f, &mut b), "{:?}", cell);
                proptest::prop_assert_eq!(a, b);
            }
        }

        #[test]
        fn small_numbers_compare_as_decimals_do(
            cell in "-?[0-9]{0,20}(\\.[0-9]{0,20})?",
            bound in "-?[0-9]{0,20}(\\.[0-9]{0,20})?(e-?[0-9])?",
        ) {
            let (Some(plain), Some(bound)) = (scan_plain(cell.as_bytes(), false), Decimal::parse(&bound, &NumberFormat::plain(false))) else {
                return Ok(());
            };
            let mut digits = Vec::new();
            plain.digits(&mut digits);
            let exact = compare(plain.head, &digits, &bound);
            let (int, frac) = cell.trim_start_matches('-').split_once('.').unwrap_or((cell.trim_start_matches('-'), ""));
            // A Small exactly when the integer part without its leading zeros and the
            // fraction have at most 18 digits.
            proptest::prop_assert_eq!(plain.small.is_some(), int.trim_start_matches('0').len() + frac.len() <= 18, "{}", cell);
            if let (Some(a), Some(b)) = (plain.small, Small::of(&bound)) {
                proptest::prop_assert_eq!(Some(a.compare(b)), exact, "{} against {:?}", cell, bound);
                let laid_out = SmallBound::of(&bound).map(|b| b.compare(a));
                proptest::prop_assert_eq!(laid_out, exact, "{} against {:?}", cell, bound);
            }
            if let Some(b) = Small::of(&bound) {
                proptest::prop_assert!(bound.digits.len() <= 18);
                let back = Small { value: 0, scale: 0 }.compare(b);
                proptest::prop_assert_eq!(Some(back), compare(Head::Finite { negative: false, exp: 0 }, &[], &bound));
            }
        }

        #[test]
        fn a_cell_copied_as_canonical_or_fixed_is_what_would_be_written(
            cell in "-?[0-9]{0,24}(\\.[0-9]{0,9})?",
            decimals in 0u32..4,
        ) {
            let f = NumberFormat::plain(false);
            let mut digits = Vec::new();
            if let Some((head, form)) = parse_cell(&cell, &f, &mut digits) {
                let mut written = String::new();
                write_canonical(head, &digits, &mut written);
                if form.is_canonical(head) {
                    proptest::prop_assert_eq!(&written, &cell);
                }
                let mut fixed = String::new();
                if form.is_fixed(head, decimals) {
                    proptest::prop_assert!(write_fixed(head, &digits, decimals, &mut fixed));
                    proptest::prop_assert_eq!(&fixed, &cell);
                }
            }
        }
    }

    #[test]
    fn plain_cells_are_copied_as_they_are_written() {
        let f = NumberFormat::plain(false);
        let read = |s: &str| parse_cell(s, &f, &mut Vec::new()).expect("a number");
        let canonical = |s: &str| read(s).1.is_canonical(read(s).0);
        let fixed = |s: &str, decimals| read(s).1.is_fixed(read(s).0, decimals);
        for cell in ["0", "12", "-73.04", "0.000001", "1200", "123456789012345678901"] {
            assert!(canonical(cell), "{cell}");
        }
        for cell in ["-0", "+1", "01", "1.50", "1.", ".5", "1e3", " 7", "0.00000001", "1234567890123456789012"] {
            assert!(!canonical(cell), "{cell}");
        }
        assert!(fixed("18.14", 2) && fixed("7", 0) && fixed("0.05", 2));
        assert!(!fixed("18.1", 2) && !fixed("-0.00", 2) && !fixed("7.", 0) && !fixed("7.0", 0) && !fixed("07.00", 2));
    }

    #[test]
    fn comparison_is_exact() {
        let f = NumberFormat::plain(false);
        let d = |s: &str| Decimal::parse(s, &f).expect("a number");
        let cmp = |a: &str, b: &str| compare(d(a).head, &d(a).digits, &d(b));
        assert_eq!(cmp("1.0", "1"), Some(Ordering::Equal));
        assert_eq!(cmp("12345678901234567890.1", "12345678901234567890"), Some(Ordering::Greater));
        assert_eq!(cmp("-2", "-1"), Some(Ordering::Less));
        assert_eq!(cmp("0", "-0.0001"), Some(Ordering::Greater));
        assert_eq!(cmp("0.05", "0.5"), Some(Ordering::Less));
        assert_eq!(cmp("-INF", "-1e300"), Some(Ordering::Less));
        assert_eq!(cmp("NaN", "1"), None);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        key(d("1.50").head, &d("1.50").digits, &mut a);
        key(d("15e-1").head, &d("15e-1").digits, &mut b);
        assert_eq!(a, b);
    }
}
