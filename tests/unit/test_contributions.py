"""Residual decomposition, direct logit attribution and the logit lens.

The proof: on a tiny GPT-2 and a tiny Llama with sharpened query/key weights (maps far from uniform),
TransformerLens computes the same quantities its own way from the same saved weights. It runs with
its LayerNorm folded into the weights but the unembedding, the writing weights and the value biases
left as they are, so each head's result and each logit are the model's own (its default compatibility
mode centres the unembedding and moves value biases into W_O's bias, which changes the per-head terms).
Then completeness on every family of the matrix whose attention goes through the interface.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz import capture, load_model
from attnviz.contributions.decompose import decompose
from attnviz.contributions.lens import lens_row, logit_lens
from attnviz.contributions.logits import direct_logit_attribution
from attnviz.errors import InputTextError, LayerRequestError, StreamError
from tests.architectures import ARCHITECTURES, build
from tests.family_table import REGENERATE, table_says
from tests.sharpened import sharpened

TEXT = "the teacher saw a book in the park and the dog ran"
TARGET = "老师 昨天 在 公园 看见 书"


@pytest.fixture(scope="module")
def tokenizer():
    from attnviz.toy.tokenizer import build_tokenizer

    return build_tokenizer("translator")


@pytest.fixture(scope="module", params=["gpt2", "llama"])
def pair(request, tmp_path_factory, tokenizer):
    """(attnviz's loaded model and decomposition, TransformerLens's bridge and cache) for one sharpened model."""
    from transformer_lens.model_bridge import TransformerBridge

    folder = tmp_path_factory.mktemp("sharpened") / request.param
    sharpened(request.param, len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    loaded = load_model(str(folder))
    decomposition = decompose(loaded, TEXT)
    bridge = TransformerBridge.boot_transformers(str(folder), device="cpu")
    bridge.enable_compatibility_mode(disable_warnings=True, fold_ln=True, center_writing_weights=False,
                                     center_unembed=False, fold_value_biases=False)
    bridge.set_use_attn_result(True)
    with torch.no_grad():
        logits, cache = bridge.run_with_cache(torch.tensor([decomposition.tokens.token_ids]))
    return loaded, decomposition, bridge, cache, logits[0].detach()


def _close(mine, theirs, tolerance=1e-4):
    theirs = np.asarray(theirs.detach() if isinstance(theirs, torch.Tensor) else theirs, dtype=np.float64)
    np.testing.assert_allclose(np.asarray(mine, dtype=np.float64), theirs, rtol=tolerance,
                               atol=tolerance * max(1.0, float(np.abs(theirs).max())))


def test_the_maps_are_sharp(pair):
    loaded, *_ = pair
    weights = capture(loaded, TEXT).arrays["decoder"]
    assert weights.max(-1)[..., 3:].mean() > 0.6  # far from uniform past the first few queries


def test_decomposition_equals_transformer_lens(pair):
    loaded, decomposition, bridge, cache, logits = pair
    _close(decomposition.logits, logits)
    stack, labels = cache.decompose_resid(return_labels=True)  # [component, batch, pos, d]
    embedded = [i for i, label in enumerate(labels) if "embed" in label]
    _close(decomposition.embeddings, stack[embedded, 0].sum(0))
    for layer in range(decomposition.n_layers):
        _close(decomposition.heads[layer].sum(0) + decomposition.attention_bias[layer],
               stack[labels.index(f"{layer}_attn_out"), 0])
        _close(decomposition.mlps[layer], stack[labels.index(f"{layer}_mlp_out"), 0])
    heads, head_labels = cache.stack_head_results(return_labels=True)  # [layer·head, batch, pos, d]
    assert head_labels[:2] == ["L0H0", "L0H1"]
    _close(decomposition.heads.reshape(-1, *decomposition.heads.shape[2:]), heads[:, 0])
    _close(decomposition.final_residual, cache[f"blocks.{decomposition.n_layers - 1}.hook_resid_post"][0])
    _close(decomposition.total(), decomposition.final_residual, 1e-5)


def test_a_wrong_head_order_would_be_noticed(pair):
    """The comparison can fail: heads swapped within each layer differ from TransformerLens's by far more than 1e-4."""
    _, decomposition, _, cache, _ = pair
    heads = cache.stack_head_results()[:, 0].detach().numpy().reshape(decomposition.heads.shape)
    with pytest.raises(AssertionError):
        _close(decomposition.heads[:, ::-1], heads)


