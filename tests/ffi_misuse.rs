//! Must-show #4, misuse: every exported function that takes a pointer is called from C with NULL
//! for all of its pointer parameters (zero for the rest). The program must not crash, no Rust panic
//! message may reach stderr, and each function must return its failure value: NULL for pointers,
//! false, a value <= 0 for signed integers and enums, 0 for unsigned integers and floats,
//! LLAMA_TOKEN_NULL / -1 for tokens and positions, an all-zero struct — except the few functions
//! whose documented behaviour with these arguments is a success (listed in `EXPECT`).
//!
//! The C program is generated from the prototypes of our include/*.h, so a new function is covered
//! as soon as it is exported.

mod ffi_common;

use std::collections::HashMap;
use std::process::Command;

/// Pointer typedefs (passed as NULL).
const POINTER_TYPEDEFS: [&str; 16] = [
    "ggml_backend_dev_t",
    "ggml_backend_buffer_type_t",
    "ggml_backend_reg_t",
    "ggml_threadpool_t",
    "ggml_opt_dataset_t",
    "ggml_opt_result_t",
    "ggml_opt_context_t",
    "llama_memory_t",
    "llama_sampler_context_t",
    "ggml_log_callback",
    "ggml_abort_callback",
    "ggml_backend_sched_eval_callback",
    "llama_model_set_tensor_data_t",
    "ggml_opt_epoch_callback",
    "llama_progress_callback",
    "llama_opt_param_filter",
];

/// Functions whose result with all-NULL pointers is a documented success, and what it must be
/// (`any` = only "no crash, no panic" is checked).
const EXPECT: [(&str, &str); 9] = [
    // "always returns true"
    ("llama_opt_param_filter_all", "1"),
    // tmpl NULL means the default (chatml) template; zero messages without the assistant prefix
    ("llama_chat_apply_template", "any"),
    // returns the number of built-in templates whatever the output size
    ("llama_chat_builtin_templates", "any"),
    // llama_model_quantize returns 0 on success: its failure value is non-zero
    ("llama_model_quantize", "nonzero"),
    // "LLAMA_DEFAULT_SEED otherwise"
    ("llama_sampler_get_seed", "4294967295"),
    // a batch viewing NULL tokens with n_tokens 0 is an empty batch, not an error
    ("llama_batch_get_one", "any"),
    // n_logit_bias = 0: a NULL list is a valid empty list
    ("llama_sampler_init_logit_bias", "any"),
    // dry_multiplier 0 disables DRY; as upstream, the vocab is needed only to process seq breakers
    ("llama_sampler_init_dry", "any"),
    // FERROLLAMA_FIT_STATUS_ERROR (2) is the fit's failure value for bad arguments
    ("ferrollama_fit", "2"),
];

#[derive(Debug)]
struct Proto {
    ret: String,
    name: String,
    params: Vec<(String, String)>,
}

fn parse_protos(header: &str) -> Vec<Proto> {
    let mut out = Vec::new();
    for line in header.lines() {
        let line = line.trim();
        let decl = if let Some(rest) = line.strip_prefix("DEPRECATED(LLAMA_API ") {
            match rest.rfind("), \"") {
                Some(p) => &rest[..=p],
                None => continue,
            }
        } else if let Some(rest) = line
            .strip_prefix("LLAMA_API ")
            .or_else(|| line.strip_prefix("GGML_API "))
        {
            rest.trim_end_matches(';')
        } else {
            continue;
        };
        let Some(open) = decl.find('(') else { continue };
        let head = &decl[..open];
        let name: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let ret = head[..head.len() - name.len()].trim().to_string();
        let inner = &decl[open + 1..decl.len() - 1];
        let params = if inner.trim() == "void" {
            Vec::new()
        } else {
            inner
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    let pname: String = p
                        .chars()
                        .rev()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect::<Vec<_>>()
                        .into_iter()
                        .rev()
                        .collect();
                    (p[..p.len() - pname.len()].trim().to_string(), pname)
                })
                .collect()
        };
        out.push(Proto { ret, name, params });
    }
    out
}

