//! Issue 2, "must show" #1: our scalar dequantization equals the `gguf` Python package's
//! `gguf.quants.dequantize` bit for bit, for every tensor of every model in
//! `../shared/data/models`, and for random blocks of every quantized type.
//!
//! A third test checks `GgmlType`'s numbers, names, block and type sizes against upstream
//! ggml's type traits (when the library is found) and gguf-py's `GGML_QUANT_SIZES`.
//!
//! Model tensors are read with our own reader (`GgufFile::open` / `tensor_data`) and
//! dequantized row by row (`ne[0]` elements per call); only the expected floats come from
//! Python.
//!
//! The expected floats come from `scripts/py/dequant_ref.py`, run with the first of
//! `$FERROLLAMA_PYTHON`, `.venv/bin/python` (made by `scripts/setup.sh`) and `python3` that
//! can import numpy and gguf. Where gguf-py lacks a type (Q8_K, Q1_0, Q2_0) the script uses
//! upstream ggml's own `to_float` through ctypes when a `libggml-base.so` is found
//! (`$FERROLLAMA_GGML_LIB`, `$LLAMA_LIB_DIR`, or an installed llama_cpp package), else a
//! numpy formula; where upstream ggml is found it is also used as a second opinion on every
//! type gguf-py covers. With `FERROLLAMA_REQUIRE_SHARED=1` a missing `../shared`, Python or
//! gguf is a failure; otherwise the tests skip with a notice.

mod common;

use llama::gguf::GgufFile;
use llama::quant::{dequantize_row, GgmlType};
use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn require_shared() -> bool {
    std::env::var("FERROLLAMA_REQUIRE_SHARED")
        .map(|v| v == "1")
        .unwrap_or(false)
}

/// Skips (returns None) or fails, depending on FERROLLAMA_REQUIRE_SHARED.
fn unavailable<T>(what: &str) -> Option<T> {
    if require_shared() {
        panic!("{what} (FERROLLAMA_REQUIRE_SHARED=1)");
    }
    eprintln!("SKIP: {what}");
    None
}

/// A Python interpreter that can import numpy and gguf.
fn python() -> Option<PathBuf> {
    let mut cands: Vec<PathBuf> = Vec::new();
    if let Ok(p) = std::env::var("FERROLLAMA_PYTHON") {
        cands.push(p.into());
    }
    cands.push(manifest().join(".venv/bin/python"));
    cands.push("python3".into());
    for c in &cands {
        let ok = Command::new(c)
            .args(["-c", "import numpy, gguf"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            return Some(c.clone());
        }
    }
    unavailable(&format!("no Python with numpy + gguf among {cands:?}"))
}

/// One reference record from dequant_ref.py.
struct Record {
    name: String,
    ty: u32,
    n: usize,
    raw: Vec<u8>,
    oracle: u32,
    want: Vec<f32>,
}

fn read_u32(r: &mut impl Read) -> u32 {
    let mut b = [0u8; 4];
    r.read_exact(&mut b).expect("reference stream truncated");
    u32::from_le_bytes(b)
}

fn read_u64(r: &mut impl Read) -> u64 {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).expect("reference stream truncated");
    u64::from_le_bytes(b)
}

fn read_bytes(r: &mut impl Read, n: usize) -> Vec<u8> {
    let mut v = vec![0u8; n];
    r.read_exact(&mut v).expect("reference stream truncated");
    v
}

