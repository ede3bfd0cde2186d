//! Whole-value matching of a contract's patterns (`pattern`, `zipster:lexicalPattern`).
//!
//! Every pattern is compiled by the `regex` crate (so what is accepted and refused is its
//! syntax), then matched the cheapest way it can be, since every row pays it per patterned
//! cell and the values are short (a call into the regex engine's search costs more than the
//! match itself):
//! - one ASCII class repeated (`[0-9]{1,5}`, `[A-Z]{2}`): a byte table and a length check;
//! - a DFA of at most ten states (`-?[0-9]{1,3}(\.[0-9]{0,2})?`): regex-automata's DFA,
//!   rewritten as one 64-bit word per byte holding every state's next state in six bits,
//!   so that a step is a shift and a mask, not a load that waits for the one before;
//! - a first, middle and last class (`[A-Z](?:[A-Z ./'-]{0,62}[A-Z.])?`, a name that
//!   starts and ends with a letter): a value's length says which byte is which, so three
//!   byte tables and a length check, as for one class;
//! - anything a small DFA can hold (`[A-Z]{2}[0-9]{0,3}[a-z]{2}`): regex-automata's
//!   dense DFA, built once, walked one table lookup per byte;
//! - the rest (a Unicode `\b`, or a pattern whose DFA would be too large): the regex itself,
//!   linear-time, anchored at both ends.

use regex::Regex;
use regex_automata::dfa::{Automaton, StartKind, dense};
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// Bounds on one pattern's DFA (memory once per contract, and the time to build it from an
/// untrusted descriptor); a pattern over them is matched by the regex.
const DFA_SIZE_LIMIT: usize = 256 * 1024;
const DETERMINIZE_SIZE_LIMIT: usize = 1024 * 1024;
/// The most states a [`Matcher::Shift`] holds: ten six-bit fields fill a `u64`.
const SHIFT_STATES: usize = 10;

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// One ASCII class, `min..=max` times.
    Run {
        /// By byte; the bytes of non-ASCII characters are never in it.
        class: Box<[bool; 256]>,
        min: usize,
        max: usize,
    },
    /// `[first](?:[middle]{min_middle,max_middle}[last])?` of ASCII classes: one byte of
    /// `first`; or `first`, `min_middle..=max_middle` of `middle`, then `last`.
    Framed {
        first: Box<[bool; 256]>,
        middle: Box<[bool; 256]>,
        last: Box<[bool; 256]>,
        min_middle: usize,
        max_middle: usize,
    },
    /// A DFA of at most [`SHIFT_STATES`] states, state `i`'s next state on byte `b` in bits
    /// `6i..6i + 6` of `table[b]`, as the shift of its own field (6 times its index); the
    /// start is state 0, and `accept` has bit `6i` set for each state `i` that matches at
    /// the end of the value.
    Shift {
        table: Box<[u64; 256]>,
        accept: u64,
    },
    /// The pattern's DFA, anchored at the start, `\z` at the end, and its start state.
    Dfa {
        dfa: Box<dense::DFA<Vec<u32>>>,
        start: StateID,
    },
    Regex(Regex),
}

impl Matcher {
    /// Compiles `pattern` to match whole values; the error is the regex crate's, on one line.
    pub(crate) fn new(pattern: &str) -> Result<Matcher, String> {
        // Always compiled, so that what is accepted and refused is the regex crate's syntax
        // whichever way the values are then matched.
        let anchored = format!(r"\A(?:{pattern})\z");
        let regex = Regex::new(&anchored).map_err(|e| one_line(&e.to_string()))?;
        Ok(class_run(pattern).or_else(|| framed(pattern)).or_else(|| dfa(&anchored)).unwrap_or(Matcher::Regex(regex)))
    }

    #[inline(always)]
    pub(crate) fn is_match(&self, value: &str) -> bool {
        match self {
            Matcher::Run { class, min, max } => {
                // ASCII-only classes: a value that matches has as many characters as bytes.
                let n = value.len();
                // Every byte looked up without a branch (the table has all 256, values are short).
                n >= *min && n <= *max && value.bytes().fold(true, |ok, b| ok & class[usize::from(b)])
            }
            Matcher::Framed { first, middle, last, min_middle, max_middle } => match value.as_bytes() {
                [] => false,
                [only] => first[usize::from(*only)],
                [head, inner @ .., tail] => {
                    (*min_middle..=*max_middle).contains(&inner.len())
                        && first[usize::from(*head)]
                        && last[usize::from(*tail)]
                        && inner.iter().fold(true, |ok, &b| ok & middle[usize::from(b)])
                }
            },
            Matcher::Shift { table, accept } => {
                let state = value.as_bytes().iter().fold(0, |state, &b| (table[usize::from(b)] >> state) & 63);
                (accept >> state) & 1 == 1
            }
            Matcher::Dfa { dfa, start } => {
                // No test per byte: the dead state only leads to itself, and no quit state is
                // configured, so the state at the end says it all (values are short).
                let state = value.as_bytes().iter().fold(*start, |state, &b| dfa.next_state(state, b));
                dfa.is_match_state(dfa.next_eoi_state(state))
            }
            Matcher::Regex(regex) => regex.is_match(value),
        }
    }
}

