"""Activation patching on encoders, decoders and encoder-decoders, against a plain loop of torch forward hooks.

The reference patches one cell per run with ``register_forward_pre_hook`` on the model's own modules (the block
for the residual stream, the output projection W_O for a head's output: its input is every head's hook_z side by
side), independent of attnviz's tracing; the metric is computed again from the model's outputs.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.errors import AttnvizError, PatchingError, StreamError
from attnviz.patching import attribute, patch, prepare

CLEAN = "the teacher saw a book in the park"
CORRUPT = "the student saw a letter in the park"
TARGET, ANSWER, WRONG = "老师 看见", "书", "信"


def _blocks(loaded, stack: str) -> torch.nn.ModuleList:
    model = loaded.model
    root = model if loaded.family != "encoder-decoder" else (
        model.get_encoder() if stack == "encoder" else model.get_decoder())
    found = [m for name, m in root.named_modules() if isinstance(m, torch.nn.ModuleList)
             and name.split(".")[-1] in ("layer", "layers", "block", "h")]
    return found[0]


def _reference_metric(loaded, pair, inputs, direction=None):
    outputs = loaded.model(**inputs, use_cache=False) if loaded.family != "encoder" else loaded.model(**inputs)
    if pair.metric == "embedding_projection":
        state = outputs.last_hidden_state.float().mean(1)[0]
        return state if direction is None else float(state @ direction)
    logits = outputs.logits[0, -1].float()
    return float(logits[pair.answer_id] - logits[pair.wrong_id])


def _reference(loaded, pair, component: str, kind: str) -> np.ndarray:
    """One plain run per cell; ``component`` is "head_out" (W_O's input) or "resid_pre" (a block's input)."""
    stack = "encoder" if kind == "encoder" else "decoder"
    if component == "head_out":
        sites = loaded.sites[kind]
        modules = [s.output_projection for s in sites]
        heads, width = sites[0].heads, sites[0].head_dim
        cells = [(layer, head) for layer in range(len(sites)) for head in range(heads)]
    else:
        modules = list(_blocks(loaded, stack))
        n = pair.lengths[stack]
        cells = [(layer, pos) for layer in range(len(modules)) for pos in range(n)]

    def first(args, kwargs):
        return args[0] if args else kwargs["hidden_states"]

    clean_values = {}
    with torch.no_grad():
        handles = [m.register_forward_pre_hook(
            lambda mod, args, kwargs, i=i: clean_values.__setitem__(i, first(args, kwargs).clone()), with_kwargs=True)
            for i, m in enumerate(modules)]
        try:
            clean_state = _reference_metric(loaded, pair, pair.clean)
        finally:
            for h in handles:
                h.remove()
        direction = None
        if pair.metric == "embedding_projection":
            direction = clean_state / clean_state.norm()
            m_clean = float(clean_state @ direction)
        else:
            m_clean = clean_state
        m_corrupt = _reference_metric(loaded, pair, pair.corrupt, direction)
        values = []
        for layer, index in cells:
            def write(mod, args, kwargs, layer=layer, index=index):
                x = first(args, kwargs).clone()
                if component == "head_out":
                    head = slice(index * width, (index + 1) * width)
                    x[..., head] = clean_values[layer][..., head]
                else:
                    x[:, index] = clean_values[layer][:, index]
                return ((x, *args[1:]), kwargs) if args else (args, {**kwargs, "hidden_states": x})

            handle = modules[layer].register_forward_pre_hook(write, with_kwargs=True)
            try:
                values.append(_reference_metric(loaded, pair, pair.corrupt, direction))
            finally:
                handle.remove()
    shape = (len(modules), -1)
    return ((np.array(values) - m_corrupt) / (m_clean - m_corrupt)).reshape(shape)


CASES = [("bert", "encoder"), ("roberta", "encoder"), ("gpt2", "decoder"), ("llama-gqa", "decoder"),
         ("t5", "encoder"), ("t5", "cross"), ("t5", "decoder"), ("bart", "encoder"),
         ("bart", "cross"), ("marian", "cross"), ("marian", "encoder")]


def _pair(loaded):
    if loaded.family == "encoder":
        return prepare(loaded, CLEAN, CORRUPT)
    if loaded.family == "encoder-decoder":
        return prepare(loaded, CLEAN, CORRUPT, ANSWER, WRONG, target=TARGET)
    return prepare(loaded, CLEAN, CORRUPT, "book", "letter")


@pytest.mark.parametrize(("arch", "kind"), CASES)
def test_head_out_equals_a_plain_loop(tiny_models, arch, kind):
    loaded = tiny_models[arch]
    pair = _pair(loaded)
    ours = patch(loaded, pair, "head_out", kind)
    reference = _reference(loaded, pair, "head_out", kind)
    np.testing.assert_allclose(ours.values, reference, atol=1e-4 * (1 + np.abs(reference).max()), rtol=0)
    assert np.abs(reference).max() > 1e-3  # something moved: the comparison could fail
    estimate = attribute(loaded, pair, "head_out", kind)
    assert estimate.values.shape == ours.values.shape and np.isfinite(estimate.values).all()


@pytest.mark.parametrize(("arch", "kind"), [("bert", "encoder"), ("gpt2", "decoder"), ("t5", "encoder"),
                                            ("bart", "decoder"), ("marian", "encoder")])
def test_resid_pre_equals_a_plain_loop(tiny_models, arch, kind):
    loaded = tiny_models[arch]
    pair = _pair(loaded)
    ours = patch(loaded, pair, "resid_pre", kind)
    reference = _reference(loaded, pair, "resid_pre", kind)
    np.testing.assert_allclose(ours.values, reference, atol=1e-4 * (1 + np.abs(reference).max()), rtol=0)


def test_built_in_models(minilm, toy_lm, toy_translator, toy_induction):
    assert patch(minilm, prepare(minilm, "The train left the station on time", "The train left the school on time"),
                 "head_out").values.shape == (6, 12)
    pair = prepare(toy_induction, "the doctor found a letter in the park the doctor found a",
                   "the doctor found a book in the park the doctor found a", "letter", "book")
    exact = patch(toy_induction, pair, "head_out")
    assert exact.values[1].max() > 0.1 > abs(exact.values[0]).max()  # the induction heads sit in layer 1
    toy_pair = prepare(toy_lm, "the teacher saw a book", "the student saw a book", "in", "the")
    assert patch(toy_lm, toy_pair, "resid_pre").values.shape == (2, len(toy_pair.clean_tokens))
    cross = patch(toy_translator, prepare(toy_translator, "the teacher saw a book", "the student saw a book", "书",
                                          "信", target="老师 看见"), "head_out", "cross")
    assert cross.values.shape == (toy_translator.shape.n_layers["cross"], toy_translator.shape.heads_of("cross"))


def test_bad_input_is_a_clear_error(toy_lm, minilm):
    cases = [(("the teacher saw a book", "the teacher saw", "in", "the"), "patch_lengths"),
             (("the teacher saw a book", "the student saw a book", "in the", "the"), "patch_not_one_token"),
             (("the teacher saw a book", "the student saw a book", "in", "in"), "patch_same_token"),
             (("the teacher saw a book", "the teacher saw a book", "in", "the"), "patch_no_difference")]
    for args, code in cases:
        with pytest.raises(PatchingError) as error:
            patch(toy_lm, prepare(toy_lm, *args), "head_out")
        assert error.value.code == code
    with pytest.raises(PatchingError) as error:
        patch(toy_lm, prepare(toy_lm, "the teacher saw", "the student saw", "in", "the"), "head_bogus")
    assert error.value.code == "patch_component"
    with pytest.raises(StreamError) as error:  # post-LN: what the MLP adds is not a term of the stream
        patch(minilm, prepare(minilm, "the train left", "the ship left"), "mlp_out")
    assert error.value.code == "post_ln_mlp"


MATRIX = ["mistral-sliding", "gemma2-softcap", "phi3", "gpt-neox", "falcon", "olmo", "qwen3", "distilbert",
          "electra", "modernbert", "pegasus", "m2m100", "blenderbot", "bart-mixed-heads"]
OUTSIDE = ["gpt-neo", "bloom-alibi", "roformer-rotary", "deberta", "mpnet-relative"]


@pytest.fixture(scope="module")
def matrix_models(tmp_path_factory):
    from attnviz.models.loading import load_model
    from attnviz.toy.tokenizer import build_tokenizer
    from tests.architectures import build

    tokenizer = build_tokenizer("translator")
    root = tmp_path_factory.mktemp("patching-matrix")
    return lambda name: load_model(str(build(name, root / name, tokenizer)))


@pytest.mark.parametrize("arch", MATRIX)
def test_the_family_matrix(matrix_models, arch):
    """Across the family table's kinds of model: every kind of attention's heads equal the plain loop, and the
    rows split off at their layer equal rows run from the first layer."""
    loaded = matrix_models(arch)
    pair = _pair(loaded)
    for kind in loaded.shape.kinds:
        ours = patch(loaded, pair, "head_out", kind)
        np.testing.assert_allclose(ours.values, _reference(loaded, pair, "head_out", kind),
                                   atol=1e-4 * (1 + np.abs(ours.values).max()), rtol=0)
    stack_kind = loaded.shape.kinds[0]
    split = patch(loaded, pair, "resid_pre", stack_kind)
    whole = patch(loaded, pair, "resid_pre", stack_kind, split_rows=False)
    np.testing.assert_allclose(split.values, whole.values, atol=1e-4 * (1 + np.abs(whole.values).max()), rtol=0)


@pytest.mark.parametrize("arch", OUTSIDE)
def test_families_outside_the_interface_say_why(matrix_models, arch):
    loaded = matrix_models(arch)
    with pytest.raises(AttnvizError) as error:
        patch(loaded, _pair(loaded), "head_out")
    assert error.value.code == "no_interventions"
