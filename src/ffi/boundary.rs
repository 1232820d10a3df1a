//! The panic boundary and the pointer checks every `extern "C"` function uses.
//!
//! Every exported body runs inside [`run`] (or the [`ffi_guard!`] macro): a panic is caught, logged
//! through the `llama_log_set` callback, and the function returns its documented failure value. A
//! panic hook, installed once, keeps Rust's default panic message off stderr for panics raised inside
//! a boundary or on a library worker thread (rayon's, or the CPU pool's `ferrollama-*` threads,
//! whose panics resurface in a boundary); the message and location go to the log instead.
//!
//! The helpers below turn raw C arguments into Rust references only after checking them: NULL
//! pointers, negative lengths and lengths that cannot describe an allocation are refused with a log
//! line, never dereferenced.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::ffi::{c_char, CStr};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use super::log::{log_error, log_warn};

thread_local! {
    /// How many boundaries this thread is inside (nested calls, e.g. a C callback calling back in).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// The message of the last panic seen by the hook on this thread.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

fn payload_text(payload: &dyn Any) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// Installs the panic hook once. Panics outside any boundary (e.g. in Rust tests) still reach the
/// previous hook unchanged.
pub fn install_panic_hook() {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            let inside = DEPTH.with(|d| d.get()) > 0;
            // library worker threads: rayon's, and the CPU backend's pool ("ferrollama-cpu-N")
            let on_worker = rayon::current_thread_index().is_some()
                || std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("ferrollama-"));
            if !inside && !on_worker {
                previous(info);
                return;
            }
            let msg = payload_text(info.payload());
            let text = match info.location() {
                Some(loc) => format!("{msg} (at {}:{})", loc.file(), loc.line()),
                None => msg,
            };
            if inside {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
            } else {
                log_error!("internal error on a worker thread: {text}");
            }
        }));
    });
}

/// Runs `body` inside the panic boundary of the C function `name`. If it panics, the panic is logged
/// and `fail()` is returned instead.
pub fn run<R>(name: &str, fail: impl FnOnce() -> R, body: impl FnOnce() -> R) -> R {
    install_panic_hook();
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(body));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    match result {
        Ok(v) => v,
        Err(payload) => {
            let text = LAST_PANIC
                .with(|p| p.borrow_mut().take())
                .unwrap_or_else(|| payload_text(payload.as_ref()));
            log_error!("{name}: internal error: {text}");
            fail()
        }
    }
}

/// Runs a body inside the panic boundary: `ffi_guard!("llama_n_ctx", 0, { ... })`.
/// The failure expression is evaluated only if the body panics.
macro_rules! ffi_guard {
    ($name:expr, $fail:expr, $body:block) => {
        $crate::ffi::boundary::run($name, || $fail, || $body)
    };
}
pub(crate) use ffi_guard;

/// Returns `$fail` (with a log line naming the function and the parameter) when `$p` is NULL.
#[allow(unused_macros)]
macro_rules! require_non_null {
    ($name:expr, $fail:expr, $($p:ident),+ $(,)?) => {
        $(
            if $p.is_null() {
                $crate::ffi::log::emit(
                    $crate::ffi::types::GGML_LOG_LEVEL_ERROR,
                    format_args!("{}: {} is NULL", $name, stringify!($p)),
                );
                return $fail;
            }
        )+
    };
}
#[allow(unused_imports)]
pub(crate) use require_non_null;

/// The body of a function whose feature is not built yet: logs `not supported yet: <name>` and
/// returns the failure value. The listed parameters are consumed so they do not warn.
macro_rules! unsupported {
    ($name:expr, $fail:expr $(, $arg:ident)* $(,)?) => {{
        $(let _ = &$arg;)*
        $crate::ffi::boundary::run($name, || $fail, || {
            $crate::ffi::boundary::not_supported($name);
            $fail
        })
    }};
}
pub(crate) use unsupported;

/// Logs `not supported yet: <name>`.
pub fn not_supported(name: &str) {
    log_error!("not supported yet: {name}");
}

/// Borrows a NUL-terminated C string; `None` for NULL.
///
/// # Safety
/// `p` must be NULL or point to a NUL-terminated string that outlives `'a`.
pub unsafe fn c_str<'a>(p: *const c_char) -> Option<&'a CStr> {
    if p.is_null() {
        None
    } else {
        // SAFETY: non-NULL and NUL-terminated per the caller's contract.
        Some(unsafe { CStr::from_ptr(p) })
    }
}

