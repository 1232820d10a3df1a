//! A small backtracking regular-expression engine with ECMAScript semantics, enough for the
//! pre-tokenizer patterns upstream hands to `std::regex` (libstdc++, ECMAScript grammar, DFS
//! executor): alternation tried left to right, greedy and lazy quantifiers, `{n,m}`, bracket
//! classes with ranges, `\s \d \w` (ASCII, as the "C" locale), lookahead `(?=…)` / `(?!…)`,
//! `^ $ \b`, and the first-match search / iteration rules of `std::regex_iterator`.
//!
//! Text and pattern are sequences of code units (`u32`): upstream runs either a byte regex over
//! "collapsed" text (one byte per code point, non-ASCII replaced by a category byte) or a wide
//! regex over code points; both are plain unit sequences here.
//!
//! Backtracking uses an explicit stack, so long inputs cannot overflow the call stack (only
//! lookahead nesting recurses, bounded by the pattern).

/// One item of a bracket class.
#[derive(Clone, Copy, Debug)]
enum Item {
    Range(u32, u32),
    Space(bool),
    Digit(bool),
    Word(bool),
}

fn is_space(c: u32) -> bool {
    matches!(c, 0x09..=0x0D | 0x20)
}
fn is_digit(c: u32) -> bool {
    (0x30..=0x39).contains(&c)
}
fn is_word(c: u32) -> bool {
    matches!(c, 0x30..=0x39 | 0x41..=0x5A | 0x61..=0x7A | 0x5F)
}

/// A set of code units.
#[derive(Clone, Debug)]
struct Class {
    neg: bool,
    items: Vec<Item>,
    low: [u64; 4],
}

impl Class {
    fn new(neg: bool, items: Vec<Item>) -> Class {
        let mut c = Class {
            neg,
            items,
            low: [0; 4],
        };
        for u in 0..256u32 {
            if c.slow(u) {
                c.low[(u >> 6) as usize] |= 1 << (u & 63);
            }
        }
        c
    }
    fn slow(&self, u: u32) -> bool {
        let hit = self.items.iter().any(|it| match *it {
            Item::Range(a, b) => a <= u && u <= b,
            Item::Space(n) => is_space(u) != n,
            Item::Digit(n) => is_digit(u) != n,
            Item::Word(n) => is_word(u) != n,
        });
        hit != self.neg
    }
    #[inline]
    fn matches(&self, u: u32) -> bool {
        if u < 256 {
            self.low[(u >> 6) as usize] & (1 << (u & 63)) != 0
        } else {
            self.slow(u)
        }
    }
    /// Can a unit >= 256 match?
    fn high_possible(&self) -> bool {
        if self.neg {
            return true;
        }
        self.items.iter().any(|it| match *it {
            Item::Range(_, b) => b >= 256,
            Item::Space(n) | Item::Digit(n) | Item::Word(n) => n,
        })
    }
}

#[derive(Debug)]
enum Node {
    Empty,
    Class(usize),
    Cat(Vec<Node>),
    Alt(Vec<Node>),
    Look(bool, Box<Node>),
    Repeat(Box<Node>, u32, u32, bool),
    Bol,
    Eol,
    WordB(bool),
}

const INF: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
enum Inst {
    Class(usize),
    Run(usize, u32, u32),
    Split(usize, usize),
    Jmp(usize),
    Look(bool, usize, usize),
    Bol,
    Eol,
    WordB(bool),
    Match,
}

/// A compiled pattern.
#[derive(Debug)]
pub struct Regex {
    prog: Vec<Inst>,
    classes: Vec<Class>,
    /// First-unit filter: bitmap for units < 256 and whether units >= 256 can start a match;
    /// `None` when the pattern can match the empty string.
    first: Option<([u64; 4], bool)>,
}

struct Parser<'a> {
    p: &'a [u32],
    i: usize,
    classes: Vec<Class>,
}

type PResult<T> = std::result::Result<T, String>;

