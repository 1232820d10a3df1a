//! Fuzz target for the GGUF reader: any byte string must parse to a value or an error,
//! never a panic, and every tensor slice handed out must lie inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(g) = llama::gguf::GgufFile::parse_bytes("fuzz", data.to_vec()) {
        for t in g.tensors() {
            assert_eq!(g.tensor_data(t).len() as u64, t.n_bytes);
        }
        for (k, _) in g.metadata() {
            let _ = g.get_str(k);
            let _ = g.get_u32(k);
            let _ = g.get_str_array(k);
            let _ = g.get_f32_array(k);
        }
    }
});
