//! base64url without padding (RFC 7515), the encoding of every part of a JWS, canonical only (no
//! stray bits, no padding, no whitespace). SIMD-accelerated: decoding a token's payload is on
//! the path of every token seen for the first time, and encoding on every renewal.

use base64_simd::{Out, URL_SAFE_NO_PAD as ENGINE};

/// Decode `text` into the start of `out`; `None` if it is not canonical base64url or does not
/// fit.
pub(crate) fn decode_into<'o>(text: &str, out: &'o mut [u8]) -> Option<&'o [u8]> {
    let len = ENGINE.decoded_length(text.as_bytes()).ok()?;
    let out = out.get_mut(..len)?;
    ENGINE.decode(text.as_bytes(), Out::from_slice(out)).ok().map(|bytes| &*bytes)
}

/// Decode `text`; `None` if it is not canonical base64url.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    ENGINE.decode_to_vec(text.as_bytes()).ok()
}

/// The encoding of `bytes`.
pub(crate) fn encode(bytes: &[u8]) -> String {
    ENGINE.encode_to_string(bytes)
}

/// Append the encoding of `bytes` to `out`.
pub(crate) fn encode_onto(bytes: &[u8], out: &mut String) {
    ENGINE.encode_append(bytes, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_what_is_not_canonical_base64url() {
        for bytes in [&b""[..], b"a", b"ab", b"abc", b"\xfb\xff\xbf", &[0u8; 100]] {
            let text = encode(bytes);
            assert_eq!(decode(&text).as_deref(), Some(bytes));
            let mut buffer = [0u8; 128];
            assert_eq!(decode_into(&text, &mut buffer), Some(bytes));
        }
        let mut onto = String::from("x.");
        encode_onto(b"\xfb\xff", &mut onto);
        assert_eq!(onto, "x.-_8");
        // Stray bits, padding, the standard alphabet, whitespace, an impossible length.
        for text in ["AB", "AA==", "+/8", "QUJD\n", " QUJD", "A"] {
            assert_eq!(decode(text), None, "{text:?}");
        }
        assert_eq!(decode_into("QUJD", &mut [0u8; 2]), None, "too small a buffer is refused");
    }
}
