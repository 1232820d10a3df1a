//! Vocabulary and tokenization functions of llama.h (`llama_vocab_*`, `llama_tokenize`,
//! `llama_token_to_piece`, `llama_detokenize`, and the deprecated `llama_token_*` aliases).

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_n_vocab` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_vocab(vocab: *const llama_vocab) -> i32 {
    unsupported!("llama_n_vocab", -1, vocab)
}

/// `llama_vocab_type` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_type(vocab: *const llama_vocab) -> llama_vocab_type {
    unsupported!("llama_vocab_type", LLAMA_VOCAB_TYPE_NONE, vocab)
}

/// `llama_vocab_n_tokens` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_n_tokens(vocab: *const llama_vocab) -> i32 {
    unsupported!("llama_vocab_n_tokens", -1, vocab)
}

/// `llama_vocab_get_text` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_text(
    vocab: *const llama_vocab,
    token: llama_token,
) -> *const c_char {
    unsupported!("llama_vocab_get_text", std::ptr::null(), vocab, token)
}

/// `llama_vocab_get_score` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_score(
    vocab: *const llama_vocab,
    token: llama_token,
) -> f32 {
    unsupported!("llama_vocab_get_score", 0.0, vocab, token)
}

/// `llama_vocab_get_attr` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_attr(
    vocab: *const llama_vocab,
    token: llama_token,
) -> llama_token_attr {
    unsupported!(
        "llama_vocab_get_attr",
        LLAMA_TOKEN_ATTR_UNDEFINED,
        vocab,
        token
    )
}

/// `llama_vocab_is_eog` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_is_eog(vocab: *const llama_vocab, token: llama_token) -> bool {
    unsupported!("llama_vocab_is_eog", false, vocab, token)
}

/// `llama_vocab_is_control` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_is_control(
    vocab: *const llama_vocab,
    token: llama_token,
) -> bool {
    unsupported!("llama_vocab_is_control", false, vocab, token)
}

/// `llama_vocab_bos` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_bos(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_bos", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_eos` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_eos(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_eos", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_eot` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_eot(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_eot", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_sep` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_sep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_sep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_nl` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_nl(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_nl", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_pad` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_pad(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_pad", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_mask` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_mask(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_mask", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_get_add_bos` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_bos(vocab: *const llama_vocab) -> bool {
    unsupported!("llama_vocab_get_add_bos", false, vocab)
}

/// `llama_vocab_get_add_eos` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_eos(vocab: *const llama_vocab) -> bool {
    unsupported!("llama_vocab_get_add_eos", false, vocab)
}

/// `llama_vocab_get_add_sep` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_sep(vocab: *const llama_vocab) -> bool {
    unsupported!("llama_vocab_get_add_sep", false, vocab)
}

/// `llama_vocab_get_suppress_tokens` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_suppress_tokens(
    vocab: *const llama_vocab,
    n_suppress_tokens: *mut i32,
) -> *const llama_token {
    unsupported!(
        "llama_vocab_get_suppress_tokens",
        std::ptr::null(),
        vocab,
        n_suppress_tokens
    )
}

/// `llama_vocab_fim_pre` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_pre(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_pre", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_fim_suf` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_suf(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_suf", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_fim_mid` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_mid(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_mid", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_fim_pad` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_pad(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_pad", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_fim_rep` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_rep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_rep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_fim_sep` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_sep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_fim_sep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_get_text` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_text(
    vocab: *const llama_vocab,
    token: llama_token,
) -> *const c_char {
    unsupported!("llama_token_get_text", std::ptr::null(), vocab, token)
}

/// `llama_token_get_score` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_score(
    vocab: *const llama_vocab,
    token: llama_token,
) -> f32 {
    unsupported!("llama_token_get_score", 0.0, vocab, token)
}

/// `llama_token_get_attr` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_attr(
    vocab: *const llama_vocab,
    token: llama_token,
) -> llama_token_attr {
    unsupported!(
        "llama_token_get_attr",
        LLAMA_TOKEN_ATTR_UNDEFINED,
        vocab,
        token
    )
}

/// `llama_token_is_eog` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_is_eog(vocab: *const llama_vocab, token: llama_token) -> bool {
    unsupported!("llama_token_is_eog", false, vocab, token)
}

/// `llama_token_is_control` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_is_control(
    vocab: *const llama_vocab,
    token: llama_token,
) -> bool {
    unsupported!("llama_token_is_control", false, vocab, token)
}

/// `llama_token_bos` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_bos(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_bos", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_eos` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_eos(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_eos", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_eot` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_eot(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_eot", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_cls` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_cls(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_cls", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_sep` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_sep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_sep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_nl` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_nl(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_nl", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_pad` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_pad(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_pad", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_add_bos_token` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_add_bos_token(vocab: *const llama_vocab) -> bool {
    unsupported!("llama_add_bos_token", false, vocab)
}

/// `llama_add_eos_token` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_add_eos_token(vocab: *const llama_vocab) -> bool {
    unsupported!("llama_add_eos_token", false, vocab)
}

/// `llama_token_fim_pre` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_pre(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_pre", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_fim_suf` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_suf(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_suf", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_fim_mid` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_mid(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_mid", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_fim_pad` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_pad(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_pad", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_fim_rep` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_rep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_rep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_token_fim_sep` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_sep(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_token_fim_sep", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_vocab_cls` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_cls(vocab: *const llama_vocab) -> llama_token {
    unsupported!("llama_vocab_cls", LLAMA_TOKEN_NULL, vocab)
}

/// `llama_tokenize` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_tokenize(
    vocab: *const llama_vocab,
    text: *const c_char,
    text_len: i32,
    tokens: *mut llama_token,
    n_tokens_max: i32,
    add_special: bool,
    parse_special: bool,
) -> i32 {
    unsupported!(
        "llama_tokenize",
        -1,
        vocab,
        text,
        text_len,
        tokens,
        n_tokens_max,
        add_special,
        parse_special
    )
}

/// `llama_token_to_piece` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_token_to_piece(
    vocab: *const llama_vocab,
    token: llama_token,
    buf: *mut c_char,
    length: i32,
    lstrip: i32,
    special: bool,
) -> i32 {
    unsupported!(
        "llama_token_to_piece",
        -1,
        vocab,
        token,
        buf,
        length,
        lstrip,
        special
    )
}

/// `llama_detokenize` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_detokenize(
    vocab: *const llama_vocab,
    tokens: *const llama_token,
    n_tokens: i32,
    text: *mut c_char,
    text_len_max: i32,
    remove_special: bool,
    unparse_special: bool,
) -> i32 {
    unsupported!(
        "llama_detokenize",
        -1,
        vocab,
        tokens,
        n_tokens,
        text,
        text_len_max,
        remove_special,
        unparse_special
    )
}
