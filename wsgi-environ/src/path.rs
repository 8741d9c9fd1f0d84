//! `PATH_INFO` / `SCRIPT_NAME` decoding and mount splitting.
//!
//! CGI path variables are percent-**decoded** bytes; `REQUEST_URI` stays raw.
//! [`decode_path`] decodes exactly once, then applies the dot-segment policy
//! (RFC 3875 §9.8: resolve `..` before splitting) and optionally merges `//`
//! (what nginx's `$uri` does). [`split_mount`] splits on a segment boundary
//! only.

/// What to do with an encoded slash (`%2F`) in the path.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EncodedSlash {
    /// Decode to `/` (nginx; loses the distinction, RFC 3875 §4.1.5).
    #[default]
    Decode,
    /// Keep `%2F` / `%2f` as the three bytes (uWSGI's no-decode-slashes).
    Preserve,
    /// Reject the request.
    Reject,
}

/// What to do with `.` and `..` segments (after decoding).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DotSegments {
    /// Resolve them; `..` above the root is an error (nginx).
    #[default]
    Resolve,
    /// Reject any `.` or `..` segment.
    Reject,
    /// Leave them in place.
    Pass,
}

/// Path decoding policy. `%00` is always rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPolicy {
    /// `%2F` handling.
    pub encoded_slash: EncodedSlash,
    /// `.` / `..` handling.
    pub dot_segments: DotSegments,
    /// Reject decoded control characters (0x01–0x1F, 0x7F); the `%0a` of
    /// CVE-2019-11043. Default `true`.
    pub reject_control: bool,
    /// Merge runs of `/` into one (nginx `merge_slashes on`). Default `true`.
    pub merge_slashes: bool,
}

impl Default for PathPolicy {
    fn default() -> Self {
        Self {
            encoded_slash: EncodedSlash::Decode,
            dot_segments: DotSegments::Resolve,
            reject_control: true,
            merge_slashes: true,
        }
    }
}

/// Why a path was rejected. Offsets are positions in the raw input.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// A NUL byte, raw or `%00`.
    #[error("NUL at offset {offset}")]
    Nul {
        /// Position in the raw path.
        offset: usize,
    },
    /// A control character, raw or encoded.
    #[error("control character at offset {offset}")]
    ControlChar {
        /// Position in the raw path.
        offset: usize,
    },
    /// `%2F` under [`EncodedSlash::Reject`].
    #[error("encoded slash at offset {offset}")]
    EncodedSlash {
        /// Position in the raw path.
        offset: usize,
    },
    /// `%` not followed by two hex digits.
    #[error("invalid percent escape at offset {offset}")]
    BadPercent {
        /// Position in the raw path.
        offset: usize,
    },
    /// A `.` or `..` segment under [`DotSegments::Reject`].
    #[error("dot segment in path")]
    DotSegment,
    /// `..` above the root.
    #[error("path escapes the root")]
    EscapesRoot,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Percent-decodes `raw` once and applies `policy`.
///
/// ```
/// use wsgi_environ::path::{decode_path, PathPolicy, PathError};
/// let p = PathPolicy::default();
/// assert_eq!(decode_path(b"/a%20b/./c/../d", &p).unwrap(), b"/a b/d");
/// assert_eq!(decode_path(b"/%2541", &p).unwrap(), b"/%41");
/// assert_eq!(decode_path(b"/x%00", &p), Err(PathError::Nul { offset: 2 }));
/// assert_eq!(decode_path(b"/..%2f..", &p), Err(PathError::EscapesRoot));
/// ```
pub fn decode_path(raw: &[u8], policy: &PathPolicy) -> Result<Vec<u8>, PathError> {
    if !raw.contains(&b'%') {
        // Nothing to decode: check the bytes and normalize straight from
        // the request.
        for (i, &b) in raw.iter().enumerate() {
            check_byte(b, i, policy)?;
        }
        return normalize(raw, policy);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'%' {
            let (Some(h), Some(l)) = (
                raw.get(i + 1).copied().and_then(hex),
                raw.get(i + 2).copied().and_then(hex),
            ) else {
                return Err(PathError::BadPercent { offset: i });
            };
            let d = (h << 4) | l;
            check_byte(d, i, policy)?;
            if d == b'/' {
                match policy.encoded_slash {
                    EncodedSlash::Decode => out.push(b'/'),
                    EncodedSlash::Preserve => {
                        out.extend_from_slice(raw.get(i..i + 3).unwrap_or(b"%2F"))
                    }
                    EncodedSlash::Reject => return Err(PathError::EncodedSlash { offset: i }),
                }
            } else {
                out.push(d);
            }
            i += 3;
        } else {
            check_byte(b, i, policy)?;
            out.push(b);
            i += 1;
        }
    }
    normalize(&out, policy)
}

