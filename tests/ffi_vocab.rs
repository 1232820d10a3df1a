//! The vocabulary functions of the C API against upstream libllama's recorded behaviour
//! (`tests/vocab_ref/*.ref`, recorded with upstream's library for the `../shared/data/vocab`
//! files): special ids and flags through `llama_vocab_*`, attributes, EOG, and every recorded case
//! through `llama_tokenize`, `llama_detokenize` and `llama_token_to_piece` — including the
//! too-small-buffer protocol (negative required size, nothing written past or into the buffer).

mod ffi_common;

use std::ffi::c_char;
use std::path::PathBuf;

use llama::ffi::types::*;
use llama::ffi::vocab::*;
use llama::gguf::GgufFile;
use llama::vocab::Vocab;

fn shared_dir() -> Option<PathBuf> {
    let p = ffi_common::manifest_dir().join("../shared");
    if p.is_dir() {
        return Some(p);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("FERROLLAMA_REQUIRE_SHARED=1 but {} is missing", p.display());
    }
    eprintln!("NOTICE: skipping: {} not found", p.display());
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
        .map(|t| t.parse().expect("id"))
        .collect()
}

const CANARY: i32 = 0x5a5a_5a5a;

/// Tokenizes through the C API, checking the size query and that nothing is written past the buffer.
fn c_tokenize(v: *const llama_vocab, text: &[u8], add: bool, parse: bool) -> Vec<i32> {
    let len = text.len() as i32;
    // SAFETY: valid vocab and text; a zero-size buffer may be NULL.
    let need = unsafe {
        llama_tokenize(
            v,
            text.as_ptr().cast(),
            len,
            std::ptr::null_mut(),
            0,
            add,
            parse,
        )
    };
    assert!(need <= 0, "size query returned {need}");
    let n = (-need) as usize;
    if n > 0 {
        let mut short = vec![CANARY; n];
        // SAFETY: `short` has room for n - 1 (+1 canary) tokens.
        let r = unsafe {
            llama_tokenize(
                v,
                text.as_ptr().cast(),
                len,
                short.as_mut_ptr(),
                n as i32 - 1,
                add,
                parse,
            )
        };
        assert_eq!(
            r,
            -(n as i32),
            "too-small buffer must return the negative size"
        );
        assert!(
            short.iter().all(|&t| t == CANARY),
            "nothing may be written into a too-small buffer"
        );
    }
    let mut buf = vec![CANARY; n + 1];
    // SAFETY: `buf` has room for n tokens plus a canary.
    let r = unsafe {
        llama_tokenize(
            v,
            text.as_ptr().cast(),
            len,
            buf.as_mut_ptr(),
            n as i32,
            add,
            parse,
        )
    };
    assert_eq!(r, n as i32);
    assert_eq!(buf[n], CANARY, "wrote past the buffer");
    buf.truncate(n);
    buf
}

fn c_detokenize(
    v: *const llama_vocab,
    toks: &[i32],
    remove_special: bool,
    unparse: bool,
) -> Vec<u8> {
    // SAFETY (all calls): valid vocab and token slice; buffers sized as passed.
    let need = unsafe {
        llama_detokenize(
            v,
            toks.as_ptr(),
            toks.len() as i32,
            std::ptr::null_mut(),
            0,
            remove_special,
            unparse,
        )
    };
    if need == 0 {
        return Vec::new();
    }
    assert!(need < 0, "size query returned {need}");
    let n = (-need) as usize;
    let mut buf = vec![0x55 as c_char; n + 1];
    let r = unsafe {
        llama_detokenize(
            v,
            toks.as_ptr(),
            toks.len() as i32,
            buf.as_mut_ptr(),
            n as i32,
            remove_special,
            unparse,
        )
    };
    assert!(
        r >= 0 && r as usize <= n,
        "detokenize returned {r} for a buffer of {n}"
    );
    assert!(
        buf[r as usize..].iter().all(|&c| c == 0x55),
        "wrote past the reported length"
    );
    buf.truncate(r as usize);
    buf.into_iter().map(|c| c as u8).collect()
}

fn c_piece(v: *const llama_vocab, t: i32, special: bool) -> Vec<u8> {
    let mut buf = [0x55 as c_char; 8];
    // SAFETY: `buf` has 8 bytes.
    let r = unsafe { llama_token_to_piece(v, t, buf.as_mut_ptr(), buf.len() as i32, 0, special) };
    if r >= 0 {
        return buf[..r as usize].iter().map(|&c| c as u8).collect();
    }
    assert!(
        buf.iter().all(|&c| c == 0x55),
        "token_to_piece wrote into a too-small buffer"
    );
    let mut big = vec![0 as c_char; (-r) as usize];
    // SAFETY: `big` has -r bytes.
    let r2 = unsafe { llama_token_to_piece(v, t, big.as_mut_ptr(), big.len() as i32, 0, special) };
    assert_eq!(r2, -r);
    big.into_iter().map(|c| c as u8).collect()
}

