//! `GgufFile`: one model, possibly split across several files, mapped read-only. Tensor data is
//! never read or copied here; `tensor_data` hands out slices of the mapping.

use std::path::{Path, PathBuf};

use super::parse::{parse_header, Header};
use super::value::{int_to, Array, Value};
use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Bytes behind a GGUF file: a read-only mapping, or an owned buffer (tests, in-memory files).
enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
        }
    }
}

/// A tensor of the model: where its bytes are and what they hold.
#[derive(Clone, Debug)]
pub struct TensorInfo {
    /// Tensor name, e.g. `blk.0.attn_q.weight`.
    pub name: String,
    /// Element type.
    pub ty: GgmlType,
    /// Dimensions in ggml order (`ne[0]` is the row length).
    pub ne: Vec<u64>,
    /// Absolute byte offset in its file.
    pub offset: u64,
    /// Bytes of data.
    pub n_bytes: u64,
    /// Which split file holds it (0 for single-file models).
    pub file: usize,
}

impl TensorInfo {
    /// Number of elements.
    pub fn n_elements(&self) -> u64 {
        self.ne.iter().product()
    }
}

/// One mapped part of a (possibly split) model.
struct Part {
    path: PathBuf,
    bytes: Bytes,
}

/// A GGUF model: the metadata of its first file and the tensors of all its files.
pub struct GgufFile {
    version: u32,
    alignment: u64,
    metadata: Vec<(String, Value)>,
    tensors: Vec<TensorInfo>,
    parts: Vec<Part>,
}

impl std::fmt::Debug for GgufFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GgufFile")
            .field("path", &self.path())
            .field("version", &self.version)
            .field("n_kv", &self.metadata.len())
            .field("n_tensors", &self.tensors.len())
            .finish()
    }
}

fn map_file(path: &Path) -> Result<Bytes> {
    let shown = path.display();
    let file = std::fs::File::open(path).map_err(|e| Error::io(format!("{shown}: {e}")))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io(format!("{shown}: {e}")))?
        .len();
    if len == 0 {
        return Ok(Bytes::Owned(Vec::new()));
    }
    // SAFETY: the mapping is read-only and private to this process. A file truncated by another
    // process while mapped would fault on access; that is the same contract upstream's mmap
    // loader has, and every offset we hand out was checked against the length at open time.
    let map = unsafe { memmap2::Mmap::map(&file) }
        .map_err(|e| Error::io(format!("{shown}: mmap: {e}")))?;
    Ok(Bytes::Mapped(map))
}

/// The path of split `no` (1-based) of `count`, given the path of any split of the model,
/// following upstream's `PREFIX-%05d-of-%05d.gguf` naming.
pub fn split_path(any_split: &Path, no: u32, count: u32) -> Option<PathBuf> {
    let s = any_split.to_str()?;
    let stem = s.strip_suffix(".gguf")?;
    let suffix = format!("-of-{count:05}");
    let prefix = stem.strip_suffix(&suffix)?;
    let dash = prefix.rfind('-')?;
    Some(PathBuf::from(format!(
        "{}-{no:05}-of-{count:05}.gguf",
        &prefix[..dash]
    )))
}

impl GgufFile {
    /// Opens and maps a GGUF file. When its metadata says it is split (`split.count` > 1),
    /// every split is opened (found by upstream's naming scheme) and the tensors of all of
    /// them are listed as one model; metadata is the first split's.
    pub fn open(path: &Path) -> Result<GgufFile> {
        let first = Self::from_part(path.to_path_buf(), map_file(path)?)?;
        let count = first.get_u32("split.count")?.unwrap_or(1);
        if count <= 1 {
            return Ok(first);
        }
        let no = first.get_u32("split.no")?.unwrap_or(0);
        let paths: Vec<PathBuf> = (1..=count)
            .map(|i| {
                split_path(path, i, count).ok_or_else(|| {
                    Error::invalid(format!(
                        "{}: split {} of {count} but the name does not follow PREFIX-NNNNN-of-{count:05}.gguf",
                        path.display(),
                        no + 1
                    ))
                })
            })
            .collect::<Result<_>>()?;
        Self::open_splits(&paths)
    }

