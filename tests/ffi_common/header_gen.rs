//! Header generation: cbindgen output from `src/ffi`, post-processed into `include/llama.h` and the
//! ggml-side headers.
//!
//! cbindgen (pinned in Cargo.toml) emits the structs, unions, typedefs, opaque declarations and
//! function prototypes. Three things it cannot express are done here:
//! 1. **Enums.** In Rust a C enum is a `c_int` alias plus constants (so that any integer a caller
//!    passes is a valid value). cbindgen would print `typedef int llama_ftype;`; we replace that with
//!    a real `enum llama_ftype { .. };` built from the constants in `src/ffi/types.rs` and
//!    `src/ffi/ggml_types.rs`, and write every use of the type as `enum llama_ftype`. Upstream's C and
//!    C++ sources therefore compile unchanged (C++ does not convert `int` to an enum implicitly).
//! 2. **The anonymous union** of `llama_model_kv_override` (Rust needs a named field).
//! 3. **Deprecation and visibility.** Prototypes get `LLAMA_API`/`GGML_API`; the deprecated
//!    functions (tests/data/llama_h_deprecated.txt) are wrapped in `DEPRECATED(.., "hint")`, and the
//!    structs upstream typedefs get their typedef.
//!
//! `#define` constants are taken from the Rust sources of the two type files (cbindgen would also
//! print internal constants of other ffi files). Items are routed to headers by name: `gguf_*` to
//! gguf.h, `ggml_opt_*` to ggml-opt.h, `ggml_backend_*` to ggml-backend.h, the NUMA items to
//! ggml-cpu.h, other `ggml_*` to ggml.h, the rest to llama.h. Functions in llama.h follow the order
//! of the pinned llama.h (tests/data/llama_h_functions.txt).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

/// Every `.rs` file under `src/ffi` (recursively), the two type files first, then sorted by path,
/// so that functions moved between files (or into submodules) are still found.
pub fn ffi_files(ffi: &Path) -> Vec<std::path::PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(ffi, &mut files);
    files.sort();
    let first = [
        ffi.join("ggml_types.rs"),
        ffi.join("types.rs"),
        ffi.join("ferrollama_types.rs"),
    ];
    files.retain(|f| !first.contains(f));
    first.into_iter().chain(files).collect()
}

/// The generated headers, in the order they are written.
pub const HEADERS: [&str; 7] = [
    "ggml.h",
    "ggml-cpu.h",
    "ggml-backend.h",
    "ggml-opt.h",
    "gguf.h",
    "llama.h",
    "ferrollama.h",
];

/// Structs that upstream also names with a typedef.
const TYPEDEFED_STRUCTS: [&str; 7] = [
    "llama_token_data",
    "llama_token_data_array",
    "llama_batch",
    "llama_model_quantize_params",
    "llama_logit_bias",
    "llama_sampler_chain_params",
    "llama_chat_message",
];

/// A C enum declared in Rust as `pub type NAME = c_int;` plus `pub const K: NAME = V;` lines.
#[derive(Debug, Default)]
pub struct RustEnum {
    pub name: String,
    pub values: Vec<(String, String)>,
}

/// What the generator reads from the Rust type files.
#[derive(Debug, Default)]
pub struct RustDecls {
    pub enums: Vec<RustEnum>,
    /// Other `pub const` items: (name, C value).
    pub consts: Vec<(String, String)>,
    /// Names of every `pub struct`, `pub union` and `pub type` (exported even when unreferenced).
    pub types: Vec<String>,
}

fn c_value(rust: &str) -> String {
    rust.trim().trim_end_matches(';').replace('_', "")
}

/// Rust literal → C: drops digit separators but keeps identifiers (which contain '_') intact.
fn c_expr(rust: &str) -> String {
    let rust = rust.trim().trim_end_matches(';').trim();
    let mut out = String::new();
    for tok in rust.split_inclusive(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let (word, sep) = match tok.char_indices().last() {
            Some((i, c)) if !(c.is_ascii_alphanumeric() || c == '_') => (&tok[..i], &tok[i..]),
            _ => (tok, ""),
        };
        if word.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(&c_value(word));
        } else {
            out.push_str(word);
        }
        out.push_str(sep);
    }
    out
}

