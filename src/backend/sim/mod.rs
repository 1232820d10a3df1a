//! Simulated GPUs: devices that compute with the CPU kernels but own a hard byte budget.
//!
//! Configured by `FERROLLAMA_SIM_DEVICES` (e.g. `"32110MiB,32110MiB,24082MiB"` gives `SIM0`,
//! `SIM1`, `SIM2` with those totals). Every allocation is counted; one that would pass the budget
//! fails as `cudaMalloc` would. `FERROLLAMA_SIM_BACKING=none` makes them accounting-only: no memory
//! stands behind a buffer, so a huge model can be planned and "loaded" from a sparse GGUF without
//! touching RAM (decoding on such a device is refused). Tests can make the N-th allocation on a
//! device fail (`SimDevice::fail_nth_alloc`).
//!
//! A [`SimDevice`] is an engine [`crate::backend::Device`] (kind GPU, `memory()` = (budget −
//! allocated, budget)) whose [`SimBufferType`] is named after the device; budget, seal and live
//! bytes live in the device's [`crate::backend::AllocCounter`], the same seam every device
//! uses, while the peak, failure counts and failure injection are the simulator's own.

mod device;
mod size;

pub use device::{SimBuffer, SimBufferType, SimDevice, SimStats, SIM_ALIGNMENT};
pub use size::parse_size;

use crate::error::{Error, Result};

/// Reads the simulated devices from the environment (`FERROLLAMA_SIM_DEVICES`,
/// `FERROLLAMA_SIM_BACKING`). No variable, no devices.
pub fn devices_from_env() -> Result<Vec<SimDevice>> {
    let spec = std::env::var("FERROLLAMA_SIM_DEVICES").unwrap_or_default();
    let backed = match std::env::var("FERROLLAMA_SIM_BACKING").as_deref() {
        Err(_) | Ok("") | Ok("memory") => true,
        Ok("none") => false,
        Ok(other) => {
            return Err(Error::invalid(format!(
                "FERROLLAMA_SIM_BACKING={other}: expected `none` or `memory`"
            )))
        }
    };
    parse_devices(&spec, backed)
}

/// Parses a comma-separated list of device sizes into devices `SIM0`, `SIM1`, ...
pub fn parse_devices(spec: &str, backed: bool) -> Result<Vec<SimDevice>> {
    spec.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| {
            let budget = parse_size(s).map_err(|e| e.within("FERROLLAMA_SIM_DEVICES"))?;
            Ok(SimDevice::new(format!("SIM{i}"), budget, backed))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_lists() {
        let d = parse_devices("32110MiB, 24082MiB,1GiB", false).unwrap();
        let names: Vec<_> = d.iter().map(|d| d.name().to_string()).collect();
        assert_eq!(names, ["SIM0", "SIM1", "SIM2"]);
        assert_eq!(d[0].budget(), 32110 << 20);
        assert_eq!(d[2].budget(), 1 << 30);
        assert!(parse_devices("12XB", true).is_err());
        assert!(parse_devices("", true).unwrap().is_empty());
    }
}
