//! GGUF files: a reader over a read-only mmap (no copy of tensor data) and a writer. This module
//! knows nothing of models or devices: it turns bytes into metadata values and tensor
//! descriptions, checking every count, length and offset before it allocates or reads, so
//! hostile files produce an `Error` naming the file, the byte offset and the reason.
//!
//! ```no_run
//! # fn main() -> llama::Result<()> {
//! let g = llama::gguf::GgufFile::open(std::path::Path::new("model.gguf"))?;
//! let arch = g.get_str("general.architecture")?.unwrap_or("?");
//! for t in g.tensors() {
//!     println!("{arch} {} {:?} {}", t.name, t.ne, t.ty.name());
//! }
//! # Ok(()) }
//! ```

mod file;
mod parse;
mod value;
mod writer;

pub use file::{split_path, GgufFile, TensorInfo};
pub use parse::{DEFAULT_ALIGNMENT, GGUF_MAGIC, MAX_DIMS};
pub use value::{Array, Value, ValueType};
pub use writer::GgufWriter;