/// Reads enum aliases, constants and type names from a Rust type file.
pub fn read_rust_decls(src: &str, decls: &mut RustDecls) {
    let mut enum_names: HashSet<String> = decls.enums.iter().map(|e| e.name.clone()).collect();
    for line in src.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("pub type ") {
            let (name, ty) = rest
                .split_once('=')
                .map(|(a, b)| (a.trim(), b.trim()))
                .unwrap_or((rest, ""));
            decls.types.push(name.to_string());
            if ty == "c_int;" {
                enum_names.insert(name.to_string());
                decls.enums.push(RustEnum {
                    name: name.to_string(),
                    values: Vec::new(),
                });
            }
        } else if let Some(rest) = line
            .strip_prefix("pub struct ")
            .or_else(|| line.strip_prefix("pub union "))
        {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            decls.types.push(name);
        } else if let Some(rest) = line.strip_prefix("pub const ") {
            let Some((lhs, value)) = rest.split_once('=') else {
                continue;
            };
            let Some((name, ty)) = lhs.split_once(':') else {
                continue;
            };
            let (name, ty) = (name.trim().to_string(), ty.trim());
            if enum_names.contains(ty) {
                let e = decls
                    .enums
                    .iter_mut()
                    .find(|e| e.name == ty)
                    .expect("enum declared before its values");
                e.values.push((name, c_expr(value)));
            } else {
                decls.consts.push((name, c_expr(value)));
            }
        }
    }
}

/// One item of cbindgen's output.
#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub kind: Kind,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Opaque,
    EnumAlias,
    Type,
    Function,
    Define,
}

fn ident_before(s: &str, end: usize) -> String {
    let head = s[..end].trim_end();
    let rev: String = head
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    rev.chars().rev().collect()
}

/// Splits cbindgen's output into items (it separates items with blank lines).
pub fn split_items(out: &str, enums: &HashSet<String>) -> Vec<Item> {
    let mut items = Vec::new();
    // Prototypes may come in runs without blank lines between them: one block per prototype.
    let mut blocks: Vec<String> = Vec::new();
    for block in out.split("\n\n").map(str::trim).filter(|b| !b.is_empty()) {
        let first = block.lines().next().unwrap_or_default();
        if !first.starts_with("typedef") && !first.starts_with('#') && first.contains('(') {
            blocks.extend(
                block
                    .split_inclusive(';')
                    .map(|p| p.trim().to_string())
                    .filter(|p| !p.is_empty()),
            );
        } else {
            blocks.push(block.to_string());
        }
    }
    for block in blocks.iter().map(String::as_str) {
        let first = block.lines().next().unwrap_or_default();
        let (kind, name) = if first.starts_with("#define") {
            (
                Kind::Define,
                first
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
            )
        } else if first.starts_with('#') {
            continue;
        } else if !first.starts_with("typedef") && first.contains('(') {
            (
                Kind::Function,
                ident_before(block, block.find('(').unwrap_or(0)),
            )
        } else if (first.starts_with("struct ") || first.starts_with("union "))
            && first.ends_with(';')
        {
            (Kind::Opaque, ident_before(first, first.len() - 1))
        } else if first.starts_with("struct ") || first.starts_with("union ") {
            (
                Kind::Type,
                first
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or_default()
                    .to_string(),
            )
        } else if let Some(rest) = first.strip_prefix("typedef int ") {
            let name = rest.trim_end_matches(';').to_string();
            if enums.contains(&name) {
                (Kind::EnumAlias, name)
            } else {
                (Kind::Type, name)
            }
        } else if first.starts_with("typedef") {
            let name = if let Some(p) = block.find("(*") {
                let rest = &block[p + 2..];
                rest.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect()
            } else {
                ident_before(block, block.len() - 1)
            };
            (Kind::Type, name)
        } else if let Some(p) = block.find('(') {
            (Kind::Function, ident_before(block, p))
        } else {
            panic!("unrecognised cbindgen item:\n{block}");
        };
        // cbindgen may see a file twice (listed, and reached through a `mod` item): keep the first
        if !items
            .iter()
            .any(|i: &Item| i.name == name && i.kind == kind)
        {
            items.push(Item {
                name,
                kind,
                text: block.to_string(),
            });
        }
    }
    items
}

