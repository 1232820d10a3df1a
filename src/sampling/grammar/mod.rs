//! GBNF grammars: the parser ([`parser`]), the pushdown matcher ([`engine`]) and the grammar
//! sampler, which sets the logit of every candidate the grammar cannot accept to -inf and
//! advances the grammar by each accepted token (upstream's `llama-grammar.cpp`).
//!
//! Lazy grammars are supported with trigger *tokens*; trigger *patterns* (regular expressions)
//! are not yet.

pub mod engine;
pub mod parser;

use std::rc::Rc;

use engine::{decode_utf8, Candidate, PartialUtf8, Rules, Stack};

use super::{Sampler, TokenDataArray};
use crate::error::{Error, Result};

/// Grammar element kinds (upstream's `llama_gretype`, same numbers).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum GreType {
    End = 0,
    Alt = 1,
    RuleRef = 2,
    Char = 3,
    CharNot = 4,
    CharRngUpper = 5,
    CharAlt = 6,
    CharAny = 7,
    Token = 8,
    TokenNot = 9,
}

/// One grammar element: a kind and a code point, rule id or token id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Element {
    /// The kind.
    pub ty: GreType,
    /// Code point, rule id or token id.
    pub value: u32,
}

impl Element {
    /// An element.
    pub const fn new(ty: GreType, value: u32) -> Self {
        Element { ty, value }
    }
}

/// What vocabulary-aware samplers (grammar, infill) need from a vocabulary.
pub trait SamplerVocab {
    /// The text of a token with special tokens rendered (`token_to_piece(t, 0, true)`).
    fn piece(&self, token: i32) -> Vec<u8>;
    /// The text of a token, control tokens giving nothing (`token_to_piece(t, 0, false)`).
    fn piece_plain(&self, token: i32) -> Vec<u8>;
    /// End-of-generation token?
    fn is_eog(&self, token: i32) -> bool;
    /// Tokenises `<text>` literals of a grammar (special tokens parsed, nothing added).
    fn tokenize_special(&self, text: &[u8]) -> Vec<i32>;
    /// The end-of-turn token, or -1.
    fn eot(&self) -> i32;
    /// The end-of-sequence token, or -1.
    fn eos(&self) -> i32;
}

impl SamplerVocab for crate::vocab::Vocab {
    fn piece(&self, token: i32) -> Vec<u8> {
        self.token_to_piece(token, 0, true)
    }
    fn piece_plain(&self, token: i32) -> Vec<u8> {
        self.token_to_piece(token, 0, false)
    }
    fn is_eog(&self, token: i32) -> bool {
        crate::vocab::Vocab::is_eog(self, token)
    }
    fn tokenize_special(&self, text: &[u8]) -> Vec<i32> {
        self.tokenize(text, false, true)
    }
    fn eot(&self) -> i32 {
        crate::vocab::Vocab::eot(self)
    }
    fn eos(&self) -> i32 {
        crate::vocab::Vocab::eos(self)
    }
}

/// A parsed grammar and its matching state.
#[derive(Clone, Debug)]
pub struct Grammar {
    rules: Rules,
    stacks: Vec<Stack>,
    partial_utf8: PartialUtf8,
    awaiting_trigger: bool,
    trigger_tokens: Vec<i32>,
}

impl Grammar {
    /// Parses `src` and positions the grammar at rule `root`. `tokenize` resolves `<text>`.
    pub fn parse(
        src: &[u8],
        root: &[u8],
        tokenize: Option<parser::TokenizeFn<'_>>,
    ) -> Result<Grammar> {
        let mut p = parser::Parser::new(tokenize);
        p.parse(src)?;
        if p.rules.is_empty() {
            return Err(Error::invalid("failed to parse grammar"));
        }
        let Some(&start) = p.symbol_ids.get(root) else {
            return Err(Error::invalid(format!(
                "grammar does not contain a '{}' symbol",
                String::from_utf8_lossy(root)
            )));
        };
        Self::from_rules(p.rules, start)
    }

    /// A grammar from rules (each ending with `End`) and a start rule.
    pub fn from_rules(rules: Vec<Vec<Element>>, start: u32) -> Result<Grammar> {
        let rules = Rules(rules);
        rules.validate()?;
        if start as usize >= rules.0.len() {
            return Err(Error::invalid("grammar start rule out of range"));
        }
        let stacks = rules.initial_stacks(start);
        Ok(Grammar {
            rules,
            stacks,
            partial_utf8: PartialUtf8::default(),
            awaiting_trigger: false,
            trigger_tokens: Vec::new(),
        })
    }

    /// The rules (for inspection and tests).
    pub fn rules(&self) -> &[Vec<Element>] {
        &self.rules.0
    }

    /// The current stacks (for inspection and tests).
    pub fn stacks(&self) -> &[Stack] {
        &self.stacks
    }

    /// Whether the grammar can end here (some stack is empty).
    pub fn can_end(&self) -> bool {
        self.stacks.iter().any(|s| s.is_empty())
    }

