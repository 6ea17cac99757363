"""A curated matrix of tiny models, one per family, from every kind attnviz must capture exactly.

Each entry is a config factory and the family attnviz should detect. The models get random weights
and the toy word-level tokenizer, are saved to a folder and loaded back by path, so the real
loading code runs as for a user's own model.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import transformers as tf

SMALL = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
         "max_position_embeddings": 64}
ROPE = {**SMALL, "num_key_value_heads": 2}


def _ids(vocab: int) -> dict:
    return {"vocab_size": vocab, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}


def _seq2seq(cls, vocab: int, **extra) -> tf.PretrainedConfig:
    options = dict(d_model=32, encoder_layers=2, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
                   encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64, decoder_start_token_id=2,
                   **_ids(vocab))
    return cls(**{**options, **extra})


# name -> (family, config factory taking the vocabulary size)
ARCHITECTURES: dict[str, tuple[str, Callable[[int], tf.PretrainedConfig]]] = {
    # decoder-only: grouped and multi-query KV heads, sliding window, soft-capping, ALiBi, partial rotary
    "gpt2": ("decoder", lambda v: tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=64, **_ids(v))),
    "llama-gqa": ("decoder", lambda v: tf.LlamaConfig(**ROPE, **_ids(v))),
    "llama-mqa": ("decoder", lambda v: tf.LlamaConfig(**{**ROPE, "num_key_value_heads": 1}, **_ids(v))),
    "qwen2": ("decoder", lambda v: tf.Qwen2Config(**ROPE, **_ids(v))),
    "qwen3": ("decoder", lambda v: tf.Qwen3Config(**ROPE, head_dim=8, **_ids(v))),
    "mistral-sliding": ("decoder", lambda v: tf.MistralConfig(**ROPE, sliding_window=4, **_ids(v))),
    "gemma": ("decoder", lambda v: tf.GemmaConfig(**ROPE, head_dim=8, **_ids(v))),
    "gemma2-softcap": ("decoder", lambda v: tf.Gemma2Config(**ROPE, head_dim=8, sliding_window=4,
                                                           attn_logit_softcapping=5.0, **_ids(v))),
    "phi3": ("decoder", lambda v: tf.Phi3Config(**ROPE, **_ids(v))),
    "phi-partial-rotary": ("decoder", lambda v: tf.PhiConfig(**SMALL, partial_rotary_factor=0.5, **_ids(v))),
    "gpt-neox": ("decoder", lambda v: tf.GPTNeoXConfig(**SMALL, rotary_pct=0.25, **_ids(v))),
    "gptj": ("decoder", lambda v: tf.GPTJConfig(n_embd=32, n_layer=2, n_head=4, rotary_dim=4, n_positions=64,
                                                **_ids(v))),
    "opt": ("decoder", lambda v: tf.OPTConfig(hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=4,
                                              word_embed_proj_dim=32, max_position_embeddings=64, **_ids(v))),
    "stablelm": ("decoder", lambda v: tf.StableLmConfig(**ROPE, **_ids(v))),
    "starcoder2": ("decoder", lambda v: tf.Starcoder2Config(**ROPE, sliding_window=4, **_ids(v))),
    "olmo": ("decoder", lambda v: tf.OlmoConfig(**ROPE, **_ids(v))),
    "gpt-neo": ("decoder", lambda v: tf.GPTNeoConfig(hidden_size=32, num_layers=2, num_heads=4, window_size=4,
                                                     attention_types=[[["global", "local"], 1]],
                                                     max_position_embeddings=64, **_ids(v))),
    "bloom-alibi": ("decoder", lambda v: tf.BloomConfig(hidden_size=32, n_layer=2, n_head=4, **_ids(v))),
    "falcon": ("decoder", lambda v: tf.FalconConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                    **_ids(v))),
    "mixtral": ("decoder", lambda v: tf.MixtralConfig(**ROPE, num_local_experts=2, num_experts_per_tok=1,
                                                      **_ids(v))),
    # encoders: absolute, relative, rotary and disentangled position; shared layers
    "bert": ("encoder", lambda v: tf.BertConfig(**SMALL, **_ids(v))),
    "roberta": ("encoder", lambda v: tf.RobertaConfig(**{**SMALL, "max_position_embeddings": 70}, **_ids(v))),
    "distilbert": ("encoder", lambda v: tf.DistilBertConfig(dim=32, hidden_dim=64, n_layers=2, n_heads=4,
                                                            max_position_embeddings=64, **_ids(v))),
    "electra": ("encoder", lambda v: tf.ElectraConfig(**SMALL, embedding_size=32, **_ids(v))),
    "albert-shared": ("encoder", lambda v: tf.AlbertConfig(**{**SMALL, "num_hidden_layers": 3}, embedding_size=16,
                                                           **_ids(v))),
    "roformer-rotary": ("encoder", lambda v: tf.RoFormerConfig(**SMALL, embedding_size=32, **_ids(v))),
    "bert-relative-key": ("encoder", lambda v: tf.BertConfig(**SMALL, position_embedding_type="relative_key",
                                                             **_ids(v))),
    "deberta-v2-disentangled": ("encoder", lambda v: tf.DebertaV2Config(
        **SMALL, relative_attention=True, position_biased_input=False, pos_att_type=["p2c", "c2p"], **_ids(v))),
    "deberta": ("encoder", lambda v: tf.DebertaConfig(**SMALL, relative_attention=True, pos_att_type=["p2c", "c2p"],
                                                      **_ids(v))),
    "mpnet-relative": ("encoder", lambda v: tf.MPNetConfig(**{**SMALL, "max_position_embeddings": 70}, **_ids(v))),
    "modernbert": ("encoder", lambda v: tf.ModernBertConfig(**{**SMALL, "num_hidden_layers": 3},
                                                            global_attn_every_n_layers=2, local_attention=4,
                                                            **_ids(v))),
    # encoder-decoders: shared and relative position bias, mixed head counts
    "bart": ("encoder-decoder", lambda v: _seq2seq(tf.BartConfig, v)),
    "bart-mixed-heads": ("encoder-decoder", lambda v: _seq2seq(tf.BartConfig, v, encoder_attention_heads=4,
                                                               decoder_attention_heads=2)),
    "marian": ("encoder-decoder", lambda v: _seq2seq(tf.MarianConfig, v, decoder_start_token_id=0)),
    "pegasus": ("encoder-decoder", lambda v: _seq2seq(tf.PegasusConfig, v, decoder_start_token_id=0)),
    "m2m100": ("encoder-decoder", lambda v: _seq2seq(tf.M2M100Config, v)),
    "mbart": ("encoder-decoder", lambda v: _seq2seq(tf.MBartConfig, v)),
    "t5-relative-bias": ("encoder-decoder", lambda v: tf.T5Config(d_model=32, d_kv=8, d_ff=64, num_layers=2,
                                                                  num_decoder_layers=3, num_heads=4,
                                                                  decoder_start_token_id=0, **_ids(v))),
    "blenderbot": ("encoder-decoder", lambda v: _seq2seq(tf.BlenderbotConfig, v)),
}


def _model_class(family: str):
    return {"encoder": tf.AutoModel, "decoder": tf.AutoModelForCausalLM,
            "encoder-decoder": tf.AutoModelForSeq2SeqLM}[family]


# Query and key projections in every family's naming (fused QKV included); see sharpen().
QUERY_KEY = {"q_proj", "k_proj", "query", "key", "q", "k", "q_lin", "k_lin", "query_proj", "key_proj", "c_attn",
             "query_key_value", "Wqkv", "qkv_proj", "in_proj", "qkv"}
SHARPEN = 30.0
SHARPEN_FOR = {"t5-relative-bias": 2.5}  # T5 does not divide logits by sqrt(head_dim): a smaller factor suffices


def sharpen(model: torch.nn.Module, factor: float = SHARPEN) -> torch.nn.Module:
    """Scale the query and key projections so attention logits grow ~factor²: random tiny weights give nearly
    uniform maps, on which a wrong scaling or soft-capping would still match eager to 1e-5."""
    with torch.no_grad():
        for name, module in model.named_modules():
            if name.rsplit(".", 1)[-1] in QUERY_KEY and getattr(module, "weight", None) is not None:
                module.weight.mul_(factor)
    return model


def build(name: str, folder: Path, tokenizer, *, sharp: bool = True) -> Path:
    """Random weights for ``name`` (queries and keys sharpened), saved with the tokenizer into ``folder``."""
    family, make_config = ARCHITECTURES[name]
    torch.manual_seed(0)
    model = _model_class(family).from_config(make_config(len(tokenizer)))
    if sharp:
        sharpen(model, SHARPEN_FOR.get(name, SHARPEN))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def eager_attentions(folder: Path, family: str, source_ids, target_ids=None, attention_mask=None,
                     decoder_attention_mask=None, **config_changes) -> tuple[dict[str, torch.Tensor], object]:
    """The weights transformers returns under eager attention with output_attentions=True, and the outputs
    (``config_changes`` override the saved configuration, e.g. ``attn_logit_softcapping=None``)."""
    model = _model_class(family).from_pretrained(folder, attn_implementation="eager", **config_changes).eval()
    kwargs = {"input_ids": source_ids, "output_attentions": True}
    if attention_mask is not None:
        kwargs["attention_mask"] = attention_mask
    if target_ids is not None:
        kwargs["decoder_input_ids"] = target_ids
        if decoder_attention_mask is not None:
            kwargs["decoder_attention_mask"] = decoder_attention_mask
    with torch.no_grad():
        out = model(**kwargs, use_cache=False)
    stack = lambda attn: torch.stack(attn)  # noqa: E731  (layers, batch, heads, q, k)
    if family == "encoder":
        return {"encoder": stack(out.attentions)}, out
    if family == "decoder":
        return {"decoder": stack(out.attentions)}, out
    return {"encoder": stack(out.encoder_attentions), "decoder": stack(out.decoder_attentions),
            "cross": stack(out.cross_attentions)}, out
