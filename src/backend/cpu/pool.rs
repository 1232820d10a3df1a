//! A persistent thread pool with a spinning barrier, built for one job per graph.
//!
//! `run(nth, job)` wakes the workers, runs `job(0, nth)` on the caller's thread and
//! `job(i, nth)` on worker `i`, and returns when all have finished. Inside a job, threads meet
//! at [`Barrier::wait`] after every node (spin, then yield), so per-node synchronisation costs
//! a few hundred nanoseconds, not a syscall. Idle workers sleep on a condition variable
//! between jobs. Nothing is allocated per run.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// Spins before yielding / sleeping.
const SPIN: u32 = 1 << 12;

/// A reusable barrier for a fixed group of threads; it can be aborted.
pub struct Barrier {
    arrived: AtomicUsize,
    phase: AtomicUsize,
    abort: AtomicBool,
    /// Shared work counters ops use to hand out chunks dynamically: split nodes alternate
    /// between the first two (the executor's thread 0 clears the other one while a node runs,
    /// so the next node finds it at zero with no extra barrier); serial nodes use the third.
    pub chunks: [AtomicUsize; 3],
    /// Threads asleep in `wait` (after spinning): the last arriver wakes them.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Barrier {
    fn new() -> Barrier {
        Barrier {
            arrived: AtomicUsize::new(0),
            phase: AtomicUsize::new(0),
            abort: AtomicBool::new(false),
            chunks: [
                AtomicUsize::new(0),
                AtomicUsize::new(0),
                AtomicUsize::new(0),
            ],
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            cv: Condvar::new(),
        }
    }

    /// Waits until `nth` threads have called `wait` (or the barrier is aborted). Spins first
    /// (a crossing costs well under a microsecond when every thread has a core), then sleeps
    /// on a condition variable, so that on an oversubscribed machine a waiting thread gives
    /// its core to the thread it waits for instead of burning it.
    pub fn wait(&self, nth: usize) {
        if nth <= 1 {
            return;
        }
        let phase = self.phase.load(Ordering::Acquire);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == nth {
            self.arrived.store(0, Ordering::Relaxed);
            self.phase.fetch_add(1, Ordering::SeqCst);
            if self.sleepers.load(Ordering::SeqCst) > 0 {
                let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
                self.cv.notify_all();
            }
            return;
        }
        let mut spins = 0u32;
        while self.phase.load(Ordering::Acquire) == phase {
            if self.abort.load(Ordering::Relaxed) {
                return;
            }
            if spins < SPIN {
                std::hint::spin_loop();
                spins += 1;
                continue;
            }
            self.sleepers.fetch_add(1, Ordering::SeqCst);
            {
                let mut g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
                while self.phase.load(Ordering::SeqCst) == phase
                    && !self.abort.load(Ordering::SeqCst)
                {
                    g = self.cv.wait(g).unwrap_or_else(|p| p.into_inner());
                }
            }
            self.sleepers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Marks the run as failed: waiting threads return at once.
    pub fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.cv.notify_all();
    }

    /// Whether the run was aborted.
    pub fn aborted(&self) -> bool {
        self.abort.load(Ordering::Acquire)
    }
}

type JobFn = dyn Fn(usize, usize) + Sync;

struct Shared {
    /// The current job, valid while a run is in progress.
    job: UnsafeCell<Option<*const JobFn>>,
    nth: AtomicUsize,
    generation: AtomicU64,
    done: AtomicUsize,
    panicked: AtomicBool,
    stop: AtomicBool,
    sleep: Mutex<()>,
    wake: Condvar,
    barrier: Barrier,
}

// SAFETY: `job` is written only by the owner thread while no run is in progress (all workers
// have reported `done`), and read by workers only between the generation bump (Release) and
// their `done` increment; every other field is atomic or a sync primitive.
unsafe impl Sync for Shared {}
// SAFETY: as above; the raw job pointer is only dereferenced during a run.
unsafe impl Send for Shared {}

/// The pool: `n_threads - 1` workers plus the calling thread.
pub struct Pool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `n_threads - 1` workers.
    pub fn new(n_threads: usize) -> Result<Pool> {
        let n_threads = n_threads.max(1);
        let shared = Arc::new(Shared {
            job: UnsafeCell::new(None),
            nth: AtomicUsize::new(1),
            generation: AtomicU64::new(0),
            done: AtomicUsize::new(0),
            panicked: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sleep: Mutex::new(()),
            wake: Condvar::new(),
            barrier: Barrier::new(),
        });
        let mut workers = Vec::with_capacity(n_threads - 1);
        for i in 1..n_threads {
            let sh = shared.clone();
            let h = std::thread::Builder::new()
                .name(format!("ferrollama-cpu-{i}"))
                .spawn(move || worker(sh, i))
                .map_err(|e| Error::internal(format!("cannot start CPU worker thread: {e}")))?;
            workers.push(h);
        }
        Ok(Pool { shared, workers })
    }

