//! Model functions of llama.h: loading, freeing, hyper-parameter getters, metadata.
//!
//! `*mut llama_model` points to a [`LlamaModel`] (a `Box` made by the load functions and
//! released by `llama_model_free`); the vocabulary pointer is a view into it.
//! LoRA adapters, which a model owns, are in `lora.rs`.

#![allow(unused_imports)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::PathBuf;
use std::sync::Arc;

use super::boundary::{c_str, ffi_guard, require_non_null, slice, unsupported, write_c_string};
use super::log::log_error;
use super::types::*;
use crate::model::{Model, ModelParams};

/// What a `*mut llama_model` points to.
pub struct LlamaModel {
    /// The model (shared with the contexts made from it).
    pub model: Arc<Model>,
    /// Chat templates as C strings: `(name, template)`; `None` is the default template.
    pub templates: Vec<(Option<String>, CString)>,
    /// Microseconds the load took (`llama_perf_context`'s first load time).
    pub t_load_us: i64,
    /// `<arch>.classifier.output_labels` (`llama_model_cls_label`).
    pub cls_labels: Vec<CString>,
}

/// Borrows the model behind a C pointer (`None` for NULL).
///
/// # Safety
/// `p` must be NULL or a pointer returned by a load function and not yet freed.
pub(crate) unsafe fn model_ref<'a>(p: *const llama_model) -> Option<&'a LlamaModel> {
    // SAFETY: per the function contract.
    unsafe { (p as *const LlamaModel).as_ref() }
}

pub(super) fn c_path(p: *const c_char) -> Option<PathBuf> {
    // SAFETY: callers pass NUL-terminated strings (llama.h contract).
    let s = unsafe { c_str(p) }?;
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(s.to_bytes())))
}

fn load(paths: &[PathBuf], params: &llama_model_params) -> *mut llama_model {
    load_with(params, |mp| Model::load(paths, mp))
}

/// Loads through `open` with the model params read from `params`, and wraps the handle.
fn load_with(
    params: &llama_model_params,
    open: impl FnOnce(&ModelParams) -> crate::error::Result<Model>,
) -> *mut llama_model {
    // SAFETY: the caller's params follow llama.h's contract (lists terminated, split sized).
    let (gpus, place) = match unsafe { super::placement::from_params(params) } {
        Ok(x) => x,
        Err(e) => {
            log_error!("llama_model_load: error loading model: {e}");
            return std::ptr::null_mut();
        }
    };
    let mp = ModelParams {
        n_gpu_layers: params.n_gpu_layers,
        vocab_only: params.vocab_only,
        use_mmap: true,
        use_mlock: false,
        check_tensors: params.check_tensors,
        gpus,
        place,
        no_alloc: params.no_alloc,
    };
    let t0 = super::ggml::time_us();
    match open(&mp) {
        Ok(m) => {
            let mut templates = Vec::new();
            for (k, v) in m.metadata_str() {
                let name = match k.strip_prefix("tokenizer.chat_template") {
                    Some("") => None,
                    Some(rest) => match rest.strip_prefix('.') {
                        Some(n) => Some(n.to_string()),
                        None => continue,
                    },
                    None => continue,
                };
                if let Ok(c) = CString::new(v.as_bytes()) {
                    templates.push((name, c));
                }
            }
            let key = format!("{}.classifier.output_labels", m.arch_name());
            let cls_labels = match m.gguf().get_str_array(&key) {
                Ok(Some(labels)) => labels
                    .into_iter()
                    .map(|l| CString::new(l).unwrap_or_default())
                    .collect(),
                _ => Vec::new(),
            };
            let h = LlamaModel {
                cls_labels,
                t_load_us: super::ggml::time_us() - t0,
                model: Arc::new(m),
                templates,
            };
            Box::into_raw(Box::new(h)) as *mut llama_model
        }
        Err(e) => {
            log_error!("llama_model_load: error loading model: {e}");
            std::ptr::null_mut()
        }
    }
}

