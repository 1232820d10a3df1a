//! Sorting candidates by descending logit exactly as upstream's build does.
//!
//! Upstream sorts with `std::sort` / `std::partial_sort` (GNU libstdc++: introsort with a
//! median-of-three pivot and a 16-element insertion-sort threshold; partial sort as heap
//! select + heap sort) and, for more than 128 candidates, a 128-bucket histogram pre-pass over
//! logits in [-10, 10]. Neither algorithm is stable, so the order of *equal* logits is a function
//! of the algorithm; re-implementing the same steps here makes it the same order, and with it the
//! same token at a given index (which dist then picks).

use super::{TokenData, TokenDataArray};

/// `comp(a, b)` for descending logits: `a.logit > b.logit`.
#[inline]
fn greater(a: &TokenData, b: &TokenData) -> bool {
    a.logit > b.logit
}

// ---- libstdc++ heap and sort primitives, over a slice and a strict-weak "less" ----

fn push_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    top: usize,
    value: T,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    while hole > top {
        let parent = (hole - 1) / 2;
        if !less(&v[parent], &value) {
            break;
        }
        v[hole] = v[parent];
        hole = parent;
    }
    v[hole] = value;
}

fn adjust_heap<T: Copy>(
    v: &mut [T],
    mut hole: usize,
    len: usize,
    value: T,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    let top = hole;
    let mut child = hole;
    while len >= 1 && child < (len - 1) / 2 {
        child = 2 * (child + 1);
        if less(&v[child], &v[child - 1]) {
            child -= 1;
        }
        v[hole] = v[child];
        hole = child;
    }
    if len & 1 == 0 && len >= 2 && child == (len - 2) / 2 {
        child = 2 * (child + 1);
        v[hole] = v[child - 1];
        hole = child - 1;
    }
    push_heap(v, hole, top, value, less);
}

fn make_heap<T: Copy>(v: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) {
    let len = v.len();
    if len < 2 {
        return;
    }
    let mut parent = (len - 2) / 2;
    loop {
        let value = v[parent];
        adjust_heap(v, parent, len, value, less);
        if parent == 0 {
            return;
        }
        parent -= 1;
    }
}

/// Pops the heap `v[..len]` top into `v[result]`, re-heaping with the old `v[result]`.
fn pop_heap<T: Copy>(
    v: &mut [T],
    len: usize,
    result: usize,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    let value = v[result];
    v[result] = v[0];
    adjust_heap(&mut v[..len], 0, len, value, less);
}

/// `std::partial_sort(first, first + middle, last, less)`.
pub fn cxx_partial_sort<T: Copy>(
    v: &mut [T],
    middle: usize,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    let middle = middle.min(v.len());
    // heap select
    make_heap(&mut v[..middle], less);
    for i in middle..v.len() {
        if middle > 0 && less(&v[i], &v[0]) {
            pop_heap(v, middle, i, less);
        }
    }
    // sort heap
    let mut last = middle;
    while last > 1 {
        last -= 1;
        pop_heap(v, last, last, less);
    }
}

fn move_median_to_first<T: Copy>(
    v: &mut [T],
    result: usize,
    a: usize,
    b: usize,
    c: usize,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    let pick = if less(&v[a], &v[b]) {
        if less(&v[b], &v[c]) {
            b
        } else if less(&v[a], &v[c]) {
            c
        } else {
            a
        }
    } else if less(&v[a], &v[c]) {
        a
    } else if less(&v[b], &v[c]) {
        c
    } else {
        b
    };
    v.swap(result, pick);
}

/// Hoare partition around `v[0]` of `v[1..]`; returns the cut. Guarded against running off the
/// slice (libstdc++ relies on the median-of-three sentinel; an inconsistent comparison such as
/// one involving NaN must not read out of bounds here).
fn unguarded_partition<T: Copy>(v: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) -> usize {
    let mut first = 1;
    let mut last = v.len();
    loop {
        while first < v.len() && less(&v[first], &v[0]) {
            first += 1;
        }
        last -= 1;
        while last > 0 && less(&v[0], &v[last]) {
            last -= 1;
        }
        if first >= last {
            return first.min(v.len());
        }
        v.swap(first, last);
        first += 1;
    }
}

fn introsort_loop<T: Copy>(
    v: &mut [T],
    mut depth_limit: u32,
    less: &mut impl FnMut(&T, &T) -> bool,
) {
    let mut last = v.len();
    while last > 16 {
        if depth_limit == 0 {
            let n = last;
            cxx_partial_sort(&mut v[..n], n, less);
            return;
        }
        depth_limit -= 1;
        let mid = last / 2;
        move_median_to_first(&mut v[..last], 0, 1, mid, last - 1, less);
        let cut = unguarded_partition(&mut v[..last], less);
        introsort_loop(&mut v[cut..last], depth_limit, less);
        last = cut;
    }
}

