//! Chat templates: `llama_chat_apply_template` and detection from `tokenizer.chat_template`.
