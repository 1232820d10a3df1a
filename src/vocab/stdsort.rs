//! `std::sort` (libstdc++ introsort) of the special-token cache by text length, longest first.
//! The sort is not stable, so tokens of equal length end up in libstdc++'s order; since that
//! order decides which of two overlapping special tokens is split out first, we reproduce it:
//! median-of-three quicksort down to runs of 16, heap sort past the depth limit, then a final
//! insertion sort.

type E = (usize, i32);

#[inline]
fn less(a: E, b: E) -> bool {
    a.0 > b.0
}

fn median_to_first(v: &mut [E], result: usize, a: usize, b: usize, c: usize) {
    let pick = if less(v[a], v[b]) {
        if less(v[b], v[c]) {
            b
        } else if less(v[a], v[c]) {
            c
        } else {
            a
        }
    } else if less(v[a], v[c]) {
        a
    } else if less(v[b], v[c]) {
        c
    } else {
        b
    };
    v.swap(result, pick);
}

fn unguarded_partition(v: &mut [E], mut first: usize, mut last: usize, pivot: usize) -> usize {
    loop {
        while less(v[first], v[pivot]) {
            first += 1;
        }
        last -= 1;
        while less(v[pivot], v[last]) {
            last -= 1;
        }
        if first >= last {
            return first;
        }
        v.swap(first, last);
        first += 1;
    }
}

fn push_heap(v: &mut [E], mut hole: usize, top: usize, value: E) {
    let mut parent = hole.wrapping_sub(1) / 2;
    while hole > top && less(v[parent], value) {
        v[hole] = v[parent];
        hole = parent;
        parent = hole.wrapping_sub(1) / 2;
    }
    v[hole] = value;
}

fn adjust_heap(v: &mut [E], mut hole: usize, len: usize, value: E) {
    let top = hole;
    let mut child = hole;
    while child < len.saturating_sub(1) / 2 {
        child = 2 * (child + 1);
        if less(v[child], v[child - 1]) {
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
    push_heap(v, hole, top, value);
}

fn heap_sort(v: &mut [E]) {
    let len = v.len();
    if len >= 2 {
        let mut parent = (len - 2) / 2;
        loop {
            let value = v[parent];
            adjust_heap(v, parent, len, value);
            if parent == 0 {
                break;
            }
            parent -= 1;
        }
    }
    let mut last = len;
    while last > 1 {
        last -= 1;
        let value = v[last];
        v[last] = v[0];
        adjust_heap(&mut v[..last], 0, last, value);
    }
}

fn introsort_loop(v: &mut [E], lo: usize, mut hi: usize, mut depth: usize) {
    while hi - lo > 16 {
        if depth == 0 {
            heap_sort(&mut v[lo..hi]);
            return;
        }
        depth -= 1;
        let mid = lo + (hi - lo) / 2;
        median_to_first(v, lo, lo + 1, mid, hi - 1);
        let cut = unguarded_partition(v, lo + 1, hi, lo);
        introsort_loop(v, cut, hi, depth);
        hi = cut;
    }
}

fn linear_insert(v: &mut [E], mut last: usize) {
    let val = v[last];
    while less(val, v[last - 1]) {
        v[last] = v[last - 1];
        last -= 1;
    }
    v[last] = val;
}

fn insertion_sort(v: &mut [E], lo: usize, hi: usize) {
    for i in lo + 1..hi {
        if less(v[i], v[lo]) {
            let val = v[i];
            v.copy_within(lo..i, lo + 1);
            v[lo] = val;
        } else {
            linear_insert(v, i);
        }
    }
}

/// Sort `ids` by `lens` (parallel slices) descending, exactly as libstdc++'s `std::sort`.
pub(crate) fn sort_by_len_desc(ids: &mut [i32], lens: &[usize]) {
    let mut v: Vec<E> = lens.iter().copied().zip(ids.iter().copied()).collect();
    let n = v.len();
    if n > 1 {
        let depth = 2 * (usize::BITS - 1 - n.leading_zeros()) as usize;
        introsort_loop(&mut v, 0, n, depth);
        if n > 16 {
            insertion_sort(&mut v, 0, 16);
            for i in 16..n {
                linear_insert(&mut v, i);
            }
        } else {
            insertion_sort(&mut v, 0, n);
        }
    }
    for (d, (_, id)) in ids.iter_mut().zip(v) {
        *d = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_descending() {
        for n in [0usize, 1, 2, 5, 16, 17, 40, 300, 5000] {
            let lens: Vec<usize> = (0..n).map(|i| (i * 7919 + 13) % 11).collect();
            let mut ids: Vec<i32> = (0..n as i32).collect();
            sort_by_len_desc(&mut ids, &lens);
            assert!(ids
                .windows(2)
                .all(|w| lens[w[0] as usize] >= lens[w[1] as usize]));
            let mut s = ids.clone();
            s.sort();
            assert_eq!(s, (0..n as i32).collect::<Vec<_>>());
        }
    }
}
