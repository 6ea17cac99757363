"""The browser map's payload: what it carries decodes to the very matrices build_view gives. What the browser then
draws from it (heads combined, special tokens hidden, rows rescaled) is live_map.js's own arithmetic, run in
Chromium by tests/e2e/test_live_map.py."""

from __future__ import annotations

import numpy as np
import pytest

import attnviz.figures.live as live
from attnviz import capture
from attnviz.analysis.view import ViewOptions, build_view, stack_views
from attnviz.cache import ByteBoundedCache
from attnviz.figures.live import (
    LEVELS,
    TileMeans,
    encode,
    map_payload,
    maps_to_send,
    overview_window,
    window_of,
    zoom_window,
)
from attnviz.masks import causal_mask
from tests.payload import decode


@pytest.fixture(scope="module")
def decoder_result(toy_lm):
    return capture(toy_lm, "the farmer saw the bridge near the city")


def _sent(result, kind, options, layer=1, heads=(1, 3), zoom=None, n_heads=4):
    return decode(map_payload(result, kind, options, layer=layer, heads=heads, zoom=zoom, n_heads=n_heads,
                              cache=ByteBoundedCache(1 << 26), interface={"state": {"layer": layer}}))


@pytest.mark.parametrize("options", [ViewOptions(), ViewOptions(hide_special=False),
                                     ViewOptions(merge_subwords=True, renormalise=True)])
def test_every_map_sent_is_the_views_head(decoder_result, options):
    meta, weights, masked = _sent(decoder_result, "decoder", options)
    assert meta["state"] == {"layer": 1}  # the page's own header fields travel as given
    # whole maps with every token travel when the browser can hide the specials itself; merged words are the server's
    sent = ViewOptions(hide_special=meta["hidden"], merge_subwords=options.merge_subwords)
    assert meta["hidden"] == (options.merge_subwords and options.hide_special)
    for i, (layer, head) in enumerate(meta["maps"]):
        view = build_view(decoder_result, "decoder", layer, [head], "single", sent)
        np.testing.assert_allclose(weights[i], view.matrix, atol=1 / LEVELS)
        assert (masked == view.masked).all() and meta["rows"] == list(view.row_labels)


def test_merged_masks_are_the_cells_wholly_in_the_future(decoder_result):
    view = build_view(decoder_result, "decoder", 0, [0], "single", ViewOptions(hide_special=False))
    assert (view.masked == causal_mask(*view.matrix.shape)).all()


def test_encoding_keeps_unicode_labels_and_odd_header_lengths():
    for label in ("a", "火车", "😀"):
        weights = np.random.default_rng(0).random((1, 2, 3, 3)).astype(np.float32)
        meta, back, masked = decode(encode(weights, np.eye(3, dtype=bool), {"rows": [label] * 3}))
        assert meta["rows"] == [label] * 3 and meta["shape"] == [1, 2, 3, 3]
        np.testing.assert_allclose(back, weights, atol=0.5 / LEVELS)
        assert (masked == np.eye(3, dtype=bool)).all()


