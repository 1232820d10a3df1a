//! Vocabulary and tokenization functions of llama.h (`llama_vocab_*`, `llama_tokenize`,
//! `llama_token_to_piece`, `llama_detokenize`, and the deprecated `llama_token_*` aliases).
//!
//! A `*const llama_vocab` is a `*const crate::vocab::Vocab` borrowed from the model that owns it
//! (see `llama_model_get_vocab`); these functions never free it. Token ids out of range give the
//! neutral value (NULL text, score 0, no attributes, not EOG) with a log line, where upstream would
//! throw. Buffer-filling functions write nothing when the caller's buffer is too small and return
//! the negative required size; invalid arguments (NULL vocab, negative lengths, NULL buffers with
//! a positive length) return `i32::MIN` for `llama_tokenize`/`llama_detokenize`.

use std::ffi::c_char;

use super::boundary::{ffi_guard, require_non_null, slice, slice_mut, write_bytes_or_need};
use super::log::log_error;
use super::types::*;
use crate::vocab::Vocab;

/// Borrows the vocabulary behind a C pointer.
///
/// # Safety
/// `vocab` must be NULL or a pointer returned by `llama_model_get_vocab` for a live model.
unsafe fn vocab_ref<'a>(vocab: *const llama_vocab) -> Option<&'a Vocab> {
    // SAFETY: per the contract, a non-NULL pointer is a `*const Vocab` owned by a live model.
    unsafe { vocab.cast::<Vocab>().as_ref() }
}

/// Runs `f` on the vocabulary, or returns `fail` (with a log line) when `vocab` is NULL.
fn with_vocab<R>(name: &str, vocab: *const llama_vocab, fail: R, f: impl FnOnce(&Vocab) -> R) -> R
where
    R: Copy,
{
    ffi_guard!(name, fail, {
        // SAFETY: the llama.h contract for every function taking a vocab.
        match unsafe { vocab_ref(vocab) } {
            Some(v) => f(v),
            None => {
                log_error!("{name}: vocab is NULL");
                fail
            }
        }
    })
}

/// Whether `token` is a valid id of `v` (logs when it is not).
fn check_token(name: &str, v: &Vocab, token: llama_token) -> bool {
    let ok = (0..v.n_tokens()).contains(&token);
    if !ok {
        log_error!("{name}: token {token} out of range [0, {})", v.n_tokens());
    }
    ok
}

/// The tokenizer type (`LLAMA_VOCAB_TYPE_*`); NONE for NULL.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_type(vocab: *const llama_vocab) -> llama_vocab_type {
    with_vocab("llama_vocab_type", vocab, LLAMA_VOCAB_TYPE_NONE, |v| {
        v.vocab_type()
    })
}

/// Number of tokens; -1 for NULL.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_n_tokens(vocab: *const llama_vocab) -> i32 {
    with_vocab("llama_vocab_n_tokens", vocab, -1, |v| v.n_tokens())
}

/// Number of tokens; -1 for NULL. Deprecated: use llama_vocab_n_tokens.
#[no_mangle]
pub unsafe extern "C" fn llama_n_vocab(vocab: *const llama_vocab) -> i32 {
    with_vocab("llama_n_vocab", vocab, -1, |v| v.n_tokens())
}

fn get_text(name: &str, vocab: *const llama_vocab, token: llama_token) -> *const c_char {
    with_vocab(name, vocab, std::ptr::null(), |v| {
        if !check_token(name, v, token) {
            return std::ptr::null();
        }
        v.token_text_cstr(token)
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

fn get_score(name: &str, vocab: *const llama_vocab, token: llama_token) -> f32 {
    with_vocab(name, vocab, 0.0, |v| {
        if check_token(name, v, token) {
            v.token_score(token)
        } else {
            0.0
        }
    })
}

fn get_attr(name: &str, vocab: *const llama_vocab, token: llama_token) -> llama_token_attr {
    with_vocab(name, vocab, LLAMA_TOKEN_ATTR_UNDEFINED, |v| {
        if check_token(name, v, token) {
            v.token_attr(token) as llama_token_attr
        } else {
            LLAMA_TOKEN_ATTR_UNDEFINED
        }
    })
}

fn is_eog(name: &str, vocab: *const llama_vocab, token: llama_token) -> bool {
    with_vocab(name, vocab, false, |v| v.is_eog(token))
}

fn is_control(name: &str, vocab: *const llama_vocab, token: llama_token) -> bool {
    with_vocab(name, vocab, false, |v| {
        check_token(name, v, token) && v.is_control(token)
    })
}

/// The token's text as stored in the vocabulary (owned by the model); NULL for an invalid token.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_text(
    vocab: *const llama_vocab,
    token: llama_token,
) -> *const c_char {
    get_text("llama_vocab_get_text", vocab, token)
}

/// The token's score; 0 for an invalid token.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_score(
    vocab: *const llama_vocab,
    token: llama_token,
) -> f32 {
    get_score("llama_vocab_get_score", vocab, token)
}

/// The token's attribute bits; UNDEFINED (0) for an invalid token.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_attr(
    vocab: *const llama_vocab,
    token: llama_token,
) -> llama_token_attr {
    get_attr("llama_vocab_get_attr", vocab, token)
}

