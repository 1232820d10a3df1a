//! Vocabularies and tokenizers (SPM, BPE, WPM, UGM), as upstream's llama-vocab.
