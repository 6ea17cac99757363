"""Which families of the test matrix get the residual decomposition, direct logit attribution and the logit lens.

    flock /tmp/attnviz-heavy.lock .venv/bin/python benchmarks/contributions_families.py

For each family (tiny random model, the toy tokenizer, saved and loaded by path, one run): the stream decomposed,
whether post-LN norms were carried, the largest gap between the parts and the real final residual, the largest
gap between the attribution's parts and the model's own logit (at every position, the predicted token), and
whether the lens's last row reproduces the model's output (the lens checks it itself). Prints a Markdown table.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attnviz import load_model  # noqa: E402
from attnviz.contributions.decompose import decompose  # noqa: E402
from attnviz.contributions.lens import logit_lens  # noqa: E402
from attnviz.contributions.logits import direct_logit_attribution  # noqa: E402
from attnviz.errors import StreamError  # noqa: E402
from attnviz.toy.tokenizer import build_tokenizer  # noqa: E402
from tests.architectures import ARCHITECTURES, build  # noqa: E402

TEXT = "the teacher saw a book in the park and the dog ran"
TARGET = "老师 昨天 在 公园 看见 书"
WHY = {"no_head_outputs": "attention outside the interface (output_attentions): no head outputs"}


def row(name: str, family: str, folder: Path) -> str:
    loaded = load_model(str(folder))
    try:
        d = decompose(loaded, TEXT, TARGET if family == "encoder-decoder" else None)
    except StreamError as error:
        return f"| {name} | {family} | no | no | no | {WHY.get(error.code, str(error))} |"
    gap = float(np.abs(d.total() - d.final_residual).max() / max(1.0, np.abs(d.final_residual).max()))
    norms = "post-LN, carried" if d.post_ln else ("pre-LN, sandwich norms applied" if d.sublayer_norms
                                                  else "pre-LN / parallel")
    if d.kind == "encoder":
        return f"| {name} | {family} | yes ({norms}; {gap:.0e}) | no | no | an encoder has no logits |"
    logit_gap = max(abs((a := direct_logit_attribution(loaded, d, position=p)).total - a.logit)
                    for p in range(len(d.tokens)))
    logit_lens(loaded, d, k=3)  # raises if its last row is not the model's output
    cross = ", cross-attention heads too" if d.cross_heads is not None else ""
    return f"| {name} | {family} | yes ({norms}; {gap:.0e}) | yes ({logit_gap:.0e}{cross}) | yes | |"


def main() -> None:
    tokenizer = build_tokenizer("translator")
    print("| family | kind | decomposition (relative gap) | direct logit attribution (gap) | logit lens | why not |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as root:
        for name, (family, _) in ARCHITECTURES.items():
            print(row(name, family, build(name, Path(root) / name, tokenizer)), flush=True)


if __name__ == "__main__":
    main()
