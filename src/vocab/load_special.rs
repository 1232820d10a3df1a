//! The second half of loading: special token ids from metadata, special tokens recognised by
//! their text, the end-of-generation set, attribute fix-ups, and the caches (special tokens by
//! length, token pieces), in upstream's order.

use super::load::VocabData;
use super::vocab::Vocab;
use super::{ATTR_CONTROL, ATTR_LSTRIP, ATTR_NORMAL, ATTR_RSTRIP, ATTR_UNKNOWN, ATTR_UNUSED};
use super::{ATTR_USER_DEFINED, TOKEN_NULL};
use crate::error::{Error, Result};

const EOT_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "<｜end▁of▁sentence｜>",
    "<end_of_utterance>",
];
const EOM_NAMES: &[&str] = &["<|eom_id|>"];
const FIM_PRE_NAMES: &[&str] = &[
    "<|fim_prefix|>",
    "<fim-prefix>",
    "<fim_prefix>",
    "<｜fim▁begin｜>",
    "<PRE>",
    "▁<PRE>",
    "<|code_prefix|>",
    "<|prefix|>",
];
const FIM_SUF_NAMES: &[&str] = &[
    "<|fim_suffix|>",
    "<fim-suffix>",
    "<fim_suffix>",
    "<｜fim▁hole｜>",
    "<SUF>",
    "▁<SUF>",
    "<|code_suffix|>",
    "<|suffix|>",
];
const FIM_MID_NAMES: &[&str] = &[
    "<|fim_middle|>",
    "<fim-middle>",
    "<fim_middle>",
    "<｜fim▁end｜>",
    "<MID>",
    "▁<MID>",
    "<|code_middle|>",
    "<|middle|>",
];
const FIM_PAD_NAMES: &[&str] = &["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"];
const FIM_REP_NAMES: &[&str] = &[
    "<|fim_repo|>",
    "<|repo_name|>",
    "<fim-repo>",
    "<REPO>",
    "<reponame>",
];
const FIM_SEP_NAMES: &[&str] = &["<|file_sep|>"];
const EOG_NAMES: &[&str] = &[
    "<|eot_id|>",
    "<|im_end|>",
    "<|end|>",
    "<|return|>",
    "<|call|>",
    "<|flush|>",
    "<|calls|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "</s>",
    "<|eom_id|>",
    "<EOT>",
    "_<EOT>",
    "[EOT]",
    "[EOS]",
    "<|end_of_text|>",
    "<end_of_utterance>",
    "<eos>",
    "<turn|>",
    "<|tool_response>",
    "<｜end▁of▁sentence｜>",
    "[e~[",
];

pub(crate) fn set_ids(v: &mut Vocab, d: &VocabData) {
    let n = v.tokens.len() as i64;
    for (k, val) in d.special_ids.iter().enumerate() {
        let slot: &mut i32 = match k {
            0 => &mut v.special_bos,
            1 => &mut v.special_eos,
            2 => &mut v.special_eot,
            3 => &mut v.special_eom,
            4 => &mut v.special_unk,
            5 => &mut v.special_sep,
            6 => &mut v.special_pad,
            7 => &mut v.special_mask,
            8 | 14 => &mut v.fim[0],
            9 | 15 => &mut v.fim[1],
            10 | 16 => &mut v.fim[2],
            11 => &mut v.fim[3],
            12 => &mut v.fim[4],
            _ => &mut v.fim[5],
        };
        if *slot >= 0 && *slot as i64 >= n {
            *slot = TOKEN_NULL;
        }
        if let Some(id) = *val {
            if (id as i64) < n {
                *slot = id as i32;
            }
        }
    }
}

/// Token ids in the order upstream visits its `token_to_id` hash map.
fn map_order(keys: &[Vec<u8>]) -> Vec<i32> {
    super::stdhash::unordered_map_order(keys.iter().map(|k| k.as_slice()))
}

/// The `token_to_id` keys by id (the texts as read; hybriddna trims its k-mer texts afterwards).
fn keys_by_id(v: &Vocab) -> Vec<Vec<u8>> {
    let mut keys = vec![Vec::new(); v.tokens.len()];
    for (k, &id) in &v.token_to_id {
        if let Some(slot) = keys.get_mut(id as usize) {
            slot.clone_from(k);
        }
    }
    keys
}

fn attr_or(v: &mut Vocab, id: i32, bits: u32) {
    if let Some(t) = v.tokens.get_mut(id as usize) {
        t.attr |= bits;
    }
}

