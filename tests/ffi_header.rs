//! The committed headers in include/ are exactly what the generator produces from src/ffi
//! (regenerate with `scripts/gen_header.sh`, i.e. `FERROLLAMA_BLESS=1 cargo test --release --test
//! ffi_header`), and they compile as C and as C++ — our own smoke programs, and upstream's
//! example frontends unchanged.

mod common;
mod ffi_common;
#[path = "ffi_common/header_gen.rs"]
mod gen;

use std::process::Command;

#[test]
fn committed_headers_match_generator() {
    let root = ffi_common::manifest_dir();
    let headers = gen::generate(&root);
    let bless = std::env::var("FERROLLAMA_BLESS").is_ok_and(|v| v == "1");
    let mut stale = Vec::new();
    for (name, text) in &headers {
        let path = root.join("include").join(name);
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current != *text {
            if bless {
                std::fs::create_dir_all(root.join("include")).expect("mkdir include");
                std::fs::write(&path, text).expect("write header");
                eprintln!("updated {}", path.display());
            } else {
                stale.push(name.clone());
            }
        }
    }
    assert!(
        stale.is_empty(),
        "headers out of date: {stale:?}; run scripts/gen_header.sh and commit include/"
    );
}

fn build_and_run(compiler: &str, std: &str, src: &str) {
    let root = ffi_common::manifest_dir();
    let so = ffi_common::cdylib();
    let libdir = so.parent().expect("lib dir").to_path_buf();
    let exe =
        std::env::temp_dir().join(format!("ferrollama-hdr-{}-{compiler}", std::process::id()));
    let out = Command::new(compiler)
        .args([
            std,
            "-Wall",
            "-Wextra",
            "-Werror",
            "-Wno-deprecated-declarations",
            "-I",
        ])
        .arg(root.join("include"))
        .arg(root.join("tests/c").join(src))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&libdir)
        .arg(format!("-Wl,-rpath,{}", libdir.display()))
        .arg("-lllama")
        .output()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(
        out.status.success(),
        "{compiler} failed on {src}:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // cargo test puts target/<profile> on LD_LIBRARY_PATH, which outranks RUNPATH: pin ours
    let run = Command::new(&exe)
        .env("LD_LIBRARY_PATH", &libdir)
        .output()
        .expect("run smoke program");
    let _ = std::fs::remove_file(&exe);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && stdout.contains("header smoke ok"),
        "{src} failed: {stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn header_compiles_and_links_as_c() {
    build_and_run("gcc", "-std=c11", "header_smoke.c");
}

#[test]
fn header_compiles_and_links_as_cxx() {
    build_and_run("g++", "-std=c++17", "header_smoke.cpp");
}

/// Upstream's own example frontends (they include only llama.h) compile unchanged against ours.
#[test]
fn upstream_examples_compile_against_our_header() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let root = ffi_common::manifest_dir();
    let mut checked = 0;
    for ex in [
        "examples/simple/simple.cpp",
        "examples/simple-chat/simple-chat.cpp",
    ] {
        let src = up.join(ex);
        if !src.exists() {
            eprintln!("NOTICE: {} not in this sdist; skipped", src.display());
            continue;
        }
        let out = Command::new("g++")
            .args([
                "-std=c++17",
                "-fsyntax-only",
                "-Wno-deprecated-declarations",
                "-I",
            ])
            .arg(root.join("include"))
            .arg(&src)
            .output()
            .expect("run g++");
        assert!(
            out.status.success(),
            "{ex} does not compile against include/:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    eprintln!("compiled {checked} upstream examples against include/");
}

/// Upstream's `llama-simple` (examples/simple/simple.cpp, which uses the extended batch API:
/// `llama_batch_ext_*` + `llama_process`), compiled unchanged against our header and library,
/// prints the same text as when it runs on upstream's library (recorded from llama-cpp-python
/// 0.3.36's libllama: greedy, 12 tokens after "Once upon a time").
#[test]
fn upstream_simple_runs_on_our_library() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let src = up.join("examples/simple/simple.cpp");
    let so = ffi_common::cdylib();
    let libdir = so.parent().expect("lib dir").to_path_buf();
    let exe = std::env::temp_dir().join(format!("ferrollama-simple-{}", std::process::id()));
    let out = Command::new("g++")
        .args(["-std=c++17", "-O1", "-Wno-deprecated-declarations", "-I"])
        .arg(ffi_common::manifest_dir().join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&libdir)
        .arg("-lllama")
        .output()
        .expect("run g++");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Upstream's output, bytes as printed (the models have random weights).
    let expected: [(&str, &[u8]); 2] = [
        (
            "qwen3-Q8_0",
            b"Once upon a time$G <extun$$$$$$[PAD151673]\n",
        ),
        (
            "llama-spm-F32",
            b"<s> Once upon a time |ptionact\x99om C comm\xec into); teus\n",
        ),
    ];
    for (model, want) in expected {
        let run = Command::new(&exe)
            .env("LD_LIBRARY_PATH", &libdir)
            .arg("-m")
            .arg(shared.join(format!("data/models/{model}.gguf")))
            .args(["-n", "12", "Once upon a time"])
            .output()
            .expect("run simple");
        assert!(
            run.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&run.stderr)
        );
        let first_line: Vec<u8> = run
            .stdout
            .split_inclusive(|&b| b == b'\n')
            .next()
            .unwrap_or(&[])
            .to_vec();
        assert_eq!(first_line, want, "{model}: text differs from upstream's");
    }
    let _ = std::fs::remove_file(&exe);
}
