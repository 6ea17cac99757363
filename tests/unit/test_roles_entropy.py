"""The one relative entropy: its edge cases, numpy and torch alike, and the roles, the census and a head
profile all reading it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz.analysis.heads import head_profile
from attnviz.roles.entropy import relative_entropy
from attnviz.roles.scores import TokenFacts, score_self_attention

# rows: spread evenly over 4 keys, all on one key, sees one key, padding (sees none), NaN where a key is hidden
ROWS = np.array([[0.25, 0.25, 0.25, 0.25],
                 [0.0, 1.0, 0.0, 0.0],
                 [1.0, 0.0, 0.0, 0.0],
                 [0.3, 0.3, 0.4, 0.0],
                 [0.5, 0.5, np.nan, 0.0]], dtype=np.float32)
KEYS_SEEN = np.array([4, 4, 1, 0, 2])
EXPECTED = [1.0, 0.0, 0.0, 0.0, 1.0]


def test_relative_entropy_edge_cases():
    # one key or none: no spread to measure, so 0 (means over rows leave such rows out by their count)
    np.testing.assert_allclose(relative_entropy(ROWS, KEYS_SEEN), EXPECTED, atol=1e-6)


def test_numpy_and_torch_give_the_same_relative_entropy():
    on_torch = relative_entropy(torch.from_numpy(np.nan_to_num(ROWS)), torch.from_numpy(KEYS_SEEN))
    np.testing.assert_allclose(on_torch.numpy(), EXPECTED, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_broad_and_a_head_profile_read_the_same_relative_entropy(causal):
    rng = np.random.default_rng(0)
    n = 9
    weights = rng.random((n, n)) ** 4  # uneven rows
    if causal:
        weights = np.tril(weights)
    weights /= weights.sum(-1, keepdims=True)
    facts = TokenFacts(tuple(range(n)), (False,) * n, causal)
    broad = score_self_attention(weights[None, None].astype(np.float32), facts)["broad"][0, 0]
    profile = head_profile(weights, [False] * n, 0, 0, causal=causal)
    assert profile.relative_entropy == pytest.approx(float(broad), abs=1e-6)
    assert 0.3 < profile.relative_entropy < 0.95  # neither sharp nor even: the comparison means something
