//! The iteration order of upstream's `std::unordered_map<std::string, llama_token>` (libstdc++),
//! which decides ties when several tokens match one of upstream's special-token name lists
//! (e.g. both `<|endoftext|>` and `<|im_end|>` for EOT: the first one visited wins).
//!
//! Reproduced from libstdc++'s documented behaviour: `std::hash<std::string>` is
//! `_Hash_bytes(data, len, 0xc70f6907)` (a MurmurHash2 variant), buckets are sized by the prime
//! rehash policy (max load factor 1, growth factor 2, the prime table below as shipped in
//! libstdc++.so), a new node goes to the front of its bucket or, for an empty bucket, to the front
//! of the whole list, and a rehash relinks nodes in list order.

const SEED: u64 = 0xc70f6907;
const MUL: u64 = (0xc6a4a793u64 << 32) + 0x5bd1e995;

/// libstdc++'s `__prime_list` (64-bit; the last entry is a sentinel).
#[rustfmt::skip]
static PRIMES: [u64; 305] = [
    2, 3, 5, 7, 11, 13,
    17, 19, 23, 29, 31, 37,
    41, 43, 47, 53, 59, 61,
    67, 71, 73, 79, 83, 89,
    97, 103, 109, 113, 127, 137,
    139, 149, 157, 167, 179, 193,
    199, 211, 227, 241, 257, 277,
    293, 313, 337, 359, 383, 409,
    439, 467, 503, 541, 577, 619,
    661, 709, 761, 823, 887, 953,
    1031, 1109, 1193, 1289, 1381, 1493,
    1613, 1741, 1879, 2029, 2179, 2357,
    2549, 2753, 2971, 3209, 3469, 3739,
    4027, 4349, 4703, 5087, 5503, 5953,
    6427, 6949, 7517, 8123, 8783, 9497,
    10273, 11113, 12011, 12983, 14033, 15173,
    16411, 17749, 19183, 20753, 22447, 24281,
    26267, 28411, 30727, 33223, 35933, 38873,
    42043, 45481, 49201, 53201, 57557, 62233,
    67307, 72817, 78779, 85229, 92203, 99733,
    107897, 116731, 126271, 136607, 147793, 159871,
    172933, 187091, 202409, 218971, 236897, 256279,
    277261, 299951, 324503, 351061, 379787, 410857,
    444487, 480881, 520241, 562841, 608903, 658753,
    712697, 771049, 834181, 902483, 976369, 1056323,
    1142821, 1236397, 1337629, 1447153, 1565659, 1693859,
    1832561, 1982627, 2144977, 2320627, 2510653, 2716249,
    2938679, 3179303, 3439651, 3721303, 4026031, 4355707,
    4712381, 5098259, 5515729, 5967347, 6456007, 6984629,
    7556579, 8175383, 8844859, 9569143, 10352717, 11200489,
    12117689, 13109983, 14183539, 15345007, 16601593, 17961079,
    19431899, 21023161, 22744717, 24607243, 26622317, 28802401,
    31160981, 33712729, 36473443, 39460231, 42691603, 46187573,
    49969847, 54061849, 58488943, 63278561, 68460391, 74066549,
    80131819, 86693767, 93793069, 101473717, 109783337, 118773397,
    128499677, 139022417, 150406843, 162723577, 176048909, 190465427,
    206062531, 222936881, 241193053, 260944219, 282312799, 305431229,
    330442829, 357502601, 386778277, 418451333, 452718089, 489790921,
    529899637, 573292817, 620239453, 671030513, 725980837, 785430967,
    849749479, 919334987, 994618837, 1076067617, 1164186217, 1259520799,
    1362662261, 1474249943, 1594975441, 1725587117, 1866894511, 2019773507,
    2185171673, 2364114217, 2557710269, 2767159799, 2993761039, 3238918481,
    3504151727, 3791104843, 4101556399, 4294967291, 6442450933, 8589934583,
    12884901857, 17179869143, 25769803693, 34359738337, 51539607367, 68719476731,
    103079215087, 137438953447, 206158430123, 274877906899, 412316860387, 549755813881,
    824633720731, 1099511627689, 1649267441579, 2199023255531, 3298534883309, 4398046511093,
    6597069766607, 8796093022151, 13194139533241, 17592186044399, 26388279066581, 35184372088777,
    52776558133177, 70368744177643, 105553116266399, 140737488355213, 211106232532861, 281474976710597,
    562949953421231, 1125899906842597, 2251799813685119, 4503599627370449, 9007199254740881, 18014398509481951,
    36028797018963913, 72057594037927931, 144115188075855859, 288230376151711717, 576460752303423433, 1152921504606846883,
    2305843009213693951, 4611686018427387847, 9223372036854775783, 18446744073709551557, 18446744073709551557,
];

fn shift_mix(v: u64) -> u64 {
    v ^ (v >> 47)
}

