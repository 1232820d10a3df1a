//! `llama_batch` helpers (`llama_batch_init`, `llama_batch_free`, `llama_batch_get_one`) and the
//! extended batch API (`llama_batch_ext_*`, `llama_process`; the batch itself is `batch_ext::BatchExt`). (Created by the ffi helper; owned by the model helper
//! from then on.)
//!
//! `llama_batch_init` allocates with the C allocator (`malloc`), because callers change
//! `n_tokens` after the call and `llama_batch_free` must free without knowing the original size;
//! `seq_id` carries one extra NULL entry as the end marker, as upstream's does.

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};
use std::ptr;

use super::batch_ext::{AddError, BatchExt};
use super::boundary::{ffi_guard, unsupported};
use super::context::{ctx_mut, decode_view};
use super::log::log_error;
use super::types::*;

/// An all-NULL batch with no tokens: the failure value of the batch constructors.
pub const EMPTY_BATCH: llama_batch = llama_batch {
    n_tokens: 0,
    token: ptr::null_mut(),
    embd: ptr::null_mut(),
    pos: ptr::null_mut(),
    n_seq_id: ptr::null_mut(),
    seq_id: ptr::null_mut(),
    logits: ptr::null_mut(),
};

/// A batch viewing the caller's `tokens` as one sequence (id 0); positions are tracked by decode.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_get_one(
    tokens: *mut llama_token,
    n_tokens: i32,
) -> llama_batch {
    ffi_guard!("llama_batch_get_one", EMPTY_BATCH, {
        llama_batch {
            n_tokens,
            token: tokens,
            ..EMPTY_BATCH
        }
    })
}

/// `malloc(count * size)`, NULL on overflow or allocation failure.
fn c_alloc(count: usize, size: usize) -> *mut c_void {
    match count.checked_mul(size) {
        // SAFETY: plain C allocation of a checked, non-zero size; the result is checked by callers.
        Some(bytes) => unsafe { libc::malloc(bytes.max(1)) },
        None => ptr::null_mut(),
    }
}

/// Allocates a batch for up to `n_tokens` tokens (or embeddings of width `embd` when `embd > 0`),
/// each with room for `n_seq_max` sequence ids. Contents are uninitialised; free with
/// `llama_batch_free`. Returns an all-NULL batch on invalid sizes or allocation failure.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_init(n_tokens: i32, embd: i32, n_seq_max: i32) -> llama_batch {
    ffi_guard!("llama_batch_init", EMPTY_BATCH, {
        if n_tokens < 0 || embd < 0 || n_seq_max < 0 {
            log_error!("llama_batch_init: invalid sizes n_tokens={n_tokens} embd={embd} n_seq_max={n_seq_max}");
            return EMPTY_BATCH;
        }
        let n = n_tokens as usize;
        let mut b = EMPTY_BATCH;
        let mut ok = true;
        if embd > 0 {
            b.embd = c_alloc(n.saturating_mul(embd as usize), size_of::<f32>()).cast();
            ok &= !b.embd.is_null();
        } else {
            b.token = c_alloc(n, size_of::<llama_token>()).cast();
            ok &= !b.token.is_null();
        }
        b.pos = c_alloc(n, size_of::<llama_pos>()).cast();
        b.n_seq_id = c_alloc(n, size_of::<i32>()).cast();
        b.logits = c_alloc(n, size_of::<i8>()).cast();
        b.seq_id = c_alloc(n + 1, size_of::<*mut llama_seq_id>()).cast();
        ok &=
            !b.pos.is_null() && !b.n_seq_id.is_null() && !b.logits.is_null() && !b.seq_id.is_null();
        if !b.seq_id.is_null() {
            for i in 0..=n {
                // SAFETY: `seq_id` has n + 1 entries; each is set before any is read.
                unsafe { *b.seq_id.add(i) = ptr::null_mut() };
            }
            for i in 0..n {
                let p: *mut llama_seq_id =
                    c_alloc(n_seq_max as usize, size_of::<llama_seq_id>()).cast();
                if p.is_null() {
                    ok = false;
                    break;
                }
                // SAFETY: i < n, within the n + 1 entries.
                unsafe { *b.seq_id.add(i) = p };
            }
        }
        if !ok {
            log_error!("llama_batch_init: out of memory for {n_tokens} tokens");
            // SAFETY: every pointer is either NULL or from malloc; the seq_id list is NULL-ended.
            unsafe { free_batch(b) };
            return EMPTY_BATCH;
        }
        b
    })
}

