"""Residual decomposition + direct logit attribution + logit lens vs one plain forward pass, on the CPU.

    flock /tmp/attnviz-heavy.lock .venv/bin/python benchmarks/contributions_speed.py [--tokens 128] [--repeats 5]

The model has GPT-2 small's shape (12 layers, 12 heads, d_model 768, 3072-wide MLP) with random weights, saved
to a temporary folder and loaded the way attnviz loads a user's model. Its vocabulary is the toy word-level
tokenizer's (123 tokens) by default; ``--vocab 50257`` gives it GPT-2's full-size unembedding (the text is still
made of toy-vocabulary tokens), where the lens projects all 13 rows of the stream onto 50,257 tokens.
"Plain forward" is ``model(**inputs)`` under ``torch.inference_mode`` with attnviz's attention function and no
capture active (SDPA). Medians of ``--repeats`` rounds after one warm-up; in each round the four steps take turns,
so a busy moment of the shared machine falls on all of them. All figures from this one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import transformers

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from attnviz import load_model  # noqa: E402
from attnviz.capturing.run import accepted_kwargs, model_inputs  # noqa: E402
from attnviz.contributions.decompose import decompose  # noqa: E402
from attnviz.contributions.lens import logit_lens  # noqa: E402
from attnviz.contributions.logits import direct_logit_attribution  # noqa: E402
from attnviz.toy.tokenizer import build_tokenizer  # noqa: E402

WORDS = "the teacher saw a book in the park yesterday and the train left the station on time".split()


def _rounds(steps: dict, repeats: int) -> dict[str, float]:
    """Median milliseconds of each step, the steps taking turns in every round (so a busy moment of the shared
    machine falls on all of them, not on one)."""
    for step in steps.values():
        step()  # warm-up
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) * 1000 for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--vocab", type=int, default=0, help="vocabulary size (default: the toy tokenizer's)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    tokenizer = build_tokenizer("translator")
    vocab = args.vocab or len(tokenizer)
    config = transformers.GPT2Config(n_embd=768, n_layer=12, n_head=12, n_positions=1024, vocab_size=vocab,
                                     pad_token_id=0, bos_token_id=1, eos_token_id=2)
    with tempfile.TemporaryDirectory() as folder:
        torch.manual_seed(0)
        transformers.GPT2LMHeadModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        loaded = load_model(folder)
        text = " ".join(WORDS[i % len(WORDS)] for i in range(args.tokens))
        inputs, source, _ = model_inputs(loaded, text, max_tokens=args.tokens)
        n = len(source)

        def forward():
            with torch.inference_mode():
                loaded.model(**accepted_kwargs(loaded.model, inputs), use_cache=False)

        found = {}

        def decomposition():
            found["d"] = decompose(loaded, text, max_tokens=args.tokens)

        measured = _rounds({"forward": forward, "decompose": decomposition,
                            "attribution": lambda: direct_logit_attribution(loaded, found["d"]),
                            "lens": lambda: logit_lens(loaded, found["d"], k=5)}, args.repeats)
        plain, split, attribution, lens = (measured[name] for name in ("forward", "decompose", "attribution", "lens"))
    total = split + attribution + lens
    print(f"GPT-2-small-shaped random model (12 layers x 12 heads, d 768, vocabulary {vocab}), {n} tokens, CPU "
          f"({torch.get_num_threads()} threads), medians of {args.repeats} rounds")
    print(f"{'step':<40}{'ms':>10}{'x forward':>12}")
    for name, value in (("plain forward pass", plain), ("decompose (one forward + split)", split),
                        ("direct logit attribution", attribution), ("logit lens (13 rows, top 5)", lens),
                        ("decomposition + DLA + lens", total)):
        print(f"{name:<40}{value:>10.1f}{value / plain:>12.2f}")


if __name__ == "__main__":
    main()