fn is_pointer(ty: &str) -> bool {
    ty.contains('*') || POINTER_TYPEDEFS.contains(&ty)
}

/// The C argument expression for a parameter: NULL, a zeroed struct, or 0.
fn arg(ty: &str, zeros: &mut Vec<String>) -> String {
    if is_pointer(ty) {
        "NULL".into()
    } else if let Some(s) = ty.strip_prefix("struct ") {
        let var = format!("zero_{s}");
        let decl = format!("static struct {s} {var};");
        if !zeros.contains(&decl) {
            zeros.push(decl);
        }
        var
    } else if ty.starts_with("enum ") {
        format!("({ty}) 0")
    } else {
        "0".into()
    }
}

/// The statement printing "name value" for a call.
fn call(p: &Proto, zeros: &mut Vec<String>) -> String {
    let args: Vec<String> = p.params.iter().map(|(t, _)| arg(t, zeros)).collect();
    let c = format!("{}({})", p.name, args.join(", "));
    let n = &p.name;
    let r = p.ret.as_str();
    if r == "void" {
        format!("    {c}; printf(\"{n} void\\n\");\n")
    } else if r.contains('*') {
        format!("    {{ const void *r = (const void *) {c}; printf(\"{n} %d\\n\", r != NULL); }}\n")
    } else if r.starts_with("struct ") {
        format!(
            "    {{ {r} r = {c}; const unsigned char *b = (const unsigned char *) &r; int nz = 0; \
             for (size_t i = 0; i < sizeof r; i++) nz |= b[i] != 0; printf(\"{n} %d\\n\", nz); }}\n"
        )
    } else if r == "float" || r == "double" {
        format!("    printf(\"{n} %g\\n\", (double) {c});\n")
    } else if r == "bool" {
        format!("    printf(\"{n} %d\\n\", (int) {c});\n")
    } else if r.starts_with("uint") || r == "size_t" || r == "llama_state_seq_flags" {
        format!("    printf(\"{n} %llu\\n\", (unsigned long long) {c});\n")
    } else {
        format!("    printf(\"{n} %lld\\n\", (long long) {c});\n")
    }
}

/// Checks one result against the rule for its return type.
fn verdict(p: &Proto, value: &str) -> Result<(), String> {
    let expect: HashMap<&str, &str> = EXPECT.into_iter().collect();
    let bad = |why: &str| Err(format!("{} returned {value} ({why})", p.name));
    if let Some(e) = expect.get(p.name.as_str()) {
        return match *e {
            "any" => Ok(()),
            "nonzero" if value != "0" => Ok(()),
            e if e == value => Ok(()),
            e => bad(&format!("expected {e}")),
        };
    }
    let r = p.ret.as_str();
    let ok = if r == "void" {
        true
    } else if r.contains('*')
        || r.starts_with("struct ")
        || r == "bool"
        || r.starts_with("uint")
        || r == "size_t"
    {
        value == "0"
    } else if r == "float" || r == "double" {
        value == "0" || value == "-0" || value.contains("nan")
    } else if r == "llama_token" || r == "llama_pos" {
        value == "-1"
    } else {
        value.parse::<i64>().is_ok_and(|v| v <= 0)
    };
    if ok {
        Ok(())
    } else {
        bad("not the failure value")
    }
}

