//! Pre-tokenization: splitting text into words before BPE, as upstream's `unicode_regex_split`.
//!
//! Each pattern of a pre-tokenizer's list refines the current split. Patterns that upstream
//! recognises by string get its hand-written splitters ([`super::split_custom`]); the rest run on
//! our ECMAScript engine ([`super::regex`]) exactly as upstream feeds them to `std::regex`:
//! patterns that use `\p{..}` categories run on "collapsed" text (one unit per code point,
//! non-ASCII code points replaced by a category byte, `\p{X}` replaced by that byte plus the
//! ASCII members of X), the others run on code points with non-ASCII whitespace mapped to `\v`.

use super::regex::Regex;
use super::split_custom;
use super::unicode::{self, cpt_flags, flag};
use crate::error::{Error, Result};

pub use super::pretok_table::{pre_type_from_u32, regex_exprs, PreType};

const GPT2: &str = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const LLAMA3_ORIG: &str = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN35: &str = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]+|\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/// Unicode categories upstream understands in patterns, with their collapsed byte and ASCII set.
const UCATS: &[(&str, u8, &[u8])] = &[
    ("\\p{N}", 0xD1, b"0-9"),
    ("\\p{L}", 0xD2, b"A-Za-z"),
    ("\\p{P}", 0xD3, b"!-#%-*,-/:-;?-@\\[-\\]_\\{\\}"),
    ("\\p{M}", 0xD4, b""),
    ("\\p{S}", 0xD5, b"\\$\\+<->^`\\|\\~"),
    ("\\p{Lu}", 0xD2, b"A-Za-z"),
    ("\\p{Ll}", 0xD2, b"A-Za-z"),
    ("\\p{Lt}", 0xD2, b"A-Za-z"),
    ("\\p{Lm}", 0xD2, b"A-Za-z"),
    ("\\p{Lo}", 0xD2, b"A-Za-z"),
];

#[derive(Debug, Clone, Copy)]
enum Custom {
    Gpt2,
    Llama3,
    Qwen2,
    Qwen35,
    KimiK2,
    AfmoeDigits,
    Newlines,
}

#[derive(Debug)]
enum Step {
    Custom(Custom),
    Collapsed(Regex),
    Wide(Regex),
}

/// A compiled pre-tokenizer (a list of patterns).
#[derive(Debug)]
pub struct PreTokenizer {
    steps: Vec<Step>,
    need_collapse: bool,
    /// Words are GPT-2 byte-encoded (false for SPM-style BPE).
    pub byte_encode: bool,
}

/// Words of a split: one buffer and the `(start, end)` of each word in it.
#[derive(Debug, Default)]
pub struct Words {
    /// Concatenated word bytes.
    pub buf: Vec<u8>,
    /// Word boundaries in `buf`.
    pub spans: Vec<(usize, usize)>,
}

fn uses_ucat(expr: &str) -> bool {
    UCATS.iter().any(|(k, _, _)| expr.contains(k))
}