pub(crate) fn finish(v: &mut Vocab, d: &VocabData) -> Result<()> {
    set_ids(v, d);
    if let Some(b) = d.add_bos {
        v.add_bos = b;
    }
    if let Some(b) = d.add_eos {
        v.add_eos = b;
    }
    if let Some(b) = d.add_sep {
        v.add_sep = b;
    }
    if v.pre_type == super::PreType::Gemma4 && !v.add_bos {
        v.add_bos = true;
    }
    if let Some(b) = d.lowercase {
        v.normalizer_lowercase = b;
    }
    v.normalizer_strip_accents = v.normalizer_lowercase;
    if let Some(b) = d.strip_accents {
        v.normalizer_strip_accents = b;
    }
    let n = v.tokens.len() as i32;
    if let Some(s) = &d.suppress_tokens {
        v.suppress_tokens = s.iter().copied().filter(|&t| t >= 0 && t < n).collect();
    }

    let keys = keys_by_id(v);
    let order = map_order(&keys);
    for &id in &order {
        let text = &keys[id as usize];
        let is = |names: &[&str]| names.iter().any(|s| s.as_bytes() == text.as_slice());
        let checks: [(&[&str], usize); 8] = [
            (EOT_NAMES, 0),
            (EOM_NAMES, 1),
            (FIM_PRE_NAMES, 2),
            (FIM_SUF_NAMES, 3),
            (FIM_MID_NAMES, 4),
            (FIM_PAD_NAMES, 5),
            (FIM_REP_NAMES, 6),
            (FIM_SEP_NAMES, 7),
        ];
        for (names, slot) in checks {
            let cur = match slot {
                0 => &mut v.special_eot,
                1 => &mut v.special_eom,
                s => &mut v.fim[s - 2],
            };
            if *cur == TOKEN_NULL && is(names) {
                *cur = id;
                attr_or(v, id, ATTR_CONTROL);
            }
        }
    }
    for &id in &order {
        let t = &mut v.tokens[id as usize];
        if t.attr & ATTR_CONTROL == 0 {
            continue;
        }
        if t.attr & ATTR_UNUSED == 0 && keys[id as usize].windows(6).any(|w| w == b"unused") {
            t.attr |= ATTR_UNUSED;
        }
    }

    v.eog.clear();
    for id in [v.fim[3], v.fim[4], v.fim[5]] {
        if id != TOKEN_NULL {
            v.eog.insert(id);
        }
    }
    for &id in &order {
        let text = keys[id as usize].as_slice();
        if EOG_NAMES.iter().any(|s| s.as_bytes() == text) {
            v.eog.insert(id);
            attr_or(v, id, ATTR_CONTROL);
        }
    }
    for &id in &order {
        let text = keys[id as usize].as_slice();
        if matches!(
            text,
            b"<|channel|>" | b"<|message|>" | b"<|start|>" | b"<|constrain|>"
        ) {
            v.tokens[id as usize].attr = ATTR_USER_DEFINED;
        }
    }
    for id in [v.special_eos, v.special_eot, v.special_eom] {
        if id != TOKEN_NULL {
            v.eog.insert(id);
        }
    }
    let (mut has_return, mut has_call, mut has_end, mut has_flush, mut end_id) =
        (false, false, false, false, -1);
    for &tid in &v.eog {
        let Some(t) = v.tokens.get(tid as usize) else {
            continue;
        };
        match t.text() {
            b"<|return|>" => has_return = true,
            b"<|call|>" | b"<|calls|>" => has_call = true,
            b"<|flush|>" => has_flush = true,
            b"<|end|>" => (has_end, end_id) = (true, tid),
            _ => {}
        }
    }
    if has_end && has_call && (has_return || has_flush) {
        v.eog.remove(&end_id);
        v.tokens[end_id as usize].attr = ATTR_USER_DEFINED;
    }
    let (mut has_marker, mut s_id) = (false, None);
    for &tid in &v.eog {
        let Some(t) = v.tokens.get(tid as usize) else {
            continue;
        };
        match t.text() {
            b"<|tool_response>" | b"<|plamo:eos|>" => has_marker = true,
            b"</s>" => s_id = Some(tid),
            _ => {}
        }
    }
    if let (true, Some(s)) = (has_marker, s_id) {
        v.eog.remove(&s);
        v.tokens[s as usize].attr = ATTR_NORMAL;
    }

    // special tokens by text length, longest first (upstream's std::sort order)
    let mut cache: Vec<i32> = (0..n)
        .filter(|&id| {
            v.tokens[id as usize].attr & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN) != 0
        })
        .collect();
    let lens: Vec<usize> = cache
        .iter()
        .map(|&id| v.tokens[id as usize].text().len())
        .collect();
    super::stdsort::sort_by_len_desc(&mut cache, &lens);
    for (k, &id) in cache.iter().enumerate() {
        let text = v.tokens[id as usize].text();
        if let Some(&b) = text.first() {
            v.special_first[b as usize] = true;
        }
        v.special_trie.insert(text, k as i32);
    }
    v.cache_special = cache;

    v.piece_cache = (0..n).map(|id| v.piece_uncached(id)).collect();

    // per-token attributes by model / tokenizer / architecture name
    let name = d
        .general_name
        .clone()
        .unwrap_or_default()
        .to_ascii_lowercase();
    let pre = d.pre.clone().unwrap_or_default();
    let arch = d.general_arch.clone().unwrap_or_default();
    let any = |s: &str, subs: &[&str]| subs.iter().any(|x| s.contains(x));
    let set_attr = |v: &mut Vocab, text: &str, bit: u32, on: bool| -> Result<()> {
        let id = v.text_to_token(text.as_bytes()).ok_or_else(|| {
            Error::format(format!("token '{text}' not found (needed for {name})"))
        })?;
        let a = &mut v.tokens[id as usize].attr;
        *a = if on { *a | bit } else { *a & !bit };
        Ok(())
    };
    if any(&pre, &["jina-v2-de", "jina-v2-es", "jina-v2-code"])
        || any(&arch, &["nomic-bert-moe", "jina-bert-v3"])
    {
        if v.text_to_token(b"<mask>").is_some() {
            set_attr(v, "<mask>", ATTR_LSTRIP, true)?;
        }
    } else if any(&name, &["phi-3", "phi3"]) {
        for id in v.cache_special.clone() {
            v.tokens[id as usize].attr |= ATTR_RSTRIP;
        }
        set_attr(v, "</s>", ATTR_RSTRIP, true)?;
        for t in ["<unk>", "<s>", "<|endoftext|>"] {
            set_attr(v, t, ATTR_RSTRIP, false)?;
        }
    } else if any(&name, &["modern-bert"]) && v.text_to_token(b"[MASK]").is_some() {
        set_attr(v, "[MASK]", ATTR_LSTRIP, true)?;
    }
    Ok(())
}