    /// Maps a GGUF that starts `offset` bytes into an open file (upstream's
    /// `llama_model_load_from_file_ptr`: a GGUF embedded in a larger file). `shown` names it in
    /// messages. The offset must keep the tensor data 32-byte aligned, as upstream's mmap path
    /// requires; split models are not followed.
    pub fn open_file_at(file: &std::fs::File, offset: u64, shown: &str) -> Result<GgufFile> {
        if !offset.is_multiple_of(32) {
            return Err(Error::invalid(format!(
                "{shown}: the GGUF starts at offset {offset}, which is not 32-byte aligned"
            )));
        }
        let len = file
            .metadata()
            .map_err(|e| Error::io(format!("{shown}: {e}")))?
            .len();
        if offset >= len {
            return Err(Error::invalid(format!(
                "{shown}: no GGUF data at offset {offset} (the file has {len} bytes)"
            )));
        }
        // SAFETY: as in `map_file`: read-only, private, bounds checked against the length here.
        let map = unsafe { memmap2::MmapOptions::new().offset(offset).map(file) }
            .map_err(|e| Error::io(format!("{shown}: mmap: {e}")))?;
        Self::from_part(PathBuf::from(shown), Bytes::Mapped(map))
    }

    /// Opens the given split files, in order, as one model.
    pub fn open_splits(paths: &[PathBuf]) -> Result<GgufFile> {
        let first_path = paths
            .first()
            .ok_or_else(|| Error::invalid("no model files given"))?;
        let mut model = Self::from_part(first_path.clone(), map_file(first_path)?)?;
        if paths.len() == 1 {
            return Ok(model);
        }
        for (i, p) in paths.iter().enumerate().skip(1) {
            let part = Self::from_part(p.clone(), map_file(p)?)?;
            let no = part.get_u32("split.no")?;
            if no.is_some_and(|n| n as usize != i) {
                return Err(Error::invalid(format!(
                    "{}: expected split.no {i}, found {no:?}",
                    p.display()
                )));
            }
            model.absorb(part, i)?;
        }
        let declared = model.get_u32("split.count")?.unwrap_or(1) as usize;
        if declared != paths.len() {
            return Err(Error::invalid(format!(
                "{}: split.count is {declared} but {} files were given",
                first_path.display(),
                paths.len()
            )));
        }
        if let Some(n) = model.get_u64("split.tensors.count")? {
            if n as usize != model.tensors.len() {
                return Err(Error::format(format!(
                    "{}: split.tensors.count is {n} but the splits hold {} tensors",
                    first_path.display(),
                    model.tensors.len()
                )));
            }
        }
        Ok(model)
    }

    /// Parses a GGUF file held in memory (tests, fuzzing).
    pub fn parse_bytes(name: &str, bytes: Vec<u8>) -> Result<GgufFile> {
        Self::from_part(PathBuf::from(name), Bytes::Owned(bytes))
    }

    fn from_part(path: PathBuf, bytes: Bytes) -> Result<GgufFile> {
        let shown = path.display().to_string();
        let Header {
            version,
            metadata,
            tensors,
            alignment,
            data_offset,
        } = parse_header(&shown, bytes.as_slice())?;
        let tensors = tensors
            .into_iter()
            .map(|t| TensorInfo {
                name: t.name,
                ty: t.ty,
                ne: t.ne,
                offset: data_offset + t.rel_offset,
                n_bytes: t.n_bytes,
                file: 0,
            })
            .collect();
        Ok(GgufFile {
            version,
            alignment,
            metadata,
            tensors,
            parts: vec![Part { path, bytes }],
        })
    }

    fn absorb(&mut self, mut part: GgufFile, file: usize) -> Result<()> {
        for mut t in part.tensors.drain(..) {
            if self.tensor(&t.name).is_some() {
                return Err(Error::format(format!(
                    "{}: tensor {} also appears in an earlier split",
                    part.parts[0].path.display(),
                    t.name
                )));
            }
            t.file = file;
            self.tensors.push(t);
        }
        self.parts.append(&mut part.parts);
        Ok(())
    }

    /// Path of the first (or only) file.
    pub fn path(&self) -> &Path {
        &self.parts[0].path
    }

    /// Paths of every split file, in order.
    pub fn paths(&self) -> Vec<&Path> {
        self.parts.iter().map(|p| p.path.as_path()).collect()
    }