/// The names (identifiers) a piece of C text needs declared before it: every identifier, except
/// those used only as `struct NAME *` (all structs are forward-declared at the top).
fn words(text: &str) -> HashSet<String> {
    let mut kept = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(p) = rest.find("struct ") {
        kept.push_str(&rest[..p]);
        let after = &rest[p + "struct ".len()..];
        let id_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if !after[id_len..].trim_start().starts_with('*') {
            kept.push_str(&rest[p..p + "struct ".len() + id_len]);
        } // else: a pointer to a forward-declared struct, no dependency
        rest = &after[id_len..];
    }
    kept.push_str(rest);
    kept.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(String::from)
        .collect()
}

/// Orders type items so that each comes after the types it names (by value or as a typedef),
/// breaking ties by name; functions keep their relative order. The result does not depend on
/// the order in which cbindgen happened to meet the types, so moving functions between source
/// files does not reshuffle the headers.
pub fn stable_order(items: Vec<Item>) -> Vec<Item> {
    let (types, rest): (Vec<Item>, Vec<Item>) = items
        .into_iter()
        .partition(|i| matches!(i.kind, Kind::Type | Kind::EnumAlias));
    let names: HashSet<String> = types.iter().map(|t| t.name.clone()).collect();
    let mut deps: HashMap<String, HashSet<String>> = HashMap::new();
    for t in &types {
        let d: HashSet<String> = words(&t.text)
            .into_iter()
            .filter(|w| w != &t.name && names.contains(w))
            .collect();
        deps.insert(t.name.clone(), d);
    }
    let mut by_name: BTreeMap<String, Item> =
        types.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut done: HashSet<String> = HashSet::new();
    let mut ordered = Vec::new();
    while !by_name.is_empty() {
        // the first (by name) item whose dependencies are all placed; pointer-only cycles cannot
        // occur here (structs are forward-declared), but fall back to the first name if one does
        let next = by_name
            .keys()
            .find(|n| deps[*n].iter().all(|d| done.contains(d)))
            .or_else(|| by_name.keys().next())
            .cloned()
            .expect("non-empty");
        let item = by_name.remove(&next).expect("present");
        done.insert(next);
        ordered.push(item);
    }
    ordered.extend(rest);
    ordered
}

/// Which header an item belongs to.
pub fn route(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("ferrollama") {
        "ferrollama.h"
    } else if lower.starts_with("gguf") {
        "gguf.h"
    } else if lower.starts_with("ggml_opt") {
        "ggml-opt.h"
    } else if lower.starts_with("ggml_numa") || lower == "ggml_is_numa" {
        "ggml-cpu.h"
    } else if lower.starts_with("ggml_backend") {
        "ggml-backend.h"
    } else if lower.starts_with("ggml") {
        "ggml.h"
    } else {
        "llama.h"
    }
}