#[test]
fn null_pointers_give_failure_values_without_panics() {
    let root = ffi_common::manifest_dir();
    let so = ffi_common::cdylib();
    let libdir = so.parent().expect("lib dir").to_path_buf();
    let mut protos = Vec::new();
    for h in [
        "llama.h",
        "ggml.h",
        "ggml-backend.h",
        "ggml-cpu.h",
        "ferrollama.h",
    ] {
        protos.extend(parse_protos(
            &std::fs::read_to_string(root.join("include").join(h)).expect("header"),
        ));
    }
    let with_ptr: Vec<&Proto> = protos
        .iter()
        .filter(|p| p.params.iter().any(|(t, _)| is_pointer(t)))
        .collect();
    assert!(
        with_ptr.len() > 200,
        "parsed only {} functions with pointer parameters",
        with_ptr.len()
    );

    let mut zeros = Vec::new();
    let mut body = String::new();
    for p in &with_ptr {
        body.push_str(&call(p, &mut zeros));
    }
    let program = format!(
        "#include \"llama.h\"\n#include \"ferrollama.h\"\n#include <stdio.h>\n\n{}\n\nint main(void) {{\n    setvbuf(stdout, NULL, _IONBF, 0);\n{body}    return 0;\n}}\n",
        zeros.join("\n")
    );
    let dir = std::env::temp_dir().join(format!("ferrollama-misuse-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let src = dir.join("misuse.c");
    let exe = dir.join("misuse");
    std::fs::write(&src, &program).expect("write program");
    let out = Command::new("gcc")
        .args(["-std=c11", "-w", "-I"])
        .arg(root.join("include"))
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-L")
        .arg(&libdir)
        .arg(format!("-Wl,-rpath,{}", libdir.display()))
        .arg("-lllama")
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "compile failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // cargo test puts target/<profile> on LD_LIBRARY_PATH, which outranks RUNPATH: pin ours
    let run = Command::new(&exe)
        .env("LD_LIBRARY_PATH", &libdir)
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run misuse program");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    let last = stdout.lines().last().unwrap_or("(nothing)");
    assert!(
        run.status.success(),
        "misuse program died ({:?}) after: {last}\nstderr tail:\n{}",
        run.status,
        tail(&stderr)
    );
    assert!(
        !stderr.contains("panicked"),
        "a Rust panic message reached stderr:\n{}",
        tail(&stderr)
    );

    let results: HashMap<&str, &str> = stdout.lines().filter_map(|l| l.split_once(' ')).collect();
    let mut failures = Vec::new();
    for p in &with_ptr {
        match results.get(p.name.as_str()) {
            Some(v) => {
                if let Err(e) = verdict(p, v) {
                    failures.push(e);
                }
            }
            None => failures.push(format!("{}: no result printed", p.name)),
        }
    }
    eprintln!(
        "misuse: {} functions called with NULL pointers, {} wrong results",
        with_ptr.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "wrong failure values:\n{}",
        failures.join("\n")
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

static LOG: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn capture_log(
    _level: i32,
    text: *const std::ffi::c_char,
    _ud: *mut std::ffi::c_void,
) {
    // SAFETY: the library passes a NUL-terminated string.
    let t = unsafe { std::ffi::CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned();
    LOG.lock().unwrap_or_else(|e| e.into_inner()).push(t);
}

/// A failed model load returns NULL and says why through the log callback.
#[test]
fn failed_model_load_returns_null_with_a_log_message() {
    use llama::ffi::model::llama_model_load_from_file;
    use llama::ffi::params::llama_model_default_params;
    let dir = std::env::temp_dir().join(format!("ferrollama-badload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let garbage = dir.join("garbage.gguf");
    std::fs::write(&garbage, b"GGUF\x03\x00\x00\x00this is not a model").expect("write");
    let missing = dir.join("missing.gguf");
    // SAFETY: valid callback; it only appends to a Mutex<Vec<String>>.
    unsafe { llama::ffi::log::llama_log_set(Some(capture_log), std::ptr::null_mut()) };
    for path in [&missing, &garbage] {
        LOG.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let c = std::ffi::CString::new(path.to_string_lossy().as_bytes()).expect("path");
        // SAFETY: valid NUL-terminated path and default params.
        let m = unsafe { llama_model_load_from_file(c.as_ptr(), llama_model_default_params()) };
        assert!(m.is_null(), "loading {} must fail", path.display());
        let log = LOG.lock().unwrap_or_else(|e| e.into_inner()).join("");
        assert!(
            !log.trim().is_empty(),
            "a failed load of {} must log why",
            path.display()
        );
        assert!(!log.contains("panicked"), "{log}");
    }
    // SAFETY: NULL restores the default logger.
    unsafe { llama::ffi::log::llama_log_set(None, std::ptr::null_mut()) };
    let _ = std::fs::remove_dir_all(&dir);
}