/// Frees the arrays of `b` (NULL members are skipped).
///
/// # Safety
/// Every non-NULL member must come from `llama_batch_init`'s allocations, not freed before.
unsafe fn free_batch(b: llama_batch) {
    // SAFETY (all blocks): pointers come from malloc in llama_batch_init, per the contract.
    unsafe {
        if !b.seq_id.is_null() {
            let mut i = 0;
            while !(*b.seq_id.add(i)).is_null() {
                libc::free((*b.seq_id.add(i)).cast());
                i += 1;
            }
            libc::free(b.seq_id.cast());
        }
        libc::free(b.token.cast());
        libc::free(b.embd.cast());
        libc::free(b.pos.cast());
        libc::free(b.n_seq_id.cast());
        libc::free(b.logits.cast());
    }
}

/// Frees a batch made by `llama_batch_init`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_free(batch: llama_batch) {
    ffi_guard!("llama_batch_free", (), {
        // SAFETY: the caller passes a batch from llama_batch_init (llama.h contract).
        unsafe { free_batch(batch) }
    })
}

/// # Safety
/// `p` must be NULL or a pointer returned by `llama_batch_ext_init` and not yet freed.
unsafe fn ext_mut<'a>(p: *mut llama_batch_ext) -> Option<&'a mut BatchExt> {
    // SAFETY: per the function contract, a non-NULL pointer is a live boxed BatchExt.
    unsafe { (p as *mut BatchExt).as_mut() }
}

/// Reads `embd.n_embd` floats of the first row of `embd`, or `None` when it is unusable.
///
/// # Safety
/// `embd.data` must point at `n_rows * n_embd` floats when non-NULL (llama.h contract).
unsafe fn embd_row<'a>(embd: &llama_embd) -> Option<&'a [f32]> {
    if embd.data.is_null() || embd.n_rows != 1 || embd.n_embd == 0 {
        return None;
    }
    // SAFETY: per the function contract.
    Some(unsafe { std::slice::from_raw_parts(embd.data, embd.n_embd) })
}

/// `llama_batch_ext_init`: an empty batch sized by the context (`n_batch` entries).
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_init(ctx: *mut llama_context) -> *mut llama_batch_ext {
    ffi_guard!("llama_batch_ext_init", ptr::null_mut(), {
        // SAFETY: llama.h requires a live context; NULL is refused.
        let Some(c) = (unsafe { ctx_mut(ctx) }) else {
            log_error!("llama_batch_ext_init: ctx is NULL");
            return ptr::null_mut();
        };
        let b = BatchExt::new(
            c.ctx.n_batch() as usize,
            c.ctx.model().n_embd().max(0) as usize,
            c.ctx.n_seq_max() as i32,
        );
        Box::into_raw(Box::new(b)) as *mut llama_batch_ext
    })
}

/// `llama_batch_ext_free` (NULL is a no-op).
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_free(batch: *mut llama_batch_ext) {
    ffi_guard!("llama_batch_ext_free", (), {
        if !batch.is_null() {
            // SAFETY: a non-NULL batch came from Box::into_raw in llama_batch_ext_init.
            drop(unsafe { Box::from_raw(batch as *mut BatchExt) });
        }
    })
}

/// `llama_batch_ext_clear`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_clear(batch: *mut llama_batch_ext) {
    ffi_guard!("llama_batch_ext_clear", (), {
        // SAFETY: a live batch or NULL (llama.h contract).
        if let Some(b) = unsafe { ext_mut(batch) } {
            b.clear();
        }
    })
}

fn add_result(name: &str, r: Result<i32, AddError>) -> i32 {
    r.unwrap_or_else(|e| {
        log_error!("{name}: {e:?}");
        e.code()
    })
}

/// `llama_batch_ext_add`: an entry with no token id and no embedding yet.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_add(
    batch: *mut llama_batch_ext,
    seq_id: llama_seq_id,
) -> i32 {
    ffi_guard!("llama_batch_ext_add", -1, {
        // SAFETY: a live batch or NULL (llama.h contract).
        let Some(b) = (unsafe { ext_mut(batch) }) else {
            return -1;
        };
        add_result("llama_batch_ext_add", b.add(seq_id, LLAMA_TOKEN_NULL))
    })
}

/// `llama_batch_ext_add_token`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_add_token(
    batch: *mut llama_batch_ext,
    seq_id: llama_seq_id,
    id: llama_token,
) -> i32 {
    ffi_guard!("llama_batch_ext_add_token", -1, {
        // SAFETY: a live batch or NULL (llama.h contract).
        let Some(b) = (unsafe { ext_mut(batch) }) else {
            return -1;
        };
        if id < 0 {
            return AddError::InvalidToken.code();
        }
        add_result("llama_batch_ext_add_token", b.add(seq_id, id))
    })
}