    /// GGUF format version (2 or 3).
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Data alignment (`general.alignment`, default 32).
    pub fn alignment(&self) -> u64 {
        self.alignment
    }

    /// Every key/value pair, in file order.
    pub fn metadata(&self) -> &[(String, Value)] {
        &self.metadata
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every tensor, in file order (split by split).
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The tensor called `name`, if present.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The bytes of a tensor (a slice of the mapping: nothing is read until it is touched).
    pub fn tensor_data(&self, t: &TensorInfo) -> &[u8] {
        let bytes = self
            .parts
            .get(t.file)
            .map(|p| p.bytes.as_slice())
            .unwrap_or(&[]);
        // Offsets were checked against the file length when the header was parsed; `get`
        // keeps a TensorInfo from another file from panicking.
        bytes
            .get(t.offset as usize..(t.offset + t.n_bytes) as usize)
            .unwrap_or(&[])
    }

    /// Total bytes of all mapped files.
    pub fn file_size(&self) -> u64 {
        self.parts
            .iter()
            .map(|p| p.bytes.as_slice().len() as u64)
            .sum()
    }

    fn typed<'a, T>(
        &'a self,
        key: &str,
        want: &str,
        f: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => f(v).map(Some).ok_or_else(|| {
                Error::format(format!(
                    "{}: key {key}: expected {want}, found {}",
                    self.path().display(),
                    v.value_type().name()
                ))
            }),
        }
    }

    fn int<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => int_to(key, v)
                .map(Some)
                .map_err(|e| e.within(self.path().display())),
        }
    }

    /// A string value (must be UTF-8).
    pub fn get_str(&self, key: &str) -> Result<Option<&str>> {
        self.typed(key, "a UTF-8 string", |v| {
            v.as_bytes().and_then(|b| std::str::from_utf8(b).ok())
        })
    }
    /// An integer value that fits in u32 (any integer type).
    pub fn get_u32(&self, key: &str) -> Result<Option<u32>> {
        self.int(key)
    }
    /// An integer value that fits in i32 (any integer type).
    pub fn get_i32(&self, key: &str) -> Result<Option<i32>> {
        self.int(key)
    }
    /// An integer value that fits in u64 (any integer type).
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>> {
        self.int(key)
    }
    /// A float value (f32 or f64, returned as f32).
    pub fn get_f32(&self, key: &str) -> Result<Option<f32>> {
        self.typed(key, "a float", |v| v.as_f64().map(|f| f as f32))
    }
    /// A bool value.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>> {
        self.typed(key, "a bool", |v| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        })
    }
    /// An array value of any element type.
    pub fn get_array(&self, key: &str) -> Result<Option<&Array>> {
        self.typed(key, "an array", Value::as_array)
    }
    /// An array of strings, as raw bytes.
    pub fn get_str_array(&self, key: &str) -> Result<Option<Vec<&[u8]>>> {
        self.typed(key, "an array of strings", |v| match v.as_array()? {
            Array::String(s) => Some(s.iter().map(Vec::as_slice).collect()),
            _ => None,
        })
    }
    /// An array of floats (f32 or f64 elements).
    pub fn get_f32_array(&self, key: &str) -> Result<Option<Vec<f32>>> {
        self.typed(key, "an array of floats", |v| match v.as_array()? {
            Array::F32(a) => Some(a.clone()),
            Array::F64(a) => Some(a.iter().map(|&x| x as f32).collect()),
            _ => None,
        })
    }
    /// An array of integers that all fit in i32.
    pub fn get_i32_array(&self, key: &str) -> Result<Option<Vec<i32>>> {
        self.int_array(key)
    }
    /// An array of integers that all fit in u32.
    pub fn get_u32_array(&self, key: &str) -> Result<Option<Vec<u32>>> {
        self.int_array(key)
    }

    fn int_array<T: TryFrom<i128>>(&self, key: &str) -> Result<Option<Vec<T>>> {
        self.typed(key, "an array of integers", |v| {
            let a = v.as_array()?;
            (0..a.len())
                .map(|i| a.int_at(i).and_then(|x| T::try_from(x).ok()))
                .collect()
        })
    }
}
