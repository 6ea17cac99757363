"""The server's one cache is shared by every session: what is derived from one visitor's capture must never be
handed to another whose capture merely has the same token ids."""

from __future__ import annotations

from attnviz import capture, load_model
from attnviz.analysis.view import ViewOptions, build_view
from ui.cached import derived


def test_views_of_texts_with_the_same_token_ids_are_not_shared():
    model = load_model("toy-lm")
    first, second = capture(model, "friend ocean clock mountain"), capture(model, "story evening lamp garden")
    assert first.source.token_ids == second.source.token_ids  # every word is <unk> in the toy vocabulary
    for result in (first, second):
        view = derived("view", result, ("decoder", 0, (0,), "single", ViewOptions()),
                       lambda result=result: build_view(result, "decoder", 0, [0], "single", ViewOptions()))
        assert list(view.col_labels) == [label for label in result.source.labels if label != "<s>"]
