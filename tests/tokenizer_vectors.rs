//! Upstream's tokenizer test vectors (`../shared/data/vocab/ggml-vocab-*.gguf` with `.inp` /
//! `.out`): every input must tokenize to the expected ids (add_special = false, parse_special =
//! false, as upstream's test-tokenizer-0), and detokenize(tokenize(text)) must give the text back
//! wherever upstream's does.

use std::path::PathBuf;

use llama::gguf::GgufFile;
use llama::vocab::Vocab;

const SEP: &[u8] = b"\n__ggml_vocab_test__\n";

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

fn read_cases(gguf: &std::path::Path) -> Vec<(Vec<u8>, Vec<i32>)> {
    let inp = std::fs::read(format!("{}.inp", gguf.display())).expect("read .inp");
    let out = std::fs::read(format!("{}.out", gguf.display())).expect("read .out");
    let mut texts = Vec::new();
    let mut pos = 0;
    while pos < inp.len() {
        match inp[pos..].windows(SEP.len()).position(|w| w == SEP) {
            Some(p) => {
                texts.push(inp[pos..pos + p].to_vec());
                pos += p + SEP.len();
            }
            None => {
                texts.push(inp[pos..].to_vec());
                break;
            }
        }
    }
    let mut lines: Vec<&[u8]> = out.split(|&b| b == b'\n').collect();
    if lines.len() == texts.len() + 1 && lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    assert_eq!(
        lines.len(),
        texts.len(),
        "{}: inputs vs output lines",
        gguf.display()
    );
    texts
        .into_iter()
        .zip(lines)
        .map(|(t, l)| {
            let ids = std::str::from_utf8(l)
                .expect("utf8 .out")
                .split_whitespace()
                .map(|x| x.parse::<i32>().expect("id"))
                .collect();
            (t, ids)
        })
        .collect()
}

#[test]
fn tokenizer_vectors() {
    let Some(shared) = shared_dir() else { return };
    let dir = shared.join("data/vocab");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("vocab dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            n.starts_with("ggml-vocab-") && n.ends_with(".gguf")
        })
        .filter(|p| PathBuf::from(format!("{}.inp", p.display())).exists())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no vocab files in {}", dir.display());
    let (mut ok_all, mut n_all) = (0, 0);
    let mut failures = Vec::new();
    for p in &paths {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let g = GgufFile::open(p).expect("open gguf");
        let v = Vocab::from_gguf(&g).unwrap_or_else(|e| panic!("{name}: {e}"));
        let cases = read_cases(p);
        let (mut ok, mut rt_ok) = (0, 0);
        for (text, want) in &cases {
            let got = v.tokenize(text, false, false);
            if &got == want {
                ok += 1;
            } else if failures.len() < 20 {
                failures.push(format!(
                    "{name}: {:?}\n  want {:?}\n  got  {:?}",
                    String::from_utf8_lossy(&text[..text.len().min(60)]),
                    &want[..want.len().min(30)],
                    &got[..got.len().min(30)]
                ));
            }
            let back = v.detokenize(want, false, false);
            if &back == text {
                rt_ok += 1;
            }
        }
        println!(
            "{name:40} tokens {ok}/{}  round-trip {rt_ok}/{}",
            cases.len(),
            cases.len()
        );
        ok_all += ok;
        n_all += cases.len();
    }
    println!("TOTAL {ok_all}/{n_all}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
