//! Edge cases of the tokenizers on the shared vocabularies. Results are checked against upstream
//! where upstream's output is known (tests/vocab_ref covers empty, whitespace-only, invalid UTF-8,
//! special-token strings and long runs under all four add/parse settings); here we check the
//! invariants that need no reference and that large inputs stay linear.

use std::path::PathBuf;
use std::time::Instant;

use llama::gguf::GgufFile;
use llama::vocab::Vocab;

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

fn load(shared: &std::path::Path, name: &str) -> Vocab {
    let p = shared.join(format!("data/vocab/ggml-vocab-{name}.gguf"));
    Vocab::from_gguf(&GgufFile::open(&p).expect("open")).expect("vocab")
}

/// About `n` bytes of mixed text: the upstream vector inputs (code, CJK, emoji, whitespace runs).
fn mixed_text(shared: &std::path::Path, n: usize) -> Vec<u8> {
    let base = std::fs::read(shared.join("data/vocab/ggml-vocab-llama-bpe.gguf.inp")).expect("inp");
    let base: Vec<u8> = base
        .split(|&b| b == b'\n')
        .filter(|l| *l != b"__ggml_vocab_test__")
        .flat_map(|l| l.iter().copied().chain(std::iter::once(b'\n')))
        .collect();
    let mut t = Vec::with_capacity(n + base.len());
    while t.len() < n {
        t.extend_from_slice(&base);
    }
    t.truncate(n);
    // do not end inside a UTF-8 sequence
    while t.last().is_some_and(|&b| b & 0xC0 == 0x80) {
        t.pop();
    }
    if t.last().is_some_and(|&b| b >= 0xC0) {
        t.pop();
    }
    t
}

#[test]
fn empty_and_whitespace() {
    let Some(shared) = shared_dir() else { return };
    for name in [
        "llama-spm",
        "llama-bpe",
        "qwen2",
        "bert-bge",
        "deepseek-llm",
    ] {
        let v = load(&shared, name);
        assert!(v.tokenize(b"", false, false).is_empty(), "{name}");
        assert!(v.tokenize(b"", false, true).is_empty(), "{name}");
        let with = v.tokenize(b"", true, false);
        assert!(with.len() <= 2, "{name}: {with:?}");
        for ws in [
            &b" "[..],
            b"\n",
            b"\t\t",
            b"                    ",
            b"\n\n\n\n\n\n",
            b" \n \r\n\t ",
        ] {
            let t = v.tokenize(ws, false, false);
            if v.vocab_type() != 3 {
                assert!(!t.is_empty(), "{name}: {ws:?}");
            }
        }
    }
}

#[test]
fn invalid_utf8_does_not_panic() {
    let Some(shared) = shared_dir() else { return };
    let inputs: [&[u8]; 6] = [
        b"\xff",
        b"\xc3",
        b"a\xe2\x82",
        b"\xf0\x9f\x98",
        b"\x80\x80\x80 x",
        b"\xed\xa0\x80",
    ];
    for name in [
        "llama-spm",
        "llama-bpe",
        "qwen2",
        "bert-bge",
        "deepseek-coder",
        "gpt-2",
        "phi-3",
    ] {
        let v = load(&shared, name);
        for t in inputs {
            let toks = v.tokenize(t, true, true);
            let _ = v.detokenize(&toks, false, true);
        }
    }
}

#[test]
fn special_token_strings() {
    let Some(shared) = shared_dir() else { return };
    let v = load(&shared, "llama-bpe");
    let s = b"<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|>";
    let toks = v.tokenize(s, false, true);
    assert_eq!(toks.first(), Some(&128000));
    assert!(toks.contains(&128009));
    // unparsed, the same text is plain text
    let plain = v.tokenize(s, false, false);
    assert!(!plain.contains(&128009));
    assert_eq!(v.detokenize(&toks, false, true), s.to_vec());
    assert!(v.is_eog(128009));
}

#[test]
fn one_megabyte_is_linear() {
    let Some(shared) = shared_dir() else { return };
    let small = mixed_text(&shared, 100_000);
    let big = mixed_text(&shared, 1_000_000);
    for name in [
        "llama-bpe",
        "llama-spm",
        "qwen2",
        "deepseek-llm",
        "deepseek-coder",
        "bert-bge",
        "starcoder",
    ] {
        let v = load(&shared, name);
        let t0 = Instant::now();
        let a = v.tokenize(&small, false, false);
        let ts = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let b = v.tokenize(&big, false, false);
        let tb = t0.elapsed().as_secs_f64();
        println!(
            "{name:16} 100 KB: {:7.1} ms ({} tok)   1 MB: {:7.1} ms ({} tok)",
            ts * 1e3,
            a.len(),
            tb * 1e3,
            b.len()
        );
        assert!(b.len() > 5 * a.len(), "{name}");
        assert!(tb < 30.0, "{name}: 1 MB took {tb:.1} s");
        assert!(
            tb < 40.0 * ts.max(0.002),
            "{name}: superlinear ({ts:.3} s -> {tb:.3} s)"
        );
    }
}

/// The text of scripts/bench_tokenize.py: the vocab's own `.inp` file repeated to 1 MB, cut,
/// trailing non-ASCII bytes dropped.
fn bench_text(shared: &std::path::Path, name: &str) -> Vec<u8> {
    let inp =
        std::fs::read(shared.join(format!("data/vocab/ggml-vocab-{name}.gguf.inp"))).expect("inp");
    let mut t = Vec::with_capacity(1_000_000 + inp.len());
    while t.len() < 1_000_000 {
        t.extend_from_slice(&inp);
    }
    t.truncate(1_000_000);
    while t.last().is_some_and(|&b| b >= 0x80) {
        t.pop();
    }
    t
}

#[test]
fn one_megabyte_matches_upstream() {
    let Some(shared) = shared_dir() else { return };
    // (vocab, token count, checksum sum((i+1)*id) mod 2^64) from upstream's llama_tokenize via
    // scripts/bench_tokenize.py (add_special = true, parse_special = false)
    let want: [(&str, usize, u64); 11] = [
        ("bert-bge", 467343, 638598253683008),
        ("deepseek-coder", 550162, 221444604730855),
        ("deepseek-llm", 492004, 899881324154133),
        ("gpt-2", 501798, 592124882779566),
        ("llama-bpe", 339151, 855535764163632),
        ("llama-spm", 537293, 1607981789715149),
        ("mpt", 477116, 543666104558389),
        ("phi-3", 537293, 1607981789715149),
        ("qwen2", 356627, 1069280468705010),
        ("refact", 451343, 436694050659505),
        ("starcoder", 451343, 439293262349106),
    ];
    for (name, n, sum) in want {
        let v = load(&shared, name);
        let toks = v.tokenize(&bench_text(&shared, name), true, false);
        let got = toks.iter().enumerate().fold(0u64, |s, (i, &t)| {
            s.wrapping_add((i as u64 + 1).wrapping_mul(t as u64))
        });
        assert_eq!((toks.len(), got), (n, sum), "{name}");
    }
}