def _tl_routes(bridge, cache, token: int, contrast: int | None, position: int) -> tuple[np.ndarray, np.ndarray]:
    """TransformerLens's two routes to each head's logit: its ``logit_attrs`` helper, and the product of
    ``hook_result``, ``ln_final.hook_scale`` and ``W_U`` written out."""
    heads = cache.stack_head_results()  # [layer·head, batch, pos, d]
    helper = cache.logit_attrs(heads, tokens=token, incorrect_tokens=contrast)[:, 0, position]
    direction = bridge.W_U[:, token] - (bridge.W_U[:, contrast] if contrast is not None else 0)
    scale = cache["ln_final.hook_scale"][0, position]  # [1]
    results = torch.stack([cache[f"blocks.{layer}.attn.hook_result"][0, position]
                           for layer in range(bridge.cfg.n_layers)])  # [layer, head, d]
    if bridge.cfg.normalization_type in ("LN", "LNPre"):
        results = results - results.mean(-1, keepdim=True)
    product = (results / scale) @ direction
    return helper.detach().numpy(), product.reshape(-1).detach().numpy()


@pytest.mark.parametrize("use_contrast", [False, True])
def test_direct_logit_attribution_equals_transformer_lens(pair, use_contrast):
    loaded, decomposition, bridge, cache, logits = pair
    position = 7
    token = int(logits[position].argmax())
    contrast = int(logits[position].argsort()[-2]) if use_contrast else None
    helper, product = _tl_routes(bridge, cache, token, contrast, position)
    _close(helper, product, 1e-5)  # the two routes agree before either is taken as the reference
    mine = direct_logit_attribution(loaded, decomposition, token=token, contrast=contrast, position=position)
    _close(mine.heads.ravel(), helper)
    assert abs(mine.total - mine.logit) < 1e-4 * max(1.0, abs(mine.logit))
    own = float(logits[position, token] - (logits[position, contrast] if contrast is not None else 0))
    assert mine.logit == pytest.approx(own, abs=1e-4)
    assert np.abs(mine.heads).max() > 0.2  # values large enough for 1e-4 to mean something


def test_logit_lens_equals_transformer_lens(pair):
    loaded, decomposition, bridge, cache, logits = pair
    accumulated = cache.accumulated_resid(apply_ln=True)[:, 0]  # [row, pos, d], final norm recomputed per row
    probabilities = torch.softmax((accumulated @ bridge.W_U + bridge.b_U).double(), -1)
    lens = logit_lens(loaded, decomposition, k=5)
    assert lens.n_rows == decomposition.n_layers + 1
    _close(lens.top_probabilities, probabilities.gather(-1, torch.from_numpy(lens.top_ids)))
    predicted = logits.argmax(-1)
    chance = probabilities.gather(-1, predicted[None, :, None].expand(len(probabilities), -1, 1))[..., 0]
    _close(lens.prediction_probability, chance)
    np.testing.assert_array_equal(lens.prediction_rank, (probabilities > chance[..., None]).sum(-1).numpy() + 1)
    assert (lens.prediction_rank[-1] == 1).all()
    cell = lens_row(loaded, decomposition, 1, 4, k=5)
    assert cell.token_ids == tuple(int(i) for i in lens.top_ids[1, 4])
    _close(cell.probabilities, lens.top_probabilities[1, 4])


