//! The data-quality page of one transformed file (issue 20): what was wrong, at a
//! glance, in a browser.
//!
//! The transform feeds a [`Builder`] every rejected (or blank) record from its one
//! streaming pass and renders the page once at the end. The page is one
//! self-contained HTML file (no script, no external style, font or image: the
//! buckets are private and the page must open from a download, offline), every value
//! from the file is escaped, and it stays under [`MAX_PAGE_BYTES`] whatever the file:
//!
//! - the counts are complete (given by the caller in [`Counts`]);
//! - errors are counted by field and by error type, for at most [`MAX_TRACKED`]
//!   distinct names each (the rest in one "other" bucket), drawn as at most
//!   [`MAX_BARS`] bars;
//! - the rejected lines are a sample: the first `max_lines`, as long as they fit in
//!   [`SAMPLE_BYTES`] of markup; each shows at most [`MAX_COLUMNS`] cells, each cell
//!   at most [`MAX_CELL_CHARS`] characters.
//!
//! So the Builder's memory is flat too: two small maps and the sample, which is kept
//! already rendered (its size in bytes is what the bound is about, and it is known
//! only once escaped).
//!
//! Pure: no I/O, no AWS, no async, no dependencies.

use std::collections::HashMap;
use std::fmt::Write;

/// How many rejected lines a page shows by default.
pub const DEFAULT_MAX_LINES: usize = 200;
/// The page is never larger than this (a million rejects included).
pub const MAX_PAGE_BYTES: usize = 1_000_000;
/// The rendered sample of rejected lines stops growing at this many bytes; the rest
/// of the page (header, facts, charts, table head) is bounded well under the
/// remaining ~300 kB by the limits below.
pub const SAMPLE_BYTES: usize = 700_000;
/// A cell is shown up to this many characters, then an ellipsis.
pub const MAX_CELL_CHARS: usize = 200;
/// A line shows at most this many cells, then "N more cells".
pub const MAX_COLUMNS: usize = 100;
/// The errors shown in one cell, or beside a line's number (its own, and those of
/// its cells past [`MAX_COLUMNS`]), then "N more errors".
pub const MAX_LINE_ERRORS: usize = 10;
/// Distinct fields (and, separately, error types) counted by name; the rest are "other".
pub const MAX_TRACKED: usize = 64;
/// Bars per chart; the smaller counts are summed into one last bar.
pub const MAX_BARS: usize = 16;

/// Field names, error types and column labels are cut to this many characters.
const MAX_LABEL_CHARS: usize = 64;
/// Within a chart, labels are cut shorter still, to fit their column; the bar's
/// tooltip has the longer form.
const MAX_BAR_LABEL_CHARS: usize = 24;
/// An error's reason, the refusal's reason.
const MAX_REASON_CHARS: usize = 300;
/// The page's facts (key, feed, contract hash, time): an S3 key is at most 1024 bytes.
const MAX_FACT_CHARS: usize = 1024;
/// A longer link is not shown at all: a cut URL would point somewhere else.
const MAX_LINK_CHARS: usize = 4096;

/// One error of a rejected record, as the transform reports it.
#[derive(Debug, Clone, Copy)]
pub struct ErrorRef<'a> {
    /// The field (column) the error is about; empty for a row-level error.
    pub field: &'a str,
    /// The 0-based index of the cell in the record's cells; `None` for a row-level
    /// error (blank row, primary key). An index past the last cell is a missing cell.
    pub column: Option<usize>,
    /// The Frictionless error type: "type-error", "constraint-error", "missing-cell",
    /// "extra-cell", "blank-row", "primary-key", "unique-error", ...
    pub kind: &'a str,
    /// The value the error is about (shown when the record has no such cell).
    pub value: &'a str,
    /// Why, in words.
    pub reason: &'a str,
}

