//! The grammar matcher: a set of pushdown stacks over rule positions, advanced one code point
//! (or one token) at a time; candidate tokens whose text no stack can accept are rejected
//! (upstream's `llama_grammar_*` functions; positions are `(rule, index)` pairs here).

use std::collections::BTreeSet;

use super::{Element, GreType};
use crate::error::{Error, Result};

/// A position in the grammar: element `idx` of rule `rule`.
pub type Pos = (u32, u32);
/// A pushdown stack; the top is the last element.
pub type Stack = Vec<Pos>;

/// A partially decoded UTF-8 sequence carried between tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PartialUtf8 {
    /// Bits decoded so far.
    pub value: u32,
    /// Bytes still expected; -1 marks an invalid sequence.
    pub n_remain: i32,
}

/// Decodes `src` (up to its first NUL) continuing `partial`; the code points end with a 0
/// terminator, as upstream's decoder returns them.
pub fn decode_utf8(src: &[u8], partial: PartialUtf8) -> (Vec<u32>, PartialUtf8) {
    const LOOKUP: [i32; 16] = [1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 2, 2, 3, 4];
    let end = src.iter().position(|&b| b == 0).unwrap_or(src.len());
    let src = &src[..end];
    let mut cps = Vec::with_capacity(src.len() + 1);
    let mut value = partial.value;
    let mut n_remain = partial.n_remain;
    let mut p = 0;
    while p < src.len() && n_remain > 0 {
        let b = src[p];
        if b >> 6 != 2 {
            cps.push(0);
            return (
                cps,
                PartialUtf8 {
                    value: 0,
                    n_remain: -1,
                },
            );
        }
        value = (value << 6) + u32::from(b & 0x3F);
        p += 1;
        n_remain -= 1;
    }
    if partial.n_remain > 0 && n_remain == 0 {
        cps.push(value);
    }
    while p < src.len() {
        let first = src[p];
        n_remain = LOOKUP[usize::from(first >> 4)] - 1;
        if n_remain < 0 {
            cps.clear();
            cps.push(0);
            return (cps, PartialUtf8 { value: 0, n_remain });
        }
        let mask = (1u32 << (7 - n_remain)) - 1;
        value = u32::from(first) & mask;
        p += 1;
        while p < src.len() && n_remain > 0 {
            value = (value << 6) + u32::from(src[p] & 0x3F);
            p += 1;
            n_remain -= 1;
        }
        if n_remain == 0 {
            cps.push(value);
        }
    }
    cps.push(0);
    (cps, PartialUtf8 { value, n_remain })
}

/// Rules plus the helpers that walk them.
#[derive(Clone, Debug)]
pub struct Rules(pub Vec<Vec<Element>>);

impl Rules {
    fn at(&self, p: Pos) -> Element {
        self.0
            .get(p.0 as usize)
            .and_then(|r| r.get(p.1 as usize))
            .copied()
            .unwrap_or(Element::new(GreType::End, 0))
    }

    fn is_end_of_sequence(&self, p: Pos) -> bool {
        matches!(self.at(p).ty, GreType::End | GreType::Alt)
    }

    /// Whether `chr` satisfies the char range at `p`, and the position after the range.
    pub fn match_char(&self, mut p: Pos, chr: u32) -> (bool, Pos) {
        let first = self.at(p);
        let positive = matches!(first.ty, GreType::Char | GreType::CharAny);
        let mut found = false;
        loop {
            let e = self.at(p);
            let next = self.at((p.0, p.1 + 1));
            if next.ty == GreType::CharRngUpper {
                found = found || (e.value <= chr && chr <= next.value);
                p.1 += 2;
            } else if e.ty == GreType::CharAny {
                found = true;
                p.1 += 1;
            } else {
                found = found || e.value == chr;
                p.1 += 1;
            }
            if self.at(p).ty != GreType::CharAlt {
                break;
            }
        }
        (found == positive, p)
    }

    /// Whether some completion of `partial` could satisfy the char range at `p`.
    fn match_partial_char(&self, mut p: Pos, partial: PartialUtf8) -> bool {
        let positive = matches!(self.at(p).ty, GreType::Char | GreType::CharAny);
        let n_remain = partial.n_remain;
        if n_remain < 0 || (n_remain == 1 && partial.value < 2) {
            return false;
        }
        let shift = (n_remain * 6) as u32;
        let mut low = partial.value.checked_shl(shift).unwrap_or(0);
        let high = low | (1u32.checked_shl(shift).unwrap_or(0).wrapping_sub(1));
        if low == 0 {
            if n_remain == 2 {
                low = 1 << 11;
            } else if n_remain == 3 {
                low = 1 << 16;
            }
        }
        loop {
            let e = self.at(p);
            let next = self.at((p.0, p.1 + 1));
            if next.ty == GreType::CharRngUpper {
                if e.value <= high && low <= next.value {
                    return positive;
                }
                p.1 += 2;
            } else if e.ty == GreType::CharAny {
                return true;
            } else {
                if low <= e.value && e.value <= high {
                    return positive;
                }
                p.1 += 1;
            }
            if self.at(p).ty != GreType::CharAlt {
                break;
            }
        }
        !positive
    }