impl Parser<'_> {
    fn peek(&self) -> Option<u32> {
        self.p.get(self.i).copied()
    }
    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c as u32) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn class(&mut self, neg: bool, items: Vec<Item>) -> Node {
        self.classes.push(Class::new(neg, items));
        Node::Class(self.classes.len() - 1)
    }
    fn alt(&mut self) -> PResult<Node> {
        let mut alts = vec![self.cat()?];
        while self.eat('|') {
            alts.push(self.cat()?);
        }
        Ok(if alts.len() == 1 {
            alts.remove(0)
        } else {
            Node::Alt(alts)
        })
    }
    fn cat(&mut self) -> PResult<Node> {
        let mut v = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' as u32 || c == ')' as u32 {
                break;
            }
            let atom = self.atom()?;
            v.push(self.quant(atom)?);
        }
        Ok(match v.len() {
            0 => Node::Empty,
            1 => v.remove(0),
            _ => Node::Cat(v),
        })
    }
    fn number(&mut self) -> Option<u32> {
        let start = self.i;
        let mut n: u32 = 0;
        while let Some(c) = self.peek().filter(|&c| is_digit(c)) {
            n = n.saturating_mul(10).saturating_add(c - 0x30);
            self.i += 1;
        }
        (self.i > start).then_some(n)
    }
    fn quant(&mut self, atom: Node) -> PResult<Node> {
        let (min, max) = match self.peek().and_then(char::from_u32) {
            Some('*') => (0, INF),
            Some('+') => (1, INF),
            Some('?') => (0, 1),
            Some('{') => {
                self.i += 1;
                let min = self.number().ok_or("bad brace")?;
                let max = if self.eat(',') {
                    self.number().unwrap_or(INF)
                } else {
                    min
                };
                if !self.eat('}') || max < min {
                    return Err("bad brace".into());
                }
                self.i -= 1;
                (min, max)
            }
            _ => return Ok(atom),
        };
        self.i += 1;
        let greedy = !self.eat('?');
        if matches!(
            atom,
            Node::Bol | Node::Eol | Node::WordB(_) | Node::Look(..)
        ) {
            return Err("nothing to repeat".into());
        }
        Ok(Node::Repeat(Box::new(atom), min, max, greedy))
    }
    fn hex(&mut self, n: usize) -> PResult<u32> {
        let mut v = 0;
        for _ in 0..n {
            let c = self
                .peek()
                .and_then(char::from_u32)
                .and_then(|c| c.to_digit(16));
            v = v * 16 + c.ok_or("bad escape")?;
            self.i += 1;
        }
        Ok(v)
    }
    /// An escape after `\`: a class item or a single unit.
    fn escape(&mut self) -> PResult<Result<Item, u32>> {
        let c = self.peek().ok_or("trailing backslash")?;
        self.i += 1;
        Ok(match char::from_u32(c) {
            Some('d') => Ok(Item::Digit(false)),
            Some('D') => Ok(Item::Digit(true)),
            Some('s') => Ok(Item::Space(false)),
            Some('S') => Ok(Item::Space(true)),
            Some('w') => Ok(Item::Word(false)),
            Some('W') => Ok(Item::Word(true)),
            Some('n') => Err(0x0A),
            Some('r') => Err(0x0D),
            Some('t') => Err(0x09),
            Some('f') => Err(0x0C),
            Some('v') => Err(0x0B),
            Some('0') => Err(0),
            Some('x') => Err(self.hex(2)?),
            Some('u') => Err(self.hex(4)?),
            _ => Err(c),
        })
    }
    fn atom(&mut self) -> PResult<Node> {
        let c = self.peek().ok_or("unexpected end")?;
        self.i += 1;
        match char::from_u32(c) {
            Some('(') => {
                let look = if self.eat('?') {
                    if self.eat(':') {
                        None
                    } else if self.eat('=') {
                        Some(false)
                    } else if self.eat('!') {
                        Some(true)
                    } else {
                        return Err("unsupported group".into());
                    }
                } else {
                    None
                };
                let inner = self.alt()?;
                if !self.eat(')') {
                    return Err("missing )".into());
                }
                Ok(match look {
                    Some(neg) => Node::Look(neg, Box::new(inner)),
                    None => inner,
                })
            }
            Some('[') => self.bracket(),
            Some('.') => Ok(self.class(
                true,
                vec![
                    Item::Range(0x0A, 0x0A),
                    Item::Range(0x0D, 0x0D),
                    Item::Range(0x2028, 0x2029),
                ],
            )),
            Some('^') => Ok(Node::Bol),
            Some('$') => Ok(Node::Eol),
            Some('\\') => {
                if self.eat('b') {
                    return Ok(Node::WordB(false));
                }
                if self.eat('B') {
                    return Ok(Node::WordB(true));
                }
                Ok(match self.escape()? {
                    Ok(item) => self.class(false, vec![item]),
                    Err(u) => self.class(false, vec![Item::Range(u, u)]),
                })
            }
            Some('*') | Some('+') | Some('?') | Some(')') => Err("nothing to repeat".into()),
            _ => Ok(self.class(false, vec![Item::Range(c, c)])),
        }
    }
    fn bracket_unit(&mut self) -> PResult<Result<Item, u32>> {
        let c = self.peek().ok_or("missing ]")?;
        self.i += 1;
        if c == '\\' as u32 {
            if self.eat('b') {
                return Ok(Err(0x08));
            }
            return self.escape();
        }
        Ok(Err(c))
    }
    fn bracket(&mut self) -> PResult<Node> {
        let neg = self.eat('^');
        let mut items = Vec::new();
        loop {
            match self.peek() {
                None => return Err("missing ]".into()),
                Some(c) if c == ']' as u32 => {
                    self.i += 1;
                    break;
                }
                _ => {}
            }
            match self.bracket_unit()? {
                Ok(item) => items.push(item),
                Err(lo) => {
                    let is_range = self.peek() == Some('-' as u32)
                        && self.p.get(self.i + 1).is_some_and(|&n| n != ']' as u32);
                    if is_range {
                        self.i += 1;
                        match self.bracket_unit()? {
                            Err(hi) if hi >= lo => items.push(Item::Range(lo, hi)),
                            _ => return Err("bad range".into()),
                        }
                    } else {
                        items.push(Item::Range(lo, lo));
                    }
                }
            }
        }
        Ok(self.class(neg, items))
    }
}