def test_a_long_input_is_an_overview_and_a_zoom_at_full_resolution():
    n = 4096
    overview = overview_window(n, n)
    assert overview.block == 4 and -(-n // overview.block) == 1024
    zoom = zoom_window(n, n, (1000, 1300), (900, 1100))
    assert (zoom.row0, zoom.rows, zoom.col0, zoom.cols, zoom.block) == (1000, 300, 900, 200, 1)
    matrix = np.random.default_rng(1).random((1, 1, 64, 64)).astype(np.float32)
    masked = causal_mask(64)
    pooled, pooled_mask = window_of(matrix, masked, overview_window(64, 64, max_side=16))
    assert pooled.shape == (1, 1, 16, 16) and pooled_mask.shape == (16, 16)
    first_block = np.where(masked[:4, :4], np.nan, matrix[0, 0, :4, :4])
    assert pooled[0, 0, 0, 0] == pytest.approx(np.nanmean(first_block))
    assert pooled_mask[0, 1] and not pooled_mask[1, 0]  # wholly future blocks stay masked
    part, part_mask = window_of(matrix, masked, zoom_window(64, 64, (10, 20), (5, 9)))
    assert part.shape == (1, 1, 10, 4) and (part == matrix[..., 10:20, 5:9]).all()


def test_what_fits_the_budget_travels():
    every = [(layer, head) for layer in range(6) for head in range(12)]
    assert maps_to_send(range(6), 12, 7 * 7, 2, [0]) == every
    assert maps_to_send(range(6), 12, 128 * 128, 2, [0]) == every
    # 512 tokens: the shown layer's heads (head and mode switches) and the shown head of every other layer
    assert maps_to_send(range(6), 12, 512 * 512, 2, [5]) == sorted(
        [(2, head) for head in range(12)] + [(layer, 5) for layer in (0, 1, 3, 4, 5)])
    # a 1,024-cell side: the shown heads, then nearest layers' while they fit (the layer's other heads do not)
    assert maps_to_send(range(6), 12, 1024 * 1024, 2, [0, 3]) == [(1, 0), (1, 3), (2, 0), (2, 3)]
    # a capture that kept one layer: the shown head, and no layer it does not have
    assert maps_to_send([4], 12, 1024 * 1024, 4, [7]) == [(4, 7)]
    assert maps_to_send([4], 12, 64 * 64, 4, [7]) == [(4, head) for head in range(12)]
    # whatever is asked, the shown heads travel, even past the budget
    assert maps_to_send(range(6), 12, 4096 * 4096, 0, [1, 2]) == [(0, 1), (0, 2)]



def test_grid_payload_pools_each_panel_and_stays_small_at_512_tokens(minilm):
    import time

    from attnviz import capture
    from attnviz.analysis.pooling import PANEL_CELLS as GRID_PANEL_CELLS
    from attnviz.analysis.view import stack_views
    from attnviz.figures.live import grid_payload

    result = capture(minilm, " ".join(["the train left the station on time"] * 80), max_tokens=512)
    started = time.perf_counter()
    stack = stack_views(result, "encoder", list(range(6)))
    payload = grid_payload(stack.matrix, stack.masked, stack.row_labels, stack.col_labels,
                           {"title": "t", "layers": list(range(6)), "heads": list(range(12))})
    build = time.perf_counter() - started
    meta, weights, masked = decode(payload)
    assert meta["grid"] and weights.shape == (6, 12, GRID_PANEL_CELLS, GRID_PANEL_CELLS) and meta["block"] == 8
    assert len(payload) < 2 * 2**20, len(payload)
    # a panel's cell is the mean of its block of the full map
    np.testing.assert_allclose(weights[2, 5, 3, 4], stack.matrix[2, 5, 24:32, 32:40].mean(), atol=2e-5)
    assert build < 5  # loose: the figure printed by benchmarks/browser_speed.py is the measurement


def test_grid_payload_renormalises_rows_before_pooling():
    from attnviz.figures.live import grid_payload

    matrix = np.array([[[[0.2, 0.2, 0.0], [0.1, 0.1, 0.3], [0.25, 0.25, 0.25]]]], dtype=np.float32)
    masked = np.triu(np.ones((3, 3), dtype=bool), 1)
    _, weights, _ = decode(grid_payload(matrix, masked, list("abc"), list("abc"), {}, renormalise=True))
    np.testing.assert_allclose(weights[0, 0, 1, :2], [0.5, 0.5], atol=1e-4)
    np.testing.assert_allclose(np.where(masked, 0, weights[0, 0]).sum(-1), 1.0, atol=1e-4)


def test_tile_means_of_a_float16_map_equal_nan_means_of_each_tile():
    rng = np.random.default_rng(3)
    for n_rows, n_cols, block in ((37, 37, 4), (50, 23, 7), (16, 16, 16)):
        cells = rng.random((n_rows, n_cols)).astype(np.float16)
        masked = causal_mask(n_rows, n_cols) if n_rows == n_cols else rng.random((n_rows, n_cols)) < 0.3
        means = TileMeans(masked, block)
        pooled = means(cells)
        assert pooled.shape == means.shape == (-(-n_rows // block), -(-n_cols // block))
        full = np.where(masked, np.nan, cells.astype(np.float32))
        for r, c in {(0, 0), (min(1, means.shape[0] - 1), 0), (means.shape[0] - 1, means.shape[1] - 1)}:
            tile = full[r * block:(r + 1) * block, c * block:(c + 1) * block]
            if np.isnan(tile).all():
                assert means.empty[r, c] and pooled[r, c] == 0
            else:
                assert not means.empty[r, c] and pooled[r, c] == pytest.approx(np.nanmean(tile), abs=1e-6)
        np.testing.assert_array_equal(means(cells), pooled)  # the reused buffer leaves nothing behind


def test_maps_sent_before_come_from_the_shared_cache(decoder_result, monkeypatch):
    cache = ByteBoundedCache(1 << 26)
    built = []
    real = live._window_maps
    monkeypatch.setattr(live, "_window_maps", lambda *a: built.append(list(a[3])) or real(*a))
    options, window = ViewOptions(), overview_window(9, 9)
    first = live._sent_maps(decoder_result, "decoder", options, [(0, 0), (0, 1)], window, cache)
    again = live._sent_maps(decoder_result, "decoder", options, [(0, 1), (1, 2)], window, cache)
    assert built == [[(0, 0), (0, 1)], [(1, 2)]]  # only the map not sent before is built
    np.testing.assert_array_equal(again[0][0], first[0][1])
    stack = stack_views(decoder_result, "decoder", [1], options, heads=[2])
    np.testing.assert_allclose(again[0][1] / LEVELS, stack.matrix[0, 0], atol=1 / LEVELS)
    assert cache.bytes <= cache.max_bytes


def test_the_special_tokens_a_payload_lists_are_those_the_server_hides(toy_translator):
    """The browser leaves out the rows and columns a payload lists as special (live_map.js ``visible``): without
    them the sent map is the server's view with special tokens hidden."""
    result = capture(toy_translator, "the train left the station", target="火车 驶出 车站")
    for kind in ("encoder", "cross"):
        meta, weights, masked = _sent(result, kind, ViewOptions(), layer=0, heads=(1,), n_heads=4)
        rows = [i for i in range(len(meta["rows"])) if i not in meta["specials"]["rows"]]
        cols = [j for j in range(len(meta["cols"])) if j not in meta["specials"]["cols"]]
        assert len(rows) < len(meta["rows"]) and len(cols) < len(meta["cols"])  # there are specials to hide
        view = build_view(result, kind, 0, [1], "single", ViewOptions(hide_special=True))
        np.testing.assert_allclose(weights[meta["maps"].index([0, 1])][np.ix_(rows, cols)], view.matrix,
                                   atol=1 / LEVELS)
        assert [meta["rows"][i] for i in rows] == list(view.row_labels)
        assert [meta["cols"][j] for j in cols] == list(view.col_labels)


def test_texts_with_the_same_token_ids_do_not_share_a_sent_map(toy_lm):
    """Every word unknown to the toy vocabulary is <unk>, so two visitors' sentences can have the same token ids;
    the map one of them is sent must still carry their own words, not the other's (the server's cache is
    shared by every session)."""
    model, cache = toy_lm, ByteBoundedCache(1 << 26)
    first = capture(model, "friend ocean clock mountain")
    second = capture(model, "story evening lamp garden")
    assert first.source.token_ids == second.source.token_ids  # the premise: ids alone cannot tell them apart
    for result in (first, second, first):
        meta, _, _ = decode(map_payload(result, "decoder", ViewOptions(), layer=0, heads=(0,), zoom=None, n_heads=2,
                                        cache=cache, interface={}))
        assert [label.split("·")[0] for label in meta["cols"] if label != "<s>"] == \
            [label for label in result.source.labels if label != "<s>"]
