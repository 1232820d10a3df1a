//! One simulated device: a byte budget, counters, failure injection and (optionally) real
//! zeroed host memory behind each buffer.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::backend::{AllocCounter, Buffer, BufferType, Device, DeviceKind};
use crate::error::{Error, Result};

/// Alignment of every simulated buffer (as CUDA's 256-byte allocation granularity).
pub const SIM_ALIGNMENT: usize = 256;

/// Counters of a simulated device.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SimStats {
    /// Bytes currently allocated.
    pub allocated: u64,
    /// Most bytes ever allocated at once.
    pub peak: u64,
    /// Successful allocations so far.
    pub n_allocs: u64,
    /// Allocations refused (budget, injection or seal).
    pub n_failed: u64,
    /// Allocation attempts made while sealed.
    pub n_after_seal: u64,
}

#[derive(Debug, Default)]
struct State {
    peak: u64,
    n_failed: u64,
    n_after_seal: u64,
    /// 1-based index of the attempt that must fail (counting every attempt).
    fail_at: Option<u64>,
    attempts: u64,
}

/// What the device, its buffer type and its buffers share.
#[derive(Debug)]
struct Inner {
    name: String,
    budget: u64,
    backed: bool,
    /// Budget, seal and live bytes: the engine's per-device counter.
    counter: Arc<AllocCounter>,
    /// Peak, failures and failure injection.
    state: Mutex<State>,
}

/// A simulated GPU. Clones share the same counters.
#[derive(Clone, Debug)]
pub struct SimDevice {
    inner: Arc<Inner>,
    buft: SimBufferType,
}

