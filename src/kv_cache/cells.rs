//! KV cell metadata: which position and which sequences each cache cell holds.
//!
//! Pure bookkeeping (integers only, no tensors), mirroring the semantics of upstream's
//! `llama_kv_cells` + the memory operations of `llama_kv_cache`: an empty cell has `pos == -1`;
//! a cell may belong to several sequences (after `seq_cp`); position shifts (`seq_add`,
//! `seq_div`) are accumulated per cell in `shift` until the K re-rotation consumes them.
//! Nothing here allocates after construction.

#![forbid(unsafe_code)]

/// Maximum number of sequences (upstream's `LLAMA_MAX_SEQ`).
pub const MAX_SEQ: usize = 256;

/// A set of sequence ids `0..MAX_SEQ` as a fixed bitset.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub struct SeqSet([u64; MAX_SEQ / 64]);

impl SeqSet {
    /// The set holding only `s`.
    pub fn single(s: i32) -> SeqSet {
        let mut x = SeqSet::default();
        x.insert(s);
        x
    }
    /// Whether `s` is in the set (false for ids out of range).
    pub fn contains(&self, s: i32) -> bool {
        (0..MAX_SEQ as i32).contains(&s) && self.0[s as usize / 64] >> (s as usize % 64) & 1 == 1
    }
    /// Adds `s` (ignored when out of range).
    pub fn insert(&mut self, s: i32) {
        if (0..MAX_SEQ as i32).contains(&s) {
            self.0[s as usize / 64] |= 1 << (s as usize % 64);
        }
    }
    /// Removes `s`.
    pub fn remove(&mut self, s: i32) {
        if (0..MAX_SEQ as i32).contains(&s) {
            self.0[s as usize / 64] &= !(1 << (s as usize % 64));
        }
    }
    /// Number of members.
    pub fn count(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
    /// The raw bits (state save).
    pub fn bits(&self) -> [u64; MAX_SEQ / 64] {
        self.0
    }
    /// A set from raw bits (state load).
    pub fn from_bits(b: [u64; MAX_SEQ / 64]) -> SeqSet {
        SeqSet(b)
    }
    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    /// The smallest member, if any.
    pub fn first(&self) -> Option<i32> {
        for (i, w) in self.0.iter().enumerate() {
            if *w != 0 {
                return Some((i * 64) as i32 + w.trailing_zeros() as i32);
            }
        }
        None
    }
}

/// Metadata of all cells of one KV cache stream.
#[derive(Clone, Debug)]
pub struct KvCells {
    pos: Vec<i32>,
    shift: Vec<i32>,
    seq: Vec<SeqSet>,
    used: u32,
    head: u32,
    has_shift: bool,
}

/// Normalises a `[p0, p1)` range as upstream does: `p0 < 0` → 0, `p1 < 0` → +inf.
fn norm_range(p0: i32, p1: i32) -> (i32, i32) {
    (p0.max(0), if p1 < 0 { i32::MAX } else { p1 })
}

impl KvCells {
    /// `size` empty cells.
    pub fn new(size: u32) -> KvCells {
        let n = size as usize;
        KvCells {
            pos: vec![-1; n],
            shift: vec![0; n],
            seq: vec![SeqSet::default(); n],
            used: 0,
            head: 0,
            has_shift: false,
        }
    }
    /// Number of cells.
    pub fn size(&self) -> u32 {
        self.pos.len() as u32
    }
    /// Number of non-empty cells.
    pub fn used(&self) -> u32 {
        self.used
    }
    /// Index of the last non-empty cell + 1 (0 when all are empty).
    pub fn used_max_p1(&self) -> u32 {
        self.pos
            .iter()
            .rposition(|&p| p >= 0)
            .map_or(0, |i| i as u32 + 1)
    }
    /// Whether cell `i` is empty.
    pub fn is_empty(&self, i: u32) -> bool {
        self.pos[i as usize] < 0
    }
    /// Position of cell `i` (-1 when empty).
    pub fn pos(&self, i: u32) -> i32 {
        self.pos[i as usize]
    }
    /// Accumulated shift of cell `i` since the last [`KvCells::reset_shift`].
    pub fn shift(&self, i: u32) -> i32 {
        self.shift[i as usize]
    }
    /// Whether any cell has a pending shift.
    pub fn has_shift(&self) -> bool {
        self.has_shift
    }
    /// Clears the pending shifts (after the K re-rotation ran).
    pub fn reset_shift(&mut self) {
        self.has_shift = false;
        self.shift.iter_mut().for_each(|s| *s = 0);
    }
    /// The sequences of cell `i`.
    pub fn seqs(&self, i: u32) -> SeqSet {
        self.seq[i as usize]
    }
    /// Restores a saved cell: position, sequences and pending shift.
    pub fn restore(&mut self, i: u32, pos: i32, seqs: SeqSet, shift: i32) {
        self.apply(i, pos, seqs);
        self.shift[i as usize] = shift;
        if shift != 0 {
            self.has_shift = true;
        }
    }
    /// Whether cell `i` belongs to sequence `s`.
    pub fn seq_has(&self, i: u32, s: i32) -> bool {
        self.seq[i as usize].contains(s)
    }
    /// Number of sequences cell `i` belongs to.
    pub fn seq_count(&self, i: u32) -> u32 {
        self.seq[i as usize].count()
    }
    /// Empties every cell.
    pub fn clear(&mut self) {
        self.pos.iter_mut().for_each(|p| *p = -1);
        self.seq.iter_mut().for_each(|s| *s = SeqSet::default());
        self.shift.iter_mut().for_each(|s| *s = 0);
        self.used = 0;
        self.head = 0;
        self.has_shift = false;
    }

