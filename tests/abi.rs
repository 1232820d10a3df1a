//! Must-show #1, the ABI check: one C program, generated from the structs and enums of our
//! include/*.h, prints `sizeof`/`alignof` of every struct, `offsetof`/`sizeof` of every field and
//! the value of every enum constant. It is compiled twice — against upstream's pinned llama.h (from
//! the llama-cpp-python 0.3.36 sdist, never committed) and against ours — and both outputs must be
//! identical. A second check makes sure we mirror every struct, enum and enum constant that
//! upstream's llama.h declares (and every constant of the ggml enums we declare).

mod ffi_common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Helper structs that exist only on our side (upstream nests them anonymously); their fields are
/// checked through the enclosing struct instead.
const INLINE_ONLY: [&str; 2] = [
    "ggml_opt_optimizer_params_adamw",
    "ggml_opt_optimizer_params_sgd",
];

#[derive(Debug, Default)]
struct CDecls {
    /// struct name -> field names, in order (nested anonymous union members flattened).
    structs: BTreeMap<String, Vec<String>>,
    /// struct name -> (field name, struct type name) for fields whose type is a struct.
    struct_fields: BTreeMap<String, Vec<(String, String)>>,
    /// enum name -> constant names, in order.
    enums: BTreeMap<String, Vec<String>>,
}

fn ident_end(s: &str) -> String {
    let rev: String = s
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    rev.chars().rev().collect()
}

/// The name a member declaration declares: `int x;`, `char key[128];`, `void (*f)(int);`.
fn member_name(decl: &str) -> String {
    let decl = decl.trim().trim_end_matches(';').trim();
    if let Some(p) = decl.find("(*") {
        return decl[p + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
    }
    let decl = match decl.find('[') {
        Some(p) => &decl[..p],
        None => decl,
    };
    ident_end(decl.trim_end())
}

/// Parses struct and enum bodies from (comment-free) C header text.
fn parse_c(src: &str, out: &mut CDecls) {
    let src = ffi_common::strip_comments(src);
    let mut lines = src.lines().map(str::trim).peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_prefix("typedef ").unwrap_or(line);
        let is_struct = line.starts_with("struct ") && line.ends_with('{');
        let is_enum = line.starts_with("enum ") && line.ends_with('{');
        if !is_struct && !is_enum {
            continue;
        }
        let name = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let mut depth = 1;
        let mut body = Vec::new();
        for l in lines.by_ref() {
            if l.ends_with('{') {
                depth += 1;
                // the opening line of a nested (anonymous) struct/union: its members follow
                continue;
            }
            if l.starts_with('}') {
                depth -= 1;
                if depth == 0 {
                    break;
                }
                // `} name;` closes a nested aggregate that has a member name: keep that name
                let rest = l
                    .trim_start_matches('}')
                    .trim()
                    .trim_end_matches(';')
                    .trim();
                if !rest.is_empty() {
                    body.push(format!("__nested {rest};"));
                }
                continue;
            }
            if !l.is_empty() {
                body.push(l.to_string());
            }
        }
        if is_enum {
            let consts: Vec<String> = body
                .join(" ")
                .split(',')
                .map(|c| c.split('=').next().unwrap_or_default().trim().to_string())
                .filter(|c| !c.is_empty())
                .collect();
            out.enums.insert(name, consts);
        } else {
            let mut fields = Vec::new();
            let mut sfields = Vec::new();
            for decl in body
                .join("\n")
                .split(';')
                .map(str::trim)
                .filter(|d| !d.is_empty())
            {
                let decl = decl.replace('\n', " ");
                if decl.starts_with("__nested ") {
                    continue; // upstream's named anonymous structs (checked via their members)
                }
                let m = member_name(&decl);
                if let Some(rest) = decl.strip_prefix("struct ") {
                    if !decl.contains('*') {
                        let ty = rest
                            .split_whitespace()
                            .next()
                            .unwrap_or_default()
                            .to_string();
                        sfields.push((m.clone(), ty));
                    }
                }
                fields.push(m);
            }
            out.struct_fields.insert(name.clone(), sfields);
            out.structs.insert(name, fields);
        }
    }
}

fn parse_dir_headers(dirs: &[PathBuf], names: &[&str]) -> CDecls {
    let mut decls = CDecls::default();
    for name in names {
        for d in dirs {
            let p = d.join(name);
            if p.exists() {
                parse_c(
                    &std::fs::read_to_string(&p).expect("read header"),
                    &mut decls,
                );
            }
        }
    }
    decls
}

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