/// Whether the token ends generation (EOS, EOT, ...).
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_is_eog(vocab: *const llama_vocab, token: llama_token) -> bool {
    is_eog("llama_vocab_is_eog", vocab, token)
}

/// Whether the token is a control token.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_is_control(
    vocab: *const llama_vocab,
    token: llama_token,
) -> bool {
    is_control("llama_vocab_is_control", vocab, token)
}

/// Beginning-of-sentence token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_bos(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_bos", vocab, LLAMA_TOKEN_NULL, |v| v.bos())
}

/// End-of-sentence token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_eos(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_eos", vocab, LLAMA_TOKEN_NULL, |v| v.eos())
}

/// End-of-turn token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_eot(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_eot", vocab, LLAMA_TOKEN_NULL, |v| v.eot())
}

/// Separator token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_sep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_sep", vocab, LLAMA_TOKEN_NULL, |v| v.sep())
}

/// Newline token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_nl(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_nl", vocab, LLAMA_TOKEN_NULL, |v| v.nl())
}

/// Padding token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_pad(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_pad", vocab, LLAMA_TOKEN_NULL, |v| v.pad())
}

/// Mask token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_mask(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_mask", vocab, LLAMA_TOKEN_NULL, |v| v.mask())
}

/// Whether tokenization adds BOS.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_bos(vocab: *const llama_vocab) -> bool {
    with_vocab("llama_vocab_get_add_bos", vocab, false, |v| v.add_bos())
}

/// Whether tokenization adds EOS.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_eos(vocab: *const llama_vocab) -> bool {
    with_vocab("llama_vocab_get_add_eos", vocab, false, |v| v.add_eos())
}

/// Whether tokenization adds SEP.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_add_sep(vocab: *const llama_vocab) -> bool {
    with_vocab("llama_vocab_get_add_sep", vocab, false, |v| v.add_sep())
}

/// The model's suppress-token list (owned by the model) and its length in `*n_suppress_tokens`;
/// NULL and 0 when there is none or on invalid arguments.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_get_suppress_tokens(
    vocab: *const llama_vocab,
    n_suppress_tokens: *mut i32,
) -> *const llama_token {
    ffi_guard!("llama_vocab_get_suppress_tokens", std::ptr::null(), {
        if !n_suppress_tokens.is_null() {
            // SAFETY: non-NULL output per the llama.h contract.
            unsafe { *n_suppress_tokens = 0 };
        }
        require_non_null!(
            "llama_vocab_get_suppress_tokens",
            std::ptr::null(),
            vocab,
            n_suppress_tokens
        );
        // SAFETY: non-NULL vocab from llama_model_get_vocab.
        let Some(v) = (unsafe { vocab_ref(vocab) }) else {
            return std::ptr::null();
        };
        let list = v.suppress_tokens();
        if list.is_empty() {
            return std::ptr::null();
        }
        // SAFETY: checked non-NULL above.
        unsafe { *n_suppress_tokens = i32::try_from(list.len()).unwrap_or(i32::MAX) };
        list.as_ptr()
    })
}

/// Fill-in-the-middle prefix token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_pre(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_pre", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_pre()
    })
}

/// FIM suffix token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_suf(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_suf", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_suf()
    })
}

/// FIM middle token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_mid(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_mid", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_mid()
    })
}

/// FIM padding token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_pad(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_pad", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_pad()
    })
}

/// FIM repository token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_rep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_rep", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_rep()
    })
}

/// FIM file-separator token, or -1.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_fim_sep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_fim_sep", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_sep()
    })
}

