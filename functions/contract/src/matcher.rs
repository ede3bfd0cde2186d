//! Whole-value matching of a contract's patterns (`pattern`, `zipster:lexicalPattern`).
//!
//! Most patterns in feeds are one character class repeated (`[0-9]{1,5}`, `[A-Z]{2}`,
//! `[A-Z0-9 .,/()'-]{1,64}`): those are matched by a byte table and a length check,
//! with no regex search at all (a call to the regex engine costs more than the match on
//! values this short, and every row pays it per patterned cell). Everything else goes to
//! the `regex` crate, linear-time, anchored at both ends.

use regex::Regex;
use regex_syntax::hir::{Class, HirKind};

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// One ASCII class, `min..=max` times.
    Run {
        class: Box<[bool; 128]>,
        min: usize,
        max: usize,
    },
    Regex(Regex),
}

impl Matcher {
    /// Compiles `pattern` to match whole values; the error is the regex crate's, on one line.
    pub(crate) fn new(pattern: &str) -> Result<Matcher, String> {
        // Always compiled, so that what is accepted and refused is the regex crate's syntax
        // whichever way the values are then matched.
        let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).map_err(|e| one_line(&e.to_string()))?;
        Ok(class_run(pattern).unwrap_or(Matcher::Regex(regex)))
    }

    pub(crate) fn is_match(&self, value: &str) -> bool {
        match self {
            Matcher::Run { class, min, max } => {
                // ASCII-only classes: a value that matches has as many characters as bytes.
                let n = value.len();
                n >= *min && n <= *max && value.bytes().all(|b| class.get(usize::from(b)).copied().unwrap_or(false))
            }
            Matcher::Regex(regex) => regex.is_match(value),
        }
    }
}

fn class_run(pattern: &str) -> Option<Matcher> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let (class, min, max) = match hir.kind() {
        HirKind::Class(class) => (class, 1, 1),
        HirKind::Repetition(rep) => match rep.sub.kind() {
            HirKind::Class(class) => (class, rep.min as usize, rep.max.map_or(usize::MAX, |m| m as usize)),
            _ => return None,
        },
        _ => return None,
    };
    let mut table = Box::new([false; 128]);
    let mut mark = |start: u32, end: u32| -> Option<()> {
        if end > 0x7f {
            return None;
        }
        (start..=end).for_each(|b| table[b as usize] = true);
        Some(())
    };
    match class {
        Class::Unicode(u) => u.ranges().iter().try_for_each(|r| mark(u32::from(r.start()), u32::from(r.end())))?,
        Class::Bytes(b) => b.ranges().iter().try_for_each(|r| mark(u32::from(r.start()), u32::from(r.end())))?,
    }
    Some(Matcher::Run { class: table, min, max })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATTERNS: [&str; 8] = [
        "[0-9]{1,5}",
        "[A-Z]{2}",
        "[A-Z0-9 .,/()'-]{1,64}",
        "[a-c]*",
        "[x-z]+",
        "[0-9]",
        "(?i)[a-f]{2,3}",
        "[^a]{1,2}",
    ];

    #[test]
    fn single_ascii_classes_take_the_table_and_the_rest_the_regex() {
        for p in ["[0-9]{1,5}", "[A-Z]{2}", "[A-Z0-9 .,/()'-]{1,64}", "[a-c]*", "(?i)[a-f]{2,3}"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Run { .. })), "{p}");
        }
        // Not one class, or not ASCII (`\d` is Unicode digits, `[^a]` takes any character);
        // `a|b` would be one: the parser makes it the class `[ab]`.
        for p in ["-?[0-9]{1,3}", r"\d{5}", "[^a]{1,2}", "ab|c", "[é]"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Regex(_))), "{p}");
        }
        assert!(Matcher::new("[0-9").is_err());
    }

    proptest! {
        #[test]
        fn the_table_agrees_with_the_regex(value in "[a-zA-Z0-9 ,.é/()'-]{0,8}", which in 0..PATTERNS.len()) {
            let pattern = PATTERNS[which];
            let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).unwrap_or_else(|e| panic!("{e}"));
            let matcher = Matcher::new(pattern).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(matcher.is_match(&value), regex.is_match(&value), "{} on {:?}", pattern, value);
        }
    }
}