fn meta(v: *const llama_vocab, key: &str) -> Option<i32> {
    // SAFETY (all calls): valid vocab pointer.
    unsafe {
        Some(match key {
            "n_tokens" => llama_vocab_n_tokens(v),
            "type" => llama_vocab_type(v),
            "bos" => llama_vocab_bos(v),
            "eos" => llama_vocab_eos(v),
            "eot" => llama_vocab_eot(v),
            "sep" => llama_vocab_sep(v),
            "nl" => llama_vocab_nl(v),
            "pad" => llama_vocab_pad(v),
            "mask" => llama_vocab_mask(v),
            "fim_pre" => llama_vocab_fim_pre(v),
            "fim_suf" => llama_vocab_fim_suf(v),
            "fim_mid" => llama_vocab_fim_mid(v),
            "fim_pad" => llama_vocab_fim_pad(v),
            "fim_rep" => llama_vocab_fim_rep(v),
            "fim_sep" => llama_vocab_fim_sep(v),
            "add_bos" => llama_vocab_get_add_bos(v) as i32,
            "add_eos" => llama_vocab_get_add_eos(v) as i32,
            "add_sep" => llama_vocab_get_add_sep(v) as i32,
            _ => return None,
        })
    }
}

#[test]
fn c_vocab_api_matches_upstream_recordings() {
    let Some(shared) = shared_dir() else { return };
    let refs = ffi_common::manifest_dir().join("tests/vocab_ref");
    let mut names: Vec<String> = std::fs::read_dir(&refs)
        .expect("tests/vocab_ref")
        .flatten()
        .filter_map(|e| {
            e.file_name()
                .to_str()?
                .strip_suffix(".ref")
                .map(String::from)
        })
        .collect();
    names.sort();
    assert!(!names.is_empty());
    let mut failures = Vec::new();
    let mut checked = 0usize;
    let mut n_vocabs = 0usize;
    for name in &names {
        let path = shared.join(format!("data/vocab/ggml-vocab-{name}.gguf"));
        if !path.exists() {
            continue; // a ref file of another kind (e.g. pre-tokenizer or variant recordings)
        }
        n_vocabs += 1;
        let g = GgufFile::open(&path).expect("open vocab");
        let vocab = Vocab::from_gguf(&g).expect("vocab");
        let v = &vocab as *const Vocab as *const llama_vocab;
        let text = std::fs::read_to_string(refs.join(format!("{name}.ref"))).expect("read ref");
        let mut cur: Option<(Vec<u8>, bool, bool, Vec<i32>)> = None;
        for line in text.lines() {
            let (kind, rest) = line.split_once(' ').unwrap_or((line, ""));
            let mut fail = |m: String| failures.push(format!("{name}: {m}"));
            match kind {
                "meta" => {
                    let (k, val) = rest.split_once(' ').expect("meta");
                    if let Some(got) = meta(v, k) {
                        checked += 1;
                        if got != val.parse::<i32>().expect("meta value") {
                            fail(format!("meta {k}: want {val} got {got}"));
                        }
                    }
                }
                "eog" => {
                    for t in ids(rest) {
                        checked += 1;
                        // SAFETY: valid vocab.
                        if !unsafe { llama_vocab_is_eog(v, t) } {
                            fail(format!("token {t} should be EOG"));
                        }
                    }
                }
                "attr" => {
                    for kv in rest.split_whitespace() {
                        let (t, a) = kv.split_once(':').expect("attr");
                        let (t, a): (i32, i32) = (t.parse().expect("id"), a.parse().expect("attr"));
                        checked += 1;
                        // SAFETY: valid vocab.
                        let got = unsafe { llama_vocab_get_attr(v, t) };
                        if got != a {
                            fail(format!("attr of {t}: want {a} got {got}"));
                        }
                    }
                }
                "case" => {
                    let mut it = rest.split(' ');
                    let add = it.next() == Some("1");
                    let parse = it.next() == Some("1");
                    cur = Some((unhex(it.next().unwrap_or("-")), add, parse, Vec::new()));
                }
                "tok" => {
                    let (t, add, parse, toks) = cur.as_mut().expect("case");
                    *toks = ids(rest);
                    checked += 1;
                    let got = c_tokenize(v, t, *add, *parse);
                    if got != *toks {
                        fail(format!(
                            "tokenize {:?}: want {toks:?} got {got:?}",
                            String::from_utf8_lossy(t)
                        ));
                    }
                }
                "detok" | "detok_rs" => {
                    let (_, _, parse, toks) = cur.as_ref().expect("case");
                    checked += 1;
                    let got = c_detokenize(v, toks, kind == "detok_rs", *parse);
                    if got != unhex(rest) {
                        fail(format!(
                            "{kind} of {toks:?}: got {:?}",
                            String::from_utf8_lossy(&got)
                        ));
                    }
                }
                "pieces" => {
                    let (_, _, parse, toks) = cur.as_ref().expect("case");
                    let want: Vec<Vec<u8>> = rest.split_whitespace().map(unhex).collect();
                    let got: Vec<Vec<u8>> = toks.iter().map(|&t| c_piece(v, t, *parse)).collect();
                    checked += 1;
                    if got != want {
                        fail(format!("pieces of {toks:?} differ"));
                    }
                }
                _ => {}
            }
        }
    }
    eprintln!(
        "C vocab API: {checked} checks over {n_vocabs} vocabularies, {} failures",
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failures, first:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}

#[test]
fn invalid_arguments_give_failure_values() {
    let n = std::ptr::null::<llama_vocab>();
    let mut buf = [0 as c_char; 4];
    let mut toks = [0i32; 4];
    // SAFETY (all calls): NULL / invalid arguments are what is being tested; buffers are valid.
    unsafe {
        assert_eq!(llama_vocab_n_tokens(n), -1);
        assert_eq!(llama_vocab_bos(n), LLAMA_TOKEN_NULL);
        assert!(llama_vocab_get_text(n, 0).is_null());
        assert_eq!(
            llama_tokenize(n, c"a".as_ptr(), 1, toks.as_mut_ptr(), 4, true, false),
            i32::MIN
        );
        assert_eq!(
            llama_detokenize(n, toks.as_ptr(), 1, buf.as_mut_ptr(), 4, false, false),
            i32::MIN
        );
        assert_eq!(llama_token_to_piece(n, 0, buf.as_mut_ptr(), 4, 0, false), 0);
    }
    let Some(shared) = shared_dir() else { return };
    let g = GgufFile::open(&shared.join("data/vocab/ggml-vocab-llama-spm.gguf")).expect("open");
    let vocab = Vocab::from_gguf(&g).expect("vocab");
    let v = &vocab as *const Vocab as *const llama_vocab;
    // SAFETY (all calls): valid vocab; invalid lengths/tokens/NULL buffers are the point.
    unsafe {
        assert!(llama_vocab_get_text(v, -5).is_null());
        assert!(llama_vocab_get_text(v, 1 << 30).is_null());
        assert_eq!(llama_vocab_get_attr(v, 1 << 30), LLAMA_TOKEN_ATTR_UNDEFINED);
        assert!(!llama_vocab_is_eog(v, -1));
        assert_eq!(
            llama_tokenize(v, std::ptr::null(), 3, toks.as_mut_ptr(), 4, true, false),
            i32::MIN
        );
        assert_eq!(
            llama_tokenize(v, c"abc".as_ptr(), -1, toks.as_mut_ptr(), 4, true, false),
            i32::MIN
        );
        assert_eq!(
            llama_tokenize(v, c"abc".as_ptr(), 3, toks.as_mut_ptr(), -4, true, false),
            i32::MIN
        );
        assert!(llama_tokenize(v, c"abc".as_ptr(), 3, std::ptr::null_mut(), 0, true, false) < 0);
        assert_eq!(
            llama_tokenize(v, std::ptr::null(), 0, toks.as_mut_ptr(), 4, false, false),
            0
        );
        assert_eq!(
            llama_detokenize(v, std::ptr::null(), 2, buf.as_mut_ptr(), 4, false, false),
            i32::MIN
        );
        assert_eq!(
            llama_detokenize(v, toks.as_ptr(), -2, buf.as_mut_ptr(), 4, false, false),
            i32::MIN
        );
        assert_eq!(
            llama_token_to_piece(v, -3, buf.as_mut_ptr(), 4, 0, false),
            0
        );
        let mut n_sup = 77;
        let _ = llama_vocab_get_suppress_tokens(v, &mut n_sup);
        assert!(n_sup >= 0);
        assert!(llama_vocab_get_suppress_tokens(v, std::ptr::null_mut()).is_null());
        assert_eq!(llama_vocab_cls(v), llama_vocab_bos(v));
        assert_eq!(llama_n_vocab(v), 32000);
    }
}
