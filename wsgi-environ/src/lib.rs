//! HTTP ⇄ CGI/WSGI environ mapping and CGI response heads, safe by default.
//!
//! The same key/value set travels in uwsgi vars blocks, FastCGI `PARAMS`, SCGI
//! headers and a real CGI environment. This crate works on ordered
//! `(name, value)` byte pairs, so a uwsgi vars view or a FastCGI params view
//! plugs in directly, and uses [`http`] types at its edges:
//!
//! - [`Environ`]: the ordered byte pairs with typed accessors for the CGI
//!   variables.
//! - [`build`]: an HTTP request head plus [`Connection`] facts → environ, with
//!   presets reproducing nginx's `fastcgi_params`, `fastcgi.conf`,
//!   `uwsgi_params` and `scgi_params` ([`Preset`]), a header-mapping
//!   [`HeaderPolicy`] and caller overrides that beat header-derived values.
//! - [`parse`]: environ → `http::Request<()>` head plus [`RequestFacts`].
//! - [`response`]: CGI response heads (`Status:` / `Location:`), parsed
//!   incrementally and encoded in the CGI and HTTP/1.x forms.
//!
//! # Bytes, not strings (PEP 3333)
//!
//! Values are arbitrary octets: header values may carry obs-text (0x80–0xFF).
//! PEP 3333 maps each byte to the code point of the same number (ISO-8859-1,
//! "bytes as native strings"); [`Environ::get_latin1`] gives that view, and
//! applications recover text by re-encoding to bytes and decoding with the
//! real charset. Nothing here requires UTF-8 and no input panics.
//!
//! # Security defaults
//!
//! | default | why |
//! |---|---|
//! | `Proxy` never becomes `HTTP_PROXY` | httpoxy: CVE-2016-5385, -5386, -5387, -5388, -1000110 |
//! | only `[A-Za-z0-9-]` header names are mapped, others dropped | `X-Auth_User` / `X.Auth.User` collapsing onto `HTTP_X_AUTH_USER`: CVE-2015-0219, CVE-2025-64484 |
//! | duplicates joined by exact name before mangling (`", "`, Cookie `"; "`) | RFC 3875 §4.1.18; no backend-dependent winner |
//! | hop-by-hop headers (and names listed in `Connection`) dropped | CVE-2022-31813 |
//! | `Content-Length` with `Transfer-Encoding`, or differing lengths, rejected | request smuggling, CVE-2024-1135 |
//! | `%00` and control characters in the decoded path rejected, `..` resolved before any split, escaping the root rejected | CVE-2019-11043, RFC 3875 §9.8 |
//! | mount prefixes match on a segment boundary only | `/apifoo` is not under `/api` |
//! | CR, LF and NUL never reach a name or value; obsolete line folding rejected | response splitting: CVE-2018-1000164, CVE-2020-7695, CVE-2024-38476 |
//! | a local redirect (`Location: /path`) is returned, never followed | Orange Tsai "Confusion Attacks", CVE-2024-38476 |
//! | `X-Forwarded-For` / `Forwarded` never change `REMOTE_ADDR` | REMOTE_ADDR is the immediate peer (RFC 3875 §8.2) |
//! | no argv is ever derived from `QUERY_STRING` | CVE-2012-1823, CVE-2024-4577 |
#![forbid(unsafe_code)]

pub mod build;
mod environ;
mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod parse;
pub mod path;
pub mod response;
mod status;

pub use build::{BuildOptions, Connection, HeaderPolicy, Preset, build_environ, client_params};
pub use environ::{Appender, Environ, EnvironFull, EnvironIter};
pub use error::{BuildError, ParseError, ResponseError};
pub use parse::{ParseOptions, RequestFacts, environ_to_request};
pub use response::{CgiResponse, ResponseHead, ResponseKind, ResponseLimits, parse_cgi_response};
pub use status::Status;

#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
