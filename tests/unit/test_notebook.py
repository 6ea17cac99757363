"""The notebook API: the same figures from an attnviz result and from transformers' outputs.attentions,
BertViz's model_view signature, and the example notebook runs top to bottom offline."""

from __future__ import annotations

import inspect
from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from attnviz import capture
from attnviz.models.registry import resolve
from attnviz.notebook import causal_view, cross_view, head_view, model_view, prettify, result_from_attentions

TEXT = "The train left the station on time"
NOTEBOOK = Path(__file__).resolve().parents[2] / "examples" / "quickstart.ipynb"


def _z(figure) -> np.ndarray:
    return np.asarray(figure.data[0].z, dtype=float)


@pytest.fixture(scope="module")
def bertviz_inputs():
    location = resolve("minilm").location
    tokenizer = transformers.AutoTokenizer.from_pretrained(location)
    model = transformers.AutoModel.from_pretrained(location, attn_implementation="eager")
    inputs = tokenizer(TEXT, return_tensors="pt")
    with torch.no_grad():
        outputs = model(**inputs, output_attentions=True)
    return outputs, tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])


def test_head_view_is_the_same_from_both_inputs(minilm, bertviz_inputs):
    outputs, tokens = bertviz_inputs
    ours = head_view(capture(minilm, TEXT), layer=2, head=5)
    theirs = head_view(outputs.attentions, tokens, layer=2, head=5)
    np.testing.assert_allclose(_z(ours), _z(theirs), atol=1e-5)
    np.testing.assert_allclose(_z(theirs), outputs.attentions[2][0, 5].numpy(), atol=1e-6)


# bertviz 1.4's model_view, written out: bertviz need not be installed for the test
BERTVIZ_MODEL_VIEW = [("attention", None), ("tokens", None), ("sentence_b_start", None), ("prettify_tokens", True),
                      ("display_mode", "dark"), ("encoder_attention", None), ("decoder_attention", None),
                      ("cross_attention", None), ("encoder_tokens", None), ("decoder_tokens", None),
                      ("include_layers", None), ("include_heads", None), ("html_action", "view")]


def _heatmaps(figure) -> list:
    return [trace for trace in figure.data if trace.type == "heatmap"]


def test_model_view_takes_bertviz_arguments_in_bertviz_order():
    parameters = list(inspect.signature(model_view).parameters.values())
    ours = [(p.name, p.default) for p in parameters[:len(BERTVIZ_MODEL_VIEW)]]
    assert ours == BERTVIZ_MODEL_VIEW
    assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in parameters[:len(BERTVIZ_MODEL_VIEW)])
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters[len(BERTVIZ_MODEL_VIEW):])  # attnviz's additions


def test_model_view_has_a_panel_per_included_head_with_the_models_weights(bertviz_inputs):
    outputs, tokens = bertviz_inputs
    figure = model_view(outputs.attentions, tokens, include_layers=[0, 5], include_heads=[0, 1, 2],
                        html_action="figure")
    panels = _heatmaps(figure)
    assert len(panels) == 6
    np.testing.assert_allclose(np.asarray(panels[4].z, float), outputs.attentions[5][0, 1].numpy(), atol=1e-6)
    assert len(_heatmaps(model_view(outputs.attentions, tokens, html_action="figure"))) == 6 * 12
    with pytest.raises(ValueError, match="include_layers"):
        model_view(outputs.attentions, tokens, include_layers=[6], html_action="figure")
    with pytest.raises(ValueError, match="include_heads"):
        model_view(outputs.attentions, tokens, include_heads=[12], html_action="figure")


def test_model_view_views_or_returns_offline_html(bertviz_inputs, monkeypatch):
    outputs, tokens = bertviz_inputs
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    assert model_view(outputs.attentions, tokens, include_layers=[0]) is None
    assert len(shown) == 1 and len(_heatmaps(shown[0])) == 12
    html = model_view(outputs.attentions, tokens, include_layers=[0], html_action="return")
    assert "Plotly.newPlot" in html.data and "<script src=" not in html.data  # plotly.js inside: works offline
    assert html._repr_html_() == html.data
    with pytest.raises(ValueError, match="html_action"):
        model_view(outputs.attentions, tokens, html_action="save")


def test_model_view_display_modes(bertviz_inputs):
    outputs, tokens = bertviz_inputs
    dark = model_view(outputs.attentions, tokens, include_layers=[0], html_action="figure")
    light = model_view(outputs.attentions, tokens, include_layers=[0], display_mode="light", html_action="figure")
    assert dark.layout.template.layout.paper_bgcolor != light.layout.template.layout.paper_bgcolor
    assert dark.layout.coloraxis.colorscale != light.layout.coloraxis.colorscale
    with pytest.raises(ValueError, match="display_mode"):
        model_view(outputs.attentions, tokens, display_mode="blue")


