//! Compute graphs: ops as nodes over tensor descriptors, and a builder that validates shapes.
