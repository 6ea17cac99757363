"""``attnviz heads`` names the planted heads; bad models are one-line errors."""

from __future__ import annotations

import json

from attnviz.cli import main
from tests.unit.test_roles_planted import _planted_gpt2


def test_heads_command_prints_planted_roles(tmp_path, capsys):
    _planted_gpt2(tmp_path)
    assert main(["heads", "--model", str(tmp_path), "--text", "w3 w4 w5 w6 w7 w8 w9 w10"]) == 0
    out = capsys.readouterr().out
    assert "decoder      0    0  previous" in out and "decoder      0    1  first" in out
    assert main(["heads", "--model", str(tmp_path), "--text", "w3 w4 w5", "--json", "--no-probe"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2]["roles"] == ["self"] and len(rows) == 8


def test_heads_command_bad_model_is_a_message(tmp_path, capsys):
    assert main(["heads", "--model", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error:")
