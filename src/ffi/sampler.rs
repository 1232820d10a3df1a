//! Sampler functions of llama.h: the `llama_sampler_i` vtable, chains and built-in samplers.
//!
//! Every sampler handle is a heap `llama_sampler` (see [`glue`]): built-in samplers are Rust
//! samplers from `crate::sampling` behind a shared vtable; `llama_sampler_init` wraps a user's C
//! vtable. Ownership is llama.h's: `chain_add` takes the sampler, `chain_remove` gives it back,
//! `llama_sampler_free(NULL)` does nothing, and a sampler inside a chain is freed with the chain.

pub mod backend;
mod glue;
pub mod more;

use std::ffi::c_char;

use super::boundary::{ffi_guard, require_non_null};
use super::log::log_error;
use super::types::*;
use crate::sampling::{self as s, Chain, Sampler};
use glue::{clone_handle, free_handle, into_handle, rust_of, Foreign};

/// A static C string for names of handles without one.
const NULL_NAME: &[u8] = b"(null)\0";

fn handle(sampler: Box<dyn Sampler>) -> *mut llama_sampler {
    into_handle(sampler)
}

/// The chain behind a handle, if it is one of ours.
///
/// # Safety
/// `smpl` must be NULL or a live handle.
unsafe fn chain_of<'a>(smpl: *const llama_sampler) -> Option<&'a mut Chain> {
    // SAFETY: per the contract.
    unsafe { rust_of(smpl) }.and_then(|h| h.inner.as_any_mut().downcast_mut::<Chain>())
}

/// `llama_sampler_init`: wraps a C vtable and context into a new handle.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init(
    iface: *mut llama_sampler_i,
    ctx: llama_sampler_context_t,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init", std::ptr::null_mut(), {
        require_non_null!("llama_sampler_init", std::ptr::null_mut(), iface);
        Box::into_raw(Box::new(llama_sampler { iface, ctx }))
    })
}

/// `llama_sampler_name`: the sampler's name (`"(null)"` when it has no vtable).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_name(smpl: *const llama_sampler) -> *const c_char {
    ffi_guard!("llama_sampler_name", std::ptr::null(), {
        require_non_null!("llama_sampler_name", std::ptr::null(), smpl);
        // SAFETY: non-NULL live handle; the vtable outlives it.
        let name_fn = unsafe { (*smpl).iface.as_ref() }.and_then(|i| i.name);
        match name_fn {
            // SAFETY: the sampler's own name function with its handle.
            Some(f) => unsafe { f(smpl) },
            None => NULL_NAME.as_ptr().cast(),
        }
    })
}

/// `llama_sampler_accept`: tells the sampler which token was chosen.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_accept(smpl: *mut llama_sampler, token: llama_token) {
    ffi_guard!("llama_sampler_accept", (), {
        // SAFETY: NULL or a live handle.
        let Some(s) = (unsafe { smpl.as_ref() }) else {
            return;
        };
        // SAFETY: the vtable outlives the handle.
        if let Some(f) = unsafe { s.iface.as_ref() }.and_then(|i| i.accept) {
            // SAFETY: the sampler's own accept.
            unsafe { f(smpl, token) };
        }
    })
}

/// `llama_sampler_apply`: transforms (or selects from) the candidates.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_apply(
    smpl: *mut llama_sampler,
    cur_p: *mut llama_token_data_array,
) {
    ffi_guard!("llama_sampler_apply", (), {
        if smpl.is_null() {
            return;
        }
        if cur_p.is_null() {
            log_error!("llama_sampler_apply: cur_p is NULL");
            return;
        }
        // SAFETY: live handle; the vtable outlives it.
        let Some(f) = unsafe { (*smpl).iface.as_ref() }.and_then(|i| i.apply) else {
            log_error!("llama_sampler_apply: the sampler has no apply function");
            return;
        };
        // SAFETY: the sampler's own apply with the caller's array.
        unsafe { f(smpl, cur_p) };
    })
}

/// `llama_sampler_reset`: back to the initial state.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_reset(smpl: *mut llama_sampler) {
    ffi_guard!("llama_sampler_reset", (), {
        // SAFETY: NULL or a live handle.
        let Some(s) = (unsafe { smpl.as_ref() }) else {
            return;
        };
        // SAFETY: the vtable outlives the handle.
        if let Some(f) = unsafe { s.iface.as_ref() }.and_then(|i| i.reset) {
            // SAFETY: the sampler's own reset.
            unsafe { f(smpl) };
        }
    })
}

