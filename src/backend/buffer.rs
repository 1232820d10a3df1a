//! Host buffers and the counted allocator every buffer goes through.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::graph::ExternalMemory;
use crate::tensor::ExternalRef;

/// Counts the allocations of one device; can be sealed so later allocations fail.
#[derive(Debug, Default)]
pub struct AllocCounter {
    count: AtomicU64,
    bytes: AtomicU64,
    live_bytes: AtomicU64,
    denied: AtomicU64,
    sealed: AtomicBool,
    budget: AtomicU64,
}

/// A snapshot of an [`AllocCounter`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AllocStats {
    /// Successful allocations so far.
    pub count: u64,
    /// Bytes allocated so far (not reduced by frees).
    pub bytes: u64,
    /// Bytes currently allocated.
    pub live_bytes: u64,
    /// Allocation attempts refused (sealed or over budget).
    pub denied: u64,
    /// Whether the counter is sealed.
    pub sealed: bool,
}

impl AllocCounter {
    /// A fresh, unsealed counter with no byte budget.
    pub fn new() -> Arc<AllocCounter> {
        Arc::new(AllocCounter {
            budget: AtomicU64::new(u64::MAX),
            ..Default::default()
        })
    }

    /// A counter that refuses to hold more than `budget` live bytes (simulated devices).
    pub fn with_budget(budget: u64) -> Arc<AllocCounter> {
        Arc::new(AllocCounter {
            budget: AtomicU64::new(budget),
            ..Default::default()
        })
    }

    /// After this, every allocation fails with an out-of-memory error and is counted.
    pub fn seal(&self) {
        self.sealed.store(true, Ordering::SeqCst);
    }

    /// Allows allocations again (a context being rebuilt).
    pub fn unseal(&self) {
        self.sealed.store(false, Ordering::SeqCst);
    }

    /// Current numbers.
    pub fn stats(&self) -> AllocStats {
        AllocStats {
            count: self.count.load(Ordering::SeqCst),
            bytes: self.bytes.load(Ordering::SeqCst),
            live_bytes: self.live_bytes.load(Ordering::SeqCst),
            denied: self.denied.load(Ordering::SeqCst),
            sealed: self.sealed.load(Ordering::SeqCst),
        }
    }

    /// Records an allocation of `size` bytes, or refuses it.
    pub fn reserve(&self, size: usize) -> Result<()> {
        if self.sealed.load(Ordering::SeqCst) {
            self.denied.fetch_add(1, Ordering::SeqCst);
            return Err(Error::oom(format!(
                "allocation of {size} bytes after the device was sealed"
            )));
        }
        let budget = self.budget.load(Ordering::SeqCst);
        let live = self.live_bytes.fetch_add(size as u64, Ordering::SeqCst) + size as u64;
        if live > budget {
            self.live_bytes.fetch_sub(size as u64, Ordering::SeqCst);
            self.denied.fetch_add(1, Ordering::SeqCst);
            return Err(Error::oom(format!(
                "{size} bytes requested, {} of {budget} in use",
                live - size as u64
            )));
        }
        self.count.fetch_add(1, Ordering::SeqCst);
        self.bytes.fetch_add(size as u64, Ordering::SeqCst);
        Ok(())
    }

    /// Records that `size` bytes were freed.
    pub fn release(&self, size: usize) {
        self.live_bytes.fetch_sub(size as u64, Ordering::SeqCst);
    }
}

/// Zero-initialised, aligned host memory, counted by an [`AllocCounter`].
///
/// The bytes are reached through `&mut self` only, so a shared `&HostBuffer` lent to a graph
/// as external memory (KV cache) is the only way to them while the graph exists; the type is
/// `Send` but not `Sync`, so that borrow never crosses threads.
pub struct HostBuffer {
    ptr: *mut u8,
    len: usize,
    layout: Layout,
    counter: Arc<AllocCounter>,
}

// SAFETY: the buffer owns its allocation exclusively; moving it to another thread moves that
// ownership. It is deliberately not Sync (see the type's documentation).
unsafe impl Send for HostBuffer {}

impl HostBuffer {
    /// Allocates `len` zeroed bytes aligned to `align` (a power of two), counted by `counter`.
    pub fn new(counter: &Arc<AllocCounter>, len: usize, align: usize) -> Result<HostBuffer> {
        let layout = Layout::from_size_align(len.max(1), align.max(1))
            .map_err(|_| Error::invalid(format!("buffer of {len} bytes aligned to {align}")))?;
        counter.reserve(len)?;
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { alloc_zeroed(layout) };
        if ptr.is_null() {
            counter.release(len);
            return Err(Error::oom(format!("host allocation of {len} bytes failed")));
        }
        Ok(HostBuffer {
            ptr,
            len,
            layout,
            counter: counter.clone(),
        })
    }

    /// Size in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a zero-byte buffer.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_slice(&mut self) -> &[u8] {
        // SAFETY: ptr is valid for len bytes for the life of self; `&mut self` excludes
        // writers through a graph borrow.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }

    /// The bytes, writable.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as for `as_slice`, and `&mut self` makes this the only reference.
        unsafe { std::slice::from_raw_parts_mut(self.ptr, self.len) }
    }

    /// Start address (for alignment checks and device descriptors).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        // SAFETY: ptr was allocated with this layout and is freed once.
        unsafe { dealloc(self.ptr, self.layout) };
        self.counter.release(self.len);
    }
}

impl std::fmt::Debug for HostBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HostBuffer({} bytes)", self.len)
    }
}

// SAFETY: the region is valid for the buffer's life; while a graph holds `&HostBuffer` no
// `&mut` access exists, and `!Sync` keeps that borrow on one thread.
unsafe impl ExternalMemory for HostBuffer {
    fn external_region(&self) -> ExternalRef {
        ExternalRef {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

impl super::Buffer for HostBuffer {
    fn size(&self) -> usize {
        self.len
    }
    fn host_ptr(&self) -> Option<*mut u8> {
        Some(self.ptr)
    }
}