fn getter<R>(name: &str, model: *const llama_model, fail: R, f: impl FnOnce(&Model) -> R) -> R
where
    R: Copy,
{
    super::boundary::run(
        name,
        || fail,
        || {
            // SAFETY: llama.h requires a valid model pointer (or NULL, refused here).
            match unsafe { model_ref(model) } {
                Some(m) => f(&m.model),
                None => {
                    log_error!("{name}: model is NULL");
                    fail
                }
            }
        },
    )
}

/// `llama_model_init_from_user` (not supported yet).
#[no_mangle]
pub unsafe extern "C" fn llama_model_init_from_user(
    metadata: *mut gguf_context,
    set_tensor_data: llama_model_set_tensor_data_t,
    set_tensor_data_ud: *mut c_void,
    params: llama_model_params,
) -> *mut llama_model {
    unsupported!(
        "llama_model_init_from_user",
        std::ptr::null_mut(),
        metadata,
        set_tensor_data,
        set_tensor_data_ud,
        params
    )
}

/// `llama_load_model_from_file` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_load_model_from_file(
    path_model: *const c_char,
    params: llama_model_params,
) -> *mut llama_model {
    llama_model_load_from_file(path_model, params)
}

/// `llama_model_load_from_file`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_file(
    path_model: *const c_char,
    params: llama_model_params,
) -> *mut llama_model {
    ffi_guard!("llama_model_load_from_file", std::ptr::null_mut(), {
        require_non_null!(
            "llama_model_load_from_file",
            std::ptr::null_mut(),
            path_model
        );
        let Some(p) = c_path(path_model) else {
            return std::ptr::null_mut();
        };
        load(&[p], &params)
    })
}

/// `llama_model_load_from_file_ptr`: loads the GGUF that starts at `file`'s current position
/// (mapped from the file's descriptor; the position must be 32-byte aligned).
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_file_ptr(
    file: *mut libc::FILE,
    params: llama_model_params,
) -> *mut llama_model {
    let name = "llama_model_load_from_file_ptr";
    ffi_guard!(name, std::ptr::null_mut(), {
        require_non_null!(name, std::ptr::null_mut(), file);
        // SAFETY: a live FILE stream (llama.h contract); fileno/ftello only query it.
        let (fd, pos) = unsafe { (libc::fileno(file), libc::ftello(file)) };
        if fd < 0 || pos < 0 {
            log_error!("{name}: the FILE has no descriptor or position");
            return std::ptr::null_mut();
        }
        // SAFETY: fd is the stream's open descriptor; ManuallyDrop keeps it open (the caller
        // owns it), and the File is only used to map it.
        let f = std::mem::ManuallyDrop::new(unsafe {
            <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd)
        });
        let shown = format!("FILE (fd {fd}) at offset {pos}");
        load_with(&params, |mp| {
            Model::load_file_at(&f, pos as u64, &shown, mp)
        })
    })
}

/// `llama_model_load_from_splits`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_load_from_splits(
    paths: *mut *const c_char,
    n_paths: usize,
    params: llama_model_params,
) -> *mut llama_model {
    ffi_guard!("llama_model_load_from_splits", std::ptr::null_mut(), {
        let Some(list) = slice(paths as *const *const c_char, n_paths) else {
            log_error!("llama_model_load_from_splits: paths is NULL");
            return std::ptr::null_mut();
        };
        let mut v = Vec::with_capacity(list.len());
        for &p in list {
            match c_path(p) {
                Some(p) => v.push(p),
                None => return std::ptr::null_mut(),
            }
        }
        load(&v, &params)
    })
}

/// `llama_model_save_to_file`: writes the model as one GGUF file (errors are logged; the
/// function returns nothing, as upstream's).
#[no_mangle]
pub unsafe extern "C" fn llama_model_save_to_file(
    model: *const llama_model,
    path_model: *const c_char,
) {
    ffi_guard!("llama_model_save_to_file", (), {
        // SAFETY: a live model from a load function, or NULL (contract).
        let (Some(m), Some(path)) = (unsafe { model_ref(model) }, c_path(path_model)) else {
            log_error!("llama_model_save_to_file: model or path_model is NULL");
            return;
        };
        if let Err(e) = crate::model::save::save_gguf(&m.model, &path) {
            log_error!("llama_model_save_to_file: {}: {e}", path.display());
        }
    })
}

