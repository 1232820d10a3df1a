//! Hand-written splitters for the common pre-tokenizer patterns, with upstream's exact
//! behaviour (upstream uses these instead of `std::regex` when the pattern string is one of
//! theirs). Each takes the code points and the current chunk lengths, and returns new lengths.

use super::unicode::{cpt_flags, is_han, to_lower, Flags};

const OUT: u32 = u32::MAX;

/// One chunk `[ini, end)` of the code point sequence, with out-of-chunk reads as upstream's.
struct Chunk<'a> {
    cpts: &'a [u32],
    flags: &'a [Flags],
    ini: usize,
    end: usize,
    prev_end: usize,
    out: &'a mut Vec<usize>,
}

impl Chunk<'_> {
    #[inline]
    fn cpt(&self, p: usize) -> u32 {
        if self.ini <= p && p < self.end {
            self.cpts[p]
        } else {
            OUT
        }
    }
    #[inline]
    fn fl(&self, p: usize) -> Flags {
        if self.ini <= p && p < self.end {
            self.flags[p]
        } else {
            Flags(0)
        }
    }
    /// Close the current word at `end`; returns its length.
    #[inline]
    fn add(&mut self, end: usize) -> usize {
        let len = end - self.prev_end;
        if len > 0 {
            self.out.push(len);
        }
        self.prev_end = end;
        len
    }
    /// `'s|'t|'re|'ve|'m|'ll|'d` at `pos` (optionally case-insensitive): the match length.
    fn contraction(&self, pos: usize, icase: bool) -> usize {
        if self.cpt(pos) != '\'' as u32 || pos + 1 >= self.end {
            return 0;
        }
        let low = |c: u32| if icase { to_lower(c) } else { c };
        let n = low(self.cpt(pos + 1));
        if [b's', b't', b'm', b'd'].iter().any(|&x| n == x as u32) {
            return 2;
        }
        if pos + 2 < self.end {
            let nn = low(self.cpt(pos + 2));
            let is = |a: u8, b: u8| n == a as u32 && nn == b as u32;
            if is(b'r', b'e') || is(b'v', b'e') || is(b'l', b'l') {
                return 3;
            }
        }
        0
    }
    /// Whitespace run at `pos`: (count, end of the last `\r`/`\n` in it or 0).
    fn whitespace(&self, pos: usize) -> (usize, usize) {
        let (mut n, mut last_rn) = (0, 0);
        while self.fl(pos + n).is_whitespace() {
            let c = self.cpt(pos + n);
            if c == '\r' as u32 || c == '\n' as u32 {
                last_rn = pos + n + 1;
            }
            n += 1;
        }
        (n, last_rn)
    }
}

fn flags_of(cpts: &[u32]) -> Vec<Flags> {
    cpts.iter().map(|&c| cpt_flags(c)).collect()
}

fn for_chunks(cpts: &[u32], offsets: &[usize], mut f: impl FnMut(&mut Chunk)) -> Vec<usize> {
    let flags = flags_of(cpts);
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0;
    for &len in offsets {
        let mut ch = Chunk {
            cpts,
            flags: &flags,
            ini: start,
            end: start + len,
            prev_end: start,
            out: &mut out,
        };
        f(&mut ch);
        start += len;
    }
    out
}

