"""Residual decomposition + direct logit attribution + logit lens vs one plain forward pass, on the CPU.

    flock /tmp/attnviz-heavy.lock .venv/bin/python benchmarks/contributions_speed.py [--tokens 128] [--repeats 5]

The model has GPT-2 small's shape (12 layers, 12 heads, d_model 768, 3072-wide MLP) with random weights, saved
to a temporary folder and loaded the way attnviz loads a user's model. Its vocabulary is the toy word-level
tokenizer's (123 tokens) by default; ``--vocab 50257`` gives it GPT-2's full-size unembedding (the text is still
made of toy-vocabulary tokens), where the lens projects all 13 rows of the stream onto 50,257 tokens. The page
computes the lens at the chosen position first ("the chosen position": 13 rows); the 16 positions around it when
the visitor asks ("window on request"); "one cell on request" is ``lens_row``.
``--peer`` adds TransformerLens 4.3 on the same saved model (``TransformerBridge.boot_transformers``): its
``run_with_cache``, DLA through ``stack_head_results`` and ``logit_attrs``, and the lens through
``accumulated_resid(apply_ln=True)`` with top 5 and the prediction's rank at every row — the same work as attnviz's
decomposition + DLA + whole lens.
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
from attnviz.contributions.lens import lens_row, lens_window, logit_lens  # noqa: E402
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
    parser.add_argument("--peer", action="store_true", help="TransformerLens on the same work, side by side")
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

        shown = lens_window(n, n - 1, 16)
        steps = {"forward": forward, "decompose": decomposition,
                 "attribution": lambda: direct_logit_attribution(loaded, found["d"]),
                 "lens": lambda: logit_lens(loaded, found["d"], k=5),
                 "column": lambda: logit_lens(loaded, found["d"], k=5, positions=(n - 1,)),
                 "window": lambda: logit_lens(loaded, found["d"], k=5, positions=shown),
                 "cell": lambda: lens_row(loaded, found["d"], 6, n // 2, k=5)}
        if args.peer:
            steps["peer"] = _transformer_lens(folder, torch.tensor([source.token_ids]))
        measured = _rounds(steps, args.repeats)
    plain, split, attribution = measured["forward"], measured["decompose"], measured["attribution"]
    print(f"GPT-2-small-shaped random model (12 layers x 12 heads, d 768, vocabulary {vocab}), {n} tokens, CPU "
          f"({torch.get_num_threads()} threads), medians of {args.repeats} rounds")
    print(f"{'step':<52}{'ms':>10}{'x forward':>12}")
    rows = [("plain forward pass", plain), ("decompose (one forward + split)", split),
            ("direct logit attribution", attribution),
            ("logit lens, every position (13 rows, top 5)", measured["lens"]),
            ("logit lens, the chosen position (13 rows)", measured["column"]),
            (f"logit lens, window on request ({len(shown)} positions)", measured["window"]),
            ("logit lens, one cell on request", measured["cell"]),
            ("decomposition + DLA + whole lens", split + attribution + measured["lens"]),
            ("decomposition + DLA + chosen column (the page)", split + attribution + measured["column"]),
            ("decomposition + DLA + window (asked for)", split + attribution + measured["window"])]
    if args.peer:
        rows.append(("TransformerLens: cache + DLA + whole lens", measured["peer"]))
    for name, value in rows:
        print(f"{name:<52}{value:>10.1f}{value / plain:>12.2f}")


def _transformer_lens(folder: str, tokens: torch.Tensor):
    """TransformerLens's version of decomposition + DLA + whole lens (top 5, the prediction's rank per row)."""
    from transformer_lens.model_bridge import TransformerBridge

    bridge = TransformerBridge.boot_transformers(folder, device="cpu")
    bridge.enable_compatibility_mode(disable_warnings=True)
    bridge.set_use_attn_result(True)

    def run():
        with torch.inference_mode():
            logits, cache = bridge.run_with_cache(tokens)
            predicted = logits[0].argmax(-1)
            heads = cache.stack_head_results()
            cache.logit_attrs(heads, tokens=int(predicted[-1]))
            accumulated = cache.accumulated_resid(apply_ln=True)[:, 0]  # [row, pos, d]
            for row in accumulated:  # one row at a time, as attnviz does: [pos, vocab] at most
                lens_logits = row @ bridge.W_U + bridge.b_U
                total = torch.logsumexp(lens_logits, -1, keepdim=True)
                torch.exp(lens_logits.topk(5, -1).values - total)
                wanted = lens_logits.gather(-1, predicted[:, None])
                (lens_logits > wanted).sum(-1)

    return run


if __name__ == "__main__":
    main()
