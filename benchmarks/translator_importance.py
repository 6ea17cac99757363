"""The toy translator's head-importance map, averaged over held-out pairs (the figures in docs/explain.md).

    python benchmarks/translator_importance.py [--pairs 30] [--mode zero]

For every head alone: mean KL divergence over the target tokens (teacher-forced on the reference
translation) and the exact match of greedy translations with that head ablated.
"""

from __future__ import annotations

import argparse

import numpy as np

from attnviz import ablate_heads, load_model
from attnviz.explain.ablation import every_head, head_importance
from attnviz.toy import evaluate
from attnviz.toy.grammar import split_pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=30)
    parser.add_argument("--mode", default="zero", choices=["zero", "mean"])
    args = parser.parse_args()
    loaded = load_model("toy-translator")
    pairs = evaluate.sample(split_pairs()[1], args.pairs)
    maps = [head_importance(loaded, p.source_text, args.mode, target=p.target_text) for p in pairs]
    print(f"toy-translator, {len(pairs)} held-out pairs, {args.mode} ablation; baseline exact match "
          f"{evaluate.exact_match(loaded, pairs):.0%}")
    print(f"{'kind':8s} {'layer':>5s} {'head':>4s} {'mean KL (nats)':>15s} {'exact match':>12s}")
    for kind, layer, head in every_head(loaded):
        kl = float(np.mean([m.scores[kind][layer, head] for m in maps]))
        with ablate_heads(loaded, [(kind, layer, head)], args.mode):
            match = evaluate.exact_match(loaded, pairs)
        print(f"{kind:8s} {layer:5d} {head:4d} {kl:15.4f} {match:12.0%}")
    for kind in loaded.shape.kinds:
        with ablate_heads(loaded, [h for h in every_head(loaded) if h[0] == kind], args.mode):
            print(f"every {kind} head off: exact match {evaluate.exact_match(loaded, pairs):.0%}")


if __name__ == "__main__":
    main()
