//! Physical lines and CSV records, framed by hand rather than by the `csv` crate so
//! that every record keeps its exact raw bytes and 1-based line number (the `csv`
//! crate skips blank lines silently and does not say where a record started), and so
//! that no line can grow memory past a limit.

use std::io::{self, BufRead};

/// Reads `\n`-terminated lines (the terminator kept), refusing lines longer than a limit.
pub struct LineReader<R> {
    inner: R,
    max_line_bytes: usize,
    bytes_read: u64,
    lines_read: u64,
}

#[derive(Debug)]
pub enum LineError {
    /// Line number (1-based) and the limit.
    TooLong {
        line: u64,
        limit: usize,
    },
    Io(io::Error),
}

impl<R: BufRead> LineReader<R> {
    pub fn new(inner: R, max_line_bytes: usize) -> Self {
        Self { inner, max_line_bytes, bytes_read: 0, lines_read: 0 }
    }

    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    pub fn lines_read(&self) -> u64 {
        self.lines_read
    }

    /// Appends the next line to `buf`; `Ok(false)` at the end of input.
    pub fn append_line(&mut self, buf: &mut Vec<u8>) -> Result<bool, LineError> {
        let start = buf.len();
        loop {
            let available = match self.inner.fill_buf() {
                Ok(bytes) => bytes,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(LineError::Io(e)),
            };
            if available.is_empty() {
                if buf.len() > start {
                    self.lines_read += 1;
                    return Ok(true);
                }
                return Ok(false);
            }
            let (taken, done) = match memchr::memchr(b'\n', available) {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            buf.extend_from_slice(&available[..taken]);
            self.inner.consume(taken);
            self.bytes_read += taken as u64;
            if buf.len() - start > self.max_line_bytes {
                return Err(LineError::TooLong { line: self.lines_read + 1, limit: self.max_line_bytes });
            }
            if done {
                self.lines_read += 1;
                return Ok(true);
            }
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
    core: csv_core::Reader,
}

impl Default for FieldSplitter {
    fn default() -> Self {
        Self {
            ranges: Vec::new(),
            unquoted: Vec::new(),
            ends: Vec::new(),
            quoted: false,
            // Not `Reader::default()`: that one has no compiled DFA and reads nothing.
            core: csv_core::Reader::new(),
        }
    }
}

impl FieldSplitter {
    /// Splits `record` (no terminator). Unquoted records, nearly all of them, are
    /// split in place; quoted ones go through `csv_core` for RFC 4180 unescaping.
    pub fn split(&mut self, record: &[u8]) {
        self.ranges.clear();
        self.quoted = memchr::memchr(b'"', record).is_some();
        if !self.quoted {
            let mut start = 0;
            for comma in memchr::memchr_iter(b',', record) {
                self.ranges.push((start, comma));
                start = comma + 1;
            }
            self.ranges.push((start, record.len()));
            return;
        }
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

    /// Field `i` of the record last split (the same `record` must be passed).
    pub fn field<'a>(&'a self, record: &'a [u8], i: usize) -> &'a [u8] {
        let (start, end) = self.ranges[i];
        if self.quoted { &self.unquoted[start..end] } else { &record[start..end] }
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

    #[test]
    fn reads_lines_with_limit() {
        let data = b"ab\r\ncd\n\nlast";
        let mut r = LineReader::new(&data[..], 10);
        let mut buf = Vec::new();
        let mut lines = Vec::new();
        while r.append_line(&mut buf).unwrap_or(false) {
            lines.push(String::from_utf8_lossy(strip_terminator(&buf)).into_owned());
            buf.clear();
        }
        assert_eq!(lines, ["ab", "cd", "", "last"]);
        assert_eq!(r.lines_read(), 4);
        let mut r = LineReader::new(&b"short\nmuch too long\n"[..], 8);
        assert!(r.append_line(&mut buf).is_ok());
        assert!(matches!(r.append_line(&mut buf), Err(LineError::TooLong { line: 2, limit: 8 })));
    }

    #[test]
    fn quote_parity() {
        assert!(inside_quotes(b"a,\"b"));
        assert!(!inside_quotes(b"a,\"b\"\"c\""));
    }
}
