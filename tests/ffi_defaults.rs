//! The four `*_default_params` functions return upstream's values, field for field. The expected
//! values are read at test time from upstream's sources in the pinned sdist (the initializer lists
//! of `llama_model_default_params` etc., never committed), compiled into a C program against
//! upstream's llama.h, and compared field by field (byte-exact) with what our library returns.

mod ffi_common;

use std::process::Command;

use ffi_common::c_decls::parse_dir_headers;

/// (function, struct, source file) for each default-params function.
const DEFAULTS: [(&str, &str, &str); 4] = [
    (
        "llama_model_default_params",
        "llama_model_params",
        "src/llama-model.cpp",
    ),
    (
        "llama_context_default_params",
        "llama_context_params",
        "src/llama-context.cpp",
    ),
    (
        "llama_sampler_chain_default_params",
        "llama_sampler_chain_params",
        "src/llama.cpp",
    ),
    (
        "llama_model_quantize_default_params",
        "llama_model_quantize_params",
        "src/llama-quant.cpp",
    ),
];

/// The comma-separated values of the `result = { ... };` initializer in function `func`.
fn initializer_values(src: &str, func: &str) -> Vec<String> {
    let src = ffi_common::strip_comments(src);
    let at = src
        .find(&format!("{func}()"))
        .unwrap_or_else(|| panic!("{func} not found"));
    let body = &src[at..];
    let open = body.find("= {").expect("initializer") + 3;
    let close = body[open..].find("};").expect("end of initializer") + open;
    body[open..close]
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// `static const size_t NAME = EXPR;` constants of a source file, as `#define`s.
fn static_consts(src: &str) -> String {
    src.lines()
        .filter_map(|l| l.trim().strip_prefix("static const size_t "))
        .filter_map(|l| l.trim_end_matches(';').split_once('='))
        .map(|(n, e)| format!("#define {} ({})\n", n.trim(), e.trim()))
        .collect()
}

#[test]
fn default_params_match_upstream_field_for_field() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    if !up.join("src/llama-model.cpp").exists() {
        ffi_common::missing_upstream(
            "the sdist cache has no src/ (remove target/upstream-sdist to re-extract)",
        );
        return;
    }
    let headers = parse_dir_headers(&[up.join("include")], &["llama.h"]);
    let mut program = String::from(
        "#include \"llama.h\"\n#include <stdio.h>\n#include <string.h>\n#define nullptr NULL\n",
    );
    let mut body = String::new();
    let mut n_fields = 0;
    for (func, strukt, file) in DEFAULTS {
        let src = std::fs::read_to_string(up.join(file)).expect("read upstream source");
        program.push_str(&static_consts(&src));
        let values = initializer_values(&src, func);
        let fields = &headers.structs[strukt];
        assert_eq!(
            values.len(),
            fields.len(),
            "{func}: {} values for {} fields",
            values.len(),
            fields.len()
        );
        body.push_str(&format!(
            "    {{\n        struct {strukt} up = {{ {} }};\n        struct {strukt} ours = {func}();\n",
            values.join(", ")
        ));
        for f in fields {
            body.push_str(&format!(
                "        if (memcmp(&up.{f}, &ours.{f}, sizeof up.{f}) != 0) {{ printf(\"{strukt}.{f} differs\\n\"); bad++; }}\n"
            ));
            n_fields += 1;
        }
        body.push_str("    }\n");
    }
    program.push_str(&format!("\nint main(void) {{\n    int bad = 0;\n{body}    printf(\"checked {n_fields} fields\\n\");\n    return bad != 0;\n}}\n"));

    let so = ffi_common::cdylib();
    let libdir = so.parent().expect("lib dir");
    let dir = std::env::temp_dir().join(format!("ferrollama-defaults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let (src, exe) = (dir.join("defaults.c"), dir.join("defaults"));
    std::fs::write(&src, &program).expect("write");
    let out = Command::new("gcc")
        .args(["-std=c11", "-w", "-I"])
        .arg(up.join("include"))
        .arg("-I")
        .arg(up.join("ggml/include"))
        .arg(&src)
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
        "compile failed:\n{}\n{program}",
        String::from_utf8_lossy(&out.stderr)
    );
    // cargo test puts target/<profile> on LD_LIBRARY_PATH, which outranks RUNPATH: pin ours
    let run = Command::new(&exe)
        .env("LD_LIBRARY_PATH", libdir)
        .output()
        .expect("run");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    eprintln!("{stdout}");
    assert!(
        run.status.success(),
        "default params differ from upstream:\n{stdout}"
    );
    assert!(n_fields > 60, "only {n_fields} fields compared");
}