/// What became of the file.
#[derive(Debug, Clone, Copy)]
pub enum Outcome<'a> {
    /// Its accepted rows were staged for the load.
    Staged,
    /// Refused as a whole (bad header, empty, gzip, too large): nothing staged.
    Refused { reason: &'a str },
    /// The transform stopped before the end of the file.
    Halted { reason: &'a str },
}

/// The file's counts, complete (the page samples lines, never counts).
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub rows_read: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub blank: u64,
}

/// What the page says about the file besides its rejected lines.
#[derive(Debug, Clone, Copy)]
pub struct Page<'a> {
    /// The input object's key (or the file's name).
    pub key: &'a str,
    pub feed: &'a str,
    pub contract_hash: &'a str,
    /// When, as RFC 3339 text; the caller's clock, so that pages are reproducible.
    pub time: &'a str,
    pub outcome: Outcome<'a>,
    pub counts: Counts,
    /// Where the full rejects file is: a relative path ("rejects.jsonl") or an
    /// http(s) URL (the S3 console's).
    pub rejects_link: Option<&'a str>,
}

/// The page of one file, built incrementally with flat memory: complete error
/// counts and a bounded, already rendered sample of the first rejected lines.
#[derive(Debug, Clone)]
pub struct Builder {
    /// The column labels, cut to [`MAX_COLUMNS`] and [`MAX_LABEL_CHARS`].
    header: Vec<String>,
    header_len: usize,
    max_lines: usize,
    by_field: Tally,
    by_kind: Tally,
    /// Rejected records seen (blank ones included).
    lines: u64,
    /// The rendered `<tr>` of each sampled line, in order.
    sample: Vec<String>,
    sample_bytes: usize,
    /// The sample stopped at [`SAMPLE_BYTES`] rather than at `max_lines`.
    sample_full: bool,
    /// The widest sampled line, in shown columns (the table head has as many).
    widest: usize,
}