    fn match_token(&self, p: Pos, token: i32) -> bool {
        let e = self.at(p);
        match e.ty {
            GreType::Token => e.value == token as u32,
            GreType::TokenNot => e.value != token as u32,
            _ => false,
        }
    }

    /// Expands `stack` into the stacks that end at a terminal (or are empty), appended to
    /// `out` without duplicates.
    pub fn advance_stack(&self, stack: Stack, out: &mut Vec<Stack>) {
        let mut todo = vec![stack];
        let mut seen: BTreeSet<Stack> = BTreeSet::new();
        while let Some(cur) = todo.pop() {
            if !seen.insert(cur.clone()) {
                continue;
            }
            let Some(&top) = cur.last() else {
                if !out.contains(&cur) {
                    out.push(cur);
                }
                continue;
            };
            let e = self.at(top);
            match e.ty {
                GreType::RuleRef => {
                    let rule = e.value;
                    let mut sub: Pos = (rule, 0);
                    loop {
                        let mut next = cur[..cur.len() - 1].to_vec();
                        let after = (top.0, top.1 + 1);
                        if !self.is_end_of_sequence(after) {
                            next.push(after);
                        }
                        if !self.is_end_of_sequence(sub) {
                            next.push(sub);
                        }
                        todo.push(next);
                        while !self.is_end_of_sequence(sub) {
                            sub.1 += 1;
                        }
                        if self.at(sub).ty == GreType::Alt {
                            sub.1 += 1;
                        } else {
                            break;
                        }
                    }
                }
                GreType::Char
                | GreType::CharNot
                | GreType::CharAny
                | GreType::Token
                | GreType::TokenNot
                    if !out.contains(&cur) =>
                {
                    out.push(cur);
                }
                // a stack never rests on End/Alt or inside a char range
                _ => {}
            }
        }
    }

    /// Left recursion check for rule `i` (upstream's `llama_grammar_detect_left_recursion`).
    fn left_recursion(
        &self,
        i: usize,
        visited: &mut [bool],
        in_progress: &mut [bool],
        may_be_empty: &mut [bool],
    ) -> bool {
        if in_progress[i] {
            return true;
        }
        in_progress[i] = true;
        let rule = &self.0[i];
        let mut at_start = true;
        for e in rule {
            if matches!(e.ty, GreType::End | GreType::Alt) {
                if at_start {
                    may_be_empty[i] = true;
                    break;
                }
                at_start = true;
            } else {
                at_start = false;
            }
        }
        let mut recurse = true;
        for e in rule {
            if e.ty == GreType::RuleRef && recurse {
                let r = e.value as usize;
                if self.left_recursion(r, visited, in_progress, may_be_empty) {
                    return true;
                }
                if !may_be_empty[r] {
                    recurse = false;
                }
            } else {
                recurse = matches!(e.ty, GreType::End | GreType::Alt);
            }
        }
        in_progress[i] = false;
        visited[i] = true;
        false
    }

    /// Validates rule references and rejects left recursion.
    pub fn validate(&self) -> Result<()> {
        let n = self.0.len();
        for (i, rule) in self.0.iter().enumerate() {
            for e in rule {
                if e.ty == GreType::RuleRef
                    && (e.value as usize >= n || self.0[e.value as usize].is_empty())
                {
                    return Err(Error::invalid(format!(
                        "invalid grammar: rule {i} references undefined rule {}",
                        e.value
                    )));
                }
            }
        }
        let (mut visited, mut in_progress, mut may_be_empty) =
            (vec![false; n], vec![false; n], vec![false; n]);
        for i in 0..n {
            if !visited[i]
                && self.left_recursion(i, &mut visited, &mut in_progress, &mut may_be_empty)
            {
                return Err(Error::invalid(format!(
                    "unsupported grammar, left recursion detected for nonterminal at index {i}"
                )));
            }
        }
        Ok(())
    }

    /// The initial stacks for start rule `start`.
    pub fn initial_stacks(&self, start: u32) -> Vec<Stack> {
        let mut stacks = Vec::new();
        let mut p: Pos = (start, 0);
        loop {
            let mut stack = Vec::new();
            if !self.is_end_of_sequence(p) {
                stack.push(p);
            }
            self.advance_stack(stack, &mut stacks);
            while !self.is_end_of_sequence(p) {
                p.1 += 1;
            }
            if self.at(p).ty == GreType::Alt {
                p.1 += 1;
            } else {
                break;
            }
        }
        stacks
    }

