"""A 4,096-token input to a decoder in a real browser: overview, zoom into a region, layer switch.

    flock /tmp/attnviz-cpu.lock python benchmarks/long_input.py [--tokens 4096]

Builds a tiny Llama (2 layers, 4 query heads sharing 2 KV heads, random weights, a word-level
tokenizer) in a temporary folder, starts ``streamlit run app.py`` on 127.0.0.1 with
``ATTNVIZ_MAX_TOKENS`` raised to the input's length, opens the self-attention page on that folder and
prints, measured in this one run:

- capture: the in-process capture of the text as the app plans it (attnviz/capturing/budget.py),
  its kept bytes and the process's peak RSS growth;
- overview: from submitting the text until the pooled overview of the head is drawn;
- zoom: from releasing a drag across a region until that region is drawn at full resolution;
- layer: a layer switch, a server round trip (the overview payload holds the shown layer's heads); the
  first visit of a layer pools its maps, later visits take them from the server's cache;
- head: a head switch inside the layer (local in the page);
- the server's peak RSS.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.app_server import serve_app  # noqa: E402
from scripts.browser import CANVAS_JS, CHROMIUM, FLAGS, SWITCH_JS, drawn_after, wait_idle  # noqa: E402

WORDS = "the boy found a good book in the city and the girl bought an apple at the bridge".split()


def build_model(folder: Path, tokens: int) -> None:
    import torch
    import transformers

    from attnviz.toy.tokenizer import build_tokenizer

    tokenizer = build_tokenizer("translator")
    tokenizer.model_max_length = tokens + 64  # the toy tokenizer's own limit is short
    config = transformers.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2,
                                      max_position_embeddings=tokens + 64, vocab_size=len(tokenizer),
                                      pad_token_id=0, bos_token_id=1, eos_token_id=2)
    torch.manual_seed(0)
    transformers.AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def text_of(tokens: int) -> str:
    return " ".join(WORDS[i % len(WORDS)] for i in range(tokens - 2))


def capture_figures(folder: Path, text: str, tokens: int) -> str:
    from attnviz import capture, load_model
    from attnviz.capturing.budget import capture_plan

    loaded = load_model(str(folder))
    process = psutil.Process()
    before = process.memory_info().rss
    plan = capture_plan(loaded.shape, tokens, layer=0)
    started = time.perf_counter()
    result = capture(loaded, text, layers=plan.layers, storage=plan.storage, max_tokens=tokens)
    seconds = time.perf_counter() - started
    kept = sum(a.nbytes for a in result.arrays.values())
    grown = (process.memory_info().rss - before) / 2**20
    every = capture_plan(loaded.shape, tokens, None, budget=2**62).bytes
    return (f"capture of {len(result.source)} tokens: {seconds:.2f} s, plan {plan.storage} layers "
            f"{plan.layers or 'all'}, kept {kept / 2**20:.0f} MB (every layer in float32: {every / 2**20:.0f} MB), "
            f"RSS +{grown:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=4096)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="attnviz-long-")) / "tiny-llama"
    build_model(folder, args.tokens)
    text = text_of(args.tokens)
    print(capture_figures(folder, text, args.tokens), flush=True)
    peak = 0
    server = None

    def sample() -> None:
        nonlocal peak
        try:
            process = psutil.Process(server.pid)
            peak = max(peak, sum(p.memory_info().rss for p in [process, *process.children(recursive=True)]))
        except psutil.Error:
            pass

    with serve_app(env={"ATTNVIZ_MAX_TOKENS": str(args.tokens)}) as app:
        url, server = app.url, app.process
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1200})
            page.goto(f"{url}/?model=__custom__&model_path={urllib.parse.quote(str(folder))}")
            wait_idle(page)
            page.wait_for_selector("[data-testid='avz-live'] canvas[data-drawn]", state="attached", timeout=180_000)
            box = page.locator("[data-testid='stSidebar'] textarea")

            def submit() -> None:
                box.fill(text)
                box.press("Control+Enter")

            overview = drawn_after(page, submit)
            wait_idle(page)
            sample()
            note = page.locator("[data-testid='avz-live'] .avz-note").inner_text()
            print("payload holds layers/heads", page.evaluate(f"() => ({CANVAS_JS})().dataset.sent"), flush=True)
            zooms, layers, heads = [], [], []
            for i in range(args.repeats):
                canvas = page.locator("[data-testid='avz-live'] canvas")
                canvas.scroll_into_view_if_needed()
                rect = canvas.bounding_box()
                x0, y0 = rect["x"] + rect["width"] * (0.35 + 0.1 * i), rect["y"] + rect["height"] * (0.35 + 0.1 * i)

                def drag(x0=x0, y0=y0) -> None:
                    page.mouse.move(x0, y0)
                    page.mouse.down()
                    page.mouse.move(x0 + 60, y0 + 60)
                    page.mouse.up()

                zooms.append(drawn_after(page, drag, "window"))
                wait_idle(page)
                sample()
                reset = page.locator("[data-testid='avz-live'] [data-testid='avz-reset']")
                drawn_after(page, lambda: reset.click(), "window")  # back to the overview
                wait_idle(page)
                page.wait_for_timeout(300)
                heads.append(page.evaluate(SWITCH_JS, [f"head:{(i + 1) % 4}", {"head": str((i + 1) % 4)}]))
                layer = (i + 1) % 2
                layers.append(page.evaluate(SWITCH_JS, [f"layer:{layer}", {"layer": str(layer)}]))
                wait_idle(page)
                sample()
            zoomed_note = note
            browser.close()
        print(f"overview drawn {overview:.0f} ms after submitting {args.tokens} tokens ({zoomed_note.strip()[:80]})")
        print(f"zoom into a region: median {statistics.median(zooms):.0f} ms ({', '.join(f'{z:.0f}' for z in zooms)})")
        print(f"head switch: median {statistics.median(heads):.0f} ms; layer switch (round trip): median "
              f"{statistics.median(layers):.0f} ms ({', '.join(f'{v:.0f}' for v in layers)})")
        print(f"server peak RSS {peak / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
