"""Capture cost against a plain forward pass, measured in one run on the built-in minilm.

    python benchmarks/capture_overhead.py [--repeats 30]

Prints, at 128 and 512 tokens, the ratio of
  - attnviz capture of one layer   / plain SDPA forward
  - attnviz capture of all layers  / plain SDPA forward
  - attnviz capture of all layers  / eager forward with output_attentions=True
"eager + output_attentions" is how most tools (bertviz among them) obtain weights, so it is the peer
to beat. Every variant starts from the text (tokenizing included). Times are medians of interleaved repeats,
so drift on a shared machine hits every variant alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import transformers  # noqa: E402

from attnviz import capture, load_model  # noqa: E402
from attnviz.models.registry import resolve  # noqa: E402

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

TEXT = ("The train left the station on time, and the passengers watched the city disappear behind the hills "
        "while a conductor walked slowly through the carriages checking every ticket. ")


def _median_times(variants: dict, repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(3):  # warm-up
        for run in variants.values():
            run()
    for _ in range(repeats):
        for name, run in variants.items():
            started = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - started)
    return {name: statistics.median(ts) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    torch.set_num_threads(2)
    loaded = load_model("minilm")
    location = resolve("minilm").location
    plain = transformers.AutoModel.from_pretrained(location, attn_implementation="sdpa").eval()
    eager = transformers.AutoModel.from_pretrained(location, attn_implementation="eager").eval()
    print(f"torch {torch.__version__}, transformers {transformers.__version__}, {torch.get_num_threads()} threads")
    for n_tokens in (128, 512):
        text = TEXT * (n_tokens // 20 + 1)
        ids = loaded.tokenizer(text, truncation=True, max_length=n_tokens, return_tensors="pt")
        assert ids["input_ids"].shape[1] == n_tokens

        def forward(model, **extra):  # a user of the baselines tokenizes too, as capture() does
            inputs = loaded.tokenizer(text, truncation=True, max_length=n_tokens, return_tensors="pt")
            with torch.inference_mode():
                model(**inputs, **extra)

        variants = {
            "plain sdpa forward": lambda: forward(plain),
            "eager + output_attentions": lambda: forward(eager, output_attentions=True),
            "capture 1 layer": lambda: capture(loaded, text, layers=[3], max_tokens=n_tokens),
            "capture all layers": lambda: capture(loaded, text, max_tokens=n_tokens),
        }
        t = _median_times(variants, args.repeats)
        print(f"\n{n_tokens} tokens (median ms: " + ", ".join(f"{k} {v * 1e3:.1f}" for k, v in t.items()) + ")")
        print(f"  capture 1 layer    / plain forward           = {t['capture 1 layer'] / t['plain sdpa forward']:.3f}x"
              "   (target <= 1.15)")
        print(f"  capture all layers / plain forward           = "
              f"{t['capture all layers'] / t['plain sdpa forward']:.3f}x")
        print(f"  capture all layers / eager+output_attentions = "
              f"{t['capture all layers'] / t['eager + output_attentions']:.3f}x   (target < 1)")


if __name__ == "__main__":
    main()