/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)` (GPT-2).
pub fn gpt2(cpts: &[u32], offsets: &[usize]) -> Vec<usize> {
    for_chunks(cpts, offsets, |ch| {
        let mut pos = ch.ini;
        while pos < ch.end {
            let cpt = ch.cpt(pos);
            let n = ch.contraction(pos, false);
            if n > 0 {
                pos += ch.add(pos + n);
                continue;
            }
            let sp = cpt == ' ' as u32;
            let mut f2 = if sp { ch.fl(pos + 1) } else { ch.fl(pos) };
            if f2.is_letter() {
                pos += sp as usize;
                while f2.is_letter() {
                    pos += 1;
                    f2 = ch.fl(pos);
                }
                ch.add(pos);
                continue;
            }
            if f2.is_number() {
                pos += sp as usize;
                while f2.is_number() {
                    pos += 1;
                    f2 = ch.fl(pos);
                }
                ch.add(pos);
                continue;
            }
            let other =
                |f: Flags| !(f.is_whitespace() || f.is_letter() || f.is_number()) && f.any();
            if other(f2) {
                pos += sp as usize;
                while other(f2) {
                    pos += 1;
                    f2 = ch.fl(pos);
                }
                ch.add(pos);
                continue;
            }
            let (nws, _) = ch.whitespace(pos);
            if nws > 1 && ch.cpt(pos + nws) != OUT {
                pos += nws - 1;
                ch.add(pos);
                continue;
            }
            if nws > 0 {
                pos += nws;
                ch.add(pos);
                continue;
            }
            pos += 1;
            ch.add(pos);
        }
    })
}

/// The llama3 / qwen2 / qwen3.5 family: `(?i:contractions)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}|
/// ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`; `marks` adds `\p{M}` to the letter runs.
pub fn llama3_family(
    cpts: &[u32],
    offsets: &[usize],
    max_digits: usize,
    marks: bool,
) -> Vec<usize> {
    let letterish = move |f: Flags| f.is_letter() || (marks && f.is_accent_mark());
    for_chunks(cpts, offsets, |ch| {
        let mut pos = ch.ini;
        while pos < ch.end {
            let cpt = ch.cpt(pos);
            let flags = ch.fl(pos);
            let n = ch.contraction(pos, true);
            if n > 0 {
                pos += ch.add(pos + n);
                continue;
            }
            let is_rn = cpt == '\r' as u32 || cpt == '\n' as u32;
            if !(is_rn || flags.is_number()) && (letterish(flags) || letterish(ch.fl(pos + 1))) {
                pos += 1;
                while letterish(ch.fl(pos)) {
                    pos += 1;
                }
                ch.add(pos);
                continue;
            }
            if flags.is_number() {
                let mut ini = pos;
                while ch.fl(pos).is_number() {
                    pos += 1;
                    if pos - ini >= max_digits {
                        ch.add(pos);
                        ini = pos;
                    }
                }
                ch.add(pos);
                continue;
            }
            let f2 = if cpt == ' ' as u32 {
                ch.fl(pos + 1)
            } else {
                flags
            };
            let other = move |f: Flags| !(f.is_whitespace() || letterish(f) || f.is_number());
            if other(f2) && flags.any() {
                pos += (cpt == ' ' as u32) as usize;
                let mut f2 = f2;
                while other(f2) && f2.any() {
                    pos += 1;
                    f2 = ch.fl(pos);
                }
                let mut c2 = ch.cpt(pos);
                while c2 == '\r' as u32 || c2 == '\n' as u32 {
                    pos += 1;
                    c2 = ch.cpt(pos);
                }
                ch.add(pos);
                continue;
            }
            let (nws, last_rn) = ch.whitespace(pos);
            if last_rn > 0 {
                pos = last_rn;
                ch.add(pos);
                continue;
            }
            if nws > 1 && ch.cpt(pos + nws) != OUT {
                pos += nws - 1;
                ch.add(pos);
                continue;
            }
            if nws > 0 {
                pos += nws;
                ch.add(pos);
                continue;
            }
            pos += 1;
            ch.add(pos);
        }
    })
}

