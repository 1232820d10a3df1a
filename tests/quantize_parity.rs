//! Bit-exactness of `quant::quantize` against upstream (issue 2, must-show #2).
//!
//! - `corpus_tensors_match_upstream_quantization`: for every `<name>-F32.gguf` in
//!   `../shared/data/models` and every `<name>-<FTYPE>.gguf` beside it (made from that F32 file
//!   by upstream's `llama_model_quantize`, no imatrix), every tensor stored in one of our
//!   types must be exactly what quantizing the F32 tensor's rows gives.
//! - `synthetic_rows_match_upstream_hashes`: deterministic rows with awkward blocks (zeros,
//!   ties, constants, tiny, subnormal and large values, outliers) in all 23 types, checked
//!   against FNV-1a hashes of upstream's output recorded by `scripts/py/quantize_oracle.py`
//!   (this covers Q8_1, Q8_K, MXFP4, NVFP4, Q1_0, Q2_0, TQ1_0, TQ2_0 and IQ3_S, which no
//!   corpus file holds).
//! - `special_rows_match_upstream_hashes`: the same for rows full of NaN, infinities,
//!   `FLT_MAX`, subnormals and zeros (upstream's C casts of out-of-range floats included),
//!   all types but IQ3_S, on which upstream aborts for such input.
//! - `imatrix_rows_match_upstream_hashes`: the synthetic rows as rows of 512 with importance
//!   weights (the weighted `quantize_rows_imatrix` path), against upstream's hashes.
//! - `oracle_folder_matches_upstream`: only with `FERROLLAMA_QUANT_ORACLE_DIR` set to a
//!   folder written by that script's `--out` (any `--rows` / `--seed` / `--special` /
//!   `--input` / `--imatrix`): every type's bytes against upstream's, mismatches located to the row and
//!   byte. A dev check, not CI.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use llama::gguf::GgufFile;
use llama::quant::quantize::{can_quantize, from_float_row, quantize_rows_imatrix};
use llama::quant::GgmlType;

/// `../shared` beside the crate, or `None` (with a notice) when it is absent; absent with
/// `FERROLLAMA_REQUIRE_SHARED=1` is a failure.
fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "{} is missing and FERROLLAMA_REQUIRE_SHARED=1",
            dir.display()
        );
    }
    eprintln!("skipping: {} not found", dir.display());
    None
}

fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Pairs (F32 file, quantized sibling) in the models folder. A sibling of `name-F32.gguf`
/// is `name-FTYPE.gguf` where FTYPE has no `-` (so `deepseek2` does not claim the files of
/// `deepseek2-lite`).
fn corpus_pairs(models: &Path) -> Vec<(PathBuf, PathBuf)> {
    let mut names: Vec<String> = std::fs::read_dir(models)
        .unwrap_or_else(|e| panic!("{}: {e}", models.display()))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    let mut pairs = Vec::new();
    for base in names.iter().filter(|n| n.ends_with("-F32.gguf")) {
        let prefix = &base[..base.len() - "F32.gguf".len()];
        for other in &names {
            let Some(ftype) = other
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix(".gguf"))
            else {
                continue;
            };
            if ftype != "F32" && !ftype.contains('-') {
                pairs.push((models.join(base), models.join(other)));
            }
        }
    }
    pairs
}

