//! The GGUF header parser: a bounds-checked cursor over the file bytes. Every count and
//! length is checked against the bytes that remain before anything is allocated, so a
//! hostile header cannot make us reserve more memory than the file could describe.

use super::value::{Array, Value, ValueType};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// `"GGUF"` read as a little-endian u32.
pub const GGUF_MAGIC: [u8; 4] = *b"GGUF";
/// Default data alignment when `general.alignment` is absent.
pub const DEFAULT_ALIGNMENT: u64 = 32;
/// Most dimensions a tensor may have (`GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;
/// Deepest array nesting we accept (upstream accepts none; real files use none).
const MAX_ARRAY_DEPTH: usize = 8;

/// A tensor's description as read from the header (offset still relative to the data section).
#[derive(Clone, Debug)]
pub struct RawTensorInfo {
    /// Tensor name.
    pub name: String,
    /// Element type.
    pub ty: GgmlType,
    /// Dimensions, `ne[0]` innermost.
    pub ne: Vec<u64>,
    /// Offset relative to the data section.
    pub rel_offset: u64,
    /// Bytes of data.
    pub n_bytes: u64,
}

/// Everything in a GGUF header.
#[derive(Debug)]
pub struct Header {
    /// Format version (2 or 3).
    pub version: u32,
    /// Key/value pairs in file order.
    pub metadata: Vec<(String, Value)>,
    /// Tensor descriptions in file order.
    pub tensors: Vec<RawTensorInfo>,
    /// Data alignment.
    pub alignment: u64,
    /// Absolute offset of the data section.
    pub data_offset: u64,
}

/// A cursor that names the file and the offset in every error.
struct Cursor<'a> {
    name: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn err(&self, what: impl std::fmt::Display) -> Error {
        Error::format(format!("{}: offset {}: {what}", self.name, self.pos))
    }

    fn remaining(&self) -> u64 {
        (self.bytes.len() - self.pos) as u64
    }

    fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(self.err(format!(
                "need {n} bytes, file has {} left",
                self.remaining()
            )));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.bytes[start..self.pos])
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N as u64)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }
    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// A count of items each taking at least `min_size` bytes: must fit in what is left.
    fn count(&mut self, what: &str, min_size: u64) -> Result<usize> {
        let at = self.pos;
        let n = self.u64()?;
        if n.checked_mul(min_size).is_none_or(|b| b > self.remaining()) {
            self.pos = at;
            return Err(self.err(format!(
                "{what} count {n} cannot fit in the {} bytes left",
                self.remaining()
            )));
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Result<Vec<u8>> {
        let n = self.count("string length", 1)?;
        Ok(self.take(n as u64)?.to_vec())
    }

    fn utf8_string(&mut self, what: &str) -> Result<String> {
        let at = self.pos;
        let s = self.string()?;
        String::from_utf8(s).map_err(|_| {
            self.pos = at;
            self.err(format!("{what} is not valid UTF-8"))
        })
    }

    fn value_type(&mut self) -> Result<ValueType> {
        let at = self.pos;
        let t = self.u32()?;
        ValueType::from_u32(t).ok_or_else(|| {
            self.pos = at;
            self.err(format!("unknown value type {t}"))
        })
    }

    fn value(&mut self, ty: ValueType, depth: usize) -> Result<Value> {
        Ok(match ty {
            ValueType::U8 => Value::U8(self.u8()?),
            ValueType::I8 => Value::I8(self.u8()? as i8),
            ValueType::U16 => Value::U16(self.u16()?),
            ValueType::I16 => Value::I16(self.u16()? as i16),
            ValueType::U32 => Value::U32(self.u32()?),
            ValueType::I32 => Value::I32(self.u32()? as i32),
            ValueType::U64 => Value::U64(self.u64()?),
            ValueType::I64 => Value::I64(self.u64()? as i64),
            ValueType::F32 => Value::F32(f32::from_bits(self.u32()?)),
            ValueType::F64 => Value::F64(f64::from_bits(self.u64()?)),
            ValueType::Bool => Value::Bool(self.bool()?),
            ValueType::String => Value::String(self.string()?),
            ValueType::Array => Value::Array(self.array_value(depth + 1)?),
        })
    }

    fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => {
                self.pos -= 1;
                Err(self.err(format!("bool byte {b} is neither 0 nor 1")))
            }
        }
    }

    fn array_value(&mut self, depth: usize) -> Result<Array> {
        if depth > MAX_ARRAY_DEPTH {
            return Err(self.err(format!("arrays nested deeper than {MAX_ARRAY_DEPTH}")));
        }
        let ty = self.value_type()?;
        let n = self.count("array element", ty.min_encoded_size())?;
        macro_rules! read_vec {
            ($variant:ident, $read:expr) => {{
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push($read(&mut *self)?);
                }
                Array::$variant(v)
            }};
        }
        Ok(match ty {
            ValueType::U8 => Array::U8(self.take(n as u64)?.to_vec()),
            ValueType::I8 => Array::I8(self.take(n as u64)?.iter().map(|&b| b as i8).collect()),
            ValueType::U16 => read_vec!(U16, |c: &mut Self| c.u16()),
            ValueType::I16 => read_vec!(I16, |c: &mut Self| c.u16().map(|v| v as i16)),
            ValueType::U32 => read_vec!(U32, |c: &mut Self| c.u32()),
            ValueType::I32 => read_vec!(I32, |c: &mut Self| c.u32().map(|v| v as i32)),
            ValueType::U64 => read_vec!(U64, |c: &mut Self| c.u64()),
            ValueType::I64 => read_vec!(I64, |c: &mut Self| c.u64().map(|v| v as i64)),
            ValueType::F32 => read_vec!(F32, |c: &mut Self| c.u32().map(f32::from_bits)),
            ValueType::F64 => read_vec!(F64, |c: &mut Self| c.u64().map(f64::from_bits)),
            ValueType::Bool => read_vec!(Bool, |c: &mut Self| c.bool()),
            ValueType::String => read_vec!(String, |c: &mut Self| c.string()),
            ValueType::Array => read_vec!(Array, |c: &mut Self| c.array_value(depth + 1)),
        })
    }
}

