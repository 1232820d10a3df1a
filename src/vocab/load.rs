//! Building a [`Vocab`]: reading `tokenizer.ggml.*` metadata and reproducing upstream's load-time
//! decisions (default special ids per tokenizer model, pre-tokenizer flags, special tokens found
//! by text, end-of-generation set, attribute fix-ups by model name, caches).

use std::collections::BTreeSet;

use super::hash::FxHashMap;
use super::pretokenize::{PreTokenizer, PreType};
use super::ugm::Ugm;
use super::vocab::{TokenData, Vocab};
use super::{vocab_type, ATTR_CONTROL, ATTR_NORMAL, ATTR_UNUSED, TOKEN_NULL};
use super::{ATTR_BYTE, ATTR_UNDEFINED, ATTR_UNKNOWN, ATTR_USER_DEFINED};
use crate::error::{Error, Result};
use crate::gguf::{Array, GgufFile};

/// Special-token id keys, in upstream's order (`tokenizer.ggml.<key>`).
pub const SPECIAL_ID_KEYS: [&str; 17] = [
    "bos_token_id",
    "eos_token_id",
    "eot_token_id",
    "eom_token_id",
    "unknown_token_id",
    "seperator_token_id",
    "padding_token_id",
    "mask_token_id",
    "fim_pre_token_id",
    "fim_suf_token_id",
    "fim_mid_token_id",
    "fim_pad_token_id",
    "fim_rep_token_id",
    "fim_sep_token_id",
    "prefix_token_id",
    "suffix_token_id",
    "middle_token_id",
];

/// The tokenizer metadata of a model, as plain data.
#[derive(Debug, Clone, Default)]
pub struct VocabData {
    /// `tokenizer.ggml.model`
    pub model: String,
    /// `tokenizer.ggml.pre`
    pub pre: Option<String>,
    /// `tokenizer.ggml.tokens`
    pub tokens: Vec<Vec<u8>>,
    /// `tokenizer.ggml.scores`
    pub scores: Option<Vec<f32>>,
    /// `tokenizer.ggml.token_type`
    pub token_types: Option<Vec<i32>>,
    /// `tokenizer.ggml.merges`
    pub merges: Option<Vec<Vec<u8>>>,
    /// Values of [`SPECIAL_ID_KEYS`] that are present.
    pub special_ids: [Option<u32>; 17],
    /// `tokenizer.ggml.add_bos_token`
    pub add_bos: Option<bool>,
    /// `tokenizer.ggml.add_eos_token`
    pub add_eos: Option<bool>,
    /// `tokenizer.ggml.add_sep_token`
    pub add_sep: Option<bool>,
    /// `tokenizer.ggml.add_space_prefix`
    pub add_space_prefix: Option<bool>,
    /// `tokenizer.ggml.remove_extra_whitespaces`
    pub remove_extra_whitespaces: Option<bool>,
    /// `tokenizer.ggml.normalizer.lowercase`
    pub lowercase: Option<bool>,
    /// `tokenizer.ggml.normalizer.strip_accents`
    pub strip_accents: Option<bool>,
    /// `tokenizer.ggml.precompiled_charsmap`
    pub precompiled_charsmap: Option<Vec<u8>>,
    /// `tokenizer.ggml.suppress_tokens`
    pub suppress_tokens: Option<Vec<i32>>,
    /// `tokenizer.ggml.token_type_count`
    pub token_type_count: Option<u32>,
    /// `general.name`
    pub general_name: Option<String>,
    /// `general.architecture`
    pub general_arch: Option<String>,
    /// `{arch}.vocab_size` (used for `no_vocab` models)
    pub vocab_size: Option<u32>,
}

