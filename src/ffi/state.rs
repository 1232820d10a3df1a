//! Per-sequence state (`llama_state_seq_*`) and the deprecated size-less `llama_set_state_data`.
//! The formats are in `context::state_seq` and `context::state`.

use std::ffi::c_char;

use super::boundary::{c_str, slice, slice_mut};
use super::context::with_ctx_mut;
use super::log::log_error;
use super::types::*;

/// Copies `s` into the caller's buffer `dst` of `size` bytes; 0 (and a log line) when it is
/// NULL or too small.
fn copy_out(name: &str, s: &[u8], dst: *mut u8, size: usize) -> usize {
    if dst.is_null() || size < s.len() {
        log_error!(
            "{name}: buffer of {size} bytes, the state needs {}",
            s.len()
        );
        return 0;
    }
    // SAFETY: dst holds `size` >= s.len() writable bytes (llama.h contract), checked non-NULL.
    unsafe { std::ptr::copy_nonoverlapping(s.as_ptr(), dst, s.len()) };
    s.len()
}

fn seq_get_size(name: &str, ctx: *mut llama_context, seq: llama_seq_id, flags: u32) -> usize {
    with_ctx_mut(name, ctx, 0, |c| match c.ctx.state_seq_save(seq, flags) {
        Ok(s) => s.len(),
        Err(e) => {
            log_error!("{name}: {e}");
            0
        }
    })
}

fn seq_get_data(
    name: &str,
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
    seq: llama_seq_id,
    flags: u32,
) -> usize {
    with_ctx_mut(name, ctx, 0, |c| match c.ctx.state_seq_save(seq, flags) {
        Ok(s) => copy_out(name, &s, dst, size),
        Err(e) => {
            log_error!("{name}: {e}");
            0
        }
    })
}

/// # Safety
/// `src` must be NULL or hold `size` readable bytes.
unsafe fn seq_set_data(
    name: &str,
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
    dest: llama_seq_id,
    flags: u32,
) -> usize {
    with_ctx_mut(name, ctx, 0, |c| {
        // SAFETY: src holds `size` readable bytes (function contract); NULL refused.
        let Some(src) = (unsafe { slice(src, size) }).filter(|_| !src.is_null()) else {
            log_error!("{name}: src is NULL");
            return 0;
        };
        match c.ctx.state_seq_load(src, dest, flags) {
            Ok(n) => n,
            Err(e) => {
                log_error!("{name}: {e}");
                0
            }
        }
    })
}

/// `llama_state_seq_get_size`: bytes of sequence `seq_id`'s state.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_size(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
) -> usize {
    seq_get_size("llama_state_seq_get_size", ctx, seq_id, 0)
}

/// `llama_state_seq_get_data`: copies sequence `seq_id`'s state into `dst`; returns its size,
/// 0 when `dst` is too small.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_data(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
    seq_id: llama_seq_id,
) -> usize {
    seq_get_data("llama_state_seq_get_data", ctx, dst, size, seq_id, 0)
}

/// `llama_state_seq_set_data`: replaces `dest_seq_id`'s cells with a saved sequence state;
/// returns the bytes read, 0 on failure.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_set_data(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
    dest_seq_id: llama_seq_id,
) -> usize {
    // SAFETY: forwarded contract (src holds size bytes).
    unsafe { seq_set_data("llama_state_seq_set_data", ctx, src, size, dest_seq_id, 0) }
}

/// `llama_state_seq_get_size_ext`: as [`llama_state_seq_get_size`] with flags.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_size_ext(
    ctx: *mut llama_context,
    seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    seq_get_size("llama_state_seq_get_size_ext", ctx, seq_id, flags)
}

/// `llama_state_seq_get_data_ext`: as [`llama_state_seq_get_data`] with flags.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_get_data_ext(
    ctx: *mut llama_context,
    dst: *mut u8,
    size: usize,
    seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    seq_get_data(
        "llama_state_seq_get_data_ext",
        ctx,
        dst,
        size,
        seq_id,
        flags,
    )
}

/// `llama_state_seq_set_data_ext`: as [`llama_state_seq_set_data`] with flags.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_set_data_ext(
    ctx: *mut llama_context,
    src: *const u8,
    size: usize,
    dest_seq_id: llama_seq_id,
    flags: llama_state_seq_flags,
) -> usize {
    // SAFETY: forwarded contract (src holds size bytes).
    unsafe {
        seq_set_data(
            "llama_state_seq_set_data_ext",
            ctx,
            src,
            size,
            dest_seq_id,
            flags,
        )
    }
}

