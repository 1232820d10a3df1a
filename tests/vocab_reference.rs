//! Our vocabularies against upstream libllama's recorded behaviour (`tests/vocab_ref/*.ref`,
//! written by `scripts/make_vocab_refs.py` with the upstream library): special ids and flags,
//! end-of-generation set, token attributes, and tokenize / detokenize / token_to_piece for the
//! vector texts plus edge cases, under all four add_special / parse_special settings.

use std::path::PathBuf;

use llama::gguf::GgufFile;
use llama::vocab::{Vocab, VocabData};

fn shared_dir() -> Option<PathBuf> {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", p.display());
    }
    eprintln!("skipping: {} not found", p.display());
    None
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

fn ids(s: &str) -> Vec<i32> {
    s.split_whitespace()
        .map(|x| x.parse().expect("id"))
        .collect()
}

fn meta(v: &Vocab, key: &str) -> i64 {
    match key {
        "n_tokens" => v.n_tokens() as i64,
        "type" => v.vocab_type() as i64,
        "bos" => v.bos() as i64,
        "eos" => v.eos() as i64,
        "eot" => v.eot() as i64,
        "sep" => v.sep() as i64,
        "nl" => v.nl() as i64,
        "pad" => v.pad() as i64,
        "mask" => v.mask() as i64,
        "fim_pre" => v.fim_pre() as i64,
        "fim_suf" => v.fim_suf() as i64,
        "fim_mid" => v.fim_mid() as i64,
        "fim_pad" => v.fim_pad() as i64,
        "fim_rep" => v.fim_rep() as i64,
        "fim_sep" => v.fim_sep() as i64,
        "add_bos" => v.add_bos() as i64,
        "add_eos" => v.add_eos() as i64,
        "add_sep" => v.add_sep() as i64,
        _ => panic!("unknown meta key {key}"),
    }
}

/// Check `v` against the record lines of one vocabulary; returns (counts, failures).
fn check<'a>(
    name: &str,
    v: &Vocab,
    lines: impl Iterator<Item = &'a str>,
    failures: &mut Vec<String>,
) -> [[usize; 2]; 4] {
    let mut fail = |msg: String| {
        if failures.len() < 40 {
            failures.push(msg);
        }
    };
    let mut counts = [[0usize; 2]; 4]; // tok, detok, detok_rs, pieces
    let mut cur: Option<(Vec<u8>, bool, bool, Vec<i32>)> = None;
    for line in lines {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "meta" => {
                let (k, val) = rest.split_once(' ').expect("meta");
                let want: i64 = val.parse().expect("meta value");
                if meta(v, k) != want {
                    fail(format!("{name}: meta {k}: want {want} got {}", meta(v, k)));
                }
            }
            "eog" if v.eog_tokens() != ids(rest) => {
                fail(format!("{name}: eog want {rest} got {:?}", v.eog_tokens()));
            }
            "attr" => {
                let mut want = vec![4u32; v.n_tokens() as usize];
                for kv in rest.split_whitespace() {
                    let (t, a) = kv.split_once(':').expect("attr");
                    want[t.parse::<usize>().expect("id")] = a.parse().expect("attr");
                }
                let bad: Vec<usize> = (0..want.len())
                    .filter(|&t| v.token_attr(t as i32) != want[t])
                    .collect();
                if !bad.is_empty() {
                    fail(format!(
                        "{name}: {} attrs differ, first id {}",
                        bad.len(),
                        bad[0]
                    ));
                }
            }
            "case" => {
                let mut it = rest.split(' ');
                let add = it.next() == Some("1");
                let parse = it.next() == Some("1");
                let t = unhex(it.next().unwrap_or("-"));
                cur = Some((t, add, parse, Vec::new()));
            }
            "tok" | "detok" | "detok_rs" | "pieces" => {
                let (t, add, parse, ref_toks) = cur.as_mut().expect("case first");
                let (add, parse) = (*add, *parse);
                let what = format!(
                    "{name}: add={add} parse={parse} {:?}",
                    String::from_utf8_lossy(&t[..t.len().min(50)])
                );
                let (slot, ok, detail) = match kind {
                    "tok" => {
                        *ref_toks = ids(rest);
                        let got = v.tokenize(t, add, parse);
                        let d = format!(
                            "want {:?}\n   got  {:?}",
                            &ref_toks[..ref_toks.len().min(24)],
                            &got[..got.len().min(24)]
                        );
                        (0, got == *ref_toks, d)
                    }
                    "detok" | "detok_rs" => {
                        let rs = kind == "detok_rs";
                        let got = v.detokenize(ref_toks, rs, parse);
                        let want = unhex(rest);
                        let d = format!(
                            "{kind} want {:?}\n   got  {:?}",
                            String::from_utf8_lossy(&want),
                            String::from_utf8_lossy(&got)
                        );
                        (1 + rs as usize, got == want, d)
                    }
                    _ => {
                        let want: Vec<Vec<u8>> = rest.split_whitespace().map(unhex).collect();
                        let got: Vec<Vec<u8>> = ref_toks
                            .iter()
                            .map(|&t| v.token_to_piece(t, 0, parse))
                            .collect();
                        let first = (0..want.len().min(got.len())).find(|&i| want[i] != got[i]);
                        let d = format!(
                            "pieces differ at {first:?} ({} vs {})",
                            want.len(),
                            got.len()
                        );
                        (3, got == want, d)
                    }
                };
                counts[slot][0] += ok as usize;
                counts[slot][1] += 1;
                if !ok {
                    fail(format!("{what}\n   {detail}"));
                }
            }
            _ => {}
        }
    }
    counts
}

