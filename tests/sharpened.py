"""Tiny decoders with sharpened attention, for tests that compare with an independent reference.

Random initialisation alone gives near-uniform maps, which hide scaling and ordering mistakes; the query and key
weights are multiplied so that maps are peaked, and the output projections so that heads write something sizeable.
"""

from __future__ import annotations

import torch
import transformers as tf

SHARPEN = 25.0  # query and key weights times this


def sharpened(arch: str, vocab: int) -> tf.PreTrainedModel:
    """A 3-layer GPT-2 ("gpt2") or grouped-query Llama ("llama") with peaked maps and a non-trivial final norm."""
    torch.manual_seed(1)
    ids = {"vocab_size": vocab, "pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    if arch == "gpt2":
        model = tf.GPT2LMHeadModel(tf.GPT2Config(n_embd=32, n_layer=3, n_head=4, n_positions=64, **ids))
        with torch.no_grad():
            model.transformer.wte.weight.mul_(10)  # tied: logits of a useful size
            for block in model.transformer.h:
                block.attn.c_attn.weight[:, :64].mul_(SHARPEN)  # the query and key columns of the fused QKV
                block.attn.c_proj.weight.mul_(20)  # heads that write something sizeable
                for norm in (block.ln_1, block.ln_2):
                    norm.weight.uniform_(0.5, 1.5)
                    norm.bias.normal_(0, 0.1)
            model.transformer.ln_f.weight.uniform_(0.5, 1.5)  # a final norm that is not the identity
            model.transformer.ln_f.bias.normal_(0, 0.2)
        return model
    model = tf.LlamaForCausalLM(tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                               num_attention_heads=4, num_key_value_heads=2,
                                               max_position_embeddings=64, **ids))
    with torch.no_grad():
        model.lm_head.weight.mul_(10)
        for block in model.model.layers:
            block.self_attn.q_proj.weight.mul_(SHARPEN)
            block.self_attn.k_proj.weight.mul_(SHARPEN)
            block.self_attn.o_proj.weight.mul_(20)
        model.model.norm.weight.uniform_(0.5, 1.5)
    return model


def saved_with_bridge(tmp_path_factory, arch: str, prefix: str):
    """``sharpened(arch)`` saved with the toy tokenizer, loaded by attnviz and booted by TransformerLens 4.3's
    ``TransformerBridge`` (no weight processing, so its hook values are the model's own): ``(loaded, bridge)``."""
    from transformer_lens.model_bridge import TransformerBridge

    from attnviz.models.loading import load_model
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    folder = tmp_path_factory.mktemp(prefix) / arch
    sharpened(arch, len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    bridge = TransformerBridge.boot_transformers(str(folder), device="cpu")
    bridge.enable_compatibility_mode(disable_warnings=True, fold_ln=False, center_writing_weights=False,
                                     center_unembed=False, fold_value_biases=False)
    return load_model(str(folder)), bridge