/// Borrows `len` elements at `p` as a slice. `len == 0` gives an empty slice even for NULL;
/// NULL with `len > 0`, or a length whose byte size overflows `isize`, gives `None`.
///
/// # Safety
/// When `p` is non-NULL it must point to `len` initialised elements valid for `'a`.
pub unsafe fn slice<'a, T>(p: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if p.is_null() || len.checked_mul(size_of::<T>().max(1))? > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-NULL, length checked above, validity per the caller's contract.
    Some(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Mutable version of [`slice`].
///
/// # Safety
/// When `p` is non-NULL it must point to `len` writable elements valid for `'a`, not aliased.
pub unsafe fn slice_mut<'a, T>(p: *mut T, len: usize) -> Option<&'a mut [T]> {
    if len == 0 {
        return Some(&mut []);
    }
    if p.is_null() || len.checked_mul(size_of::<T>().max(1))? > isize::MAX as usize {
        return None;
    }
    // SAFETY: non-NULL, length checked above, validity per the caller's contract.
    Some(unsafe { std::slice::from_raw_parts_mut(p, len) })
}

/// Copies `src` into the C buffer `buf` of `buf_size` bytes the way `snprintf` does: at most
/// `buf_size - 1` bytes and a terminating NUL (nothing when `buf_size == 0` or `buf` is NULL).
/// Returns the full length of `src` (so a caller can detect truncation), or -1 if it overflows i32.
///
/// # Safety
/// `buf` must be NULL or point to `buf_size` writable bytes.
pub unsafe fn write_c_string(buf: *mut c_char, buf_size: usize, src: &[u8]) -> i32 {
    if !buf.is_null() && buf_size > 0 {
        let n = src.len().min(buf_size - 1);
        // SAFETY: `buf` has room for `buf_size` bytes and `n + 1 <= buf_size`.
        unsafe {
            std::ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), n);
            *buf.add(n) = 0;
        }
    }
    i32::try_from(src.len()).unwrap_or(-1)
}

/// Copies `src` into `buf` (no NUL terminator) if it fits in `len` bytes and returns its length;
/// otherwise writes nothing and returns the negative required size (llama.h's convention for
/// `llama_token_to_piece`, `llama_detokenize`, ...). Returns `i32::MIN` if the size overflows i32.
///
/// # Safety
/// `buf` must be NULL or point to `len` writable bytes (when `len > 0`).
pub unsafe fn write_bytes_or_need(buf: *mut c_char, len: i32, src: &[u8]) -> i32 {
    let Ok(n) = i32::try_from(src.len()) else {
        return i32::MIN;
    };
    if n > len.max(0) {
        return -n;
    }
    if n > 0 {
        if buf.is_null() {
            log_warn!("output buffer is NULL");
            return -n;
        }
        // SAFETY: `buf` has room for `len >= n` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), src.len()) };
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_becomes_failure_value() {
        let v: i32 = run("test_fn", || -7, || panic!("boom"));
        assert_eq!(v, -7);
        let v: i32 = run("test_fn", || -7, || 3);
        assert_eq!(v, 3);
    }

    #[test]
    fn snprintf_semantics() {
        let mut buf = [0x55 as c_char; 4];
        // SAFETY: buf has 4 bytes.
        let n = unsafe { write_c_string(buf.as_mut_ptr(), 4, b"hello") };
        assert_eq!(n, 5);
        assert_eq!(buf.map(|c| c as u8), *b"hel\0");
        // SAFETY: NULL is allowed.
        assert_eq!(unsafe { write_c_string(std::ptr::null_mut(), 0, b"ab") }, 2);
    }

    #[test]
    fn negative_required_size() {
        let mut buf = [0x55 as c_char; 3];
        // SAFETY: buf has 3 bytes.
        assert_eq!(
            unsafe { write_bytes_or_need(buf.as_mut_ptr(), 3, b"abcd") },
            -4
        );
        assert_eq!(buf.map(|c| c as u8), [0x55; 3]);
        // SAFETY: buf has 3 bytes.
        assert_eq!(
            unsafe { write_bytes_or_need(buf.as_mut_ptr(), 3, b"ab") },
            2
        );
        assert_eq!(buf.map(|c| c as u8), [b'a', b'b', 0x55]);
    }
}