/// `llama_free_model` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_free_model(model: *mut llama_model) {
    llama_model_free(model)
}

/// `llama_model_free`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_free(model: *mut llama_model) {
    ffi_guard!("llama_model_free", (), {
        if !model.is_null() {
            // SAFETY: non-NULL model pointers come from `Box::into_raw` in `load`, freed once.
            drop(unsafe { Box::from_raw(model as *mut LlamaModel) });
        }
    })
}

/// `llama_n_ctx_train` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_ctx_train(model: *const llama_model) -> i32 {
    llama_model_n_ctx_train(model)
}

/// `llama_n_embd` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_embd(model: *const llama_model) -> i32 {
    llama_model_n_embd(model)
}

/// `llama_n_layer` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_layer(model: *const llama_model) -> i32 {
    llama_model_n_layer(model)
}

/// `llama_n_head` (not supported yet). Deprecated in llama.h.
#[no_mangle]
pub unsafe extern "C" fn llama_n_head(model: *const llama_model) -> i32 {
    llama_model_n_head(model)
}

/// `llama_model_get_vocab`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_get_vocab(model: *const llama_model) -> *const llama_vocab {
    ffi_guard!("llama_model_get_vocab", std::ptr::null(), {
        match model_ref(model) {
            Some(m) => m.model.vocab_ptr() as *const llama_vocab,
            None => std::ptr::null(),
        }
    })
}

/// `llama_model_rope_type`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_rope_type(model: *const llama_model) -> llama_rope_type {
    getter("llama_model_rope_type", model, LLAMA_ROPE_TYPE_NONE, |m| {
        m.rope_type()
    })
}

/// `llama_model_n_ctx_train`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_ctx_train(model: *const llama_model) -> i32 {
    getter("llama_model_n_ctx_train", model, -1, |m| m.n_ctx_train())
}

/// `llama_model_n_embd`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd(model: *const llama_model) -> i32 {
    getter("llama_model_n_embd", model, -1, |m| m.n_embd())
}

/// `llama_model_n_embd_inp`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd_inp(model: *const llama_model) -> i32 {
    getter("llama_model_n_embd_inp", model, -1, |m| m.n_embd())
}

/// `llama_model_n_embd_out`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_embd_out(model: *const llama_model) -> i32 {
    getter("llama_model_n_embd_out", model, -1, |m| m.n_embd())
}

/// `llama_model_n_layer`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_layer(model: *const llama_model) -> i32 {
    getter("llama_model_n_layer", model, -1, |m| m.n_layer())
}

/// `llama_model_n_layer_nextn`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_layer_nextn(model: *const llama_model) -> i32 {
    getter("llama_model_n_layer_nextn", model, -1, |_| 0)
}

/// `llama_model_n_head`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_head(model: *const llama_model) -> i32 {
    getter("llama_model_n_head", model, -1, |m| m.n_head())
}

/// `llama_model_n_head_kv`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_head_kv(model: *const llama_model) -> i32 {
    getter("llama_model_n_head_kv", model, -1, |m| m.n_head_kv())
}

/// `llama_model_n_swa`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_swa(model: *const llama_model) -> i32 {
    getter("llama_model_n_swa", model, -1, |m| m.n_swa())
}

/// `llama_model_rope_freq_scale_train`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_rope_freq_scale_train(model: *const llama_model) -> f32 {
    getter("llama_model_rope_freq_scale_train", model, 0.0, |m| {
        m.rope_freq_scale_train()
    })
}

/// `llama_model_n_cls_out`: the number of classifier labels, or 1 (upstream's default) when the
/// model has none.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_cls_out(model: *const llama_model) -> u32 {
    super::boundary::run(
        "llama_model_n_cls_out",
        || 0,
        || {
            // SAFETY: llama.h requires a model from a load function (NULL is refused).
            let Some(m) = (unsafe { model_ref(model) }) else {
                log_error!("llama_model_n_cls_out: model is NULL");
                return 0;
            };
            u32::try_from(m.cls_labels.len()).unwrap_or(u32::MAX).max(1)
        },
    )
}