/// Deprecated: use llama_vocab_get_text.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_text(
    vocab: *const llama_vocab,
    token: llama_token,
) -> *const c_char {
    get_text("llama_token_get_text", vocab, token)
}

/// Deprecated: use llama_vocab_get_score.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_score(
    vocab: *const llama_vocab,
    token: llama_token,
) -> f32 {
    get_score("llama_token_get_score", vocab, token)
}

/// Deprecated: use llama_vocab_get_attr.
#[no_mangle]
pub unsafe extern "C" fn llama_token_get_attr(
    vocab: *const llama_vocab,
    token: llama_token,
) -> llama_token_attr {
    get_attr("llama_token_get_attr", vocab, token)
}

/// Deprecated: use llama_vocab_is_eog.
#[no_mangle]
pub unsafe extern "C" fn llama_token_is_eog(vocab: *const llama_vocab, token: llama_token) -> bool {
    is_eog("llama_token_is_eog", vocab, token)
}

/// Deprecated: use llama_vocab_is_control.
#[no_mangle]
pub unsafe extern "C" fn llama_token_is_control(
    vocab: *const llama_vocab,
    token: llama_token,
) -> bool {
    is_control("llama_token_is_control", vocab, token)
}

/// Deprecated alias: use llama_vocab_bos.
#[no_mangle]
pub unsafe extern "C" fn llama_token_bos(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_bos", vocab, LLAMA_TOKEN_NULL, |v| v.bos())
}

/// Deprecated alias: use llama_vocab_eos.
#[no_mangle]
pub unsafe extern "C" fn llama_token_eos(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_eos", vocab, LLAMA_TOKEN_NULL, |v| v.eos())
}

/// Deprecated alias: use llama_vocab_eot.
#[no_mangle]
pub unsafe extern "C" fn llama_token_eot(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_eot", vocab, LLAMA_TOKEN_NULL, |v| v.eot())
}

/// Deprecated alias (CLS is BOS): use llama_vocab_bos.
#[no_mangle]
pub unsafe extern "C" fn llama_token_cls(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_cls", vocab, LLAMA_TOKEN_NULL, |v| v.bos())
}

/// Deprecated alias: use llama_vocab_sep.
#[no_mangle]
pub unsafe extern "C" fn llama_token_sep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_sep", vocab, LLAMA_TOKEN_NULL, |v| v.sep())
}

/// Deprecated alias: use llama_vocab_nl.
#[no_mangle]
pub unsafe extern "C" fn llama_token_nl(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_nl", vocab, LLAMA_TOKEN_NULL, |v| v.nl())
}

/// Deprecated alias: use llama_vocab_pad.
#[no_mangle]
pub unsafe extern "C" fn llama_token_pad(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_pad", vocab, LLAMA_TOKEN_NULL, |v| v.pad())
}

/// Deprecated: use llama_vocab_get_add_bos.
#[no_mangle]
pub unsafe extern "C" fn llama_add_bos_token(vocab: *const llama_vocab) -> bool {
    with_vocab("llama_add_bos_token", vocab, false, |v| v.add_bos())
}

/// Deprecated: use llama_vocab_get_add_eos.
#[no_mangle]
pub unsafe extern "C" fn llama_add_eos_token(vocab: *const llama_vocab) -> bool {
    with_vocab("llama_add_eos_token", vocab, false, |v| v.add_eos())
}

/// Deprecated: use llama_vocab_fim_pre.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_pre(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_pre", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_pre()
    })
}

/// Deprecated: use llama_vocab_fim_suf.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_suf(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_suf", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_suf()
    })
}

/// Deprecated: use llama_vocab_fim_mid.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_mid(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_mid", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_mid()
    })
}

/// Deprecated: use llama_vocab_fim_pad.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_pad(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_pad", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_pad()
    })
}

/// Deprecated: use llama_vocab_fim_rep.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_rep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_rep", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_rep()
    })
}

/// Deprecated: use llama_vocab_fim_sep.
#[no_mangle]
pub unsafe extern "C" fn llama_token_fim_sep(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_token_fim_sep", vocab, LLAMA_TOKEN_NULL, |v| {
        v.fim_sep()
    })
}

/// CLS is BOS. Deprecated: use llama_vocab_bos.
#[no_mangle]
pub unsafe extern "C" fn llama_vocab_cls(vocab: *const llama_vocab) -> llama_token {
    with_vocab("llama_vocab_cls", vocab, LLAMA_TOKEN_NULL, |v| v.bos())
}

