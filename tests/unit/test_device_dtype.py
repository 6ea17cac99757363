"""Device and precision: load_model(device=..., dtype=...) and float32 numpy results whatever the model runs in."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnviz import capture, load_model
from attnviz.errors import ModelLoadError
from attnviz.models.loading import pick_device, pick_dtype

BF16_TOLERANCE = 0.02  # largest |weight difference| from float32: bfloat16 keeps 8 bits of mantissa


def test_cpu_bfloat16_weights_are_close_to_float32(minilm):
    half = load_model("minilm", dtype="bfloat16")  # its own load: another precision than the shared one
    assert half.dtype == torch.bfloat16 and half.device.type == "cpu"
    text = "The train left the station on time"
    low, full = capture(half, text), capture(minilm, text)
    assert low.arrays["encoder"].dtype == np.float32
    difference = np.abs(low.arrays["encoder"] - full.arrays["encoder"]).max()
    assert 0 < difference < BF16_TOLERANCE
    np.testing.assert_allclose(low.arrays["encoder"].sum(-1), 1.0, atol=1e-2)


def test_float16_storage_halves_the_result(toy_lm):
    loaded = toy_lm
    full = capture(loaded, "the train left the station on time")
    half = capture(loaded, "the train left the station on time", storage="float16")
    assert half.arrays["decoder"].dtype == np.float16
    assert half.arrays["decoder"].nbytes * 2 == full.arrays["decoder"].nbytes
    np.testing.assert_allclose(half.arrays["decoder"], full.arrays["decoder"], atol=1e-3)


def test_device_choice():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert pick_device("auto").type in (expected, "mps")
    assert pick_dtype(None) == torch.float32 and pick_dtype("fp16") == torch.float16
    with pytest.raises(ModelLoadError, match="Unknown dtype"):
        pick_dtype("float8")


def test_max_tokens_may_go_past_the_default_cut_up_to_the_models_limit(tiny_models):
    loaded = tiny_models["llama-gqa"]
    assert loaded.shape.max_positions == 64
    text = " ".join(["the teacher saw a book"] * 30)
    assert len(capture(loaded, text, max_tokens=40).source) == 40
    assert len(capture(loaded, text, max_tokens=10_000).source) == 64  # never past the position table
