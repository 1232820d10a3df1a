//! Chat templates: `llama_chat_apply_template` and detection from `tokenizer.chat_template`.
//!
//! Like upstream this is not a Jinja engine: a template string is either the name of a built-in
//! format (`"chatml"`, `"llama3"`, ... — [`BUILTIN_TEMPLATES`]) or a Jinja source in which
//! [`detect`] looks for tell-tale substrings, in upstream's order. Each [`ChatTemplate`] then
//! renders the conversation by a fixed rule ([`format::render`]).
//!
//! Everything works on bytes: roles and contents come from C strings and need not be UTF-8.

#![forbid(unsafe_code)]

pub mod format;
mod format_more;

use crate::error::{Error, Result};

/// A built-in chat format (upstream's `llm_chat_template`).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChatTemplate {
    Chatml,
    Llama2,
    Llama2Sys,
    Llama2SysBos,
    Llama2SysStrip,
    MistralV1,
    MistralV3,
    MistralV3Tekken,
    MistralV7,
    MistralV7Tekken,
    Phi3,
    Phi4,
    Falcon3,
    Zephyr,
    Monarch,
    Gemma,
    Orion,
    Openchat,
    Vicuna,
    VicunaOrca,
    Deepseek,
    Deepseek2,
    Deepseek3,
    DeepseekOcr,
    CommandR,
    Llama3,
    Chatglm3,
    Chatglm4,
    Glmedge,
    Minicpm,
    Exaone3,
    Exaone4,
    ExaoneMoe,
    RwkvWorld,
    Granite3x,
    Granite40,
    Granite41,
    Gigachat,
    Megrez,
    Yandex,
    Bailing,
    BailingThink,
    Bailing2,
    Llama4,
    Smolvlm,
    Dots1,
    HunyuanMoe,
    OpenaiMoe,
    HunyuanDense,
    HunyuanVl,
    KimiK2,
    SeedOss,
    Grok2,
    PanguEmbed,
    SolarOpen,
}

/// The names `llama_chat_builtin_templates` lists, each with its format, in upstream's
/// (byte-wise sorted) order.
pub const BUILTIN_TEMPLATES: &[(&str, ChatTemplate)] = &[
    ("bailing", ChatTemplate::Bailing),
    ("bailing-think", ChatTemplate::BailingThink),
    ("bailing2", ChatTemplate::Bailing2),
    ("chatglm3", ChatTemplate::Chatglm3),
    ("chatglm4", ChatTemplate::Chatglm4),
    ("chatml", ChatTemplate::Chatml),
    ("command-r", ChatTemplate::CommandR),
    ("deepseek", ChatTemplate::Deepseek),
    ("deepseek-ocr", ChatTemplate::DeepseekOcr),
    ("deepseek2", ChatTemplate::Deepseek2),
    ("deepseek3", ChatTemplate::Deepseek3),
    ("exaone-moe", ChatTemplate::ExaoneMoe),
    ("exaone3", ChatTemplate::Exaone3),
    ("exaone4", ChatTemplate::Exaone4),
    ("falcon3", ChatTemplate::Falcon3),
    ("gemma", ChatTemplate::Gemma),
    ("gigachat", ChatTemplate::Gigachat),
    ("glmedge", ChatTemplate::Glmedge),
    ("gpt-oss", ChatTemplate::OpenaiMoe),
    ("granite", ChatTemplate::Granite3x),
    ("granite-4.0", ChatTemplate::Granite40),
    ("granite-4.1", ChatTemplate::Granite41),
    ("grok-2", ChatTemplate::Grok2),
    ("hunyuan-dense", ChatTemplate::HunyuanDense),
    ("hunyuan-moe", ChatTemplate::HunyuanMoe),
    ("hunyuan-vl", ChatTemplate::HunyuanVl),
    ("kimi-k2", ChatTemplate::KimiK2),
    ("llama2", ChatTemplate::Llama2),
    ("llama2-sys", ChatTemplate::Llama2Sys),
    ("llama2-sys-bos", ChatTemplate::Llama2SysBos),
    ("llama2-sys-strip", ChatTemplate::Llama2SysStrip),
    ("llama3", ChatTemplate::Llama3),
    ("llama4", ChatTemplate::Llama4),
    ("megrez", ChatTemplate::Megrez),
    ("minicpm", ChatTemplate::Minicpm),
    ("mistral-v1", ChatTemplate::MistralV1),
    ("mistral-v3", ChatTemplate::MistralV3),
    ("mistral-v3-tekken", ChatTemplate::MistralV3Tekken),
    ("mistral-v7", ChatTemplate::MistralV7),
    ("mistral-v7-tekken", ChatTemplate::MistralV7Tekken),
    ("monarch", ChatTemplate::Monarch),
    ("openchat", ChatTemplate::Openchat),
    ("orion", ChatTemplate::Orion),
    ("pangu-embedded", ChatTemplate::PanguEmbed),
    ("phi3", ChatTemplate::Phi3),
    ("phi4", ChatTemplate::Phi4),
    ("rwkv-world", ChatTemplate::RwkvWorld),
    ("seed_oss", ChatTemplate::SeedOss),
    ("smolvlm", ChatTemplate::Smolvlm),
    ("solar-open", ChatTemplate::SolarOpen),
    ("vicuna", ChatTemplate::Vicuna),
    ("vicuna-orca", ChatTemplate::VicunaOrca),
    ("yandex", ChatTemplate::Yandex),
    ("zephyr", ChatTemplate::Zephyr),
];

