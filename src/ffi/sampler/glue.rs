//! How Rust samplers and C samplers meet.
//!
//! Every `llama_sampler*` handed to C is a heap-allocated [`llama_sampler`] (vtable + context),
//! created by `llama_sampler_init` or by one of the `llama_sampler_init_*` constructors.
//! - A Rust sampler is a handle whose `iface` is [`RUST_IFACE`] and whose `ctx` is a
//!   `Box<RustHandle>` (the `Box<dyn Sampler>` plus its name as a C string). The vtable entries
//!   forward to the Rust sampler, so C code may call `smpl->iface->apply(...)` directly too.
//! - Inside a chain, every element is a [`Foreign`]: it owns one `llama_sampler*` (Rust or C)
//!   and calls through it. `llama_sampler_chain_get` returns exactly the pointer that was added;
//!   `chain_remove` gives it back without freeing it. For Rust handles the call skips the C
//!   round trip and runs the Rust sampler on the same view.

use std::ffi::{c_char, CString};

use crate::ffi::log::{log_error, log_warn};
use crate::ffi::types::*;
use crate::sampling::{Sampler, TokenData, TokenDataArray, LLAMA_DEFAULT_SEED};

const _: () = assert!(std::mem::size_of::<TokenData>() == std::mem::size_of::<llama_token_data>());
const _: () =
    assert!(std::mem::align_of::<TokenData>() == std::mem::align_of::<llama_token_data>());

/// The context of a Rust-implemented sampler handle.
pub struct RustHandle {
    /// The sampler.
    pub inner: Box<dyn Sampler>,
    /// Its name, NUL-terminated, for `llama_sampler_name`.
    name: CString,
}

impl RustHandle {
    fn new(inner: Box<dyn Sampler>) -> Self {
        let name = CString::new(inner.name().replace('\0', "")).unwrap_or_default();
        RustHandle { inner, name }
    }

    /// Prefixes the reported name (upstream reports `+name` / `-name` for a sampler that was
    /// prepared for backend sampling, with or without success).
    pub fn mark_backend(&mut self, supported: bool) {
        let mark = if supported { '+' } else { '-' };
        let name = format!("{mark}{}", self.inner.name().replace('\0', ""));
        self.name = CString::new(name).unwrap_or_default();
    }
}

/// The vtable of every Rust-implemented sampler.
pub static RUST_IFACE: llama_sampler_i = llama_sampler_i {
    name: Some(rs_name),
    accept: Some(rs_accept),
    apply: Some(rs_apply),
    reset: Some(rs_reset),
    clone: Some(rs_clone),
    free: Some(rs_free),
    backend_init: None,
    backend_accept: None,
    backend_apply: None,
    backend_set_input: None,
    backend_reset: None,
    copy_state: None,
};

fn rust_iface_ptr() -> *mut llama_sampler_i {
    // C receives a `*mut` by signature; nothing ever writes through it.
    std::ptr::addr_of!(RUST_IFACE).cast_mut()
}

/// Wraps a Rust sampler into a new C handle (never NULL).
pub fn into_handle(inner: Box<dyn Sampler>) -> *mut llama_sampler {
    let ctx = Box::into_raw(Box::new(RustHandle::new(inner))).cast();
    Box::into_raw(Box::new(llama_sampler {
        iface: rust_iface_ptr(),
        ctx,
    }))
}

/// The Rust sampler behind `smpl`, if it is a Rust handle.
///
/// # Safety
/// `smpl` must be NULL or a live sampler handle.
pub unsafe fn rust_of<'a>(smpl: *const llama_sampler) -> Option<&'a mut RustHandle> {
    if smpl.is_null() {
        return None;
    }
    // SAFETY: live handle per the contract.
    let s = unsafe { &*smpl };
    if s.iface != rust_iface_ptr() || s.ctx.is_null() {
        return None;
    }
    // SAFETY: handles with RUST_IFACE always carry a Box<RustHandle> in ctx (into_handle).
    Some(unsafe { &mut *s.ctx.cast::<RustHandle>() })
}

