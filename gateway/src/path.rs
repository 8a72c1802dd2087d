//! Request-path normalisation, so that no spelling of a path can step outside the route it matches.
//!
//! Routing happens on the normalised path and the upstream receives the same normalised path, so
//! what the gateway matched is exactly what the upstream sees. The rules:
//!
//! - Percent-encoded unreserved characters (ALPHA, DIGIT, `-`, `.`, `_`, `~`) are decoded and other
//!   escapes get upper-case hex (RFC 3986 section 6.2.2.1 and 6.2.2.2). `%2e%2e` thus becomes `..`.
//! - Dot segments are removed (RFC 3986 section 5.2.4): `/service1/../admin` becomes `/admin`,
//!   which is then routed as `/admin`, never as `/service1`.
//! - Rejected: an encoded `/` or `\` (`%2f`, `%5c`): an upstream that decodes them would see
//!   segments the gateway did not route on; an encoded `%` followed by hex (`%252e`, double
//!   encoding) for the same reason one level down; a raw `\` (some servers treat it as `/`);
//!   encoded control bytes; malformed escapes; anything that is not an absolute path.

use std::borrow::Cow;

/// Why a path was refused. Every variant is answered with 400.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the request target must be an absolute path")]
    NotAbsolute,
    #[error("malformed percent-encoding in the path")]
    BadEscape,
    #[error("an encoded '/' or '\\' in the path is not accepted")]
    EncodedSeparator,
    #[error("double percent-encoding in the path is not accepted")]
    DoubleEncoding,
    #[error("a '\\' in the path is not accepted")]
    Backslash,
    #[error("an encoded control character in the path is not accepted")]
    ControlCharacter,
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Normalises `path` (without its query). Borrows when the path is already normal, which is the
/// common case and costs one scan.
pub fn normalize(path: &str) -> Result<Cow<'_, str>, PathError> {
    let bytes = path.as_bytes();
    if bytes.first() != Some(&b'/') {
        return Err(PathError::NotAbsolute);
    }
    let mut needs_work = false;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'%' => needs_work = true,
            b'\\' => return Err(PathError::Backslash),
            b'.' if bytes[i - 1] == b'/' => needs_work = true,
            _ => {}
        }
    }
    if !needs_work {
        return Ok(Cow::Borrowed(path));
    }

    let mut decoded = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'%' {
            decoded.push(b as char);
            i += 1;
            continue;
        }
        let (hi, lo) = match (
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (Some(h), Some(l)) => (h, l),
            _ => return Err(PathError::BadEscape),
        };
        let value = hi << 4 | lo;
        match value {
            b'/' | b'\\' => return Err(PathError::EncodedSeparator),
            b'%' => {
                let next_is_escape = matches!(
                    (
                        bytes.get(i + 3).copied().and_then(hex),
                        bytes.get(i + 4).copied().and_then(hex)
                    ),
                    (Some(_), Some(_))
                );
                if next_is_escape {
                    return Err(PathError::DoubleEncoding);
                }
                decoded.push_str("%25");
            }
            v if v < 0x20 || v == 0x7f => return Err(PathError::ControlCharacter),
            v if is_unreserved(v) => decoded.push(v as char),
            v => {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                decoded.push('%');
                decoded.push(HEX[(v >> 4) as usize] as char);
                decoded.push(HEX[(v & 15) as usize] as char);
            }
        }
        i += 3;
    }
    Ok(Cow::Owned(remove_dot_segments(&decoded)))
}

/// RFC 3986 section 5.2.4 for an absolute path: `.` segments vanish, `..` removes the segment
/// before it and never climbs above the root. A path ending in a dot segment keeps its trailing slash.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path[1..].split('/').collect();
    let last = segments.len() - 1;
    let mut trailing_slash = false;
    for (i, seg) in segments.iter().enumerate() {
        match *seg {
            "." => trailing_slash = i == last,
            ".." => {
                out.pop();
                trailing_slash = i == last;
            }
            s => {
                out.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut result = String::with_capacity(path.len());
    for seg in &out {
        result.push('/');
        result.push_str(seg);
    }
    if result.is_empty() || trailing_slash {
        result.push('/');
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(p: &str) -> Result<String, PathError> {
        normalize(p).map(Cow::into_owned)
    }

    #[test]
    fn plain_paths_are_borrowed() {
        assert!(matches!(
            normalize("/service1/items/7"),
            Ok(Cow::Borrowed(_))
        ));
        assert!(matches!(normalize("/a.b/c..d"), Ok(Cow::Borrowed(_))));
        assert_eq!(n("/").unwrap(), "/");
        assert_eq!(n("/a//b/").unwrap(), "/a//b/");
    }

    #[test]
    fn dot_segments_are_removed() {
        assert_eq!(n("/service1/../service2/x").unwrap(), "/service2/x");
        assert_eq!(n("/service1/./items").unwrap(), "/service1/items");
        assert_eq!(n("/../../etc/passwd").unwrap(), "/etc/passwd");
        assert_eq!(n("/a/b/..").unwrap(), "/a/");
        assert_eq!(n("/a/b/.").unwrap(), "/a/b/");
        assert_eq!(n("/..").unwrap(), "/");
        assert_eq!(n("/.").unwrap(), "/");
        assert_eq!(n("/a/.hidden").unwrap(), "/a/.hidden");
    }

    #[test]
    fn encoded_dots_are_decoded_then_removed() {
        assert_eq!(n("/service1/%2e%2e/admin").unwrap(), "/admin");
        assert_eq!(n("/service1/%2E%2e/%2e/x").unwrap(), "/x");
        assert_eq!(n("/service1/.%2e/x").unwrap(), "/x");
        assert_eq!(n("/%73ervice1/a").unwrap(), "/service1/a");
    }

    #[test]
    fn other_escapes_are_kept_upper_case() {
        assert_eq!(n("/a%20b").unwrap(), "/a%20b");
        assert_eq!(n("/a%2a").unwrap(), "/a%2A");
        assert_eq!(n("/a%c3%a9").unwrap(), "/a%C3%A9");
        assert_eq!(n("/a%25").unwrap(), "/a%25");
        assert_eq!(n("/a%25zz").unwrap(), "/a%25zz");
    }

    #[test]
    fn dangerous_spellings_are_refused() {
        assert_eq!(n("/service1/..%2fadmin"), Err(PathError::EncodedSeparator));
        assert_eq!(n("/service1/%2F"), Err(PathError::EncodedSeparator));
        assert_eq!(n("/service1/%5c..%5c"), Err(PathError::EncodedSeparator));
        assert_eq!(
            n("/service1/%252e%252e/admin"),
            Err(PathError::DoubleEncoding)
        );
        assert_eq!(n("/service1/%252f"), Err(PathError::DoubleEncoding));
        assert_eq!(n("/service1\\..\\admin"), Err(PathError::Backslash));
        assert_eq!(n("/a%00"), Err(PathError::ControlCharacter));
        assert_eq!(n("/a%0a"), Err(PathError::ControlCharacter));
        assert_eq!(n("/a%2"), Err(PathError::BadEscape));
        assert_eq!(n("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(n("*"), Err(PathError::NotAbsolute));
        assert_eq!(n("service1"), Err(PathError::NotAbsolute));
    }
}
