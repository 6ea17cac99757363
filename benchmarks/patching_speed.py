"""Activation patching: every head's output patched over all positions, attribution patching, a click on the page.

    python benchmarks/patching_speed.py [--tokens 32] [--repeats 3]

The model is a 6-layer × 12-head GPT-2 (d_model 768, 3072-wide MLP, GPT-2's 50,257-token unembedding) with random
weights, saved to a temporary folder and loaded the way attnviz loads a user's model; the texts are made of the toy
word-level tokenizer's words, clean and corrupted differing in one word. TransformerLens 4.3 runs on the same saved
model (``TransformerBridge.boot_transformers``, no weight processing): ``get_act_patch_attn_head_out_all_pos`` (one
run per head, 72 runs) and a forward pass, beside attnviz's ``patch(..., "head_out")`` (72 runs batched) and
``attribute(..., "head_out")`` (two forward passes, one backward). "A forward pass" is ``model(**inputs)`` under
``torch.inference_mode``. "A click" is a rerun of the page through Streamlit's AppTest with the result cached (the
visitor's model a local folder), which is what a click on a map does (it reruns only the maps' fragment: less).
Medians of ``--repeats`` rounds after one warm-up; in each round the steps take turns, so a busy moment of the
shared machine falls on all of them; wall time and this process's CPU time (steadier on a shared machine). All
figures from this one run.
"""

from __future__ import annotations

import argparse
import os
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
from attnviz.patching import attribute, patch, prepare  # noqa: E402
from attnviz.toy.tokenizer import build_tokenizer  # noqa: E402

WORDS = ("the teacher saw a book in the park and the doctor found a letter in the city the farmer bought an apple "
         "at the station the girl read a book in the library the boy saw a car").split()


def _rounds(steps: dict, repeats: int, no_warm_up: tuple[str, ...] = ()) -> dict[str, tuple[float, float]]:
    """Median (wall, CPU) seconds of each step, the steps taking turns in every round. CPU time is this process's
    (every thread's) and moves less than wall time when other work shares the cores."""
    for name, step in steps.items():
        if name not in no_warm_up:
            step()  # warm-up
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            wall, cpu = time.perf_counter(), time.process_time()
            step()
            times[name].append((time.perf_counter() - wall, time.process_time() - cpu))
    return {name: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
            for name, values in times.items()}


def _click(folder: str, clean: str, corrupt: str, repeats: int) -> float:
    """Median seconds of a page rerun once the result is cached."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    for key, value in {"patch_model": "__custom__", "patch_model_path": folder, "clean": clean, "corrupt": corrupt,
                       "answer": "book", "wrong": "letter", "cell": "3,5"}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/patching.py")
    at.run()  # the first run: computes and caches
    if at.exception or at.error:
        raise RuntimeError(f"the page did not run: {[e.value for e in (*at.exception, *at.error)]}")
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    transformers.logging.set_verbosity_error()
    from transformer_lens import patching
    from transformer_lens.model_bridge import TransformerBridge

    tokenizer = build_tokenizer("translator")
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(Path(tmp) / "gpt2-6x12")
        torch.manual_seed(0)
        config = transformers.GPT2Config(n_layer=6, n_head=12, n_embd=768, vocab_size=50257, n_positions=128)
        transformers.GPT2LMHeadModel(config).save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        loaded = load_model(folder)
        clean = " ".join(WORDS[:args.tokens - 1])  # the tokenizer adds </s>
        corrupt = clean.replace("book", "letter", 1)
        pair = prepare(loaded, clean, corrupt, "book", "letter")
        n = len(pair.clean_tokens)
        bridge = TransformerBridge.boot_transformers(folder, device="cpu")
        bridge.enable_compatibility_mode(disable_warnings=True, fold_ln=False, center_writing_weights=False,
                                         center_unembed=False, fold_value_biases=False)
        ids = pair.corrupt["input_ids"]
        with torch.no_grad():
            _, clean_cache = bridge.run_with_cache(pair.clean["input_ids"])

        def tl_metric(logits):
            return logits[0, -1, pair.answer_id] - logits[0, -1, pair.wrong_id]

        def forward():
            with torch.inference_mode():
                loaded.model(**pair.corrupt, use_cache=False)

        def tl_forward():
            with torch.no_grad():
                bridge(ids)

        def tl_patch():
            with torch.no_grad():
                patching.get_act_patch_attn_head_out_all_pos(bridge, ids, clean_cache, tl_metric)

        steps = {"forward pass": forward, "attnviz exact head_out (72 runs)": lambda: patch(loaded, pair, "head_out"),
                 "attnviz attribution head_out": lambda: attribute(loaded, pair, "head_out"),
                 "TransformerLens forward pass": tl_forward,
                 "TransformerLens get_act_patch_attn_head_out_all_pos": tl_patch}
        # TransformerLens' loop is 72 forward passes already warmed up by its own forward-pass step
        times = _rounds(steps, args.repeats, no_warm_up=("TransformerLens get_act_patch_attn_head_out_all_pos",))
        exact = patch(loaded, pair, "head_out")
        click = _click(folder, clean, corrupt, args.repeats)
    print(f"6 layers × 12 heads, d_model 768, vocabulary 50,257, {n} tokens, {torch.get_num_threads()} threads, "
          f"medians of {args.repeats} rounds; machine load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
    print(f"  {'':55s} {'wall':>9s} {'CPU':>9s}")
    for name, (wall, cpu) in times.items():
        print(f"  {name:55s} {wall * 1000:6.0f} ms {cpu * 1000:6.0f} ms")
    print(f"  {'attnviz exact head_out: forward passes batched into':55s} {exact.passes:9d}")
    for i, what in enumerate(("wall", "CPU")):
        speedup = (times["TransformerLens get_act_patch_attn_head_out_all_pos"][i]
                   / times["attnviz exact head_out (72 runs)"][i])
        ratio = times["attnviz attribution head_out"][i] / times["forward pass"][i]
        print(f"  {'exact patching, TransformerLens / attnviz (' + what + ')':55s} {speedup:9.1f} ×")
        print(f"  {'attribution patching / forward pass (' + what + ')':55s} {ratio:9.1f} ×")
    print(f"  {'a page rerun with the result cached (a click)':55s} {click * 1000:9.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
