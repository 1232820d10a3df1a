//! One error type for the whole library: a kind (what went wrong, which decides the
//! return value at the C boundary) and a context string (what a user reads in the log).
//!
//! Library code never panics on input a user or a file controls; it returns `Error`.

use std::fmt;

/// What went wrong. `ffi` maps each kind to the llama.h return convention of the
/// function that failed (NULL, a negative code, `LLAMA_TOKEN_NULL`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A file is not what it claims to be: bad magic, truncated, inconsistent sizes.
    Format,
    /// The caller passed a value that is out of range or inconsistent.
    InvalidArgument,
    /// The operating system refused a file operation.
    Io,
    /// A device (or the host) has fewer bytes than the plan needs.
    OutOfMemory,
    /// The feature exists in llama.h but not (yet) in this library.
    Unsupported,
    /// A broken invariant inside the library: always a bug.
    Internal,
}

impl ErrorKind {
    /// Lower-case name used when an error is printed.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::Format => "format error",
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Io => "i/o error",
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::Unsupported => "not supported yet",
            ErrorKind::Internal => "internal error",
        }
    }
}

/// An error with its kind and a human-readable context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Where and why, e.g. `"model.gguf: offset 1234: tensor count 2^40 too large"`.
    pub context: String,
}

impl Error {
    /// Builds an error of any kind.
    pub fn new(kind: ErrorKind, context: impl Into<String>) -> Self {
        Error {
            kind,
            context: context.into(),
        }
    }
    /// A malformed file.
    pub fn format(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Format, context)
    }
    /// A bad argument from the caller.
    pub fn invalid(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, context)
    }
    /// An operating-system i/o failure.
    pub fn io(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, context)
    }
    /// Not enough memory on a device or the host.
    pub fn oom(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfMemory, context)
    }
    /// A feature not built yet.
    pub fn unsupported(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unsupported, context)
    }
    /// A broken internal invariant.
    pub fn internal(context: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, context)
    }
    /// Prefixes the context with where the error happened.
    pub fn within(mut self, outer: impl fmt::Display) -> Self {
        self.context = format!("{outer}: {}", self.context);
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.name(), self.context)
    }
}

impl std::error::Error for Error {}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kind_and_context() {
        let e = Error::format("bad magic").within("x.gguf");
        assert_eq!(e.to_string(), "format error: x.gguf: bad magic");
        assert_eq!(e.kind, ErrorKind::Format);
    }
}
