"""Long inputs keep bounded memory: float16, then only the layer on screen."""

import numpy as np

from attnviz import capture
from attnviz.capturing.budget import capture_plan


def test_plan_steps_down_as_inputs_grow(minilm):
    shape = minilm.shape  # 6 layers x 12 heads
    assert capture_plan(shape, 128, 2).storage == "float32" and capture_plan(shape, 128, 2).layers is None
    assert capture_plan(shape, 1024, 2).storage == "float16" and capture_plan(shape, 1024, 2).layers is None
    long = capture_plan(shape, 4096, 2)
    assert long.layers == {"encoder": [2]} and long.storage == "float16"
    assert long.bytes == 12 * 4096 * 4096 * 2  # one layer's heads, two bytes a weight
    assert capture_plan(shape, 4096, None).layers is None  # a page that needs every layer gets them, in float16


def test_a_selective_float16_capture_equals_the_full_one(tiny_models):
    loaded = tiny_models["llama-gqa"]
    text = " ".join(["the boy found a good book"] * 8)
    plan = capture_plan(loaded.shape, 50, layer=1, budget=10_000)
    assert plan.layers == {"decoder": [1]}
    small = capture(loaded, text, layers=plan.layers, storage=plan.storage)
    full = capture(loaded, text)
    assert small.arrays["decoder"].dtype == np.float16 and small.layers["decoder"] == (1,)
    np.testing.assert_allclose(small.attention("decoder", 1), full.attention("decoder", 1), atol=1e-3)
