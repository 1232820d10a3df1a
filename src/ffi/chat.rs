//! Chat template functions of llama.h. (Created by the ffi helper as stubs; owned by the sampling
//! helper from then on.)

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void};

use super::boundary::unsupported;
use super::types::*;

/// `llama_chat_apply_template` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_chat_apply_template(
    tmpl: *const c_char,
    chat: *const llama_chat_message,
    n_msg: usize,
    add_ass: bool,
    buf: *mut c_char,
    length: i32,
) -> i32 {
    unsupported!(
        "llama_chat_apply_template",
        -1,
        tmpl,
        chat,
        n_msg,
        add_ass,
        buf,
        length
    )
}

/// `llama_chat_builtin_templates` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_chat_builtin_templates(
    output: *mut *const c_char,
    len: usize,
) -> i32 {
    unsupported!("llama_chat_builtin_templates", -1, output, len)
}
