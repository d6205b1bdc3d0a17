//! RecordIO framing of the Mesos event stream (`<decimal length>\n<record bytes>`): the encoder
//! and an incremental, bounded decoder that is indifferent to how the bytes were chunked.

use bytes::{Buf, Bytes, BytesMut};

/// The longest length line we accept: `u64::MAX` has 20 decimal digits.
const MAX_LENGTH_DIGITS: usize = 20;

/// A record size limit for callers without a better idea: generous for an OFFERS event from a
/// large cluster, small enough that a garbage length cannot exhaust memory.
pub const DEFAULT_MAX_RECORD: usize = 64 * 1024 * 1024;

/// Why a stream cannot be decoded. The stream is unusable after any of these: the decoder keeps
/// returning the same error, and the caller should drop the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordIoError {
    #[error("recordio: empty record length line")]
    EmptyLength,
    #[error("recordio: record length line has a non-digit byte 0x{0:02x}")]
    NotADigit(u8),
    #[error("recordio: record length line is longer than {MAX_LENGTH_DIGITS} digits")]
    LengthLineTooLong,
    #[error("recordio: record length does not fit in 64 bits")]
    LengthOverflow,
    #[error("recordio: zero-length record")]
    ZeroLength,
    #[error("recordio: record of {len} bytes exceeds the limit of {max} bytes")]
    Oversized { len: u64, max: usize },
    #[error("recordio: stream ended inside a record ({buffered} bytes buffered)")]
    Truncated { buffered: usize },
}

/// Appends one framed record to `out`.
pub fn encode(record: &[u8], out: &mut BytesMut) {
    out.reserve(MAX_LENGTH_DIGITS + 1 + record.len());
    out.extend_from_slice(record.len().to_string().as_bytes());
    out.extend_from_slice(b"\n");
    out.extend_from_slice(record);
}

/// One framed record, as Mesos writes it into one HTTP chunk.
pub fn encode_to_bytes(record: &[u8]) -> Bytes {
    let mut out = BytesMut::new();
    encode(record, &mut out);
    out.freeze()
}

/// Decodes RecordIO from chunks pushed as they arrive. Memory is bounded by the record limit
/// plus the largest chunk pushed: a record's length is checked before its bytes are buffered.
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    max_record: usize,
    /// The length of the record whose bytes we are waiting for, once its line has been read.
    pending: Option<usize>,
    failed: Option<RecordIoError>,
}

impl Decoder {
    pub fn new(max_record: usize) -> Decoder {
        Decoder {
            buf: BytesMut::new(),
            max_record,
            pending: None,
            failed: None,
        }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        if self.failed.is_none() {
            self.buf.extend_from_slice(chunk);
        }
    }

