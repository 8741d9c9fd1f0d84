//! The **FastCGI 1.0** protocol for both sides: records, name-value pairs,
//! stream writers, sans-IO application and web-server connections, and
//! tokio-util codecs (feature `codec`).
//!
//! This crate does no IO. Parsers take byte slices and return
//! [`Status::Incomplete`] when they need more; encoders write into any
//! [`bytes::BufMut`]. The core is `no_std` + `alloc`.
//!
//! # Wire format
//!
//! ```text
//! record = header (8 bytes) + content (contentLength) + padding (paddingLength)
//! +---------+------+--------------+------------------+---------+----------+
//! | version | type | requestId    | contentLength    | padding | reserved |
//! |  0x01   |  u8  | u16 BE       | u16 BE (≤ 65535) |   u8    |    0     |
//! +---------+------+--------------+------------------+---------+----------+
//! name-value pair: nameLength valueLength name value
//!   length = 0xxxxxxx (0..=127) | 1xxxxxxx xxxxxxxx xxxxxxxx xxxxxxxx (≤ 2^31-1)
//! ```
//!
//! # Example: a responder request (spec appendix B, example 1)
//!
//! ```
//! use fastcgi_proto::{Record, RecordType, Status, Body, Role};
//! let wire: &[u8] = &[
//!     1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, // BEGIN_REQUEST id 1, RESPONDER
//!     1, 4, 0, 1, 0, 0, 0, 0, // empty PARAMS
//!     1, 5, 0, 1, 0, 0, 0, 0, // empty STDIN
//! ];
//! let mut pos = 0;
//! let mut types = Vec::new();
//! while let Status::Complete((rec, used)) = Record::parse(&wire[pos..], pos).unwrap() {
//!     if let Body::BeginRequest(b) = rec.body() {
//!         assert_eq!(b.role, Role::RESPONDER);
//!         assert!(!b.keep_conn());
//!     }
//!     types.push(rec.header.record_type);
//!     pos += used;
//! }
//! assert_eq!(types, [RecordType::BEGIN_REQUEST, RecordType::PARAMS, RecordType::STDIN]);
//! ```
#![doc = ""]
#![doc = "# Crate README"]
#![doc = ""]
#![doc = include_str!("../README.md")]
#![cfg_attr(not(any(test, feature = "std")), no_std)]
#![forbid(unsafe_code)]

extern crate alloc;

#[macro_use]
mod wire;
pub mod client;
#[cfg(feature = "codec")]
pub mod codec;
mod error;
mod params;
mod record;
pub mod server;
mod status;
mod stream;

#[doc(hidden)]
pub mod fuzzing;

pub use error::{DecodeError, EncodeError};
pub use params::{
    DEFAULT_MAX_PARAMS, DEFAULT_MAX_PARAMS_LEN, MAX_PAIR_LEN, Pairs, Params, ParamsBuilder,
    ParamsDecoder, ParamsLimits, ParsedPair, RecordLayout, encode_pair, encode_pairs,
    encoded_pairs_len, len_len, pair_len, parse_pair,
};
pub use record::{
    BeginRequest, Body, EndRequest, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS, HEADER_LEN,
    Header, KEEP_CONN, MAX_ALIGNED_CONTENT_LEN, MAX_CONTENT_LEN, NULL_REQUEST_ID, OwnedRecord,
    ProtocolStatus, Record, RecordType, Role, VERSION_1, encode_record, padding_bytes, padding_for,
};
pub use status::Status;
pub use stream::{RecordChain, StreamWriter};
