//! Allocating a plan: exactly the planned bytes, one buffer per category per device, then the
//! devices are sealed. Any failure frees what was allocated (usage back to baseline).
//! [`allocate_with_replan`] re-queries free memory and re-plans once before giving up.

use super::params::DeviceDesc;
use super::plan::{Category, MemoryPlan};
use crate::backend::sim::{SimBuffer, SimDevice};
use crate::error::{Error, Result};

/// The buffers of an allocated plan. Dropping it frees them and unseals the devices.
#[derive(Debug)]
pub struct Allocation {
    /// `(device index, category, buffer)`.
    pub buffers: Vec<(usize, Category, SimBuffer)>,
    devices: Vec<SimDevice>,
}

impl Allocation {
    /// Bytes allocated on device `d`.
    pub fn bytes_on(&self, d: usize) -> u64 {
        self.buffers
            .iter()
            .filter(|(i, _, _)| *i == d)
            .map(|(_, _, b)| b.size())
            .sum()
    }
}

impl Drop for Allocation {
    fn drop(&mut self) {
        self.buffers.clear();
        for d in &self.devices {
            d.seal(false);
        }
    }
}

/// Descriptors of simulated devices as they are now (free = budget − allocated), each with
/// `margin`.
pub fn describe(devices: &[SimDevice], margin: u64) -> Vec<DeviceDesc> {
    devices
        .iter()
        .map(|d| DeviceDesc {
            name: d.name().to_string(),
            total: d.budget(),
            free: d.free(),
            margin,
            driver_overhead: 0,
        })
        .collect()
}

/// Allocates `plan` on `devices` (the plan's devices in order: GPUs, then the host), one
/// buffer per non-empty category per device, and seals every device. A plan that does not fit
/// its own budgets is refused before anything is allocated. On failure everything allocated
/// so far is freed and the error names the device, the bytes needed and the bytes free.
pub fn allocate_plan(plan: &MemoryPlan, devices: &[SimDevice]) -> Result<Allocation> {
    if let Some(e) = plan.overflow_error() {
        return Err(e);
    }
    if devices.len() != plan.devices.len() {
        return Err(Error::invalid(format!(
            "plan for {} devices, {} given",
            plan.devices.len(),
            devices.len()
        )));
    }
    for (p, d) in plan.devices.iter().zip(devices) {
        if p.name != d.name() {
            return Err(Error::invalid(format!(
                "plan device {} does not match device {}",
                p.name,
                d.name()
            )));
        }
    }
    let mut buffers = Vec::new();
    for (i, (p, d)) in plan.devices.iter().zip(devices).enumerate() {
        for c in Category::ALL {
            let size = p.get(c);
            if size == 0 {
                continue;
            }
            let free = d.free();
            match d.alloc(size) {
                Ok(b) => buffers.push((i, c, b)),
                Err(e) => {
                    drop(buffers);
                    return Err(Error::oom(format!(
                        "{}: allocating the {} buffer ({size} bytes) failed; the plan needs {} bytes on {}, {free} bytes were free before this buffer ({})",
                        d.name(),
                        c.name(),
                        p.total_bytes(),
                        d.name(),
                        e.context
                    )));
                }
            }
        }
    }
    for d in devices {
        d.seal(true);
    }
    Ok(Allocation {
        buffers,
        devices: devices.to_vec(),
    })
}

/// Allocates `plan`; on failure (another process took memory) re-queries the devices, asks
/// `replan` for a new plan with the fresh descriptors and tries once more.
pub fn allocate_with_replan(
    plan: MemoryPlan,
    devices: &[SimDevice],
    margin: u64,
    mut replan: impl FnMut(&[DeviceDesc]) -> Result<MemoryPlan>,
) -> Result<(MemoryPlan, Allocation)> {
    let first = match allocate_plan(&plan, devices) {
        Ok(a) => return Ok((plan, a)),
        Err(e) => e,
    };
    let fresh = describe(devices, margin);
    let plan2 = replan(&fresh).map_err(|e| e.within(format!("re-plan after [{first}]")))?;
    if let Some(e) = plan2.overflow_error() {
        return Err(e.within(format!("re-plan after [{first}]")));
    }
    let a = allocate_plan(&plan2, devices).map_err(|e| e.within("second attempt"))?;
    Ok((plan2, a))
}