    /// The next complete record, `Ok(None)` when more bytes are needed.
    pub fn next_record(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match self.step() {
            Ok(record) => Ok(record),
            Err(e) => {
                self.buf = BytesMut::new();
                self.pending = None;
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// Called at end of stream: an error if it ended in the middle of a record.
    pub fn finish(&self) -> Result<(), RecordIoError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.buf.is_empty() && self.pending.is_none() {
            Ok(())
        } else {
            Err(RecordIoError::Truncated {
                buffered: self.buf.len(),
            })
        }
    }

    fn step(&mut self) -> Result<Option<Bytes>, RecordIoError> {
        let len = match self.pending {
            Some(len) => len,
            None => match self.read_length()? {
                Some(len) => {
                    self.pending = Some(len);
                    len
                }
                None => return Ok(None),
            },
        };
        if self.buf.len() < len {
            return Ok(None);
        }
        self.pending = None;
        Ok(Some(self.buf.split_to(len).freeze()))
    }

    /// Reads and consumes a length line if a whole one is buffered; rejects garbage as soon as it
    /// is seen, without waiting for the newline.
    fn read_length(&mut self) -> Result<Option<usize>, RecordIoError> {
        let mut len: u64 = 0;
        for (i, &b) in self.buf.iter().enumerate() {
            if b == b'\n' {
                if i == 0 {
                    return Err(RecordIoError::EmptyLength);
                }
                if len == 0 {
                    return Err(RecordIoError::ZeroLength);
                }
                let len = usize::try_from(len)
                    .ok()
                    .filter(|&l| l <= self.max_record)
                    .ok_or(RecordIoError::Oversized {
                        len,
                        max: self.max_record,
                    })?;
                self.buf.advance(i + 1);
                return Ok(Some(len));
            }
            if i >= MAX_LENGTH_DIGITS {
                return Err(RecordIoError::LengthLineTooLong);
            }
            if !b.is_ascii_digit() {
                return Err(RecordIoError::NotADigit(b));
            }
            len = len
                .checked_mul(10)
                .and_then(|l| l.checked_add(u64::from(b - b'0')))
                .ok_or(RecordIoError::LengthOverflow)?;
        }
        Ok(None)
    }
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder::new(DEFAULT_MAX_RECORD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn decode_all(d: &mut Decoder) -> Result<Vec<Bytes>, RecordIoError> {
        let mut out = Vec::new();
        while let Some(r) = d.next_record()? {
            out.push(r);
        }
        Ok(out)
    }

    #[test]
    fn encodes_as_mesos_does() {
        assert_eq!(
            &encode_to_bytes(br#"{"type":"HEARTBEAT"}"#)[..],
            b"20\n{\"type\":\"HEARTBEAT\"}"
        );
        // Length is in bytes, not characters.
        assert_eq!(&encode_to_bytes("é".as_bytes())[..], "2\né".as_bytes());
    }

    #[test]
    fn decodes_chunkings() {
        const HB: &[u8] = br#"{"type":"HEARTBEAT"}"#;
        type Case = (
            &'static str,
            &'static [&'static [u8]],
            &'static [&'static [u8]],
        );
        let cases: &[Case] = &[
            (
                "one record, one chunk",
                &[b"20\n{\"type\":\"HEARTBEAT\"}"],
                &[HB],
            ),
            (
                "two records in one chunk",
                &[b"3\nabc2\nde"],
                &[b"abc", b"de"],
            ),
            ("record split", &[b"5\nab", b"c", b"de"], &[b"abcde"]),
            (
                "length line split",
                &[b"1", b"0", b"\n0123456789"],
                &[b"0123456789"],
            ),
            ("newline alone", &[b"2", b"\n", b"xy"], &[b"xy"]),
            (
                "record ends where the next length starts",
                &[b"1\na1", b"\nb"],
                &[b"a", b"b"],
            ),
            ("leading zeros", &[b"002\nxy"], &[b"xy"]),
            ("incomplete stays pending", &[b"4\nabc"], &[]),
        ];
        for (name, chunks, want) in cases {
            let mut d = Decoder::new(1024);
            let mut got = Vec::new();
            for c in *chunks {
                d.push(c);
                got.extend(decode_all(&mut d).unwrap_or_else(|e| panic!("{name}: {e}")));
            }
            let want: Vec<Bytes> = want.iter().map(|w| Bytes::copy_from_slice(w)).collect();
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn rejects_garbage() {
        let cases: &[(&str, &[u8], RecordIoError)] = &[
            ("empty length", b"\nabc", RecordIoError::EmptyLength),
            ("letter", b"1x\n", RecordIoError::NotADigit(b'x')),
            (
                "json without framing",
                b"{\"type\"",
                RecordIoError::NotADigit(b'{'),
            ),
            (
                "carriage return",
                b"3\r\nabc",
                RecordIoError::NotADigit(b'\r'),
            ),
            ("minus", b"-1\n", RecordIoError::NotADigit(b'-')),
            ("zero", b"0\n", RecordIoError::ZeroLength),
            (
                "overlong line, no newline yet",
                b"123456789012345678901",
                RecordIoError::LengthLineTooLong,
            ),
            (
                "overflow",
                b"99999999999999999999\n",
                RecordIoError::LengthOverflow,
            ),
            (
                "oversized",
                b"1025\n",
                RecordIoError::Oversized {
                    len: 1025,
                    max: 1024,
                },
            ),
            (
                "huge but fits u64",
                b"18446744073709551615\n",
                RecordIoError::Oversized {
                    len: u64::MAX,
                    max: 1024,
                },
            ),
            (
                "garbage after a good record",
                b"1\naX",
                RecordIoError::NotADigit(b'X'),
            ),
        ];
        for (name, input, want) in cases {
            let mut d = Decoder::new(1024);
            d.push(input);
            assert_eq!(decode_all(&mut d).as_ref(), Err(want), "{name}");
            // The decoder stays failed, and drops what it buffered.
            d.push(b"1\na");
            assert_eq!(d.next_record().as_ref(), Err(want), "{name} again");
            assert_eq!(d.finish().as_ref(), Err(want), "{name} finish");
        }
    }

    #[test]
    fn record_at_the_limit_is_accepted() {
        let mut d = Decoder::new(4);
        d.push(b"4\nabcd");
        assert_eq!(d.next_record(), Ok(Some(Bytes::from_static(b"abcd"))));
        assert_eq!(d.finish(), Ok(()));
    }

    #[test]
    fn finish_reports_truncation() {
        let mut d = Decoder::default();
        d.push(b"5\nab");
        assert_eq!(d.next_record(), Ok(None));
        assert_eq!(d.finish(), Err(RecordIoError::Truncated { buffered: 2 }));
        let mut d = Decoder::default();
        d.push(b"12");
        assert_eq!(d.next_record(), Ok(None));
        assert_eq!(d.finish(), Err(RecordIoError::Truncated { buffered: 2 }));
    }

    proptest! {
        #[test]
        fn any_chunking_decodes_the_same_records(
            records in prop::collection::vec(prop::collection::vec(any::<u8>(), 1..300), 0..20),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..30),
        ) {
            let mut stream = BytesMut::new();
            for r in &records {
                encode(r, &mut stream);
            }
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
            cuts.push(0);
            cuts.push(stream.len());
            cuts.sort_unstable();
            let mut d = Decoder::new(300);
            let mut got = Vec::new();
            for w in cuts.windows(2) {
                d.push(&stream[w[0]..w[1]]);
                got.extend(decode_all(&mut d).map_err(|e| TestCaseError::fail(e.to_string()))?);
            }
            prop_assert_eq!(d.finish(), Ok(()));
            let got: Vec<Vec<u8>> = got.iter().map(|b| b.to_vec()).collect();
            prop_assert_eq!(got, records);
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..8),
        ) {
            let mut d = Decoder::new(128);
            for c in &chunks {
                d.push(c);
                while let Ok(Some(r)) = d.next_record() {
                    prop_assert!(r.len() <= 128);
                }
            }
        }
    }
}