/// `llama_sampler_clone`: a new handle with the same configuration and state.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_clone(smpl: *const llama_sampler) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_clone", std::ptr::null_mut(), {
        if smpl.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: live handle.
        unsafe { clone_handle(smpl) }
    })
}

/// `llama_sampler_copy`: makes `dst`'s state a copy of `src`'s (same sampler type only).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_copy(src: *const llama_sampler, dst: *mut llama_sampler) {
    ffi_guard!("llama_sampler_copy", (), {
        if src.is_null() || dst.is_null() || std::ptr::eq(src, dst) {
            return;
        }
        // SAFETY: both live handles.
        let (s, d) = unsafe { (&*src, &mut *dst) };
        if s.iface != d.iface {
            log_error!("llama_sampler_copy: cannot copy between different sampler types");
            return;
        }
        // SAFETY: both live handles.
        if let (Some(hs), Some(hd)) = (unsafe { rust_of(src) }, unsafe { rust_of(dst) }) {
            if hs.inner.as_any().type_id() != hd.inner.as_any().type_id() {
                log_error!("llama_sampler_copy: cannot copy between different sampler types");
                return;
            }
            match hs.inner.try_clone() {
                Ok(c) => hd.inner = c,
                Err(e) => log_error!("llama_sampler_copy: {}", e.context),
            }
            return;
        }
        // SAFETY: the vtable outlives the handles.
        let iface = unsafe { d.iface.as_ref() };
        if let Some(cs) = iface.and_then(|i| i.copy_state) {
            // SAFETY: the sampler's own copy_state.
            unsafe { cs(src, dst) };
            return;
        }
        // SAFETY: live handle.
        let tmp = unsafe { clone_handle(src) };
        if tmp.is_null() {
            return;
        }
        if let Some(free) = iface.and_then(|i| i.free) {
            // SAFETY: frees dst's old state; its struct stays.
            unsafe { free(dst) };
        }
        // SAFETY: tmp is a fresh Box<llama_sampler>; its state moves to dst, the shell is dropped.
        let tmp = unsafe { Box::from_raw(tmp) };
        d.ctx = tmp.ctx;
    })
}

/// `llama_sampler_free`: frees the sampler (NULL is a no-op). Not for samplers owned by a chain.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_free(smpl: *mut llama_sampler) {
    ffi_guard!("llama_sampler_free", (), {
        if smpl.is_null() {
            return;
        }
        // SAFETY: a live handle the caller owns.
        unsafe { free_handle(smpl) };
    })
}

/// `llama_sampler_chain_init`: an empty chain.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_init(
    params: llama_sampler_chain_params,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_chain_init", std::ptr::null_mut(), {
        handle(Box::new(Chain::new(params.no_perf)))
    })
}

/// `llama_sampler_chain_add`: appends `smpl`; the chain takes ownership.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_add(
    chain: *mut llama_sampler,
    smpl: *mut llama_sampler,
) {
    ffi_guard!("llama_sampler_chain_add", (), {
        if chain.is_null() || smpl.is_null() {
            log_error!("llama_sampler_chain_add: chain or smpl is NULL");
            return;
        }
        if std::ptr::eq(chain, smpl) {
            log_error!("llama_sampler_chain_add: a chain cannot contain itself");
            return;
        }
        // SAFETY: live handle.
        let Some(c) = (unsafe { chain_of(chain) }) else {
            log_error!("llama_sampler_chain_add: not a sampler chain");
            return;
        };
        // SAFETY: the caller hands over a live handle.
        c.add(Box::new(unsafe { Foreign::new(smpl) }));
    })
}

/// `llama_sampler_chain_get`: the `i`-th sampler (still owned by the chain); `-1` gives the
/// chain itself; NULL when `chain` is not a chain or `i` is out of range.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_get(
    chain: *mut llama_sampler,
    i: i32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_chain_get", std::ptr::null_mut(), {
        // SAFETY: NULL or a live handle.
        let Some(c) = (unsafe { chain_of(chain) }) else {
            return std::ptr::null_mut();
        };
        if i == -1 {
            return chain;
        }
        let Ok(i) = usize::try_from(i) else {
            return std::ptr::null_mut();
        };
        c.get(i)
            .and_then(|s| s.as_any().downcast_ref::<Foreign>())
            .map_or(std::ptr::null_mut(), |f| f.ptr())
    })
}