/// The buffer type of a simulated device (named after the device, as `CUDA0`'s is).
#[derive(Clone, Debug)]
pub struct SimBufferType {
    inner: Arc<Inner>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panic while holding this lock cannot leave the counters half-updated (every update is
    // a few integer stores), so a poisoned lock is still usable.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimDevice {
    /// A device called `name` with `budget` bytes; `backed` puts real memory behind buffers.
    pub fn new(name: String, budget: u64, backed: bool) -> Self {
        let inner = Arc::new(Inner {
            name,
            budget,
            backed,
            counter: AllocCounter::with_budget(budget),
            state: Mutex::default(),
        });
        SimDevice {
            buft: SimBufferType {
                inner: Arc::clone(&inner),
            },
            inner,
        }
    }
    /// An accounting-only stand-in for this device with its own counters and a budget of this
    /// device's free bytes now: what a `no_alloc` load plans against (upstream's
    /// `llama_model_params.no_alloc`) without taking anything from the real device.
    pub fn phantom(&self) -> SimDevice {
        SimDevice::new(self.name().to_string(), self.free(), false)
    }
    /// Device name (`SIM0`, ...).
    pub fn name(&self) -> &str {
        &self.inner.name
    }
    /// Total bytes (what `ggml_backend_dev_memory` reports as total).
    pub fn budget(&self) -> u64 {
        self.inner.budget
    }
    /// Whether buffers have memory behind them.
    pub fn is_backed(&self) -> bool {
        self.inner.backed
    }
    /// Free bytes: budget minus what is allocated.
    pub fn free(&self) -> u64 {
        self.inner
            .budget
            .saturating_sub(self.inner.counter.stats().live_bytes)
    }
    /// The counters.
    pub fn stats(&self) -> SimStats {
        let c = self.inner.counter.stats();
        let s = lock(&self.inner.state);
        SimStats {
            allocated: c.live_bytes,
            peak: s.peak,
            n_allocs: c.count,
            n_failed: s.n_failed,
            n_after_seal: s.n_after_seal,
        }
    }
    /// Makes the `n`-th allocation attempt from now (1-based) fail; `None` clears it.
    pub fn fail_nth_alloc(&self, n: Option<u64>) {
        let mut s = lock(&self.inner.state);
        s.fail_at = n.map(|n| s.attempts + n);
    }
    /// After this, every allocation attempt fails and is counted in `n_after_seal`.
    pub fn seal(&self, sealed: bool) {
        if sealed {
            self.inner.counter.seal();
        } else {
            self.inner.counter.unseal();
        }
    }
    /// Resets the peak to the current usage (tests measure one phase at a time).
    pub fn reset_peak(&self) {
        let live = self.inner.counter.stats().live_bytes;
        lock(&self.inner.state).peak = live;
    }

    /// Allocates `size` bytes, or fails as `cudaMalloc` would.
    pub fn alloc(&self, size: u64) -> Result<SimBuffer> {
        let inner = &self.inner;
        let mut s = lock(&inner.state);
        s.attempts += 1;
        let refuse = |s: &mut State, why: String| {
            s.n_failed += 1;
            Err(Error::oom(format!(
                "{}: cannot allocate {size} bytes: {why}",
                inner.name
            )))
        };
        let sealed = inner.counter.stats().sealed;
        if sealed {
            s.n_after_seal += 1;
        }
        if !sealed && s.fail_at == Some(s.attempts) {
            return refuse(&mut s, "injected failure".into());
        }
        let Ok(usize_size) = usize::try_from(size) else {
            return refuse(&mut s, "size does not fit the address space".into());
        };
        let free = self.free();
        if let Err(e) = inner.counter.reserve(usize_size) {
            let why = if sealed {
                "device is sealed (allocation after the plan was allocated)".to_string()
            } else {
                format!("{free} bytes free of {} ({})", inner.budget, e.context)
            };
            return refuse(&mut s, why);
        }
        let mem = if inner.backed && size > 0 {
            match HostMem::zeroed(size) {
                Some(m) => Some(m),
                None => {
                    inner.counter.release(usize_size);
                    return refuse(&mut s, "host memory behind the device is exhausted".into());
                }
            }
        } else {
            None
        };
        s.peak = s.peak.max(inner.counter.stats().live_bytes);
        Ok(SimBuffer {
            inner: Arc::clone(inner),
            size,
            mem,
        })
    }
}

impl BufferType for SimBufferType {
    fn name(&self) -> &str {
        &self.inner.name
    }
    fn alignment(&self) -> usize {
        SIM_ALIGNMENT
    }
    fn alloc(&self, size: usize) -> Result<Box<dyn Buffer>> {
        let dev = SimDevice {
            inner: Arc::clone(&self.inner),
            buft: self.clone(),
        };
        Ok(Box::new(dev.alloc(size as u64)?))
    }
}

impl Device for SimDevice {
    fn name(&self) -> &str {
        &self.inner.name
    }
    fn description(&self) -> String {
        format!(
            "simulated GPU, {} MiB{}",
            self.inner.budget >> 20,
            if self.inner.backed {
                ""
            } else {
                ", accounting only"
            }
        )
    }
    fn kind(&self) -> DeviceKind {
        DeviceKind::Gpu
    }
    fn memory(&self) -> (u64, u64) {
        (self.free(), self.inner.budget)
    }
    fn buffer_type(&self) -> &dyn BufferType {
        &self.buft
    }
    fn counter(&self) -> &Arc<AllocCounter> {
        &self.inner.counter
    }
}

/// Zeroed, aligned host memory owned by a simulated buffer.
struct HostMem {
    ptr: NonNull<u8>,
    layout: Layout,
}

// SAFETY: HostMem uniquely owns its allocation; moving it between threads moves that ownership.
unsafe impl Send for HostMem {}
// SAFETY: shared references only hand out `&[u8]`, which is Sync.
unsafe impl Sync for HostMem {}

impl HostMem {
    fn zeroed(size: u64) -> Option<HostMem> {
        let size = usize::try_from(size).ok()?;
        let layout = Layout::from_size_align(size, SIM_ALIGNMENT).ok()?;
        // SAFETY: the layout has a non-zero size (callers skip size 0) and a valid alignment.
        let ptr = NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })?;
        Some(HostMem { ptr, layout })
    }
}

impl Drop for HostMem {
    fn drop(&mut self) {
        // SAFETY: ptr came from alloc_zeroed with exactly this layout and is freed once.
        unsafe { std::alloc::dealloc(self.ptr.as_ptr(), self.layout) }
    }
}

