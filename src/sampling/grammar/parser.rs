//! The GBNF parser: grammar text → rules of [`Element`]s (upstream's `llama_grammar_parser`).
//!
//! Repetitions (`*`, `+`, `?`, `{m,n}`) and groups are rewritten into generated rules named
//! `<rule>_<id>`, exactly as upstream numbers them, so rule ids match upstream's.

use std::collections::BTreeMap;

use super::{Element, GreType};
use crate::error::{Error, Result};

/// Upper bound on repetitions and on the rules a repetition may generate.
const MAX_REPETITION_THRESHOLD: u64 = 2000;

/// Resolves `<text>` token literals to token ids.
pub type TokenizeFn<'a> = &'a dyn Fn(&[u8]) -> Vec<i32>;

/// A parsed grammar: the rules (indexed by symbol id) and the symbol names.
#[derive(Default)]
pub struct Parser<'a> {
    /// Name → rule id, including generated names.
    pub symbol_ids: BTreeMap<Vec<u8>, u32>,
    /// Rule definitions; each ends with `End`, alternates separated by `Alt`.
    pub rules: Vec<Vec<Element>>,
    /// Tokenizer for `<token>` literals (`None`: only `<[id]>` works).
    tokenize: Option<TokenizeFn<'a>>,
    src: Vec<u8>,
}

fn is_digit(c: u8) -> bool {
    c.is_ascii_digit()
}

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

impl<'a> Parser<'a> {
    /// A parser; `tokenize` resolves `<text>` tokens (must give exactly one token).
    pub fn new(tokenize: Option<TokenizeFn<'a>>) -> Self {
        Parser {
            tokenize,
            ..Default::default()
        }
    }

    /// The byte at `i`, 0 past the end (C string semantics; input stops at its first NUL).
    fn at(&self, i: usize) -> u8 {
        self.src.get(i).copied().unwrap_or(0)
    }

    fn rest(&self, i: usize) -> String {
        let end = self.src.len().min(i + 40);
        String::from_utf8_lossy(&self.src[i.min(end)..end]).into_owned()
    }

    fn err(&self, what: &str, i: usize) -> Error {
        Error::invalid(format!(
            "error parsing grammar: {what} at {:?}",
            self.rest(i)
        ))
    }

    fn get_symbol_id(&mut self, name: &[u8]) -> u32 {
        let next = self.symbol_ids.len() as u32;
        *self.symbol_ids.entry(name.to_vec()).or_insert(next)
    }

    fn generate_symbol_id(&mut self, base: &[u8]) -> u32 {
        let next = self.symbol_ids.len() as u32;
        let mut name = base.to_vec();
        name.push(b'_');
        name.extend_from_slice(next.to_string().as_bytes());
        self.symbol_ids.insert(name, next);
        next
    }

    fn add_rule(&mut self, id: u32, rule: Vec<Element>) {
        let id = id as usize;
        if self.rules.len() <= id {
            self.rules.resize(id + 1, Vec::new());
        }
        self.rules[id] = rule;
    }

    fn parse_space(&self, mut i: usize, newline_ok: bool) -> usize {
        loop {
            let c = self.at(i);
            if c == b' ' || c == b'\t' || (newline_ok && (c == b'\r' || c == b'\n')) {
                i += 1;
            } else if c == b'#' {
                while self.at(i) != 0 && self.at(i) != b'\r' && self.at(i) != b'\n' {
                    i += 1;
                }
            } else {
                return i;
            }
        }
    }

    fn parse_name(&self, i: usize) -> Result<usize> {
        let mut p = i;
        while is_word(self.at(p)) {
            p += 1;
        }
        if p == i {
            return Err(self.err("expecting name", i));
        }
        Ok(p)
    }

    fn parse_int(&self, i: usize) -> Result<usize> {
        let mut p = i;
        while is_digit(self.at(p)) {
            p += 1;
        }
        if p == i {
            return Err(self.err("expecting integer", i));
        }
        Ok(p)
    }

    fn parse_hex(&self, i: usize, size: usize) -> Result<(u32, usize)> {
        let end = i + size;
        let mut p = i;
        let mut value: u32 = 0;
        while p < end && self.at(p) != 0 {
            let c = self.at(p);
            let d = match c {
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                b'0'..=b'9' => c - b'0',
                _ => break,
            };
            value = (value << 4).wrapping_add(u32::from(d));
            p += 1;
        }
        if p != end {
            return Err(self.err(&format!("expecting {size} hex chars"), i));
        }
        Ok((value, p))
    }