#[test]
fn corpus_tensors_match_upstream_quantization() {
    let Some(shared) = shared_dir() else { return };
    let models = shared.join("data/models");
    let pairs = corpus_pairs(&models);
    assert!(
        !pairs.is_empty(),
        "no F32 / quantized pairs in {}",
        models.display()
    );

    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (base_path, q_path) in &pairs {
        let base =
            GgufFile::open(base_path).unwrap_or_else(|e| panic!("{}: {e}", base_path.display()));
        let q = GgufFile::open(q_path).unwrap_or_else(|e| panic!("{}: {e}", q_path.display()));
        let q_name = q_path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for t in q.tensors() {
            if t.ty == GgmlType::F32 {
                continue;
            }
            if !can_quantize(t.ty) {
                failures.push(format!(
                    "{q_name}: {}: type {} has no quantizer",
                    t.name,
                    t.ty.name()
                ));
                continue;
            }
            let Some(src_t) = base.tensor(&t.name) else {
                failures.push(format!("{q_name}: {}: not in the F32 file", t.name));
                continue;
            };
            assert_eq!(
                src_t.ty,
                GgmlType::F32,
                "{}: {} in the F32 file",
                t.name,
                src_t.ty.name()
            );
            assert_eq!(src_t.ne, t.ne, "{q_name}: {}: shapes differ", t.name);
            let src = f32s(base.tensor_data(src_t));
            let want = q.tensor_data(t);
            let n_per_row = t.ne[0] as usize;
            let mut got = vec![0u8; want.len()];
            if let Err(e) = quantize_rows_imatrix(t.ty, &src, n_per_row, None, &mut got) {
                failures.push(format!("{q_name}: {}: {e}", t.name));
                continue;
            }
            if let Some(i) = got.iter().zip(want).position(|(a, b)| a != b) {
                let row_size = t.ty.row_size(n_per_row as u64).unwrap_or(1) as usize;
                failures.push(format!(
                    "{q_name}: {} ({}): row {} byte {}: got {:#04x}, upstream {:#04x}",
                    t.name,
                    t.ty.name(),
                    i / row_size,
                    i % row_size,
                    got[i],
                    want[i]
                ));
                continue;
            }
            *counts.entry(t.ty.name()).or_default() += 1;
        }
    }
    println!(
        "{} file pairs; tensors matching upstream byte for byte, per type:",
        pairs.len()
    );
    for (ty, n) in &counts {
        println!("  {ty:7} {n}");
    }
    for f in &failures {
        println!("MISMATCH {f}");
    }
    assert!(
        failures.is_empty(),
        "{} tensors differ from upstream; first: {}",
        failures.len(),
        failures[0]
    );
    assert!(!counts.is_empty(), "no quantized tensors compared");
}

// ---------------------------------------------------------------- synthetic oracle rows

const N_PER_ROW: usize = 256;
const N_ROWS: usize = 96;
const N_KINDS: u64 = 13;

/// FNV-1a 64 of upstream's output for `oracle_rows()`, per type, from
/// `scripts/py/quantize_oracle.py` run on the pinned upstream libggml-base.so.
const UPSTREAM_HASHES: &[(&str, u64)] = &[
    ("f16", 0x5ad78b620ce1f18f),
    ("bf16", 0x84373b0d13862bd6),
    ("q4_0", 0x0d876d18332994cc),
    ("q4_1", 0xa3501135df9bc761),
    ("q5_0", 0x054b56c988973f94),
    ("q5_1", 0xe61c4e8eded618f1),
    ("q8_0", 0xeb15ed5d9681e7c0),
    ("q8_1", 0x640b0648ce3f5155),
    ("q2_K", 0xbf70b683472cbd6a),
    ("q3_K", 0x527a8fe5011ab087),
    ("q4_K", 0x6b5747aeb69ceb42),
    ("q5_K", 0x91ad9bb5ee28b37d),
    ("q6_K", 0xc38360195bf43cd8),
    ("q8_K", 0x89fca376fd1db1fb),
    ("iq4_nl", 0x1aabfd9b5e2fcc3a),
    ("iq4_xs", 0x3e3de67b86ab50c0),
    ("mxfp4", 0x0aac3a88d9334fd5),
    ("nvfp4", 0xa71efc6673650c5a),
    ("q1_0", 0x6c8d119b774aeb71),
    ("q2_0", 0xe99358569c8b0ccb),
    ("tq1_0", 0xf4d08e01da493d3a),
    ("tq2_0", 0xf8db2e3ce1ad6fae),
    ("iq3_s", 0x7d4ac55eb7145375),
    ("iq4_nl.from_float", 0x3268bfcb15af7ac7),
];

/// FNV-1a 64 of the little-endian bytes of `oracle_rows()`.
const INPUT_HASH: u64 = 0xb21b8d3d5292ca03;

struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> i64 {
        (self.next() % n) as i64
    }
    /// A signed 24-bit mantissa in [-2^23, 2^23).
    fn m(&mut self) -> i64 {
        (self.next() >> 40) as i64 - (1 << 23)
    }
}

/// `m * 2^e`, computed exactly in f64 and rounded once to f32 (as numpy's cast does).
fn val(m: i64, e: i32) -> f32 {
    (m as f64 * 2f64.powi(e)) as f32
}

