"""Every faithfulness method together on MiniLM at 32 tokens, on 2 CPU threads: seconds per step of one run.

    flock /tmp/attnviz-heavy.lock python benchmarks/faithfulness_speed.py [--tokens 32] [--repeats 5] [--steps 64]

One run is what the page and ``attnviz faithfulness`` compute: a capture of every layer, the attention rows
(last-layer attention, rollout, flow, value-weighted), Captum's integrated gradients (``--steps``
Gauss-Legendre points in one batch), gradient × input and the gradient, and occlusion of every token in one
batch. The model loads once and one warm-up run comes first; the table shows the median and the slowest of
``--repeats`` runs measured here.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from attnviz import load_model
from attnviz.faithfulness import IG_STEPS, OutputChoice, faithfulness

TEXT = ("The old train left the station on time, and everyone waiting on the cold platform was glad to be going "
        "home at last after a long day of work in the city")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=IG_STEPS)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load_model("minilm")
    for output in ("sentence_mean", "cls"):
        faithfulness(loaded, TEXT, output=OutputChoice(output), steps=args.steps, max_tokens=args.tokens)  # warm-up
        runs = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            run = faithfulness(loaded, TEXT, output=OutputChoice(output), steps=args.steps, max_tokens=args.tokens)
            runs.append((time.perf_counter() - start, run))
        total = [seconds for seconds, _ in runs]
        print(f"MiniLM, {len(runs[0][1].tokens)} tokens, output {output}, integrated gradients {args.steps} steps, "
              f"{args.threads} threads, {args.repeats} runs")
        print(f"{'step':16s} {'median s':>9s}")
        for step in runs[0][1].seconds:
            print(f"{step:16s} {statistics.median(r.seconds[step] for _, r in runs):9.3f}")
        print(f"{'all methods':16s} {statistics.median(total):9.3f}   (slowest {max(total):.3f})")
        print(f"integrated gradients: convergence delta {runs[0][1].ig_delta:+.2e} of "
              f"f(E) − f(B) = {runs[0][1].output.value - runs[0][1].baseline_value:.3f}\n")


if __name__ == "__main__":
    main()