/// Runs `inner.apply` on the C array `cur_p` in place and writes the new state back.
///
/// # Safety
/// `cur_p` must be a valid array whose `data` holds `size` candidates (or `size == 0`).
pub unsafe fn apply_rust_to_c(inner: &mut dyn Sampler, cur_p: &mut llama_token_data_array) {
    let data = cur_p.data.cast::<TokenData>();
    // SAFETY: same layout (asserted above); validity per the contract; checked for NULL/size.
    let Some(slice) = (unsafe { crate::ffi::boundary::slice_mut(data, cur_p.size) }) else {
        log_error!(
            "llama_sampler_apply: cur_p->data is NULL with size {}",
            cur_p.size
        );
        return;
    };
    let mut view = TokenDataArray {
        data: slice,
        selected: cur_p.selected,
        sorted: cur_p.sorted,
    };
    inner.apply(&mut view);
    cur_p.size = view.data.len();
    if cur_p.size > 0 {
        cur_p.data = view.data.as_mut_ptr().cast();
    }
    cur_p.selected = view.selected;
    cur_p.sorted = view.sorted;
}

unsafe extern "C" fn rs_name(smpl: *const llama_sampler) -> *const c_char {
    crate::ffi::boundary::run("llama_sampler_i.name", std::ptr::null, || {
        // SAFETY: called through the vtable of a live handle.
        match unsafe { rust_of(smpl) } {
            Some(h) => h.name.as_ptr(),
            None => std::ptr::null(),
        }
    })
}

unsafe extern "C" fn rs_accept(smpl: *mut llama_sampler, token: llama_token) {
    crate::ffi::boundary::run(
        "llama_sampler_i.accept",
        || (),
        || {
            // SAFETY: called through the vtable of a live handle.
            if let Some(h) = unsafe { rust_of(smpl) } {
                h.inner.accept(token);
            }
        },
    )
}

unsafe extern "C" fn rs_apply(smpl: *mut llama_sampler, cur_p: *mut llama_token_data_array) {
    crate::ffi::boundary::run(
        "llama_sampler_i.apply",
        || (),
        || {
            // SAFETY: called through the vtable of a live handle; cur_p checked for NULL.
            let (Some(h), Some(cur)) = (unsafe { rust_of(smpl) }, unsafe { cur_p.as_mut() }) else {
                log_error!("llama_sampler_apply: NULL sampler or cur_p");
                return;
            };
            // SAFETY: the caller's array, per llama.h.
            unsafe { apply_rust_to_c(h.inner.as_mut(), cur) };
        },
    )
}

unsafe extern "C" fn rs_reset(smpl: *mut llama_sampler) {
    crate::ffi::boundary::run(
        "llama_sampler_i.reset",
        || (),
        || {
            // SAFETY: called through the vtable of a live handle.
            if let Some(h) = unsafe { rust_of(smpl) } {
                h.inner.reset();
            }
        },
    )
}

unsafe extern "C" fn rs_clone(smpl: *const llama_sampler) -> *mut llama_sampler {
    crate::ffi::boundary::run("llama_sampler_i.clone", std::ptr::null_mut, || {
        // SAFETY: called through the vtable of a live handle.
        let Some(h) = (unsafe { rust_of(smpl) }) else {
            return std::ptr::null_mut();
        };
        match h.inner.try_clone() {
            Ok(c) => into_handle(c),
            Err(e) => {
                log_error!("llama_sampler_clone: {}", e.context);
                std::ptr::null_mut()
            }
        }
    })
}

