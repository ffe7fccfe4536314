//! Byte tests on eight bytes at once in a `u64` ("SIMD within a register"),
//! for the scans of the event writer and the log escaper.
//!
//! Each returns the high bit of every matching byte of `x`. The lowest set bit
//! is exact (borrows only run upwards from a match); higher ones may not be, so
//! read the mask as "is there a match, and where is the first".

/// `0x01` in every byte.
const ONES: u64 = u64::MAX / 255;

/// The bytes of `x` below `n`, for `n` up to 0x80.
pub(crate) fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & (ONES << 7)
}

/// The bytes of `x` equal to `c`.
pub(crate) fn equal(x: u64, c: u8) -> u64 {
    let y = x ^ (ONES * u64::from(c));
    y.wrapping_sub(ONES) & !y & (ONES << 7)
}

/// The first eight bytes of `b` (which has at least eight), first byte lowest.
pub(crate) fn word(b: &[u8]) -> u64 {
    let mut word = [0; 8];
    word.copy_from_slice(&b[..8]);
    u64::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

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