    /// One UTF-8 character (upstream's lenient decoder: stops at NUL or the sequence length).
    fn decode_utf8_char(&self, i: usize) -> (u32, usize) {
        const LOOKUP: [usize; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4];
        let first = self.at(i);
        let len = LOOKUP[usize::from(first >> 4)];
        let mask = (1u32 << (8 - len)) - 1;
        let mut value = u32::from(first) & mask;
        let end = i + len;
        let mut p = i + 1;
        while p < end && self.at(p) != 0 {
            value = (value << 6) + (u32::from(self.at(p)) & 0x3F);
            p += 1;
        }
        (value, p)
    }

    fn parse_char(&self, i: usize) -> Result<(u32, usize)> {
        if self.at(i) == b'\\' {
            return match self.at(i + 1) {
                b'x' => self.parse_hex(i + 2, 2),
                b'u' => self.parse_hex(i + 2, 4),
                b'U' => self.parse_hex(i + 2, 8),
                b't' => Ok((u32::from(b'\t'), i + 2)),
                b'r' => Ok((u32::from(b'\r'), i + 2)),
                b'n' => Ok((u32::from(b'\n'), i + 2)),
                c @ (b'\\' | b'"' | b'[' | b']' | b'-') => Ok((u32::from(c), i + 2)),
                _ => Err(self.err("unknown escape", i)),
            };
        }
        if self.at(i) != 0 {
            return Ok(self.decode_utf8_char(i));
        }
        Err(self.err("unexpected end of input", i))
    }

    fn parse_token(&self, i: usize) -> Result<(u32, usize)> {
        if self.at(i) != b'<' {
            return Err(self.err("expecting '<'", i));
        }
        let mut p = i + 1;
        if self.at(p) == b'[' {
            p += 1;
            let end = self.parse_int(p)?;
            let text = String::from_utf8_lossy(&self.src[p..end]).into_owned();
            let id: u64 = text
                .parse()
                .map_err(|_| self.err("parsed token id is too big", p))?;
            let id = u32::try_from(id).map_err(|_| self.err("parsed token id is too big", p))?;
            p = end;
            if self.at(p) != b']' {
                return Err(self.err("expecting ']'", p));
            }
            p += 1;
            if self.at(p) != b'>' {
                return Err(self.err("expecting '>'", p));
            }
            return Ok((id, p + 1));
        }
        let Some(tokenize) = self.tokenize else {
            return Err(self.err("no vocab to parse token", i));
        };
        while self.at(p) != 0 && self.at(p) != b'>' {
            p += 1;
        }
        if self.at(p) != b'>' {
            return Err(self.err("expecting '>'", p));
        }
        p += 1;
        let toks = tokenize(&self.src[i..p]);
        if toks.len() != 1 {
            return Err(Error::invalid(format!(
                "error parsing grammar: invalid token '{}'",
                String::from_utf8_lossy(&self.src[i..p])
            )));
        }
        Ok((toks[0] as u32, p))
    }

    fn parse_alternates(
        &mut self,
        i: usize,
        rule_name: &[u8],
        rule_id: u32,
        nested: bool,
    ) -> Result<usize> {
        let mut rule = Vec::new();
        let mut p = self.parse_sequence(i, rule_name, &mut rule, nested)?;
        while self.at(p) == b'|' {
            rule.push(Element::new(GreType::Alt, 0));
            p = self.parse_space(p + 1, true);
            p = self.parse_sequence(p, rule_name, &mut rule, nested)?;
        }
        rule.push(Element::new(GreType::End, 0));
        self.add_rule(rule_id, rule);
        Ok(p)
    }

