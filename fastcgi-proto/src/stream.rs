//! Splitting STDIN / STDOUT / STDERR / DATA payloads into records.

use alloc::vec::Vec;

use bytes::{Buf, BufMut, Bytes};

use crate::record::{HEADER_LEN, MAX_CONTENT_LEN, padding_bytes, padding_for};
use crate::{Header, RecordType};

/// Writes stream records for one request id and stream type.
///
/// Every record's content + padding stays ≤ 65 535 bytes; padding is zero
/// bytes aligning each record to `align` (8 by default); empty payloads
/// produce no record; [`StreamWriter::finish`] writes the empty record that
/// ends the stream.
///
/// ```
/// use fastcgi_proto::{RecordType, StreamWriter};
/// let w = StreamWriter::new(RecordType::STDIN, 1);
/// let mut out = Vec::new();
/// w.write(&mut out, b"hello");
/// w.finish(&mut out);
/// assert_eq!(out, b"\x01\x05\x00\x01\x00\x05\x03\x00hello\0\0\0\x01\x05\x00\x01\x00\x00\x00\x00");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamWriter {
    /// The stream type.
    pub record_type: RecordType,
    /// The request id.
    pub request_id: u16,
    /// Alignment of records (0 or 1: no padding).
    pub align: u16,
}

impl StreamWriter {
    /// A writer padding to 8 bytes.
    pub const fn new(record_type: RecordType, request_id: u16) -> Self {
        Self {
            record_type,
            request_id,
            align: 8,
        }
    }

    /// The same writer with another alignment.
    pub const fn with_align(mut self, align: u16) -> Self {
        self.align = align;
        self
    }

    /// Largest content per record.
    pub const fn max_content(&self) -> usize {
        if self.align <= 1 {
            MAX_CONTENT_LEN
        } else {
            MAX_CONTENT_LEN - MAX_CONTENT_LEN % (self.align as usize)
        }
    }

    fn header(&self, len: usize) -> Header {
        Header {
            record_type: self.record_type,
            request_id: self.request_id,
            content_len: u16::try_from(len).unwrap_or(u16::MAX),
            padding_len: padding_for(len, self.align),
        }
    }

    /// Bytes [`StreamWriter::write`] produces for `len` payload bytes.
    pub const fn encoded_len(&self, len: usize) -> usize {
        let max = self.max_content();
        let full = len / max;
        let rest = len % max;
        let mut n = full * (HEADER_LEN + max + padding_for(max, self.align) as usize);
        if rest > 0 {
            n += HEADER_LEN + rest + padding_for(rest, self.align) as usize;
        }
        n
    }

    /// Writes `payload` as records, copying it into `dst`.
    pub fn write(&self, dst: &mut impl BufMut, payload: &[u8]) -> usize {
        let mut n = 0;
        for chunk in payload.chunks(self.max_content()) {
            let h = self.header(chunk.len());
            h.encode(dst);
            dst.put_slice(chunk);
            dst.put_slice(padding_bytes(h.padding_len));
            n += h.record_len();
        }
        n
    }

    /// Writes the empty record ending the stream.
    pub fn finish(&self, dst: &mut impl BufMut) -> usize {
        let h = Header::new(self.record_type, self.request_id, 0);
        h.encode(dst);
        HEADER_LEN
    }

    /// Zero-copy form: the records as `Bytes` pieces (header, payload
    /// slice, static padding) ready for vectored writes. The payload is
    /// sliced, never copied.
    ///
    /// ```
    /// use bytes::{Buf, Bytes};
    /// use fastcgi_proto::{RecordType, StreamWriter};
    /// let w = StreamWriter::new(RecordType::STDOUT, 1);
    /// let body = Bytes::from(vec![7u8; 70_000]);
    /// let mut chain = w.chunks(body.clone());
    /// assert_eq!(chain.remaining(), w.encoded_len(70_000));
    /// let pieces = w.pieces(body);
    /// assert_eq!(pieces.len(), 6); // two records: header, payload, padding each
    /// ```
    pub fn chunks(&self, payload: Bytes) -> RecordChain {
        RecordChain {
            pieces: self.pieces(payload).into(),
        }
    }

    /// The pieces of [`StreamWriter::chunks`] as a list.
    pub fn pieces(&self, mut payload: Bytes) -> Vec<Bytes> {
        let mut out = Vec::new();
        while !payload.is_empty() {
            let n = payload.len().min(self.max_content());
            let chunk = payload.split_to(n);
            let h = self.header(n);
            out.push(Bytes::copy_from_slice(&h.to_bytes()));
            out.push(chunk);
            out.push(Bytes::from_static(padding_bytes(h.padding_len)));
        }
        out
    }
}

/// A [`Buf`] over record pieces (header, payload, padding, …); supports
/// vectored IO through [`Buf::chunks_vectored`].
#[derive(Debug, Clone, Default)]
pub struct RecordChain {
    pieces: alloc::collections::VecDeque<Bytes>,
}

impl RecordChain {
    /// Appends a piece.
    pub fn push(&mut self, piece: Bytes) {
        if !piece.is_empty() {
            self.pieces.push_back(piece);
        }
    }
}

impl Buf for RecordChain {
    fn remaining(&self) -> usize {
        self.pieces.iter().map(Bytes::len).sum()
    }
    fn chunk(&self) -> &[u8] {
        self.pieces
            .iter()
            .find(|p| !p.is_empty())
            .map_or(&[], |p| p.as_ref())
    }
    fn advance(&mut self, mut cnt: usize) {
        while cnt > 0 {
            let Some(front) = self.pieces.front_mut() else {
                return;
            };
            let n = cnt.min(front.len());
            front.advance(n);
            cnt -= n;
            if front.is_empty() {
                self.pieces.pop_front();
            }
        }
        while self.pieces.front().is_some_and(Bytes::is_empty) {
            self.pieces.pop_front();
        }
    }
    #[cfg(feature = "std")]
    fn chunks_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        let mut n = 0;
        for (slot, p) in dst
            .iter_mut()
            .zip(self.pieces.iter().filter(|p| !p.is_empty()))
        {
            *slot = std::io::IoSlice::new(p);
            n += 1;
        }
        n
    }
}
