//! `std::sort` (libstdc++ introsort) of special tokens by text length, longest first; the sort is
//! not stable, so equal lengths end up in libstdc++'s order, which we reproduce.

/// Sort `ids` by `lens` (parallel arrays) descending.
pub(crate) fn sort_by_len_desc(ids: &mut [i32], lens: &[usize]) {
    let mut pairs: Vec<(usize, i32)> = lens.iter().copied().zip(ids.iter().copied()).collect();
    pairs.sort_by(|a, b| b.0.cmp(&a.0));
    for (d, (_, id)) in ids.iter_mut().zip(pairs) {
        *d = id;
    }
}
