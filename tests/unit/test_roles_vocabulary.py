"""One vocabulary for head roles: every list of roles comes from attnviz.roles.vocabulary, and the places that
name roles for people (labels, badges, census columns, the CLI) cover exactly its roles."""

from __future__ import annotations

import ast
import typing
from pathlib import Path

from attnviz.analysis.heads import HeadProfile
from attnviz.analysis.tables import HeadRow
from attnviz.census.report import HEAD_COLUMNS
from attnviz.census.stats import EXAMPLE_STATS, SUM_NAMES
from attnviz.cli.census import SUMMARY_STATS
from attnviz.roles import vocabulary
from attnviz.roles.vocabulary import BY_FAMILY, NO_ROLE, ORDER, ROLE, ROLES, kind_roles

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("attnviz", "ui", "pages", "scripts", "benchmarks", "app.py")
NAMES = set(ORDER)
# Per-role tables that are presentation, not vocabulary: each is checked below to cover every role.
TABLES_ALLOWED = {("ui/roles_panel.py", "BADGE_COLOURS")}


def _role_literals(node: ast.AST) -> list[str]:
    return [e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in NAMES]


def _spelled_out_lists(source: str, relative: str) -> list[str]:
    """Tuples, lists and sets of three or more role names, and constant tables keyed by three or more."""
    tree = ast.parse(source)
    allowed = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Assign)
               for target in node.targets if isinstance(target, ast.Name) and (relative, target.id) in TABLES_ALLOWED}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and len(_role_literals(node)) >= 3:
            found.append(f"{relative}:{node.lineno} {_role_literals(node)}")
        elif isinstance(node, ast.Dict) and id(node) not in allowed:
            keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and k.value in NAMES]
            if len(keys) >= 3 and all(isinstance(v, ast.Constant) for v in node.values):
                found.append(f"{relative}:{node.lineno} {keys}")
    return found


def test_no_module_but_the_vocabulary_spells_out_a_list_of_roles():
    vocabulary_file = Path(vocabulary.__file__).resolve()
    paths = [p for s in SOURCES for p in ((ROOT / s).rglob("*.py") if (ROOT / s).is_dir() else [ROOT / s])]
    found = [hit for p in paths if p.resolve() != vocabulary_file
             for hit in _spelled_out_lists(p.read_text("utf-8"), p.relative_to(ROOT).as_posix())]
    assert not found, "import these lists from attnviz.roles.vocabulary: " + "; ".join(found)


def test_the_guard_notices_a_copied_list():
    copies = 'ROLES = ("previous", "next", "self")\nLIMITS = {"first": 0.5, "special": 0.5, "broad": 0.9}\n'
    assert len(_spelled_out_lists(copies, "attnviz/copies.py")) == 2
    formulas = 'rows = {"first": a[0], "special": b, "previous": c}\nPAIR = ("previous", "next")\n'
    assert _spelled_out_lists(formulas, "attnviz/formulas.py") == []  # a formula per role, two names: no copy


def test_the_type_of_a_role_is_the_vocabulary():
    assert typing.get_args(vocabulary.RoleName) == ORDER  # the Literal is the only other spelling of the roles
    assert typing.get_args(vocabulary.PrimaryRole) == (*ORDER, NO_ROLE)
    for record in (HeadProfile, HeadRow):
        assert typing.get_type_hints(record)["role"] == vocabulary.PrimaryRole


def test_the_roles_are_well_formed():
    assert [r.name for r in ROLES] == list(ORDER) and len(ROLE) == len(ROLES) and NO_ROLE not in ROLE
    assert sorted(BY_FAMILY) == sorted(ORDER)
    assert all(r.kinds and r.family in vocabulary.FAMILIES and 0 < r.threshold < 1 for r in ROLES)
    # a verdict lists the sinks last: every role that can hold beside a sink comes before the sinks in ORDER
    first_sink = min(ORDER.index(r) for r in vocabulary.SINK_ROLES)
    assert all(ORDER.index(r.name) < first_sink for r in ROLES if not r.sink and r.gives_way != "all")
    assert "next" in kind_roles(cross=False, causal=False) and "next" not in kind_roles(cross=False, causal=True)
    assert set(vocabulary.CROSS_ROLES) == {r.name for r in ROLES if "cross" in r.kinds}


def test_census_columns_and_the_summary_follow_the_vocabulary():
    assert HEAD_COLUMNS[:len(ORDER)] == ORDER  # a column per role, named after it
    assert {f"baseline_{r}" for r in ORDER} <= set(HEAD_COLUMNS)
    assert EXAMPLE_STATS[:len(BY_FAMILY)] == BY_FAMILY
    assert [n.removesuffix(".num") for n in SUM_NAMES if n.endswith(".num")] == list(vocabulary.LINEAR_ROLES)
    assert SUMMARY_STATS[:len(ORDER)] == ORDER


def test_every_role_has_words_and_a_badge_in_both_languages():
    from ui.i18n import STRINGS
    from ui.roles_panel import BADGE_COLOURS

    keys = [f"role.{r}" for r in (*ORDER, NO_ROLE)] + [f"role.{r}.about" for r in ORDER]
    assert [k for k in keys if not STRINGS.get(k, {}).keys() >= {"en", "zh"}] == []
    assert set(BADGE_COLOURS) == set(ORDER)
