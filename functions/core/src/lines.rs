//! Physical lines and CSV records, framed by hand rather than by the `csv` crate so
//! that every record keeps its exact raw bytes and 1-based line number (the `csv`
//! crate skips blank lines silently and does not say where a record started), and so
//! that no line can grow memory past a limit.

use std::io::{self, BufRead, BufReader, Read};

use zipster_contract::byte_mask;

/// Reads CSV records: one physical line each, or several when a quoted field holds
/// line breaks. A record that fits in the read buffer is handed out in place (no
/// copy); only records that straddle the buffer's end or span lines are gathered
/// into a spill buffer. No line may exceed the limit, so memory stays bounded.
///
/// [`RecordReader::for_each_record`] reads the common case a block at a time: the
/// buffered lines up to the first quote are checked for UTF-8 and `\r` in one pass
/// each, not line by line (a call per line of 90 bytes was 7% of the zip codes' pass).
pub struct RecordReader<R> {
    inner: BufReader<R>,
    /// Bytes of `inner`'s buffer lent out by the last call, consumed by the next.
    lent: usize,
    spill: Vec<u8>,
    max_line_bytes: usize,
    bytes_read: u64,
    lines_read: u64,
    /// Where in the input (bytes from its start) the last search for a quote stopped, and
    /// whether it stopped at one: no byte from where it began up to there is a quote, so
    /// that no byte is searched twice (the next block after a line that is not text
    /// starts where the last search began).
    quote_search: (u64, bool),
}

/// One record, without its line end.
pub struct Record<'a> {
    pub bytes: &'a [u8],
    /// 1-based number of the physical line the record starts on.
    pub line: u64,
    /// Whether the record holds a quote at all (most hold none).
    pub quoted: bool,
    /// The record as text when it is UTF-8 and holds no quote and no `\r` (nearly every
    /// record): its cells are its comma-separated parts, each of which can be written to
    /// a CSV as it is.
    pub plain: Option<&'a str>,
}

