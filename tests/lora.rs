//! LoRA adapters (`llama_adapter_lora_*`, `llama_set_adapters_lora`).
//!
//! Each test writes a random adapter for one of the shared F32 models with our own GGUF writer,
//! and a MERGED model, the base file with every adapted weight replaced by
//! `W' = W + s·B·A` (`s = scale·alpha/rank`; for `token_embd` `E' = E + s·Aᵀ·B` in ggml's
//! layout; per expert for `*_exps`), computed in f64 and stored as F32. Logits of the base
//! model with the adapter applied must equal the merged model's: the two differ only in
//! rounding (`W·x + s·B·(A·x)` against `(W + s·B·A)·x`, each a few f32 roundings of ~6e-8
//! relative per dot product, carried through two to four layers), so with F32 adapters the
//! relative RMS difference must stay under 1e-5 (measured 3e-7..6e-7; gemma3 9e-6, allowed
//! 2e-5) while the adapter itself moves the logits by 20-50% (checked: > 1e-2). The KV cache
//! is F32 here: an F16 cache rounds K and V, and a last-bit difference can then become one
//! F16 step (2e-5 with an F16 cache). F16 and Q8_0 adapters are merged from their dequantized
//! values, but the CPU kernels also round the activations (F16, or Q8_0 blocks) before the
//! low-rank products, so those get 3e-4 and 5e-3 (measured 3.5e-5 and 9.2e-4).
//!
//! Removing the adapters (`n_adapters = 0`) gives logits bit-identical to a fresh base context,
//! and decoding with adapters applied allocates nothing (the arena is re-planned by
//! `llama_set_adapters_lora` itself). Bad files give NULL with a log line and no panic.

