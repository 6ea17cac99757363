"""Head-role speed on MiniLM: role scores from an existing 128-token capture, and the repeated-token probe.

    flock /tmp/attnviz-cpu.lock python benchmarks/head_roles.py

Targets: scores <= 50 ms for the 72 heads at 128 tokens; probe <= 1 s on 2 cores. Prints one run's figures
(median of the repeats after a warm-up call).
"""

from __future__ import annotations

import statistics
import time

import torch

from attnviz import capture, load_model
from attnviz.roles import head_roles, run_probe

TEXT = " ".join(["the quick brown fox jumps over the lazy dog while the train leaves the station on time"] * 12)


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    torch.set_num_threads(2)
    loaded = load_model("minilm")
    result = capture(loaded, TEXT, max_tokens=128)
    n = len(result.source)
    heads = sum(result.shape.heads_of("encoder", layer) for layer in result.layers["encoder"])
    scores_ms = _median_ms(lambda: head_roles(result), 20)
    print(f"role scores from a capture: {scores_ms:.1f} ms for {heads} heads at {n} tokens (target <= 50 ms)")
    for span, batch in ((24, 4), (40, 8)):
        probe_ms = _median_ms(lambda: run_probe(loaded, span=span, batch=batch), 5)
        print(f"repeated-token probe: {probe_ms:.0f} ms for {batch} sequences of 2 x {span} tokens, one forward "
              f"(target <= 1000 ms), {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
