//! Detection from real `tokenizer.chat_template` strings: each ../shared/data/vocab/*.gguf that
//! has one is read with our GGUF reader; the template must be one upstream's library was recorded
//! with (tests/chat_ref/vectors.txt) and must render exactly as upstream rendered it.
//! Skips with a notice when ../shared is absent, unless FERROLLAMA_REQUIRE_SHARED=1.

use std::path::PathBuf;

use llama::chat::{apply_template, detect, ChatMessage, ChatTemplate};
use llama::gguf::GgufFile;

fn shared_dir() -> Option<PathBuf> {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if d.is_dir() {
        return Some(d);
    }
    if std::env::var("FERROLLAMA_REQUIRE_SHARED").as_deref() == Ok("1") {
        panic!("../shared is missing and FERROLLAMA_REQUIRE_SHARED=1");
    }
    eprintln!("skipping: ../shared not found");
    None
}

fn unhex(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn vocab_chat_templates_detected_and_rendered_as_upstream() {
    let Some(shared) = shared_dir() else { return };
    let text = include_str!("chat_ref/vectors.txt");
    // (template bytes, [(add_ass, output)] for conversation 0) as upstream recorded them
    type Record = (Vec<u8>, Vec<(bool, i32, Vec<u8>)>);
    let mut recorded: Vec<Record> = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("tmpl ") {
            recorded.push((if t == "NULL" { Vec::new() } else { unhex(t) }, Vec::new()));
        } else if let Some(r) = line.strip_prefix("r 0 ") {
            let f: Vec<&str> = r.split(' ').collect();
            if let Some(last) = recorded.last_mut() {
                last.1
                    .push((f[0] == "1", f[1].parse().unwrap(), unhex(f[2])));
            }
        }
    }
    let conv = [
        ChatMessage::new("system", "You are a helpful assistant"),
        ChatMessage::new("user", "Hello"),
        ChatMessage::new("assistant", "Hi there"),
        ChatMessage::new("user", "Who are you"),
        ChatMessage::new("assistant", "   I am an assistant   "),
        ChatMessage::new("user", "Another question"),
    ];
    let mut seen = Vec::new();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(shared.join("data/vocab"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "gguf"))
        .collect();
    paths.sort();
    for p in paths {
        let g = GgufFile::open(&p).unwrap();
        let Some(tmpl) = g.get_str("tokenizer.chat_template").unwrap() else {
            continue;
        };
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let t = detect(tmpl.as_bytes()).unwrap_or_else(|| panic!("{name}: template not detected"));
        let (_, recs) = recorded
            .iter()
            .find(|(b, _)| b == tmpl.as_bytes())
            .unwrap_or_else(|| {
                panic!("{name}: template was not among those recorded from upstream")
            });
        for (add_ass, res, want) in recs {
            let got = apply_template(Some(tmpl.as_bytes()), &conv, *add_ass).unwrap();
            assert_eq!(got.len() as i32, *res, "{name}");
            assert_eq!(&got, want, "{name} add_ass={add_ass}");
        }
        seen.push((name, t));
    }
    // the shared corpus has two vocab files with templates: phi-3 and qwen2
    assert!(
        seen.contains(&("ggml-vocab-phi-3.gguf".to_string(), ChatTemplate::Phi3)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("ggml-vocab-qwen2.gguf".to_string(), ChatTemplate::Chatml)),
        "{seen:?}"
    );
}