def test_attribution_rows_shares_and_bad_tokens(pair):
    loaded, decomposition, *_ = pair
    attribution = direct_logit_attribution(loaded, decomposition)
    rows = attribution.rows()
    assert len(rows) == decomposition.n_layers * decomposition.n_heads + decomposition.n_layers
    assert rows[-1]["head"] is None and rows[0]["head"] == 0
    top = attribution.top_heads(3)
    assert abs(top[0].value) >= abs(top[-1].value) and 0 < top[0].share <= 1
    assert attribution.shares().sum() <= 1 + 1e-9
    assert direct_logit_attribution(loaded, decomposition, token="park").token == "park"
    with pytest.raises(InputTextError) as error:
        direct_logit_attribution(loaded, decomposition, token="dog")  # not in the toy vocabulary
    assert error.value.code == "not_one_token"
    with pytest.raises(InputTextError):
        direct_logit_attribution(loaded, decomposition, position=99)


POST_LN = {"bert", "roberta", "distilbert", "electra", "bert-relative-key", "albert-shared", "bart", "bart-mixed-heads",
           "marian"}


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tokenizer):
    root = tmp_path_factory.mktemp("contribution-architectures")
    return lambda name: build(name, root / name, tokenizer)


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_completeness_on_every_family(name, folders):
    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folders(name)))
    target = TARGET if family == "encoder-decoder" else None
    verdict = table_says(name, "contributions")  # "ok", or the code the view gives (tests/family_table.json)
    if verdict != "ok":
        with pytest.raises(StreamError) as error:
            decompose(loaded, TEXT, target)
        assert error.value.code == verdict, f"{name}: the view's verdict changed; run `{REGENERATE}`"
        return
    decomposition = decompose(loaded, TEXT, target)
    scale = np.abs(decomposition.final_residual).max()
    assert np.abs(decomposition.total() - decomposition.final_residual).max() < 1e-5 * max(1.0, scale)
    assert decomposition.kind == ("encoder" if family == "encoder" else "decoder")
    assert (decomposition.cross_heads is not None) == (family == "encoder-decoder")
    assert np.abs(decomposition.heads).max() > 0  # heads were recorded, not left as zeros
    assert decomposition.post_ln == (name in POST_LN) and decomposition.sublayer_norms == (name == "gemma2-softcap")
    if family == "encoder":
        with pytest.raises(StreamError):
            direct_logit_attribution(loaded, decomposition)
        return
    attribution = direct_logit_attribution(loaded, decomposition, position=2)
    assert abs(attribution.total - attribution.logit) < 1e-4 * max(1.0, abs(attribution.logit))
    lens = logit_lens(loaded, decomposition, k=2)  # checks its last row against the model's logits itself
    assert (lens.prediction_rank[-1] == 1).all()


def test_minilm_encoder_and_bad_text(minilm):
    decomposition = decompose(minilm, "The train left the station on time.")
    assert decomposition.kind == "encoder" and decomposition.post_ln and decomposition.final_norm is None
    assert np.abs(decomposition.total() - decomposition.final_residual).max() < 1e-4
    with pytest.raises(StreamError) as error:
        logit_lens(minilm, decomposition)
    assert error.value.code == "no_unembedding"
    with pytest.raises(InputTextError):
        decompose(minilm, "   ")


