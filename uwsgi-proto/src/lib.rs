//! The binary **uwsgi** protocol, as nginx (`uwsgi_pass`), Apache
//! (`mod_proxy_uwsgi`), lighttpd and uWSGI speak it: packets, vars blocks,
//! request and response streams, and tokio-util codecs.
//!
//! This crate does no IO: parsers take byte slices and return
//! [`Status::Incomplete`] when they need more, encoders write into any
//! [`bytes::BufMut`]. The core is `no_std` + `alloc`; the `codec` feature adds
//! [`codec::ServerCodec`] and [`codec::ClientCodec`].
//!
//! # Wire format
//!
//! ```text
//! request packet (4-byte header, little-endian datasize)
//! +-----------+--------------------+-----------+------------------------------+
//! | modifier1 |  datasize (u16 LE) | modifier2 |  vars block (datasize bytes) |
//! +-----------+--------------------+-----------+------------------------------+
//! vars block: repeated [key_size u16 LE][key][val_size u16 LE][val]
//! then, not counted in datasize: the body, CONTENT_LENGTH bytes
//!
//! response: a raw HTTP/1.x response ("HTTP/1.1 200 OK\r\n" headers, blank
//! line, body), ended by closing the connection
//! ```
//!
//! Every size is 16 bits: encoders here reject anything over 65 535 bytes
//! with a typed error and never truncate (the bug behind CVE-2020-11984).
//! Decoders check every declared length against [`Limits`] before
//! buffering, and report malformed input with typed errors carrying offsets.
//!
//! # Example
//!
//! The worked example of a POST with a 5-byte body:
//!
//! ```
//! use uwsgi_proto::{encode_packet, Modifier1, RequestDecoder, RequestFrame, Status};
//!
//! let vars = [
//!     ("REQUEST_METHOD", "POST"),
//!     ("PATH_INFO", "/p"),
//!     ("CONTENT_LENGTH", "5"),
//!     ("SERVER_PROTOCOL", "HTTP/1.1"),
//! ];
//! let mut wire = Vec::new();
//! encode_packet(Modifier1::WSGI, 0, vars, &mut wire)?;
//! wire.extend_from_slice(b"hello");
//! assert_eq!(&wire[..4], [0x00, 0x53, 0x00, 0x00]); // datasize 83
//! assert_eq!(wire.len(), 92);
//!
//! let mut dec = RequestDecoder::new();
//! let Status::Complete((RequestFrame::Head(head), used)) = dec.decode(&wire)? else { unreachable!() };
//! assert_eq!(head.vars.get(b"PATH_INFO"), Some(&b"/p"[..]));
//! assert_eq!(head.content_length, 5);
//! let Status::Complete((RequestFrame::Body(body), _)) = dec.decode(&wire[used..])? else { unreachable!() };
//! assert_eq!(body, b"hello");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Modules
//!
//! * packets: [`PacketHeader`], [`Packet`], [`OwnedPacket`], [`Modifier1`];
//! * vars: [`Vars`] (borrowed, validated), [`OwnedVars`], [`VarsBuilder`],
//!   [`VarsReader`] (lazy), [`encode_packet`];
//! * requests: [`RequestDecoder`] (server side), [`RequestEncoder`] (client
//!   side), [`parse_content_length`];
//! * responses: [`ResponseHead`] (encode), [`ResponseDecoder`] (client side);
//! * [`special`]: ping/pong, signal, spooler, generic response, subscription;
//! * [`codec`]: tokio-util adapters (feature `codec`).
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::std_instead_of_core, clippy::alloc_instead_of_core)]
#![doc(test(attr(deny(warnings))))]

extern crate alloc;

mod error;
mod header;
mod limits;
mod modifier;
mod packet;
mod request;
mod response;
mod status;
mod vars;

#[cfg(feature = "codec")]
pub mod codec;
#[doc(hidden)]
pub mod fuzzing;
pub mod special;

pub use error::{DecodeError, EncodeError, Field, ResponseError};
pub use header::{HEADER_LEN, PacketHeader};
pub use limits::{DEFAULT_MAX_VARS, DEFAULT_MAX_VARS_LEN, Limits, Mode};
pub use modifier::Modifier1;
pub use packet::{OwnedPacket, Packet};
pub use request::{
    CONTENT_LENGTH, OwnedRequestHead, RequestDecoder, RequestEncoder, RequestFrame, RequestHead,
    Step, body_length, parse_content_length,
};
pub use response::{
    DEFAULT_MAX_HEAD_LEN, DEFAULT_MAX_HEADERS, HttpVersion, ResponseDecoder, ResponseFrame,
    ResponseHead,
};
pub use status::Status;
pub use vars::{
    DuplicateKey, Duplicates, Iter, MAX_FIELD_LEN, OwnedVars, PairResult, Vars, VarsBuilder,
    VarsReader, encode_packet, var_encoded_len, vars_encoded_len,
};

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
