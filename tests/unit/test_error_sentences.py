"""Error sentences have one source: a raise names a code and its parameters, the tables (ui/i18n) hold the words."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from attnviz.errors import (
    AttnvizError,
    CaptureShapeError,
    InputTextError,
    LayerRequestError,
    error_sentence,
)
from attnviz.words import tables

ROOT = Path(__file__).resolve().parents[2]


def _error_classes() -> set[str]:
    """Names of attnviz's error classes: AttnvizError and every class defined below it in attnviz/."""
    names = {"AttnvizError"}
    trees = [ast.parse(path.read_text("utf-8")) for path in (ROOT / "attnviz").rglob("*.py")]
    while True:
        found = {node.name for tree in trees for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
                 and any(isinstance(base, ast.Name) and base.id in names for base in node.bases)}
        if found <= names:
            return names
        names |= found


def _raises() -> list[tuple[Path, ast.Call]]:
    """Every construction of an attnviz error in the engine's modules."""
    classes = _error_classes()
    found = []
    for path in sorted((ROOT / "attnviz").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in classes:
                found.append((path, node))
    return found


def _code(call: ast.Call) -> str | None:
    keyword = next((k for k in call.keywords if k.arg == "code"), None)
    if keyword is None:
        return None
    if isinstance(keyword.value, ast.Constant):
        return keyword.value.value
    # ``code=empty`` where ``empty = "a" if ... else "b"``: both literals must be in the tables
    return "|".join(n.value for n in ast.walk(keyword.value) if isinstance(n, ast.Constant)) or "<variable>"


def test_a_raise_names_a_code_and_no_sentence():
    raises = _raises()
    assert len(raises) > 120  # the scan sees the engine's raises
    for path, call in raises:
        where = f"{path.relative_to(ROOT)}:{call.lineno}"
        assert not call.args, f"{where}: the sentence belongs in the tables (ui/i18n), the raise gives a code"
        code = _code(call)
        rethrown = any(k.arg is None for k in call.keywords)  # code=error.code, **error.params: an error passed on
        assert code is not None and (code != "<variable>" or rethrown), f"{where}: name the error's code"


def test_every_code_has_a_sentence_in_both_languages_with_the_raises_parameters():
    for path, call in _raises():
        code = _code(call)
        if code in (None, "<variable>"):
            continue
        given = {k.arg for k in call.keywords if k.arg not in ("code", None)}
        for one in code.split("|"):
            entry = tables().get(f"error.{one}")
            assert entry is not None and entry.get("en") and entry.get("zh"), (path.name, call.lineno, one)
            for lang in ("en", "zh"):
                needed = set(re.findall(r"\{(\w+)", entry[lang]))
                assert needed <= given, (path.name, call.lineno, one, lang, needed - given)


def test_no_engine_module_repeats_a_sentence_of_the_tables():
    english = {entry["en"] for entry in tables().values() if len(entry["en"].split()) >= 3}
    for path in (ROOT / "attnviz").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in english, (path.relative_to(ROOT), node.lineno, node.value[:60])


def test_an_errors_english_is_the_tables_and_the_interface_reads_the_same_entry():
    error = LayerRequestError(code="no_such_layer", kind="cross", n_layers=2, asked=[5])
    entry = tables()["error.no_such_layer"]
    assert str(error) == entry["en"].format(kind=tables()["kind.cross"]["en"], n_layers=2, asked=[5])
    assert error_sentence(error, "zh") == entry["zh"].format(kind=tables()["kind.cross"]["zh"], n_layers=2, asked=[5])
    assert error_sentence(error, "fr") == str(error)  # a language without tables: English
    shape = CaptureShapeError(code="capture_shape", kind="decoder", layer=1, shape=(1, 4, 5, 5), expected=(1, 4, 6, 6))
    assert "(1, 4, 5, 5), not (1, 4, 6, 6)" in str(shape)


def test_kinds_are_named_as_the_tables_name_them():
    from attnviz.errors import PatchingError

    error = PatchingError(code="patch_kind", model="toy-lm", kind="encoder", kinds=("decoder",))
    assert str(error) == f"toy-lm has no {tables()['kind.encoder']['en']} (it has: {tables()['kind.decoder']['en']})."


@pytest.mark.parametrize("error", [AttnvizError("A sentence of its own."),
                                   InputTextError("A sentence of its own.", code="not_in_the_tables")])
def test_a_sentence_given_by_the_raise_is_kept(error):
    assert str(error) == "A sentence of its own."
    assert error_sentence(error, "en") == "A sentence of its own."
    assert error_sentence(error, "zh") == tables()["error.error"]["zh"].format(message="A sentence of its own.")