/// Writes `enum NAME` for every use of an enum alias as a type (not for a function of that name).
pub fn enum_qualify(text: &str, enums: &[String]) -> String {
    let mut out = text.to_string();
    for e in enums {
        let mut result = String::with_capacity(out.len());
        let bytes = out.as_bytes();
        let mut i = 0;
        while let Some(pos) = out[i..].find(e.as_str()) {
            let start = i + pos;
            let end = start + e.len();
            let before_ok = start == 0
                || !(bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_');
            let after_ok =
                end == out.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
            let already = out[..start].ends_with("enum ");
            let next_non_space = out[end..].trim_start().chars().next();
            let is_call = next_non_space == Some('(');
            result.push_str(&out[i..start]);
            if before_ok && after_ok && !already && !is_call {
                result.push_str("enum ");
            }
            result.push_str(e);
            i = end;
        }
        result.push_str(&out[i..]);
        out = result;
    }
    out
}

fn enum_definition(e: &RustEnum) -> String {
    let mut s = format!("enum {} {{\n", e.name);
    for (k, v) in &e.values {
        s.push_str(&format!("  {k} = {v},\n"));
    }
    s.push_str("};");
    s
}

fn preamble(header: &str) -> String {
    let guard = header.to_ascii_uppercase().replace(['.', '-'], "_");
    let includes: &[&str] = match header {
        "llama.h" => &[
            "ggml.h",
            "ggml-cpu.h",
            "ggml-backend.h",
            "ggml-opt.h",
            "gguf.h",
        ],
        "ggml-cpu.h" | "ggml-opt.h" => &["ggml.h", "ggml-backend.h"],
        "ggml-backend.h" | "gguf.h" => &["ggml.h"],
        "ferrollama.h" => &["llama.h"],
        _ => &[],
    };
    let mut s = format!(
        "/* {header}: generated by tests/ffi_header (cbindgen 0.29.4 + post-processing) from src/ffi.\n   \
         Do not edit; regenerate with scripts/gen_header.sh. ABI-compatible with the llama.h of\n   \
         llama.cpp 0c1e57098 (llama-cpp-python 0.3.36). */\n\n#ifndef {guard}\n#define {guard}\n\n"
    );
    for inc in includes {
        s.push_str(&format!("#include \"{inc}\"\n"));
    }
    if !includes.is_empty() {
        s.push('\n');
    }
    s.push_str(
        "#include <stddef.h>\n#include <stdint.h>\n#include <stdio.h>\n#include <stdbool.h>\n\n",
    );
    if header == "ggml.h" {
        s.push_str(
            "#include <stdlib.h>\n\n\
             #define GGML_UNUSED(x) (void) (x)\n\
             #define GGML_ABORT(...) \\\n    \
             (fprintf(stderr, \"%s:%d: \", __FILE__, __LINE__), fprintf(stderr, __VA_ARGS__), \\\n     \
             fputc('\\n', stderr), abort())\n\
             #define GGML_ASSERT(x) \\\n    \
             do { if (!(x)) { GGML_ABORT(\"GGML_ASSERT(%s) failed\", #x); } } while (0)\n\n",
        );
        s.push_str(
            "#ifndef GGML_API\n#  if defined(__GNUC__)\n#    define GGML_API __attribute__((visibility(\"default\")))\n\
             #  else\n#    define GGML_API\n#  endif\n#endif\n\n",
        );
    }
    if header == "llama.h" {
        s.push_str(
            "#ifndef LLAMA_API\n#  if defined(__GNUC__)\n#    define LLAMA_API __attribute__((visibility(\"default\")))\n\
             #  else\n#    define LLAMA_API\n#  endif\n#endif\n\n\
             #ifndef DEPRECATED\n#  if defined(__GNUC__)\n#    define DEPRECATED(func, hint) func __attribute__((deprecated(hint)))\n\
             #  elif defined(_MSC_VER)\n#    define DEPRECATED(func, hint) __declspec(deprecated(hint)) func\n\
             #  else\n#    define DEPRECATED(func, hint) func\n#  endif\n#endif\n\n",
        );
    }
    s
}

/// Produces every header's text from cbindgen's output and the Rust declarations.
pub fn build_headers(
    cbindgen_out: &str,
    decls: &RustDecls,
    function_order: &[String],
    deprecated: &HashMap<String, String>,
) -> BTreeMap<String, String> {
    let enum_names: Vec<String> = decls.enums.iter().map(|e| e.name.clone()).collect();
    let enum_set: HashSet<String> = enum_names.iter().cloned().collect();
    let items = stable_order(split_items(cbindgen_out, &enum_set));
    let order: HashMap<&str, usize> = function_order
        .iter()
        .enumerate()
        .map(|(i, n)| (n.as_str(), i))
        .collect();

    let mut out = BTreeMap::new();
    for header in HEADERS {
        let mut defines = Vec::new();
        let mut opaques = Vec::new();
        let mut types = Vec::new();
        let mut funcs: Vec<(usize, String)> = Vec::new();
        for (name, value) in &decls.consts {
            if route(name) == header {
                defines.push(format!("#define {name} {value}"));
            }
        }
        for (idx, item) in items.iter().enumerate() {
            if route(&item.name) != header {
                continue;
            }
            match item.kind {
                Kind::Define => {}
                Kind::Opaque => opaques.push(item.text.clone()),
                Kind::EnumAlias => {
                    let e = decls
                        .enums
                        .iter()
                        .find(|e| e.name == item.name)
                        .expect("enum");
                    types.push(enum_definition(e));
                }
                Kind::Type => {
                    if item.name == "llama_model_kv_override_value" {
                        continue; // inlined below as an anonymous union
                    }
                    let mut text = enum_qualify(&item.text, &enum_names);
                    text = text.replace(
                        "  union llama_model_kv_override_value value;",
                        "  union {\n    int64_t val_i64;\n    double val_f64;\n    bool val_bool;\n    char val_str[128];\n  };",
                    );
                    if item.text.starts_with("struct ") {
                        // Declared up front so that pointers to it may appear before its body.
                        opaques.push(format!("struct {};", item.name));
                    }
                    if TYPEDEFED_STRUCTS.contains(&item.name.as_str()) {
                        text = format!("typedef {}", text.trim_end_matches(';'))
                            + &format!(" {};", item.name);
                    }
                    types.push(text);
                }
                Kind::Function => {
                    let proto = enum_qualify(&item.text, &enum_names);
                    let proto = proto.trim_end_matches(';').to_string();
                    let api = if header == "llama.h" || header == "ferrollama.h" {
                        "LLAMA_API"
                    } else {
                        "GGML_API"
                    };
                    let line = match deprecated.get(&item.name) {
                        Some(hint) => format!("DEPRECATED({api} {proto}, \"{hint}\");"),
                        None => format!("{api} {proto};"),
                    };
                    let pos = order
                        .get(item.name.as_str())
                        .copied()
                        .unwrap_or(usize::MAX / 2 + idx);
                    funcs.push((pos, line));
                }
            }
        }
        funcs.sort_by_key(|(p, _)| *p);
        let guard = header.to_ascii_uppercase().replace(['.', '-'], "_");
        let mut s = preamble(header);
        s.push_str("#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n");
        for block in [defines.join("\n"), opaques.join("\n")] {
            if !block.is_empty() {
                s.push_str(&block);
                s.push_str("\n\n");
            }
        }
        for t in &types {
            s.push_str(t);
            s.push_str("\n\n");
        }
        for (_, f) in &funcs {
            s.push_str(f);
            s.push('\n');
        }
        if !funcs.is_empty() {
            s.push('\n');
        }
        s.push_str(&format!(
            "#ifdef __cplusplus\n}}\n#endif\n\n#endif /* {guard} */\n"
        ));
        out.insert(header.to_string(), s);
    }
    out
}

/// Runs cbindgen over the ffi sources and returns every header's text.
pub fn generate(root: &Path) -> BTreeMap<String, String> {
    let ffi = root.join("src/ffi");
    let mut decls = RustDecls::default();
    for f in ["ggml_types.rs", "types.rs", "ferrollama_types.rs"] {
        let src = std::fs::read_to_string(ffi.join(f)).expect("read type file");
        read_rust_decls(&src, &mut decls);
    }
    let mut config =
        cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    config.export.include = decls.types.clone();
    let mut builder = cbindgen::Builder::new().with_config(config);
    for f in ffi_files(&ffi) {
        builder = builder.with_src(f);
    }
    let bindings = builder.generate().expect("cbindgen");
    let mut raw = Vec::new();
    bindings.write(&mut raw);
    let raw = String::from_utf8(raw).expect("utf-8 header");
    if let Ok(p) = std::env::var("FERROLLAMA_CBINDGEN_RAW") {
        let _ = std::fs::write(p, &raw);
    }

    let list = |name: &str| {
        std::fs::read_to_string(root.join("tests/data").join(name)).expect("tests/data list")
    };
    let order: Vec<String> = list("llama_h_functions.txt")
        .lines()
        .map(String::from)
        .collect();
    let deprecated: HashMap<String, String> = list("llama_h_deprecated.txt")
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    build_headers(&raw, &decls, &order, &deprecated)
}