impl VocabData {
    /// Read the tokenizer metadata from a GGUF file.
    pub fn from_gguf(g: &GgufFile) -> Result<VocabData> {
        let k = |s: &str| format!("tokenizer.ggml.{s}");
        let model = g
            .get_str(&k("model"))?
            .ok_or_else(|| Error::format("key not found in model: tokenizer.ggml.model"))?
            .to_string();
        let strs = |key: &str| -> Result<Option<Vec<Vec<u8>>>> {
            Ok(g.get_str_array(key)?
                .map(|v| v.into_iter().map(<[u8]>::to_vec).collect()))
        };
        let tokens = strs(&k("tokens"))?.unwrap_or_default();
        let scores = match g.get_array(&k("scores"))? {
            None => None,
            Some(Array::F32(v)) => Some(v.clone()),
            Some(Array::I32(v)) => Some(v.iter().map(|&x| x as f32).collect()),
            Some(_) => return Err(Error::format("invalid gguf type for tokenizer.ggml.scores")),
        };
        let token_types = match g.get_array(&k("token_type"))? {
            None => None,
            Some(Array::I32(v)) => Some(v.clone()),
            Some(_) => {
                return Err(Error::format(
                    "invalid gguf type for tokenizer.ggml.token_type",
                ))
            }
        };
        let precompiled_charsmap = match g.get_array(&k("precompiled_charsmap"))? {
            None => None,
            Some(Array::U8(v)) => Some(v.clone()),
            Some(Array::I8(v)) => Some(v.iter().map(|&x| x as u8).collect()),
            Some(_) => {
                return Err(Error::format(
                    "invalid gguf type for tokenizer.ggml.precompiled_charsmap",
                ))
            }
        };
        let mut special_ids = [None; 17];
        for (slot, key) in special_ids.iter_mut().zip(SPECIAL_ID_KEYS) {
            *slot = g.get_u32(&k(key))?;
        }
        let general_arch = g.get_str("general.architecture")?.map(str::to_string);
        let vocab_size = match &general_arch {
            Some(a) => g.get_u32(&format!("{a}.vocab_size"))?,
            None => None,
        };
        Ok(VocabData {
            model,
            pre: g.get_str(&k("pre"))?.map(str::to_string),
            tokens,
            scores,
            token_types,
            merges: strs(&k("merges"))?,
            special_ids,
            add_bos: g.get_bool(&k("add_bos_token"))?,
            add_eos: g.get_bool(&k("add_eos_token"))?,
            add_sep: g.get_bool(&k("add_sep_token"))?,
            add_space_prefix: g.get_bool(&k("add_space_prefix"))?,
            remove_extra_whitespaces: g.get_bool(&k("remove_extra_whitespaces"))?,
            lowercase: g.get_bool(&k("normalizer.lowercase"))?,
            strip_accents: g.get_bool(&k("normalizer.strip_accents"))?,
            precompiled_charsmap,
            suppress_tokens: g.get_i32_array(&k("suppress_tokens"))?,
            token_type_count: g.get_u32(&k("token_type_count"))?,
            general_name: g.get_str("general.name")?.map(str::to_string),
            general_arch,
            vocab_size,
        })
    }
}

/// Pre-tokenizer type and flag changes for a `tokenizer.ggml.pre` value (BPE).
struct PreFlags {
    pre: PreType,
    clean_spaces: Option<bool>,
    ignore_merges: bool,
    add_bos: bool,
    add_sep: bool,
    no_bos: bool,
    escape_ws: bool,
    lowercase_off: bool,
}

