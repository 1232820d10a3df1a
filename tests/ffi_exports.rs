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
