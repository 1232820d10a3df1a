//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared` beside the repository, when present. With `FERROLLAMA_REQUIRE_SHARED=1`
/// (CI) a missing folder fails the test instead of skipping it.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("data").is_dir() {
        return Some(dir);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!(
            "FERROLLAMA_REQUIRE_SHARED=1 but {} is missing",
            dir.display()
        );
    }
    eprintln!(
        "notice: {} not found; skipping a test that needs reference data",
        dir.display()
    );
    None
}

/// Every `*.gguf` in `../shared/data/models`, sorted.
pub fn shared_models() -> Vec<PathBuf> {
    let Some(dir) = shared_dir() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("data/models"))
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "gguf"));
    v.sort();
    v
}

/// `../shared/data/models/<name>` when present (see [`shared_dir`] for the CI rule).
pub fn shared_model(name: &str) -> Option<PathBuf> {
    let p = shared_dir()?.join("data/models").join(name);
    if p.is_file() {
        return Some(p);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", p.display());
    }
    eprintln!("notice: {} not found; skipping", p.display());
    None
}

/// [`shared_model`] as a C string, for the C API.
pub fn shared_model_c(name: &str) -> Option<std::ffi::CString> {
    std::ffi::CString::new(shared_model(name)?.to_str()?).ok()
}