/// Upstream's pattern collapsing (see the module doc).
fn collapse_pattern(expr: &str) -> Result<Vec<u32>> {
    let b = expr.as_bytes();
    if b.iter().any(|&c| c >= 128) {
        return Err(Error::unsupported(format!(
            "pre-tokenizer regex mixes unicode categories and non-ASCII characters: {expr}"
        )));
    }
    let mut out: Vec<u8> = Vec::with_capacity(b.len() * 2);
    let mut inside = false;
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'[' && (i == 0 || b[i - 1] != b'\\') {
            out.push(b'[');
            inside = true;
            i += 1;
            continue;
        }
        if inside && b[i] == b']' && b[i - 1] != b'\\' {
            out.push(b']');
            inside = false;
            i += 1;
            continue;
        }
        if b[i] == b'\\' && i + 3 < b.len() && b[i + 1] == b'p' && b[i + 2] == b'{' {
            if let Some(close) = b[i + 3..]
                .iter()
                .position(|&c| c == b'}')
                .map(|p| p + i + 3)
            {
                if close <= i + 10 {
                    let pat = &expr[i..=close];
                    if let Some((_, cat, set)) = UCATS.iter().find(|(k, _, _)| *k == pat) {
                        if !inside {
                            out.push(b'[');
                        }
                        out.push(*cat);
                        out.extend_from_slice(set);
                        if !inside {
                            out.push(b']');
                        }
                        i = close + 1;
                        continue;
                    }
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Ok(out.into_iter().map(u32::from).collect())
}

impl PreTokenizer {
    /// Compile a pattern list.
    pub fn new(exprs: &[&str], byte_encode: bool) -> Result<PreTokenizer> {
        let mut steps = Vec::with_capacity(exprs.len());
        for &e in exprs {
            let custom = match e {
                GPT2 => Some(Custom::Gpt2),
                LLAMA3_ORIG | LLAMA3 => Some(Custom::Llama3),
                QWEN2 => Some(Custom::Qwen2),
                QWEN35 => Some(Custom::Qwen35),
                "\\p{Han}+" => Some(Custom::KimiK2),
                "\\p{AFMoE_digits}" | "\\d{1,3}(?=(?:\\d{3})*\\b)" => Some(Custom::AfmoeDigits),
                "[^\\n]+|[\\n]+" => Some(Custom::Newlines),
                _ => None,
            };
            let bad = |m: String| Error::unsupported(format!("pre-tokenizer regex {e:?}: {m}"));
            steps.push(match custom {
                Some(c) => Step::Custom(c),
                None if uses_ucat(e) => {
                    Step::Collapsed(Regex::new(&collapse_pattern(e)?).map_err(bad)?)
                }
                None => {
                    Step::Wide(Regex::new(&unicode::cpts_from_utf8(e.as_bytes())).map_err(bad)?)
                }
            });
        }
        let need_collapse = exprs.iter().any(|e| uses_ucat(e));
        Ok(PreTokenizer {
            steps,
            need_collapse,
            byte_encode,
        })
    }

    /// The pre-tokenizer upstream uses for `pre`.
    pub fn for_pre_type(pre: PreType) -> Result<PreTokenizer> {
        let (exprs, byte_encode) = regex_exprs(pre);
        PreTokenizer::new(exprs, byte_encode)
    }

    /// Split `text` into words (each GPT-2 byte-encoded when `byte_encode`).
    pub fn split(&self, text: &[u8]) -> Words {
        let cpts = unicode::cpts_from_utf8(text);
        let collapsed: Vec<u32> = if self.need_collapse {
            cpts.iter().map(|&c| collapse_cpt(c)).collect()
        } else {
            Vec::new()
        };
        let mut wide: Option<Vec<u32>> = None;
        let mut offsets = vec![cpts.len()];
        for step in &self.steps {
            offsets = match step {
                Step::Custom(c) => match c {
                    Custom::Gpt2 => split_custom::gpt2(&cpts, &offsets),
                    Custom::Llama3 => split_custom::llama3_family(&cpts, &offsets, 3, false),
                    Custom::Qwen2 => split_custom::llama3_family(&cpts, &offsets, 1, false),
                    Custom::Qwen35 => split_custom::llama3_family(&cpts, &offsets, 1, true),
                    Custom::KimiK2 => split_custom::kimi_k2(&cpts, &offsets),
                    Custom::AfmoeDigits => split_custom::afmoe_digits(&cpts, &offsets),
                    Custom::Newlines => split_custom::newlines(&cpts, &offsets),
                },
                Step::Collapsed(re) => regex_offsets(re, &collapsed, &offsets),
                Step::Wide(re) => {
                    let w = wide.get_or_insert_with(|| {
                        cpts.iter()
                            .map(|&c| {
                                if c > 0x7F && cpt_flags(c).is_whitespace() {
                                    0x0B
                                } else {
                                    c
                                }
                            })
                            .collect()
                    });
                    regex_offsets(re, w, &offsets)
                }
            };
        }
        let mut words = Words {
            buf: Vec::with_capacity(text.len() * 2),
            spans: Vec::with_capacity(offsets.len()),
        };
        let mut tmp = Vec::with_capacity(16);
        let mut start = 0;
        for len in offsets {
            let s = words.buf.len();
            for &c in &cpts[start..start + len] {
                if self.byte_encode {
                    tmp.clear();
                    unicode::push_utf8(&mut tmp, c);
                    for &b in &tmp {
                        unicode::push_byte_encoded(&mut words.buf, b);
                    }
                } else {
                    unicode::push_utf8(&mut words.buf, c);
                }
            }
            words.spans.push((s, words.buf.len()));
            start += len;
        }
        words
    }
}

fn collapse_cpt(c: u32) -> u32 {
    if c < 128 {
        return c;
    }
    let f = cpt_flags(c);
    if f.is_whitespace() {
        return 0x0B;
    }
    match f.category() {
        flag::NUMBER => 0xD1,
        flag::LETTER => 0xD2,
        flag::PUNCTUATION => 0xD3,
        flag::ACCENT_MARK => 0xD4,
        flag::SYMBOL => 0xD5,
        _ => 0xD0,
    }
}

/// New chunk lengths from the matches of `re` in each chunk (as upstream's `regex_split_stl`).
fn regex_offsets(re: &Regex, units: &[u32], offsets: &[usize]) -> Vec<usize> {
    let mut out = Vec::with_capacity(offsets.len());
    let mut start = 0;
    for &len in offsets {
        let mut idx = 0;
        for (s, e) in re.find_iter(units, start, start + len) {
            let (pos, mlen) = (s - start, e - s);
            if pos > idx {
                out.push(pos - idx);
            }
            out.push(mlen);
            idx = pos + mlen;
        }
        if idx < len {
            out.push(len - idx);
        }
        start += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(pre: PreType, text: &str) -> Vec<String> {
        let p = PreTokenizer::for_pre_type(pre).unwrap();
        let w = p.split(text.as_bytes());
        w.spans
            .iter()
            .map(|&(s, e)| String::from_utf8_lossy(&w.buf[s..e]).into_owned())
            .collect()
    }

    #[test]
    fn gpt2_split() {
        assert_eq!(
            words(PreType::Gpt2, "Hello world's  end"),
            vec!["Hello", "Ġworld", "'s", "Ġ", "Ġend"]
        );
    }

    #[test]
    fn llama3_digits() {
        assert_eq!(words(PreType::Llama3, "12345"), vec!["123", "45"]);
    }

    #[test]
    fn every_pre_type_compiles() {
        for n in 0..=59 {
            let pre = pre_type_from_u32(n).unwrap();
            let p = PreTokenizer::for_pre_type(pre).unwrap();
            let _ = p.split("Hello, World! 123 \u{4e00}\u{4e8c} \t\n x".as_bytes());
        }
    }
}
