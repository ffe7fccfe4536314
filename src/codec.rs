//! Small codecs for secrets: constant-time comparison, base64 and hex.

use std::hint::black_box;

/// Compares two secrets without stopping at the first difference; lengths are
/// checked first (a length is not a secret).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | black_box(x ^ y));
    black_box(diff) == 0
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648 section 4).
pub(crate) fn base64(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64, with or without padding; `None` if it is not base64.
#[cfg(feature = "signature")]
pub(crate) fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let data = input.trim_end_matches('=');
    let padding = input.len() - data.len();
    if padding > 2 || (padding > 0 && input.len() % 4 != 0) || data.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in data.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        acc = acc << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    // Leftover bits must be zero, so that each byte string has one encoding.
    (acc & ((1 << bits) - 1) == 0).then_some(out)
}

/// Decodes hex digits of either case into exactly `N` bytes.
#[cfg(feature = "signature")]
pub(crate) fn hex_decode<const N: usize>(input: &[u8]) -> Option<[u8; N]> {
    if input.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(input.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
        assert_eq!(base64(b"amuser:s3cret"), "YW11c2VyOnMzY3JldA==");
    }

    #[cfg(feature = "signature")]
    #[test]
    fn base64_decodes_rfc4648_vectors_and_refuses_the_rest() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(base64_decode(encoded).as_deref(), Some(plain.as_bytes()));
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(base64_decode(unpadded).as_deref(), Some(plain.as_bytes()));
        }
        for bad in [
            "Z", "Zg=", "Zh==", "Zm9v!", "Zm9vY===", "Zg==Zg==", "Zm-v", "Zm_v",
        ] {
            assert_eq!(base64_decode(bad), None, "{bad}");
        }
    }

    #[cfg(feature = "signature")]
    #[test]
    fn hex_decodes_exact_lengths() {
        assert_eq!(hex_decode::<2>(b"0aFf"), Some([0x0a, 0xff]));
        assert_eq!(hex_decode::<2>(b"0aF"), None);
        assert_eq!(hex_decode::<2>(b"0aFf0"), None);
        assert_eq!(hex_decode::<2>(b"0g00"), None);
        assert_eq!(hex_decode::<1>(b"+1"), None);
    }

    #[test]
    fn constant_time_eq_checks_length_and_every_byte() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
        assert!(constant_time_eq(b"", b""));
    }
}
