//! Chat template functions of llama.h, over `crate::chat`.

use std::ffi::{c_char, CString};

use once_cell::sync::Lazy;

use super::boundary::{c_str, ffi_guard, slice};
use super::log::log_error;
use super::types::*;
use crate::chat::{self, ChatMessage, BUILTIN_TEMPLATES};

/// The built-in names as C strings, alive for the whole program.
static BUILTIN_NAMES: Lazy<Vec<CString>> = Lazy::new(|| {
    BUILTIN_TEMPLATES
        .iter()
        .map(|(n, _)| CString::new(*n).unwrap_or_default())
        .collect()
});

/// `llama_chat_apply_template`: formats `chat` with a built-in template (`tmpl` is a name or a
/// Jinja source to recognise; NULL means "chatml"). Returns the formatted length in bytes, or -1
/// if the template is not recognised. Like upstream, `buf` receives `strncpy(buf, out, length)`:
/// at most `length` bytes, NUL-padded, not terminated when the output does not fit.
#[no_mangle]
pub unsafe extern "C" fn llama_chat_apply_template(
    tmpl: *const c_char,
    chat: *const llama_chat_message,
    n_msg: usize,
    add_ass: bool,
    buf: *mut c_char,
    length: i32,
) -> i32 {
    ffi_guard!("llama_chat_apply_template", -1, {
        // SAFETY: the caller passes NULL or a NUL-terminated template.
        let tmpl = unsafe { c_str(tmpl) }.map(|c| c.to_bytes());
        // SAFETY: `n_msg` messages at `chat`; NULL with n_msg > 0 is refused.
        let Some(msgs) = (unsafe { slice(chat, n_msg) }) else {
            log_error!("llama_chat_apply_template: chat is NULL with n_msg = {n_msg}");
            return -1;
        };
        let mut conv = Vec::with_capacity(msgs.len());
        for (i, m) in msgs.iter().enumerate() {
            // SAFETY: each message holds NUL-terminated strings (NULL is refused).
            let (Some(role), Some(content)) =
                (unsafe { c_str(m.role) }, unsafe { c_str(m.content) })
            else {
                log_error!("llama_chat_apply_template: message {i} has a NULL role or content");
                return -1;
            };
            conv.push(ChatMessage {
                role: role.to_bytes(),
                content: content.to_bytes(),
            });
        }
        let out = match chat::apply_template(tmpl, &conv, add_ass) {
            Ok(o) => o,
            Err(_) => return -1,
        };
        let Ok(res) = i32::try_from(out.len()) else {
            log_error!(
                "llama_chat_apply_template: output of {} bytes is too long",
                out.len()
            );
            return -1;
        };
        if !buf.is_null() && length > 0 {
            let len = length as usize;
            let n = out.len().min(len);
            // SAFETY: the caller's buffer holds `length` bytes; we write exactly `len` of them.
            unsafe {
                std::ptr::copy_nonoverlapping(out.as_ptr(), buf.cast::<u8>(), n);
                std::ptr::write_bytes(buf.cast::<u8>().add(n), 0, len - n);
            }
        }
        res
    })
}

/// `llama_chat_builtin_templates`: writes up to `len` built-in template names to `output` and
/// returns how many there are.
#[no_mangle]
pub unsafe extern "C" fn llama_chat_builtin_templates(
    output: *mut *const c_char,
    len: usize,
) -> i32 {
    ffi_guard!("llama_chat_builtin_templates", -1, {
        let names = &*BUILTIN_NAMES;
        let n = len.min(names.len());
        if n > 0 {
            if output.is_null() {
                log_error!("llama_chat_builtin_templates: output is NULL with len = {len}");
                return names.len() as i32;
            }
            for (i, name) in names.iter().take(n).enumerate() {
                // SAFETY: the caller's array holds `len >= n` pointers.
                unsafe { *output.add(i) = name.as_ptr() };
            }
        }
        names.len() as i32
    })
}