/// Runs the reference script and calls `f` on each record as it streams in.
fn run_reference(py: &Path, args: &[String], mut f: impl FnMut(Record)) {
    let script = manifest().join("scripts/py/dequant_ref.py");
    let mut child = Command::new(py)
        .arg(&script)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("cannot start the reference script");
    let mut r = BufReader::with_capacity(1 << 20, child.stdout.take().expect("stdout"));
    loop {
        let mut magic = [0u8; 4];
        r.read_exact(&mut magic)
            .expect("reference stream truncated");
        if &magic == b"END!" {
            break;
        }
        assert_eq!(&magic, b"REC1", "bad reference stream");
        let name_len = read_u32(&mut r) as usize;
        let name = String::from_utf8(read_bytes(&mut r, name_len)).expect("utf-8 name");
        let ty = read_u32(&mut r);
        let n = read_u64(&mut r) as usize;
        let raw_len = read_u64(&mut r) as usize;
        let raw = read_bytes(&mut r, raw_len);
        let oracle = read_u32(&mut r);
        let want = read_bytes(&mut r, 4 * n)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        f(Record {
            name,
            ty,
            n,
            raw,
            oracle,
            want,
        });
    }
    let status = child.wait().expect("reference script");
    assert!(status.success(), "reference script failed: {status}");
}

