"""The family table with differences from eager (docs/capture.md): for each family of the curated test
matrix, in one run, the capture path, the largest difference from eager ``output_attentions=True``, whether
every layer takes the fast path (weights written straight into the result) and whether the step-by-step
derivation covers it.

    python benchmarks/family_table.py > benchmarks/results/family_table.md
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402

from attnviz import capture, load_model  # noqa: E402

# noqa: E402
from attnviz.models.weights import exposes_weights  # noqa: E402
from attnviz.toy.tokenizer import build_tokenizer  # noqa: E402
from tests.architectures import ARCHITECTURES, build, eager_attentions  # noqa: E402

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()
TEXT, TARGET = "the teacher saw a book in the park yesterday", "老师 昨天 在 公园 看见 书"


def main() -> None:
    tokenizer = build_tokenizer("translator")
    root = Path(tempfile.mkdtemp())
    print("| family | kind | path | max diff vs eager | fast path | derivation |")
    print("|---|---|---|---|---|---|")
    for name, (family, _) in ARCHITECTURES.items():
        folder = build(name, root / name, tokenizer)
        loaded = load_model(str(folder))
        result = capture(loaded, TEXT, target=TARGET if family == "encoder-decoder" else None)
        target = torch.tensor([result.decoder_input.token_ids]) if result.decoder_input else None
        reference, _ = eager_attentions(folder, family, torch.tensor([result.source.token_ids]), target)
        diff = max(float(np.abs(result.arrays[k] - reference[k][:, 0].numpy()).max()) for k in reference)
        sites = [s for kind_sites in loaded.sites.values() for s in kind_sites]
        fast = sum(s.plain_formula for s in sites)
        fast_text = "all" if fast == len(sites) else ("none" if fast == 0 else f"{fast}/{len(sites)}")
        derivation = ", ".join(k for k in loaded.shape.kinds if exposes_weights(loaded, k)) or "no"
        print(f"| {name} | {family} | {loaded.capture_path} | {diff:.1e} | {fast_text} | {derivation} |")


if __name__ == "__main__":
    main()