def test_model_view_splits_sentence_a_and_b(minilm):
    pair = capture(minilm, "The train left.", )
    tokens = list(pair.source.tokens)
    split = tokens.index("[SEP]")  # [CLS] the train left . [SEP] ...: sentence B would start after it
    tensors = tuple(torch.from_numpy(layer[None]) for layer in pair.arrays["encoder"])
    figure = model_view(tensors, tokens, sentence_b_start=split, include_layers=[1], include_heads=[0],
                        html_action="figure")
    buttons = figure.layout.updatemenus[0].buttons
    assert [b.label for b in buttons] == ["All", "Sentence A -> Sentence A", "Sentence B -> Sentence B",
                                         "Sentence A -> Sentence B", "Sentence B -> Sentence A"]
    full = pair.arrays["encoder"][1, 0]
    a_to_b = np.asarray(buttons[3].args[0]["z"][0], float)
    np.testing.assert_allclose(a_to_b[:split, split:], full[:split, split:], atol=1e-6)
    assert np.isnan(a_to_b[split:, :]).all() and np.isnan(a_to_b[:, :split]).all()
    with pytest.raises(ValueError, match="sentence_b_start"):
        model_view(tensors, tokens, sentence_b_start=len(tokens))


def test_model_view_of_a_decoder_and_an_encoder_decoder(tiny_models):
    decoder = capture(tiny_models["gpt2"], "the teacher saw a book")
    tensors = tuple(torch.from_numpy(layer[None]) for layer in decoder.arrays["decoder"])
    figure = model_view(tensors, ["Ġ" + t for t in decoder.source.tokens], html_action="figure")
    assert figure.layout.title.text == "Decoder"  # 0 above the diagonal in every layer: drawn as causal
    assert not any("Ġ" in str(name) for trace in _heatmaps(figure) for name in np.ravel(trace.customdata))
    assert prettify(["Ġthe", "▁cat", "sat</w>"]) == [" the", " cat", "sat"]

    seq2seq = capture(tiny_models["bart"], "the teacher saw", target="老师 看见")
    as_tensors = {kind: tuple(torch.from_numpy(layer[None]) for layer in seq2seq.arrays[kind])
                  for kind in ("encoder", "decoder", "cross")}
    src, tgt = seq2seq.source.tokens, seq2seq.decoder_input.tokens
    html = model_view(encoder_attention=as_tensors["encoder"], decoder_attention=as_tensors["decoder"],
                      cross_attention=as_tensors["cross"], encoder_tokens=src, decoder_tokens=tgt,
                      html_action="return")
    assert html.data.count("Plotly.newPlot") == 3  # one grid per kind
    cross = model_view(encoder_attention=as_tensors["encoder"], cross_attention=as_tensors["cross"],
                       encoder_tokens=src, decoder_tokens=tgt, kind="cross", include_layers=[1],
                       include_heads=[0], html_action="figure")
    np.testing.assert_allclose(np.asarray(cross.data[0].z, float), seq2seq.arrays["cross"][1, 0], atol=1e-6)
    with pytest.raises(ValueError, match="decoder_tokens"):
        model_view(cross_attention=as_tensors["cross"], encoder_tokens=src)


def test_causal_and_cross_views(tiny_models):

    decoder = capture(tiny_models["gpt2"], "the teacher saw a book")
    figure = causal_view(decoder, layer=1, head=2)
    assert figure.data  # the masked future is drawn (grey), the rest as weights
    seq2seq = capture(tiny_models["bart"], "the teacher saw", target="老师 看见")
    cross = seq2seq.arrays["cross"]
    tensors = tuple(torch.from_numpy(layer[None]) for layer in cross)
    figure = cross_view(tensors, encoder_tokens=seq2seq.source.tokens, decoder_tokens=seq2seq.decoder_input.tokens,
                        layer=1, head=0)
    np.testing.assert_allclose(_z(figure), cross[1, 0], atol=1e-6)


def test_tokens_that_do_not_match_the_attention_are_a_clear_error(bertviz_inputs):
    outputs, tokens = bertviz_inputs
    with pytest.raises(ValueError, match="pass the tokens the model read"):
        result_from_attentions(outputs.attentions, tokens[:-1])
    with pytest.raises(ValueError, match="pass the tokens"):
        head_view(outputs.attentions)


def test_the_example_notebook_runs_top_to_bottom():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("application/vnd.plotly.v1+json" in o.get("data", {}) for o in outputs) >= 5