/// `llama_batch_ext_add_embd`: an entry carrying one embedding row.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_add_embd(
    batch: *mut llama_batch_ext,
    seq_id: llama_seq_id,
    embd: llama_embd,
) -> i32 {
    ffi_guard!("llama_batch_ext_add_embd", -1, {
        // SAFETY: a live batch or NULL (llama.h contract).
        let Some(b) = (unsafe { ext_mut(batch) }) else {
            return -1;
        };
        // SAFETY: embd describes caller memory (llama.h contract).
        let Some(row) = (unsafe { embd_row(&embd) }) else {
            return AddError::InvalidToken.code();
        };
        add_result("llama_batch_ext_add_embd", b.add_embd(seq_id, row))
    })
}

/// `llama_batch_ext_add_seq`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_add_seq(
    batch: *mut llama_batch_ext,
    idx: i32,
    seq_id: llama_seq_id,
) -> bool {
    ffi_guard!("llama_batch_ext_add_seq", false, {
        // SAFETY: a live batch or NULL (llama.h contract).
        unsafe { ext_mut(batch) }.is_some_and(|b| b.add_seq(idx, seq_id))
    })
}

/// `llama_batch_ext_set_embd_token`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_set_embd_token(
    batch: *mut llama_batch_ext,
    idx: i32,
    embd: llama_embd,
) -> bool {
    ffi_guard!("llama_batch_ext_set_embd_token", false, {
        // SAFETY: a live batch or NULL; embd describes caller memory (llama.h contract).
        match (unsafe { ext_mut(batch) }, unsafe { embd_row(&embd) }) {
            (Some(b), Some(row)) => b.set_embd(idx, row),
            _ => false,
        }
    })
}

/// `llama_batch_ext_set_embd_state` (not supported yet: no architecture here carries state).
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_set_embd_state(
    batch: *mut llama_batch_ext,
    idx: i32,
    embd: llama_embd,
) -> bool {
    unsupported!("llama_batch_ext_set_embd_state", false, batch, idx, embd)
}

/// `llama_batch_ext_set_output_embd` (the same flag as the output logits, as upstream).
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_set_output_embd(
    batch: *mut llama_batch_ext,
    idx: i32,
    value: bool,
) -> bool {
    ffi_guard!("llama_batch_ext_set_output_embd", false, {
        // SAFETY: a live batch or NULL (llama.h contract).
        unsafe { ext_mut(batch) }.is_some_and(|b| b.set_output(idx, value))
    })
}

/// `llama_batch_ext_set_output_logits`.
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_set_output_logits(
    batch: *mut llama_batch_ext,
    idx: i32,
    value: bool,
) -> bool {
    ffi_guard!("llama_batch_ext_set_output_logits", false, {
        // SAFETY: a live batch or NULL (llama.h contract).
        unsafe { ext_mut(batch) }.is_some_and(|b| b.set_output(idx, value))
    })
}

/// `llama_batch_ext_set_pos` (one position per entry: no M-RoPE model is supported).
#[no_mangle]
pub unsafe extern "C" fn llama_batch_ext_set_pos(
    batch: *mut llama_batch_ext,
    idx: i32,
    pos: *const llama_pos,
) -> bool {
    ffi_guard!("llama_batch_ext_set_pos", false, {
        if pos.is_null() {
            return false;
        }
        // SAFETY: pos points at least one position (llama.h contract); batch is live or NULL.
        let p = unsafe { *pos };
        unsafe { ext_mut(batch) }.is_some_and(|b| b.set_pos(idx, p))
    })
}

/// `llama_process`: decodes (or encodes) an extended batch; return values as `llama_decode`.
#[no_mangle]
pub unsafe extern "C" fn llama_process(
    ctx: *mut llama_context,
    r#type: llama_process_type,
    batch: *mut llama_batch_ext,
) -> i32 {
    ffi_guard!("llama_process", -3, {
        // SAFETY: llama.h requires a live context and batch; NULL is refused.
        let (Some(c), Some(b)) = (unsafe { ctx_mut(ctx) }, unsafe { ext_mut(batch) }) else {
            log_error!("llama_process: ctx or batch is NULL");
            return -1;
        };
        if r#type != LLAMA_PROCESS_TYPE_DECODE {
            log_error!("not supported yet: llama_process with type {}", r#type);
            return -1;
        }
        let mut pos = Vec::new();
        let view = match b.view(&mut pos) {
            Ok(v) => v,
            Err(e) => {
                log_error!("llama_process: {e}");
                return -1;
            }
        };
        decode_view(c, &view, "llama_process")
    })
}
