"""The shared cache counts the bytes its entries really hold, so its configured bound bounds memory."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import torch

from attnviz import capture
from attnviz.cache import ByteBoundedCache, nbytes

MB = 1 << 20


def test_tensors_arrays_and_plain_objects_count_their_buffers():
    tensor = torch.zeros(MB // 4)  # 1 MiB of float32
    assert MB <= nbytes(tensor) < MB + 1024
    assert MB <= nbytes({"logits": tensor}) < MB + 2048

    class Holder:  # a plain object (not a dataclass) keeping a tensor and an array
        def __init__(self):
            self.tensor, self.array = torch.ones(MB // 4), np.ones(MB // 8)

    assert 2 * MB <= nbytes(Holder()) < 2 * MB + 4096


def test_shared_buffers_count_once_and_views_count_what_they_keep_alive():
    array = np.zeros(MB // 8)
    assert nbytes([array, array]) < MB + 1024
    assert nbytes(array[:10]) >= MB  # the slice keeps the whole buffer alive
    tensor = torch.zeros(MB // 4)
    assert nbytes((tensor, tensor[:10], tensor.view(2, -1))) < MB + 1024


def test_large_containers_are_estimated_from_a_sample():
    texts = [f"token {i:06d}" for i in range(50_000)]
    exact = sum(len(pickle.dumps(t)) for t in texts)
    assert 0.5 * exact < nbytes(texts) < 4 * exact


def test_a_model_an_entry_points_to_is_not_counted(toy_lm):
    @dataclass(frozen=True)
    class View:
        loaded: object
        weights: np.ndarray

    view = View(toy_lm, np.zeros(1000, dtype=np.float32))
    assert nbytes(view) < 8_000


def test_a_capture_is_measured_close_to_its_pickled_size(minilm):
    result = capture(minilm, "The train left the station on time. " * 12)
    measured, pickled = nbytes(result), len(pickle.dumps(result))
    assert 0.8 * pickled < measured < 1.6 * pickled, (measured, pickled)


def test_the_bound_holds_for_tensor_entries():
    cache = ByteBoundedCache(10 * MB)
    for i in range(30):
        cache.get(("entry", i), lambda: torch.zeros(MB // 4))  # 1 MiB each: counted 16 bytes each before
    assert cache.bytes <= 10 * MB
    assert 8 <= len(cache) <= 10


def test_many_small_entries_count_their_keys_and_the_cache_own_bookkeeping():
    """A class fills the cache with tens of thousands of small derived views keyed by their texts: the bound
    must cover what the process holds for them, keys and the cache's own slots included (tracemalloc)."""
    import tracemalloc

    cache = ByteBoundedCache(2 * MB)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(40_000):
            cache.get(("derived", "minilm", f"a student's sentence number {i} about a train", i), lambda i=i: i * 0.5)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.bytes <= 2 * MB
    assert held <= 1.1 * cache.bytes, (held, cache.bytes)