    fn free(&mut self, i: usize) {
        if self.pos[i] >= 0 {
            self.used -= 1;
        }
        self.pos[i] = -1;
        self.shift[i] = 0;
        self.seq[i] = SeqSet::default();
    }

    fn lower_head(&mut self, new_head: Option<usize>) {
        if let Some(h) = new_head {
            if (h as u32) < self.head {
                self.head = h as u32;
            }
        }
    }

    /// Finds `n` usable cells (not necessarily contiguous), searching from the head as upstream
    /// does; writes their indices into `out[..n]`. Returns false when the cache has no room.
    /// A cell is usable when empty, or (sliding window) when its only sequence has moved past it
    /// by at least `n_swa` positions (`n_swa == 0`: no window).
    pub fn find_slot(&self, n: u32, n_swa: u32, out: &mut [u32]) -> bool {
        let size = self.size();
        if n > size || out.len() < n as usize {
            return false;
        }
        let mut head = self.head;
        if head > self.used + 2 * n {
            head = 0;
        }
        let mut found = 0u32;
        let mut tested = 0u32;
        while found < n && tested < size {
            if head >= size {
                head = 0;
            }
            let i = head;
            head += 1;
            tested += 1;
            let mut usable = self.is_empty(i);
            if !usable && n_swa > 0 && self.seq_count(i) == 1 {
                if let Some(s) = self.seq[i as usize].first() {
                    usable = self.seq_pos_max(s) + 1 - self.pos(i) >= n_swa as i32;
                }
            }
            if usable {
                out[found as usize] = i;
                found += 1;
            }
        }
        found == n
    }

    /// Stores a token at cell `i`: position `pos`, sequences `seqs` (replaces what was there).
    pub fn apply(&mut self, i: u32, pos: i32, seqs: SeqSet) {
        let iu = i as usize;
        if self.pos[iu] < 0 {
            self.used += 1;
        }
        self.pos[iu] = pos;
        self.shift[iu] = 0;
        self.seq[iu] = seqs;
        self.head = i + 1;
        if self.head >= self.size() {
            self.head = 0;
        }
    }

