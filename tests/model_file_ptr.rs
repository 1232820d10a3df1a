//! Issue 6: `llama_model_load_from_file_ptr` loads a GGUF embedded in a larger file, from the
//! stream's current position, and gives the same logits as loading the file by path.

use std::ffi::CString;
use std::path::PathBuf;

use llama::ffi::batch::llama_batch_get_one;
use llama::ffi::context::{llama_decode, llama_free, llama_get_logits_ith, llama_init_from_model};
use llama::ffi::model::{
    llama_model_free, llama_model_load_from_file, llama_model_load_from_file_ptr,
    llama_model_n_params,
};
use llama::ffi::params::{llama_context_default_params, llama_model_default_params};
use llama::ffi::types::*;

mod common;

/// Logits of one 4-token prompt (all outputs of the last token).
///
/// # Safety
/// `m` is a live model.
unsafe fn logits(m: *mut llama_model) -> Vec<f32> {
    let mut cp = llama_context_default_params();
    cp.n_ctx = 64;
    cp.n_threads = 1;
    cp.n_threads_batch = 1;
    // SAFETY: per the function contract; the context is freed below.
    unsafe {
        let c = llama_init_from_model(m, cp);
        assert!(!c.is_null());
        let mut toks = [1i32, 20, 30, 40];
        assert_eq!(
            llama_decode(c, llama_batch_get_one(toks.as_mut_ptr(), 4)),
            0
        );
        let l = std::slice::from_raw_parts(llama_get_logits_ith(c, -1), 64).to_vec();
        llama_free(c);
        l
    }
}

/// Opens `path` with a prefix of `pad` bytes before the GGUF, positioned at the GGUF.
fn embedded(gguf: &[u8], pad: usize, tag: &str) -> (*mut libc::FILE, PathBuf) {
    let path =
        std::env::temp_dir().join(format!("ferrollama-fileptr-{}-{tag}", std::process::id()));
    let mut bytes = vec![0xabu8; pad];
    bytes.extend_from_slice(gguf);
    std::fs::write(&path, bytes).unwrap();
    let c = CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a NUL-terminated path and mode; the stream is checked and seeked.
    let f = unsafe { libc::fopen(c.as_ptr(), c"rb".as_ptr()) };
    assert!(!f.is_null());
    // SAFETY: a live stream.
    assert_eq!(
        unsafe { libc::fseek(f, pad as libc::c_long, libc::SEEK_SET) },
        0
    );
    (f, path)
}

#[test]
fn loads_an_embedded_gguf_like_the_file() {
    let Some(p) = common::shared_model("llama-spm-F32.gguf") else {
        return;
    };
    let gguf = std::fs::read(&p).unwrap();
    let mut mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    let cpath = CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: valid paths, streams and params; every handle is freed.
    unsafe {
        let by_path = llama_model_load_from_file(cpath.as_ptr(), mp);
        assert!(!by_path.is_null());
        let (f, tmp) = embedded(&gguf, 4096 + 64, "ok");
        let by_ptr = llama_model_load_from_file_ptr(f, mp);
        assert!(!by_ptr.is_null());
        assert_eq!(llama_model_n_params(by_ptr), llama_model_n_params(by_path));
        assert_eq!(logits(by_ptr), logits(by_path), "bit-identical logits");
        llama_model_free(by_ptr);
        libc::fclose(f);
        std::fs::remove_file(tmp).ok();

        // a GGUF at an offset that would misalign its tensors is refused, as is NULL
        let (f, tmp) = embedded(&gguf, 7, "odd");
        assert!(llama_model_load_from_file_ptr(f, mp).is_null());
        libc::fclose(f);
        std::fs::remove_file(tmp).ok();
        // a stream positioned at the end has no GGUF
        let (f, tmp) = embedded(&gguf, 0, "end");
        libc::fseek(f, 0, libc::SEEK_END);
        assert!(llama_model_load_from_file_ptr(f, mp).is_null());
        libc::fclose(f);
        std::fs::remove_file(tmp).ok();
        assert!(llama_model_load_from_file_ptr(std::ptr::null_mut(), mp).is_null());
        llama_model_free(by_path);
    }
}