/// `2026-12-01T15:04:05Z`: a time as [`Page::time`] shows it, in UTC (the caller reads
/// the clock, so the page stays a pure function of what it is given).
pub fn rfc3339_utc(time: std::time::SystemTime) -> String {
    let seconds = time.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = ((seconds / 86_400) as i64, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// Days since 1970-01-01 → (year, month, day), Howard Hinnant's `civil_from_days`: the
/// one calendar conversion the commands and the page print times with.
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// (year, month, day) → days since 1970-01-01, the inverse of [`civil_from_days`]
/// (Howard Hinnant's `days_from_civil`); `None` for a month or day out of range.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month[(month - 1) as usize] {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some(era * 146_097 + doe - 719_468)
}

impl Builder {
    /// A page for a file with these column labels (empty when the header could not
    /// be read), showing at most `max_lines` rejected lines.
    pub fn new(header: &[&str], max_lines: usize) -> Builder {
        Builder {
            header: header.iter().take(MAX_COLUMNS).map(|h| clipped(h, MAX_LABEL_CHARS)).collect(),
            header_len: header.len(),
            max_lines,
            by_field: Tally::default(),
            by_kind: Tally::default(),
            lines: 0,
            sample: Vec::new(),
            sample_bytes: 0,
            sample_full: false,
            widest: header.len().min(MAX_COLUMNS),
        }
    }

    /// One rejected (or blank) record: its physical line number, its cells as read
    /// (lossy UTF-8), and every error it has.
    pub fn reject(&mut self, line: u64, cells: &[&str], errors: &[ErrorRef<'_>]) {
        self.lines += 1;
        for error in errors {
            self.by_field.add(field_label(error));
            self.by_kind.add(error.kind);
        }
        if self.sample_full || self.sample.len() >= self.max_lines {
            return;
        }
        let (row, width) = self.row(line, cells, errors);
        // The sample is the first lines, so it stops at the first that does not fit
        // rather than skipping to a smaller one further on.
        if self.sample_bytes + row.len() > SAMPLE_BYTES {
            self.sample_full = true;
            return;
        }
        self.sample_bytes += row.len();
        self.widest = self.widest.max(width);
        self.sample.push(row);
    }

    /// The rejected records seen so far.
    pub fn rejected_lines(&self) -> u64 {
        self.lines
    }

    /// The page.
    pub fn render(&self, page: &Page<'_>) -> String {
        let mut out = String::with_capacity(self.sample_bytes + 32 * 1024);
        // Writing into a String cannot fail; the fmt::Result only says so.
        let _ = self.write_page(&mut out, page);
        out
    }

    fn write_page(&self, out: &mut String, page: &Page<'_>) -> std::fmt::Result {
        let (class, word, meaning, reason) = match page.outcome {
            Outcome::Staged => ("staged", "Staged", "The accepted rows were staged for loading.", None),
            Outcome::Refused { reason } => {
                ("refused", "Refused", "The file was refused; nothing was staged.", Some(reason))
            }
            Outcome::Halted { reason } => {
                ("halted", "Halted", "The transform stopped before the end of the file.", Some(reason))
            }
        };
        let key = Text(page.key, MAX_FACT_CHARS);
        out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        // Defence in depth behind the escaping: even a value that slipped through
        // could not run a script, load anything or send a form.
        out.push_str(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; base-uri 'none'\">\n",
        );
        writeln!(out, "<title>{word}: {key} · Zipster data quality</title>")?;
        out.push_str(STYLE);
        out.push_str("</head>\n<body>\n");

        writeln!(out, "<header class=\"outcome {class}\">")?;
        writeln!(out, "<p class=\"badge\">{word}</p>")?;
        if let Some(reason) = reason {
            writeln!(out, "<p class=\"reason\">{}</p>", Text(reason, MAX_REASON_CHARS))?;
        }
        writeln!(out, "<h1>{key}</h1>")?;
        writeln!(out, "<p class=\"meaning\">{meaning}</p>")?;
        out.push_str("</header>\n<main>\n");

        out.push_str("<div class=\"top\">\n<dl class=\"facts\">\n");
        writeln!(out, "<dt>File</dt><dd>{key}</dd>")?;
        writeln!(out, "<dt>Feed</dt><dd>{}</dd>", Text(page.feed, MAX_FACT_CHARS))?;
        writeln!(out, "<dt>Contract</dt><dd><code>{}</code></dd>", Text(page.contract_hash, MAX_FACT_CHARS))?;
        writeln!(out, "<dt>Time</dt><dd>{}</dd>", Text(page.time, MAX_FACT_CHARS))?;
        writeln!(out, "<dt>Outcome</dt><dd><span class=\"word {class}\">{word}</span></dd>")?;
        out.push_str("</dl>\n");

        let c = page.counts;
        out.push_str("<section class=\"counts\" aria-label=\"Counts\">\n");
        for (label, n, tile) in [
            ("rows read", c.rows_read, "read"),
            ("accepted", c.accepted, "accepted"),
            ("rejected", c.rejected, "rejected"),
            ("blank", c.blank, "blank"),
        ] {
            writeln!(out, "<div class=\"tile {tile}\"><span class=\"n\">{}</span> {label}</div>", Grouped(n))?;
        }
        out.push_str("</section>\n</div>\n");

        out.push_str("<section class=\"charts\">\n");
        chart(out, "Errors by field", "field", &self.by_field)?;
        chart(out, "Errors by type", "kind", &self.by_kind)?;
        out.push_str("</section>\n");

        self.write_lines(out, page)?;
        out.push_str(
            "</main>\n<footer>Zipster ETL · data-quality page · one file, no scripts</footer>\n</body>\n</html>\n",
        );
        Ok(())
    }

    fn write_lines(&self, out: &mut String, page: &Page<'_>) -> std::fmt::Result {
        out.push_str("<section class=\"lines\">\n<h2>Rejected lines</h2>\n");
        let shown = self.sample.len() as u64;
        if self.lines == 0 {
            out.push_str("<p class=\"none\">No rejected lines.</p>\n");
        } else if shown == self.lines {
            writeln!(
                out,
                "<p>All {} lines, invalid cells marked (hover for the field and the error type).</p>",
                Grouped(self.lines)
            )?;
        } else {
            let why = if self.sample_full { " (the page stays under 1 MB)" } else { "" };
            writeln!(
                out,
                "<p>The first {} of {} lines{why}, invalid cells marked (hover for the field and the error type).</p>",
                Grouped(shown),
                Grouped(self.lines)
            )?;
        }
        match page.rejects_link.map(Link) {
            Some(link) if link.shown() => {
                writeln!(
                    out,
                    "<p class=\"link\">Every rejected line with every error: <a href=\"{link}\">{}</a></p>",
                    Text(link.0, MAX_CELL_CHARS)
                )?;
            }
            Some(_) => {
                out.push_str("<p class=\"link\">Every rejected line is in the rejects file beside this page.</p>\n")
            }
            None => {}
        }
        if !self.sample.is_empty() {
            out.push_str("<div class=\"scroll\"><table>\n<thead><tr><th scope=\"col\">line</th>");
            for column in 0..self.widest {
                match self.header.get(column) {
                    Some(label) if !label.is_empty() => {
                        write!(out, "<th scope=\"col\">{}</th>", Text(label, usize::MAX))?
                    }
                    // No label (an unreadable header, an empty name): its position.
                    _ if column < self.header_len || self.header_len == 0 => {
                        write!(out, "<th scope=\"col\">column {}</th>", column + 1)?
                    }
                    _ => out.push_str("<th scope=\"col\" class=\"extra\">(extra)</th>"),
                }
            }
            out.push_str("</tr></thead>\n<tbody>\n");
            for row in &self.sample {
                out.push_str(row);
            }
            out.push_str("</tbody>\n</table></div>\n");
        }
        out.push_str("</section>\n");
        Ok(())
    }

    /// One sampled line as a table row, and how many columns it shows.
    fn row(&self, line: u64, cells: &[&str], errors: &[ErrorRef<'_>]) -> (String, usize) {
        // A missing cell's error points past the last cell: the row is as wide as
        // its furthest error, so that the empty cell can be marked.
        let furthest = errors.iter().filter_map(|e| e.column).map(|c| c + 1).max().unwrap_or(0);
        let width = cells.len().max(furthest).min(MAX_COLUMNS);
        let mut marks: Vec<Vec<&ErrorRef<'_>>> = vec![Vec::new(); width];
        let mut row_level = Vec::new();
        for error in errors {
            match error.column {
                Some(column) if column < width => marks[column].push(error),
                // Errors of cells not shown stay visible, with the line's own.
                _ => row_level.push(error),
            }
        }
        let mut out = String::new();
        let _ = self.write_row(&mut out, line, cells, &marks, &row_level);
        (out, width)
    }

    fn write_row(
        &self,
        out: &mut String,
        line: u64,
        cells: &[&str],
        marks: &[Vec<&ErrorRef<'_>>],
        row_level: &[&ErrorRef<'_>],
    ) -> std::fmt::Result {
        out.push_str("<tr>");
        if row_level.is_empty() {
            write!(out, "<th scope=\"row\">{line}</th>")?;
        } else {
            out.push_str("<th scope=\"row\" class=\"bad\" title=\"");
            tooltip(out, row_level)?;
            write!(out, "\">{line}")?;
            reasons(out, row_level, true)?;
            out.push_str("</th>");
        }
        for (column, errors) in marks.iter().enumerate() {
            let cell = match cells.get(column) {
                Some(cell) => Some(*cell),
                None => errors.iter().map(|e| e.value).find(|v| !v.is_empty()),
            };
            if errors.is_empty() {
                write!(out, "<td>{}</td>", Text(cell.unwrap_or_default(), MAX_CELL_CHARS))?;
                continue;
            }
            let missing = if cells.get(column).is_none() { " missing" } else { "" };
            write!(out, "<td class=\"bad{missing}\" title=\"")?;
            tooltip(out, errors)?;
            write!(out, "\">{}", Text(cell.unwrap_or_default(), MAX_CELL_CHARS))?;
            reasons(out, errors, false)?;
            out.push_str("</td>");
        }
        if cells.len() > marks.len() {
            write!(out, "<td class=\"more\">… {} more cells</td>", Grouped((cells.len() - marks.len()) as u64))?;
        }
        out.push_str("</tr>\n");
        Ok(())
    }
}

/// An error's field for the chart and the tooltips: a row-level error without a
/// field is about the whole line; a cell's without one (an extra cell) has no name.
fn field_label<'a>(error: &ErrorRef<'a>) -> &'a str {
    match (error.field.is_empty(), error.column) {
        (false, _) => error.field,
        (true, None) => "(whole line)",
        (true, Some(_)) => "(unnamed cell)",
    }
}

/// The reasons shown in a cell (or beside a line's number, with their fields), at
/// most [`MAX_LINE_ERRORS`], then how many more.
fn reasons(out: &mut String, errors: &[&ErrorRef<'_>], with_field: bool) -> std::fmt::Result {
    for error in errors.iter().take(MAX_LINE_ERRORS) {
        out.push_str("<span class=\"why\">");
        if with_field && !error.field.is_empty() {
            write!(out, "{}: ", Text(error.field, MAX_LABEL_CHARS))?;
        }
        write!(out, "{}</span>", Text(error.reason, MAX_REASON_CHARS))?;
    }
    if errors.len() > MAX_LINE_ERRORS {
        write!(out, "<span class=\"why\">… {} more errors</span>", Grouped((errors.len() - MAX_LINE_ERRORS) as u64))?;
    }
    Ok(())
}

/// "field (kind): reason", one error per line of the tooltip, as many as [`reasons`].
fn tooltip(out: &mut String, errors: &[&ErrorRef<'_>]) -> std::fmt::Result {
    for (i, error) in errors.iter().take(MAX_LINE_ERRORS).enumerate() {
        if i > 0 {
            out.push_str("&#10;");
        }
        let field = field_label(error);
        write!(
            out,
            "{} ({}): {}",
            Text(field, MAX_LABEL_CHARS),
            Text(error.kind, MAX_LABEL_CHARS),
            Text(error.reason, MAX_REASON_CHARS)
        )?;
    }
    Ok(())
}

/// Counts by name for at most [`MAX_TRACKED`] names, cut to [`MAX_LABEL_CHARS`]
/// (two long names that share their first 64 characters are counted together).
#[derive(Debug, Clone, Default)]
struct Tally {
    counts: HashMap<String, u64>,
    other: u64,
}

impl Tally {
    fn add(&mut self, name: &str) {
        let name = prefix(name, MAX_LABEL_CHARS).0;
        if let Some(n) = self.counts.get_mut(name) {
            *n += 1;
        } else if self.counts.len() < MAX_TRACKED {
            self.counts.insert(name.to_owned(), 1);
        } else {
            self.other += 1;
        }
    }

    /// At most [`MAX_BARS`] bars, the largest first (ties by name, so pages are
    /// reproducible); the rest summed into a last "all others" bar.
    fn bars(&self) -> Vec<(&str, u64)> {
        let mut bars: Vec<(&str, u64)> = self.counts.iter().map(|(k, &n)| (k.as_str(), n)).collect();
        bars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let keep = if bars.len() > MAX_BARS || self.other > 0 { MAX_BARS - 1 } else { MAX_BARS };
        let rest: u64 = bars.iter().skip(keep).map(|b| b.1).sum::<u64>() + self.other;
        bars.truncate(keep);
        if rest > 0 {
            bars.push((OTHERS_LABEL, rest));
        }
        bars
    }
}

const OTHERS_LABEL: &str = "(all others)";

/// A horizontal bar chart as inline SVG: a label column, bars scaled to the largest
/// count, the count after each bar, and each bar's full label in its tooltip.
fn chart(out: &mut String, title: &str, class: &str, tally: &Tally) -> std::fmt::Result {
    const WIDTH: u64 = 560;
    const LABEL: u64 = 190;
    const BAR_MAX: u64 = 290;
    const STEP: u64 = 24;
    const BAR: u64 = 18;
    writeln!(out, "<figure class=\"chart\">\n<figcaption>{title}</figcaption>")?;
    let bars = tally.bars();
    let Some(max) = bars.iter().map(|b| b.1).max() else {
        return writeln!(out, "<p class=\"none\">No errors.</p>\n</figure>");
    };
    let height = STEP * bars.len() as u64 + 4;
    writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"{class}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title}\">"
    )?;
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 2 + STEP * i as u64;
        // u128: a count times the width cannot overflow, whatever the count.
        let width = (u128::from(*n) * u128::from(BAR_MAX) / u128::from(max.max(1))) as u64;
        let width = width.max(1);
        let text_y = y + 13;
        writeln!(
            out,
            "<g><title>{}: {}</title><text x=\"{}\" y=\"{text_y}\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{width}\" height=\"{BAR}\" rx=\"2\"/><text x=\"{}\" y=\"{text_y}\" class=\"n\">{}</text></g>",
            Text(label, MAX_LABEL_CHARS),
            Grouped(*n),
            LABEL - 8,
            Text(label, MAX_BAR_LABEL_CHARS),
            LABEL + width + 6,
            Grouped(*n),
        )?;
    }
    out.push_str("</svg>\n</figure>\n");
    Ok(())
}

/// Text from the file (or about it), cut to a number of characters with an ellipsis
/// and escaped for HTML text and double-quoted attribute values alike. Control
/// characters are shown as their Unicode pictures (a NUL or an escape sequence is
/// invisible, or worse, in a page); tab and newline are kept, CR is shown because
/// the HTML parser would otherwise fold it into the newline.
struct Text<'a>(&'a str, usize);

impl std::fmt::Display for Text<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (shown, cut) = prefix(self.0, self.1);
        let mut plain = 0;
        for (i, c) in shown.char_indices() {
            let replacement: Option<&str> = match c {
                '&' => Some("&amp;"),
                '<' => Some("&lt;"),
                '>' => Some("&gt;"),
                '"' => Some("&quot;"),
                '\'' => Some("&#39;"),
                '\t' | '\n' => None,
                '\u{0}'..='\u{1f}' | '\u{7f}' | '\u{80}'..='\u{9f}' => Some(""),
                _ => None,
            };
            let Some(replacement) = replacement else { continue };
            f.write_str(&shown[plain..i])?;
            if replacement.is_empty() {
                f.write_char(control_picture(c))?;
            } else {
                f.write_str(replacement)?;
            }
            plain = i + c.len_utf8();
        }
        f.write_str(&shown[plain..])?;
        if cut {
            f.write_char('…')?;
        }
        Ok(())
    }
}

