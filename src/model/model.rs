//! [`Model`]: a mapped GGUF file with its hyper-parameters, weight references and vocabulary.

use std::path::PathBuf;

use super::hparams::HParams;
use super::loader::{load_weights, Weights};
use super::placed::PlacedWeights;
use crate::backend::sim::SimDevice;
use crate::error::{Error, Result};
use crate::fit::PlaceParams;
use crate::gguf::{GgufFile, Value};
use crate::vocab::Vocab;

/// Loading options (the parts of `llama_model_params` the loader honours).
#[derive(Clone, Debug)]
pub struct ModelParams {
    /// Layers to offload to a GPU (see `place`).
    pub n_gpu_layers: i32,
    /// Load only the vocabulary and metadata.
    pub vocab_only: bool,
    /// Map the file (always: weights are referenced in the mapping).
    pub use_mmap: bool,
    /// Lock the mapping in RAM (ignored).
    pub use_mlock: bool,
    /// Validate tensor data (ignored).
    pub check_tensors: bool,
    /// Simulated GPUs the weights may be placed on (empty: everything on the host).
    pub gpus: Vec<SimDevice>,
    /// How to place weights on `gpus` (`n_gpu_layers` there overrides the field above).
    pub place: PlaceParams,
    /// Plan without allocating on the devices (`llama_model_params.no_alloc`): the GPUs'
    /// weights, KV and compute are counted on accounting-only stand-ins of `gpus`, whose real
    /// free memory does not change; decoding is refused. (The host's share of a context, its
    /// KV and arena in RAM, is still allocated; upstream skips that too.)
    pub no_alloc: bool,
}

impl Default for ModelParams {
    fn default() -> Self {
        ModelParams {
            n_gpu_layers: 0,
            vocab_only: false,
            use_mmap: true,
            use_mlock: false,
            check_tensors: false,
            gpus: Vec::new(),
            no_alloc: false,
            place: PlaceParams::default(),
        }
    }
}

/// The parts of a model needed to run it (absent when loaded vocab-only).
#[derive(Debug)]
pub struct Core {
    /// Hyper-parameters.
    pub hparams: HParams,
    /// Weight references.
    pub weights: Weights,
}

/// A loaded model.
#[derive(Debug)]
pub struct Model {
    gguf: GgufFile,
    arch_name: String,
    vocab: Vocab,
    core: Option<Core>,
    meta_str: Vec<(String, String)>,
    n_params: u64,
    size: u64,
    placed: Option<PlacedWeights>,
    no_alloc: bool,
}

/// Renders a metadata value as upstream's `gguf_kv_to_str` does for non-array values.
pub(crate) fn value_to_string(v: &Value) -> Option<String> {
    Some(match v {
        Value::String(s) => String::from_utf8_lossy(s).into_owned(),
        Value::Bool(b) => b.to_string(),
        Value::F32(x) => format!("{:.6}", x),
        Value::F64(x) => format!("{:.6}", x),
        Value::Array(_) => return None,
        other => other.as_int()?.to_string(),
    })
}

impl Model {
    /// Loads a model from one file or the splits of one model.
    pub fn load(paths: &[PathBuf], params: &ModelParams) -> Result<Model> {
        let gguf = match paths {
            [] => return Err(Error::invalid("no model path given")),
            [p] => GgufFile::open(p)?,
            ps => GgufFile::open_splits(ps)?,
        };
        Self::from_gguf(gguf, params)
    }

    /// Loads a model whose GGUF starts `offset` bytes into an open file.
    pub fn load_file_at(
        file: &std::fs::File,
        offset: u64,
        shown: &str,
        params: &ModelParams,
    ) -> Result<Model> {
        Self::from_gguf(GgufFile::open_file_at(file, offset, shown)?, params)
    }

    /// Builds a model from an opened GGUF file.
    pub fn from_gguf(gguf: GgufFile, params: &ModelParams) -> Result<Model> {
        let shown = gguf.path().display().to_string();
        let arch_name = gguf
            .get_str(super::arch::kv::GENERAL_ARCHITECTURE)?
            .ok_or_else(|| Error::format(format!("{shown}: key general.architecture not found")))?
            .to_string();
        let vocab = Vocab::from_gguf(&gguf).map_err(|e| e.within(&shown))?;
        let core = if params.vocab_only {
            None
        } else {
            let hparams = HParams::from_meta(&gguf).map_err(|e| e.within(&shown))?;
            let weights = load_weights(&gguf, &hparams).map_err(|e| e.within(&shown))?;
            Some(Core { hparams, weights })
        };
        let meta_str = gguf
            .metadata()
            .iter()
            .filter_map(|(k, v)| value_to_string(v).map(|s| (k.clone(), s)))
            .collect();
        let phantoms: Vec<SimDevice>;
        let gpus = if params.no_alloc {
            phantoms = params.gpus.iter().map(SimDevice::phantom).collect();
            &phantoms
        } else {
            &params.gpus
        };
        let placed = match (&core, gpus.is_empty()) {
            (Some(_), false) => Some(
                PlacedWeights::load(&gguf, &params.place, gpus).map_err(|e| e.within(&shown))?,
            ),
            _ => None,
        };
        let n_params = gguf.tensors().iter().map(|t| t.n_elements()).sum();
        let size = gguf.tensors().iter().map(|t| t.n_bytes).sum();
        Ok(Model {
            gguf,
            arch_name,
            vocab,
            core,
            meta_str,
            n_params,
            size,
            placed,
            no_alloc: params.no_alloc,
        })
    }

