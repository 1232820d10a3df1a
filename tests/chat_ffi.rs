//! The chat C API: `llama_chat_apply_template` buffer semantics (upstream uses strncpy) and
//! `llama_chat_builtin_templates`, plus NULL arguments.

use std::ffi::{c_char, CStr};

use llama::ffi::chat::*;
use llama::ffi::types::llama_chat_message;

fn conv() -> Vec<llama_chat_message> {
    vec![
        llama_chat_message {
            role: c"system".as_ptr(),
            content: c"sys".as_ptr(),
        },
        llama_chat_message {
            role: c"user".as_ptr(),
            content: c"Hello".as_ptr(),
        },
    ]
}

#[test]
fn apply_template_through_c() {
    let msgs = conv();
    let want = b"<|im_start|>system\nsys<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
    let mut buf = vec![0x55u8 as c_char; 200];
    // SAFETY: valid messages and buffer.
    let n = unsafe {
        llama_chat_apply_template(
            std::ptr::null(),
            msgs.as_ptr(),
            2,
            true,
            buf.as_mut_ptr(),
            200,
        )
    };
    assert_eq!(n as usize, want.len());
    let got: Vec<u8> = buf[..want.len()].iter().map(|&c| c as u8).collect();
    assert_eq!(got, want);
    assert!(
        buf[want.len()..].iter().all(|&c| c == 0),
        "strncpy pads with NUL"
    );

    // too small: the first `length` bytes, no terminator, nothing beyond
    let mut small = vec![0x55u8 as c_char; 12];
    // SAFETY: 10 of the 12 bytes are offered.
    let n = unsafe {
        llama_chat_apply_template(
            c"chatml".as_ptr(),
            msgs.as_ptr(),
            2,
            true,
            small.as_mut_ptr(),
            10,
        )
    };
    assert_eq!(n as usize, want.len());
    assert_eq!(
        small[..10].iter().map(|&c| c as u8).collect::<Vec<_>>(),
        &want[..10]
    );
    assert_eq!(small[10] as u8, 0x55);

    // size query with no buffer, unknown template
    // SAFETY: NULL buffer is allowed.
    unsafe {
        assert_eq!(
            llama_chat_apply_template(c"llama3".as_ptr(), msgs.as_ptr(), 2, false, std::ptr::null_mut(), 0),
            "<|start_header_id|>system<|end_header_id|>\n\nsys<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>".len() as i32
        );
        assert_eq!(
            llama_chat_apply_template(
                c"INVALID TEMPLATE".as_ptr(),
                msgs.as_ptr(),
                2,
                true,
                std::ptr::null_mut(),
                0
            ),
            -1
        );
        assert_eq!(
            llama_chat_apply_template(
                std::ptr::null(),
                std::ptr::null(),
                2,
                true,
                std::ptr::null_mut(),
                0
            ),
            -1
        );
        assert_eq!(
            llama_chat_apply_template(
                std::ptr::null(),
                std::ptr::null(),
                0,
                true,
                std::ptr::null_mut(),
                0
            ),
            22
        );
        let bad = [llama_chat_message {
            role: std::ptr::null(),
            content: c"x".as_ptr(),
        }];
        assert_eq!(
            llama_chat_apply_template(
                std::ptr::null(),
                bad.as_ptr(),
                1,
                true,
                std::ptr::null_mut(),
                0
            ),
            -1
        );
    }
}

#[test]
fn builtin_templates_through_c() {
    // SAFETY: NULL with len 0 asks for the count.
    let n = unsafe { llama_chat_builtin_templates(std::ptr::null_mut(), 0) };
    assert_eq!(n, 54);
    let mut out = vec![std::ptr::null::<c_char>(); n as usize];
    // SAFETY: room for n pointers.
    assert_eq!(
        unsafe { llama_chat_builtin_templates(out.as_mut_ptr(), out.len()) },
        n
    );
    // SAFETY: static NUL-terminated names.
    let names: Vec<&str> = out
        .iter()
        .map(|&p| unsafe { CStr::from_ptr(p) }.to_str().unwrap())
        .collect();
    assert_eq!(names[0], "bailing");
    assert!(names.contains(&"chatml") && names.contains(&"llama3") && names.contains(&"gpt-oss"));
    let mut two = [std::ptr::null::<c_char>(); 2];
    // SAFETY: room for 2.
    assert_eq!(
        unsafe { llama_chat_builtin_templates(two.as_mut_ptr(), 2) },
        n
    );
    // SAFETY: NULL with len > 0 is refused without writing.
    assert_eq!(
        unsafe { llama_chat_builtin_templates(std::ptr::null_mut(), 5) },
        n
    );
}