    /// Removes sequence `seq` (all sequences when `seq < 0`) from the cells with position in
    /// `[p0, p1)`; cells left with no sequence become empty. Always succeeds (returns true).
    pub fn seq_rm(&mut self, seq: i32, p0: i32, p1: i32) -> bool {
        let (p0, p1) = norm_range(p0, p1);
        let mut new_head = None;
        for i in 0..self.pos.len() {
            let p = self.pos[i];
            if p < 0 || p < p0 || p >= p1 {
                continue;
            }
            if seq < 0 {
                self.free(i);
                new_head.get_or_insert(i);
            } else if self.seq[i].contains(seq) {
                self.seq[i].remove(seq);
                if self.seq[i].is_empty() {
                    self.free(i);
                    new_head.get_or_insert(i);
                }
            }
        }
        self.lower_head(new_head);
        true
    }

    /// Adds `dst` to every cell of `src` with position in `[p0, p1)`.
    pub fn seq_cp(&mut self, src: i32, dst: i32, p0: i32, p1: i32) {
        if src == dst {
            return;
        }
        let (p0, p1) = norm_range(p0, p1);
        for i in 0..self.pos.len() {
            let p = self.pos[i];
            if p >= 0 && p >= p0 && p < p1 && self.seq[i].contains(src) {
                self.seq[i].insert(dst);
            }
        }
    }

    /// Keeps only sequence `seq`: cells without it become empty, cells with it keep only it.
    pub fn seq_keep(&mut self, seq: i32) {
        let mut new_head = None;
        for i in 0..self.pos.len() {
            if self.pos[i] < 0 {
                continue;
            }
            if self.seq[i].contains(seq) {
                self.seq[i] = SeqSet::single(seq);
            } else {
                self.free(i);
                new_head.get_or_insert(i);
            }
        }
        self.lower_head(new_head);
    }

    /// Adds `delta` to the positions of `seq`'s cells in `[p0, p1)`; cells pushed below 0 become
    /// empty.
    pub fn seq_add(&mut self, seq: i32, p0: i32, p1: i32, delta: i32) {
        if delta == 0 {
            return;
        }
        let (p0, p1) = norm_range(p0, p1);
        if p0 == p1 {
            return;
        }
        let mut new_head = None;
        for i in 0..self.pos.len() {
            let p = self.pos[i];
            if p < 0 || p < p0 || p >= p1 || !self.seq[i].contains(seq) {
                continue;
            }
            self.has_shift = true;
            if p + delta < 0 {
                self.free(i);
                new_head.get_or_insert(i);
            } else {
                self.pos[i] = p + delta;
                self.shift[i] += delta;
            }
        }
        self.head = new_head.map_or(0, |h| h as u32);
    }

    /// Divides the positions of `seq`'s cells in `[p0, p1)` by `d` (integer division).
    pub fn seq_div(&mut self, seq: i32, p0: i32, p1: i32, d: i32) {
        if d == 1 || d == 0 {
            return;
        }
        let (p0, p1) = norm_range(p0, p1);
        if p0 == p1 {
            return;
        }
        for i in 0..self.pos.len() {
            let p = self.pos[i];
            if p < 0 || p < p0 || p >= p1 || !self.seq[i].contains(seq) {
                continue;
            }
            self.pos[i] = p / d;
            self.shift[i] += p - p / d;
            self.has_shift = true;
        }
    }

    /// Smallest position of `seq` in the cache (-1 when it has none).
    pub fn seq_pos_min(&self, seq: i32) -> i32 {
        let mut m = -1;
        for i in 0..self.pos.len() {
            if self.pos[i] >= 0 && self.seq[i].contains(seq) && (m < 0 || self.pos[i] < m) {
                m = self.pos[i];
            }
        }
        m
    }

