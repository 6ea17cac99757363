"""The floors the code is built on, checked from the source: what each layer may import, and the public API."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import attnviz

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for every import in a file; name is "" for ``import module``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            found += [(node.module, alias.name) for alias in node.names]
    return found


def test_the_readme_api_table_is_the_public_api():
    readme = (ROOT / "README.md").read_text("utf-8")
    table = readme.split("## Public API", 1)[1].split("\n\n| name |", 1)[1].split("\n\n", 1)[0]
    names = [re.match(r"\| `([A-Za-z_]+)", row).group(1) for row in table.splitlines()[2:]]
    assert names == list(attnviz.__all__)
    assert all(hasattr(attnviz, name) for name in names)


def test_pages_import_no_numpy_and_no_private_name():
    for page in sorted((ROOT / "pages").glob("*.py")):
        for module, name in _imports(page):
            assert module.split(".")[0] != "numpy", page.name
            assert not name.startswith("_") and not any(p.startswith("_") for p in module.split(".")), (page, name)


def test_the_capture_core_and_the_result_import_no_analysis():
    for path in [*(ROOT / "attnviz" / "capturing").glob("*.py"), ROOT / "attnviz" / "result.py",
                 ROOT / "attnviz" / "masks.py"]:
        for module, _ in _imports(path):
            assert not module.startswith(("attnviz.analysis", "attnviz.figures", "attnviz.explain",
                                          "attnviz.teach")), (path.name, module)
    for module, _ in _imports(ROOT / "attnviz" / "explain" / "value_norms.py"):
        assert not module.startswith("attnviz.teach")  # W_O comes from attnviz.models.weights


def test_importing_ui_runs_nothing():
    tree = ast.parse((ROOT / "ui" / "__init__.py").read_text("utf-8"))
    assert all(isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) for node in tree.body)


def test_no_private_streamlit_name_is_used():
    """Pages, ui and the router use Streamlit's public API: a private module or name breaks on an upgrade."""
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]:
        for module, name in _imports(path):
            if module.split(".")[0] == "streamlit":
                assert not name.startswith("_"), (path.name, module, name)
        text = path.read_text("utf-8")
        assert "PagesManager" not in text and "set_script_intent" not in text, path.name


def test_the_engine_imports_no_streamlit_and_nothing_of_the_interface():
    for path in (ROOT / "attnviz").rglob("*.py"):  # lazy imports inside functions count too
        for module, _ in _imports(path):
            assert module.split(".")[0] not in ("streamlit", "ui", "pages", "app"), (path, module)


# CJK punctuation, kana, ideographs (with extension A and compatibility forms), Hangul, full-width forms
CJK = re.compile(r"[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")


def test_no_engine_module_holds_chinese_japanese_or_korean_text():
    """Words for people in any language live in ui/i18n; the toy grammar's Chinese words are data
    (attnviz/toy/lexicon.toml). Docstrings and comments count: no module of the engine holds such a character."""
    assert CJK.search("火车") and CJK.search("，") and not CJK.search("café → ‖α·v‖ −∞ ×")  # the check can fail
    for path in (ROOT / "attnviz").rglob("*.py"):
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            assert not CJK.search(line), f"{path.relative_to(ROOT)}:{number}: {line.strip()[:60]}"


def test_every_engine_folder_is_a_package():
    """setuptools ships packages only: a folder of modules without __init__.py would be missing from the wheel."""
    for folder in {path.parent for path in (ROOT / "attnviz").rglob("*.py")}:
        assert (folder / "__init__.py").exists(), folder.relative_to(ROOT)


def _package_graph() -> dict[str, set[str]]:
    """attnviz's packages (``capturing``, ``tracing`` ...; a top-level module is its own) and what each imports,
    counting imports inside functions too: a lazy import is still a dependency."""
    graph: dict[str, set[str]] = {}
    for path in (ROOT / "attnviz").rglob("*.py"):
        package = path.relative_to(ROOT / "attnviz").with_suffix("").parts[0]
        graph.setdefault(package, set())
        for module, _ in _imports(path):
            parts = module.split(".")
            if parts[0] == "attnviz" and len(parts) > 1 and parts[1] != package:
                graph[package].add(parts[1])
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                other = stack.pop()
                group.append(other)
                if other == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_package_import_cycle():
    """Packages form layers: none imports, even lazily, a package that imports it back."""
    assert _cycles(_package_graph()) == []
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]  # the check can fail


def test_only_tracing_hooks_models():
    """One mechanism reads and writes a model: module hooks and attention handlers live in attnviz/tracing."""
    pattern = re.compile(r"register_forward(_pre)?_hook|register_\w*hook\(|\bhandling\(")
    outside = [path.relative_to(ROOT).as_posix() for path in (ROOT / "attnviz").rglob("*.py")
               if path.parent.name != "tracing" and pattern.search(path.read_text("utf-8"))]
    assert outside == []
