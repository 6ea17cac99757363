"""Figures are built from views without a browser; image export renders real PNG/SVG/PDF bytes."""

from __future__ import annotations

import numpy as np
import pytest

from attnviz import capture
from attnviz.analysis.view import ViewOptions, build_view
from attnviz.export import figure_to_image, image_export_available
from attnviz.figures.grid import head_grid
from attnviz.figures.heatmap import attention_heatmap
from attnviz.figures.words import ENGLISH

DEMO = "The train left the station on time"


@pytest.fixture(scope="module")
def demo(minilm):
    return capture(minilm, DEMO)


def test_hiding_specials_gives_the_7x7_demo(demo):
    view = build_view(demo, "encoder", 0, [0])
    assert view.matrix.shape == (7, 7)
    assert view.row_labels == ("The", "train", "left", "the", "station", "on", "time")  # as typed


def test_mean_and_max_of_heads(demo):
    maps = demo.attention("encoder", 1)
    mean = build_view(demo, "encoder", 1, [0, 3, 5], "mean", ViewOptions(hide_special=False))
    peak = build_view(demo, "encoder", 1, [0, 3, 5], "max", ViewOptions(hide_special=False))
    np.testing.assert_allclose(mean.matrix, maps[[0, 3, 5]].mean(0), atol=1e-6)
    np.testing.assert_allclose(peak.matrix, maps[[0, 3, 5]].max(0), atol=1e-6)
    assert mean.head_label == "mean-H0-3-5"


def test_renormalised_rows_sum_to_one(demo):
    view = build_view(demo, "encoder", 2, [0], options=ViewOptions(renormalise=True))
    np.testing.assert_allclose(view.matrix.sum(1), 1.0, atol=1e-5)


def test_merging_subwords_keeps_rows_distributions(minilm):
    result = capture(minilm, "Tokenization is unbelievable")
    view = build_view(result, "encoder", 0, [0], options=ViewOptions(hide_special=False, merge_subwords=True))
    assert "Tokenization" in view.row_labels and len(view.row_labels) == 5  # [CLS] 3 words [SEP], as typed
    np.testing.assert_allclose(view.matrix.sum(1), 1.0, atol=1e-5)


def test_heatmap_hover_labels_and_escaping(minilm):
    result = capture(minilm, "<b>bold</b> text")
    figure = attention_heatmap(build_view(result, "encoder", 0, [0]), words=ENGLISH)
    ticks = figure.layout.xaxis.ticktext
    assert any(t.startswith("&lt;") for t in ticks) and not any("<" in t for t in ticks)
    assert "→" in figure.data[0].customdata[0][0]


def test_grid_has_one_panel_per_head(demo):
    views = [[build_view(demo, "encoder", layer, [h]) for h in range(12)] for layer in range(2)]
    assert len(head_grid(views, words=ENGLISH).data) == 24


@pytest.mark.skipif(not image_export_available(),
                    reason="image export needs Chrome/Chromium (apt-get install chromium)")
@pytest.mark.parametrize("fmt, magic", [("png", b"\x89PNG"), ("svg", b"<svg"), ("pdf", b"%PDF")])
def test_image_export(demo, fmt, magic):
    data = figure_to_image(attention_heatmap(build_view(demo, "encoder", 0, [0]), words=ENGLISH), fmt)
    assert magic in data[:200]


def test_long_texts_stay_light(minilm):
    """512 tokens: the heatmap labels every k-th token, the grid pools 8x8 blocks; both stay a few MB."""
    result = capture(minilm, "The quick brown fox jumps over the lazy dog. " * 120)
    heatmap = attention_heatmap(build_view(result, "encoder", 0, [0]), words=ENGLISH)
    assert len(heatmap.layout.xaxis.tickvals) <= 32 and heatmap.data[0].customdata is None
    assert len(heatmap.to_json()) < 3_000_000
    grid = head_grid([[build_view(result, "encoder", layer, [h]) for h in range(12)] for layer in range(6)],
                     words=ENGLISH)
    assert np.asarray(grid.data[0].z).shape == (64, 64)
    assert len(grid.to_json()) < 6_000_000


def test_pool_blocks_ignores_masked_cells():
    from attnviz.analysis.pooling import pool_blocks

    matrix = np.array([[1.0, np.nan], [0.5, 0.5]])
    pooled, block = pool_blocks(matrix, 1)
    assert block == 2 and pooled[0, 0] == pytest.approx(2 / 3)
