//! Tensor descriptors (type, ne, nb, views) in an arena of [`TensorId`]. No data, no arithmetic.
//!
//! A descriptor says *what* a tensor is (element type, shape `ne`, byte strides `nb`, name) and
//! *where its bytes live* ([`Storage`]): caller-owned weights, caller-filled inputs, caller-owned
//! persistent buffers (KV cache), the planned compute arena, or a view into another tensor.
//! Shapes follow ggml: `ne[0]` is the innermost (contiguous) dimension, `nb[i]` is the byte
//! stride of dimension `i`, and for block-quantized types `nb[0]` is the block size in bytes
//! while `nb[1]` is the row size.
#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::quant::GgmlType;

/// Maximum number of dimensions (as `GGML_MAX_DIMS`).
pub const MAX_DIMS: usize = 4;

/// Index of a tensor in its graph's arena.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(pub u32);

impl TensorId {
    /// The index as `usize`.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A caller-owned persistent byte region that graph ops may write (KV cache tensors).
///
/// Built safely from a [`crate::backend::HostBuffer`] (see `Graph::external`) or unsafely from
/// a raw pointer. The pointer must stay valid for reads and writes, and not be accessed by
/// anything else, while a graph that refers to it is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalRef {
    /// Start of the region.
    pub ptr: *mut u8,
    /// Length of the region in bytes.
    pub len: usize,
}

/// Where a tensor's bytes live.
#[derive(Clone, Copy, Debug)]
pub enum Storage<'a> {
    /// Read-only bytes the caller owns (an mmap slice, a repacked buffer). `None` means "shape
    /// only": such a graph can be planned but not computed (memory plans built from metadata).
    Weight(Option<&'a [u8]>),
    /// Bytes the caller supplies for each compute call (token ids, positions, masks...).
    Input,
    /// A persistent caller-owned buffer (KV cache), readable and writable by ops.
    External(ExternalRef),
    /// An intermediate result: the planner gives it an offset in the compute arena.
    Arena,
    /// A view of bytes of another tensor, starting `offset` bytes into it.
    View {
        /// The viewed tensor (may itself be a view).
        src: TensorId,
        /// Byte offset from the start of `src`'s data.
        offset: usize,
    },
}

/// One tensor descriptor.
#[derive(Clone, Debug)]
pub struct Tensor<'a> {
    /// Element type.
    pub ty: GgmlType,
    /// Number of elements per dimension, `ne[0]` innermost.
    pub ne: [i64; MAX_DIMS],
    /// Stride in bytes per dimension.
    pub nb: [usize; MAX_DIMS],
    /// Where the bytes live.
    pub storage: Storage<'a>,
    /// Name, as llama.cpp names intermediates (`"attn_norm-3"`, `"blk.0.attn_q.weight"`).
    pub name: String,
}

/// Strides of a contiguous tensor of type `ty` and shape `ne`.
pub fn contiguous_strides(ty: GgmlType, ne: &[i64; MAX_DIMS]) -> [usize; MAX_DIMS] {
    let ts = ty.type_size();
    let bs = ty.block_size() as i64;
    let mut nb = [0usize; MAX_DIMS];
    nb[0] = ts;
    nb[1] = ts * (ne[0] / bs).max(0) as usize;
    nb[2] = nb[1] * ne[1].max(0) as usize;
    nb[3] = nb[2] * ne[2].max(0) as usize;
    nb
}

/// Checks a shape: every dimension at least 1 (ggml allows 0 only for empty tensors, which we
/// also accept), row length a multiple of the block size, total byte size representable.
pub fn check_shape(ty: GgmlType, ne: &[i64; MAX_DIMS]) -> Result<()> {
    if ne.iter().any(|&n| n < 0) {
        return Err(Error::invalid(format!(
            "negative dimension in shape {ne:?}"
        )));
    }
    if ne[0] % ty.block_size() as i64 != 0 {
        return Err(Error::invalid(format!(
            "{} row of {} elements is not a multiple of the block size {}",
            ty.name(),
            ne[0],
            ty.block_size()
        )));
    }
    let mut n: u64 = ty.row_size(ne[0] as u64)?;
    for &d in &ne[1..] {
        n = n
            .checked_mul(d as u64)
            .filter(|&v| v <= isize::MAX as u64)
            .ok_or_else(|| Error::invalid(format!("shape {ne:?} is too large")))?;
    }
    Ok(())
}

