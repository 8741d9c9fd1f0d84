//! Generic packets: a header and `datasize` bytes of payload, any modifier1.

use bytes::{BufMut, Bytes};

use crate::{
    DecodeError, EncodeError, Field, HEADER_LEN, Limits, Mode, Modifier1, OwnedVars, PacketHeader,
    Status, Vars,
};

/// A borrowed packet: header plus `datasize` bytes of payload. For request
/// modifiers the payload is a vars block (see [`Packet::vars`]); for others
/// it is whatever the modifier defines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<'a> {
    header: PacketHeader,
    payload: &'a [u8],
}

impl<'a> Packet<'a> {
    /// Parses one packet from the start of `buf`, returning it and the bytes
    /// it used. The payload length is checked against
    /// `limits.max_vars_len` as soon as the header is there, before waiting
    /// for the payload.
    ///
    /// ```
    /// use uwsgi_proto::{Limits, Modifier1, Packet, Status};
    /// let buf = [100, 0, 0, 0, 0xAA];
    /// let Status::Complete((p, used)) = Packet::parse(&buf, &Limits::default())? else { panic!() };
    /// assert_eq!((p.header().modifier1, p.payload(), used), (Modifier1::PING, &[][..], 4));
    /// # Ok::<(), uwsgi_proto::DecodeError>(())
    /// ```
    pub fn parse(buf: &'a [u8], limits: &Limits) -> Result<Status<(Self, usize)>, DecodeError> {
        let header = match PacketHeader::parse(buf) {
            Status::Complete(h) => h,
            Status::Incomplete { needed } => return Ok(Status::Incomplete { needed }),
        };
        let size = usize::from(header.datasize);
        if size > limits.max_vars_len {
            return Err(DecodeError::TooLarge {
                what: Field::Vars,
                size: size as u64,
                max: limits.max_vars_len as u64,
            });
        }
        let total = HEADER_LEN + size;
        match buf.get(HEADER_LEN..total) {
            Some(payload) => Ok(Status::Complete((Self { header, payload }, total))),
            None => Ok(Status::incomplete(total - buf.len())),
        }
    }

    /// A packet from its parts; fails if the payload exceeds 65 535 bytes.
    pub fn new(
        modifier1: Modifier1,
        modifier2: u8,
        payload: &'a [u8],
    ) -> Result<Self, EncodeError> {
        let datasize = u16::try_from(payload.len()).map_err(|_| EncodeError::TooLarge {
            what: Field::Payload,
            size: payload.len(),
            max: usize::from(u16::MAX),
        })?;
        Ok(Self {
            header: PacketHeader::new(modifier1, datasize, modifier2),
            payload,
        })
    }

    /// The header.
    pub const fn header(&self) -> PacketHeader {
        self.header
    }

    /// The payload (`datasize` bytes).
    pub const fn payload(&self) -> &'a [u8] {
        self.payload
    }

    /// The payload parsed strictly as a vars block (default limits).
    pub fn vars(&self) -> Result<Vars<'a>, DecodeError> {
        Vars::parse(self.payload, &Limits::default(), Mode::Strict)
    }

    /// Writes header and payload.
    pub fn encode(&self, dst: &mut impl BufMut) {
        self.header.encode(dst);
        dst.put_slice(self.payload);
    }

    /// `4 + datasize`.
    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

/// An owned packet, its payload held in [`Bytes`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OwnedPacket {
    header: PacketHeader,
    payload: Bytes,
}

impl OwnedPacket {
    /// A packet from its parts; fails if the payload exceeds 65 535 bytes.
    pub fn new(modifier1: Modifier1, modifier2: u8, payload: Bytes) -> Result<Self, EncodeError> {
        let header = Packet::new(modifier1, modifier2, &payload)?.header;
        Ok(Self { header, payload })
    }

    /// A packet whose header's datasize is already known to match `payload`.
    pub(crate) const fn from_parts(header: PacketHeader, payload: Bytes) -> Self {
        Self { header, payload }
    }

    /// The header.
    pub const fn header(&self) -> PacketHeader {
        self.header
    }

    /// The payload.
    pub const fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The borrowed view.
    pub fn as_packet(&self) -> Packet<'_> {
        Packet {
            header: self.header,
            payload: &self.payload,
        }
    }

    /// The payload parsed strictly as a vars block (default limits), owned.
    pub fn vars(&self) -> Result<OwnedVars, DecodeError> {
        OwnedVars::from_bytes(self.payload.clone(), &Limits::default(), Mode::Strict)
    }

    /// Writes header and payload.
    pub fn encode(&self, dst: &mut impl BufMut) {
        self.as_packet().encode(dst);
    }

    /// `4 + datasize`.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN + self.payload.len()
    }
}

impl From<Packet<'_>> for OwnedPacket {
    fn from(p: Packet<'_>) -> Self {
        Self {
            header: p.header,
            payload: Bytes::copy_from_slice(p.payload),
        }
    }
}