fn pre_flags(name: &str) -> Option<PreFlags> {
    use PreType as P;
    let mut f = PreFlags {
        pre: P::Default,
        clean_spaces: None,
        ignore_merges: false,
        add_bos: false,
        add_sep: false,
        no_bos: false,
        escape_ws: false,
        lowercase_off: false,
    };
    let nc = Some(false);
    match name {
        "" | "default" => {}
        "minicpm5" => (f.pre, f.ignore_merges) = (P::Minicpm5, true),
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0"
        | "lfm2" | "jina-v5-nano" => (f.pre, f.ignore_merges, f.add_bos) = (P::Llama3, true, true),
        "deepseek-llm" => (f.pre, f.clean_spaces) = (P::DeepseekLlm, nc),
        "deepseek-coder" => (f.pre, f.clean_spaces) = (P::DeepseekCoder, nc),
        "deepseek-v3" => (f.pre, f.clean_spaces) = (P::Deepseek3Llm, nc),
        "spark2_5" => (f.pre, f.clean_spaces) = (P::Spark25, nc),
        "youtu" => (f.pre, f.clean_spaces, f.ignore_merges) = (P::Youtu, nc, true),
        "falcon" => f.pre = P::Falcon,
        "mpt" => f.pre = P::Mpt,
        "starcoder" => f.pre = P::Starcoder,
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de"
        | "a.x-4.0" | "mellum" | "modern-bert" => f.pre = P::Gpt2,
        "jais-2" => f.pre = P::Jais2,
        "gemma4" | "granite-embed-multi-311m" => (f.pre, f.escape_ws) = (P::Gemma4, true),
        "sarvam-moe" => (f.pre, f.escape_ws, f.clean_spaces) = (P::SarvamMoe, true, nc),
        "jina-v1-en" | "jina-v2-code" | "roberta-bpe" => (f.pre, f.add_sep) = (P::Gpt2, true),
        "whitespace" => (f.pre, f.lowercase_off) = (P::Whitespace, true),
        "refact" => f.pre = P::Refact,
        "command-r" => (f.pre, f.clean_spaces) = (P::CommandR, nc),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" => {
            (f.pre, f.clean_spaces) = (P::Qwen2, nc)
        }
        "qwen35" => (f.pre, f.clean_spaces) = (P::Qwen35, nc),
        "stablelm2" => f.pre = P::Stablelm2,
        "olmo" => f.pre = P::Olmo,
        "dbrx" => f.pre = P::Dbrx,
        "smaug-bpe" => f.pre = P::Smaug,
        "poro-chat" => (f.pre, f.clean_spaces) = (P::Poro, nc),
        "chatglm-bpe" => (f.pre, f.no_bos) = (P::Chatglm4, true),
        "glm4" | "glm5" => (f.pre, f.no_bos, f.ignore_merges) = (P::Chatglm4, true, true),
        "viking" => (f.pre, f.clean_spaces) = (P::Viking, nc),
        "jais" => f.pre = P::Jais,
        "tekken" => {
            (f.pre, f.clean_spaces, f.ignore_merges, f.add_bos) = (P::Tekken, nc, true, true)
        }
        "smollm" => (f.pre, f.clean_spaces) = (P::Smollm, nc),
        "codeshell" => f.pre = P::Codeshell,
        "bloom" => f.pre = P::Bloom,
        "gpt3-finnish" => f.pre = P::Gpt3Finnish,
        "exaone" => f.pre = P::Exaone,
        "exaone4" => f.pre = P::Gpt2,
        "exaone-moe" => f.pre = P::ExaoneMoe,
        "chameleon" => (f.pre, f.add_bos, f.clean_spaces) = (P::Chameleon, true, nc),
        "minerva-7b" => f.pre = P::Minerva,
        "megrez" => f.pre = P::Qwen2,
        "gpt-4o" | "llama4" | "kanana2" | "talkie" => (f.pre, f.clean_spaces) = (P::Gpt4o, nc),
        "granite-embed-multi-97m" => {
            (f.pre, f.clean_spaces, f.ignore_merges) = (P::GraniteEmbMulti, nc, true)
        }
        "tiny_aya" | "cohere2moe" => (f.pre, f.clean_spaces) = (P::TinyAya, nc),
        "superbpe" => (f.pre, f.clean_spaces) = (P::Superbpe, nc),
        "trillion" => (f.pre, f.clean_spaces) = (P::Trillion, nc),
        "granite-docling" => (f.pre, f.clean_spaces) = (P::GraniteDocling, nc),
        "bailingmoe" | "bailingmoe2" | "llada-moe" => (f.pre, f.clean_spaces) = (P::Bailingmoe, nc),
        "seed-coder" => (f.pre, f.clean_spaces) = (P::SeedCoder, nc),
        "hunyuan" => (f.pre, f.clean_spaces) = (P::Hunyuan, nc),
        "hunyuan-dense" => (f.pre, f.clean_spaces) = (P::HunyuanDense, nc),
        "hy_v4" => (f.pre, f.clean_spaces) = (P::HyV4, nc),
        "joyai-llm" => (f.pre, f.clean_spaces) = (P::JoyaiLlm, nc),
        "kimi-k2" => (f.pre, f.clean_spaces) = (P::KimiK2, nc),
        "ufakzeka" => (f.pre, f.clean_spaces) = (P::Ufakzeka, nc),
        "grok-2" => (f.pre, f.clean_spaces) = (P::Grok2, nc),
        "afmoe" => (f.pre, f.clean_spaces) = (P::Afmoe, nc),
        "laguna" => (f.pre, f.clean_spaces) = (P::Laguna, nc),
        "minimax-m2" => (f.pre, f.clean_spaces) = (P::MinimaxM2, nc),
        "solar-open" => (f.pre, f.clean_spaces) = (P::SolarOpen, nc),
        "mellum2" => f.pre = P::Mellum2,
        _ => return None,
    }
    Some(f)
}

fn parse_merges(merges: &[Vec<u8>]) -> FxHashMap<Vec<u8>, i32> {
    let mut ranks = FxHashMap::default();
    ranks.reserve(merges.len());
    for (i, m) in merges.iter().enumerate() {
        let (first, second): (&[u8], &[u8]) = match m.iter().skip(1).position(|&b| b == b' ') {
            Some(p) => (&m[..p + 1], &m[p + 2..]),
            None => (&[], &[]),
        };
        let mut key = Vec::with_capacity(4 + m.len());
        key.extend_from_slice(&(first.len() as u32).to_le_bytes());
        key.extend_from_slice(first);
        key.extend_from_slice(second);
        ranks.entry(key).or_insert(i as i32);
    }
    ranks
}

