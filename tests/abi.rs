//! Must-show #1, the ABI check: one C program, generated from the structs and enums of our
//! include/*.h, prints `sizeof`/`alignof` of every struct, `offsetof`/`sizeof` of every field and
//! the value of every enum constant. It is compiled twice — against upstream's pinned llama.h (from
//! the llama-cpp-python 0.3.36 sdist, never committed) and against ours — and both outputs must be
//! identical. A second check makes sure we mirror every struct, enum and enum constant that
//! upstream's llama.h declares (and every constant of the ggml enums we declare).

mod ffi_common;

use std::collections::{BTreeMap, BTreeSet};

use ffi_common::c_decls::{parse_dir_headers, CDecls};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Helper structs that exist only on our side (upstream nests them anonymously); their fields are
/// checked through the enclosing struct instead.
const INLINE_ONLY: [&str; 2] = [
    "ggml_opt_optimizer_params_adamw",
    "ggml_opt_optimizer_params_sgd",
];

/// The C program printing the layout of everything declared in our headers.
fn layout_program(ours: &CDecls) -> String {
    let mut s = String::from(
        "#include \"llama.h\"\n#include <stdio.h>\n#include <stddef.h>\n#include <stdalign.h>\n\n\
         #define FIELD(S, F) printf(\"offsetof(%s, %s) = %zu, size %zu\\n\", #S, #F, offsetof(S, F), sizeof(((S *) 0)->F))\n\
         #define CONST(C) printf(\"%s = %lld\\n\", #C, (long long) (C))\n\nint main(void) {\n",
    );
    for (name, fields) in &ours.structs {
        if INLINE_ONLY.contains(&name.as_str()) {
            continue;
        }
        let ty = format!("struct {name}");
        s.push_str(&format!(
            "    printf(\"sizeof({ty}) = %zu, alignof = %zu\\n\", sizeof({ty}), alignof({ty}));\n"
        ));
        let nested: BTreeMap<&String, &String> = ours
            .struct_fields
            .get(name)
            .map(|v| v.iter().map(|(f, t)| (f, t)).collect())
            .unwrap_or_default();
        for f in fields {
            match nested.get(f) {
                Some(t) if INLINE_ONLY.contains(&t.as_str()) => {
                    for sub in &ours.structs[*t] {
                        s.push_str(&format!("    FIELD({ty}, {f}.{sub});\n"));
                    }
                }
                _ => s.push_str(&format!("    FIELD({ty}, {f});\n")),
            }
        }
    }
    for (name, consts) in &ours.enums {
        s.push_str(&format!(
            "    printf(\"sizeof(enum {name}) = %zu\\n\", sizeof(enum {name}));\n"
        ));
        for c in consts {
            s.push_str(&format!("    CONST({c});\n"));
        }
    }
    s.push_str("    return 0;\n}\n");
    s
}

fn compile_and_run(src: &Path, includes: &[PathBuf], tag: &str) -> String {
    let exe = std::env::temp_dir().join(format!("ferrollama-abi-{}-{tag}", std::process::id()));
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=c11", "-w"]);
    for inc in includes {
        cmd.arg("-I").arg(inc);
    }
    let out = cmd.arg(src).arg("-o").arg(&exe).output().expect("run gcc");
    assert!(
        out.status.success(),
        "compiling the layout program ({tag}) failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&exe).output().expect("run layout program");
    let _ = std::fs::remove_file(&exe);
    assert!(run.status.success(), "layout program ({tag}) failed");
    String::from_utf8(run.stdout).expect("utf-8 output")
}

const OUR_HEADERS: [&str; 6] = [
    "ggml.h",
    "ggml-cpu.h",
    "ggml-backend.h",
    "ggml-opt.h",
    "gguf.h",
    "llama.h",
];

#[test]
fn layouts_and_enum_values_match_upstream() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let root = ffi_common::manifest_dir();
    let ours = parse_dir_headers(&[root.join("include")], &OUR_HEADERS);
    assert!(
        ours.structs.len() > 25 && ours.enums.len() > 15,
        "parsed too little from include/"
    );

    let program = layout_program(&ours);
    let src = std::env::temp_dir().join(format!("ferrollama-abi-{}.c", std::process::id()));
    std::fs::write(&src, &program).expect("write layout program");
    let upstream_out = compile_and_run(
        &src,
        &[up.join("include"), up.join("ggml/include")],
        "upstream",
    );
    let our_out = compile_and_run(&src, &[root.join("include")], "ours");
    let _ = std::fs::remove_file(&src);

    let lines = our_out.lines().count();
    eprintln!("ABI check: {lines} lines (structs, fields, enum constants) compared");
    if upstream_out != our_out {
        let diff: Vec<String> = upstream_out
            .lines()
            .zip(our_out.lines())
            .filter(|(a, b)| a != b)
            .map(|(a, b)| format!("upstream: {a}\n    ours: {b}"))
            .take(20)
            .collect();
        panic!("ABI differs from upstream:\n{}", diff.join("\n"));
    }
}

#[test]
fn every_upstream_struct_and_enum_constant_is_mirrored() {
    let Some(up) = ffi_common::upstream_llama_cpp() else {
        return;
    };
    let root = ffi_common::manifest_dir();
    let ours = parse_dir_headers(&[root.join("include")], &OUR_HEADERS);
    let upstream_llama = parse_dir_headers(&[up.join("include")], &["llama.h"]);
    let upstream_ggml = parse_dir_headers(
        &[up.join("ggml/include")],
        &[
            "ggml.h",
            "ggml-cpu.h",
            "ggml-backend.h",
            "ggml-opt.h",
            "gguf.h",
        ],
    );

    let our_structs: BTreeSet<&String> = ours.structs.keys().collect();
    let missing: Vec<&String> = upstream_llama
        .structs
        .keys()
        .filter(|s| !our_structs.contains(s))
        .collect();
    assert!(
        missing.is_empty(),
        "llama.h structs not mirrored: {missing:?}"
    );

    for (name, consts) in &upstream_llama.enums {
        let mine = ours
            .enums
            .get(name)
            .unwrap_or_else(|| panic!("llama.h enum {name} not mirrored"));
        assert_eq!(mine, consts, "constants of enum {name}");
    }
    for (name, mine) in &ours.enums {
        if let Some(theirs) = upstream_ggml.enums.get(name) {
            assert_eq!(mine, theirs, "constants of ggml enum {name}");
        } else {
            assert!(
                upstream_llama.enums.contains_key(name),
                "enum {name} is not upstream's"
            );
        }
    }
    for (name, fields) in &ours.structs {
        if INLINE_ONLY.contains(&name.as_str()) {
            continue;
        }
        let theirs = upstream_llama
            .structs
            .get(name)
            .or_else(|| upstream_ggml.structs.get(name))
            .unwrap_or_else(|| panic!("struct {name} is not upstream's"));
        // our named helper structs stand for upstream's anonymous ones: compare their members
        let helper: BTreeMap<&String, &String> = ours
            .struct_fields
            .get(name)
            .map(|v| {
                v.iter()
                    .filter(|(_, t)| INLINE_ONLY.contains(&t.as_str()))
                    .map(|(f, t)| (f, t))
                    .collect()
            })
            .unwrap_or_default();
        let mine: Vec<&String> = fields
            .iter()
            .flat_map(|f| match helper.get(f) {
                Some(t) => ours.structs[*t].iter().collect::<Vec<_>>(),
                None => vec![f],
            })
            .collect();
        let theirs: Vec<&String> = theirs.iter().collect();
        assert_eq!(mine, theirs, "fields of struct {name}");
    }
}