/// Parses the header of a GGUF file and checks every tensor against the file size.
pub fn parse_header(name: &str, bytes: &[u8]) -> Result<Header> {
    let mut c = Cursor {
        name,
        bytes,
        pos: 0,
    };
    if c.array::<4>()? != GGUF_MAGIC {
        c.pos = 0;
        return Err(c.err("bad magic: not a GGUF file"));
    }
    let version = c.u32()?;
    if version == 1 {
        return Err(c.err("GGUF version 1 is not supported"));
    }
    if !(2..=3).contains(&version) {
        // A byte-swapped version means a big-endian file.
        return Err(c.err(format!("unsupported GGUF version {version}")));
    }
    // Each tensor info takes at least 8 (name) + 4 (n_dims) + 4 (type) + 8 (offset) bytes,
    // each key/value at least 8 (key) + 4 (type) + 1 (value).
    let n_tensors = c.count("tensor", 24)?;
    let n_kv = c.count("key/value", 13)?;

    let mut metadata: Vec<(String, Value)> = Vec::with_capacity(n_kv);
    for _ in 0..n_kv {
        let at = c.pos;
        let key = c.utf8_string("key")?;
        if metadata.iter().any(|(k, _)| *k == key) {
            c.pos = at;
            return Err(c.err(format!("duplicate key {key}")));
        }
        let ty = c.value_type()?;
        let value = c.value(ty, 0).map_err(|e| e.within(format!("key {key}")))?;
        metadata.push((key, value));
    }

    let alignment = match metadata.iter().find(|(k, _)| k == "general.alignment") {
        None => DEFAULT_ALIGNMENT,
        Some((_, Value::U32(a))) if *a != 0 && a.is_power_of_two() => *a as u64,
        Some((_, v)) => {
            return Err(c.err(format!(
                "general.alignment must be a power-of-two u32, got {v:?}"
            )))
        }
    };

    let mut tensors: Vec<RawTensorInfo> = Vec::with_capacity(n_tensors);
    for _ in 0..n_tensors {
        tensors.push(tensor_info(&mut c)?);
    }
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(c.err(format!("duplicate tensor name {}", w[0])));
    }

    let data_offset = (c.pos as u64).next_multiple_of(alignment);
    let file_len = bytes.len() as u64;
    if n_tensors > 0 && data_offset > file_len {
        return Err(c.err(format!(
            "data section at {data_offset} starts past the end ({file_len})"
        )));
    }
    check_tensor_ranges(name, &tensors, alignment, data_offset, file_len)?;
    Ok(Header {
        version,
        metadata,
        tensors,
        alignment,
        data_offset,
    })
}

