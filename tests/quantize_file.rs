//! Issue 6: `llama_model_quantize` through the C API, F32 models of `../shared` quantized to
//! every file type it handles, compared tensor by tensor with the files upstream's own
//! `llama_model_quantize` made from the same F32 models (`../shared/data/models`, see
//! `../shared/tools/quantize_ref.py`): the same types, shapes and bytes.

use std::ffi::CString;
use std::path::PathBuf;

use llama::ffi::model::llama_model_quantize;
use llama::ffi::params::llama_model_quantize_default_params;
use llama::gguf::GgufFile;

fn models() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/models");
    if d.is_dir() {
        return Some(d);
    }
    assert_ne!(
        std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref(),
        Ok("1"),
        "../shared is missing"
    );
    None
}

#[test]
fn quantized_files_equal_upstreams() {
    let Some(dir) = models() else { return };
    let cases: &[(&str, &str, i32)] = &[
        ("llama-spm", "Q4_0", 2),
        ("llama-spm", "Q4_1", 3),
        ("llama-spm", "Q8_0", 7),
        ("llama-spm", "Q5_0", 8),
        ("llama-spm", "Q5_1", 9),
        ("llama-spm", "IQ4_NL", 25),
        ("llama-spm", "F16", 1),
        ("llama-spm", "BF16", 32),
        ("llama3", "Q8_0", 7),
        ("llama-moe", "Q8_0", 7),
        ("qwen2", "Q8_0", 7),
        ("qwen3moe", "Q8_0", 7),
        ("deepseek2", "Q8_0", 7),
        ("gemma3", "Q8_0", 7),
        ("phi3", "Q8_0", 7),
    ];
    let mut n_tensors = 0;
    for &(model, ty, ftype) in cases {
        let inp = dir.join(format!("{model}-F32.gguf"));
        let want = dir.join(format!("{model}-{ty}.gguf"));
        let out = std::env::temp_dir().join(format!(
            "ferrollama-q-{}-{model}-{ty}.gguf",
            std::process::id()
        ));
        let (ci, co) = (
            CString::new(inp.to_str().expect("utf-8")).expect("path"),
            CString::new(out.to_str().expect("utf-8")).expect("path"),
        );
        let mut p = llama_model_quantize_default_params();
        p.ftype = ftype;
        // SAFETY: valid paths and params.
        let rc = unsafe { llama_model_quantize(ci.as_ptr(), co.as_ptr(), &p) };
        assert_eq!(rc, 0, "{model} -> {ty}");
        let (a, b) = (
            GgufFile::open(&out).expect("ours"),
            GgufFile::open(&want).expect("upstream's"),
        );
        assert_eq!(a.tensors().len(), b.tensors().len(), "{model} {ty}");
        // upstream writes the tensors in its loader's order; match them by name
        for x in a.tensors() {
            let y = b
                .tensors()
                .iter()
                .find(|y| y.name == x.name)
                .unwrap_or_else(|| panic!("{model} {ty}: {} missing upstream", x.name));
            assert_eq!((x.ty, &x.ne), (y.ty, &y.ne), "{model} {ty}: {}", x.name);
            assert!(
                a.tensor_data(x) == b.tensor_data(y),
                "{model} {ty}: {} bytes differ",
                x.name
            );
            n_tensors += 1;
        }
        let _ = std::fs::remove_file(&out);
    }
    eprintln!(
        "{n_tensors} tensors in {} files equal upstream's",
        cases.len()
    );
    // a k-quant mix is refused with an error, not a crash
    let inp = CString::new(dir.join("llama-spm-F32.gguf").to_str().expect("utf-8")).expect("path");
    let out = CString::new("/nonexistent/x.gguf").expect("path");
    let mut p = llama_model_quantize_default_params();
    p.ftype = 15;
    // SAFETY: valid paths and params.
    assert_eq!(
        unsafe { llama_model_quantize(inp.as_ptr(), out.as_ptr(), &p) },
        1
    );
}
