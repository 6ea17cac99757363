from __future__ import annotations

import json

import numpy as np

from attnviz import capture
from attnviz.cli import main
from attnviz.export import load_npz, matrix_to_csv, result_to_json, safe_filename


def test_cli_writes_npz(tmp_path, capsys):
    out = tmp_path / "result.npz"
    assert main(["capture", "--model", "minilm", "--text", "The train left the station on time",
                 "--layers", "0,5", "--out", str(out)]) == 0
    metadata, arrays = load_npz(out.read_bytes())
    assert arrays["encoder"].shape == (2, 12, 9, 9)
    assert metadata["layers"] == {"encoder": [0, 5]}
    assert metadata["source"]["tokens"][2] == "train"
    assert "encoder [2, 12, 9, 9]" in capsys.readouterr().out


def test_cli_translator_json(tmp_path):
    out = tmp_path / "r.json"
    assert main(["capture", "--model", "toy-translator", "--text", "the train left the station on time",
                 "--out", str(out)]) == 0
    payload = json.loads(out.read_text(encoding="utf-8"))
    assert payload["output_tokens"]["labels"][:4] == ["火车", "准时", "驶出", "车站"]
    assert np.array(payload["attention"]["cross"]).shape[-1] == 8


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["capture", "--model", "nope-model", "--text", "hi", "--out", str(tmp_path / "x.npz")]) == 2
    assert main(["capture", "--model", "minilm", "--text", " ", "--out", str(tmp_path / "x.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 2 and "Traceback" not in err


def test_json_roundtrip(minilm):
    result = capture(minilm, "hello world", layers=[1])
    payload = json.loads(result_to_json(result))
    np.testing.assert_allclose(np.array(payload["attention"]["encoder"]), result.arrays["encoder"], atol=1e-6)


def test_csv_protects_against_formulas():
    data = matrix_to_csv(np.eye(2), ["=cmd", "b"], ["+x", "y"]).decode("utf-8-sig")
    assert data.splitlines()[0] == "query \\ key,'+x,y"
    assert data.splitlines()[1].startswith("'=cmd,1.000000")


def test_safe_filename():
    assert safe_filename("minilm", "L2", "H5", extension="png") == "minilm_L2_H5.png"
    assert safe_filename("/tmp/../etc/passwd", "<x>", extension="svg") == "tmp-etc-passwd_-x.svg"
    assert safe_filename("", extension="pdf") == "attention.pdf"
