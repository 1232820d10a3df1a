//! GGUF files: a reader over mmap and a writer. Knows nothing of models or devices.
//! (Being built: see issue 2.)
