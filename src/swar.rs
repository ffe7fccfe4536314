//! Byte tests on eight bytes at once in a `u64` ("SIMD within a register"),
//! for the scans of the event writer, the log escaper and the parser.
//!
//! Each returns the high bit of every matching byte of `x`. The lowest set bit
//! is exact (borrows only run upwards from a match); higher ones may not be, so
//! read the mask as "is there a match, and where is the first".

/// `0x01` in every byte.
pub(crate) const ONES: u64 = u64::MAX / 255;

/// The bytes of `x` below `n`, for `n` up to 0x80.
pub(crate) fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & (ONES << 7)
}

/// The bytes of `x` equal to `c`.
pub(crate) fn equal(x: u64, c: u8) -> u64 {
    let y = x ^ (ONES * u64::from(c));
    y.wrapping_sub(ONES) & !y & (ONES << 7)
}

/// The index of the first byte that JSON must escape (`"`, `\\` or a control
/// character below 0x20), looking at 8 bytes at a time.
pub(crate) fn first_escape(bytes: &[u8]) -> Option<usize> {
    // 16 bytes at a time: one branch for two words.
    let mut pairs = bytes.chunks_exact(16);
    for (n, pair) in pairs.by_ref().enumerate() {
        let (Some(a), Some(b)) = (pair.first_chunk::<8>(), pair.last_chunk::<8>()) else {
            break;
        };
        let (a, b) = (escape_mask(*a), escape_mask(*b));
        if a | b != 0 {
            let i = if a != 0 {
                a.trailing_zeros()
            } else {
                64 + b.trailing_zeros()
            };
            return Some(16 * n + i as usize / 8);
        }
    }
    let rest = pairs.remainder();
    let at = bytes.len() - rest.len();
    if let Some(word) = rest.first_chunk::<8>() {
        if let Some(i) = word_escape(*word) {
            return Some(at + i);
        }
    }
    if rest.len() % 8 == 0 {
        return None;
    }
    // The tail: the last 8 bytes again if there are that many (those already
    // seen had no match, so the first match is in the tail), else one by one.
    match bytes.last_chunk::<8>() {
        Some(word) => word_escape(*word).map(|i| bytes.len() - 8 + i),
        None => rest
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\'),
    }
}

/// The index of the first byte of `word` that JSON must escape.
fn word_escape(word: [u8; 8]) -> Option<usize> {
    let hit = escape_mask(word);
    (hit != 0).then(|| hit.trailing_zeros() as usize / 8)
}

/// The high bit of each byte of `word` that JSON must escape; the lowest set
/// bit is exact, higher ones may not be.
fn escape_mask(word: [u8; 8]) -> u64 {
    let x = u64::from_le_bytes(word);
    // Flipping bit 1 maps `"` (0x22) to 0x20 and the controls onto themselves,
    // so one test below 0x21 finds both.
    below(x ^ (ONES * 0x02), 0x21) | equal(x, b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_escape_finds_every_byte_json_escapes_at_every_offset() {
        let naive = |b: &[u8]| b.iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\');
        for len in 1..40 {
            for at in 0..len {
                for c in 0..=255u8 {
                    for fill in [b'a', b' ', b'!', b'#', 0x80] {
                        let mut b = vec![fill; len];
                        b[at] = c;
                        assert_eq!(first_escape(&b), naive(&b), "{b:x?}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_first_match_is_exact_whatever_follows() {
        let naive = |b: &[u8; 8], hit: &dyn Fn(u8) -> bool| b.iter().position(|&c| hit(c));
        let first = |mask: u64| (mask != 0).then(|| mask.trailing_zeros() as usize / 8);
        for c in 0..=255u8 {
            for at in 0..8 {
                for fill in [0x00, b'a', 0x1f, 0x20, 0x7f, 0x80, 0xff] {
                    let mut b = [fill; 8];
                    b[at] = c;
                    let x = u64::from_le_bytes(b);
                    for n in [0x20, 0x80] {
                        assert_eq!(first(below(x, n)), naive(&b, &|v| v < n), "{b:x?} < {n:x}");
                    }
                    for e in [b'"', 0x7f, 0xc2, 0xff] {
                        assert_eq!(
                            first(equal(x, e)),
                            naive(&b, &|v| v == e),
                            "{b:x?} == {e:x}"
                        );
                    }
                }
            }
        }
    }
}
