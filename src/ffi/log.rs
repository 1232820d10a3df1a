//! Logging: `llama_log_set` / `llama_log_get` and the crate-internal `log_*!` macros.
//!
//! One global logger (a C callback and its user data) receives every message of the library, with
//! `ggml_log_level` levels. Without a callback (or after `llama_log_set(NULL, ..)`) messages go to
//! stderr, as upstream's default logger does. The callback is copied out of the lock before it is
//! called, so a callback may itself call `llama_log_set`.

use std::ffi::{c_char, c_void, CString};
use std::fmt;
use std::io::Write;
use std::sync::Mutex;

use super::types::*;

#[derive(Clone, Copy)]
struct Logger {
    callback: ggml_log_callback,
    user_data: *mut c_void,
}

// SAFETY: the user data pointer is only handed back to the caller's own callback; the library
// never dereferences it. Upstream shares the same pointer across threads in the same way.
unsafe impl Send for Logger {}

static LOGGER: Mutex<Logger> = Mutex::new(Logger {
    callback: None,
    user_data: std::ptr::null_mut(),
});

fn current() -> Logger {
    match LOGGER.lock() {
        Ok(g) => *g,
        Err(poisoned) => *poisoned.into_inner(),
    }
}

fn store(logger: Logger) {
    match LOGGER.lock() {
        Ok(mut g) => *g = logger,
        Err(poisoned) => *poisoned.into_inner() = logger,
    }
}

/// The default logger: prints the text to stderr, whatever the level (as upstream does).
///
/// # Safety
/// `text` must be NULL or a NUL-terminated string.
pub unsafe extern "C" fn llama_log_callback_default(
    level: ggml_log_level,
    text: *const c_char,
    user_data: *mut c_void,
) {
    let _ = (level, user_data);
    if text.is_null() {
        return;
    }
    // SAFETY: the caller passes a NUL-terminated string (checked non-NULL above).
    let bytes = unsafe { std::ffi::CStr::from_ptr(text) }.to_bytes();
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(bytes);
    let _ = err.flush();
}

/// Sends one message to the current logger. A trailing newline is added when missing.
pub fn emit(level: ggml_log_level, args: fmt::Arguments<'_>) {
    let mut text = fmt::format(args);
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let text = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    let logger = current();
    match logger.callback {
        // SAFETY: the callback was registered by the C caller with this signature; `text` lives
        // until the call returns.
        Some(cb) => unsafe { cb(level, text.as_ptr(), logger.user_data) },
        // SAFETY: `text` is a valid NUL-terminated string.
        None => unsafe { llama_log_callback_default(level, text.as_ptr(), std::ptr::null_mut()) },
    }
}

/// Logs at error level: `log_error!("{name}: bad value {x}")`.
macro_rules! log_error {
    ($($arg:tt)*) => {
        $crate::ffi::log::emit($crate::ffi::types::GGML_LOG_LEVEL_ERROR, format_args!($($arg)*))
    };
}
/// Logs at warning level.
macro_rules! log_warn {
    ($($arg:tt)*) => {
        $crate::ffi::log::emit($crate::ffi::types::GGML_LOG_LEVEL_WARN, format_args!($($arg)*))
    };
}
/// Logs at info level.
#[allow(unused_macros)]
macro_rules! log_info {
    ($($arg:tt)*) => {
        $crate::ffi::log::emit($crate::ffi::types::GGML_LOG_LEVEL_INFO, format_args!($($arg)*))
    };
}
/// Logs at debug level.
#[allow(unused_macros)]
macro_rules! log_debug {
    ($($arg:tt)*) => {
        $crate::ffi::log::emit($crate::ffi::types::GGML_LOG_LEVEL_DEBUG, format_args!($($arg)*))
    };
}
#[allow(unused_imports)]
pub(crate) use {log_debug, log_error, log_info, log_warn};

/// Sets the callback for all future log messages; NULL restores the default (stderr).
///
/// # Safety
/// `log_callback` must be NULL or a valid function; `user_data` is passed back to it unchanged.
#[no_mangle]
pub unsafe extern "C" fn llama_log_set(log_callback: ggml_log_callback, user_data: *mut c_void) {
    super::boundary::run(
        "llama_log_set",
        || (),
        || {
            store(Logger {
                callback: log_callback,
                user_data,
            })
        },
    )
}

/// Reads the current callback and user data (the default logger when none was set).
///
/// # Safety
/// Each output pointer must be NULL or point to writable storage of its type.
#[no_mangle]
pub unsafe extern "C" fn llama_log_get(
    log_callback: *mut ggml_log_callback,
    user_data: *mut *mut c_void,
) {
    super::boundary::run(
        "llama_log_get",
        || (),
        || {
            let logger = current();
            let cb: ggml_log_callback = match logger.callback {
                Some(cb) => Some(cb),
                None => Some(llama_log_callback_default),
            };
            if !log_callback.is_null() {
                // SAFETY: non-NULL, and the caller promises it points to a writable callback slot.
                unsafe { *log_callback = cb };
            }
            if !user_data.is_null() {
                // SAFETY: non-NULL, and the caller promises it points to a writable pointer slot.
                unsafe { *user_data = logger.user_data };
            }
        },
    )
}
