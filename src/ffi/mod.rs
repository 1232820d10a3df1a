//! The C API of llama.h: the only module with `extern "C"`.