fn report(name: &str, c: &[[usize; 2]; 4]) {
    println!(
        "{name:18} tokenize {}/{}  detokenize {}/{}  detokenize(remove_special) {}/{}  pieces {}/{}",
        c[0][0], c[0][1], c[1][0], c[1][1], c[2][0], c[2][1], c[3][0], c[3][1]
    );
}

fn refdir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vocab_ref")
}

#[test]
fn vocab_matches_upstream_reference() {
    let Some(shared) = shared_dir() else { return };
    let mut refs: Vec<PathBuf> = std::fs::read_dir(refdir())
        .expect("tests/vocab_ref")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ref"))
        .filter(|p| !p.ends_with("pretok.ref") && !p.ends_with("variants.ref"))
        .collect();
    refs.sort();
    assert!(!refs.is_empty());
    let mut failures = Vec::new();
    for r in refs {
        let name = r
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        // a vocabulary built for the test (ugm-tiny) sits next to its .ref file
        let local = refdir().join(format!("{name}.gguf"));
        let path = if local.exists() {
            local
        } else {
            shared.join(format!("data/vocab/ggml-vocab-{name}.gguf"))
        };
        let g = GgufFile::open(&path).expect("gguf");
        let v = Vocab::from_gguf(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
        let text = std::fs::read_to_string(&r).expect("read ref");
        let c = check(&name, &v, text.lines(), &mut failures);
        report(&name, &c);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Merges derived from a vocabulary as scripts/make_variant_refs.py does.
fn derive_merges(tokens: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let have: std::collections::HashSet<&[u8]> = tokens.iter().map(|t| t.as_slice()).collect();
    let mut out = Vec::new();
    for t in tokens {
        let s = std::str::from_utf8(t).expect("utf8 token");
        for (k, _) in s.char_indices().skip(1) {
            let (a, b) = (&t[..k], &t[k..]);
            if have.contains(a) && have.contains(b) && !a.contains(&b' ') && !b.contains(&b' ') {
                out.push([a, b" ", b].concat());
            }
        }
    }
    out
}

#[test]
fn synthetic_variants_match_upstream() {
    let Some(shared) = shared_dir() else { return };
    let text = std::fs::read_to_string(refdir().join("variants.ref")).expect("variants.ref");
    let mut failures = Vec::new();
    let mut sections: Vec<(&str, Vec<&str>)> = Vec::new();
    for line in text.lines() {
        if let Some(h) = line.strip_prefix("variant ") {
            sections.push((h, Vec::new()));
        } else if let Some(s) = sections.last_mut() {
            s.1.push(line);
        }
    }
    assert!(!sections.is_empty());
    for (header, lines) in sections {
        let mut it = header.split(' ');
        let label = it.next().expect("label");
        let base = it.next().expect("base");
        let g = GgufFile::open(&shared.join(format!("data/vocab/ggml-vocab-{base}.gguf")))
            .expect("gguf");
        let mut d = VocabData::from_gguf(&g).expect("vocab data");
        for kv in it {
            let (k, val) = kv.split_once('=').expect("k=v");
            let b = val == "True";
            match k {
                "model" => d.model = val.to_string(),
                "pre" => d.pre = Some(val.to_string()),
                "add_space_prefix" => d.add_space_prefix = Some(b),
                "remove_extra_whitespaces" => d.remove_extra_whitespaces = Some(b),
                "lowercase" => d.lowercase = Some(b),
                "add_bos" => d.add_bos = Some(b),
                "add_eos" => d.add_eos = Some(b),
                "merges" => d.merges = Some(derive_merges(&d.tokens)),
                "unk" => d.special_ids[4] = Some(val.parse().expect("unk id")),
                _ => panic!("unknown override {k}"),
            }
        }
        let v = Vocab::from_data(d).unwrap_or_else(|e| panic!("{label}: {e}"));
        let c = check(label, &v, lines.into_iter(), &mut failures);
        report(label, &c);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
