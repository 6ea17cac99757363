"""Census speed: sentences per second and peak memory, local engine versus Ray (a local cluster).

    python benchmarks/census_speed.py                 # 10,000 sentences, MiniLM, both engines
    python benchmarks/census_speed.py --n 2000 --engines local

Each engine runs in a fresh child process; the parent samples the resident memory of that process and
all its descendants (Ray's raylet, GCS and worker processes included) every 0.1 s and reports the peak.
Sentences come from the toy grammar, spread over all of it (deterministic), in sentence case.
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


def child(engine: str, n: int, batch_size: int, cpus: int) -> None:
    from attnviz.census import CensusOptions, census
    from attnviz.census.gold import grammar_sentences

    texts = grammar_sentences(n, sentence_case=True)
    options = CensusOptions(batch_size=batch_size, max_tokens=128, qk_texts=48)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        result = census("minilm", texts, Path(folder) / "census.parquet", engine=engine, options=options,
                        ray_cpus=cpus)
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


def measure(engine: str, n: int, batch_size: int, cpus: int) -> dict:
    command = [sys.executable, __file__, "--child", engine, "--n", str(n), "--batch-size", str(batch_size),
               "--cpus", str(cpus)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
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
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--engines", default="local,ray")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.n, args.batch_size, args.cpus)
        return
    print(f"census of {args.n:,} sentences, minilm, batch {args.batch_size}, max 128 tokens, {args.cpus} CPUs")
    print(f"{'engine':8s} {'texts':>7s} {'tokens':>8s} {'seconds':>8s} {'sentences/s':>12s} {'peak RSS (MB)':>14s}")
    for engine in args.engines.split(","):
        r = measure(engine, args.n, args.batch_size, args.cpus)
        print(f"{engine:8s} {r['texts']:7d} {r['tokens']:8d} {r['seconds']:8.1f} {r['texts'] / r['seconds']:12.1f} "
              f"{r['peak_rss_mb']:14.0f}", flush=True)


if __name__ == "__main__":
    main()