/// Tokenizes `text_len` bytes of `text` into `tokens` (room for `n_tokens_max`). Returns the count,
/// or minus the count needed when `tokens` is too small (nothing written), or `i32::MIN` on invalid
/// arguments or when the count overflows i32.
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
    const NAME: &str = "llama_tokenize";
    ffi_guard!(NAME, i32::MIN, {
        require_non_null!(NAME, i32::MIN, vocab);
        // SAFETY: non-NULL vocab from llama_model_get_vocab.
        let Some(v) = (unsafe { vocab_ref(vocab) }) else {
            return i32::MIN;
        };
        let (Ok(text_len), Ok(n_max)) = (usize::try_from(text_len), usize::try_from(n_tokens_max))
        else {
            log_error!(
                "{NAME}: negative length (text_len={text_len}, n_tokens_max={n_tokens_max})"
            );
            return i32::MIN;
        };
        // SAFETY: the caller provides `text_len` readable bytes at `text` (checked for NULL).
        let Some(bytes) = (unsafe { slice(text.cast::<u8>(), text_len) }) else {
            log_error!("{NAME}: text is NULL");
            return i32::MIN;
        };
        let res = v.tokenize(bytes, add_special, parse_special);
        let Ok(n) = i32::try_from(res.len()) else {
            log_error!("{NAME}: {} tokens exceed the int32_t range", res.len());
            return i32::MIN;
        };
        if res.len() > n_max {
            return -n;
        }
        // SAFETY: the caller provides room for `n_tokens_max >= res.len()` tokens.
        let Some(out) = (unsafe { slice_mut(tokens, res.len()) }) else {
            log_error!("{NAME}: tokens is NULL");
            return i32::MIN;
        };
        out.copy_from_slice(&res);
        n
    })
}

/// Writes the text of `token` (no NUL) into `buf` of `length` bytes, dropping up to `lstrip` leading
/// spaces; control/unknown tokens give nothing unless `special`. Returns the byte count, or minus
/// the size needed (nothing written); 0 for an invalid token or NULL vocab.
#[no_mangle]
pub unsafe extern "C" fn llama_token_to_piece(
    vocab: *const llama_vocab,
    token: llama_token,
    buf: *mut c_char,
    length: i32,
    lstrip: i32,
    special: bool,
) -> i32 {
    const NAME: &str = "llama_token_to_piece";
    with_vocab(NAME, vocab, 0, |v| {
        if !check_token(NAME, v, token) {
            return 0;
        }
        let piece = v.token_to_piece(token, lstrip, special);
        // SAFETY: `buf` has `length` writable bytes per the llama.h contract.
        unsafe { write_bytes_or_need(buf, length, &piece) }
    })
}

/// Turns `n_tokens` tokens back into text in `text` (room for `text_len_max` bytes, no NUL).
/// Returns the byte count, or minus the size needed (nothing written), or `i32::MIN` on invalid
/// arguments.
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
    const NAME: &str = "llama_detokenize";
    ffi_guard!(NAME, i32::MIN, {
        require_non_null!(NAME, i32::MIN, vocab);
        // SAFETY: non-NULL vocab from llama_model_get_vocab.
        let Some(v) = (unsafe { vocab_ref(vocab) }) else {
            return i32::MIN;
        };
        let Ok(n) = usize::try_from(n_tokens) else {
            log_error!("{NAME}: negative n_tokens {n_tokens}");
            return i32::MIN;
        };
        // SAFETY: the caller provides `n_tokens` tokens at `tokens` (checked for NULL).
        let Some(toks) = (unsafe { slice(tokens, n) }) else {
            log_error!("{NAME}: tokens is NULL");
            return i32::MIN;
        };
        let (bytes, raw) = v.detokenize_ex(toks, remove_special, unparse_special);
        let (Ok(raw), Ok(len)) = (i32::try_from(raw), i32::try_from(bytes.len())) else {
            return i32::MIN;
        };
        if raw > text_len_max.max(0) {
            return -raw;
        }
        if len > 0 && text.is_null() {
            log_error!("{NAME}: text is NULL");
            return i32::MIN;
        }
        // SAFETY: `text` has room for `text_len_max >= raw >= len` bytes.
        unsafe { write_bytes_or_need(text, text_len_max, &bytes) }
    })
}
