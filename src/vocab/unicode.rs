//! Unicode helpers with upstream's semantics: UTF-8 decoding that turns each invalid byte into
//! U+FFFD, code point flags from upstream's own tables, lowercase mapping, first-code-point NFD,
//! and the GPT-2 byte <-> code point encoding.

use once_cell::sync::Lazy;

use super::unicode_data::{MAP_LOWERCASE, MAP_UPPERCASE, RANGES_FLAGS, RANGES_NFD, WHITESPACE};

/// Number of code points covered by the flag table.
pub const MAX_CODEPOINTS: u32 = 0x110000;

/// Flag bits, as upstream's `unicode_cpt_flags`.
pub mod flag {
    /// Unassigned code point.
    pub const UNDEFINED: u16 = 0x0001;
    /// `\p{N}`
    pub const NUMBER: u16 = 0x0002;
    /// `\p{L}`
    pub const LETTER: u16 = 0x0004;
    /// `\p{Z}`
    pub const SEPARATOR: u16 = 0x0008;
    /// `\p{M}`
    pub const ACCENT_MARK: u16 = 0x0010;
    /// `\p{P}`
    pub const PUNCTUATION: u16 = 0x0020;
    /// `\p{S}`
    pub const SYMBOL: u16 = 0x0040;
    /// `\p{C}`
    pub const CONTROL: u16 = 0x0080;
    /// The category bits.
    pub const MASK_CATEGORIES: u16 = 0x00FF;
    /// `\s`
    pub const WHITESPACE: u16 = 0x0100;
    /// Is the lowercase form of some code point.
    pub const LOWERCASE: u16 = 0x0200;
    /// Is the uppercase form of some code point.
    pub const UPPERCASE: u16 = 0x0400;
    /// Is the NFD target of some code point.
    pub const NFD: u16 = 0x0800;
}

/// The flags of one code point (a copy of upstream's bit field as a `u16`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags(pub u16);

impl Flags {
    /// Any bit set (upstream's `as_uint() != 0`).
    #[inline]
    pub fn any(self) -> bool {
        self.0 != 0
    }
    /// `\p{N}`
    #[inline]
    pub fn is_number(self) -> bool {
        self.0 & flag::NUMBER != 0
    }
    /// `\p{L}`
    #[inline]
    pub fn is_letter(self) -> bool {
        self.0 & flag::LETTER != 0
    }
    /// `\p{M}`
    #[inline]
    pub fn is_accent_mark(self) -> bool {
        self.0 & flag::ACCENT_MARK != 0
    }
    /// `\p{P}`
    #[inline]
    pub fn is_punctuation(self) -> bool {
        self.0 & flag::PUNCTUATION != 0
    }
    /// `\p{S}`
    #[inline]
    pub fn is_symbol(self) -> bool {
        self.0 & flag::SYMBOL != 0
    }
    /// `\p{C}`
    #[inline]
    pub fn is_control(self) -> bool {
        self.0 & flag::CONTROL != 0
    }
    /// `\s`
    #[inline]
    pub fn is_whitespace(self) -> bool {
        self.0 & flag::WHITESPACE != 0
    }
    /// The category bits only.
    #[inline]
    pub fn category(self) -> u16 {
        self.0 & flag::MASK_CATEGORIES
    }
}

static FLAGS: Lazy<Vec<u16>> = Lazy::new(|| {
    let mut v = vec![flag::UNDEFINED; MAX_CODEPOINTS as usize];
    for w in RANGES_FLAGS.windows(2) {
        let (lo, f) = w[0];
        let hi = (w[1].0).min(MAX_CODEPOINTS);
        for x in &mut v[lo as usize..hi as usize] {
            *x = f;
        }
    }
    for &c in WHITESPACE {
        if let Some(x) = v.get_mut(c as usize) {
            *x |= flag::WHITESPACE;
        }
    }
    for &(_, l) in MAP_LOWERCASE {
        if let Some(x) = v.get_mut(l as usize) {
            *x |= flag::LOWERCASE;
        }
    }
    for &(_, u) in MAP_UPPERCASE {
        if let Some(x) = v.get_mut(u as usize) {
            *x |= flag::UPPERCASE;
        }
    }
    for &(_, _, n) in RANGES_NFD {
        if let Some(x) = v.get_mut(n as usize) {
            *x |= flag::NFD;
        }
    }
    v
});

