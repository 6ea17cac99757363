"""What each family of the curated matrix supports, as the model probe and the views find it today.

The committed table (``tests/family_table.json``) is what the family tests expect: which capture path a
family takes, whether every layer takes the fast path, which kinds the derivation covers, and each view's
verdict ("ok" or the error code the view gives). Tests read it instead of keeping hand-made lists, and
``test_architectures.py::test_the_probe_agrees_with_the_committed_family_table`` fails, naming the family,
when a transformers release moves a family to another path. Then regenerate it and read the diff:

    python -m tests.family_table            # writes tests/family_table.json
    python -m tests.family_table --check    # prints the differences, exits 1 if there are any
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

TABLE = Path(__file__).with_name("family_table.json")
REGENERATE = "python -m tests.family_table"
TEXT = "the teacher saw a book in the park and the dog ran"
TARGET = "老师 昨天 在 公园 看见 书"


def committed() -> dict[str, dict]:
    return json.loads(TABLE.read_text("utf-8"))["families"]


def table_says(name: str, fact: str):
    """One fact of the committed table, with the way out when a family is missing."""
    table = committed()
    assert name in table, f"{name} is not in tests/family_table.json: run `{REGENERATE}`"
    return table[name][fact]


def families_where(fact: str, predicate) -> list[str]:
    return [name for name, facts in committed().items() if predicate(facts[fact])]


def _verdict(view) -> str:
    from attnviz.errors import AttnvizError

    try:
        view()
    except AttnvizError as error:
        return error.code
    return "ok"


def probe(name: str, folder: Path) -> dict:
    """The facts of one family, from loading it (the probe) and asking each view once."""
    from attnviz import load_model
    from attnviz.contributions.decompose import decompose
    from attnviz.contributions.routes import route_contributions
    from attnviz.models.weights import exposes_weights
    from tests.architectures import ARCHITECTURES

    family = ARCHITECTURES[name][0]
    loaded = load_model(str(folder))
    target = TARGET if family == "encoder-decoder" else None
    sites = [site for kind_sites in loaded.sites.values() for site in kind_sites]
    return {
        "family": family,
        "capture_path": loaded.capture_path,
        "fast_path": all(site.plain_formula for site in sites),
        "derivation": [kind for kind in loaded.shape.kinds if exposes_weights(loaded, kind)],
        "contributions": _verdict(lambda: decompose(loaded, TEXT, target)),
        "routes": _verdict(lambda: route_contributions(loaded, TEXT, target)),
    }


def probe_all(root: Path) -> dict[str, dict]:
    from attnviz.toy.tokenizer import build_tokenizer
    from tests.architectures import ARCHITECTURES, build

    tokenizer = build_tokenizer("translator")
    return {name: probe(name, build(name, root / name, tokenizer)) for name in ARCHITECTURES}


def differences(found: dict[str, dict], table: dict[str, dict]) -> list[str]:
    lines = [f"{name}: not in the table" for name in found if name not in table]
    lines += [f"{name}: in the table, not in tests/architectures.py" for name in table if name not in found]
    for name in found.keys() & table.keys():
        lines += [f"{name}: {fact} is {found[name][fact]!r}, the table says {table[name].get(fact)!r}"
                  for fact in found[name] if found[name][fact] != table[name].get(fact)]
    return sorted(lines)


def main(argv: list[str] | None = None) -> int:
    import transformers

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed table, write nothing")
    args = parser.parse_args(argv)
    transformers.logging.set_verbosity_error()
    with tempfile.TemporaryDirectory() as root:
        found = probe_all(Path(root))
    if args.check:
        lines = differences(found, committed())
        print("\n".join(lines) or "the table matches the probe")
        return 1 if lines else 0
    TABLE.write_text(json.dumps({"generated_by": REGENERATE, "transformers": transformers.__version__,
                                 "families": found}, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {TABLE} ({len(found)} families, transformers {transformers.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