/// U+2400.. for C0 controls, U+2421 for DEL, U+FFFD for the C1 controls (they have
/// no pictures).
fn control_picture(c: char) -> char {
    match c {
        '\u{7f}' => '\u{2421}',
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + u32::from(c)).unwrap_or('\u{fffd}'),
        _ => '\u{fffd}',
    }
}

/// `s`'s first `max` characters, and whether anything was cut.
fn prefix(s: &str, max: usize) -> (&str, bool) {
    // No more bytes than `max`, so no more characters: the usual case, without a walk
    // over the characters (it runs for every error of every rejected line).
    if s.len() <= max {
        return (s, false);
    }
    match s.char_indices().nth(max) {
        Some((end, _)) => (&s[..end], true),
        None => (s, false),
    }
}

/// `s` cut to `max` characters, with an ellipsis if cut.
fn clipped(s: &str, max: usize) -> String {
    match prefix(s, max) {
        (shown, true) => format!("{shown}…"),
        (shown, false) => shown.to_owned(),
    }
}

/// A link the page may carry: a relative path or an http(s) URL, never another
/// scheme (a `javascript:` link runs when clicked). A relative path that looks like
/// it has a scheme (`a:b.rejects.jsonl`, from a key) is written as `./a:b...`.
struct Link<'a>(&'a str);