    /// Sets -inf on every candidate the grammar rejects.
    pub fn apply(&self, cur: &mut TokenDataArray<'_>, vocab: &dyn SamplerVocab) {
        if self.awaiting_trigger {
            return;
        }
        let allow_eog = self.can_end();
        let mut decoded: Vec<Vec<u32>> = Vec::with_capacity(cur.data.len());
        let mut cands: Vec<Candidate> = Vec::with_capacity(cur.data.len());
        for (i, t) in cur.data.iter_mut().enumerate() {
            if vocab.is_eog(t.id) {
                if !allow_eog {
                    t.logit = f32::NEG_INFINITY;
                }
                continue;
            }
            let piece = vocab.piece(t.id);
            if piece.first().is_none_or(|&b| b == 0) {
                t.logit = f32::NEG_INFINITY;
                continue;
            }
            let (cps, partial) = decode_utf8(&piece, self.partial_utf8);
            cands.push(Candidate {
                index: i,
                k: decoded.len(),
                off: 0,
                partial,
                id: t.id,
            });
            decoded.push(cps);
        }
        for r in self.rules.reject_candidates(&self.stacks, &decoded, &cands) {
            cur.data[r.index].logit = f32::NEG_INFINITY;
        }
    }

    /// Advances the grammar by an accepted token.
    pub fn accept(&mut self, token: i32, vocab: &dyn SamplerVocab) -> Result<()> {
        let piece = vocab.piece(token);
        if self.awaiting_trigger {
            if self.trigger_tokens.contains(&token) {
                self.awaiting_trigger = false;
                return self.accept_token(token, &piece);
            }
            return Ok(());
        }
        if vocab.is_eog(token) {
            if self.can_end() {
                return Ok(());
            }
            return Err(Error::invalid(
                "grammar: end of generation accepted where the grammar cannot end",
            ));
        }
        self.accept_token(token, &piece)
    }

    /// Advances by `token` whose text is `piece`.
    pub fn accept_token(&mut self, token: i32, piece: &[u8]) -> Result<()> {
        let (cps, partial) = decode_utf8(piece, self.partial_utf8);
        self.stacks = self.rules.accept_token(&self.stacks, token, &cps);
        self.partial_utf8 = partial;
        if self.stacks.is_empty() {
            return Err(Error::invalid(format!(
                "Unexpected empty grammar stack after accepting piece: {} ({token})",
                String::from_utf8_lossy(piece)
            )));
        }
        Ok(())
    }

    /// Advances by a string (code point by code point).
    pub fn accept_str(&mut self, s: &[u8]) -> Result<()> {
        let (cps, partial) = decode_utf8(s, self.partial_utf8);
        for &c in &cps[..cps.len().saturating_sub(1)] {
            let mut next = Vec::new();
            for st in &self.stacks {
                self.rules.accept_chr(st, c, &mut next);
            }
            self.stacks = next;
        }
        self.partial_utf8 = partial;
        if self.stacks.is_empty() {
            return Err(Error::invalid(
                "Unexpected empty grammar stack after accepting piece",
            ));
        }
        Ok(())
    }
}

/// The grammar sampler (`llama_sampler_init_grammar`). An empty grammar string gives a sampler
/// that does nothing.
#[derive(Clone)]
pub struct GrammarSampler {
    vocab: Rc<dyn SamplerVocab>,
    grammar_str: Vec<u8>,
    grammar_root: Vec<u8>,
    lazy: bool,
    trigger_tokens: Vec<i32>,
    grammar: Option<Grammar>,
}

impl std::fmt::Debug for GrammarSampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrammarSampler")
            .field("root", &String::from_utf8_lossy(&self.grammar_root))
            .finish()
    }
}

impl GrammarSampler {
    /// Parses `grammar_str` (start symbol `grammar_root`). `lazy` grammars wait for one of
    /// `trigger_tokens` before constraining.
    pub fn new(
        vocab: Rc<dyn SamplerVocab>,
        grammar_str: &[u8],
        grammar_root: &[u8],
        lazy: bool,
        trigger_tokens: &[i32],
    ) -> Result<GrammarSampler> {
        let mut s = GrammarSampler {
            vocab,
            grammar_str: grammar_str.to_vec(),
            grammar_root: grammar_root.to_vec(),
            lazy,
            trigger_tokens: trigger_tokens.to_vec(),
            grammar: None,
        };
        if !grammar_str.is_empty() {
            s.grammar = Some(s.build()?);
        }
        Ok(s)
    }

    fn build(&self) -> Result<Grammar> {
        let v = Rc::clone(&self.vocab);
        let tok = move |t: &[u8]| v.tokenize_special(t);
        let mut g = Grammar::parse(&self.grammar_str, &self.grammar_root, Some(&tok))?;
        g.awaiting_trigger = self.lazy;
        g.trigger_tokens = self.trigger_tokens.clone();
        Ok(g)
    }

    /// The grammar state, if any.
    pub fn grammar(&self) -> Option<&Grammar> {
        self.grammar.as_ref()
    }
}

impl Sampler for GrammarSampler {
    fn name(&self) -> &str {
        "grammar"
    }

    fn accept(&mut self, token: i32) {
        if let Some(g) = self.grammar.as_mut() {
            // a token the grammar cannot take leaves it without stacks: everything is rejected
            // afterwards (upstream throws)
            let _ = g.accept(token, self.vocab.as_ref());
        }
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        if let Some(g) = self.grammar.as_ref() {
            g.apply(cur, self.vocab.as_ref());
        }
    }

    fn reset(&mut self) {
        if self.grammar.is_some() {
            if let Ok(g) = self.build() {
                self.grammar = Some(g);
            }
        }
    }

    fn try_clone(&self) -> Result<Box<dyn Sampler>> {
        Ok(Box::new(self.clone()))
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
