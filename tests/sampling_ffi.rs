//! The sampler C API: upstream's vectors replayed through `llama_sampler_*`, user samplers with
//! a C vtable inside chains, ownership (chain_add / chain_remove / free), clone, copy, seeds,
//! perf counters, and NULL arguments.

#[path = "sampling_ref/common.rs"]
mod common;

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

use llama::ffi::sampler::more::*;
use llama::ffi::sampler::*;
use llama::ffi::types::*;
use llama::sampling::TokenData;

fn make_c(spec: &str) -> *mut llama_sampler {
    let p = common::parts(spec);
    let f = |i: usize| p[i].parse::<f32>().unwrap();
    let int = |i: usize| p[i].parse::<i64>().unwrap();
    // SAFETY: plain constructors.
    unsafe {
        match p[0] {
            "greedy" => llama_sampler_init_greedy(),
            "dist" => llama_sampler_init_dist(int(1) as u32),
            "top_k" => llama_sampler_init_top_k(int(1) as i32),
            "top_p" => llama_sampler_init_top_p(f(1), int(2) as usize),
            "min_p" => llama_sampler_init_min_p(f(1), int(2) as usize),
            "typical" => llama_sampler_init_typical(f(1), int(2) as usize),
            "temp" => llama_sampler_init_temp(f(1)),
            "temp_ext" => llama_sampler_init_temp_ext(f(1), f(2), f(3)),
            "xtc" => llama_sampler_init_xtc(f(1), f(2), int(3) as usize, int(4) as u32),
            "top_n_sigma" => llama_sampler_init_top_n_sigma(f(1)),
            "mirostat" => {
                llama_sampler_init_mirostat(int(1) as i32, int(2) as u32, f(3), f(4), int(5) as i32)
            }
            "mirostat_v2" => llama_sampler_init_mirostat_v2(int(1) as u32, f(2), f(3)),
            "penalties" => {
                llama_sampler_init_penalties(int(1) as i32, int(2) as i32, f(3), f(4), f(5))
            }
            "adaptive_p" => llama_sampler_init_adaptive_p(f(1), f(2), int(3) as u32),
            "logit_bias" => {
                let entries: Vec<llama_logit_bias> = p[2]
                    .split(',')
                    .map(|e| {
                        let (t, b) = e.split_once('=').unwrap();
                        llama_logit_bias {
                            token: t.parse().unwrap(),
                            bias: b.parse().unwrap(),
                        }
                    })
                    .collect();
                llama_sampler_init_logit_bias(int(1) as i32, entries.len() as i32, entries.as_ptr())
            }
            other => panic!("unknown sampler {other}"),
        }
    }
}

fn name_of(s: *const llama_sampler) -> String {
    // SAFETY: live handle; names are NUL-terminated.
    unsafe { CStr::from_ptr(llama_sampler_name(s)) }
        .to_string_lossy()
        .into_owned()
}

fn candidates(logits: &[f32]) -> Vec<llama_token_data> {
    logits
        .iter()
        .enumerate()
        .map(|(i, &l)| llama_token_data {
            id: i as i32,
            logit: l,
            p: 0.0,
        })
        .collect()
}

fn apply(s: *mut llama_sampler, buf: &mut [llama_token_data]) -> llama_token_data_array {
    let mut arr = llama_token_data_array {
        data: buf.as_mut_ptr(),
        size: buf.len(),
        selected: -1,
        sorted: false,
    };
    // SAFETY: live handle, valid array.
    unsafe { llama_sampler_apply(s, &mut arr) };
    arr
}

fn view(arr: &llama_token_data_array) -> &[TokenData] {
    // SAFETY: the array's data holds size candidates (layouts are identical).
    unsafe { std::slice::from_raw_parts(arr.data.cast::<TokenData>(), arr.size) }
}