    /// Stacks after `chr` is accepted from `stack`.
    pub fn accept_chr(&self, stack: &Stack, chr: u32, out: &mut Vec<Stack>) {
        let Some(&top) = stack.last() else { return };
        if matches!(self.at(top).ty, GreType::Token | GreType::TokenNot) {
            return;
        }
        let (ok, after) = self.match_char(top, chr);
        if ok {
            let mut next = stack[..stack.len() - 1].to_vec();
            if !self.is_end_of_sequence(after) {
                next.push(after);
            }
            self.advance_stack(next, out);
        }
    }

    /// Stacks after a whole token (its id and its text's code points) is accepted.
    pub fn accept_token(&self, stacks: &[Stack], token: i32, cps: &[u32]) -> Vec<Stack> {
        let mut new_stacks: Vec<Stack> = Vec::with_capacity(stacks.len());
        let body = &cps[..cps.len().saturating_sub(1)];
        for stack in stacks {
            let Some(&top) = stack.last() else { continue };
            if matches!(self.at(top).ty, GreType::Token | GreType::TokenNot) {
                if self.match_token(top, token) {
                    let mut next = stack[..stack.len() - 1].to_vec();
                    let after = (top.0, top.1 + 1);
                    if !self.is_end_of_sequence(after) {
                        next.push(after);
                    }
                    self.advance_stack(next, &mut new_stacks);
                }
            } else {
                let mut current = vec![stack.clone()];
                for &c in body {
                    let mut next = Vec::new();
                    for s in &current {
                        self.accept_chr(s, c, &mut next);
                    }
                    current = next;
                    if current.is_empty() {
                        break;
                    }
                }
                for s in current {
                    if !new_stacks.contains(&s) {
                        new_stacks.push(s);
                    }
                }
            }
        }
        new_stacks
    }
}

/// A candidate token under test: its index in the array, its decoded text (`decoded[k]`) from
/// `off`, the trailing partial sequence, and its id.
#[derive(Clone, Copy, Debug)]
pub struct Candidate {
    /// Index in the candidates array.
    pub index: usize,
    /// Which decoded text.
    pub k: usize,
    /// Offset of the next code point to match.
    pub off: usize,
    /// The incomplete UTF-8 tail of the token's text.
    pub partial: PartialUtf8,
    /// Token id.
    pub id: i32,
}

impl Rules {
    /// The candidates no stack accepts.
    pub fn reject_candidates(
        &self,
        stacks: &[Stack],
        decoded: &[Vec<u32>],
        cands: &[Candidate],
    ) -> Vec<Candidate> {
        let Some(first) = stacks.first() else {
            // no stack can accept anything
            return cands.to_vec();
        };
        if cands.is_empty() {
            return Vec::new();
        }
        let mut rejects = self.reject_for_stack(first, decoded, cands);
        for s in &stacks[1..] {
            rejects = self.reject_for_stack(s, decoded, &rejects);
        }
        rejects
    }

    fn reject_for_stack(
        &self,
        stack: &Stack,
        decoded: &[Vec<u32>],
        cands: &[Candidate],
    ) -> Vec<Candidate> {
        let cp = |c: &Candidate| decoded[c.k].get(c.off).copied().unwrap_or(0);
        let mut rejects = Vec::with_capacity(cands.len());
        let Some(&top) = stack.last() else {
            for c in cands {
                if cp(c) != 0 || c.partial.n_remain != 0 {
                    rejects.push(*c);
                }
            }
            return rejects;
        };
        if matches!(self.at(top).ty, GreType::Token | GreType::TokenNot) {
            for c in cands {
                if cp(c) == 0 {
                    if c.partial.n_remain != 0 {
                        rejects.push(*c);
                    }
                } else if !self.match_token(top, c.id) {
                    rejects.push(*c);
                }
            }
            return rejects;
        }
        let mut next_cands = Vec::with_capacity(cands.len());
        for c in cands {
            let ch = cp(c);
            if ch == 0 {
                if c.partial.n_remain != 0 && !self.match_partial_char(top, c.partial) {
                    rejects.push(*c);
                }
            } else if self.match_char(top, ch).0 {
                next_cands.push(Candidate {
                    off: c.off + 1,
                    ..*c
                });
            } else {
                rejects.push(*c);
            }
        }
        let after = self.match_char(top, 0).1;
        let mut stack_after = stack[..stack.len() - 1].to_vec();
        if !self.is_end_of_sequence(after) {
            stack_after.push(after);
        }
        let mut next_stacks = Vec::new();
        self.advance_stack(stack_after, &mut next_stacks);
        for c in self.reject_candidates(&next_stacks, decoded, &next_cands) {
            rejects.push(Candidate {
                off: c.off - 1,
                ..c
            });
        }
        rejects
    }
}
