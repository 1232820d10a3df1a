//! Tensor descriptors (type, ne, nb, views) in an arena of `TensorId`. No data, no arithmetic.