unsafe extern "C" fn rs_free(smpl: *mut llama_sampler) {
    crate::ffi::boundary::run(
        "llama_sampler_i.free",
        || (),
        || {
            if smpl.is_null() {
                return;
            }
            // SAFETY: a live handle; after this its ctx is dangling, so it is cleared.
            let s = unsafe { &mut *smpl };
            if s.iface == rust_iface_ptr() && !s.ctx.is_null() {
                // SAFETY: RUST_IFACE handles own a Box<RustHandle> in ctx.
                drop(unsafe { Box::from_raw(s.ctx.cast::<RustHandle>()) });
                s.ctx = std::ptr::null_mut();
            }
        },
    )
}

/// A chain element: one owned `llama_sampler*`, Rust or C.
pub struct Foreign {
    ptr: *mut llama_sampler,
    name: String,
}

impl Foreign {
    /// Takes ownership of `ptr` (non-NULL, live).
    ///
    /// # Safety
    /// `ptr` must be a live handle not owned by anything else.
    pub unsafe fn new(ptr: *mut llama_sampler) -> Self {
        // SAFETY: live handle per the contract.
        let name = unsafe { handle_name(ptr) };
        Foreign { ptr, name }
    }

    /// The handle.
    pub fn ptr(&self) -> *mut llama_sampler {
        self.ptr
    }

    /// Gives the handle back without freeing it (this adapter is left empty).
    pub fn take(&mut self) -> *mut llama_sampler {
        std::mem::replace(&mut self.ptr, std::ptr::null_mut())
    }

    fn iface(&self) -> Option<&llama_sampler_i> {
        // SAFETY: ptr is live while self exists; iface points to a static or caller-owned vtable.
        unsafe { self.ptr.as_ref().and_then(|s| s.iface.as_ref()) }
    }
}

/// The name a handle reports (`"(null)"` without a vtable or name function).
///
/// # Safety
/// `smpl` must be NULL or a live handle.
pub unsafe fn handle_name(smpl: *const llama_sampler) -> String {
    // SAFETY: per the contract.
    let Some(s) = (unsafe { smpl.as_ref() }) else {
        return "(null)".into();
    };
    // SAFETY: the vtable outlives the handle.
    let Some(name_fn) = (unsafe { s.iface.as_ref() }).and_then(|i| i.name) else {
        return "(null)".into();
    };
    // SAFETY: calling the sampler's own name function with its handle.
    let p = unsafe { name_fn(smpl) };
    // SAFETY: a NUL-terminated string owned by the sampler, or NULL.
    match unsafe { crate::ffi::boundary::c_str(p) } {
        Some(c) => c.to_string_lossy().into_owned(),
        None => "(null)".into(),
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        if !self.ptr.is_null() {
            // SAFETY: we own the handle.
            unsafe { free_handle(self.ptr) };
        }
    }
}

/// `llama_sampler_free` without the boundary: the vtable's free, then the struct.
///
/// # Safety
/// `smpl` must be a live handle allocated by `llama_sampler_init` or our constructors.
pub unsafe fn free_handle(smpl: *mut llama_sampler) {
    // SAFETY: per the contract.
    let s = unsafe { &mut *smpl };
    // SAFETY: the vtable outlives the handle.
    if let Some(free) = unsafe { s.iface.as_ref() }.and_then(|i| i.free) {
        // SAFETY: the sampler's own free with its handle.
        unsafe { free(smpl) };
    }
    // SAFETY: every handle is a Box<llama_sampler> (llama_sampler_init / into_handle).
    drop(unsafe { Box::from_raw(smpl) });
}

impl Sampler for Foreign {
    fn name(&self) -> &str {
        &self.name
    }

    fn accept(&mut self, token: i32) {
        // SAFETY: ptr is live and owned.
        if let Some(h) = unsafe { rust_of(self.ptr) } {
            h.inner.accept(token);
        } else if let Some(f) = self.iface().and_then(|i| i.accept) {
            // SAFETY: the sampler's own accept with its handle.
            unsafe { f(self.ptr, token) };
        }
    }

