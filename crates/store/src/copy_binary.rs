//! PostgreSQL's binary `COPY … TO STDOUT` format, read row by row as its chunks arrive.
//!
//! A large read (the access index's schedules at a start) as `COPY` reaches the client as
//! bare field bytes: no row description per row, no per-column lookup, no text to check as
//! UTF-8 twice. The format (PostgreSQL's documentation, "COPY", "Binary Format"): an 11-byte
//! signature, a 32-bit flags word and a header extension of a length given in 32 bits; then
//! per row a 16-bit field count and, per field, a 32-bit length (-1 for NULL) and that many
//! bytes; then a field count of -1. Integers are big-endian. The server sends a row per
//! message today, but nothing here assumes so: a row split across chunks is put together.

use crate::{Result, StoreError};

const SIGNATURE: &[u8; 11] = b"PGCOPY\n\xff\r\n\0";

/// Where a `COPY` stream is: reading its header, its rows, or past its trailer.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Stage {
    #[default]
    Header,
    Rows,
    Ended,
}

/// Reads rows of exactly `N` fields from a binary `COPY` stream fed in chunks.
pub(crate) struct BinaryCopy<const N: usize> {
    /// Bytes of a row (or the header) not complete in the chunks fed so far.
    pending: Vec<u8>,
    stage: Stage,
}

impl<const N: usize> Default for BinaryCopy<N> {
    fn default() -> Self {
        Self {
            pending: Vec::new(),
            stage: Stage::Header,
        }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("binary COPY stream: {what}"))
}

/// What one step of parsing found at the start of the bytes given.
enum Step<'a, const N: usize> {
    /// Not enough bytes yet.
    Short,
    /// The header, `usize` bytes long.
    Header(usize),
    /// A row of `usize` bytes, its fields (`None` for NULL).
    Row(usize, [Option<&'a [u8]>; N]),
    /// The trailer (two bytes).
    Trailer,
}

impl<const N: usize> BinaryCopy<N> {
    /// Feeds the next chunk, calling `each` with every row it completes, in order.
    pub(crate) fn feed(
        &mut self,
        chunk: &[u8],
        each: &mut impl FnMut([Option<&[u8]>; N]) -> Result<()>,
    ) -> Result<()> {
        if self.pending.is_empty() {
            let used = self.parse(chunk, each)?;
            self.pending.extend_from_slice(&chunk[used..]);
        } else {
            // A row began in an earlier chunk: parse from the joined bytes.
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(chunk);
            let used = self.parse(&joined, each)?;
            joined.drain(..used);
            self.pending = joined;
        }
        Ok(())
    }

    /// Checks that the stream ended where the format says it does.
    pub(crate) fn finish(self) -> Result<()> {
        match (self.stage, self.pending.is_empty()) {
            (Stage::Ended, true) => Ok(()),
            (Stage::Ended, false) => Err(corrupt("bytes after the trailer")),
            _ => Err(corrupt("the stream ended before its trailer")),
        }
    }

    /// Parses every complete part of `bytes`; returns how many bytes it used.
    fn parse(
        &mut self,
        bytes: &[u8],
        each: &mut impl FnMut([Option<&[u8]>; N]) -> Result<()>,
    ) -> Result<usize> {
        let mut at = 0;
        loop {
            let rest = &bytes[at..];
            if rest.is_empty() {
                return Ok(at);
            }
            match self.step(rest)? {
                Step::Short => return Ok(at),
                Step::Header(len) => {
                    self.stage = Stage::Rows;
                    at += len;
                }
                Step::Row(len, fields) => {
                    each(fields)?;
                    at += len;
                }
                Step::Trailer => {
                    self.stage = Stage::Ended;
                    at += 2;
                }
            }
        }
    }

    fn step<'a>(&self, rest: &'a [u8]) -> Result<Step<'a, N>> {
        match self.stage {
            Stage::Ended => Err(corrupt("bytes after the trailer")),
            Stage::Header => {
                let Some(fixed) = rest.get(..SIGNATURE.len() + 8) else {
                    return Ok(Step::Short);
                };
                if &fixed[..SIGNATURE.len()] != SIGNATURE {
                    return Err(corrupt("no signature"));
                }
                let flags = be_u32(&fixed[11..15]);
                // Bit 16: OIDs included, which a `COPY (SELECT …)` never asks for; the low
                // bits are critical flags this reader does not know.
                if flags & 0x0001_ffff != 0 {
                    return Err(corrupt("unknown header flags"));
                }
                let extension = be_u32(&fixed[15..19]) as usize;
                let len = fixed.len() + extension;
                Ok(if rest.len() < len {
                    Step::Short
                } else {
                    Step::Header(len)
                })
            }
            Stage::Rows => {
                let Some(count) = rest.get(..2) else {
                    return Ok(Step::Short);
                };
                let count = i16::from_be_bytes([count[0], count[1]]);
                if count == -1 {
                    return Ok(Step::Trailer);
                }
                if count as usize != N || count < 0 {
                    return Err(corrupt("a row with an unexpected number of fields"));
                }
                let mut fields = [None; N];
                let mut at = 2;
                for field in &mut fields {
                    let Some(len) = rest.get(at..at + 4) else {
                        return Ok(Step::Short);
                    };
                    let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
                    at += 4;
                    if len == -1 {
                        continue;
                    }
                    let len = usize::try_from(len).map_err(|_| corrupt("a negative length"))?;
                    let Some(value) = rest.get(at..at + len) else {
                        return Ok(Step::Short);
                    };
                    *field = Some(value);
                    at += len;
                }
                Ok(Step::Row(at, fields))
            }
        }
    }
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// A field's text (PostgreSQL sends `text` as its UTF-8 bytes).
pub(crate) fn text(field: Option<&[u8]>) -> Result<&str> {
    let bytes = field.ok_or_else(|| corrupt("NULL where text was expected"))?;
    std::str::from_utf8(bytes).map_err(|_| corrupt("text that is not UTF-8"))
}

