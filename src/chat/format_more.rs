//! The less common built-in formats (EXAONE, Granite, Bailing, Hunyuan, Kimi, ...).

use super::format::trim;
use super::{ChatMessage, ChatTemplate};

struct Out<'a>(&'a mut Vec<u8>);

impl Out<'_> {
    fn s(&mut self, x: impl AsRef<[u8]>) -> &mut Self {
        self.0.extend_from_slice(x.as_ref());
        self
    }
}

/// Renders the formats [`super::format::render`] does not handle itself.
pub(super) fn render_more(
    t: ChatTemplate,
    chat: &[ChatMessage<'_>],
    add_ass: bool,
    out: &mut Vec<u8>,
) {
    use ChatTemplate as T;
    let mut o = Out(out);
    let last = chat.len().wrapping_sub(1);
    match t {
        T::Exaone3 | T::Exaone4 => {
            for m in chat {
                match m.role {
                    b"system" => o.s("[|system|]").s(trim(m.content)).s("[|endofturn|]\n"),
                    b"user" => o.s("[|user|]").s(trim(m.content)).s("\n"),
                    b"assistant" => o.s("[|assistant|]").s(trim(m.content)).s("[|endofturn|]\n"),
                    b"tool" if t == T::Exaone4 => {
                        o.s("[|tool|]").s(trim(m.content)).s("[|endofturn|]\n")
                    }
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("[|assistant|]");
            }
        }
        T::ExaoneMoe => {
            for m in chat {
                let tag = match m.role {
                    b"system" => "<|system|>\n",
                    b"user" => "<|user|>\n",
                    b"assistant" => "<|assistant|>\n",
                    b"tool" => "<|tool|>\n",
                    _ => continue,
                };
                o.s(tag).s(trim(m.content)).s("<|endofturn|>\n");
            }
            if add_ass {
                o.s("<|assistant|>\n");
            }
        }
        T::RwkvWorld => {
            for (i, m) in chat.iter().enumerate() {
                match m.role {
                    b"system" => {
                        o.s("System: ").s(trim(m.content)).s("\n\n");
                    }
                    b"user" => {
                        o.s("User: ").s(trim(m.content)).s("\n\n");
                        if i == last {
                            o.s("Assistant:");
                        }
                    }
                    b"assistant" => {
                        o.s("Assistant: ").s(trim(m.content)).s("\n\n");
                    }
                    _ => {}
                }
            }
        }
        T::Granite3x => {
            for m in chat {
                o.s("<|start_of_role|>").s(m.role).s("<|end_of_role|>");
                if m.role == b"assistant_tool_call" {
                    o.s("<|tool_call|>");
                }
                o.s(m.content).s("<|end_of_text|>\n");
            }
            if add_ass {
                o.s("<|start_of_role|>assistant<|end_of_role|>");
            }
        }
        T::Granite40 | T::Granite41 => {
            for m in chat {
                if m.role == b"assistant_tool_call" {
                    o.s("<|start_of_role|>assistant<|end_of_role|><|tool_call|>");
                } else {
                    o.s("<|start_of_role|>").s(m.role).s("<|end_of_role|>");
                }
                o.s(m.content).s("<|end_of_text|>\n");
            }
            if add_ass {
                o.s("<|start_of_role|>assistant<|end_of_role|>");
            }
        }
        T::Gigachat => {
            let has_system = chat.first().is_some_and(|m| m.role == b"system");
            if has_system {
                o.s("<s>").s(chat[0].content).s("<|message_sep|>");
            } else {
                o.s("<s>");
            }
            for m in chat.iter().skip(usize::from(has_system)) {
                match m.role {
                    b"user" => o
                        .s("user<|role_sep|>")
                        .s(m.content)
                        .s("<|message_sep|>")
                        .s("available functions<|role_sep|>[]<|message_sep|>"),
                    b"assistant" => o
                        .s("assistant<|role_sep|>")
                        .s(m.content)
                        .s("<|message_sep|>"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("assistant<|role_sep|>");
            }
        }
        T::Megrez => {
            for m in chat {
                o.s("<|role_start|>")
                    .s(m.role)
                    .s("<|role_end|>")
                    .s(m.content)
                    .s("<|turn_end|>");
            }
            if add_ass {
                o.s("<|role_start|>assistant<|role_end|>");
            }
        }
        T::Yandex => {
            for m in chat {
                match m.role {
                    b"user" => o.s(" Пользователь: ").s(m.content).s("\n\n"),
                    b"assistant" => o.s(" Ассистент: ").s(m.content).s("\n\n"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s(" Ассистент:[SEP]");
            }
        }
        T::Bailing | T::BailingThink | T::Bailing2 => {
            let has_system = chat.first().is_some_and(|m| m.role == b"system");
            if t == T::Bailing2 && !has_system {
                o.s("<role>SYSTEM</role>detailed thinking off<|role_end|>");
            }
            for m in chat {
                let role: Vec<u8> = if m.role == b"user" {
                    b"HUMAN".to_vec()
                } else {
                    m.role.to_ascii_uppercase()
                };
                o.s("<role>").s(&role).s("</role>").s(m.content);
                if t == T::Bailing2 {
                    o.s("<|role_end|>");
                }
            }
            if add_ass {
                o.s("<role>ASSISTANT</role>");
                if t == T::BailingThink {
                    o.s("<think>");
                }
            }
        }
        T::Llama4 => {
            for m in chat {
                o.s("<|header_start|>")
                    .s(m.role)
                    .s("<|header_end|>\n\n")
                    .s(trim(m.content))
                    .s("<|eot|>");
            }
            if add_ass {
                o.s("<|header_start|>assistant<|header_end|>\n\n");
            }
        }
        T::Smolvlm => {
            o.s("<|im_start|>");
            for m in chat {
                match m.role {
                    b"system" => o.s(m.content).s("\n\n"),
                    b"user" => o.s("User: ").s(m.content).s("<end_of_utterance>\n"),
                    _ => o.s("Assistant: ").s(m.content).s("<end_of_utterance>\n"),
                };
            }
            if add_ass {
                o.s("Assistant:");
            }
        }
        T::Dots1 => {
            for m in chat {
                match m.role {
                    b"system" => o.s("<|system|>").s(m.content).s("<|endofsystem|>"),
                    b"user" => o.s("<|userprompt|>").s(m.content).s("<|endofuserprompt|>"),
                    _ => o.s("<|response|>").s(m.content).s("<|endofresponse|>"),
                };
            }
            if add_ass {
                o.s("<|response|>");
            }
        }
        T::HunyuanMoe => {
            for m in chat {
                match m.role {
                    b"system" => o.s("<|startoftext|>").s(m.content).s("<|extra_4|>"),
                    b"assistant" => o.s(m.content).s("<|eos|>"),
                    _ => o.s("<|startoftext|>").s(m.content).s("<|extra_0|>"),
                };
            }
        }
        T::OpenaiMoe => {
            for m in chat {
                o.s("<|start|>").s(m.role).s("<|message|>").s(m.content);
                o.s(if m.role == b"assistant" {
                    "<|return|>"
                } else {
                    "<|end|>"
                });
            }
            if add_ass {
                o.s("<|start|>assistant");
            }
        }
        T::HunyuanDense => {
            for (i, m) in chat.iter().enumerate() {
                if i == 0 && m.role == b"system" {
                    o.s(m.content).s("<｜hy_place▁holder▁no▁3｜>");
                }
                match m.role {
                    b"assistant" => o
                        .s("<｜hy_Assistant｜>")
                        .s(m.content)
                        .s("<｜hy_place▁holder▁no▁2｜>"),
                    b"user" => o.s("<｜hy_User｜>").s(m.content).s("<｜hy_Assistant｜>"),
                    _ => &mut o,
                };
            }
        }
        T::HunyuanVl => {
            o.s("<｜hy_begin▁of▁sentence｜>");
            for (i, m) in chat.iter().enumerate() {
                if i == 0 && m.role == b"system" {
                    o.s(m.content).s("<｜hy_place▁holder▁no▁3｜>");
                    continue;
                }
                match m.role {
                    b"user" => o.s(m.content).s("<｜hy_User｜>"),
                    b"assistant" => o.s(m.content).s("<｜hy_Assistant｜>"),
                    _ => &mut o,
                };
            }
        }
        T::KimiK2 => {
            for m in chat {
                match m.role {
                    b"system" => o.s("<|im_system|>system<|im_middle|>"),
                    b"user" => o.s("<|im_user|>user<|im_middle|>"),
                    b"assistant" => o.s("<|im_assistant|>assistant<|im_middle|>"),
                    b"tool" => o.s("<|im_system|>tool<|im_middle|>"),
                    _ => &mut o,
                };
                o.s(m.content).s("<|im_end|>");
            }
            if add_ass {
                o.s("<|im_assistant|>assistant<|im_middle|>");
            }
        }
        T::SeedOss => {
            for m in chat {
                let c = if m.role == b"assistant" {
                    trim(m.content)
                } else {
                    m.content
                };
                o.s("<seed:bos>").s(m.role).s("\n").s(c).s("<seed:eos>");
            }
            if add_ass {
                o.s("<seed:bos>assistant\n");
            }
        }
        T::Grok2 => {
            for m in chat {
                match m.role {
                    b"system" => o.s("System: ").s(trim(m.content)).s("<|separator|>\n\n"),
                    b"user" => o.s("Human: ").s(trim(m.content)).s("<|separator|>\n\n"),
                    b"assistant" => o.s("Assistant: ").s(m.content).s("<|separator|>\n\n"),
                    _ => &mut o,
                };
            }
            if add_ass {
                o.s("Assistant:");
            }
        }
        T::PanguEmbed => {
            for (i, m) in chat.iter().enumerate() {
                if i == 0 && m.role != b"system" {
                    o.s("[unused9]系统：[unused10]");
                }
                let tag = match m.role {
                    b"system" => "[unused9]系统：",
                    b"user" => "[unused9]用户：",
                    b"assistant" => "[unused9]助手：",
                    b"tool" => "[unused9]工具：",
                    b"function" => "[unused9]方法：",
                    _ => continue,
                };
                o.s(tag).s(m.content).s("[unused10]");
            }
            if add_ass {
                o.s("[unused9]助手：");
            }
        }
        T::SolarOpen => {
            for m in chat {
                o.s("<|begin|>")
                    .s(m.role)
                    .s("<|content|>")
                    .s(m.content)
                    .s("<|end|>");
            }
            if add_ass {
                o.s("<|begin|>assistant");
            }
        }
        // the common formats are rendered by format::render
        _ => {}
    }
}