    /// Whether the model was loaded with `no_alloc` (planned only; decoding is refused).
    pub fn no_alloc(&self) -> bool {
        self.no_alloc
    }

    /// The weights placed on simulated GPUs, when the model was loaded with GPUs.
    pub fn placed(&self) -> Option<&PlacedWeights> {
        self.placed.as_ref()
    }

    /// The bytes of GGUF tensor `idx`: from its GPU buffer when placed on a memory-backed GPU,
    /// else from the file mapping; `None` when it lives on an accounting-only GPU (no data).
    pub fn tensor_bytes(&self, idx: usize) -> Option<&[u8]> {
        let info = self.gguf.tensors().get(idx)?;
        match self
            .placed
            .as_ref()
            .and_then(|p| p.tensor(idx, info.n_bytes as usize))
        {
            Some(on_gpu) => on_gpu,
            None => Some(self.gguf.tensor_data(info)),
        }
    }

    /// The mapped file.
    pub fn gguf(&self) -> &GgufFile {
        &self.gguf
    }
    /// Hyper-parameters and weights (error for a vocab-only model).
    pub fn core(&self) -> Result<&Core> {
        self.core
            .as_ref()
            .ok_or_else(|| Error::invalid("model was loaded vocab-only"))
    }
    /// Hyper-parameters, if loaded.
    pub fn hparams(&self) -> Option<&HParams> {
        self.core.as_ref().map(|c| &c.hparams)
    }
    /// `general.architecture`.
    pub fn arch_name(&self) -> &str {
        &self.arch_name
    }
    /// Metadata as strings (arrays skipped), in file order.
    pub fn metadata_str(&self) -> &[(String, String)] {
        &self.meta_str
    }
    /// Total number of weight elements.
    pub fn n_params(&self) -> u64 {
        self.n_params
    }
    /// Total bytes of weights.
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Embedding width (0 when vocab-only).
    pub fn n_embd(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_embd as i32)
    }
    /// Number of layers.
    pub fn n_layer(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_layer as i32)
    }
    /// Query heads (of layer 0).
    pub fn n_head(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_head(0) as i32)
    }
    /// KV heads (of layer 0).
    pub fn n_head_kv(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_head_kv(0) as i32)
    }
    /// Training context.
    pub fn n_ctx_train(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_ctx_train as i32)
    }
    /// Sliding window (0: none).
    pub fn n_swa(&self) -> i32 {
        self.hparams().map_or(0, |h| h.n_swa as i32)
    }
    /// Vocabulary size from the embedding matrix (or metadata).
    pub fn n_vocab(&self) -> i32 {
        match &self.core {
            Some(c) => c.weights.tok_embd.ne[1] as i32,
            None => 0,
        }
    }
    /// `llama_rope_type` of the architecture (`-1` when unknown).
    pub fn rope_type(&self) -> i32 {
        self.hparams().map_or(-1, |h| h.arch.rope_type())
    }
    /// Training RoPE frequency scale.
    pub fn rope_freq_scale_train(&self) -> f32 {
        self.hparams().map_or(1.0, |h| h.rope_freq_scale_train)
    }
    /// A chat template from metadata (`tokenizer.chat_template[.name]`).
    pub fn chat_template(&self, name: Option<&str>) -> Option<&str> {
        let key = match name {
            Some(n) => format!("tokenizer.chat_template.{n}"),
            None => "tokenizer.chat_template".to_string(),
        };
        self.gguf.get_str(&key).ok().flatten()
    }
}

/// Upstream's `llama_model_ftype_name` for the common file types.
fn ftype_name(ftype: i32) -> &'static str {
    match ftype {
        0 => "all F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K - Medium",
        11 => "Q3_K - Small",
        12 => "Q3_K - Medium",
        13 => "Q3_K - Large",
        14 => "Q4_K - Small",
        15 => "Q4_K - Medium",
        16 => "Q5_K - Small",
        17 => "Q5_K - Medium",
        18 => "Q6_K",
        21 => "Q2_K - Small",
        25 => "IQ4_NL - 4.5 bpw",
        30 => "IQ4_XS - 4.25 bpw",
        32 => "BF16",
        _ => "?",
    }
}

impl Model {
    /// `llama_ftype` from `general.file_type` (0 = all F32 when absent).
    pub fn ftype(&self) -> i32 {
        self.gguf
            .get_u32(super::arch::kv::GENERAL_FILE_TYPE)
            .ok()
            .flatten()
            .map_or(0, |v| v as i32)
    }
    /// A one-line description: architecture, size class, file type.
    pub fn desc(&self) -> String {
        format!("{} ?B {}", self.arch_name, ftype_name(self.ftype()))
    }
    /// The vocabulary.
    pub fn vocab(&self) -> &Vocab {
        &self.vocab
    }
    /// The vocabulary as the C API's opaque pointer (a `*const Vocab` owned by the model).
    pub fn vocab_ptr(&self) -> *const Vocab {
        &self.vocab
    }
}
