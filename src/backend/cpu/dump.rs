//! Debug aid for comparing intermediate values with another implementation: when the
//! environment variable `FERROLLAMA_DUMP` names a folder and a graph runs on one thread, the
//! value of every node (F32 and F16 tensors, as little-endian f32 in logical order) is appended
//! to `<folder>/dump.bin`, with one line per node in `<folder>/index.tsv`:
//! `index  name  op  type  ne0,ne1,ne2,ne3  byte offset`.

use std::fs::File;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use super::convert::f16_to_f32;
use super::exec::TV;
use crate::quant::GgmlType;

struct Sink {
    data: File,
    index: File,
    n: usize,
    off: usize,
}

fn sink() -> Option<&'static Mutex<Sink>> {
    static SINK: OnceLock<Option<Mutex<Sink>>> = OnceLock::new();
    SINK.get_or_init(|| {
        let dir = std::env::var_os("FERROLLAMA_DUMP")?;
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).ok()?;
        let data = File::create(dir.join("dump.bin")).ok()?;
        let index = File::create(dir.join("index.tsv")).ok()?;
        Some(Mutex::new(Sink {
            data,
            index,
            n: 0,
            off: 0,
        }))
    })
    .as_ref()
}

/// Whether dumping is on.
pub fn enabled() -> bool {
    sink().is_some()
}

/// Appends the value of `t` (a node named `name`, computed by `op`).
pub fn node(name: &str, op: &str, t: &TV) {
    let Some(s) = sink() else { return };
    let Ok(mut s) = s.lock() else { return };
    let mut vals = Vec::new();
    if !t.ptr.is_null() && matches!(t.ty, GgmlType::F32 | GgmlType::F16) {
        let [n0, n1, n2, n3] = t.ne.map(|n| n.max(0) as usize);
        vals.reserve(n0 * n1 * n2 * n3);
        for i3 in 0..n3 {
            for i2 in 0..n2 {
                for i1 in 0..n1 {
                    for i0 in 0..n0 {
                        let o = i0 * t.nb[0] + i1 * t.nb[1] + i2 * t.nb[2] + i3 * t.nb[3];
                        // SAFETY: the indices are inside the tensor's shape, whose strides
                        // address its own bytes.
                        let v = unsafe {
                            match t.ty {
                                GgmlType::F16 => {
                                    f16_to_f32(std::ptr::read_unaligned(t.ptr.add(o) as *const u16))
                                }
                                _ => std::ptr::read_unaligned(t.ptr.add(o) as *const f32),
                            }
                        };
                        vals.push(v);
                    }
                }
            }
        }
    }
    let bytes: Vec<u8> = vals.iter().flat_map(|v| v.to_le_bytes()).collect();
    let line = format!(
        "{}\t{}\t{}\t{}\t{},{},{},{}\t{}\n",
        s.n,
        name,
        op,
        t.ty.name(),
        t.ne[0],
        t.ne[1],
        t.ne[2],
        t.ne[3],
        if bytes.is_empty() { -1 } else { s.off as i64 }
    );
    let _ = s.data.write_all(&bytes);
    let _ = s.index.write_all(line.as_bytes());
    s.n += 1;
    s.off += bytes.len();
}