/// One message of a conversation.
#[derive(Clone, Copy, Debug)]
pub struct ChatMessage<'a> {
    /// `"system"`, `"user"`, `"assistant"`, ...
    pub role: &'a [u8],
    /// The text.
    pub content: &'a [u8],
}

impl<'a> ChatMessage<'a> {
    /// A message from string slices.
    pub fn new(role: &'a str, content: &'a str) -> Self {
        ChatMessage {
            role: role.as_bytes(),
            content: content.as_bytes(),
        }
    }
}

/// The built-in format called `name` exactly.
pub fn from_name(name: &[u8]) -> Option<ChatTemplate> {
    BUILTIN_TEMPLATES
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|&(_, t)| t)
}

fn find(hay: &[u8], needle: &str) -> Option<usize> {
    let n = needle.as_bytes();
    if n.is_empty() {
        return Some(0);
    }
    hay.windows(n.len()).position(|w| w == n)
}

/// Which built-in format a template string means: a built-in name, or a Jinja source recognised
/// by upstream's substring heuristics. `None` when nothing matches.
pub fn detect(tmpl: &[u8]) -> Option<ChatTemplate> {
    use ChatTemplate as T;
    if let Some(t) = from_name(tmpl) {
        return Some(t);
    }
    let has = |s: &str| find(tmpl, s).is_some();
    let t = if has("<|im_start|>") {
        if has("<|im_sep|>") {
            T::Phi4
        } else if has("<end_of_utterance>") {
            T::Smolvlm
        } else {
            T::Chatml
        }
    } else if tmpl.starts_with(b"mistral") || has("[INST]") {
        if has("[SYSTEM_PROMPT]") {
            T::MistralV7
        } else if has("' [INST] ' + system_message") || has("[AVAILABLE_TOOLS]") {
            if has(" [INST]") {
                T::MistralV1
            } else if has("\"[INST]\"") {
                T::MistralV3Tekken
            } else {
                T::MistralV3
            }
        } else if has("content.strip()") {
            T::Llama2SysStrip
        } else if has("bos_token + '[INST]") {
            T::Llama2SysBos
        } else if has("<<SYS>>") {
            T::Llama2Sys
        } else {
            T::Llama2
        }
    } else if has("<|assistant|>") && has("<|end|>") {
        T::Phi3
    } else if has("[gMASK]<sop>") {
        T::Chatglm4
    } else if has("<|assistant|>") && has("<|user|>") {
        if has("<|tool_declare|>") {
            T::ExaoneMoe
        } else if has("</s>") {
            T::Falcon3
        } else {
            T::Glmedge
        }
    } else if has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>") {
        T::Glmedge
    } else if has("<|user|>") && has("<|endoftext|>") {
        T::Zephyr
    } else if has("bos_token + message['role']") {
        T::Monarch
    } else if has("<start_of_turn>") {
        T::Gemma
    } else if has("'\\n\\nAssistant: ' + eos_token") {
        T::Orion
    } else if has("GPT4 Correct ") {
        T::Openchat
    } else if has("USER: ") && has("ASSISTANT: ") {
        if has("SYSTEM: ") {
            T::VicunaOrca
        } else {
            T::Vicuna
        }
    } else if has("### Instruction:") && has("<|EOT|>") {
        T::Deepseek
    } else if has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>") {
        T::CommandR
    } else if has("<|start_header_id|>") && has("<|end_header_id|>") {
        T::Llama3
    } else if has("[gMASK]sop") {
        T::Chatglm3
    } else if has("<用户>") {
        T::Minicpm
    } else if has("'Assistant: ' + message['content'] + eos_token") {
        T::Deepseek2
    } else if has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>") {
        T::Deepseek3
    } else if has("[|system|]") && has("[|assistant|]") && has("[|endofturn|]") {
        if has("[|tool|]") {
            T::Exaone4
        } else {
            T::Exaone3
        }
    } else if has("rwkv-world") || has("{{- 'User: ' + message['content']|trim + '\\n\\n' -}}") {
        T::RwkvWorld
    } else if has("<|start_of_role|>") {
        if has("<tool_call>") || has("<tools>") {
            if has("g4_default_system_message") {
                T::Granite40
            } else {
                T::Granite41
            }
        } else {
            T::Granite3x
        }
    } else if has("message['role'] + additional_special_tokens[0] + message['content'] + additional_special_tokens[1]")
    {
        T::Gigachat
    } else if has("<|role_start|>") {
        T::Megrez
    } else if has(" Ассистент:") {
        T::Yandex
    } else if has("<role>ASSISTANT</role>") && has("'HUMAN'") {
        T::Bailing
    } else if has("<role>ASSISTANT</role>") && has("\"HUMAN\"") && has("<think>") {
        T::BailingThink
    } else if has("<role>ASSISTANT</role>") && has("<role>HUMAN</role>") && has("<|role_end|>") {
        T::Bailing2
    } else if has("<|header_start|>") && has("<|header_end|>") {
        T::Llama4
    } else if has("<|endofuserprompt|>") {
        T::Dots1
    } else if has("<|extra_0|>") && has("<|extra_4|>") {
        T::HunyuanMoe
    } else if has("<|start|>") && has("<|channel|>") {
        T::OpenaiMoe
    } else if has("<｜hy_Assistant｜>") && has("<｜hy_begin▁of▁sentence｜>") {
        T::HunyuanVl
    } else if has("<｜hy_Assistant｜>") && has("<｜hy_place▁holder▁no▁3｜>") {
        T::HunyuanDense
    } else if has("<|im_assistant|>assistant<|im_middle|>") {
        T::KimiK2
    } else if has("<seed:bos>") {
        T::SeedOss
    } else if has("'Assistant: '  + message['content'] + '<|separator|>") {
        T::Grok2
    } else if has("[unused9]系统：[unused10]") {
        T::PanguEmbed
    } else if has("<|begin|>") && has("<|end|>") && has("<|content|>") {
        T::SolarOpen
    } else {
        return None;
    };
    Some(t)
}

/// `llama_chat_apply_template` without the buffer: the template string (`None` means
/// `"chatml"`) is detected, then the conversation is rendered.
pub fn apply_template(
    tmpl: Option<&[u8]>,
    chat: &[ChatMessage<'_>],
    add_ass: bool,
) -> Result<Vec<u8>> {
    let tmpl = tmpl.unwrap_or(b"chatml");
    let t = detect(tmpl).ok_or_else(|| {
        let head = String::from_utf8_lossy(&tmpl[..tmpl.len().min(60)]).into_owned();
        Error::unsupported(format!("chat template not recognised: {head:?}"))
    })?;
    Ok(format::render(t, chat, add_ass))
}
