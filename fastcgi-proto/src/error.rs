//! Error types.

use crate::RecordType;

/// A malformed record, header or name-value stream.
///
/// Every variant carries the offset (from the start of the bytes handed to
/// the decoder) where the problem was found.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header's version byte is not 1.
    #[error("unsupported FastCGI version {version} at offset {offset}")]
    Version {
        /// The version byte found.
        version: u8,
        /// Offset of the header.
        offset: usize,
    },
    /// A fixed-size body (BEGIN_REQUEST, END_REQUEST, UNKNOWN_TYPE: 8 bytes;
    /// ABORT_REQUEST: 0 bytes) has another length.
    #[error("{record_type:?} body is {len} bytes, expected {expected}, at offset {offset}")]
    BodyLength {
        /// The record type.
        record_type: RecordType,
        /// The declared content length.
        len: u16,
        /// The length the spec requires.
        expected: u16,
        /// Offset of the header.
        offset: usize,
    },
    /// The input ended inside a record (at EOF).
    #[error("input ended inside a record: {have} of {need} bytes at offset {offset}")]
    Truncated {
        /// Bytes available for the record.
        have: usize,
        /// Bytes the record needs (header + content + padding).
        need: usize,
        /// Offset of the record.
        offset: usize,
    },
    /// A name-value pair declares a name or value longer than the configured
    /// limit or than the bytes that remain.
    #[error("name-value length {len} exceeds the limit {limit} at offset {offset}")]
    PairTooLong {
        /// The declared length.
        len: u32,
        /// The limit it exceeds.
        limit: u32,
        /// Offset of the length field.
        offset: usize,
    },
    /// A name-value block ended inside a pair.
    #[error("name-value pair truncated at offset {offset}")]
    PairTruncated {
        /// Offset of the incomplete pair.
        offset: usize,
    },
    /// More pairs than `max_params`.
    #[error("more than {limit} name-value pairs")]
    TooManyPairs {
        /// The configured pair count limit.
        limit: usize,
    },
    /// The name-value stream is longer than `max_params_len`.
    #[error("name-value stream exceeds {limit} bytes")]
    ParamsTooLong {
        /// The configured byte limit.
        limit: usize,
    },
}

/// A value that cannot be encoded.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A name or value is longer than 2³¹−1 bytes, the largest a 4-byte
    /// length can say.
    #[error("name-value length {len} exceeds 2^31-1")]
    PairTooLong {
        /// The length.
        len: usize,
    },
    /// A single pair does not fit one record and the encoder is set to
    /// keep pairs whole.
    #[error("a {len}-byte pair does not fit one {max}-byte record")]
    PairExceedsRecord {
        /// The encoded pair length.
        len: usize,
        /// The largest record content allowed.
        max: usize,
    },
    /// A record body longer than 65 535 bytes.
    #[error("record content of {len} bytes exceeds 65535")]
    ContentTooLong {
        /// The length.
        len: usize,
    },
    /// Application records cannot use request id 0.
    #[error("request id 0 is reserved for management records")]
    NullRequestId,
}
