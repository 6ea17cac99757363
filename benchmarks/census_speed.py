"""Census speed: the census next to the plain forward pass it measures, and long runs with their memory.

    python benchmarks/census_speed.py                         # 2,000 sentences, MiniLM, batch 16 and 64
    python benchmarks/census_speed.py --stream 100000         # one long run to a file: time and peak memory
    python benchmarks/census_speed.py --engines local,ray --n 10000   # local engine versus Ray actors

Default mode, in one process and one run: for each batch size the same toy-grammar sentences (sentence case,
spread over all of the grammar) go through (1) the plain forward pass: the tokenizer pads the batch and the
model runs with SDPA attention, no weights computed, no statistics, and (2) the whole census (tokenizing
with token facts, weights, every statistic, examples and the query/key sample; in memory). It prints both
speeds and their ratio. Both use the same torch threads.

``--stream`` and ``--engines`` run each census in a child process; the parent samples the resident memory
of that process and all its descendants (Ray's raylet, GCS and worker processes included) every 0.1 s and
reports the peak.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil


def sentences(n: int) -> list[str]:
    """``n`` toy-grammar sentences; past the grammar's 16,950 the sentences come round again."""
    from attnviz.census.gold import grammar_pairs, grammar_sentences

    distinct = grammar_sentences(min(n, len(grammar_pairs())), sentence_case=True)
    return [distinct[i % len(distinct)] for i in range(n)]


def plain_forward(loaded, texts: list[str], batch_size: int, max_tokens: int) -> float:
    """Seconds for the plain SDPA forward pass over ``texts``."""
    import torch

    started = time.perf_counter()
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            inputs = loaded.tokenizer(texts[start:start + batch_size], padding=True, truncation=True,
                                      max_length=max_tokens, return_tensors="pt").to(loaded.device)
            loaded.model(**inputs, use_cache=False)
    return time.perf_counter() - started


def census_seconds(loaded, texts: list[str], batch_size: int, max_tokens: int) -> float:
    from attnviz.census import CensusOptions, census

    started = time.perf_counter()
    census(loaded, texts, options=CensusOptions(batch_size=batch_size, max_tokens=max_tokens, qk_texts=48))
    return time.perf_counter() - started


def ratio_mode(n: int, batch_sizes: list[int], max_tokens: int) -> None:
    import torch

    from attnviz import load_model

    loaded = load_model("minilm")
    texts = sentences(n)
    plain_forward(loaded, texts[:128], 16, max_tokens)  # warm up both paths
    census_seconds(loaded, texts[:128], 16, max_tokens)
    print(f"{n:,} toy-grammar sentences, minilm, max {max_tokens} tokens, {torch.get_num_threads()} torch threads, "
          f"device {loaded.device}")
    print(f"{'batch':>5s} {'plain SDPA (sent/s)':>20s} {'census (sent/s)':>16s} {'ratio':>6s}")
    for batch_size in batch_sizes:
        plain = n / plain_forward(loaded, texts, batch_size, max_tokens)
        counted = n / census_seconds(loaded, texts, batch_size, max_tokens)
        print(f"{batch_size:5d} {plain:20.0f} {counted:16.0f} {counted / plain:6.2f}", flush=True)


# ------------------------------------------------------------------------------------------- child runs
def child(engine: str, n: int, batch_size: int, cpus: int, out: str | None) -> None:
    from attnviz.census import CensusOptions, census

    texts = sentences(n)
    options = CensusOptions(batch_size=batch_size, max_tokens=128, qk_texts=48)
    with tempfile.TemporaryDirectory() as folder:
        target = Path(out) if out else Path(folder) / "census.parquet"
        started = time.perf_counter()
        result = census("minilm", texts, target, engine=engine, options=options, ray_cpus=cpus,
                        progress=bool(out))
        seconds = time.perf_counter() - started
    print(json.dumps({"engine": engine, "texts": result.meta.n_texts, "tokens": result.meta.n_tokens,
                      "seconds": seconds}))


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total


def measure(engine: str, n: int, batch_size: int, cpus: int, out: str | None = None) -> dict:
    command = [sys.executable, __file__, "--child", engine, "--n", str(n), "--batch-size", str(batch_size),
               "--cpus", str(cpus)] + (["--out", out] if out else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=None if out else subprocess.DEVNULL,
                               text=True)
    watched, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            peak = max(peak, tree_rss(watched))
        except psutil.Error:
            pass
        time.sleep(0.1)
    output = process.stdout.read().strip().splitlines()
    if process.returncode != 0 or not output:
        raise SystemExit(f"{engine} run failed (exit {process.returncode})")
    result = json.loads(output[-1])
    result["peak_rss_mb"] = peak / 2**20
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--batch-sizes", default="16,64", help="default mode: batch sizes to compare")
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--stream", type=int, help="one local census of this many sentences written to a file")
    parser.add_argument("--engines", help="compare engines (local,ray) in child processes")
    parser.add_argument("--batch-size", type=int, default=16, help="--stream / --engines: texts per batch")
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.batch_size, args.cpus, args.out)
        return
    if args.stream:
        with tempfile.TemporaryDirectory() as folder:
            r = measure("local", args.stream, args.batch_size, args.cpus, str(Path(folder) / "census.parquet"))
        print(f"census of {r['texts']:,} sentences ({r['tokens']:,} tokens), minilm, batch {args.batch_size}, "
              f"written to a file: {r['seconds']:.0f} s ({r['texts'] / r['seconds']:.0f} sentences/s), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
        return
    if args.engines:
        print(f"census of {args.n:,} sentences, minilm, batch {args.batch_size}, max 128 tokens, {args.cpus} CPUs")
        print(f"{'engine':8s} {'texts':>7s} {'tokens':>8s} {'seconds':>8s} {'sentences/s':>12s} {'peak RSS (MB)':>14s}")
        for engine in args.engines.split(","):
            r = measure(engine, args.n, args.batch_size, args.cpus)
            print(f"{engine:8s} {r['texts']:7d} {r['tokens']:8d} {r['seconds']:8.1f} "
                  f"{r['texts'] / r['seconds']:12.1f} {r['peak_rss_mb']:14.0f}", flush=True)
        return
    ratio_mode(args.n, [int(b) for b in args.batch_sizes.split(",")], args.max_tokens)


if __name__ == "__main__":
    main()
