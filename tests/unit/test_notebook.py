"""The notebook API: the same figures from an attnviz result and from transformers' outputs.attentions,
and the example notebook runs top to bottom offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import transformers

from attnviz import capture
from attnviz.models.registry import resolve
from attnviz.notebook import causal_view, cross_view, grid_view, head_view, result_from_attentions

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


def test_grid_view_has_a_panel_per_head(bertviz_inputs):
    outputs, tokens = bertviz_inputs
    figure = grid_view(outputs.attentions, tokens, layers=[0, 5], heads=[0, 1, 2])
    assert len([trace for trace in figure.data if trace.type == "heatmap"]) == 6


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