/// One 32-value block of the given kind; the draw order matches the Python generator.
fn oracle_block(rng: &mut SplitMix64, kind: i64, v: &mut [f32]) {
    v.fill(0.0);
    let scale = |rng: &mut SplitMix64| rng.below(25) as i32 - 12;
    match kind {
        0 => {
            let s = scale(rng);
            v.iter_mut().for_each(|x| *x = val(rng.m(), s - 23));
        }
        1 => {
            let s = scale(rng);
            for x in v.iter_mut() {
                let (a, b, c) = (rng.m() >> 2, rng.m() >> 2, rng.m() >> 2);
                *x = val(a + b + c, s - 23);
            }
        }
        2 => {}
        3 => {
            let idx = rng.below(32) as usize;
            let m = rng.m();
            let s = scale(rng);
            v[idx] = val(m, s - 23);
        }
        4 => v.iter_mut().for_each(|x| *x = val(rng.m(), -23 - 70)),
        5 => v.iter_mut().for_each(|x| *x = val(rng.below(33) - 16, -2)),
        6 => {
            let m = rng.m();
            let s = scale(rng);
            v.fill(val(m, s - 23));
        }
        7 => {
            let s = scale(rng);
            v.iter_mut().for_each(|x| *x = val(rng.m().abs(), s - 23));
        }
        8 => {
            let s = scale(rng);
            v.iter_mut().for_each(|x| *x = val(-rng.m().abs(), s - 23));
        }
        9 => {
            let s = scale(rng);
            for x in v.iter_mut() {
                if rng.next() & 1 == 1 {
                    *x = val(rng.m(), s - 23);
                }
            }
        }
        10 => {
            let s = rng.below(13) as i32 - 12;
            let idx = rng.below(32) as usize;
            v.iter_mut().for_each(|x| *x = val(rng.m(), s - 23));
            v[idx] = val(rng.m(), s - 23 + 10);
        }
        11 => v.iter_mut().for_each(|x| *x = val(rng.m(), -23 - 130)),
        12 => {
            let s = 12 + rng.below(4) as i32;
            v.iter_mut().for_each(|x| *x = val(rng.m(), s - 23));
        }
        _ => unreachable!("kind {kind}"),
    }
}

