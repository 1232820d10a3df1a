//! Replays chat-template vectors recorded from upstream's libllama (tests/chat_ref/vectors.txt,
//! written by tests/chat_ref/gen_ref.py): every built-in name, the Jinja templates of upstream's
//! tests/test-chat-template.cpp, and the `tokenizer.chat_template` of the ../shared vocab files,
//! each over five conversations with and without the assistant prefix.

use llama::chat::{apply_template, detect, ChatMessage, ChatTemplate, BUILTIN_TEMPLATES};

/// Must match CONVS in gen_ref.py.
fn conversations() -> Vec<Vec<(&'static str, &'static str)>> {
    vec![
        vec![
            ("system", "You are a helpful assistant"),
            ("user", "Hello"),
            ("assistant", "Hi there"),
            ("user", "Who are you"),
            ("assistant", "   I am an assistant   "),
            ("user", "Another question"),
        ],
        vec![
            ("user", "Hello"),
            ("assistant", " Hi! \n"),
            ("user", "\tbye\n"),
        ],
        vec![
            ("system", " sys \n"),
            ("system", "second sys"),
            ("user", "q"),
            ("tool", "tool out"),
            ("assistant_tool_call", "call()"),
            ("function", "fn"),
            ("assistant", "a"),
            ("", "empty role"),
        ],
        vec![],
        vec![("user", "héllo wörld — ✓")],
    ]
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
fn builtin_list_matches_upstream() {
    let text = include_str!("chat_ref/vectors.txt");
    let line = text.lines().find(|l| l.starts_with("builtin ")).unwrap();
    let want: Vec<&str> = line["builtin ".len()..].split(' ').collect();
    let got: Vec<&str> = BUILTIN_TEMPLATES.iter().map(|(n, _)| *n).collect();
    assert_eq!(got, want);
}

#[test]
fn templates_match_upstream_vectors() {
    let text = include_str!("chat_ref/vectors.txt");
    let convs = conversations();
    let mut tmpl: Option<Vec<u8>> = None;
    let mut n = 0;
    let mut failures = Vec::new();
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("tmpl ") {
            tmpl = if t == "NULL" { None } else { Some(unhex(t)) };
            continue;
        }
        let Some(r) = line.strip_prefix("r ") else {
            continue;
        };
        let f: Vec<&str> = r.split(' ').collect();
        let ci: usize = f[0].parse().unwrap();
        let add_ass = f[1] == "1";
        let res: i32 = f[2].parse().unwrap();
        let want = unhex(f[3]);
        let msgs: Vec<ChatMessage> = convs[ci]
            .iter()
            .map(|&(r, c)| ChatMessage::new(r, c))
            .collect();
        let got = apply_template(tmpl.as_deref(), &msgs, add_ass);
        n += 1;
        let ok = match &got {
            Ok(out) => res >= 0 && out.len() == res as usize && *out == want,
            Err(_) => res < 0,
        };
        if !ok {
            let name = tmpl
                .as_deref()
                .map(|t| String::from_utf8_lossy(&t[..t.len().min(50)]).into_owned());
            failures.push(format!(
                "template {name:?} (detected {:?}) conv {ci} add_ass {add_ass}: want {res} {:?}, got {:?}",
                tmpl.as_deref().map(detect),
                String::from_utf8_lossy(&want),
                got.map(|o| String::from_utf8_lossy(&o).into_owned()),
            ));
        }
    }
    assert!(n >= 900, "only {n} records");
    assert!(
        failures.is_empty(),
        "{} of {n} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn detection_examples() {
    assert_eq!(detect(b"chatml"), Some(ChatTemplate::Chatml));
    assert_eq!(detect(b"{{ '<|im_start|>' }}"), Some(ChatTemplate::Chatml));
    assert_eq!(detect(b"mistral anything"), Some(ChatTemplate::Llama2));
    assert_eq!(
        detect(b"<|start_header_id|>x<|end_header_id|>"),
        Some(ChatTemplate::Llama3)
    );
    assert_eq!(detect(b"nothing known"), None);
    assert_eq!(detect(b""), None);
}
