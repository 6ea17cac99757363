"""The patching CLI and notebook view on the built-in models: the JSON shape the issue names, clear errors."""

from __future__ import annotations

import json

import numpy as np

from attnviz.__main__ import main
from attnviz.notebook import patching_view

CLEAN = "the doctor found a letter in the park the doctor found a"
CORRUPT = "the doctor found a book in the park the doctor found a"
ARGS = ["patch", "--model", "toy-induction", "--clean", CLEAN, "--corrupt", CORRUPT, "--answer", "letter",
        "--wrong", "book"]


def test_cli_json_is_layers_by_heads(capsys, toy_induction):
    assert main([*ARGS, "--component", "head_out", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert {"metric", "clean", "corrupt", "component", "values"} <= set(answer)
    assert answer["component"] == "head_out" and answer["metric"] == "logit_diff"
    assert np.array(answer["values"]).shape == (2, 4)
    assert answer["clean"] > answer["corrupt"]


def test_cli_attribution_has_the_same_shape(capsys, toy_induction):
    assert main([*ARGS, "--component", "resid_pre", "--attribution", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["method"] == "attribution"
    assert np.array(answer["values"]).shape == (2, len(answer["tokens"]))  # layers × positions


def test_cli_tables_and_errors(capsys, toy_translator, minilm):
    assert main(["patch", "--model", "toy-translator", "--clean", "the teacher saw a book", "--corrupt",
                 "the student saw a book", "--target", "老师 看见", "--answer", "书", "--wrong", "信",
                 "--component", "head_out", "--kind", "cross"]) == 0
    assert "cross" in capsys.readouterr().out
    assert main(["patch", "--model", "minilm", "--clean", "the train left", "--corrupt", "the ship left",
                 "--component", "resid_pre"]) == 0
    assert "sentence embedding" in capsys.readouterr().out
    assert main([*ARGS[:6], "the doctor", *ARGS[7:]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and "13" in err


def test_notebook_view(toy_induction):
    figure = patching_view(toy_induction, CLEAN, CORRUPT, "letter", "book")
    assert np.array(figure.data[0].z).shape == (2, 4)
    assert figure.layout.meta["correlation"] > 0.9
    by_pos = patching_view(toy_induction, CLEAN, CORRUPT, "letter", "book", component="head_out_by_pos",
                           method="attribution")
    assert np.array(by_pos.data[0].z).shape == (8, 13)  # one row per layer and head, a column per position