/// A `bigint` field, or None for NULL.
pub(crate) fn int8(field: Option<&[u8]>) -> Result<Option<i64>> {
    field
        .map(|b| {
            <[u8; 8]>::try_from(b)
                .map(i64::from_be_bytes)
                .map_err(|_| corrupt("a bigint not of 8 bytes"))
        })
        .transpose()
}

/// A `boolean` field (one byte).
pub(crate) fn boolean(field: Option<&[u8]>) -> Result<bool> {
    match field {
        Some([0]) => Ok(false),
        Some([1]) => Ok(true),
        _ => Err(corrupt("a boolean not of one byte")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(extension: &[u8]) -> Vec<u8> {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&0u32.to_be_bytes());
        h.extend_from_slice(&(extension.len() as u32).to_be_bytes());
        h.extend_from_slice(extension);
        h
    }

    fn row(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut r = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => r.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    r.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    r.extend_from_slice(b);
                }
            }
        }
        r
    }

    fn stream() -> Vec<u8> {
        let mut s = header(b"ext");
        s.extend(row(&[Some(b"a"), None, Some(&7i64.to_be_bytes())]));
        s.extend(row(&[Some(b""), Some(b"\x01"), None]));
        s.extend((-1i16).to_be_bytes());
        s
    }

    type Owned = Vec<Option<Vec<u8>>>;

    fn read_in(chunks: &[&[u8]]) -> Result<Vec<Owned>> {
        let mut copy = BinaryCopy::<3>::default();
        let mut rows = Vec::new();
        for c in chunks {
            copy.feed(c, &mut |f| {
                rows.push(f.iter().map(|x| x.map(<[u8]>::to_vec)).collect());
                Ok(())
            })?;
        }
        copy.finish()?;
        Ok(rows)
    }

    #[test]
    fn rows_read_the_same_in_any_chunking() {
        let s = stream();
        let whole = read_in(&[&s]).expect("whole");
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0][0].as_deref(), Some(&b"a"[..]));
        assert_eq!(whole[0][1], None);
        assert_eq!(int8(whole[0][2].as_deref()).expect("int"), Some(7));
        assert_eq!(whole[1][0].as_deref(), Some(&b""[..]));
        assert!(boolean(whole[1][1].as_deref()).expect("bool"));
        for cut in 0..s.len() {
            let (a, b) = s.split_at(cut);
            assert_eq!(read_in(&[a, b]).expect("two chunks"), whole, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(read_in(&bytes).expect("byte by byte"), whole);
    }

    #[test]
    fn a_stream_cut_short_or_malformed_is_refused() {
        let s = stream();
        assert!(read_in(&[&s[..s.len() - 1]]).is_err(), "no trailer");
        let mut extra = s.clone();
        extra.push(0);
        assert!(read_in(&[&extra]).is_err(), "bytes after the trailer");
        let mut bad = s.clone();
        bad[0] = b'X';
        assert!(read_in(&[&bad]).is_err(), "no signature");
        let mut wrong = header(b"");
        wrong.extend(row(&[Some(b"a")]));
        assert!(read_in(&[&wrong]).is_err(), "a row of one field");
        let mut negative = header(b"");
        negative.extend(3i16.to_be_bytes());
        negative.extend((-2i32).to_be_bytes());
        assert!(read_in(&[&negative]).is_err(), "a length of -2");
    }

    #[test]
    fn fields_of_the_wrong_width_are_refused() {
        assert!(int8(Some(&[0; 4])).is_err());
        assert_eq!(int8(None).expect("null"), None);
        assert!(boolean(Some(&[2])).is_err());
        assert!(boolean(None).is_err());
        assert!(text(Some(&[0xff])).is_err());
        assert!(text(None).is_err());
    }
}