fn nullable(n: &Node) -> bool {
    match n {
        Node::Empty | Node::Look(..) | Node::Bol | Node::Eol | Node::WordB(_) => true,
        Node::Class(_) => false,
        Node::Cat(v) => v.iter().all(nullable),
        Node::Alt(v) => v.iter().any(nullable),
        Node::Repeat(b, min, _, _) => *min == 0 || nullable(b),
    }
}

/// Units that can start a non-empty match of `n`: (bitmap < 256, any >= 256).
fn first_set(n: &Node, classes: &[Class], acc: &mut ([u64; 4], bool)) {
    match n {
        Node::Class(c) => {
            let cl = &classes[*c];
            for i in 0..4 {
                acc.0[i] |= cl.low[i];
            }
            acc.1 |= cl.high_possible();
        }
        Node::Cat(v) => {
            for x in v {
                first_set(x, classes, acc);
                if !nullable(x) {
                    break;
                }
            }
        }
        Node::Alt(v) => v.iter().for_each(|x| first_set(x, classes, acc)),
        Node::Repeat(b, _, _, _) => first_set(b, classes, acc),
        _ => {}
    }
}

fn compile(n: &Node, prog: &mut Vec<Inst>) {
    match n {
        Node::Empty => {}
        Node::Class(c) => prog.push(Inst::Class(*c)),
        Node::Cat(v) => v.iter().for_each(|x| compile(x, prog)),
        Node::Alt(v) => {
            let mut jumps = Vec::new();
            for (k, x) in v.iter().enumerate() {
                if k + 1 < v.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(x, prog);
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(x, prog);
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Look(neg, b) => {
            let at = prog.len();
            prog.push(Inst::Look(*neg, at + 1, 0));
            compile(b, prog);
            prog.push(Inst::Match);
            let next = prog.len();
            prog[at] = Inst::Look(*neg, at + 1, next);
        }
        Node::Bol => prog.push(Inst::Bol),
        Node::Eol => prog.push(Inst::Eol),
        Node::WordB(neg) => prog.push(Inst::WordB(*neg)),
        Node::Repeat(b, min, max, greedy) => {
            if let (Node::Class(c), true) = (&**b, *greedy) {
                prog.push(Inst::Run(*c, *min, *max));
                return;
            }
            for _ in 0..*min {
                compile(b, prog);
            }
            let split = |prog: &mut Vec<Inst>, body: usize, out: usize| {
                if *greedy {
                    Inst::Split(body, out)
                } else {
                    let _ = prog;
                    Inst::Split(out, body)
                }
            };
            if *max == INF {
                // a nullable body is run at most once more (no empty loops)
                let at = prog.len();
                prog.push(Inst::Jmp(0));
                compile(b, prog);
                if !nullable(b) {
                    prog.push(Inst::Jmp(at));
                }
                let out = prog.len();
                prog[at] = split(prog, at + 1, out);
            } else {
                let mut holes = Vec::new();
                for _ in *min..*max {
                    holes.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    compile(b, prog);
                }
                let out = prog.len();
                for h in holes {
                    prog[h] = split(prog, h + 1, out);
                }
            }
        }
    }
}

enum Frame {
    Alt(usize, usize),
    Run(usize, usize, usize),
}

impl Regex {
    /// Compile a pattern given as code units.
    pub fn new(pattern: &[u32]) -> std::result::Result<Regex, String> {
        let mut p = Parser {
            p: pattern,
            i: 0,
            classes: Vec::new(),
        };
        let node = p.alt()?;
        if p.i != pattern.len() {
            return Err("unbalanced )".into());
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog);
        prog.push(Inst::Match);
        let first = if nullable(&node) {
            None
        } else {
            let mut acc = ([0u64; 4], false);
            first_set(&node, &p.classes, &mut acc);
            Some(acc)
        };
        Ok(Regex {
            prog,
            classes: p.classes,
            first,
        })
    }

    fn word_at(t: &[u32], lo: usize, hi: usize, i: usize) -> bool {
        i >= lo && i < hi && is_word(t[i])
    }

    /// Run the program from `pc` at `pos`; the end of the first match found, if any.
    fn run(
        &self,
        t: &[u32],
        lo: usize,
        hi: usize,
        pc0: usize,
        pos0: usize,
        not_null: bool,
    ) -> Option<usize> {
        let mut stack: Vec<Frame> = Vec::new();
        let (mut pc, mut pos) = (pc0, pos0);
        loop {
            let ok = match self.prog[pc] {
                Inst::Class(c) => {
                    if pos < hi && self.classes[c].matches(t[pos]) {
                        pos += 1;
                        pc += 1;
                        true
                    } else {
                        false
                    }
                }
                Inst::Run(c, min, max) => {
                    let cl = &self.classes[c];
                    let limit = if max == INF {
                        hi
                    } else {
                        hi.min(pos.saturating_add(max as usize))
                    };
                    let mut e = pos;
                    while e < limit && cl.matches(t[e]) {
                        e += 1;
                    }
                    if e - pos < min as usize {
                        false
                    } else {
                        let floor = pos + min as usize;
                        if e > floor {
                            stack.push(Frame::Run(pc + 1, floor, e));
                        }
                        pos = e;
                        pc += 1;
                        true
                    }
                }
                Inst::Split(a, b) => {
                    stack.push(Frame::Alt(b, pos));
                    pc = a;
                    true
                }
                Inst::Jmp(a) => {
                    pc = a;
                    true
                }
                Inst::Look(neg, body, next) => {
                    let hit = self.run(t, lo, hi, body, pos, false).is_some();
                    pc = next;
                    hit != neg
                }
                Inst::Bol => {
                    pc += 1;
                    pos == lo
                }
                Inst::Eol => {
                    pc += 1;
                    pos == hi
                }
                Inst::WordB(neg) => {
                    let b = Self::word_at(t, lo, hi, pos.wrapping_sub(1))
                        != Self::word_at(t, lo, hi, pos);
                    pc += 1;
                    b != neg
                }
                Inst::Match => {
                    if !(not_null && pos == pos0) {
                        return Some(pos);
                    }
                    false
                }
            };
            if !ok {
                match stack.pop()? {
                    Frame::Alt(b, p) => {
                        pc = b;
                        pos = p;
                    }
                    Frame::Run(next, floor, cur) => {
                        let cur = cur - 1;
                        if cur > floor {
                            stack.push(Frame::Run(next, floor, cur));
                        }
                        pc = next;
                        pos = cur;
                    }
                }
            }
        }
    }

    fn can_start(&self, u: u32) -> bool {
        match &self.first {
            None => true,
            Some((low, high)) => {
                if u < 256 {
                    low[(u >> 6) as usize] & (1 << (u & 63)) != 0
                } else {
                    *high
                }
            }
        }
    }

    /// First match in `t[from..hi]` (the subject being `t[lo..hi]`), as `(start, end)`.
    fn search(&self, t: &[u32], lo: usize, hi: usize, from: usize) -> Option<(usize, usize)> {
        let mut s = from;
        while s <= hi {
            if (s < hi && self.can_start(t[s])) || self.first.is_none() {
                if let Some(e) = self.run(t, lo, hi, 0, s, false) {
                    return Some((s, e));
                }
            }
            s += 1;
        }
        None
    }

    /// All matches in `t[lo..hi]` as `std::regex_iterator` yields them (after an empty match, a
    /// non-empty match at the same place is tried before moving on by one unit).
    pub fn find_iter(&self, t: &[u32], lo: usize, hi: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut next = self.search(t, lo, hi, lo);
        while let Some((s, e)) = next {
            out.push((s, e));
            next = if s == e {
                if e == hi {
                    None
                } else if let Some(e2) = self.run(t, lo, hi, 0, e, true) {
                    Some((e, e2))
                } else {
                    self.search(t, lo, hi, e + 1)
                }
            } else {
                self.search(t, lo, hi, e)
            };
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(s: &str) -> Vec<u32> {
        s.chars().map(|c| c as u32).collect()
    }
    fn find(p: &str, t: &str) -> Vec<String> {
        let re = Regex::new(&units(p)).unwrap();
        let tu = units(t);
        re.find_iter(&tu, 0, tu.len())
            .into_iter()
            .map(|(s, e)| {
                tu[s..e]
                    .iter()
                    .map(|&u| char::from_u32(u).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn basics() {
        assert_eq!(find("[0-9]+", "ab 123 4"), vec!["123", "4"]);
        assert_eq!(find("\\s+(?!\\S)|\\s+", "a   b  "), vec!["  ", " ", "  "]);
        assert_eq!(find("'s|'t| ?[a-z]+", "it's a"), vec!["it", "'s", " a"]);
        assert_eq!(find("\\s+$", "a  b  "), vec!["  "]);
        assert_eq!(find("[0-9]{1,3}", "12345"), vec!["123", "45"]);
        assert_eq!(find("(?=(\\d{3})+(?!\\d))", "1234567").len(), 2);
        assert_eq!(find("[^(\\s|.,!?)]+", "a,b c"), vec!["a", "b", "c"]);
        assert_eq!(find("(a|ab)(c|bcd)", "abcd"), vec!["abcd"]);
        assert_eq!(find("a*?b", "aab"), vec!["aab"]);
        assert_eq!(find("((?=[A-Z])([^a-z]))+", "ABc"), vec!["AB"]);
    }
}