/// Flags of a code point; out-of-range code points are UNDEFINED.
#[inline]
pub fn cpt_flags(cpt: u32) -> Flags {
    Flags(FLAGS.get(cpt as usize).copied().unwrap_or(flag::UNDEFINED))
}

/// Length of a UTF-8 sequence from its lead byte (continuation bytes count as 1), as upstream.
#[inline]
pub fn len_utf8(b: u8) -> usize {
    const LOOKUP: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
    LOOKUP[(b >> 4) as usize]
}

/// Decode one code point at `*off`; `None` (offset unchanged) when the sequence is invalid in
/// upstream's sense (it checks lead/continuation bit patterns only, not overlongs or surrogates).
#[inline]
pub fn cpt_from_utf8(s: &[u8], off: &mut usize) -> Option<u32> {
    let i = *off;
    let b0 = *s.get(i)? as u32;
    let cont = |k: usize| -> Option<u32> {
        let b = *s.get(i + k)?;
        if b & 0xC0 == 0x80 {
            Some((b & 0x3F) as u32)
        } else {
            None
        }
    };
    if b0 & 0x80 == 0 {
        *off += 1;
        return Some(b0);
    }
    if b0 & 0x40 == 0 {
        return None;
    }
    if b0 & 0x20 == 0 {
        let c = ((b0 & 0x1F) << 6) | cont(1)?;
        *off += 2;
        return Some(c);
    }
    if b0 & 0x10 == 0 {
        let c = ((b0 & 0x0F) << 12) | (cont(1)? << 6) | cont(2)?;
        *off += 3;
        return Some(c);
    }
    if b0 & 0x08 == 0 {
        let c = ((b0 & 0x07) << 18) | (cont(1)? << 12) | (cont(2)? << 6) | cont(3)?;
        *off += 4;
        return Some(c);
    }
    None
}

/// Decode a whole byte string; every byte that does not start a valid sequence becomes U+FFFD.
pub fn cpts_from_utf8(s: &[u8]) -> Vec<u32> {
    let mut out = Vec::with_capacity(s.len());
    let mut off = 0;
    while off < s.len() {
        match cpt_from_utf8(s, &mut off) {
            Some(c) => out.push(c),
            None => {
                off += 1;
                out.push(0xFFFD);
            }
        }
    }
    out
}

/// Append the UTF-8 encoding of `cpt` (code points above U+10FFFF are dropped).
#[inline]
pub fn push_utf8(out: &mut Vec<u8>, cpt: u32) {
    if cpt <= 0x7F {
        out.push(cpt as u8);
    } else if cpt <= 0x7FF {
        out.push(0xC0 | ((cpt >> 6) & 0x1F) as u8);
        out.push(0x80 | (cpt & 0x3F) as u8);
    } else if cpt <= 0xFFFF {
        out.push(0xE0 | ((cpt >> 12) & 0x0F) as u8);
        out.push(0x80 | ((cpt >> 6) & 0x3F) as u8);
        out.push(0x80 | (cpt & 0x3F) as u8);
    } else if cpt <= 0x10FFFF {
        out.push(0xF0 | ((cpt >> 18) & 0x07) as u8);
        out.push(0x80 | ((cpt >> 12) & 0x3F) as u8);
        out.push(0x80 | ((cpt >> 6) & 0x3F) as u8);
        out.push(0x80 | (cpt & 0x3F) as u8);
    }
}

/// Lowercase mapping (binary search in upstream's table; unmapped code points map to themselves).
pub fn to_lower(cpt: u32) -> u32 {
    if cpt < 0x80 {
        // the table maps exactly A-Z below U+0080 (checked by a unit test)
        return if (0x41..=0x5A).contains(&cpt) {
            cpt + 32
        } else {
            cpt
        };
    }
    let i = MAP_LOWERCASE.partition_point(|&(k, _)| k < cpt);
    match MAP_LOWERCASE.get(i) {
        Some(&(k, v)) if k == cpt => v,
        _ => cpt,
    }
}

