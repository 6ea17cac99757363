"""Which explanation agrees with the model, over many texts, on the built-in models (docs/faithfulness.md).

    flock /tmp/attnviz-heavy.lock python benchmarks/faithfulness_corpus.py [--texts 40] [--steps 64]

For each method, Spearman's ρ with occlusion and with integrated gradients over the input tokens (special
tokens left out), averaged over the items with the standard deviation across them:

- ``minilm``: the 40 sentences of benchmarks/faithfulness_texts.txt, twice: the mean-pooled sentence embedding
  and the [CLS] state;
- ``toy-lm``: held-out sentences of the toy grammar without their last word; the output is the model's own
  next-token guess;
- ``toy-translator``: held-out sentence pairs of the grammar, teacher-forced; every target word is one item.

Then Abnar & Zuidema's comparison as paired differences on the same items: ρ(rollout) − ρ(attention) and
ρ(flow) − ρ(attention) with occlusion, mean ± standard error and the share of items where the first is higher.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from attnviz import load_model
from attnviz.faithfulness import IG_STEPS, OutputChoice
from attnviz.faithfulness.corpus import CorpusItem, corpus_agreement
from attnviz.toy.grammar import split_pairs

HERE = Path(__file__).resolve().parent
COLUMNS = ("attention", "rollout", "flow", "value_weighted", "gradient_x_input", "integrated_gradients", "gradient",
           "occlusion")


def items(model: str, n: int) -> list[CorpusItem]:
    if model.startswith("minilm"):
        texts = [t for t in (HERE / "faithfulness_texts.txt").read_text("utf-8").splitlines() if t.strip()][:n]
        return [CorpusItem(t, output=OutputChoice("cls" if model.endswith("cls") else "sentence_mean"))
                for t in texts]
    held_out = split_pairs()[1]
    chosen = held_out[:: max(1, len(held_out) // n)][:n]
    if model == "toy-lm":
        return [CorpusItem(" ".join(p.english[:-1])) for p in chosen if len(p.english) > 3]
    return [CorpusItem(p.source_text, p.target_text, OutputChoice(position=i))
            for p in chosen for i in range(len(p.chinese))]


def _cell(mean: float, std: float) -> str:
    return "–" if not math.isfinite(mean) else f"{mean:+.2f} ± {std:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=40)
    parser.add_argument("--steps", type=int, default=IG_STEPS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    runs = []
    for model in ("minilm", "minilm-cls", "toy-lm", "toy-translator"):
        loaded = load_model(model.removesuffix("-cls"))
        corpus = corpus_agreement(loaded, items(model, args.texts), steps=args.steps)
        runs.append((model, corpus))
    for reference in ("occlusion", "integrated_gradients"):
        print(f"\nSpearman ρ with {reference} (mean ± standard deviation over items)\n")
        print("| model (output) | items | tokens | " + " | ".join(COLUMNS) + " |")
        print("|---|---|---|" + "---|" * len(COLUMNS))
        for model, corpus in runs:
            by = {row.method: row for row in corpus.summary() if row.reference == reference}
            cells = [_cell(by[m].mean, by[m].std) if m in by else "–" for m in COLUMNS]
            print(f"| {model} | {corpus.n_items} | {corpus.mean_tokens:.1f} | " + " | ".join(cells) + " |")
    print("\nAbnar & Zuidema's shape, paired on the same items (ρ with occlusion): mean difference ± standard error, "
          "share of items where the first is higher\n")
    print("| model (output) | rollout − attention | flow − attention | seconds |")
    print("|---|---|---|---|")
    for model, corpus in runs:
        cells = []
        for better in ("rollout", "flow"):
            mean, error, share, n = corpus.paired(better, "attention")
            cells.append("–" if not n else f"{mean:+.2f} ± {error:.2f} ({share:.0%} of {n})")
        print(f"| {model} | {cells[0]} | {cells[1]} | {corpus.seconds:.0f} |")


if __name__ == "__main__":
    main()