/// `llama_model_cls_label`: label `i` of `<arch>.classifier.output_labels`; NULL when the model
/// has no such label.
#[no_mangle]
pub unsafe extern "C" fn llama_model_cls_label(model: *const llama_model, i: u32) -> *const c_char {
    super::boundary::run("llama_model_cls_label", std::ptr::null, || {
        // SAFETY: llama.h requires a model from a load function (NULL is refused).
        let Some(m) = (unsafe { model_ref(model) }) else {
            log_error!("llama_model_cls_label: model is NULL");
            return std::ptr::null();
        };
        m.cls_labels
            .get(i as usize)
            .map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// Clears a caller's buffer (first byte NUL) the way upstream does on failure.
///
/// # Safety
/// `buf` must be NULL or hold `buf_size` writable bytes.
pub(super) unsafe fn clear_buf(buf: *mut c_char, buf_size: usize) {
    if buf_size > 0 && !buf.is_null() {
        // SAFETY: buf has buf_size >= 1 writable bytes (caller contract).
        unsafe { *buf = 0 };
    }
}

/// The value of `key` in `meta` written to the caller's buffer (snprintf semantics); -1 with
/// the buffer cleared when the key is NULL or absent. Shared by the model and adapter
/// `*_meta_val_str` functions.
///
/// # Safety
/// `key` is NULL or NUL-terminated; `buf` is NULL or holds `buf_size` writable bytes.
pub(super) unsafe fn meta_val_str(
    meta: &[(String, String)],
    key: *const c_char,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    // SAFETY: per the function contract.
    unsafe {
        let found =
            c_str(key).and_then(|k| meta.iter().find(|(kk, _)| kk.as_bytes() == k.to_bytes()));
        match found {
            Some((_, v)) => write_c_string(buf, buf_size, v.as_bytes()),
            None => {
                clear_buf(buf, buf_size);
                -1
            }
        }
    }
}

/// `llama_model_meta_val_str`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_val_str(
    model: *const llama_model,
    key: *const c_char,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    ffi_guard!("llama_model_meta_val_str", -1, {
        let Some(m) = model_ref(model) else {
            return -1;
        };
        // SAFETY: the caller's key and buffer (llama.h contract).
        unsafe { meta_val_str(m.model.metadata_str(), key, buf, buf_size) }
    })
}

/// `llama_model_meta_count`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_count(model: *const llama_model) -> i32 {
    getter("llama_model_meta_count", model, -1, |m| {
        m.metadata_str().len() as i32
    })
}

/// `llama_model_meta_key_by_index`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_key_by_index(
    model: *const llama_model,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    ffi_guard!("llama_model_meta_key_by_index", -1, {
        let Some(m) = model_ref(model) else { return -1 };
        match usize::try_from(i)
            .ok()
            .and_then(|i| m.model.metadata_str().get(i))
        {
            Some((k, _)) => write_c_string(buf, buf_size, k.as_bytes()),
            None => -1,
        }
    })
}

/// `llama_model_meta_val_str_by_index`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_meta_val_str_by_index(
    model: *const llama_model,
    i: i32,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    ffi_guard!("llama_model_meta_val_str_by_index", -1, {
        let Some(m) = model_ref(model) else { return -1 };
        match usize::try_from(i)
            .ok()
            .and_then(|i| m.model.metadata_str().get(i))
        {
            Some((_, v)) => write_c_string(buf, buf_size, v.as_bytes()),
            None => -1,
        }
    })
}

/// `llama_model_desc`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_desc(
    model: *const llama_model,
    buf: *mut c_char,
    buf_size: usize,
) -> i32 {
    ffi_guard!("llama_model_desc", -1, {
        let Some(m) = model_ref(model) else { return -1 };
        write_c_string(buf, buf_size, m.model.desc().as_bytes())
    })
}

/// `llama_model_ftype`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_ftype(model: *const llama_model) -> llama_ftype {
    getter("llama_model_ftype", model, LLAMA_FTYPE_ALL_F32, |m| {
        m.ftype()
    })
}