/// Kimi-K2: Han runs, then letter words (Han excluded) with optional contractions, digits by 3,
/// punctuation runs, and the whitespace rules of llama3.
pub fn kimi_k2(cpts: &[u32], offsets: &[usize]) -> Vec<usize> {
    for_chunks(cpts, offsets, |ch| {
        let mut pos = ch.ini;
        let letter_nohan = |ch: &Chunk, p: usize| ch.fl(p).is_letter() && !is_han(ch.cpt(p));
        while pos < ch.end {
            let cpt = ch.cpt(pos);
            let flags = ch.fl(pos);
            if is_han(cpt) {
                while is_han(ch.cpt(pos)) {
                    pos += 1;
                }
                ch.add(pos);
                continue;
            }
            let lead_ok = !(cpt == '\r' as u32
                || cpt == '\n' as u32
                || flags.is_letter()
                || flags.is_number());
            let is_letter_pattern =
                (flags.is_letter() && !is_han(cpt)) || (lead_ok && letter_nohan(ch, pos + 1));
            if is_letter_pattern {
                let mut has_lead = false;
                if lead_ok {
                    has_lead = true;
                    pos += 1;
                }
                let mut has_letters = false;
                while letter_nohan(ch, pos) {
                    has_letters = true;
                    pos += 1;
                }
                if has_letters || (!has_lead && letter_nohan(ch, pos)) {
                    if !has_letters {
                        pos += 1;
                    }
                    while letter_nohan(ch, pos) {
                        pos += 1;
                    }
                    pos += ch.contraction(pos, true);
                    ch.add(pos);
                    continue;
                } else if has_lead {
                    pos -= 1;
                }
            }
            if flags.is_number() {
                let mut ini = pos;
                while ch.fl(pos).is_number() {
                    pos += 1;
                    if pos - ini >= 3 {
                        ch.add(pos);
                        ini = pos;
                    }
                }
                ch.add(pos);
                continue;
            }
            let mut f2 = if cpt == ' ' as u32 {
                ch.fl(pos + 1)
            } else {
                flags
            };
            let other =
                |f: Flags| !(f.is_whitespace() || f.is_letter() || f.is_number()) && f.any();
            if other(f2) {
                pos += (cpt == ' ' as u32) as usize;
                while other(f2) {
                    pos += 1;
                    f2 = ch.fl(pos);
                }
                let mut c2 = ch.cpt(pos);
                while c2 == '\r' as u32 || c2 == '\n' as u32 {
                    pos += 1;
                    c2 = ch.cpt(pos);
                }
                ch.add(pos);
                continue;
            }
            let (nws, last_rn) = ch.whitespace(pos);
            if last_rn > 0 {
                pos = last_rn;
                ch.add(pos);
                continue;
            }
            if nws > 1 && ch.cpt(pos + nws) != OUT {
                pos += nws - 1;
                ch.add(pos);
                continue;
            }
            if nws > 0 {
                pos += nws;
                ch.add(pos);
                continue;
            }
            pos += 1;
            ch.add(pos);
        }
    })
}

/// AFMoE / tiny-aya digits: a digit run is split into a leading `len % 3` group and groups of 3.
pub fn afmoe_digits(cpts: &[u32], offsets: &[usize]) -> Vec<usize> {
    for_chunks(cpts, offsets, |ch| {
        let mut pos = ch.ini;
        while pos < ch.end {
            if ch.fl(pos).is_number() {
                let start = pos;
                while pos < ch.end && ch.fl(pos).is_number() {
                    pos += 1;
                }
                let count = pos - start;
                let mut cur = start;
                if count % 3 > 0 {
                    ch.add(cur + count % 3);
                    cur += count % 3;
                }
                while cur < start + count {
                    ch.add(cur + 3);
                    cur += 3;
                }
                continue;
            }
            pos += 1;
        }
        if ch.prev_end < ch.end {
            ch.add(ch.end);
        }
    })
}

/// `[^\n]+|[\n]+`: runs of non-newlines and runs of newlines.
pub fn newlines(cpts: &[u32], offsets: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0;
    for &len in offsets {
        let end = start + len;
        let mut pos = start;
        while pos < end {
            let nl = cpts[pos] == '\n' as u32;
            let run = pos;
            while pos < end && (cpts[pos] == '\n' as u32) == nl {
                pos += 1;
            }
            out.push(pos - run);
        }
        start = end;
    }
    out
}
