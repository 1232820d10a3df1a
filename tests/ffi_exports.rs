//! Must-show #2: the shared library exports every function of the pinned llama.h, and its SONAME
//! is upstream's `libllama.so.0`.

mod ffi_common;

use std::collections::HashSet;
use std::process::Command;

#[test]
fn committed_list_matches_upstream_header() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let header =
        std::fs::read_to_string(up.join("include/llama.h")).expect("read upstream llama.h");
    let upstream = ffi_common::llama_api_functions(&header);
    assert_eq!(
        upstream.len(),
        255,
        "upstream llama.h should declare 255 LLAMA_API functions"
    );
    assert_eq!(upstream, ffi_common::committed_function_list());
}

#[test]
fn cdylib_exports_every_llama_h_function() {
    let so = ffi_common::cdylib();
    let exported: HashSet<String> = ffi_common::exported_symbols(&so).into_iter().collect();
    let wanted = ffi_common::committed_function_list();
    assert_eq!(wanted.len(), 255);
    let missing: Vec<&String> = wanted.iter().filter(|f| !exported.contains(*f)).collect();
    assert!(
        missing.is_empty(),
        "not exported by {}: {missing:?}",
        so.display()
    );
}

#[test]
fn cdylib_soname_is_libllama_so_0() {
    let so = ffi_common::cdylib();
    let out = Command::new("readelf")
        .arg("-d")
        .arg(&so)
        .output()
        .expect("run readelf");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Library soname: [libllama.so.0]"),
        "SONAME not libllama.so.0:\n{text}"
    );
}

/// Each prototype of upstream's llama.h (its return and parameter types, as written there) is
/// the exact type of our function: a C++ file of `static_assert(std::is_same<decltype(&f),
/// RET (*)(PARAMS)>)` built from upstream's declarations compiles against our header.
#[test]
fn function_signatures_match_upstream() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let header =
        std::fs::read_to_string(up.join("include/llama.h")).expect("read upstream llama.h");
    let src = ffi_common::strip_comments(&header);
    let mut cpp = String::from("#include \"llama.h\"\n#include <type_traits>\n\n");
    let mut n = 0;
    let mut rest = src.as_str();
    while let Some(pos) = rest.find("LLAMA_API") {
        let after = &rest[pos + "LLAMA_API".len()..];
        let end = after.find(';').unwrap_or(after.len());
        let mut decl = after[..end]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        rest = &after[end..];
        if decl.contains('#') || decl.starts_with("__") {
            continue;
        }
        if let Some(d) = decl.strip_prefix("DEPRECATED(") {
            decl = d.to_string();
        }
        // drop a trailing `, "hint")` of DEPRECATED(...)
        if let Some(q) = decl.rfind(", \"") {
            if decl.trim_end().ends_with(')') && decl[q..].matches('"').count() == 2 {
                decl.truncate(q);
            }
        }
        let Some(open) = decl.find('(') else { continue };
        let close = decl.rfind(')').expect("closing paren");
        let head = decl[..open].trim_end();
        let name_len = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .count();
        let (ret, name) = head.split_at(head.len() - name_len);
        let params = &decl[open + 1..close];
        cpp.push_str(&format!(
            "static_assert(std::is_same<decltype(&{name}), {} (*)({params})>::value, \"{name}\");\n",
            ret.trim()
        ));
        n += 1;
    }
    assert_eq!(n, 255, "parsed {n} upstream prototypes");
    let dir = std::env::temp_dir().join(format!("ferrollama-sigs-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let file = dir.join("sigs.cpp");
    std::fs::write(&file, &cpp).expect("write");
    let out = Command::new("g++")
        .args([
            "-std=c++17",
            "-fsyntax-only",
            "-Wno-deprecated-declarations",
            "-I",
        ])
        .arg(ffi_common::manifest_dir().join("include"))
        .arg(&file)
        .output()
        .expect("run g++");
    let _ = std::fs::remove_dir_all(&dir);
    let errors: Vec<String> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| l.contains("static assertion failed") || l.contains("error:"))
        .map(String::from)
        .collect();
    assert!(
        out.status.success(),
        "{} signature mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
}