/// Memory on a simulated device; its bytes return to the budget when dropped.
pub struct SimBuffer {
    inner: Arc<Inner>,
    size: u64,
    mem: Option<HostMem>,
}

impl std::fmt::Debug for SimBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SimBuffer({} bytes, backed: {})",
            self.size,
            self.mem.is_some()
        )
    }
}

impl SimBuffer {
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The memory, read-only, when the device is backed (None for accounting-only devices).
    pub fn bytes(&self) -> Option<&[u8]> {
        let m = self.mem.as_ref()?;
        // SAFETY: ptr points at layout.size() initialised (zeroed) bytes owned by this buffer;
        // `&self` rules out a live `&mut` from `bytes_mut`.
        Some(unsafe { std::slice::from_raw_parts(m.ptr.as_ptr(), m.layout.size()) })
    }
    /// The memory, when the device is backed (None for accounting-only devices).
    pub fn bytes_mut(&mut self) -> Option<&mut [u8]> {
        let m = self.mem.as_mut()?;
        // SAFETY: ptr points at layout.size() initialised (zeroed) bytes owned by this buffer,
        // and `&mut self` guarantees no other reference to them exists.
        Some(unsafe { std::slice::from_raw_parts_mut(m.ptr.as_ptr(), m.layout.size()) })
    }
}

impl Drop for SimBuffer {
    fn drop(&mut self) {
        // the size was reserved as a usize when the buffer was made
        self.inner.counter.release(self.size as usize);
    }
}

impl Buffer for SimBuffer {
    fn size(&self) -> usize {
        self.size as usize
    }
    fn host_ptr(&self) -> Option<*mut u8> {
        self.mem.as_ref().map(|m| m.ptr.as_ptr())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_is_hard_and_freeing_returns_bytes() {
        let d = SimDevice::new("SIM0".into(), 1000, true);
        let mut a = d.alloc(600).unwrap();
        assert_eq!(a.bytes_mut().unwrap().len(), 600);
        assert!(d.alloc(401).is_err());
        let b = d.alloc(400).unwrap();
        assert_eq!(d.free(), 0);
        drop(a);
        drop(b);
        let s = d.stats();
        assert_eq!(
            (s.allocated, s.peak, s.n_allocs, s.n_failed),
            (0, 1000, 2, 1)
        );
    }

    #[test]
    fn injection_and_seal() {
        let d = SimDevice::new("SIM1".into(), 1 << 40, false);
        d.fail_nth_alloc(Some(2));
        let _a = d.alloc(1 << 39).unwrap();
        assert!(d.alloc(1).is_err());
        let _c = d.alloc(1).unwrap();
        d.seal(true);
        assert!(d.alloc(1).is_err());
        assert_eq!(d.stats().n_after_seal, 1);
        assert_eq!(d.free(), (1 << 40) - (1 << 39) - 1);
    }

    #[test]
    fn engine_traits() {
        let d = SimDevice::new("SIM2".into(), 4096, true);
        let dev: &dyn Device = &d;
        assert_eq!(dev.kind(), DeviceKind::Gpu);
        assert_eq!(dev.buffer_type().name(), "SIM2");
        let b = dev.buffer_type().alloc(1000).unwrap();
        assert!(b.host_ptr().is_some());
        assert_eq!(dev.memory(), (3096, 4096));
        assert_eq!(dev.counter().stats().live_bytes, 1000);
        dev.counter().seal();
        assert!(dev.buffer_type().alloc(1).is_err());
        assert_eq!(d.stats().n_after_seal, 1);
        dev.counter().unseal();
        drop(b);
        assert_eq!(dev.memory(), (4096, 4096));
        let a = SimDevice::new("SIM3".into(), 1 << 40, false);
        let big = Device::buffer_type(&a).alloc(1 << 39).unwrap();
        assert!(
            big.host_ptr().is_none(),
            "accounting-only devices have no memory"
        );
    }
}