/// Same bits, or both NaN.
fn same(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

/// Dequantizes the record's raw bytes as one row (the formats are block-local) and compares.
fn check(rec: &Record) -> Result<(), String> {
    let ty = GgmlType::from_u32(rec.ty).ok_or(format!("{}: unknown type {}", rec.name, rec.ty))?;
    let mut got = vec![0f32; rec.n];
    dequantize_row(ty, &rec.raw, &mut got).map_err(|e| format!("{}: {e}", rec.name))?;
    compare(rec, &got)
}

/// Compares our output with the record's expected floats.
fn compare(rec: &Record, got: &[f32]) -> Result<(), String> {
    let ty = GgmlType::from_u32(rec.ty).map(|t| t.name()).unwrap_or("?");
    let bad: Vec<usize> = (0..rec.n).filter(|&i| !same(got[i], rec.want[i])).collect();
    if let Some(&i) = bad.first() {
        return Err(format!(
            "{} ({}, oracle {}): {} of {} elements differ; first at {i}: got {:e} ({:#010x}), want {:e} ({:#010x})",
            rec.name,
            ty,
            rec.oracle,
            bad.len(),
            rec.n,
            got[i],
            got[i].to_bits(),
            rec.want[i],
            rec.want[i].to_bits()
        ));
    }
    Ok(())
}

/// Dequantizes `data` (a tensor of `ne` elements) row by row.
fn dequantize_tensor(ty: GgmlType, ne: &[u64], data: &[u8]) -> Result<Vec<f32>, String> {
    let n: u64 = ne.iter().product();
    let row = ne.first().copied().unwrap_or(1).max(1) as usize;
    let row_bytes = ty.row_size(row as u64).map_err(|e| e.to_string())? as usize;
    let mut out = vec![0f32; n as usize];
    if data.len() != row_bytes * (n as usize / row) {
        return Err(format!(
            "{} bytes for {n} elements of {}",
            data.len(),
            ty.name()
        ));
    }
    for (src, dst) in data.chunks_exact(row_bytes).zip(out.chunks_exact_mut(row)) {
        dequantize_row(ty, src, dst).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

#[test]
fn every_model_tensor_matches_gguf_python() {
    let files = common::shared_models();
    if files.is_empty() {
        return; // shared_dir() already skipped or failed
    }
    let Some(py) = python() else { return };
    let mut opened: BTreeMap<String, GgufFile> = BTreeMap::new();
    for f in &files {
        let g = GgufFile::open(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let base = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        opened.insert(base, g);
    }

    let mut args = vec!["models".to_string(), "--no-raw".to_string()];
    args.extend(files.iter().map(|p| p.display().to_string()));
    let mut per_type: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut n_seen = 0usize;
    run_reference(&py, &args, |rec| {
        n_seen += 1;
        let (file, tensor) = rec.name.split_once(':').unwrap_or((&rec.name, ""));
        let Some(info) = opened
            .get(file)
            .and_then(|g| g.tensor(tensor).map(|t| (g, t)))
        else {
            failures.push(format!("{}: not found by our reader", rec.name));
            return;
        };
        let (g, t) = info;
        if t.ty as u32 != rec.ty || t.n_elements() as usize != rec.n {
            failures.push(format!("{}: type/shape differ from gguf-py", rec.name));
            return;
        }
        let e = per_type.entry(t.ty.name()).or_default();
        e.0 += 1;
        e.1 += rec.n;
        let got = match dequantize_tensor(t.ty, &t.ne, g.tensor_data(t)) {
            Ok(v) => v,
            Err(msg) => {
                failures.push(format!("{}: {msg}", rec.name));
                return;
            }
        };
        if let Err(msg) = compare(&rec, &got) {
            failures.push(msg);
        }
    });
    let ours: usize = opened.values().map(|g| g.tensors().len()).sum();
    assert_eq!(
        n_seen, ours,
        "gguf-py and our reader list different tensor counts"
    );
    eprintln!(
        "{} files, {n_seen} tensors compared bit-exact:",
        files.len()
    );
    for (t, (n, elems)) in &per_type {
        eprintln!("  {t:8} {n:5} tensors {elems:10} elements");
    }
    assert!(
        failures.is_empty(),
        "{} tensors differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn random_blocks_of_every_type_match_the_references() {
    let Some(py) = python() else { return };
    let mut seen: BTreeMap<(String, u32), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for seed in [1u64, 2, 3] {
        let args = vec!["random".to_string(), seed.to_string(), "512".to_string()];
        run_reference(&py, &args, |rec| {
            let name = GgmlType::from_u32(rec.ty)
                .map(|t| t.name())
                .unwrap_or("?")
                .to_string();
            *seen.entry((name, rec.oracle)).or_default() += rec.n;
            if let Err(msg) = check(&rec) {
                failures.push(msg);
            }
        });
    }
    eprintln!("random blocks compared bit-exact (oracle 0 = gguf-py, 1 = upstream ggml C, 2 = numpy formula):");
    for ((t, o), n) in &seen {
        eprintln!("  {t:8} oracle {o}: {n} elements");
    }
    // every float and quantized type must have been compared against something
    for &t in GgmlType::ALL {
        if t.is_quantized() || matches!(t, GgmlType::F16 | GgmlType::BF16) {
            assert!(
                seen.keys().any(|(n, _)| n == t.name()),
                "{} not covered",
                t.name()
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} batches differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn type_table_matches_upstream_ggml_and_gguf_py() {
    let Some(py) = python() else { return };
    let script = manifest().join("scripts/py/dequant_ref.py");
    let out = Command::new(&py)
        .arg(&script)
        .arg("types")
        .output()
        .expect("reference script");
    assert!(out.status.success(), "reference script failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut checked = BTreeMap::<String, usize>::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [src, num, name, bs, ts] = f[..] else {
            panic!("bad line {line:?}")
        };
        let num: u32 = num.parse().expect("number");
        // gguf-py 0.19.0 still lists Q8_1 with the old 40-byte layout (f32 d and s)
        if src == "gguf-py" && num == GgmlType::Q8_1 as u32 {
            continue;
        }
        let t =
            GgmlType::from_u32(num).unwrap_or_else(|| panic!("{src}: type {num} unknown to us"));
        assert_eq!(
            t.block_size().to_string(),
            bs,
            "{src}: block size of {name}"
        );
        assert_eq!(t.type_size().to_string(), ts, "{src}: type size of {name}");
        if src == "ggml" {
            assert_eq!(t.name(), name, "ggml name of {num}");
        } else {
            assert!(
                t.name().eq_ignore_ascii_case(name),
                "gguf-py name of {num}: {name}"
            );
        }
        *checked.entry(src.to_string()).or_default() += 1;
    }
    eprintln!("type table checked: {checked:?}");
    assert!(checked.get("gguf-py").copied().unwrap_or(0) >= 30);
    if let Some(&n) = checked.get("ggml") {
        assert_eq!(
            n,
            GgmlType::ALL.len(),
            "upstream ggml lists a different set of types"
        );
    }
}