impl Link<'_> {
    fn shown(&self) -> bool {
        !self.0.is_empty() && self.0.chars().count() <= MAX_LINK_CHARS
    }
}

impl std::fmt::Display for Link<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lower = self.0.get(..8).unwrap_or(self.0).to_ascii_lowercase();
        let web = lower.starts_with("https://") || lower.starts_with("http://");
        let first = self.0.find([':', '/', '?', '#']);
        let scheme_like = first.is_some_and(|i| self.0.as_bytes()[i] == b':');
        if scheme_like && !web {
            f.write_str("./")?;
        }
        write!(f, "{}", Text(self.0, usize::MAX))
    }
}

/// A count with thousands separators: 1,000,000.
struct Grouped(u64);

impl std::fmt::Display for Grouped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let digits = self.0.to_string();
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                f.write_char(',')?;
            }
            f.write_char(d)?;
        }
        Ok(())
    }
}

/// One small style sheet, inline (no external file may be fetched). Colours are
/// GitHub's Primer palette: readable, and distinct for the three outcomes.
const STYLE: &str = "<style>
:root{--staged:#1a7f37;--refused:#cf222e;--halted:#bc4c00;--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--bad:#ffebe9}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:var(--ink);background:#fff}
header.outcome{padding:16px 28px;color:#fff}
header.staged{background:var(--staged)}header.refused{background:var(--refused)}header.halted{background:var(--halted)}
.badge{margin:0;font-size:14px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;opacity:.9}
.reason{margin:6px 0 4px;font-size:28px;font-weight:700;line-height:1.2;overflow-wrap:anywhere}
h1{margin:4px 0;font-size:20px;font-weight:600;overflow-wrap:anywhere}
.meaning{margin:0;opacity:.9}
main{padding:16px 28px}
.top{display:flex;flex-wrap:wrap;gap:16px 48px;align-items:flex-start;margin:0 0 16px}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0;max-width:44em}
.facts dt{color:var(--muted)}.facts dd{margin:0;overflow-wrap:anywhere}
.word{font-weight:700}.word.staged{color:var(--staged)}.word.refused{color:var(--refused)}.word.halted{color:var(--halted)}
.counts{display:flex;flex-wrap:wrap;gap:12px}
.tile{border:1px solid var(--line);border-radius:6px;padding:8px 16px;color:var(--muted)}
.tile .n{display:block;font-size:26px;font-weight:700;color:var(--ink)}
.tile.accepted .n{color:var(--staged)}.tile.rejected .n{color:var(--refused)}
.charts{display:flex;flex-wrap:wrap;gap:24px}
.chart{margin:0}figcaption{font-weight:600;margin-bottom:4px}
svg text{font:12px system-ui,sans-serif;fill:var(--ink)}svg text.n{fill:var(--muted)}
svg.field rect{fill:#0969da}svg.kind rect{fill:#8250df}
.none{color:var(--muted)}
h2{font-size:18px;margin:20px 0 4px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid var(--line);padding:3px 6px;text-align:left;vertical-align:top;white-space:pre-wrap;overflow-wrap:break-word;max-width:28em}
thead th{background:#f6f8fa;position:sticky;top:0;white-space:nowrap}
tbody th{color:var(--muted);font-weight:400;font-variant-numeric:tabular-nums;max-width:14em}
.bad{background:var(--bad);box-shadow:inset 0 0 0 2px var(--refused)}
.why{display:block;color:var(--refused);font-size:12px;white-space:normal}
.extra{color:var(--muted);font-style:italic}.more{color:var(--muted)}
footer{padding:12px 28px;color:var(--muted);font-size:12px;border-top:1px solid var(--line)}
</style>
";

#[cfg(test)]
mod calendar_tests {
    use super::{civil_from_days, days_from_civil};

    #[test]
    fn days_and_dates_convert_both_ways() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), Some(days), "{y}-{m}-{d}");
        }
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(2026, 2, 29), None, "not a leap year");
        assert_eq!(days_from_civil(2026, 13, 1), None);
        assert_eq!(days_from_civil(2026, 4, 31), None);
    }
}