fn empty_vocab(vtype: i32) -> Vocab {
    Vocab {
        vtype,
        pre_type: PreType::Default,
        tokenizer_model: String::new(),
        tokenizer_pre: String::new(),
        tokens: Vec::new(),
        token_to_id: FxHashMap::default(),
        bpe_ranks: FxHashMap::default(),
        n_merges: 0,
        special_bos: 1,
        special_eos: 2,
        special_eot: TOKEN_NULL,
        special_eom: TOKEN_NULL,
        special_unk: 0,
        special_sep: TOKEN_NULL,
        special_pad: TOKEN_NULL,
        special_mask: TOKEN_NULL,
        linefeed: 13,
        fim: [TOKEN_NULL; 6],
        add_space_prefix: false,
        add_bos: false,
        add_eos: false,
        add_sep: false,
        ignore_merges: false,
        clean_spaces: false,
        remove_extra_whitespaces: false,
        escape_whitespaces: true,
        treat_whitespace_as_suffix: false,
        normalizer_lowercase: true,
        normalizer_strip_accents: true,
        max_token_len: 0,
        n_token_types: 0,
        eog: BTreeSet::new(),
        cache_special: Vec::new(),
        special_trie: super::ugm::Trie::new(),
        special_first: [false; 256],
        piece_cache: Vec::new(),
        suppress_tokens: Vec::new(),
        pretok: None,
        ugm: None,
        rwkv: None,
        plamo2: None,
        spm_inner_space: None,
    }
}

impl Vocab {
    /// Load the vocabulary of a GGUF file (upstream's `llama_vocab::load`).
    pub fn from_gguf(g: &GgufFile) -> Result<Vocab> {
        Vocab::from_data(VocabData::from_gguf(g)?).map_err(|e| e.within("vocab"))
    }