impl<'a> Record<'a> {
    /// A record of `bytes`, [`Record::plain`] found from them.
    fn new(bytes: &'a [u8], line: u64, quoted: bool) -> Record<'a> {
        let plain = if quoted || memchr::memchr(b'\r', bytes).is_some() {
            None
        } else {
            simdutf8::basic::from_utf8(bytes).ok()
        };
        Record { bytes, line, quoted, plain }
    }
}

#[derive(Debug)]
pub enum LineError {
    /// Line number (1-based) and the limit.
    TooLong {
        line: u64,
        limit: usize,
    },
    UnclosedQuote {
        line: u64,
    },
    Io(io::Error),
}

impl<R: Read> RecordReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self::with_buffer(inner, max_line_bytes, 256 * 1024)
    }

    /// [`Self::new`] with a read buffer of `capacity` bytes (the tests' small ones put the
    /// buffer's end in every place of a record).
    fn with_buffer(inner: R, max_line_bytes: usize, capacity: usize) -> Self {
        Self {
            inner: BufReader::with_capacity(capacity, inner),
            lent: 0,
            spill: Vec::new(),
            max_line_bytes,
            bytes_read: 0,
            lines_read: 0,
            quote_search: (0, false),
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    pub fn lines_read(&self) -> u64 {
        self.lines_read
    }

    pub fn next_record(&mut self) -> Result<Option<Record<'_>>, LineError> {
        self.inner.consume(std::mem::take(&mut self.lent));
        self.spill.clear();
        let line = self.lines_read + 1;
        // Fast path: the whole line is already buffered and holds no quote (one search for
        // either: the line end comes first).
        let buffered = fill(&mut self.inner)?;
        if let Some(end) = memchr::memchr2(b'\n', b'"', buffered)
            && end <= self.max_line_bytes
            && buffered[end] == b'\n'
        {
            self.lent = end + 1;
            self.bytes_read += self.lent as u64;
            self.lines_read += 1;
            let bytes = strip_terminator(&self.inner.buffer()[..end + 1]);
            return Ok(Some(Record::new(bytes, line, false)));
        }
        if !self.append_line()? {
            return Ok(None);
        }
        let quoted = memchr::memchr(b'"', &self.spill).is_some();
        while quoted && inside_quotes(&self.spill) {
            if !self.append_line()? {
                return Err(LineError::UnclosedQuote { line });
            }
            if self.spill.len() > self.max_line_bytes {
                return Err(LineError::UnclosedQuote { line });
            }
        }
        Ok(Some(Record::new(strip_terminator(&self.spill), line, quoted)))
    }

    /// Appends the next physical line to the spill buffer; `Ok(false)` at the end of input.
    fn append_line(&mut self) -> Result<bool, LineError> {
        let start = self.spill.len();
        loop {
            let available = fill(&mut self.inner)?;
            if available.is_empty() {
                if self.spill.len() > start {
                    self.lines_read += 1;
                    return Ok(true);
                }
                return Ok(false);
            }
            let (taken, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            self.spill.extend_from_slice(&available[..taken]);
            self.inner.consume(taken);
            self.bytes_read += taken as u64;
            if self.spill.len() - start > self.max_line_bytes + 2 {
                return Err(LineError::TooLong { line: self.lines_read + 1, limit: self.max_line_bytes });
            }
            if done {
                self.lines_read += 1;
                return Ok(true);
            }
        }
    }

    /// Hands every remaining record to `each`, in order, as [`RecordReader::next_record`]
    /// would, until the input ends or `each` fails. The buffered lines before the first
    /// quote are one block: one UTF-8 check and one `\r` search for all of them, each line
    /// then a slice of the block's text. A line the block cannot take (a quote, bytes that
    /// are not UTF-8, a line over the limit or cut by the buffer's end) is read by
    /// `next_record`, which also says what is wrong with it.
    pub fn for_each_record<E: From<LineError>>(
        &mut self,
        mut each: impl FnMut(Record<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        loop {
            self.inner.consume(std::mem::take(&mut self.lent));
            let Self { inner, lent, lines_read, bytes_read, max_line_bytes, quote_search, .. } = self;
            let buffered = fill(inner)?;
            let before_quote = &buffered[..bytes_before_quote(buffered, *bytes_read, quote_search)];
            if let Some(text) = plain_block(before_quote) {
                // A file with `\r\n` line ends has a `\r` in every line: only then is each
                // line looked at.
                let has_cr = memchr::memchr(b'\r', text.as_bytes()).is_some();
                for end in memchr::memchr_iter(b'\n', text.as_bytes()) {
                    if end - *lent > *max_line_bytes {
                        break;
                    }
                    let line = text.get(*lent..end).unwrap_or_default();
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    let plain = !has_cr || memchr::memchr(b'\r', line.as_bytes()).is_none();
                    *bytes_read += (end + 1 - *lent) as u64;
                    *lines_read += 1;
                    *lent = end + 1;
                    each(Record {
                        bytes: line.as_bytes(),
                        line: *lines_read,
                        quoted: false,
                        plain: plain.then_some(line),
                    })?;
                }
                if *lent > 0 {
                    continue;
                }
            }
            match self.next_record()? {
                Some(record) => each(record)?,
                None => return Ok(()),
            }
        }
    }
}

/// How many bytes of `buffered`, which starts `at` bytes into the input, come before its
/// first quote, searching only the bytes `search` (the last search's end, and whether it
/// was a quote) does not cover. Each byte is searched once: a search over the whole buffer
/// per line that is not text (a Latin-1 file) read such a file 2.2 times slower than line
/// by line.
fn bytes_before_quote(buffered: &[u8], at: u64, search: &mut (u64, bool)) -> usize {
    let (end, found) = *search;
    let known = usize::try_from(end.saturating_sub(at)).unwrap_or(usize::MAX).min(buffered.len());
    if found && end >= at && known < buffered.len() {
        return known;
    }
    let quote = buffered.get(known..).and_then(|rest| memchr::memchr(b'"', rest));
    *search = match quote {
        Some(i) => (at + (known + i) as u64, true),
        None => (at + buffered.len() as u64, false),
    };
    quote.map_or(buffered.len(), |i| known + i)
}

/// The whole lines of `before_quote` (bytes with no quote), as text, up to the first byte
/// that is not UTF-8; `None` when there is not one such line.
fn plain_block(before_quote: &[u8]) -> Option<&str> {
    let lines = &before_quote[..memchr::memrchr(b'\n', before_quote)? + 1];
    match simdutf8::compat::from_utf8(lines) {
        Ok(text) => Some(text),
        Err(e) => {
            let valid = &lines[..memchr::memrchr(b'\n', &lines[..e.valid_up_to()])? + 1];
            simdutf8::basic::from_utf8(valid).ok()
        }
    }
}

fn fill<R: Read>(reader: &mut BufReader<R>) -> Result<&[u8], LineError> {
    loop {
        match reader.fill_buf() {
            Ok(_) => return Ok(reader.buffer()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LineError::Io(e)),
        }
    }
}

/// `line` without its `\n` or `\r\n`.
pub fn strip_terminator(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Splits one CSV record into fields, reusing its buffers between records.
pub struct FieldSplitter {
    /// Field boundaries as `start..end` into either the record or `unquoted`.
    ranges: Vec<(usize, usize)>,
    unquoted: Vec<u8>,
    ends: Vec<usize>,
    quoted: bool,
    /// Whether the unquoted record last split holds a `\r` (found in the same pass as its
    /// commas, so that a writer copying it as it is needs no second scan).
    cr: bool,
    core: csv_core::Reader,
}

impl Default for FieldSplitter {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            unquoted: Vec::new(),
            ends: Vec::new(),
            quoted: false,
            cr: false,
            // Not `Reader::default()`: that one has no compiled DFA and reads nothing.
            core: csv_core::Reader::new(),
        }
    }
}

impl FieldSplitter {
    /// Splits `record` (no terminator). Unquoted records, nearly all of them, are
    /// split in place; quoted ones go through `csv_core` for RFC 4180 unescaping.
    pub fn split(&mut self, record: &[u8]) {
        self.split_known(record, memchr::memchr(b'"', record).is_some());
    }

    /// [`Self::split`] when the caller already knows whether `record` holds a quote.
    pub fn split_known(&mut self, record: &[u8], quoted: bool) {
        self.ranges.clear();
        self.quoted = quoted;
        if !self.quoted {
            // Eight bytes at a time (SWAR), each comma found from a bit mask: fields are
            // short, so memchr would restart its search every few bytes, and a byte loop
            // takes a branch per byte.
            let mut start = 0;
            let mut cr = 0;
            let mut chunks = record.chunks_exact(8);
            for (k, chunk) in chunks.by_ref().enumerate() {
                let Ok(bytes) = <[u8; 8]>::try_from(chunk) else { continue };
                let word = u64::from_le_bytes(bytes);
                cr |= byte_mask(word, b'\r');
                let mut commas = byte_mask(word, b',');
                while commas != 0 {
                    let i = 8 * k + (commas.trailing_zeros() / 8) as usize;
                    self.ranges.push((start, i));
                    start = i + 1;
                    commas &= commas - 1;
                }
            }
            let tail = record.len() - chunks.remainder().len();
            for (i, b) in chunks.remainder().iter().enumerate() {
                if *b == b',' {
                    self.ranges.push((start, tail + i));
                    start = tail + i + 1;
                }
                cr |= u64::from(*b == b'\r');
            }
            self.ranges.push((start, record.len()));
            self.cr = cr != 0;
            return;
        }
        self.cr = memchr::memchr(b'\r', record).is_some();
        self.core.reset();
        self.unquoted.clear();
        self.unquoted.resize(record.len() + 1, 0);
        let max_fields = memchr::memchr_iter(b',', record).count() + 1;
        self.ends.clear();
        self.ends.resize(max_fields + 1, 0);
        let (mut input, mut out, mut nends) = (record, 0, 0);
        loop {
            let (result, nin, nout, nend) =
                self.core.read_record(input, &mut self.unquoted[out..], &mut self.ends[nends..]);
            // After the whole record comes an empty input: csv_core's end of data.
            input = &input[nin..];
            out += nout;
            nends += nend;
            match result {
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
                // Unescaping never lengthens a record and a record has at most
                // commas + 1 fields, so both buffers are already large enough.
                csv_core::ReadRecordResult::OutputFull | csv_core::ReadRecordResult::OutputEndsFull => break,
            }
        }
        let mut start = 0;
        for &end in &self.ends[..nends] {
            self.ranges.push((start, end));
            start = end;
        }
        if self.ranges.is_empty() {
            self.ranges.push((0, 0));
        }
    }

    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the record last split holds a `\r` (inside a field: the terminator is not
    /// part of a record).
    pub fn has_cr(&self) -> bool {
        self.cr
    }

    /// The bytes the fields of the record last split live in, as text when they are
    /// UTF-8: one check for the whole record instead of one per field. Fields are then
    /// [`Self::range`]s of it.
    pub fn text<'a>(&'a self, record: &'a [u8]) -> Option<&'a str> {
        let bytes = if self.quoted {
            let used = self.ranges.last().map_or(0, |r| r.1);
            &self.unquoted[..used]
        } else {
            record
        };
        simdutf8::basic::from_utf8(bytes).ok()
    }

    /// Where field `i` lies in [`Self::text`] (`(0, 0)`, empty, beyond the last field).
    pub fn range(&self, i: usize) -> (usize, usize) {
        self.ranges.get(i).copied().unwrap_or_default()
    }

    /// Field `i` of the record last split (the same `record` must be passed); empty
    /// beyond the last field, so a caller's off-by-one is a wrong value, not a crash.
    pub fn field<'a>(&'a self, record: &'a [u8], i: usize) -> &'a [u8] {
        let (start, end) = self.range(i);
        let bytes = if self.quoted { &self.unquoted[..] } else { record };
        bytes.get(start..end).unwrap_or_default()
    }
}

/// Whether `record` ends inside an open quoted field, so the next line belongs to it.
pub fn inside_quotes(record: &[u8]) -> bool {
    memchr::memchr_iter(b'"', record).count() % 2 == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(record: &str) -> Vec<String> {
        let mut s = FieldSplitter::default();
        s.split(record.as_bytes());
        (0..s.len()).map(|i| String::from_utf8_lossy(s.field(record.as_bytes(), i)).into_owned()).collect()
    }

    #[test]
    fn splits_plain_and_quoted_records() {
        assert_eq!(fields("a,b,,c"), ["a", "b", "", "c"]);
        assert_eq!(fields(""), [""]);
        assert_eq!(fields("a,\"b,c\",d"), ["a", "b,c", "d"]);
        assert_eq!(fields("\"say \"\"hi\"\"\",x"), ["say \"hi\"", "x"]);
        assert_eq!(fields("\"multi\nline\",y"), ["multi\nline", "y"]);
        assert_eq!(fields("\"\",\"\""), ["", ""]);
    }

    fn records(data: &[u8], limit: usize) -> (Vec<(u64, String)>, Option<LineError>) {
        let mut reader = RecordReader::new(data, limit);
        let mut out = Vec::new();
        loop {
            match reader.next_record() {
                Ok(Some(r)) => out.push((r.line, String::from_utf8_lossy(r.bytes).into_owned())),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    #[test]
    fn reads_records_with_line_numbers() {
        let (recs, err) = records(b"ab\r\ncd\n\n\"q\nx\",y\nlast", 64);
        assert!(err.is_none());
        let expected = [(1, "ab"), (2, "cd"), (3, ""), (4, "\"q\nx\",y"), (6, "last")];
        assert_eq!(recs, expected.map(|(l, s)| (l, s.to_owned())));
    }

    /// What a reader handed out: each record (line, bytes, plain text), the error that
    /// ended them, and the lines and bytes it counted.
    #[derive(Debug, PartialEq)]
    struct Seen {
        records: Vec<(u64, Vec<u8>, Option<String>)>,
        error: Option<String>,
        counted: (u64, u64),
    }

    fn seen(record: &Record<'_>) -> (u64, Vec<u8>, Option<String>) {
        (record.line, record.bytes.to_vec(), record.plain.map(str::to_owned))
    }

    fn one_at_a_time(data: &[u8], limit: usize, capacity: usize) -> Seen {
        let mut reader = RecordReader::with_buffer(data, limit, capacity);
        let mut records = Vec::new();
        let error = loop {
            match reader.next_record() {
                Ok(Some(r)) => records.push(seen(&r)),
                Ok(None) => break None,
                Err(e) => break Some(format!("{e:?}")),
            }
        };
        Seen { records, error, counted: (reader.lines_read(), reader.bytes_read()) }
    }

    fn by_block(data: &[u8], limit: usize, capacity: usize) -> Seen {
        let mut reader = RecordReader::with_buffer(data, limit, capacity);
        let mut records = Vec::new();
        let result = reader.for_each_record(|r: Record<'_>| {
            records.push(seen(&r));
            Ok::<(), LineError>(())
        });
        let error = result.err().map(|e| format!("{e:?}"));
        Seen { records, error, counted: (reader.lines_read(), reader.bytes_read()) }
    }

    proptest::proptest! {
        #[test]
        fn records_read_a_block_at_a_time_are_those_read_one_at_a_time(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::string::bytes_regex("[a,]{0,12}").expect("a pattern"),
                proptest::strategy::Just(b"\n".to_vec()),
                proptest::strategy::Just(b"\r\n".to_vec()),
                proptest::strategy::Just(b"\r".to_vec()),
                proptest::strategy::Just(b"\"".to_vec()),
                proptest::strategy::Just("é".as_bytes().to_vec()),
                proptest::strategy::Just(vec![0xff]),
            ], 0..40),
            limit in 4..40usize,
            capacity in 8..64usize,
        ) {
            let data = parts.concat();
            let blocks = by_block(&data, limit, capacity);
            proptest::prop_assert_eq!(&blocks, &one_at_a_time(&data, limit, capacity));
            // Plain: text, no quote, no `\r` left once the line end is taken off.
            for (_, bytes, plain) in &blocks.records {
                let text = std::str::from_utf8(bytes).ok().filter(|t| !t.contains(['"', '\r']));
                proptest::prop_assert_eq!(plain.as_deref(), text);
            }
        }
    }

    #[test]
    fn a_block_of_lines_is_read_up_to_a_quote_a_byte_not_text_or_a_long_line() {
        let data = b"ab,c\r\nd\re\n\xffx\ngh\n\"q\nr\",s\nlonger line\nz";
        let blocks = by_block(data, 8, 1024);
        let plain: Vec<Option<&str>> = blocks.records.iter().map(|r| r.2.as_deref()).collect();
        assert_eq!(plain, [Some("ab,c"), None, None, Some("gh"), None]);
        let lines: Vec<u64> = blocks.records.iter().map(|r| r.0).collect();
        assert_eq!(lines, [1, 2, 3, 4, 5]);
        assert_eq!(blocks.records[4].1, b"\"q\nr\",s");
        assert_eq!(blocks.error.as_deref(), Some("TooLong { line: 7, limit: 8 }"));
    }

    #[test]
    fn refuses_long_lines_and_unclosed_quotes() {
        let (recs, err) = records(b"short\nmuch too long\n", 8);
        assert_eq!(recs.len(), 1);
        assert!(matches!(err, Some(LineError::TooLong { line: 2, limit: 8 })), "{err:?}");
        let (_, err) = records(b"a,\"open\nstill open\n", 64);
        assert!(matches!(err, Some(LineError::UnclosedQuote { line: 1 })), "{err:?}");
        let (recs, err) = records(b"12345678\n", 8);
        assert!(err.is_none() && recs.len() == 1);
    }

    #[test]
    fn commas_are_found_in_every_position_of_a_word() {
        for len in 0..20 {
            for comma in 0..len {
                let mut record = vec![b'x'; len];
                record[comma] = b',';
                let mut s = FieldSplitter::default();
                s.split(&record);
                assert_eq!((s.len(), s.range(0), s.range(1)), (2, (0, comma), (comma + 1, len)), "{len} {comma}");
                assert!(!s.has_cr());
                record[comma] = b'\r';
                s.split(&record);
                assert!(s.has_cr(), "{len} {comma}");
            }
        }
        assert_eq!(fields(",,,,,,,,,"), vec![""; 10]);
        assert_eq!(fields("\u{2c}é,\u{ac}\u{12c}x,y"), ["", "é", "\u{ac}\u{12c}x", "y"]);
    }

    proptest::proptest! {
        #[test]
        fn an_unquoted_record_splits_at_every_comma(record in "[a,\r\u{e9}]{0,40}") {
            let bytes = record.as_bytes();
            let mut s = FieldSplitter::default();
            // A longer record first, so that what it left in the buffers is not read again.
            s.split(&[b','; 50]);
            s.split(bytes);
            let fields: Vec<&[u8]> = (0..s.len()).map(|i| s.field(bytes, i)).collect();
            let expected: Vec<&[u8]> = bytes.split(|b| *b == b',').collect();
            proptest::prop_assert_eq!(fields, expected);
            proptest::prop_assert_eq!(s.has_cr(), bytes.contains(&b'\r'));
        }
    }

    #[test]
    fn quote_parity() {
        assert!(inside_quotes(b"a,\"b"));
        assert!(!inside_quotes(b"a,\"b\"\"c\""));
    }
}