    /// Rewrites the last symbol (`rule[last_sym_start..]`) for a repetition `{min,max}`
    /// (`max = None`: unbounded).
    #[allow(clippy::too_many_arguments)]
    fn repeat(
        &mut self,
        rule: &mut Vec<Element>,
        rule_name: &[u8],
        last_sym_start: usize,
        n_prev_rules: &mut u64,
        min_times: u64,
        max_times: Option<u64>,
        at: usize,
    ) -> Result<()> {
        if last_sym_start == rule.len() {
            return Err(self.err("expecting preceding item to */+/?/{", at));
        }
        let prev: Vec<Element> = rule[last_sym_start..].to_vec();
        let total_rules = match max_times {
            Some(m) if m > 0 => m,
            _ if min_times > 0 => min_times,
            _ => 1,
        };
        if n_prev_rules.saturating_mul(total_rules) > MAX_REPETITION_THRESHOLD {
            return Err(Error::invalid(
                "error parsing grammar: number of rules that are going to be repeated multiplied by the new repetition exceeds sane defaults",
            ));
        }
        if min_times == 0 {
            rule.truncate(last_sym_start);
        } else {
            for _ in 1..min_times {
                rule.extend_from_slice(&prev);
            }
        }
        let no_max = max_times.is_none();
        let n_opt = match max_times {
            None => 1,
            Some(m) => m.saturating_sub(min_times),
        };
        let mut last_rec_rule_id = 0u32;
        for i in 0..n_opt {
            let mut rec = prev.clone();
            let rec_id = self.generate_symbol_id(rule_name);
            if i > 0 || no_max {
                rec.push(Element::new(
                    GreType::RuleRef,
                    if no_max { rec_id } else { last_rec_rule_id },
                ));
            }
            rec.push(Element::new(GreType::Alt, 0));
            rec.push(Element::new(GreType::End, 0));
            self.add_rule(rec_id, rec);
            last_rec_rule_id = rec_id;
        }
        if n_opt > 0 {
            rule.push(Element::new(GreType::RuleRef, last_rec_rule_id));
        }
        *n_prev_rules = n_prev_rules.saturating_mul(total_rules);
        Ok(())
    }

    fn parse_sequence(
        &mut self,
        i: usize,
        rule_name: &[u8],
        rule: &mut Vec<Element>,
        nested: bool,
    ) -> Result<usize> {
        let mut last_sym_start = rule.len();
        let mut p = i;
        let mut n_prev_rules: u64 = 1;
        while self.at(p) != 0 {
            let c = self.at(p);
            if c == b'"' {
                p += 1;
                last_sym_start = rule.len();
                n_prev_rules = 1;
                while self.at(p) != b'"' {
                    if self.at(p) == 0 {
                        return Err(self.err("unexpected end of input", p));
                    }
                    let (ch, np) = self.parse_char(p)?;
                    p = np;
                    rule.push(Element::new(GreType::Char, ch));
                }
                p = self.parse_space(p + 1, nested);
            } else if c == b'[' {
                p += 1;
                let mut start_type = GreType::Char;
                if self.at(p) == b'^' {
                    p += 1;
                    start_type = GreType::CharNot;
                }
                last_sym_start = rule.len();
                n_prev_rules = 1;
                while self.at(p) != b']' {
                    if self.at(p) == 0 {
                        return Err(self.err("unexpected end of input", p));
                    }
                    let (ch, np) = self.parse_char(p)?;
                    p = np;
                    let ty = if last_sym_start < rule.len() {
                        GreType::CharAlt
                    } else {
                        start_type
                    };
                    rule.push(Element::new(ty, ch));
                    if self.at(p) == b'-' && self.at(p + 1) != b']' {
                        if self.at(p + 1) == 0 {
                            return Err(self.err("unexpected end of input", p));
                        }
                        let (end_ch, np) = self.parse_char(p + 1)?;
                        p = np;
                        rule.push(Element::new(GreType::CharRngUpper, end_ch));
                    }
                }
                p = self.parse_space(p + 1, nested);
            } else if c == b'<' || c == b'!' {
                let mut ty = GreType::Token;
                if c == b'!' {
                    ty = GreType::TokenNot;
                    p += 1;
                }
                let (tok, end) = self.parse_token(p)?;
                last_sym_start = rule.len();
                n_prev_rules = 1;
                rule.push(Element::new(ty, tok));
                p = self.parse_space(end, nested);
            } else if is_word(c) {
                let end = self.parse_name(p)?;
                let name = self.src[p..end].to_vec();
                let id = self.get_symbol_id(&name);
                p = self.parse_space(end, nested);
                last_sym_start = rule.len();
                n_prev_rules = 1;
                rule.push(Element::new(GreType::RuleRef, id));
            } else if c == b'(' {
                p = self.parse_space(p + 1, true);
                let n_before = self.symbol_ids.len() as u32;
                let sub_id = self.generate_symbol_id(rule_name);
                p = self.parse_alternates(p, rule_name, sub_id, true)?;
                n_prev_rules =
                    u64::from((self.symbol_ids.len() as u32).wrapping_sub(n_before).max(1));
                last_sym_start = rule.len();
                rule.push(Element::new(GreType::RuleRef, sub_id));
                if self.at(p) != b')' {
                    return Err(self.err("expecting ')'", p));
                }
                p = self.parse_space(p + 1, nested);
            } else if c == b'.' {
                last_sym_start = rule.len();
                n_prev_rules = 1;
                rule.push(Element::new(GreType::CharAny, 0));
                p = self.parse_space(p + 1, nested);
            } else if c == b'*' || c == b'+' || c == b'?' {
                p = self.parse_space(p + 1, nested);
                let (min, max) = match c {
                    b'*' => (0, None),
                    b'+' => (1, None),
                    _ => (0, Some(1)),
                };
                self.repeat(
                    rule,
                    rule_name,
                    last_sym_start,
                    &mut n_prev_rules,
                    min,
                    max,
                    p,
                )?;
            } else if c == b'{' {
                p = self.parse_space(p + 1, nested);
                if !is_digit(self.at(p)) {
                    return Err(self.err("expecting an int", p));
                }
                let end = self.parse_int(p)?;
                let min_times = self.int_value(p, end)?;
                p = self.parse_space(end, nested);
                let mut max_times: Option<u64> = None;
                if self.at(p) == b'}' {
                    max_times = Some(min_times);
                    p = self.parse_space(p + 1, nested);
                } else if self.at(p) == b',' {
                    p = self.parse_space(p + 1, nested);
                    if is_digit(self.at(p)) {
                        let end = self.parse_int(p)?;
                        max_times = Some(self.int_value(p, end)?);
                        p = self.parse_space(end, nested);
                    }
                    if self.at(p) != b'}' {
                        return Err(self.err("expecting '}'", p));
                    }
                    p = self.parse_space(p + 1, nested);
                } else {
                    return Err(self.err("expecting ','", p));
                }
                if min_times > MAX_REPETITION_THRESHOLD {
                    return Err(Error::invalid(
                        "error parsing grammar: number of repetitions exceeds sane defaults",
                    ));
                }
                if max_times.is_some_and(|m| m > MAX_REPETITION_THRESHOLD) {
                    max_times = None;
                }
                self.repeat(
                    rule,
                    rule_name,
                    last_sym_start,
                    &mut n_prev_rules,
                    min_times,
                    max_times,
                    p,
                )?;
            } else {
                break;
            }
        }
        Ok(p)
    }