fn check_byte(b: u8, offset: usize, policy: &PathPolicy) -> Result<(), PathError> {
    if b == 0 {
        return Err(PathError::Nul { offset });
    }
    if policy.reject_control && (b < 0x20 || b == 0x7f) {
        return Err(PathError::ControlChar { offset });
    }
    Ok(())
}

fn normalize(path: &[u8], policy: &PathPolicy) -> Result<Vec<u8>, PathError> {
    if path.first() != Some(&b'/') {
        return Ok(path.to_vec());
    }
    // `out` is `/` + segment for each segment kept so far (segments hold no
    // `/`), so dropping the last one is cutting at the last `/`.
    let mut out = Vec::with_capacity(path.len() + 1);
    let mut kept = 0usize;
    let mut trailing = false;
    for seg in path.split(|&b| b == b'/').skip(1) {
        trailing = false;
        match (seg, policy.dot_segments) {
            (b"." | b"..", DotSegments::Reject) => return Err(PathError::DotSegment),
            (b".", DotSegments::Resolve) => trailing = true,
            (b"..", DotSegments::Resolve) => {
                if kept == 0 {
                    return Err(PathError::EscapesRoot);
                }
                kept -= 1;
                let cut = out.iter().rposition(|&b| b == b'/').unwrap_or_default();
                out.truncate(cut);
                trailing = true;
            }
            (b"", _) if policy.merge_slashes => trailing = true,
            _ => {
                out.push(b'/');
                out.extend_from_slice(seg);
                kept += 1;
            }
        }
    }
    if trailing || kept == 0 {
        out.push(b'/');
    }
    Ok(out)
}

/// Splits a decoded `path` under `mount` on a segment boundary, giving
/// `(SCRIPT_NAME, PATH_INFO)`. A trailing `/` on the mount is ignored; the
/// root mount (`""` or `"/"`) gives `SCRIPT_NAME = ""`.
///
/// ```
/// use wsgi_environ::path::split_mount;
/// assert_eq!(split_mount(b"/api", b"/api"), Some((&b"/api"[..], &b""[..])));
/// assert_eq!(split_mount(b"/api/", b"/api"), Some((&b"/api"[..], &b"/"[..])));
/// assert_eq!(split_mount(b"/apifoo", b"/api"), None);
/// assert_eq!(split_mount(b"/x", b"/"), Some((&b""[..], &b"/x"[..])));
/// ```
pub fn split_mount<'a>(path: &'a [u8], mount: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    let m = mount.strip_suffix(b"/").unwrap_or(mount);
    let rest = path.strip_prefix(m)?;
    if rest.is_empty() || rest.first() == Some(&b'/') {
        Some((path.get(..m.len())?, rest))
    } else {
        None
    }
}

/// Percent-encodes a decoded path for a URI: keeps unreserved, sub-delims,
/// `:`, `@` and `/`; encodes `%`, `?`, `#`, space, controls and non-ASCII.
pub fn encode_path(path: &[u8]) -> String {
    const KEEP: &[u8] = b"-._~!$&'()*+,;=:@/";
    let mut s = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || KEEP.contains(&b) {
            s.push(char::from(b));
        } else {
            s.push('%');
            s.push(char::from(b"0123456789ABCDEF"[usize::from(b >> 4)]));
            s.push(char::from(b"0123456789ABCDEF"[usize::from(b & 15)]));
        }
    }
    s
}