use std::ffi::{c_char, CStr, CString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use llama::context::{BatchView, Context, ContextParams};
use llama::ffi::batch::llama_batch_get_one;
use llama::ffi::context::{
    llama_decode, llama_free, llama_get_logits_ith, llama_get_memory, llama_init_from_model,
    llama_memory_clear, llama_set_adapters_lora, LlamaContext,
};
use llama::ffi::lora::*;
use llama::ffi::model::*;
use llama::ffi::params::{llama_context_default_params, llama_model_default_params};
use llama::ffi::types::*;
use llama::gguf::{Array, GgufFile, GgufWriter, TensorInfo, Value};
use llama::model::{LoraAdapter, Model, ModelParams};
use llama::quant::GgmlType;

mod common;

fn models_dir() -> Option<PathBuf> {
    Some(common::shared_dir()?.join("data/models"))
}

fn tmp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ferrollama-lora-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

/// xorshift64*: reproducible values in [-1, 1).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let v = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40;
        (v as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// One adapted tensor: base name, A and B as the adapter stores them (after any rounding to
/// the adapter's type, so merging uses exactly what the graph reads), ggml shapes.
struct Pair {
    name: String,
    a: Vec<f32>,
    a_ne: Vec<u64>,
    b: Vec<f32>,
    b_ne: Vec<u64>,
}

/// Encodes `v` (rows of `ne[0]`) as `ty`; returns the bytes and the values they decode to.
fn encode(ty: GgmlType, v: &[f32], row: usize) -> (Vec<u8>, Vec<f32>) {
    if ty == GgmlType::F32 {
        return (bytes(v), v.to_vec());
    }
    let rs = ty.row_size(row as u64).expect("row size") as usize;
    let n_rows = v.len() / row;
    let mut out = vec![0u8; rs * n_rows];
    let mut back = vec![0f32; v.len()];
    for r in 0..n_rows {
        let dst = &mut out[r * rs..(r + 1) * rs];
        llama::quant::quantize::from_float_row(ty, &v[r * row..(r + 1) * row], dst)
            .expect("quantize");
        llama::quant::dequant::dequantize_row(ty, dst, &mut back[r * row..(r + 1) * row])
            .expect("dequantize");
    }
    (out, back)
}

struct AdapterSpec<'a> {
    rank: usize,
    alpha: f32,
    ty: GgmlType,
    /// Scale the adapter will be applied with (sizes B so that the merged delta is `MAG` of
    /// the weight's RMS).
    scale: f32,
    pick: &'a dyn Fn(&TensorInfo) -> bool,
    seed: u64,
}

/// A rank-4 F32 adapter on the `attn_q` projections of the model at `path`, written to
/// `tmp/file`; returns the adapter's path.
fn small_attn_q_adapter(path: &Path, tmp: &Path, seed: u64, file: &str) -> PathBuf {
    let base_g = GgufFile::open(path).expect("open");
    let pick = |t: &TensorInfo| is_proj(t, &["attn_q"]);
    let spec = AdapterSpec {
        rank: 4,
        alpha: 0.0,
        ty: GgmlType::F32,
        scale: 1.0,
        pick: &pick,
        seed,
    };
    let out = tmp.join(file);
    write_adapter(&base_g, &spec, &out);
    out
}

/// Size of the merged delta `s·B·A` relative to the RMS of the weight it is added to.
const MAG: f64 = 0.1;

/// Writes an adapter for `base` and returns its pairs.
fn write_adapter(base: &GgufFile, spec: &AdapterSpec<'_>, path: &Path) -> Vec<Pair> {
    let arch = base
        .get_str("general.architecture")
        .expect("arch")
        .expect("arch");
    let mut w = GgufWriter::new();
    w.set(
        "general.architecture",
        Value::String(arch.as_bytes().to_vec()),
    );
    w.set("general.type", Value::String(b"adapter".to_vec()));
    w.set("general.name", Value::String(b"test lora".to_vec()));
    w.set("adapter.type", Value::String(b"lora".to_vec()));
    w.set("adapter.lora.alpha", Value::F32(spec.alpha));
    w.set(
        "adapter.alora.invocation_tokens",
        Value::Array(Array::U32(vec![5, 9, 13])),
    );
    let r = spec.rank;
    let eff = if spec.alpha != 0.0 {
        spec.scale * spec.alpha / r as f32
    } else {
        spec.scale
    };
    let mut rng = Rng(spec.seed | 1);
    let mut pairs = Vec::new();
    for t in base.tensors() {
        if !(spec.pick)(t) {
            continue;
        }
        let wv = f32s(base.tensor_data(t));
        let rms = (wv.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / wv.len() as f64).sqrt();
        let (n_in, n_out) = (t.ne[0] as usize, t.ne[1] as usize);
        let n_exp = t.ne.get(2).copied().unwrap_or(1) as usize;
        let token_embd = t.name == "token_embd.weight";
        // (B·A) entries have RMS sqrt(r)·ca·cb/3: make it MAG·rms/eff
        let ca = (3.0f64 / r as f64).sqrt();
        let cb = MAG * rms / eff as f64 * 3.0f64.sqrt();
        let a: Vec<f32> = (0..r * n_out.max(n_in) * n_exp)
            .map(|_| (rng.next() as f64 * ca) as f32)
            .collect();
        let b: Vec<f32> = (0..r * n_out.max(n_in) * n_exp)
            .map(|_| (rng.next() as f64 * cb) as f32)
            .collect();
        let (a_ne, b_ne) = if token_embd {
            // A: [r, n_vocab], B: [r, n_embd]
            (vec![r as u64, n_out as u64], vec![r as u64, n_in as u64])
        } else if t.ne.len() == 3 {
            (
                vec![n_in as u64, r as u64, n_exp as u64],
                vec![r as u64, n_out as u64, n_exp as u64],
            )
        } else {
            (vec![n_in as u64, r as u64], vec![r as u64, n_out as u64])
        };
        let na: usize = a_ne.iter().product::<u64>() as usize;
        let nb: usize = b_ne.iter().product::<u64>() as usize;
        let (ab, a) = encode(spec.ty, &a[..na], a_ne[0] as usize);
        let (bb, b) = encode(spec.ty, &b[..nb], b_ne[0] as usize);
        w.add_tensor(&format!("{}.lora_a", t.name), spec.ty, &a_ne, ab)
            .expect("lora_a");
        w.add_tensor(&format!("{}.lora_b", t.name), spec.ty, &b_ne, bb)
            .expect("lora_b");
        pairs.push(Pair {
            name: t.name.clone(),
            a,
            a_ne,
            b,
            b_ne,
        });
    }
    assert!(!pairs.is_empty());
    w.write_to(path).expect("write adapter");
    pairs
}

/// Writes `base` with each pair merged at effective scale `eff`.
fn write_merged(base: &GgufFile, pairs: &[Pair], eff: f32, path: &Path) {
    let mut w = GgufWriter::new();
    for (k, v) in base.metadata() {
        w.set(k, v.clone());
    }
    for t in base.tensors() {
        let data = base.tensor_data(t);
        let Some(p) = pairs.iter().find(|p| p.name == t.name) else {
            w.add_tensor(&t.name, t.ty, &t.ne, data.to_vec())
                .expect("copy");
            continue;
        };
        assert_eq!(t.ty, GgmlType::F32);
        let mut wv = f32s(data);
        let (n_in, n_out) = (t.ne[0] as usize, t.ne[1] as usize);
        let n_exp = t.ne.get(2).copied().unwrap_or(1) as usize;
        let eff = eff as f64;
        if t.name == "token_embd.weight" {
            // row v (n_embd values) += s · Σ_k A[k, v] · B[k, :]
            let r = p.a_ne[0] as usize;
            for v in 0..n_out {
                for j in 0..n_in {
                    let mut acc = 0f64;
                    for k in 0..r {
                        acc += p.a[v * r + k] as f64 * p.b[j * r + k] as f64;
                    }
                    let x = &mut wv[v * n_in + j];
                    *x = (*x as f64 + eff * acc) as f32;
                }
            }
        } else {
            let r = p.a_ne[1] as usize;
            assert_eq!(p.b_ne[0] as usize, r);
            for e in 0..n_exp {
                let (ao, bo, wo) = (e * n_in * r, e * r * n_out, e * n_in * n_out);
                for o in 0..n_out {
                    for i in 0..n_in {
                        let mut acc = 0f64;
                        for k in 0..r {
                            acc += p.b[bo + o * r + k] as f64 * p.a[ao + k * n_in + i] as f64;
                        }
                        let x = &mut wv[wo + o * n_in + i];
                        *x = (*x as f64 + eff * acc) as f32;
                    }
                }
            }
        }
        w.add_tensor(&t.name, t.ty, &t.ne, bytes(&wv))
            .expect("merged");
    }
    w.write_to(path).expect("write merged");
}

fn rel_rms(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let num: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let den: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (num / den).sqrt()
}

fn cparams() -> ContextParams {
    ContextParams {
        n_ctx: 64,
        n_batch: 32,
        n_ubatch: 32,
        n_threads: 2,
        n_threads_batch: 2,
        flash_attn: 0,
        // an F32 cache: an F16 one rounds K and V, where a last-bit difference between the two
        // computations can move a value by one F16 step
        type_k: GgmlType::F32,
        type_v: GgmlType::F32,
        ..Default::default()
    }
}

/// A 12-token prompt with every row an output, then one more token: all 13 logit rows.
fn run_rust(c: &mut Context) -> Vec<f32> {
    c.memory_clear(true);
    let nv = c.model().n_vocab();
    let toks: Vec<i32> = (0..12).map(|i| 1 + (i * 37) % (nv - 1)).collect();
    let pos: Vec<i32> = (0..12).collect();
    let outs = vec![1i8; 12];
    let b = BatchView {
        n_tokens: 12,
        token: Some(&toks),
        pos: Some(&pos),
        logits: Some(&outs),
        ..Default::default()
    };
    assert_eq!(c.decode(&b).expect("decode"), 0);
    let mut all = c.logits().to_vec();
    let b = BatchView {
        n_tokens: 1,
        token: Some(&[3][..]),
        pos: Some(&[12][..]),
        ..Default::default()
    };
    assert_eq!(c.decode(&b).expect("decode"), 0);
    all.extend_from_slice(c.logits_ith(-1).expect("logits"));
    all
}

fn load(path: &Path) -> Arc<Model> {
    Arc::new(Model::load(&[path.to_path_buf()], &ModelParams::default()).expect("model"))
}

fn is_proj(t: &TensorInfo, names: &[&str]) -> bool {
    names
        .iter()
        .any(|n| t.name.ends_with(&format!(".{n}.weight")))
}

/// Adapter = merged model on every architecture (Rust API): dense projections, tied and untied
/// heads, token embeddings, MoE experts; F32 adapters.
#[test]
fn adapter_logits_equal_merged_model_on_every_architecture() {
    let Some(dir) = models_dir() else { return };
    let tmp = tmp_dir("arch");
    let cases: [(&str, &[&str]); 7] = [
        (
            "llama-spm-F32",
            &["attn_q", "attn_v", "ffn_up", "attn_output", "ffn_down"],
        ),
        ("llama3-F32", &["attn_q", "attn_k", "ffn_gate", "ffn_down"]),
        ("gemma3-F32", &["attn_q", "attn_v", "attn_output", "ffn_up"]),
        ("phi3-F32", &["attn_q", "attn_v", "ffn_up", "ffn_down"]),
        (
            "deepseek2-F32",
            &[
                "attn_q_a",
                "attn_q_b",
                "attn_kv_a_mqa",
                "attn_output",
                "ffn_up",
                "ffn_up_shexp",
                "ffn_down_exps",
                "ffn_up_exps",
            ],
        ),
        (
            "llama-moe-F32",
            &[
                "attn_q",
                "attn_v",
                "ffn_up_exps",
                "ffn_gate_exps",
                "ffn_down_exps",
            ],
        ),
        ("qwen2-F32", &["attn_q", "attn_k", "attn_v", "ffn_up"]),
    ];
    for (name, projs) in cases {
        let path = dir.join(format!("{name}.gguf"));
        let base_g = GgufFile::open(&path).expect("open");
        let untied = base_g.tensor("output.weight").is_some();
        let pick = |t: &TensorInfo| {
            is_proj(t, projs)
                || (untied && (t.name == "output.weight" || t.name == "token_embd.weight"))
        };
        let (scale, alpha, rank) = (0.75f32, 16.0f32, 8usize);
        let spec = AdapterSpec {
            rank,
            alpha,
            ty: GgmlType::F32,
            scale,
            pick: &pick,
            seed: 0x5eed ^ name.len() as u64,
        };
        let ad_path = tmp.join(format!("{name}-lora.gguf"));
        let merged_path = tmp.join(format!("{name}-merged.gguf"));
        let pairs = write_adapter(&base_g, &spec, &ad_path);
        write_merged(&base_g, &pairs, scale * alpha / rank as f32, &merged_path);

        let base = load(&path);
        let fresh = run_rust(&mut Context::new(base.clone(), &cparams()).expect("ctx"));
        let merged = run_rust(&mut Context::new(load(&merged_path), &cparams()).expect("ctx"));
        let ad = Arc::new(LoraAdapter::open(&base, &ad_path).expect("adapter"));
        assert_eq!(ad.n_weights(), pairs.len());
        let mut c = Context::new(base.clone(), &cparams()).expect("ctx");
        let arena0 = c.memory_rows()[0].compute;
        c.set_loras(&[(ad.clone(), scale)]).expect("set");
        let arena1 = c.memory_rows()[0].compute;
        let before = c.alloc_counter().stats();
        let with = run_rust(&mut c);
        let after = c.alloc_counter().stats();
        assert_eq!(
            (after.count, after.bytes, after.denied),
            (before.count, before.bytes, 0),
            "{name}: decoding with an adapter allocates nothing"
        );
        assert!(after.sealed);
        let moved = rel_rms(&with, &fresh);
        let err = rel_rms(&with, &merged);
        eprintln!(
            "{name}: {} adapted tensors, arena {arena0} -> {arena1} bytes; adapter moves the \
             logits by {moved:.3e} rel RMS, adapter vs merged {err:.3e}",
            pairs.len()
        );
        assert!(
            moved > 1e-2,
            "{name}: the adapter must change the logits ({moved})"
        );
        // gemma3 measures 9.0e-6: its per-head q/k RMS norms (64-wide heads) and the final
        // logit soft-capping amplify last-bit differences more than the other graphs do
        let tol = if name.starts_with("gemma3") {
            2e-5
        } else {
            1e-5
        };
        assert!(
            err < tol,
            "{name}: adapter vs merged model {err} (limit {tol:e})"
        );
        // the same set again changes nothing; removing it gives the base logits bit for bit
        c.set_loras(&[(ad.clone(), scale)]).expect("same set");
        c.set_loras(&[]).expect("clear");
        assert_eq!(
            c.memory_rows()[0].compute,
            arena0,
            "{name}: base arena again"
        );
        assert!(
            run_rust(&mut c) == fresh,
            "{name}: adapters removed = fresh base context"
        );
        // a zero scale is no adapter at all
        c.set_loras(&[(ad.clone(), 0.0)]).expect("zero");
        assert!(c.loras().is_empty());
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// F16 and Q8_0 adapters (rank 32), two adapters at once, and the `FILE *` loader.
#[test]
fn quantized_adapters_and_two_at_once() {
    let Some(dir) = models_dir() else { return };
    let tmp = tmp_dir("quant");
    let path = dir.join("llama-spm-F32.gguf");
    let base_g = GgufFile::open(&path).expect("open");
    let base = load(&path);
    let fresh = run_rust(&mut Context::new(base.clone(), &cparams()).expect("ctx"));
    for (ty, tol) in [(GgmlType::F16, 3e-4), (GgmlType::Q8_0, 5e-3)] {
        let pick = |t: &TensorInfo| is_proj(t, &["attn_q", "attn_v", "ffn_up"]);
        let spec = AdapterSpec {
            rank: 32,
            alpha: 0.0,
            ty,
            scale: 0.5,
            pick: &pick,
            seed: 77,
        };
        let ad_path = tmp.join(format!("{}.gguf", ty.name()));
        let merged_path = tmp.join(format!("{}-merged.gguf", ty.name()));
        let pairs = write_adapter(&base_g, &spec, &ad_path);
        write_merged(&base_g, &pairs, 0.5, &merged_path);
        let merged = run_rust(&mut Context::new(load(&merged_path), &cparams()).expect("ctx"));
        let ad = Arc::new(LoraAdapter::open(&base, &ad_path).expect("adapter"));
        let mut c = Context::new(base.clone(), &cparams()).expect("ctx");
        c.set_loras(&[(ad, 0.5)]).expect("set");
        let with = run_rust(&mut c);
        let err = rel_rms(&with, &merged);
        let moved = rel_rms(&with, &fresh);
        eprintln!(
            "{} adapter: moves {moved:.3e}, vs merged {err:.3e} (limit {tol:e})",
            ty.name()
        );
        assert!(moved > 1e-2 && err < tol, "{}: {err}", ty.name());
    }
    // two F32 adapters on different tensors (one with alpha, one without) = both merged
    let p1 = |t: &TensorInfo| is_proj(t, &["attn_q", "ffn_down"]);
    let p2 = |t: &TensorInfo| is_proj(t, &["attn_k", "ffn_gate", "attn_q"]);
    let s1 = AdapterSpec {
        rank: 4,
        alpha: 8.0,
        ty: GgmlType::F32,
        scale: 1.0,
        pick: &p1,
        seed: 1,
    };
    let s2 = AdapterSpec {
        rank: 6,
        alpha: 0.0,
        ty: GgmlType::F32,
        scale: -0.5,
        pick: &p2,
        seed: 2,
    };
    let (a1, a2) = (tmp.join("a1.gguf"), tmp.join("a2.gguf"));
    let pairs1 = write_adapter(&base_g, &s1, &a1);
    let pairs2 = write_adapter(&base_g, &s2, &a2);
    let m1 = tmp.join("m1.gguf");
    write_merged(&base_g, &pairs1, 1.0 * 8.0 / 4.0, &m1);
    let m12 = tmp.join("m12.gguf");
    write_merged(&GgufFile::open(&m1).expect("m1"), &pairs2, -0.5, &m12);
    let merged = run_rust(&mut Context::new(load(&m12), &cparams()).expect("ctx"));
    // through the C API, the second adapter from a FILE *
    // SAFETY: valid paths, params and handles; freed at the end.
    unsafe {
        let cpath = CString::new(path.to_str().expect("utf8")).expect("path");
        let m = llama_model_load_from_file(cpath.as_ptr(), llama_model_default_params());
        assert!(!m.is_null());
        let c1 = CString::new(a1.to_str().expect("utf8")).expect("path");
        let h1 = llama_adapter_lora_init(m, c1.as_ptr());
        let c2 = CString::new(a2.to_str().expect("utf8")).expect("path");
        let f = libc::fopen(c2.as_ptr(), c"rb".as_ptr());
        assert!(!f.is_null());
        let h2 = llama_adapter_lora_init_from_file_ptr(m, f);
        libc::fclose(f);
        assert!(!h1.is_null() && !h2.is_null());
        let c = ffi_context(m);
        let mut hs = [h1, h2];
        let mut sc = [1.0f32, -0.5];
        assert_eq!(
            llama_set_adapters_lora(c, hs.as_mut_ptr(), 2, sc.as_mut_ptr()),
            0
        );
        let with = ffi_run(c);
        // ffi_run keeps the prompt's last row and the next token's: rows 11 and 12
        let nv = merged.len() / 13;
        let err = rel_rms(&with, &merged[11 * nv..]);
        eprintln!("two adapters: vs merged {err:.3e}");
        assert!(err < 1e-5, "{err}");
        // freeing an adapter early keeps the context's copy alive; the model frees the other
        llama_adapter_lora_free(h1);
        assert_eq!(ffi_run(c), with);
        llama_free(c);
        llama_model_free(m);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// # Safety
/// `m` is a live model.
unsafe fn ffi_context(m: *mut llama_model) -> *mut llama_context {
    let mut cp = llama_context_default_params();
    cp.n_ctx = 64;
    cp.n_batch = 32;
    cp.n_ubatch = 32;
    cp.n_threads = 2;
    cp.n_threads_batch = 2;
    cp.flash_attn_type = 0;
    cp.type_k = 0;
    cp.type_v = 0;
    // SAFETY: per the contract.
    let c = unsafe { llama_init_from_model(m, cp) };
    assert!(!c.is_null());
    c
}

/// `run_rust` through the C API (logits of the last token of each decode: prompt, then one).
///
/// # Safety
/// `c` is a live context.
unsafe fn ffi_run(c: *mut llama_context) -> Vec<f32> {
    // SAFETY: per the contract; the logits are read right after each decode.
    unsafe {
        let lc = &*(c as *const LlamaContext);
        let nv = lc.ctx.model().n_vocab();
        llama_memory_clear(llama_get_memory(c), true);
        let mut toks: Vec<i32> = (0..12).map(|i| 1 + (i * 37) % (nv - 1)).collect();
        assert_eq!(
            llama_decode(c, llama_batch_get_one(toks.as_mut_ptr(), 12)),
            0
        );
        let mut out = std::slice::from_raw_parts(llama_get_logits_ith(c, -1), nv as usize).to_vec();
        let mut one = [3i32];
        assert_eq!(llama_decode(c, llama_batch_get_one(one.as_mut_ptr(), 1)), 0);
        out.extend_from_slice(std::slice::from_raw_parts(
            llama_get_logits_ith(c, -1),
            nv as usize,
        ));
        out
    }
}

fn cbuf_str(buf: &[c_char]) -> String {
    // SAFETY: the library NUL-terminates what it writes.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn capture_log(_level: i32, text: *const c_char, _ud: *mut std::ffi::c_void) {
    // SAFETY: the library passes a NUL-terminated string.
    let t = unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    LOG.lock().unwrap_or_else(|e| e.into_inner()).push(t);
}

/// The C API: metadata, aLoRA tokens, set / same set / remove (bit-identical base logits),
/// the arena re-planned by the set call and nothing allocated by decodes, bad handles.
#[test]
fn c_api_metadata_set_and_remove() {
    let Some(dir) = models_dir() else { return };
    let tmp = tmp_dir("capi");
    let path = dir.join("llama-spm-F32.gguf");
    let base_g = GgufFile::open(&path).expect("open");
    let pick = |t: &TensorInfo| {
        is_proj(t, &["attn_q", "attn_v", "ffn_up"])
            || t.name == "output.weight"
            || t.name == "token_embd.weight"
    };
    let spec = AdapterSpec {
        rank: 8,
        alpha: 16.0,
        ty: GgmlType::F32,
        scale: 0.75,
        pick: &pick,
        seed: 9,
    };
    let ad_path = tmp.join("lora.gguf");
    let merged_path = tmp.join("merged.gguf");
    let pairs = write_adapter(&base_g, &spec, &ad_path);
    write_merged(&base_g, &pairs, 0.75 * 16.0 / 8.0, &merged_path);
    // SAFETY: valid paths, params, buffers and handles; everything freed at the end.
    unsafe {
        let mp = llama_model_default_params();
        let cpath = CString::new(path.to_str().expect("utf8")).expect("path");
        let m = llama_model_load_from_file(cpath.as_ptr(), mp);
        let cm = CString::new(merged_path.to_str().expect("utf8")).expect("path");
        let mm = llama_model_load_from_file(cm.as_ptr(), mp);
        assert!(!m.is_null() && !mm.is_null());
        let ca = CString::new(ad_path.to_str().expect("utf8")).expect("path");
        let h = llama_adapter_lora_init(m, ca.as_ptr());
        assert!(!h.is_null());

        // metadata: the scalar keys in file order (the array key left out, as upstream)
        let keys = [
            ("general.architecture", "llama"),
            ("general.type", "adapter"),
            ("general.name", "test lora"),
            ("adapter.type", "lora"),
            ("adapter.lora.alpha", "16.000000"),
        ];
        assert_eq!(llama_adapter_meta_count(h), keys.len() as i32);
        let mut buf = [0 as c_char; 64];
        for (i, (k, v)) in keys.iter().enumerate() {
            let n = llama_adapter_meta_key_by_index(h, i as i32, buf.as_mut_ptr(), 64);
            assert_eq!((n, cbuf_str(&buf)), (k.len() as i32, k.to_string()));
            let n = llama_adapter_meta_val_str_by_index(h, i as i32, buf.as_mut_ptr(), 64);
            assert_eq!((n, cbuf_str(&buf)), (v.len() as i32, v.to_string()));
            let ck = CString::new(*k).expect("key");
            let n = llama_adapter_meta_val_str(h, ck.as_ptr(), buf.as_mut_ptr(), 64);
            assert_eq!((n, cbuf_str(&buf)), (v.len() as i32, v.to_string()));
        }
        // truncation: snprintf semantics
        let n = llama_adapter_meta_val_str(h, c"general.type".as_ptr(), buf.as_mut_ptr(), 4);
        assert_eq!((n, cbuf_str(&buf)), (7, "ada".to_string()));
        // absent key / index: -1 and a cleared buffer
        let n = llama_adapter_meta_val_str(h, c"nope".as_ptr(), buf.as_mut_ptr(), 64);
        assert_eq!((n, cbuf_str(&buf)), (-1, String::new()));
        buf[0] = b'x' as c_char;
        assert_eq!(
            llama_adapter_meta_key_by_index(h, 99, buf.as_mut_ptr(), 64),
            -1
        );
        assert_eq!(cbuf_str(&buf), "");
        assert_eq!(
            llama_adapter_meta_val_str_by_index(h, -1, buf.as_mut_ptr(), 64),
            -1
        );
        // aLoRA invocation tokens
        assert_eq!(llama_adapter_get_alora_n_invocation_tokens(h), 3);
        let t = llama_adapter_get_alora_invocation_tokens(h);
        assert_eq!(std::slice::from_raw_parts(t, 3), &[5, 9, 13]);

        let c = ffi_context(m);
        let fresh = ffi_run(c);
        let cmm = ffi_context(mm);
        let merged = ffi_run(cmm);
        llama_free(cmm);
        let lc = &*(c as *const LlamaContext);
        let counter = lc.ctx.alloc_counter().clone();
        let arena0 = lc.ctx.memory_rows()[0].compute;
        let mut hs = [h];
        let mut sc = [0.75f32];
        let s0 = counter.stats();
        assert_eq!(
            llama_set_adapters_lora(c, hs.as_mut_ptr(), 1, sc.as_mut_ptr()),
            0
        );
        let s1 = counter.stats();
        let arena1 = (*(c as *const LlamaContext)).ctx.memory_rows()[0].compute;
        assert!(s1.sealed, "sealed again after the re-plan");
        assert_eq!(s1.count, s0.count + u64::from(arena1 != arena0));
        assert_eq!(
            s1.live_bytes,
            s0.live_bytes - arena0 + arena1,
            "exactly the new plan"
        );
        let with = ffi_run(c);
        let with2 = ffi_run(c);
        assert_eq!(
            counter.stats(),
            s1,
            "decoding with an adapter allocates nothing"
        );
        assert_eq!(with, with2);
        let err = rel_rms(&with, &merged);
        let moved = rel_rms(&with, &fresh);
        eprintln!("C API: arena {arena0} -> {arena1}; moves {moved:.3e}, vs merged {err:.3e}");
        assert!(moved > 1e-2 && err < 1e-5, "{moved} {err}");
        // the same set: nothing re-planned
        assert_eq!(
            llama_set_adapters_lora(c, hs.as_mut_ptr(), 1, sc.as_mut_ptr()),
            0
        );
        assert_eq!(counter.stats(), s1);
        // removed: the base logits bit for bit
        assert_eq!(
            llama_set_adapters_lora(c, std::ptr::null_mut(), 0, std::ptr::null_mut()),
            0
        );
        assert!(ffi_run(c) == fresh, "adapters removed = fresh base context");
        assert_eq!(counter.stats().live_bytes, s0.live_bytes);

        // bad calls: -1 with a log line, nothing changed
        llama::ffi::log::llama_log_set(Some(capture_log), std::ptr::null_mut());
        LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
        assert_eq!(
            llama_set_adapters_lora(c, std::ptr::null_mut(), 1, sc.as_mut_ptr()),
            -1
        );
        let mut junk = [8usize as *mut llama_adapter_lora];
        assert_eq!(
            llama_set_adapters_lora(c, junk.as_mut_ptr(), 1, sc.as_mut_ptr()),
            -1
        );
        assert_eq!(llama_adapter_meta_count(junk[0]), -1);
        let log = LOG.lock().unwrap_or_else(|e| e.into_inner()).join("");
        assert!(log.contains("not a live LoRA adapter"), "{log}");
        assert!(!log.contains("panicked"), "{log}");
        llama::ffi::log::llama_log_set(None, std::ptr::null_mut());
        assert!(ffi_run(c) == fresh);

        llama_free(c);
        // the adapter is freed with its model
        llama_model_free(m);
        llama_model_free(mm);
        assert_eq!(llama_adapter_meta_count(h), -1, "freed with the model");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Bad adapter files: NULL with a log line saying why, no panic.
#[test]
fn bad_adapter_files_give_null_and_a_log_line() {
    let Some(dir) = models_dir() else { return };
    let tmp = tmp_dir("bad");
    let path = dir.join("llama-spm-F32.gguf");
    let good = small_attn_q_adapter(&path, &tmp, 3, "good.gguf");
    let g = GgufFile::open(&good).expect("good");
    // a variant of the good adapter: metadata and tensors edited by `edit`
    let variant = |name: &str, edit: Edit<'_>| {
        let mut meta: Vec<(String, Value)> = g.metadata().to_vec();
        let mut ts: Vec<TensorOut> = g
            .tensors()
            .iter()
            .map(|t| TensorOut {
                name: t.name.clone(),
                ty: t.ty,
                ne: t.ne.clone(),
                data: g.tensor_data(t).to_vec(),
            })
            .collect();
        edit(&mut meta, &mut ts);
        let mut w = GgufWriter::new();
        for (k, v) in meta {
            w.set(&k, v);
        }
        for t in ts {
            w.add_tensor(&t.name, t.ty, &t.ne, t.data).expect("tensor");
        }
        let p = tmp.join(name);
        w.write_to(&p).expect("write");
        p
    };
    let set = |meta: &mut Vec<(String, Value)>, k: &str, v: &str| {
        for e in meta.iter_mut() {
            if e.0 == k {
                e.1 = Value::String(v.as_bytes().to_vec());
            }
        }
    };
    let garbage = tmp.join("garbage.gguf");
    std::fs::write(&garbage, b"GGUF\x03\x00\x00\x00 not really").expect("write");
    let cases: Vec<(PathBuf, &str)> = vec![
        (path.clone(), "general.type"),
        (tmp.join("missing.gguf"), "missing.gguf"),
        (garbage, "garbage"),
        (
            variant("not-lora.gguf", &|m, _| {
                set(m, "adapter.type", "control_vector")
            }),
            "adapter.type",
        ),
        (
            variant("arch.gguf", &|m, _| {
                set(m, "general.architecture", "gemma3")
            }),
            "arch",
        ),
        (
            variant("no-b.gguf", &|_, ts| {
                let i = ts
                    .iter()
                    .position(|t| t.name.ends_with(".lora_b"))
                    .expect("b");
                ts.remove(i);
            }),
            "missing one component",
        ),
        (
            variant("shape.gguf", &|_, ts| {
                // A with a wrong input width: [128, r] against a 256-wide attn_q
                let t = ts
                    .iter_mut()
                    .find(|t| t.name.ends_with(".lora_a"))
                    .expect("a");
                let r = t.ne[1];
                t.ne = vec![128, r];
                t.data.truncate(128 * r as usize * 4);
            }),
            "incorrect shape",
        ),
        (
            variant("rank.gguf", &|_, ts| {
                // B with a different rank than A
                let t = ts
                    .iter_mut()
                    .find(|t| t.name.ends_with(".lora_b"))
                    .expect("b");
                let n = t.ne[1];
                t.ne = vec![2, n];
                t.data.truncate(2 * n as usize * 4);
            }),
            "not transposed",
        ),
        (
            variant("unknown.gguf", &|_, ts| {
                for t in ts.iter_mut() {
                    t.name = t.name.replace("blk.0.", "blk.77.");
                }
            }),
            "does not exist in base model",
        ),
        (
            variant("suffix.gguf", &|_, ts| {
                ts[0].name = "blk.0.attn_q.weight.lora_c".to_string();
            }),
            "unexpected suffix",
        ),
    ];
    // SAFETY: valid paths and handles; the log callback only appends to a Mutex<Vec<String>>.
    unsafe {
        let cpath = CString::new(path.to_str().expect("utf8")).expect("path");
        let m = llama_model_load_from_file(cpath.as_ptr(), llama_model_default_params());
        assert!(!m.is_null());
        let cg = CString::new(good.to_str().expect("utf8")).expect("path");
        let h = llama_adapter_lora_init(m, cg.as_ptr());
        assert!(!h.is_null(), "the unedited adapter loads");
        assert_eq!(
            llama_adapter_get_alora_n_invocation_tokens(std::ptr::null()),
            0
        );
        llama_adapter_lora_free(h);
        llama::ffi::log::llama_log_set(Some(capture_log), std::ptr::null_mut());
        for (p, why) in &cases {
            LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
            let c = CString::new(p.to_str().expect("utf8")).expect("path");
            let h = llama_adapter_lora_init(m, c.as_ptr());
            let log = LOG.lock().unwrap_or_else(|e| e.into_inner()).join("");
            assert!(h.is_null(), "{} must be refused", p.display());
            assert!(
                log.contains(why),
                "{}: log {log:?} should say {why:?}",
                p.display()
            );
            assert!(!log.contains("panicked"), "{log}");
            eprintln!(
                "{}: {}",
                p.file_name().unwrap().to_string_lossy(),
                log.trim()
            );
        }
        assert!(llama_adapter_lora_init(std::ptr::null_mut(), cg.as_ptr()).is_null());
        assert!(llama_adapter_lora_init(m, std::ptr::null()).is_null());
        assert!(llama_adapter_lora_init_from_file_ptr(m, std::ptr::null_mut()).is_null());
        llama::ffi::log::llama_log_set(None, std::ptr::null_mut());
        llama_model_free(m);
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

/// Edits the metadata and tensors of an adapter.
type Edit<'a> = &'a dyn Fn(&mut Vec<(String, Value)>, &mut Vec<TensorOut>);

struct TensorOut {
    name: String,
    ty: GgmlType,
    ne: Vec<u64>,
    data: Vec<u8>,
}

/// A model loaded with simulated GPUs: loading an adapter works, applying it is refused
/// (host-only models take adapters), and the context is unchanged.
#[test]
fn adapters_on_a_model_with_simulated_gpus_are_refused() {
    use llama::backend::sim::SimDevice;
    let Some(dir) = models_dir() else { return };
    let tmp = tmp_dir("sim");
    let path = dir.join("llama-spm-F32.gguf");
    let ad_path = small_attn_q_adapter(&path, &tmp, 5, "lora.gguf");
    let mut mp = ModelParams {
        gpus: vec![SimDevice::new("SIM0".to_string(), 1 << 30, true)],
        ..Default::default()
    };
    mp.place.n_gpu_layers = -1;
    let m = Arc::new(Model::load(&[path], &mp).expect("model"));
    let ad = Arc::new(LoraAdapter::open(&m, &ad_path).expect("adapter"));
    let mut c = Context::new(m, &cparams()).expect("ctx");
    let before = run_rust(&mut c);
    let e = c.set_loras(&[(ad, 1.0)]).expect_err("refused");
    eprintln!("{e}");
    assert!(e.to_string().contains("GPU"), "{e}");
    assert!(c.loras().is_empty());
    assert!(run_rust(&mut c) == before);
    let _ = std::fs::remove_dir_all(&tmp);
}
