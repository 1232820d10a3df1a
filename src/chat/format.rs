//! Rendering a conversation in each built-in format (upstream's `llm_chat_apply_template`).

use super::{ChatMessage, ChatTemplate};

/// `isspace` in the C locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Strips C-locale whitespace from both ends.
pub fn trim(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|&b| !is_c_space(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(start, |i| i + 1);
    &s[start..end.max(start)]
}

/// An output buffer with a terse append.
struct Out(Vec<u8>);

impl Out {
    fn s(&mut self, x: impl AsRef<[u8]>) -> &mut Self {
        self.0.extend_from_slice(x.as_ref());
        self
    }
}

/// Renders `chat` in format `t`; `add_ass` appends the opening of an assistant turn.
pub fn render(t: ChatTemplate, chat: &[ChatMessage<'_>], add_ass: bool) -> Vec<u8> {
    use ChatTemplate as T;
    let mut o = Out(Vec::new());
    match t {
        T::Chatml => {
            for m in chat {
                o.s("<|im_start|>")
                    .s(m.role)
                    .s("\n")
                    .s(m.content)
                    .s("<|im_end|>\n");
            }
            if add_ass {
                o.s("<|im_start|>assistant\n");
            }
        }
        T::MistralV7 | T::MistralV7Tekken => {
            let sp = if t == T::MistralV7 { " " } else { "" };
            for m in chat {
                match m.role {
                    b"system" => o
                        .s("[SYSTEM_PROMPT]")
                        .s(sp)
                        .s(m.content)
                        .s("[/SYSTEM_PROMPT]"),
                    b"user" => o.s("[INST]").s(sp).s(m.content).s("[/INST]"),
                    _ => o.s(sp).s(m.content).s("</s>"),
                };
            }
        }
        T::MistralV1 | T::MistralV3 | T::MistralV3Tekken => {
            let leading = if t == T::MistralV1 { " " } else { "" };
            let trailing = if t == T::MistralV3Tekken { "" } else { " " };
            let trim_assistant = t == T::MistralV3;
            let mut inside = false;
            for m in chat {
                if !inside {
                    o.s(leading).s("[INST]").s(trailing);
                    inside = true;
                }
                match m.role {
                    b"system" => {
                        o.s(m.content).s("\n\n");
                    }
                    b"user" => {
                        o.s(m.content).s(leading).s("[/INST]");
                    }
                    _ => {
                        let c = if trim_assistant {
                            trim(m.content)
                        } else {
                            m.content
                        };
                        o.s(trailing).s(c).s("</s>");
                        inside = false;
                    }
                }
            }
        }
        T::Llama2 | T::Llama2Sys | T::Llama2SysBos | T::Llama2SysStrip => {
            let support_system = t != T::Llama2;
            let bos_inside = t == T::Llama2SysBos;
            let strip = t == T::Llama2SysStrip;
            let mut inside = true;
            o.s("[INST] ");
            for m in chat {
                let content = if strip { trim(m.content) } else { m.content };
                if !inside {
                    inside = true;
                    o.s(if bos_inside { "<s>[INST] " } else { "[INST] " });
                }
                match m.role {
                    b"system" if support_system => {
                        o.s("<<SYS>>\n").s(content).s("\n<</SYS>>\n\n");
                    }
                    b"system" => {
                        o.s(content).s("\n");
                    }
                    b"user" => {
                        o.s(content).s(" [/INST]");
                    }
                    _ => {
                        o.s(content).s("</s>");
                        inside = false;
                    }
                }
            }
        }
        T::Phi3 => {
            for m in chat {
                o.s("<|").s(m.role).s("|>\n").s(m.content).s("<|end|>\n");
            }
            if add_ass {
                o.s("<|assistant|>\n");
            }
        }
        T::Phi4 => {
            for m in chat {
                o.s("<|im_start|>")
                    .s(m.role)
                    .s("<|im_sep|>")
                    .s(m.content)
                    .s("<|im_end|>");
            }
            if add_ass {
                o.s("<|im_start|>assistant<|im_sep|>");
            }
        }
        T::Falcon3 => {
            for m in chat {
                o.s("<|").s(m.role).s("|>\n").s(m.content).s("\n");
            }
            if add_ass {
                o.s("<|assistant|>\n");
            }
        }
        T::Zephyr => {
            for m in chat {
                o.s("<|")
                    .s(m.role)
                    .s("|>\n")
                    .s(m.content)
                    .s("<|endoftext|>\n");
            }
            if add_ass {
                o.s("<|assistant|>\n");
            }
        }
        T::Monarch => {
            for (i, m) in chat.iter().enumerate() {
                // upstream compares message pointers: only the very first message skips "<s>"
                o.s(if i == 0 { "" } else { "<s>" })
                    .s(m.role)
                    .s("\n")
                    .s(m.content)
                    .s("</s>\n");
            }
            if add_ass {
                o.s("<s>assistant\n");
            }
        }
        T::Gemma => {
            let mut system_prompt: Vec<u8> = Vec::new();
            for m in chat {
                if m.role == b"system" {
                    system_prompt.extend_from_slice(trim(m.content));
                    continue;
                }
                let role: &[u8] = if m.role == b"assistant" {
                    b"model"
                } else {
                    m.role
                };
                o.s("<start_of_turn>").s(role).s("\n");
                if !system_prompt.is_empty() && role != b"model" {
                    o.s(&system_prompt).s("\n\n");
                    system_prompt.clear();
                }
                o.s(trim(m.content)).s("<end_of_turn>\n");
            }
            if add_ass {
                o.s("<start_of_turn>model\n");
            }
        }
        T::Orion => {
            let mut system_prompt: Vec<u8> = Vec::new();
            for m in chat {
                match m.role {
                    b"system" => system_prompt.extend_from_slice(m.content),
                    b"user" => {
                        o.s("Human: ");
                        if !system_prompt.is_empty() {
                            o.s(&system_prompt).s("\n\n");
                            system_prompt.clear();
                        }
                        o.s(m.content).s("\n\nAssistant: </s>");
                    }
                    _ => {
                        o.s(m.content).s("</s>");
                    }
                }
            }
        }
        T::Openchat => {
            for m in chat {
                if m.role == b"system" {
                    o.s(m.content).s("<|end_of_turn|>");
                } else {
                    let mut role = m.role.to_vec();
                    if let Some(c) = role.first_mut() {
                        *c = c.to_ascii_uppercase();
                    }
                    o.s("GPT4 Correct ")
                        .s(&role)
                        .s(": ")
                        .s(m.content)
                        .s("<|end_of_turn|>");
                }
            }
            if add_ass {
                o.s("GPT4 Correct Assistant:");
            }
        }
        T::Vicuna | T::VicunaOrca => {
            for m in chat {
                match m.role {
                    b"system" if t == T::VicunaOrca => o.s("SYSTEM: ").s(m.content).s("\n"),
                    b"system" => o.s(m.content).s("\n\n"),
                    b"user" => o.s("USER: ").s(m.content).s("\n"),
                    b"assistant" => o.s("ASSISTANT: ").s(m.content).s("</s>\n"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("ASSISTANT:");
            }
        }
        T::Deepseek => {
            for m in chat {
                match m.role {
                    b"system" => o.s(m.content),
                    b"user" => o.s("### Instruction:\n").s(m.content).s("\n"),
                    b"assistant" => o.s("### Response:\n").s(m.content).s("\n<|EOT|>\n"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("### Response:\n");
            }
        }
        T::CommandR => {
            for m in chat {
                let tag = match m.role {
                    b"system" => "<|SYSTEM_TOKEN|>",
                    b"user" => "<|USER_TOKEN|>",
                    b"assistant" => "<|CHATBOT_TOKEN|>",
                    _ => continue,
                };
                o.s("<|START_OF_TURN_TOKEN|>")
                    .s(tag)
                    .s(trim(m.content))
                    .s("<|END_OF_TURN_TOKEN|>");
            }
            if add_ass {
                o.s("<|START_OF_TURN_TOKEN|><|CHATBOT_TOKEN|>");
            }
        }
        T::Llama3 => {
            for m in chat {
                o.s("<|start_header_id|>")
                    .s(m.role)
                    .s("<|end_header_id|>\n\n")
                    .s(trim(m.content))
                    .s("<|eot_id|>");
            }
            if add_ass {
                o.s("<|start_header_id|>assistant<|end_header_id|>\n\n");
            }
        }
        T::Chatglm3 => {
            o.s("[gMASK]sop");
            for m in chat {
                o.s("<|").s(m.role).s("|>\n ").s(m.content);
            }
            if add_ass {
                o.s("<|assistant|>");
            }
        }
        T::Chatglm4 | T::Glmedge => {
            if t == T::Chatglm4 {
                o.s("[gMASK]<sop>");
            }
            for m in chat {
                o.s("<|").s(m.role).s("|>\n").s(m.content);
            }
            if add_ass {
                o.s(if t == T::Chatglm4 {
                    "<|assistant|>\n"
                } else {
                    "<|assistant|>"
                });
            }
        }
        T::Minicpm => {
            for m in chat {
                if m.role == b"user" {
                    o.s("<用户>").s(trim(m.content)).s("<AI>");
                } else {
                    o.s(trim(m.content));
                }
            }
        }
        T::Deepseek2 => {
            for m in chat {
                match m.role {
                    b"system" => o.s(m.content).s("\n\n"),
                    b"user" => o.s("User: ").s(m.content).s("\n\n"),
                    b"assistant" => o.s("Assistant: ").s(m.content).s("<｜end▁of▁sentence｜>"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("Assistant:");
            }
        }
        T::Deepseek3 => {
            for m in chat {
                match m.role {
                    b"system" => o.s(m.content).s("\n\n"),
                    b"user" => o.s("<｜User｜>").s(m.content),
                    b"assistant" => o
                        .s("<｜Assistant｜>")
                        .s(m.content)
                        .s("<｜end▁of▁sentence｜>"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("<｜Assistant｜>");
            }
        }
        T::DeepseekOcr => {
            for m in chat {
                o.s(m.content);
            }
        }
        _ => super::format_more::render_more(t, chat, add_ass, &mut o.0),
    }
    o.0
}