    /// Build a vocabulary from plain tokenizer metadata.
    pub fn from_data(d: VocabData) -> Result<Vocab> {
        const NULL: i32 = TOKEN_NULL;
        let model = d.model.as_str();
        let mut pre_name = d.pre.clone().unwrap_or_default();
        let mut v;
        match model {
            "no_vocab" | "none" => {
                v = empty_vocab(vocab_type::NONE);
                (v.special_bos, v.special_eos, v.special_unk, v.linefeed) =
                    (NULL, NULL, NULL, NULL);
                for _ in 0..d.vocab_size.unwrap_or(0) {
                    v.tokens.push(TokenData {
                        text_nul: vec![0],
                        score: 0.0,
                        attr: ATTR_UNDEFINED,
                    });
                }
                v.tokenizer_model = d.model.clone();
                return Ok(v);
            }
            "llama" => v = empty_vocab(vocab_type::SPM),
            "bert" => {
                v = empty_vocab(vocab_type::WPM);
                (v.special_bos, v.special_eos, v.special_unk) = (101, NULL, 100);
                (v.special_sep, v.special_pad, v.special_mask, v.add_sep) = (102, 0, 103, true);
            }
            "gpt2" | "whitespace" | "hybriddna" | "gemma4" => {
                v = empty_vocab(vocab_type::BPE);
                match &d.merges {
                    Some(m) => {
                        v.bpe_ranks = parse_merges(m);
                        v.n_merges = m.len();
                    }
                    None if model != "gemma4" && pre_name == "kimi-k2" => {}
                    None => {
                        return Err(Error::format("cannot find tokenizer merges in model file"))
                    }
                }
                if model == "gemma4" {
                    (v.special_bos, v.special_eos, v.special_unk) = (NULL, NULL, NULL);
                    pre_name = "gemma4".into();
                } else {
                    (v.special_bos, v.special_eos, v.special_unk) = (11, 11, NULL);
                }
            }
            "t5" => {
                v = empty_vocab(vocab_type::UGM);
                (v.special_bos, v.special_eos, v.special_unk, v.special_pad) = (NULL, 1, 2, 0);
            }
            "rwkv" => {
                v = empty_vocab(vocab_type::RWKV);
                (v.special_bos, v.special_eos, v.special_unk) = (NULL, NULL, NULL);
            }
            "plamo2" => {
                v = empty_vocab(vocab_type::PLAMO2);
                (v.special_bos, v.special_eos, v.special_unk, v.special_pad) = (1, 2, 0, 3);
            }
            "test" => {
                v = empty_vocab(vocab_type::TEST);
                (v.special_bos, v.special_eos, v.special_unk) = (NULL, NULL, NULL);
            }
            _ => return Err(Error::unsupported(format!("unknown tokenizer: '{model}'"))),
        }
        v.tokenizer_model = d.model.clone();
        v.n_token_types = d.token_type_count.unwrap_or(0);
        match v.vtype {
            vocab_type::BPE => {
                (v.add_space_prefix, v.escape_whitespaces, v.clean_spaces) = (false, false, true);
                let f = pre_flags(&pre_name).ok_or_else(|| {
                    Error::unsupported(format!("unknown pre-tokenizer type: '{pre_name}'"))
                })?;
                v.pre_type = f.pre;
                if let Some(c) = f.clean_spaces {
                    v.clean_spaces = c;
                }
                v.ignore_merges |= f.ignore_merges;
                v.add_bos |= f.add_bos;
                v.add_sep |= f.add_sep;
                v.escape_whitespaces |= f.escape_ws;
                if f.no_bos {
                    v.special_bos = NULL;
                }
                if f.lowercase_off {
                    v.normalizer_lowercase = false;
                }
            }
            vocab_type::SPM => {
                (v.add_space_prefix, v.clean_spaces, v.add_bos, v.add_eos) =
                    (true, false, true, false)
            }
            vocab_type::WPM => {
                (
                    v.add_space_prefix,
                    v.clean_spaces,
                    v.add_bos,
                    v.add_eos,
                    v.add_sep,
                ) = (false, true, true, false, true)
            }
            vocab_type::UGM => (v.add_bos, v.add_eos) = (false, true),
            vocab_type::RWKV => {
                (v.add_space_prefix, v.clean_spaces, v.add_bos, v.add_eos) =
                    (false, false, false, false)
            }
            _ => {}
        }
        v.tokenizer_pre = pre_name;
        if let Some(b) = d.add_space_prefix {
            v.add_space_prefix = b;
        }
        if let Some(b) = d.remove_extra_whitespaces {
            v.remove_extra_whitespaces = b;
        }

        // tokens
        let n = d.tokens.len();
        if d.scores.as_ref().is_some_and(|s| s.len() < n) {
            return Err(Error::format("Index out of array bounds for scores"));
        }
        if d.token_types.as_ref().is_some_and(|s| s.len() < n) {
            return Err(Error::format("Index out of array bounds for toktypes"));
        }
        if i32::try_from(n).is_err() {
            return Err(Error::format("too many tokens"));
        }
        v.tokens.reserve(n);
        v.token_to_id.reserve(n);
        for (i, w) in d.tokens.iter().enumerate() {
            let mut text = if w.is_empty() {
                format!("[EMPTY_{i}]").into_bytes()
            } else {
                w.clone()
            };
            if v.token_to_id.insert(text.clone(), i as i32).is_some() {
                return Err(Error::format(format!("duplicate token text at index {i}")));
            }
            v.max_token_len = v.max_token_len.max(text.len());
            let attr = match d.token_types.as_ref().map(|t| t[i]) {
                None | Some(1) => ATTR_NORMAL,
                Some(2) => ATTR_UNKNOWN,
                Some(3) => ATTR_CONTROL,
                Some(4) => ATTR_USER_DEFINED,
                Some(5) => ATTR_UNUSED,
                Some(6) => ATTR_BYTE,
                Some(_) => ATTR_UNDEFINED,
            };
            text.push(0);
            v.tokens.push(TokenData {
                text_nul: text,
                score: d.scores.as_ref().map_or(0.0, |s| s[i]),
                attr,
            });
        }

        if model == "hybriddna" {
            super::dna::trim_kmer_markers(&mut v);
        }

        // tokenizer
        match v.vtype {
            vocab_type::BPE => v.pretok = Some(PreTokenizer::for_pre_type(v.pre_type)?),
            vocab_type::UGM => {
                v.ugm = Some(Ugm::new(
                    &v,
                    d.precompiled_charsmap.as_deref().unwrap_or(&[]),
                )?)
            }
            vocab_type::RWKV => v.rwkv = Some(super::rwkv::build_trie(&v)),
            vocab_type::PLAMO2 => v.plamo2 = Some(super::plamo2::Plamo2::new(&v)?),
            vocab_type::SPM => v.spm_inner_space = super::spm::inner_space_tokens(&v),
            _ => {}
        }
        v.linefeed = match v.vtype {
            vocab_type::SPM => v.byte_to_token(b'\n').unwrap_or(v.special_pad),
            vocab_type::WPM => v.special_pad,
            _ => v
                .tokenize(b"\n", false, false)
                .first()
                .copied()
                .unwrap_or(v.special_pad),
        };
        super::load_special::finish(&mut v, &d)?;
        Ok(v)
    }
}
