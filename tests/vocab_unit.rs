//! Vocabulary loading and tokenizing on small hand-made vocabularies (no shared data needed):
//! malformed metadata is an error, never a panic; odd inputs tokenize without panicking.

use llama::vocab::{Vocab, VocabData};

fn byte_level_tokens() -> Vec<Vec<u8>> {
    // the 256 GPT-2 byte symbols, then a few merged tokens and a special token
    let mut t: Vec<Vec<u8>> = (0..=255u8)
        .map(|b| {
            let c = match b {
                0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF => b as u32,
                _ => 0,
            };
            let mut s = Vec::new();
            if c != 0 {
                s.extend_from_slice(char::from_u32(c).unwrap().to_string().as_bytes());
            }
            s
        })
        .collect();
    // bytes without a printable form get GPT-2's 256+n code points
    let mut n = 0;
    for s in t.iter_mut() {
        if s.is_empty() {
            s.extend_from_slice(char::from_u32(256 + n).unwrap().to_string().as_bytes());
            n += 1;
        }
    }
    for extra in ["he", "ll", "hell", "hello", "Ġw", "Ġwor", "<|end|>"] {
        t.push(extra.as_bytes().to_vec());
    }
    t
}

fn bpe_data() -> VocabData {
    let tokens = byte_level_tokens();
    let n = tokens.len();
    let mut types = vec![1; n];
    types[n - 1] = 3;
    VocabData {
        model: "gpt2".into(),
        pre: Some("qwen2".into()),
        tokens,
        token_types: Some(types),
        merges: Some(
            ["h e", "l l", "he ll", "hell o", "Ġ w", "Ġw o", "Ġwo r"]
                .iter()
                .map(|s| s.as_bytes().to_vec())
                .collect(),
        ),
        ..Default::default()
    }
}

#[test]
fn small_bpe_vocab() {
    let v = Vocab::from_data(bpe_data()).expect("vocab");
    let n = v.n_tokens();
    let hello = v.tokenize(b"hello", false, false);
    assert_eq!(hello, vec![n - 4]);
    assert_eq!(v.detokenize(&hello, false, false), b"hello".to_vec());
    // the special token is plain text unless parse_special
    let s = v.tokenize(b"hi<|end|>", false, true);
    assert_eq!(s.last(), Some(&(n - 1)));
    assert!(!v.tokenize(b"hi<|end|>", false, false).contains(&(n - 1)));
    assert!(v.is_eog(n - 1), "<|end|> is end-of-generation by name");
    assert_eq!(v.eot(), n - 1);
    // every byte value round-trips through the byte-level vocabulary
    let all: Vec<u8> = (0..=255u8).collect();
    let t = v.tokenize(&all[..128], false, false);
    assert_eq!(v.detokenize(&t, false, false), all[..128].to_vec());
}

#[test]
fn odd_inputs_do_not_panic() {
    let v = Vocab::from_data(bpe_data()).expect("vocab");
    let mut seed = 0x1234_5678_u32;
    for len in [0usize, 1, 2, 3, 7, 64, 1000] {
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
            buf.push((seed >> 16) as u8);
        }
        for add in [false, true] {
            for parse in [false, true] {
                let t = v.tokenize(&buf, add, parse);
                let _ = v.detokenize(&t, add, parse);
            }
        }
    }
    for t in [-5, -1, v.n_tokens(), i32::MAX] {
        assert!(v.token_to_piece(t, 0, true).is_empty());
        assert_eq!(v.token_attr(t), 0);
        assert!(v.token_text_cstr(t).is_none());
    }
    let _ = v.detokenize(&[-1, 5, i32::MAX], true, true);
}

#[test]
fn malformed_metadata_is_an_error() {
    let mut d = bpe_data();
    d.model = "nonsense".into();
    assert!(Vocab::from_data(d).is_err());
    let mut d = bpe_data();
    d.merges = None;
    assert!(Vocab::from_data(d).is_err());
    let mut d = bpe_data();
    d.pre = Some("no-such-pre".into());
    assert!(Vocab::from_data(d).is_err());
    let mut d = bpe_data();
    d.scores = Some(vec![0.0; 3]);
    assert!(Vocab::from_data(d).is_err());
    let mut d = bpe_data();
    d.token_types = Some(vec![1; 3]);
    assert!(Vocab::from_data(d).is_err());
    let mut d = bpe_data();
    let first = d.tokens[0].clone();
    d.tokens.push(first);
    assert!(Vocab::from_data(d).is_err(), "duplicate token text");
}

#[test]
fn lenient_where_upstream_is() {
    // out-of-range special ids are ignored, unknown token types become UNDEFINED,
    // empty tokens get a placeholder text, an empty SPM vocabulary loads
    let mut d = bpe_data();
    d.special_ids[0] = Some(1_000_000);
    if let Some(t) = d.token_types.as_mut() {
        t[5] = 99;
    }
    d.tokens[6] = Vec::new();
    let v = Vocab::from_data(d).expect("vocab");
    assert_eq!(v.bos(), 11);
    assert_eq!(v.token_attr(5), 0);
    assert_eq!(v.token_text(6), b"[EMPTY_6]");
    let spm = Vocab::from_data(VocabData {
        model: "llama".into(),
        ..Default::default()
    })
    .expect("empty spm");
    assert_eq!(spm.n_tokens(), 0);
    assert_eq!(spm.bos(), -1);
    assert!(spm.tokenize(b"abc", true, true).is_empty());
}