    fn apply(&mut self, cur: &mut TokenDataArray<'_>) {
        // SAFETY: ptr is live and owned.
        if let Some(h) = unsafe { rust_of(self.ptr) } {
            h.inner.apply(cur);
            return;
        }
        // a chain skips members without apply, as upstream
        let Some(f) = self.iface().and_then(|i| i.apply) else {
            return;
        };
        let len = cur.data.len();
        let base = cur.data.as_mut_ptr();
        let mut arr = llama_token_data_array {
            data: base.cast(),
            size: len,
            selected: cur.selected,
            sorted: cur.sorted,
        };
        // SAFETY: the sampler's own apply with its handle and a valid array over `cur.data`.
        unsafe { f(self.ptr, &mut arr) };
        cur.selected = arr.selected;
        cur.sorted = arr.sorted;
        let new = arr.data.cast::<TokenData>();
        let off = (new as usize).wrapping_sub(base as usize) / std::mem::size_of::<TokenData>();
        let inside = (new as usize) >= (base as usize)
            && (new as usize - base as usize).is_multiple_of(std::mem::size_of::<TokenData>())
            && off <= len
            && arr.size <= len - off;
        if inside {
            let d = std::mem::take(&mut cur.data);
            cur.data = &mut d[off..off + arr.size];
        } else {
            // the C sampler pointed `data` at its own storage: bring the candidates back into
            // the caller's buffer (it cannot grow past it)
            let n = arr.size.min(len);
            if arr.size > len {
                log_warn!(
                    "sampler {}: {} candidates returned, {} kept",
                    self.name,
                    arr.size,
                    len
                );
            }
            // SAFETY: the sampler promises `arr.data` holds `arr.size` candidates; NULL checked.
            match unsafe { crate::ffi::boundary::slice(new.cast_const(), n) } {
                Some(src) => {
                    let tmp = src.to_vec();
                    cur.data[..n].copy_from_slice(&tmp);
                    cur.truncate(n);
                }
                None => cur.truncate(0),
            }
        }
    }

    fn reset(&mut self) {
        // SAFETY: ptr is live and owned.
        if let Some(h) = unsafe { rust_of(self.ptr) } {
            h.inner.reset();
        } else if let Some(f) = self.iface().and_then(|i| i.reset) {
            // SAFETY: the sampler's own reset with its handle.
            unsafe { f(self.ptr) };
        }
    }

    fn try_clone(&self) -> crate::Result<Box<dyn Sampler>> {
        // SAFETY: ptr is live.
        let c = unsafe { clone_handle(self.ptr) };
        if c.is_null() {
            return Err(crate::Error::unsupported(format!(
                "sampler {} cannot be cloned",
                self.name
            )));
        }
        // SAFETY: a fresh handle we own.
        Ok(Box::new(unsafe { Foreign::new(c) }))
    }

    fn current_seed(&self) -> u32 {
        // SAFETY: ptr is live and owned.
        match unsafe { rust_of(self.ptr) } {
            Some(h) => h.inner.current_seed(),
            None => LLAMA_DEFAULT_SEED,
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// `llama_sampler_clone` without the boundary. NULL when the sampler cannot be cloned.
///
/// # Safety
/// `smpl` must be a live handle.
pub unsafe fn clone_handle(smpl: *const llama_sampler) -> *mut llama_sampler {
    // SAFETY: per the contract.
    let Some(s) = (unsafe { smpl.as_ref() }) else {
        return std::ptr::null_mut();
    };
    // SAFETY: the vtable outlives the handle.
    let iface = unsafe { s.iface.as_ref() };
    if let Some(f) = iface.and_then(|i| i.clone) {
        // SAFETY: the sampler's own clone with its handle.
        return unsafe { f(smpl) };
    }
    if s.ctx.is_null() {
        return Box::into_raw(Box::new(llama_sampler {
            iface: s.iface,
            ctx: std::ptr::null_mut(),
        }));
    }
    log_error!("llama_sampler_clone: the sampler does not support cloning");
    std::ptr::null_mut()
}
