//! LoRA adapters of llama.h: loading (`llama_adapter_lora_init*`), metadata, aLoRA
//! invocation tokens and freeing. Applying them to a context is `llama_set_adapters_lora` in
//! `context.rs`.

use std::ffi::c_char;
use std::sync::Arc;

use super::boundary::{ffi_guard, write_c_string};
use super::log::log_error;
use super::model::{c_path, clear_buf, meta_val_str, model_ref, LlamaModel};
use super::types::*;
use crate::model::Model;

/// What a `*mut llama_adapter_lora` points to: a `Box` made by the init functions, listed in
/// the registry (`LORAS`) with the model handle it was loaded for until
/// `llama_adapter_lora_free` or the model's `llama_model_free` releases it. Every adapter
/// function checks a handle against the registry first (NULL, freed or foreign pointers are
/// refused with a log line). Contexts applying an adapter share it (`Arc`), so freeing the
/// handle early never leaves a context reading freed weights.
pub struct LlamaLora {
    /// The adapter.
    pub adapter: Arc<crate::model::LoraAdapter>,
}

/// Live adapter handles → the model handle each belongs to.
static LORAS: std::sync::Mutex<Vec<(usize, usize)>> = std::sync::Mutex::new(Vec::new());

fn loras() -> std::sync::MutexGuard<'static, Vec<(usize, usize)>> {
    LORAS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Borrows a live adapter handle (`None` for NULL or a pointer that is not one, e.g. freed).
///
/// # Safety
/// The handle must not be freed while the reference is used (llama.h contract).
pub(crate) unsafe fn lora_ref<'a>(p: *const llama_adapter_lora) -> Option<&'a LlamaLora> {
    if p.is_null() || !loras().iter().any(|&(a, _)| a == p as usize) {
        return None;
    }
    // SAFETY: listed handles are live boxes made by `register_lora`.
    unsafe { (p as *const LlamaLora).as_ref() }
}

fn register_lora(
    model: *mut llama_model,
    adapter: crate::model::LoraAdapter,
) -> *mut llama_adapter_lora {
    let p = Box::into_raw(Box::new(LlamaLora {
        adapter: Arc::new(adapter),
    }));
    loras().push((p as usize, model as usize));
    p as *mut llama_adapter_lora
}

/// Frees the adapters still registered for the model handle `model` (the model is being freed).
fn free_loras_of(model: usize) {
    let mine: Vec<usize> = {
        let mut l = loras();
        let mine = l.iter().filter(|e| e.1 == model).map(|e| e.0).collect();
        l.retain(|e| e.1 != model);
        mine
    };
    for p in mine {
        // SAFETY: each was a live registered box, now unlisted, freed once.
        drop(unsafe { Box::from_raw(p as *mut LlamaLora) });
    }
}

impl Drop for LlamaModel {
    fn drop(&mut self) {
        free_loras_of(self as *const LlamaModel as usize);
    }
}

fn lora_load(
    name: &str,
    model: *mut llama_model,
    load: impl FnOnce(&Model) -> crate::Result<crate::model::LoraAdapter>,
) -> *mut llama_adapter_lora {
    // SAFETY: NULL or a live model (llama.h contract).
    let Some(m) = (unsafe { model_ref(model) }) else {
        log_error!("{name}: model is NULL");
        return std::ptr::null_mut();
    };
    match load(&m.model) {
        Ok(a) => {
            super::log::log_info!(
                "{name}: loaded {} tensors from lora file",
                a.n_weights() * 2
            );
            register_lora(model, a)
        }
        Err(e) => {
            log_error!("{name}: failed to apply lora adapter: {e}");
            std::ptr::null_mut()
        }
    }
}

/// `llama_adapter_lora_init`: loads a LoRA adapter GGUF for `model` (pairs checked against the
/// base tensors' shapes; F32/F16/BF16/Q8_0 tensors, kept on the host); NULL with a log line on
/// any error. Freed by `llama_adapter_lora_free` or with the model.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_init(
    model: *mut llama_model,
    path_lora: *const c_char,
) -> *mut llama_adapter_lora {
    ffi_guard!("llama_adapter_lora_init", std::ptr::null_mut(), {
        let Some(path) = c_path(path_lora) else {
            log_error!("llama_adapter_lora_init: path_lora is NULL");
            return std::ptr::null_mut();
        };
        lora_load("llama_adapter_lora_init", model, |m| {
            crate::model::LoraAdapter::open(m, &path)
        })
    })
}

/// `llama_adapter_lora_init_from_file_ptr`: as `llama_adapter_lora_init`, reading the GGUF from
/// the `FILE`'s current position to its end.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_init_from_file_ptr(
    model: *mut llama_model,
    file: *mut libc::FILE,
) -> *mut llama_adapter_lora {
    ffi_guard!(
        "llama_adapter_lora_init_from_file_ptr",
        std::ptr::null_mut(),
        {
            let name = "llama_adapter_lora_init_from_file_ptr";
            if file.is_null() {
                log_error!("{name}: file is NULL");
                return std::ptr::null_mut();
            }
            lora_load(name, model, |m| {
                let mut bytes = Vec::new();
                let mut chunk = vec![0u8; 1 << 20];
                loop {
                    // SAFETY: `file` is an open FILE (contract); `chunk` has room for its length.
                    let n = unsafe { libc::fread(chunk.as_mut_ptr().cast(), 1, chunk.len(), file) };
                    bytes.extend_from_slice(&chunk[..n]);
                    if n < chunk.len() {
                        // SAFETY: as above.
                        if unsafe { libc::ferror(file) } != 0 {
                            return Err(crate::Error::io("reading the adapter FILE failed"));
                        }
                        break;
                    }
                }
                crate::model::LoraAdapter::from_bytes(m, "<FILE>", bytes)
            })
        }
    )
}