    fn int_value(&self, i: usize, end: usize) -> Result<u64> {
        String::from_utf8_lossy(&self.src[i..end])
            .parse()
            .map_err(|_| self.err("integer out of range", i))
    }

    fn parse_rule(&mut self, i: usize) -> Result<usize> {
        let name_end = self.parse_name(i)?;
        let mut p = self.parse_space(name_end, false);
        let name = self.src[i..name_end].to_vec();
        let rule_id = self.get_symbol_id(&name);
        if !(self.at(p) == b':' && self.at(p + 1) == b':' && self.at(p + 2) == b'=') {
            return Err(self.err("expecting ::=", p));
        }
        p = self.parse_space(p + 3, true);
        p = self.parse_alternates(p, &name, rule_id, false)?;
        if self.at(p) == b'\r' {
            p += if self.at(p + 1) == b'\n' { 2 } else { 1 };
        } else if self.at(p) == b'\n' {
            p += 1;
        } else if self.at(p) != 0 {
            return Err(self.err("expecting newline or end", p));
        }
        Ok(self.parse_space(p, true))
    }

    /// Parses a whole grammar. On error the rules are cleared.
    pub fn parse(&mut self, src: &[u8]) -> Result<()> {
        let end = src.iter().position(|&b| b == 0).unwrap_or(src.len());
        self.src = src[..end].to_vec();
        let r = self.parse_all();
        if r.is_err() {
            self.rules.clear();
        }
        r
    }

    fn parse_all(&mut self) -> Result<()> {
        let mut p = self.parse_space(0, true);
        while self.at(p) != 0 {
            p = self.parse_rule(p)?;
        }
        for rule in &self.rules {
            if rule.is_empty() {
                return Err(Error::invalid("error parsing grammar: Undefined rule"));
            }
            for e in rule {
                if e.ty == GreType::RuleRef
                    && (e.value as usize >= self.rules.len()
                        || self.rules[e.value as usize].is_empty())
                {
                    if let Some((name, _)) = self.symbol_ids.iter().find(|(_, &id)| id == e.value) {
                        return Err(Error::invalid(format!(
                            "error parsing grammar: Undefined rule identifier '{}'",
                            String::from_utf8_lossy(name)
                        )));
                    }
                }
            }
        }
        Ok(())
    }
}