fn oracle_rows() -> Vec<f32> {
    let mut rng = SplitMix64(0x5EED_2026);
    let mut out = vec![0.0f32; N_ROWS * N_PER_ROW];
    for (r, row) in out.chunks_exact_mut(N_PER_ROW).enumerate() {
        let whole = if r % 3 == 0 {
            Some(rng.below(N_KINDS))
        } else {
            None
        };
        for block in row.chunks_exact_mut(32) {
            let kind = match whole {
                Some(k) => k,
                None => rng.below(N_KINDS),
            };
            oracle_block(&mut rng, kind, block);
        }
    }
    out
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// Quantizes `x` for one table entry: a type name (`quantize_rows_imatrix`), or
/// `<type>.from_float` (`from_float_row` per row, with the nibbles of blocks whose `d` is
/// zero cleared, as upstream leaves stale bytes there; see the oracle script).
fn quantize_named(
    name: &str,
    x: &[f32],
    n_per_row: usize,
    imatrix: Option<&[f32]>,
) -> (Vec<u8>, usize) {
    let (ty_name, from_float) = match name.strip_suffix(".from_float") {
        Some(t) => (t, true),
        None => (name, false),
    };
    let ty = type_by_name(ty_name);
    let row_size = ty.row_size(n_per_row as u64).unwrap() as usize;
    let mut got = vec![0u8; x.len() / n_per_row * row_size];
    if from_float {
        for (xr, yr) in x
            .chunks_exact(n_per_row)
            .zip(got.chunks_exact_mut(row_size))
        {
            from_float_row(ty, xr, yr).unwrap();
        }
        // IQ4_NL blocks: d (f16) then nibbles.
        for b in got.chunks_exact_mut(ty.type_size()) {
            if b[0] == 0 && b[1] & 0x7f == 0 {
                b[2..].fill(0);
            }
        }
    } else {
        quantize_rows_imatrix(ty, x, n_per_row, imatrix, &mut got).unwrap();
    }
    (got, row_size)
}

fn type_by_name(name: &str) -> GgmlType {
    GgmlType::ALL
        .iter()
        .copied()
        .find(|t| t.name() == name)
        .unwrap_or_else(|| panic!("no type {name}"))
}

#[test]
fn synthetic_rows_match_upstream_hashes() {
    check_hashes(&oracle_rows(), INPUT_HASH, UPSTREAM_HASHES);
}

/// Special values as f32 bit patterns: quiet NaN, negative NaN, 65520 (rounds to f16 inf),
/// +-inf, +-FLT_MAX, FLT_MIN, the smallest subnormal, -1e-40, +-0, 1e30, -3e38.
/// NaNs with other payloads are left out: when both operands of an operation are NaN, x86
/// keeps the first one's payload, so upstream's bytes depend on the operand order its
/// compiler picked (a signalling NaN gives different Q2_K / Q4_K / Q5_K bytes).
const SPECIAL_BITS: [u32; 14] = [
    0x7FC00000, 0xFFC00000, 0x477FF000, 0x7F800000, 0xFF800000, 0x7F7FFFFF, 0xFF7FFFFF, 0x00800000,
    0x00000001, 0x800116C2, 0x00000000, 0x80000000, 0x7149F2CA, 0xFF61B1E6,
];
const N_SPECIAL_ROWS: usize = 24;

/// `scripts/py/quantize_oracle.py --special` on the pinned upstream libggml-base.so.
const SPECIAL_INPUT_HASH: u64 = 0xb1acb496ac891826;
const SPECIAL_UPSTREAM_HASHES: &[(&str, u64)] = &[
    ("f16", 0xa91dc1435c354508),
    ("bf16", 0x14079e71d80f349f),
    ("q4_0", 0xf3d9193be542597c),
    ("q4_1", 0x1975f34736ab271a),
    ("q5_0", 0x45647f277f49163f),
    ("q5_1", 0x0b55c48be3f4e5a4),
    ("q8_0", 0x03bd555e67cf2d03),
    ("q8_1", 0x0dc3261656e28ac7),
    ("q2_K", 0xd10b3493188af498),
    ("q3_K", 0x039f9e8f28c77235),
    ("q4_K", 0x78d79d0c560d4227),
    ("q5_K", 0x5bd94f13f3d85127),
    ("q6_K", 0x986bbba87509c53b),
    ("q8_K", 0x726d540939e6d549),
    ("iq4_nl", 0x14ef2f5b35adaef0),
    ("iq4_xs", 0xc51bbc26057254e6),
    ("mxfp4", 0xcc0a7887620b34c6),
    ("nvfp4", 0x951201d4886d3aa1),
    ("q1_0", 0xcc44804c5b21b0a0),
    ("q2_0", 0x1af27b837337d6da),
    ("tq1_0", 0x479cce21b5b2a3b4),
    ("tq2_0", 0x35e2d3debb44e90f),
    ("iq4_nl.from_float", 0x9a212d4571da291c),
];

/// Rows mixing non-finite and extreme values; matches `special_rows()` of the Python script.
fn special_rows() -> Vec<f32> {
    let sp = SPECIAL_BITS.map(f32::from_bits);
    let mut rng = SplitMix64(0x0DD5);
    let mut out = Vec::with_capacity(N_SPECIAL_ROWS * N_PER_ROW);
    for r in 0..N_SPECIAL_ROWS {
        for i in 0..N_PER_ROW {
            out.push(match r % 3 {
                0 => sp[(i + r) % sp.len()],
                1 => sp[(i / 32 + r) % sp.len()],
                _ => {
                    let m = rng.m();
                    if i % 37 == r % 37 {
                        sp[(i / 37 + r) % sp.len()]
                    } else {
                        val(m, -23)
                    }
                }
            });
        }
    }
    out
}

/// Quantizes `x` in every type of `table` and checks the output hashes.
fn check_hashes(x: &[f32], input_hash: u64, table: &[(&str, u64)]) {
    check_hashes_imatrix(x, input_hash, None, table);
}

/// [`check_hashes`] with importance weights (rows as long as `imatrix`).
fn check_hashes_imatrix(
    x: &[f32],
    input_hash: u64,
    imatrix: Option<&[f32]>,
    table: &[(&str, u64)],
) {
    let n_per_row = imatrix.map_or(N_PER_ROW, |w| w.len());
    let x_bytes: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        fnv1a64(&x_bytes),
        input_hash,
        "the input generator drifted from the Python one"
    );
    let mut failures = Vec::new();
    for &(name, want_hash) in table {
        let (got, _) = quantize_named(name, x, n_per_row, imatrix);
        let hash = fnv1a64(&got);
        let ok = hash == want_hash;
        println!(
            "  {name:7} {} (0x{hash:016x})",
            if ok { "matches upstream" } else { "DIFFERS" }
        );
        if !ok {
            failures.push(format!(
                "{name}: hash 0x{hash:016x}, upstream 0x{want_hash:016x}"
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Importance weights for rows of 512 (`imatrix_weights()` of the Python script): 1 in 16
/// zero, the rest `m * 2^e` with `m` in [1, 2^23] and `e` in [-22, -14].
fn oracle_imatrix() -> Vec<f32> {
    let mut rng = SplitMix64(0x1A7E);
    (0..512)
        .map(|_| {
            if rng.below(16) == 0 {
                0.0
            } else {
                let m = 1 + (rng.next() >> 41) as i64;
                val(m, -22 + rng.below(9) as i32)
            }
        })
        .collect()
}

/// FNV-1a 64 of `oracle_imatrix()`.
const IMATRIX_HASH: u64 = 0x0827e8846a1e774c;

/// `scripts/py/quantize_oracle.py --imatrix`: `oracle_rows()` as 48 rows of 512 with
/// `oracle_imatrix()` (upstream's `ggml_quantize_chunk` with `imatrix` set).
const IMATRIX_UPSTREAM_HASHES: &[(&str, u64)] = &[
    ("f16", 0x5ad78b620ce1f18f),
    ("bf16", 0x84373b0d13862bd6),
    ("q4_0", 0xa5fa2ffe4dc6feac),
    ("q4_1", 0xb65ad23bb02e2001),
    ("q5_0", 0x9b61bd4a13f055bf),
    ("q5_1", 0xf3a5657954d7c3ea),
    ("q8_0", 0xeb15ed5d9681e7c0),
    ("q8_1", 0x640b0648ce3f5155),
    ("q2_K", 0xa4b3e01dcd825c00),
    ("q3_K", 0xee0402fe72735e66),
    ("q4_K", 0x5e0d62c7c55f2f00),
    ("q5_K", 0xd161e4daeb7e5e03),
    ("q6_K", 0xfdc65a843bddaf99),
    ("q8_K", 0x89fca376fd1db1fb),
    ("iq4_nl", 0xe40098a2a6c0e195),
    ("iq4_xs", 0xa91f166f0ffd8ac2),
    ("mxfp4", 0x0aac3a88d9334fd5),
    ("nvfp4", 0xa71efc6673650c5a),
    ("q1_0", 0x6c8d119b774aeb71),
    ("q2_0", 0xe99358569c8b0ccb),
    ("tq1_0", 0xf4d08e01da493d3a),
    ("tq2_0", 0xf8db2e3ce1ad6fae),
    ("iq3_s", 0x3f561f2157871207),
    ("iq4_nl.from_float", 0x3268bfcb15af7ac7),
];

#[test]
fn imatrix_rows_match_upstream_hashes() {
    let w = oracle_imatrix();
    let w_bytes: Vec<u8> = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(
        fnv1a64(&w_bytes),
        IMATRIX_HASH,
        "the imatrix generator drifted from the Python one"
    );
    check_hashes_imatrix(
        &oracle_rows(),
        INPUT_HASH,
        Some(&w),
        IMATRIX_UPSTREAM_HASHES,
    );
}

#[test]
fn special_rows_match_upstream_hashes() {
    check_hashes(&special_rows(), SPECIAL_INPUT_HASH, SPECIAL_UPSTREAM_HASHES);
}

#[test]
fn oracle_folder_matches_upstream() {
    let Some(dir) = std::env::var_os("FERROLLAMA_QUANT_ORACLE_DIR").map(PathBuf::from) else {
        eprintln!(
            "skipping: FERROLLAMA_QUANT_ORACLE_DIR not set (see scripts/py/quantize_oracle.py)"
        );
        return;
    };
    let input =
        std::fs::read(dir.join("input.f32")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let x = f32s(&input);
    // With imatrix.f32 (from --imatrix) the rows are as long as the importance vector.
    let imatrix = std::fs::read(dir.join("imatrix.f32"))
        .ok()
        .map(|b| f32s(&b));
    let n_per_row = imatrix.as_ref().map_or(N_PER_ROW, |w| w.len());
    assert!(
        !x.is_empty() && x.len().is_multiple_of(n_per_row),
        "input.f32: {} values",
        x.len()
    );
    let mut failures = Vec::new();
    for &(name, _) in UPSTREAM_HASHES {
        let Ok(want) = std::fs::read(dir.join(format!("{name}.bin"))) else {
            // The script leaves a type out when upstream aborts on the input (IQ3_S).
            println!("  {name:7} skipped: no {name}.bin");
            continue;
        };
        let (got, row_size) = quantize_named(name, &x, n_per_row, imatrix.as_deref());
        if got.len() != want.len() {
            failures.push(format!(
                "{name}: {} bytes, upstream {}",
                got.len(),
                want.len()
            ));
        } else if let Some(i) = got.iter().zip(&want).position(|(a, b)| a != b) {
            let bad_rows = got
                .chunks_exact(row_size)
                .zip(want.chunks_exact(row_size))
                .filter(|(a, b)| a != b)
                .count();
            failures.push(format!(
                "{name}: {bad_rows} rows differ; first: row {} byte {}: got {:#04x}, upstream {:#04x}",
                i / row_size,
                i % row_size,
                got[i],
                want[i]
            ));
        } else {
            println!("  {name:7} {} rows match upstream", x.len() / n_per_row);
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
