//! examples/c/simple.c, built with a C compiler against include/ and the cdylib, run on the
//! ../shared models: its greedy tokens must be upstream's (`d_gen` of the reference corpus, for
//! the 12-token prompt of case d), or first diverge at a near tie, by the corpus tool's rule. The
//! .npz files are read with python3's zipfile (stdlib only).

mod ffi_common;

use std::path::Path;
use std::process::Command;

fn shared() -> Option<std::path::PathBuf> {
    let p = ffi_common::manifest_dir().join("../shared");
    if p.join("data").is_dir() {
        return Some(p);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", p.display());
    }
    eprintln!("NOTICE: skipping: {} not found", p.display());
    None
}

/// Reads an int32 .npy array and the JSON spec out of a reference .npz.
fn npz(path: &Path, member: &str) -> Vec<u8> {
    let script = "import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .arg(format!("{member}.npy"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "reading {member} from {}",
        path.display()
    );
    let b = out.stdout;
    assert_eq!(&b[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([b[8], b[9]]) as usize;
    b[10 + hlen..].to_vec()
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The near-tie logit margin of the corpus comparison tool (../shared/tools/compare.py): a greedy
/// run may first diverge only where upstream's top-1/top-2 margin was below it.
fn near_tie_margin(model: &str) -> f32 {
    match model.rsplit('-').next() {
        Some("F32") => 1e-3,
        Some("F16") => 1e-2,
        Some("BF16") => 5e-2,
        _ => 2e-1,
    }
}

fn i32s(b: &[u8]) -> Vec<i32> {
    b.chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The spec is a 0-d unicode array (UTF-32LE).
fn spec_json(b: &[u8]) -> String {
    b.chunks_exact(4)
        .filter_map(|c| char::from_u32(u32::from_le_bytes([c[0], c[1], c[2], c[3]])))
        .filter(|&c| c != '\0')
        .collect()
}

/// The token list of case "d" in the spec JSON.
fn case_d_tokens(spec: &str) -> Vec<i32> {
    let at = spec.find("\"name\": \"d\"").expect("case d");
    let rest = &spec[at..];
    let open = rest.find("\"tokens\": [").expect("tokens") + "\"tokens\": [".len();
    let close = rest[open..].find(']').expect("]") + open;
    rest[open..close]
        .split(',')
        .map(|t| t.trim().parse().expect("id"))
        .collect()
}

#[test]
fn simple_c_generates_upstreams_greedy_tokens() {
    let Some(shared) = shared() else { return };
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("NOTICE: python3 not found; skipping");
        return;
    }
    let root = ffi_common::manifest_dir();
    let so = ffi_common::cdylib();
    let libdir = so.parent().expect("lib dir");
    let exe = std::env::temp_dir().join(format!("ferrollama-simple-{}", std::process::id()));
    let out = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-I"])
        .arg(root.join("include"))
        .arg(root.join("examples/c/simple.c"))
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(libdir)
        .arg(format!("-Wl,-rpath,{}", libdir.display()))
        .arg("-lllama")
        .output()
        .expect("gcc");
    assert!(
        out.status.success(),
        "simple.c does not build:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let mut checked = Vec::new();
    for name in [
        "llama-spm-Q8_0",
        "llama-spm-Q4_K_M",
        "llama3-Q4_K_M",
        "qwen2-Q8_0",
        "gemma3-Q8_0",
    ] {
        let reference = shared.join(format!("data/reference/{name}.npz"));
        let model = shared.join(format!("data/models/{name}.gguf"));
        let want = i32s(&npz(&reference, "d_gen"));
        let prompt = case_d_tokens(&spec_json(&npz(&reference, "spec")));
        let ids: Vec<String> = prompt.iter().map(|t| t.to_string()).collect();
        // cargo test puts target/<profile> on LD_LIBRARY_PATH, which outranks RUNPATH: pin ours
        let run = Command::new(&exe)
            .env("LD_LIBRARY_PATH", libdir)
            .arg(&model)
            .arg(format!("ids:{}", ids.join(",")))
            .arg(want.len().to_string())
            .output()
            .expect("run simple");
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{name}: simple failed\n{stdout}\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let got: Vec<i32> = stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("ids:"))
            .expect("ids line")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("id"))
            .collect();
        let margin = f32s(&npz(&reference, "d_margin"));
        let k = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        if k < want.len() {
            assert!(
                k < got.len() && margin[k] < near_tie_margin(name),
                "{name}: greedy tokens diverge from upstream at step {k} (reference margin {}):\n ours {got:?}\n upstream {want:?}",
                margin.get(k).copied().unwrap_or(f32::NAN)
            );
            eprintln!(
                "{name}: diverges at step {k}, a near tie (reference margin {})",
                margin[k]
            );
        }
        checked.push(name);
    }
    let _ = std::fs::remove_file(&exe);
    eprintln!("examples/c/simple.c agrees with upstream's greedy tokens (identical, or diverging only at a near tie) on {checked:?}");
}