fn linear_insert<T: Copy>(v: &mut [T], mut last: usize, less: &mut impl FnMut(&T, &T) -> bool) {
    let val = v[last];
    while last > 0 && less(&val, &v[last - 1]) {
        v[last] = v[last - 1];
        last -= 1;
    }
    v[last] = val;
}

fn insertion_sort<T: Copy>(v: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) {
    for i in 1..v.len() {
        if less(&v[i], &v[0]) {
            let val = v[i];
            v.copy_within(0..i, 1);
            v[0] = val;
        } else {
            linear_insert(v, i, less);
        }
    }
}

/// `std::sort(first, last, less)` as libstdc++ runs it.
pub fn cxx_sort<T: Copy>(v: &mut [T], less: &mut impl FnMut(&T, &T) -> bool) {
    let n = v.len();
    if n == 0 {
        return;
    }
    let lg = usize::BITS - 1 - n.leading_zeros();
    introsort_loop(v, lg * 2, less);
    if n > 16 {
        insertion_sort(&mut v[..16], less);
        for i in 16..n {
            linear_insert(v, i, less);
        }
    } else {
        insertion_sort(v, less);
    }
}

// ---- upstream's candidate sorts ----

/// The top `npartial` candidates of `src`, sorted, at the front of `res` (which may hold a few
/// more, unsorted, after them): upstream's bucketed partial sort. `src` is not modified.
pub fn bucket_partial_sort(src: &[TokenData], npartial: usize, res: &mut Vec<TokenData>) {
    const NBUCKETS: usize = 128;
    const BUCKET_LOW: f32 = -10.0;
    const BUCKET_HIGH: f32 = 10.0;
    const BUCKET_SCALE: f32 = NBUCKETS as f32 / (BUCKET_HIGH - BUCKET_LOW);
    const BUCKET_INTER: f32 = -BUCKET_LOW * BUCKET_SCALE;

    let npartial = npartial.min(src.len());
    let mut histo = [0usize; NBUCKETS];
    let bucket_idx: Vec<usize> = src
        .iter()
        .map(|t| {
            let ib = (BUCKET_SCALE * t.logit + BUCKET_INTER) as i32;
            let ib = ib.clamp(0, NBUCKETS as i32 - 1) as usize;
            histo[ib] += 1;
            ib
        })
        .collect();
    let mut nhave = 0;
    let mut ib = NBUCKETS as isize - 1;
    while ib >= 0 {
        nhave += histo[ib as usize];
        if nhave >= npartial {
            break;
        }
        ib -= 1;
    }
    let ib = ib.max(0) as usize;
    res.clear();
    res.resize(nhave, TokenData::default());
    // start offset of each kept bucket (highest first)
    let mut start = [0usize; NBUCKETS];
    let mut off = 0;
    for j in (ib..NBUCKETS).rev() {
        start[j] = off;
        off += histo[j];
    }
    for (t, &j) in src.iter().zip(&bucket_idx) {
        if j >= ib {
            res[start[j]] = *t;
            start[j] += 1;
        }
    }
    let mut less = |a: &TokenData, b: &TokenData| greater(a, b);
    let mut pos = 0;
    let mut ndone = 0;
    for j in ((ib + 1)..NBUCKETS).rev() {
        cxx_sort(&mut res[pos..pos + histo[j]], &mut less);
        pos += histo[j];
        ndone += histo[j];
    }
    let end = (pos + histo[ib]).min(res.len());
    cxx_partial_sort(&mut res[pos..end], npartial - ndone, &mut less);
}

/// Sorts the top `k` to the front, keeps only them, and marks the array sorted
/// (upstream's `llama_token_data_array_partial_sort_inplace`).
pub fn partial_sort_inplace(cur: &mut TokenDataArray<'_>, k: usize) {
    let k = k.min(cur.data.len());
    if k <= 128 {
        cxx_partial_sort(cur.data, k, &mut |a, b| greater(a, b));
    } else {
        let mut tmp = Vec::new();
        bucket_partial_sort(cur.data, k, &mut tmp);
        cur.data[..k].copy_from_slice(&tmp[..k]);
    }
    cur.truncate(k);
    cur.sorted = true;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cxx_sort_sorts() {
        let mut x: u32 = 12345;
        for n in [0usize, 1, 2, 5, 16, 17, 100, 1000] {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x % 50
                })
                .collect();
            let mut w = v.clone();
            cxx_sort(&mut v, &mut |a, b| a < b);
            w.sort();
            assert_eq!(v, w);
            let mut p = w.clone();
            p.reverse();
            let k = n / 3;
            cxx_partial_sort(&mut p, k, &mut |a, b| a < b);
            assert_eq!(&p[..k], &w[..k]);
        }
    }
}