impl Tensor<'_> {
    /// Total number of elements.
    pub fn nelements(&self) -> i64 {
        self.ne.iter().product()
    }

    /// Number of rows (`ne[1] * ne[2] * ne[3]`).
    pub fn nrows(&self) -> i64 {
        self.ne[1] * self.ne[2] * self.ne[3]
    }

    /// Bytes of one contiguous row of `ne[0]` elements.
    pub fn row_bytes(&self) -> usize {
        self.ty.type_size() * (self.ne[0] / self.ty.block_size() as i64) as usize
    }

    /// Bytes spanned by the tensor (as `ggml_nbytes`): from the first to one past the last
    /// byte addressed through `ne`/`nb`.
    pub fn nbytes(&self) -> usize {
        if self.ne.contains(&0) {
            return 0;
        }
        let bs = self.ty.block_size() as i64;
        let mut n = self.row_bytes();
        if bs == 1 {
            n = self.ty.type_size();
            n += (self.ne[0] as usize - 1) * self.nb[0];
        }
        for i in 1..MAX_DIMS {
            n += (self.ne[i] as usize - 1) * self.nb[i];
        }
        n
    }

    /// True when the elements are densely packed in ggml order.
    pub fn is_contiguous(&self) -> bool {
        let c = contiguous_strides(self.ty, &self.ne);
        (0..MAX_DIMS).all(|i| self.ne[i] == 1 || self.nb[i] == c[i])
    }

    /// True when each row (`ne[0]` elements) is contiguous (`nb[0]` is the element/block size).
    pub fn is_contiguous_rows(&self) -> bool {
        self.ne[0] == 1 || self.nb[0] == self.ty.type_size()
    }

    /// True when `nb[0] > nb[1]` (as `ggml_is_transposed`).
    pub fn is_transposed(&self) -> bool {
        self.nb[0] > self.nb[1]
    }

    /// Same `ne` as `other`.
    pub fn same_shape(&self, other: &Tensor<'_>) -> bool {
        self.ne == other.ne
    }

    /// Byte offset of element (i0 is a block index for quantized types) `i` from the start.
    pub fn offset_of(&self, i: [i64; MAX_DIMS]) -> usize {
        (0..MAX_DIMS).map(|d| i[d] as usize * self.nb[d]).sum()
    }
}

/// Shape as a 4-element array from a slice of 1 to 4 dims (missing dims are 1).
pub fn ne4(ne: &[i64]) -> Result<[i64; MAX_DIMS]> {
    if ne.is_empty() || ne.len() > MAX_DIMS {
        return Err(Error::invalid(format!(
            "shape {ne:?} must have 1 to 4 dims"
        )));
    }
    let mut out = [1i64; MAX_DIMS];
    out[..ne.len()].copy_from_slice(ne);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_and_sizes() {
        let ne = [64, 3, 2, 1];
        let nb = contiguous_strides(GgmlType::Q4_0, &ne);
        assert_eq!(nb, [18, 36, 108, 216]);
        let t = Tensor {
            ty: GgmlType::Q4_0,
            ne,
            nb,
            storage: Storage::Arena,
            name: String::new(),
        };
        assert_eq!(t.nbytes(), 216);
        assert!(t.is_contiguous());
        let t2 = Tensor {
            ne: [3, 64, 2, 1],
            nb: [256, 4, 768, 1536],
            ty: GgmlType::F32,
            ..t
        };
        assert!(t2.is_transposed());
        assert!(!t2.is_contiguous());
        assert_eq!(t2.nbytes(), 4 + 2 * 256 + 63 * 4 + 768);
    }
}
