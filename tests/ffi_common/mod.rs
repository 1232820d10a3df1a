//! Shared helpers of the C API tests: where the built library is, where upstream's pinned headers
//! are, and a parser for the `LLAMA_API` declarations of llama.h.
//!
//! Upstream's headers are never committed. They come from llama-cpp-python 0.3.36's sdist, found in
//! this order: `$FERROLLAMA_UPSTREAM_SDIST` (an extracted sdist folder or the `.tar.gz`),
//! `/work/up/llama_cpp_python-0.3.36`, a cached extraction under `target/upstream-sdist/`, or a
//! download with `pip download` into that cache (skipped when `FERROLLAMA_NO_DOWNLOAD=1`). When none
//! works the tests that need it skip with a notice, or fail when `FERROLLAMA_REQUIRE_UPSTREAM=1`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub mod c_decls;

/// The pinned llama-cpp-python version whose vendored llama.cpp we mirror.
pub const SDIST_VERSION: &str = "0.3.36";

/// The crate root.
pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The profile folder the test binary was built into (`target/release` or `target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The built `libllama.so` of this profile: the newer of `target/<profile>/deps/libllama.so`
/// (rebuilt by `cargo test` together with the test's rlib) and `target/<profile>/libllama.so`
/// (updated only by `cargo build`); built with cargo if neither exists. A `libllama.so.0` link (the
/// SONAME) is created beside it so linked programs find it.
pub fn cdylib() -> PathBuf {
    let dir = profile_dir();
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let candidates = [dir.join("deps/libllama.so"), dir.join("libllama.so")];
    let mut best: Option<PathBuf> = None;
    for c in candidates.iter().filter(|c| c.exists()) {
        if best.as_ref().is_none_or(|b| mtime(c) > mtime(b)) {
            best = Some(c.clone());
        }
    }
    let so = match best {
        Some(so) => so,
        None => {
            let release = dir.file_name().is_some_and(|n| n == "release");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.arg("build").arg("--lib").current_dir(manifest_dir());
            if release {
                cmd.arg("--release");
            }
            let st = cmd.status().expect("run cargo build");
            assert!(st.success(), "cargo build --lib failed");
            dir.join("libllama.so")
        }
    };
    assert!(so.exists(), "{} not found", so.display());
    let soname = so.with_file_name("libllama.so.0");
    if std::fs::symlink_metadata(&soname).is_err() {
        let _ = std::os::unix::fs::symlink("libllama.so", &soname);
    }
    so
}

fn require_upstream() -> bool {
    std::env::var("FERROLLAMA_REQUIRE_UPSTREAM").is_ok_and(|v| v == "1")
}

/// Skips (returns None with a notice) or fails, per `FERROLLAMA_REQUIRE_UPSTREAM`.
pub fn missing_upstream(why: &str) -> Option<PathBuf> {
    if require_upstream() {
        panic!("upstream sdist required (FERROLLAMA_REQUIRE_UPSTREAM=1) but unavailable: {why}");
    }
    eprintln!(
        "NOTICE: skipping: upstream llama-cpp-python {SDIST_VERSION} sdist unavailable: {why}"
    );
    None
}

fn vendor_dir(sdist_root: &Path) -> Option<PathBuf> {
    let v = sdist_root.join("vendor/llama.cpp");
    v.join("include/llama.h").exists().then_some(v)
}

fn extract(tarball: &Path, into: &Path) -> Option<PathBuf> {
    std::fs::create_dir_all(into).ok()?;
    let st = Command::new("tar")
        .arg("xzf")
        .arg(tarball)
        .arg("-C")
        .arg(into)
        .arg("--wildcards")
        .arg("*/vendor/llama.cpp/include/*")
        .arg("*/vendor/llama.cpp/ggml/include/*")
        .arg("*/vendor/llama.cpp/examples/simple/*")
        .arg("*/vendor/llama.cpp/examples/simple-chat/*")
        .arg("*/vendor/llama.cpp/src/llama.cpp")
        .arg("*/vendor/llama.cpp/src/llama-model.cpp")
        .arg("*/vendor/llama.cpp/src/llama-context.cpp")
        .arg("*/vendor/llama.cpp/src/llama-quant.cpp")
        .status()
        .ok()?;
    if !st.success() {
        return None;
    }
    vendor_dir(&into.join(format!("llama_cpp_python-{SDIST_VERSION}")))
}

/// Upstream's `vendor/llama.cpp` folder (holding `include/llama.h` and `ggml/include/*.h`).
pub fn upstream_llama_cpp() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FERROLLAMA_UPSTREAM_SDIST") {
        let p = PathBuf::from(p);
        if p.is_dir() {
            return vendor_dir(&p)
                .or_else(|| missing_upstream("FERROLLAMA_UPSTREAM_SDIST has no vendor/llama.cpp"));
        }
        let cache = manifest_dir().join("target/upstream-sdist");
        return extract(&p, &cache)
            .or_else(|| missing_upstream("could not extract FERROLLAMA_UPSTREAM_SDIST"));
    }
    if let Some(v) = vendor_dir(Path::new(&format!(
        "/work/up/llama_cpp_python-{SDIST_VERSION}"
    ))) {
        return Some(v);
    }
    let cache = manifest_dir().join("target/upstream-sdist");
    if let Some(v) = vendor_dir(&cache.join(format!("llama_cpp_python-{SDIST_VERSION}"))) {
        return Some(v);
    }
    if std::env::var("FERROLLAMA_NO_DOWNLOAD").is_ok_and(|v| v == "1") {
        return missing_upstream("not found locally and FERROLLAMA_NO_DOWNLOAD=1");
    }
    let _ = std::fs::create_dir_all(&cache);
    let ok = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            "llama-cpp-python",
        ])
        .arg(format!("llama-cpp-python=={SDIST_VERSION}"))
        .arg("-d")
        .arg(&cache)
        .status()
        .is_ok_and(|s| s.success());
    let tarball = cache.join(format!("llama_cpp_python-{SDIST_VERSION}.tar.gz"));
    if !ok || !tarball.exists() {
        return missing_upstream("pip download failed");
    }
    extract(&tarball, &cache).or_else(|| missing_upstream("could not extract the downloaded sdist"))
}

/// Removes `//` and `/* */` comments.
pub fn strip_comments(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                i += 1;
            }
            i += 2;
        } else {
            let start = i;
            while i < b.len() && b[i] != b'/' {
                i += 1;
            }
            if i == start {
                i += 1;
            }
            out.push_str(&src[start..i]);
        }
    }
    out
}

/// The names of all functions declared with `LLAMA_API` in a llama.h text, in order.
pub fn llama_api_functions(header: &str) -> Vec<String> {
    let src = strip_comments(header);
    let mut names = Vec::new();
    let mut rest = src.as_str();
    while let Some(pos) = rest.find("LLAMA_API") {
        let after = &rest[pos + "LLAMA_API".len()..];
        let end = after.find(';').unwrap_or(after.len());
        let decl = after[..end].trim();
        rest = &after[end..];
        if decl.contains('#') || decl.starts_with("__") {
            continue; // the macro's own definition
        }
        let decl = decl.strip_prefix("DEPRECATED(").unwrap_or(decl);
        let Some(paren) = decl.find('(') else {
            continue;
        };
        let head = decl[..paren].trim_end();
        let name: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

/// The committed list of llama.h's functions (tests/data/llama_h_functions.txt).
pub fn committed_function_list() -> Vec<String> {
    let text = std::fs::read_to_string(manifest_dir().join("tests/data/llama_h_functions.txt"))
        .expect("tests/data/llama_h_functions.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

/// Dynamic symbols the shared library defines (`nm -D --defined-only`).
pub fn exported_symbols(so: &Path) -> Vec<String> {
    let out = Command::new("nm")
        .arg("-D")
        .arg("--defined-only")
        .arg(so)
        .output()
        .expect("run nm");
    assert!(out.status.success(), "nm failed on {}", so.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect()
}
