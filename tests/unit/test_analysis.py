"""The analysis layer on hand-made maps whose answers are known: head profiles, links, word grouping,
labels, distinct heads, the causal check and the best head for a link."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from attnviz import capture
from attnviz.analysis.checks import causal_check, next_token_table
from attnviz.analysis.heads import (
    best_head_for_link,
    combine_heads,
    distinct_heads,
    head_profile,
    profile_shown_head,
    strongest_links,
)
from attnviz.analysis.tokens import (
    group_label,
    merge_words,
    renormalise_rows,
    unique_labels,
    visible_positions,
    word_groups,
)
from attnviz.masks import causal_mask
from attnviz.result import TokenSequence


def _uniform_causal(n: int) -> np.ndarray:
    allowed = ~causal_mask(n)
    return allowed / allowed.sum(-1, keepdims=True)


def _shifted(n: int, offset: int) -> np.ndarray:
    """Every query puts all its weight on the key ``offset`` away (clamped at the edges)."""
    matrix = np.zeros((n, n))
    for i in range(n):
        matrix[i, min(max(i + offset, 0), n - 1)] = 1.0
    return matrix


def test_causal_mask_is_bottom_right_aligned():
    assert causal_mask(3).tolist() == [[False, True, True], [False, False, True], [False, False, False]]
    assert causal_mask(2, 4).tolist() == [[False, False, False, True], [False, False, False, False]]


@pytest.mark.parametrize("n", [4, 10])
def test_a_uniform_causal_head_is_broad(n):
    profile = head_profile(_uniform_causal(n), [False] * n, 0, 0, causal=True)
    assert profile.role == "broad"
    assert profile.relative_entropy == pytest.approx(1.0)  # row 0 sees one key: it has no spread, and no say
    # Measured against log2(n), the early rows' low entropy drags the head below 1.
    assert head_profile(_uniform_causal(n), [False] * n, 0, 0).relative_entropy < 0.9


@pytest.mark.parametrize(("offset", "role"), [(-1, "previous"), (0, "self"), (1, "next")])
def test_positional_heads_are_named(offset, role):
    profile = head_profile(_shifted(8, offset), [False] * 8, 2, 3)
    assert profile.role == role and (profile.layer, profile.head) == (2, 3)


def test_first_token_head_is_first_whether_or_not_the_first_token_is_special():
    # the role vocabulary: position 0 is "first" (a sink) either way; "special" is the other special tokens
    matrix = np.zeros((6, 6))
    matrix[:, 0] = 1.0
    assert head_profile(matrix, [False] * 6, 0, 0).role == "first"
    assert head_profile(matrix, [True] + [False] * 5, 0, 0).role == "first"
    matrix[:, 0], matrix[:, 5] = 0.0, 1.0
    assert head_profile(matrix, [True] + [False] * 4 + [True], 0, 0).role == "special"


def test_a_sharp_but_irregular_head_has_no_role():
    rng = np.random.default_rng(0)
    matrix = np.zeros((12, 12))
    matrix[np.arange(12), rng.permutation(12)] = 1.0
    matrix[np.arange(12), np.arange(12)] = 0.0  # no clear positional pattern ...
    matrix = renormalise_rows(matrix + 1e-3)  # ... but each row looks at one key
    assert head_profile(matrix, [False] * 12, 0, 0).role == "none"


def test_combine_heads_modes():
    maps = np.stack([_shifted(4, -1), _shifted(4, 1)])
    np.testing.assert_allclose(combine_heads(maps, [0, 1], "mean").sum(-1), 1.0)
    assert combine_heads(maps, [1, 0], "single").tolist() == _shifted(4, 1).tolist()
    assert combine_heads(maps, [0, 1], "max").max() == 1.0
    with pytest.raises(ValueError):
        combine_heads(maps, [], "mean")


def test_strongest_links_skip_the_diagonal_and_sort():
    matrix = np.array([[0.9, 0.1, 0.0], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1]])
    links = strongest_links(matrix, ["a", "b", "c"], ["a", "b", "c"], top=2)
    assert links == [("c", "b", pytest.approx(0.7)), ("b", "a", pytest.approx(0.6))]


@given(arrays(np.float32, st.tuples(st.integers(1, 9), st.integers(1, 9)),
              elements=st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.9, 1.0, np.nan])), st.integers(1, 12))
@settings(max_examples=150, deadline=None)
def test_strongest_links_equal_a_full_sort(matrix, top):
    # the search looks only at rows whose best weight can reach the top: ties and NaN included, it must agree
    scores = np.nan_to_num(matrix.copy(), nan=-1.0)
    if scores.shape[0] == scores.shape[1]:
        np.fill_diagonal(scores, -1.0)
    wanted = [v for v in sorted(scores.ravel().tolist(), reverse=True)[:top] if v >= 0]
    labels = [str(i) for i in range(max(matrix.shape))]
    links = strongest_links(matrix, labels, labels, top=top)
    assert [weight for _, _, weight in links] == pytest.approx(wanted)
    for query, key, weight in links:
        square = matrix.shape[0] == matrix.shape[1]
        assert matrix[int(query), int(key)] == pytest.approx(weight) and (query != key or not square)


def test_distinct_heads_picks_the_clearest_of_each_role():
    profiles = [head_profile(_shifted(6, -1) * w + (1 - w) / 6, [False] * 6, 0, h) for h, w in enumerate((0.7, 0.9))]
    profiles.append(head_profile(_shifted(6, 1), [False] * 6, 1, 0))
    chosen = distinct_heads(profiles, count=3)
    assert [(p.role, p.layer, p.head) for p in chosen] == [("previous", 0, 1), ("next", 1, 0)]


def _sequence():
    #              [CLS]   Token   ##ization  is    [SEP]
    return TokenSequence(("[CLS]", "token", "##ization", "is", "[SEP]"), (1, 2, 3, 4, 5),
                         (True, False, False, False, True), (None, 0, 0, 1, None),
                         ("[CLS]", "Token", "ization", "is", "[SEP]"), ((0, 0), (0, 5), (5, 12), (13, 15), (0, 0)))


def test_word_grouping_and_labels():
    seq = _sequence()
    shown = visible_positions(seq, hide_special=True)
    assert shown == [1, 2, 3]
    groups = word_groups(seq, shown)
    assert groups == [[1, 2], [3]]
    assert [group_label(seq, g) for g in groups] == ["Tokenization", "is"]
    assert visible_positions(TokenSequence(("[CLS]",), (1,), (True,), (None,)), hide_special=True) == [0]


def test_a_character_split_over_two_tokens_is_spelled_once():
    seq = TokenSequence(("çģ", "«", "è½¦"), (7, 8, 9), (False,) * 3, (0, 0, 0), ("火", "火", "车"),
                        ((0, 1), (0, 1), (1, 2)))
    assert group_label(seq, [0, 1, 2]) == "火车"


def test_merged_words_keep_rows_distributions():
    rng = np.random.default_rng(1)
    matrix = renormalise_rows(rng.random((5, 5)))
    merged = merge_words(matrix, [[0], [1, 2], [3], [4]], [[0], [1, 2], [3], [4]])
    assert merged.shape == (4, 4)
    np.testing.assert_allclose(merged.sum(-1), 1.0)
    assert merged[1, 1] == pytest.approx(matrix[1:3, 1:3].sum(-1).mean())


def test_unique_labels_tell_duplicates_apart_by_position():
    assert unique_labels(["the", "cat", "the"], [1, 2, 4]) == ["the·1", "cat", "the·4"]


def test_causal_check_fails_when_the_future_has_weight():
    good = np.stack([_uniform_causal(5)] * 2)
    assert causal_check(good).holds
    leaky = good.copy()
    leaky[1, 0, 4] = 0.01
    check = causal_check(leaky)
    assert not check.holds and check.max_above_diagonal == pytest.approx(0.01)


@pytest.fixture(scope="module")
def bert(tiny_models):
    return tiny_models["bert"]


def test_best_head_reports_the_models_layer_number(bert):
    result = capture(bert, "the teacher saw a book in the park", layers=[1, 2])
    best = best_head_for_link(result, "encoder", 3, 5)
    assert best.layer in (1, 2)
    expected = max(((layer, head) for layer in (1, 2) for head in range(4)),
                   key=lambda lh: result.attention("encoder", lh[0], lh[1])[3, 5])
    assert (best.layer, best.head) == expected
    assert best.weight == pytest.approx(float(result.attention("encoder", *expected)[3, 5]))


def test_profile_beside_a_heatmap_uses_the_shown_tokens(bert):
    result = capture(bert, "the teacher saw a book")
    shown = visible_positions(result.source, hide_special=True)
    profile = profile_shown_head(result, "encoder", 0, 1, shown)
    full = result.attention("encoder", 0, 1)
    expected = renormalise_rows(full[np.ix_(shown, shown)])
    assert profile.self_weight == pytest.approx(float(np.diagonal(expected).mean()))
    assert profile.special_weight == 0.0  # hidden specials are not in the shown map


def test_next_token_table_for_decoders(tiny_models):
    result = capture(tiny_models["gpt2"], "the teacher saw")
    table = next_token_table(result)
    assert len(table) == len(result.source)
    assert table[0].prefix == result.source.labels[0]
    assert [row.next_token for row in table] == list(result.output_tokens.labels)


def test_alignment_and_head_tables(bert, tiny_models):
    from attnviz.analysis.tables import alignment_rows, head_rows
    from attnviz.analysis.view import ViewOptions, build_view

    seq2seq = capture(tiny_models["bart"], "the teacher saw a book", target="老师 看见 书")
    view = build_view(seq2seq, "cross", 1, [0], options=ViewOptions(hide_special=False))
    rows = alignment_rows(view)
    assert [r.target for r in rows] == list(view.row_labels)
    assert all(r.weight == pytest.approx(float(view.matrix[i].max())) for i, r in enumerate(rows))
    result = capture(bert, "the teacher saw a book")
    views = [build_view(result, "encoder", layer, [head]) for layer in (0, 2) for head in (1, 3)]
    table = head_rows(result, "encoder", views)
    assert [(r.layer, r.head) for r in table] == [(0, 1), (0, 3), (2, 1), (2, 3)]
    profile = head_profile(result.attention("encoder", 2, 3), result.source.special, 2, 3)
    assert table[-1].role == profile.role and table[-1].self_weight == pytest.approx(profile.self_weight)
