"""``attnviz census``: a census file from the command line, and a sentence with exit code 2 for bad input."""

from __future__ import annotations

import pandas as pd
import pytest

from attnviz.census import CensusResult
from attnviz.census.gold import grammar_sentences
from attnviz.cli import main


def test_census_from_the_command_line(tmp_path, capsys):
    data = tmp_path / "sentences.txt"
    data.write_text("\n".join(grammar_sentences(10)) + "\n", "utf-8")
    out = tmp_path / "census.parquet"
    code = main(["census", "--model", "toy-translator", "--data", str(data), "--out", str(out), "--batch-size", "4",
                 "--qk-texts", "3", "--quiet"])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "10 texts" in printed and "alignment" in printed and f"written: {out}" in printed
    result = CensusResult.load(out)
    assert result.meta.n_texts == 10 and result.meta.options["batch_size"] == 4
    assert len(result.heads) == 24 and len(result.points) > 0
    assert not (tmp_path / "census.parquet.parts").exists()


def test_census_reads_a_csv_column(tmp_path, capsys):
    pd.DataFrame({"id": [1, 2], "sentence": ["The cat sat.", "A dog ran home."]}).to_csv(tmp_path / "t.csv",
                                                                                        index=False)
    out = tmp_path / "c.parquet"
    assert main(["census", "--data", str(tmp_path / "t.csv"), "--column", "sentence", "--out", str(out),
                 "--qk-texts", "0", "--quiet", "--batch-size", "auto"]) == 0
    result = CensusResult.load(out)
    assert result.meta.model == "minilm" and result.meta.options["batch_size"] == 16  # auto on a CPU
    capsys.readouterr()


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "{tmp}/missing.txt"], "There is no file or folder"),
    (["--data", "{tmp}/t.csv"], "has no column 'text' (columns: sentence); name one with --column"),
    (["--data", "{tmp}/t.txt", "--out", "{tmp}/c.csv"], "name the output file *.parquet"),
    (["--data", "{tmp}/t.txt", "--out", "{tmp}/nowhere/c.parquet"], "There is no folder"),
    (["--data", "{tmp}/t.txt", "--batch-size", "0"], "--batch-size must be at least 1"),
    (["--data", "{tmp}/t.txt", "--batch-size", "lots"], "--batch-size must be a number or auto"),
    (["--data", "{tmp}/t.txt", "--model", "./no/such/model"], "There is no folder"),
    (["--data", "{tmp}/t.txt", "--qk-map", "umap"], "umap-learn"),
])
def test_bad_input_is_a_sentence_and_exit_code_2(tmp_path, capsys, args, message):
    pytest.importorskip("pyarrow")
    if "umap" in args:
        from attnviz.census.qkmap import umap_available

        if umap_available():
            pytest.skip("umap-learn is installed here")
    (tmp_path / "t.txt").write_text("life is good\n", "utf-8")
    pd.DataFrame({"sentence": ["a"]}).to_csv(tmp_path / "t.csv", index=False)
    argv = ["census", "--out", str(tmp_path / "c.parquet"), "--quiet", "--model", "toy-translator"]
    argv += [a.format(tmp=tmp_path) for a in args]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ") and message in captured.err
    assert "Traceback" not in captured.err + captured.out


def test_unknown_engine_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["census", "--data", "x.txt", "--out", str(tmp_path / "c.parquet"), "--engine", "spark"])
    assert stop.value.code == 2 and "invalid choice: 'spark'" in capsys.readouterr().err