/// `llama_state_seq_save_file`: writes the tokens and sequence `seq_id`'s state to a file;
/// returns the bytes written, 0 on failure.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_save_file(
    ctx: *mut llama_context,
    filepath: *const c_char,
    seq_id: llama_seq_id,
    tokens: *const llama_token,
    n_token_count: usize,
) -> usize {
    let name = "llama_state_seq_save_file";
    with_ctx_mut(name, ctx, 0, |c| {
        // SAFETY: a NUL-terminated path (llama.h contract); NULL refused.
        let Some(path) = (unsafe { c_str(filepath) }) else {
            log_error!("{name}: filepath is NULL");
            return 0;
        };
        let path = std::path::PathBuf::from(String::from_utf8_lossy(path.to_bytes()).into_owned());
        // SAFETY: tokens holds n_token_count entries (llama.h contract).
        let Some(toks) = (unsafe { slice(tokens, n_token_count) }) else {
            log_error!("{name}: tokens is NULL");
            return 0;
        };
        match c.ctx.state_seq_save_file(&path, seq_id, toks) {
            Ok(n) => n,
            Err(e) => {
                log_error!("{name}: {e}");
                0
            }
        }
    })
}

/// `llama_state_seq_load_file`: loads a file of [`llama_state_seq_save_file`] into
/// `dest_seq_id`; returns the file's size, 0 on failure.
#[no_mangle]
pub unsafe extern "C" fn llama_state_seq_load_file(
    ctx: *mut llama_context,
    filepath: *const c_char,
    dest_seq_id: llama_seq_id,
    tokens_out: *mut llama_token,
    n_token_capacity: usize,
    n_token_count_out: *mut usize,
) -> usize {
    let name = "llama_state_seq_load_file";
    with_ctx_mut(name, ctx, 0, |c| {
        // SAFETY: a NUL-terminated path (llama.h contract); NULL refused.
        let Some(path) = (unsafe { c_str(filepath) }) else {
            log_error!("{name}: filepath is NULL");
            return 0;
        };
        if n_token_count_out.is_null() || (tokens_out.is_null() && n_token_capacity > 0) {
            log_error!("{name}: tokens_out or n_token_count_out is NULL");
            return 0;
        }
        let path = std::path::PathBuf::from(String::from_utf8_lossy(path.to_bytes()).into_owned());
        match c
            .ctx
            .state_seq_load_file(&path, dest_seq_id, n_token_capacity)
        {
            Ok((toks, n)) => {
                // SAFETY: tokens_out holds n_token_capacity >= toks.len() entries (checked).
                if let Some(out) = unsafe { slice_mut(tokens_out, toks.len()) } {
                    out.copy_from_slice(&toks);
                }
                // SAFETY: checked non-NULL above.
                unsafe { *n_token_count_out = toks.len() };
                n
            }
            Err(e) => {
                log_error!("{name}: {e}");
                0
            }
        }
    })
}

/// `llama_set_state_data` (deprecated): `llama_state_set_data` without a size. The size is
/// read from the state's own header fields, one field at a time, so nothing past the state is
/// read when `src` holds a state this context can load.
#[no_mangle]
pub unsafe extern "C" fn llama_set_state_data(ctx: *mut llama_context, src: *const u8) -> usize {
    let name = "llama_set_state_data";
    with_ctx_mut(name, ctx, 0, |c| {
        if src.is_null() {
            log_error!("{name}: src is NULL");
            return 0;
        }
        let mut peek = |off: usize, len: usize| -> Vec<u8> {
            // SAFETY: the deprecated API requires src to hold a whole state; `state_len` asks
            // only for header fields inside it, in order, and stops at the first bad one.
            unsafe { std::slice::from_raw_parts(src.add(off), len) }.to_vec()
        };
        let len = match c.ctx.state_len(&mut peek) {
            Ok(n) => n,
            Err(e) => {
                log_error!("{name}: {e}");
                return 0;
            }
        };
        // SAFETY: the state's header says it spans `len` bytes from src (see above).
        let bytes = unsafe { std::slice::from_raw_parts(src, len) };
        match c.ctx.state_load(bytes) {
            Ok(n) => n,
            Err(e) => {
                log_error!("{name}: {e}");
                0
            }
        }
    })
}