/// `llama_sampler_chain_n`: the number of samplers in the chain (-1 if not a chain).
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_n(chain: *const llama_sampler) -> i32 {
    ffi_guard!("llama_sampler_chain_n", -1, {
        require_non_null!("llama_sampler_chain_n", -1, chain);
        // SAFETY: live handle.
        match unsafe { chain_of(chain) } {
            Some(c) => i32::try_from(c.len()).unwrap_or(i32::MAX),
            None => {
                log_error!("llama_sampler_chain_n: not a sampler chain");
                -1
            }
        }
    })
}

/// `llama_sampler_chain_remove`: takes the `i`-th sampler out; the caller owns it again.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_chain_remove(
    chain: *mut llama_sampler,
    i: i32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_chain_remove", std::ptr::null_mut(), {
        require_non_null!("llama_sampler_chain_remove", std::ptr::null_mut(), chain);
        // SAFETY: live handle.
        let Some(c) = (unsafe { chain_of(chain) }) else {
            log_error!("llama_sampler_chain_remove: not a sampler chain");
            return std::ptr::null_mut();
        };
        let Ok(i) = usize::try_from(i) else {
            return std::ptr::null_mut();
        };
        let Some(mut removed) = c.remove(i) else {
            return std::ptr::null_mut();
        };
        // every element added through C is a Foreign; taking its pointer out keeps it alive
        match removed.as_any_mut().downcast_mut::<Foreign>() {
            Some(f) => f.take(),
            None => std::ptr::null_mut(),
        }
    })
}

/// `llama_sampler_init_greedy`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_greedy() -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_greedy", std::ptr::null_mut(), {
        handle(Box::new(s::Greedy::new()))
    })
}

/// `llama_sampler_init_dist`: `LLAMA_DEFAULT_SEED` picks a random seed.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_dist(seed: u32) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_dist", std::ptr::null_mut(), {
        handle(Box::new(s::Dist::new(seed)))
    })
}

/// `llama_sampler_init_top_k`: `k <= 0` is a no-op sampler.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_k(k: i32) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_top_k", std::ptr::null_mut(), {
        handle(s::TopK::new(k))
    })
}

/// `llama_sampler_init_top_p`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_p(p: f32, min_keep: usize) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_top_p", std::ptr::null_mut(), {
        handle(s::TopP::new(p, min_keep))
    })
}

/// `llama_sampler_init_min_p`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_min_p(p: f32, min_keep: usize) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_min_p", std::ptr::null_mut(), {
        handle(s::MinP::new(p, min_keep))
    })
}

/// `llama_sampler_init_typical`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_typical(p: f32, min_keep: usize) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_typical", std::ptr::null_mut(), {
        handle(s::Typical::new(p, min_keep))
    })
}

/// `llama_sampler_init_temp`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_temp(t: f32) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_temp", std::ptr::null_mut(), {
        handle(s::Temp::new(t))
    })
}

/// `llama_sampler_init_temp_ext`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_temp_ext(
    t: f32,
    delta: f32,
    exponent: f32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_temp_ext", std::ptr::null_mut(), {
        handle(s::TempExt::new(t, delta, exponent))
    })
}

/// `llama_sampler_init_xtc`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_xtc(
    p: f32,
    t: f32,
    min_keep: usize,
    seed: u32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_xtc", std::ptr::null_mut(), {
        handle(s::Xtc::new(p, t, min_keep, seed))
    })
}

/// `llama_sampler_init_top_n_sigma`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_top_n_sigma(n: f32) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_top_n_sigma", std::ptr::null_mut(), {
        handle(s::TopNSigma::new(n))
    })
}

/// `llama_sampler_init_mirostat`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_mirostat(
    n_vocab: i32,
    seed: u32,
    tau: f32,
    eta: f32,
    m: i32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_mirostat", std::ptr::null_mut(), {
        handle(Box::new(s::Mirostat::new(n_vocab, seed, tau, eta, m)))
    })
}

/// `llama_sampler_init_mirostat_v2`.
#[no_mangle]
pub unsafe extern "C" fn llama_sampler_init_mirostat_v2(
    seed: u32,
    tau: f32,
    eta: f32,
) -> *mut llama_sampler {
    ffi_guard!("llama_sampler_init_mirostat_v2", std::ptr::null_mut(), {
        handle(Box::new(s::MirostatV2::new(seed, tau, eta)))
    })
}
