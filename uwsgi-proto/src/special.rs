//! Typed helpers for the non-request packets: ping/pong (100), signal (110),
//! spooler (17), generic response (255) and subscription (224).

use alloc::vec::Vec;
use bytes::Bytes;

use crate::{
    DecodeError, EncodeError, Field, Limits, Mode, Modifier1, OwnedPacket, Packet, PacketHeader,
    Vars, VarsBuilder,
};

/// A ping: `64 00 00 00`. uWSGI answers with a [`pong`].
pub const PING: [u8; 4] = [Modifier1::PING.0, 0, 0, 0];

/// modifier2 of a ping.
pub const PING_MODIFIER2: u8 = 0;
/// modifier2 of a pong.
pub const PONG_MODIFIER2: u8 = 1;

/// A pong (modifier1 100, modifier2 1) carrying an optional message (uWSGI
/// sends its "warning message"; datasize is the message length).
pub fn pong(message: &[u8]) -> Result<OwnedPacket, EncodeError> {
    OwnedPacket::new(
        Modifier1::PING,
        PONG_MODIFIER2,
        Bytes::copy_from_slice(message),
    )
}

/// Whether `packet` is a ping.
pub fn is_ping(packet: &Packet<'_>) -> bool {
    let h = packet.header();
    h.modifier1 == Modifier1::PING && h.modifier2 == PING_MODIFIER2
}

/// The message of a pong, or `None` if `packet` is not a pong.
pub fn pong_message<'a>(packet: &Packet<'a>) -> Option<&'a [u8]> {
    let h = packet.header();
    (h.modifier1 == Modifier1::PING && h.modifier2 == PONG_MODIFIER2).then(|| packet.payload())
}

/// A uwsgi signal packet: modifier1 110, the signal number in modifier2, no
/// payload. uWSGI answers with a [`GenericResponse`].
pub const fn signal(number: u8) -> [u8; 4] {
    PacketHeader::new(Modifier1::SIGNAL, 0, number).to_bytes()
}

/// A generic response (modifier1 255): the result is in modifier2 (spooler
/// and signal replies: 1 = ok, 0 = failure); datasize is normally 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenericResponse {
    /// The modifier2 result byte.
    pub result: u8,
}

impl GenericResponse {
    /// Reads a generic response from a packet; `None` if it is another kind.
    pub fn from_packet(packet: &Packet<'_>) -> Option<Self> {
        (packet.header().modifier1 == Modifier1::RESPONSE).then(|| Self {
            result: packet.header().modifier2,
        })
    }

    /// Whether the result is 1 ("ok").
    pub const fn is_ok(self) -> bool {
        self.result == 1
    }

    /// The 4 wire bytes (`ff 00 00 <result>`).
    pub const fn to_bytes(self) -> [u8; 4] {
        PacketHeader::new(Modifier1::RESPONSE, 0, self.result).to_bytes()
    }
}

/// A spooler enqueue request (modifier1 17): the job is a dict of vars.
pub fn spooler_request<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    job: impl IntoIterator<Item = (K, V)>,
) -> Result<OwnedPacket, EncodeError> {
    let mut b = VarsBuilder::new();
    b.vars(job);
    b.packet(Modifier1::SPOOLER, 0)
}

/// What a subscription packet asks for (its modifier2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubscriptionAction {
    /// 0: add the node.
    Subscribe,
    /// 1: remove the node.
    Unsubscribe,
    /// Any other modifier2.
    Other(u8),
}

impl SubscriptionAction {
    /// From modifier2.
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Subscribe,
            1 => Self::Unsubscribe,
            n => Self::Other(n),
        }
    }

    /// To modifier2.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::Subscribe => 0,
            Self::Unsubscribe => 1,
            Self::Other(n) => n,
        }
    }
}

/// A subscription packet (modifier1 224), as uWSGI's subscription server
/// reads it: a dict whose keys are `key` (the domain or mountpoint to route),
/// `address` (the node, `host:port` or a socket path), and optionally
/// `modifier1`, `modifier2`, `cores`, `load`, `weight` (decimal ASCII
/// numbers), `sni_key`, `sni_crt`, `sni_ca`, `notify`, `unix` and `sign`.
/// The dict is parsed strictly (uWSGI's `uwsgi_hooked_parse` is strict);
/// unknown keys are kept and reachable through [`Subscription::vars`]; a
/// repeated key's last value wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// Subscribe or unsubscribe.
    pub action: SubscriptionAction,
    vars: Vars<'a>,
}

impl<'a> Subscription<'a> {
    /// Reads a subscription from a modifier1 224 packet.
    pub fn parse(packet: &Packet<'a>) -> Result<Option<Self>, DecodeError> {
        if packet.header().modifier1 != Modifier1::SUBSCRIPTION {
            return Ok(None);
        }
        let vars = Vars::parse(packet.payload(), &Limits::default(), Mode::Strict)?;
        Ok(Some(Self {
            action: SubscriptionAction::from_u8(packet.header().modifier2),
            vars,
        }))
    }

    /// All the dict's vars.
    pub const fn vars(&self) -> Vars<'a> {
        self.vars
    }

    /// The routing key (`key`).
    pub fn key(&self) -> Option<&'a [u8]> {
        self.vars.get(b"key")
    }

    /// The node address (`address`).
    pub fn address(&self) -> Option<&'a [u8]> {
        self.vars.get(b"address")
    }

    /// A decimal numeric field (`modifier1`, `modifier2`, `cores`, `load`,
    /// `weight`): `None` if absent, `Some(Err)` if not a number.
    pub fn number(&self, key: &str) -> Option<Result<u64, DecodeError>> {
        let v = self.vars.get(key.as_bytes())?;
        let base = self.vars.as_bytes().as_ptr() as usize;
        let offset = (v.as_ptr() as usize).saturating_sub(base) + crate::HEADER_LEN;
        Some(
            crate::parse_content_length(v, Mode::Strict)
                .filter(|_| !v.is_empty())
                .ok_or(DecodeError::InvalidContentLength { offset }),
        )
    }
}

/// Builds a subscription packet from its dict.
pub fn subscription_packet<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    action: SubscriptionAction,
    dict: impl IntoIterator<Item = (K, V)>,
) -> Result<OwnedPacket, EncodeError> {
    let mut b = VarsBuilder::new();
    b.vars(dict);
    b.packet(Modifier1::SUBSCRIPTION, action.to_u8())
}

/// Splits a "uwsgi array" payload (RPC, modifier1 173): a bare sequence of
/// `u16 LE` length + bytes items. Zero-length items are kept. Fails with
/// [`DecodeError::LengthOverrun`] when an item runs past the end.
pub fn parse_array(payload: &[u8]) -> Result<Vec<&[u8]>, DecodeError> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < payload.len() {
        let off = pos + crate::HEADER_LEN;
        let len = match payload.get(pos..pos + 2) {
            Some(b) => usize::from(u16::from_le_bytes([b[0], b[1]])),
            None => {
                return Err(DecodeError::TrailingBytes {
                    offset: off,
                    len: payload.len() - pos,
                });
            }
        };
        let item = payload
            .get(pos + 2..pos + 2 + len)
            .ok_or(DecodeError::LengthOverrun {
                what: Field::Payload,
                offset: off,
            })?;
        out.push(item);
        pos += 2 + len;
    }
    Ok(out)
}