    /// Largest position of `seq` in the cache (-1 when it has none).
    pub fn seq_pos_max(&self, seq: i32) -> i32 {
        let mut m = -1;
        for i in 0..self.pos.len() {
            if self.pos[i] >= 0 && self.seq[i].contains(seq) && self.pos[i] > m {
                m = self.pos[i];
            }
        }
        m
    }

    /// Whether a token of sequence `seq` at position `p` may attend to cell `i`
    /// (causal + sequence membership + optional standard sliding window of `n_swa`).
    pub fn visible(&self, i: u32, seq: i32, p: i32, n_swa: u32) -> bool {
        let pc = self.pos[i as usize];
        if pc < 0 || pc > p || !self.seq[i as usize].contains(seq) {
            return false;
        }
        n_swa == 0 || p - pc < n_swa as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(c: &mut KvCells, seq: i32, pos: std::ops::Range<i32>) -> Vec<u32> {
        let n = pos.len() as u32;
        let mut idx = vec![0; n as usize];
        assert!(c.find_slot(n, 0, &mut idx));
        for (k, p) in pos.enumerate() {
            c.apply(idx[k], p, SeqSet::single(seq));
        }
        idx
    }

    #[test]
    fn basic_ops() {
        let mut c = KvCells::new(16);
        assert_eq!(fill(&mut c, 0, 0..5), vec![0, 1, 2, 3, 4]);
        fill(&mut c, 1, 0..3);
        assert_eq!(c.used(), 8);
        assert_eq!((c.seq_pos_min(0), c.seq_pos_max(0)), (0, 4));
        assert_eq!((c.seq_pos_min(1), c.seq_pos_max(1)), (0, 2));
        assert_eq!(c.seq_pos_max(2), -1);
        c.seq_rm(0, 3, -1);
        assert_eq!(c.seq_pos_max(0), 3 - 1);
        assert_eq!(c.used(), 6);
        c.seq_cp(1, 2, -1, -1);
        assert_eq!(c.seq_pos_max(2), 2);
        assert_eq!(c.seq_count(5), 2);
        c.seq_keep(2);
        assert_eq!(c.seq_pos_max(0), -1);
        assert_eq!(c.seq_pos_max(1), -1);
        assert_eq!(c.used(), 3);
        c.seq_add(2, 1, -1, 10);
        assert!(c.has_shift());
        assert_eq!(c.seq_pos_max(2), 12);
        assert_eq!(c.seq_pos_min(2), 0);
        c.seq_div(2, -1, -1, 4);
        assert_eq!(c.seq_pos_max(2), 3);
        c.seq_add(2, -1, -1, -3);
        assert_eq!(c.used(), 1);
        c.seq_rm(-1, -1, -1);
        assert_eq!(c.used(), 0);
        assert_eq!(c.used_max_p1(), 0);
    }

    #[test]
    fn slot_search_and_swa() {
        let mut c = KvCells::new(8);
        fill(&mut c, 0, 0..8);
        let mut idx = [0u32; 2];
        assert!(!c.find_slot(1, 0, &mut idx));
        // with a window of 4, cells whose position is >= 4 behind the max are reusable
        assert!(c.find_slot(2, 4, &mut idx));
        assert!(c.pos(idx[0]) <= 3 && c.pos(idx[1]) <= 3);
        assert!(c.visible(7, 0, 7, 4) && !c.visible(3, 0, 7, 4) && c.visible(3, 0, 7, 0));
        assert!(!c.visible(7, 1, 7, 0) && !c.visible(7, 0, 6, 0));
    }

    /// Exhaustive cross-check of every memory operation against a naive model on small caches.
    #[test]
    fn exhaustive_against_naive() {
        // naive model: list of (pos, seqs)
        let mut rng = 12345u64;
        let mut next = |m: u64| {
            rng = rng
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (rng >> 33) % m
        };
        for _round in 0..300 {
            let size = 1 + next(12) as u32;
            let mut c = KvCells::new(size);
            let mut naive: Vec<Option<(i32, Vec<i32>)>> = vec![None; size as usize];
            for _step in 0..40 {
                let op = next(7);
                let s = next(3) as i32;
                let p0 = next(12) as i32 - 2;
                let p1 = next(14) as i32 - 2;
                let in_r = |p: i32| p >= p0.max(0) && (p1 < 0 || p < p1);
                match op {
                    0 => {
                        let n = 1 + next(3) as u32;
                        let mut idx = vec![0; n as usize];
                        let free = naive.iter().filter(|x| x.is_none()).count() as u32;
                        assert_eq!(c.find_slot(n, 0, &mut idx), free >= n);
                        if free >= n {
                            let base = c.seq_pos_max(s) + 1;
                            for (k, &i) in idx.iter().enumerate() {
                                assert!(naive[i as usize].is_none());
                                c.apply(i, base + k as i32, SeqSet::single(s));
                                naive[i as usize] = Some((base + k as i32, vec![s]));
                            }
                        }
                    }
                    1 => {
                        c.seq_rm(s, p0, p1);
                        for x in naive.iter_mut() {
                            if let Some((p, ss)) = x {
                                if in_r(*p) {
                                    ss.retain(|&q| q != s);
                                    if ss.is_empty() {
                                        *x = None;
                                    }
                                }
                            }
                        }
                    }
                    2 => {
                        let d = (s + 1) % 3;
                        c.seq_cp(s, d, p0, p1);
                        for (p, ss) in naive.iter_mut().flatten() {
                            if in_r(*p) && ss.contains(&s) && !ss.contains(&d) {
                                ss.push(d);
                            }
                        }
                    }
                    3 => {
                        c.seq_keep(s);
                        for x in naive.iter_mut() {
                            if let Some((_, ss)) = x {
                                if ss.contains(&s) {
                                    *ss = vec![s];
                                } else {
                                    *x = None;
                                }
                            }
                        }
                    }
                    4 => {
                        let delta = next(7) as i32 - 3;
                        c.seq_add(s, p0, p1, delta);
                        if delta != 0 && p0.max(0) != (if p1 < 0 { i32::MAX } else { p1 }) {
                            for x in naive.iter_mut() {
                                if let Some((p, ss)) = x {
                                    if in_r(*p) && ss.contains(&s) {
                                        *p += delta;
                                        if *p < 0 {
                                            *x = None;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    5 => {
                        let d = 1 + next(3) as i32;
                        c.seq_div(s, p0, p1, d);
                        if p0.max(0) != (if p1 < 0 { i32::MAX } else { p1 }) {
                            for (p, ss) in naive.iter_mut().flatten() {
                                if in_r(*p) && ss.contains(&s) {
                                    *p /= d;
                                }
                            }
                        }
                    }
                    _ => {
                        c.seq_rm(-1, p0, p1);
                        for x in naive.iter_mut() {
                            if matches!(x, Some((p, _)) if in_r(*p)) {
                                *x = None;
                            }
                        }
                    }
                }
                // compare
                for (i, x) in naive.iter().enumerate() {
                    let i = i as u32;
                    match x {
                        None => assert!(c.is_empty(i)),
                        Some((p, ss)) => {
                            assert_eq!(c.pos(i), *p);
                            assert_eq!(c.seq_count(i), ss.len() as u32);
                            for q in ss {
                                assert!(c.seq_has(i, *q));
                            }
                        }
                    }
                }
                assert_eq!(c.used(), naive.iter().flatten().count() as u32);
                for q in 0..3 {
                    let ps: Vec<i32> = naive
                        .iter()
                        .flatten()
                        .filter(|(_, ss)| ss.contains(&q))
                        .map(|(p, _)| *p)
                        .collect();
                    assert_eq!(c.seq_pos_max(q), ps.iter().copied().max().unwrap_or(-1));
                    assert_eq!(c.seq_pos_min(q), ps.iter().copied().min().unwrap_or(-1));
                }
            }
        }
    }
}
