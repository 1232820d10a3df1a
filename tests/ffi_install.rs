//! Packaging: `make install PREFIX=<tmp>` installs the library, headers, llama.pc and the CMake
//! package; a C program then builds against the install through pkg-config and through CMake's
//! `find_package(llama)` → `llama::llama`, and runs. (The CMake part needs `cmake` on PATH, in
//! `$FERROLLAMA_CMAKE`, or in `target/py-venv/bin`; without one it is skipped with a notice.)

mod ffi_common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn run_ok(cmd: &mut Command, what: &str) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn find_cmake(root: &Path) -> Option<PathBuf> {
    if let Ok(p) = std::env::var("FERROLLAMA_CMAKE") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("cmake"))
        .chain([root.join("target/py-venv/bin/cmake")])
        .find(|p| p.is_file())
}

#[test]
fn make_install_then_build_with_pkg_config_and_cmake() {
    let root = ffi_common::manifest_dir();
    let prefix = std::env::temp_dir().join(format!("ferrollama-install-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&prefix);
    run_ok(
        Command::new("make")
            .arg("install")
            .arg(format!("PREFIX={}", prefix.display()))
            // install the library this test run built, without a nested cargo build
            .arg(format!("LIB={}", ffi_common::cdylib().display()))
            .arg("CARGO=true")
            .current_dir(&root),
        "make install",
    );
    for f in [
        "lib/libllama.so.0.5.0",
        "lib/libllama.so.0",
        "lib/libllama.so",
        "include/llama.h",
        "include/ggml.h",
        "lib/pkgconfig/llama.pc",
        "lib/cmake/llama/llama-config.cmake",
    ] {
        assert!(prefix.join(f).exists(), "{f} not installed");
    }

    // pkg-config
    let pc = run_ok(
        Command::new("pkg-config")
            .args(["--cflags", "--libs", "llama"])
            .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig")),
        "pkg-config",
    );
    let exe = prefix.join("smoke-pc");
    let mut gcc = Command::new("gcc");
    gcc.arg("-std=c11")
        .arg(root.join("tests/c/header_smoke.c"))
        .arg("-o")
        .arg(&exe);
    gcc.args(pc.split_whitespace());
    run_ok(&mut gcc, "gcc with pkg-config flags");
    let out = run_ok(
        Command::new(&exe).env("LD_LIBRARY_PATH", prefix.join("lib")),
        "pkg-config smoke program",
    );
    assert!(out.contains("header smoke ok"), "{out}");

    // CMake
    match find_cmake(&root) {
        None => eprintln!("NOTICE: cmake not found; skipping the find_package(llama) check"),
        Some(cmake) => {
            let build = prefix.join("cmake-build");
            let mut cfg = Command::new(&cmake);
            cfg.arg("-S")
                .arg(root.join("tests/c/cmake_pkg"))
                .arg("-B")
                .arg(&build);
            cfg.arg(format!("-DCMAKE_PREFIX_PATH={}", prefix.display()));
            if let Some(dir) = cmake.parent() {
                if dir.join("ninja").is_file() {
                    cfg.arg("-G").arg("Ninja").arg(format!(
                        "-DCMAKE_MAKE_PROGRAM={}",
                        dir.join("ninja").display()
                    ));
                }
            }
            run_ok(&mut cfg, "cmake configure");
            run_ok(
                Command::new(&cmake).arg("--build").arg(&build),
                "cmake build",
            );
            let out = run_ok(
                Command::new(build.join("smoke")).env("LD_LIBRARY_PATH", prefix.join("lib")),
                "cmake smoke program",
            );
            assert!(out.contains("header smoke ok"), "{out}");
        }
    }
    let _ = std::fs::remove_dir_all(&prefix);
}