def test_command_line(capsys):
    import json

    from attnviz.cli import main

    assert main(["contributions", "--model", "toy-lm", "--text", "the teacher saw a", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"layer", "head", "value"} <= set(rows[0]) and rows[-1]["head"] is None
    assert main(["lens", "--model", "toy-lm", "--text", "the teacher saw a", "--json", "--k", "2"]) == 0
    cells = json.loads(capsys.readouterr().out)
    assert {"layer", "position", "top"} == set(cells[0]) and len(cells[0]["top"]) == 2
    assert main(["contributions", "--model", "toy-lm", "--text", "the teacher", "--token", "teacher",
                 "--contrast", "the"]) == 0
    assert "logit('teacher') − 'the'" in capsys.readouterr().out
    assert main(["lens", "--model", "minilm", "--text", "hello"]) == 2
    assert "no language-model head" in capsys.readouterr().err
    assert main(["contributions", "--model", "toy-lm", "--text", "  "]) == 2


def test_the_lens_at_chosen_positions_is_the_whole_lens_there(pair):
    """The page computes the lens at the positions it shows: those columns equal the whole lens's, and a cell
    outside them is an error that says which positions were computed."""
    from attnviz.contributions.lens import lens_window

    loaded, decomposition, *_ = pair
    whole = logit_lens(loaded, decomposition, k=3)
    shown = lens_window(len(decomposition.tokens), 4, 3)
    assert shown == (3, 4, 5) and lens_window(10, 0, 4) == (0, 1, 2, 3) and lens_window(10, 9, 4) == (6, 7, 8, 9)
    part = logit_lens(loaded, decomposition, k=3, positions=shown)
    assert part.text_positions == shown and part.positions == tuple(whole.positions[p] for p in shown)
    np.testing.assert_array_equal(part.top_ids, whole.top_ids[:, list(shown)])
    np.testing.assert_allclose(part.prediction_probability, whole.prediction_probability[:, list(shown)], atol=1e-6)
    mine, theirs = part.row(2, 5), whole.row(2, 5)
    assert (mine.token_ids, mine.prediction_rank) == (theirs.token_ids, theirs.prediction_rank)
    np.testing.assert_allclose(mine.probabilities, theirs.probabilities, atol=1e-6)
    assert part.first_layer(4) == whole.first_layer(4)
    with pytest.raises(LayerRequestError):
        part.row(0, 0)
    with pytest.raises(LayerRequestError):
        logit_lens(loaded, decomposition, positions=[len(decomposition.tokens)])


def test_a_lens_window_away_from_the_start_fills_its_figure(pair):
    """Columns are drawn at 0..n-1 and named by their text position, so a window far into the text (or one
    position) is inside the plot's range, not beside it."""
    from attnviz.figures.contributions import lens_figure
    from attnviz.figures.words import ENGLISH

    loaded, decomposition, *_ = pair
    for shown in ((3, 4, 5), (5,)):
        figure = lens_figure(logit_lens(loaded, decomposition, k=3, positions=shown), words=ENGLISH)
        low, high = figure.layout.xaxis.range
        assert all(low < x < high for x in figure.data[0].x)
        assert [t.rsplit("·", 1)[1] for t in figure.layout.xaxis.ticktext] == [str(p) for p in shown]


def test_notebook_views_take_a_model_or_a_transformer_lens_cache(pair):
    from attnviz.notebook import causal_view, contributions_view, head_view, lens_view, model_view

    loaded, decomposition, bridge, cache, logits = pair
    figure = contributions_view(loaded, TEXT)
    mine = direct_logit_attribution(loaded, decomposition)
    _close(figure.data[0].z, mine.heads)
    from_cache = contributions_view(cache, logits=logits[None])  # TransformerLens's own numbers, drawn by attnviz
    _close(from_cache.data[0].z, mine.heads)
    assert contributions_view(loaded, TEXT, parts=True).data[0].type == "bar"
    lens = lens_view(loaded, TEXT)
    tokens = list(decomposition.tokens.labels)
    _close(lens_view(cache, tokens).data[0].z, lens.data[0].z)
    pattern = cache["blocks.1.attn.hook_pattern"][0, 2].numpy()
    np.testing.assert_allclose(head_view(cache, tokens, layer=1, head=2).data[0].z[np.tril_indices(len(tokens))],
                               pattern[np.tril_indices(len(tokens))], atol=1e-6)
    assert len(model_view(cache, tokens, html_action="figure").data) > 0 and causal_view(cache, tokens, layer=0).data


def test_the_self_checks_notice_a_wrong_split(pair, monkeypatch):
    """A W_O read with its heads in the wrong order adds up to something else than the model's W_O produced."""
    import attnviz.contributions.decompose as module

    loaded, *_ = pair
    right = module._w_o
    monkeypatch.setattr(module, "_w_o", lambda site: (right(site)[0].flip(0), right(site)[1]))
    with pytest.raises(StreamError) as error:
        decompose(loaded, TEXT)
    assert error.value.code == "projection_mismatch"


def test_every_view_gives_each_family_the_same_verdict():
    """The decomposition and the routes ask one support function (attnviz.tracing.support): the committed
    family table records the same verdict, and the same code, for both on every family."""
    from tests.family_table import committed

    for name, facts in committed().items():
        assert facts["contributions"] == facts["routes"], name
