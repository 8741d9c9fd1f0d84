//! The 4-byte packet header.

use bytes::BufMut;

use crate::{Modifier1, Status};

/// Size of the packet header in bytes.
pub const HEADER_LEN: usize = 4;

/// The packet header: `modifier1`, `datasize` (u16 little-endian), `modifier2`.
///
/// ```text
/// +-----------+--------------------+-----------+
/// | modifier1 |  datasize (u16 LE) | modifier2 |
/// +-----------+--------------------+-----------+
/// ```
///
/// `datasize` counts the payload (the vars block) only, never the request
/// body that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PacketHeader {
    /// Packet type.
    pub modifier1: Modifier1,
    /// Payload length.
    pub datasize: u16,
    /// Packet sub-type.
    pub modifier2: u8,
}

impl PacketHeader {
    /// A header with the given fields.
    pub const fn new(modifier1: Modifier1, datasize: u16, modifier2: u8) -> Self {
        Self {
            modifier1,
            datasize,
            modifier2,
        }
    }

    /// Parses a header from the start of `buf`.
    ///
    /// ```
    /// use uwsgi_proto::{Modifier1, PacketHeader, Status};
    /// let h = PacketHeader::parse(&[0, 0x53, 0, 0]);
    /// assert_eq!(h, Status::Complete(PacketHeader::new(Modifier1::WSGI, 0x53, 0)));
    /// assert!(PacketHeader::parse(&[0, 0x53]).is_incomplete());
    /// ```
    pub fn parse(buf: &[u8]) -> Status<Self> {
        match buf.first_chunk::<HEADER_LEN>() {
            Some(b) => Status::Complete(Self::from_bytes(*b)),
            None => Status::incomplete(HEADER_LEN - buf.len()),
        }
    }

    /// The header from its 4 wire bytes.
    pub const fn from_bytes(b: [u8; HEADER_LEN]) -> Self {
        Self {
            modifier1: Modifier1(b[0]),
            datasize: u16::from_le_bytes([b[1], b[2]]),
            modifier2: b[3],
        }
    }

    /// The 4 wire bytes.
    pub const fn to_bytes(self) -> [u8; HEADER_LEN] {
        let d = self.datasize.to_le_bytes();
        [self.modifier1.0, d[0], d[1], self.modifier2]
    }

    /// Writes the 4 wire bytes.
    pub fn encode(&self, dst: &mut impl BufMut) {
        dst.put_slice(&self.to_bytes());
    }

    /// Always [`HEADER_LEN`].
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN
    }
}
