//! The memory planner: pure offset arithmetic over graphs and device descriptors, no device calls.
