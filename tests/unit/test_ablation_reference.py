"""Head ablation against an independent intervention on a stock transformers model: a forward pre-hook on the
attention's output projection that zeroes that head's slice of its input, or replaces it by its mean over the
positions ("mean"). BERT, GPT-2, a grouped-KV Llama and BART's cross-attention, to 1e-5."""

from __future__ import annotations

import pytest
import torch
import transformers

from attnviz import ablate_heads, load_model
from attnviz.capturing.run import model_inputs
from attnviz.tracing.modules import accepted_kwargs

TEXT = "the teacher saw a book in the park yesterday"
TARGET = "老师 昨天 在 公园 看见 书"

# name -> (model class, kind, layer, head, path of the output projection of that layer's attention)
CASES = {
    "bert": (transformers.AutoModel, "encoder", 1, 2, "encoder.layer.1.attention.output.dense"),
    "gpt2": (transformers.AutoModelForCausalLM, "decoder", 1, 3, "transformer.h.1.attn.c_proj"),
    "llama-gqa": (transformers.AutoModelForCausalLM, "decoder", 1, 1, "model.layers.1.self_attn.o_proj"),
    "bart": (transformers.AutoModelForSeq2SeqLM, "cross", 1, 2, "model.decoder.layers.1.encoder_attn.out_proj"),
}


LOUDER = 50.0


def _slice_hook(head: int, head_dim: int, mode: str):
    def hook(module, args):
        (x,) = args  # [batch, position, heads * head_dim]: the heads' outputs side by side, before W_o
        x = x.clone()
        part = x[..., head * head_dim:(head + 1) * head_dim]
        x[..., head * head_dim:(head + 1) * head_dim] = 0 if mode == "zero" else part.mean(dim=1, keepdim=True)
        return (x,)
    return hook


def _output(out):
    return out.logits if getattr(out, "logits", None) is not None else out.last_hidden_state


@pytest.mark.parametrize("mode", ["zero", "mean"])
@pytest.mark.parametrize("name", list(CASES))
def test_ablation_equals_a_hook_on_the_stock_models_output_projection(tiny_model_dirs, name, mode):
    model_class, kind, layer, head, path = CASES[name]
    loaded = load_model(str(tiny_model_dirs[name]))
    stock = model_class.from_pretrained(tiny_model_dirs[name], attn_implementation="eager").eval()
    with torch.no_grad():  # random tiny heads barely move the output: make this layer's heads count, in both
        for model in (loaded.model, stock):
            model.get_submodule(path).weight.mul_(LOUDER)
    inputs, _, _ = model_inputs(loaded, TEXT, TARGET if kind == "cross" else None, max_tokens=64, max_new_tokens=4)
    with ablate_heads(loaded, [(kind, layer, head)], mode), torch.inference_mode():
        ours = _output(loaded.model(**accepted_kwargs(loaded.model, inputs), use_cache=False))
    head_dim = loaded.shape.layout[kind].head_dims[layer]
    with torch.inference_mode():
        plain = _output(stock(**accepted_kwargs(stock, inputs), use_cache=False))
        handle = stock.get_submodule(path).register_forward_pre_hook(_slice_hook(head, head_dim, mode))
        try:
            reference = _output(stock(**accepted_kwargs(stock, inputs), use_cache=False))
        finally:
            handle.remove()
    assert (reference - plain).abs().max() > 1e-4  # ten times the tolerance: the comparison can fail
    torch.testing.assert_close(ours, reference, atol=1e-5, rtol=1e-5)
