"""Models outside the attention interface, and ALBERT's shared layers, in the app and on the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from streamlit.testing.v1 import AppTest

from attnviz.cli import main
from tests.app.conftest import APP, page_file
from tests.architectures import ARCHITECTURES, build, eager_attentions
from tests.family_table import families_where, table_says

PAGE_OF = {"encoder": ("pages/self_attention.py", "model"), "decoder": ("pages/causal_attention.py", "lm"),
           "encoder-decoder": ("pages/cross_attention.py", "mt")}
# The families the committed table puts outside the attention interface, and ALBERT's shared layers.
NAMES = [*families_where("capture_path", lambda path: path != "interface"), "albert-shared"]
FAMILIES = {name: PAGE_OF[ARCHITECTURES[name][0]] for name in NAMES}
TEXT = "the teacher saw a book in the park"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    root = tmp_path_factory.mktemp("own-models")
    return {name: build(name, root / name, tokenizer) for name in FAMILIES}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_app_draws_models_outside_the_interface(folders, name):
    page, key = FAMILIES[name]
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page(page_file(page)).run()
    at.selectbox(key=key).set_value("__custom__").run()
    at.text_input(key=f"{key}_path").set_value(str(folders[name])).run()
    assert not at.exception and not at.error, [e.value for e in at.exception] + [e.value for e in at.error]
    captions = " ".join(c.value for c in at.caption)
    if table_says(name, "capture_path") == "interface":
        assert "3 self-attention layers" in captions  # one map per application of the shared layer
    else:
        assert "output_attentions" in captions


@pytest.mark.parametrize("name", list(FAMILIES))
def test_the_cli_captures_them_equal_to_eager(folders, name, tmp_path, capsys):
    out = tmp_path / "result.json"
    assert main(["capture", "--model", str(folders[name]), "--text", TEXT, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    family = ARCHITECTURES[name][0]
    kind = "encoder" if family == "encoder" else "decoder"
    reference, _ = eager_attentions(folders[name], family, torch.tensor([data["source"]["token_ids"]]))
    captured = np.array(data["attention"][kind], dtype=np.float32)
    np.testing.assert_allclose(captured, reference[kind][:, 0].numpy(), atol=1e-5)
    assert data["capture_path"] == table_says(name, "capture_path")
    if data["capture_path"] != "interface":
        assert "output_attentions" in printed  # the CLI says which path it used