/// The DFA of an anchored pattern, `None` when it cannot be built within the limits (or
/// needs what a DFA cannot do, such as a Unicode word boundary).
fn dfa(anchored: &str) -> Option<Matcher> {
    let config = dense::Config::new()
        .start_kind(StartKind::Anchored)
        // Every way of matching is kept: a whole-value match is any match ending at the end.
        .match_kind(MatchKind::All)
        .dfa_size_limit(Some(DFA_SIZE_LIMIT))
        .determinize_size_limit(Some(DETERMINIZE_SIZE_LIMIT));
    let dfa = dense::Builder::new().configure(config).build(anchored).ok()?;
    let start = dfa.start_state(&start::Config::new().anchored(Anchored::Yes)).ok()?;
    Some(shift(&dfa, start).unwrap_or_else(|| Matcher::Dfa { dfa: Box::new(dfa), start }))
}

/// The DFA's states reachable from `start` as a [`Matcher::Shift`], when there are at most
/// [`SHIFT_STATES`]: the same transitions and the same test at the end, packed.
fn shift(dfa: &dense::DFA<Vec<u32>>, start: StateID) -> Option<Matcher> {
    let mut states = vec![start];
    let mut rows: Vec<[u8; 256]> = Vec::new();
    while let Some(&state) = states.get(rows.len()) {
        let mut row = [0u8; 256];
        for (b, next) in row.iter_mut().enumerate() {
            let to = dfa.next_state(state, b as u8);
            let index = match states.iter().position(|&s| s == to) {
                Some(i) => i,
                None => {
                    states.push(to);
                    states.len() - 1
                }
            };
            if states.len() > SHIFT_STATES {
                return None;
            }
            *next = index as u8;
        }
        rows.push(row);
    }
    let mut table = Box::new([0u64; 256]);
    for (i, row) in rows.iter().enumerate() {
        for (word, &next) in table.iter_mut().zip(row) {
            *word |= (6 * u64::from(next)) << (6 * i);
        }
    }
    let accept = states
        .iter()
        .enumerate()
        .filter(|(_, s)| dfa.is_match_state(dfa.next_eoi_state(**s)))
        .fold(0u64, |bits, (i, _)| bits | (1 << (6 * i)));
    Some(Matcher::Shift { table, accept })
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
    Some(Matcher::Run { class: class_table(class)?, min, max })
}

/// `[A](?:[B]{m,n}[C])?` (a group may capture) as a [`Matcher::Framed`], for ASCII classes.
fn framed(pattern: &str) -> Option<Matcher> {
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let class = |hir: &Hir| match uncaptured(hir).kind() {
        HirKind::Class(class) => class_table(class),
        _ => None,
    };
    let HirKind::Concat(parts) = uncaptured(&hir).kind() else { return None };
    let [head, rest] = parts.as_slice() else { return None };
    let HirKind::Repetition(optional) = uncaptured(rest).kind() else { return None };
    if (optional.min, optional.max) != (0, Some(1)) {
        return None;
    }
    let HirKind::Concat(inner) = uncaptured(&optional.sub).kind() else { return None };
    let [middle, tail] = inner.as_slice() else { return None };
    let HirKind::Repetition(run) = uncaptured(middle).kind() else { return None };
    Some(Matcher::Framed {
        first: class(head)?,
        middle: class(&run.sub)?,
        last: class(tail)?,
        min_middle: run.min as usize,
        max_middle: run.max.map_or(usize::MAX, |m| m as usize),
    })
}

/// The expression inside any capturing groups around it.
fn uncaptured(hir: &Hir) -> &Hir {
    match hir.kind() {
        HirKind::Capture(capture) => uncaptured(&capture.sub),
        _ => hir,
    }
}