/// `llama_model_size`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_size(model: *const llama_model) -> u64 {
    getter("llama_model_size", model, 0, |m| m.size())
}

/// `llama_model_chat_template`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_chat_template(
    model: *const llama_model,
    name: *const c_char,
) -> *const c_char {
    ffi_guard!("llama_model_chat_template", std::ptr::null(), {
        let Some(m) = model_ref(model) else {
            return std::ptr::null();
        };
        let want = c_str(name).map(|n| n.to_bytes().to_vec());
        m.templates
            .iter()
            .find(|(n, _)| n.as_ref().map(|s| s.as_bytes().to_vec()) == want)
            .map_or(std::ptr::null(), |(_, t)| t.as_ptr())
    })
}

/// `llama_model_n_params`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_n_params(model: *const llama_model) -> u64 {
    getter("llama_model_n_params", model, 0, |m| m.n_params())
}

/// `llama_model_has_encoder`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_has_encoder(model: *const llama_model) -> bool {
    getter("llama_model_has_encoder", model, false, |_| false)
}

/// `llama_model_has_decoder`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_has_decoder(model: *const llama_model) -> bool {
    getter("llama_model_has_decoder", model, false, |_| true)
}

/// `llama_model_decoder_start_token`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_decoder_start_token(model: *const llama_model) -> llama_token {
    getter("llama_model_decoder_start_token", model, -1, |_| -1)
}

/// `llama_model_is_recurrent`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_recurrent(model: *const llama_model) -> bool {
    getter("llama_model_is_recurrent", model, false, |_| false)
}

/// `llama_model_is_hybrid`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_hybrid(model: *const llama_model) -> bool {
    getter("llama_model_is_hybrid", model, false, |_| false)
}

/// `llama_model_is_diffusion`.
#[no_mangle]
pub unsafe extern "C" fn llama_model_is_diffusion(model: *const llama_model) -> bool {
    getter("llama_model_is_diffusion", model, false, |_| false)
}

/// `llama_model_quantize`: 0 on success. File types F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1,
/// Q8_0 and IQ4_NL (see `model::quantize`); the k-quant / i-quant mixes, an importance matrix,
/// tensor-type overrides, KV overrides and layer pruning give 1 with a log line.
#[no_mangle]
pub unsafe extern "C" fn llama_model_quantize(
    fname_inp: *const c_char,
    fname_out: *const c_char,
    params: *const llama_model_quantize_params,
) -> u32 {
    ffi_guard!("llama_model_quantize", 1, {
        // SAFETY: NULL or a valid params struct (contract).
        let (Some(inp), Some(out), Some(p)) = (c_path(fname_inp), c_path(fname_out), unsafe {
            params.as_ref()
        }) else {
            log_error!("llama_model_quantize: fname_inp, fname_out or params is NULL");
            return 1;
        };
        if !p.imatrix.is_null()
            || !p.kv_overrides.is_null()
            || !p.tt_overrides.is_null()
            || !p.prune_layers.is_null()
        {
            log_error!(
                "not supported yet: llama_model_quantize with imatrix, kv_overrides, \
                 tensor type overrides or layer pruning"
            );
            return 1;
        }
        let ty = |v: ggml_type| {
            u32::try_from(v)
                .ok()
                .and_then(crate::quant::GgmlType::from_u32)
        };
        let opts = crate::model::quantize::QuantizeOptions {
            ftype: p.ftype,
            output_tensor_type: ty(p.output_tensor_type),
            token_embedding_type: ty(p.token_embedding_type),
            quantize_output_tensor: p.quantize_output_tensor,
            allow_requantize: p.allow_requantize,
            only_copy: p.only_copy,
            pure: p.pure,
        };
        if p.dry_run {
            log_error!("not supported yet: llama_model_quantize dry_run");
            return 1;
        }
        match crate::model::quantize::quantize_file(&inp, &out, &opts) {
            Ok(()) => 0,
            Err(e) => {
                log_error!("llama_model_quantize: {}: {e}", inp.display());
                1
            }
        }
    })
}