/// Upstream's NFD: each code point is replaced by the first code point of its decomposition.
pub fn normalize_nfd(cpts: &[u32]) -> Vec<u32> {
    cpts.iter()
        .map(|&c| {
            if c < 0xC0 {
                // the table has no decomposition below U+00C0 (checked by a unit test)
                return c;
            }
            let i = RANGES_NFD.partition_point(|&(first, _, _)| first <= c);
            match i.checked_sub(1).and_then(|j| RANGES_NFD.get(j)) {
                Some(&(first, last, nfd)) if first <= c && c <= last => nfd,
                _ => c,
            }
        })
        .collect()
}

/// Han (CJK ideograph) ranges, as upstream's `unicode_cpt_is_han`.
pub fn is_han(c: u32) -> bool {
    matches!(c,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0x2A700..=0x2B73F |
        0x2B740..=0x2B81F | 0x2B820..=0x2CEAF | 0x2CEB0..=0x2EBEF | 0xF900..=0xFAFF |
        0x2F800..=0x2FA1F)
}

/// GPT-2 byte encoding: byte -> code point.
static BYTE_TO_CPT: Lazy<[u32; 256]> = Lazy::new(|| {
    let mut map = [u32::MAX; 256];
    for ch in (0x21..=0x7E).chain(0xA1..=0xAC).chain(0xAE..=0xFF) {
        map[ch as usize] = ch;
    }
    let mut n = 0;
    for m in map.iter_mut() {
        if *m == u32::MAX {
            *m = 256 + n;
            n += 1;
        }
    }
    map
});

/// The GPT-2 code point that stands for byte `b`.
#[inline]
pub fn byte_to_cpt(b: u8) -> u32 {
    BYTE_TO_CPT[b as usize]
}

/// Append the GPT-2 UTF-8 encoding of byte `b`.
#[inline]
pub fn push_byte_encoded(out: &mut Vec<u8>, b: u8) {
    push_utf8(out, byte_to_cpt(b));
}

/// Inverse GPT-2 mapping: code point -> byte, if the code point stands for a byte.
#[inline]
pub fn cpt_to_byte(c: u32) -> Option<u8> {
    match c {
        0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => Some(c as u8),
        0x100..=0x143 => {
            let n = c - 256;
            BYTE_TO_CPT
                .iter()
                .position(|&x| x == 256 + n)
                .map(|p| p as u8)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_basic() {
        assert!(cpt_flags('a' as u32).is_letter());
        assert!(cpt_flags('7' as u32).is_number());
        assert!(cpt_flags(' ' as u32).is_whitespace());
        assert!(cpt_flags('\n' as u32).is_whitespace());
        assert!(cpt_flags(0x3000).is_whitespace());
        assert!(cpt_flags('!' as u32).is_punctuation());
        assert!(cpt_flags('$' as u32).is_symbol());
        assert_eq!(cpt_flags(0x110000).0, flag::UNDEFINED);
        assert_eq!(to_lower('A' as u32), 'a' as u32);
        assert_eq!(normalize_nfd(&[0xC9]), vec![0x45]);
    }

    #[test]
    fn fast_paths_agree_with_tables() {
        for c in 0..0xC0u32 {
            let i = MAP_LOWERCASE.partition_point(|&(k, _)| k < c);
            let table = match MAP_LOWERCASE.get(i) {
                Some(&(k, v)) if k == c => v,
                _ => c,
            };
            assert_eq!(to_lower(c), table, "{c:#x}");
            assert!(
                RANGES_NFD
                    .iter()
                    .all(|&(f, l, n)| !(f <= c && c <= l) || n == c),
                "{c:#x}"
            );
        }
    }

    #[test]
    fn utf8_invalid_bytes_become_replacement() {
        assert_eq!(cpts_from_utf8(b"a\xffb"), vec![0x61, 0xFFFD, 0x62]);
        assert_eq!(cpts_from_utf8(b"\xe2\x82"), vec![0xFFFD, 0xFFFD]);
        assert_eq!(cpts_from_utf8("é".as_bytes()), vec![0xE9]);
    }

    #[test]
    fn byte_encoding_roundtrip() {
        for b in 0..=255u8 {
            assert_eq!(cpt_to_byte(byte_to_cpt(b)), Some(b));
        }
        assert_eq!(byte_to_cpt(b' '), 0x120);
    }
}