#[test]
fn c_api_matches_upstream_vectors() {
    let mut failures = Vec::new();
    for case in common::cases() {
        let params = llama_sampler_chain_params { no_perf: true };
        // SAFETY: plain constructor.
        let chain = unsafe { llama_sampler_chain_init(params) };
        for s in &case.specs {
            // SAFETY: the chain takes ownership.
            unsafe { llama_sampler_chain_add(chain, make_c(s)) };
        }
        // SAFETY: live chain.
        let n = unsafe { llama_sampler_chain_n(chain) };
        let names: Vec<String> = (0..n)
            .map(|i| name_of(unsafe { llama_sampler_chain_get(chain, i) }))
            .collect();
        assert_eq!(names, case.names, "{}", case.name);
        for (ri, r) in case.rounds.iter().enumerate() {
            for &t in &r.accept {
                // SAFETY: live chain.
                unsafe { llama_sampler_accept(chain, t) };
            }
            let mut buf = candidates(&r.logits);
            let base = buf.as_ptr() as usize;
            let arr = apply(chain, &mut buf);
            let off = (arr.data as usize - base) / std::mem::size_of::<llama_token_data>();
            if let Err(e) = common::check(r, view(&arr), arr.selected, arr.sorted, off) {
                failures.push(format!("{} round {}: {e}", case.name, ri + 1));
            }
            if arr.selected >= 0 && (arr.selected as usize) < arr.size {
                // SAFETY: live chain.
                unsafe { llama_sampler_accept(chain, view(&arr)[arr.selected as usize].id) };
            }
        }
        // SAFETY: we own the chain.
        unsafe { llama_sampler_free(chain) };
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---- a user sampler written against the C vtable: masks one token, counts calls ----

static FREES: AtomicUsize = AtomicUsize::new(0);

struct BanCtx {
    token: i32,
    accepted: Vec<i32>,
}

unsafe extern "C" fn ban_name(_s: *const llama_sampler) -> *const c_char {
    c"ban".as_ptr()
}
unsafe extern "C" fn ban_accept(s: *mut llama_sampler, token: llama_token) {
    let ctx = unsafe { &mut *((*s).ctx as *mut BanCtx) };
    ctx.accepted.push(token);
}
unsafe extern "C" fn ban_apply(s: *mut llama_sampler, cur: *mut llama_token_data_array) {
    let ctx = unsafe { &*((*s).ctx as *const BanCtx) };
    let cur = unsafe { &mut *cur };
    for i in 0..cur.size {
        let t = unsafe { &mut *cur.data.add(i) };
        if t.id == ctx.token {
            t.logit = f32::NEG_INFINITY;
        }
    }
}
unsafe extern "C" fn ban_clone(s: *const llama_sampler) -> *mut llama_sampler {
    let ctx = unsafe { &*((*s).ctx as *const BanCtx) };
    let new = Box::new(BanCtx {
        token: ctx.token,
        accepted: ctx.accepted.clone(),
    });
    unsafe { llama_sampler_init((*s).iface, Box::into_raw(new) as *mut c_void) }
}
unsafe extern "C" fn ban_free(s: *mut llama_sampler) {
    drop(unsafe { Box::from_raw((*s).ctx as *mut BanCtx) });
    FREES.fetch_add(1, Ordering::SeqCst);
}

static mut BAN_IFACE: llama_sampler_i = llama_sampler_i {
    name: Some(ban_name),
    accept: Some(ban_accept),
    apply: Some(ban_apply),
    reset: None,
    clone: Some(ban_clone),
    free: Some(ban_free),
    backend_init: None,
    backend_accept: None,
    backend_apply: None,
    backend_set_input: None,
    backend_reset: None,
    copy_state: None,
};

fn ban_sampler(token: i32) -> *mut llama_sampler {
    let ctx = Box::into_raw(Box::new(BanCtx {
        token,
        accepted: Vec::new(),
    }));
    // SAFETY: a static vtable and an owned context.
    unsafe { llama_sampler_init(std::ptr::addr_of_mut!(BAN_IFACE), ctx as *mut c_void) }
}

fn accepted(s: *mut llama_sampler) -> Vec<i32> {
    // SAFETY: a ban sampler handle.
    unsafe { (*((*s).ctx as *const BanCtx)).accepted.clone() }
}

#[test]
fn c_vtable_sampler_in_a_chain() {
    let frees0 = FREES.load(Ordering::SeqCst);
    // SAFETY: the whole test drives the C API as a C program would.
    unsafe {
        let chain = llama_sampler_chain_init(llama_sampler_chain_params { no_perf: false });
        let ban = ban_sampler(3);
        llama_sampler_chain_add(chain, llama_sampler_init_top_k(5));
        llama_sampler_chain_add(chain, ban);
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        assert_eq!(llama_sampler_chain_n(chain), 3);
        assert_eq!(llama_sampler_chain_get(chain, 1), ban);
        assert_eq!(llama_sampler_chain_get(chain, -1), chain);
        assert!(llama_sampler_chain_get(chain, 3).is_null());
        assert!(llama_sampler_chain_get(ban, 0).is_null(), "not a chain");
        assert_eq!(name_of(ban), "ban");
        assert_eq!(name_of(chain), "chain");

        // token 3 has the highest logit but is banned
        let logits = [0.0, 1.0, 2.0, 9.0, 3.0, -1.0];
        let mut buf = candidates(&logits);
        let arr = apply(chain, &mut buf);
        let chosen = view(&arr)[arr.selected as usize].id;
        assert_eq!(chosen, 4);
        llama_sampler_accept(chain, chosen);
        assert_eq!(accepted(ban), vec![4]);
        assert_eq!(llama_perf_sampler(chain).n_sample, 1);
        llama_perf_sampler_reset(chain);
        assert_eq!(llama_perf_sampler(chain).n_sample, 0);

        // clone: a new chain with cloned members (the user clone is called)
        let chain2 = llama_sampler_clone(chain);
        assert!(!chain2.is_null());
        let ban2 = llama_sampler_chain_get(chain2, 1);
        assert!(!ban2.is_null() && ban2 != ban);
        assert_eq!(accepted(ban2), vec![4]);

        // remove gives ownership back: freeing the chain does not free it
        let removed = llama_sampler_chain_remove(chain, 1);
        assert_eq!(removed, ban);
        assert_eq!(llama_sampler_chain_n(chain), 2);
        assert!(llama_sampler_chain_remove(chain, 7).is_null());
        llama_sampler_free(chain);
        assert_eq!(FREES.load(Ordering::SeqCst), frees0);
        llama_sampler_free(removed);
        assert_eq!(FREES.load(Ordering::SeqCst), frees0 + 1);
        llama_sampler_free(chain2);
        assert_eq!(FREES.load(Ordering::SeqCst), frees0 + 2);
        llama_sampler_free(std::ptr::null_mut());
    }
}

// ---- a C sampler that points `data` at its own storage ----

static mut OWN_BUF: [llama_token_data; 2] = [llama_token_data {
    id: 0,
    logit: 0.0,
    p: 0.0,
}; 2];

unsafe extern "C" fn own_apply(_s: *mut llama_sampler, cur: *mut llama_token_data_array) {
    let cur = unsafe { &mut *cur };
    let buf = unsafe { &mut *std::ptr::addr_of_mut!(OWN_BUF) };
    buf[0] = llama_token_data {
        id: 42,
        logit: 1.0,
        p: 0.0,
    };
    buf[1] = llama_token_data {
        id: 7,
        logit: 5.0,
        p: 0.0,
    };
    cur.data = buf.as_mut_ptr();
    cur.size = 2;
    cur.sorted = false;
}

static mut OWN_IFACE: llama_sampler_i = llama_sampler_i {
    name: None,
    accept: None,
    apply: Some(own_apply),
    reset: None,
    clone: None,
    free: None,
    backend_init: None,
    backend_accept: None,
    backend_apply: None,
    backend_set_input: None,
    backend_reset: None,
    copy_state: None,
};

#[test]
fn c_sampler_with_its_own_buffer() {
    // SAFETY: driving the C API.
    unsafe {
        let own = llama_sampler_init(std::ptr::addr_of_mut!(OWN_IFACE), std::ptr::null_mut());
        assert_eq!(name_of(own), "(null)");
        // cloning a context-free sampler without a clone function shares the vtable
        let own2 = llama_sampler_clone(own);
        assert!(!own2.is_null());
        llama_sampler_free(own2);

        let chain = llama_sampler_chain_init(llama_sampler_chain_params { no_perf: true });
        llama_sampler_chain_add(chain, own);
        llama_sampler_chain_add(chain, llama_sampler_init_greedy());
        let mut buf = candidates(&[0.0, 1.0, 2.0, 3.0]);
        let arr = apply(chain, &mut buf);
        assert_eq!(arr.size, 2);
        assert_eq!(view(&arr)[arr.selected as usize].id, 7);
        llama_sampler_free(chain);
    }
}

#[test]
fn seeds_copy_and_names() {
    // SAFETY: driving the C API.
    unsafe {
        let d = llama_sampler_init_dist(1234);
        assert_eq!(llama_sampler_get_seed(d), 1234);
        let g = llama_sampler_init_greedy();
        assert_eq!(llama_sampler_get_seed(g), LLAMA_DEFAULT_SEED);
        let r = llama_sampler_init_dist(LLAMA_DEFAULT_SEED);
        assert_ne!(
            llama_sampler_get_seed(r),
            LLAMA_DEFAULT_SEED,
            "a random seed is drawn"
        );

        let chain = llama_sampler_chain_init(llama_sampler_chain_params { no_perf: true });
        llama_sampler_chain_add(chain, llama_sampler_init_mirostat_v2(77, 5.0, 0.1));
        llama_sampler_chain_add(chain, g);
        assert_eq!(llama_sampler_get_seed(chain), 77);

        // copy: dst continues exactly like src
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let a = llama_sampler_init_dist(5);
        let b = llama_sampler_init_dist(9);
        for _ in 0..3 {
            let mut buf = candidates(&logits);
            apply(a, &mut buf);
        }
        llama_sampler_copy(a, b);
        for _ in 0..5 {
            let mut ba = candidates(&logits);
            let mut bb = candidates(&logits);
            assert_eq!(apply(a, &mut ba).selected, apply(b, &mut bb).selected);
        }
        llama_sampler_copy(a, chain); // different types: refused, logged
        assert_eq!(name_of(llama_sampler_init_top_k(0)), "?top-k");
        assert_eq!(name_of(llama_sampler_init_temp(1.0)), "?temp");
        for s in [d, r, chain, a, b] {
            llama_sampler_free(s);
        }
    }
}

#[test]
fn null_arguments_are_refused() {
    // SAFETY: every call passes NULL where a pointer is expected; each must fail cleanly.
    unsafe {
        let null = std::ptr::null_mut::<llama_sampler>();
        assert!(llama_sampler_init(std::ptr::null_mut(), std::ptr::null_mut()).is_null());
        assert!(llama_sampler_name(null).is_null());
        llama_sampler_accept(null, 1);
        llama_sampler_apply(null, std::ptr::null_mut());
        llama_sampler_reset(null);
        assert!(llama_sampler_clone(null).is_null());
        llama_sampler_copy(null, null);
        llama_sampler_free(null);
        llama_sampler_chain_add(null, null);
        assert!(llama_sampler_chain_get(null, 0).is_null());
        assert_eq!(llama_sampler_chain_n(null), -1);
        assert!(llama_sampler_chain_remove(null, 0).is_null());
        assert_eq!(llama_sampler_get_seed(null), LLAMA_DEFAULT_SEED);
        assert_eq!(
            llama_sampler_sample(null, std::ptr::null_mut(), 0),
            LLAMA_TOKEN_NULL
        );
        assert!(llama_sampler_init_logit_bias(10, 3, std::ptr::null()).is_null());
        assert_eq!(llama_perf_sampler(null).n_sample, 0);
        llama_perf_sampler_print(null);
        llama_perf_sampler_reset(null);

        let g = llama_sampler_init_greedy();
        llama_sampler_apply(g, std::ptr::null_mut());
        let mut arr = llama_token_data_array {
            data: std::ptr::null_mut(),
            size: 5,
            selected: -1,
            sorted: false,
        };
        llama_sampler_apply(g, &mut arr);
        assert_eq!(arr.selected, -1);
        let mut empty = llama_token_data_array {
            data: std::ptr::null_mut(),
            size: 0,
            selected: -1,
            sorted: false,
        };
        let d = llama_sampler_init_dist(1);
        llama_sampler_apply(d, &mut empty);
        assert_eq!(empty.selected, -1);
        llama_sampler_chain_add(g, d); // not a chain: refused (d stays ours)
        llama_sampler_free(d);
        llama_sampler_free(g);
    }
}
