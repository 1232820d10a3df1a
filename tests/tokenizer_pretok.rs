//! Every BPE pre-tokenizer upstream knows, against upstream: the gpt-2 vocabulary with only
//! `tokenizer.ggml.pre` changed, on the vector texts plus regex-feature texts
//! (`tests/vocab_ref/pretok.ref`, written by `scripts/make_pretok_refs.py` with upstream's
//! library). This covers the hand-written splitters and the regex engine on every pattern list.

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

#[test]
fn every_pre_tokenizer_matches_upstream() {
    let Some(shared) = shared_dir() else { return };
    let g = GgufFile::open(&shared.join("data/vocab/ggml-vocab-gpt-2.gguf")).expect("gguf");
    let base = VocabData::from_gguf(&g).expect("vocab data");
    let refp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vocab_ref/pretok.ref");
    let text = std::fs::read_to_string(refp).expect("pretok.ref");
    let mut texts: Vec<Vec<u8>> = Vec::new();
    let mut cur: Option<(String, Option<Vocab>, usize, usize)> = None;
    let mut failures = Vec::new();
    let (mut n_pre, mut n_ok_all, mut n_all) = (0, 0, 0);
    let mut finish = |c: Option<(String, Option<Vocab>, usize, usize)>| {
        if let Some((name, _, ok, n)) = c {
            if ok != n {
                println!("{name:28} {ok}/{n}");
            }
            n_ok_all += ok;
            n_all += n;
        }
    };
    for line in text.lines() {
        let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
        match kind {
            "text" => texts.push(unhex(rest)),
            "pre" => {
                finish(cur.take());
                n_pre += 1;
                let (name, err) = match rest.split_once(' ') {
                    Some((n, "error")) => (n.to_string(), true),
                    _ => (rest.to_string(), false),
                };
                let mut d = base.clone();
                d.pre = Some(name.clone());
                let v = Vocab::from_data(d);
                if err != v.is_err() {
                    failures.push(format!(
                        "{name}: upstream load error {err}, ours {:?}",
                        v.as_ref().err()
                    ));
                }
                cur = Some((name, v.ok(), 0, 0));
            }
            "tok" => {
                let (name, v, ok, n) = cur.as_mut().expect("pre first");
                let Some(v) = v else { continue };
                let want: Vec<i32> = rest
                    .split_whitespace()
                    .map(|x| x.parse().expect("id"))
                    .collect();
                let t = &texts[*n];
                let got = v.tokenize(t, false, false);
                *n += 1;
                if got == want {
                    *ok += 1;
                } else if failures.len() < 30 {
                    failures.push(format!(
                        "{name}: {:?}\n   want {:?}\n   got  {:?}",
                        String::from_utf8_lossy(&t[..t.len().min(60)]),
                        &want[..want.len().min(30)],
                        &got[..got.len().min(30)]
                    ));
                }
            }
            _ => {}
        }
    }
    finish(cur.take());
    println!("{n_pre} pre-tokenizer names, {n_ok_all}/{n_all} texts match upstream");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