fn tensor_info(c: &mut Cursor<'_>) -> Result<RawTensorInfo> {
    let name = c.utf8_string("tensor name")?;
    let at = c.pos;
    let n_dims = c.u32()? as usize;
    if n_dims > MAX_DIMS {
        c.pos = at;
        return Err(c.err(format!(
            "tensor {name}: {n_dims} dimensions (max {MAX_DIMS})"
        )));
    }
    let mut ne = Vec::with_capacity(n_dims);
    let mut n_elements: u64 = 1;
    for _ in 0..n_dims {
        let d = c.u64()?;
        if d > i64::MAX as u64 {
            return Err(c.err(format!("tensor {name}: negative dimension")));
        }
        n_elements = n_elements
            .checked_mul(d)
            .filter(|&n| n <= i64::MAX as u64)
            .ok_or_else(|| c.err(format!("tensor {name}: element count overflows")))?;
        ne.push(d);
    }
    let at = c.pos;
    let raw_ty = c.u32()?;
    let ty = GgmlType::from_u32(raw_ty).ok_or_else(|| {
        c.pos = at;
        c.err(format!("tensor {name}: unknown ggml type {raw_ty}"))
    })?;
    let row = ne.first().copied().unwrap_or(1);
    let rows = n_elements.checked_div(row).unwrap_or(0);
    let n_bytes = ty
        .row_size(row)
        .and_then(|r| {
            r.checked_mul(rows)
                .ok_or_else(|| Error::format("byte size overflows".to_string()))
        })
        .map_err(|e| c.err(format!("tensor {name}: {}", e.context)))?;
    let rel_offset = c.u64()?;
    Ok(RawTensorInfo {
        name,
        ty,
        ne,
        rel_offset,
        n_bytes,
    })
}

/// Checks alignment, bounds and overlap of every tensor's data range.
fn check_tensor_ranges(
    name: &str,
    tensors: &[RawTensorInfo],
    alignment: u64,
    data_offset: u64,
    file_len: u64,
) -> Result<()> {
    let data_len = file_len.saturating_sub(data_offset);
    let mut ranges: Vec<(u64, u64, &str)> = Vec::with_capacity(tensors.len());
    for t in tensors {
        if t.rel_offset % alignment != 0 {
            return Err(Error::format(format!(
                "{name}: tensor {}: data offset {} is not a multiple of the alignment {alignment}",
                t.name, t.rel_offset
            )));
        }
        // Like upstream, the data section must hold every tensor's padded size, so a file cut
        // anywhere (even inside the last tensor's padding) is rejected.
        let padded = t.n_bytes.checked_next_multiple_of(alignment);
        padded
            .and_then(|p| t.rel_offset.checked_add(p))
            .filter(|&e| e <= data_len)
            .ok_or_else(|| {
            Error::format(format!(
                "{name}: tensor {}: data [{}, +{}) at file offset {} runs past the end of the file ({file_len} bytes)",
                t.name,
                t.rel_offset,
                t.n_bytes,
                data_offset.saturating_add(t.rel_offset)
            ))
        })?;
        ranges.push((t.rel_offset, t.rel_offset + t.n_bytes, &t.name));
    }
    ranges.sort_unstable();
    for w in ranges.windows(2) {
        if w[1].0 < w[0].1 {
            return Err(Error::format(format!(
                "{name}: tensors {} and {} overlap at file offset {}",
                w[0].2,
                w[1].2,
                data_offset + w[1].0
            )));
        }
    }
    Ok(())
}