/// `std::_Hash_bytes(data, len, 0xc70f6907)` for 64-bit `size_t`.
pub(crate) fn hash_bytes(s: &[u8]) -> u64 {
    let mut hash = SEED ^ (s.len() as u64).wrapping_mul(MUL);
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let mut a = [0u8; 8];
        a.copy_from_slice(c);
        let data = shift_mix(u64::from_le_bytes(a).wrapping_mul(MUL)).wrapping_mul(MUL);
        hash ^= data;
        hash = hash.wrapping_mul(MUL);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut data: u64 = 0;
        for &b in rest.iter().rev() {
            data = (data << 8).wrapping_add(b as u64);
        }
        hash ^= data;
        hash = hash.wrapping_mul(MUL);
    }
    hash = shift_mix(hash).wrapping_mul(MUL);
    shift_mix(hash)
}

/// The prime rehash policy (`_Prime_rehash_policy`, max load factor 1).
struct Policy {
    next_resize: u64,
}

impl Policy {
    fn next_bkt(&mut self, n: u64) -> u64 {
        const FAST: [u64; 14] = [2, 2, 2, 3, 5, 5, 7, 7, 11, 11, 11, 11, 13, 13];
        if n < FAST.len() as u64 {
            if n == 0 {
                return 1;
            }
            self.next_resize = FAST[n as usize];
            return FAST[n as usize];
        }
        let last = PRIMES.len() - 2;
        let i = 6 + PRIMES[6..last].partition_point(|&p| p < n);
        self.next_resize = if i == last { u64::MAX } else { PRIMES[i] };
        PRIMES[i]
    }
    /// `Some(new bucket count)` when inserting one element needs a rehash.
    fn need_rehash(&mut self, n_bkt: u64, n_elt: u64) -> Option<u64> {
        if n_elt < self.next_resize {
            return None;
        }
        let min_bkts = (n_elt + 1).max(if self.next_resize == 0 { 11 } else { 0 }) as f64;
        if min_bkts >= n_bkt as f64 {
            return Some(self.next_bkt((min_bkts.floor() as u64 + 1).max(n_bkt * 2)));
        }
        self.next_resize = n_bkt;
        None
    }
}

const NIL: u32 = u32::MAX;
const BEFORE_BEGIN: u32 = u32::MAX - 1;

/// Insert `node` right after `before` (a node or the list head).
fn link_after(head: &mut u32, next: &mut [u32], before: u32, node: u32) {
    if before == BEFORE_BEGIN {
        next[node as usize] = *head;
        *head = node;
    } else {
        next[node as usize] = next[before as usize];
        next[before as usize] = node;
    }
}

/// Token indices in the order libstdc++ iterates a map filled by `map[text] = i` in index order
/// (texts are distinct).
pub(crate) fn unordered_map_order<'a>(texts: impl Iterator<Item = &'a [u8]>) -> Vec<i32> {
    let hashes: Vec<u64> = texts.map(hash_bytes).collect();
    let n = hashes.len();
    let mut next = vec![NIL; n];
    let mut head = NIL;
    let mut n_bkt: u64 = 1;
    let mut buckets: Vec<u32> = vec![NIL; 1];
    let mut policy = Policy { next_resize: 0 };
    for i in 0..n {
        if let Some(nb) = policy.need_rehash(n_bkt, i as u64) {
            let mut nbk = vec![NIL; nb as usize];
            let mut p = head;
            head = NIL;
            let mut bbegin_bkt = 0usize;
            while p != NIL {
                let pn = next[p as usize];
                let b = (hashes[p as usize] % nb) as usize;
                if nbk[b] == NIL {
                    next[p as usize] = head;
                    head = p;
                    nbk[b] = BEFORE_BEGIN;
                    if next[p as usize] != NIL {
                        nbk[bbegin_bkt] = p;
                    }
                    bbegin_bkt = b;
                } else {
                    link_after(&mut head, &mut next, nbk[b], p);
                }
                p = pn;
            }
            buckets = nbk;
            n_bkt = nb;
        }
        let b = (hashes[i] % n_bkt) as usize;
        let node = i as u32;
        if buckets[b] != NIL {
            link_after(&mut head, &mut next, buckets[b], node);
        } else {
            next[i] = head;
            head = node;
            if next[i] != NIL {
                let nb = (hashes[next[i] as usize] % n_bkt) as usize;
                buckets[nb] = node;
            }
            buckets[b] = BEFORE_BEGIN;
        }
    }
    let mut order = Vec::with_capacity(n);
    let mut p = head;
    while p != NIL {
        order.push(p as i32);
        p = next[p as usize];
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_libstdcxx() {
        // values of std::_Hash_bytes(s, len, 0xc70f6907) from libstdc++.so.6
        assert_eq!(hash_bytes(b""), 0x553e93901e462a6e);
        assert_eq!(hash_bytes(b"a"), 0x454ddee488c1ed6b);
        assert_eq!(hash_bytes(b"<|im_end|>"), 0x1c4ad163ccd5c545);
        assert_eq!(hash_bytes(b"hello world 12345"), 0x037bb90b32470a6b);
    }

    #[test]
    fn order_is_a_permutation() {
        let texts: Vec<Vec<u8>> = (0..1000).map(|i| format!("t{i}").into_bytes()).collect();
        let mut o = unordered_map_order(texts.iter().map(|t| t.as_slice()));
        o.sort();
        assert_eq!(o, (0..1000).collect::<Vec<i32>>());
    }
}
