//! A small parser for the struct and enum bodies of C headers (ours and upstream's), used by the
//! ABI and default-parameter tests.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Default)]
pub struct CDecls {
    /// struct name -> field names, in order (nested anonymous union members flattened).
    pub structs: BTreeMap<String, Vec<String>>,
    /// struct name -> (field name, struct type name) for fields whose type is a struct.
    pub struct_fields: BTreeMap<String, Vec<(String, String)>>,
    /// enum name -> constant names, in order.
    pub enums: BTreeMap<String, Vec<String>>,
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
pub fn parse_c(src: &str, out: &mut CDecls) {
    let src = super::strip_comments(src);
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

pub fn parse_dir_headers(dirs: &[PathBuf], names: &[&str]) -> CDecls {
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