/// A class's bytes, when all its characters are ASCII.
fn class_table(class: &Class) -> Option<Box<[bool; 256]>> {
    let mut table = Box::new([false; 256]);
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
    Some(table)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PATTERNS: [&str; 24] = [
        "[a-c](?:[a-z .]{0,3}[0-9.])?",
        "[a-c]([a-z]{2,}[a-z0-9])?",
        "[A-Z](?:[A-Z ./'-]{1,2}[A-Z.])?",
        "[0-9](?:[ 0-9]{0,4}[0-9]){0,2}",
        "[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}",
        "-?[0-9]{1,3}",
        "ab|c",
        "[é]",
        "(ab|c)?[0-9]{2}x?",
        "[A-Z]{2}[0-9]{0,3}[a-z]{2}",
        "[0-9]{1,5}",
        "[A-Z]{2}",
        "[A-Z0-9 .,/()'-]{1,64}",
        "[a-c]*",
        "[x-z]+",
        "[0-9]",
        "(?i)[a-f]{2,3}",
        "[^a]{1,2}",
        r"-?[0-9]{1,3}(\.[0-9]{0,2})?",
        "[A-Z](?:[A-Z ./'-]{0,62}[A-Z.])?",
        "a|ab|abc",
        "(?i)é+[a-c]?",
        r"\w+( \w+)?",
        r"\b[a-z]+\b",
    ];

    #[test]
    fn each_pattern_takes_the_cheapest_matcher_that_holds_it() {
        for p in ["[0-9]{1,5}", "[A-Z]{2}", "[A-Z0-9 .,/()'-]{1,64}", "[a-c]*", "(?i)[a-f]{2,3}"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Run { .. })), "{p}");
        }
        // Not one ASCII class (`a|b` would be one: the parser makes it the class `[ab]`), in
        // a DFA of ten states or fewer.
        for p in ["-?[0-9]{1,3}", r"-?[0-9]{1,3}(\.[0-9]{0,2})?", "[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}", "ab|c", "[é]"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Shift { .. })), "{p}");
        }
        // A first, middle and last class, whatever they share.
        for p in ["[A-Z](?:[A-Z ./'-]{0,62}[A-Z.])?", "[a-c]([a-z]{2,}[a-z0-9])?", "[a-c](?:[a-c]{0,3}[a-c])?"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Framed { .. })), "{p}");
        }
        // More states (`\d` is Unicode digits, `[^a]` takes any character).
        for p in [r"\d{5}", "[^a]{1,2}", "[A-Z]{2}[0-9]{0,30}[a-z]{2}"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Dfa { .. })), "{p}");
        }
        // A Unicode word boundary is beyond a DFA; so is a DFA over the size limit.
        for p in [r"\b[a-z]+\b", r"\w{50}[0-9]\w{50}"] {
            assert!(matches!(Matcher::new(p), Ok(Matcher::Regex(_))), "{p}");
        }
        assert!(Matcher::new("[0-9").is_err());
    }

    #[test]
    fn the_feeds_patterns_agree_with_the_regex_on_their_edges() {
        let long = "A".repeat(63);
        let cases: [(&str, &[&str]); 3] = [
            (
                "[A-Z](?:[A-Z ./'-]{0,62}[A-Z.])?",
                &[
                    "",
                    "A",
                    "AB",
                    "A.",
                    "A-",
                    "ST. LOUIS",
                    "WINSTON-SALEM",
                    "A ",
                    " A",
                    "É",
                    &long,
                    &(long.clone() + "B"),
                    &(long.clone() + "BC"),
                ],
            ),
            (
                r"-?[0-9]{1,3}(\.[0-9]{0,2})?",
                &["", "-", "1", "-1", "12.", "123.45", "1234", "-.5", ".5", "12.345", "1.2.3", "١"],
            ),
            (
                "[A-Za-z_]+(/[A-Za-z0-9_+-]+){0,2}",
                &["", "UTC", "Asia/Tehran", "America/Argentina/Salta", "a/b/c/d", "Etc/GMT+5", "/x", "x/", "é"],
            ),
        ];
        for (pattern, values) in cases {
            let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).unwrap_or_else(|e| panic!("{e}"));
            let matcher = Matcher::new(pattern).unwrap_or_else(|e| panic!("{e}"));
            for value in values {
                assert_eq!(matcher.is_match(value), regex.is_match(value), "{pattern} on {value:?}");
            }
        }
    }

    proptest! {
        // Several hundred values per pattern.
        #![proptest_config(ProptestConfig::with_cases(4096))]
        #[test]
        fn the_table_and_the_dfa_agree_with_the_regex(value in "[a-zA-Z0-9 ,.é/()'_+-]{0,8}", which in 0..PATTERNS.len()) {
            let pattern = PATTERNS[which];
            let regex = Regex::new(&format!(r"\A(?:{pattern})\z")).unwrap_or_else(|e| panic!("{e}"));
            let matcher = Matcher::new(pattern).unwrap_or_else(|e| panic!("{e}"));
            prop_assert_eq!(matcher.is_match(&value), regex.is_match(&value), "{} on {:?}", pattern, value);
        }
    }
}