/// Runs `f` on a live adapter, or logs and returns `fail` (NULL or unknown handle).
fn with_lora<R>(
    name: &str,
    adapter: *const llama_adapter_lora,
    fail: R,
    f: impl FnOnce(&LlamaLora) -> R,
) -> R
where
    R: Copy,
{
    super::boundary::run(
        name,
        || fail,
        || {
            // SAFETY: a registered handle is live; callers keep it so during the call.
            match unsafe { lora_ref(adapter) } {
                Some(a) => f(a),
                None => {
                    if adapter.is_null() {
                        log_error!("{name}: adapter is NULL");
                    } else {
                        log_error!("{name}: adapter is not a live LoRA adapter");
                    }
                    fail
                }
            }
        },
    )
}

/// `llama_adapter_meta_val_str`: the adapter's scalar metadata value for `key`, as a string
/// (snprintf semantics); -1 (buffer cleared) when absent.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_val_str(
    adapter: *const llama_adapter_lora,
    key: *const c_char,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    with_lora("llama_adapter_meta_val_str", adapter, -1, |a| {
        // SAFETY: NUL-terminated key or NULL (contract); buf holds buf_size bytes.
        unsafe { meta_val_str(a.adapter.metadata_str(), key, buf, buf_size) }
    })
}

/// `llama_adapter_meta_count`: number of scalar metadata pairs.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_count(adapter: *const llama_adapter_lora) -> i32 {
    with_lora("llama_adapter_meta_count", adapter, -1, |a| {
        a.adapter.metadata_str().len() as i32
    })
}

fn meta_by_index(
    name: &str,
    adapter: *const llama_adapter_lora,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
    key: bool,
) -> i32 {
    with_lora(name, adapter, -1, |a| {
        let kv = usize::try_from(i)
            .ok()
            .and_then(|i| a.adapter.metadata_str().get(i));
        // SAFETY: buf holds buf_size writable bytes or is NULL (contract).
        unsafe {
            match kv {
                Some((k, v)) => {
                    write_c_string(buf, buf_size, if key { k.as_bytes() } else { v.as_bytes() })
                }
                None => {
                    clear_buf(buf, buf_size);
                    -1
                }
            }
        }
    })
}

/// `llama_adapter_meta_key_by_index`: key `i` (file order); -1 (buffer cleared) out of range.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_key_by_index(
    adapter: *const llama_adapter_lora,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    meta_by_index(
        "llama_adapter_meta_key_by_index",
        adapter,
        i,
        buf,
        buf_size,
        true,
    )
}

/// `llama_adapter_meta_val_str_by_index`: value `i` as a string; -1 (buffer cleared) out of
/// range.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_meta_val_str_by_index(
    adapter: *const llama_adapter_lora,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    meta_by_index(
        "llama_adapter_meta_val_str_by_index",
        adapter,
        i,
        buf,
        buf_size,
        false,
    )
}

/// `llama_adapter_lora_free`: frees an adapter before its model (NULL: no-op; a pointer that is
/// not a live adapter is refused with a log line). Contexts applying it keep its weights until
/// they drop it or are freed.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_lora_free(adapter: *mut llama_adapter_lora) {
    ffi_guard!("llama_adapter_lora_free", (), {
        if adapter.is_null() {
            return;
        }
        let found = {
            let mut l = loras();
            let n = l.len();
            l.retain(|e| e.0 != adapter as usize);
            l.len() != n
        };
        if !found {
            log_error!("llama_adapter_lora_free: adapter is not a live LoRA adapter");
            return;
        }
        // SAFETY: it was a live registered box, now unlisted, freed once.
        drop(unsafe { Box::from_raw(adapter as *mut LlamaLora) });
    })
}

/// `llama_adapter_get_alora_n_invocation_tokens`: length of `adapter.alora.invocation_tokens`
/// (0 for a plain LoRA or NULL).
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_get_alora_n_invocation_tokens(
    adapter: *const llama_adapter_lora,
) -> u64 {
    if adapter.is_null() {
        return 0;
    }
    with_lora(
        "llama_adapter_get_alora_n_invocation_tokens",
        adapter,
        0,
        |a| a.adapter.alora_invocation_tokens().len() as u64,
    )
}

/// `llama_adapter_get_alora_invocation_tokens`: the invocation tokens (owned by the adapter),
/// NULL when it has none or for a NULL/unknown adapter.
#[no_mangle]
pub unsafe extern "C" fn llama_adapter_get_alora_invocation_tokens(
    adapter: *const llama_adapter_lora,
) -> *const llama_token {
    with_lora(
        "llama_adapter_get_alora_invocation_tokens",
        adapter,
        std::ptr::null(),
        |a| {
            let t = a.adapter.alora_invocation_tokens();
            if t.is_empty() {
                std::ptr::null()
            } else {
                t.as_ptr()
            }
        },
    )
}
