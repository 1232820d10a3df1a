//! Contexts: batches split into micro-batches, one graph per micro-batch, outputs, state.
