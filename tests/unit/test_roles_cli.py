"""``attnviz roles`` (also ``attnviz heads``) names the planted heads; bad models are one-line errors."""

from __future__ import annotations

import json

import pytest

from attnviz.cli import build_parser, main
from tests.unit.test_roles_planted import _planted_gpt2


@pytest.mark.parametrize("command", ["roles", "heads"])
def test_roles_command_prints_planted_roles(tmp_path, capsys, command):
    _planted_gpt2(tmp_path)
    assert main([command, "--model", str(tmp_path), "--text", "w3 w4 w5 w6 w7 w8 w9 w10"]) == 0
    out = capsys.readouterr().out
    assert "decoder      0    0  previous" in out and "decoder      0    1  first" in out
    assert main([command, "--model", str(tmp_path), "--text", "w3 w4 w5", "--json", "--no-probe"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows[2]["roles"] == ["self"] and len(rows) == 8


def test_roles_command_bad_model_is_a_message(tmp_path, capsys):
    assert main(["roles", "--model", str(tmp_path / "missing")]) == 2
    assert capsys.readouterr().err.startswith("error:")


def test_help_names_the_command_and_its_other_name(capsys):
    assert "roles (heads)" in build_parser().format_help()
    for command in ("roles", "heads"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert out.startswith("usage: attnviz roles") and "attnviz heads is another name" in " ".join(out.split())
