"""Write a merged llama-architecture model as a GGUF file (llama.cpp's format), and its Ollama Modelfile.

Conventions follow llama.cpp's ``convert_hf_to_gguf.py`` as the ``gguf`` package and transformers'
GGUF loader read them back:

- tensor names from ``gguf.get_tensor_name_map`` (``model.layers.3.self_attn.q_proj`` →
  ``blk.3.attn_q``); with tied embeddings there is no ``output.weight`` (llama.cpp then reuses
  ``token_embd``, and transformers sets ``tie_word_embeddings``);
- Q and K rows are permuted into llama.cpp's rotary layout (per head, the two halves interleaved);
  transformers undoes exactly this on load;
- 1-D tensors (norms) stay float32; matrices are f16 or q8_0 (``gguf.quants``);
- the byte-level BPE vocabulary with token types (control tokens = the tokenizer's special
  added tokens), the merges, special ids and the chat template go into the metadata.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

# llama.cpp's pre-tokenizer name for SmolLM's BPE (its regex is GPT-2's)
PRE_TOKENIZER = "smollm"


def _qtypes(quant: str):
    import gguf
    return {"f16": (gguf.GGMLQuantizationType.F16, gguf.LlamaFileType.MOSTLY_F16),
            "q8_0": (gguf.GGMLQuantizationType.Q8_0, gguf.LlamaFileType.MOSTLY_Q8_0)}[quant]


def permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """HF's rotary layout → llama.cpp's (``LlamaModel.permute`` in convert_hf_to_gguf.py)."""
    return (weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def _tensors(model):
    """``(gguf name, float32 array)`` for every weight, Q/K permuted, the tied head left out."""
    import gguf

    cfg = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    tied = getattr(cfg, "tie_word_embeddings", False)
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue
        name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name}")
        data = tensor.detach().float().cpu().numpy()
        if name.endswith("attn_q.weight"):
            data = permute(data, cfg.num_attention_heads)
        elif name.endswith("attn_k.weight"):
            data = permute(data, cfg.num_key_value_heads)
        yield name, data


def _add_config(writer, cfg, ftype, name: str) -> None:
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("rope_theta") or getattr(cfg, "rope_theta", 10000.0)
    writer.add_name(name)
    writer.add_file_type(int(ftype))
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(rope))
    writer.add_layer_norm_rms_eps(float(cfg.rms_norm_eps))
    writer.add_vocab_size(cfg.vocab_size)


def _add_tokenizer(writer, tokenizer, vocab_size: int) -> None:
    """The byte-level BPE vocabulary as llama.cpp reads it (``tokenizer.ggml.*``)."""
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    vocab = spec["model"]["vocab"]
    added = {t["id"]: t for t in spec.get("added_tokens", [])}
    tokens = [""] * vocab_size
    for text, i in {**vocab, **{t["content"]: i for i, t in added.items()}}.items():
        tokens[i] = text
    for i, text in enumerate(tokens):
        if not text:
            tokens[i] = f"[PAD{i}]"
    types = [gguf.TokenType.CONTROL if i in added and added[i]["special"]
             else gguf.TokenType.USER_DEFINED if i in added else gguf.TokenType.NORMAL
             for i in range(vocab_size)]
    merges = [m if isinstance(m, str) else " ".join(m) for m in spec["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(PRE_TOKENIZER)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for add, token in ((writer.add_bos_token_id, tokenizer.bos_token), (writer.add_eos_token_id, tokenizer.eos_token),
                       (writer.add_unk_token_id, tokenizer.unk_token), (writer.add_pad_token_id, tokenizer.pad_token)):
        if token is not None:
            add(tokenizer.convert_tokens_to_ids(token))
    writer.add_add_bos_token(False)   # the chat template writes <|im_start|> itself
    if tokenizer.chat_template:
        writer.add_chat_template(tokenizer.chat_template)


def write(model, tokenizer, path: Path, quant: str = "f16", *, name: str = "model", progress: bool = True) -> Path:
    """Write ``model`` (merged, llama architecture) and ``tokenizer`` to the GGUF file ``path``."""
    import gguf

    if model.config.model_type not in ("llama",):
        raise ValueError(f"GGUF export supports the llama architecture, not {model.config.model_type}")
    qtype, ftype = _qtypes(quant)
    writer = gguf.GGUFWriter(str(path), "llama")
    _add_config(writer, model.config, ftype, name)
    _add_tokenizer(writer, tokenizer, model.config.vocab_size)
    tensors = list(model.state_dict())
    for name_, data in tqdm(_tensors(model), total=len(tensors) - model.config.tie_word_embeddings,
                            disable=not progress, desc="GGUF", leave=False):
        kind = gguf.GGMLQuantizationType.F32 if data.ndim == 1 else qtype
        if kind == gguf.GGMLQuantizationType.Q8_0 and data.shape[-1] % 32:
            kind = gguf.GGMLQuantizationType.F16   # q8_0 blocks are 32 wide
        writer.add_tensor(name_, gguf.quants.quantize(data, kind), raw_dtype=kind)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def modelfile(gguf_name: str) -> str:
    """An Ollama Modelfile for the exported GGUF (ChatML, greedy like the course's evaluations)."""
    return (f"FROM ./{gguf_name}\n"
            'TEMPLATE """{{- range .Messages }}<|im_start|>{{ .Role }}\n'
            '{{ .Content }}<|im_end|>\n'
            '{{ end }}<|im_start|>assistant\n"""\n'
            'PARAMETER stop "<|im_end|>"\n'
            "PARAMETER temperature 0\n"
            "PARAMETER num_ctx 8192\n")
