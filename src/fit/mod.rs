//! The exact memory plan, the fit search, and allocating a plan on devices.
//!
//! Design: "the plan is the allocation". [`plan::compute_plan`] is a pure function of the model
//! description ([`ModelDesc`], read from GGUF metadata and the tensor list), the context
//! parameters ([`CtxParams`]), a [`Placement`] and the device descriptors ([`DeviceDesc`]); it
//! lists every byte on every device by [`Category`] (weights, KV, compute arena, pipeline
//! copies, kernel scratch, library workspaces, output buffers, staging, driver overhead) and
//! runs in microseconds, so [`fit`] can call it thousands of times.
//!
//! ## API for the loader and context creation
//! 1. `let model = ModelDesc::from_gguf(&gguf)?;` (no tensor data read)
//! 2. Either resolve what the caller asked for — `placement::resolve(&model, &place, &gpus)?`
//!    then `plan::compute_plan(&input, &pl, n_copies)?` and refuse (`plan.overflow_error()`)
//!    when it does not fit: never re-place silently — or, when the caller asked for a fit,
//!    `fit(&FitRequest { .. })?`, which returns the resolved parameters, the plan, the
//!    overrides as an `-ot` string and the per-device [`table`].
//! 3. `alloc::allocate_plan(&plan, &devices)` allocates exactly the plan (one buffer per
//!    category per device), seals the devices, and on any failure frees everything (usage
//!    returns to its baseline); `alloc::allocate_with_replan` re-queries free memory and
//!    re-plans once before giving up with an error naming the device, the bytes needed and
//!    the bytes free.
//!
//! The compute column comes from an [`ArenaOracle`]; [`AnalyticOracle`] is a documented upper
//! bound used until the engine's planner over the model's graphs is plugged in (plans record
//! which one produced them in [`MemoryPlan::analytic_compute`]).

pub mod alloc;
pub mod model;
pub mod oracle;
pub mod params;
pub mod placement;
pub mod plan;
pub mod search;
pub mod table;
#[cfg(test)]
mod tests;

pub use model::{ModelDesc, WeightDesc, WeightRole};
pub use oracle::{AnalyticOracle, ArenaBytes, ArenaOracle, ArenaShape, DeviceWork, LayerSet};
pub use params::{CtxParams, CtxSizes, DeviceDesc, PlaceParams, SplitMode, DEFAULT_MARGIN};
pub use placement::Placement;
pub use plan::{Category, DevicePlan, MemoryPlan, PlanInput};
pub use search::{fit, FitRequest, FitResult};