    /// Threads available (workers + caller).
    pub fn n_threads(&self) -> usize {
        self.workers.len() + 1
    }

    /// The barrier jobs synchronise on.
    pub fn barrier(&self) -> &Barrier {
        &self.shared.barrier
    }

    /// Runs `job(ith, nth)` for `ith in 0..nth` (`nth <= n_threads`), on the caller's thread
    /// for `ith = 0`. Returns an error if any thread panicked.
    pub fn run(&mut self, nth: usize, job: &(dyn Fn(usize, usize) + Sync)) -> Result<()> {
        let nth = nth.clamp(1, self.n_threads());
        let sh = &*self.shared;
        sh.barrier.abort.store(false, Ordering::Relaxed);
        for c in &sh.barrier.chunks {
            c.store(0, Ordering::Relaxed);
        }
        sh.barrier.arrived.store(0, Ordering::Relaxed);
        sh.panicked.store(false, Ordering::Relaxed);
        if nth == 1 {
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(0, 1)));
            return r.map_err(|_| Error::internal("a CPU op panicked"));
        }
        // SAFETY: erase the borrow's lifetime; we wait below until every worker has finished
        // with the job before returning, so the pointer never outlives `job`.
        let ptr: *const JobFn =
            unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync), &'static JobFn>(job) };
        // SAFETY: no run is in progress (`&mut self`, and the previous run waited for all
        // workers), so no worker reads `job` now.
        unsafe { *sh.job.get() = Some(ptr) };
        sh.nth.store(nth, Ordering::Relaxed);
        sh.done.store(0, Ordering::Relaxed);
        {
            let _g = sh.sleep.lock().unwrap_or_else(|p| p.into_inner());
            sh.generation.fetch_add(1, Ordering::Release);
            sh.wake.notify_all();
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(0, nth)));
        if r.is_err() {
            sh.barrier.abort();
            sh.panicked.store(true, Ordering::Release);
        }
        let n_workers = self.workers.len();
        let mut spins = 0u32;
        while sh.done.load(Ordering::Acquire) < n_workers {
            if spins < SPIN {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
        // SAFETY: all workers are done with this run.
        unsafe { *sh.job.get() = None };
        if sh.panicked.load(Ordering::Acquire) {
            return Err(Error::internal("a CPU op panicked"));
        }
        Ok(())
    }
}

fn worker(sh: Arc<Shared>, ith: usize) {
    let mut seen = 0u64;
    loop {
        let mut spins = 0u32;
        loop {
            if sh.stop.load(Ordering::Acquire) {
                return;
            }
            if sh.generation.load(Ordering::Acquire) != seen {
                break;
            }
            if spins < SPIN {
                std::hint::spin_loop();
                spins += 1;
            } else {
                let g = sh.sleep.lock().unwrap_or_else(|p| p.into_inner());
                if sh.generation.load(Ordering::Acquire) == seen && !sh.stop.load(Ordering::Acquire)
                {
                    drop(sh.wake.wait(g).unwrap_or_else(|p| p.into_inner()));
                }
            }
        }
        seen = sh.generation.load(Ordering::Acquire);
        let nth = sh.nth.load(Ordering::Relaxed);
        if ith < nth {
            // SAFETY: the owner set `job` before bumping the generation and keeps it alive
            // until we increment `done`.
            if let Some(job) = unsafe { *sh.job.get() } {
                // SAFETY: see above.
                let job = unsafe { &*job };
                if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(ith, nth))).is_err()
                {
                    sh.barrier.abort();
                    sh.panicked.store(true, Ordering::Release);
                }
            }
        }
        sh.done.fetch_add(1, Ordering::AcqRel);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        {
            let _g = self.shared.sleep.lock().unwrap_or_else(|p| p.into_inner());
            self.shared.stop.store(true, Ordering::Release);
            self.shared.wake.notify_all();
        }
        for h in self.workers.drain(..) {
            let _ = h.join();
        }
    }
}
