"""One traced run: hook points named and valued as TransformerLens names and values them, writes at the same points.

The reference is TransformerLens 4.3's ``TransformerBridge`` on the same saved model (no weight processing), so a
point that is misnamed, taken at the wrong place or from the wrong layer fails here.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.capturing.run import capture, model_inputs
from attnviz.errors import StreamError
from attnviz.interventions import ablate_heads
from attnviz.tracing import names
from attnviz.tracing.trace import run
from tests.sharpened import saved_with_bridge

TEXT = "the teacher saw a book in the park and the dog ran"
POINTS = ("hook_resid_pre", "attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_pattern", "attn.hook_z",
          "hook_attn_out", "hook_mlp_out", "hook_resid_post", "ln1.hook_out", "ln2.hook_out")


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def traced(request, tmp_path_factory):
    loaded, bridge = saved_with_bridge(tmp_path_factory, request.param, "traced")
    inputs, _, _ = model_inputs(loaded, TEXT)
    with torch.no_grad():
        _, reference = bridge.run_with_cache(inputs["input_ids"])
    return loaded, inputs, run(loaded, inputs, cache=True), reference


def test_names_parse_back():
    for family, kind in (("decoder", "decoder"), ("encoder", "encoder"), ("encoder-decoder", "cross")):
        name = names.attention_point(kind, 3, "pattern", family)
        point = names.parse(name, family)
        assert (point.kind, point.layer, point.point) == (kind, 3, "pattern")
    assert names.attention_point("cross", 2, "z", "encoder-decoder") == "decoder.2.cross_attn.hook_z"
    assert names.block_point("encoder", 1, "resid_pre", "encoder-decoder") == "encoder.1.hook_resid_pre"
    with pytest.raises(KeyError):
        names.parse("blocks.x.attn.hook_pattern", "decoder")


def test_points_equal_transformer_lens(traced):
    loaded, _, trace, reference = traced
    for layer in range(loaded.shape.n_layers["decoder"]):
        for point in POINTS:
            name = f"blocks.{layer}.{point}"
            # our q and k are what attention reads: after rotary, TransformerLens' hook_rot_q / hook_rot_k
            rotated = name.replace("hook_q", "hook_rot_q").replace("hook_k", "hook_rot_k")
            ours, theirs = trace.cache[name], reference[rotated if rotated in reference else name]
            assert ours.shape == theirs.shape, name
            scale = float(theirs.abs().max()) + 1
            assert float((ours - theirs).abs().max()) < 1e-4 * scale, name
    assert float((trace.cache["ln_final.hook_out"] - reference["ln_final.hook_out"]).abs().max()) < 1e-4 * 10


def test_the_points_come_from_their_own_layer(traced):
    """The comparison above would not pass with layers swapped: the layers' values are far apart."""
    loaded, _, trace, reference = traced
    assert float((trace.cache["blocks.1.attn.hook_z"] - reference["blocks.2.attn.hook_z"]).abs().max()) > 1e-2


def test_shorthand_keys_and_the_heads_result(traced):
    loaded, _, trace, _ = traced
    cache = trace.cache
    assert cache["pattern", 1] is cache["blocks.1.attn.hook_pattern"]
    result = cache["result", 1]  # [batch, pos, head, d_model]: each head through its slice of W_O
    attn_out = cache["attn_out", 1]
    site = loaded.sites["decoder"][1]
    bias = site.output_projection.bias
    total = result.sum(2) + (0 if bias is None else bias.detach())
    assert float((total - attn_out).abs().max()) < 1e-4 * (float(attn_out.abs().max()) + 1)
    assert cache.stack("pattern").shape[0] == loaded.shape.n_layers["decoder"]


def test_the_pattern_is_the_capture(traced):
    loaded, _, trace, _ = traced
    captured = capture(loaded, TEXT)
    for layer in range(loaded.shape.n_layers["decoder"]):
        np.testing.assert_allclose(trace.cache["pattern", layer][0].numpy(), captured.attention("decoder", layer),
                                   atol=1e-6)


def test_a_write_at_hook_z_is_head_ablation(traced):
    loaded, inputs, _, _ = traced

    def zero_head_2(z, name):
        z = z.clone()
        z[:, :, 2] = 0
        return z

    written = run(loaded, inputs, hooks=[("blocks.1.attn.hook_z", zero_head_2)]).outputs.logits
    with ablate_heads(loaded, [("decoder", 1, 2)]), torch.inference_mode():
        ablated = loaded.model(**inputs, use_cache=False).logits
    plain = run(loaded, inputs).outputs.logits
    assert torch.equal(written, ablated)
    assert float((written - plain).abs().max()) > 1e-3  # the head mattered: the test could fail


@pytest.mark.parametrize("name", ["blocks.1.attn.hook_q", "blocks.1.attn.hook_v", "blocks.1.attn.hook_pattern",
                                  "blocks.1.hook_resid_pre", "blocks.1.hook_attn_out", "blocks.1.hook_mlp_out",
                                  "blocks.1.hook_resid_post"])
def test_writes_change_exactly_what_they_write(traced, name):
    """Writing a point's own value back changes nothing; writing another run's value patches it in."""
    loaded, inputs, trace, _ = traced
    plain = run(loaded, inputs).outputs.logits
    same = run(loaded, inputs, hooks=[(name, lambda t, n: t.clone())]).outputs.logits
    torch.testing.assert_close(same, plain, atol=1e-5, rtol=1e-5)
    other_inputs, _, _ = model_inputs(loaded, "the dog saw a park in the book and the teacher ran")
    other = run(loaded, other_inputs, cache=name).cache[name]
    patched = run(loaded, inputs, hooks=[(name, lambda t, n: other)]).outputs.logits
    assert float((patched - plain).abs().max()) > 1e-3


def test_post_ln_has_no_mlp_out_to_write(minilm):
    inputs, _, _ = model_inputs(minilm, "The train left the station on time")
    trace = run(minilm, inputs, cache=True)
    assert "blocks.0.hook_mlp_out" not in trace.cache  # read-only: simply absent
    with pytest.raises(StreamError) as error:
        run(minilm, inputs, hooks=[("blocks.0.hook_mlp_out", lambda t, n: t)])
    assert error.value.code == "post_ln_mlp"


def test_encoder_decoder_names(toy_translator):
    inputs, _, _ = model_inputs(toy_translator, "The train left the station on time", "火车 准时 驶出 车站")
    cache = run(toy_translator, inputs, cache=True).cache
    n_source, n_target = inputs["input_ids"].shape[1], inputs["decoder_input_ids"].shape[1]
    assert cache["encoder.0.attn.hook_pattern"].shape[-2:] == (n_source, n_source)
    assert cache["decoder.0.attn.hook_pattern"].shape[-2:] == (n_target, n_target)
    assert cache["decoder.0.cross_attn.hook_pattern"].shape[-2:] == (n_target, n_source)
    assert "decoder.0.hook_cross_attn_out" in cache
    assert cache["pattern", 0, "cross"] is cache["decoder.0.cross_attn.hook_pattern"]