/// Splits a decoded `path` after the first segment ending in `suffix`
/// (ASCII case-insensitive, e.g. `.php`), giving `(SCRIPT_NAME, PATH_INFO)`.
/// The suffix must end a segment: `/a.php.jpg` does not match. Works on
/// bytes, so non-ASCII paths keep their offsets. Runs on an already
/// dot-resolved path (RFC 3875 §9.8).
///
/// ```
/// use wsgi_environ::path::split_suffix;
/// assert_eq!(split_suffix(b"/a.php/b/c.php", b".php"), Some((&b"/a.php"[..], &b"/b/c.php"[..])));
/// assert_eq!(split_suffix(b"/A.PHP", b".php"), Some((&b"/A.PHP"[..], &b""[..])));
/// assert_eq!(split_suffix(b"/a.php.jpg", b".php"), None);
/// ```
pub fn split_suffix<'a>(path: &'a [u8], suffix: &[u8]) -> Option<(&'a [u8], &'a [u8])> {
    if suffix.is_empty() {
        return None;
    }
    let mut end = 0;
    for seg in path.split(|&b| b == b'/') {
        end += seg.len();
        if seg.len() > suffix.len()
            && seg
                .get(seg.len() - suffix.len()..)
                .is_some_and(|t| t.eq_ignore_ascii_case(suffix))
        {
            return Some((path.get(..end)?, path.get(end..)?));
        }
        end += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Dot resolution and slash merging as a list of segments: the meaning
    /// `normalize` implements in one buffer.
    fn model(path: &[u8], policy: &PathPolicy) -> Result<Vec<u8>, PathError> {
        if path.first() != Some(&b'/') {
            return Ok(path.to_vec());
        }
        let mut segs: Vec<&[u8]> = Vec::new();
        let mut trailing = false;
        for seg in path.split(|&b| b == b'/').skip(1) {
            trailing = false;
            match (seg, policy.dot_segments) {
                (b"." | b"..", DotSegments::Reject) => return Err(PathError::DotSegment),
                (b".", DotSegments::Resolve) => trailing = true,
                (b"..", DotSegments::Resolve) => {
                    if segs.pop().is_none() {
                        return Err(PathError::EscapesRoot);
                    }
                    trailing = true;
                }
                (b"", _) if policy.merge_slashes => trailing = true,
                _ => segs.push(seg),
            }
        }
        let mut out = Vec::new();
        for s in &segs {
            out.push(b'/');
            out.extend_from_slice(s);
        }
        if trailing || segs.is_empty() {
            out.push(b'/');
        }
        Ok(out)
    }

    fn path() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(vec![&b"/"[..], b"a", b"bc", b".", b"..", b"%2F", b"%2e"]),
            0..10,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
            ..ProptestConfig::default()
        })]

        #[test]
        fn normalize_matches_the_segment_list(
            p in path(),
            dots in prop::sample::select(vec![DotSegments::Resolve, DotSegments::Reject, DotSegments::Pass]),
            merge_slashes: bool,
        ) {
            let policy = PathPolicy { dot_segments: dots, merge_slashes, ..PathPolicy::default() };
            prop_assert_eq!(normalize(&p, &policy), model(&p, &policy));
        }
    }

    #[test]
    fn normalize_examples() {
        let p = PathPolicy::default();
        assert_eq!(normalize(b"/a/b/../../c/./", &p).unwrap(), b"/c/");
        assert_eq!(normalize(b"//a//b", &p).unwrap(), b"/a/b");
        assert_eq!(normalize(b"/a/..", &p).unwrap(), b"/");
        assert_eq!(normalize(b"/a/../..", &p), Err(PathError::EscapesRoot));
        let keep = PathPolicy {
            merge_slashes: false,
            ..p
        };
        assert_eq!(normalize(b"/a//..", &keep).unwrap(), b"/a/");
    }
}
