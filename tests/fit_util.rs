//! Helpers shared by the fit / plan tests (included with `#[path]`; as a test target of its
//! own it has no tests).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `CARGO_MANIFEST_DIR/../shared`, or None (panics when FERROLLAMA_REQUIRE_SHARED=1).
pub fn shared_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if d.join("data/models").is_dir() {
        return Some(d);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", d.display());
    }
    eprintln!("notice: {} missing, test skipped", d.display());
    None
}

/// The tiny models of ../shared/data/models.
pub fn shared_models() -> Vec<PathBuf> {
    let Some(d) = shared_dir() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(d.join("data/models"))
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "gguf"));
    v.sort();
    v
}

static SPARSE: OnceLock<Option<(PathBuf, PathBuf)>> = OnceLock::new();

fn generate(python: &str, which: &str, out: &Path) -> Result<(), String> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/make_sparse_gguf.py");
    let o = Command::new(python)
        .arg(&script)
        .arg(which)
        .arg(out)
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !o.status.success() {
        return Err(format!(
            "{} {which}: {}",
            script.display(),
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(())
}

/// Sparse Kimi-K2-like and DeepSeek-R1 GGUFs generated (once per test process) with
/// `scripts/make_sparse_gguf.py` (python: FERROLLAMA_PYTHON or python3, with gguf installed)
/// into the target's temp dir; each file is written under a temporary name and renamed, so
/// concurrent test processes never see a half-written header. The files are sparse: their data
/// sections are holes that take no disk blocks.
pub fn sparse_models() -> Option<(PathBuf, PathBuf)> {
    SPARSE
        .get_or_init(|| {
            shared_dir()?;
            let python = std::env::var("FERROLLAMA_PYTHON").unwrap_or_else(|_| "python3".into());
            let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fit-sparse");
            std::fs::create_dir_all(&dir).ok()?;
            let mut out = Vec::new();
            for which in ["kimi-k2", "deepseek-r1"] {
                let path = dir.join(format!("{which}-sparse.gguf"));
                let tmp = dir.join(format!("{which}-sparse.{}.tmp", std::process::id()));
                let res = generate(&python, which, &tmp)
                    .and_then(|_| std::fs::rename(&tmp, &path).map_err(|e| format!("rename: {e}")));
                if let Err(e) = res {
                    let _ = std::fs::remove_file(&tmp);
                    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
                        panic!("cannot generate the sparse GGUFs: {e}");
                    }
                    eprintln!("notice: cannot generate the sparse GGUFs ({e}); skipped");
                    return None;
                }
                out.push(path);
            }
            Some((out[0].clone(), out[1].clone()))
        })
        .clone()
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
    pub fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.next_u64() as usize % v.len()]
    }
}
